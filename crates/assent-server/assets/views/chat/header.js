// The chat's header (back link, the agent's avatar, name and presence, the agent's files, the
// settings button) and the connection banner under it.

import { avatar, h, icon, setChildren } from '../../lib/dom.js';
import { presence } from '../channels.js';

export function chatHeader({ onSettings, filesHref }) {
  const headAvatar = h('div');
  const title = h('h2');
  const sub = h('div.chat-sub', { 'data-testid': 'agent-presence' });
  const el = h('header.chat-head',
    h('a.btn.btn-ghost.btn-icon.back', { href: '/chats', 'aria-label': 'Back to chats' }, icon('back')),
    headAvatar,
    h('div.chat-title', title, sub),
    h('a.btn.btn-ghost.btn-icon', { href: filesHref, 'aria-label': 'Files', title: 'Files', 'data-testid': 'files-link' }, icon('folder')),
    h('button.btn.btn-ghost.btn-icon', { type: 'button', 'aria-label': 'Agent settings', title: 'Agent settings', onclick: onSettings }, icon('settings')),
  );
  const banner = h('div.banner.banner-warning', { role: 'status', hidden: true, 'data-testid': 'chat-connection' });

  return {
    el,
    banner,
    /** Shows `agent` (null while loading). */
    render(a) {
      setChildren(headAvatar, avatar(a?.name ?? '…', { status: a?.status, small: true }));
      title.textContent = a?.name ?? 'Loading…';
      setChildren(sub, a ? [h('span.dot', { dataset: { status: a.status } }), presence(a)] : '');
      document.title = `${a?.name ?? 'Chat'} · Assent`;
    },
    /** The live socket's state: 'open' hides the banner, 'reconnecting' and 'closed' explain. */
    connection(s) {
      if (s === 'open') {
        banner.hidden = true;
      } else if (s === 'reconnecting') {
        banner.className = 'banner banner-warning';
        banner.replaceChildren(h('span.spinner', { 'aria-hidden': 'true' }), 'Connection lost — reconnecting… Messages you write are sent when it is back.');
        banner.hidden = false;
      } else if (s === 'closed') {
        banner.className = 'banner banner-danger';
        banner.replaceChildren(icon('alert', 'icon icon-sm'), 'Live updates stopped. ', h('button.btn-link', { type: 'button', onclick: () => location.reload() }, 'Reload'));
        banner.hidden = false;
      }
    },
  };
}
