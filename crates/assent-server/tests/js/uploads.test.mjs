// The composer's picked files in the chat state (assets/views/chat/uploads.js, through the
// reducer of views/chat/state.js): progress, stored, failed, retry, remove, and a send that
// takes the stored files along (its optimistic copy shows them).
//
//   node --test crates/assent-server/tests/js/

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialState, localMessage, reduce } from '../../assets/views/chat/state.js';
import { progressOf, reduceUploads, uploadSummary } from '../../assets/views/chat/uploads.js';

const CH = 'chan-1';
const env = { now: '2030-01-01T12:00:00.000Z' };
const run = (state, ...actions) => actions.reduce((s, a) => reduce(s, a, env), state);
const start = () => initialState({ channelId: CH, agent: { id: CH, name: 'Ops', commands: [] } });
const added = (key, size = 1000, name = `${key}.png`) => ({ type: 'upload_added', key, name, size, mimeType: 'image/png' });
const att = (id, extra = {}) => ({ id, messageId: null, channelId: CH, filename: `${id}.png`, mimeType: 'image/png', size: 1000, pluginType: '@uax/image', ...extra });

test('a picked file uploads, shows its progress, then is stored with its record', () => {
  let s = run(start(), added('f1'));
  assert.deepEqual(s.uploads, [{ key: 'f1', name: 'f1.png', size: 1000, mimeType: 'image/png', state: 'uploading', loaded: 0, error: null, attachment: null }]);
  s = run(s, { type: 'upload_progress', key: 'f1', loaded: 455 });
  assert.equal(progressOf(s.uploads[0]), 45);
  // progress past the size (multipart overhead) is capped
  s = run(s, { type: 'upload_progress', key: 'f1', loaded: 5000 });
  assert.equal(s.uploads[0].loaded, 1000);
  s = run(s, { type: 'upload_stored', key: 'f1', attachment: att('a1') });
  assert.equal(s.uploads[0].state, 'stored');
  assert.equal(progressOf(s.uploads[0]), 100);
  assert.deepEqual(uploadSummary(s.uploads), { busy: false, failed: [], attachments: [att('a1')], ready: true });
});

test('a failed upload keeps its error until retried or removed; a 413 is not retryable', () => {
  let s = run(start(), added('f1'), added('f2'));
  s = run(s, { type: 'upload_failed', key: 'f1', error: 'f1.png is too large to upload.', retryable: false });
  assert.equal(s.uploads[0].state, 'failed');
  assert.equal(s.uploads[0].retryable, false);
  let sum = uploadSummary(s.uploads);
  assert.equal(sum.busy, true, 'f2 is still uploading');
  assert.equal(sum.failed.length, 1);
  assert.equal(sum.ready, false);
  s = run(s, { type: 'upload_retry', key: 'f1' });
  assert.equal(s.uploads[0].state, 'uploading');
  assert.equal(s.uploads[0].error, null);
  s = run(s, { type: 'upload_removed', key: 'f1' }, { type: 'upload_stored', key: 'f2', attachment: att('a2') });
  sum = uploadSummary(s.uploads);
  assert.deepEqual(s.uploads.map((u) => u.key), ['f2']);
  assert.equal(sum.ready, true);
});

test('upload actions that change nothing return the same state', () => {
  const s = run(start(), added('f1'));
  assert.equal(reduce(s, added('f1'), env), s, 'the same key twice');
  assert.equal(reduce(s, { type: 'upload_progress', key: 'nope', loaded: 3 }, env), s);
  assert.equal(reduce(s, { type: 'upload_removed', key: 'nope' }, env), s);
  assert.equal(reduce(s, { type: 'upload_retry', key: 'f1' }, env), s, 'only a failed upload is retried');
  assert.equal(reduce(s, { type: 'upload_progress', key: 'f1', loaded: 0 }, env), s);
  const stored = run(s, { type: 'upload_stored', key: 'f1', attachment: att('a1') });
  assert.equal(reduce(stored, { type: 'upload_failed', key: 'f1', error: 'late' }, env), stored, 'a late failure of a stored file');
  assert.equal(reduce(stored, { type: 'upload_bogus' }, env), stored);
  assert.deepEqual(reduceUploads(undefined, { type: 'upload_removed', key: 'x' }), []);
});

test('a send takes the stored files along: they leave the composer, the optimistic copy shows them', () => {
  let s = run(start(), added('f1'), added('f2'), added('f3'));
  s = run(s, { type: 'upload_stored', key: 'f1', attachment: att('a1') }, { type: 'upload_stored', key: 'f2', attachment: att('a2') });
  const pending = { clientId: 'c-1', text: '', createdAt: '2030-01-01T11:00:00.000Z', attachmentIds: ['a1', 'a2'], attachments: [att('a1'), att('a2')] };
  s = run(s, { type: 'send', pending });
  assert.deepEqual(s.uploads.map((u) => u.key), ['f3'], 'a file still uploading stays');
  const local = s.items.get('local:c-1').msg;
  assert.equal(local._local, 'sending');
  assert.deepEqual(local.attachments.map((a) => a.id), ['a1', 'a2']);
  assert.equal(local.text, '', 'a message may be only files');
  // the server's copy replaces it, with the server's records
  const server = { id: 'm1', clientId: 'c-1', channelId: CH, senderType: 'user', text: null, createdAt: '2030-01-01T11:00:01.000Z', seq: 1, attachments: [att('a1', { messageId: 'm1' }), att('a2', { messageId: 'm1' })] };
  s = run(s, { type: 'message', message: server });
  assert.deepEqual(s.order, ['m1']);
  assert.deepEqual(s.pending, []);
  assert.equal(s.items.get('m1').msg.attachments[0].messageId, 'm1');
});

test('a text-only send leaves the picked files alone, and its optimistic copy has no attachments key', () => {
  let s = run(start(), added('f1'));
  const p = { clientId: 'c-2', text: 'hi', createdAt: '2030-01-01T11:00:00.000Z' };
  s = run(s, { type: 'send', pending: p });
  assert.equal(s.uploads.length, 1);
  assert.equal('attachments' in localMessage(CH, p, 'sending'), false);
});

test('a pending send with files restored from storage shows them again', () => {
  const p = { clientId: 'c-3', text: 'see', createdAt: '2030-01-01T11:00:00.000Z', attachmentIds: ['a9'], attachments: [att('a9')] };
  const s = run(start(), { type: 'pending_restored', pending: [p] });
  assert.deepEqual(s.items.get('local:c-3').msg.attachments, [att('a9')]);
});

test('review_responded keeps the modified files of the answer', () => {
  const m = { id: 'r1', channelId: CH, senderType: 'agent', text: 'Check this', createdAt: '2030-01-01T10:00:00.000Z', seq: 1, attachments: [att('a1')], review: { type: 'approval', status: 'pending', payload: {} } };
  let s = run(start(), { type: 'message', message: m });
  s = run(s, { event_type: 'review_responded', thread_id: CH, seq: 2, message_id: 'r1', review_type: 'approval', status: 'completed', response: { selectedOption: 'approve' }, modifiedFileIds: { a1: 'a5' } });
  assert.deepEqual(s.items.get('r1').msg.review.modifiedFileIds, { a1: 'a5' });
  // a frame without them leaves what the message had
  const again = run(s, { event_type: 'review_responded', thread_id: CH, seq: 3, message_id: 'r1', review_type: 'approval', status: 'completed', response: { selectedOption: 'approve' } });
  assert.deepEqual(again.items.get('r1').msg.review.modifiedFileIds, { a1: 'a5' });
});
