// Plugins (custom renderers) through a real browser, with the example plugins that e2e/run.sh
// loads (--plugins-dir examples/plugins): a freeform review shown by `status-badge` in its
// sandboxed frame and answered from inside it (the agent hears the answer, the card turns to
// answered and re-renders the frame, a theme switch re-renders it dark); a `diagram` review in
// the inbox whose answer the server refuses once (the frame and the card say why) before it
// goes through; a plain message drawn by `diagram`; the frame's isolation (no cookie, storage,
// parent DOM or network; forged messages, foreign attachments and a frame that is not ours
// answer nothing); and a plugin that is not installed (a note, and the usual fallback).

import assert from 'node:assert/strict';
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
before(async () => {
  browser = await launch();
  me = await createReviewer();
  // The example plugins must be installed (e2e/run.sh starts the server with them).
  const list = await api('GET', '/api/plugins', { token: me.token, expect: 200 });
  const names = list.body.map((p) => p.name);
  assert.ok(names.includes('status-badge') && names.includes('diagram'), `the server runs without examples/plugins (it has: ${names.join(', ') || 'none'}); start it with --plugins-dir examples/plugins`);
});
after(() => shutdown(browser));

// ---------------------------------------------------------------- fixtures

const CHECKOUT = { plugin: 'status-badge', status: 'degraded', label: 'Checkout', detail: 'p99 latency is 2.4 s since 09:12 (normally 300 ms); 0.8 % of payments fail.' };
const PIPELINE = {
  title: 'Deploy pipeline',
  nodes: [
    { id: 'pr', label: 'PR' },
    { id: 'ci', label: 'CI' },
    { id: 'stg', label: 'Staging' },
    { id: 'prev', label: 'Preview' },
    { id: 'prod', label: 'Production' },
  ],
  edges: [
    { from: 'pr', to: 'ci', label: 'push' },
    { from: 'ci', to: 'stg' },
    { from: 'ci', to: 'prev' },
    { from: 'stg', to: 'prod', label: 'approve' },
  ],
};

/** Problems the frames log on purpose: the isolation test's blocked requests. */
const CSP_NOISE = [/Content Security Policy/, /Refused to connect/, /Failed to fetch/];

async function openChat(page, channelId) {
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  await page.getByTestId('timeline').waitFor();
}

/** A store-only upload as the agent (POST /api/v1/files/store), to link to a message. */
async function agentStore(key, channelId, name, text) {
  const form = new FormData();
  form.append('channelId', channelId);
  form.append('file', new Blob([text], { type: 'text/plain' }), name);
  const res = await fetch(`${API_URL}/api/v1/files/store`, { method: 'POST', headers: { 'x-api-key': key, accept: 'application/json' }, body: form });
  assert.equal(res.status, 201, await res.clone().text());
  return res.json();
}

/** The plugin frame of message `id` (under `scope`, e.g. an inbox item) once it said its height. */
async function pluginFrame(page, id, scope = `[data-id="${id}"]`) {
  const host = page.locator(`${scope} [data-testid="plugin-frame"][data-ready="true"]`);
  await host.waitFor({ timeout: 15_000 });
  const iframe = host.locator('iframe');
  return { host, iframe, inner: page.frameLocator(`${scope} iframe.plugin-iframe`), frame: await (await iframe.elementHandle()).contentFrame() };
}

/** The context a frame was given: the base64url JSON of its address's fragment. */
async function contextOf(iframe) {
  const src = await iframe.getAttribute('src');
  const [, frag] = src.split('#');
  return JSON.parse(Buffer.from(frag, 'base64url').toString('utf8'));
}

async function reviewOf(key, channelId, id) {
  return (await api('GET', `/api/v1/reviews/${id}?channel=${channelId}`, { apiKey: key, expect: 200 })).body.review;
}

// ---------------------------------------------------------------- tests

