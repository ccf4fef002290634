// The chat view of one agent (= channel = thread): history with infinite scroll back, live
// frames from /ws/threads/{id} (resumed from the last seq after any disconnect), streamed
// replies rendered as they arrive (typewriter), status steps and tool calls, review cards,
// delivery ticks (a click shows the webhook delivery's attempts; a failed delivery says "Not
// delivered" with Retry), and the composer (optimistic, de-duplicated by clientId, queued while
// offline and re-sent with the same clientId after a reconnect) with the agent's slash-command
// palette (views/commands.js; live updates arrive as `agent_commands` frames). Messages show
// their attachments (views/files/); files are attached with the composer's button, by
// dropping them on the chat or by pasting them (chat/attach.js).
//
// The parts: chat/state.js (the pure reducer: frames and the view's actions → state),
// chat/timeline.js + chat/message.js (state → DOM), chat/composer.js, chat/header.js. This
// file wires them: every frame and action goes through `dispatch` → reduce → render.

import { client, describe, report } from '../lib/api.js';
import { h, icon, toast } from '../lib/dom.js';
import { emit, on, store } from '../lib/store.js';
import { openAgentSettings } from './agent-settings.js';
import { createComposer, loadPending, syncPending } from './chat/composer.js';
import { chatHeader } from './chat/header.js';
import { followUp, initialState, reduce, typing } from './chat/state.js';
import { createTimeline } from './chat/timeline.js';
import { retryDelivery } from './deliveries.js';

const PAGE = 30;
/** Frames whose updates leave the scroll position alone. */
const QUIET = new Set(['status_step', 'stream_end', 'message_deleted']);

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

// ---------------------------------------------------------------- state → view

/** Applies `action` and shows the result. Pending sends are stored even after unmount. */
function dispatch(c, action, mode = action.type === 'history' ? 'history' : QUIET.has(action.event_type) ? 'quiet' : 'live') {
  const prev = c.state;
  const next = reduce(prev, action);
  if (next === prev) return;
  c.state = next;
  syncPending(c.id, prev, next);
  if (c.dead) return;
  c.composer.sync(prev, next);
  if (next.agent !== prev.agent) c.header.render(next.agent);
  const { agentArrived } = c.timeline.render(next, { mode });
  if (agentArrived) markReadSoon(c);
  if (next.drafts.size) kick(c);
}

/** The typewriter: streamed text is revealed a little every frame, painted every ~30 ms. */
function kick(c) {
  if (!c.raf) c.raf = requestAnimationFrame((t) => animate(c, t));
}
function animate(c, now) {
  c.raf = 0;
  const prev = c.state;
  const next = reduce(prev, { type: 'tick' });
  const paint = now - c.lastPaint > 30;
  if (paint) c.lastPaint = now;
  if (next !== prev) {
    c.state = next;
    if (paint || next.drafts.size < prev.drafts.size) c.timeline.render(next, { mode: paint ? 'live' : 'quiet' });
  }
  if (typing(prev) || typing(next)) kick(c);
}

function onFrame(c, f) {
  dispatch(c, f);
  const then = followUp(f);
  if (then?.fetch) client.messages.get(then.fetch).then((m) => dispatch(c, { type: 'message', message: m }), () => {});
  if (then?.reload) reload(c);
}

// ---------------------------------------------------------------- actions with side effects

/** A manual webhook retry of message `mid`; resolves when the attempt settled. */
async function retryDeliveryOf(c, mid) {
  const item = c.state.items.get(mid);
  if (!item || item.msg._retrying) return;
  dispatch(c, { type: 'retry_started', id: mid });
  const settled = await retryDelivery(mid);
  if (c.dead) return;
  dispatch(c, { type: 'retry_settled', id: mid, settled });
  if (settled?.state === 'failed') toast(`Still not delivered: ${settled.lastError ?? 'the attempt failed'}`, { error: true, ms: 5000 });
}

// Typing "/" re-reads the stored commands (PUT …/commands sends no event), unless the agent
// relayed a list live: relays are not stored, so the stored list may be older.
async function refreshCommands(c) {
  if (c.refreshing || c.state.relayed || c.dead) return;
  c.refreshing = true;
  try {
    const agent = await client.agents.get(c.id);
    if (!c.dead) dispatch(c, { type: 'commands_fetched', commands: agent.commands });
  } catch {
    /* keep the commands we have */
  } finally {
    c.refreshing = false;
  }
}

function markReadSoon(c) {
  clearTimeout(c.readTimer);
  c.readTimer = setTimeout(() => {
    if (c.dead || document.visibilityState !== 'visible') return;
    client.agents.markRead(c.id).catch(() => {});
    const a = store.agents.get(c.id);
    if (a && a.unreadCount) {
      a.unreadCount = 0;
      emit('agents');
    }
  }, 600);
}

// ---------------------------------------------------------------- history and the socket

