// The dashboard shell: boot (session check), theme, client-side routing, the persistent
// layout (rail / channel list / main / phone tab bar) and the connection indicator.
// Views live in /views/*.js; each `mount(container, params)` returns its cleanup.

import { client, sessionHint, setAuthLostHandler } from './lib/api.js';
import { h, icon, setChildren } from './lib/dom.js';
import { refreshAgents, refreshPendingCount, startLive, stopLive } from './lib/live.js';
import { on, store } from './lib/store.js';
import { mountChannelList } from './views/channels.js';
import { mountChat, mountChatsHome } from './views/chat.js';
import { mountFiles } from './views/files/gallery.js';
import { mountInbox } from './views/inbox.js';
import { mountChangePassword, mountLogin } from './views/login.js';
import { mountSettings } from './views/settings.js';

const root = document.getElementById('app');

// ---------------------------------------------------------------- theme

const THEME_KEY = 'assent:theme';
const darkQuery = window.matchMedia('(prefers-color-scheme: dark)');

export function themePreference() {
  const v = localStorage.getItem(THEME_KEY);
  return v === 'light' || v === 'dark' ? v : 'system';
}

export function setTheme(pref) {
  if (pref === 'system') localStorage.removeItem(THEME_KEY);
  else localStorage.setItem(THEME_KEY, pref);
  applyTheme();
}

