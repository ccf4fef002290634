// Webhooks through the dashboard, against a local receiver whose answer the test programs:
// the agent's webhook settings (URL, custom header, bearer auth) and the signing secret shown
// once; a human message that cannot be delivered says "Not delivered" live, shows its attempts
// and is retried from the chat; an answered review likewise; the agent's deliveries in
// Settings with Retry and a secret rotation; the "paused after 410 Gone" banner. Every request
// the receiver gets is checked against the Standard Webhooks signature with node's crypto.
//
// The server must allow private targets and retry fast:
//   ASSENT_ALLOW_PRIVATE_WEBHOOKS=true ASSENT_WEBHOOK_RETRY_SCHEDULE=0ms,200ms,200ms
// (e2e/run.sh starts it so, and sets ASSENT_E2E_WEBHOOKS=1 so that this file fails instead of
// skipping when they are missing).

import assert from 'node:assert/strict';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';
import {
  PHONE,
  TEST_TIMEOUT_MS,
  agentPost,
  api,
  assertClean,
  createReviewer,
  launch,
  newPage,
  setupAgent,
  shot,
  shutdown,
  signIn,
  sleep,
  uid,
} from './helpers.mjs';

let browser;
let me;
let receiver;
let probe;

/** A receiver on 127.0.0.1:0 that answers `status` (or `statusFor(path)`) and records requests. */
async function startReceiver() {
  const r = { status: 500, requests: [], statusFor: (p) => (p.startsWith('/probe') ? 500 : r.status) };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const status = r.statusFor(req.url);
      r.requests.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks), status, at: Date.now() });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok' : `receiver says ${status}`);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.base = `http://127.0.0.1:${server.address().port}`;
  r.close = () => new Promise((resolve) => server.close(() => resolve()));
  r.of = (messageId) => r.requests.filter((q) => {
    const b = JSON.parse(q.body);
    return (b.message?.id ?? b.message_id) === messageId;
  });
  return r;
}

/** Standard Webhooks: v1 = base64 HMAC-SHA256 over `${id}.${timestamp}.${body}`, key = base64 after "whsec_". */
function verifies(secret, req) {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const id = req.headers['webhook-id'];
  const ts = req.headers['webhook-timestamp'];
  const expected = createHmac('sha256', key).update(Buffer.concat([Buffer.from(`${id}.${ts}.`), req.body])).digest();
  return String(req.headers['webhook-signature'] ?? '').split(' ').some((sig) => {
    const [version, b64] = sig.split(',');
    const got = Buffer.from(b64 ?? '', 'base64');
    return version === 'v1' && got.length === expected.length && timingSafeEqual(got, expected);
  });
}

