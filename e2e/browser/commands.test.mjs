// The composer's slash-command palette: the agent declares commands (PUT
// /api/v1/agents/{id}/commands, and live with the Socket.IO relay `agent:commands`); the human
// types "/", chooses with the keyboard (↑ ↓ Tab Enter Esc), and the command reaches the agent
// as a message. A command without arguments is sent at once.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { normalizeCommands } from '../../crates/assent-server/assets/views/commands.js';
import { TEST_TIMEOUT_MS, agentSocket, api, assertClean, createReviewer, launch, newPage, setupAgent, shot, shutdown, signIn, sleep } from './helpers.mjs';

let browser;
let me;
before(async () => {
  browser = await launch();
  me = await createReviewer();
});
after(() => shutdown(browser));

const COMMANDS = [
  { command: '/status', description: 'Report what the agent is doing' },
  { command: '/deploy', description: 'Deploy a version to production', acceptsArgs: true, argHint: '<version>' },
  { command: '/stop', description: 'Stop the current run' },
];

test('commands are cleaned up: leading "/" dropped, duplicates and junk skipped', () => {
  assert.deepEqual(
    normalizeCommands([
      { command: '/status', description: 'Status' },
      { command: 'deploy', acceptsArgs: true, argHint: '<v>' },
      { command: 'STATUS' },
      { command: 'two words' },
      { command: '' },
      null,
      'x',
      { name: 'legacy' },
      { command: 'hinted', argHint: '<n>' },
    ]),
    [
      { name: 'status', description: 'Status', acceptsArgs: false, argHint: '' },
      { name: 'deploy', description: '', acceptsArgs: true, argHint: '<v>' },
      { name: 'legacy', description: '', acceptsArgs: false, argHint: '' },
      { name: 'hinted', description: '', acceptsArgs: true, argHint: '<n>' },
    ],
  );
  assert.deepEqual(normalizeCommands(null), []);
  assert.deepEqual(normalizeCommands({}), []);
});

/** The options of the palette as `[{name, selected}]`. */
async function options(page) {
  return page.getByTestId('command-palette').getByRole('option').evaluateAll((els) =>
    els.map((e) => ({ name: e.dataset.command, selected: e.getAttribute('aria-selected') === 'true', id: e.id })),
  );
}

