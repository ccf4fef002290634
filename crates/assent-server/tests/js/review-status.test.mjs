// Review statuses on the dashboard (assets/lib/review-status.js): their words, which ones are
// settled, the effective status of a pending review past its deadline, the status a live
// review_responded frame leaves, and the outcome line of an earlier iteration.
//
//   node --test crates/assent-server/tests/js/

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  REVIEW_STATUSES,
  STATUS_LABELS,
  effectiveStatus,
  isResponded,
  isSettled,
  outcomeText,
  respondedStatus,
} from '../../assets/lib/review-status.js';

test('every status has words; all but pending are settled', () => {
  assert.deepEqual([...REVIEW_STATUSES], ['pending', 'completed', 'changes_requested', 'expired']);
  assert.deepEqual(Object.keys(STATUS_LABELS).sort(), [...REVIEW_STATUSES].sort());
  assert.equal(STATUS_LABELS.changes_requested, 'Changes requested');
  assert.deepEqual(REVIEW_STATUSES.filter(isResponded), ['completed', 'changes_requested']);
  assert.deepEqual(REVIEW_STATUSES.filter(isSettled), ['completed', 'changes_requested', 'expired']);
  assert.equal(isSettled(undefined), false);
});

test('a pending review past its deadline is expired at once; settled ones keep their status', () => {
  const now = Date.parse('2030-01-01T12:00:00.000Z');
  const past = '2030-01-01T11:59:59.000Z';
  const future = '2030-01-01T12:00:01.000Z';
  assert.equal(effectiveStatus({ status: 'pending', expiresAt: past }, now), 'expired');
  assert.equal(effectiveStatus({ status: 'pending', expiresAt: future }, now), 'pending');
  assert.equal(effectiveStatus({ status: 'pending', expiresAt: null }, now), 'pending');
  assert.equal(effectiveStatus({ status: 'changes_requested', expiresAt: past }, now), 'changes_requested');
  assert.equal(effectiveStatus({ status: 'completed', expiresAt: past }, now), 'completed');
});

test('review_responded: its own status when it is a responded one, else completed', () => {
  assert.equal(respondedStatus({ status: 'changes_requested' }), 'changes_requested');
  assert.equal(respondedStatus({ status: 'completed' }), 'completed');
  assert.equal(respondedStatus({}), 'completed');
  assert.equal(respondedStatus({ status: 'expired' }), 'completed');
  assert.equal(respondedStatus(null), 'completed');
});

test('the outcome of an earlier iteration, in words', () => {
  const options = [{ id: 'approve', label: 'Ship it' }, { id: 'reject', label: 'Send back' }];
  const it = (iteration, review) => ({ iteration, review });
  assert.equal(outcomeText(it(1, { type: 'approval', status: 'changes_requested', response: null, feedback: 'x', payload: { options } })), '#1 was sent back for changes');
  assert.equal(outcomeText(it(2, { type: 'approval', status: 'completed', response: { selectedOption: 'reject' }, payload: { options } })), '#2 was answered: Send back');
  assert.equal(outcomeText(it(1, { type: 'approval', status: 'completed', response: { selectedOption: 'approve' } })), '#1 was answered: Approve');
  assert.equal(outcomeText(it(1, { type: 'form', status: 'completed', response: { _dismissed: true } })), '#1 was dismissed');
  assert.equal(outcomeText(it(3, { type: 'text-input', status: 'completed', response: { text: 'ok' } })), '#3 was answered');
  assert.equal(outcomeText(it(1, { type: 'selection', status: 'expired' })), '#1 expired unanswered');
  assert.equal(outcomeText(it(1, { type: 'selection', status: 'pending' })), '#1 is pending');
  assert.equal(outcomeText({ review: {} }), '#1 is pending');
});
