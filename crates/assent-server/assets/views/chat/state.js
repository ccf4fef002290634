// The chat view's state as a pure reducer: `reduce(state, action, env) → state`.
//
// Actions are either live frames of /ws/threads/{id} (objects with an `event_type`, see
// docs/THREAD_STREAM.md) or the view's own actions (objects with a `type`: history pages,
// optimistic sends, delivery retries, the typewriter's tick, …). The state is never mutated:
// a new state is returned, or the same object when the action changes nothing. `env.now` is
// the current time as an ISO string (defaults to the clock); it stamps placeholders, system
// rows and answers. No DOM, no network, no storage: this module (and the pure helpers it
// imports) runs under plain `node`.
//
// Frames whose `seq` was already seen never get here: the managed socket drops them
// (client/socket.js). Messages are de-duplicated by id (a second copy is merged into the
// first) and an optimistic send (`local:<clientId>`) is replaced by its server copy.

import { respondedStatus } from '../../lib/review-status.js';
import { reduceUploads } from './uploads.js';

/**
 * The view's state.
 *   items   Map id → {kind: 'msg', id, key, msg} | {kind: 'sys', id, key, row}
 *   order   ids sorted by key (creation time, then seq, then id); keys never change
 *   drafts  Map message id → {target, shown}: a streamed reply being typed out
 *   steps   Map stream id → Map(index → {index, text, toolHint})
 *   pending sends not yet confirmed by the server: [{clientId, text, createdAt, attachmentIds?, attachments?}]
 *   uploads the files picked in the composer, not yet sent (views/chat/uploads.js)
 *   edge    what the top of the history shows: '' | 'loading' | 'loading-older' | 'start'
 *   empty   the "No messages yet" note is shown
 *   commands the slash commands for the palette (null until known); relayed: a live list came
 */
export function initialState({ channelId = null, agent = null } = {}) {
  return {
    channelId,
    agent,
    commands: null,
    relayed: false,
    items: new Map(),
    order: [],
    drafts: new Map(),
    steps: new Map(),
    pending: [],
    uploads: [],
    cursor: null,
    hasMore: true,
    edge: '',
    empty: false,
  };
}

/** Sort key: creation time, then seq, then id (ISO timestamps compare as strings). */
export const keyOf = (m) => `${m.createdAt ?? ''}|${String(m.seq ?? 0).padStart(12, '0')}|${m.id}`;

/** The id of the optimistic copy of a send. */
export const localId = (clientId) => `local:${clientId}`;

/** The optimistic message shown for a pending send, in state 'sending' | 'queued' | 'failed'. */
export function localMessage(channelId, p, local, error = null) {
  const m = { id: localId(p.clientId), clientId: p.clientId, channelId, senderType: 'user', text: p.text, createdAt: p.createdAt, _local: local, _error: error };
  if (p.attachments?.length) m.attachments = p.attachments;
  return m;
}

/** A tool call's preview object as " (key: value, …)", at most 60 characters inside; or null. */
export function previewOf(p) {
  if (!p || typeof p !== 'object') return null;
  const s = Object.entries(p).slice(0, 2).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
  return s ? ` (${s.length > 60 ? `${s.slice(0, 59)}…` : s})` : null;
}

/** What a frame asks of the view besides the state change: a message to (re)fetch, or a full reload. */
export function followUp(frame) {
  switch (frame?.event_type) {
    case 'message_created':
    case 'message_completed':
    case 'approval_pending':
      return !frame.message && frame.message_id ? { fetch: frame.message_id } : null;
    case 'stream_end':
      // The stored final text is authoritative (deltas may have been missed).
      return { fetch: frame.message_id };
    case 'sync_reset':
      return { reload: true };
    default:
      return null;
  }
}

/** True while some streamed reply still has text to type out. */
export const typing = (state) => [...state.drafts.values()].some((d) => d.shown < d.target.length);

/** The status steps of a stream, by index. */
export const stepsOf = (state, streamId) => [...(state.steps.get(streamId)?.values() ?? [])].sort((a, b) => a.index - b.index);

