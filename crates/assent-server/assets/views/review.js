// Review cards: the five review types (approval, selection, form, text-input, freeform) in
// their pending, answered, changes-requested and expired states, with client-side validation
// that mirrors the server's (lib/validate.js), a live countdown to the deadline and optional
// feedback. Every pending card can also be sent back ("Request changes": required feedback
// instead of an answer). A re-review (iteration 2 or later of a chain, `iterationOf`) also
// shows the previous iteration's outcome and feedback and a word diff of the text against it.
// The review message's attachments show inside the card (views/files/review-files.js), where
// a pending one can be answered with modified files (`modifiedFileIds`). A freeform review
// that names an installed plugin (`payload.plugin`) is shown by the plugin's sandboxed frame
// (views/plugins.js), which answers through the dashboard; "Request changes" and a JSON answer
// stay available below it.

import { client, describe, report } from '../lib/api.js';
import { diffStats, wordDiff } from '../lib/diff.js';
import { busy, h, icon } from '../lib/dom.js';
import { respondWithFiles } from '../lib/file-api.js';
import { renderMarkdown } from '../lib/markdown.js';
import { answerError, pluginOf } from '../lib/plugins.js';
import { STATUS_LABELS, approvalChoice, effectiveStatus, outcomeText } from '../lib/review-status.js';
import { ago, countdown, fullDate, parseTime } from '../lib/time.js';
import { reviewFiles } from './files/review-files.js';
import { knownPlugins, loadPlugins, missingNote, pluginFrame } from './plugins.js';
import {
  MAX_COMMENT,
  buildFormResponse,
  checkChangeRequest,
  checkComment,
  checkSelection,
  checkTextInput,
  parseFreeform,
  selectOptions,
  sentence,
} from '../lib/validate.js';

const TYPE_NAMES = { approval: 'Approval', selection: 'Selection', form: 'Form', 'text-input': 'Text answer', freeform: 'Freeform (JSON)' };
const REDACTED = '***REDACTED***';

// One shared 1 s ticker for every visible countdown.
const tickers = new Set();
let tickTimer = null;
function addTicker(fn) {
  tickers.add(fn);
  if (!tickTimer) {
    tickTimer = setInterval(() => {
      for (const t of [...tickers]) t();
      if (!tickers.size) {
        clearInterval(tickTimer);
        tickTimer = null;
      }
    }, 1000);
  }
  return () => tickers.delete(fn);
}

let uidCounter = 0;
const uid = (p) => `${p}-${++uidCounter}`;

function fieldId(ctx, name) {
  return `${ctx.idPrefix}-${name.replace(/[^\w-]/g, '_')}`;
}

// ---------------------------------------------------------------- pending forms

function feedbackToggle(ctx) {
  const area = h('textarea.textarea', { id: uid('fb'), maxlength: MAX_COMMENT, rows: 2, placeholder: 'Anything the agent should know (optional)' });
  const wrap = h('div.field', { hidden: true }, h('label', { for: area.id }, 'Feedback for the agent'), area);
  const btn = h('button.btn-link.toggle-feedback', {
    type: 'button',
    'aria-expanded': 'false',
    onclick: () => {
      wrap.hidden = !wrap.hidden;
      btn.setAttribute('aria-expanded', String(!wrap.hidden));
      if (!wrap.hidden) area.focus();
    },
  }, '+ Add feedback');
  ctx.feedback = () => (wrap.hidden ? '' : area.value.trim());
  return [btn, wrap];
}

function errorBox() {
  return h('div.alert.alert-danger', { role: 'alert', hidden: true });
}

function showError(box, msg) {
  box.textContent = msg;
  box.hidden = !msg;
}

/**
 * "Request changes": a secondary button for the kind's actions row (`button`) that opens an
 * inline box under the form (`panel`) for what the agent should change, sent instead of an
 * answer. The feedback is required: Send stays disabled while it is blank. Esc or Cancel
 * closes the box (and forgets the text), Ctrl/Cmd+Enter sends.
 */
