// Attachments through a real browser: an agent's pictures, files and text attachments in the
// chat (thumbnail, viewer, file card, inline markdown / CSV / HTML-as-text); the human
// attaching files with the picker, by dropping them and by pasting them (the agent reads the
// message with its attachments), and a file over the upload limit; a review with an attachment answered
// with a modified file (the agent reads `modifiedFileIds`); the files view of an agent
// (filters, search, paging, delete).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  API_URL,
  TEST_TIMEOUT_MS,
  agentPost,
  agentSocket,
  api,
  assertClean,
  createReviewer,
  launch,
  newPage,
  setupAgent,
  shot,
  shutdown,
  signIn,
} from './helpers.mjs';

let browser;
let me;
/** Pictures drawn once in the browser (real PNGs, as a screenshot is one). */
const png = {};
before(async () => {
  browser = await launch();
  me = await createReviewer();
  png.chart = await drawPng(chartSvg(), 640, 360);
  png.diagram = await drawPng(diagramSvg('#0891b2', 'Architecture v2'), 480, 320);
  png.edited = await drawPng(diagramSvg('#059669', 'Architecture v2 (edited)'), 480, 320);
});
after(() => shutdown(browser));

// ---------------------------------------------------------------- fixtures

function chartSvg() {
  const bars = [42, 58, 51, 77, 64, 88, 95, 71, 83, 99, 90, 112];
  const rects = bars.map((v, i) => `<rect x="${60 + i * 46}" y="${300 - v * 2.2}" width="30" height="${v * 2.2}" rx="4" fill="${i === bars.length - 1 ? '#4f46e5' : '#a5b4fc'}"/>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360" viewBox="0 0 640 360">
    <rect width="640" height="360" fill="#ffffff"/>
    <text x="30" y="42" font-family="sans-serif" font-size="22" font-weight="700" fill="#1a1e25">p99 latency by week (ms)</text>
    <line x1="50" y1="300" x2="620" y2="300" stroke="#c9ced8" stroke-width="2"/>${rects}
    <text x="30" y="338" font-family="sans-serif" font-size="14" fill="#5f6877">Weeks 37–48 · checkout service</text></svg>`;
}

function diagramSvg(color, title) {
  const box = (x, y, label) => `<rect x="${x}" y="${y}" width="130" height="56" rx="10" fill="${color}" opacity="0.9"/><text x="${x + 65}" y="${y + 34}" text-anchor="middle" font-family="sans-serif" font-size="16" fill="#fff">${label}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="320" viewBox="0 0 480 320">
    <rect width="480" height="320" fill="#f5f6f8"/>
    <text x="24" y="40" font-family="sans-serif" font-size="20" font-weight="700" fill="#1a1e25">${title}</text>
    ${box(30, 90, 'Gateway')}${box(320, 90, 'Workers')}${box(175, 220, 'Database')}
    <path d="M160 118 H320 M95 146 L210 220 M385 146 L270 220" stroke="#5f6877" stroke-width="3" fill="none"/></svg>`;
}

/** Renders an SVG in a blank page and returns its screenshot: the bytes of a real PNG. */
async function drawPng(svg, width, height) {
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.setContent(`<body style="margin:0">${svg}</body>`);
  const bytes = await page.screenshot({ clip: { x: 0, y: 0, width, height } });
  await context.close();
  return bytes;
}

const PDF = Buffer.from(`%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n${'% padding\n'.repeat(120)}trailer << /Root 1 0 R >>\n%%EOF\n`);

/** A multipart upload as the agent (POST /api/v1/files/upload or …/store). */
async function agentUpload(key, route, channelId, { name, type, bytes }) {
  const form = new FormData();
  form.append('channelId', channelId);
  form.append('file', new Blob([bytes], { type }), name);
  const res = await fetch(API_URL + route, { method: 'POST', headers: { 'x-api-key': key, accept: 'application/json' }, body: form, signal: AbortSignal.timeout(40_000) });
  const text = await res.text();
  assert.equal(res.status, 201, `POST ${route} → ${res.status}: ${text.slice(0, 400)}`);
  return JSON.parse(text);
}

async function openChat(page, channelId) {
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  await page.getByTestId('timeline').waitFor();
}

/** Whether every <img> under `locator` has loaded a picture (through the session cookie). */
async function waitForPictures(page, locator) {
  await page.waitForFunction((els) => els.length > 0 && els.every((i) => i.complete && i.naturalWidth > 0), await locator.locator('img').elementHandles(), { timeout: 10_000 });
}

/** Dispatches files at an element as a drop (with the drag before it) or a paste, in the page. */
async function dispatchFiles(page, selector, kind, files) {
  const payload = files.map((f) => ({ name: f.name, type: f.type, b64: Buffer.from(f.bytes).toString('base64') }));
  await page.evaluate(({ selector, kind, payload }) => {
    const dt = new DataTransfer();
    for (const f of payload) {
      const bin = atob(f.b64);
      const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    const el = document.querySelector(selector);
    if (kind === 'paste') {
      el.dispatchEvent(new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: dt }));
      return;
    }
    for (const type of ['dragenter', 'dragover']) el.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    window.__dropOverlayShown = !document.querySelector('.drop-overlay')?.hidden;
    el.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
  }, { selector, kind, payload });
}

