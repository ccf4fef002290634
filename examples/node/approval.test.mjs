// Test driver for approval-agent.mjs: sets up an API key and an agent as the owner, runs the
// agent as a child process, and plays the human through the dashboard's REST API.
//
//   ASSENT_URL=http://127.0.0.1:8080 ASSENT_ADMIN_EMAIL=… ASSENT_ADMIN_PASSWORD=… node --test
//
// Needs a running Assent server (e2e/run.sh starts one and exports these variables).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BASE_URL = (process.env.ASSENT_URL || '').replace(/\/+$/, '');
const ADMIN_EMAIL = process.env.ASSENT_ADMIN_EMAIL ?? 'admin@example.com';
const ADMIN_PASSWORD = process.env.ASSENT_ADMIN_PASSWORD ?? 'admin-password-1';
const AGENT_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'approval-agent.mjs');

const TEST_TIMEOUT_MS = 30_000;
/** How long the human waits for the agent's approval to show up in the review inbox. */
const APPEAR_TIMEOUT_MS = 10_000;
/** How long the agent gets to print its result and exit. */
const EXIT_TIMEOUT_MS = 10_000;
const POLL_MS = 200;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const uid = (prefix) => `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;

/** One HTTP call; `token` → bearer, `apiKey` → x-api-key. Returns `{status, body, text}`. */
async function api(method, path, { token, apiKey, body, expectStatus } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  if (apiKey) headers['x-api-key'] = apiKey;
  const res = await fetch(BASE_URL + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (expectStatus !== undefined) {
    assert.equal(res.status, expectStatus, `${method} ${path} answered ${res.status}, expected ${expectStatus}; body: ${text.slice(0, 500)}`);
  }
  return { status: res.status, body: json, text };
}

/**
 * The agent as a child process. `result` resolves with `{code, signal, stdout, stderr}` when
 * it exits; it is killed when the test ends if it is still running.
 */
function runAgent(t, { apiKey, channelId, env = {} }) {
  const child = spawn(process.execPath, [AGENT_SCRIPT], {
    env: {
      ...process.env,
      ASSENT_URL: BASE_URL,
      ASSENT_API_KEY: apiKey,
      ASSENT_CHANNEL_ID: channelId,
      ASSENT_AGENT_TIMEOUT_MS: '20000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (s) => (out.stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s) => (out.stderr += s));
  const result = new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, ...out }));
  });
  let exited = false;
  result.then(() => (exited = true));
  t.after(() => {
    if (!exited) child.kill('SIGKILL');
  });
  const show = () => `agent stdout: ${JSON.stringify(out.stdout)}; stderr: ${JSON.stringify(out.stderr)}`;
  return { child, result, show, hasExited: () => exited };
}

/** Resolves with the child's result, or fails after `ms`. */
async function waitExit(agent, ms = EXIT_TIMEOUT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the agent did not exit within ${ms} ms; ${agent.show()}`)), ms);
  });
  try {
    return await Promise.race([agent.result, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls the human's review inbox until a pending review in `channelId` passes `pred`. */
async function waitForPendingReview(token, channelId, agent, pred = () => true) {
  const deadline = Date.now() + APPEAR_TIMEOUT_MS;
  let last;
  while (Date.now() < deadline) {
    const res = await api('GET', `/api/messages/reviews?status=pending&channel=${encodeURIComponent(channelId)}`, {
      token,
      expectStatus: 200,
    });
    last = res.text;
    assert.ok(Array.isArray(res.body), `GET /api/messages/reviews should answer an array: ${res.text.slice(0, 500)}`);
    const found = res.body.find((m) => m?.channelId === channelId && pred(m));
    if (found) return found;
    if (agent.hasExited()) {
      const r = await agent.result;
      assert.fail(`the agent exited (${r.code ?? r.signal}) before its approval appeared; ${agent.show()}`);
    }
    await sleep(POLL_MS);
  }
  assert.fail(`no pending review appeared in channel ${channelId} within ${APPEAR_TIMEOUT_MS} ms; last answer: ${last?.slice(0, 500)}; ${agent.show()}`);
}

let owner; // {token}
let apiKey;
let channelId;

before(async () => {
  assert.ok(BASE_URL, 'ASSENT_URL is not set: start a server and export it, or use e2e/run.sh');
  const login = await api('POST', '/api/auth/login', {
    body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    expectStatus: 200,
  });
  owner = { token: login.body.token };
  const key = await api('POST', '/api/api-keys', { token: owner.token, body: { label: uid('node-example') }, expectStatus: 201 });
  apiKey = key.body.key;
  assert.match(apiKey ?? '', /^hp_/, `api key: ${key.text}`);
  const agent = await api('POST', '/api/v1/agents', { apiKey, body: { name: uid('deploy-bot') }, expectStatus: 201 });
  channelId = agent.body.id;
  assert.equal(typeof channelId, 'string', `agent: ${agent.text}`);
});

describe('approval-agent.mjs (Placet WebSocket full example)', () => {
  test('a human approves with a comment → the agent prints the decision and exits 0', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const agent = runAgent(t, { apiKey, channelId });

    // The human sees the approval in the review inbox…
    const pending = await waitForPendingReview(owner.token, channelId, agent, (m) => m.review?.type === 'approval');
    const show = JSON.stringify(pending);
    assert.equal(pending.senderType, 'agent', `sender: ${show}`);
    assert.equal(pending.text, '### Deploy v2.1.0 to production?', `text: ${show}`);
    assert.equal(pending.review.status, 'pending', `review.status: ${show}`);
    assert.equal(pending.review.response, null, `review.response: ${show}`);
    assert.equal(typeof pending.review.expiresAt, 'string', `review.expiresAt: ${show}`);
    assert.deepEqual(pending.review.payload.options.map((o) => o.id), ['approve', 'reject'], `options: ${show}`);

    // …and approves it with a comment.
    const answered = await api('POST', `/api/messages/${encodeURIComponent(pending.id)}/respond`, {
      token: owner.token,
      body: { response: { selectedOption: 'approve', comment: 'Go ahead' } },
      expectStatus: 201,
    });
    assert.equal(answered.body?.review?.status, 'completed', `respond answer: ${answered.text}`);
    assert.deepEqual(answered.body.review.response, { selectedOption: 'approve', comment: 'Go ahead' }, `respond answer: ${answered.text}`);

    const r = await waitExit(agent);
    assert.equal(r.code, 0, `agent exit code; ${agent.show()}`);
    const lines = r.stdout.split('\n').map((l) => l.trim());
    assert.ok(lines.includes(`Approval sent: ${pending.id}`), `agent did not report the approval it sent; ${agent.show()}`);
    assert.ok(lines.includes('Decision: approve'), `agent did not print the decision; ${agent.show()}`);
    assert.ok(lines.includes('Comment: Go ahead'), `agent did not print the comment; ${agent.show()}`);
    assert.ok(lines.includes('Deploying...'), `agent did not act on the approval; ${agent.show()}`);
  });

  test('nobody answers within expiresInSeconds → the agent reports review:expired and exits non-zero', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const agent = runAgent(t, { apiKey, channelId, env: { ASSENT_REVIEW_EXPIRES_IN_SECONDS: '1' } });

    const r = await waitExit(agent);
    assert.equal(r.code, 3, `agent exit code (3 = expired); ${agent.show()}`);
    const sent = /^Approval sent: (\S+)$/m.exec(r.stdout);
    assert.ok(sent, `agent did not report the approval it sent; ${agent.show()}`);
    const id = sent[1];
    assert.match(r.stdout, new RegExp(`^Review ${id} expired — no response received$`, 'm'), `agent did not report the expiry; ${agent.show()}`);
    assert.doesNotMatch(r.stdout, /^Decision:/m, `agent printed a decision for an expired review; ${agent.show()}`);

    // The human side: the review is listed as expired and can no longer be answered.
    const expired = await api('GET', `/api/messages/reviews?status=expired&channel=${encodeURIComponent(channelId)}`, {
      token: owner.token,
      expectStatus: 200,
    });
    assert.ok(Array.isArray(expired.body) && expired.body.some((m) => m.id === id), `expired reviews should list ${id}: ${expired.text.slice(0, 500)}`);
    const late = await api('POST', `/api/messages/${encodeURIComponent(id)}/respond`, {
      token: owner.token,
      body: { response: { selectedOption: 'approve' } },
    });
    assert.ok(late.status === 403 || late.status === 409, `a late answer should be refused with 403/409, got ${late.status}: ${late.text}`);
    assert.equal(late.body?.code, 'review_expired', `late answer error code: ${late.text}`);
  });
});
