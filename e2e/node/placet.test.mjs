// Placet compatibility: the flows Placet's own examples perform (`examples/websocket/ws_echo.ts`,
// `examples/typescript/iteration_example.ts` in placet-io/placet), written against Assent the
// way those scripts talk to Placet: the human's JWT from the `access_token` cookie, a socket
// ticket, `subscribe:channel` with a bare channel id, the agent's key as
// `Authorization: Bearer hp_…`, answers read from `review:responded` and the long-poll.
// The files steps of Placet's examples use fetch with a FormData body (undici's multipart
// encoder, as the TypeScript example does).

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  BASE_URL,
  TEST_TIMEOUT_MS,
  connect,
  openSocket,
  record,
  setupTenant,
  sleep,
} from './helpers.mjs';

/** @type {Awaited<ReturnType<typeof setupTenant>>} */
let tenant;

before(async () => {
  tenant = await setupTenant();
});

/** The agent's REST calls as the examples make them: the key as a bearer token. */
async function agentCall(method, path, body) {
  const res = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: { Authorization: `Bearer ${tenant.apiKey}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path} → ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const approvalBody = (text, extra = {}) => ({
  channelId: tenant.channelId,
  text,
  status: 'warning',
  review: {
    type: 'approval',
    payload: {
      options: [
        { id: 'approve', label: 'Approve', style: 'primary' },
        { id: 'reject', label: 'Reject', style: 'danger' },
      ],
    },
  },
  ...extra,
});

/** ws_echo.ts's login: the JWT is read from the HTTP-only `access_token` cookie. */
async function cookieLogin() {
  const res = await fetch(`${BASE_URL}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('access_token='));
  assert.ok(cookie, 'an access_token cookie');
  return cookie.split('=')[1].split(';')[0];
}

/** The human side: answers a review as the dashboard does. */
async function humanAnswer(jwt, messageId, body) {
  const res = await fetch(`${BASE_URL}/api/messages/${messageId}/respond`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${jwt}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201, await res.text());
}

