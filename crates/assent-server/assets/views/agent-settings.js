// Agent settings (from the chat header and the Settings page): name, tag, description, the
// webhook (URL, custom headers, basic or bearer auth, the signing secret shown once and its
// rotation, the "disabled after 410 Gone" warning), the channel id to give to the agent,
// deleting the agent, and the agent's recent webhook deliveries (views/deliveries.js).

import { client, describe, report } from '../lib/api.js';
import { busy, confirmDialog, copyText, h, icon, modal, secretBox, toast } from '../lib/dom.js';
import { emit, store } from '../lib/store.js';
import { fullDate } from '../lib/time.js';
import { checkHttpUrl } from '../lib/validate.js';
import { agentDeliveries } from './deliveries.js';

// The server's rules (crates/assent-server/src/app/agents.rs): RFC 7230 token names, not one
// of the headers Assent sets itself, single-line values of at most 4096 bytes, ≤ 20 headers.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$/;
const RESERVED = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type', 'content-length', 'host', 'transfer-encoding', 'connection']);
const MAX_HEADER_VALUE = 4096;
const MAX_HEADERS = 20;
const bytes = (s) => new TextEncoder().encode(s).length;

function secretMessage(rotated) {
  return `Copy the ${rotated ? 'new ' : ''}signing secret now: it is not shown again. Your receiver needs it to verify the webhook-signature header${rotated ? '; the old secret no longer signs anything' : ''}.`;
}