function requestChangesControl(ctx) {
  const id = uid('changes');
  const area = h('textarea.textarea', {
    id, rows: 3, maxlength: MAX_COMMENT, 'aria-required': 'true', 'aria-describedby': `${id}-hint`,
    placeholder: 'What should the agent change?',
  });
  const err = errorBox();
  const send = h('button.btn.btn-primary', { type: 'button', disabled: true }, 'Send');
  const cancel = h('button.btn.btn-ghost', { type: 'button' }, 'Cancel');
  const panel = h('div.changes-panel', { id: `${id}-panel`, hidden: true, 'data-testid': 'request-changes' },
    h('div.field',
      h('label', { for: id }, 'What should change?', h('span.req', { 'aria-hidden': 'true' }, '*')),
      area,
      h('div.hint', { id: `${id}-hint` }, 'Sent to the agent instead of an answer, so that it can revise and ask again.'),
    ),
    err,
    h('div.review-actions', send, cancel),
  );
  const button = h('button.btn.btn-secondary', {
    type: 'button', 'aria-expanded': 'false', 'aria-controls': panel.id, dataset: { action: 'request-changes' },
  }, icon('edit', 'icon icon-sm'), 'Request changes');
  const sync = () => {
    send.disabled = checkChangeRequest(area.value) !== null;
  };
  const open = () => {
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    area.focus();
  };
  const close = () => {
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    area.value = '';
    sync();
    showError(err, '');
    button.focus();
  };
  const submit = async () => {
    const bad = checkChangeRequest(area.value);
    if (bad) {
      showError(err, sentence(`feedback ${bad}`));
      return;
    }
    cancel.disabled = true;
    try {
      await ctx.requestChanges(send, area.value.trim(), err);
    } finally {
      cancel.disabled = false;
      sync();
    }
  };
  button.addEventListener('click', open);
  cancel.addEventListener('click', close);
  send.addEventListener('click', submit);
  area.addEventListener('input', sync);
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      close();
    } else if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (!send.disabled) submit();
    }
  });
  return { button, panel };
}

function approvalForm(ctx, payload) {
  const options = Array.isArray(payload.options) && payload.options.length
    ? payload.options
    : [{ id: 'approve', label: 'Approve', style: 'primary' }, { id: 'reject', label: 'Reject', style: 'danger' }];
  const err = errorBox();
  let comment = null;
  const parts = [err];
  if (payload.allowComment === true) {
    comment = h('textarea.textarea', { id: uid('comment'), maxlength: MAX_COMMENT, rows: 2, placeholder: 'Add a comment (optional)' });
    parts.push(h('div.field', h('label', { for: comment.id }, 'Comment'), comment));
  }
  const styleClass = { primary: 'btn-primary', danger: 'btn-danger', secondary: 'btn-secondary', ghost: 'btn-ghost' };
  const buttons = options.map((o) =>
    h(`button.btn.${styleClass[o.style] ?? (o.style ? 'btn-secondary' : 'btn-primary')}`, {
      type: 'button',
      dataset: { option: o.id },
      onclick: async (e) => {
        const response = { selectedOption: o.id };
        if (comment && comment.value.trim()) {
          const bad = checkComment(comment.value);
          if (bad) return showError(err, `Comment ${bad}`);
          response.comment = comment.value.trim();
        }
        await ctx.submit(e.currentTarget, response, err);
      },
    }, o.label),
  );
  parts.push(...feedbackToggle(ctx), h('div.review-actions', buttons, ctx.changesButton));
  return parts;
}

function dismissButton(ctx, payload, err) {
  if (!payload.dismissLabel) return null;
  return h('button.btn.btn-ghost', { type: 'button', onclick: (e) => ctx.submit(e.currentTarget, { _dismissed: true }, err) }, payload.dismissLabel);
}

function selectionForm(ctx, payload) {
  const multi = payload.mode === 'multi';
  const err = errorBox();
  const group = uid('sel');
  const items = (payload.items ?? []).map((it) =>
    h('label.option',
      h('input', { type: multi ? 'checkbox' : 'radio', name: group, value: it.id }),
      h('span', h('span', it.label), it.description ? h('span.option-desc', it.description) : null),
    ),
  );
  const list = h('div.options', { role: multi ? 'group' : 'radiogroup', 'aria-label': multi ? 'Choose one or more' : 'Choose one' }, items);
  const submit = h('button.btn.btn-primary', { type: 'submit' }, payload.submitLabel || 'Confirm selection');
  const form = h('form', { novalidate: true },
    h('div.small.muted', { style: { marginBottom: '6px' } }, multi ? 'Choose one or more' : 'Choose one'),
    list, err, ...feedbackToggle(ctx),
    h('div.review-actions', submit, dismissButton(ctx, payload, err), ctx.changesButton),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ids = [...list.querySelectorAll('input:checked')].map((i) => i.value);
    const bad = checkSelection(payload, ids);
    if (bad) return showError(err, sentence(bad));
    await ctx.submit(submit, { selectedIds: ids }, err);
  });
  return [form];
}

