// Shared helpers for the Node end-to-end suites: REST setup (login, users, API keys,
// agents, messages) and Socket.IO plumbing (connect, record events, wait with timeouts).
//
// Everything talks to a real, already running server whose base URL is in ASSENT_URL
// (e2e/run.sh starts one and exports it).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { io } from 'socket.io-client';
import WebSocket from 'ws';

function requireBaseUrl() {
  const url = process.env.ASSENT_URL;
  if (!url) {
    throw new Error('ASSENT_URL is not set: start a server and export it, or use e2e/run.sh');
  }
  return url.replace(/\/+$/, '');
}

export const BASE_URL = requireBaseUrl();
export const WS_NAMESPACE = '/ws';
export const ADMIN_EMAIL = process.env.ASSENT_ADMIN_EMAIL ?? 'admin@example.com';
export const ADMIN_PASSWORD = process.env.ASSENT_ADMIN_PASSWORD ?? 'admin-password-1';

/** How long to wait for an expected event or ack. */
export const EVENT_TIMEOUT_MS = 5_000;
/** How long to keep listening when asserting that something does NOT arrive. */
export const QUIET_MS = 500;
/** Per-test bound handed to node:test. */
export const TEST_TIMEOUT_MS = 30_000;
/** A well-formed API key that no server ever issued. */
export const BAD_KEY = `hp_${'0'.repeat(48)}`;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A short unique name, so repeated runs against one data dir never collide. */
export function uid(prefix = 'e2e') {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

// ---------------------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------------------

/**
 * One HTTP call. `token` becomes `Authorization: Bearer`, `apiKey` becomes `x-api-key`.
 * With `expectStatus`, a different status fails the test with the response body shown.
 * Returns `{status, headers, body, text}`; `body` is the parsed JSON (or undefined).
 */
export async function api(method, path, { token, apiKey, body, expectStatus } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  if (apiKey) headers['x-api-key'] = apiKey;
  const res = await fetch(BASE_URL + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (expectStatus !== undefined) {
    assert.equal(
      res.status,
      expectStatus,
      `${method} ${path} answered ${res.status}, expected ${expectStatus}; body: ${text.slice(0, 500)}`,
    );
  }
  return { status: res.status, headers: res.headers, body: json, text };
}

/** `POST /api/auth/login` → `{token, user}`. */
export async function login(email, password) {
  const res = await api('POST', '/api/auth/login', { body: { email, password }, expectStatus: 200 });
  assert.equal(typeof res.body?.token, 'string', `login response has no token: ${res.text}`);
  assert.equal(res.body?.user?.email, email, `login response user.email: ${res.text}`);
  return { token: res.body.token, user: res.body.user };
}

export const loginAdmin = () => login(ADMIN_EMAIL, ADMIN_PASSWORD);

/**
 * The owner creates a member (`POST /api/users`), who then logs in and replaces the
 * owner-chosen password (Assent refuses other `/api` calls until they do).
 */
export async function createMember(ownerToken, { displayName = 'E2E Member' } = {}) {
  const email = `${uid('member')}@example.com`;
  const initial = `pw-${randomBytes(8).toString('hex')}`;
  await api('POST', '/api/users', {
    token: ownerToken,
    body: { email, displayName, password: initial, role: 'member' },
    expectStatus: 201,
  });
  const first = await login(email, initial);
  const password = `pw-${randomBytes(8).toString('hex')}`;
  await api('POST', '/api/auth/change-password', {
    token: first.token,
    body: { currentPassword: initial, newPassword: password },
    expectStatus: 200,
  });
  return { ...(await login(email, password)), email, password };
}

/** `POST /api/api-keys` → the clear key `hp_<48 hex>`. */
export async function createApiKey(token, label = uid('key')) {
  const res = await api('POST', '/api/api-keys', { token, body: { label }, expectStatus: 201 });
  assert.match(res.body?.key ?? '', /^hp_[0-9a-f]{48}$/, `api key format: ${res.text}`);
  return res.body.key;
}

/** `POST /api/v1/agents` → the agent; its id is the channel id. */
export async function createAgent(apiKey, name = uid('agent')) {
  const res = await api('POST', '/api/v1/agents', { apiKey, body: { name }, expectStatus: 201 });
  assert.equal(typeof res.body?.id, 'string', `agent has no id: ${res.text}`);
  assert.equal(res.body.name, name, `agent name: ${res.text}`);
  return res.body;
}

/** `POST /api/auth/ws-ticket` → a short-lived ticket for `auth.token`. */
export async function wsTicket(token) {
  const res = await api('POST', '/api/auth/ws-ticket', { token });
  assert.ok(res.status === 200 || res.status === 201, `ws-ticket answered ${res.status}: ${res.text}`);
  assert.equal(typeof res.body?.ticket, 'string', `ws-ticket has no ticket: ${res.text}`);
  return res.body.ticket;
}

/** An agent posts into a channel (`POST /api/v1/messages`, x-api-key). */
export async function postAgentMessage(apiKey, channelId, text, extra = {}) {
  const res = await api('POST', '/api/v1/messages', {
    apiKey,
    body: { channelId, text, ...extra },
    expectStatus: 201,
  });
  return res.body;
}

/** A human posts into a channel (`POST /api/messages`, bearer). */
export async function postUserMessage(token, channelId, text, extra = {}) {
  const res = await api('POST', '/api/messages', {
    token,
    body: { channelId, text, ...extra },
    expectStatus: 201,
  });
  return res.body;
}

/**
 * A tenant = a logged-in user with one API key and one agent (= channel).
 * Without `session`, the admin (owner) is used.
 */
export async function setupTenant(session) {
  const s = session ?? (await loginAdmin());
  const apiKey = await createApiKey(s.token);
  const agent = await createAgent(apiKey);
  return { token: s.token, user: s.user, apiKey, agent, channelId: agent.id };
}

/** A second, independent tenant: a fresh member user created by the owner. */
export async function setupMemberTenant(ownerToken) {
  return setupTenant(await createMember(ownerToken));
}

// ---------------------------------------------------------------------------------------
// Socket.IO
// ---------------------------------------------------------------------------------------

/**
 * A `/ws` socket that has not connected yet, closed automatically when test `t` ends.
 * Reconnection is off so that a test sees exactly what the server did.
 */
export function openSocket(t, auth) {
  const socket = io(`${BASE_URL}${WS_NAMESPACE}`, {
    auth,
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    autoConnect: false,
    timeout: EVENT_TIMEOUT_MS,
  });
  t.after(() => {
    socket.offAny();
    socket.disconnect();
  });
  return socket;
}

/** Connects `socket` and resolves on `connect`; rejects on `connect_error` or timeout. */
export function connect(socket, timeoutMs = EVENT_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no connect within ${timeoutMs} ms`)), timeoutMs);
    const onConnect = () => done();
    const onError = (err) => done(new Error(`connect_error: ${err?.message}`, { cause: err }));
    function done(err) {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
      if (err) reject(err);
      else resolve(socket);
    }
    socket.once('connect', onConnect);
    socket.once('connect_error', onError);
    socket.connect();
  });
}

/** Opens, records and connects a socket: `{socket, rec}`. */
export async function connectSocket(t, auth) {
  const socket = openSocket(t, auth);
  const rec = record(socket);
  await connect(socket);
  return { socket, rec };
}

/**
 * Connects `socket` expecting a refusal: resolves with the `connect_error` Error, and fails
 * if `connect` fires (or nothing happens in time).
 */
export function expectConnectError(socket, timeoutMs = EVENT_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`neither connect_error nor connect within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onConnect = () => done(new Error('socket connected although the server should have refused it'));
    const onError = (err) => done(null, err);
    function done(failure, err) {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
      if (failure) reject(failure);
      else resolve(err);
    }
    socket.once('connect', onConnect);
    socket.once('connect_error', onError);
    socket.connect();
  });
}

