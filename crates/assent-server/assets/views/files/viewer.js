// The image viewer: a full-screen modal <dialog> with the picture, its name and size, a
// download link and, for several pictures, previous / next (buttons and ← →). Esc, the close
// button or a click beside the picture closes it; focus goes back where it was.

import { h, icon } from '../../lib/dom.js';
import { downloadUrl, formatSize } from '../../lib/files.js';

/** Opens the viewer on `list[index]` (attachment records of pictures). */
export function openViewer(list, index = 0) {
  if (!list?.length) return;
  let at = Math.max(0, Math.min(index, list.length - 1));
  const img = h('img.viewer-img', { alt: '' });
  const name = h('span.viewer-name', { 'data-testid': 'viewer-name' });
  const size = h('span.viewer-size');
  const count = h('span.viewer-count');
  const download = h('a.btn.btn-sm', { 'data-testid': 'viewer-download' }, icon('download', 'icon icon-sm'), 'Download');
  const many = list.length > 1;
  const nav = (step, label, glyph) =>
    many ? h('button.btn.btn-icon.viewer-nav', { type: 'button', 'aria-label': label, title: label, onclick: () => show(at + step) }, icon(glyph)) : null;
  const close = h('button.btn.btn-ghost.btn-icon.viewer-close', { type: 'button', 'aria-label': 'Close', title: 'Close (Esc)' }, icon('x'));
  const stage = h('div.viewer-stage', nav(-1, 'Previous image', 'back'), h('div.viewer-frame', img), nav(1, 'Next image', 'next'));
  const dlg = h('dialog.viewer', { 'aria-label': 'Image viewer', 'data-testid': 'viewer' },
    h('div.viewer-bar', h('div.viewer-title', name, h('span.viewer-facts', size, count)), download, close),
    stage,
  );

  function show(k) {
    at = (k + list.length) % list.length;
    const a = list[at];
    img.src = downloadUrl(a.id);
    img.alt = a.filename ?? '';
    name.textContent = a.filename ?? '';
    size.textContent = formatSize(a.size);
    count.textContent = many ? ` · ${at + 1} of ${list.length}` : '';
    download.href = downloadUrl(a.id, { download: true });
    download.setAttribute('download', a.filename || 'image');
    download.setAttribute('aria-label', `Download ${a.filename}`);
  }

  close.addEventListener('click', () => dlg.close());
  dlg.addEventListener('click', (e) => {
    if (e.target === dlg || e.target === stage || e.target.classList?.contains('viewer-frame')) dlg.close();
  });
  dlg.addEventListener('keydown', (e) => {
    if (!many) return;
    if (e.key === 'ArrowLeft') show(at - 1);
    else if (e.key === 'ArrowRight') show(at + 1);
  });
  dlg.addEventListener('close', () => dlg.remove());
  show(at);
  document.body.append(dlg);
  dlg.showModal();
  close.focus();
  return dlg;
}
