// Resume: a client that was away re-subscribes with {channelId, lastSeq} and gets exactly
// the events it missed, in order, before live ones, with no duplicates.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  TEST_TIMEOUT_MS,
  connect,
  openSocket,
  postAgentMessage,
  record,
  setupTenant,
  subscribe,
  subscribeOk,
  uid,
} from './helpers.mjs';

test('reconnect with lastSeq replays exactly the missed messages, then live ones', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { apiKey, channelId } = await setupTenant();
  const socket = openSocket(t, { apiKey });
  const rec = record(socket);

  // 1. Online: subscribe, see one live message, remember where we are.
  await connect(socket);
  const firstAck = await subscribeOk(socket, channelId);
  const warmup = await postAgentMessage(apiKey, channelId, uid('warm-up'));
  const live0 = await rec.waitFor('message:created', (m) => m?.id === warmup.id, { what: 'warm-up message' });
  assert.ok(live0.seq > firstAck.lastSeq, `live seq ${live0.seq} must exceed the subscribe ack's lastSeq ${firstAck.lastSeq}`);
  const lastSeq = Math.max(firstAck.lastSeq, ...rec.of('message:created').map((m) => m.seq));

  // 2. Offline: five messages are posted while nobody listens.
  socket.disconnect();
  assert.equal(socket.connected, false);
  const missed = [];
  for (let i = 1; i <= 5; i++) {
    missed.push(await postAgentMessage(apiKey, channelId, uid(`missed ${i}`)));
  }
  for (let i = 1; i < missed.length; i++) {
    assert.ok(missed[i].seq > missed[i - 1].seq, `REST seqs must increase: ${missed.map((m) => m.seq)}`);
  }

  // 3. Back online on the same client: resume from lastSeq.
  rec.items.length = 0;
  await connect(socket);
  const ack = await subscribe(socket, { channelId, lastSeq });
  assert.equal(ack?.ok, true, `resume subscribe refused: ${JSON.stringify(ack)}`);
  assert.equal(ack.channelId, channelId, `resume ack channelId: ${JSON.stringify(ack)}`);

  // The ack comes after the replay, so everything replayed is already recorded.
  const replayed = rec.of('message:created');
  assert.deepEqual(
    replayed.map((m) => m.id),
    missed.map((m) => m.id),
    `replay must be exactly the 5 missed messages in order; got ${JSON.stringify(replayed.map((m) => [m.seq, m.text]))}`,
  );
  assert.deepEqual(replayed.map((m) => m.text), missed.map((m) => m.text), 'replayed texts in order');
  assert.deepEqual(replayed.map((m) => m.seq), missed.map((m) => m.seq), 'replayed seqs equal the REST seqs');
  assert.ok(replayed.every((m) => m.seq > lastSeq), `all replayed seqs must exceed ${lastSeq}`);
  assert.ok(
    Number.isInteger(ack.lastSeq) && ack.lastSeq >= missed.at(-1).seq,
    `ack lastSeq ${ack.lastSeq} must be the head (≥ ${missed.at(-1).seq})`,
  );

  // 4. Live again: the next message arrives once, after the replay.
  const next = await postAgentMessage(apiKey, channelId, uid('live after resume'));
  const live = await rec.waitFor('message:created', (m) => m?.id === next.id, { what: 'live message after resume' });
  assert.ok(live.seq > missed.at(-1).seq, `live seq ${live.seq} must follow the replay`);
  await rec.expectNone('message:created', (m) => m?.id === warmup.id, { what: 'warm-up must not be replayed' });
  const ids = rec.of('message:created').map((m) => m.id);
  assert.equal(ids.length, 6, `expected 5 replayed + 1 live message:created, got ${JSON.stringify(ids)}`);
  assert.equal(new Set(ids).size, ids.length, `duplicate message:created: ${JSON.stringify(ids)}`);
});

test('resubscribing from lastSeq 0 replays the whole channel in seq order', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { apiKey, channelId } = await setupTenant();
  const posted = [];
  for (let i = 1; i <= 3; i++) posted.push(await postAgentMessage(apiKey, channelId, uid(`history ${i}`)));

  const socket = openSocket(t, { apiKey });
  const rec = record(socket);
  await connect(socket);
  const ack = await subscribeOk(socket, channelId, 0);
  const replayed = rec.of('message:created');
  assert.deepEqual(replayed.map((m) => m.id), posted.map((m) => m.id), `replay from 0: ${rec.summary()}`);
  assert.equal(ack.lastSeq, posted.at(-1).seq, `ack lastSeq on a quiet channel is the last message's seq`);
});