function formField(ctx, f) {
  const id = fieldId(ctx, f.name);
  const errId = `${id}-err`;
  const hintId = `${id}-hint`;
  const def = f.defaultValue;
  const common = { id, name: f.name, 'aria-describedby': `${errId}${f.description && f.type !== 'checkbox' ? ` ${hintId}` : ''}` };
  if (f.required) common['aria-required'] = 'true';
  let input;
  let read;
  let extra = null;
  switch (f.type) {
    case 'textarea':
      input = h('textarea.textarea', { ...common, rows: 3, placeholder: f.placeholder ?? '' });
      if (typeof def === 'string') input.value = def;
      break;
    case 'select': {
      const opts = selectOptions(f);
      input = h('select.select', common,
        h('option', { value: '' }, f.placeholder || 'Choose…'),
        opts.map((o) => h('option', { value: o.value, selected: def === o.value }, o.label)),
      );
      break;
    }
    case 'checkbox': {
      input = h('input', { ...common, type: 'checkbox', checked: def === true });
      read = () => input.checked;
      const label = h('label.check', input, h('span', f.description || f.label, f.required && !f.description ? h('span.req', { 'aria-hidden': 'true' }, '*') : null));
      const errEl = h('div.error', { id: errId });
      ctx.fields.set(f.name, { input, read, errEl });
      return h('div.field', f.description ? h('div.field-label', f.label, f.required ? h('span.req', { 'aria-hidden': 'true' }, '*') : null) : null, label, errEl);
    }
    case 'range': {
      const min = typeof f.min === 'number' ? f.min : 0;
      const max = typeof f.max === 'number' ? f.max : 100;
      const start = typeof def === 'number' ? def : min;
      input = h('input', { ...common, type: 'range', min, max, step: typeof f.step === 'number' ? f.step : 'any', value: String(start) });
      const out = h('output', { for: id, class: 'mono' }, `${start}${f.unit ? ` ${f.unit}` : ''}`);
      input.addEventListener('input', () => {
        out.textContent = `${input.value}${f.unit ? ` ${f.unit}` : ''}`;
      });
      extra = out;
      break;
    }
    default: {
      const type = { number: 'number', email: 'email', url: 'url', date: 'date', time: 'time', datetime: 'datetime-local', password: 'password' }[f.type] ?? 'text';
      const attrs = { ...common, type, placeholder: f.placeholder ?? '' };
      if (type === 'number') Object.assign(attrs, { min: f.min, max: f.max, step: f.step ?? 'any', inputmode: 'decimal' });
      if (type === 'password') attrs.autocomplete = 'new-password';
      if (type === 'email') attrs.autocomplete = 'off';
      if (type === 'time' || type === 'datetime-local') attrs.step = typeof def === 'string' && /:\d{2}:\d{2}/.test(def) ? 1 : 60;
      input = h('input.input', attrs);
      if (def !== undefined && def !== null && typeof def !== 'boolean') input.value = String(def);
    }
  }
  read ??= () => input.value;
  const errEl = h('div.error', { id: errId });
  ctx.fields.set(f.name, { input, read, errEl });
  const control = f.unit && f.type !== 'range' ? h('div.input-group', input, h('span.unit', f.unit)) : extra ? h('div.input-group', input, extra) : input;
  return h('div.field',
    h('label', { for: id }, f.label, f.required ? h('span.req', { 'aria-hidden': 'true' }, '*') : null),
    control,
    f.description ? h('div.hint', { id: hintId }, f.description) : null,
    errEl,
  );
}

