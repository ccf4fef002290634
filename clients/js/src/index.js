// Assent's JS client for browsers and Node 20+: REST helpers and managed WebSockets.
//
//   import { createClient } from './index.js';
//   const client = createClient({ baseUrl: 'http://127.0.0.1:8080', apiKey: 'hp_…', WebSocket });
//   const socket = await client.websocket.connectToChat(channelId);
//   socket.onMessage.subscribe((event) => console.log(JSON.parse(event.data)));

import { createRest } from './rest.js';
import { WebSocketManager } from './websocket.js';

export { AssentError, REVIEW_STATUSES } from './rest.js';
export { Emitter } from './emitter.js';
export { ManagedSocket, SocketClosedError, DEFAULT_SOCKET_OPTIONS } from './socket.js';
export { WebSocketManager } from './websocket.js';

/**
 * @param {object} [options]
 * @param {string} [options.baseUrl] server origin, e.g. "http://127.0.0.1:8080"; "" (default) = same origin (browsers)
 * @param {string} [options.apiKey] an agent API key `hp_…` (sent as x-api-key)
 * @param {string} [options.token] a session token (bearer); set by `auth.login` too
 * @param {typeof fetch} [options.fetch] fetch implementation (default: the global one)
 * @param {typeof WebSocket} [options.WebSocket] WebSocket class (default: the global one; in Node 20 pass `ws`)
 */
export function createClient({ baseUrl = '', apiKey, token, fetch, WebSocket } = {}) {
  const cfg = {
    baseUrl: String(baseUrl).replace(/\/+$/, ''),
    apiKey,
    token,
    // Called through a wrapper: browsers refuse a fetch detached from `window`.
    fetch: fetch ?? ((...args) => globalThis.fetch(...args)),
    WebSocket,
  };
  const rest = createRest(cfg);
  const websocket = new WebSocketManager(cfg, rest);
  return {
    ...rest,
    websocket,
    /** The session token in use (after `auth.login`), if any. */
    get token() {
      return cfg.token;
    },
    setToken(t) {
      cfg.token = t || undefined;
    },
    get baseUrl() {
      return cfg.baseUrl;
    },
  };
}