/** Message `id` as the agent lists it (GET /api/v1/messages?channel=…, newest first). */
async function agentLists(key, channelId, id) {
  const r = await api('GET', `/api/v1/messages?channel=${channelId}&limit=50`, { apiKey: key, expect: 200 });
  const m = r.body.data.find((x) => x.id === id);
  assert.ok(m, `message ${id} is listed`);
  return m;
}

// ---------------------------------------------------------------- tests

test('an agent sends a picture and a file: thumbnail and file card in the chat; the viewer opens and closes', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Perf analyst', tag: 'ops' });
  await agentPost(key, channelId, { text: 'Weekly performance review: p99 is **up 12%** on checkout.' });
  const up = await agentUpload(key, '/api/v1/files/upload', channelId, { name: 'p99-latency.png', type: 'image/png', bytes: png.chart });
  assert.equal(up.pluginType, '@uax/image');
  assert.equal(up.mimeType, 'image/png');
  assert.ok(up.message?.id, 'the upload posted a message');
  const pdf = await agentUpload(key, '/api/v1/files/store', channelId, { name: 'perf-report.pdf', type: 'application/pdf', bytes: PDF });
  assert.equal(pdf.messageId, null, 'stored unlinked');
  // An SVG is an image, but the server serves it only as a download: a card, not a thumbnail.
  const svg = await agentUpload(key, '/api/v1/files/store', channelId, { name: 'flame-graph.svg', type: 'image/svg+xml', bytes: Buffer.from(diagramSvg('#d97706', 'Flame graph')) });
  assert.equal(svg.pluginType, '@uax/image');
  const withPdf = await agentPost(key, channelId, { text: 'The full report, with the flame graphs:', attachmentIds: [pdf.id, svg.id] });
  assert.deepEqual(withPdf.attachments?.map((a) => a.id), [pdf.id, svg.id]);

  const page = await newPage(browser);
  await openChat(page, channelId);
  const pictureMsg = page.locator(`[data-id="${up.message.id}"]`);
  const thumb = pictureMsg.getByTestId('attachment-image');
  await thumb.waitFor();
  await waitForPictures(page, pictureMsg);
  assert.equal(await thumb.locator('img').getAttribute('src'), `/api/files/${up.id}/download`);
  assert.equal(await thumb.locator('img').getAttribute('loading'), 'lazy');
  assert.ok(await pictureMsg.locator('.bubble.att-only').count(), 'a message with only a file has no empty text line');
  const cards = page.locator(`[data-id="${withPdf.id}"]`).getByTestId('attachment-file');
  const card = cards.filter({ hasText: 'perf-report.pdf' });
  await card.waitFor();
  await cards.filter({ hasText: 'flame-graph.svg' }).waitFor();
  assert.equal(await page.locator(`[data-id="${withPdf.id}"]`).getByTestId('attachment-image').count(), 0);
  await card.getByText(/^1(\.\d)? KB$/).waitFor();
  assert.equal(await card.getAttribute('href'), `/api/files/${pdf.id}/download?download=1`);
  // The link downloads (the session cookie is enough), as an attachment.
  const dl = await page.evaluate(async (href) => {
    const r = await fetch(href);
    return { status: r.status, disposition: r.headers.get('content-disposition'), size: (await r.arrayBuffer()).byteLength };
  }, await card.getAttribute('href'));
  assert.equal(dl.status, 200);
  assert.match(dl.disposition ?? '', /^attachment/);
  assert.equal(dl.size, PDF.length);
  await shot(page, 'chat-files-desktop');

  // The viewer: the full picture, its name and size, a download link; Esc closes it.
  await thumb.click();
  const viewer = page.getByTestId('viewer');
  await viewer.waitFor();
  await viewer.getByTestId('viewer-name').getByText('p99-latency.png').waitFor();
  await viewer.getByText(/\d+(\.\d)? KB/).waitFor();
  assert.equal(await viewer.getByTestId('viewer-download').getAttribute('href'), `/api/files/${up.id}/download?download=1`);
  await waitForPictures(page, viewer);
  await shot(page, 'file-viewer-desktop');
  await page.keyboard.press('Escape');
  await viewer.waitFor({ state: 'detached' });
  // A click beside the picture closes it too, and so does the close button.
  await thumb.click();
  await viewer.waitFor();
  await page.mouse.click(20, 400);
  await viewer.waitFor({ state: 'detached' });
  await thumb.click();
  await viewer.getByRole('button', { name: 'Close' }).click();
  await viewer.waitFor({ state: 'detached' });
  assertClean(page);
  await page.context().close();
});

