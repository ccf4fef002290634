// The chat view's reducer (assets/views/chat/state.js): every live frame of /ws/threads/{id}
// the view handles, history pages, optimistic sends and the typewriter, without a browser.
//
//   node --test crates/assent-server/tests/js/

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { followUp, initialState, keyOf, localMessage, previewOf, reduce, stepsOf, typing } from '../../assets/views/chat/state.js';

const CH = 'chan-1';
const NOW = '2030-01-01T12:00:00.000Z';
const env = { now: NOW };
const start = (agent = { id: CH, name: 'Ops', status: 'online', commands: [] }) => initialState({ channelId: CH, agent });
/** Applies actions in turn. */
const run = (state, ...actions) => actions.reduce((s, a) => reduce(s, a, env), state);
const ids = (s) => s.order;
const msgOf = (s, id) => s.items.get(id)?.msg;

let n = 0;
function msg(fields = {}) {
  n++;
  return { id: `m${n}`, channelId: CH, senderType: 'agent', text: `text ${n}`, createdAt: `2030-01-01T10:00:${String(n % 60).padStart(2, '0')}.000Z`, seq: n, deliveryStatus: 'sent', ...fields };
}
const created = (m) => ({ event_type: 'message_created', thread_id: CH, seq: m.seq, message_id: m.id, message: m });
const history = (messages, { nextCursor = null, initial = true } = {}) => ({ type: 'history', messages, nextCursor, initial });

/** A deep, comparable copy of a state (Maps as entry arrays). */
function snapshot(s) {
  return JSON.parse(JSON.stringify(s, (k, v) => (v instanceof Map ? [...v] : v)));
}

// ---------------------------------------------------------------- ordering and de-duplication

test('messages are ordered by created time, then seq, then id, whatever order they arrive in', () => {
  const a = msg({ id: 'a', createdAt: '2030-01-01T10:00:01.000Z', seq: 5 });
  const b = msg({ id: 'b', createdAt: '2030-01-01T10:00:02.000Z', seq: 1 });
  const c1 = msg({ id: 'c1', createdAt: '2030-01-01T10:00:02.000Z', seq: 2 });
  const c2 = msg({ id: 'c2', createdAt: '2030-01-01T10:00:02.000Z', seq: 2 });
  const d = msg({ id: 'd', createdAt: '2030-01-01T10:00:03.000Z', seq: 10 });
  const s = run(start(), created(d), created(c2), created(a), created(c1), created(b));
  assert.deepEqual(ids(s), ['a', 'b', 'c1', 'c2', 'd']);
  // seq compares as a number, not as text: 9 before 10.
  const x = msg({ id: 'x', createdAt: 'T', seq: 10 });
  const y = msg({ id: 'y', createdAt: 'T', seq: 9 });
  assert.deepEqual(ids(run(start(), created(x), created(y))), ['y', 'x']);
  assert.ok(keyOf(y) < keyOf(x));
});

test('a message seen twice is one entry, the later copy merged into the first', () => {
  const m = msg({ id: 'dup', text: 'first' });
  const s = run(start(), created(m), created({ ...m, text: 'edited', status: 'warning' }));
  assert.deepEqual(ids(s), ['dup']);
  assert.equal(s.items.size, 1);
  assert.equal(msgOf(s, 'dup').text, 'edited');
  assert.equal(msgOf(s, 'dup').status, 'warning');
  assert.equal(msgOf(s, 'dup').deliveryStatus, 'sent', 'fields the copy lacks are kept');
});

test('an entry keeps its place when a later copy changes its time', () => {
  const a = msg({ id: 'a', createdAt: '2030-01-01T10:00:01.000Z' });
  const b = msg({ id: 'b', createdAt: '2030-01-01T10:00:02.000Z' });
  const s = run(start(), created(a), created(b), created({ ...a, createdAt: '2030-01-01T11:00:00.000Z' }));
  assert.deepEqual(ids(s), ['a', 'b']);
});

