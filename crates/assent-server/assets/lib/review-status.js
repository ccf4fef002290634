// Review statuses as the dashboard shows them: their names, which ones mean the human has
// responded, how a live `review_responded` frame settles a review, and the one-line outcome
// of an earlier iteration. Pure functions: no DOM, importable from Node for tests.

import { parseTime } from './time.js';

/** Every status a review can have (the server's `ReviewStatus`). */
export const REVIEW_STATUSES = Object.freeze(['pending', 'completed', 'changes_requested', 'expired']);

/** The words of each status's pill. */
export const STATUS_LABELS = Object.freeze({
  pending: 'Waiting for you',
  completed: 'Answered',
  changes_requested: 'Changes requested',
  expired: 'Expired',
});

/** Whether the human has responded: answered it, or asked for changes. */
export const isResponded = (status) => status === 'completed' || status === 'changes_requested';

/** Whether nothing more can happen to a review in this status (responded or expired). */
export const isSettled = (status) => isResponded(status) || status === 'expired';

/** The effective status: a pending review past its deadline shows as expired right away. */
export function effectiveStatus(review, now = Date.now()) {
  const status = review?.status ?? 'pending';
  if (status === 'pending' && review?.expiresAt && parseTime(review.expiresAt) <= now) return 'expired';
  return status;
}

/**
 * The status a `review_responded` frame leaves the review in: the frame's `status` when it
 * is one of the responded ones, else `completed` (the frame had no status before "request
 * changes" existed).
 */
export function respondedStatus(frame) {
  return isResponded(frame?.status) ? frame.status : 'completed';
}

/** "#1 was answered: Approve", "#2 was sent back for changes", "#1 expired unanswered", … */
export function outcomeText(prev) {
  const r = prev?.review ?? {};
  const n = prev?.iteration ?? 1;
  if (r.status === 'expired') return `#${n} expired unanswered`;
  if (r.status === 'changes_requested') return `#${n} was sent back for changes`;
  if (r.status !== 'completed') return `#${n} is ${r.status ?? 'pending'}`;
  if (r.response?._dismissed === true) return `#${n} was dismissed`;
  if (r.type === 'approval') {
    const label = approvalChoice(r);
    if (label) return `#${n} was answered: ${label}`;
  }
  return `#${n} was answered`;
}

/** The label of the option an approval was answered with (its id if the option is gone). */
export function approvalChoice(review) {
  const chosen = review?.response?.selectedOption;
  const opt = (review?.payload?.options ?? []).find((o) => o.id === chosen);
  return opt?.label ?? { approve: 'Approve', reject: 'Reject' }[chosen] ?? chosen;
}
