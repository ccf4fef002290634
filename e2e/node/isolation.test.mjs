// Tenant isolation: user B (a member created by the owner) must never see or write into
// user A's channels, neither over Socket.IO nor over REST.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  TEST_TIMEOUT_MS,
  api,
  connectSocket,
  loginAdmin,
  postAgentMessage,
  postUserMessage,
  setupMemberTenant,
  setupTenant,
  subscribe,
  subscribeOk,
  uid,
  wsTicket,
} from './helpers.mjs';

let a; // the owner's tenant
let b; // a member's tenant

before(async () => {
  const admin = await loginAdmin();
  a = await setupTenant(admin);
  b = await setupMemberTenant(admin.token);
  assert.notEqual(a.user.id, b.user.id, 'A and B must be different users');
});

function assertRefusedAck(ack, what) {
  const show = JSON.stringify(ack);
  assert.equal(ack?.ok, false, `${what}: expected {ok:false}, got ${show}`);
  assert.equal(typeof ack.error?.code, 'string', `${what}: error.code: ${show}`);
  assert.equal(typeof ack.error?.message, 'string', `${what}: error.message: ${show}`);
}

describe('socket isolation', () => {
  test("B's key cannot subscribe to A's channel and receives none of A's events", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const sa = await connectSocket(t, { apiKey: a.apiKey });
    await subscribeOk(sa.socket, a.channelId);

    const sb = await connectSocket(t, { apiKey: b.apiKey });
    assertRefusedAck(await subscribe(sb.socket, { channelId: a.channelId }), 'object form');
    assertRefusedAck(await subscribe(sb.socket, a.channelId), 'bare-string form');
    // Placet's own client sends no ack: that must be silently ignored, not honoured.
    sb.socket.emit('subscribe:channel', a.channelId);
    sb.socket.emit('subscribe:channel', { channelId: a.channelId, lastSeq: 0 });
    // B may still subscribe to its own channel on the same socket.
    await subscribeOk(sb.socket, b.channelId);

    // A's activity: an agent post, a human post, an ack and a deletion.
    const agentMsg = await postAgentMessage(a.apiKey, a.channelId, uid('A agent secret'));
    const userMsg = await postUserMessage(a.token, a.channelId, uid('A human secret'));
    const q = `?channel=${encodeURIComponent(a.channelId)}`;
    await api('POST', `/api/v1/messages/${userMsg.id}/ack${q}`, { apiKey: a.apiKey, expectStatus: 200 });
    await api('DELETE', `/api/v1/messages/${agentMsg.id}${q}`, { apiKey: a.apiKey, expectStatus: 200 });

    // Positive control: A saw all of it, so the server did broadcast.
    await sa.rec.waitFor('message:created', (m) => m?.id === userMsg.id, { what: "A's human message on A's socket" });
    await sa.rec.waitFor('message:deleted', (d) => d?.messageId === agentMsg.id, { what: "A's deletion on A's socket" });

    const fromA = (d) => d?.channelId === a.channelId || d?.messageId === agentMsg.id || d?.messageId === userMsg.id;
    for (const event of ['message:created', 'message:deleted', 'message:delivery']) {
      await sb.rec.expectNone(event, fromA, { what: `B must not see A's ${event}` });
    }
    await sb.rec.expectNone('message:created', undefined, { ms: 0, what: 'B has no traffic of its own' });
  });

  test("B's dashboard socket receives none of A's events", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const sa = await connectSocket(t, { apiKey: a.apiKey });
    await subscribeOk(sa.socket, a.channelId);
    const db = await connectSocket(t, { token: await wsTicket(b.token) });
    assertRefusedAck(await subscribe(db.socket, { channelId: a.channelId }), 'dashboard subscribe');

    const msg = await postAgentMessage(a.apiKey, a.channelId, uid('A secret for dashboards'));
    await api('POST', '/api/v1/status/ping', {
      apiKey: a.apiKey,
      body: { agentId: a.channelId, status: 'busy', message: 'secret work' },
    });
    await sa.rec.waitFor('message:created', (m) => m?.id === msg.id, { what: 'positive control' });

    await db.rec.expectNone('message:created', (m) => m?.channelId === a.channelId, { what: "B's dashboard" });
    await db.rec.expectNone('agent:status', (s) => s?.agentId === a.channelId, { ms: 0, what: "B's dashboard" });
  });

  test('subscribing to an unknown channel is refused', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const s = await connectSocket(t, { apiKey: a.apiKey });
    assertRefusedAck(await subscribe(s.socket, { channelId: uid('no-such-channel') }), 'unknown channel');
  });
});

describe('REST isolation', () => {
  test("B posting into A's channel gets 403 Not your agent", { timeout: TEST_TIMEOUT_MS }, async () => {
    const res = await api('POST', '/api/v1/messages', {
      apiKey: b.apiKey,
      body: { channelId: a.channelId, text: 'intrusion' },
    });
    assert.equal(res.status, 403, `status: ${res.status} ${res.text}`);
    assert.equal(res.body?.statusCode, 403, `body.statusCode: ${res.text}`);
    assert.equal(res.body?.message, 'Not your agent', `body.message: ${res.text}`);
    assert.equal(typeof res.body?.code, 'string', `body.code: ${res.text}`);
  });

  test("B cannot ack or delete A's messages", { timeout: TEST_TIMEOUT_MS }, async () => {
    const msg = await postAgentMessage(a.apiKey, a.channelId, uid('not yours'));
    const q = `?channel=${encodeURIComponent(a.channelId)}`;
    const ack = await api('POST', `/api/v1/messages/${msg.id}/ack${q}`, { apiKey: b.apiKey });
    assert.ok([403, 404].includes(ack.status), `ack by B: ${ack.status} ${ack.text}`);
    const del = await api('DELETE', `/api/v1/messages/${msg.id}${q}`, { apiKey: b.apiKey });
    assert.ok([403, 404].includes(del.status), `delete by B: ${del.status} ${del.text}`);
  });
});
