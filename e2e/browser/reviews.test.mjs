// The core loop through a real browser: an agent asks (approval, selection, form,
// text-input), the human answers each in the dashboard, the agent receives each
// review:responded with the right response. Plus the inbox updating live and answering in
// place, and the composer.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  PHONE,
  TEST_TIMEOUT_MS,
  createReviewer,
  agentPost,
  agentSocket,
  api,
  assertClean,
  launch,
  newPage,
  setupAgent,
  shot,
  shutdown,
  signIn,
  uid,
} from './helpers.mjs';

let browser;
let token;
let me;
before(async () => {
  browser = await launch();
  me = await createReviewer();
  token = me.token;
});
after(() => shutdown(browser));

const FORM_FIELDS = [
  { name: 'fullName', type: 'text', label: 'Full name', required: true, placeholder: 'Ada Lovelace' },
  { name: 'replicas', type: 'number', label: 'Replicas', min: 1, max: 10, step: 1, required: true },
  { name: 'email', type: 'email', label: 'Contact email' },
  { name: 'site', type: 'url', label: 'Status page' },
  { name: 'notes', type: 'textarea', label: 'Notes', description: 'Anything the on-call should know.' },
  { name: 'env', type: 'select', label: 'Environment', options: [{ value: 'staging', label: 'Staging' }, 'production'], required: true },
  { name: 'agree', type: 'checkbox', label: 'Change window', description: 'I confirm this runs inside the change window', required: true },
  { name: 'day', type: 'date', label: 'Day' },
  { name: 'at', type: 'time', label: 'Start time' },
  { name: 'when', type: 'datetime', label: 'Rollback deadline' },
  { name: 'traffic', type: 'range', label: 'Canary traffic', min: 0, max: 100, step: 5, unit: '%' },
  { name: 'token', type: 'password', label: 'Deploy token' },
];

async function postReviews(key, channelId) {
  await agentPost(key, channelId, { text: 'Hi! I prepared the **v2.4.0** release.\n\n- 14 commits\n- 2 migrations\n\nSee `CHANGELOG.md` for details.', status: 'info' });
  const approval = await agentPost(key, channelId, {
    text: 'Deploy **v2.4.0** to production?',
    review: { type: 'approval', payload: { allowComment: true, options: [{ id: 'approve', label: 'Approve', style: 'primary' }, { id: 'reject', label: 'Reject', style: 'danger' }] } },
  });
  const selection = await agentPost(key, channelId, {
    text: 'Which regions should get it first?',
    review: { type: 'selection', payload: { mode: 'multi', items: [{ id: 'eu', label: 'Europe', description: 'eu-west-1, eu-central-1' }, { id: 'us', label: 'United States' }, { id: 'ap', label: 'Asia Pacific' }], submitLabel: 'Roll out' } },
  });
  const form = await agentPost(key, channelId, {
    text: 'I need a few details for the change request.',
    review: { type: 'form', payload: { fields: FORM_FIELDS, submitLabel: 'File change request' } },
  });
  const text = await agentPost(key, channelId, {
    text: 'Please write the release note (10 to 200 characters).',
    review: { type: 'text-input', payload: { placeholder: 'What changed for users?', minLength: 10, maxLength: 200, markdown: true } },
  });
  return { approval, selection, form, text };
}