test('reduce never mutates the state it is given, and returns it unchanged for no-ops', () => {
  const s0 = run(start(), created(msg({ id: 'k' })), { event_type: 'text_delta', message_id: 'k', stream_id: 'st', content: '!' });
  const before = snapshot(s0);
  const frames = [
    created(msg()),
    { event_type: 'text_delta', message_id: 'k', stream_id: 'st', content: 'more' },
    { event_type: 'status_step', stream_id: 'st', index: 0, text: 'x' },
    { event_type: 'message_deleted', message_id: 'k' },
    { event_type: 'tool_call_started', tool_call_id: 't', tool_name: 'grep' },
    { type: 'tick' },
    { type: 'reset' },
  ];
  for (const f of frames) reduce(s0, f, env);
  assert.deepEqual(snapshot(s0), before);
  for (const noop of [{ event_type: 'pong' }, { event_type: 'ready', last_seq: 3 }, { event_type: 'progress', content: 'x' }, { type: 'nope' }, null, { event_type: 'message_deleted', message_id: 'unknown' }]) {
    assert.equal(reduce(s0, noop, env), s0, JSON.stringify(noop));
  }
});

// ---------------------------------------------------------------- history

test('history pages merge into the live entries, sorted and de-duplicated by id', () => {
  const old1 = msg({ id: 'o1', createdAt: '2030-01-01T09:00:00.000Z' });
  const old2 = msg({ id: 'o2', createdAt: '2030-01-01T09:00:01.000Z' });
  const recent = msg({ id: 'r1', createdAt: '2030-01-01T10:00:00.000Z', text: 'from history' });
  const live = msg({ id: 'l1', createdAt: '2030-01-01T10:30:00.000Z' });
  let s = run(start(), created(live), history([recent], { nextCursor: 'c1' }));
  assert.deepEqual(ids(s), ['r1', 'l1']);
  assert.equal(s.cursor, 'c1');
  assert.equal(s.hasMore, true);
  assert.equal(s.edge, '');
  // The older page arrives newest first, with a copy of an entry already shown.
  s = run(s, history([old2, { ...recent, text: 'again' }, old1], { nextCursor: null, initial: false }));
  assert.deepEqual(ids(s), ['o1', 'o2', 'r1', 'l1']);
  assert.equal(msgOf(s, 'r1').text, 'again');
  assert.equal(s.hasMore, false);
  assert.equal(s.cursor, null);
  assert.equal(s.edge, 'start', 'the beginning of the conversation is reached');
});

test('an empty first page shows the empty note, which the first message removes', () => {
  let s = run(start(), { type: 'history_loading' });
  assert.equal(s.edge, 'loading');
  s = run(s, history([]));
  assert.equal(s.empty, true);
  assert.equal(s.edge, '', 'no "beginning of the conversation" above nothing');
  s = run(s, { event_type: 'tool_call_started', tool_call_id: 't1', tool_name: 'search' });
  assert.equal(s.empty, true, 'a system row is not a message');
  s = run(s, created(msg()));
  assert.equal(s.empty, false);
});

test('loading older pages: the edge shows the spinner, then the start once nothing is left', () => {
  let s = run(start(), history([msg()], { nextCursor: 'c' }), { type: 'history_loading', older: true });
  assert.equal(s.edge, 'loading-older');
  assert.equal(run(s, { type: 'history_failed' }).edge, '', 'more is left after a failed load');
  s = run(s, history([], { nextCursor: null, initial: false }));
  assert.equal(s.edge, 'start');
  assert.equal(s.empty, false, 'an empty older page is not an empty chat');
  // With nothing shown at all there is no "beginning" to point at.
  assert.equal(run(start(), history([], { initial: false })).edge, '');
  assert.equal(run(start(), history([], { initial: false }), { type: 'history_failed' }).edge, '');
  assert.equal(run(s, { type: 'history_failed' }).edge, 'start');
});

test('the first page brings the status steps of its streamed messages', () => {
  const m = msg({ id: 's1', streamId: 'turn-1', statusEvents: [{ index: 1, text: 'second', toolHint: true }, { index: 0, text: 'first', toolHint: false }] });
  const s = run(start(), history([m]));
  assert.deepEqual(stepsOf(s, 'turn-1'), [{ index: 0, text: 'first', toolHint: false }, { index: 1, text: 'second', toolHint: true }]);
  // Older pages do not (as the view always did).
  const o = msg({ id: 's2', streamId: 'turn-0', statusEvents: [{ index: 0, text: 'older', toolHint: false }] });
  assert.deepEqual(stepsOf(run(s, history([o], { initial: false })), 'turn-0'), []);
});

