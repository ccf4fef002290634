// A managed WebSocket: one logical connection that survives network failures. Each
// (re)connect fetches a fresh single-use ticket, reconnects back off exponentially with
// jitter, liveness is checked with application-level pings (`{"type":"ping"}` →
// `{"event_type":"pong"}`), and resumable streams reconnect with `?since=<last seq>` so
// that nothing is lost and nothing is delivered twice.

import { Emitter } from './emitter.js';
import { AssentError } from './rest.js';

/** Close codes after which reconnecting cannot help (see docs/THREAD_STREAM.md). */
const TERMINAL_CLOSE_CODES = new Map([
  [4400, 'bad request'],
  [4403, 'forbidden: this thread is not yours (or does not exist)'],
]);

const PING_FRAME = '{"type":"ping"}';
/** Frames kept while nobody listens yet (e.g. between `open` and the caller's subscribe). */
const MAX_BUFFERED_FRAMES = 10_000;
/** How long `close()` waits for the closing handshake before giving up on it. */
const CLOSE_TIMEOUT_MS = 3_000;

/** The socket was closed by the server for a reason that reconnecting cannot fix. */
export class SocketClosedError extends Error {
  constructor(code, reason) {
    super(`WebSocket closed with ${code}${reason ? ` (${reason})` : ''}: ${TERMINAL_CLOSE_CODES.get(code) ?? 'closed'}`);
    this.name = 'SocketClosedError';
    this.code = code;
    this.reason = reason;
  }
}

export const DEFAULT_SOCKET_OPTIONS = Object.freeze({
  /** Base backoff in ms; attempt n waits about reconnectDelay·2^(n-1), with jitter. */
  reconnectDelay: 1000,
  /** Upper bound of one backoff wait in ms. */
  maxReconnectDelay: 30_000,
  /** Reconnect attempts in a row before giving up (state "closed"); 0 = retry forever. */
  maxReconnectAttempts: 0,
  /** How often to send an application-level ping, in ms. */
  pingInterval: 20_000,
  /** A ping not answered (by any frame) within this many ms means the connection is dead. */
  pongTimeout: 10_000,
  /** Log lifecycle details with console.debug. */
  debug: false,
});

export class ManagedSocket {
  /** Every frame from the server: `{data (raw text), json (parsed), seq (or null)}`. */
  onMessage = new Emitter();
  /** "connecting" | "open" | "closing" | "closed" | "reconnecting". */
  onStateChange = new Emitter();
  /** The number of the reconnect attempt that is starting (1, 2, …). */
  onReconnecting = new Emitter();
  /** Socket errors, refused tickets, pong timeouts, terminal closes. */
  onError = new Emitter();

  #mgr;
  #path;
  #params;
  #opts;
  #resume;
  #state = 'connecting';
  #ws = null;
  /** Bumped whenever the current WebSocket is abandoned, so that its late events are ignored. */
  #gen = 0;
  #attempt = 0;
  #userClosed = false;
  #timers = { reconnect: null, ping: null, pong: null, close: null };
  #buffer = [];
  #lastSeq = null;
  #opened;
  #openedSettle;

