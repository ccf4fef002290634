// The timeline: renders the chat state (views/chat/state.js) into the conversation log and
// keeps the scroll position sensible. Rendering is incremental: entries whose message,
// draft or status steps did not change since the last render keep their element.
//
// `render(state, {mode, agent})`: mode 'live' (a live change: updates stick to the bottom when
// it was shown, a new last message scrolls down or shows the "New messages" pill), 'quiet'
// (updates leave the scroll alone) or 'history' (a page was merged: nothing scrolls).
// Returns {agentArrived}: a new agent message became the last entry (to mark the chat read).

import { graft, h, icon, setChildren } from '../../lib/dom.js';
import { stepsOf } from './state.js';
import { renderMessage, renderSysRow } from './message.js';

const EDGES = {
  loading: () => h('span.spinner', { 'aria-label': 'Loading messages' }),
  'loading-older': () => h('span.spinner', { 'aria-label': 'Loading older messages' }),
  start: () => 'This is the beginning of the conversation.',
};

const atBottom = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 80;

/** `actions`: {resend, discard, retryDelivery, answered, nearTop}. */
export function createTimeline(actions) {
  const edge = h('div.history-edge');
  const inner = h('div.timeline-inner', edge);
  const pill = h('button.btn.btn-sm.btn-primary.new-pill', { type: 'button', hidden: true, onclick: () => scrollToBottom(true) }, 'New messages', icon('down', 'icon icon-sm'));
  const el = h('div.timeline', { role: 'log', 'aria-live': 'polite', 'aria-label': 'Conversation', tabindex: '0', 'data-testid': 'timeline' }, inner, pill);
  const view = { el, inner, edge, pill, actions, rendered: new Map(), placeholder: null, edgeState: '' };

  function scrollToBottom(smooth = false) {
    el.scrollTo({ top: el.scrollHeight, behavior: smooth ? 'smooth' : 'auto' });
    pill.hidden = true;
  }
  el.addEventListener('scroll', () => {
    if (atBottom(el)) pill.hidden = true;
  });
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) actions.nearTop();
  }, { root: el, rootMargin: '200px 0px 0px 0px' });

  return {
    el,
    render: (state, opts) => renderTimeline(view, state, opts, scrollToBottom),
    scrollToBottom,
    /** Runs `fn` (which adds entries above) keeping the visible entries where they are. */
    keepPosition(fn) {
      const before = el.scrollHeight;
      const top = el.scrollTop;
      fn();
      el.scrollTop = top + (el.scrollHeight - before);
    },
    /** Starts loading older pages when the top of the history comes into view. */
    watchEdge: () => observer.observe(edge),
    destroy() {
      observer.disconnect();
      for (const rec of view.rendered.values()) {
        rec.card?.destroy();
        rec.plugin?.destroy();
      }
    },
  };
}

function renderEdge(view, edgeState) {
  if (edgeState === view.edgeState) return;
  view.edgeState = edgeState;
  setChildren(view.edge, EDGES[edgeState]?.() ?? '');
}

function renderPlaceholder(view, empty) {
  if (empty && !view.placeholder) {
    view.placeholder = h('div.empty', { 'data-empty': true }, h('p', 'No messages yet. Your agent’s messages and requests will appear here.'));
    view.edge.after(view.placeholder);
  } else if (!empty && view.placeholder) {
    view.placeholder.remove();
    view.placeholder = null;
  }
}

/** The inputs an entry was last rendered from; a different one means it is stale. */
function inputsOf(state, item) {
  if (item.kind !== 'msg') return { item };
  return { item, draft: state.drafts.get(item.id), steps: state.steps.get(item.msg.streamId) };
}
const stale = (rec, inputs) => rec.item !== inputs.item || rec.draft !== inputs.draft || rec.steps !== inputs.steps;

function draw(view, rec, inputs, state, agent) {
  const { item } = inputs;
  let el = item.kind === 'msg'
    ? renderMessage(rec, item.msg, { draft: inputs.draft, steps: stepsOf(state, item.msg.streamId), agent, actions: view.actions })
    : renderSysRow(item.row);
  // A review card or plugin frame in the page stays where it is: the old entry takes the new one's content around it.
  const slots = rec.slots ?? [];
  rec.slots = null;
  if (rec.el && slots.length && graft(rec.el, el, slots)) el = rec.el;
  else {
    for (const [slot, node] of slots) slot.replaceWith(node);
    if (rec.el) rec.el.replaceWith(el);
  }
  Object.assign(rec, inputs, { el });
}

function renderTimeline(view, state, { mode = 'live', agent = state.agent } = {}, scrollToBottom) {
  const wasBottom = atBottom(view.el);
  for (const [id, rec] of view.rendered) {
    if (state.items.has(id)) continue;
    rec.card?.destroy();
    rec.plugin?.destroy();
    rec.el.remove();
    view.rendered.delete(id);
  }
  renderPlaceholder(view, state.empty);
  renderEdge(view, state.edge);
  let scroll = false;
  let showPill = false;
  let agentArrived = false;
  let next = null; // the element of the entry after the current one
  for (let i = state.order.length - 1; i >= 0; i--) {
    const item = state.items.get(state.order[i]);
    const inputs = inputsOf(state, item);
    let rec = view.rendered.get(item.id);
    if (!rec) {
      rec = {};
      draw(view, rec, inputs, state, agent);
      view.inner.insertBefore(rec.el, next);
      view.rendered.set(item.id, rec);
      if (item.kind === 'sys') scroll ||= wasBottom;
      else if (mode !== 'history' && i === state.order.length - 1) {
        if (wasBottom || item.msg.senderType === 'user') scroll = true;
        else showPill = true;
        if (item.msg.senderType === 'agent') agentArrived = true;
      }
    } else if (stale(rec, inputs)) {
      draw(view, rec, inputs, state, agent);
      if (mode === 'live' && item.kind === 'msg') scroll ||= wasBottom;
    }
    next = rec.el;
  }
  if (showPill) view.pill.hidden = false;
  if (scroll) scrollToBottom();
  return { agentArrived };
}