test('resuming after a gap: replayed frames of messages already loaded add nothing twice', () => {
  // The REST page was read, then the socket resumed with since=lastSeq and the server replayed
  // frames around it (the socket drops seqs it saw; the page may still hold their messages).
  const m1 = msg({ id: 'g1', seq: 40, createdAt: '2030-01-01T10:00:01.000Z' });
  const m2 = msg({ id: 'g2', seq: 41, createdAt: '2030-01-01T10:00:02.000Z' });
  const missed = msg({ id: 'g3', seq: 42, createdAt: '2030-01-01T10:00:03.000Z' });
  let s = run(start(), history([m2, m1]));
  s = run(s, created(m2), created(missed), { event_type: 'message_delivery', seq: 43, message_id: 'g1', delivery_status: 'agent_received' }, created(m1));
  assert.deepEqual(ids(s), ['g1', 'g2', 'g3']);
  assert.equal(msgOf(s, 'g1').deliveryStatus, 'sent', 'the replayed full record wins: it is the later copy');
  // After a sync_reset everything is dropped and read again.
  s = run(s, { event_type: 'sync_reset', oldest_seq: 101, head_seq: 480 });
  assert.deepEqual(ids(s), []);
  assert.equal(s.cursor, null);
  assert.equal(s.hasMore, true);
  assert.deepEqual(followUp({ event_type: 'sync_reset' }), { reload: true });
  s = run(s, history([m1, m2, missed]));
  assert.deepEqual(ids(s), ['g1', 'g2', 'g3']);
});

// ---------------------------------------------------------------- optimistic sends

const pend = (clientId, text = 'hello', createdAt = '2030-01-01T10:59:00.000Z') => ({ clientId, text, createdAt });

test('a send shows at once as a local copy, which its server copy replaces (matched by clientId)', () => {
  const base = run(start(), history([msg({ id: 'h1', createdAt: '2030-01-01T10:00:00.000Z' })]));
  let s = run(base, { type: 'send', pending: pend('c-1', 'ship it') });
  assert.deepEqual(ids(s), ['h1', 'local:c-1']);
  assert.deepEqual(msgOf(s, 'local:c-1'), localMessage(CH, pend('c-1', 'ship it'), 'sending'));
  assert.deepEqual(s.pending, [pend('c-1', 'ship it')]);
  const server = { id: 'srv-1', clientId: 'c-1', channelId: CH, senderType: 'user', text: 'ship it', createdAt: '2030-01-01T10:59:01.000Z', seq: 90, deliveryStatus: 'sent' };
  // The REST answer and the live frame both carry it: one entry either way, in either order.
  for (const seqOfActions of [[{ type: 'message', message: server }, created(server)], [created(server), { type: 'message', message: server }]]) {
    const t = run(s, ...seqOfActions);
    assert.deepEqual(ids(t), ['h1', 'srv-1']);
    assert.deepEqual(t.pending, []);
  }
});

test('only a user message from the server confirms a send', () => {
  const s = run(start(), { type: 'send', pending: pend('c-2') });
  const agentEcho = msg({ id: 'a-1', clientId: 'c-2', senderType: 'agent' });
  assert.ok(run(s, created(agentEcho)).items.has('local:c-2'), "an agent's message with the same clientId");
  const localCopy = { ...localMessage(CH, pend('c-2'), 'queued'), id: 'other' };
  assert.ok(run(s, { type: 'message', message: localCopy }).items.has('local:c-2'), 'a local copy');
  assert.ok(run(s, created(msg({ id: 'u-1', senderType: 'user', clientId: 'c-other' }))).items.has('local:c-2'), 'another send');
});