test('a freeform review shown by the status-badge plugin: Acknowledge in its frame answers it, the agent hears it', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Checkout watcher', tag: 'ops' });
  const agent = await agentSocket(t, key, channelId);
  await agentPost(key, channelId, { text: 'Watching **checkout** after the 09:00 deploy.', status: 'info' });
  const review = await agentPost(key, channelId, { text: 'Checkout is slower than usual. Acknowledge, or escalate to the on-call?', review: { type: 'freeform', payload: CHECKOUT } });
  assert.equal(review.metadata?.plugin, 'status-badge', 'the server names the plugin in the metadata too');

  const page = await newPage(browser);
  await openChat(page, channelId);
  const msg = page.locator(`[data-id="${review.id}"]`);
  const card = msg.getByTestId('review-card');
  const { iframe, inner } = await pluginFrame(page, review.id);

  // The frame: sandboxed to scripts only (never same-origin, never srcdoc), no referrer, the
  // plugin's own address with the context in the fragment.
  assert.equal(await iframe.getAttribute('sandbox'), 'allow-scripts');
  assert.equal(await iframe.getAttribute('srcdoc'), null);
  assert.equal(await iframe.getAttribute('referrerpolicy'), 'no-referrer');
  assert.match(await iframe.getAttribute('src'), /^\/plugins\/status-badge\/frame#[A-Za-z0-9_-]+$/);
  const ctx = await contextOf(iframe);
  assert.equal(ctx.pluginName, 'status-badge');
  assert.deepEqual(ctx.data, CHECKOUT);
  assert.deepEqual(ctx.message, { id: review.id, channelId, senderType: 'agent', createdAt: review.createdAt });
  assert.deepEqual(ctx.review, { type: 'freeform', status: 'pending', payload: CHECKOUT });
  assert.equal(ctx.theme, 'light');
  assert.equal(ctx.isPreview, false);
  assert.deepEqual(ctx.attachments, []);

  // The badge renders inside the frame, which is sized to it.
  await inner.locator('#badge.degraded').getByText('Checkout', { exact: true }).waitFor();
  await inner.getByText('Degraded', { exact: true }).waitFor();
  await inner.getByText(CHECKOUT.detail).waitFor();
  await page.waitForFunction((el) => el.offsetHeight > 80 && el.offsetHeight < 300, await iframe.elementHandle());
  await card.getByTestId('review-plugin').getByText('Status badge').waitFor();
  await card.getByText('Shown by the Status badge plugin').waitFor();
  assert.equal(await card.getByTestId('plugin-json').isHidden(), true, 'the JSON answer is folded away');
  await card.getByRole('button', { name: 'Request changes' }).waitFor();
  await msg.evaluate((el) => el.scrollIntoView({ block: 'center' }));
  await shot(page, 'chat-plugin-review-desktop');

  // Acknowledge: the agent hears it live and reads it back.
  await inner.getByRole('button', { name: 'Acknowledge' }).click();
  const heard = await agent.waitFor('review:responded', (m) => m.id === review.id);
  assert.deepEqual(heard.review.response, { action: 'acknowledge', status: 'degraded' });
  const stored = await reviewOf(key, channelId, review.id);
  assert.equal(stored.status, 'completed');
  assert.equal(stored.response.action, 'acknowledge');

  // The card turns to answered and the frame is rendered again, with the answer.
  await card.getByTestId('review-status').getByText('Answered', { exact: true }).waitFor();
  const done = await pluginFrame(page, review.id);
  const doneCtx = await contextOf(done.iframe);
  assert.equal(doneCtx.review.status, 'completed');
  assert.deepEqual(doneCtx.review.response, { action: 'acknowledge', status: 'degraded' });
  await done.inner.getByText('Acknowledged.').waitFor();
  assert.equal(await done.inner.getByRole('button', { name: 'Acknowledge' }).count(), 0);
  await card.locator('pre.json').getByText('"acknowledge"').waitFor();

  // The dashboard's theme reaches the frame: switching it renders the frame again, dark.
  await page.getByRole('button', { name: 'Switch to dark theme' }).first().click();
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  const dark = await pluginFrame(page, review.id);
  assert.equal((await contextOf(dark.iframe)).theme, 'dark');
  assert.equal(await dark.frame.evaluate(() => document.documentElement.classList.contains('dark')), true);
  await page.getByRole('button', { name: 'Switch to light theme' }).first().click();
  assertClean(page);
  await page.context().close();
});

