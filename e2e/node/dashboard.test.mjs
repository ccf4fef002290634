// The human dashboard's socket: authenticated with a ws-ticket (or the session token), it
// gets its user's message:created without subscribing, exactly once even when also
// subscribed, and agent:status heartbeats that agents never see.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  QUIET_MS,
  TEST_TIMEOUT_MS,
  api,
  connectSocket,
  expectConnectError,
  openSocket,
  postAgentMessage,
  postUserMessage,
  setupTenant,
  sleep,
  subscribeOk,
  uid,
  wsTicket,
} from './helpers.mjs';

let tenant;

before(async () => {
  tenant = await setupTenant();
});

async function statusPing(apiKey, agentId, status, message) {
  const res = await api('POST', '/api/v1/status/ping', { apiKey, body: { agentId, status, message } });
  assert.ok(res.status === 200 || res.status === 201, `status ping answered ${res.status}: ${res.text}`);
  return res.body;
}

test('ws-ticket endpoint returns {ticket, expiresAt}', { timeout: TEST_TIMEOUT_MS }, async () => {
  const res = await api('POST', '/api/auth/ws-ticket', { token: tenant.token });
  assert.ok(res.status === 200 || res.status === 201, `ws-ticket: ${res.status} ${res.text}`);
  assert.equal(typeof res.body?.ticket, 'string', `ticket: ${res.text}`);
  assert.ok(res.body.expiresAt !== undefined && res.body.expiresAt !== null, `expiresAt: ${res.text}`);
});

test('a dashboard gets message:created once, even when also subscribed to the channel', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { apiKey, channelId, token } = tenant;
  const { socket, rec } = await connectSocket(t, { token: await wsTicket(token) });

  // Without subscribing: the user's room alone delivers it.
  const unsubscribed = await postAgentMessage(apiKey, channelId, uid('dashboard unsubscribed'));
  await rec.waitFor('message:created', (m) => m?.id === unsubscribed.id, { what: 'message via the user room' });

  // Subscribed as well: still exactly one copy per message.
  await subscribeOk(socket, channelId);
  const msg = await postAgentMessage(apiKey, channelId, uid('dashboard subscribed'));
  await rec.waitFor('message:created', (m) => m?.id === msg.id, { what: 'message while subscribed' });
  // A later marker message bounds when a duplicate would have arrived.
  const marker = await postUserMessage(token, channelId, uid('marker'));
  await rec.waitFor('message:created', (m) => m?.id === marker.id, { what: 'marker message' });
  await sleep(QUIET_MS); // let any duplicate straggle in
  for (const id of [unsubscribed.id, msg.id, marker.id]) {
    const copies = rec.of('message:created', (m) => m?.id === id).length;
    assert.equal(copies, 1, `message ${id} delivered ${copies} times to the dashboard: ${rec.summary()}`);
  }
});

test('a dashboard gets agent:status after a status ping', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { apiKey, channelId, token } = tenant;
  const { rec } = await connectSocket(t, { token: await wsTicket(token) });

  const statusMessage = uid('working');
  await statusPing(apiKey, channelId, 'busy', statusMessage);
  const st = await rec.waitFor('agent:status', (s) => s?.agentId === channelId && s?.statusMessage === statusMessage, {
    what: 'busy heartbeat',
  });
  assert.equal(st.status, 'busy', `agent:status: ${JSON.stringify(st)}`);
  assert.ok(st.statusSince !== undefined && st.statusSince !== null, `statusSince: ${JSON.stringify(st)}`);
  assert.ok(Number.isInteger(st.seq), `agent:status seq: ${JSON.stringify(st)}`);
});

test('the session token itself also authenticates a dashboard socket', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { apiKey, channelId, token } = tenant;
  const { rec } = await connectSocket(t, { token });
  const msg = await postAgentMessage(apiKey, channelId, uid('to session-token dashboard'));
  await rec.waitFor('message:created', (m) => m?.id === msg.id, { what: 'message on a session-token socket' });
});

test('agents never receive agent:status, even when subscribed to the channel', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { apiKey, channelId, token } = tenant;
  const agent = await connectSocket(t, { apiKey });
  await subscribeOk(agent.socket, channelId);
  const dash = await connectSocket(t, { token: await wsTicket(token) });

  const statusMessage = uid('agents must not see this');
  await statusPing(apiKey, channelId, 'busy', statusMessage);
  await dash.rec.waitFor('agent:status', (s) => s?.statusMessage === statusMessage, { what: 'positive control' });
  await agent.rec.expectNone('agent:status', undefined, { what: 'agent socket' });
});

test('a bogus dashboard token gets connect_error "unauthorized"', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const socket = openSocket(t, { token: 'not-a-real-token' });
  const err = await expectConnectError(socket);
  assert.equal(err.message, 'unauthorized', `connect_error message: ${err.message}`);
});