test('send states: sending (only while shown), queued, failed with the reason; discard', () => {
  let s = run(start(), { type: 'send', pending: pend('c-3') });
  s = run(s, { type: 'send_state', pending: pend('c-3'), state: 'queued' });
  assert.equal(msgOf(s, 'local:c-3')._local, 'queued');
  s = run(s, { type: 'send_state', pending: pend('c-3'), state: 'failed', error: 'Too long' });
  assert.equal(msgOf(s, 'local:c-3')._local, 'failed');
  assert.equal(msgOf(s, 'local:c-3')._error, 'Too long');
  s = run(s, { type: 'send_state', pending: pend('c-3'), state: 'sending' });
  assert.equal(msgOf(s, 'local:c-3')._local, 'sending');
  assert.equal(msgOf(s, 'local:c-3')._error, null);
  const gone = run(s, { type: 'discard', clientId: 'c-3' });
  assert.deepEqual(ids(gone), []);
  assert.deepEqual(gone.pending, []);
  assert.equal(run(gone, { type: 'send_state', pending: pend('c-3'), state: 'sending' }), gone, 'a send not shown is not shown as sending');
});

test('sends still pending from an earlier visit come back queued, in time order', () => {
  const h1 = msg({ id: 'h1', createdAt: '2030-01-01T10:00:00.000Z' });
  const s = run(start(), history([h1]), { type: 'pending_restored', pending: [pend('late', 'b', '2030-01-01T11:00:00.000Z'), pend('early', 'a', '2030-01-01T09:00:00.000Z')] });
  assert.deepEqual(ids(s), ['local:early', 'h1', 'local:late']);
  assert.equal(msgOf(s, 'local:late')._local, 'queued');
  assert.deepEqual(s.pending.map((p) => p.clientId), ['late', 'early']);
});

// ---------------------------------------------------------------- streaming

const delta = (content, id = 'st-m', stream = 'turn-9') => ({ event_type: 'text_delta', thread_id: CH, stream_id: stream, message_id: id, content });

test('typing_started adds a streaming placeholder, once', () => {
  const f = { event_type: 'typing_started', seq: 12, message_id: 'st-m', stream_id: 'turn-9' };
  const s = run(start(), f);
  assert.deepEqual(msgOf(s, 'st-m'), { id: 'st-m', channelId: CH, senderType: 'agent', senderId: CH, text: '', streamId: 'turn-9', streamState: 'streaming', createdAt: NOW, seq: 12, deliveryStatus: 'sent' });
  assert.equal(reduce(s, { ...f, seq: 13 }, env), s);
  const known = run(start(), created(msg({ id: 'st-m', text: 'done already' })));
  assert.equal(reduce(known, f, env), known, 'a message already shown is left alone');
});

test('text deltas assemble the reply; the typewriter reveals it and stops at stream end', () => {
  let s = run(start(), { event_type: 'typing_started', seq: 12, message_id: 'st-m', stream_id: 'turn-9' });
  s = run(s, delta('Hello, '), delta('world'), delta(undefined), delta('!'));
  assert.equal(msgOf(s, 'st-m').text, 'Hello, world!');
  assert.deepEqual(s.drafts.get('st-m'), { target: 'Hello, world!', shown: 0 });
  assert.equal(typing(s), true);
  // Each tick shows at least 2 more characters, more when much is left.
  s = run(s, { type: 'tick' });
  assert.equal(s.drafts.get('st-m').shown, 2);
  const shownAt = [];
  for (let i = 0; i < 20 && typing(s); i++) {
    s = run(s, { type: 'tick' });
    shownAt.push(s.drafts.get('st-m').shown);
  }
  assert.deepEqual(shownAt, [4, 6, 8, 10, 12, 13]);
  // Caught up but still streaming: the draft stays, ticks change nothing.
  assert.equal(typing(s), false);
  assert.equal(reduce(s, { type: 'tick' }, env), s);
  s = run(s, { event_type: 'stream_end', seq: 15, message_id: 'st-m', stream_id: 'turn-9', state: 'complete' });
  assert.equal(msgOf(s, 'st-m').streamState, 'complete');
  assert.deepEqual(followUp({ event_type: 'stream_end', message_id: 'st-m' }), { fetch: 'st-m' });
  s = run(s, { type: 'tick' });
  assert.equal(s.drafts.has('st-m'), false, 'the draft is done once caught up and ended');
  assert.equal(msgOf(s, 'st-m').text, 'Hello, world!');
});

