// Shared setup of the browser suite: the server under test, headless Chromium, REST and
// Socket.IO helpers for the "agent" side, and screenshots.
//
// Env:
//   ASSENT_URL              the running server (required; e2e/run.sh exports it)
//   ASSENT_ADMIN_EMAIL / ASSENT_ADMIN_PASSWORD   the owner account (defaults as in e2e/run.sh)
//   ASSENT_DEV_ASSETS=1     serve crates/assent-server/assets/ from disk (devserver.mjs, proxying
//                           the API to ASSENT_URL) instead of the assets embedded in the binary
//   ASSENT_SCREENSHOTS=1    write the screenshots into docs/dashboard/ (the tour's images);
//                           unset: into ASSENT_SCREENSHOT_DIR, default $TMPDIR/assent-dashboard-screenshots,
//                           so that a test run leaves the working tree alone; 0: take none
//   CHROMIUM_PATH           default /usr/bin/chromium

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { io } from 'socket.io-client';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Where `shot` writes: docs/dashboard/ only when asked to refresh the tour (ASSENT_SCREENSHOTS=1). */
export const SCREENSHOT_DIR =
  process.env.ASSENT_SCREENSHOTS === '1'
    ? path.resolve(here, '../../docs/dashboard')
    : path.resolve(process.env.ASSENT_SCREENSHOT_DIR || path.join(os.tmpdir(), 'assent-dashboard-screenshots'));

export const API_URL = (process.env.ASSENT_URL ?? '').replace(/\/+$/, '');
if (!API_URL) throw new Error('ASSENT_URL is not set: start a server and export it, or use e2e/run.sh');
export const ADMIN_EMAIL = process.env.ASSENT_ADMIN_EMAIL ?? 'admin@example.com';
export const ADMIN_PASSWORD = process.env.ASSENT_ADMIN_PASSWORD ?? 'admin-password-1';
export const TEST_TIMEOUT_MS = 120_000;
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const uid = (p = 'b') => `${p}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

// ---------------------------------------------------------------- server and browser

let dev = null;
/** The origin the browser loads the dashboard from. */
export async function dashboardUrl() {
  if (process.env.ASSENT_DEV_ASSETS !== '1') return API_URL;
  if (!dev) {
    const { startDevServer } = await import('./devserver.mjs');
    dev = await startDevServer({ upstream: API_URL });
  }
  return dev.url;
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function shutdown(browser) {
  await browser?.close();
  await dev?.close();
  dev = null;
}

/**
 * A page in a fresh context that records console errors, page errors and dialogs.
 * `allow` lists regexps of console errors that a test expects (e.g. a 403 it provokes).
 */
export async function newPage(browser, { viewport = DESKTOP, colorScheme = 'light', mobile = false } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, isMobile: mobile, hasTouch: mobile, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems = { console: [], page: [], dialogs: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') problems.console.push(m.text());
  });
  page.on('pageerror', (e) => problems.page.push(e.message));
  page.on('dialog', async (d) => {
    problems.dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.problems = problems;
  page.baseUrl = await dashboardUrl();
  return page;
}

/** Fails when the page logged an error (other than the `allow`ed ones) or opened a dialog. */
export function assertClean(page, allow = []) {
  const consoleErrors = page.problems.console.filter((t) => !allow.some((re) => re.test(t)));
  assert.deepEqual(page.problems.page, [], `uncaught errors in the page: ${page.problems.page.join(' | ')}`);
  assert.deepEqual(consoleErrors, [], `console errors: ${consoleErrors.join(' | ')}`);
  assert.deepEqual(page.problems.dialogs, [], `unexpected dialogs: ${page.problems.dialogs.join(' | ')}`);
}

export async function signIn(page, email, password) {
  await page.goto(`${page.baseUrl}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** A screenshot `<name>.png` of the page into SCREENSHOT_DIR (none with ASSENT_SCREENSHOTS=0). */
