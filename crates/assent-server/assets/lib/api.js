// The dashboard's one client instance (same origin, session cookie) and error handling.

import { createClient } from '/client/index.js';
import { toast } from './dom.js';

export const client = createClient();

// The session cookie is HttpOnly (unreadable here). This flag only remembers that we signed
// in, so that a fresh visit goes straight to the login screen instead of asking the server
// (and logging a 401). It carries no secret.
const SESSION_HINT = 'assent:signed-in';
export const sessionHint = {
  get: () => localStorage.getItem(SESSION_HINT) === '1',
  set: (on) => (on ? localStorage.setItem(SESSION_HINT, '1') : localStorage.removeItem(SESSION_HINT)),
};

let onAuthLost = () => {};
/** What to do when the session is gone (set by the shell: go to the login screen). */
export function setAuthLostHandler(fn) {
  onAuthLost = fn;
}

/** A human sentence for an error, with the first field error when there is one. */
export function describe(err) {
  if (!err) return 'Something went wrong';
  if (err.status === 0) return 'Cannot reach the server. Check your connection.';
  const field = err.errors?.[0];
  if (field && field.path) return `${field.path}: ${field.message}`;
  return err.message || 'Something went wrong';
}

/**
 * Reports a failed call: a lost session sends the user to the login screen, anything else
 * becomes an error toast. Returns the message shown.
 */
export function report(err, prefix) {
  if (err?.status === 401 || err?.code === 'password_change_required') {
    onAuthLost(err);
    return '';
  }
  const msg = prefix ? `${prefix}: ${describe(err)}` : describe(err);
  toast(msg, { error: true, ms: 5000 });
  return msg;
}