test('a long delta is revealed in about 14 steps', () => {
  let s = run(start(), delta('x'.repeat(1400)));
  s = run(s, { type: 'tick' });
  assert.equal(s.drafts.get('st-m').shown, 100);
  s = run(s, { type: 'tick' });
  assert.equal(s.drafts.get('st-m').shown, 100 + Math.ceil(1300 / 14));
});

test('a delta for an unknown message starts one; a delta to a message with text continues it', () => {
  const s = run(start(), delta('Hi'));
  assert.equal(msgOf(s, 'st-m').streamState, 'streaming');
  assert.equal(msgOf(s, 'st-m').createdAt, NOW);
  assert.equal('seq' in msgOf(s, 'st-m'), false, 'deltas carry no seq');
  const t = run(start(), created(msg({ id: 'st-m', text: 'Earlier ', streamId: 'turn-9', streamState: 'streaming' })), delta('and now'));
  assert.deepEqual(t.drafts.get('st-m'), { target: 'Earlier and now', shown: 8 }, 'the text already shown is not typed again');
});

test('the typewriter never splits a surrogate pair', () => {
  let s = run(start(), delta('a😀bcdef'));
  s = run(s, { type: 'tick' }); // 2 code units would end inside the emoji
  assert.equal(s.drafts.get('st-m').shown, 3);
  assert.equal(s.drafts.get('st-m').target.slice(0, 3), 'a😀');
});

test('the stored final text replaces the assembled one (a delta may have been missed)', () => {
  let s = run(start(), delta('The outage '), delta('fail over.'));
  const final = { id: 'st-m', channelId: CH, senderType: 'agent', text: 'The outage started when the cache failed over.', streamId: 'turn-9', streamState: 'complete', createdAt: NOW };
  s = run(s, { type: 'message', message: final });
  assert.equal(s.drafts.get('st-m').target, final.text);
  assert.equal(msgOf(s, 'st-m').text, final.text);
  assert.equal(msgOf(s, 'st-m').streamState, 'complete');
  // The same through a message_completed frame with its record.
  const t = run(start(), delta('partial'), { event_type: 'message_completed', seq: 16, message_id: 'st-m', message: { ...final, text: 'complete text' } });
  assert.equal(t.drafts.get('st-m').target, 'complete text');
  while (typing(s)) s = run(s, { type: 'tick' });
  s = run(s, { type: 'tick' });
  assert.equal(s.drafts.size, 0);
});

test('stream_end of an unknown message changes nothing but still asks for the stored message', () => {
  const s = start();
  const f = { event_type: 'stream_end', message_id: 'nope', state: 'aborted' };
  assert.equal(reduce(s, f, env), s);
  assert.deepEqual(followUp(f), { fetch: 'nope' });
});

test('status steps are kept per stream, by index, the newest text winning', () => {
  const s = run(start(),
    { event_type: 'status_step', seq: 3, stream_id: 'turn-1', index: 1, text: 'Reading logs', tool_hint: true },
    { event_type: 'status_step', seq: 2, stream_id: 'turn-1', index: 0, text: 'Thinking', tool_hint: false },
    { event_type: 'status_step', seq: 4, stream_id: 'turn-2', index: 0, text: 'Other stream' },
    { event_type: 'status_step', seq: 5, stream_id: 'turn-1', index: 1, text: 'Reading the logs', tool_hint: true },
  );
  assert.deepEqual(stepsOf(s, 'turn-1'), [{ index: 0, text: 'Thinking', toolHint: false }, { index: 1, text: 'Reading the logs', toolHint: true }]);
  assert.deepEqual(stepsOf(s, 'turn-2').map((x) => x.text), ['Other stream']);
  assert.deepEqual(stepsOf(s, 'turn-3'), []);
});

// ---------------------------------------------------------------- message frames