function formForm(ctx, payload) {
  ctx.fields = new Map();
  const err = errorBox();
  const fields = (payload.fields ?? []).map((f) => formField(ctx, f));
  const submit = h('button.btn.btn-primary', { type: 'submit' }, payload.submitLabel || 'Submit');
  const form = h('form', { novalidate: true }, fields, err, ...feedbackToggle(ctx), h('div.review-actions', submit, dismissButton(ctx, payload, err), ctx.changesButton));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const raw = {};
    for (const [name, f] of ctx.fields) raw[name] = f.read();
    const { response, errors } = buildFormResponse(payload, raw);
    ctx.setFieldErrors(errors);
    if (Object.keys(errors).length) {
      showError(err, 'Please fix the highlighted fields.');
      ctx.fields.get(Object.keys(errors)[0])?.input.focus();
      return;
    }
    await ctx.submit(submit, response, err);
  });
  return [form];
}

function textInputForm(ctx, payload) {
  const err = errorBox();
  const id = uid('txt');
  const area = h('textarea.textarea', { id, rows: 4, placeholder: payload.placeholder ?? 'Type your answer', 'aria-describedby': `${id}-count` });
  if (typeof payload.prefill === 'string') area.value = payload.prefill;
  const min = Number.isInteger(payload.minLength) ? payload.minLength : null;
  const max = Number.isInteger(payload.maxLength) ? payload.maxLength : null;
  const counter = h('div.counter', { id: `${id}-count`, 'aria-live': 'polite' });
  const updateCount = () => {
    const n = [...area.value.trim()].length;
    counter.textContent = `${n}${max ? ` / ${max}` : ''} characters${min ? ` (at least ${min})` : ''}`;
    counter.classList.toggle('bad', (max !== null && n > max) || (min !== null && n > 0 && n < min));
  };
  area.addEventListener('input', updateCount);
  updateCount();
  let preview = null;
  let previewBtn = null;
  if (payload.markdown === true) {
    preview = h('div.bubble', { hidden: true, style: { boxShadow: 'none', marginBottom: '8px' } });
    previewBtn = h('button.btn.btn-sm.btn-ghost', {
      type: 'button', 'aria-pressed': 'false',
      onclick: () => {
        const on = preview.hidden;
        preview.hidden = !on;
        area.hidden = on;
        previewBtn.setAttribute('aria-pressed', String(on));
        previewBtn.textContent = on ? 'Edit' : 'Preview';
        if (on) preview.replaceChildren(renderMarkdown(area.value || '*Nothing to preview*'));
      },
    }, 'Preview');
  }
  const submit = h('button.btn.btn-primary', { type: 'submit' }, payload.submitLabel || 'Send response');
  const form = h('form', { novalidate: true },
    h('div.field', h('label.sr-only', { for: id }, 'Your answer'), area, preview, counter),
    err, ...feedbackToggle(ctx),
    h('div.review-actions', submit, previewBtn, dismissButton(ctx, payload, err), ctx.changesButton),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const bad = checkTextInput(payload, area.value);
    if (bad) {
      showError(err, `Answer ${bad}`);
      area.setAttribute('aria-invalid', 'true');
      area.focus();
      return;
    }
    area.removeAttribute('aria-invalid');
    await ctx.submit(submit, { text: area.value.trim() }, err);
  });
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
  });
  return [form];
}

function freeformForm(ctx, payload, { note = true } = {}) {
  const err = errorBox();
  const id = uid('json');
  const { schema, plugin, ...rest } = payload ?? {};
  const area = h('textarea.textarea.mono', { id, rows: 6, spellcheck: 'false', placeholder: '{ "answer": "…" }' });
  const submit = h('button.btn.btn-primary', { type: 'submit' }, 'Submit JSON');
  const form = h('form', { novalidate: true },
    schema !== undefined ? [h('div.small.muted', 'Expected shape'), h('pre.json', JSON.stringify(schema, null, 2))] : null,
    Object.keys(rest).length ? [h('div.small.muted', 'Details'), h('pre.json', JSON.stringify(rest, null, 2))] : null,
    plugin && note ? missingNote(plugin, { suffix: ': answer with JSON.' }) : null,
    h('div.field', h('label', { for: id }, 'Your answer (a JSON object)'), area),
    err, ...feedbackToggle(ctx),
    h('div.review-actions', submit, ctx.changesButton),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const parsed = parseFreeform(area.value.trim() || '{}');
    if (parsed.error) {
      showError(err, sentence(parsed.error));
      area.setAttribute('aria-invalid', 'true');
      return;
    }
    area.removeAttribute('aria-invalid');
    await ctx.submit(submit, parsed.value, err);
  });
  return [form];
}