test('an agent asks four kinds of questions; the human answers each; the agent hears every answer', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(token, { name: 'Release bot', tag: 'ops' });
  await api('POST', '/api/v1/status/ping', { apiKey: key, body: { agentId: channelId, status: 'active', message: 'preparing release' } });
  const agent = await agentSocket(t, key, channelId);
  const reviews = await postReviews(key, channelId);

  const page = await newPage(browser);
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  const cards = page.getByTestId('review-card');
  await cards.nth(3).waitFor();
  await page.getByTestId('agent-presence').getByText('preparing release').waitFor({ timeout: 5000 });
  await page.locator(`[data-id="${reviews.approval.id}"]`).evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await shot(page, 'chat-reviews-desktop');

  // 1. approval with a comment
  const approval = page.locator(`[data-id="${reviews.approval.id}"]`);
  await approval.getByLabel('Comment').fill('Go ahead, watch the error rate.');
  await approval.getByRole('button', { name: 'Approve' }).click();
  const a = await agent.waitFor('review:responded', (m) => m.id === reviews.approval.id);
  assert.deepEqual(a.review.response, { selectedOption: 'approve', comment: 'Go ahead, watch the error rate.' });
  await approval.getByText('Answered', { exact: true }).waitFor();

  // 2. multi selection: nothing chosen is refused client-side, then two regions
  const selection = page.locator(`[data-id="${reviews.selection.id}"]`);
  await selection.getByRole('button', { name: 'Roll out' }).click();
  await selection.getByText('Choose at least one option').waitFor();
  await selection.getByLabel('Europe').check();
  await selection.getByLabel('Asia Pacific').check();
  await selection.getByRole('button', { name: 'Roll out' }).click();
  const s = await agent.waitFor('review:responded', (m) => m.id === reviews.selection.id);
  assert.deepEqual(s.review.response, { selectedIds: ['eu', 'ap'] });

  // 3. the form: client-side validation first (required, range of a number, email), then every field type
  const form = page.locator(`[data-id="${reviews.form.id}"]`);
  const submit = form.getByRole('button', { name: 'File change request' });
  await form.getByLabel('Replicas').fill('42');
  await form.getByLabel('Contact email').fill('not-an-email');
  await submit.click();
  await form.getByText('Please fix the highlighted fields.').waitFor();
  await form.getByText('Must be at most 10').waitFor();
  await form.getByText('Must be an email address').waitFor();
  assert.ok((await form.getByText('Is required').count()) >= 3, 'required fields flagged');
  assert.equal(agent.events.filter((e) => e.event === 'review:responded' && e.data.id === reviews.form.id).length, 0, 'nothing sent while invalid');
  await shot(page, 'review-form-validation-desktop');
  await form.getByLabel('Full name').fill('Ada Lovelace');
  await form.getByLabel('Replicas').fill('3');
  await form.getByLabel('Contact email').fill('ada@example.com');
  await form.getByLabel('Status page').fill('https://status.example.com');
  await form.getByLabel('Notes').fill('Page me if p99 > 300ms');
  await form.getByLabel('Environment').selectOption('production');
  await form.getByLabel('I confirm this runs inside the change window').check();
  await form.getByLabel('Day').fill('2026-12-01');
  await form.getByLabel('Start time').fill('09:30');
  await form.getByLabel('Rollback deadline').fill('2026-12-01T18:00');
  await form.getByLabel('Canary traffic').evaluate((el) => {
    el.value = '25';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await form.getByLabel('Deploy token').fill('s3cr3t-token');
  await submit.click();
  const f = await agent.waitFor('review:responded', (m) => m.id === reviews.form.id);
  assert.deepEqual(f.review.response, {
    fullName: 'Ada Lovelace',
    replicas: 3,
    email: 'ada@example.com',
    site: 'https://status.example.com',
    notes: 'Page me if p99 > 300ms',
    env: 'production',
    agree: true,
    day: '2026-12-01',
    at: '09:30',
    when: '2026-12-01T18:00',
    traffic: 25,
    token: 's3cr3t-token',
  });
  // The human's view never shows the password back.
  await form.getByText('Answered', { exact: true }).waitFor();
  assert.equal(await form.getByText('s3cr3t-token').count(), 0);
  await form.getByText('••••••••').waitFor();

  // 4. text input with limits (trimmed length, like the server)
  const text = page.locator(`[data-id="${reviews.text.id}"]`);
  await text.getByLabel('Your answer', { exact: true }).fill('  too short ');
  await text.getByRole('button', { name: 'Send response' }).click();
  await text.getByText('Answer must be at least 10 characters').waitFor();
  await text.getByLabel('Your answer', { exact: true }).fill('Faster **checkout** and a new dark theme.');
  await text.getByRole('button', { name: 'Add feedback' }).click();
  await text.getByLabel('Feedback for the agent').fill('Ship it on Tuesday.');
  await text.getByRole('button', { name: 'Send response' }).click();
  const x = await agent.waitFor('review:responded', (m) => m.id === reviews.text.id);
  assert.deepEqual(x.review.response, { text: 'Faster **checkout** and a new dark theme.' });
  assert.equal(x.review.feedback, 'Ship it on Tuesday.');

  // The long-poll agrees (first answer wins, the answer is stored).
  const wait = await api('GET', `/api/v1/reviews/${reviews.text.id}/wait?channel=${channelId}&timeout=1000`, { apiKey: key, expect: 200 });
  assert.equal(wait.body.status, 'completed');
  await text.getByText('Answered', { exact: true }).waitFor();
  await shot(page, 'chat-answered-desktop');

  // The same conversation on a phone, and in the dark theme.
  const phone = await newPage(browser, { viewport: PHONE, mobile: true });
  await signIn(phone, me.email, me.password);
  await phone.waitForURL(/\/chats/);
  await shot(phone, 'chats-phone');
  await phone.goto(`${phone.baseUrl}/chats/${channelId}`);
  await phone.getByTestId('review-card').nth(3).waitFor();
  await shot(phone, 'chat-phone');
  const dark = await newPage(browser, { colorScheme: 'dark' });
  await signIn(dark, me.email, me.password);
  await dark.waitForURL(/\/chats/);
  await dark.goto(`${dark.baseUrl}/chats/${channelId}`);
  await dark.getByTestId('review-card').nth(3).waitFor();
  await shot(dark, 'chat-dark-desktop');
  for (const p of [page, phone, dark]) assertClean(p);
  await Promise.all([page, phone, dark].map((p) => p.context().close()));
});

test('the inbox lists pending reviews across agents, updates live and is answerable in place', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const a1 = await setupAgent(token, { name: 'Billing agent', tag: 'finance' });
  const a2 = await setupAgent(token, { name: 'Support triage', tag: 'support' });
  const s1 = await agentSocket(t, a1.key, a1.channelId);
  await agentPost(a1.key, a1.channelId, { text: 'Refund **€120** to customer #4411?', review: { type: 'approval', expiresInSeconds: 3600 } });
  const tone = await agentPost(a2.key, a2.channelId, { text: 'Pick a reply tone', review: { type: 'selection', payload: { items: [{ id: 'formal', label: 'Formal' }, { id: 'friendly', label: 'Friendly' }] } } });

  const page = await newPage(browser);
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.getByRole('link', { name: /Inbox/ }).first().click();
  await page.waitForURL(/\/inbox/);
  await page.locator(`[data-testid="inbox-item"][data-id="${tone.id}"]`).getByText('Pick a reply tone').waitFor();

  // A new request appears without reloading, on top.
  const live = await agentPost(a1.key, a1.channelId, { text: `Approve invoice ${uid('INV')}?`, review: { type: 'approval', expiresInSeconds: 600 } });
  const item = page.locator(`[data-testid="inbox-item"][data-id="${live.id}"]`);
  await item.waitFor({ timeout: 10_000 });
  assert.equal(await page.getByTestId('inbox-item').first().getAttribute('data-id'), live.id, 'newest first');
  await item.getByText(/Expires in (9|10)m/).waitFor();
  await shot(page, 'inbox-desktop');

  await item.getByRole('button', { name: 'Approve' }).click();
  const r = await s1.waitFor('review:responded', (m) => m.id === live.id);
  assert.deepEqual(r.review.response, { selectedOption: 'approve' });
  await item.waitFor({ state: 'detached', timeout: 10_000 });

  const phone = await newPage(browser, { viewport: PHONE, mobile: true });
  await signIn(phone, me.email, me.password);
  await phone.waitForURL(/\/chats/);
  await phone.goto(`${phone.baseUrl}/inbox`);
  await phone.getByTestId('inbox-item').first().waitFor();
  await shot(phone, 'inbox-phone');
  assertClean(page);
  assertClean(phone);
  await page.context().close();
  await phone.context().close();
});