/** Emits with an acknowledgement, failing after `timeoutMs`; resolves with the ack payload. */
export async function emitWithAck(socket, event, payload, timeoutMs = EVENT_TIMEOUT_MS) {
  try {
    return await socket.timeout(timeoutMs).emitWithAck(event, payload);
  } catch (err) {
    throw new Error(`no ack for ${event} ${JSON.stringify(payload)} within ${timeoutMs} ms`, { cause: err });
  }
}

/** `subscribe:channel` with an ack; `payload` is a bare channel id or `{channelId, lastSeq}`. */
export const subscribe = (socket, payload) => emitWithAck(socket, 'subscribe:channel', payload);

/** Subscribes and asserts the server accepted it; resolves with the ack. */
export async function subscribeOk(socket, channelId, lastSeq) {
  const payload = lastSeq === undefined ? { channelId } : { channelId, lastSeq };
  const ack = await subscribe(socket, payload);
  assert.equal(ack?.ok, true, `subscribe:channel ${JSON.stringify(payload)} refused: ${JSON.stringify(ack)}`);
  assert.equal(ack.channelId, channelId, `ack channelId: ${JSON.stringify(ack)}`);
  assert.ok(Number.isInteger(ack.lastSeq), `ack lastSeq is not an integer: ${JSON.stringify(ack)}`);
  return ack;
}

