// Plugin frames: a message (or a freeform review) that names an installed plugin is shown by
// the plugin's own page, `/plugins/{name}/frame#<context>`, in an
// `<iframe sandbox="allow-scripts">` — never allow-same-origin, never srcdoc: the frame has an
// opaque origin, so no cookie, no storage, no request with the session and no access to the
// dashboard; its CSP (set by the server) forbids any network. Everything it gets is in the
// context (lib/plugins.js) or asked for by postMessage, answered here:
//
//   hp:resize    the frame's height (kept between 40 and 800 px)
//   hp:toast     a toast, prefixed with the plugin's name (a few per 10 s at most)
//   hp:emit      ignored (logged with console.debug)
//   hp:respond   answers the review of THIS frame's message (never an id from the frame)
//   hp:getFile / hp:getFileUrl   a file of this frame's message (base64, or a data: URL)
//
// One window listener serves every frame: a message counts only when its source is the
// window of one of our frames, its origin is "null" (the sandbox) and its shape is exactly
// one of the above (lib/plugins.js checkFrameMessage); anything else is dropped.
// The installed plugins (GET /api/plugins) are read once per signed-in user.

import { client } from '../lib/api.js';
import { h, toast } from '../lib/dom.js';
import { downloadUrl } from '../lib/files.js';
import {
  MAX_CONTEXT_CHARS,
  MAX_FILE_BYTES,
  MIN_HEIGHT,
  attachmentFor,
  bytesToBase64,
  checkFrameMessage,
  clampHeight,
  frameContext,
  frameUrl,
  replyType,
  safeMime,
} from '../lib/plugins.js';
import { store } from '../lib/store.js';

// ---------------------------------------------------------------- the installed plugins

let cache = null; // {user, promise, map, failedAt}
const RETRY_MS = 30_000;

const fresh = (c) => c && c.user === (store.me?.id ?? null) && !(c.failedAt && Date.now() - c.failedAt > RETRY_MS);

/** The installed plugins by name, if already read for this user (else null: call loadPlugins). */
export function knownPlugins() {
  return fresh(cache) && cache.map ? cache.map : null;
}

/** Whether the last read of the plugin list failed (the "not installed" note says so). */
export const pluginsFailed = () => !!cache?.failedAt;

/**
 * The installed plugins by name: read once per signed-in user. A failed read counts as "none"
 * for 30 s, then is tried again.
 */
export function loadPlugins() {
  if (fresh(cache)) return cache.map ? Promise.resolve(cache.map) : cache.promise;
  const entry = { user: store.me?.id ?? null, promise: null, map: null, failedAt: 0 };
  cache = entry;
  entry.promise = client.request('GET', '/api/plugins').then(
    (list) => {
      entry.map = new Map((Array.isArray(list) ? list : []).filter((p) => p && typeof p.name === 'string').map((p) => [p.name, p]));
      return entry.map;
    },
    () => {
      entry.map = new Map();
      entry.failedAt = Date.now();
      return entry.map;
    },
  );
  return entry.promise;
}

// ---------------------------------------------------------------- the frames and the listener

/** Every live frame: {plugin, manifest, msg, status, respond, host, iframe, key, …}. */
const frames = new Set();
let listening = false;

