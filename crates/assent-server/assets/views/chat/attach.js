// Files in the composer: the attach button (a file picker, several files at once), files
// dropped anywhere on the chat and files pasted into the message field. Each file is stored at
// once (POST /api/files/store) and shown as a chip with its progress, or its error and Retry;
// × removes it (cancelling the upload, or deleting the stored file, which nothing refers to
// yet). The chips follow the chat state's `uploads` (views/chat/uploads.js); `ready()` waits for
// the uploads and hands the stored records to the send.

import { report } from '../../lib/api.js';
import { h, icon } from '../../lib/dom.js';
import { deleteFile, storeFile } from '../../lib/file-api.js';
import { downloadUrl, formatSize, showsAsPicture, uploadErrorText } from '../../lib/files.js';
import { progressOf, uploadSummary } from './uploads.js';

let keys = 0;
const pad = (n) => String(n).padStart(2, '0');

/** A pasted screenshot is called "image.png" by the browser: give it a telling name. */
function pastedName(file) {
  if (file.name && !/^image\.\w+$/i.test(file.name)) return file;
  const d = new Date();
  const ext = /\/(\w+)/.exec(file.type)?.[1] ?? 'png';
  const name = `pasted-${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}.${ext}`;
  return new File([file], name, { type: file.type, lastModified: file.lastModified });
}

