// Settings: account (password, theme, sign out), API keys (shown once, copy, rotate,
// delete), agents (name, tag, webhook, deliveries), users (owners only).

import { client, describe, report } from '../lib/api.js';
import { avatar, busy, confirmDialog, h, icon, secretBox, toast } from '../lib/dom.js';
import { store } from '../lib/store.js';
import { ago, fullDate } from '../lib/time.js';
import { agentSettings } from './agent-settings.js';

const SECTIONS = [
  ['account', 'Account'],
  ['keys', 'API keys'],
  ['agents', 'Agents'],
  ['users', 'Users', (me) => me?.role === 'owner'],
];

let fieldSeq = 0;
function field(label, input, hint) {
  input.id ||= `st-${++fieldSeq}`;
  return h('div.field', h('label', { for: input.id }, label), input, hint ? h('div.hint', hint) : null);
}

function loading() {
  return h('div.empty', h('span.spinner', { 'aria-label': 'Loading' }));
}

function failed(err, retry) {
  return h('div.empty', h('h2', 'Could not load this'), h('p', describe(err)), h('button.btn', { type: 'button', onclick: retry }, 'Try again'));
}

// ---------------------------------------------------------------- account

function accountSection(body, { setTheme, themePreference, signOut }) {
  const me = store.me;
  const current = h('input.input', { type: 'password', autocomplete: 'current-password' });
  const next = h('input.input', { type: 'password', autocomplete: 'new-password', minlength: 8 });
  const again = h('input.input', { type: 'password', autocomplete: 'new-password' });
  const msg = h('div', { role: 'status' });
  const save = h('button.btn.btn-primary', { type: 'submit' }, 'Change password');
  const form = h('form', { novalidate: true }, msg,
    h('div.form-grid',
      h('div.span-2', field('Current password', current)),
      field('New password', next, 'At least 8 characters. Your other sessions are signed out.'),
      field('Repeat the new password', again),
    ),
    save,
  );
  const say = (text, ok) => msg.replaceChildren(h(`div.alert.${ok ? 'alert-success' : 'alert-danger'}`, text));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    msg.replaceChildren();
    if (!current.value) return say('Enter your current password.');
    if ([...next.value].length < 8) return say('The new password must be at least 8 characters.');
    if (next.value !== again.value) return say('The two new passwords differ.');
    await busy(save, async () => {
      try {
        await client.auth.changePassword(current.value, next.value);
        form.reset();
        say('Password changed. Other sessions were signed out.', true);
      } catch (err) {
        say(err.code === 'wrong_password' ? 'The current password is wrong.' : describe(err));
      }
    });
  });
  const themeButtons = ['system', 'light', 'dark'].map((t) =>
    h('button', { type: 'button', 'aria-pressed': String(themePreference() === t), dataset: { themeChoice: t } }, t[0].toUpperCase() + t.slice(1)),
  );
  const seg = h('div.segmented', { role: 'group', 'aria-label': 'Theme' }, themeButtons);
  seg.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    setTheme(b.dataset.themeChoice);
    themeButtons.forEach((x) => x.setAttribute('aria-pressed', String(x === b)));
  });
  body.replaceChildren(
    h('section.card',
      h('div.inbox-meta', avatar(me.displayName || me.email), h('div', h('strong', me.displayName || me.email), h('div.small.muted', `${me.email} · ${me.role}`))),
    ),
    h('section.card', h('h2', 'Appearance'), h('p.muted', 'Follow the system, or pick a theme.'), seg),
    h('section.card', h('h2', 'Password'), h('p.muted', 'Change the password you sign in with.'), form),
    h('section.card', h('h2', 'Session'), h('p.muted', 'Sign out of this browser.'),
      h('button.btn', { type: 'button', onclick: signOut }, icon('logout', 'icon icon-sm'), 'Sign out')),
  );
}

// ---------------------------------------------------------------- API keys

function keyBox(key, label) {
  return secretBox(key, { testid: 'new-key', message: `Copy the key for “${label}” now: it is not shown again.` });
}