const currentTheme = () => (document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light');

function listen() {
  if (listening) return;
  listening = true;
  window.addEventListener('message', onMessage);
  // A theme switch re-renders every frame with the new theme.
  new MutationObserver(() => frames.forEach((rec) => refresh(rec))).observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
}

function onMessage(e) {
  if (!e.source || e.origin !== 'null') return;
  let rec = null;
  for (const r of frames) {
    if (r.iframe && r.iframe.contentWindow === e.source) {
      rec = r;
      break;
    }
  }
  if (!rec) return;
  const m = checkFrameMessage(e.data);
  if (!m) {
    console.debug(`plugin ${rec.plugin.name}: message refused`, e.data);
    return;
  }
  handle(rec, m, e.source);
}

/** Replies to a request, to the frame that asked (if it is still the one shown). */
function reply(rec, source, m, payload) {
  if (rec.dead || rec.iframe?.contentWindow !== source) return;
  source.postMessage({ type: replyType(m.type), id: m.id, payload }, '*');
}

function handle(rec, m, source) {
  switch (m.type) {
    case 'hp:resize':
      if (rec.iframe.contentWindow !== source) return;
      rec.iframe.style.height = `${clampHeight(m.payload.height)}px`;
      rec.host.style.minHeight = '';
      rec.host.dataset.ready = 'true';
      return;
    case 'hp:toast': {
      const now = Date.now();
      rec.toasts = rec.toasts.filter((t) => now - t < 10_000);
      if (rec.toasts.length >= 3) return;
      rec.toasts.push(now);
      toast(`${rec.manifest.displayName || rec.plugin.name}: ${m.payload.message}`, { error: m.payload.variant === 'error', ms: 4000 });
      return;
    }
    case 'hp:emit':
      console.debug(`plugin ${rec.plugin.name}: emit ${m.payload.action}`, m.payload.data);
      return;
    case 'hp:respond':
      respond(rec, m, source);
      return;
    case 'hp:getFile':
    case 'hp:getFileUrl':
      getFile(rec, m, source);
      return;
    default:
  }
}

async function respond(rec, m, source) {
  if (!rec.respond || !rec.plugin.inReview) return reply(rec, source, m, { ok: false, error: 'This message has no request to answer' });
  if (rec.status !== 'pending') return reply(rec, source, m, { ok: false, error: 'This request is no longer waiting for an answer' });
  if (rec.responding) return reply(rec, source, m, { ok: false, error: 'An answer is already being sent' });
  rec.responding = true;
  let outcome;
  try {
    outcome = await rec.respond(m.payload.response);
  } catch (err) {
    outcome = { ok: false, error: err?.message || 'Something went wrong' };
  } finally {
    rec.responding = false;
  }
  reply(rec, source, m, outcome.ok ? { ok: true } : { ok: false, error: outcome.error });
  outcome.after?.();
}

async function getFile(rec, m, source) {
  const a = attachmentFor(rec.msg.attachments, m.payload.attachmentId);
  if (!a) return reply(rec, source, m, { ok: false, error: 'No such attachment on this message' });
  if (Number(a.size) > MAX_FILE_BYTES) return reply(rec, source, m, { ok: false, error: 'The file is too large for a plugin (over 10 MB)' });
  if (rec.fetching >= 3) return reply(rec, source, m, { ok: false, error: 'Too many files requested at once' });
  rec.fetching++;
  try {
    const res = await fetch(downloadUrl(a.id), { credentials: 'same-origin', headers: { accept: '*/*' } });
    if (!res.ok) throw new Error(`The file could not be read (HTTP ${res.status})`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length > MAX_FILE_BYTES) throw new Error('The file is too large for a plugin (over 10 MB)');
    const mimeType = safeMime(a.mimeType || res.headers.get('content-type'));
    const data = bytesToBase64(bytes);
    reply(rec, source, m, m.type === 'hp:getFile'
      ? { ok: true, data, mimeType, filename: a.filename ?? '', size: bytes.length }
      : { ok: true, url: `data:${mimeType};base64,${data}`, mimeType, filename: a.filename ?? '' });
  } catch (err) {
    reply(rec, source, m, { ok: false, error: err?.message || 'The file could not be read' });
  } finally {
    rec.fetching--;
  }
}

/** (Re)builds the frame when what it shows changed (context or theme); a new iframe each time. */
function refresh(rec) {
  if (rec.dead) return;
  const context = frameContext(rec.msg, rec.plugin, { theme: currentTheme(), status: rec.status });
  const url = frameUrl(rec.plugin.name, context);
  if (url === rec.url) return;
  rec.url = url;
  if (url.length > MAX_CONTEXT_CHARS) {
    rec.iframe?.remove();
    rec.iframe = null;
    rec.host.replaceChildren(h('div.plugin-note', { 'data-testid': 'plugin-too-large' }, `This message is too large for the ${rec.manifest.displayName || rec.plugin.name} plugin.`));
    return;
  }
  const title = `${rec.manifest.displayName || rec.plugin.name} (plugin)`;
  const iframe = h('iframe.plugin-iframe', {
    sandbox: 'allow-scripts',
    referrerpolicy: 'no-referrer',
    title,
    dataset: { plugin: rec.plugin.name },
    style: { height: `${MIN_HEIGHT}px` },
    src: url,
  });
  const old = rec.iframe;
  // Keep the space of the frame it replaces until the new one says how tall it is.
  const before = old?.isConnected ? old.offsetHeight : 0;
  if (before) rec.host.style.minHeight = `${before}px`;
  rec.host.dataset.ready = 'false';
  rec.responding = false;
  rec.iframe = iframe;
  if (old) old.replaceWith(iframe);
  else rec.host.replaceChildren(iframe);
  clearTimeout(rec.settle);
  rec.settle = setTimeout(() => {
    rec.host.style.minHeight = '';
  }, 2000);
}

/**
 * A plugin frame showing message `msg` with `plugin` (lib/plugins.js pluginOf) whose manifest
 * is `manifest`. `status`: the review's effective status; `respond(response)` (review frames
 * only) sends an answer and resolves {ok: true, after?} or {ok: false, error}; the frame is
 * told the outcome, then `after` runs. Returns {el, update(msg, status), destroy()}: update
 * re-renders the frame only when what it shows changed.
 */
export function pluginFrame(msg, plugin, manifest, { status = msg.review?.status ?? null, respond = null } = {}) {
  listen();
  const host = h('div.plugin-frame', { 'data-testid': 'plugin-frame', dataset: { plugin: plugin.name, ready: 'false' } });
  const rec = { plugin, manifest, msg, status, respond, host, iframe: null, url: '', toasts: [], fetching: 0, responding: false, dead: false, settle: 0 };
  frames.add(rec);
  refresh(rec);
  const caption = h('div.plugin-caption', `Shown by the ${manifest.displayName || plugin.name} plugin`);
  return {
    el: h('div.plugin-block', host, caption),
    update(next, nextStatus = next.review?.status ?? null) {
      rec.msg = next;
      rec.status = nextStatus;
      refresh(rec);
    },
    destroy() {
      rec.dead = true;
      clearTimeout(rec.settle);
      frames.delete(rec);
      rec.iframe?.remove();
      rec.iframe = null;
    },
  };
}

/** "Plugin “x” is not installed" (or could not be read), as a small note. */
export function missingNote(name, { suffix = '' } = {}) {
  const words = pluginsFailed() ? `Plugin “${name}” could not be loaded` : `Plugin “${name}” is not installed`;
  return h('div.plugin-note', { 'data-testid': 'plugin-missing', dataset: { plugin: name } }, `${words}${suffix}`);
}

/** A plain (not review) message's plugin block for the bubble: the frame, or the note. */
export function messagePlugin(msg, plugin) {
  const el = h('div.plugin-slot');
  let frame = null;
  let dead = false;
  let current = msg;
  const fill = (map) => {
    if (dead) return;
    const manifest = map.get(plugin.name);
    if (manifest) {
      frame = pluginFrame(current, plugin, manifest, { status: null });
      el.replaceChildren(frame.el);
      return;
    }
    const { plugin: _name, webhookUrl: _hook, ...rest } = plugin.data ?? {};
    el.replaceChildren(
      missingNote(plugin.name),
      (current.text ?? '') === '' && Object.keys(rest).length ? h('pre.json', JSON.stringify(rest, null, 2)) : null,
    );
  };
  const known = knownPlugins();
  if (known) fill(known);
  else {
    el.append(h('div.plugin-note', h('span.spinner', { 'aria-hidden': 'true' }), ' Loading plugin…'));
    loadPlugins().then(fill);
  }
  return {
    el,
    update(m) {
      current = m;
      frame?.update(m, null);
    },
    destroy() {
      dead = true;
      frame?.destroy();
    },
  };
}
