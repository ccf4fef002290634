// The managed sockets against a real server's raw WebSockets (docs/THREAD_STREAM.md):
// live frames, resume without loss or duplicates across forced disconnects, reconnect
// limits, liveness pings, terminal refusals, transcripts and notifications.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import WebSocket from 'ws';
import { createClient, SocketClosedError } from '../src/index.js';
import {
  BASE_URL,
  FrameLog,
  TEST_TIMEOUT_MS,
  memberClient,
  postAgentMessage,
  setupTenant,
  sleep,
  trackedWebSocket,
  uid,
  until,
  watch,
} from './helpers.mjs';

let tenant;

before(async () => {
  tenant = await setupTenant();
  // Fail with a clear message when the server has no raw sockets at all.
  const { ticket } = await tenant.human.websocket.getTicket();
  const code = await new Promise((resolve) => {
    const ws = new WebSocket(`${BASE_URL.replace(/^http/, 'ws')}/ws/threads/${tenant.channelId}?ticket=${ticket}`);
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
    ws.on('error', (e) => resolve(e.message));
  });
  assert.equal(code, 'open', `the server at ${BASE_URL} does not serve /ws/threads/{id} (docs/THREAD_STREAM.md): ${code}`);
});

/** A human client on the tenant's session, with a tracked WebSocket class. */
function humanWithTracking() {
  const net = trackedWebSocket();
  const client = createClient({ baseUrl: BASE_URL, token: tenant.human.token, WebSocket: net.WebSocket });
  return { client, net };
}

test('connectToChat delivers live frames; close() ends it and connectionCount follows', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { client } = humanWithTracking();
  const socket = await client.websocket.connectToChat(tenant.channelId);
  assert.equal(socket.state, 'open');
  assert.equal(socket.isOpen, true);
  assert.equal(client.websocket.connectionCount, 1);
  const log = new FrameLog(socket);
  await log.waitFor('ready');
  const text = uid('live');
  const posted = await postAgentMessage(tenant.agent, tenant.channelId, text);
  const [frame] = await log.waitFor('message_completed', (f) => f.message_id === posted.id);
  assert.equal(frame.content, text);
  assert.equal(frame.thread_id, tenant.channelId);
  assert.ok(Number.isInteger(frame.seq));
  assert.equal(socket.lastSeq, frame.seq);

  // A second listener; unsubscribing one leaves the other.
  const seen = [];
  const off = socket.onMessage.subscribe((e) => seen.push(JSON.parse(e.data)));
  log.off();
  const second = await postAgentMessage(tenant.agent, tenant.channelId, uid('second'));
  await until(() => seen.some((f) => f.message_id === second.id), 'the second message');
  assert.equal(log.of('message_completed', (f) => f.message_id === second.id).length, 0, 'unsubscribed listener still called');
  off();

  const states = watch(socket).states;
  socket.close();
  await until(() => socket.state === 'closed', 'closed');
  assert.deepEqual(states, ['closing', 'closed']);
  assert.equal(client.websocket.connectionCount, 0);
});

test('forced disconnects while an agent posts 50 messages: none lost, none duplicated', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { client, net } = humanWithTracking();
  const socket = await client.websocket.connectToChat(tenant.channelId, { reconnectDelay: 20, maxReconnectDelay: 200 });
  const w = watch(socket);
  const log = new FrameLog(socket);
  await log.waitFor('ready');

  const run = uid('burst');
  const ids = [];
  for (let i = 0; i < 50; i++) {
    const m = await postAgentMessage(tenant.agent, tenant.channelId, `${run} #${i}`, { clientId: `${run}-${i}` });
    ids.push(m.id);
    if (i % 12 === 5) {
      // The network drops under the open socket, mid-burst (not under one already gone:
      // two cuts before a reconnect would count as one).
      await until(() => socket.isOpen, 'the socket to be open before the cut');
      net.cut();
    }
  }
  const frames = await log.waitFor('message_completed', (f) => f.content?.startsWith(run), 50, 20_000);
  await sleep(300); // let any duplicate straggle in
  const all = log.of('message_completed', (f) => f.content?.startsWith(run));
  assert.equal(all.length, 50, `expected exactly 50 frames, got ${all.length}`);
  assert.deepEqual(all.map((f) => f.message_id), ids, 'every message, once, in order');
  const seqs = log.frames.filter((f) => Number.isInteger(f.seq)).map((f) => f.seq);
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `seq not increasing: ${seqs}`);
  assert.ok(w.attempts.length >= 4, `expected at least 4 reconnects, saw ${w.attempts.length}`);
  assert.ok(net.instances.length >= 5, 'a new WebSocket per reconnect');
  assert.equal(frames.length, 50);
  socket.close();
});

