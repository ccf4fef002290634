// Webhook deliveries: an agent's recent deliveries (agent settings), one message's delivery
// details (from the chat), and manual retries. A delivery is one event POSTed to a URL, with
// up to `maxAttempts` attempts; `state` is pending | delivered | failed. Lists refresh
// themselves while something is still pending.

import { client, describe, report } from '../lib/api.js';
import { busy, h, modal, toast } from '../lib/dom.js';
import { ago, clock, fullDate } from '../lib/time.js';

const STATE = {
  pending: ['Pending', 'pill-pending'],
  delivered: ['Delivered', 'pill-completed'],
  failed: ['Failed', 'pill-failed'],
};
const POLL_MS = 1200;

/** "14:03:07": attempts can be a fraction of a second apart. */
const seconds = (iso) => new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const RETRY_WAIT_MS = 60_000;

export function statePill(state) {
  const [label, cls] = STATE[state] ?? [state, ''];
  return h(`span.pill${cls ? `.${cls}` : ''}`, { dataset: { state } }, label);
}

function attemptsText(d) {
  const n = `${d.attempts} of ${d.maxAttempts} attempt${d.maxAttempts === 1 ? '' : 's'}`;
  if (d.state === 'pending' && d.nextAttemptAt) return `${n} · next ${clock(d.nextAttemptAt)}`;
  return n;
}

/** The attempt log as a table: time, status code, latency, error. */
export function attemptTable(d) {
  if (!d.attemptLog?.length) return h('p.small.muted', 'No attempt yet.');
  return h('div.table-wrap',
    h('table.table.attempts', { 'data-testid': 'attempt-log' },
      h('thead', h('tr', h('th', '#'), h('th', 'Time'), h('th', 'Status'), h('th', 'Latency'), h('th', 'Error'))),
      h('tbody', d.attemptLog.map((a) =>
        h('tr', { dataset: { attempt: a.attempt } },
          h('td', String(a.attempt)),
          h('td', h('time', { datetime: a.at, title: fullDate(a.at) }, seconds(a.at))),
          h('td', a.statusCode == null ? h('span.muted', '—') : h(`span.code${a.statusCode >= 200 && a.statusCode < 300 ? '.ok' : '.bad'}`, String(a.statusCode))),
          h('td', `${a.durationMs} ms`),
          h('td.attempt-error', a.error ?? h('span.muted', '—')),
        ),
      )),
    ),
  );
}

/**
 * Asks for one more attempt of a message's delivery, then waits (polling) until it settles.
 * Resolves with the settled delivery (or null when it could not tell), after reporting errors.
 */
export async function retryDelivery(messageId) {
  try {
    await client.messages.retry(messageId);
  } catch (err) {
    report(err, err.code === 'no_webhook' ? 'Nothing to retry' : 'Could not retry');
    return null;
  }
  const end = Date.now() + RETRY_WAIT_MS;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    try {
      const list = (await client.messages.deliveries(messageId)).data;
      if (list.length && !list.some((d) => d.state === 'pending')) return list[0];
    } catch {
      return null;
    }
  }
  return null;
}

function deliveryItem(d, { onRetry, showMessage = true } = {}) {
  const retry = d.state === 'failed'
    ? h('button.btn.btn-sm', {
        type: 'button',
        'aria-label': `Retry delivery ${d.id}`,
        onclick: async (e) => {
          await busy(e.currentTarget, async () => {
            const settled = await retryDelivery(d.messageId);
            if (settled?.state === 'failed') toast(`Still not delivered: ${settled.lastError ?? 'failed'}`, { error: true });
            else if (settled?.state === 'delivered') toast('Delivered');
            await onRetry?.();
          });
        },
      }, 'Retry')
    : null;
  return h('li.delivery', { dataset: { deliveryId: d.id, state: d.state }, 'data-testid': 'delivery' },
    h('div.delivery-head',
      statePill(d.state),
      h('code.delivery-event', d.event),
      h('span.small.muted', attemptsText(d)),
      h('span.small.muted.delivery-time', { title: fullDate(d.createdAt) }, ago(d.createdAt)),
      retry,
    ),
    d.lastError && d.state !== 'delivered' ? h('div.delivery-error', d.lastError) : null,
    h('details.delivery-more',
      h('summary', 'Attempts and details'),
      h('dl.delivery-facts',
        h('dt', 'URL'), h('dd', h('code', d.url)),
        h('dt', 'webhook-id'), h('dd', h('code', d.id)),
        showMessage ? [h('dt', 'Message'), h('dd', h('code', d.messageId))] : null,
        h('dt', 'Target'), h('dd', d.target === 'agent' ? 'the agent’s webhook URL' : d.target === 'message' ? 'the message’s webhook URL' : 'the review’s callback URL'),
      ),
      attemptTable(d),
    ),
  );
}

