// Sign in, and the forced password change (first login with an owner-chosen or generated password).

import { client, describe } from '../lib/api.js';
import { busy, h } from '../lib/dom.js';

function authCard(title, subtitle, ...body) {
  return h('div.auth',
    h('div.auth-card',
      h('div.auth-brand', h('img', { src: '/favicon.svg', alt: '' }), h('span', 'Assent')),
      h('h1', title),
      h('p', subtitle),
      ...body,
    ),
  );
}

function field(label, input, hint) {
  const id = `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h('div.field', h('label', { for: id }, label), input, hint ? h('div.hint', hint) : null);
}

export function mountLogin(root, { done }) {
  document.title = 'Sign in · Assent';
  const email = h('input.input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input.input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const error = h('div.alert.alert-danger', { role: 'alert', hidden: true });
  const submit = h('button.btn.btn-primary', { type: 'submit' }, 'Sign in');
  const form = h('form', { novalidate: true },
    error,
    field('Email', email),
    field('Password', password),
    submit,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    if (!email.value.trim() || !password.value) {
      error.textContent = 'Enter your email and password.';
      error.hidden = false;
      (email.value.trim() ? password : email).focus();
      return;
    }
    await busy(submit, async () => {
      try {
        await client.auth.login(email.value.trim(), password.value);
        await done();
      } catch (err) {
        error.textContent = err.status === 401 ? 'Wrong email or password.' : describe(err);
        error.hidden = false;
        password.select();
      }
    });
  });
  root.replaceChildren(authCard('Sign in', 'Answer your agents’ questions and approvals.', form));
  email.focus();
  return () => {};
}

export function mountChangePassword(root, { done, signOut }) {
  document.title = 'Choose a password · Assent';
  const current = h('input.input', { type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input.input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const again = h('input.input', { type: 'password', autocomplete: 'new-password', required: true });
  const error = h('div.alert.alert-danger', { role: 'alert', hidden: true });
  const submit = h('button.btn.btn-primary', { type: 'submit' }, 'Save and continue');
  const form = h('form', { novalidate: true },
    error,
    field('Current password', current, 'The password you just signed in with.'),
    field('New password', next, 'At least 8 characters.'),
    field('Repeat the new password', again),
    submit,
    h('p.small.muted', { style: { textAlign: 'center', margin: '14px 0 0' } },
      h('button.btn-link', { type: 'button', onclick: signOut }, 'Sign out')),
  );
  const fail = (msg, input) => {
    error.textContent = msg;
    error.hidden = false;
    input?.focus();
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    if (!current.value) return fail('Enter your current password.', current);
    if ([...next.value].length < 8) return fail('The new password must be at least 8 characters.', next);
    if (next.value !== again.value) return fail('The two new passwords differ.', again);
    if (next.value === current.value) return fail('Choose a password different from the current one.', next);
    await busy(submit, async () => {
      try {
        await client.auth.changePassword(current.value, next.value);
        await done();
      } catch (err) {
        fail(err.code === 'wrong_password' ? 'The current password is wrong.' : describe(err), err.code === 'wrong_password' ? current : next);
      }
    });
  });
  root.replaceChildren(authCard('Choose your password', 'Your account was created with a temporary password. Choose your own to continue.', form));
  current.focus();
  return () => {};
}