/** Records every event a socket receives, in arrival order, and lets tests wait on them. */
export class Recorder {
  items = [];
  #waiters = new Set();

  constructor(socket) {
    socket.onAny((event, ...args) => {
      this.items.push({ event, data: args[0], args });
      for (const waiter of [...this.#waiters]) waiter();
    });
  }

  /** Payloads of `event` (matching `pred`), in arrival order. */
  of(event, pred = () => true) {
    return this.items.filter((i) => i.event === event && pred(i.data)).map((i) => i.data);
  }

  /** Resolves with the first `event` payload matching `pred`, already received or not. */
  async waitFor(event, pred = () => true, { timeoutMs = EVENT_TIMEOUT_MS, what } = {}) {
    const [first] = await this.waitForCount(event, 1, pred, { timeoutMs, what });
    return first;
  }

  /** Resolves with the first `n` matching payloads once that many have arrived. */
  waitForCount(event, n, pred = () => true, { timeoutMs = EVENT_TIMEOUT_MS, what } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.of(event, pred);
        if (found.length < n) return false;
        finish();
        resolve(found.slice(0, n));
        return true;
      };
      const timer = setTimeout(() => {
        finish();
        const got = this.of(event, pred).length;
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${n}× ${event}` +
              `${what ? ` (${what})` : ''}; matched ${got}; received: ${this.summary()}`,
          ),
        );
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Waits `ms` and then asserts that no `event` matching `pred` arrived at all. */
  async expectNone(event, pred = () => true, { ms = QUIET_MS, what } = {}) {
    await sleep(ms);
    const found = this.of(event, pred);
    assert.equal(found.length, 0, `unexpected ${event}${what ? ` (${what})` : ''}: ${JSON.stringify(found)}`);
  }

  summary() {
    return JSON.stringify(this.items.map((i) => [i.event, i.data])).slice(0, 2_000);
  }
}

export const record = (socket) => new Recorder(socket);

/** Common shape checks for a `message:created` payload / REST message. */
export function assertMessageShape(msg, { channelId, senderType, senderId, text }) {
  const show = JSON.stringify(msg);
  assert.equal(typeof msg?.id, 'string', `message id: ${show}`);
  assert.equal(msg.channelId, channelId, `message channelId: ${show}`);
  assert.equal(msg.senderType, senderType, `message senderType: ${show}`);
  if (senderId !== undefined) assert.equal(msg.senderId, senderId, `message senderId: ${show}`);
  assert.equal(msg.text, text, `message text: ${show}`);
  assert.equal(msg.review, null, `message review: ${show}`);
  assert.equal(msg.metadata, null, `message metadata: ${show}`);
  assert.deepEqual(msg.attachments, [], `message attachments: ${show}`);
  assert.equal(typeof msg.createdAt, 'string', `message createdAt: ${show}`);
  assert.ok(!Number.isNaN(Date.parse(msg.createdAt)), `message createdAt is not a date: ${show}`);
  assert.ok(Number.isInteger(msg.seq) && msg.seq > 0, `message seq is not a positive integer: ${show}`);
}

// ---------------------------------------------------------------------------------------
// Raw Engine.IO v4 / Socket.IO v5 frames over `ws`, to pin the exact wire format.
// ---------------------------------------------------------------------------------------

/** A bare websocket speaking Engine.IO text frames; answers server pings ("2") with "3". */
export class RawEio {
  frames = [];
  #waiters = new Set();

  /** Opens `/socket.io/?EIO=4&transport=websocket`; closed automatically when `t` ends. */
  static async open(t) {
    const url = `${BASE_URL.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
    const raw = new RawEio(new WebSocket(url, { handshakeTimeout: EVENT_TIMEOUT_MS }));
    t.after(() => raw.ws.terminate());
    await new Promise((resolve, reject) => {
      raw.ws.once('open', resolve);
      raw.ws.once('error', reject);
    });
    return raw;
  }

  constructor(ws) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      const frame = isBinary ? data : data.toString('utf8');
      if (frame === '2') {
        ws.send('3');
        return;
      }
      this.frames.push(frame);
      for (const waiter of [...this.#waiters]) waiter();
    });
  }

  send(frame) {
    this.ws.send(frame);
  }

  /** Resolves with (and consumes) the first received text frame starting with `prefix`. */
  next(prefix, timeoutMs = EVENT_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.frames.findIndex((f) => typeof f === 'string' && f.startsWith(prefix));
        if (i < 0) return;
        const [frame] = this.frames.splice(i, 1);
        finish();
        resolve(frame);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no frame starting with ${JSON.stringify(prefix)} within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }
}
