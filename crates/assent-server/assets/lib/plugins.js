// Plugins (custom renderers) without the DOM: which plugin a message names, the context a
// plugin frame reads from its URL fragment, and the checks of what a frame posts to the
// dashboard. Pure (runs under plain `node`); views/plugins.js does the frames themselves.
//
// A frame is `/plugins/{name}/frame#<context>`: Assent's bridge, then the plugin's
// render.html, in an iframe sandboxed to scripts only (an opaque origin: no cookies, no
// storage, no access to the dashboard). The context is base64url of the UTF-8 JSON
// {pluginName, data, attachments, message, theme, env, review, isPreview}. The frame talks to
// the dashboard only with postMessage; every message it sends is checked here.

/** What a frame may post, and whether a reply (by `id`) is expected. */
export const FRAME_MESSAGES = Object.freeze({
  'hp:resize': { request: false, fields: ['height'] },
  'hp:toast': { request: false, fields: ['message', 'variant'] },
  'hp:emit': { request: false, fields: ['action', 'data'] },
  'hp:respond': { request: true, fields: ['response'] },
  'hp:getFile': { request: true, fields: ['attachmentId'] },
  'hp:getFileUrl': { request: true, fields: ['attachmentId'] },
});

export const TOAST_VARIANTS = Object.freeze(['info', 'success', 'warning', 'error']);
/** A frame's height is kept between these (px). */
export const MIN_HEIGHT = 40;
export const MAX_HEIGHT = 800;
/** The longest toast shown (longer ones are cut), and the longest accepted at all. */
export const MAX_TOAST = 300;
const MAX_TOAST_IN = 2000;
/** The largest answer a frame may send (characters of JSON). */
export const MAX_RESPONSE_CHARS = 256 * 1024;
/** The largest file handed to a frame (hp:getFile / hp:getFileUrl). */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
/** The longest context put in a frame's address (characters of the fragment). */
export const MAX_CONTEXT_CHARS = 1_500_000;

const REQUEST_ID = /^[\w:.-]{1,64}$/;