/** The webhook part of the form: built from the saved agent, rebuilt after each save. */
function webhookPart(agent, pre, onChanged) {
  const w = {};
  w.url = h('input.input', { id: `${pre}-hook`, type: 'url', value: agent.webhookUrl ?? '', placeholder: 'https://agent.example.com/assent-webhook', inputmode: 'url', spellcheck: 'false' });
  w.urlErr = h('div.error', { id: `${pre}-hook-err` });
  w.url.setAttribute('aria-describedby', `${pre}-hook-err ${pre}-hook-hint`);

  // ---- custom headers: key/value rows
  w.rows = h('div.kv-rows', { 'data-testid': 'webhook-headers' });
  w.headersErr = h('div.error', { role: 'alert' });
  const addRow = (name = '', value = '') => {
    const n = h('input.input.mono', { value: name, placeholder: 'X-Header-Name', 'aria-label': 'Header name', maxlength: 256, spellcheck: 'false', autocomplete: 'off' });
    const v = h('input.input', { value, placeholder: 'value', 'aria-label': 'Header value', spellcheck: 'false', autocomplete: 'off' });
    const row = h('div.kv-row', n, v,
      h('button.btn.btn-ghost.btn-icon', { type: 'button', 'aria-label': 'Remove header', title: 'Remove header', onclick: () => row.remove() }, icon('x', 'icon icon-sm')));
    w.rows.append(row);
    return n;
  };
  for (const [k, v] of Object.entries(agent.webhookHeaders ?? {})) addRow(k, String(v));
  const addHeader = h('button.btn.btn-sm', { type: 'button', onclick: () => addRow().focus() }, icon('plus', 'icon icon-sm'), 'Add header');

  // ---- auth: none, basic (username + password) or bearer token; stored secrets come back
  // masked ("***"): shown as "set", kept unless replaced.
  const saved = agent.webhookAuth ?? null;
  const savedMode = saved?.token ? 'bearer' : saved?.password || saved?.username ? 'basic' : 'none';
  w.savedMode = savedMode;
  w.savedUser = saved?.username ?? '';
  w.mode = h('select.select', { id: `${pre}-auth` },
    h('option', { value: 'none' }, 'None'),
    h('option', { value: 'basic' }, 'Basic (username and password)'),
    h('option', { value: 'bearer' }, 'Bearer token'),
  );
  w.mode.value = savedMode;
  w.user = h('input.input', { id: `${pre}-auth-user`, value: w.savedUser, autocomplete: 'off', spellcheck: 'false' });
  w.pass = h('input.input', { id: `${pre}-auth-pass`, type: 'password', autocomplete: 'new-password', placeholder: savedMode === 'basic' ? '•••••• (set — leave empty to keep)' : '' });
  w.token = h('input.input', { id: `${pre}-auth-token`, type: 'password', autocomplete: 'off', placeholder: savedMode === 'bearer' ? '•••••• (set — leave empty to keep)' : '' });
  w.authErr = h('div.error', { role: 'alert' });
  const basicFields = h('div.form-grid.auth-fields',
    h('div.field', h('label', { for: w.user.id }, 'Username'), w.user),
    h('div.field', h('label', { for: w.pass.id }, 'Password'), w.pass,
      savedMode === 'basic' ? h('div.hint', { 'data-testid': 'auth-set' }, icon('check', 'icon icon-sm'), ' A password is set.') : null),
  );
  const bearerFields = h('div.field.auth-fields',
    h('label', { for: w.token.id }, 'Token'), w.token,
    savedMode === 'bearer' ? h('div.hint', { 'data-testid': 'auth-set' }, icon('check', 'icon icon-sm'), ' A token is set. It is sent as Authorization: Bearer ….') : h('div.hint', 'Sent as Authorization: Bearer <token>.'),
  );
  const showAuth = () => {
    basicFields.hidden = w.mode.value !== 'basic';
    bearerFields.hidden = w.mode.value !== 'bearer';
  };
  w.mode.addEventListener('change', showAuth);
  showAuth();

  // After a 410 Gone the server stops delivering to the URL: setting the URL again (the same
  // or a new one) re-enables it, and so does a manual retry (here: of the delivery that got
  // the 410).
  let disabled = null;
  if (agent.webhookDisabledAt) {
    const reenable = h('button.btn.btn-sm', {
      type: 'button',
      onclick: () => busy(reenable, async () => {
        try {
          const failed = (await client.agents.deliveries(agent.id, { state: 'failed', limit: 50 })).data;
          const gone = failed.find((d) => d.target === 'agent' && d.lastStatus === 410) ?? failed.find((d) => d.target === 'agent');
          if (!gone) {
            toast('No delivery to retry: save the URL to re-enable the endpoint.', { error: true, ms: 5000 });
            return;
          }
          await client.messages.retry(gone.messageId);
          toast('Re-enabled: the last delivery is being retried');
          await onChanged?.();
        } catch (err) {
          report(err, 'Could not re-enable');
        }
      }),
    }, 'Re-enable and retry');
    disabled = h('div.alert.alert-warning.webhook-disabled', { role: 'status', 'data-testid': 'webhook-disabled' },
      h('div',
        h('strong', 'Deliveries are paused. '),
        `Since ${fullDate(agent.webhookDisabledAt)}: ${agent.webhookDisabledReason || 'the endpoint answered 410 Gone'}. `,
        'Saving the URL (the same or a new one) re-enables it; “Re-enable and retry” also retries the delivery that was refused.'),
      h('div.alert-actions', reenable),
    );
  }

  w.el = h('div.webhook-part',
    disabled,
    h('div.field',
      h('label', { for: w.url.id }, 'Webhook URL'),
      w.url,
      h('div.hint', { id: `${pre}-hook-hint` }, 'Assent POSTs your messages and review answers here (signed, retried). Leave empty for none.'),
      w.urlErr,
    ),
    h('div.field',
      h('div.field-label', 'Custom headers'),
      w.rows,
      h('div', addHeader),
      h('div.hint', 'Sent with every delivery to this URL (never to a per-message URL).'),
      w.headersErr,
    ),
    h('div.field',
      h('label', { for: w.mode.id }, 'Authentication'),
      w.mode,
    ),
    basicFields,
    bearerFields,
    w.authErr,
  );

  /** The PATCH fields, or null after showing what is wrong. */
  w.collect = () => {
    w.urlErr.textContent = '';
    w.headersErr.textContent = '';
    w.authErr.textContent = '';
    w.el.querySelectorAll('[aria-invalid]').forEach((x) => x.removeAttribute('aria-invalid'));
    let first = null;
    const fail = (input, errEl, text) => {
      input.setAttribute('aria-invalid', 'true');
      if (!errEl.textContent) errEl.textContent = text;
      first ??= input;
    };
    const patch = {};
    const url = w.url.value.trim();
    const bad = url ? checkHttpUrl(url) : null;
    if (bad) fail(w.url, w.urlErr, `The URL ${bad}.`);
    patch.webhookUrl = url || null;

    const headers = {};
    const seen = new Set();
    for (const row of w.rows.children) {
      const [n, v] = row.querySelectorAll('input');
      const name = n.value.trim();
      const value = v.value;
      if (!name && !value) continue;
      if (!HEADER_NAME.test(name)) fail(n, w.headersErr, name ? `“${name}” is not a valid header name.` : 'A header needs a name.');
      else if (RESERVED.has(name.toLowerCase())) fail(n, w.headersErr, `${name} is set by Assent and cannot be replaced.`);
      else if (seen.has(name.toLowerCase())) fail(n, w.headersErr, `${name} is there twice.`);
      if (/[\r\n]/.test(value) || bytes(value) > MAX_HEADER_VALUE) fail(v, w.headersErr, `The value of ${name || 'a header'} must be one line of at most 4096 bytes.`);
      seen.add(name.toLowerCase());
      headers[name] = value;
    }
    if (seen.size > MAX_HEADERS) fail(w.rows.querySelector('input'), w.headersErr, `At most ${MAX_HEADERS} headers.`);
    patch.webhookHeaders = seen.size ? headers : null;

    const mode = w.mode.value;
    if (mode === 'none') {
      if (w.savedMode !== 'none') patch.webhookAuth = null;
    } else if (mode === 'basic') {
      const user = w.user.value.trim();
      if (!user) fail(w.user, w.authErr, 'Basic auth needs a username.');
      else if (!w.pass.value && !(w.savedMode === 'basic' && user === w.savedUser)) {
        fail(w.pass, w.authErr, w.savedMode === 'basic' ? 'Enter the password again to change the username.' : 'Basic auth needs a password.');
      } else if (w.pass.value) patch.webhookAuth = { username: user, password: w.pass.value };
    } else if (mode === 'bearer') {
      if (w.token.value) patch.webhookAuth = { token: w.token.value };
      else if (w.savedMode !== 'bearer') fail(w.token, w.authErr, 'Enter the token.');
    }
    if (first) {
      first.focus();
      return null;
    }
    return patch;
  };

  /** Puts the server's field errors (webhookUrl, webhookHeaders.X, webhookAuth) on their fields. */
  w.showErrors = (errors) => {
    let shown = false;
    for (const e of errors ?? []) {
      const path = String(e.path ?? '');
      if (path === 'webhookUrl') {
        w.urlErr.textContent = `The URL ${e.message}.`;
        w.url.setAttribute('aria-invalid', 'true');
      } else if (path.startsWith('webhookHeaders')) {
        const name = path.slice('webhookHeaders.'.length);
        w.headersErr.textContent = name ? `${name}: ${e.message}` : `Headers ${e.message}.`;
        for (const row of w.rows.children) {
          const n = row.querySelector('input');
          if (n.value.trim() === name) n.setAttribute('aria-invalid', 'true');
        }
      } else if (path === 'webhookAuth') {
        w.authErr.textContent = `Authentication ${e.message}.`;
      } else continue;
      shown = true;
    }
    return shown;
  };
  return w;
}