async function loadOlder(c) {
  if (c.loadingOlder || !c.state.hasMore || c.dead) return;
  c.loadingOlder = true;
  dispatch(c, { type: 'history_loading', older: true });
  try {
    const page = await client.messages.list(c.id, { limit: PAGE, cursor: c.state.cursor ?? undefined });
    if (c.dead) return;
    c.timeline.keepPosition(() => dispatch(c, { type: 'history', messages: page.data, nextCursor: page.nextCursor }));
  } catch (err) {
    report(err, 'Could not load older messages');
    dispatch(c, { type: 'history_failed' });
  } finally {
    c.loadingOlder = false;
  }
}

function showLoadError(main, err) {
  const gone = err.status === 403 || err.status === 404;
  main.replaceChildren(
    h('div.empty',
      h('h2', gone ? 'Agent not found' : 'Could not open this chat'),
      h('p', gone ? 'It does not exist or belongs to someone else.' : describe(err)),
      h('a.btn', { href: '/chats' }, 'Back to chats'),
    ),
  );
}

async function initialLoad(c, connect = true) {
  dispatch(c, { type: 'history_loading' });
  let since;
  try {
    const agent = await client.agents.get(c.id);
    if (c.dead) return;
    since = agent.lastSeq;
    dispatch(c, { type: 'agent_loaded', agent: { ...(store.agents.get(c.id) ?? {}), ...agent } });
    const page = await client.messages.list(c.id, { limit: PAGE });
    if (c.dead) return;
    dispatch(c, { type: 'history', messages: page.data, nextCursor: page.nextCursor, initial: true });
    dispatch(c, { type: 'pending_restored', pending: loadPending(c.id) });
    c.timeline.scrollToBottom();
    c.timeline.watchEdge();
    markReadSoon(c);
  } catch (err) {
    if (c.dead) return;
    if (err.status === 401) return report(err);
    showLoadError(c.main, err);
    return;
  }
  if (connect) await connectSocket(c, since);
}

/** After a sync_reset: everything is read again (the socket stays). */
function reload(c) {
  dispatch(c, { type: 'reset' });
  return initialLoad(c, false);
}

async function connectSocket(c, since) {
  const socket = await client.websocket.connectToChat(c.id, { since, waitForOpen: false, reconnectDelay: 800 });
  if (c.dead) {
    socket.destroy();
    return;
  }
  c.socket = socket;
  socket.onMessage.subscribe((e) => onFrame(c, e.json));
  socket.onStateChange.subscribe((s) => {
    if (s === 'closed' && c.dead) return;
    c.header.connection(s);
    if (s === 'open') c.composer.resendPending();
  });
  socket.onError.subscribe((err) => {
    if (err?.status === 401) report(err);
  });
}

// ---------------------------------------------------------------- mount

function createSession(main, id, navigate) {
  const c = { id, main, state: initialState({ channelId: id, agent: store.agents.get(id) ?? null }), dead: false, socket: null, loadingOlder: false, refreshing: false, readTimer: null, raf: 0, lastPaint: 0 };
  c.header = chatHeader({ onSettings: () => c.state.agent && openAgentSettings(c.state.agent, { navigate }), filesHref: `/chats/${encodeURIComponent(id)}/files` });
  c.timeline = createTimeline({
    resend: (clientId) => c.composer.deliver(clientId),
    discard: (clientId) => c.composer.discard(clientId),
    retryDelivery: (mid) => retryDeliveryOf(c, mid),
    answered: (m) => dispatch(c, { type: 'message', message: m }),
    nearTop: () => !c.loadingOlder && c.state.order.length && loadOlder(c),
  });
  c.composer = createComposer({
    channelId: id,
    getState: () => c.state,
    dispatch: (action) => dispatch(c, action),
    isDead: () => c.dead,
    scrollToBottom: () => c.timeline.scrollToBottom(),
    refreshCommands: () => refreshCommands(c),
    dropZone: main,
  });
  main.append(c.header.el, c.header.banner, c.timeline.el, c.composer.el);
  c.header.render(c.state.agent);
  return c;
}

export function mountChat(main, { id, navigate }) {
  const c = createSession(main, id, navigate);
  const offs = [
    on('agents', () => dispatch(c, { type: 'agent_store', agent: store.agents.get(id) })),
    on('tick', () => c.header.render(c.state.agent)),
  ];
  const onVisible = () => document.visibilityState === 'visible' && markReadSoon(c);
  const onOnline = () => c.composer.resendPending();
  document.addEventListener('visibilitychange', onVisible);
  window.addEventListener('online', onOnline);

  initialLoad(c);
  c.composer.focus();

  return () => {
    c.dead = true;
    c.socket?.destroy();
    c.timeline.destroy();
    cancelAnimationFrame(c.raf);
    clearTimeout(c.readTimer);
    c.composer.destroy();
    offs.forEach((off) => off());
    window.removeEventListener('online', onOnline);
    document.removeEventListener('visibilitychange', onVisible);
  };
}
