// DOM helpers. Everything the dashboard shows is built with createElement and text nodes:
// no innerHTML anywhere, so agent-supplied text can never become markup.

/**
 * h('button.btn.btn-primary', {type: 'submit', onclick}, 'Save') → HTMLButtonElement.
 * Attributes: `class`, `dataset`, `style` (object), `on<event>` handlers, booleans, aria-*.
 * Children: strings (become text nodes), nodes, arrays, null/false (skipped).
 */
export function h(tagSpec, attrs, ...children) {
  const [tag, ...classes] = tagSpec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = [el.className, v].filter(Boolean).join(' ');
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'indeterminate') el[k] = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false || c === true) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces an element's children. */
export function setChildren(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/**
 * Turns `old` (in the page) into `fresh` (just built, not in the page) while the nodes of
 * `slots` — pairs [placeholder in fresh, node in old] — stay where they are: a moved iframe
 * reloads (and a moved field loses its focus). Every placeholder must sit where its node sits
 * (one parent for all, the same depth, the same tags on the way up, the same order). Returns
 * false, changing nothing, when they do not.
 */
export function graft(old, fresh, slots) {
  if (!slots.length) return false;
  const up = (x, root) => {
    const out = [];
    for (; x; x = x.parentNode) {
      out.push(x);
      if (x === root) return out;
    }
    return null;
  };
  const sp = slots[0][0].parentNode;
  const np = slots[0][1].parentNode;
  if (!slots.every(([s, n]) => s.parentNode === sp && n.parentNode === np)) return false;
  const a = up(sp, fresh);
  const b = up(np, old);
  if (!a || !b || a.length !== b.length || a.some((x, i) => x.tagName !== b[i].tagName)) return false;
  const order = (parent, nodes) => nodes.map((n) => [...parent.childNodes].indexOf(n));
  const so = order(sp, slots.map(([s]) => s));
  const no = order(np, slots.map(([, n]) => n));
  const sorted = (xs) => xs.every((x, i) => i === 0 || xs[i - 1] < x);
  if (!sorted(so) || !sorted(no)) return false;
  for (let i = 0; i < a.length; i++) {
    const keep = i === 0 ? new Map(slots) : new Map([[a[i - 1], b[i - 1]]]);
    syncAttributes(b[i], a[i]);
    mergeChildren(b[i], a[i], keep);
  }
  return true;
}

function syncAttributes(o, f) {
  for (const { name } of [...o.attributes]) if (!f.hasAttribute(name)) o.removeAttribute(name);
  for (const { name, value } of [...f.attributes]) {
    if (name === 'style') o.style.cssText = f.style.cssText; // CSSOM: allowed by the CSP
    else if (o.getAttribute(name) !== value) o.setAttribute(name, value);
  }
}

/** `o`'s children become `f`'s, but each kept node (keep: f's child → o's child) stays in place. */
function mergeChildren(o, f, keep) {
  const kept = new Set(keep.values());
  for (const c of [...o.childNodes]) if (!kept.has(c)) c.remove();
  let ref = o.firstChild;
  for (const c of [...f.childNodes]) {
    const k = keep.get(c);
    if (k) ref = k.nextSibling;
    else o.insertBefore(c, ref);
  }
}

const SVG = 'http://www.w3.org/2000/svg';
const PATHS = {
  chat: 'M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.5 4v-4h0A1.5 1.5 0 0 1 4 14.5z',
  inbox: 'M3 13.5 5.6 5.3A2 2 0 0 1 7.5 4h9a2 2 0 0 1 1.9 1.3L21 13.5V18a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2zM3 13.5h5l1.5 2.5h5l1.5-2.5h5',
  settings: 'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z',
  plus: 'M12 5v14M5 12h14',
  send: 'M4 12 20 4l-6 16-3-7z M11 13l9-9',
  back: 'M15 18l-6-6 6-6',
  check: 'M5 12.5l4.5 4.5L19 7.5',
  checks: 'M2 12.5 6.5 17 16 7.5M10.5 15.5 12 17l9.5-9.5',
  clock: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 7v5l3 2',
  alert: 'M12 9v4M12 17h.01M10.3 3.9 2.4 17.5A2 2 0 0 0 4.1 20.5h15.8a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z',
  tool: 'M14.7 6.3a1 1 0 0 0 0 1.4l1.6 1.6a1 1 0 0 0 1.4 0l3.8-3.8a6 6 0 0 1-7.9 7.9l-6.9 6.9a2.1 2.1 0 0 1-3-3l6.9-6.9a6 6 0 0 1 7.9-7.9z',
  x: 'M6 6l12 12M18 6 6 18',
  sun: 'M12 17a5 5 0 1 0 0-10 5 5 0 0 0 0 10zM12 1v2M12 21v2M4.2 4.2l1.4 1.4M18.4 18.4l1.4 1.4M1 12h2M21 12h2M4.2 19.8l1.4-1.4M18.4 5.6l1.4-1.4',
  moon: 'M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z',
  logout: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9',
  copy: 'M9 9h10v10H9zM5 15H4a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1h10a1 1 0 0 1 1 1v1',
  down: 'M6 9l6 6 6-6',
  flag: 'M4 15s1-1 4-1 5 2 8 2 4-1 4-1V3s-1 1-4 1-5-2-8-2-4 1-4 1zM4 22v-7',
  edit: 'M12 20h9M16.5 3.5a2.12 2.12 0 0 1 3 3L7 19l-4 1 1-4z',
  play: 'M6 4l14 8-14 8z',
  search: 'M11 19a8 8 0 1 0 0-16 8 8 0 0 0 0 16zM21 21l-4.35-4.35',
  clip: 'M21.4 11.1l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5',
  file: 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zM14 2v6h6',
  download: 'M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M7 10l5 5 5-5M12 15V3',
  trash: 'M3 6h18M8 6V4a2 2 0 0 1 2-2h4a2 2 0 0 1 2 2v2M19 6l-1 14a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2L5 6M10 11v6M14 11v6',
  image: 'M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zM8.5 10a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zM21 15l-5-5L5 21',
  folder: 'M22 19a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h5l2 3h9a2 2 0 0 1 2 2z',
  next: 'M9 18l6-6-6-6',
};

/** An inline SVG icon (stroke style). */
export function icon(name, cls = 'icon') {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  const p = document.createElementNS(SVG, 'path');
  p.setAttribute('d', PATHS[name] ?? '');
  svg.append(p);
  return svg;
}

const AVATAR_COLORS = ['#4f46e5', '#0891b2', '#059669', '#d97706', '#db2777', '#7c3aed', '#2563eb', '#dc2626', '#0d9488', '#9333ea'];

/** A coloured initials avatar with an optional status dot. */
export function avatar(name, { status, small = false } = {}) {
  const words = String(name || '?').trim().split(/\s+/);
  const initials = (words.length > 1 ? words[0][0] + words[1][0] : words[0].slice(0, 2)).toUpperCase();
  let hash = 0;
  for (const ch of String(name)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  const el = h(`div.avatar${small ? '.avatar-sm' : ''}`, { 'aria-hidden': 'true' }, initials);
  el.style.background = AVATAR_COLORS[hash % AVATAR_COLORS.length];
  if (status !== undefined) el.append(h('span.status-dot', { dataset: { status: status || 'offline' } }));
  return el;
}

/** A transient message at the bottom of the screen. */
export function toast(text, { error = false, ms = 3200 } = {}) {
  const host = document.getElementById('toasts');
  if (!host) return;
  const t = h(`div.toast${error ? '.toast-error' : ''}`, { role: error ? 'alert' : 'status' }, text);
  host.append(t);
  setTimeout(() => t.remove(), ms);
}

/**
 * A modal <dialog> (focus trapped by the browser, Esc closes). `build(close)` returns the
 * body; resolves with what `close(value)` was called with (undefined on Esc).
 */
export function modal(build, { label, wide = false } = {}) {
  return new Promise((resolve) => {
    const dlg = h(`dialog.modal${wide ? '.modal-wide' : ''}`, { 'aria-label': label });
    let result;
    const close = (value) => {
      result = value;
      dlg.close();
    };
    dlg.append(build(close));
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    const first = dlg.querySelector('[autofocus], input, textarea, select, button.btn-primary');
    first?.focus();
  });
}

/** A confirmation dialog; resolves true when confirmed. */
export function confirmDialog({ title, body, confirm = 'Confirm', danger = false }) {
  return modal(
    (close) =>
      h('form', { method: 'dialog', onsubmit: (e) => { e.preventDefault(); close(true); } },
        h('div.modal-body', h('h2', title), body ? h('p', body) : null),
        h('div.modal-foot',
          h('button.btn', { type: 'button', onclick: () => close(false) }, 'Cancel'),
          h(`button.btn.${danger ? 'btn-danger' : 'btn-primary'}`, { type: 'submit', autofocus: true }, confirm),
        ),
      ),
    { label: title },
  ).then((v) => v === true);
}

/** Copies text to the clipboard, with a fallback for non-secure contexts. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = h('textarea', { 'aria-hidden': 'true', style: { position: 'fixed', opacity: '0' } });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

/**
 * A secret shown once (an API key, a webhook signing secret): a warning that says so, the
 * value and a copy button. `testid` names it for tests.
 */
export function secretBox(value, { message, testid = 'secret' } = {}) {
  return h('div.secret', { role: 'alert', 'data-testid': testid },
    h('div.alert.alert-warning', message),
    h('div.secret-box',
      h('code', value),
      h('button.btn.btn-sm', {
        type: 'button',
        onclick: async (e) => {
          const btn = e.currentTarget;
          const ok = await copyText(value);
          btn.replaceChildren(icon(ok ? 'check' : 'alert', 'icon icon-sm'), ok ? 'Copied' : 'Copy failed');
        },
      }, icon('copy', 'icon icon-sm'), 'Copy'),
    ),
  );
}

/** Sets a button busy (disabled with a spinner) while `fn` runs. */
export async function busy(button, fn) {
  const saved = [...button.childNodes];
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.replaceChildren(h('span.spinner', { 'aria-hidden': 'true' }), ...saved.map((n) => n.cloneNode(true)));
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.replaceChildren(...saved);
  }
}
