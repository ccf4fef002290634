// The REST part of the client against a real server: auth (including the forced password
// change), agents, messages, reviews, API keys, users, and the error shape.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import { AssentError, createClient } from '../src/index.js';
import { BASE_URL, TEST_TIMEOUT_MS, adminClient, memberClient, postAgentMessage, setupTenant, uid } from './helpers.mjs';

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
