// Shared setup for the client's tests: they drive a real, running Assent server whose base
// URL is in ASSENT_URL (e2e/run.sh starts one and exports it, with the admin credentials).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { createClient } from '../src/index.js';

export const BASE_URL = (process.env.ASSENT_URL ?? '').replace(/\/+$/, '');
if (!BASE_URL) throw new Error('ASSENT_URL is not set: start a server and export it, or use e2e/run.sh');
export const ADMIN_EMAIL = process.env.ASSENT_ADMIN_EMAIL ?? 'admin@example.com';
export const ADMIN_PASSWORD = process.env.ASSENT_ADMIN_PASSWORD ?? 'admin-password-1';

export const TEST_TIMEOUT_MS = 60_000;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function uid(prefix = 'js') {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/**
 * A `ws` WebSocket class whose instances are recorded, so that tests can cut the network
 * under a managed socket. While `partitioned`, new connections go to a closed port (the
 * attempt fails like an unreachable server); `dropPings` swallows outgoing ping frames.
 */
export function trackedWebSocket() {
  const ctl = { instances: [], partitioned: false, dropPings: false, pingsDropped: 0 };
  class TrackedWebSocket extends WebSocket {
    constructor(url, ...rest) {
      super(ctl.partitioned ? 'ws://127.0.0.1:9/unreachable' : url, ...rest);
      this.on('error', () => {}); // failures are reported through onerror/onclose
      ctl.instances.push(this);
    }
    send(data, ...rest) {
      if (ctl.dropPings && String(data).includes('"ping"')) {
        ctl.pingsDropped += 1;
        return;
      }
      super.send(data, ...rest);
    }
  }
  ctl.WebSocket = TrackedWebSocket;
  ctl.current = () => ctl.instances.at(-1);
  /** Cuts the TCP connection of the newest socket, as a network failure would. */
  ctl.cut = () => {
    const ws = ctl.current();
    if (ws?._socket) ws._socket.destroy();
    else ws?.terminate();
  };
  return ctl;
}

/** A client logged in as the admin (owner). */
export async function adminClient(opts = {}) {
  const client = createClient({ baseUrl: BASE_URL, WebSocket, ...opts });
  await client.auth.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  return client;
}

/** A fresh member user (created by `owner`), logged in, password already changed. */
export async function memberClient(owner, opts = {}) {
  const email = `${uid('member')}@example.com`;
  const initial = `pw-${randomBytes(8).toString('hex')}`;
  await owner.users.create({ email, displayName: 'JS Member', password: initial, role: 'member' });
  const client = createClient({ baseUrl: BASE_URL, WebSocket, ...opts });
  await client.auth.login(email, initial);
  const password = `pw-${randomBytes(8).toString('hex')}`;
  await client.auth.changePassword(initial, password);
  return Object.assign(client, { email, password });
}

/** A human client + an agent client (API key) + one agent (= channel). */
export async function setupTenant(human) {
  const h = human ?? (await adminClient());
  const { key } = await h.apiKeys.create(uid('key'));
  const agent = createClient({ baseUrl: BASE_URL, apiKey: key, WebSocket });
  const record = await agent.request('POST', '/api/v1/agents', { body: { name: uid('agent') } });
  return { human: h, agent, apiKey: key, channelId: record.id, agentRecord: record };
}

export function postAgentMessage(agent, channelId, text, extra = {}) {
  return agent.request('POST', '/api/v1/messages', { body: { channelId, text, ...extra } });
}

/** Records a managed socket's frames and lets tests wait for them. */
export class FrameLog {
  frames = [];
  #waiters = new Set();
  constructor(socket) {
    this.off = socket.onMessage.subscribe((e) => {
      this.frames.push(e.json);
      for (const w of [...this.#waiters]) w();
    });
  }
  of(type, pred = () => true) {
    return this.frames.filter((f) => f.event_type === type && pred(f));
  }
  waitFor(type, pred = () => true, n = 1, timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const got = this.of(type, pred);
        if (got.length >= n) {
          done();
          resolve(got.slice(0, n));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${n}× ${type}; got ${this.of(type, pred).length}; frames: ${JSON.stringify(this.frames.map((f) => [f.event_type, f.seq])).slice(0, 1500)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }
}

/** Waits until `pred()` is true, polling. */
export async function until(pred, what, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Records a socket's states, reconnect attempts and errors. */
export function watch(socket) {
  const w = { states: [], attempts: [], errors: [] };
  socket.onStateChange.subscribe((s) => w.states.push(s));
  socket.onReconnecting.subscribe((n) => w.attempts.push(n));
  socket.onError.subscribe((e) => w.errors.push(e));
  return w;
}
