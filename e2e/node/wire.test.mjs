// The exact frames on the wire (Engine.IO v4, Socket.IO protocol v5), driven with a bare
// `ws` client, so that any client library — not only socket.io-client — interoperates.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { BAD_KEY, RawEio, TEST_TIMEOUT_MS, setupTenant } from './helpers.mjs';

let tenant;

before(async () => {
  tenant = await setupTenant();
});

/** Splits `<type>/ws,<id?><json>` into its parts. */
function parse(frame, prefix) {
  assert.ok(frame.startsWith(prefix), `frame ${frame} should start with ${prefix}`);
  const rest = frame.slice(prefix.length);
  const m = /^(\d*)(.*)$/s.exec(rest);
  return { id: m[1] === '' ? undefined : Number(m[1]), data: m[2] === '' ? undefined : JSON.parse(m[2]) };
}

async function openHandshake(t) {
  const raw = await RawEio.open(t);
  const open = await raw.next('0');
  const hs = JSON.parse(open.slice(1));
  assert.equal(typeof hs.sid, 'string', `open packet sid: ${open}`);
  assert.ok(Number.isInteger(hs.pingInterval) && hs.pingInterval > 0, `pingInterval: ${open}`);
  assert.ok(Number.isInteger(hs.pingTimeout) && hs.pingTimeout > 0, `pingTimeout: ${open}`);
  assert.deepEqual(hs.upgrades, [], `a websocket-only session offers no upgrades: ${open}`);
  return raw;
}

test('Engine.IO open, namespace connect with an API key, ping/pong and an acked subscribe', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const raw = await openHandshake(t);

  raw.send(`40/ws,${JSON.stringify({ apiKey: tenant.apiKey })}`);
  const connected = parse(await raw.next('40/ws,'), '40/ws,');
  assert.equal(typeof connected.data?.sid, 'string', `CONNECT reply carries a sid: ${JSON.stringify(connected)}`);

  raw.send('42/ws,["ping"]');
  const pong = parse(await raw.next('42/ws,'), '42/ws,');
  assert.equal(pong.data?.[0], 'pong', `EVENT pong: ${JSON.stringify(pong)}`);

  raw.send(`42/ws,7${JSON.stringify(['subscribe:channel', { channelId: tenant.channelId }])}`);
  const ack = parse(await raw.next('43/ws,'), '43/ws,');
  assert.equal(ack.id, 7, `ACK id echoes the request: ${JSON.stringify(ack)}`);
  assert.ok(Array.isArray(ack.data) && ack.data.length === 1, `ACK carries one argument: ${JSON.stringify(ack)}`);
  assert.equal(ack.data[0].ok, true, `ACK payload: ${JSON.stringify(ack)}`);
  assert.equal(ack.data[0].channelId, tenant.channelId, `ACK payload: ${JSON.stringify(ack)}`);
  assert.ok(Number.isInteger(ack.data[0].lastSeq), `ACK payload: ${JSON.stringify(ack)}`);
});

test('a bad API key gets CONNECT_ERROR {"message":"unauthorized"}', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const raw = await openHandshake(t);
  raw.send(`40/ws,${JSON.stringify({ apiKey: BAD_KEY })}`);
  const err = parse(await raw.next('44/ws,'), '44/ws,');
  assert.equal(err.data?.message, 'unauthorized', `CONNECT_ERROR payload: ${JSON.stringify(err)}`);
  assert.equal(raw.frames.filter((f) => f.startsWith('40/ws,')).length, 0, 'no CONNECT after a refusal');
});

test('a namespace connect without auth gets CONNECT_ERROR {"message":"unauthorized"}', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const raw = await openHandshake(t);
  raw.send('40/ws,');
  const err = parse(await raw.next('44/ws,'), '44/ws,');
  assert.equal(err.data?.message, 'unauthorized', `CONNECT_ERROR payload: ${JSON.stringify(err)}`);
});