// ---------------------------------------------------------------- plugins

/**
 * A pending review shown by a plugin: its frame, then "Request changes" and "Answer with JSON
 * instead" (the freeform form, folded), for when the plugin's own buttons are not enough.
 */
function pluginPendingBody(ctx, payload, frameEl, changes) {
  const saved = ctx.changesButton;
  ctx.changesButton = null;
  const json = h('div.plugin-json', { hidden: true, 'data-testid': 'plugin-json' }, freeformForm(ctx, payload, { note: false }));
  ctx.changesButton = saved;
  changes.button.classList.add('btn-sm');
  const toggle = h('button.btn.btn-ghost.btn-sm', {
    type: 'button',
    'aria-expanded': 'false',
    onclick: () => {
      json.hidden = !json.hidden;
      toggle.setAttribute('aria-expanded', String(!json.hidden));
      if (!json.hidden) json.querySelector('textarea')?.focus();
    },
  }, 'Answer with JSON instead');
  ctx.pluginErr = errorBox();
  return [frameEl, ctx.pluginErr, h('div.review-actions.plugin-actions', changes.button, toggle), changes.panel, json];
}

const loadingPlugin = () => h('div.plugin-note', { 'data-testid': 'plugin-loading' }, h('span.spinner', { 'aria-hidden': 'true' }), ' Loading plugin…');

// ---------------------------------------------------------------- answered

function formatValue(field, v) {
  if (v === null || v === undefined || v === '') return h('span.muted', '—');
  if (field?.type === 'password') return '••••••••';
  if (v === REDACTED) return '••••••••';
  if (field?.type === 'checkbox') return v ? 'Yes' : 'No';
  if (field?.type === 'select') return selectOptions(field).find((o) => o.value === v)?.label ?? String(v);
  return `${v}${field?.unit ? ` ${field.unit}` : ''}`;
}

function answerView(review) {
  const r = review.response ?? {};
  const p = review.payload ?? {};
  const parts = [];
  if (r._dismissed === true) {
    parts.push(h('div', h('span.chosen', 'Dismissed')));
  } else {
    switch (review.type) {
      case 'approval': {
        parts.push(h('div', icon('check', 'icon icon-sm'), ' ', h('span.chosen', approvalChoice(review) ?? '—')));
        if (r.comment) parts.push(h('div.feedback-box', h('strong', 'Comment: '), r.comment));
        break;
      }
      case 'selection': {
        const labels = (r.selectedIds ?? []).map((id) => (p.items ?? []).find((i) => i.id === id)?.label ?? id);
        parts.push(h('ul', { style: { margin: 0, paddingLeft: '1.2em' } }, labels.map((l) => h('li.chosen', l))));
        break;
      }
      case 'form': {
        const fields = p.fields ?? [];
        parts.push(h('dl', fields.map((f) => [h('dt', f.label ?? f.name), h('dd', formatValue(f, r[f.name]))])));
        break;
      }
      case 'text-input':
        parts.push(p.markdown ? renderMarkdown(r.text ?? '') : h('div', { style: { whiteSpace: 'pre-wrap' } }, r.text ?? ''));
        break;
      default:
        parts.push(h('pre.json', JSON.stringify(r, null, 2)));
    }
  }
  if (review.feedback) parts.push(h('div.feedback-box', h('strong', 'Feedback: '), review.feedback));
  return h('div.answer', parts);
}

/** A review sent back: what the human asked to change (plain text, never markup). */
function changesView(review) {
  return h('div.answer',
    h('div.feedback-box.changes-box', { 'data-testid': 'changes-feedback' },
      h('strong', 'What to change: '),
      h('span.changes-text', review.feedback ?? ''),
    ),
  );
}

// ---------------------------------------------------------------- iterations

