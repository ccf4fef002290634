// One timeline entry as DOM: a message bubble (status label, status steps, the text — typed
// out while streaming —, a plugin's frame when the message names one in `metadata.plugin`,
// its attachments, the review card (which shows a review's attachments, and a freeform
// review's plugin, itself), the meta line with time, stream label and delivery ticks) or a
// system row (tool call, run, escalation).

import { h, icon } from '../../lib/dom.js';
import { renderMarkdown } from '../../lib/markdown.js';
import { pluginOf } from '../../lib/plugins.js';
import { isResponded } from '../../lib/review-status.js';
import { clock, fullDate } from '../../lib/time.js';
import { openDeliveryDetails } from '../deliveries.js';
import { attachmentsView } from '../files/attachments.js';
import { messagePlugin } from '../plugins.js';
import { reviewCard } from '../review.js';

const STATUS_WORDS = { info: 'Info', success: 'Success', warning: 'Warning', error: 'Error' };
const DELIVERY = {
  sent: ['check', 'Sent'],
  webhook_delivered: ['checks', 'Delivered to the agent'],
  agent_received: ['checks', 'Read by the agent'],
  webhook_failed: ['alert', 'Not delivered'],
};

const spinner = (attrs = { 'aria-hidden': 'true' }) => h('span.spinner', attrs);

function stepsView(m, steps) {
  if (!steps.length) return null;
  const streaming = m.streamState === 'streaming';
  const items = steps.map((s, k) => {
    const running = streaming && k === steps.length - 1;
    return h('li', running ? spinner() : icon(s.toolHint ? 'tool' : 'check', 'icon icon-sm'), s.text);
  });
  if (streaming) return h('ul.steps', { 'aria-label': 'Progress' }, items);
  return h('details.steps-done', h('summary', `${steps.length} step${steps.length === 1 ? '' : 's'} completed`), h('ul.steps', items));
}

function bodyText(m, draft) {
  const text = draft ? draft.target.slice(0, draft.shown) : m.text ?? '';
  const md = renderMarkdown(text);
  if (m.streamState === 'streaming' || (draft && draft.shown < draft.target.length)) {
    const last = md.lastElementChild ?? md;
    last.append(h('span.caret', { 'aria-hidden': 'true' }));
  }
  return md;
}

/** The delivery tick (opens the delivery details), or "Not delivered" with Retry. */
function deliveryMeta(m, meta, actions, { answer = false } = {}) {
  const status = m.deliveryStatus ?? 'sent';
  const details = () => openDeliveryDetails(m, { onRetry: () => actions.retryDelivery(m.id) });
  if (status === 'webhook_failed') {
    meta.append(
      h('button.msg-failed', { type: 'button', title: 'Show the delivery attempts', 'data-testid': 'delivery-failed', onclick: details },
        icon('alert', 'icon icon-sm'), answer ? 'Answer not delivered' : 'Not delivered'),
      m._retrying
        ? h('span.retrying', { role: 'status' }, spinner(), 'Retrying…')
        : h('button.btn-link', { type: 'button', 'data-testid': 'delivery-retry', onclick: () => actions.retryDelivery(m.id) }, 'Retry'),
    );
    return;
  }
  const [ic, label] = DELIVERY[status] ?? DELIVERY.sent;
  const text = answer ? (status === 'webhook_delivered' ? 'Answer delivered to the agent' : 'Answer sent') : label;
  meta.append(h('button.ticks', { type: 'button', dataset: { delivery: status }, title: `${text} · delivery details`, 'aria-label': `${text}, show delivery details`, onclick: details }, icon(ic, 'icon icon-sm')));
}

/** The meta line of one of the user's own messages: sending state, or the delivery tick. */
function ownMeta(m, meta, actions) {
  if (m._local === 'sending') meta.append(h('span.ticks', { title: 'Sending…', 'aria-label': 'Sending' }, icon('clock', 'icon icon-sm')));
  else if (m._local === 'queued') meta.append(h('span.ticks', { title: 'Waiting for the connection' }, icon('clock', 'icon icon-sm')), 'Waiting for connection');
  else if (m._local === 'failed') {
    meta.append(
      h('span.msg-failed', { role: 'alert' }, icon('alert', 'icon icon-sm'), ` Not sent${m._error ? `: ${m._error}` : ''}`),
      h('button.btn-link', { type: 'button', onclick: () => actions.resend(m.clientId) }, 'Retry'),
      h('button.btn-link', { type: 'button', onclick: () => actions.discard(m.clientId) }, 'Discard'),
    );
  } else {
    deliveryMeta(m, meta, actions);
  }
}

