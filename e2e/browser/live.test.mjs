// Time and connection: a pending review counts down and turns expired at its deadline without
// a reload; the connection indicator says "Reconnecting…" while the server is unreachable and
// "Live" again once it is back, and nothing posted meanwhile is lost.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  TEST_TIMEOUT_MS,
  agentPost,
  agentSocket,
  assertClean,
  createReviewer,
  dashboardUrl,
  launch,
  newPage,
  setupAgent,
  shot,
  shutdown,
  signIn,
  sleep,
  startCutProxy,
} from './helpers.mjs';

let browser;
let me;
before(async () => {
  browser = await launch();
  me = await createReviewer();
});
after(() => shutdown(browser));

test('a pending review counts down and turns expired at its deadline, without a reload', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Impatient agent' });
  const agent = await agentSocket(t, key, channelId);
  const page = await newPage(browser);
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  await page.getByTestId('timeline').getByText('No messages yet').waitFor();

  const msg = await agentPost(key, channelId, { text: 'Restart the worker pool? Answer quickly.', review: { type: 'approval', expiresInSeconds: 4 } });
  const deadline = Date.parse(msg.review.expiresAt);
  const card = page.locator(`[data-id="${msg.id}"]`).getByTestId('review-card');
  await card.waitFor();
  assert.equal(await card.getAttribute('data-status'), 'pending');
  const countdown = card.locator('.countdown');
  const first = await countdown.textContent();
  assert.match(first, /^Expires in [1-4]s$/);
  await page.waitForFunction(
    ([el, before]) => el.textContent !== before && /^Expires in \ds$/.test(el.textContent),
    [await countdown.elementHandle(), first],
    { timeout: 3000 },
  );
  await card.getByRole('button', { name: 'Approve' }).waitFor();

  // At the deadline the card turns expired by itself: no buttons, the "Expired" pill.
  await page.waitForFunction((el) => el.dataset.status === 'expired', await card.elementHandle(), { timeout: 10_000 });
  assert.ok(Date.now() >= deadline - 1000, `expired ${deadline - Date.now()} ms before the deadline`);
  await card.getByText('Expired', { exact: true }).waitFor();
  await card.getByText('This request expired before anyone answered it.').waitFor();
  assert.equal(await card.getByRole('button', { name: 'Approve' }).count(), 0);
  // The server agrees, and tells the agent.
  const expired = await agent.waitFor('review:expired', (m) => m.messageId === msg.id, 15_000);
  assert.equal(expired.channelId, channelId);
  await sleep(300);
  assert.equal(await card.getAttribute('data-status'), 'expired', 'still expired after the server event');
  assertClean(page);
  await page.context().close();
});

test('the connection indicator says "Reconnecting…" while the server is unreachable, then "Live"', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Night shift' });
  const proxy = await startCutProxy(await dashboardUrl());
  t.after(() => proxy.close());
  const page = await newPage(browser);
  page.baseUrl = proxy.url; // the dashboard reaches the server only through the relay
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  await page.getByTestId('timeline').getByText('No messages yet').waitFor();

  const indicator = page.locator('.rail [data-testid="connection"]');
  const state = () => indicator.getAttribute('data-state');
  // The label, without the soft hyphens that let it break in the narrow rail.
  const label = async () => (await indicator.textContent()).replace(/\u00ad/g, '').trim();
  const waitState = async (want, timeout) =>
    page.waitForFunction(([el, s]) => el.dataset.state === s, [await indicator.elementHandle(), want], { timeout });
  await waitState('open', 20_000);
  assert.equal(await label(), 'Live');
  assert.equal(await indicator.getAttribute('role'), 'status', 'announced to screen readers');
  const banner = page.getByTestId('chat-connection');
  assert.equal(await banner.isVisible(), false);

  // The server becomes unreachable: open sockets drop, new connections are refused.
  proxy.cut();
  await waitState('reconnecting', 15_000);
  assert.equal(await label(), 'Reconnecting…');
  await banner.getByText(/Connection lost — reconnecting/).waitFor({ timeout: 15_000 });
  // A message posted while the dashboard is cut off…
  const missed = await agentPost(key, channelId, { text: 'Posted while you were offline', status: 'info' });
  await sleep(1500);
  assert.equal(await state(), 'reconnecting', 'still reconnecting while the server is unreachable');
  await shot(page, 'connection-reconnecting-desktop');

  // The server is back: the indicator returns to "Live", the banner goes, nothing was lost.
  proxy.restore();
  await waitState('open', 30_000);
  assert.equal(await label(), 'Live');
  await banner.waitFor({ state: 'hidden', timeout: 30_000 });
  await page.locator(`[data-id="${missed.id}"]`).getByText('Posted while you were offline').waitFor({ timeout: 10_000 });
  const after = await agentPost(key, channelId, { text: 'And one after the reconnect' });
  await page.locator(`[data-id="${after.id}"]`).waitFor({ timeout: 10_000 });
  assert.equal(await page.getByTestId('message').filter({ hasText: 'Posted while you were offline' }).count(), 1, 'delivered once');
  // The browser logs the refused connections; nothing else may go wrong.
  assertClean(page, [/ERR_CONNECTION|ERR_EMPTY_RESPONSE|ERR_SOCKET|WebSocket connection to .* failed|Failed to load resource/]);
  await page.context().close();
});