// ---------------------------------------------------------------- item helpers

function insertItem(s, item) {
  const items = new Map(s.items).set(item.id, item);
  const order = s.order.slice();
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s.items.get(order[mid]).key < item.key) lo = mid + 1;
    else hi = mid;
  }
  order.splice(lo, 0, item.id);
  return { ...s, items, order };
}

const replaceItem = (s, item) => ({ ...s, items: new Map(s.items).set(item.id, item) });

function removeItem(s, id) {
  if (!s.items.has(id)) return s;
  const items = new Map(s.items);
  items.delete(id);
  let drafts = s.drafts;
  if (drafts.has(id)) {
    drafts = new Map(drafts);
    drafts.delete(id);
  }
  return { ...s, items, order: s.order.filter((x) => x !== id), drafts };
}

function setDraft(s, id, draft) {
  return { ...s, drafts: new Map(s.drafts).set(id, draft) };
}

/** A server copy of a send arrived: its optimistic twin and pending entry go. */
function confirmSend(s, clientId) {
  s = removeItem(s, localId(clientId));
  if (s.pending.some((p) => p.clientId === clientId)) s = { ...s, pending: s.pending.filter((p) => p.clientId !== clientId) };
  return s;
}

/** Inserts or merges a message; a server copy replaces its optimistic local twin. */
export function upsertMessage(s, m) {
  if (!m?.id) return s;
  if (m.clientId && !m._local && m.senderType === 'user') s = confirmSend(s, m.clientId);
  const draft = s.drafts.get(m.id);
  if (draft && m.text != null && m.text !== draft.target) s = setDraft(s, m.id, { ...draft, target: m.text });
  const existing = s.items.get(m.id);
  if (existing) return replaceItem(s, { ...existing, msg: { ...existing.msg, ...m } });
  return { ...insertItem(s, { kind: 'msg', id: m.id, key: keyOf(m), msg: m }), empty: false };
}

/** Changes a known message (`fn(msg) → msg`); unknown ids change nothing. */
function patchMessage(s, id, fn) {
  const item = s.items.get(id);
  if (item?.kind !== 'msg') return s;
  const next = fn(item.msg);
  return next === item.msg ? s : upsertMessage(s, next);
}

function patchReview(s, id, fn) {
  const item = s.items.get(id);
  if (!item?.msg?.review) return s;
  return upsertMessage(s, { ...item.msg, review: fn({ ...item.msg.review }) });
}

/** A system row (tool call, run, escalation): created at the end, later updated in place. */
function sysRow(s, id, row, now) {
  const existing = s.items.get(id);
  if (existing) return replaceItem(s, { ...existing, row });
  return insertItem(s, { kind: 'sys', id, key: `${now}|${'9'.repeat(12)}|${id}`, row });
}

function setSteps(s, streamId, list) {
  const steps = new Map(s.steps);
  const own = new Map(steps.get(streamId) ?? []);
  for (const st of list) own.set(st.index, { index: st.index, text: st.text, toolHint: st.toolHint });
  steps.set(streamId, own);
  return { ...s, steps };
}

/** The placeholder of an agent reply that is being streamed. */
function streamingPlaceholder(s, f, now, withSeq) {
  const m = { id: f.message_id, channelId: s.channelId, senderType: 'agent', senderId: s.channelId, text: '', streamId: f.stream_id, streamState: 'streaming', createdAt: now };
  if (withSeq) m.seq = f.seq;
  m.deliveryStatus = 'sent';
  return m;
}

function setCommands(s, commands) {
  return { ...s, commands, agent: s.agent ? { ...s.agent, commands } : s.agent };
}

// ---------------------------------------------------------------- live frames

function textDelta(s, f, now) {
  if (!s.items.has(f.message_id)) s = upsertMessage(s, streamingPlaceholder(s, f, now, false));
  const item = s.items.get(f.message_id);
  const text = item.msg.text ?? '';
  const base = s.drafts.get(f.message_id) ?? { target: text, shown: text.length };
  const target = base.target + (f.content ?? '');
  s = setDraft(s, f.message_id, { target, shown: base.shown });
  return replaceItem(s, { ...item, msg: { ...item.msg, text: target } });
}