function metaLine(m, { agent, actions }) {
  const meta = h('div.msg-meta', h('time', { datetime: m.createdAt, title: fullDate(m.createdAt) }, clock(m.createdAt)));
  if (m.streamState === 'streaming') meta.append(h('span.stream-label', 'typing…'));
  if (m.streamState === 'aborted') meta.append(h('span.stream-label', '· stopped'));
  if (m.senderType === 'user') ownMeta(m, meta, actions);
  else if (isResponded(m.review?.status) && (m.deliveryStatus?.startsWith('webhook_') || agent?.webhookUrl)) {
    // An answered (or sent back) review is POSTed to the agent's webhook: show how that went.
    deliveryMeta(m, meta, actions, { answer: true });
  }
  return meta;
}

/**
 * A node kept between renders (a review card, a plugin frame): while it is in the page, the
 * new article gets a placeholder and the timeline grafts the new article onto the old one
 * around it (lib/dom.js graft), so that it never moves (a moved iframe reloads).
 */
function kept(rec, node) {
  if (!node.isConnected) return node;
  const slot = document.createElement('span');
  rec.slots.push([slot, node]);
  return slot;
}

/**
 * A message as an <article>. `rec` keeps the message's review card (`rec.card`) and plugin
 * frame (`rec.plugin`) between renders, and lists in `rec.slots` the placeholders of those
 * still in the page; `ctx` = {draft, steps (sorted), agent, actions: {resend, discard,
 * retryDelivery, answered}}.
 */
export function renderMessage(rec, m, ctx) {
  rec.slots = [];
  const status = STATUS_WORDS[m.status] ? m.status : null;
  const bubble = h('div.bubble', { dataset: status ? { status } : {} });
  if (status) bubble.append(h('div.status-label', { dataset: { status } }, STATUS_WORDS[status]));
  if (m.streamId) {
    const steps = stepsView(m, ctx.steps);
    if (steps) bubble.append(steps);
  }
  const hasText = (m.text ?? '') !== '' || ctx.draft || m.streamState === 'streaming';
  if (hasText) bubble.append(bodyText(m, ctx.draft));
  const plugin = pluginOf(m);
  if (plugin && !plugin.inReview) {
    if (!rec.plugin) rec.plugin = messagePlugin(m, plugin);
    else rec.plugin.update(m);
    bubble.append(kept(rec, rec.plugin.el));
  }
  if (m.attachments?.length && !m.review) {
    bubble.append(attachmentsView(m.attachments));
    if (!hasText && !status) bubble.classList.add('att-only');
  }
  if (m.review) {
    if (!rec.card) rec.card = reviewCard(m, { onAnswered: (updated) => ctx.actions.answered(updated) });
    else rec.card.update(m);
    bubble.append(kept(rec, rec.card.el));
  }
  const cls = ['msg', m.senderType === 'user' ? 'msg-user' : 'msg-agent'];
  if (m.review) cls.push('msg-review');
  else if (plugin) cls.push('msg-plugin');
  if (m._local) cls.push('msg-pending');
  return h('article', { class: cls.join(' '), dataset: { id: m.id }, 'data-testid': 'message', 'data-sender': m.senderType }, bubble, metaLine(m, ctx));
}

/** A system row: {spinner?, icon?, text, preview?, tone: '' | 'ok' | 'fail'}. */
export function renderSysRow(row) {
  return h(`div.sys-row${row.tone ? `.${row.tone}` : ''}`, { 'data-testid': 'event' },
    row.spinner ? spinner() : icon(row.icon, 'icon icon-sm'),
    row.text,
    row.preview ? h('span.muted', row.preview) : null,
  );
}
