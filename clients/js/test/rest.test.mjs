// The REST part of the client against a real server: auth (including the forced password
// change), agents, messages, reviews, API keys, users, and the error shape.

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { before, test } from 'node:test';
import { AssentError, REVIEW_STATUSES, createClient } from '../src/index.js';
import { BASE_URL, TEST_TIMEOUT_MS, adminClient, memberClient, postAgentMessage, setupTenant, uid, until } from './helpers.mjs';

let tenant;
before(async () => {
  tenant = await setupTenant();
});

test('login keeps the token, me answers, logout forgets it', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await adminClient();
  assert.match(c.token, /.+/);
  const me = await c.auth.me();
  assert.equal(me.role, 'owner');
  await c.auth.logout();
  assert.equal(c.token, undefined);
  await assert.rejects(c.auth.me(), (e) => e instanceof AssentError && e.status === 401);
});

test('wrong credentials give an AssentError with the server\'s code', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = createClient({ baseUrl: BASE_URL });
  await assert.rejects(c.auth.login('admin@example.com', 'not-the-password'), (e) => {
    assert.ok(e instanceof AssentError);
    assert.equal(e.status, 401);
    assert.equal(e.code, 'invalid_credentials');
    assert.equal(e.retryable, false);
    return true;
  });
});

test('a new member must change the password before anything else', { timeout: TEST_TIMEOUT_MS }, async () => {
  const owner = tenant.human;
  const email = `${uid('m')}@example.com`;
  const initial = `pw-${randomBytes(6).toString('hex')}`;
  await owner.users.create({ email, displayName: 'New Member', password: initial, role: 'member' });
  const c = createClient({ baseUrl: BASE_URL });
  const { user } = await c.auth.login(email, initial);
  assert.equal(user.mustChangePassword, true);
  await assert.rejects(c.agents.list(), (e) => e.status === 403 && e.code === 'password_change_required');
  await assert.rejects(c.auth.changePassword(initial, 'short'), (e) => e.status === 400 && e.errors.length > 0);
  await c.auth.changePassword(initial, `pw-${randomBytes(6).toString('hex')}`);
  assert.deepEqual(await c.agents.list(), []);
  assert.equal((await c.auth.me()).mustChangePassword, false);
});

test('agents: create, update, list with summaries, mark read', { timeout: TEST_TIMEOUT_MS }, async () => {
  const h = tenant.human;
  const a = await h.agents.create({ name: uid('agent'), tag: 'ops' });
  const updated = await h.agents.update(a.id, { name: 'Renamed', webhookUrl: 'https://example.com/hook' });
  assert.equal(updated.name, 'Renamed');
  assert.equal(updated.webhookUrl, 'https://example.com/hook');
  await assert.rejects(h.agents.update(a.id, { webhookUrl: 'ftp://x' }), (e) => e.status === 400 && e.errors[0].path === 'webhookUrl');
  await postAgentMessage(tenant.agent, a.id, 'hello');
  let row = (await h.agents.list()).find((x) => x.id === a.id);
  assert.equal(row.unreadCount, 1);
  assert.equal(row.lastMessage, 'hello');
  assert.equal(row.tag, 'ops');
  await h.agents.markRead(a.id);
  row = (await h.agents.list()).find((x) => x.id === a.id);
  assert.equal(row.unreadCount, 0);
  await h.agents.remove(a.id);
  await assert.rejects(h.agents.get(a.id));
});

test('messages: human send is idempotent on clientId; pages newest first', { timeout: TEST_TIMEOUT_MS }, async () => {
  const h = tenant.human;
  await h.messages.send(tenant.channelId, 'an older one', uid('cid'));
  const clientId = uid('cid');
  const a = await h.messages.send(tenant.channelId, 'from the human', clientId);
  const b = await h.messages.send(tenant.channelId, 'from the human', clientId);
  assert.equal(a.id, b.id);
  assert.equal(a.senderType, 'user');
  const page = await h.messages.list(tenant.channelId, { limit: 1 });
  assert.equal(page.data.length, 1);
  assert.equal(page.data[0].id, a.id);
  assert.ok(page.nextCursor);
});

test('reviews: list pending, respond, validation errors name the field', { timeout: TEST_TIMEOUT_MS }, async () => {
  const h = tenant.human;
  const m = await postAgentMessage(tenant.agent, tenant.channelId, 'Fill this', {
    review: { type: 'form', payload: { fields: [{ name: 'age', type: 'number', label: 'Age', min: 0, max: 120, required: true }] } },
  });
  const pending = await h.reviews.list({ status: 'pending' });
  assert.ok(pending.some((x) => x.id === m.id));
  await assert.rejects(h.reviews.respond(m.id, { age: 300 }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.code, 'validation_failed');
    assert.equal(e.errors[0].path, 'response.age');
    return true;
  });
  const done = await h.reviews.respond(m.id, { age: 42 }, 'thanks');
  assert.equal(done.review.status, 'completed');
  assert.equal(done.review.feedback, 'thanks');
  await assert.rejects(h.reviews.respond(m.id, { age: 41 }), (e) => e.status === 403 && e.code === 'review_already_responded');
});