const SYS_ROWS = {
  tool_call_started: (f) => [`tool:${f.tool_call_id}`, { spinner: true, text: `Running ${f.tool_name}`, preview: previewOf(f.preview), tone: '' }],
  tool_call_completed: (f) => {
    const ok = f.success !== false;
    return [`tool:${f.tool_call_id}`, { icon: ok ? 'check' : 'x', text: `${f.tool_name} ${ok ? 'done' : 'failed'}`, preview: previewOf(f.preview), tone: ok ? 'ok' : 'fail' }];
  },
  conversation_started: (f) => [`conv:${f.seq}`, { icon: 'play', text: 'Run started', tone: '' }],
  conversation_completed: (f) => [`conv:${f.seq}`, { icon: 'check', text: 'Run completed', tone: 'ok' }],
  conversation_failed: (f) => [`conv:${f.seq}`, { icon: 'alert', text: `Run failed${f.error ? `: ${f.error}` : ''}`, tone: 'fail' }],
  escalation_created: (f) => [`esc:${f.seq}`, { icon: 'flag', text: `Escalated to ${f.target}${f.reason ? ` — ${f.reason}` : ''}`, tone: '' }],
};

function reduceFrame(s, f, now) {
  switch (f.event_type) {
    case 'message_created':
    case 'message_completed':
    case 'approval_pending':
      return f.message ? upsertMessage(s, f.message) : s;
    case 'typing_started':
      return s.items.has(f.message_id) ? s : upsertMessage(s, streamingPlaceholder(s, f, now, true));
    case 'text_delta':
      return textDelta(s, f, now);
    case 'stream_end':
      return patchMessage(s, f.message_id, (m) => ({ ...m, streamState: f.state }));
    case 'status_step':
      return setSteps(s, f.stream_id, [{ index: f.index, text: f.text, toolHint: f.tool_hint }]);
    case 'review_responded': {
      // Answered (`completed`) or sent back (`changes_requested`: feedback, no answer).
      const status = respondedStatus(f);
      const changes = status === 'changes_requested';
      return patchReview(s, f.message_id, (r) => ({
        ...r,
        status,
        response: changes ? null : f.response ?? r.response,
        feedback: f.feedback ?? r.feedback ?? null,
        ...(f.modifiedFileIds ? { modifiedFileIds: f.modifiedFileIds } : {}),
        completedAt: r.completedAt ?? now,
      }));
    }
    case 'approval_expired':
      return patchReview(s, f.message_id, (r) => (r.status === 'pending' ? { ...r, status: 'expired' } : r));
    case 'message_deleted':
      return removeItem(s, f.message_id);
    case 'message_delivery':
      return patchMessage(s, f.message_id, (m) => ({ ...m, deliveryStatus: f.delivery_status, _retrying: m._retrying && f.delivery_status === 'webhook_failed' }));
    case 'agent_status':
      return s.agent ? { ...s, agent: { ...s.agent, status: f.status, statusMessage: f.status_message ?? null, lastActiveAt: now } } : s;
    case 'agent_commands':
      return Array.isArray(f.commands) ? { ...setCommands(s, f.commands), relayed: true } : s;
    case 'sync_reset':
      return reset(s);
    default: {
      const row = SYS_ROWS[f.event_type];
      return row ? sysRow(s, ...row(f), now) : s;
    }
  }
}

// ---------------------------------------------------------------- the view's own actions

/** Everything loaded goes (a sync_reset, or the view reloads); steps and pending sends stay. */
function reset(s) {
  return { ...s, items: new Map(), order: [], drafts: new Map(), cursor: null, hasMore: true, empty: false };
}

/** A page of history (`initial`: the newest page, whose status steps are taken too). */
function historyPage(s, { messages = [], nextCursor = null, initial = false }) {
  for (const m of messages) {
    if (initial && m.statusEvents?.length) s = setSteps(s, m.streamId, m.statusEvents);
    s = upsertMessage(s, m);
  }
  const hasMore = !!nextCursor;
  const edge = hasMore ? '' : (initial ? messages.length : s.items.size) ? 'start' : '';
  return { ...s, cursor: nextCursor, hasMore, edge, empty: initial && !messages.length ? true : s.empty };
}