async function keysSection(body) {
  const shown = h('div');
  const label = h('input.input', { maxlength: 64, placeholder: 'e.g. production agent' });
  const create = h('button.btn.btn-primary', { type: 'submit' }, icon('plus', 'icon icon-sm'), 'Create key');
  const createForm = h('form.form-row', { novalidate: true }, field('Label', label), create);
  const table = h('div.table-wrap');
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(create, async () => {
      try {
        const k = await client.apiKeys.create(label.value.trim() || undefined);
        label.value = '';
        shown.replaceChildren(keyBox(k.key, k.label));
        await refresh();
      } catch (err) {
        report(err, 'Could not create the key');
      }
    });
  });
  async function refresh() {
    let keys;
    try {
      keys = await client.apiKeys.list();
    } catch (err) {
      table.replaceChildren(failed(err, refresh));
      return;
    }
    if (!keys.length) {
      table.replaceChildren(h('p.muted', 'No API keys yet. Create one for each agent or environment.'));
      return;
    }
    table.replaceChildren(
      h('table.table',
        h('thead', h('tr', h('th', 'Label'), h('th', 'Key'), h('th.hide-sm', 'Created'), h('th.hide-sm', 'Last used'), h('th', h('span.sr-only', 'Actions')))),
        h('tbody', keys.map((k) =>
          h('tr', { dataset: { keyId: k.id } },
            h('td', k.label),
            h('td', h('code', `${k.keyPrefix}…`)),
            h('td.hide-sm', { title: fullDate(k.createdAt) }, ago(k.createdAt)),
            h('td.hide-sm', k.lastUsedAt ? ago(k.lastUsedAt) : h('span.muted', 'never')),
            h('td.actions',
              h('button.btn.btn-sm.btn-ghost', {
                type: 'button', 'aria-label': `Rotate ${k.label}`,
                onclick: async () => {
                  if (!(await confirmDialog({ title: `Rotate “${k.label}”?`, body: 'A new secret replaces the current one at once: agents using the old key stop working until updated.', confirm: 'Rotate key' }))) return;
                  try {
                    const r = await client.apiKeys.rotate(k.id);
                    shown.replaceChildren(keyBox(r.key, r.label));
                    await refresh();
                  } catch (err) {
                    report(err, 'Could not rotate the key');
                  }
                },
              }, 'Rotate'),
              h('button.btn.btn-sm.btn-ghost', {
                type: 'button', 'aria-label': `Delete ${k.label}`, style: { color: 'var(--danger)' },
                onclick: async () => {
                  if (!(await confirmDialog({ title: `Delete “${k.label}”?`, body: 'Agents using this key can no longer call Assent.', confirm: 'Delete key', danger: true }))) return;
                  try {
                    await client.apiKeys.remove(k.id);
                    toast('Key deleted');
                    await refresh();
                  } catch (err) {
                    report(err, 'Could not delete the key');
                  }
                },
              }, 'Delete'),
            ),
          ),
        )),
      ),
    );
  }
  body.replaceChildren(
    h('section.card',
      h('h2', 'API keys'),
      h('p.muted', 'Agents authenticate with a key (header x-api-key). A key can act on all of your agents.'),
      createForm, shown, table,
    ),
  );
  table.replaceChildren(loading());
  await refresh();
}

// ---------------------------------------------------------------- agents

function agentsSection(body, { navigate }) {
  const agents = [...store.agents.values()].sort((a, b) => a.name.localeCompare(b.name));
  if (!agents.length) {
    body.replaceChildren(h('section.card', h('h2', 'Agents'), h('p.muted', 'No agents yet. Create one from the chat list.'), h('a.btn', { href: '/chats' }, 'Go to chats')));
    return;
  }
  body.replaceChildren(
    h('section.card', h('h2', 'Agents'), h('p.muted', 'Rename, group and connect your agents; set their webhooks and see their deliveries.')),
    ...agents.map((a) => {
      const view = agentSettings({ ...a }, { onDeleted: () => agentsSection(body, { navigate }) });
      const details = h('details.card.agent-card', { dataset: { agent: a.id } },
        h('summary',
          avatar(a.name, { small: true, status: a.status }), h('strong', a.name), a.tag ? h('span.pill', a.tag) : null,
          a.webhookDisabledAt ? h('span.pill.pill-failed', 'Webhook paused') : a.webhookUrl ? h('span.pill', 'Webhook') : null),
        h('div.agent-card-body', view.el),
      );
      // The deliveries are fetched when the agent is opened.
      let loaded = false;
      details.addEventListener('toggle', () => {
        if (details.open && !loaded) {
          loaded = true;
          view.load();
        }
      });
      return details;
    }),
  );
}

// ---------------------------------------------------------------- users

