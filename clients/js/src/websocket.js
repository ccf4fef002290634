// `client.websocket`: opens managed sockets on Assent's raw WebSocket endpoints and keeps
// track of them (seed 004's API).
//
//   /ws/threads/{threadId}   one conversation (threadId = channel id), resumable with since=
//   /ws/notifications        the user's cross-channel events (dashboards), not resumable

import { ManagedSocket } from './socket.js';
import { checkWorkspace } from './rest.js';

const enc = encodeURIComponent;

export class WebSocketManager {
  #cfg;
  #rest;
  #sockets = new Set();

  constructor(cfg, rest) {
    this.#cfg = cfg;
    this.#rest = rest;
    // Browsers: reconnect at once when the network returns, re-check liveness when a tab
    // becomes visible again (timers are throttled in background tabs).
    const g = globalThis;
    if (typeof g.addEventListener === 'function' && typeof g.document !== 'undefined') {
      g.addEventListener('online', () => this.#sockets.forEach((s) => s.reconnectNow()));
      g.document.addEventListener('visibilitychange', () => {
        if (g.document.visibilityState === 'visible') this.#sockets.forEach((s) => s.checkAlive());
      });
    }
  }

  /** How many managed sockets are not closed yet. */
  get connectionCount() {
    return this.#sockets.size;
  }

  /**
   * A fresh single-use ticket `{ticket, expiresAt}` (valid 30 s). API-key clients use
   * `/api/v1/ws-ticket`; sessions (cookie or bearer token) use `/api/auth/ws-ticket`.
   */
  getTicket() {
    const path = this.#cfg.apiKey && !this.#cfg.token ? '/api/v1/ws-ticket' : '/api/auth/ws-ticket';
    return this.#rest.request('POST', path);
  }

  /**
   * The live event stream of one conversation (`threadId` = channel id). Frames are
   * seed 003's `{event_type, …}` objects. Reconnects resume from the last `seq`; pass
   * `since` to start from a known point (e.g. the `lastSeq` of a REST read).
   */
  connectToChat(threadId, options = {}) {
    if (typeof threadId !== 'string' || !threadId) throw new TypeError('threadId must be a channel id');
    return this.connect(`/threads/${enc(threadId)}`, {}, options.name ?? `chat:${threadId}`, { resume: true, ...options });
  }

  /**
   * A transcript is a channel's full message records. `workspaceId` is the owner's user id
   * (or "me"); `transcriptId` is the channel id. The socket is the thread stream; read the
   * records themselves with `client.transcripts.get(workspaceId, transcriptId)`.
   */
  connectToTranscript(workspaceId, transcriptId, options = {}) {
    checkWorkspace(workspaceId);
    return this.connectToChat(transcriptId, { name: `transcript:${workspaceId}/${transcriptId}`, ...options });
  }

  /**
   * Any managed socket: `path` is relative to `/ws` ("/notifications") or absolute
   * ("/ws/notifications"); `params` become query parameters. `options` are the socket
   * options (reconnectDelay, maxReconnectAttempts, pingInterval, pongTimeout, debug,
   * resume, since) plus `waitForOpen` (default true): when false the promise resolves at
   * once instead of on the first open.
   */
  async connect(path, params = {}, name, options = {}) {
    const { waitForOpen = true, ...socketOptions } = options;
    const full = path.startsWith('/ws/') ? path : `/ws${path.startsWith('/') ? '' : '/'}${path}`;
    const socket = new ManagedSocket(this, { path: full, params, name: name ?? full, ...socketOptions });
    this.#sockets.add(socket);
    socket.start();
    if (waitForOpen) await socket.opened;
    return socket;
  }

  /** Closes every socket this manager opened (e.g. on logout). */
  closeAll() {
    for (const s of [...this.#sockets]) s.close();
  }

  // ---- used by ManagedSocket ----

  forget(socket) {
    this.#sockets.delete(socket);
  }

  wsBase() {
    const base = this.#cfg.baseUrl || globalThis.location?.origin;
    if (!base) throw new Error('baseUrl is required outside a browser');
    return base.replace(/^http/i, 'ws');
  }

  WebSocketImpl() {
    const W = this.#cfg.WebSocket ?? globalThis.WebSocket;
    if (!W) throw new Error('no WebSocket implementation: pass createClient({WebSocket}) (e.g. from the "ws" package in Node)');
    return W;
  }
}