describe('Placet examples, unchanged in their calls', () => {
  test('ws_echo: a ticket socket logs user messages and answers, the agent replies by REST', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const jwt = await cookieLogin();
    const tr = await fetch(`${BASE_URL}/api/auth/ws-ticket`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${jwt}` },
    });
    assert.equal(tr.status, 200);
    const { ticket } = await tr.json();
    const socket = openSocket(t, { token: ticket });
    const events = record(socket);
    await connect(socket);
    socket.emit('subscribe:channel', tenant.channelId); // no ack, as the example does
    socket.emit('ping');
    await events.waitFor('pong', () => true, { what: 'pong after subscribe' });

    // A user writes; the echo bot sees message:created (senderType user) and replies.
    const userRes = await fetch(`${BASE_URL}/api/messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${jwt}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channelId: tenant.channelId, text: 'hello bot' }),
    });
    assert.equal(userRes.status, 201);
    const created = await events.waitFor('message:created', (d) => d.senderType === 'user' && d.text === 'hello bot');
    const seen = new Set([created.id]);
    const reply = await agentCall('POST', '/api/v1/messages', {
      channelId: tenant.channelId,
      text: 'Got it, thanks! 👍',
      status: 'success',
    });
    const echoed = await events.waitFor('message:created', (d) => d.id === reply.id);
    assert.equal(echoed.senderType, 'agent');
    assert.ok(!seen.has(echoed.id));

    // The bot asks for approval; the human answers; review:responded carries the choice.
    const approval = await agentCall('POST', '/api/v1/messages', approvalBody('Should I proceed with this action?'));
    await events.waitFor('message:created', (d) => d.id === approval.id);
    await humanAnswer(jwt, approval.id, { response: { selectedOption: 'approve' } });
    const responded = await events.waitFor('review:responded', (d) => d.id === approval.id);
    assert.equal(responded.review?.response?.selectedOption, 'approve');
    // Each event once per socket, whatever rooms it went to (the example de-duplicates anyway).
    await sleep(300);
    assert.equal(events.of('review:responded', (d) => d.id === approval.id).length, 1);
  });

  test('iteration_example: reject with feedback, revise with iterationOf, approve, read the chain', { timeout: TEST_TIMEOUT_MS }, async () => {
    const jwt = await cookieLogin();
    const first = await agentCall('POST', '/api/v1/messages', approvalBody('First draft of the report.', {
      metadata: { agent: 'iteration-example', generatedAt: Date.now() },
    }));
    assert.equal(first.iteration ?? 1, 1);
    const waiting = agentCall('GET', `/api/v1/reviews/${first.id}/wait?channel=${tenant.channelId}&timeout=20000`);
    await humanAnswer(jwt, first.id, { response: { selectedOption: 'reject' }, feedback: 'Fix the growth figure' });
    const result = await waiting;
    assert.equal(result.status, 'completed');
    assert.equal(result.message.review.response.selectedOption, 'reject');
    assert.equal(result.message.review.feedback, 'Fix the growth figure');

    const revised = await agentCall('POST', '/api/v1/messages', approvalBody(`Revised. Addressed: ${result.message.review.feedback}`, {
      iterationOf: first.id,
    }));
    assert.equal(revised.iteration, 2);
    const waiting2 = agentCall('GET', `/api/v1/reviews/${revised.id}/wait?channel=${tenant.channelId}&timeout=20000`);
    await humanAnswer(jwt, revised.id, { response: { selectedOption: 'approve' } });
    const result2 = await waiting2;
    assert.equal(result2.status, 'completed');
    assert.equal(result2.message.review.response.selectedOption, 'approve');

    const chain = await agentCall('GET', `/api/v1/messages/iterations/${revised.id}?channel=${tenant.channelId}`);
    assert.deepEqual(
      chain.iterations.map((it) => [it.iteration, it.review?.status]),
      [[1, 'completed'], [2, 'completed']],
    );
  });

  test('a human may send a review back; the long-poll says changes_requested', { timeout: TEST_TIMEOUT_MS }, async () => {
    const jwt = await cookieLogin();
    const msg = await agentCall('POST', '/api/v1/messages', approvalBody('Ship the announcement?'));
    const waiting = agentCall('GET', `/api/v1/reviews/${msg.id}/wait?channel=${tenant.channelId}&timeout=20000`);
    await humanAnswer(jwt, msg.id, { requestChanges: true, feedback: 'Lead with the migration notice' });
    const result = await waiting;
    assert.equal(result.status, 'changes_requested');
    assert.equal(result.message.review.feedback, 'Lead with the migration notice');
    const next = await agentCall('POST', '/api/v1/messages', approvalBody('Revised announcement', { iterationOf: msg.id }));
    assert.equal(next.iteration, 2);
  });

  test('files: store with FormData, send with attachmentIds, review it, download it', { timeout: TEST_TIMEOUT_MS }, async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const form = new FormData();
    form.append('channelId', tenant.channelId);
    form.append('file', new Blob([png], { type: 'image/png' }), 'mockup.png');
    const res = await fetch(`${BASE_URL}/api/v1/files/store`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tenant.apiKey}` },
      body: form,
      signal: AbortSignal.timeout(30_000),
    });
    const stored = await res.json();
    assert.equal(res.status, 201, JSON.stringify(stored));
    assert.equal(stored.messageId, null);
    assert.equal(stored.pluginType, '@uax/image');
    const msg = await agentCall('POST', '/api/v1/messages', approvalBody('Approve this mockup?', { attachmentIds: [stored.id] }));
    assert.deepEqual(msg.attachments.map((a) => a.filename), ['mockup.png']);
    const text = await agentCall('POST', '/api/v1/files/store-text', { channelId: tenant.channelId, content: '# Notes' });
    assert.equal(text.textContent, '# Notes');
    const jwt = await cookieLogin();
    const waiting = agentCall('GET', `/api/v1/reviews/${msg.id}/wait?channel=${tenant.channelId}&timeout=20000`);
    await humanAnswer(jwt, msg.id, { response: { selectedOption: 'approve' } });
    const result = await waiting;
    assert.equal(result.status, 'completed');
    assert.equal(result.message.attachments[0].id, stored.id, 'the answered review still carries its file');
    const file = await fetch(`${BASE_URL}/api/v1/files/${stored.id}/download`, {
      headers: { Authorization: `Bearer ${tenant.apiKey}` },
    });
    assert.equal(file.status, 200);
    assert.deepEqual(Buffer.from(await file.arrayBuffer()), png);
  });
});