/** The form; `onSaved(agent)` after a successful save, `onDeleted()` after a delete. */
export function agentSettingsForm(agent, { onSaved, onDeleted, onCancel, onWebhookChanged } = {}) {
  const pre = `ag-${agent.id}`;
  const name = h('input.input', { id: `${pre}-name`, value: agent.name, maxlength: 200, required: true });
  const tag = h('input.input', { id: `${pre}-tag`, value: agent.tag ?? '', maxlength: 64, placeholder: 'No group' });
  const description = h('textarea.textarea', { id: `${pre}-desc`, maxlength: 2000, rows: 2 });
  description.value = agent.description ?? '';
  // Re-reads the agent after a change made outside the form (re-enabling the endpoint).
  const reloadHook = async () => {
    try {
      const fresh = await client.agents.get(agent.id);
      Object.assign(agent, { webhookHeaders: null, webhookAuth: null, webhookDisabledAt: null, webhookDisabledReason: null }, fresh);
      const listed = store.agents.get(agent.id);
      if (listed) Object.assign(listed, fresh);
      emit('agents');
    } catch (err) {
      report(err);
      return;
    }
    hook = webhookPart(agent, pre, reloadHook);
    hookSlot.replaceChildren(hook.el);
    onWebhookChanged?.();
  };
  let hook = webhookPart(agent, pre, reloadHook);
  const hookSlot = h('div.span-2', hook.el);
  const error = h('div.alert.alert-danger', { role: 'alert', hidden: true });
  const save = h('button.btn.btn-primary', { type: 'submit' }, 'Save changes');
  const idCode = h('code.mono', agent.id);
  const secretSlot = h('div');
  const showSecret = (secret, rotated) => {
    secretSlot.replaceChildren(secretBox(secret, { testid: 'webhook-secret', message: secretMessage(rotated) }));
    secretSlot.scrollIntoView?.({ block: 'nearest' });
  };
  const rotate = h('button.btn.btn-sm', {
    type: 'button',
    onclick: async () => {
      const ok = await confirmDialog({
        title: 'Rotate the signing secret?',
        body: 'Deliveries are signed with a new secret from now on: your receiver rejects them until you give it the new one.',
        confirm: 'Rotate secret',
      });
      if (!ok) return;
      await busy(rotate, async () => {
        try {
          const r = await client.agents.rotateWebhookSecret(agent.id);
          showSecret(r.webhookSecret, true);
        } catch (err) {
          report(err, 'Could not rotate the secret');
        }
      });
    },
  }, 'Rotate signing secret');
  const signing = h('div.field.span-2.signing',
    h('div.field-label', 'Signing secret'),
    h('div.hint',
      'Every delivery carries the Standard Webhooks headers ', h('code', 'webhook-id'), ', ', h('code', 'webhook-timestamp'), ' and ', h('code', 'webhook-signature'),
      '. Your receiver verifies it with a Standard Webhooks library, or computes HMAC-SHA256 of ', h('code', 'id.timestamp.body'),
      ' with the base64-decoded part of the secret after ', h('code', 'whsec_'), ' and compares it to the ', h('code', 'v1,…'), ' value. The secret is shown once, when the first URL is saved.'),
    h('div', rotate),
    secretSlot,
  );
  const syncSigning = () => {
    rotate.hidden = !agent.webhookUrl;
  };
  syncSigning();
  const cancel = onCancel ? h('button.btn', { type: 'button', onclick: onCancel }, 'Cancel') : null;
  const form = h('form.agent-form', { novalidate: true },
    error,
    h('div.form-grid',
      h('div.field', h('label', { for: name.id }, 'Name'), name),
      h('div.field', h('label', { for: tag.id }, 'Group (tag)'), tag),
      h('div.field.span-2', h('label', { for: description.id }, 'Description'), description),
      h('h3.span-2.form-section', 'Webhook'),
      hookSlot,
      signing,
      h('h3.span-2.form-section', 'Connect'),
      h('div.field.span-2',
        h('div.field-label', 'Channel id'),
        h('div.input-group', idCode,
          h('button.btn.btn-sm.btn-ghost', {
            type: 'button', 'aria-label': 'Copy channel id',
            onclick: async () => toast((await copyText(agent.id)) ? 'Channel id copied' : 'Copy failed'),
          }, icon('copy', 'icon icon-sm'), 'Copy')),
        h('div.hint', 'Your agent uses it as channelId.'),
      ),
    ),
    h('div.review-actions',
      save,
      cancel,
      h('span.spacer'),
      h('button.btn.btn-ghost.btn-danger-text', {
        type: 'button',
        onclick: async () => {
          const ok = await confirmDialog({
            title: `Delete ${agent.name}?`,
            body: 'Its messages and pending requests are deleted too. The agent can no longer post here.',
            confirm: 'Delete agent',
            danger: true,
          });
          if (!ok) return;
          try {
            await client.agents.remove(agent.id);
            store.agents.delete(agent.id);
            emit('agents');
            toast('Agent deleted');
            onDeleted?.();
          } catch (err) {
            toast(describe(err), { error: true });
          }
        },
      }, 'Delete agent'),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    if (!name.value.trim()) {
      error.textContent = 'The name cannot be empty.';
      error.hidden = false;
      name.focus();
      return;
    }
    const webhook = hook.collect();
    if (!webhook) return;
    await busy(save, async () => {
      try {
        const updated = await client.agents.update(agent.id, {
          name: name.value.trim(),
          tag: tag.value.trim() || null,
          description: description.value.trim() || null,
          ...webhook,
        });
        const { webhookSecret, ...record } = updated;
        // Replace the webhook fields wholesale: the server omits what is unset.
        Object.assign(agent, { webhookHeaders: null, webhookAuth: null, webhookDisabledAt: null, webhookDisabledReason: null }, record);
        const listed = store.agents.get(agent.id);
        if (listed) Object.assign(listed, record);
        emit('agents');
        hook = webhookPart(agent, pre, reloadHook);
        hookSlot.replaceChildren(hook.el);
        onWebhookChanged?.();
        syncSigning();
        if (webhookSecret) {
          showSecret(webhookSecret, false);
          if (cancel) cancel.textContent = 'Done';
        }
        toast('Saved');
        onSaved?.(updated);
      } catch (err) {
        if (!(err.status === 400 && hook.showErrors(err.errors))) {
          error.textContent = describe(err);
          error.hidden = false;
        }
      }
    });
  });
  return form;
}

/** The form and the agent's recent deliveries; `load()` fetches the deliveries. */
export function agentSettings(agent, opts = {}) {
  const deliveries = agentDeliveries(agent);
  const form = agentSettingsForm(agent, { ...opts, onWebhookChanged: () => deliveries.loaded() && deliveries.load() });
  return { el: h('div.agent-settings', form, deliveries.el), load: deliveries.load };
}

/** The same in a dialog. A save that reveals the signing secret keeps it open (shown once). */
export function openAgentSettings(agent, { navigate } = {}) {
  return modal(
    (close) => {
      const view = agentSettings(agent, {
        onSaved: (updated) => {
          if (!updated.webhookSecret) close(true);
        },
        onCancel: () => close(false),
        onDeleted: () => {
          close(true);
          navigate?.('/chats');
        },
      });
      view.load();
      return h('div.modal-body.modal-scroll',
        h('h2', 'Agent settings'),
        h('p', agent.name),
        view.el,
      );
    },
    { label: 'Agent settings', wide: true },
  );
}
