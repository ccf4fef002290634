// The dashboard's attachment helpers (assets/lib/files.js): sizes, kinds, download
// addresses, CSV parsing, the files view's query and filter, the words for a failed upload.
//
//   node --test crates/assent-server/tests/js/

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  baseMime,
  downloadUrl,
  filesQuery,
  formatSize,
  isImage,
  keepFile,
  parseCsv,
  showsAsPicture,
  textKind,
  typeLabel,
  uploadErrorText,
} from '../../assets/lib/files.js';

test('sizes read like "1.2 MB": bytes below 1 KB, one decimal below 10, powers of 1024', () => {
  assert.equal(formatSize(0), '0 B');
  assert.equal(formatSize(512), '512 B');
  assert.equal(formatSize(1023), '1023 B');
  assert.equal(formatSize(1024), '1 KB');
  assert.equal(formatSize(1536), '1.5 KB');
  assert.equal(formatSize(12345), '12 KB');
  assert.equal(formatSize(1.2 * 1024 * 1024), '1.2 MB');
  assert.equal(formatSize(100 * 1024 * 1024), '100 MB');
  assert.equal(formatSize(3 * 1024 ** 3), '3 GB');
  // 9.96 KB rounds to 10, not to "10.0"
  assert.equal(formatSize(9.96 * 1024), '10 KB');
  assert.equal(formatSize(1024 ** 5), '1024 TB');
  assert.equal(formatSize(-1), '');
  assert.equal(formatSize('x'), '');
  assert.equal(formatSize(undefined), '');
});

test('an attachment is a picture by its plugin type, else by its MIME type', () => {
  assert.equal(isImage({ pluginType: '@uax/image', mimeType: 'image/png' }), true);
  assert.equal(isImage({ pluginType: '@uax/file', mimeType: 'image/png' }), false);
  assert.equal(isImage({ mimeType: 'IMAGE/JPEG' }), true);
  assert.equal(isImage({ mimeType: 'application/pdf' }), false);
  assert.equal(isImage(null), false);
  assert.equal(baseMime('Text/CSV; charset=utf-8'), 'text/csv');
});

test('only the raster types the server serves inline show as pictures; an SVG is a file card', () => {
  for (const mimeType of ['image/png', 'image/jpeg', 'image/gif', 'image/webp']) assert.equal(showsAsPicture({ pluginType: '@uax/image', mimeType }), true, mimeType);
  for (const mimeType of ['image/svg+xml', 'image/tiff', 'image/heic']) {
    assert.equal(showsAsPicture({ pluginType: '@uax/image', mimeType }), false, mimeType);
    assert.equal(isImage({ pluginType: '@uax/image', mimeType }), true, `${mimeType} is still an image for the filter`);
  }
  assert.equal(showsAsPicture({ pluginType: '@uax/file', mimeType: 'image/png' }), false);
});

test('text attachments render by kind; HTML is its own kind (shown as text); no text means a card', () => {
  assert.equal(textKind({ mimeType: 'text/markdown', textContent: '# hi' }), 'markdown');
  assert.equal(textKind({ mimeType: 'text/markdown; charset=utf-8', textContent: '' }), 'markdown');
  assert.equal(textKind({ mimeType: 'text/csv', textContent: 'a,b' }), 'csv');
  assert.equal(textKind({ mimeType: 'text/plain', textContent: 'x' }), 'plain');
  assert.equal(textKind({ mimeType: 'text/html', textContent: '<b>x</b>' }), 'html');
  assert.equal(textKind({ mimeType: 'text/markdown' }), null, 'too big for textContent: a file card');
  assert.equal(textKind({ mimeType: 'application/pdf', textContent: null }), null);
});

test('download addresses: inline by default, ?download=1 to force a download, ids escaped', () => {
  assert.equal(downloadUrl('c1'), '/api/files/c1/download');
  assert.equal(downloadUrl('c1', { download: true }), '/api/files/c1/download?download=1');
  assert.equal(downloadUrl('a/b?c'), '/api/files/a%2Fb%3Fc/download');
});

test('file cards are badged with the extension, else the MIME subtype', () => {
  assert.equal(typeLabel({ filename: 'report.pdf' }), 'PDF');
  assert.equal(typeLabel({ filename: 'archive.tar.gz' }), 'GZ');
  assert.equal(typeLabel({ filename: 'README', mimeType: 'application/zip' }), 'ZIP');
  assert.equal(typeLabel({ filename: 'x', mimeType: 'application/vnd.ms-excel' }), 'MS');
  assert.equal(typeLabel({ filename: 'x', mimeType: 'application/x-tar' }), 'TAR');
  assert.equal(typeLabel({ filename: 'noext' }), 'FILE');
});