async function until(pred, what, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

async function deliveriesOf(messageId) {
  return (await api('GET', `/api/messages/${messageId}/deliveries`, { token: me.token, expect: 200 })).body.data;
}

/**
 * Whether this server delivers to a loopback receiver and gives up within seconds: a probe
 * agent whose endpoint always answers 500.
 */
async function probeServer() {
  const { channelId } = await setupAgent(me.token, { name: 'Webhook probe' });
  await api('PATCH', `/api/agents/${channelId}`, { token: me.token, body: { webhookUrl: `${receiver.base}/probe` }, expect: 200 });
  const m = (await api('POST', '/api/messages', { token: me.token, body: { channelId, text: 'probe', clientId: uid('probe') }, expect: 201 })).body;
  const end = Date.now() + 8000;
  let d;
  while (Date.now() < end) {
    [d] = await deliveriesOf(m.id);
    if (d?.state === 'failed') break;
    await sleep(150);
  }
  await api('DELETE', `/api/agents/${channelId}`, { token: me.token });
  if (!receiver.requests.some((q) => q.path.startsWith('/probe'))) return { ok: false, why: `the server refused the loopback receiver (${d?.lastError ?? 'no attempt'}): start it with ASSENT_ALLOW_PRIVATE_WEBHOOKS=true` };
  if (d?.state !== 'failed') return { ok: false, why: 'the delivery was still retrying after 8 s: start the server with a short schedule, e.g. ASSENT_WEBHOOK_RETRY_SCHEDULE=0ms,200ms,200ms' };
  return { ok: true };
}

before(async () => {
  browser = await launch();
  me = await createReviewer();
  receiver = await startReceiver();
  probe = await probeServer();
  if (!probe.ok && process.env.ASSENT_E2E_WEBHOOKS === '1') throw new Error(`webhook e2e required, but ${probe.why}`);
});
after(async () => {
  await shutdown(browser);
  await receiver?.close();
});

function skipUnlessReady(t) {
  if (probe.ok) return false;
  t.skip(`webhook tests skipped: ${probe.why} (e2e/run.sh does)`);
  return true;
}

async function openAgentCard(page, channelId) {
  await page.goto(`${page.baseUrl}/settings/agents`);
  const card = page.locator(`details[data-agent="${channelId}"]`);
  await card.locator('summary').click();
  await card.getByLabel('Webhook URL').waitFor();
  return card;
}

test('webhook settings, the secret shown once, "Not delivered" with retry and attempts, signatures', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (skipUnlessReady(t)) return;
  const { key, channelId } = await setupAgent(me.token, { name: 'Release bot' });
  const url = `${receiver.base}/hooks/release-bot`;
  receiver.status = 500;
  const page = await newPage(browser);
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);

  // ---- settings: URL, a custom header, bearer auth → the signing secret, shown once
  let card = await openAgentCard(page, channelId);
  await card.getByText('No deliveries yet.').waitFor();
  assert.equal(await card.getByRole('button', { name: 'Rotate signing secret' }).isVisible(), false, 'no secret to rotate before a URL');
  await card.getByLabel('Webhook URL').fill(url);
  await card.getByRole('button', { name: 'Add header' }).click();
  await card.getByLabel('Header name').fill('webhook-id');
  await card.getByLabel('Header value').fill('ops');
  await card.getByLabel('Authentication').selectOption('bearer');
  await card.getByLabel('Token', { exact: true }).fill('sekrit-token');
  await card.getByRole('button', { name: 'Save changes' }).click();
  await card.getByText('webhook-id is set by Assent and cannot be replaced.').waitFor();
  await card.getByLabel('Header name').fill('X-Team');
  await card.getByRole('button', { name: 'Save changes' }).click();
  const box = card.getByTestId('webhook-secret');
  await box.waitFor();
  const secret = await box.locator('code').textContent();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  await box.getByText('Copy the signing secret now: it is not shown again.', { exact: false }).waitFor();
  await card.getByTestId('auth-set').waitFor(); // the saved token now shows as "set"
  await page.locator('#toasts .toast').first().waitFor({ state: 'detached' });
  await box.evaluate((el) => {
    el.scrollIntoView({ block: 'end' });
    el.closest('.page-body')?.scrollBy(0, 16);
  });
  await shot(page, 'settings-webhook-desktop');
  const saved = (await api('GET', `/api/agents/${channelId}`, { token: me.token, expect: 200 })).body;
  assert.equal(saved.webhookUrl, url);
  assert.deepEqual(saved.webhookHeaders, { 'X-Team': '***' }, 'header values are masked like credentials');
  assert.deepEqual(saved.webhookAuth, { token: '***' });
  assert.equal(saved.webhookSecret, undefined);

  // A second save (after a reload) keeps the stored token and shows no secret.
  await page.reload();
  card = page.locator(`details[data-agent="${channelId}"]`);
  await card.locator('summary').click();
  await card.getByTestId('auth-set').getByText('A token is set.', { exact: false }).waitFor();
  assert.equal(await card.getByLabel('Header value').inputValue(), '***', 'the stored value is masked; saving *** keeps it');
  await card.getByLabel('Description').fill('Ships releases');
  await card.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('#toasts').getByText('Saved').waitFor();
  assert.equal(await card.getByTestId('webhook-secret').count(), 0, 'the secret is not shown again');
  const again = (await api('GET', `/api/agents/${channelId}`, { token: me.token, expect: 200 })).body;
  assert.deepEqual(again.webhookAuth, { token: '***' }, 'the token was kept');
  assert.equal(again.description, 'Ships releases');

  // ---- chat: the receiver fails → "Not delivered", live
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  await page.getByTestId('timeline').getByText('No messages yet').waitFor();
  const text = 'Ship v2.5 once the canary is green';
  await page.getByTestId('composer').fill(text);
  await page.getByTestId('composer').press('Enter');
  const bubble = page.getByTestId('message').filter({ hasText: text });
  const failed = bubble.getByTestId('delivery-failed');
  await failed.waitFor({ timeout: 15_000 });
  assert.equal((await failed.textContent()).trim(), 'Not delivered');
  const messageId = await bubble.getAttribute('data-id');
  const [d1] = await deliveriesOf(messageId);
  assert.equal(d1.state, 'failed');
  assert.equal(d1.attempts, 3);
  const firstTries = receiver.of(messageId);
  assert.equal(firstTries.length, 3, 'three attempts (the schedule 0ms,200ms,200ms)');
  assert.ok(firstTries.every((q) => q.headers['webhook-id'] === d1.id), 'one webhook-id across retries');
  await shot(page, 'chat-webhook-failed-desktop');

  // The attempt log, from the message.
  await failed.click();
  let dialog = page.getByRole('dialog', { name: 'Webhook delivery' });
  let rows = dialog.getByTestId('attempt-log').locator('tbody tr');
  await until(async () => (await rows.count()) === 3, 'three attempts in the log');
  for (let i = 0; i < 3; i++) {
    const cells = rows.nth(i).locator('td');
    assert.equal(await cells.nth(0).textContent(), String(i + 1));
    assert.equal(await cells.nth(2).textContent(), '500');
    assert.match(await cells.nth(3).textContent(), /^\d+ ms$/);
    assert.match(await cells.nth(4).textContent(), /500/);
  }
  await dialog.getByText(url).waitFor();
  await shot(page, 'chat-webhook-attempts-desktop');
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'detached' });

  // ---- the receiver recovers; Retry → delivered (the tick turns, live)
  receiver.status = 200;
  await bubble.getByTestId('delivery-retry').click();
  await bubble.locator('.ticks[data-delivery="webhook_delivered"]').waitFor({ timeout: 15_000 });
  assert.equal(await bubble.getByTestId('delivery-failed').count(), 0);
  const tries = receiver.of(messageId);
  assert.equal(tries.length, 4);
  const ok = tries.at(-1);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['webhook-id'], d1.id, 'a manual retry keeps the webhook-id');
  assert.equal(ok.headers.authorization, 'Bearer sekrit-token');
  assert.equal(ok.headers['x-team'], 'ops');
  assert.ok(Math.abs(Number(ok.headers['webhook-timestamp']) - Date.now() / 1000) < 300, 'a fresh timestamp');
  for (const q of tries) assert.ok(verifies(secret, q), `the signature of attempt ${tries.indexOf(q) + 1} verifies`);
  assert.ok(!verifies(`whsec_${randomBytes(32).toString('base64')}`, ok), 'another secret does not verify');
  assert.ok(!verifies(secret, { ...ok, body: Buffer.concat([ok.body, Buffer.from(' ')]) }), 'a changed body does not verify');
  const body = JSON.parse(ok.body);
  assert.equal(body.event, 'message:created');
  assert.equal(body.message.text, text);

  await bubble.locator('.ticks').click();
  dialog = page.getByRole('dialog', { name: 'Webhook delivery' });
  rows = dialog.getByTestId('attempt-log').locator('tbody tr');
  await until(async () => (await rows.count()) === 4, 'four attempts in the log');
  assert.equal(await rows.nth(3).locator('td').nth(2).textContent(), '200');
  await dialog.locator('[data-state="delivered"]').first().waitFor();
  await dialog.getByRole('button', { name: 'Close' }).click();

  // ---- an answered review whose webhook fails says so too, and is retried the same way
  receiver.status = 503;
  const review = await agentPost(key, channelId, { text: 'Roll back the canary?', review: { type: 'approval' } });
  const reviewMsg = page.locator(`[data-id="${review.id}"]`);
  await reviewMsg.getByRole('button', { name: 'Approve' }).click();
  const answerFailed = reviewMsg.getByTestId('delivery-failed');
  await answerFailed.waitFor({ timeout: 15_000 });
  assert.equal((await answerFailed.textContent()).trim(), 'Answer not delivered');
  receiver.status = 200;
  await reviewMsg.getByTestId('delivery-retry').click();
  await reviewMsg.locator('.ticks[data-delivery="webhook_delivered"]').waitFor({ timeout: 15_000 });
  const answered = receiver.of(review.id).at(-1);
  assert.equal(JSON.parse(answered.body).event, 'review:responded');
  assert.ok(verifies(secret, answered));

  // The agent's deliveries, from the chat's agent settings dialog.
  await page.getByRole('button', { name: 'Agent settings' }).click();
  const settingsDialog = page.getByRole('dialog', { name: 'Agent settings' });
  const inDialog = settingsDialog.getByTestId('agent-deliveries');
  await until(async () => (await inDialog.locator('[data-testid="delivery"][data-state="delivered"]').count()) === 2, 'two delivered deliveries in the dialog');
  await inDialog.locator('[data-testid="delivery"]').first().getByText('review:responded').waitFor();
  await inDialog.locator('[data-testid="delivery"] summary').first().click();
  await inDialog.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await shot(page, 'agent-deliveries-desktop');
  await settingsDialog.getByRole('button', { name: 'Cancel' }).click();
  await settingsDialog.waitFor({ state: 'detached' });

  // ---- Settings: the agent's deliveries; rotate the secret; retry a failed one from there
  receiver.status = 500;
  const m3 = (await api('POST', '/api/messages', { token: me.token, body: { channelId, text: 'One more for the log', clientId: uid('c') }, expect: 201 })).body;
  await until(async () => (await deliveriesOf(m3.id))[0]?.state === 'failed', 'the third delivery to fail');
  card = await openAgentCard(page, channelId);
  const list = card.getByTestId('agent-deliveries');
  await until(async () => (await list.getByTestId('delivery').count()) === 3, 'three deliveries listed');
  const failedItem = list.locator(`[data-delivery-id="${(await deliveriesOf(m3.id))[0].id}"]`);
  assert.equal(await failedItem.getAttribute('data-state'), 'failed');
  await failedItem.getByText('HTTP 500', { exact: false }).first().waitFor();
  await card.getByRole('button', { name: 'Rotate signing secret' }).click();
  await page.getByRole('dialog', { name: 'Rotate the signing secret?' }).getByRole('button', { name: 'Rotate secret' }).click();
  await page.waitForFunction((old) => {
    const code = document.querySelector('[data-testid="webhook-secret"] code');
    return code && code.textContent !== old;
  }, secret);
  const rotated = await card.getByTestId('webhook-secret').locator('code').textContent();
  assert.match(rotated, /^whsec_/);
  receiver.status = 200;
  await failedItem.getByRole('button', { name: /^Retry delivery/ }).click();
  await until(async () => (await list.locator('[data-testid="delivery"][data-state="delivered"]').count()) === 3, 'all three delivered');
  const retried = receiver.of(m3.id).at(-1);
  assert.equal(retried.status, 200);
  assert.ok(verifies(rotated, retried), 'signed with the rotated secret');
  assert.ok(!verifies(secret, retried), 'not with the old one');
  await list.getByRole('combobox', { name: 'Show deliveries' }).selectOption('failed');
  await list.getByText('No failed deliveries.').waitFor();

  // ---- 410 Gone pauses the endpoint; "Re-enable and retry" resumes it with that delivery
  receiver.status = 410;
  const gone = (await api('POST', '/api/messages', { token: me.token, body: { channelId, text: 'Are you still there?', clientId: uid('c') }, expect: 201 })).body;
  await until(async () => (await api('GET', `/api/agents/${channelId}`, { token: me.token })).body.webhookDisabledAt, 'the endpoint to be disabled');
  assert.equal(receiver.of(gone.id).length, 1, 'no retry after 410 Gone');
  card = await openAgentCard(page, channelId);
  const paused = card.getByTestId('webhook-disabled');
  await paused.getByText('Deliveries are paused.', { exact: false }).waitFor();
  await paused.getByText('410 Gone', { exact: false }).waitFor();
  await paused.scrollIntoViewIfNeeded();
  await shot(page, 'settings-webhook-paused-desktop');
  receiver.status = 200;
  await paused.getByRole('button', { name: 'Re-enable and retry' }).click();
  await paused.waitFor({ state: 'detached' });
  await until(async () => (await deliveriesOf(gone.id))[0]?.state === 'delivered', 'the refused delivery to go through');
  assert.equal((await api('GET', `/api/agents/${channelId}`, { token: me.token })).body.webhookDisabledAt, null);
  await until(async () => (await list.locator('[data-testid="delivery"][data-state="delivered"]').count()) === 4, 'four delivered');
  assertClean(page);
  await page.context().close();
});