function chipView(u, a) {
  const stored = u.state === 'stored';
  const lead = stored && showsAsPicture(u.attachment)
    ? h('img.chip-thumb', { src: downloadUrl(u.attachment.id), alt: '' })
    : h('span.chip-icon', icon(/^image\//.test(u.mimeType) ? 'image' : 'file', 'icon icon-sm'));
  const pct = progressOf(u);
  const sub = u.state === 'uploading' ? `Uploading… ${pct}%` : u.state === 'failed' ? u.error : formatSize(u.size);
  return h('div.upload-chip', { 'data-testid': 'upload-chip', dataset: { state: u.state }, title: u.name },
    lead,
    h('span.chip-body',
      h('span.chip-name', u.name),
      h('span.chip-sub', { role: u.state === 'failed' ? 'alert' : null }, sub),
      u.state === 'uploading' ? h('span.chip-bar', { role: 'progressbar', 'aria-label': `Uploading ${u.name}`, 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100 }, h('span', { style: { width: `${pct}%` } })) : null,
    ),
    u.state === 'failed' && u.retryable ? h('button.btn-link.small', { type: 'button', onclick: () => a.retry(u.key) }, 'Retry') : null,
    h('button.chip-remove', { type: 'button', 'aria-label': `Remove ${u.name}`, title: 'Remove', onclick: () => a.remove(u.key) }, icon('x', 'icon icon-sm')),
  );
}

function progressInPlace(el, u) {
  const pct = progressOf(u);
  el.querySelector('.chip-sub').textContent = `Uploading… ${pct}%`;
  const bar = el.querySelector('.chip-bar');
  bar?.setAttribute('aria-valuenow', String(pct));
  if (bar) bar.firstChild.style.width = `${pct}%`;
}

/** Drag and drop of files onto `zone` (the whole chat), with an overlay while dragging. */
function dropTarget(zone, onFiles) {
  const overlay = h('div.drop-overlay', { hidden: true, 'aria-hidden': 'true' }, icon('clip'), h('span', 'Drop files to attach'));
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
  const show = (on) => {
    overlay.hidden = !on;
    if (!on) depth = 0;
  };
  const handlers = {
    dragenter: (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      show(true);
    },
    dragover: (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    },
    dragleave: (e) => {
      if (hasFiles(e) && --depth <= 0) show(false);
    },
    drop: (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      show(false);
      onFiles([...e.dataTransfer.files]);
    },
  };
  for (const [ev, fn] of Object.entries(handlers)) zone.addEventListener(ev, fn);
  zone.append(overlay);
  return () => {
    for (const [ev, fn] of Object.entries(handlers)) zone.removeEventListener(ev, fn);
    overlay.remove();
  };
}

/**
 * `ctx`: the composer's {channelId, getState, dispatch, isDead, dropZone}; `input` the message
 * field (pastes). Returns {button, picker, chips, error, render(uploads), ready(), showError, destroy()}.
 */
export function createAttachments(ctx, input) {
  const files = new Map(); // key → {file, abort, done: Promise}
  const picker = h('input', { type: 'file', multiple: true, hidden: true, 'data-testid': 'file-input', 'aria-hidden': 'true', tabindex: '-1' });
  const button = h('button.btn.btn-ghost.btn-icon.attach-btn', { type: 'button', 'aria-label': 'Attach files', title: 'Attach files (or drop or paste them)', onclick: () => picker.click() }, icon('clip'));
  const chips = h('div.upload-chips', { hidden: true, 'aria-label': 'Files to send', role: 'group' });
  const error = h('div.composer-error', { role: 'alert', hidden: true, 'data-testid': 'composer-error' });
  const shown = new Map(); // key → {u, el}
  const a = {};

  const showError = (msg) => {
    error.textContent = msg ?? '';
    error.hidden = !msg;
  };

  function upload(key) {
    const entry = files.get(key);
    const abort = new AbortController();
    let pct = -1;
    const onProgress = (loaded, total) => {
      const now = Math.floor((loaded / (total || 1)) * 100);
      if (now !== pct) ctx.dispatch({ type: 'upload_progress', key, loaded });
      pct = now;
    };
    entry.abort = abort;
    entry.done = storeFile(entry.file, { channelId: ctx.channelId, signal: abort.signal, onProgress }).then(
      (attachment) => {
        if (!files.has(key) || ctx.isDead()) return deleteFile(attachment.id).catch(() => {});
        ctx.dispatch({ type: 'upload_stored', key, attachment });
      },
      (err) => {
        if (err?.name === 'AbortError' || ctx.isDead()) return;
        if (err?.status === 401) report(err);
        ctx.dispatch({ type: 'upload_failed', key, error: uploadErrorText(err), retryable: err?.status !== 413 && err?.code !== 'payload_too_large' });
      },
    );
  }

  a.add = (list) => {
    showError('');
    for (const file of list) {
      const key = `f${++keys}`;
      files.set(key, { file });
      ctx.dispatch({ type: 'upload_added', key, name: file.name, size: file.size, mimeType: file.type });
      upload(key);
    }
  };
  a.retry = (key) => {
    if (!files.has(key)) return;
    showError('');
    ctx.dispatch({ type: 'upload_retry', key });
    upload(key);
  };
  a.remove = (key) => {
    const u = ctx.getState().uploads.find((x) => x.key === key);
    files.get(key)?.abort?.abort();
    files.delete(key);
    if (u?.state === 'stored') deleteFile(u.attachment.id).catch(() => {});
    ctx.dispatch({ type: 'upload_removed', key });
    if (!uploadSummary(ctx.getState().uploads).failed.length) showError('');
    input.focus();
  };

  picker.addEventListener('change', () => {
    a.add([...picker.files]);
    picker.value = '';
  });
  input.addEventListener('paste', (e) => {
    const pasted = [...(e.clipboardData?.files ?? [])];
    if (!pasted.length) return;
    e.preventDefault();
    a.add(pasted.map(pastedName));
  });
  const undrop = ctx.dropZone ? dropTarget(ctx.dropZone, (list) => list.length && a.add(list)) : () => {};

  return {
    button,
    picker,
    chips,
    error,
    /** Shows `uploads` (the state's list): chips that did not change keep their element. */
    render(uploads) {
      for (const [key, rec] of shown) {
        if (uploads.some((u) => u.key === key)) continue;
        rec.el.remove();
        shown.delete(key);
        files.delete(key);
      }
      uploads.forEach((u, i) => {
        let rec = shown.get(u.key);
        if (rec && rec.u !== u && rec.u.state === 'uploading' && u.state === 'uploading') {
          progressInPlace(rec.el, u); // the remove button keeps its focus
          rec.u = u;
        } else if (rec?.u !== u) {
          const el = chipView(u, a);
          rec?.el.replaceWith(el);
          rec = { u, el };
          shown.set(u.key, rec);
        }
        if (chips.children[i] !== rec.el) chips.insertBefore(rec.el, chips.children[i] ?? null);
      });
      chips.hidden = uploads.length === 0;
    },
    /** Waits for the uploads: the stored records, or null (a file failed: it says so). */
    async ready() {
      let sum = uploadSummary(ctx.getState().uploads);
      while (sum.busy && !ctx.isDead()) {
        await Promise.allSettled([...files.values()].map((f) => f.done));
        sum = uploadSummary(ctx.getState().uploads);
      }
      if (ctx.isDead()) return null;
      if (sum.failed.length) {
        const [u] = sum.failed;
        showError(`${u.name} was not uploaded. Remove it${u.retryable ? ' or retry' : ''} to send your message.`);
        return null;
      }
      return sum.attachments;
    },
    showError,
    /** Leaving the chat: uploads stop, and files stored but not sent are deleted. */
    destroy() {
      undrop();
      for (const f of files.values()) f.abort?.abort();
      for (const u of ctx.getState().uploads) if (u.state === 'stored') deleteFile(u.attachment.id).catch(() => {});
      files.clear();
    },
  };
}
