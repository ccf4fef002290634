// Agent settings (from the chat header and the Settings page): name, tag, description,
// webhook URL, the channel id to give to the agent, and deleting the agent.

import { client, describe } from '../lib/api.js';
import { busy, confirmDialog, copyText, h, icon, modal, toast } from '../lib/dom.js';
import { emit, store } from '../lib/store.js';
import { checkHttpUrl } from '../lib/validate.js';

/** The form; `onSaved(agent)` after a successful save, `onDeleted()` after a delete. */
export function agentSettingsForm(agent, { onSaved, onDeleted, onCancel } = {}) {
  const pre = `ag-${agent.id}`;
  const name = h('input.input', { id: `${pre}-name`, value: agent.name, maxlength: 200, required: true });
  const tag = h('input.input', { id: `${pre}-tag`, value: agent.tag ?? '', maxlength: 64, placeholder: 'No group' });
  const description = h('textarea.textarea', { id: `${pre}-desc`, maxlength: 2000, rows: 2 });
  description.value = agent.description ?? '';
  const webhook = h('input.input', { id: `${pre}-hook`, type: 'url', value: agent.webhookUrl ?? '', placeholder: 'https://agent.example.com/assent-webhook', inputmode: 'url' });
  const hookErr = h('div.error', { id: `${pre}-hook-err` });
  webhook.setAttribute('aria-describedby', `${pre}-hook-err ${pre}-hook-hint`);
  const error = h('div.alert.alert-danger', { role: 'alert', hidden: true });
  const save = h('button.btn.btn-primary', { type: 'submit' }, 'Save changes');
  const idCode = h('code.mono', agent.id);
  const form = h('form', { novalidate: true },
    error,
    h('div.form-grid',
      h('div.field', h('label', { for: name.id }, 'Name'), name),
      h('div.field', h('label', { for: tag.id }, 'Group (tag)'), tag),
      h('div.field.span-2', h('label', { for: description.id }, 'Description'), description),
      h('div.field.span-2',
        h('label', { for: webhook.id }, 'Webhook URL'),
        webhook,
        h('div.hint', { id: `${pre}-hook-hint` }, 'Assent POSTs your messages and review answers here (signed, retried). Leave empty for none.'),
        hookErr,
      ),
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
      onCancel ? h('button.btn', { type: 'button', onclick: onCancel }, 'Cancel') : null,
      h('span', { style: { flex: '1' } }),
      h('button.btn.btn-ghost', {
        type: 'button',
        style: { color: 'var(--danger)' },
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
    hookErr.textContent = '';
    webhook.removeAttribute('aria-invalid');
    if (!name.value.trim()) {
      error.textContent = 'The name cannot be empty.';
      error.hidden = false;
      name.focus();
      return;
    }
    const url = webhook.value.trim();
    const bad = url ? checkHttpUrl(url) : null;
    if (bad) {
      hookErr.textContent = `The URL ${bad}.`;
      webhook.setAttribute('aria-invalid', 'true');
      webhook.focus();
      return;
    }
    await busy(save, async () => {
      try {
        const updated = await client.agents.update(agent.id, {
          name: name.value.trim(),
          tag: tag.value.trim() || null,
          description: description.value.trim() || null,
          webhookUrl: url || null,
        });
        Object.assign(agent, updated);
        const listed = store.agents.get(agent.id);
        if (listed) Object.assign(listed, updated);
        emit('agents');
        toast('Saved');
        onSaved?.(updated);
      } catch (err) {
        error.textContent = describe(err);
        error.hidden = false;
      }
    });
  });
  return form;
}

/** The same form in a dialog. */
export function openAgentSettings(agent, { navigate } = {}) {
  return modal(
    (close) =>
      h('div.modal-body', { style: { paddingBottom: '18px' } },
        h('h2', 'Agent settings'),
        h('p', agent.name),
        agentSettingsForm(agent, {
          onSaved: () => close(true),
          onCancel: () => close(false),
          onDeleted: () => {
            close(true);
            navigate?.('/chats');
          },
        }),
      ),
    { label: 'Agent settings' },
  );
}
