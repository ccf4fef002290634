// The chat view of one agent (= channel = thread): history with infinite scroll back, live
// frames from /ws/threads/{id} (resumed from the last seq after any disconnect), streamed
// replies rendered as they arrive (typewriter), status steps and tool calls, review cards,
// delivery ticks (a click shows the webhook delivery's attempts; a failed delivery says "Not
// delivered" with Retry), and the composer (optimistic, de-duplicated by clientId, queued while
// offline and re-sent with the same clientId after a reconnect) with the agent's slash-command
// palette (views/commands.js; live updates arrive as `agent_commands` frames).

import { client, describe, report } from '../lib/api.js';
import { avatar, h, icon, setChildren, toast } from '../lib/dom.js';
import { renderMarkdown } from '../lib/markdown.js';
import { emit, on, store } from '../lib/store.js';
import { clock, fullDate } from '../lib/time.js';
import { openAgentSettings } from './agent-settings.js';
import { presence } from './channels.js';
import { commandPalette } from './commands.js';
import { openDeliveryDetails, retryDelivery } from './deliveries.js';
import { reviewCard } from './review.js';

const PAGE = 30;
const STATUS_WORDS = { info: 'Info', success: 'Success', warning: 'Warning', error: 'Error' };
const DELIVERY = {
  sent: ['check', 'Sent'],
  webhook_delivered: ['checks', 'Delivered to the agent'],
  agent_received: ['checks', 'Read by the agent'],
  webhook_failed: ['alert', 'Not delivered'],
};

export function mountChatsHome(main) {
  main.append(
    h('div.empty',
      icon('chat'),
      h('h2', 'Pick a conversation'),
      h('p', 'Choose an agent on the left to read its messages and answer its requests.'),
    ),
  );
  return () => {};
}

function newClientId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