test('text attachments show inline: markdown rendered, CSV as a table, HTML only as text', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Release scribe', tag: 'product' });
  const notes = '# Release notes v2.5\n\n- **Faster** checkout (p99 −18%)\n- New `dark` theme\n\n> Ships Tuesday.';
  const hostile = '<img src=x onerror="window.pwned=1"><b>bold?</b><script>window.pwned=2</script>';
  const m = await agentPost(key, channelId, {
    text: 'The notes and the numbers for the release:',
    textAttachments: [
      { content: notes, filename: 'release-notes.md', mimeType: 'text/markdown' },
      { content: 'region,orders,change\neu-west,"12,400",+8%\nus-east,9800,+3%', filename: 'orders.csv', mimeType: 'text/csv' },
      { content: hostile, filename: 'preview.html', mimeType: 'text/html' },
    ],
  });
  assert.equal(m.attachments?.length, 3);
  assert.equal(m.attachments.find((a) => a.filename === 'release-notes.md')?.textContent, notes);

  const page = await newPage(browser);
  await openChat(page, channelId);
  const msg = page.locator(`[data-id="${m.id}"]`);
  const md = msg.locator('[data-testid="attachment-text"][data-kind="markdown"]');
  await md.locator('h1').getByText('Release notes v2.5').waitFor();
  await md.locator('strong').getByText('Faster').waitFor();
  await md.locator('code').getByText('dark').waitFor();
  await md.locator('blockquote').getByText('Ships Tuesday.').waitFor();
  const csv = msg.locator('[data-testid="attachment-text"][data-kind="csv"]');
  assert.deepEqual(await csv.locator('th').allTextContents(), ['region', 'orders', 'change']);
  assert.deepEqual(await csv.locator('tbody tr').first().locator('td').allTextContents(), ['eu-west', '12,400', '+8%']);
  const html = msg.locator('[data-testid="attachment-text"][data-kind="html"]');
  assert.equal(await html.locator('pre').textContent(), hostile);
  assert.equal(await html.locator('img, b, script').count(), 0, 'HTML is shown as text, never parsed');
  await html.getByText('HTML, shown as text').waitFor();
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  // Each has its download link.
  assert.equal(await md.getByRole('link', { name: 'Download release-notes.md' }).getAttribute('href'), `/api/files/${m.attachments.find((a) => a.filename === 'release-notes.md').id}/download?download=1`);
  await msg.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await shot(page, 'chat-text-attachments-desktop');
  assertClean(page);
  await page.context().close();
});