test('on a phone: "Not delivered" in the chat and the webhook settings', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (skipUnlessReady(t)) return;
  const { key, channelId } = await setupAgent(me.token, { name: 'Nightly backups' });
  await api('PATCH', `/api/agents/${channelId}`, {
    token: me.token,
    body: { webhookUrl: `${receiver.base}/hooks/backups`, webhookHeaders: { 'X-Env': 'prod' }, webhookAuth: { username: 'assent', password: 'pw-123456' } },
    expect: 200,
  });
  receiver.status = 500;
  const page = await newPage(browser, { viewport: PHONE, mobile: true });
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  await page.getByTestId('timeline').getByText('No messages yet').waitFor();
  await agentPost(key, channelId, { text: 'Backup finished: **42 GB** in 11 min.', status: 'success' });
  const m = (await api('POST', '/api/messages', { token: me.token, body: { channelId, text: 'Thanks! Keep the last 7 days.', clientId: uid('c') }, expect: 201 })).body;
  const bubble = page.locator(`[data-id="${m.id}"]`);
  await bubble.getByTestId('delivery-failed').waitFor({ timeout: 15_000 });
  await bubble.getByTestId('delivery-retry').waitFor();
  await shot(page, 'chat-webhook-failed-phone');

  const card = await openAgentCard(page, channelId);
  await card.getByTestId('auth-set').getByText('A password is set.', { exact: false }).waitFor();
  assert.equal(await card.getByLabel('Username').inputValue(), 'assent');
  await card.getByRole('heading', { name: 'Webhook', exact: true }).evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await shot(page, 'settings-webhook-phone');
  // Changing the username alone needs the password again (it is stored masked).
  await card.getByLabel('Username').fill('assent-2');
  await card.getByRole('button', { name: 'Save changes' }).click();
  await card.getByText('Enter the password again to change the username.').waitFor();
  await card.getByLabel('Username').fill('assent');
  // Clearing the auth.
  await card.getByLabel('Authentication').selectOption('none');
  await card.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('#toasts').getByText('Saved').waitFor();
  assert.equal((await api('GET', `/api/agents/${channelId}`, { token: me.token })).body.webhookAuth ?? null, null);
  assertClean(page);
  await page.context().close();
});