const pendingKey = (channelId) => `assent:pending:${channelId}`;
function loadPending(channelId) {
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

/** Sort key: creation time, then seq, then id (ISO timestamps compare as strings). */
const keyOf = (m) => `${m.createdAt ?? ''}|${String(m.seq ?? 0).padStart(12, '0')}|${m.id}`;

export function mountChat(main, { id, navigate }) {
  const st = {
    agent: store.agents.get(id) ?? null,
    items: new Map(), // id → {kind: 'msg'|'sys', msg?, el, key, card?}
    order: [], // ids sorted by key
    cursor: null,
    hasMore: true,
    loadingOlder: false,
    drafts: new Map(), // message id → {target, shown}
    steps: new Map(), // stream id → Map(index → step)
    socket: null,
    dead: false,
    offs: [],
  };

  // ---------------------------------------------------------- layout
  const headAvatar = h('div');
  const title = h('h2');
  const sub = h('div.chat-sub', { 'data-testid': 'agent-presence' });
  const head = h('header.chat-head',
    h('a.btn.btn-ghost.btn-icon.back', { href: '/chats', 'aria-label': 'Back to chats' }, icon('back')),
    headAvatar,
    h('div.chat-title', title, sub),
    h('button.btn.btn-ghost.btn-icon', { type: 'button', 'aria-label': 'Agent settings', title: 'Agent settings', onclick: () => st.agent && openAgentSettings(st.agent, { navigate }) }, icon('settings')),
  );
  const banner = h('div.banner.banner-warning', { role: 'status', hidden: true, 'data-testid': 'chat-connection' });
  const edge = h('div.history-edge');
  const inner = h('div.timeline-inner', edge);
  const pill = h('button.btn.btn-sm.btn-primary.new-pill', { type: 'button', hidden: true, onclick: () => scrollToBottom(true) }, 'New messages', icon('down', 'icon icon-sm'));
  const timeline = h('div.timeline', { role: 'log', 'aria-live': 'polite', 'aria-label': 'Conversation', tabindex: '0', 'data-testid': 'timeline' }, inner, pill);
  const input = h('textarea', { rows: 1, placeholder: 'Write a message…', 'aria-label': 'Message', maxlength: 100000, 'data-testid': 'composer' });
  const sendBtn = h('button.btn.btn-primary.btn-icon', { type: 'submit', 'aria-label': 'Send', title: 'Send' }, icon('send'));
  const palette = commandPalette(input, { send: () => send(), refresh: () => refreshCommands() });
  const hint = h('div.composer-hint', { 'data-testid': 'composer-hint' });
  const composer = h('form.composer', { novalidate: true },
    h('div.composer-inner', palette.el, input, sendBtn),
    hint,
  );
  function renderHint() {
    hint.textContent = palette.hint() ?? `Enter to send · Shift+Enter for a new line${palette.count ? ' · / for commands' : ''}`;
  }
  renderHint();
  main.append(head, banner, timeline, composer);

  function renderHead() {
    const a = st.agent;
    setChildren(headAvatar, avatar(a?.name ?? '…', { status: a?.status, small: true }));
    title.textContent = a?.name ?? 'Loading…';
    setChildren(sub, a ? [h('span.dot', { dataset: { status: a.status } }), presence(a)] : '');
    document.title = `${a?.name ?? 'Chat'} · Assent`;
  }
  renderHead();

  // ---------------------------------------------------------- scrolling
  const atBottom = () => timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 80;
  function scrollToBottom(smooth = false) {
    timeline.scrollTo({ top: timeline.scrollHeight, behavior: smooth ? 'smooth' : 'auto' });
    pill.hidden = true;
  }
  timeline.addEventListener('scroll', () => {
    if (atBottom()) pill.hidden = true;
  });

  // ---------------------------------------------------------- rendering
  function stepsView(m) {
    const steps = [...(st.steps.get(m.streamId)?.values() ?? [])].sort((a, b) => a.index - b.index);
    if (!steps.length) return null;
    const streaming = m.streamState === 'streaming';
    const items = steps.map((s, k) => {
      const running = streaming && k === steps.length - 1;
      return h('li', running ? h('span.spinner', { 'aria-hidden': 'true' }) : icon(s.toolHint ? 'tool' : 'check', 'icon icon-sm'), s.text);
    });
    if (streaming) return h('ul.steps', { 'aria-label': 'Progress' }, items);
    return h('details.steps-done', h('summary', `${steps.length} step${steps.length === 1 ? '' : 's'} completed`), h('ul.steps', items));
  }

  function bodyText(m) {
    const draft = st.drafts.get(m.id);
    const text = draft ? draft.target.slice(0, draft.shown) : m.text ?? '';
    const md = renderMarkdown(text);
    if (m.streamState === 'streaming' || (draft && draft.shown < draft.target.length)) {
      const last = md.lastElementChild ?? md;
      last.append(h('span.caret', { 'aria-hidden': 'true' }));
    }
    return md;
  }

  function renderMessage(item) {
    const m = item.msg;
    const mine = m.senderType === 'user';
    const status = STATUS_WORDS[m.status] ? m.status : null;
    const bubble = h('div.bubble', { dataset: status ? { status } : {} });
    if (status) bubble.append(h('div.status-label', { dataset: { status } }, STATUS_WORDS[status]));
    if (m.streamId) {
      const steps = stepsView(m);
      if (steps) bubble.append(steps);
    }
    const hasText = (m.text ?? '') !== '' || st.drafts.has(m.id) || m.streamState === 'streaming';
    if (hasText) bubble.append(bodyText(m));
    if (m.review) {
      if (!item.card) item.card = reviewCard(m, { onAnswered: (updated) => upsert(updated) });
      else item.card.update(m);
      bubble.append(item.card.el);
    }
    const meta = h('div.msg-meta', h('time', { datetime: m.createdAt, title: fullDate(m.createdAt) }, clock(m.createdAt)));
    if (m.streamState === 'streaming') meta.append(h('span.stream-label', 'typing…'));
    if (m.streamState === 'aborted') meta.append(h('span.stream-label', '· stopped'));
    if (mine) {
      if (m._local === 'sending') meta.append(h('span.ticks', { title: 'Sending…', 'aria-label': 'Sending' }, icon('clock', 'icon icon-sm')));
      else if (m._local === 'queued') meta.append(h('span.ticks', { title: 'Waiting for the connection' }, icon('clock', 'icon icon-sm')), 'Waiting for connection');
      else if (m._local === 'failed') {
        meta.append(
          h('span.msg-failed', { role: 'alert' }, icon('alert', 'icon icon-sm'), ` Not sent${m._error ? `: ${m._error}` : ''}`),
          h('button.btn-link', { type: 'button', onclick: () => deliver(m.clientId) }, 'Retry'),
          h('button.btn-link', { type: 'button', onclick: () => discard(m.clientId) }, 'Discard'),
        );
      } else {
        deliveryMeta(item, meta);
      }
    } else if (m.review?.status === 'completed' && (m.deliveryStatus?.startsWith('webhook_') || st.agent?.webhookUrl)) {
      // An answered review is POSTed to the agent's webhook: show how that went.
      deliveryMeta(item, meta, { answer: true });
    }
    const cls = ['msg', mine ? 'msg-user' : 'msg-agent'];
    if (m.review) cls.push('msg-review');
    if (m._local) cls.push('msg-pending');
    const el = h('article', { class: cls.join(' '), dataset: { id: m.id }, 'data-testid': 'message', 'data-sender': m.senderType }, bubble, meta);
    if (item.el) item.el.replaceWith(el);
    item.el = el;
    return el;
  }

  /** The delivery tick (opens the delivery details), or "Not delivered" with Retry. */
  function deliveryMeta(item, meta, { answer = false } = {}) {
    const m = item.msg;
    const status = m.deliveryStatus ?? 'sent';
    const details = () => openDeliveryDetails(m, { onRetry: () => retry(m.id) });
    if (status === 'webhook_failed') {
      meta.append(
        h('button.msg-failed', { type: 'button', title: 'Show the delivery attempts', 'data-testid': 'delivery-failed', onclick: details },
          icon('alert', 'icon icon-sm'), answer ? 'Answer not delivered' : 'Not delivered'),
        m._retrying
          ? h('span.retrying', { role: 'status' }, h('span.spinner', { 'aria-hidden': 'true' }), 'Retrying…')
          : h('button.btn-link', { type: 'button', 'data-testid': 'delivery-retry', onclick: () => retry(m.id) }, 'Retry'),
      );
      return;
    }
    const [ic, label] = DELIVERY[status] ?? DELIVERY.sent;
    const text = answer ? (status === 'webhook_delivered' ? 'Answer delivered to the agent' : 'Answer sent') : label;
    meta.append(h('button.ticks', { type: 'button', dataset: { delivery: status }, title: `${text} · delivery details`, 'aria-label': `${text}, show delivery details`, onclick: details }, icon(ic, 'icon icon-sm')));
  }

  /** A manual webhook retry of message `mid`; resolves when the attempt settled. */
  async function retry(mid) {
    const item = st.items.get(mid);
    if (!item || item.msg._retrying) return;
    upsert({ ...item.msg, _retrying: true });
    const settled = await retryDelivery(mid);
    if (st.dead) return;
    const now = st.items.get(mid);
    if (!now) return;
    const patch = { ...now.msg, _retrying: false };
    // The message_delivery frame normally says it first; this covers a frame still in flight.
    if (settled?.state === 'delivered' && patch.deliveryStatus === 'webhook_failed') patch.deliveryStatus = 'webhook_delivered';
    upsert(patch);
    if (settled?.state === 'failed') toast(`Still not delivered: ${settled.lastError ?? 'the attempt failed'}`, { error: true, ms: 5000 });
  }

  function place(id, item) {
    const key = item.key;
    let lo = 0;
    let hi = st.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (st.items.get(st.order[mid]).key < key) lo = mid + 1;
      else hi = mid;
    }
    st.order.splice(lo, 0, id);
    const next = st.order[lo + 1];
    inner.insertBefore(item.el, next ? st.items.get(next).el : null);
    return lo === st.order.length - 1;
  }

  function removeItem(id) {
    const item = st.items.get(id);
    if (!item) return;
    item.card?.destroy();
    item.el.remove();
    st.items.delete(id);
    st.order.splice(st.order.indexOf(id), 1);
  }

  /** Inserts or updates a message; a server copy replaces its optimistic local twin. */
  function upsert(m, { fromHistory = false } = {}) {
    if (!m?.id) return;
    if (m.clientId && !m._local && m.senderType === 'user') {
      const localId = `local:${m.clientId}`;
      if (st.items.has(localId)) {
        removeItem(localId);
        savePending(id, loadPending(id).filter((p) => p.clientId !== m.clientId));
      }
    }
    const existing = st.items.get(m.id);
    if (existing) {
      existing.msg = { ...existing.msg, ...m };
      const wasBottom = atBottom();
      renderMessage(existing);
      if (wasBottom && !fromHistory) scrollToBottom();
      return;
    }
    inner.querySelector('[data-empty]')?.remove();
    const wasBottom = atBottom();
    const item = { kind: 'msg', msg: m, key: keyOf(m) };
    renderMessage(item);
    st.items.set(m.id, item);
    const isLast = place(m.id, item);
    if (!fromHistory && isLast) {
      if (wasBottom || m.senderType === 'user') scrollToBottom();
      else pill.hidden = false;
      if (m.senderType === 'agent') markReadSoon();
    }
  }

  function sysRow(rowId, content, cls = '') {
    let item = st.items.get(rowId);
    const el = h(`div.sys-row${cls}`, { 'data-testid': 'event' }, content);
    if (item) {
      item.el.replaceWith(el);
      item.el = el;
      return;
    }
    const wasBottom = atBottom();
    item = { kind: 'sys', el, key: `${new Date().toISOString()}|${'9'.repeat(12)}|${rowId}` };
    st.items.set(rowId, item);
    place(rowId, item);
    if (wasBottom) scrollToBottom();
  }

  // ---------------------------------------------------------- typewriter
  let raf = 0;
  let lastPaint = 0;
  function animate(now) {
    raf = 0;
    let busyDrafts = false;
    const paint = now - lastPaint > 30;
    for (const [mid, d] of st.drafts) {
      if (d.shown < d.target.length) {
        busyDrafts = true;
        const step = Math.max(2, Math.ceil((d.target.length - d.shown) / 14));
        d.shown = Math.min(d.target.length, d.shown + step);
        const code = d.target.charCodeAt(d.shown - 1);
        if (code >= 0xd800 && code <= 0xdbff) d.shown++;
      }
      const item = st.items.get(mid);
      if (!item) continue;
      if (paint) {
        const wasBottom = atBottom();
        renderMessage(item);
        if (wasBottom) scrollToBottom();
      }
      if (d.shown >= d.target.length && item.msg.streamState !== 'streaming') {
        st.drafts.delete(mid);
        renderMessage(item);
      }
    }
    if (paint) lastPaint = now;
    if (busyDrafts || [...st.drafts.values()].some((d) => d.shown < d.target.length)) raf = requestAnimationFrame(animate);
  }
  const kick = () => {
    if (!raf) raf = requestAnimationFrame(animate);
  };

  function draftFor(mid) {
    let d = st.drafts.get(mid);
    if (!d) {
      const t = st.items.get(mid)?.msg.text ?? '';
      d = { target: t, shown: t.length };
      st.drafts.set(mid, d);
    }
    return d;
  }

  // ---------------------------------------------------------- frames
  function patchReview(mid, fn) {
    const item = st.items.get(mid);
    if (!item?.msg.review) return false;
    const review = { ...item.msg.review };
    fn(review);
    upsert({ ...item.msg, review });
    return true;
  }

  function onFrame(f) {
    switch (f.event_type) {
      case 'message_created':
      case 'message_completed':
      case 'approval_pending': {
        if (f.message) {
          const d = st.drafts.get(f.message.id);
          if (d) d.target = f.message.text ?? d.target;
          upsert(f.message);
          if (d) kick();
        } else if (f.message_id) {
          client.messages.get(f.message_id).then(upsert, () => {});
        }
        break;
      }
      case 'typing_started':
        if (!st.items.has(f.message_id)) {
          upsert({ id: f.message_id, channelId: id, senderType: 'agent', senderId: id, text: '', streamId: f.stream_id, streamState: 'streaming', createdAt: new Date().toISOString(), seq: f.seq, deliveryStatus: 'sent' });
        }
        break;
      case 'text_delta': {
        if (!st.items.has(f.message_id)) {
          upsert({ id: f.message_id, channelId: id, senderType: 'agent', senderId: id, text: '', streamId: f.stream_id, streamState: 'streaming', createdAt: new Date().toISOString(), deliveryStatus: 'sent' });
        }
        const d = draftFor(f.message_id);
        d.target += f.content ?? '';
        const item = st.items.get(f.message_id);
        item.msg.text = d.target;
        kick();
        break;
      }
      case 'stream_end': {
        const item = st.items.get(f.message_id);
        if (item) {
          item.msg.streamState = f.state;
          renderMessage(item);
        }
        // The stored final text is authoritative (deltas may have been missed).
        client.messages.get(f.message_id).then((m) => {
          const d = st.drafts.get(m.id);
          if (d) d.target = m.text ?? d.target;
          upsert(m);
          if (d) kick();
        }, () => {});
        break;
      }
      case 'status_step': {
        if (!st.steps.has(f.stream_id)) st.steps.set(f.stream_id, new Map());
        st.steps.get(f.stream_id).set(f.index, { index: f.index, text: f.text, toolHint: f.tool_hint });
        for (const item of st.items.values()) {
          if (item.kind === 'msg' && item.msg.streamId === f.stream_id) renderMessage(item);
        }
        break;
      }
      case 'review_responded':
        patchReview(f.message_id, (r) => {
          r.status = 'completed';
          r.response = f.response ?? r.response;
          r.feedback = f.feedback ?? r.feedback ?? null;
          r.completedAt = r.completedAt ?? new Date().toISOString();
        });
        break;
      case 'approval_expired':
        patchReview(f.message_id, (r) => {
          if (r.status === 'pending') r.status = 'expired';
        });
        break;
      case 'message_deleted':
        removeItem(f.message_id);
        break;
      case 'message_delivery': {
        const item = st.items.get(f.message_id);
        if (item) upsert({ ...item.msg, deliveryStatus: f.delivery_status, _retrying: item.msg._retrying && f.delivery_status === 'webhook_failed' });
        break;
      }
      case 'agent_status':
        if (st.agent) {
          st.agent = { ...st.agent, status: f.status, statusMessage: f.status_message ?? null, lastActiveAt: new Date().toISOString() };
          renderHead();
        }
        break;
      case 'tool_call_started':
        sysRow(`tool:${f.tool_call_id}`, [h('span.spinner', { 'aria-hidden': 'true' }), `Running ${f.tool_name}`, previewText(f.preview)]);
        break;
      case 'tool_call_completed': {
        const ok = f.success !== false;
        sysRow(`tool:${f.tool_call_id}`, [icon(ok ? 'check' : 'x', 'icon icon-sm'), `${f.tool_name} ${ok ? 'done' : 'failed'}`, previewText(f.preview)], ok ? '.ok' : '.fail');
        break;
      }
      case 'conversation_started':
        sysRow(`conv:${f.seq}`, [icon('play', 'icon icon-sm'), 'Run started']);
        break;
      case 'conversation_completed':
        sysRow(`conv:${f.seq}`, [icon('check', 'icon icon-sm'), 'Run completed'], '.ok');
        break;
      case 'conversation_failed':
        sysRow(`conv:${f.seq}`, [icon('alert', 'icon icon-sm'), `Run failed${f.error ? `: ${f.error}` : ''}`], '.fail');
        break;
      case 'escalation_created':
        sysRow(`esc:${f.seq}`, [icon('flag', 'icon icon-sm'), `Escalated to ${f.target}${f.reason ? ` — ${f.reason}` : ''}`]);
        break;
      case 'agent_commands':
        if (!Array.isArray(f.commands)) break;
        relayed = true;
        setCommands(f.commands);
        break;
      case 'sync_reset':
        reload();
        break;
      default:
        break;
    }
  }

  function previewText(p) {
    if (!p || typeof p !== 'object') return null;
    const s = Object.entries(p).slice(0, 2).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
    return s ? h('span.muted', ` (${s.length > 60 ? `${s.slice(0, 59)}…` : s})`) : null;
  }

  // ---------------------------------------------------------- composer
  function localMessage(p, state) {
    return { id: `local:${p.clientId}`, clientId: p.clientId, channelId: id, senderType: 'user', text: p.text, createdAt: p.createdAt, _local: state, _error: null };
  }

  const retryTimers = new Map();
  async function deliver(clientId) {
    clearTimeout(retryTimers.get(clientId));
    const p = loadPending(id).find((x) => x.clientId === clientId);
    if (!p || st.dead) return;
    const localId = `local:${clientId}`;
    if (st.items.has(localId)) upsert(localMessage(p, 'sending'));
    try {
      const m = await client.messages.send(id, p.text, p.clientId);
      upsert(m);
    } catch (err) {
      if (st.dead) return;
      if (err.status === 401) return report(err);
      if (err.retryable) {
        upsert({ ...localMessage(p, 'queued') });
        retryTimers.set(clientId, setTimeout(() => deliver(clientId), 5000));
      } else {
        upsert({ ...localMessage(p, 'failed'), _error: describe(err) });
      }
    }
  }

  function discard(clientId) {
    savePending(id, loadPending(id).filter((p) => p.clientId !== clientId));
    removeItem(`local:${clientId}`);
  }

  function resendPending() {
    for (const p of loadPending(id)) {
      const item = st.items.get(`local:${p.clientId}`);
      if (!item || item.msg._local === 'queued') deliver(p.clientId);
    }
  }

  function send() {
    const text = input.value;
    if (!text.trim()) return;
    const p = { clientId: newClientId(), text, createdAt: new Date().toISOString() };
    savePending(id, [...loadPending(id), p]);
    input.value = '';
    autosize();
    palette.update();
    renderHint();
    upsert(localMessage(p, 'sending'));
    scrollToBottom();
    deliver(p.clientId);
  }

  function autosize() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(200, input.scrollHeight)}px`;
  }
  input.addEventListener('input', () => {
    autosize();
    palette.update();
    renderHint();
  });
  input.addEventListener('blur', () => palette.close());
  input.addEventListener('focus', () => palette.update());
  const coarse = window.matchMedia('(pointer: coarse)');
  input.addEventListener('keydown', (e) => {
    if (palette.onKeydown(e)) return;
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !coarse.matches) {
      e.preventDefault();
      send();
    }
  });
  composer.addEventListener('submit', (e) => {
    e.preventDefault();
    send();
    input.focus();
  });

  // ---------------------------------------------------------- slash commands
  function setCommands(commands) {
    if (st.agent) st.agent.commands = commands;
    palette.setCommands(commands);
    renderHint();
  }

  // Typing "/" re-reads the stored commands (PUT …/commands sends no event), unless the agent
  // relayed a list live: relays are not stored, so the stored list may be older.
  let refreshing = false;
  let relayed = false;
  async function refreshCommands() {
    if (refreshing || relayed || st.dead) return;
    refreshing = true;
    try {
      const agent = await client.agents.get(id);
      if (!st.dead && !relayed) setCommands(agent.commands);
    } catch {
      /* keep the commands we have */
    } finally {
      refreshing = false;
    }
  }

  // ---------------------------------------------------------- read state
  let readTimer = null;
  function markReadSoon() {
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      if (st.dead || document.visibilityState !== 'visible') return;
      client.agents.markRead(id).catch(() => {});
      const a = store.agents.get(id);
      if (a && a.unreadCount) {
        a.unreadCount = 0;
        emit('agents');
      }
    }, 600);
  }
  const onVisible = () => document.visibilityState === 'visible' && markReadSoon();
  document.addEventListener('visibilitychange', onVisible);

  // ---------------------------------------------------------- history
  async function loadOlder() {
    if (st.loadingOlder || !st.hasMore || st.dead) return;
    st.loadingOlder = true;
    setChildren(edge, h('span.spinner', { 'aria-label': 'Loading older messages' }));
    try {
      const page = await client.messages.list(id, { limit: PAGE, cursor: st.cursor ?? undefined });
      if (st.dead) return;
      const before = timeline.scrollHeight;
      const top = timeline.scrollTop;
      for (const m of page.data) upsert(m, { fromHistory: true });
      timeline.scrollTop = top + (timeline.scrollHeight - before);
      st.cursor = page.nextCursor;
      st.hasMore = !!page.nextCursor;
    } catch (err) {
      report(err, 'Could not load older messages');
    } finally {
      st.loadingOlder = false;
      setChildren(edge, st.hasMore ? '' : st.items.size ? 'This is the beginning of the conversation.' : '');
    }
  }
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && !st.loadingOlder && st.order.length) loadOlder();
  }, { root: timeline, rootMargin: '200px 0px 0px 0px' });

  async function reload() {
    for (const id2 of [...st.order]) removeItem(id2);
    st.cursor = null;
    st.hasMore = true;
    st.drafts.clear();
    await initialLoad(false);
  }

  async function initialLoad(connect = true) {
    setChildren(edge, h('span.spinner', { 'aria-label': 'Loading messages' }));
    let since;
    try {
      const agent = await client.agents.get(id);
      if (st.dead) return;
      st.agent = { ...(store.agents.get(id) ?? {}), ...agent };
      since = agent.lastSeq;
      renderHead();
      if (!relayed) setCommands(agent.commands);
      const page = await client.messages.list(id, { limit: PAGE });
      if (st.dead) return;
      for (const m of page.data) {
        for (const s of m.statusEvents ?? []) {
          if (!st.steps.has(m.streamId)) st.steps.set(m.streamId, new Map());
          st.steps.get(m.streamId).set(s.index, { index: s.index, text: s.text, toolHint: s.toolHint });
        }
        upsert(m, { fromHistory: true });
      }
      st.cursor = page.nextCursor;
      st.hasMore = !!page.nextCursor;
      setChildren(edge, st.hasMore ? '' : page.data.length ? 'This is the beginning of the conversation.' : '');
      if (!page.data.length) {
        inner.append(h('div.empty', { 'data-empty': true }, h('p', 'No messages yet. Your agent’s messages and requests will appear here.')));
      }
      for (const p of loadPending(id)) upsert(localMessage(p, 'queued'));
      scrollToBottom();
      observer.observe(edge);
      markReadSoon();
    } catch (err) {
      if (st.dead) return;
      if (err.status === 401) return report(err);
      const gone = err.status === 403 || err.status === 404;
      main.replaceChildren(
        h('div.empty',
          h('h2', gone ? 'Agent not found' : 'Could not open this chat'),
          h('p', gone ? 'It does not exist or belongs to someone else.' : describe(err)),
          h('a.btn', { href: '/chats' }, 'Back to chats'),
        ),
      );
      return;
    }
    if (!connect) return;
    const socket = await client.websocket.connectToChat(id, { since, waitForOpen: false, reconnectDelay: 800 });
    if (st.dead) {
      socket.destroy();
      return;
    }
    st.socket = socket;
    socket.onMessage.subscribe((e) => onFrame(e.json));
    socket.onStateChange.subscribe((s) => {
      if (s === 'open') {
        banner.hidden = true;
        resendPending();
      } else if (s === 'reconnecting') {
        banner.className = 'banner banner-warning';
        banner.replaceChildren(h('span.spinner', { 'aria-hidden': 'true' }), 'Connection lost — reconnecting… Messages you write are sent when it is back.');
        banner.hidden = false;
      } else if (s === 'closed' && !st.dead) {
        banner.className = 'banner banner-danger';
        banner.replaceChildren(icon('alert', 'icon icon-sm'), 'Live updates stopped. ', h('button.btn-link', { type: 'button', onclick: () => location.reload() }, 'Reload'));
        banner.hidden = false;
      }
    });
    socket.onError.subscribe((err) => {
      if (err?.status === 401) report(err);
    });
  }

  st.offs.push(
    on('agents', () => {
      const a = store.agents.get(id);
      if (a && st.agent) {
        st.agent = { ...st.agent, ...a, commands: st.agent.commands };
        renderHead();
      }
    }),
    on('tick', renderHead),
  );
  const onOnline = () => resendPending();
  window.addEventListener('online', onOnline);

  initialLoad();
  if (!coarse.matches) input.focus();

  return () => {
    st.dead = true;
    st.socket?.destroy();
    observer.disconnect();
    cancelAnimationFrame(raf);
    clearTimeout(readTimer);
    retryTimers.forEach((t) => clearTimeout(t));
    for (const item of st.items.values()) item.card?.destroy();
    st.offs.forEach((off) => off());
    window.removeEventListener('online', onOnline);
    document.removeEventListener('visibilitychange', onVisible);
  };
}