test('the human requests changes instead of answering: feedback required, card settled everywhere, the agent reads changes_requested', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(token, { name: 'Copy editor', tag: 'product' });
  const agent = await agentSocket(t, key, channelId);
  const approval = await agentPost(key, channelId, {
    text: 'Publish the **v2.4.0** release announcement?',
    review: { type: 'approval', payload: { options: [{ id: 'approve', label: 'Publish', style: 'primary' }, { id: 'reject', label: 'Reject', style: 'danger' }] } },
  });
  const form = await agentPost(key, channelId, { text: 'Schedule it.', review: { type: 'form', payload: { fields: [{ name: 'day', type: 'date', label: 'Day', required: true }], submitLabel: 'Schedule' } } });
  const others = [
    await agentPost(key, channelId, { text: 'Which channel?', review: { type: 'selection', payload: { items: [{ id: 'blog', label: 'Blog' }, { id: 'mail', label: 'Mailing list' }], submitLabel: 'Choose' } } }),
    await agentPost(key, channelId, { text: 'A subject line, please.', review: { type: 'text-input' } }),
    await agentPost(key, channelId, { text: 'Raw settings.', review: { type: 'freeform' } }),
  ];

  // A second dashboard of the same human, on the inbox, sees the outcome live.
  const inbox = await newPage(browser);
  await signIn(inbox, me.email, me.password);
  await inbox.waitForURL(/\/chats/);
  await inbox.goto(`${inbox.baseUrl}/inbox`);
  await inbox.getByRole('tab', { name: 'Pending' }).click();
  const inboxItem = inbox.locator(`[data-testid="inbox-item"][data-id="${approval.id}"]`);
  await inboxItem.getByRole('button', { name: 'Request changes' }).waitFor();

  const page = await newPage(browser);
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  // Every kind of pending card offers it, next to its own actions.
  for (const m of [approval, form, ...others]) {
    const actions = page.locator(`[data-id="${m.id}"] .review-actions`).first();
    await actions.getByRole('button', { name: 'Request changes' }).waitFor();
  }
  const card = page.locator(`[data-id="${approval.id}"]`).getByTestId('review-card');
  const open = card.getByRole('button', { name: 'Request changes' });
  assert.equal(await open.getAttribute('aria-expanded'), 'false');
  assert.equal(await card.getByTestId('request-changes').isVisible(), false, 'closed until asked');
  // Keyboard: focus the button, Enter opens the box with the focus in it.
  await open.focus();
  await page.keyboard.press('Enter');
  const box = card.getByLabel('What should change?');
  await box.waitFor();
  assert.equal(await open.getAttribute('aria-expanded'), 'true');
  assert.equal(await box.evaluate((el) => el === document.activeElement), true, 'the feedback box has the focus');
  const send = card.getByTestId('request-changes').getByRole('button', { name: 'Send' });
  assert.equal(await send.isDisabled(), true, 'nothing to send yet');
  await box.fill('   \n  ');
  assert.equal(await send.isDisabled(), true, 'blank feedback cannot be sent');
  await box.press('Control+Enter');
  // Esc closes and forgets; Cancel too.
  await box.press('Escape');
  await card.getByTestId('request-changes').waitFor({ state: 'hidden' });
  assert.equal(await open.getAttribute('aria-expanded'), 'false');
  assert.equal(await open.evaluate((el) => el === document.activeElement), true, 'focus back on the button');
  await open.click();
  assert.equal(await box.inputValue(), '');
  const feedback = 'Lead with the <b>migration</b> notice.\nThen the new features. <script>window.pwned = 1</script>';
  await box.fill(feedback);
  assert.equal(await send.isDisabled(), false);
  await page.locator(`[data-id="${approval.id}"]`).evaluate((el) => el.scrollIntoView({ block: 'center' }));
  await shot(page, 'review-request-changes-desktop');
  await send.click();
  const heard = await agent.waitFor('review:responded', (m) => m.id === approval.id);
  assert.equal(heard.review.status, 'changes_requested');
  assert.equal(heard.review.feedback, feedback);
  assert.equal(heard.review.response, null);

  // The card is settled: badge, the feedback as plain text, no more actions.
  await card.getByTestId('review-status').getByText('Changes requested', { exact: true }).waitFor();
  assert.equal(await card.getAttribute('data-status'), 'changes_requested');
  assert.equal(await card.getByTestId('changes-feedback').locator('.changes-text').textContent(), feedback);
  assert.equal(await card.locator('script, b').count(), 0, 'feedback is text, never markup');
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await card.getByRole('button').count(), 0, 'nothing left to answer');
  await card.getByText(/^Sent back /).waitFor();
  await page.locator(`[data-id="${approval.id}"]`).evaluate((el) => el.scrollIntoView({ block: 'center' }));
  await shot(page, 'review-changes-requested-desktop');

  // The agent's REST reads agree.
  const read = await api('GET', `/api/v1/reviews/${approval.id}?channel=${channelId}`, { apiKey: key, expect: 200 });
  assert.equal(read.body.review.status, 'changes_requested');
  assert.equal(read.body.review.feedback, feedback);
  assert.equal(read.body.review.response, null);
  assert.ok(read.body.review.completedAt);
  const wait = await api('GET', `/api/v1/reviews/${approval.id}/wait?channel=${channelId}&timeout=1000`, { apiKey: key, expect: 200 });
  assert.equal(wait.body.status, 'changes_requested');

  // The other dashboard settled the card live, then the pending list let it go.
  await inboxItem.getByTestId('review-status').getByText('Changes requested', { exact: true }).waitFor({ timeout: 10_000 });
  await inboxItem.getByText('Lead with the <b>migration</b> notice.', { exact: false }).waitFor();
  await inboxItem.waitFor({ state: 'detached', timeout: 10_000 });
  await inbox.getByRole('tab', { name: 'Changes requested' }).click();
  const sentBack = inbox.locator(`[data-testid="inbox-item"][data-id="${approval.id}"]`);
  await sentBack.getByTestId('changes-feedback').waitFor();
  assert.equal(await inbox.getByTestId('inbox-item').count(), 1, 'only the sent-back request is listed');

  // A form card: sending changes does not submit (or validate) the form.
  const formCard = page.locator(`[data-id="${form.id}"]`).getByTestId('review-card');
  await formCard.getByRole('button', { name: 'Request changes' }).click();
  await formCard.getByLabel('What should change?').fill('Ask for a time as well.');
  await formCard.getByTestId('request-changes').getByRole('button', { name: 'Send' }).click();
  await formCard.getByTestId('review-status').getByText('Changes requested', { exact: true }).waitFor();
  assert.equal(await formCard.getByText('Please fix the highlighted fields.').count(), 0);
  const f = await agent.waitFor('review:responded', (m) => m.id === form.id);
  assert.equal(f.review.status, 'changes_requested');
  assert.equal(f.review.feedback, 'Ask for a time as well.');
  // The live list of the other dashboard picks it up too.
  await inbox.locator(`[data-testid="inbox-item"][data-id="${form.id}"]`).getByTestId('changes-feedback').waitFor({ timeout: 10_000 });

  // Settled elsewhere meanwhile: the card says so and shows what happened.
  const text = page.locator(`[data-id="${others[1].id}"]`).getByTestId('review-card');
  await text.getByRole('button', { name: 'Request changes' }).click();
  await text.getByLabel('What should change?').fill('Too late');
  await api('POST', `/api/messages/${others[1].id}/respond`, { token, body: { response: { text: 'Answered elsewhere' } }, expect: 201 });
  await text.getByTestId('review-status').getByText('Answered', { exact: true }).waitFor({ timeout: 10_000 });
  assert.equal(await text.getByTestId('request-changes').count(), 0, 'the live answer closed the box');

  assertClean(page);
  assertClean(inbox);
  await page.context().close();
  await inbox.context().close();
});

