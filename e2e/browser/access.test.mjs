// Sign-in, the forced password change, tenant isolation and sanitised markdown, through a
// real browser.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  PHONE,
  TEST_TIMEOUT_MS,
  createReviewer,
  agentPost,
  api,
  assertClean,
  createMember,
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
let token;
let me;
before(async () => {
  browser = await launch();
  me = await createReviewer();
  token = me.token;
});
after(() => shutdown(browser));

test('sign in: wrong password is refused, a new user must choose a password first', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { email, temp } = await createMember(token);
  const page = await newPage(browser);
  await page.goto(`${page.baseUrl}/`);
  await page.waitForURL(/\/login/);
  await shot(page, 'login-desktop');
  await signIn(page, email, 'wrong-password');
  await page.getByText('Wrong email or password.').waitFor();

  await signIn(page, email, temp);
  await page.waitForURL(/\/change-password/);
  await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
  await shot(page, 'change-password-desktop');
  await page.getByLabel('Current password').fill(temp);
  await page.getByLabel('New password', { exact: true }).fill('short');
  await page.getByLabel('Repeat the new password').fill('short');
  await page.getByRole('button', { name: 'Save and continue' }).click();
  await page.getByText('at least 8 characters').first().waitFor();
  const fresh = `pw-${uid('x')}`;
  await page.getByLabel('New password', { exact: true }).fill(fresh);
  await page.getByLabel('Repeat the new password').fill(fresh);
  await page.getByRole('button', { name: 'Save and continue' }).click();
  await page.waitForURL(/\/chats/);
  await page.getByRole('heading', { name: 'No agents yet' }).waitFor();
  // The new password is the one that works now.
  const ok = await api('POST', '/api/auth/login', { body: { email, password: fresh } });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.user.mustChangePassword, false);

  // Sign out from the rail.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login/);
  await page.goto(`${page.baseUrl}/inbox`);
  await page.waitForURL(/\/login\?next=%2Finbox/);
  const phone = await newPage(browser, { viewport: PHONE, mobile: true });
  await phone.goto(`${phone.baseUrl}/login`);
  await phone.getByRole('button', { name: 'Sign in' }).waitFor();
  await shot(phone, 'login-phone');
  assertClean(page, [/status of 401/]);
  assertClean(phone);
  await page.context().close();
  await phone.context().close();
});

test('a second user cannot see the first user\'s channels or reviews', { timeout: TEST_TIMEOUT_MS }, async () => {
  const secretName = uid('Private agent');
  const { key, channelId } = await setupAgent(token, { name: secretName });
  const secretText = uid('confidential');
  await agentPost(key, channelId, { text: secretText, review: { type: 'approval' } });

  const { email, temp } = await createMember(token);
  const password = `pw-${uid('y')}`;
  const first = await api('POST', '/api/auth/login', { body: { email, password: temp }, expect: 200 });
  await api('POST', '/api/auth/change-password', { token: first.body.token, body: { currentPassword: temp, newPassword: password }, expect: 200 });

  const page = await newPage(browser);
  await signIn(page, email, password);
  await page.waitForURL(/\/chats/);
  await page.getByRole('heading', { name: 'No agents yet' }).waitFor();
  assert.equal(await page.getByText(secretName).count(), 0);

  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  await page.getByRole('heading', { name: 'Agent not found' }).waitFor();
  assert.equal(await page.getByText(secretText).count(), 0);

  await page.goto(`${page.baseUrl}/inbox`);
  await page.getByTestId('inbox-empty').waitFor();
  assert.equal(await page.getByText(secretText).count(), 0);
  // A message posted now does not reach the other user's dashboard either.
  await agentPost(key, channelId, { text: `${secretText} again` });
  await sleep(800);
  assert.equal(await page.getByText(secretText).count(), 0);
  // The API refuses too (the dashboard is not the only guard).
  const direct = await api('GET', `/api/messages?channel=${channelId}`, { token: first.body.token });
  assert.equal(direct.status, 403, `the API refuses the other user's channel: ${direct.text}`);
  assert.equal(direct.body.code, 'not_your_agent');
  assertClean(page, [/status of 40[34]/]);
  await page.context().close();
});

test('hostile markdown from an agent does not execute', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { key, channelId } = await setupAgent(token, { name: 'Untrusted agent' });
  const page = await newPage(browser);
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  await page.getByTestId('timeline').getByText('No messages yet').waitFor();
  const payload = [
    'Hello <img src=x onerror="window.__pwned=1;alert(1)">',
    '[click me](javascript:alert(1)) and [shout](JAVASCRIPT:window.__pwned=3) and [data](data:text/html,<script>alert(1)</script>)',
    '<script>window.__pwned=2;alert(2)</script>',
    '<a href="javascript:alert(3)">raw link</a> <iframe src="javascript:alert(4)"></iframe>',
    '![pic](javascript:alert(5)) <svg onload=alert(6)></svg>',
    '[fine](https://example.com/ok)',
  ].join('\n\n');
  // Live (thread stream) and from history (REST) both go through the same renderer.
  await agentPost(key, channelId, { text: payload, status: 'warning' });
  const bubble = page.getByTestId('message').filter({ hasText: 'Hello' });
  await bubble.waitFor();
  await page.reload();
  await bubble.waitFor();
  const timeline = page.getByTestId('timeline');
  // Shown as text, not as markup.
  await timeline.getByText('<img src=x onerror="window.__pwned=1;alert(1)">', { exact: false }).waitFor();
  await timeline.getByText('<script>window.__pwned=2;alert(2)</script>', { exact: false }).waitFor();
  for (const sel of ['img', 'script', 'iframe', 'svg:not(.icon)', 'a[href^="javascript:" i]', 'a[href^="data:" i]', '[onerror]', '[onload]']) {
    assert.equal(await timeline.locator(`[data-testid="message"] ${sel}`).count(), 0, `no ${sel} in messages`);
  }
  // The unsafe link's label remains as plain text; clicking it does nothing.
  await timeline.getByText('click me').click();
  await timeline.getByText('shout').click();
  const safe = timeline.getByRole('link', { name: 'fine' });
  assert.equal(await safe.getAttribute('href'), 'https://example.com/ok');
  assert.equal(await safe.getAttribute('rel'), 'noopener noreferrer nofollow ugc');
  await sleep(500);
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script ran');
  await shot(page, 'hostile-markdown-desktop');
  assertClean(page);
  await page.context().close();
});
