// The channel list (left column on desktop, home screen on phones): agents grouped by tag,
// most recent activity first, with live status dot, "last seen", unread badge and a plain
// preview of the last message. Also: filter, and creating an agent.

import { client, describe } from '../lib/api.js';
import { avatar, busy, h, icon, modal } from '../lib/dom.js';
import { plainPreview } from '../lib/markdown.js';
import { activityOf, on, store } from '../lib/store.js';
import { ago, shortAgo } from '../lib/time.js';

const STATUS_WORDS = { active: 'Active', busy: 'Busy', error: 'Error', offline: 'Offline' };
const collapsed = new Set(JSON.parse(localStorage.getItem('assent:collapsed-groups') ?? '[]'));

/** "Active now", "Busy · crunching", "Last seen 5 minutes ago", "Never connected". */
export function presence(a) {
  const status = a.status ?? 'offline';
  if (status === 'active') return a.statusMessage ? `Active · ${a.statusMessage}` : 'Active now';
  if (status === 'busy' || status === 'error') return `${STATUS_WORDS[status]}${a.statusMessage ? ` · ${a.statusMessage}` : ''}`;
  return a.lastActiveAt ? `Last seen ${ago(a.lastActiveAt)}` : 'Never connected';
}

function channelItem(a, activeId) {
  const unread = a.unreadCount ?? 0;
  const preview = a.lastMessage ? plainPreview(a.lastMessage, 90) : 'No messages yet';
  const label = `${a.name}, ${STATUS_WORDS[a.status] ?? 'Offline'}${unread ? `, ${unread} unread` : ''}`;
  return h(`a.channel${unread ? '.unread' : ''}`,
    { href: `/chats/${encodeURIComponent(a.id)}`, 'aria-current': a.id === activeId ? 'page' : null, 'aria-label': label, dataset: { channel: a.id } },
    avatar(a.name, { status: a.status }),
    h('span.channel-name', a.name),
    h('time.channel-time', { datetime: a.lastMessageTime ?? '' }, a.lastMessageTime ? shortAgo(a.lastMessageTime) : ''),
    h('span.channel-preview', preview),
    unread ? h('span.badge', { 'aria-hidden': 'true' }, unread > 99 ? '99+' : String(unread)) : h('span'),
    h('span.channel-seen', presence(a)),
  );
}

/** Opens the "new agent" dialog; resolves with the created agent or undefined. */
export function createAgentDialog() {
  return modal((close) => {
    const name = h('input.input', { id: 'new-agent-name', required: true, maxlength: 200, autofocus: true, placeholder: 'e.g. Deploy bot' });
    const tag = h('input.input', { id: 'new-agent-tag', maxlength: 64, placeholder: 'e.g. ops', list: 'known-tags' });
    const description = h('textarea.textarea', { id: 'new-agent-desc', maxlength: 2000, rows: 2 });
    const tags = [...new Set([...store.agents.values()].map((a) => a.tag).filter(Boolean))];
    const error = h('div.alert.alert-danger', { role: 'alert', hidden: true });
    const submit = h('button.btn.btn-primary', { type: 'submit' }, 'Create agent');
    const form = h('form', { novalidate: true },
      h('div.modal-body',
        h('h2', 'New agent'),
        h('p', 'An agent is a channel: your agent posts into it with an API key, you answer here.'),
        error,
        h('div.field', h('label', { for: 'new-agent-name' }, 'Name', h('span.req', { 'aria-hidden': 'true' }, '*')), name),
        h('div.field', h('label', { for: 'new-agent-tag' }, 'Group (tag)'), tag, h('datalist', { id: 'known-tags' }, tags.map((t) => h('option', { value: t })))),
        h('div.field', h('label', { for: 'new-agent-desc' }, 'Description'), description),
      ),
      h('div.modal-foot', h('button.btn', { type: 'button', onclick: () => close() }, 'Cancel'), submit),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!name.value.trim()) {
        error.textContent = 'Give the agent a name.';
        error.hidden = false;
        name.setAttribute('aria-invalid', 'true');
        name.focus();
        return;
      }
      await busy(submit, async () => {
        try {
          const body = { name: name.value.trim() };
          if (tag.value.trim()) body.tag = tag.value.trim();
          if (description.value.trim()) body.description = description.value.trim();
          const agent = await client.agents.create(body);
          close(agent);
        } catch (err) {
          error.textContent = describe(err);
          error.hidden = false;
        }
      });
    });
    return form;
  }, { label: 'New agent' });
}