test('reviews: requestChanges settles a review as changes_requested, with the feedback', { timeout: TEST_TIMEOUT_MS }, async () => {
  assert.deepEqual([...REVIEW_STATUSES], ['pending', 'completed', 'changes_requested', 'expired']);
  const h = tenant.human;
  const m = await postAgentMessage(tenant.agent, tenant.channelId, 'Release notes, draft 1', { review: { type: 'text-input' } });
  // Feedback is what to change: required and not blank.
  for (const blank of [undefined, '', '   ']) {
    await assert.rejects(h.reviews.requestChanges(m.id, blank), (e) => {
      assert.equal(e.status, 400);
      assert.equal(e.code, 'validation_failed');
      assert.equal(e.errors[0].path, 'feedback');
      return true;
    });
  }
  const sent = await h.reviews.requestChanges(m.id, 'Mention the <b>migration</b> first.');
  assert.equal(sent.id, m.id);
  assert.equal(sent.review.status, 'changes_requested');
  assert.equal(sent.review.feedback, 'Mention the <b>migration</b> first.');
  assert.equal(sent.review.response, null);
  assert.ok(sent.review.completedAt);
  const listed = await h.reviews.list({ status: 'changes_requested', channel: tenant.channelId });
  assert.deepEqual(listed.map((x) => x.id), [m.id]);
  assert.equal((await h.reviews.list({ status: 'pending', channel: tenant.channelId })).some((x) => x.id === m.id), false);
  // Settled: neither an answer nor a second request is taken.
  await assert.rejects(h.reviews.respond(m.id, { text: 'fine' }), (e) => e.status === 403 && e.code === 'review_already_responded');
  await assert.rejects(h.reviews.requestChanges(m.id, 'again'), (e) => e.status === 403 && e.code === 'review_already_responded');
  // The agent's long-poll says so, and the follow-up iteration is accepted.
  const wait = await tenant.agent.request('GET', `/api/v1/reviews/${m.id}/wait`, { params: { channel: tenant.channelId, timeout: 1000 } });
  assert.equal(wait.status, 'changes_requested');
  assert.equal(wait.message.review.feedback, 'Mention the <b>migration</b> first.');
  const next = await postAgentMessage(tenant.agent, tenant.channelId, 'Release notes, draft 2', { iterationOf: m.id, review: { type: 'text-input' } });
  assert.equal(next.iteration, 2);
  const chain = await h.messages.iterations(next.id);
  assert.deepEqual(chain.iterations.map((x) => [x.iteration, x.review.status]), [[1, 'changes_requested'], [2, 'pending']]);
});

test('reviews: an iteration chain lists every iteration, oldest first', { timeout: TEST_TIMEOUT_MS }, async () => {
  const h = tenant.human;
  const first = await postAgentMessage(tenant.agent, tenant.channelId, 'Release notes, draft 1', { review: { type: 'approval' } });
  await h.reviews.respond(first.id, { selectedOption: 'reject' }, 'Shorter, please');
  const second = await postAgentMessage(tenant.agent, tenant.channelId, 'Release notes, draft 2', { iterationOf: first.id, review: { type: 'approval' } });
  assert.equal(second.iteration, 2);
  const chain = await h.messages.iterations(second.id);
  assert.equal(chain.groupId, second.iterationGroupId);
  assert.deepEqual(chain.iterations.map((m) => [m.id, m.iteration]), [[first.id, 1], [second.id, 2]]);
  assert.equal(chain.iterations[0].review.feedback, 'Shorter, please');
});

