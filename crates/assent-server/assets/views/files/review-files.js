// A review's attachments inside its card (views/review.js). While the review is pending, each
// attachment can be replaced with a modified file: "Replace with modified file" stores it
// (POST /api/files/store) and the answer then carries `modifiedFileIds` {originalId: newId}.
// An answered review lists the modified files it was answered with.

import { report } from '../../lib/api.js';
import { h, icon } from '../../lib/dom.js';
import { deleteFile, storeFile } from '../../lib/file-api.js';
import { downloadUrl, formatSize, uploadErrorText } from '../../lib/files.js';
import { attachmentsView } from './attachments.js';

// The replacements stored in this tab, by id: an answered card can name them.
const storedHere = new Map();

const NONE = { el: null, modifiedIds: () => null, busy: () => false };

/** One "replace" row of a pending review: picker, progress, the stored replacement or the error. */
function replaceRow(a, channelId, rows) {
  const state = { phase: 'idle', record: null, error: '', abort: null, loaded: 0, size: 0 };
  rows.set(a.id, state);
  const input = h('input', { type: 'file', hidden: true, 'aria-hidden': 'true', tabindex: '-1' });
  const li = h('li.replace-row', { 'data-testid': 'replace-row', dataset: { id: a.id } });
  const pick = () => input.click();
  const undo = () => {
    deleteFile(state.record.id).catch(() => {}); // it was never sent: nothing else refers to it
    Object.assign(state, { phase: 'idle', record: null });
    render();
  };

  function render() {
    const name = h('span.file-name', a.filename);
    let rest;
    if (state.phase === 'uploading') {
      const pct = state.size ? Math.floor((state.loaded / state.size) * 100) : 0;
      rest = [h('span.muted.small', { role: 'status' }, h('span.spinner', { 'aria-hidden': 'true' }), ` Uploading ${state.file}… ${pct}%`),
        h('button.btn-link.small', { type: 'button', onclick: () => state.abort?.abort() }, 'Cancel')];
    } else if (state.phase === 'stored') {
      rest = [h('span.replaced', { 'data-testid': 'replacement' }, icon('edit', 'icon icon-sm'), `Replaced by ${state.record.filename} (${formatSize(state.record.size)})`),
        h('button.btn-link.small', { type: 'button', onclick: undo }, 'Undo')];
    } else {
      rest = [state.error ? h('span.error.small', { role: 'alert' }, state.error) : null,
        h('button.btn.btn-sm.btn-secondary', { type: 'button', 'aria-label': `Replace ${a.filename} with a modified file`, onclick: pick },
          icon('clip', 'icon icon-sm'), state.error ? 'Try another file' : 'Replace with modified file')];
    }
    li.replaceChildren(input, name, ...rest.filter(Boolean));
  }

  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    const abort = new AbortController();
    Object.assign(state, { phase: 'uploading', file: file.name, error: '', abort, loaded: 0, size: file.size });
    render();
    try {
      const record = await storeFile(file, { channelId, signal: abort.signal, onProgress: (loaded) => { state.loaded = loaded; render(); } });
      storedHere.set(record.id, record);
      Object.assign(state, { phase: 'stored', record });
    } catch (err) {
      if (err?.status === 401) report(err);
      Object.assign(state, { phase: 'idle', error: err?.name === 'AbortError' ? '' : uploadErrorText(err, file.name) });
    }
    render();
  });
  render();
  return li;
}

/** "Modified: shot.png" rows of an answered review, each with a link to the modified file. */
function modifiedList(list, modified) {
  const byId = new Map(list.map((a) => [a.id, a]));
  const rows = Object.entries(modified).map(([orig, id]) => {
    const rec = storedHere.get(id);
    const name = byId.get(orig)?.filename ?? 'a file';
    return h('li.modified-row', { 'data-testid': 'modified-file' },
      icon('edit', 'icon icon-sm'), `Modified: ${name}`,
      h('a.btn-link.small', { href: downloadUrl(id, { download: true }), download: rec?.filename ?? name },
        icon('download', 'icon icon-sm'), rec ? `${rec.filename} (${formatSize(rec.size)})` : 'Download the modified file'),
    );
  });
  return h('ul.modified-list', rows);
}

/**
 * The attachments block of review message `msg` in `status`: {el (null without attachments),
 * modifiedIds() → {originalId: newId} | null, busy() → a replacement is still uploading}.
 */
export function reviewFiles(msg, status) {
  const list = Array.isArray(msg.attachments) ? msg.attachments : [];
  if (!list.length) return NONE;
  const rows = new Map();
  const modified = msg.review?.modifiedFileIds;
  const el = h('div.review-files', { 'data-testid': 'review-files' }, attachmentsView(list));
  if (status === 'pending') {
    el.append(
      h('p.replace-caption', { id: `${msg.id}-replace` }, 'You may answer with a modified version of a file:'),
      h('ul.replace-list', { 'aria-labelledby': `${msg.id}-replace` }, list.map((a) => replaceRow(a, msg.channelId, rows))),
    );
  } else if (modified && typeof modified === 'object' && Object.keys(modified).length) {
    el.append(modifiedList(list, modified));
  }
  return {
    el,
    modifiedIds() {
      const out = {};
      for (const [orig, s] of rows) if (s.phase === 'stored') out[orig] = s.record.id;
      return Object.keys(out).length ? out : null;
    },
    busy: () => [...rows.values()].some((s) => s.phase === 'uploading'),
  };
}