test('message frames with a record insert it; without one they ask for it', () => {
  for (const event_type of ['message_created', 'message_completed', 'approval_pending']) {
    const m = msg();
    const s = run(start(), { event_type, seq: m.seq, message_id: m.id, message: m });
    assert.deepEqual(ids(s), [m.id], event_type);
    assert.equal(followUp({ event_type, message_id: m.id, message: m }), null);
    const bare = { event_type, seq: 99, message_id: 'later' };
    assert.equal(reduce(start(), bare, env).items.size, 0);
    assert.deepEqual(followUp(bare), { fetch: 'later' });
  }
  assert.equal(followUp({ event_type: 'message_delivery', message_id: 'x' }), null);
});

test('message_deleted removes the entry and its draft', () => {
  const a = msg({ id: 'a' });
  let s = run(start(), created(a), created(msg({ id: 'b' })), delta('typing', 'a'));
  s = run(s, { event_type: 'message_deleted', seq: 30, message_id: 'a' });
  assert.deepEqual(ids(s), ['b']);
  assert.equal(s.items.has('a'), false);
  assert.equal(s.drafts.has('a'), false);
});

const review = (fields = {}) => msg({ id: 'rv', review: { type: 'approval', status: 'pending', response: null, feedback: null, completedAt: null, ...fields } });

test('review_responded completes the review with the answer', () => {
  let s = run(start(), created(review()), { event_type: 'review_responded', seq: 20, message_id: 'rv', response: { selectedOption: 'approve' }, feedback: 'ok' });
  assert.deepEqual(msgOf(s, 'rv').review, { type: 'approval', status: 'completed', response: { selectedOption: 'approve' }, feedback: 'ok', completedAt: NOW });
  // A second frame keeps the first answer time; missing fields keep what is known.
  s = reduce(s, { event_type: 'review_responded', message_id: 'rv' }, { now: '2031-01-01T00:00:00.000Z' });
  assert.equal(msgOf(s, 'rv').review.completedAt, NOW);
  assert.deepEqual(msgOf(s, 'rv').review.response, { selectedOption: 'approve' });
  const plain = run(start(), created(msg({ id: 'p' })));
  assert.equal(reduce(plain, { event_type: 'review_responded', message_id: 'p', response: {} }, env), plain, 'no review, nothing to answer');
});

test('review_responded with status changes_requested sends the review back: feedback, no answer', () => {
  let s = run(start(), created(review()), {
    event_type: 'review_responded', seq: 22, message_id: 'rv', review_type: 'approval', status: 'changes_requested', response: null, feedback: 'Shorter, please',
  });
  assert.deepEqual(msgOf(s, 'rv').review, { type: 'approval', status: 'changes_requested', response: null, feedback: 'Shorter, please', completedAt: NOW });
  // Settled: a late expiry changes nothing.
  assert.equal(msgOf(reduce(s, { event_type: 'approval_expired', message_id: 'rv' }, env), 'rv').review.status, 'changes_requested');
  // Every review kind; an explicit `completed`, or no status at all (older servers), is an answer.
  for (const type of ['selection', 'form', 'text-input', 'freeform']) {
    s = run(start(), created(review({ type })), { event_type: 'review_responded', message_id: 'rv', status: 'changes_requested', feedback: 'x' });
    assert.equal(msgOf(s, 'rv').review.status, 'changes_requested', type);
  }
  s = run(start(), created(review()), { event_type: 'review_responded', message_id: 'rv', status: 'completed', response: { selectedOption: 'reject' } });
  assert.equal(msgOf(s, 'rv').review.status, 'completed');
  s = run(start(), created(review()), { event_type: 'review_responded', message_id: 'rv', status: 'bogus', response: { selectedOption: 'reject' } });
  assert.equal(msgOf(s, 'rv').review.status, 'completed', 'an unknown status is taken as an answer');
  assert.deepEqual(msgOf(s, 'rv').review.response, { selectedOption: 'reject' });
});

test('approval_expired expires a pending review only', () => {
  const s = run(start(), created(review()), { event_type: 'approval_expired', seq: 21, message_id: 'rv', review_type: 'approval' });
  assert.equal(msgOf(s, 'rv').review.status, 'expired');
  const done = run(start(), created(review({ status: 'completed' })), { event_type: 'approval_expired', message_id: 'rv' });
  assert.equal(msgOf(done, 'rv').review.status, 'completed');
});