test('the human attaches files with the picker, by dropping and by pasting; the agent reads them', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Design reviewer', tag: 'product' });
  const agent = await agentSocket(t, key, channelId);
  await agentPost(key, channelId, { text: 'Send me the diagrams when you have them.' });
  const page = await newPage(browser);
  await openChat(page, channelId);
  const composer = page.getByTestId('composer');
  const chips = page.getByTestId('upload-chip');

  // 1. The picker (two files at once), with text.
  await page.getByTestId('file-input').setInputFiles([
    { name: 'architecture.png', mimeType: 'image/png', buffer: png.diagram },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Gateway → workers → database.\n') },
  ]);
  await chips.nth(1).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="upload-chip"]')].every((c) => c.dataset.state === 'stored'), null, { timeout: 10_000 });
  await page.locator('.upload-chip img.chip-thumb').waitFor();
  await composer.fill('Here is the new architecture.');
  await composer.press('Enter');
  const first = await agent.waitFor('message:created', (m) => m.senderType === 'user' && m.attachments?.length === 2);
  assert.equal(first.text, 'Here is the new architecture.');
  assert.deepEqual(first.attachments.map((a) => a.filename).sort(), ['architecture.png', 'notes.txt']);
  assert.ok(first.attachments.every((a) => a.messageId === first.id));
  await chips.first().waitFor({ state: 'detached' });
  const sent = page.locator(`[data-id="${first.id}"]`);
  await sent.getByTestId('attachment-image').waitFor();
  await sent.locator('[data-testid="attachment-text"][data-kind="plain"]').getByText('Gateway → workers → database.').waitFor();
  const read = await agentLists(key, channelId, first.id);
  assert.equal(read.attachments.length, 2, 'the agent API lists the message with its attachments');
  const bytes = await fetch(`${API_URL}/api/v1/files/${read.attachments.find((a) => a.filename === 'architecture.png').id}/download`, { headers: { 'x-api-key': key } });
  assert.equal(bytes.status, 200);
  assert.ok(Buffer.from(await bytes.arrayBuffer()).equals(png.diagram), 'the agent downloads the same bytes');

  // 2. Dropped on the chat, sent without text.
  await dispatchFiles(page, '[data-testid="timeline"]', 'drop', [{ name: 'flow.png', type: 'image/png', bytes: png.edited }]);
  assert.equal(await page.evaluate(() => window.__dropOverlayShown), true, 'the drop overlay showed while dragging');
  await page.locator('.drop-overlay').waitFor({ state: 'hidden' });
  await page.locator('[data-testid="upload-chip"][data-state="stored"]').getByText('flow.png').waitFor({ timeout: 10_000 });
  await composer.press('Enter');
  const dropped = await agent.waitFor('message:created', (m) => m.senderType === 'user' && m.attachments?.[0]?.filename === 'flow.png');
  assert.ok(!dropped.text, 'a message may carry only files');
  await page.locator(`[data-id="${dropped.id}"] .bubble.att-only`).waitFor();

  // 3. Pasted into the message field: a screenshot gets a telling name.
  await composer.focus();
  await dispatchFiles(page, '[data-testid="composer"]', 'paste', [{ name: 'image.png', type: 'image/png', bytes: png.chart }]);
  const pastedChip = page.locator('[data-testid="upload-chip"][data-state="stored"]');
  await pastedChip.getByText(/^pasted-\d{8}-\d{6}\.png$/).waitFor({ timeout: 10_000 });
  await composer.fill('And the latency chart.');
  await page.getByRole('button', { name: 'Send' }).click();
  const pasted = await agent.waitFor('message:created', (m) => m.senderType === 'user' && m.text === 'And the latency chart.');
  assert.match(pasted.attachments?.[0]?.filename ?? '', /^pasted-\d{8}-\d{6}\.png$/);
  assert.equal(pasted.attachments[0].pluginType, '@uax/image');
  assert.equal((await agentLists(key, channelId, pasted.id)).attachments[0].id, pasted.attachments[0].id);

  // The agent answers live with a picture: it appears without a reload.
  const reply = await agentUpload(key, '/api/v1/files/upload', channelId, { name: 'annotated.png', type: 'image/png', bytes: png.edited });
  const live = page.locator(`[data-id="${reply.message.id}"]`);
  await live.getByTestId('attachment-image').waitFor({ timeout: 10_000 });
  await waitForPictures(page, live);

  // 4. The paperclip opens the file chooser (several files allowed). Removing a chip deletes
  // the stored file; nothing is sent.
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Attach files' }).click();
  const picker = await chooser;
  assert.equal(picker.isMultiple(), true);
  await picker.setFiles({ name: 'draft.txt', mimeType: 'text/plain', buffer: Buffer.from('draft') });
  await page.locator('[data-testid="upload-chip"][data-state="stored"]').getByText('draft.txt').waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: 'Remove draft.txt' }).click();
  await chips.first().waitFor({ state: 'detached' });
  const count = agent.events.filter((e) => e.event === 'message:created').length;
  await page.waitForTimeout(300);
  assert.equal(agent.events.filter((e) => e.event === 'message:created').length, count, 'nothing sent');
  assertClean(page);
  await page.context().close();
});