export function mountChannelList(container, { navigate }) {
  let filter = '';
  let activeId = null;
  const list = h('div.channel-scroll', { 'data-testid': 'channel-list' });
  const search = h('input.input', { type: 'search', placeholder: 'Filter agents', 'aria-label': 'Filter agents' });
  search.addEventListener('input', () => {
    filter = search.value.trim().toLowerCase();
    render();
  });
  const newBtn = h('button.btn.btn-ghost.btn-icon', {
    type: 'button', 'aria-label': 'New agent', title: 'New agent',
    onclick: async () => {
      const agent = await createAgentDialog();
      if (agent) {
        store.agents.set(agent.id, { ...agent, unreadCount: 0, lastMessage: null, lastMessageTime: null });
        render();
        navigate(`/chats/${encodeURIComponent(agent.id)}`);
      }
    },
  }, icon('plus'));
  container.replaceChildren(
    h('div.sidebar-head', h('h1', 'Chats'), newBtn),
    h('div.search', search),
    list,
  );

  function render() {
    if (!store.agentsLoaded) {
      list.replaceChildren(
        store.agentsError
          ? h('div.empty', h('p', `Could not load agents: ${describe(store.agentsError)}`))
          : h('div.empty', h('span.spinner', { 'aria-label': 'Loading' })),
      );
      return;
    }
    const agents = [...store.agents.values()].filter((a) => !filter || a.name.toLowerCase().includes(filter) || (a.tag ?? '').toLowerCase().includes(filter));
    if (store.agents.size === 0) {
      list.replaceChildren(
        h('div.empty',
          icon('chat'),
          h('h2', 'No agents yet'),
          h('p', 'Create one here, or let an agent create its own channel with POST /api/v1/agents.'),
          h('button.btn.btn-primary', { type: 'button', onclick: () => newBtn.click() }, icon('plus', 'icon icon-sm'), 'New agent'),
        ),
      );
      return;
    }
    if (agents.length === 0) {
      list.replaceChildren(h('div.empty', h('p', `No agent matches “${filter}”.`)));
      return;
    }
    // Groups by tag; each group and the groups themselves by latest activity.
    const groups = new Map();
    for (const a of agents) {
      const key = a.tag || '';
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(a);
    }
    const ordered = [...groups.entries()]
      .map(([tag, items]) => [tag, items.sort((x, y) => activityOf(y) - activityOf(x))])
      .sort(([ta, a], [tb, b]) => (ta === '' ? 1 : tb === '' ? -1 : activityOf(b[0]) - activityOf(a[0])));
    const showHeaders = ordered.length > 1 || ordered[0][0] !== '';
    list.replaceChildren(
      ...ordered.map(([tag, items]) => {
        const rows = items.map((a) => channelItem(a, activeId));
        if (!showHeaders) return h('div', rows);
        const unread = items.reduce((n, a) => n + (a.unreadCount ?? 0), 0);
        const details = h('details.group', { open: !collapsed.has(tag) },
          h('summary', h('span.chev', icon('down', 'icon icon-sm')), tag || 'Untagged',
            h('span.count', unread ? h('span.badge', unread > 99 ? '99+' : String(unread)) : String(items.length))),
          rows,
        );
        details.addEventListener('toggle', () => {
          if (details.open) collapsed.delete(tag);
          else collapsed.add(tag);
          localStorage.setItem('assent:collapsed-groups', JSON.stringify([...collapsed]));
        });
        return details;
      }),
    );
  }

  container.closest('.shell')?.addEventListener('route', (e) => {
    activeId = e.detail.name === 'chat' || e.detail.name === 'files' ? e.detail.param : null;
    render();
  });
  let raf = 0;
  const soon = () => {
    cancelAnimationFrame(raf);
    raf = requestAnimationFrame(render);
  };
  on('agents', soon);
  on('tick', soon);
  render();
}