test('webhooks: signing secret shown once and rotated; deliveries listed and retried', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = tenant.human;
  // A local receiver. Whether the server may deliver to it depends on
  // ASSENT_ALLOW_PRIVATE_WEBHOOKS: with the egress guard on, the delivery fails at once
  // (refused), which is just as visible; with it off (e2e/run.sh), the request arrives.
  const received = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  t.after(() => receiver.close());
  const url = `http://127.0.0.1:${receiver.address().port}/hook`;

  const a = await h.agents.create({ name: uid('hooked') });
  const first = await h.agents.update(a.id, { webhookUrl: url, webhookHeaders: { 'X-Team': 'ops' }, webhookAuth: { token: 'sekrit' } });
  assert.match(first.webhookSecret, /^whsec_[A-Za-z0-9+/]+=*$/);
  assert.deepEqual(first.webhookAuth, { token: '***' });
  assert.deepEqual(first.webhookHeaders, { 'X-Team': '***' }, 'header values are masked like credentials');
  const again = await h.agents.update(a.id, { webhookUrl: url });
  assert.equal(again.webhookSecret, undefined, 'the secret is shown only by the call that first sets a URL');
  assert.equal((await h.agents.get(a.id)).webhookSecret, undefined);
  await assert.rejects(h.agents.update(a.id, { webhookHeaders: { 'webhook-id': 'x' } }), (e) => e.status === 400 && e.errors[0].path === 'webhookHeaders.webhook-id');
  const rotated = await h.agents.rotateWebhookSecret(a.id);
  assert.match(rotated.webhookSecret, /^whsec_/);
  assert.notEqual(rotated.webhookSecret, first.webhookSecret);

  // An agent's own message has no delivery: nothing to retry.
  const own = await postAgentMessage(tenant.agent, a.id, 'from the agent');
  assert.deepEqual((await h.messages.deliveries(own.id)).data, []);
  await assert.rejects(h.messages.retry(own.id), (e) => e.status === 400 && e.code === 'no_webhook');

  // A human's message is delivered to the agent's URL; its delivery settles quickly.
  const m = await h.messages.send(a.id, 'for the webhook', uid('cid'));
  let d;
  await until(async () => {
    [d] = (await h.messages.deliveries(m.id)).data;
    return d && d.state !== 'pending';
  }, 'the delivery to settle', 20_000);
  assert.equal(d.event, 'message:created');
  assert.equal(d.target, 'agent');
  assert.equal(d.url, url);
  assert.ok(d.attempts >= 1 && d.attemptLog.length === d.attempts, JSON.stringify(d));
  assert.equal(typeof d.attemptLog[0].durationMs, 'number');
  const listed = (await h.agents.deliveries(a.id, { state: 'all', limit: 10 })).data;
  assert.deepEqual(listed.map((x) => x.id), [d.id]);
  assert.deepEqual((await h.agents.deliveries(a.id, { state: d.state === 'delivered' ? 'failed' : 'delivered' })).data, []);
  await assert.rejects(h.agents.deliveries(a.id, { limit: 0 }), (e) => e.status === 400);
  if (received.length) {
    assert.equal(d.state, 'delivered');
    const req = received[0];
    assert.equal(req.headers['webhook-id'], d.id);
    assert.equal(req.headers.authorization, 'Bearer sekrit');
    assert.equal(req.headers['x-team'], 'ops');
    // Signed with the rotated secret (Standard Webhooks).
    const key = Buffer.from(rotated.webhookSecret.slice('whsec_'.length), 'base64');
    const sig = createHmac('sha256', key).update(`${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.${req.body}`).digest('base64');
    assert.ok(req.headers['webhook-signature'].split(' ').includes(`v1,${sig}`), 'the signature verifies');
  } else {
    assert.equal(d.state, 'failed', 'the egress guard refused the private URL, visibly');
  }

  // A manual retry: one more attempt, same webhook-id.
  assert.deepEqual(await h.messages.retry(m.id), { retried: true });
  await until(async () => {
    const [x] = (await h.messages.deliveries(m.id)).data;
    return x.attempts === d.attempts + 1 && x.state !== 'pending';
  }, 'the retried attempt', 20_000);
  const [after] = (await h.messages.deliveries(m.id)).data;
  assert.equal(after.id, d.id);
  if (received.length) assert.equal(received.at(-1).headers['webhook-id'], d.id);
  await h.agents.remove(a.id);
});

test('API keys: the clear key is shown on create and rotate only', { timeout: TEST_TIMEOUT_MS }, async () => {
  const h = tenant.human;
  const k = await h.apiKeys.create('ci');
  assert.match(k.key, /^hp_[0-9a-f]{48}$/);
  const listed = (await h.apiKeys.list()).find((x) => x.id === k.id);
  assert.equal(listed.key, undefined);
  assert.equal(listed.keyPrefix, k.key.slice(0, listed.keyPrefix.length));
  const r = await h.apiKeys.rotate(k.id);
  assert.notEqual(r.key, k.key);
  await h.apiKeys.remove(k.id);
  assert.ok(!(await h.apiKeys.list()).some((x) => x.id === k.id));
});

test('users: owners manage them, members may not', { timeout: TEST_TIMEOUT_MS }, async () => {
  const owner = tenant.human;
  const member = await memberClient(owner);
  await assert.rejects(member.users.list(), (e) => e.status === 403 && e.code === 'owner_required');
  const users = await owner.users.list();
  const row = users.find((u) => u.email === member.email);
  assert.ok(row);
  const up = await owner.users.update(row.id, { displayName: 'Renamed Member' });
  assert.equal(up.displayName, 'Renamed Member');
  await owner.users.remove(row.id);
  assert.ok(!(await owner.users.list()).some((u) => u.id === row.id));
});

test('an unreachable server is a retryable network AssentError', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = createClient({ baseUrl: 'http://127.0.0.1:9' });
  await assert.rejects(c.auth.me(), (e) => e instanceof AssentError && e.status === 0 && e.retryable);
});