test('message_delivery sets the tick; a retry spinner stays only while it still failed', () => {
  const m = msg({ id: 'd1', senderType: 'user' });
  let s = run(start(), created(m), { event_type: 'message_delivery', seq: 24, message_id: 'd1', delivery_status: 'webhook_failed' });
  assert.equal(msgOf(s, 'd1').deliveryStatus, 'webhook_failed');
  s = run(s, { type: 'retry_started', id: 'd1' });
  assert.equal(msgOf(s, 'd1')._retrying, true);
  assert.equal(run(s, { event_type: 'message_delivery', message_id: 'd1', delivery_status: 'webhook_failed' }).items.get('d1').msg._retrying, true);
  const ok = run(s, { event_type: 'message_delivery', message_id: 'd1', delivery_status: 'webhook_delivered' });
  assert.equal(msgOf(ok, 'd1').deliveryStatus, 'webhook_delivered');
  assert.equal(msgOf(ok, 'd1')._retrying, false);
  assert.equal(reduce(s, { event_type: 'message_delivery', message_id: 'unknown', delivery_status: 'sent' }, env), s);
});

test('a settled retry clears the spinner and, when delivered, the failure', () => {
  const failed = run(start(), created(msg({ id: 'd2', senderType: 'user', deliveryStatus: 'webhook_failed' })), { type: 'retry_started', id: 'd2' });
  const delivered = run(failed, { type: 'retry_settled', id: 'd2', settled: { state: 'delivered' } });
  assert.equal(msgOf(delivered, 'd2')._retrying, false);
  assert.equal(msgOf(delivered, 'd2').deliveryStatus, 'webhook_delivered');
  const still = run(failed, { type: 'retry_settled', id: 'd2', settled: { state: 'failed', lastError: 'HTTP 500' } });
  assert.equal(msgOf(still, 'd2').deliveryStatus, 'webhook_failed');
  assert.equal(msgOf(still, 'd2')._retrying, false);
});

// ---------------------------------------------------------------- system rows, agent, commands

test('tool calls are one row each, updated in place when they complete', () => {
  const m = msg({ id: 'before', createdAt: '2030-01-01T10:00:00.000Z' });
  let s = run(start(), created(m), { event_type: 'tool_call_started', seq: 22, tool_call_id: 'call_1', tool_name: 'lookup_account', preview: { email: 'user@example.com' } });
  assert.deepEqual(ids(s), ['before', 'tool:call_1']);
  assert.deepEqual(s.items.get('tool:call_1').row, { spinner: true, text: 'Running lookup_account', preview: ' (email: user@example.com)', tone: '' });
  const key = s.items.get('tool:call_1').key;
  s = reduce(s, { event_type: 'tool_call_completed', seq: 23, tool_call_id: 'call_1', tool_name: 'lookup_account', success: false }, { now: '2031-01-01T00:00:00.000Z' });
  assert.deepEqual(ids(s), ['before', 'tool:call_1']);
  assert.equal(s.items.get('tool:call_1').key, key, 'the row keeps its place');
  assert.deepEqual(s.items.get('tool:call_1').row, { icon: 'x', text: 'lookup_account failed', preview: null, tone: 'fail' });
  const ok = run(start(), { event_type: 'tool_call_completed', tool_call_id: 'c2', tool_name: 'grep' });
  assert.deepEqual(ok.items.get('tool:c2').row, { icon: 'check', text: 'grep done', preview: null, tone: 'ok' });
});

test('system rows come after the messages shown when they arrive', () => {
  const late = msg({ id: 'late', createdAt: '2030-01-01T11:59:59.000Z' });
  const s = run(start(), created(late), { event_type: 'conversation_started', seq: 7, workflow_id: 'w' });
  assert.deepEqual(ids(s), ['late', 'conv:7']);
});

