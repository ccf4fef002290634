// An MCP agent waits, a human answers in the dashboard: the agent's `wait_for_review` call
// (Streamable HTTP at /mcp, plain JSON-RPC over fetch) returns the answer the moment the
// human clicks, with progress on the way.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { API_URL, TEST_TIMEOUT_MS, createReviewer, launch, newPage, setupAgent, shutdown, signIn } from './helpers.mjs';

let browser;
let me;
before(async () => {
  browser = await launch();
  me = await createReviewer();
});
after(() => shutdown(browser));

/** A minimal MCP client: one session, requests answered as JSON or as an SSE stream. */
async function mcpSession(key, channelId) {
  const url = `${API_URL}/mcp?channel=${channelId}`;
  let session;
  let version;
  const post = async (message) => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-api-key': key };
    if (session) headers['mcp-session-id'] = session;
    if (version) headers['mcp-protocol-version'] = version;
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(message) });
    assert.ok(res.ok, `${message.method} → ${res.status}`);
    session = res.headers.get('mcp-session-id') ?? session;
    const text = await res.text();
    if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) return text ? [JSON.parse(text)] : [];
    return text
      .split('\n\n')
      .map((event) => event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n'))
      .filter((data) => data.startsWith('{'))
      .map((data) => JSON.parse(data));
  };
  const [init] = (await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'browser-e2e', version: '0' } } }))
    .filter((m) => m.id === 1);
  version = init.result.protocolVersion;
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  let id = 1;
  const call = async (name, args, meta) => {
    id += 1;
    const messages = await post({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } });
    return { result: messages.find((m) => m.id === id)?.result, notifications: messages.filter((m) => m.method) };
  };
  return { call };
}

test('an MCP wait_for_review returns the answer clicked in the dashboard', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { key, channelId } = await setupAgent(me.token);
  const mcp = await mcpSession(key, channelId);
  const sent = await mcp.call('send_review_message', {
    text: 'Roll back **payments** to v41?',
    reviewType: 'approval',
    reviewPayload: { options: [{ id: 'rollback', label: 'Roll back', style: 'danger' }, { id: 'keep', label: 'Keep v42' }] },
  });
  const messageId = sent.result.structuredContent.messageId;
  const waiting = mcp.call('wait_for_review', { messageId }, { progressToken: 'p1' });

  const page = await newPage(browser);
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  const card = page.locator(`[data-id="${messageId}"]`);
  await card.getByRole('button', { name: 'Roll back' }).click();
  const clicked = Date.now();

  const { result, notifications } = await waiting;
  assert.ok(Date.now() - clicked < 3_000, 'woken by the click');
  assert.equal(result.isError, false);
  assert.equal(result.structuredContent.status, 'completed');
  assert.equal(result.structuredContent.message.review.response.selectedOption, 'rollback');
  assert.ok(notifications.some((n) => n.method === 'notifications/progress' && n.params.progressToken === 'p1'), JSON.stringify(notifications));
  await card.getByText('Answered', { exact: true }).waitFor();
});
