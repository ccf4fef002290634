// Iteration chains: an agent re-asks a review with `iterationOf` after the human's feedback.
// The new card says "Re-review #n", shows the previous iteration's outcome and feedback, and a
// word diff (<del>/<ins>) of its text against the previous iteration's text: from history,
// live, and in the inbox. An iteration the human sent back ("Request changes") shows as such,
// with what was asked for.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TEST_TIMEOUT_MS, agentPost, agentSocket, api, assertClean, createReviewer, launch, newPage, setupAgent, shot, shutdown, signIn } from './helpers.mjs';

let browser;
let me;
before(async () => {
  browser = await launch();
  me = await createReviewer();
});
after(() => shutdown(browser));

/** The visible words of the diff's <del> or <ins> elements (without the screen-reader labels). */
function changes(card, tag) {
  return card.locator(`[data-testid="iteration-diff"] ${tag}`).evaluateAll((els) =>
    els.map((e) => [...e.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join('')),
  );
}

test('a re-review shows its badge, the previous feedback and a word diff', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Changelog writer', tag: 'product' });
  const agent = await agentSocket(t, key, channelId);
  const approval = { type: 'approval', payload: { options: [{ id: 'approve', label: 'Approve', style: 'primary' }, { id: 'reject', label: 'Send back', style: 'danger' }] } };
  const first = await agentPost(key, channelId, { text: 'Release **v2.4.0** to production tonight at 22:00.', review: approval });
  await api('POST', `/api/messages/${first.id}/respond`, {
    token: me.token,
    body: { response: { selectedOption: 'reject' }, feedback: 'Not tonight: wait for the database migration.' },
    expect: 201,
  });
  const second = await agentPost(key, channelId, { text: 'Release **v2.4.1** to production tomorrow at 09:00, after the database migration.', review: approval, iterationOf: first.id });
  assert.equal(second.iteration, 2);

  const page = await newPage(browser);
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  const card2 = page.locator(`[data-id="${second.id}"]`).getByTestId('review-card');
  await card2.getByTestId('rereview-badge').getByText('Re-review #2').waitFor();
  const it2 = card2.getByTestId('iteration');
  await it2.getByText('#1 was answered: Send back').waitFor();
  await it2.getByText('Not tonight: wait for the database migration.').waitFor();
  await it2.getByText(/Changes since #1 \(\+\d+ \/ −\d+ words\)/).waitFor();
  // The diff is of the texts as written (markdown source), word by word.
  assert.deepEqual(await changes(card2, 'del'), ['**v2.4.0**', 'tonight', '22:00.']);
  assert.deepEqual(await changes(card2, 'ins'), ['**v2.4.1**', 'tomorrow', '09:00, after the database migration.']);
  assert.equal((await card2.getByTestId('iteration-diff').innerText()).includes('to production'), true, 'unchanged words stay');
  assert.equal(await card2.locator('[data-testid="iteration-diff"] script, [data-testid="iteration-diff"] strong').count(), 0, 'the diff is text, not markup');
  // The first iteration is a plain answered card.
  const card1 = page.locator(`[data-id="${first.id}"]`).getByTestId('review-card');
  assert.equal(await card1.getByTestId('rereview-badge').count(), 0);
  assert.equal(await card1.getByTestId('iteration').count(), 0);
  await page.locator(`[data-id="${second.id}"]`).evaluate((el) => el.scrollIntoView({ block: 'end' }));
  await shot(page, 'chat-iteration-desktop');

  // Send #2 back from the dashboard with feedback; #3 arrives live and compares with #2.
  await card2.getByRole('button', { name: '+ Add feedback' }).click();
  await card2.getByLabel('Feedback for the agent').fill('Also mention the rollback plan.');
  await card2.getByRole('button', { name: 'Send back' }).click();
  const answered = await agent.waitFor('review:responded', (m) => m.id === second.id);
  assert.equal(answered.review.feedback, 'Also mention the rollback plan.');
  const third = await agentPost(key, channelId, {
    text: 'Release **v2.4.1** to production tomorrow at 09:00, after the database migration. Rollback: redeploy v2.4.0.',
    review: approval,
    iterationOf: second.id,
  });
  assert.equal(third.iteration, 3);
  const card3 = page.locator(`[data-id="${third.id}"]`).getByTestId('review-card');
  await card3.getByText('Re-review #3').waitFor({ timeout: 10_000 });
  await card3.getByTestId('iteration').getByText('#2 was answered: Send back').waitFor();
  await card3.getByTestId('iteration').getByText('Also mention the rollback plan.').waitFor();
  assert.deepEqual(await changes(card3, 'ins'), [' Rollback: redeploy v2.4.0.']);
  assert.deepEqual(await changes(card3, 'del'), []);

  // The inbox shows the same for the pending re-review.
  await page.goto(`${page.baseUrl}/inbox`);
  const item = page.locator(`[data-testid="inbox-item"][data-id="${third.id}"]`);
  await item.getByText('Re-review #3').waitFor();
  await item.getByTestId('iteration-diff').waitFor();
  await item.getByRole('button', { name: 'Approve' }).click();
  const done = await agent.waitFor('review:responded', (m) => m.id === third.id);
  assert.deepEqual(done.review.response, { selectedOption: 'approve' });
  assertClean(page);
  await page.context().close();
});

test('an iteration sent back with "Request changes" shows its badge and the requested changes', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Release notes', tag: 'product' });
  const agent = await agentSocket(t, key, channelId);
  const ask = { type: 'text-input', payload: { placeholder: 'Anything to add?' } };
  const first = await agentPost(key, channelId, { text: 'Release notes: faster checkout.', review: ask });

  const page = await newPage(browser);
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  const card1 = page.locator(`[data-id="${first.id}"]`).getByTestId('review-card');
  await card1.getByRole('button', { name: 'Request changes' }).click();
  const feedback = 'Mention the <em>dark theme</em> too.';
  await card1.getByLabel('What should change?').fill(feedback);
  await card1.getByTestId('request-changes').getByRole('button', { name: 'Send' }).click();
  await card1.getByTestId('review-status').getByText('Changes requested', { exact: true }).waitFor();
  await agent.waitFor('review:responded', (m) => m.id === first.id && m.review.status === 'changes_requested');

  // The agent's follow-up arrives live: it says what #1 came back with.
  const second = await agentPost(key, channelId, { text: 'Release notes: faster checkout and a dark theme.', review: ask, iterationOf: first.id });
  assert.equal(second.iteration, 2);
  const card2 = page.locator(`[data-id="${second.id}"]`).getByTestId('review-card');
  await card2.getByTestId('rereview-badge').getByText('Re-review #2').waitFor({ timeout: 10_000 });
  const it2 = card2.getByTestId('iteration');
  await it2.getByText('#1 was sent back for changes').waitFor();
  await it2.getByTestId('iteration-status').getByText('Changes requested', { exact: true }).waitFor();
  await it2.getByText(`Changes you asked for on #1: ${feedback}`).waitFor();
  assert.equal(await it2.locator('em').count(), 0, 'the feedback is text, not markup');
  assert.deepEqual(await changes(card2, 'del'), ['checkout.']);
  assert.deepEqual(await changes(card2, 'ins'), ['checkout and a dark theme.']);
  await page.locator(`[data-id="${second.id}"]`).evaluate((el) => el.scrollIntoView({ block: 'end' }));
  await shot(page, 'chat-iteration-changes-requested-desktop');

  // The same after a reload (from history), and the chain read by REST.
  await page.reload();
  await card2.getByTestId('iteration').getByTestId('iteration-status').waitFor();
  const chain = await api('GET', `/api/messages/${second.id}/iterations`, { token: me.token, expect: 200 });
  assert.deepEqual(chain.body.iterations.map((m) => [m.iteration, m.review.status]), [[1, 'changes_requested'], [2, 'pending']]);
  assertClean(page);
  await page.context().close();
});