test('a file over the upload limit (413) says it is too large and keeps the message; removing it lets the text go', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Archive bot', tag: 'ops' });
  const agent = await agentSocket(t, key, channelId);
  // One byte over the server's default limit (100 MiB); sparse, so cheap to make.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'assent-big-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const big = path.join(dir, 'dump.sql.gz');
  writeFileSync(big, '');
  truncateSync(big, 100 * 1024 * 1024 + 1);
  const page = await newPage(browser);
  await openChat(page, channelId);
  const composer = page.getByTestId('composer');
  await composer.fill('The full database dump is attached.');
  await page.getByTestId('file-input').setInputFiles(big);
  const chip = page.locator('[data-testid="upload-chip"][data-state="failed"]');
  await chip.getByText('Too large to upload (the limit is 100 MB).').waitFor({ timeout: 60_000 });
  assert.equal(await chip.getByRole('button', { name: 'Retry' }).count(), 0, 'a 413 is not retried');
  await composer.press('Enter');
  await page.getByTestId('composer-error').getByText('dump.sql.gz was not uploaded. Remove it to send your message.').waitFor();
  assert.equal(await composer.inputValue(), 'The full database dump is attached.', 'the text stays');
  await shot(page, 'composer-upload-too-large-desktop');
  await page.getByRole('button', { name: 'Remove dump.sql.gz' }).click();
  await page.getByTestId('composer-error').waitFor({ state: 'hidden' });
  await composer.press('Enter');
  const m = await agent.waitFor('message:created', (x) => x.text === 'The full database dump is attached.');
  assert.deepEqual(m.attachments ?? [], []);
  assertClean(page, [/413/]);
  await page.context().close();
});