test('the composer sends optimistically, once, and the channel list follows live', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(token, { name: 'Docs writer', tag: 'product' });
  const other = await setupAgent(token, { name: 'Monitoring', tag: 'ops' });
  const agent = await agentSocket(t, key, channelId);
  const page = await newPage(browser);
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  await page.getByTestId('timeline').getByText('No messages yet').waitFor();
  const text = `Please also update the docs ${uid('m')}`;
  await page.getByTestId('composer').fill(text);
  await page.getByTestId('composer').press('Enter');
  const created = await agent.waitFor('message:created', (m) => m.text === text);
  assert.equal(created.senderType, 'user');
  assert.ok(created.clientId, 'sent with a clientId');
  const bubble = page.locator(`[data-id="${created.id}"]`);
  await bubble.waitFor();
  await page.waitForTimeout(500);
  assert.equal(await page.getByTestId('message').filter({ hasText: text }).count(), 1, 'one bubble per message');

  // Another agent's message bumps its unread badge in the list, live.
  await agentPost(other.key, other.channelId, { text: 'Disk usage on **db-2** is back under 70%', status: 'success' });
  const row = page.locator(`[data-channel="${other.channelId}"]`);
  await row.getByText('Disk usage on db-2 is back under 70%').waitFor();
  await row.locator('.badge').getByText('1').waitFor();
  // … and this agent's reply appears in the open chat.
  await agentPost(key, channelId, { text: 'Done: the docs are updated.', status: 'success' });
  await page.getByTestId('timeline').getByText('Done: the docs are updated.').waitFor();
  assert.equal(await page.getByTestId('connection').first().getAttribute('data-state'), 'open');
  assertClean(page);
  await page.context().close();
});

