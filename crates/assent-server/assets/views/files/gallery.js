// The files of one agent (/chats/{id}/files, the folder button of the chat header): every file
// of the conversation, newest first (GET /api/files?agent=…, paged with nextCursor), filtered
// by kind (all, pictures, other files) and by file name, with the viewer for pictures, a
// download link for each file and delete (after a confirmation).

import { client, describe, report } from '../../lib/api.js';
import { confirmDialog, h, icon, toast } from '../../lib/dom.js';
import { deleteFile, listFiles } from '../../lib/file-api.js';
import { downloadUrl, filesQuery, formatSize, keepFile, showsAsPicture, typeLabel } from '../../lib/files.js';
import { on, store } from '../../lib/store.js';
import { ago, fullDate } from '../../lib/time.js';
import { thumbnail } from './attachments.js';
import { openViewer } from './viewer.js';

const FILTERS = [['all', 'All'], ['image', 'Pictures'], ['other', 'Other files']];
/** "Other files" is filtered here: pages without any are skipped, up to this many at once. */
const MAX_SKIPPED_PAGES = 5;

function fileIcon(a) {
  return h('a.file-tile-icon', { href: downloadUrl(a.id, { download: true }), download: a.filename || 'file', 'aria-label': `Download ${a.filename}`, 'data-testid': 'attachment-file' },
    h('span.file-icon.file-icon-lg', icon('file'), h('span.file-ext', typeLabel(a))));
}

function tile(v, a) {
  const media = showsAsPicture(a) ? thumbnail(a, { onOpen: () => openPicture(v, a) }) : fileIcon(a);
  return h('article.file-tile', { 'data-testid': 'file-tile', dataset: { id: a.id } },
    h('div.file-tile-media', media),
    h('div.file-tile-info',
      h('span.file-name', { title: a.filename }, a.filename),
      h('span.file-tile-meta', formatSize(a.size), ' · ', h('time', { datetime: a.createdAt, title: fullDate(a.createdAt) }, ago(a.createdAt))),
      a.messageId || a.message ? null : h('span.pill', { title: 'Stored, but not part of a message' }, 'Not sent'),
    ),
    h('div.file-tile-actions',
      h('a.btn.btn-ghost.btn-icon.btn-sm', { href: downloadUrl(a.id, { download: true }), download: a.filename || 'file', 'aria-label': `Download ${a.filename}`, title: 'Download' }, icon('download', 'icon icon-sm')),
      h('button.btn.btn-ghost.btn-icon.btn-sm.btn-danger-text', { type: 'button', 'aria-label': `Delete ${a.filename}`, title: 'Delete', onclick: () => remove(v, a) }, icon('trash', 'icon icon-sm')),
    ),
  );
}

function openPicture(v, a) {
  const pictures = v.items.filter(showsAsPicture);
  openViewer(pictures, pictures.indexOf(a));
}

async function remove(v, a) {
  const ok = await confirmDialog({
    title: `Delete ${a.filename}?`,
    body: 'The file is removed from the conversation, for you and for the agent. This cannot be undone.',
    confirm: 'Delete file',
    danger: true,
  });
  if (!ok || v.dead) return;
  try {
    await deleteFile(a.id);
  } catch (err) {
    if (err.status !== 404) return report(err, 'Could not delete the file');
  }
  v.items = v.items.filter((x) => x.id !== a.id);
  v.grid.querySelector(`[data-id="${CSS.escape(a.id)}"]`)?.remove();
  toast(`Deleted ${a.filename}`);
  renderStatus(v);
}

function renderStatus(v) {
  v.more.hidden = !v.cursor || v.loading;
  const words = v.search || v.filter !== 'all' ? ['No matching files', 'Try another name or kind.'] : ['No files yet', 'Files you or the agent send in this conversation appear here.'];
  if (v.error) v.status.replaceChildren(h('div.alert.alert-danger', { role: 'alert' }, v.error));
  else if (v.loading && !v.items.length) v.status.replaceChildren(h('div.empty', h('span.spinner', { 'aria-label': 'Loading files' })));
  else if (!v.items.length) v.status.replaceChildren(h('div.empty', { 'data-testid': 'files-empty' }, icon('folder'), h('h2', words[0]), h('p', words[1])));
  else v.status.replaceChildren();
}

/** Loads the first page (`reset`) or the next one, skipping pages that the filter empties. */
async function load(v, reset) {
  const seq = ++v.seq;
  if (reset) {
    Object.assign(v, { items: [], cursor: null, error: '' });
    v.grid.replaceChildren();
  }
  v.loading = true;
  renderStatus(v);
  try {
    let skipped = 0;
    do {
      const page = await listFiles(filesQuery({ agent: v.id, filter: v.filter, search: v.search, cursor: v.cursor }));
      if (seq !== v.seq || v.dead) return;
      const kept = (page.data ?? []).filter(keepFile(v.filter));
      v.items.push(...kept);
      v.grid.append(...kept.map((a) => tile(v, a)));
      v.cursor = page.nextCursor ?? null;
      if (kept.length) break;
    } while (v.cursor && ++skipped < MAX_SKIPPED_PAGES);
  } catch (err) {
    if (seq !== v.seq || v.dead) return;
    if (err.status === 401) report(err);
    v.error = `Could not load the files: ${describe(err)}`;
  } finally {
    if (seq === v.seq) v.loading = false;
  }
  renderStatus(v);
}

function toolbar(v) {
  const seg = h('div.segmented', { role: 'group', 'aria-label': 'Kind of file' }, FILTERS.map(([value, label]) =>
    h('button', { type: 'button', 'aria-pressed': String(value === v.filter), dataset: { filter: value },
      onclick: () => {
        v.filter = value;
        seg.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.filter === value)));
        load(v, true);
      } }, label)));
  let timer = 0;
  const search = h('input.input.files-search', { type: 'search', placeholder: 'Search by file name', 'aria-label': 'Search files by name', maxlength: 200 });
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      v.search = search.value.trim();
      load(v, true);
    }, 250);
  });
  return h('div.files-toolbar', seg, search);
}

export function mountFiles(main, { id }) {
  const v = { id, filter: 'all', search: '', cursor: null, items: [], loading: false, error: '', seq: 0, dead: false };
  v.grid = h('div.file-grid', { 'data-testid': 'files-grid' });
  v.status = h('div.files-status');
  v.more = h('button.btn', { type: 'button', hidden: true, onclick: () => load(v, false) }, 'Load more');
  const name = h('span.muted');
  const showName = () => {
    const a = store.agents.get(id);
    name.textContent = a?.name ? `· ${a.name}` : '';
    document.title = `Files${a?.name ? ` · ${a.name}` : ''} · Assent`;
  };
  main.append(
    h('div.page-head.wide',
      h('a.btn.btn-ghost.btn-icon', { href: `/chats/${encodeURIComponent(id)}`, 'aria-label': 'Back to the conversation', title: 'Back to the conversation' }, icon('back')),
      h('h1', 'Files ', name),
    ),
    h('div.page-body', h('div.files-page', toolbar(v), v.grid, v.status, h('div.files-more', v.more))),
  );
  showName();
  if (!store.agents.get(id)) client.agents.get(id).then((a) => !v.dead && (name.textContent = `· ${a.name}`), () => {});
  const off = on('agents', showName);
  load(v, true);
  return () => {
    v.dead = true;
    off();
  };
}