  constructor(manager, { path, params = {}, name, resume = false, since, ...opts }) {
    this.#mgr = manager;
    this.#path = path;
    this.#params = params;
    this.name = name ?? path;
    this.#resume = resume;
    this.#opts = { ...DEFAULT_SOCKET_OPTIONS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
    if (Number.isInteger(since) && since >= 0) this.#lastSeq = since;
    this.#opened = new Promise((resolve, reject) => {
      this.#openedSettle = { resolve, reject };
    });
    // Callers that never await `opened` must not see an unhandled rejection.
    this.#opened.catch(() => {});
    // Flush frames received before anyone listened, as soon as someone does.
    const subscribe = this.onMessage.subscribe.bind(this.onMessage);
    this.onMessage.subscribe = (fn) => {
      const off = subscribe(fn);
      if (this.#buffer.length) {
        const frames = this.#buffer;
        this.#buffer = [];
        queueMicrotask(() => frames.forEach((f) => this.onMessage.emit(f)));
      }
      return off;
    };
  }

  /** The current state. */
  get state() {
    return this.#state;
  }

  get isOpen() {
    return this.#state === 'open';
  }

  /** The last `seq` seen (resumable streams), or null. The next reconnect asks `since=` it. */
  get lastSeq() {
    return this.#lastSeq;
  }

  /** Resolves on the first successful open; rejects if the socket closes for good before. */
  get opened() {
    return this.#opened;
  }

  /** Starts connecting (called by the manager). */
  start() {
    this.#connect();
    return this;
  }

  /** Sends a frame (objects are JSON-encoded). Returns false when not open. */
  send(data) {
    if (this.#state !== 'open' || !this.#ws) return false;
    this.#ws.send(typeof data === 'string' ? data : JSON.stringify(data));
    return true;
  }

  /** Graceful close: no further reconnects. */
  close(code = 1000, reason = '') {
    if (this.#userClosed || this.#state === 'closed') return;
    this.#userClosed = true;
    this.#clearTimers();
    const ws = this.#ws;
    if (ws && ws.readyState === 1) {
      this.#setState('closing');
      try {
        ws.close(code, reason);
      } catch {
        /* already closing */
      }
      // A dead peer never completes the closing handshake: do not wait for it forever.
      this.#timers.close = setTimeout(() => this.#abandon(ws), CLOSE_TIMEOUT_MS);
    } else {
      if (ws && ws.readyState === 0) {
        // Closing a CONNECTING socket makes browsers log an error: close it once it opens.
        ws.onopen = () => ws.close(1000);
      }
      this.#abandon(ws);
    }
  }

  /** Close and remove every listener. */
  destroy() {
    this.onMessage.clear();
    this.onStateChange.clear();
    this.onReconnecting.clear();
    this.onError.clear();
    this.#buffer = [];
    this.close();
  }

  /** Skips the current backoff wait (e.g. when the browser comes back online). */
  reconnectNow() {
    if (this.#state === 'reconnecting' && this.#timers.reconnect) {
      clearTimeout(this.#timers.reconnect);
      this.#timers.reconnect = null;
      this.#connect();
    }
  }

  /** Sends a ping now (e.g. when a tab becomes visible) to detect a dead connection early. */
  checkAlive() {
    if (this.#state === 'open') this.#ping();
  }

  // ---- internals ----

  #log(...args) {
    if (this.#opts.debug) console.debug(`[assent:${this.name}]`, ...args);
  }

  #setState(s) {
    if (this.#state === s) return;
    this.#log('state', this.#state, '→', s);
    this.#state = s;
    this.onStateChange.emit(s);
  }

  #url(ticket) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(this.#params)) {
      if (v !== undefined && v !== null) params.set(k, String(v));
    }
    params.set('ticket', ticket);
    if (this.#resume && this.#lastSeq !== null) params.set('since', String(this.#lastSeq));
    return `${this.#mgr.wsBase()}${this.#path}?${params}`;
  }

  async #connect() {
    const gen = ++this.#gen;
    const live = () => gen === this.#gen && !this.#userClosed;
    let ticket;
    try {
      ticket = (await this.#mgr.getTicket()).ticket;
    } catch (err) {
      if (!live()) return;
      this.#log('ticket failed', err?.message);
      this.onError.emit(err);
      if (err instanceof AssentError && !err.retryable) this.#finish(err);
      else this.#scheduleReconnect();
      return;
    }
    if (!live()) return;
    let ws;
    try {
      ws = new (this.#mgr.WebSocketImpl())(this.#url(ticket));
    } catch (err) {
      this.onError.emit(err);
      this.#scheduleReconnect();
      return;
    }
    this.#ws = ws;
    ws.onopen = () => gen === this.#gen && this.#onOpen();
    ws.onmessage = (ev) => gen === this.#gen && this.#onFrame(ev.data);
    ws.onerror = (ev) => gen === this.#gen && this.onError.emit(ev);
    ws.onclose = (ev) => gen === this.#gen && this.#onClose(ev.code, ev.reason);
  }

  #onOpen() {
    // The handshake alone proves little: a refused ticket still completes it and is then
    // closed (4401/4403). The socket counts as open on its first frame — the pong to this
    // ping, or `ready` — so `opened` and the "open" state mean "authenticated and live".
    this.#log('handshake done', this.#resume ? `since=${this.#lastSeq}` : '');
    this.#ping();
    this.#timers.ping = setInterval(() => this.#ping(), this.#opts.pingInterval);
  }

  #confirmOpen() {
    this.#attempt = 0;
    this.#setState('open');
    this.#openedSettle.resolve(this);
  }

  #ping() {
    if (!this.#ws || this.#ws.readyState !== 1) return;
    try {
      this.#ws.send(PING_FRAME);
    } catch {
      return;
    }
    if (!this.#timers.pong) {
      this.#timers.pong = setTimeout(() => this.#onPongTimeout(), this.#opts.pongTimeout);
    }
  }

  #onPongTimeout() {
    this.#timers.pong = null;
    const ws = this.#ws;
    this.#log('no pong: reconnecting');
    this.onError.emit(new Error(`no answer to ping within ${this.#opts.pongTimeout} ms`));
    this.#gen++; // ignore anything the dead socket still reports
    this.#ws = null;
    this.#clearTimers();
    kill(ws);
    this.#scheduleReconnect();
  }

  #onFrame(data) {
    // Any frame proves the connection alive.
    clearTimeout(this.#timers.pong);
    this.#timers.pong = null;
    if (this.#state !== 'open') this.#confirmOpen();
    const text = typeof data === 'string' ? data : String(data);
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      this.onError.emit(new Error(`unparsable frame: ${text.slice(0, 80)}`));
      return;
    }
    if (json?.event_type === 'pong') return;
    const seq = Number.isInteger(json?.seq) ? json.seq : null;
    if (this.#resume) {
      if (seq !== null) {
        if (this.#lastSeq !== null && seq <= this.#lastSeq) {
          this.#log('duplicate dropped', seq);
          return;
        }
        this.#lastSeq = seq;
      } else if (json?.event_type === 'ready' && Number.isInteger(json.last_seq)) {
        this.#lastSeq = Math.max(this.#lastSeq ?? 0, json.last_seq);
      }
    }
    const event = { type: 'message', data: text, json, seq };
    if (this.onMessage.size === 0) {
      if (this.#buffer.length < MAX_BUFFERED_FRAMES) this.#buffer.push(event);
      return;
    }
    this.onMessage.emit(event);
  }

  #onClose(code, reason) {
    this.#log('closed', code, reason);
    this.#ws = null;
    this.#clearTimers();
    if (this.#userClosed) {
      this.#finish();
      return;
    }
    if (TERMINAL_CLOSE_CODES.has(code)) {
      const err = new SocketClosedError(code, reason);
      this.onError.emit(err);
      this.#finish(err);
      return;
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    this.#attempt += 1;
    const max = this.#opts.maxReconnectAttempts;
    if (max > 0 && this.#attempt > max) {
      const err = new Error(`gave up after ${max} reconnect attempt${max === 1 ? '' : 's'}`);
      this.onError.emit(err);
      this.#finish(err);
      return;
    }
    this.#setState('reconnecting');
    this.onReconnecting.emit(this.#attempt);
    const base = Math.min(this.#opts.maxReconnectDelay, this.#opts.reconnectDelay * 2 ** (this.#attempt - 1));
    const delay = base / 2 + (Math.random() * base) / 2; // "equal jitter"
    this.#log(`reconnect attempt ${this.#attempt} in ${Math.round(delay)} ms`);
    this.#timers.reconnect = setTimeout(() => {
      this.#timers.reconnect = null;
      this.#connect();
    }, delay);
  }

  #abandon(ws) {
    this.#gen++;
    this.#ws = null;
    if (ws && (ws.readyState === 1 || ws.readyState === 2)) kill(ws);
    this.#finish();
  }

  #finish(err) {
    this.#clearTimers();
    this.#userClosed = true;
    this.#setState('closed');
    this.#openedSettle.reject(err ?? new Error('closed before it opened'));
    this.#mgr.forget(this);
  }

  #clearTimers() {
    clearTimeout(this.#timers.reconnect);
    clearInterval(this.#timers.ping);
    clearTimeout(this.#timers.pong);
    clearTimeout(this.#timers.close);
    this.#timers = { reconnect: null, ping: null, pong: null, close: null };
  }
}

/** Drops a connection without waiting for the peer (`ws` has terminate; browsers only close). */
function kill(ws) {
  if (!ws) return;
  try {
    if (typeof ws.terminate === 'function') ws.terminate();
    else ws.close(1000);
  } catch {
    /* already gone */
  }
}