test('settings: API key shown once with copy, rotate, delete; agent settings; users', { timeout: TEST_TIMEOUT_MS }, async () => {
  const page = await newPage(browser);
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/settings/keys`);
  const label = uid('ci');
  await page.getByLabel('Label').fill(label);
  await page.getByRole('button', { name: 'Create key' }).click();
  const box = page.getByTestId('new-key');
  await box.waitFor();
  const shown = await box.locator('code').textContent();
  assert.match(shown, /^hp_[0-9a-f]{48}$/);
  const check = await api('GET', '/api/v1/agents', { apiKey: shown });
  assert.equal(check.status, 200, 'the shown key works');
  await shot(page, 'settings-keys-desktop');
  const row = page.locator('tr', { hasText: label });
  await row.getByRole('button', { name: `Rotate ${label}` }).click();
  await page.getByRole('button', { name: 'Rotate key', exact: true }).click();
  await page.waitForFunction((old) => document.querySelector('[data-testid="new-key"] code')?.textContent !== old, shown);
  assert.equal((await api('GET', '/api/v1/agents', { apiKey: shown })).status, 401, 'the old key stopped working');
  await row.getByRole('button', { name: `Delete ${label}` }).click();
  await page.getByRole('button', { name: 'Delete key', exact: true }).click();
  await row.waitFor({ state: 'detached' });

  // Agent settings: rename, tag, webhook URL (validated like the server)
  const { channelId } = await setupAgent(token, { name: 'Nightly backups' });
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  await page.getByRole('button', { name: 'Agent settings' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Webhook URL').fill('ftp://nope');
  await dialog.getByRole('button', { name: 'Save changes' }).click();
  await dialog.getByText('The URL must be an http or https URL.').waitFor();
  await dialog.getByLabel('Name', { exact: true }).fill('Backups');
  await dialog.getByLabel('Group (tag)').fill('ops');
  await dialog.getByLabel('Webhook URL').fill('https://hooks.example.com/assent');
  await dialog.getByRole('button', { name: 'Save changes' }).click();
  // The first URL reveals the signing secret: the dialog stays open to show it once.
  await dialog.getByTestId('webhook-secret').getByText(/^whsec_/).waitFor();
  await dialog.getByRole('button', { name: 'Done' }).click();
  await dialog.waitFor({ state: 'detached' });
  const saved = (await api('GET', `/api/agents/${channelId}`, { token, expect: 200 })).body;
  assert.equal(saved.name, 'Backups');
  assert.equal(saved.tag, 'ops');
  assert.equal(saved.webhookUrl, 'https://hooks.example.com/assent');

  await page.goto(`${page.baseUrl}/settings/users`);
  await page.getByRole('heading', { name: 'Add a user' }).waitFor();
  await shot(page, 'settings-users-desktop');
  const phone = await newPage(browser, { viewport: PHONE, mobile: true });
  await signIn(phone, me.email, me.password);
  await phone.waitForURL(/\/chats/);
  await phone.goto(`${phone.baseUrl}/settings/account`);
  await phone.getByRole('heading', { name: 'Password' }).waitFor();
  await shot(phone, 'settings-phone');
  assertClean(page);
  assertClean(phone);
  await page.context().close();
  await phone.context().close();
});

