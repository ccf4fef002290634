// Attachments without the DOM: sizes, kinds, download addresses, CSV parsing, the query of
// the files view and the words for a failed upload. Pure (runs under plain `node`).
//
// An attachment record is the server's JSON: {id, messageId, channelId, filename, mimeType,
// size, pluginType ('@uax/image' | '@uax/file'), createdAt, textContent?}.

export const IMAGE_PLUGIN = '@uax/image';

/** "0 B", "512 B", "1.5 KB", "12 KB", "1.2 MB", "3 GB" (powers of 1024). */
export function formatSize(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return '';
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  // 9.96 would round to "10.0": pick the precision from the rounded value.
  const one = Math.round(v * 10) / 10;
  const s = one < 10 ? String(one) : String(Math.round(v));
  return `${s} ${units[u]}`;
}

/** The MIME type without parameters, lower case ("text/csv; charset=utf-8" → "text/csv"). */
export const baseMime = (mime) => String(mime ?? '').split(';')[0].trim().toLowerCase();

/** Whether the attachment is an image (`@uax/image`, or an image/* type): the files view's "Pictures". */
export const isImage = (a) => (a?.pluginType ? a.pluginType === IMAGE_PLUGIN : baseMime(a?.mimeType).startsWith('image/'));

/** The image types the server serves inline (SVG and the rest come only as downloads). */
const RASTER = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** Whether the dashboard shows the attachment as a picture (thumbnail and viewer), not as a card. */
export const showsAsPicture = (a) => isImage(a) && RASTER.has(baseMime(a?.mimeType));

/**
 * How an attachment's `textContent` is shown inline: 'markdown', 'csv', 'plain' (also HTML,
 * which is only ever shown as text), or null (no text: a file card).
 */
export function textKind(a) {
  if (typeof a?.textContent !== 'string') return null;
  const m = baseMime(a.mimeType);
  if (m === 'text/markdown' || m === 'text/x-markdown') return 'markdown';
  if (m === 'text/csv') return 'csv';
  if (m === 'text/html') return 'html';
  return 'plain';
}

/** Where the bytes are: served inline when the server allows it, `download` forces a download. */
export function downloadUrl(id, { download = false } = {}) {
  return `/api/files/${encodeURIComponent(id)}/download${download ? '?download=1' : ''}`;
}

/** A short badge for a file card: the extension ("PDF", "ZIP") or the MIME subtype. */
export function typeLabel(a) {
  const ext = /\.([A-Za-z0-9]{1,5})$/.exec(String(a?.filename ?? ''))?.[1];
  if (ext) return ext.toUpperCase();
  const sub = baseMime(a?.mimeType).split('/')[1] ?? '';
  const short = sub.replace(/^(x-|vnd\.)/, '').split(/[.+-]/)[0];
  return short ? short.slice(0, 5).toUpperCase() : 'FILE';
}

/** Guesses the delimiter of a CSV text from its first line: ',', ';' or a tab. */
function sniffDelimiter(text) {
  const first = text.slice(0, Math.max(0, text.indexOf('\n')) || 2000);
  let best = ',';
  let most = 0;
  for (const d of [',', ';', '\t']) {
    const n = first.split(d).length - 1;
    if (n > most) {
      most = n;
      best = d;
    }
  }
  return best;
}

/**
 * Parses CSV (RFC 4180: quoted fields with "" for a quote, delimiters and line breaks inside
 * quotes, CRLF or LF). One pass over the text. Keeps at most `maxRows` rows and `maxCols`
 * columns; `rowCount` is the number of rows in the whole text.
 * Returns {rows: string[][], rowCount, truncated (rows were left out), wide (columns were)}.
 */
export function parseCsv(text, { maxRows = 200, maxCols = 50, delimiter } = {}) {
  const s = String(text ?? '').replace(/^\uFEFF/, '');
  const d = delimiter ?? sniffDelimiter(s);
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  let rowCount = 0;
  let wide = false;
  const endField = () => {
    if (row.length < maxCols) row.push(field);
    else wide = true;
    field = '';
  };
  const endRow = () => {
    endField();
    if (rows.length < maxRows) rows.push(row);
    rowCount++;
    row = [];
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c !== '"') field += c;
      else if (s[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === d) endField();
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      endRow();
    } else field += c;
  }
  if (field !== '' || row.length || quoted) endRow();
  return { rows, rowCount, truncated: rowCount > rows.length, wide };
}

/** The files view's filters: all, images only, or everything but images. */
export const FILE_FILTERS = Object.freeze(['all', 'image', 'other']);

/**
 * The query of GET /api/files for the files view. The server filters by MIME prefix (`type`),
 * so "other" asks for everything and `keepFile` drops the images.
 */
export function filesQuery({ agent, filter = 'all', search = '', cursor = null, limit = 30 } = {}) {
  const q = { agent, limit };
  if (filter === 'image') q.type = 'image';
  const term = String(search ?? '').trim();
  if (term) q.search = term;
  if (cursor) q.cursor = cursor;
  return q;
}

/** Whether a listed file belongs in the view under `filter`. */
export const keepFile = (filter) => (a) => (filter === 'image' ? isImage(a) : filter === 'other' ? !isImage(a) : true);

/**
 * The sentence for a failed upload (an AssentError-like `{status, code, message}`), about
 * `name` when given ("x.png is too large …"), else without a subject ("Too large …", for the
 * file's own chip). A 413 names the server's limit when its message gives it in bytes.
 */
export function uploadErrorText(err, name = null) {
  if (err?.status === 413 || err?.code === 'payload_too_large') {
    const limit = /(\d{4,})\s*bytes/.exec(err?.message ?? '')?.[1];
    const why = limit ? ` (the limit is ${formatSize(Number(limit))})` : '';
    return `${name ? `${name} is too` : 'Too'} large to upload${why}.`;
  }
  if (err?.status === 401) return 'Your session has ended. Sign in again.';
  const lead = name ? `${name} could not be uploaded` : 'Not uploaded';
  if (err?.status === 0) return `${lead}: the server did not answer.`;
  return `${lead}: ${String(err?.message || 'something went wrong').replace(/\.$/, '')}.`;
}
