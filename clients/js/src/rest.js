// The REST part of the client: one `request` function and thin, named wrappers for what a
// dashboard (or a script acting as a human or an agent) needs. Bodies and results are the
// server's JSON as is (camelCase); errors become `AssentError`.

/** An error answered by the server (`{statusCode, message, code, errors?}`) or the network. */
export class AssentError extends Error {
  constructor(message, { status = 0, code = 'network_error', errors = [], body, cause } = {}) {
    super(message, cause ? { cause } : undefined);
    this.name = 'AssentError';
    /** HTTP status, 0 for network failures. */
    this.status = status;
    /** The server's stable error code (`validation_failed`, `not_your_agent`, …). */
    this.code = code;
    /** Field errors `[{path, message}]` of a 400. */
    this.errors = errors;
    this.body = body;
  }

  /** Whether retrying the same request later may succeed. */
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

const enc = encodeURIComponent;

/**
 * The statuses of a review: `pending` (waiting for the human), `completed` (answered),
 * `changes_requested` (the human asked for changes, with feedback, instead of answering) and
 * `expired` (the deadline passed unanswered). Every status but `pending` is final.
 * @typedef {'pending' | 'completed' | 'changes_requested' | 'expired'} ReviewStatus
 */
/** @type {readonly ReviewStatus[]} */
export const REVIEW_STATUSES = Object.freeze(['pending', 'completed', 'changes_requested', 'expired']);

/**
 * Creates the REST helpers. `cfg` is shared with the socket manager and holds
 * `{baseUrl, apiKey, token, fetch}`; `token` is updated by `auth.login`.
 */
export function createRest(cfg) {
  async function request(method, path, { body, params, headers: extra, signal } = {}) {
    const headers = { accept: 'application/json', ...extra };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (cfg.apiKey) headers['x-api-key'] = cfg.apiKey;
    if (cfg.token) headers.authorization = `Bearer ${cfg.token}`;
    let res;
    try {
      res = await cfg.fetch(`${cfg.baseUrl}${path}${query(params)}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        signal,
      });
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      throw new AssentError(`Cannot reach the server (${err?.message ?? err})`, { cause: err });
    }
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const message = (json && typeof json.message === 'string' && json.message) || `HTTP ${res.status}`;
      throw new AssentError(message, {
        status: res.status,
        code: json?.code ?? `http_${res.status}`,
        errors: Array.isArray(json?.errors) ? json.errors : [],
        body: json ?? text,
      });
    }
    return json;
  }

  const auth = {
    /** `{user, token, expiresAt}`; the token is kept for later calls (Node has no cookie jar). */
    async login(email, password) {
      const r = await request('POST', '/api/auth/login', { body: { email, password } });
      if (r?.token) cfg.token = r.token;
      return r;
    },
    me: () => request('GET', '/api/auth/me').then((r) => r.user),
    async logout() {
      try {
        return await request('POST', '/api/auth/logout');
      } finally {
        cfg.token = undefined;
      }
    },
    changePassword: (currentPassword, newPassword) =>
      request('POST', '/api/auth/change-password', { body: { currentPassword, newPassword } }),
    async refresh() {
      const r = await request('POST', '/api/auth/refresh');
      if (r?.token) cfg.token = r.token;
      return r;
    },
  };

  const agents = {
    list: () => request('GET', '/api/agents'),
    get: (id) => request('GET', `/api/agents/${enc(id)}`),
    create: (body) => request('POST', '/api/agents', { body }),
    update: (id, body) => request('PATCH', `/api/agents/${enc(id)}`, { body }),
    remove: (id) => request('DELETE', `/api/agents/${enc(id)}`),
    markRead: (id) => request('POST', `/api/agents/${enc(id)}/read`),
    setTag: (channelId, tag) => request('POST', '/api/agents/setTag', { body: { channelId, tag } }),
    /** A new webhook signing secret `{webhookSecret}` (`whsec_…`), shown in this answer only. */
    rotateWebhookSecret: (id) => request('POST', `/api/agents/${enc(id)}/webhook-secret/rotate`),
    /**
     * The agent's webhook deliveries, newest first, with their attempts: `{data}`.
     * `state` = pending | delivered | failed | all (default all), `limit` 1..200.
     */
    deliveries: (id, { state, limit } = {}) => request('GET', `/api/agents/${enc(id)}/deliveries`, { params: { state, limit } }),
  };

  const messages = {
    /** One page, newest first: `{data, nextCursor}`. */
    list: (channel, { limit, cursor } = {}) => request('GET', '/api/messages', { params: { channel, limit, cursor } }),
    get: (id) => request('GET', `/api/messages/${enc(id)}`),
    /** Posts as the human; idempotent on `clientId`. */
    send: (channelId, text, clientId) => request('POST', '/api/messages', { body: { channelId, text, clientId } }),
    /** The iteration chain of a review message: `{groupId, iterations}` (oldest first). */
    iterations: (id) => request('GET', `/api/messages/${enc(id)}/iterations`),
    /** The webhook deliveries of a message, newest first, with their attempt logs: `{data}`. */
    deliveries: (id) => request('GET', `/api/messages/${enc(id)}/deliveries`),
    /**
     * One more attempt now of the message's webhook delivery (same `webhook-id`):
     * `{retried: true}`; `AssentError` `no_webhook` (400) when the message has none.
     */
    retry: (id) => request('POST', `/api/messages/${enc(id)}/retry`),
  };

  const reviews = {
    /**
     * Reviews across the user's agents, `status` = one of REVIEW_STATUSES (pending |
     * completed | changes_requested | expired) or `all`.
     */
    list: ({ status = 'pending', channel } = {}) => request('GET', '/api/messages/reviews', { params: { status, channel } }),
    /** Answers a pending review (status → `completed`); the answered message. */
    respond: (messageId, response, feedback) =>
      request('POST', `/api/messages/${enc(messageId)}/respond`, {
        body: feedback ? { response, feedback } : { response },
      }),
    /**
     * Asks for changes instead of answering (status → `changes_requested`, `response` null):
     * `feedback` (required, not blank, ≤ 10,000 characters) says what to change. The answered
     * message; the agent typically follows up with a new iteration (`iterationOf`).
     */
    requestChanges: (messageId, feedback) =>
      request('POST', `/api/messages/${enc(messageId)}/respond`, { body: { requestChanges: true, feedback } }),
  };

  const apiKeys = {
    list: () => request('GET', '/api/api-keys'),
    /** The clear `key` is in the answer, once. */
    create: (label) => request('POST', '/api/api-keys', { body: label ? { label } : {} }),
    rotate: (id) => request('POST', `/api/api-keys/${enc(id)}/rotate`),
    remove: (id) => request('DELETE', `/api/api-keys/${enc(id)}`),
  };

  const users = {
    list: () => request('GET', '/api/users'),
    create: (body) => request('POST', '/api/users', { body }),
    update: (id, body) => request('PATCH', `/api/users/${enc(id)}`, { body }),
    remove: (id) => request('DELETE', `/api/users/${enc(id)}`),
  };

  /**
   * A transcript is a channel's full message records, oldest first. `workspaceId` is the
   * owner's user id or "me" (a channel belongs to exactly one user; the server checks it).
   */
  const transcripts = {
    async get(workspaceId, transcriptId, { pageSize = 100 } = {}) {
      checkWorkspace(workspaceId);
      // Forward paging by seq (`after`); agents (API key) read the same records under /api/v1.
      const path = cfg.apiKey && !cfg.token ? '/api/v1/messages' : '/api/messages';
      const all = [];
      let after = 0;
      for (;;) {
        const page = await request('GET', path, { params: { channel: transcriptId, limit: pageSize, after } });
        all.push(...page.data);
        if (page.nextAfter === null || page.nextAfter === undefined || page.data.length === 0) break;
        after = page.nextAfter;
      }
      return all;
    },
  };

  return { request, auth, agents, messages, reviews, apiKeys, users, transcripts };
}

export function checkWorkspace(workspaceId) {
  if (typeof workspaceId !== 'string' || workspaceId === '') {
    throw new TypeError('workspaceId must be the owner user id or "me"');
  }
}
