// The inbox: reviews across all agents, newest first, answerable in place. Pending items
// arrive and leave live (notifications: review_pending / review_resolved); a review settled
// elsewhere joins the list of its status (Answered, Changes requested, Expired) live too.

import { client, describe, report } from '../lib/api.js';
import { avatar, h, icon } from '../lib/dom.js';
import { renderMarkdown } from '../lib/markdown.js';
import { on, store } from '../lib/store.js';
import { clock, fullDate } from '../lib/time.js';
import { reviewCard } from './review.js';

const FILTERS = [
  ['pending', 'Pending'],
  ['completed', 'Answered'],
  ['changes_requested', 'Changes requested'],
  ['expired', 'Expired'],
  ['all', 'All'],
];

export function mountInbox(main) {
  let filter = sessionStorage.getItem('assent:inbox-filter') ?? 'pending';
  const items = new Map(); // message id → {el, card, msg}
  let dead = false;
  let loadSeq = 0;
  const list = h('div.page-narrow', { 'data-testid': 'inbox-list' });
  const count = h('span.badge.badge-muted', { hidden: true });
  const tabs = h('div.tabs', { role: 'tablist', 'aria-label': 'Filter' },
    FILTERS.map(([value, label]) =>
      h('button.tab', {
        type: 'button', role: 'tab', 'aria-selected': String(value === filter), dataset: { filter: value },
        onclick: () => {
          filter = value;
          sessionStorage.setItem('assent:inbox-filter', value);
          tabs.querySelectorAll('.tab').forEach((t) => t.setAttribute('aria-selected', String(t.dataset.filter === value)));
          load();
        },
      }, label),
    ),
  );
  main.append(
    h('div.page-head.narrow', h('h1', 'Inbox ', count)),
    h('div.page-body', h('div.page-narrow', tabs), list),
  );

  function agentName(m) {
    return store.agents.get(m.channelId)?.name ?? m.agentName ?? 'Agent';
  }

  function itemView(m) {
    const card = reviewCard(m, { onAnswered: (updated) => resolved(updated) });
    const name = agentName(m);
    const el = h('article.card.inbox-item', { 'data-testid': 'inbox-item', dataset: { id: m.id } },
      h('div.inbox-meta',
        avatar(name, { small: true, status: store.agents.get(m.channelId)?.status }),
        h('a', { href: `/chats/${encodeURIComponent(m.channelId)}` }, name),
        h('time', { datetime: m.createdAt, title: fullDate(m.createdAt) }, clock(m.createdAt)),
      ),
      m.text ? renderMarkdown(m.text) : null,
      card.el,
    );
    return { el, card, msg: m };
  }

  function updateCount() {
    const n = [...items.values()].filter((i) => (i.msg.review?.status ?? 'pending') === 'pending').length;
    count.hidden = filter !== 'pending' || n === 0;
    count.textContent = String(n);
  }

  function emptyState() {
    const words = {
      pending: ['All caught up', 'No request is waiting for you. New ones appear here as soon as an agent asks.'],
      completed: ['Nothing answered yet', 'Requests you answer are listed here.'],
      changes_requested: ['Nothing sent back', 'Requests you send back to the agent with “Request changes” are listed here.'],
      expired: ['Nothing expired', 'Requests that reach their deadline unanswered are listed here.'],
      all: ['No requests yet', 'When an agent asks for an approval, a choice or some input, it shows up here.'],
    }[filter] ?? ['Nothing here', 'No request has this status.'];
    return h('div.empty', { 'data-testid': 'inbox-empty' }, icon('inbox'), h('h2', words[0]), h('p', words[1]));
  }

  function showEmptyIfNeeded() {
    if (items.size === 0 && !list.querySelector('.empty')) list.replaceChildren(emptyState());
  }

  function add(m, { top = false } = {}) {
    if (items.has(m.id)) {
      items.get(m.id).card.update(m);
      return;
    }
    const item = itemView(m);
    items.set(m.id, item);
    list.querySelector('.empty')?.remove();
    if (top) list.prepend(item.el);
    else list.append(item.el);
    updateCount();
  }

  function drop(id) {
    const item = items.get(id);
    if (!item) return;
    item.card.destroy();
    item.el.remove();
    items.delete(id);
    updateCount();
    showEmptyIfNeeded();
  }

  /** A review was answered or expired: pending view shows the outcome briefly, then drops it. */
  function resolved(m) {
    const item = items.get(m.id);
    if (!item) return;
    item.msg = m;
    item.card.update(m);
    updateCount();
    if (filter === 'pending') {
      item.el.classList.add('leaving');
      setTimeout(() => !dead && drop(m.id), 2500);
    }
  }

  async function load() {
    const mine = ++loadSeq;
    items.forEach((i) => i.card.destroy());
    items.clear();
    list.replaceChildren(h('div.empty', h('span.spinner', { 'aria-label': 'Loading' })));
    try {
      const data = await client.reviews.list({ status: filter });
      if (dead || mine !== loadSeq) return;
      list.replaceChildren();
      data.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
      data.forEach((m) => add(m));
      showEmptyIfNeeded();
      updateCount();
    } catch (err) {
      if (dead || mine !== loadSeq) return;
      if (err.status === 401) return report(err);
      list.replaceChildren(
        h('div.empty', h('h2', 'Could not load the inbox'), h('p', describe(err)), h('button.btn', { type: 'button', onclick: load }, 'Try again')),
      );
    }
  }

  const offs = [
    on('reviews', async (f) => {
      if (f.event_type === 'review_pending' && (filter === 'pending' || filter === 'all')) {
        try {
          const m = await client.messages.get(f.message_id);
          if (!dead) add(m, { top: true });
        } catch {
          /* gone already */
        }
      } else if (f.event_type === 'review_resolved' && items.has(f.message_id)) {
        try {
          const m = await client.messages.get(f.message_id);
          if (!dead) resolved(m);
        } catch {
          drop(f.message_id);
        }
      } else if (f.event_type === 'review_resolved' && f.status && f.status === filter) {
        // Settled elsewhere (another dashboard, or it expired): it belongs to this list now.
        try {
          const m = await client.messages.get(f.message_id);
          if (!dead && filter === f.status && (m.review?.status ?? '') === filter) add(m, { top: true });
        } catch {
          /* gone already */
        }
      }
    }),
    on('resync', load),
  ];

  load();
  return () => {
    dead = true;
    offs.forEach((off) => off());
    items.forEach((i) => i.card.destroy());
  };
}