test('CSV: quoted fields, doubled quotes, delimiters and line breaks inside quotes, CRLF', () => {
  const { rows, rowCount, truncated, wide } = parseCsv('name,note\r\n"Smith, J","said ""hi"""\r\nLee,"two\nlines"\r\n');
  assert.deepEqual(rows, [['name', 'note'], ['Smith, J', 'said "hi"'], ['Lee', 'two\nlines']]);
  assert.equal(rowCount, 3);
  assert.equal(truncated, false);
  assert.equal(wide, false);
  assert.deepEqual(parseCsv('a,b\n1,2').rows, [['a', 'b'], ['1', '2']], 'no final newline');
  assert.deepEqual(parseCsv('a,,c\n').rows, [['a', '', 'c']], 'empty fields');
  assert.deepEqual(parseCsv('').rows, []);
  assert.deepEqual(parseCsv('\uFEFFa,b').rows, [['a', 'b']], 'a byte order mark is dropped');
  assert.deepEqual(parseCsv('"unterminated,x').rows, [['unterminated,x']]);
});

test('CSV: the delimiter is guessed from the first line (comma, semicolon, tab)', () => {
  assert.deepEqual(parseCsv('a;b;c\n1;2,5;3').rows, [['a', 'b', 'c'], ['1', '2,5', '3']]);
  assert.deepEqual(parseCsv('a\tb\n1\t2').rows, [['a', 'b'], ['1', '2']]);
  assert.deepEqual(parseCsv('a;b', { delimiter: ',' }).rows, [['a;b']]);
});

test('CSV: rows and columns are capped, and the parse is linear in the text', () => {
  const text = Array.from({ length: 1000 }, (_, i) => `${i},x`).join('\n');
  const r = parseCsv(text, { maxRows: 10 });
  assert.equal(r.rows.length, 10);
  assert.equal(r.rowCount, 1000);
  assert.equal(r.truncated, true);
  const w = parseCsv('1,2,3,4,5', { maxCols: 3 });
  assert.deepEqual(w.rows, [['1', '2', '3']]);
  assert.equal(w.wide, true);
  // 64 KB of quotes and commas: well under a second
  const hostile = '"'.repeat(32_000) + ','.repeat(32_000);
  const t0 = performance.now();
  parseCsv(hostile);
  parseCsv(','.repeat(64_000));
  assert.ok(performance.now() - t0 < 1000);
});

test('the files view asks the server for the agent, pictures by MIME prefix, a name and a page', () => {
  assert.deepEqual(filesQuery({ agent: 'c1' }), { agent: 'c1', limit: 30 });
  assert.deepEqual(filesQuery({ agent: 'c1', filter: 'image', search: '  shot ', cursor: 'k', limit: 10 }), { agent: 'c1', limit: 10, type: 'image', search: 'shot', cursor: 'k' });
  // "other files" cannot be asked for by prefix: everything is fetched, the pictures dropped here
  assert.deepEqual(filesQuery({ agent: 'c1', filter: 'other' }), { agent: 'c1', limit: 30 });
  const list = [{ id: 1, pluginType: '@uax/image' }, { id: 2, pluginType: '@uax/file' }];
  assert.deepEqual(list.filter(keepFile('all')).map((a) => a.id), [1, 2]);
  assert.deepEqual(list.filter(keepFile('image')).map((a) => a.id), [1]);
  assert.deepEqual(list.filter(keepFile('other')).map((a) => a.id), [2]);
});

test('a failed upload says why: too large (413, with the limit), no answer, session gone, or the server message', () => {
  const big = { status: 413, code: 'payload_too_large', message: 'The file is larger than the upload limit of 104857600 bytes' };
  assert.equal(uploadErrorText(big, 'big.iso'), 'big.iso is too large to upload (the limit is 100 MB).');
  assert.equal(uploadErrorText(big), 'Too large to upload (the limit is 100 MB).');
  assert.equal(uploadErrorText({ status: 413, message: 'Payload too large' }, 'big.iso'), 'big.iso is too large to upload.');
  assert.equal(uploadErrorText({ status: 0 }, 'a.png'), 'a.png could not be uploaded: the server did not answer.');
  assert.equal(uploadErrorText({ status: 0 }), 'Not uploaded: the server did not answer.');
  assert.equal(uploadErrorText({ status: 401 }, 'a.png'), 'Your session has ended. Sign in again.');
  assert.equal(uploadErrorText({ status: 400, message: 'channelId: is required.' }, 'a.png'), 'a.png could not be uploaded: channelId: is required.');
  assert.equal(uploadErrorText(null), 'Not uploaded: something went wrong.');
});