/** Whether `v` is a plain object ({…}, not an array, a date or a class instance). */
export function isPlainObject(v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * The plugin a message is rendered with, or null. A freeform review names it in
 * `review.payload.plugin` (the data is the payload, shown in the review card); any other
 * message in `metadata.plugin` (the data is the metadata, shown in the bubble; such a frame
 * cannot answer anything).
 */
export function pluginOf(msg) {
  const review = msg?.review;
  const payload = review?.payload;
  if (review?.type === 'freeform' && isPlainObject(payload) && typeof payload.plugin === 'string' && payload.plugin) {
    return { name: payload.plugin, data: payload, inReview: true };
  }
  const meta = msg?.metadata;
  if (isPlainObject(meta) && typeof meta.plugin === 'string' && meta.plugin) {
    return { name: meta.plugin, data: meta, inReview: false };
  }
  return null;
}

// ---------------------------------------------------------------- the context

/** Bytes → standard base64 (chunked: a long string through String.fromCharCode at once overflows). */
export function bytesToBase64(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** base64url (no padding) of the UTF-8 JSON of `value`: what the bridge reads from the fragment. */
export function encodeContext(value) {
  const b64 = bytesToBase64(new TextEncoder().encode(JSON.stringify(value)));
  return b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The inverse of encodeContext (as the bridge decodes it); throws on anything else. */
export function decodeContext(text) {
  const b64 = String(text).replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
}

/** What a frame is told about the review it shows: {type, status, payload, response?}, or null. */
export function reviewContext(review, status = review?.status ?? 'pending') {
  if (!review) return null;
  const out = { type: review.type, status, payload: review.payload ?? {} };
  if (status === 'completed' && review.response != null) out.response = review.response;
  return out;
}

/** An attachment as a frame sees it: {id, filename, mimeType, size}. */
export const attachmentContext = (a) => ({ id: a.id, filename: a.filename ?? '', mimeType: a.mimeType ?? '', size: a.size ?? 0 });

/**
 * The context of a frame for message `msg` rendered with `plugin` (pluginOf's result). `status`
 * is the review's effective status (a pending review past its deadline is expired).
 */
export function frameContext(msg, plugin, { theme = 'light', status } = {}) {
  return {
    pluginName: plugin.name,
    data: plugin.data ?? {},
    attachments: (msg.attachments ?? []).map(attachmentContext),
    message: { id: msg.id, channelId: msg.channelId, senderType: msg.senderType, createdAt: msg.createdAt },
    theme: theme === 'dark' ? 'dark' : 'light',
    env: {},
    review: plugin.inReview ? reviewContext(msg.review, status) : null,
    isPreview: false,
  };
}

/** The frame's address: `/plugins/{name}/frame#<context>`. */
export function frameUrl(name, context) {
  return `/plugins/${encodeURIComponent(name)}/frame#${encodeContext(context)}`;
}

// ---------------------------------------------------------------- what frames post

/**
 * Checks a message posted by a frame (`event.data`): the exact shape {type, id, payload} of
 * one of FRAME_MESSAGES, with an id (a short word) when a reply is expected, and a payload
 * with exactly the expected fields. Returns the message (a toast cut to MAX_TOAST, its variant
 * defaulted), or null: refused (anything unknown, extra or oversized is refused, not fixed).
 */
export function checkFrameMessage(data) {
  if (!isPlainObject(data)) return null;
  for (const k of Object.keys(data)) if (k !== 'type' && k !== 'id' && k !== 'payload') return null;
  const spec = typeof data.type === 'string' && Object.hasOwn(FRAME_MESSAGES, data.type) ? FRAME_MESSAGES[data.type] : null;
  if (!spec) return null;
  if (spec.request ? !(typeof data.id === 'string' && REQUEST_ID.test(data.id)) : data.id !== undefined && data.id !== null) return null;
  const p = data.payload;
  if (!isPlainObject(p)) return null;
  for (const k of Object.keys(p)) if (!spec.fields.includes(k)) return null;
  const out = { type: data.type, id: spec.request ? data.id : null };
  switch (data.type) {
    case 'hp:resize':
      if (typeof p.height !== 'number' || !Number.isFinite(p.height) || p.height < 0) return null;
      return { ...out, payload: { height: p.height } };
    case 'hp:toast': {
      if (typeof p.message !== 'string' || !p.message.trim() || p.message.length > MAX_TOAST_IN) return null;
      if (p.variant !== undefined && !TOAST_VARIANTS.includes(p.variant)) return null;
      const text = p.message.trim();
      return { ...out, payload: { message: text.length > MAX_TOAST ? `${text.slice(0, MAX_TOAST - 1)}…` : text, variant: p.variant ?? 'info' } };
    }
    case 'hp:emit':
      if (typeof p.action !== 'string' || p.action.length > 100) return null;
      return { ...out, payload: { action: p.action, data: p.data } };
    case 'hp:respond': {
      if (!isPlainObject(p.response)) return null;
      let size;
      try {
        size = JSON.stringify(p.response).length;
      } catch {
        return null;
      }
      if (size > MAX_RESPONSE_CHARS) return null;
      return { ...out, payload: { response: p.response } };
    }
    case 'hp:getFile':
    case 'hp:getFileUrl':
      if (typeof p.attachmentId !== 'string' || !p.attachmentId || p.attachmentId.length > 128) return null;
      return { ...out, payload: { attachmentId: p.attachmentId } };
    default:
      return null;
  }
}

/** The reply type of a request ('hp:respond' → 'hp:respond:result', the others '…:response'). */
export const replyType = (type) => (type === 'hp:respond' ? 'hp:respond:result' : `${type}:response`);

/** The attachment of the frame's message that `id` names, or null: a frame reads only its own message's files. */
export function attachmentFor(attachments, id) {
  if (typeof id !== 'string' || !id || !Array.isArray(attachments)) return null;
  return attachments.find((a) => a && typeof a.id === 'string' && a.id === id) ?? null;
}

/** A frame's height (px) from hp:resize, kept between MIN_HEIGHT and MAX_HEIGHT. */
export function clampHeight(h) {
  const n = Number(h);
  if (!Number.isFinite(n)) return MIN_HEIGHT;
  return Math.round(Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, n)));
}

/** A MIME type safe to put in a data: URL (else application/octet-stream). */
export function safeMime(mime) {
  const m = String(mime ?? '').split(';')[0].trim().toLowerCase();
  return /^[a-z0-9][\w.+-]*\/[a-z0-9][\w.+-]*$/.test(m) ? m : 'application/octet-stream';
}

/** The words for a refused answer: the server's field errors when there are some. */
export function answerError(err) {
  if (!err) return 'Something went wrong';
  if (err.status === 0) return 'Cannot reach the server. Check your connection.';
  if (err.code === 'review_already_responded') return 'Someone already answered this request.';
  if (err.code === 'review_expired') return 'This request has expired.';
  const fields = Array.isArray(err.errors) ? err.errors.filter((e) => e && e.message) : [];
  if (fields.length) return fields.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
  return err.message || 'Something went wrong';
}