// Chains by message id. A chain's earlier iterations are final (a new iteration needs a
// completed or expired target), so a loaded chain stays valid for the message.
const chains = new Map();
function loadChain(id) {
  if (!chains.has(id)) {
    const p = client.messages.iterations(id).catch((err) => {
      chains.delete(id);
      throw err;
    });
    chains.set(id, p);
    if (chains.size > 200) chains.delete(chains.keys().next().value);
  }
  return chains.get(id);
}

/** The iteration number of a re-review (2, 3, …), or 0. */
export function reIteration(msg) {
  return Number.isInteger(msg?.iteration) && msg.iteration > 1 && msg.review ? msg.iteration : 0;
}

/** The text diff as DOM: unchanged text, <del> and <ins> (never HTML strings). */
export function diffView(before, after) {
  const ops = wordDiff(before, after);
  const parts = ops.map((o) => {
    if (o.op === 'eq') return o.text;
    const tag = o.op === 'ins' ? 'ins' : 'del';
    return h(tag, h('span.sr-only', o.op === 'ins' ? '[added: ' : '[removed: '), o.text, h('span.sr-only', ']'));
  });
  return { el: h('div.diff', { 'data-testid': 'iteration-diff' }, parts), stats: diffStats(ops), same: ops.every((o) => o.op === 'eq') };
}

/** A status pill: "Waiting for you", "Answered", "Changes requested", "Expired". */
function statusPill(status, attrs = {}) {
  const glyph = { pending: 'clock', completed: 'check', changes_requested: 'edit' }[status];
  if (!STATUS_LABELS[status]) return h('span.pill', attrs, status);
  return h(`span.pill.pill-${status.replace(/_/g, '-')}`, attrs, glyph ? icon(glyph, 'icon icon-sm') : null, STATUS_LABELS[status]);
}

/** The block under a re-review's header: previous outcome, feedback and the text diff. */
function iterationView(msg) {
  const n = reIteration(msg);
  const el = h('div.iteration', { 'data-testid': 'iteration' },
    h('div.small.muted', h('span.spinner', { 'aria-hidden': 'true' }), ` Loading iteration #${n - 1}…`));
  loadChain(msg.id).then(
    (chain) => {
      const list = Array.isArray(chain?.iterations) ? chain.iterations : [];
      const prev = list.filter((m) => Number.isInteger(m.iteration) && m.iteration < n).sort((a, b) => a.iteration - b.iteration).pop();
      if (!prev) {
        el.replaceChildren(h('div.small.muted', `Iteration #${n - 1} is not available.`));
        return;
      }
      const p = prev.iteration;
      const r = prev.review ?? {};
      const changes = r.status === 'changes_requested';
      const said = r.feedback
        ? h(`div.feedback-box${changes ? '.changes-box' : ''}`, h('strong', changes ? `Changes you asked for on #${p}: ` : `Your feedback on #${p}: `), h('span.changes-text', r.feedback))
        : r.response?.comment
          ? h('div.feedback-box', h('strong', `Your comment on #${p}: `), r.response.comment)
          : h('div.small.muted', `No feedback was given on #${p}.`);
      const diff = diffView(prev.text ?? '', msg.text ?? '');
      const summary = diff.same
        ? `The text is the same as in #${p}`
        : `Changes since #${p} (+${diff.stats.added} / −${diff.stats.removed} words)`;
      el.replaceChildren(
        h('div.iteration-outcome', icon('flag', 'icon icon-sm'), outcomeText(prev),
          changes ? statusPill(r.status, { 'data-testid': 'iteration-status' }) : null),
        said,
        diff.same ? h('div.small.muted.iteration-same', summary) : h('details.iteration-diff', { open: true }, h('summary', summary), diff.el),
      );
    },
    () => {
      el.replaceChildren(h('div.small.muted', `Could not load iteration #${n - 1}.`));
    },
  );
  return el;
}

// ---------------------------------------------------------------- the card

/**
 * A review card for message `msg`. Returns `{el, update(msg)}`; `update` re-renders only
 * when the review's state changed, so that half-filled answers survive unrelated updates.
 * `onAnswered(updatedMessage)` is called after a successful answer.
 */
