// The chat composer: the message input with the agent's slash-command palette
// (views/commands.js) and optimistic sends. A send is kept in localStorage until the server
// has it (`assent:pending:<channel id>`), shown at once as a local copy, and re-sent with the
// same clientId (the server de-duplicates) when it failed for a retryable reason, after a
// reconnect, or when the browser is back online. Files (attach button, drop, paste: see
// chat/attach.js) are stored first; the send then carries their ids (`attachmentIds`) and
// records (for the optimistic copy), and may have no text.

import { describe, report } from '../../lib/api.js';
import { h, icon } from '../../lib/dom.js';
import { sendMessage } from '../../lib/file-api.js';
import { commandPalette } from '../commands.js';
import { createAttachments } from './attach.js';
import { localId } from './state.js';

const RETRY_MS = 5000;

function newClientId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

const pendingKey = (channelId) => `assent:pending:${channelId}`;
export function loadPending(channelId) {
  try {
    const v = JSON.parse(localStorage.getItem(pendingKey(channelId)) ?? '[]');
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}
function savePending(channelId, list) {
  if (list.length) localStorage.setItem(pendingKey(channelId), JSON.stringify(list));
  else localStorage.removeItem(pendingKey(channelId));
}

/**
 * Mirrors a change of the state's pending sends into localStorage: sends that left the
 * state (confirmed or discarded) are removed, new ones added. Other tabs' entries stay.
 */
export function syncPending(channelId, prev, next) {
  if (prev.pending === next.pending) return;
  const before = new Set(prev.pending.map((p) => p.clientId));
  const after = new Set(next.pending.map((p) => p.clientId));
  const list = loadPending(channelId).filter((p) => !before.has(p.clientId) || after.has(p.clientId));
  for (const p of next.pending) {
    if (!before.has(p.clientId) && !list.some((x) => x.clientId === p.clientId)) list.push(p);
  }
  savePending(channelId, list);
}

/** Sends pending message `clientId` (again); on failure it is queued for a retry or marked failed. */
async function deliver(c, clientId) {
  const { ctx } = c;
  clearTimeout(c.retryTimers.get(clientId));
  const p = loadPending(ctx.channelId).find((x) => x.clientId === clientId);
  if (!p || ctx.isDead()) return;
  ctx.dispatch({ type: 'send_state', pending: p, state: 'sending' });
  try {
    const m = await sendMessage(ctx.channelId, p);
    ctx.dispatch({ type: 'message', message: m });
  } catch (err) {
    if (ctx.isDead()) return;
    if (err.status === 401) return report(err);
    if (err.retryable) {
      ctx.dispatch({ type: 'send_state', pending: p, state: 'queued' });
      c.retryTimers.set(clientId, setTimeout(() => deliver(c, clientId), RETRY_MS));
    } else {
      ctx.dispatch({ type: 'send_state', pending: p, state: 'failed', error: describe(err) });
    }
  }
}

function discard(c, clientId) {
  savePending(c.ctx.channelId, loadPending(c.ctx.channelId).filter((p) => p.clientId !== clientId));
  c.ctx.dispatch({ type: 'discard', clientId });
}

/** Re-sends what is pending: queued sends, and those of other tabs not shown here. */
function resendPending(c) {
  const { items } = c.ctx.getState();
  for (const p of loadPending(c.ctx.channelId)) {
    const item = items.get(localId(p.clientId));
    if (!item || item.msg._local === 'queued') deliver(c, p.clientId);
  }
}

/** The picked files once stored (the send waits for them), or null when one failed. */
async function filesToSend(c) {
  c.waiting = true;
  c.sendBtn.setAttribute('aria-busy', 'true');
  c.renderHint();
  try {
    return await c.attach.ready();
  } finally {
    c.waiting = false;
    c.sendBtn.removeAttribute('aria-busy');
    c.renderHint();
  }
}

async function send(c) {
  if (c.waiting || (!c.input.value.trim() && !c.ctx.getState().uploads.length)) return;
  const attachments = c.ctx.getState().uploads.length ? await filesToSend(c) : [];
  if (!attachments || c.ctx.isDead()) return; // a file failed: it says so, the text stays
  const text = c.input.value;
  if (!text.trim() && !attachments.length) return;
  const p = { clientId: newClientId(), text, createdAt: new Date().toISOString() };
  if (attachments.length) Object.assign(p, { attachmentIds: attachments.map((a) => a.id), attachments });
  c.input.value = '';
  c.changed();
  c.ctx.dispatch({ type: 'send', pending: p }); // stores it (syncPending) and shows it
  c.ctx.scrollToBottom();
  deliver(c, p.clientId);
}

function listen(c, form) {
  const { input, palette } = c;
  input.addEventListener('input', () => c.changed());
  input.addEventListener('blur', () => palette.close());
  input.addEventListener('focus', () => palette.update());
  input.addEventListener('keydown', (e) => {
    if (palette.onKeydown(e)) return;
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !c.coarse.matches) {
      e.preventDefault();
      send(c);
    }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    send(c);
    input.focus();
  });
}

/**
 * `ctx`: {channelId, getState, dispatch, isDead, scrollToBottom, refreshCommands, dropZone}.
 * Returns {el, deliver, discard, resendPending, sync(prev, next), focus, destroy}.
 */
export function createComposer(ctx) {
  const input = h('textarea', { rows: 1, placeholder: 'Write a message…', 'aria-label': 'Message', maxlength: 100000, 'data-testid': 'composer' });
  const sendBtn = h('button.btn.btn-primary.btn-icon', { type: 'submit', 'aria-label': 'Send', title: 'Send' }, icon('send'));
  const c = { ctx, input, sendBtn, retryTimers: new Map(), coarse: window.matchMedia('(pointer: coarse)'), waiting: false };
  c.attach = createAttachments(ctx, input);
  c.palette = commandPalette(input, { send: () => send(c), refresh: () => ctx.refreshCommands() });
  const hint = h('div.composer-hint', { 'data-testid': 'composer-hint' });
  const renderHint = () => {
    hint.textContent = c.waiting
      ? 'Sending when the files are uploaded…'
      : c.palette.hint() ?? `Enter to send · Shift+Enter for a new line${c.palette.count ? ' · / for commands' : ''}`;
  };
  c.renderHint = renderHint;
  /** After the text changed: grow the input with it, update the palette and the hint. */
  c.changed = () => {
    input.style.height = 'auto';
    input.style.height = `${Math.min(200, input.scrollHeight)}px`;
    c.palette.update();
    renderHint();
  };
  const el = h('form.composer', { novalidate: true },
    c.attach.error,
    c.attach.chips,
    h('div.composer-inner', c.palette.el, c.attach.button, c.attach.picker, input, sendBtn),
    hint,
  );
  renderHint();
  listen(c, el);
  return {
    el,
    deliver: (clientId) => deliver(c, clientId),
    discard: (clientId) => discard(c, clientId),
    resendPending: () => resendPending(c),
    /** Follows a state change: the agent's commands feed the palette, the uploads the chips. */
    sync(prev, next) {
      if (prev.uploads !== next.uploads) c.attach.render(next.uploads);
      if (prev.commands === next.commands) return;
      c.palette.setCommands(next.commands);
      renderHint();
    },
    focus() {
      if (!c.coarse.matches) input.focus();
    },
    destroy() {
      c.retryTimers.forEach((t) => clearTimeout(t));
      c.attach.destroy();
    },
  };
}