test('slash commands: "/" opens the palette, the keyboard picks, the agent receives the command', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { key, channelId } = await setupAgent(me.token, { name: 'Release runner', tag: 'ops' });
  await api('PUT', `/api/v1/agents/${channelId}/commands`, { apiKey: key, body: { commands: COMMANDS }, expect: 200 });
  const agent = await agentSocket(t, key, channelId);

  const page = await newPage(browser);
  await signIn(page, me.email, me.password);
  await page.waitForURL(/\/chats/);
  await page.goto(`${page.baseUrl}/chats/${channelId}`);
  await page.getByTestId('timeline').getByText('No messages yet').waitFor();
  const input = page.getByTestId('composer');
  const listbox = page.getByRole('listbox', { name: 'Commands' });
  await page.getByTestId('composer-hint').getByText('/ for commands').waitFor();

  // "/" lists every command, the first one active; the textarea points at it.
  await input.focus();
  await input.press('/');
  await listbox.waitFor();
  let opts = await options(page);
  assert.deepEqual(opts.map((o) => o.name), ['status', 'deploy', 'stop']);
  assert.deepEqual(opts.map((o) => o.selected), [true, false, false]);
  assert.equal(await input.getAttribute('aria-activedescendant'), opts[0].id);
  assert.equal(await input.getAttribute('aria-controls'), await listbox.getAttribute('id'));
  await listbox.getByRole('option', { name: /\/deploy <version>.*Deploy a version/ }).waitFor();
  await shot(page, 'chat-commands-desktop');

  // ↓ ↓ ↓ wraps around, ↑ goes back.
  await input.press('ArrowDown');
  await input.press('ArrowDown');
  opts = await options(page);
  assert.equal(opts.find((o) => o.selected).name, 'stop');
  assert.equal(await input.getAttribute('aria-activedescendant'), opts[2].id);
  await input.press('ArrowDown');
  assert.equal((await options(page)).find((o) => o.selected).name, 'status');
  await input.press('ArrowUp');
  assert.equal((await options(page)).find((o) => o.selected).name, 'stop');

  // Typing filters; Esc closes and leaves the text alone; typing on opens it again.
  await input.press('s');
  assert.deepEqual((await options(page)).map((o) => o.name), ['status', 'stop']);
  await input.press('Escape');
  await listbox.waitFor({ state: 'hidden' });
  assert.equal(await input.inputValue(), '/s');
  assert.equal(await input.getAttribute('aria-activedescendant'), null);
  await input.press('t');
  await listbox.waitFor();
  assert.deepEqual((await options(page)).map((o) => o.name), ['status', 'stop']);

  // Tab completes a command with arguments; Enter then sends the whole line.
  await input.fill('');
  await input.pressSequentially('/dep');
  assert.deepEqual((await options(page)).map((o) => o.name), ['deploy']);
  await input.press('Tab');
  assert.equal(await input.inputValue(), '/deploy ');
  await listbox.waitFor({ state: 'hidden' });
  await page.getByTestId('composer-hint').getByText('/deploy <version> — Deploy a version to production').waitFor();
  await input.pressSequentially('v2.5.0');
  await input.press('Enter');
  const deploy = await agent.waitFor('message:created', (m) => m.text === '/deploy v2.5.0');
  assert.equal(deploy.senderType, 'user');
  assert.equal(await input.inputValue(), '');

  // Enter on a command without arguments sends it right away.
  await input.pressSequentially('/');
  await listbox.waitFor();
  await input.press('ArrowDown');
  await input.press('ArrowDown');
  await input.press('Enter');
  await agent.waitFor('message:created', (m) => m.text === '/stop');
  assert.equal(await input.inputValue(), '');
  await listbox.waitFor({ state: 'hidden' });
  await page.locator('[data-testid="message"][data-sender="user"]').filter({ hasText: '/stop' }).waitFor();

  // Commands changed over REST while the chat is open show up on the next "/".
  await api('PUT', `/api/v1/agents/${channelId}/commands`, {
    apiKey: key,
    body: { commands: [...COMMANDS, { command: 'rollback', description: 'Roll back the last deploy' }] },
    expect: 200,
  });
  await sleep(2100); // the palette re-reads the agent at most every 2 s
  await input.press('/');
  await listbox.getByRole('option', { name: /\/rollback/ }).waitFor({ timeout: 5000 });
  await input.press('Escape');
  await input.fill('');

  // The live relay (Socket.IO agent:commands) replaces the list without a reload, even while
  // the palette is open. The relay is ephemeral: repeat it until the dashboard's link is up.
  await input.press('/');
  await listbox.waitFor();
  const live = [{ command: 'summarize', description: 'Summarize the run so far' }, { command: 'status', description: 'Report status' }];
  const end = Date.now() + 15_000;
  for (;;) {
    const ack = await agent.socket.timeout(5000).emitWithAck('agent:commands', { channelId, commands: live });
    assert.equal(ack?.ok, true, `agent:commands refused: ${JSON.stringify(ack)}`);
    await sleep(400);
    const names = (await options(page)).map((o) => o.name);
    if (names.includes('summarize')) {
      assert.deepEqual(names, ['summarize', 'status']);
      break;
    }
    if (Date.now() > end) assert.fail(`the palette never showed the relayed commands: ${names}`);
  }
  // The active command stays the active one across the update.
  assert.equal((await options(page)).find((o) => o.selected).name, 'status');
  await input.press('ArrowUp');
  await input.press('Enter');
  await agent.waitFor('message:created', (m) => m.text === '/summarize');
  assertClean(page);
  await page.context().close();
});