function applyTheme() {
  const pref = themePreference();
  const theme = pref === 'system' ? (darkQuery.matches ? 'dark' : 'light') : pref;
  document.documentElement.dataset.theme = theme;
  document.querySelectorAll('[data-theme-toggle]').forEach((b) => {
    b.replaceChildren(icon(theme === 'dark' ? 'sun' : 'moon'));
    b.setAttribute('aria-label', theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme');
    b.title = b.getAttribute('aria-label');
  });
}
darkQuery.addEventListener('change', applyTheme);

function toggleTheme() {
  setTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark');
}

// ---------------------------------------------------------------- routing

const ROUTES = [
  [/^\/login\/?$/, 'login'],
  [/^\/change-password\/?$/, 'change-password'],
  [/^\/(?:chats\/?)?$/, 'chats'],
  [/^\/chats\/([^/]+)\/?$/, 'chat'],
  [/^\/chats\/([^/]+)\/files\/?$/, 'files'],
  [/^\/inbox\/?$/, 'inbox'],
  [/^\/settings(?:\/([a-z-]+))?\/?$/, 'settings'],
];

function matchRoute(path) {
  for (const [re, name] of ROUTES) {
    const m = re.exec(path);
    if (m) return { name, param: m[1] ? decodeURIComponent(m[1]) : null };
  }
  return { name: 'not-found', param: null };
}

export function navigate(path, { replace = false } = {}) {
  if (path === location.pathname + location.search && !replace) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', path);
  render();
}

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest?.('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || /^\/(api|ws|socket\.io)\//.test(url.pathname)) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', () => render());

// ---------------------------------------------------------------- shell

let shell = null;
let cleanupView = null;

function connIndicator(compact) {
  const label = h('span.conn-label');
  const el = h('div.conn', { role: 'status', 'aria-live': 'polite', 'data-testid': 'connection' }, h('span.conn-dot', { 'aria-hidden': 'true' }), label);
  // Soft hyphens (U+00AD): the 64 px rail breaks the long words in two ("Recon-necting…").
  const words = { open: 'Live', connecting: 'Con\u00adnecting…', reconnecting: 'Recon\u00adnecting…', closing: 'Offline', closed: 'Offline' };
  const update = (s) => {
    el.dataset.state = s;
    label.textContent = compact && s === 'open' ? 'Live' : words[s] ?? s;
    el.title = s === 'open' ? 'Connected: updates arrive live' : s === 'closed' ? 'Disconnected' : 'Connection lost — reconnecting';
  };
  update(store.conn);
  on('conn', update);
  return el;
}

function navLinks(cls, withLabels) {
  const badge = h('span.badge', { hidden: true, 'aria-hidden': 'true' });
  const pendingLabel = h('span.sr-only');
  const updateBadge = () => {
    badge.hidden = store.pendingCount === 0;
    badge.textContent = store.pendingCount > 99 ? '99+' : String(store.pendingCount);
    pendingLabel.textContent = store.pendingCount ? `, ${store.pendingCount} pending` : '';
  };
  updateBadge();
  on('pending', updateBadge);
  const link = (href, name, label, extra) =>
    h(`a.${cls}`, { href, dataset: { nav: name }, 'aria-label': withLabels ? null : label, title: withLabels ? null : label },
      icon(name === 'chats' ? 'chat' : name), withLabels ? h('span', label) : null, extra);
  return [
    link('/chats', 'chats', 'Chats'),
    link('/inbox', 'inbox', 'Inbox', [badge, pendingLabel]),
    link('/settings', 'settings', 'Settings'),
  ];
}

async function signOut() {
  try {
    await client.auth.logout();
  } catch {
    /* the cookie is cleared either way */
  }
  stopLive();
  sessionHint.set(false);
  store.me = null;
  store.agents = new Map();
  store.agentsLoaded = false;
  navigate('/login', { replace: true });
}

function buildShell() {
  const main = h('main.main', { id: 'main', tabindex: '-1' });
  const sidebar = h('aside.sidebar', { 'aria-label': 'Agents' });
  const themeBtn = () => h('button.btn.btn-ghost.btn-icon', { type: 'button', 'data-theme-toggle': true, onclick: toggleTheme });
  const el = h('div.shell',
    h('header.topbar',
      h('div.brand', h('img', { src: '/favicon.svg', alt: '' }), 'Assent'),
      connIndicator(true),
      themeBtn(),
    ),
    h('nav.rail', { 'aria-label': 'Main' },
      h('a', { href: '/chats', 'aria-label': 'Assent home' }, h('img.rail-logo', { src: '/favicon.svg', alt: '' })),
      navLinks('rail-link', false),
      h('div.rail-spacer'),
      connIndicator(true),
      themeBtn(),
      h('button.btn.btn-ghost.btn-icon', { type: 'button', 'aria-label': 'Sign out', title: 'Sign out', onclick: signOut }, icon('logout')),
    ),
    sidebar,
    main,
    h('nav.tabbar', { 'aria-label': 'Main' }, navLinks('tab-link', true)),
  );
  setChildren(root, el);
  root.className = '';
  root.removeAttribute('aria-busy');
  mountChannelList(sidebar, { navigate });
  applyTheme();
  return { el, main };
}

function render() {
  const route = matchRoute(location.pathname);
  const me = store.me;
  if (!me && route.name !== 'login') {
    const next = location.pathname === '/' ? '' : `?next=${encodeURIComponent(location.pathname)}`;
    navigate(`/login${next}`, { replace: true });
    return;
  }
  if (me?.mustChangePassword && route.name !== 'change-password') {
    navigate('/change-password', { replace: true });
    return;
  }
  if (me && (route.name === 'login' || (route.name === 'change-password' && !me.mustChangePassword))) {
    navigate('/chats', { replace: true });
    return;
  }
  cleanupView?.();
  cleanupView = null;

  if (route.name === 'login' || route.name === 'change-password') {
    shell = null;
    root.className = '';
    root.removeAttribute('aria-busy');
    const done = async () => {
      store.me = await client.auth.me();
      sessionHint.set(true);
      const next = new URLSearchParams(location.search).get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/chats', { replace: true });
    };
    cleanupView = route.name === 'login' ? mountLogin(root, { done }) : mountChangePassword(root, { done, signOut });
    return;
  }

  if (!shell) {
    shell = buildShell();
    startLive();
    refreshAgents();
    refreshPendingCount();
  }
  const section = route.name === 'chat' || route.name === 'chats' || route.name === 'files' ? 'chats' : route.name;
  shell.el.classList.toggle('with-sidebar', section === 'chats');
  shell.el.classList.toggle('in-chat', route.name === 'chat' || route.name === 'files');
  shell.el.querySelectorAll('[data-nav]').forEach((a) => {
    if (a.dataset.nav === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  store.openChannel = route.name === 'chat' ? route.param : null;
  shell.el.dispatchEvent(new CustomEvent('route', { detail: route }));
  document.dispatchEvent(new CustomEvent('assent:route', { detail: route }));

  const main = shell.main;
  main.replaceChildren();
  switch (route.name) {
    case 'chats':
      cleanupView = mountChatsHome(main);
      document.title = 'Chats · Assent';
      break;
    case 'chat':
      cleanupView = mountChat(main, { id: route.param, navigate });
      break;
    case 'files':
      cleanupView = mountFiles(main, { id: route.param });
      break;
    case 'inbox':
      cleanupView = mountInbox(main, { navigate });
      document.title = 'Inbox · Assent';
      break;
    case 'settings':
      cleanupView = mountSettings(main, { section: route.param ?? 'account', navigate, setTheme, themePreference, signOut });
      document.title = 'Settings · Assent';
      break;
    default:
      main.append(
        h('div.empty', h('h2', 'Page not found'), h('p', 'There is nothing at this address.'), h('a.btn', { href: '/chats' }, 'Go to chats')),
      );
      document.title = 'Not found · Assent';
  }
}

// ---------------------------------------------------------------- boot

setAuthLostHandler((err) => {
  if (err?.code === 'password_change_required') {
    if (store.me) store.me.mustChangePassword = true;
    navigate('/change-password', { replace: true });
    return;
  }
  stopLive();
  sessionHint.set(false);
  shell = null;
  store.me = null;
  navigate(`/login?next=${encodeURIComponent(location.pathname)}`, { replace: true });
});

async function boot() {
  applyTheme();
  if (!sessionHint.get()) {
    store.me = null;
    render();
    return;
  }
  try {
    store.me = await client.auth.me();
  } catch (err) {
    if (err.status !== 401) {
      root.removeAttribute('aria-busy');
      setChildren(root,
        h('div.empty',
          h('h2', 'Assent is unreachable'),
          h('p', err.status === 0 ? 'The server did not answer. It may be restarting.' : err.message),
          h('button.btn.btn-primary', { type: 'button', onclick: () => location.reload() }, 'Try again'),
        ),
      );
      return;
    }
    store.me = null;
    sessionHint.set(false);
  }
  render();
}

boot();