test('a diagram review in the inbox: a refused answer reaches the frame and the card; “Another layout” with a note then goes through', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Architect', tag: 'platform' });
  const agent = await agentSocket(t, key, channelId);
  const review = await agentPost(key, channelId, { text: 'Is this the right **deploy pipeline**?', review: { type: 'freeform', payload: { plugin: 'diagram', ...PIPELINE } } });

  const page = await newPage(browser);
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/inbox`);
  const scope = `[data-testid="inbox-item"][data-id="${review.id}"]`;
  const item = page.locator(scope);
  const { inner } = await pluginFrame(page, review.id, scope);
  assert.equal(await inner.locator('svg g.node').count(), PIPELINE.nodes.length);
  await inner.getByRole('button', { name: 'Approve' }).waitFor();

  // The server refuses the first answer (a 400 with a field error, as its validation does).
  let refused = 0;
  await page.route('**/api/messages/*/respond', async (route) => {
    refused++;
    await route.fulfill({
      status: 400,
      contentType: 'application/json',
      body: JSON.stringify({ statusCode: 400, error: 'Bad Request', code: 'validation_failed', message: 'response.note: must be at most 40 characters', errors: [{ path: 'response.note', message: 'must be at most 40 characters' }] }),
    });
  }, { times: 1 });
  const note = 'Put Preview next to Staging, not under CI.';
  await inner.getByLabel('Note').fill(note);
  await inner.getByRole('button', { name: 'Another layout' }).click();
  // The plugin shows the error as a toast (through the dashboard's toasts, with its name) and
  // the card under the frame; nothing was answered and the plugin's buttons are back.
  await page.locator('#toasts').getByText('Diagram: response.note: must be at most 40 characters').waitFor();
  await item.getByRole('alert').getByText('response.note: must be at most 40 characters').waitFor();
  assert.equal(refused, 1);
  assert.equal((await reviewOf(key, channelId, review.id)).status, 'pending');
  assert.equal(await inner.getByLabel('Note').inputValue(), note, 'the frame was not reloaded: the note is still there');

  // The second try goes through: the agent gets the note.
  await inner.getByRole('button', { name: 'Another layout' }).click();
  const heard = await agent.waitFor('review:responded', (m) => m.id === review.id);
  assert.deepEqual(heard.review.response, { approved: false, note });
  await item.getByTestId('review-status').getByText('Answered', { exact: true }).waitFor();
  const done = await pluginFrame(page, review.id, scope);
  await done.inner.getByText(`Asked for another layout: “${note}”`).waitFor();
  assertClean(page, [/400/]);
  await page.context().close();
});

test('a message drawn by the diagram plugin: an SVG in its frame, no answer buttons', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Release planner', tag: 'platform' });
  await agentPost(key, channelId, { text: 'Morning! I mapped how a change reaches production.' });
  const m = await agentPost(key, channelId, { text: 'The **deploy pipeline** as it runs today:', metadata: { plugin: 'diagram', ...PIPELINE } });
  assert.equal(m.review, null);

  const page = await newPage(browser);
  await openChat(page, channelId);
  const msg = page.locator(`[data-id="${m.id}"]`);
  const { iframe, inner } = await pluginFrame(page, m.id);
  const ctx = await contextOf(iframe);
  assert.equal(ctx.pluginName, 'diagram');
  assert.equal(ctx.review, null, 'a plain message has no review to answer');
  assert.deepEqual(ctx.data, { plugin: 'diagram', ...PIPELINE });
  await inner.locator('h3').getByText('Deploy pipeline').waitFor();
  assert.equal(await inner.locator('svg g.node').count(), PIPELINE.nodes.length);
  assert.equal(await inner.locator('svg g.edge').count(), PIPELINE.edges.length);
  assert.deepEqual(await inner.locator('svg g.node text').allTextContents(), PIPELINE.nodes.map((n) => n.label));
  assert.equal(await inner.getByRole('button').count(), 0);
  await msg.locator('.md strong').getByText('deploy pipeline').waitFor();
  assert.equal(await msg.getByTestId('review-card').count(), 0);
  await msg.getByText('Shown by the Diagram plugin').waitFor();
  const box = await iframe.boundingBox();
  assert.ok(box.height > 100 && box.height < 800, `the frame is sized to the diagram (${box.height} px)`);
  await msg.evaluate((el) => el.scrollIntoView({ block: 'center' }));
  await shot(page, 'chat-plugin-diagram-desktop');
  assertClean(page);
  await page.context().close();
});

test('a plugin frame is isolated: no cookie, storage, parent or network; forged messages and foreign files answer nothing', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Sandbox probe', tag: 'security' });
  const agent = await agentSocket(t, key, channelId);
  const own = await agentStore(key, channelId, 'incident.txt', 'Checkout: 0.8 % failed payments since 09:12.\n');
  const foreign = await agentStore(key, channelId, 'other.txt', 'not for the plugin\n');
  const other = await agentPost(key, channelId, { text: 'API status, for later.', review: { type: 'freeform', payload: { plugin: 'status-badge', status: 'down', label: 'Public API' } } });
  await agentPost(key, channelId, { text: 'An unrelated file.', attachmentIds: [foreign.id] });
  const diagram = await agentPost(key, channelId, { text: 'A drawing.', metadata: { plugin: 'diagram', nodes: [{ id: 'a', label: 'A' }] } });
  const review = await agentPost(key, channelId, { text: 'Checkout is degraded; the incident notes are attached.', attachmentIds: [own.id], review: { type: 'freeform', payload: CHECKOUT } });

  const page = await newPage(browser);
  await openChat(page, channelId);
  const r = await pluginFrame(page, review.id);
  const x = await pluginFrame(page, diagram.id);

  // Inside the frame: an opaque origin without cookie or storage, no way to the dashboard's
  // DOM, no network (the CSP), and the bridge's own fetch refuses.
  const probe = await r.frame.evaluate(async () => {
    const attempt = (fn) => {
      try {
        const v = fn();
        return `gave ${JSON.stringify(v ?? null)}`;
      } catch (e) {
        return `threw ${e.name}`;
      }
    };
    const settle = (p) => p.then((res) => `status ${res.status}`, (e) => `failed ${e.name}`);
    return {
      origin: self.origin,
      cookie: attempt(() => document.cookie),
      localStorage: attempt(() => localStorage.length),
      sessionStorage: attempt(() => sessionStorage.length),
      parentDocument: attempt(() => window.parent.document.title),
      topLocation: attempt(() => window.top.location.href),
      fetch: await settle(fetch('/api/auth/me', { credentials: 'include' })),
      absolute: await settle(fetch(`${location.protocol}//${location.host}/api/auth/me`, { credentials: 'include' })),
      placetFetch: await Placet.fetch('/api/auth/me').then(() => 'ok', (e) => `refused: ${e.message}`),
    };
  });
  assert.equal(probe.origin, 'null');
  assert.match(probe.cookie, /^threw SecurityError$|^gave ""$/);
  assert.equal(probe.localStorage, 'threw SecurityError');
  assert.equal(probe.sessionStorage, 'threw SecurityError');
  assert.equal(probe.parentDocument, 'threw SecurityError');
  assert.equal(probe.topLocation, 'threw SecurityError');
  assert.equal(probe.fetch, 'failed TypeError');
  assert.equal(probe.absolute, 'failed TypeError');
  assert.match(probe.placetFetch, /^refused: /);

  // Its own message's file comes through the dashboard (base64, or a data: URL); another
  // message's file does not.
  const files = await r.frame.evaluate(async ({ mine, theirs }) => {
    const got = await Placet.getFile(mine);
    const url = await Placet.getFileUrl(mine);
    const refused = await Placet.getFile(theirs).then(() => 'given', (e) => e.message);
    const refusedUrl = await Placet.getFileUrl(theirs).then(() => 'given', (e) => e.message);
    return { got, url: url.url, refused, refusedUrl, text: atob(got.data) };
  }, { mine: own.id, theirs: foreign.id });
  assert.equal(files.got.ok, true);
  assert.equal(files.text, 'Checkout: 0.8 % failed payments since 09:12.\n');
  assert.equal(files.got.filename, 'incident.txt');
  assert.equal(files.got.mimeType, 'text/plain');
  assert.equal(files.url, `data:text/plain;base64,${files.got.data}`);
  assert.equal(files.refused, 'No such attachment on this message');
  assert.equal(files.refusedUrl, 'No such attachment on this message');

  // Forged shapes, or an answer for another message: refused without a reply.
  const forged = [
    { type: 'hp:respond', id: 'forged-1', payload: { response: { action: 'escalate' }, messageId: other.id } },
    { type: 'hp:respond', id: 'forged-2', payload: { response: { action: 'escalate' } }, messageId: other.id },
    { type: 'hp:respond', payload: { response: { action: 'escalate' } } },
    { type: 'hp:respond', id: 'forged-3', payload: { response: 'escalate' } },
    { type: 'hp:respond', id: 'forged 4', payload: { response: { action: 'escalate' } } },
    { type: 'hp:respond:result', id: 'forged-5', payload: { ok: true } },
    { type: 'hp:getFile', id: 'forged-6', payload: { attachmentId: foreign.id, messageId: other.id } },
    { type: 'hp:resize', payload: { height: '9999' } },
    'hp:respond',
  ];
  const post = (frame, messages) => frame.evaluate(async (list) => {
    const replies = [];
    window.addEventListener('message', (e) => {
      if (e.source === window.parent) replies.push(e.data);
    });
    for (const m of list) window.parent.postMessage(m, '*');
    await new Promise((res) => setTimeout(res, 1200));
    return replies;
  }, messages);
  assert.deepEqual(await post(r.frame, forged), [], 'no reply to a forged message');
  assert.ok((await r.iframe.boundingBox()).height < 300, 'a forged height changed nothing');

  // A plain message's frame cannot answer anything (the bridge says so, and so does the dashboard).
  assert.match(await x.frame.evaluate(() => Placet.respond({ action: 'acknowledge' }).then(() => 'answered', (e) => e.message)), /No pending review/);
  assert.deepEqual(await post(x.frame, [{ type: 'hp:respond', id: 'x-1', payload: { response: { action: 'acknowledge' } } }]), [
    { type: 'hp:respond:result', id: 'x-1', payload: { ok: false, error: 'This message has no request to answer' } },
  ]);

  // Messages from anything but our frames are ignored: the dashboard's own window, and a frame
  // of the same plugin that the dashboard did not create (with a forged context for the review).
  await page.evaluate(() => window.postMessage({ type: 'hp:respond', id: 'page-1', payload: { response: { action: 'escalate' } } }, '*'));
  const src = await r.iframe.getAttribute('src');
  await page.evaluate((s) => {
    const f = document.createElement('iframe');
    f.setAttribute('sandbox', 'allow-scripts');
    f.id = 'stranger';
    f.src = s;
    document.body.append(f);
  }, src);
  const stranger = page.frameLocator('#stranger');
  await stranger.getByRole('button', { name: 'Escalate' }).click();
  await page.waitForTimeout(1500);
  for (const id of [review.id, other.id]) assert.equal((await reviewOf(key, channelId, id)).status, 'pending', `${id} is still pending`);
  assert.equal(agent.events.filter((e) => e.event === 'review:responded').length, 0, 'the agent heard no answer');
  await page.evaluate(() => document.getElementById('stranger').remove());

  // The real frame still answers its own review, and only it.
  await r.inner.getByRole('button', { name: 'Escalate' }).click();
  const heard = await agent.waitFor('review:responded', (m) => m.id === review.id);
  assert.deepEqual(heard.review.response, { action: 'escalate', status: 'degraded' });
  assert.equal((await reviewOf(key, channelId, other.id)).status, 'pending');
  assertClean(page, CSP_NOISE);
  await page.context().close();
});