test('previews: the first two entries, values as JSON unless strings, cut at 60 characters', () => {
  assert.equal(previewOf({ a: 'x', b: 2, c: 'dropped' }), ' (a: x, b: 2)');
  assert.equal(previewOf({ q: { deep: [1] } }), ' (q: {"deep":[1]})');
  const long = previewOf({ text: 'y'.repeat(100) });
  assert.equal(long, ` (text: ${'y'.repeat(53)}…)`);
  assert.equal([...long.slice(2, -1)].length, 60);
  assert.equal(previewOf({}), null);
  assert.equal(previewOf('text'), null);
  assert.equal(previewOf(null), null);
});

test('runs and escalations are rows of their own', () => {
  const s = run(start(),
    { event_type: 'conversation_started', seq: 1, workflow_id: 'w' },
    { event_type: 'conversation_completed', seq: 2, workflow_id: 'w' },
    { event_type: 'conversation_failed', seq: 3, workflow_id: 'w', error: 'timeout' },
    { event_type: 'conversation_failed', seq: 4, workflow_id: 'w' },
    { event_type: 'escalation_created', seq: 5, target: 'on-call', reason: 'disk full' },
    { event_type: 'escalation_created', seq: 6, target: 'lead' },
  );
  const rows = Object.fromEntries(s.order.map((id) => [id, s.items.get(id).row]));
  assert.deepEqual(rows, {
    'conv:1': { icon: 'play', text: 'Run started', tone: '' },
    'conv:2': { icon: 'check', text: 'Run completed', tone: 'ok' },
    'conv:3': { icon: 'alert', text: 'Run failed: timeout', tone: 'fail' },
    'conv:4': { icon: 'alert', text: 'Run failed', tone: 'fail' },
    'esc:5': { icon: 'flag', text: 'Escalated to on-call — disk full', tone: '' },
    'esc:6': { icon: 'flag', text: 'Escalated to lead', tone: '' },
  });
});

test('agent_status updates the agent shown in the header', () => {
  const s = run(start(), { event_type: 'agent_status', seq: 23, status: 'busy', status_message: 'crunching' });
  assert.equal(s.agent.status, 'busy');
  assert.equal(s.agent.statusMessage, 'crunching');
  assert.equal(s.agent.lastActiveAt, NOW);
  assert.equal(s.agent.name, 'Ops');
  assert.equal(run(s, { event_type: 'agent_status', status: 'online' }).agent.statusMessage, null);
  const none = initialState({ channelId: CH });
  assert.equal(reduce(none, { event_type: 'agent_status', status: 'busy' }, env), none, 'not loaded yet');
});

test('agent records: the loaded one replaces, store updates merge but keep the commands', () => {
  let s = run(start(null), { type: 'agent_loaded', agent: { id: CH, name: 'Ops', status: 'offline', commands: [{ command: '/a' }] } });
  assert.deepEqual(s.commands, [{ command: '/a' }]);
  s = run(s, { type: 'agent_store', agent: { id: CH, name: 'Ops 2', status: 'online', unreadCount: 0, commands: [] } });
  assert.equal(s.agent.name, 'Ops 2');
  assert.deepEqual(s.agent.commands, [{ command: '/a' }]);
  assert.equal(reduce(s, { type: 'agent_store', agent: undefined }, env), s);
});

test('agent_commands: a live list wins over the stored one from then on', () => {
  const live = [{ command: '/deploy', description: 'Deploy a version', acceptsArgs: true }];
  let s = run(start(), { type: 'commands_fetched', commands: [{ command: '/stored' }] });
  assert.deepEqual(s.commands, [{ command: '/stored' }]);
  s = run(s, { event_type: 'agent_commands', commands: live });
  assert.deepEqual(s.commands, live);
  assert.equal(s.relayed, true);
  assert.deepEqual(s.agent.commands, live);
  assert.equal(reduce(s, { type: 'commands_fetched', commands: [] }, env), s, 'a later REST read does not undo the relay');
  assert.deepEqual(run(s, { type: 'agent_loaded', agent: { id: CH, name: 'Ops', commands: [] } }).commands, live);
  assert.equal(reduce(s, { event_type: 'agent_commands', commands: 'nope' }, env), s);
});