async function usersSection(body) {
  const email = h('input.input', { type: 'email', autocomplete: 'off', required: true });
  const name = h('input.input', { required: true, maxlength: 200 });
  const password = h('input.input', { type: 'text', autocomplete: 'off', minlength: 8, spellcheck: 'false' });
  const role = h('select.select', h('option', { value: 'member' }, 'Member'), h('option', { value: 'owner' }, 'Owner'));
  const msg = h('div');
  const add = h('button.btn.btn-primary', { type: 'submit' }, icon('plus', 'icon icon-sm'), 'Add user');
  const form = h('form', { novalidate: true }, msg,
    h('div.form-grid',
      field('Email', email),
      field('Display name', name),
      field('Temporary password', password, 'At least 8 characters. They choose their own at first sign-in.'),
      field('Role', role),
    ),
    add,
  );
  const table = h('div.table-wrap');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    msg.replaceChildren();
    const fail = (t) => msg.replaceChildren(h('div.alert.alert-danger', { role: 'alert' }, t));
    if (!email.value.trim() || !name.value.trim()) return fail('Email and display name are required.');
    if ([...password.value].length < 8) return fail('The temporary password must be at least 8 characters.');
    await busy(add, async () => {
      try {
        await client.users.create({ email: email.value.trim(), displayName: name.value.trim(), password: password.value, role: role.value });
        msg.replaceChildren(h('div.alert.alert-success', { role: 'status' }, `Added ${email.value.trim()}. Give them the temporary password.`));
        form.reset();
        await refresh();
      } catch (err) {
        fail(err.code === 'email_in_use' ? 'A user with this email already exists.' : describe(err));
      }
    });
  });
  async function refresh() {
    let users;
    try {
      users = await client.users.list();
    } catch (err) {
      table.replaceChildren(failed(err, refresh));
      return;
    }
    table.replaceChildren(
      h('table.table',
        h('thead', h('tr', h('th', 'User'), h('th', 'Role'), h('th.hide-sm', 'Added'), h('th', h('span.sr-only', 'Actions')))),
        h('tbody', users.map((u) => {
          const self = u.id === store.me?.id;
          const roleSel = h('select.select', { 'aria-label': `Role of ${u.email}`, disabled: self, style: { width: 'auto', minHeight: '32px' } },
            h('option', { value: 'member', selected: u.role === 'member' }, 'Member'),
            h('option', { value: 'owner', selected: u.role === 'owner' }, 'Owner'));
          roleSel.addEventListener('change', async () => {
            try {
              await client.users.update(u.id, { role: roleSel.value });
              toast('Role updated');
            } catch (err) {
              report(err, 'Could not change the role');
              roleSel.value = u.role;
            }
          });
          return h('tr',
            h('td', h('div', u.displayName, self ? h('span.muted', ' (you)') : null), h('div.small.muted', u.email), u.mustChangePassword ? h('div.small.muted', 'Has not chosen a password yet') : null),
            h('td', roleSel),
            h('td.hide-sm', { title: fullDate(u.createdAt) }, ago(u.createdAt)),
            h('td.actions', self ? null : h('button.btn.btn-sm.btn-ghost', {
              type: 'button', 'aria-label': `Delete ${u.email}`, style: { color: 'var(--danger)' },
              onclick: async () => {
                if (!(await confirmDialog({ title: `Delete ${u.email}?`, body: 'Their agents, messages and keys are deleted too.', confirm: 'Delete user', danger: true }))) return;
                try {
                  await client.users.remove(u.id);
                  toast('User deleted');
                  await refresh();
                } catch (err) {
                  report(err, 'Could not delete the user');
                }
              },
            }, 'Delete')),
          );
        })),
      ),
    );
  }
  body.replaceChildren(
    h('section.card', h('h2', 'Users'), h('p.muted', 'Everyone who signs in to this Assent. Each user sees only their own agents.'), table),
    h('section.card', h('h2', 'Add a user'), h('p.muted', 'New users must choose their own password when they first sign in.'), form),
  );
  table.replaceChildren(loading());
  await refresh();
}

// ---------------------------------------------------------------- page

export function mountSettings(main, opts) {
  const me = store.me;
  const visible = SECTIONS.filter(([, , allowed]) => !allowed || allowed(me));
  const section = visible.some(([k]) => k === opts.section) ? opts.section : 'account';
  const body = h('div', { 'data-testid': `settings-${section}` }, loading());
  main.append(
    h('div.page-head.wide', h('h1', 'Settings')),
    h('div.page-body',
      h('div.settings-layout',
        h('nav.settings-nav', { 'aria-label': 'Settings sections' },
          visible.map(([k, label]) => h('a', { href: `/settings/${k}`, 'aria-current': k === section ? 'page' : null }, label))),
        body,
      ),
    ),
  );
  const run = {
    account: () => accountSection(body, opts),
    keys: () => keysSection(body),
    agents: () => agentsSection(body, opts),
    users: () => usersSection(body),
  }[section];
  Promise.resolve(run()).catch((err) => report(err));
  if (section === 'agents' && !store.agentsLoaded) {
    const again = () => section === 'agents' && agentsSection(body, opts);
    const t = setInterval(() => {
      if (store.agentsLoaded) {
        clearInterval(t);
        again();
      }
    }, 200);
    return () => clearInterval(t);
  }
  return () => {};
}
