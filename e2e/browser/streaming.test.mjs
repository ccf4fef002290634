// A streamed reply appears progressively (typewriter) and ends as the stored final text;
// status steps show while it streams.
//
// Needs the streaming endpoints (POST /api/v1/messages with streamId + streamState,
// POST …/streams/{id}/delta, PATCH …/streams/{id}); on a server without them the test is
// reported as skipped, with the reason.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TEST_TIMEOUT_MS, createReviewer, agentPost, api, assertClean, launch, newPage, setupAgent, shot, shutdown, signIn, sleep } from './helpers.mjs';

let browser;
let token;
let me;
before(async () => {
  browser = await launch();
  me = await createReviewer();
  token = me.token;
});
after(() => shutdown(browser));

test('a streamed reply appears progressively', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(token, { name: 'Incident assistant', tag: 'ops' });
  const probe = await api('POST', '/api/v1/messages/streams/probe/delta', { apiKey: key, body: { channelId, delta: 'x' } });
  if (probe.body?.code === 'route_not_found' || probe.status === 405) {
    t.skip('the server has no streaming endpoints (POST /api/v1/messages/streams/{id}/delta): not tested');
    return;
  }
  const page = await newPage(browser);
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  await page.getByTestId('timeline').getByText('No messages yet').waitFor();

  const streamId = `turn-${Date.now()}`;
  await api('POST', `/api/v1/messages/streams/${streamId}/status`, { apiKey: key, body: { channelId, text: 'Reading the incident timeline', toolHint: true }, expect: 201 });
  const draft = await agentPost(key, channelId, { streamId, streamState: 'streaming', text: '' });
  const bubble = page.locator(`[data-id="${draft.id}"]`);
  await bubble.waitFor();
  await bubble.getByText('Reading the incident timeline').waitFor();
  const chunks = ['The outage ', 'started at **14:02** ', 'when the cache ', 'cluster failed over. ', 'Error rates are back to normal.'];
  const seen = [];
  let sent = '';
  for (const c of chunks) {
    await api('POST', `/api/v1/messages/streams/${streamId}/delta`, { apiKey: key, body: { channelId, delta: c }, expect: 200 });
    sent += c;
    await sleep(350);
    seen.push((await bubble.locator('.md').innerText()).trim());
  }
  await shot(page, 'chat-streaming-desktop');
  // Progressive: the visible text grew step by step, each a prefix of the final text.
  const finalText = 'The outage started at 14:02 when the cache cluster failed over. Error rates are back to normal.';
  assert.ok(seen.length === chunks.length);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].length > seen[i - 1].length, `text grew: ${JSON.stringify(seen)}`);
  assert.ok(seen[0].length > 0 && seen[0].length < finalText.length, `first chunk shown alone: ${JSON.stringify(seen)}`);
  assert.equal(await bubble.locator('.caret').count(), 1, 'a caret while streaming');
  await api('PATCH', `/api/v1/messages/streams/${streamId}`, { apiKey: key, body: { channelId, text: sent, complete: true }, expect: 200 });
  await bubble.locator('.caret').waitFor({ state: 'detached', timeout: 10_000 });
  assert.equal((await bubble.locator('.md').innerText()).trim(), finalText);
  assert.equal(await bubble.locator('.md strong').innerText(), '14:02', 'markdown rendered');
  await bubble.getByText('1 step completed').waitFor();
  assertClean(page);
  await page.context().close();
});