/** One typewriter step: every draft shows more of its text; caught-up, ended drafts go. */
function tick(s) {
  if (!s.drafts.size) return s;
  const drafts = new Map();
  for (const [id, d] of s.drafts) {
    let shown = d.shown;
    if (shown < d.target.length) {
      shown = Math.min(d.target.length, shown + Math.max(2, Math.ceil((d.target.length - shown) / 14)));
      const code = d.target.charCodeAt(shown - 1);
      if (code >= 0xd800 && code <= 0xdbff) shown++; // never split a surrogate pair
    }
    const item = s.items.get(id);
    if (item && shown >= d.target.length && item.msg.streamState !== 'streaming') continue;
    drafts.set(id, shown === d.shown ? d : { ...d, shown });
  }
  const same = drafts.size === s.drafts.size && [...drafts].every(([id, d]) => s.drafts.get(id) === d);
  return same ? s : { ...s, drafts };
}

function sendState(s, { pending: p, state, error = null }) {
  if (state === 'sending' && !s.items.has(localId(p.clientId))) return s;
  return upsertMessage(s, localMessage(s.channelId, p, state, error));
}

function retrySettled(s, { id, settled }) {
  return patchMessage(s, id, (m) => {
    const patch = { ...m, _retrying: false };
    // The message_delivery frame normally says it first; this covers a frame still in flight.
    if (settled?.state === 'delivered' && patch.deliveryStatus === 'webhook_failed') patch.deliveryStatus = 'webhook_delivered';
    return patch;
  });
}

function reduceAction(s, a) {
  switch (a.type) {
    case 'message':
      return upsertMessage(s, a.message);
    case 'agent_loaded':
      return s.relayed ? { ...s, agent: a.agent } : setCommands({ ...s, agent: a.agent }, a.agent?.commands);
    case 'agent_store':
      return a.agent && s.agent ? { ...s, agent: { ...s.agent, ...a.agent, commands: s.agent.commands } } : s;
    case 'commands_fetched':
      return s.relayed ? s : setCommands(s, a.commands);
    case 'history_loading':
      return { ...s, edge: a.older ? 'loading-older' : 'loading' };
    case 'history':
      return historyPage(s, a);
    case 'history_failed':
      return { ...s, edge: s.hasMore ? '' : s.items.size ? 'start' : '' };
    case 'pending_restored':
      return a.pending.reduce((acc, p) => upsertMessage(acc, localMessage(s.channelId, p, 'queued')), { ...s, pending: a.pending.slice() });
    case 'send': {
      // The files that go with it leave the composer in the same step.
      const uploads = reduceUploads(s.uploads, { type: 'uploads_sent', attachmentIds: a.pending.attachmentIds });
      return upsertMessage({ ...s, pending: [...s.pending, a.pending], uploads }, localMessage(s.channelId, a.pending, 'sending'));
    }
    case 'send_state':
      return sendState(s, a);
    case 'discard':
      return removeItem({ ...s, pending: s.pending.filter((p) => p.clientId !== a.clientId) }, localId(a.clientId));
    case 'retry_started':
      return patchMessage(s, a.id, (m) => (m._retrying ? m : { ...m, _retrying: true }));
    case 'retry_settled':
      return retrySettled(s, a);
    case 'reset':
      return reset(s);
    case 'tick':
      return tick(s);
    default: {
      if (!a.type?.startsWith('upload')) return s;
      const uploads = reduceUploads(s.uploads, a);
      return uploads === s.uploads ? s : { ...s, uploads };
    }
  }
}

/** The next state after `action` (a live frame or one of the view's actions). */
export function reduce(state, action, env = {}) {
  if (!action || typeof action !== 'object') return state;
  const now = env.now ?? new Date().toISOString();
  return action.event_type ? reduceFrame(state, action, now) : reduceAction(state, action);
}