test('a review with an attachment shows it in the card; the answer with a modified file reaches the agent', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Diagram bot', tag: 'product' });
  const agent = await agentSocket(t, key, channelId);
  const orig = await agentUpload(key, '/api/v1/files/store', channelId, { name: 'architecture.png', type: 'image/png', bytes: png.diagram });
  const spec = await agentUpload(key, '/api/v1/files/store', channelId, { name: 'spec.pdf', type: 'application/pdf', bytes: PDF });
  const review = await agentPost(key, channelId, {
    text: 'Can I publish this **architecture diagram** with the spec?',
    attachmentIds: [orig.id, spec.id],
    review: { type: 'approval', payload: { options: [{ id: 'approve', label: 'Publish', style: 'primary' }, { id: 'reject', label: 'Reject', style: 'danger' }] } },
  });
  assert.equal(review.attachments?.length, 2);

  const page = await newPage(browser);
  await openChat(page, channelId);
  const card = page.locator(`[data-id="${review.id}"]`).getByTestId('review-card');
  const files = card.getByTestId('review-files');
  await files.getByTestId('attachment-image').waitFor();
  await files.getByTestId('attachment-file').getByText('spec.pdf').waitFor();
  assert.equal(await page.locator(`[data-id="${review.id}"] .bubble > .attachments`).count(), 0, 'shown once, in the card');
  await waitForPictures(page, files.getByTestId('attachment-image'));

  // Replace the picture with an edited one, through the file chooser.
  const chooser = page.waitForEvent('filechooser');
  await card.getByRole('button', { name: 'Replace architecture.png with a modified file' }).click();
  await (await chooser).setFiles({ name: 'architecture-edited.png', mimeType: 'image/png', buffer: png.edited });
  await card.getByTestId('replacement').getByText(/Replaced by architecture-edited\.png/).waitFor({ timeout: 10_000 });
  await page.locator(`[data-id="${review.id}"]`).evaluate((el) => el.scrollIntoView({ block: 'center' }));
  await shot(page, 'review-modified-file-desktop');
  await card.getByRole('button', { name: 'Publish' }).click();

  const heard = await agent.waitFor('review:responded', (m) => m.id === review.id);
  assert.deepEqual(heard.review.response, { selectedOption: 'approve' });
  const got = await api('GET', `/api/v1/reviews/${review.id}?channel=${channelId}`, { apiKey: key, expect: 200 });
  const modified = got.body.review.modifiedFileIds;
  assert.deepEqual(Object.keys(modified ?? {}), [orig.id], 'the agent reads which attachment was replaced');
  const res = await fetch(`${API_URL}/api/v1/files/${modified[orig.id]}/download`, { headers: { 'x-api-key': key } });
  assert.equal(res.status, 200);
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(png.edited), 'by the bytes the human uploaded');

  // The answered card says which file was modified, with a link to the new one.
  await card.getByTestId('review-status').getByText('Answered', { exact: true }).waitFor();
  const row = card.getByTestId('modified-file');
  await row.getByText('Modified: architecture.png').waitFor();
  assert.equal(await row.getByRole('link').getAttribute('href'), `/api/files/${modified[orig.id]}/download?download=1`);
  // … also after a reload (from the stored review).
  await page.reload();
  await page.locator(`[data-id="${review.id}"]`).getByTestId('modified-file').getByText('Modified: architecture.png').waitFor();
  // … and in the inbox, whose cards show the files too.
  await page.goto(`${page.baseUrl}/inbox`);
  await page.getByRole('tab', { name: 'Answered' }).click();
  const item = page.locator(`[data-testid="inbox-item"][data-id="${review.id}"]`);
  await item.getByTestId('review-files').getByTestId('attachment-image').waitFor();
  await item.getByTestId('modified-file').getByText('Modified: architecture.png').waitFor();
  assertClean(page);
  await page.context().close();
});

