// Attachments as DOM, for messages, review cards and the files view: image thumbnails (a click
// opens the viewer), file cards with a download link, and text attachments shown inline
// (markdown through lib/markdown.js, CSV as a table, anything else as preformatted text; an
// HTML attachment is shown as its source text, never parsed). Built with text nodes only.

import { h, icon } from '../../lib/dom.js';
import { downloadUrl, formatSize, parseCsv, showsAsPicture, textKind, typeLabel } from '../../lib/files.js';
import { renderMarkdown } from '../../lib/markdown.js';
import { openViewer } from './viewer.js';

const CSV_ROWS = 200;
const KIND_NOTES = { html: 'HTML, shown as text', csv: 'CSV' };

const downloadAttrs = (a) => ({ href: downloadUrl(a.id, { download: true }), download: a.filename || 'file' });

/** A thumbnail button (`onOpen` opens the viewer). A picture that fails to load says so. */
export function thumbnail(a, { onOpen } = {}) {
  const img = h('img', { src: downloadUrl(a.id), alt: a.filename ?? '', loading: 'lazy', decoding: 'async', draggable: 'false' });
  const btn = h('button.att-thumb', {
    type: 'button', 'aria-label': `Open ${a.filename}`, title: `${a.filename} · ${formatSize(a.size)}`,
    'data-testid': 'attachment-image', dataset: { id: a.id }, onclick: onOpen,
  }, img);
  img.addEventListener('error', () => {
    btn.classList.add('broken');
    btn.replaceChildren(icon('image'), h('span.file-name', a.filename ?? ''));
  }, { once: true });
  return btn;
}

/** A file card: type badge, name, size; the whole card downloads the file. */
export function fileCard(a) {
  return h('a.file-card', { ...downloadAttrs(a), title: `Download ${a.filename}`, 'data-testid': 'attachment-file', dataset: { id: a.id } },
    h('span.file-icon', { 'aria-hidden': 'true' }, icon('file'), h('span.file-ext', typeLabel(a))),
    h('span.file-info', h('span.file-name', a.filename), h('span.file-size', formatSize(a.size))),
    icon('download', 'icon icon-sm file-dl'),
  );
}

/** A CSV text as a table: the first row is the header. */
function csvTable(text) {
  const { rows, rowCount, truncated, wide } = parseCsv(text, { maxRows: CSV_ROWS + 1 });
  if (!rows.length) return h('p.muted.small', 'Empty CSV file.');
  const [head, ...body] = rows;
  const width = Math.max(...rows.map((r) => r.length));
  const cells = (r, tag) => Array.from({ length: width }, (_, k) => h(tag, r[k] ?? ''));
  return h('div.att-csv',
    h('table.table.att-table',
      h('thead', h('tr', cells(head, 'th'))),
      h('tbody', body.map((r) => h('tr', cells(r, 'td')))),
    ),
    truncated ? h('p.muted.small', `Showing the first ${body.length} of ${rowCount - 1} rows.`) : null,
    wide ? h('p.muted.small', 'Some columns are not shown: download the file to see them all.') : null,
  );
}

/** A text attachment shown inline, with its name, size and a download link. */
export function textBlock(a) {
  const kind = textKind(a);
  const body = kind === 'markdown' ? renderMarkdown(a.textContent) : kind === 'csv' ? csvTable(a.textContent) : h('pre.att-pre', a.textContent);
  return h('figure.att-text', { 'data-testid': 'attachment-text', dataset: { id: a.id, kind } },
    h('figcaption.att-text-head',
      icon('file', 'icon icon-sm'),
      h('span.file-name', a.filename),
      h('span.att-text-meta', [formatSize(a.size), KIND_NOTES[kind]].filter(Boolean).join(' · ')),
      h('a.btn.btn-ghost.btn-icon.btn-sm.att-dl', { ...downloadAttrs(a), 'aria-label': `Download ${a.filename}`, title: 'Download' }, icon('download', 'icon icon-sm')),
    ),
    h('div.att-text-body', body),
  );
}

/** One attachment in its own form (thumbnail, inline text or card). */
export function attachmentView(a, { onOpen } = {}) {
  if (showsAsPicture(a)) return thumbnail(a, { onOpen: onOpen ?? (() => openViewer([a], 0)) });
  return textKind(a) ? textBlock(a) : fileCard(a);
}

/** The attachments of a message: pictures first (as a strip), then texts, then file cards. */
export function attachmentsView(list) {
  if (!Array.isArray(list) || !list.length) return null;
  const images = list.filter(showsAsPicture);
  const texts = list.filter((a) => !showsAsPicture(a) && textKind(a));
  const files = list.filter((a) => !showsAsPicture(a) && !textKind(a));
  return h('div.attachments', { 'data-testid': 'attachments' },
    images.length ? h('div.att-images', images.map((a, i) => thumbnail(a, { onOpen: () => openViewer(images, i) }))) : null,
    texts.map(textBlock),
    files.length ? h('div.att-files', files.map(fileCard)) : null,
  );
}