export function reviewCard(msg, { onAnswered } = {}) {
  const el = h('section.review', { 'data-testid': 'review-card' });
  let current = null;
  let stopTicker = null;
  let renderedKey = '';
  let iterEl = null;
  let dead = false;

  const ctx = {
    idPrefix: `rv-${msg.id}`,
    /** Answers with `response` (and the optional feedback and modified files). */
    async submit(button, response, errEl) {
      const feedback = ctx.feedback?.() || undefined;
      if (ctx.files?.busy()) return showError(errEl, 'Wait until the modified files are uploaded.');
      const modified = ctx.files?.modifiedIds() ?? null;
      return ctx.send(button, errEl, () => respondWithFiles(current.id, response, feedback, modified));
    },
    /** Sends the review back with `feedback` (what to change) instead of answering. */
    requestChanges(button, feedback, errEl) {
      return ctx.send(button, errEl, () => client.reviews.requestChanges(current.id, feedback));
    },
    /** Runs `call` (an answer) with `button` busy; shows its outcome, or the error in `errEl`. */
    async send(button, errEl, call) {
      showError(errEl, '');
      await busy(button, async () => {
        try {
          const updated = await call();
          update(updated);
          onAnswered?.(updated);
        } catch (err) {
          if (err.code === 'review_already_responded' || err.code === 'review_expired') {
            showError(errEl, err.code === 'review_expired' ? 'This request has expired.' : 'Someone already answered this request.');
            try {
              const fresh = await client.messages.get(current.id);
              update(fresh);
              onAnswered?.(fresh);
            } catch {
              /* keep the message shown */
            }
            return;
          }
          if (err.status === 400 && err.errors?.length) {
            const byField = {};
            const general = [];
            for (const e of err.errors) {
              const m = /^response\.([^.[\]]+)$/.exec(e.path ?? '');
              if (m && ctx.fields?.has(m[1])) byField[m[1]] = e.message;
              else general.push(`${e.path}: ${e.message}`);
            }
            ctx.setFieldErrors?.(byField);
            showError(errEl, general.length ? general.join('; ') : 'Please fix the highlighted fields.');
            return;
          }
          if (err.status === 401) report(err);
          showError(errEl, describe(err));
        }
      });
    },
    /**
     * An answer sent by the plugin frame (hp:respond): for this card's message only. Resolves
     * {ok: true, after} (after: show the answered card) or {ok: false, error} (also shown
     * under the frame).
     */
    async pluginRespond(response) {
      showError(ctx.pluginErr, '');
      if (ctx.files?.busy()) {
        showError(ctx.pluginErr, 'Wait until the modified files are uploaded.');
        return { ok: false, error: 'Wait until the modified files are uploaded.' };
      }
      try {
        const updated = await respondWithFiles(current.id, response, undefined, ctx.files?.modifiedIds() ?? null);
        return {
          ok: true,
          after: () => {
            update(updated);
            onAnswered?.(updated);
          },
        };
      } catch (err) {
        if (err.status === 401) report(err);
        const error = answerError(err);
        showError(ctx.pluginErr, error);
        if (err.code === 'review_already_responded' || err.code === 'review_expired') {
          return {
            ok: false,
            error,
            after: () => client.messages.get(current.id).then((fresh) => {
              update(fresh);
              onAnswered?.(fresh);
            }, () => {}),
          };
        }
        return { ok: false, error };
      }
    },
    setFieldErrors(errors) {
      for (const [name, f] of ctx.fields ?? []) {
        const m = errors[name];
        f.errEl.textContent = m ? sentence(m) : '';
        if (m) f.input.setAttribute('aria-invalid', 'true');
        else f.input.removeAttribute('aria-invalid');
      }
    },
  };

  function head(review, status) {
    const pill = statusPill(status, { 'data-testid': 'review-status' });
    const right = h('span.countdown');
    if (status === 'pending' && review.expiresAt) {
      const deadline = parseTime(review.expiresAt);
      let detachedTicks = 0;
      const tick = () => {
        if (!el.isConnected && renderedKey) {
          // A card removed from the page stops ticking after a minute (it may come back).
          if (++detachedTicks > 60) stopTicker?.();
          if (right.textContent) return;
        } else detachedTicks = 0;
        const left = deadline - Date.now();
        if (left <= 0) {
          stopTicker?.();
          render(true);
          return;
        }
        right.textContent = `Expires in ${countdown(left)}`;
        right.classList.toggle('soon', left < 5 * 60_000);
      };
      right.title = `Deadline: ${fullDate(review.expiresAt)}`;
      tick();
      stopTicker = addTicker(tick);
    } else if ((status === 'completed' || status === 'changes_requested') && review.completedAt) {
      right.textContent = `${status === 'completed' ? 'Answered' : 'Sent back'} ${ago(review.completedAt)}`;
      right.title = fullDate(review.completedAt);
    } else if (status === 'expired' && review.expiresAt) {
      right.textContent = `Expired ${ago(review.expiresAt)}`;
      right.title = fullDate(review.expiresAt);
    }
    const n = reIteration(current);
    const again = n ? h('span.pill.pill-iteration', { 'data-testid': 'rereview-badge' }, icon('flag', 'icon icon-sm'), `Re-review #${n}`) : null;
    const kind = ctx.pluginLabel ? h('span', { 'data-testid': 'review-plugin' }, ctx.pluginLabel) : h('span', TYPE_NAMES[review.type] ?? review.type);
    return h('div.review-head', pill, again, kind, right);
  }

  function render(force = false) {
    const review = current.review ?? {};
    const status = effectiveStatus(review);
    const files = (current.attachments ?? []).map((a) => a.id).join(',');
    const key = `${status}|${review.completedAt ?? ''}|${JSON.stringify(review.response ?? null)}|${review.feedback ?? ''}|${files}|${JSON.stringify(review.modifiedFileIds ?? null)}`;
    if (!force && key === renderedKey) return;
    renderedKey = key;
    stopTicker?.();
    stopTicker = null;
    el.className = `review is-${status}`;
    el.dataset.reviewType = review.type;
    el.dataset.status = status;
    const words = status === 'pending' ? 'waiting for your answer' : STATUS_LABELS[status]?.toLowerCase() ?? status;
    // A freeform review may be shown by a plugin: its frame (a new one for every state).
    ctx.frame?.destroy();
    ctx.frame = null;
    ctx.pluginErr = null;
    const plugin = review.type === 'freeform' ? pluginOf(current) : null;
    const known = plugin?.inReview ? knownPlugins() : null;
    const manifest = known?.get(plugin.name) ?? null;
    if (plugin?.inReview && !known) loadPlugins().then(() => !dead && render(true));
    ctx.pluginLabel = manifest ? manifest.displayName || manifest.name : null;
    el.setAttribute('aria-label', `${ctx.pluginLabel ?? TYPE_NAMES[review.type] ?? 'Review'} request, ${words}`);
    if (manifest) {
      ctx.frame = pluginFrame(current, plugin, manifest, { status, respond: status === 'pending' ? (r) => ctx.pluginRespond(r) : null });
    }
    let body;
    if (plugin?.inReview && !known) {
      body = [loadingPlugin()];
    } else if (status === 'pending') {
      const p = review.payload ?? {};
      const build = { approval: approvalForm, selection: selectionForm, form: formForm, 'text-input': textInputForm }[review.type] ?? freeformForm;
      const changes = requestChangesControl(ctx);
      ctx.changesButton = changes.button;
      body = ctx.frame ? pluginPendingBody(ctx, p, ctx.frame.el, changes) : [...build(ctx, p), changes.panel];
    } else if (status === 'completed') {
      body = [answerView(review)];
    } else if (status === 'changes_requested') {
      body = [changesView(review)];
    } else {
      body = [h('p.muted.small', { style: { margin: 0 } }, 'This request expired before anyone answered it. The agent was told.')];
    }
    if (status !== 'pending' && plugin?.inReview && known) body.unshift(ctx.frame ? ctx.frame.el : missingNote(plugin.name));
    if (!iterEl && reIteration(current)) iterEl = iterationView(current);
    ctx.files = reviewFiles(current, status);
    el.replaceChildren(...[head(review, status), iterEl, ctx.files.el, h('div.review-body', body)].filter(Boolean));
  }

  function update(m) {
    current = m;
    render();
  }

  update(msg);
  return {
    el,
    update,
    destroy() {
      dead = true;
      stopTicker?.();
      ctx.frame?.destroy();
      ctx.frame = null;
    },
  };
}
