// An agent's view of the gateway, as Placet documents it: connect with an API key,
// subscribe to its own channel, receive messages, ping/pong, acks and deletions.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  BAD_KEY,
  TEST_TIMEOUT_MS,
  api,
  assertMessageShape,
  connect,
  connectSocket,
  expectConnectError,
  openSocket,
  postAgentMessage,
  postUserMessage,
  record,
  setupTenant,
  subscribe,
  subscribeOk,
  uid,
} from './helpers.mjs';

/** @type {Awaited<ReturnType<typeof setupTenant>>} */
let tenant;

before(async () => {
  tenant = await setupTenant();
});

describe('agent connection (seed 000 flow)', () => {
  test('subscribe with a bare channel id on connect, then receive message:created for a REST post', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { apiKey, channelId } = tenant;
    const socket = openSocket(t, { apiKey });
    const rec = record(socket);
    // Exactly the documented client: subscribe in the connect handler, no ack.
    socket.on('connect', () => socket.emit('subscribe:channel', channelId));
    await connect(socket);
    // No ack in this form; a ping round trip lets the server handle the subscription first.
    socket.emit('ping');
    await rec.waitFor('pong', undefined, { what: 'pong after subscribe' });

    const text = uid('hello from the agent');
    const posted = await postAgentMessage(apiKey, channelId, text);
    assertMessageShape(posted, { channelId, senderType: 'agent', senderId: channelId, text });
    assert.equal(posted.deliveryStatus, 'sent', `REST message deliveryStatus: ${JSON.stringify(posted)}`);

    const got = await rec.waitFor('message:created', (m) => m?.id === posted.id, { what: `message ${posted.id}` });
    assertMessageShape(got, { channelId, senderType: 'agent', senderId: channelId, text });
    assert.equal(got.seq, posted.seq, 'event seq equals the seq returned by REST');
  });

  test('subscribe with a bare channel id and an ack → {ok:true, channelId, lastSeq}', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { apiKey, channelId } = tenant;
    const { socket } = await connectSocket(t, { apiKey });
    const ack = await subscribe(socket, channelId);
    assert.equal(ack?.ok, true, `ack: ${JSON.stringify(ack)}`);
    assert.equal(ack.channelId, channelId, `ack channelId: ${JSON.stringify(ack)}`);
    assert.ok(Number.isInteger(ack.lastSeq) && ack.lastSeq >= 0, `ack lastSeq: ${JSON.stringify(ack)}`);
  });

  test('the agent receives a human message posted from the dashboard API', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { apiKey, channelId, token, user } = tenant;
    const { socket, rec } = await connectSocket(t, { apiKey });
    await subscribeOk(socket, channelId);

    const text = uid('Looks good, ship it!');
    const posted = await postUserMessage(token, channelId, text, { clientId: uid('client') });
    assertMessageShape(posted, { channelId, senderType: 'user', senderId: user.id, text });

    const got = await rec.waitFor('message:created', (m) => m?.id === posted.id, { what: 'human message' });
    assertMessageShape(got, { channelId, senderType: 'user', senderId: user.id, text });
  });
});

describe('agent authentication', () => {
  test('a well-formed but unknown API key gets connect_error "unauthorized"', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const socket = openSocket(t, { apiKey: BAD_KEY });
    let connected = false;
    socket.on('connect', () => {
      connected = true;
    });
    const err = await expectConnectError(socket);
    assert.equal(err.message, 'unauthorized', `connect_error message: ${err.message}`);
    assert.equal(connected, false, 'connect must not fire');
    assert.equal(socket.connected, false, 'socket must not be connected');
  });

  test('no auth at all gets connect_error "unauthorized"', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const socket = openSocket(t, undefined);
    const err = await expectConnectError(socket);
    assert.equal(err.message, 'unauthorized', `connect_error message: ${err.message}`);
    assert.equal(socket.connected, false, 'socket must not be connected');
  });

  test('an empty auth object gets connect_error "unauthorized"', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const socket = openSocket(t, {});
    const err = await expectConnectError(socket);
    assert.equal(err.message, 'unauthorized', `connect_error message: ${err.message}`);
  });

  test('REST with the bad key is refused with 401', { timeout: TEST_TIMEOUT_MS }, async () => {
    const res = await api('POST', '/api/v1/messages', {
      apiKey: BAD_KEY,
      body: { channelId: tenant.channelId, text: 'nope' },
    });
    assert.equal(res.status, 401, `POST /api/v1/messages with a bad key: ${res.status} ${res.text}`);
  });
});

describe('agent events', () => {
  test('ping → pong', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { socket, rec } = await connectSocket(t, { apiKey: tenant.apiKey });
    socket.emit('ping');
    await rec.waitFor('pong', undefined, { what: 'pong' });
  });

  test('ack → message:delivery agent_received; delete → message:deleted; seqs increase', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { apiKey, channelId, token } = tenant;
    const { socket, rec } = await connectSocket(t, { apiKey });
    await subscribeOk(socket, channelId);

    const text = uid('please ack me');
    const posted = await postUserMessage(token, channelId, text);
    const created = await rec.waitFor('message:created', (m) => m?.id === posted.id, { what: 'message to ack' });
    const q = `?channel=${encodeURIComponent(channelId)}`;

    const ack = await api('POST', `/api/v1/messages/${encodeURIComponent(posted.id)}/ack${q}`, { apiKey, expectStatus: 200 });
    assert.deepEqual(ack.body, { acknowledged: true }, `ack body: ${ack.text}`);
    const delivery = await rec.waitFor('message:delivery', (d) => d?.messageId === posted.id, { what: 'delivery tick' });
    assert.equal(delivery.deliveryStatus, 'agent_received', `delivery: ${JSON.stringify(delivery)}`);
    assert.ok(Number.isInteger(delivery.seq), `delivery seq: ${JSON.stringify(delivery)}`);
    assert.ok(delivery.seq > created.seq, `delivery seq ${delivery.seq} must follow created seq ${created.seq}`);

    const del = await api('DELETE', `/api/v1/messages/${encodeURIComponent(posted.id)}${q}`, { apiKey, expectStatus: 200 });
    assert.deepEqual(del.body, { deleted: true }, `delete body: ${del.text}`);
    const deleted = await rec.waitFor('message:deleted', (d) => d?.messageId === posted.id, { what: 'deletion' });
    assert.equal(deleted.channelId, channelId, `deleted: ${JSON.stringify(deleted)}`);
    assert.ok(Number.isInteger(deleted.seq), `deleted seq: ${JSON.stringify(deleted)}`);
    assert.ok(deleted.seq > delivery.seq, `deleted seq ${deleted.seq} must follow delivery seq ${delivery.seq}`);
  });

  test('unsubscribe:channel stops message:created', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { apiKey, channelId } = tenant;
    const { socket, rec } = await connectSocket(t, { apiKey });
    await subscribeOk(socket, channelId);
    const first = await postAgentMessage(apiKey, channelId, uid('before unsubscribe'));
    await rec.waitFor('message:created', (m) => m?.id === first.id, { what: 'message before unsubscribe' });

    socket.emit('unsubscribe:channel', channelId);
    // No ack is documented for unsubscribe; a ping round trip orders it before the next post.
    socket.emit('ping');
    await rec.waitForCount('pong', 1);
    const second = await postAgentMessage(apiKey, channelId, uid('after unsubscribe'));
    await rec.expectNone('message:created', (m) => m?.id === second.id, { what: 'after unsubscribe' });
  });
});