test('maxReconnectAttempts: N stops after N attempts with state "closed"', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { client, net } = humanWithTracking();
  const socket = await client.websocket.connectToChat(tenant.channelId, { reconnectDelay: 10, maxReconnectDelay: 40, maxReconnectAttempts: 3 });
  const w = watch(socket);
  net.partitioned = true;
  net.cut();
  await until(() => socket.state === 'closed', 'state closed', 15_000);
  assert.deepEqual(w.attempts, [1, 2, 3]);
  assert.equal(net.instances.length, 1 + 3, 'one WebSocket per attempt');
  assert.match(String(w.errors.at(-1)?.message), /gave up after 3 reconnect attempts/);
  assert.equal(w.states.at(-1), 'closed');
  assert.ok(w.states.includes('reconnecting'));
  assert.equal(client.websocket.connectionCount, 0);
  await sleep(200);
  assert.equal(net.instances.length, 4, 'no attempt after giving up');
});

test('maxReconnectAttempts: 0 retries forever and resumes where it left off', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { client, net } = humanWithTracking();
  const socket = await client.websocket.connectToChat(tenant.channelId, { reconnectDelay: 5, maxReconnectDelay: 20, maxReconnectAttempts: 0 });
  const w = watch(socket);
  const log = new FrameLog(socket);
  await log.waitFor('ready');
  net.partitioned = true;
  net.cut();
  const during = await postAgentMessage(tenant.agent, tenant.channelId, uid('while-away'));
  await until(() => w.attempts.length >= 12, '12 failed attempts', 20_000);
  assert.equal(socket.state, 'reconnecting');
  net.partitioned = false;
  await until(() => socket.state === 'open', 'open again', 10_000);
  await log.waitFor('message_completed', (f) => f.message_id === during.id);
  assert.ok(w.attempts.length >= 12);
  socket.close();
});

test('a silent connection (no pong) is detected and replaced', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { client, net } = humanWithTracking();
  const socket = await client.websocket.connectToChat(tenant.channelId, { pingInterval: 100, pongTimeout: 300, reconnectDelay: 10 });
  const w = watch(socket);
  const log = new FrameLog(socket);
  await log.waitFor('ready');
  await sleep(100);
  net.dropPings = true;
  await until(() => w.errors.some((e) => /no answer to ping/.test(e.message)), 'a pong timeout', 5_000);
  net.dropPings = false;
  await until(() => socket.state === 'open' && net.instances.length >= 2, 'a new connection', 5_000);
  const m = await postAgentMessage(tenant.agent, tenant.channelId, uid('after-pong'));
  await log.waitFor('message_completed', (f) => f.message_id === m.id);
  assert.ok(w.states.includes('reconnecting'));
  socket.close();
});