/**
 * An agent's recent deliveries with a state filter; failed ones get a Retry button.
 * Returns `{el, load, loaded}`: call `load()` when it becomes visible.
 */
export function agentDeliveries(agent) {
  const list = h('div', { 'aria-live': 'polite' });
  const filter = h('select.select.select-sm', { 'aria-label': 'Show deliveries' },
    h('option', { value: 'all' }, 'All'),
    h('option', { value: 'failed' }, 'Failed'),
    h('option', { value: 'pending' }, 'Pending'),
    h('option', { value: 'delivered' }, 'Delivered'),
  );
  const refreshBtn = h('button.btn.btn-sm.btn-ghost', { type: 'button', onclick: () => load() }, 'Refresh');
  const el = h('section.deliveries', { 'data-testid': 'agent-deliveries' },
    h('div.deliveries-head',
      h('h3', 'Recent deliveries'),
      h('span.spacer'),
      filter,
      refreshBtn,
    ),
    list,
  );
  filter.addEventListener('change', () => load());
  let timer = 0;
  let loaded = false;
  async function load() {
    clearTimeout(timer);
    if (!loaded) list.replaceChildren(h('div.empty.empty-sm', h('span.spinner', { 'aria-label': 'Loading deliveries' })));
    let data;
    try {
      data = (await client.agents.deliveries(agent.id, { state: filter.value, limit: 20 })).data;
    } catch (err) {
      list.replaceChildren(h('p.small.alert.alert-danger', `Could not load the deliveries: ${describe(err)}`));
      return;
    }
    loaded = true;
    if (!data.length) {
      list.replaceChildren(h('p.small.muted', filter.value === 'all'
        ? 'No deliveries yet. With a webhook URL set, your messages and answers to this agent are POSTed there.'
        : `No ${filter.value} deliveries.`));
    } else {
      // Keep open "Attempts" panels open across refreshes.
      const open = new Set([...list.querySelectorAll('details[open]')].map((d) => d.closest('[data-delivery-id]')?.dataset.deliveryId));
      const items = data.map((d) => deliveryItem(d, { onRetry: load }));
      for (const it of items) if (open.has(it.dataset.deliveryId)) it.querySelector('details').open = true;
      list.replaceChildren(h('ul.delivery-list', items));
    }
    if (data.some((d) => d.state === 'pending')) {
      timer = setTimeout(() => el.isConnected && load(), POLL_MS);
    }
  }
  return { el, load, loaded: () => loaded };
}

/**
 * The delivery details of one message (its attempt log), in a dialog, refreshing while a
 * delivery is pending. `onRetry()` (a promise that settles with the retry) replaces the default
 * retry, so that the caller can show it too.
 */
export function openDeliveryDetails(message, { onRetry } = {}) {
  return modal((close) => {
    const body = h('div', { 'aria-live': 'polite' }, h('div.empty.empty-sm', h('span.spinner', { 'aria-label': 'Loading' })));
    const retryBtn = h('button.btn', { type: 'button', hidden: true }, 'Retry now');
    let timer = 0;
    async function load() {
      clearTimeout(timer);
      let data;
      try {
        data = (await client.messages.deliveries(message.id)).data;
      } catch (err) {
        body.replaceChildren(h('p.alert.alert-danger', describe(err)));
        return;
      }
      if (!body.isConnected && data) return;
      if (!data.length) {
        body.replaceChildren(h('p.muted', 'This message has no webhook delivery: the agent has no webhook URL, so it reads the message over its socket, the thread stream or the REST API.'));
        retryBtn.hidden = true;
        return;
      }
      body.replaceChildren(h('ul.delivery-list', data.map((d) => {
        const item = deliveryItem(d, { showMessage: false });
        item.querySelector('.delivery-head button')?.remove();
        item.querySelector('details').open = true;
        return item;
      })));
      retryBtn.hidden = data[0].state !== 'failed';
      if (data.some((d) => d.state === 'pending')) timer = setTimeout(() => body.isConnected && load(), POLL_MS);
    }
    retryBtn.addEventListener('click', () =>
      busy(retryBtn, async () => {
        const r = onRetry ? onRetry() : retryDelivery(message.id);
        await new Promise((res) => setTimeout(res, 300));
        await load();
        await r;
        await load();
      }),
    );
    load();
    return h('div',
      h('div.modal-body',
        h('h2', 'Webhook delivery'),
        h('p', 'Each attempt to POST this message to the agent, with the response status and latency.'),
        body,
      ),
      h('div.modal-foot', retryBtn, h('button.btn.btn-primary', { type: 'button', onclick: () => close() }, 'Close')),
    );
  }, { label: 'Webhook delivery', wide: true });
}