test('a plugin that is not installed: a note, the text, and for a review the JSON answer', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Org planner', tag: 'people' });
  const agent = await agentSocket(t, key, channelId);
  const m = await agentPost(key, channelId, { text: 'The **Payments** team after the reorg.', metadata: { plugin: 'org-chart', team: 'Payments', members: 7 } });
  const review = await agentPost(key, channelId, { text: 'Approve the new team layout?', review: { type: 'freeform', payload: { plugin: 'org-chart', team: 'Payments', members: 7 } } });
  const missing = await fetch(`${API_URL}/plugins/org-chart/frame`);
  assert.equal(missing.status, 404);

  const page = await newPage(browser);
  await openChat(page, channelId);
  const msg = page.locator(`[data-id="${m.id}"]`);
  await msg.getByTestId('plugin-missing').getByText('Plugin “org-chart” is not installed').waitFor();
  await msg.locator('.md strong').getByText('Payments').waitFor();
  assert.equal(await msg.locator('iframe').count(), 0);

  const card = page.locator(`[data-id="${review.id}"]`).getByTestId('review-card');
  await card.getByTestId('plugin-missing').getByText('Plugin “org-chart” is not installed: answer with JSON.').waitFor();
  await card.locator('pre.json').getByText('"Payments"').waitFor();
  assert.equal(await card.locator('iframe').count(), 0);
  await card.getByLabel('Your answer (a JSON object)').fill('{"approved": true, "comment": "Looks right"}');
  await card.getByRole('button', { name: 'Submit JSON' }).click();
  const heard = await agent.waitFor('review:responded', (x) => x.id === review.id);
  assert.deepEqual(heard.review.response, { approved: true, comment: 'Looks right' });
  await card.getByTestId('review-status').getByText('Answered', { exact: true }).waitFor();
  await card.getByTestId('plugin-missing').waitFor();
  assertClean(page);
  await page.context().close();
});