export async function shot(page, name) {
  if (process.env.ASSENT_SCREENSHOTS === '0') return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await sleep(250); // let entrance animations settle
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`) });
}

/**
 * A TCP relay in front of `upstream` (an http://host:port origin) that a test can cut: `cut()`
 * drops every open connection and refuses new ones (the browser sees the server vanish, as in
 * a network outage or a restart), `restore()` lets connections through again. Load the
 * dashboard from `url` to put it behind the relay. `close()` stops it.
 */
export async function startCutProxy(upstream) {
  const target = new URL(upstream);
  const pairs = new Set();
  let down = false;
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const up = net.connect(Number(target.port || 80), target.hostname);
    const pair = { client, up };
    pairs.add(pair);
    const end = () => {
      client.destroy();
      up.destroy();
      pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
    client.pipe(up);
    up.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const dropAll = () => {
    for (const p of [...pairs]) {
      p.client.destroy();
      p.up.destroy();
    }
    pairs.clear();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      down = true;
      dropAll();
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------- REST (the agent's and the admin's side)

export async function api(method, p, { token, apiKey, body, expect } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  if (apiKey) headers['x-api-key'] = apiKey;
  const res = await fetch(API_URL + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(40_000) });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (expect !== undefined) assert.equal(res.status, expect, `${method} ${p} → ${res.status}: ${text.slice(0, 400)}`);
  return { status: res.status, body: json, text };
}

export async function adminToken() {
  const r = await api('POST', '/api/auth/login', { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }, expect: 200 });
  return r.body.token;
}

/** A new API key of the admin and an agent (channel) created with it. */
export async function setupAgent(token, { name = uid('Agent'), tag } = {}) {
  const key = (await api('POST', '/api/api-keys', { token, body: { label: uid('key') }, expect: 201 })).body.key;
  const agent = (await api('POST', '/api/v1/agents', { apiKey: key, body: { name, ...(tag ? { tag } : {}) }, expect: 201 })).body;
  return { key, agent, channelId: agent.id };
}

export async function agentPost(key, channelId, body) {
  return (await api('POST', '/api/v1/messages', { apiKey: key, body: { channelId, ...body }, expect: 201 })).body;
}

/**
 * A fresh owner account for one test file ("Dana Reviewer"), password already chosen, so
 * that its dashboard shows only the agents that file creates (the admin's list is full of
 * other suites' agents). Returns `{email, password, token}`.
 */
export async function createReviewer() {
  const admin = await adminToken();
  const email = `${uid('reviewer')}@example.com`;
  const temp = `tmp-${randomBytes(6).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  await api('POST', '/api/users', { token: admin, body: { email, displayName: 'Dana Reviewer', password: temp, role: 'owner' }, expect: 201 });
  const first = await api('POST', '/api/auth/login', { body: { email, password: temp }, expect: 200 });
  await api('POST', '/api/auth/change-password', { token: first.body.token, body: { currentPassword: temp, newPassword: password }, expect: 200 });
  const token = (await api('POST', '/api/auth/login', { body: { email, password }, expect: 200 })).body.token;
  return { email, password, token };
}

/** A member user who has not yet replaced the temporary password. */
export async function createMember(ownerToken) {
  const email = `${uid('member')}@example.com`;
  const temp = `tmp-${randomBytes(6).toString('hex')}`;
  await api('POST', '/api/users', { token: ownerToken, body: { email, displayName: 'Second User', password: temp, role: 'member' }, expect: 201 });
  return { email, temp };
}

// ---------------------------------------------------------------- Socket.IO (the agent listening)

/** The agent's Socket.IO connection, subscribed to its channel, recording every event. */
export async function agentSocket(t, key, channelId) {
  const socket = io(`${API_URL}/ws`, { auth: { apiKey: key }, transports: ['websocket'], forceNew: true, reconnection: false });
  t.after(() => socket.disconnect());
  const events = [];
  socket.onAny((event, data) => events.push({ event, data }));
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const ack = await socket.timeout(5000).emitWithAck('subscribe:channel', { channelId });
  assert.equal(ack?.ok, true, `subscribe:channel refused: ${JSON.stringify(ack)}`);
  return {
    socket,
    events,
    async waitFor(event, pred = () => true, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = events.find((e) => e.event === event && pred(e.data));
        if (hit) return hit.data;
        if (Date.now() > end) throw new Error(`no ${event} within ${timeoutMs} ms; got ${JSON.stringify(events.map((e) => e.event))}`);
        await sleep(50);
      }
    },
  };
}