test('the files view of an agent lists, filters, searches, pages and deletes', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Asset librarian', tag: 'ops' });
  await agentUpload(key, '/api/v1/files/upload', channelId, { name: 'latency-chart.png', type: 'image/png', bytes: png.chart });
  await agentUpload(key, '/api/v1/files/upload', channelId, { name: 'architecture.png', type: 'image/png', bytes: png.diagram });
  const pdf = await agentUpload(key, '/api/v1/files/upload', channelId, { name: 'quarterly-report.pdf', type: 'application/pdf', bytes: PDF });
  await agentPost(key, channelId, { text: 'Notes attached.', textAttachments: [{ content: '# Notes\n\nAll good.', filename: 'notes.md', mimeType: 'text/markdown' }] });

  const page = await newPage(browser);
  await openChat(page, channelId);
  await page.getByTestId('files-link').click();
  await page.waitForURL(new RegExp(`/chats/${channelId}/files$`));
  const tiles = page.getByTestId('file-tile');
  await tiles.nth(3).waitFor();
  assert.equal(await tiles.count(), 4);
  assert.equal(await tiles.first().locator('.file-name').textContent(), 'notes.md', 'newest first');
  await waitForPictures(page, page.getByTestId('files-grid').getByTestId('attachment-image'));
  await shot(page, 'files-view-desktop');

  // Filters and search.
  await page.getByRole('button', { name: 'Pictures', exact: true }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="file-tile"]').length === 2);
  assert.deepEqual((await tiles.locator('.file-name').allTextContents()).sort(), ['architecture.png', 'latency-chart.png']);
  await page.getByRole('button', { name: 'Other files', exact: true }).click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="file-tile"] .file-name')].map((e) => e.textContent).sort().join() === 'notes.md,quarterly-report.pdf');
  await page.getByRole('button', { name: 'All', exact: true }).click();
  await page.getByLabel('Search files by name').fill('report');
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="file-tile"] .file-name')].map((e) => e.textContent).join() === 'quarterly-report.pdf');
  await page.getByLabel('Search files by name').fill('no-such-file');
  await page.getByTestId('files-empty').getByText('No matching files').waitFor();
  await page.getByLabel('Search files by name').fill('');
  await tiles.nth(3).waitFor();

  // The viewer opens from a picture tile.
  await page.getByTestId('files-grid').getByRole('button', { name: 'Open architecture.png' }).click();
  await page.getByTestId('viewer').getByTestId('viewer-name').getByText('architecture.png').waitFor();
  await page.keyboard.press('ArrowRight');
  await page.getByTestId('viewer').getByTestId('viewer-name').getByText('latency-chart.png').waitFor();
  await page.keyboard.press('Escape');
  await page.getByTestId('viewer').waitFor({ state: 'detached' });

  // Delete, after a confirmation; Cancel keeps it.
  await page.getByRole('button', { name: 'Delete quarterly-report.pdf' }).click();
  await page.getByRole('dialog', { name: 'Delete quarterly-report.pdf?' }).getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await tiles.count(), 4);
  await page.getByRole('button', { name: 'Delete quarterly-report.pdf' }).click();
  await page.getByRole('dialog', { name: 'Delete quarterly-report.pdf?' }).getByRole('button', { name: 'Delete file' }).click();
  await page.locator(`[data-testid="file-tile"][data-id="${pdf.id}"]`).waitFor({ state: 'detached' });
  assert.equal(await tiles.count(), 3);
  const listed = await api('GET', `/api/v1/files?channel=${channelId}`, { apiKey: key, expect: 200 });
  assert.equal(listed.body.data.some((a) => a.id === pdf.id), false, 'gone for the agent too');
  const gone = await fetch(`${API_URL}/api/v1/files/${pdf.id}/download`, { headers: { 'x-api-key': key } });
  assert.equal(gone.status, 404);

  // Paging: more than a page of files, "Load more" brings the rest.
  for (let i = 0; i < 30; i++) {
    await api('POST', '/api/v1/files/store-text', { apiKey: key, body: { channelId, content: `log ${i}`, filename: `log-${String(i).padStart(2, '0')}.txt`, mimeType: 'text/plain' }, expect: 201 });
  }
  await page.reload();
  await tiles.nth(29).waitFor();
  assert.equal(await tiles.count(), 30);
  await page.getByRole('button', { name: 'Load more' }).click();
  await tiles.nth(32).waitFor();
  assert.equal(await tiles.count(), 33);
  await page.getByRole('button', { name: 'Load more' }).waitFor({ state: 'hidden' });
  assert.equal(new Set(await tiles.evaluateAll((els) => els.map((e) => e.dataset.id))).size, 33, 'no file twice');
  await tiles.filter({ hasText: 'log-00.txt' }).getByText('Not sent').waitFor();
  assertClean(page);
  await page.context().close();
});