test('a fresh ticket per connection, and since= resumes from a given point', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { client, net } = humanWithTracking();
  const first = await postAgentMessage(tenant.agent, tenant.channelId, uid('before'));
  const second = await postAgentMessage(tenant.agent, tenant.channelId, uid('before'));
  const socket = await client.websocket.connectToChat(tenant.channelId, { since: first.seq, reconnectDelay: 10 });
  const log = new FrameLog(socket);
  await log.waitFor('message_completed', (f) => f.message_id === second.id);
  assert.equal(log.of('message_completed', (f) => f.message_id === first.id).length, 0, 'since is exclusive');
  net.cut();
  await until(() => net.instances.length === 2 && socket.state === 'open', 'reconnected', 5_000);
  const tickets = net.instances.map((ws) => new URL(ws.url).searchParams.get('ticket'));
  assert.notEqual(tickets[0], tickets[1], 'each connection uses its own ticket');
  assert.ok(new URL(net.instances[1].url).searchParams.get('since'), 'the reconnect asks since=');
  socket.close();
});

test('another user\'s thread is refused for good (4403), without reconnecting', { timeout: TEST_TIMEOUT_MS }, async () => {
  const member = await memberClient(tenant.human);
  const pending = member.websocket.connectToChat(tenant.channelId, { reconnectDelay: 10 });
  await assert.rejects(pending, (err) => err instanceof SocketClosedError && err.code === 4403);
  await sleep(100);
  assert.equal(member.websocket.connectionCount, 0, 'no socket left trying');
});

test('an agent key opens the thread stream too; closeAll() closes everything', { timeout: TEST_TIMEOUT_MS }, async () => {
  const agent = createClient({ baseUrl: BASE_URL, apiKey: tenant.apiKey, WebSocket });
  const a = await agent.websocket.connectToChat(tenant.channelId);
  const b = await agent.websocket.connectToTranscript('me', tenant.channelId);
  assert.equal(agent.websocket.connectionCount, 2);
  const la = new FrameLog(a);
  const lb = new FrameLog(b);
  const m = await postAgentMessage(tenant.agent, tenant.channelId, uid('both'));
  await la.waitFor('message_completed', (f) => f.message_id === m.id);
  await lb.waitFor('message_completed', (f) => f.message_id === m.id);
  agent.websocket.closeAll();
  await until(() => agent.websocket.connectionCount === 0, 'all closed');
  assert.equal(a.state, 'closed');
  assert.equal(b.state, 'closed');
});

test('transcripts: the channel\'s full records, oldest first', { timeout: TEST_TIMEOUT_MS }, async () => {
  const t = await setupTenant(tenant.human);
  const texts = [];
  for (let i = 0; i < 5; i++) {
    texts.push(uid(`t${i}`));
    await postAgentMessage(t.agent, t.channelId, texts[i]);
  }
  const records = await t.human.transcripts.get('me', t.channelId, { pageSize: 2 });
  assert.deepEqual(records.map((r) => r.text), texts);
  const asAgent = await t.agent.transcripts.get('me', t.channelId);
  assert.deepEqual(asAgent.map((r) => r.text), texts);
  assert.throws(() => t.human.websocket.connectToTranscript('', t.channelId), TypeError);
});

test('the notifications socket carries the user\'s cross-channel events', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { client } = humanWithTracking();
  const socket = await client.websocket.connect('/notifications', {}, 'notifications');
  assert.equal(socket.name, 'notifications');
  const log = new FrameLog(socket);
  await sleep(100);
  const m = await postAgentMessage(tenant.agent, tenant.channelId, uid('notify'));
  const [f] = await log.waitFor('message_created', (x) => x.message_id === m.id);
  assert.equal(f.channel_id, tenant.channelId);
  socket.destroy();
  await until(() => socket.state === 'closed', 'closed');
});

test('destroy() removes listeners; a closed socket does not reconnect', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { client, net } = humanWithTracking();
  const socket = await client.websocket.connectToChat(tenant.channelId, { reconnectDelay: 10 });
  let calls = 0;
  socket.onStateChange.subscribe(() => calls++);
  socket.destroy();
  await sleep(200);
  assert.equal(calls, 0, 'no listener called after destroy');
  assert.equal(socket.state, 'closed');
  assert.equal(net.instances.length, 1);
  assert.equal(socket.send({ type: 'ping' }), false);
});
