// Plugin frames without the DOM (assets/lib/plugins.js): which plugin a message names, the
// context in the frame's address (base64url of UTF-8 JSON, as the server's bridge decodes
// it), the check of every message a frame posts, and the attachment check of hp:getFile.
//
//   node --test crates/assent-server/tests/js/

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FRAME_MESSAGES,
  MAX_FILE_BYTES,
  MAX_HEIGHT,
  MAX_RESPONSE_CHARS,
  MAX_TOAST,
  MIN_HEIGHT,
  answerError,
  attachmentFor,
  bytesToBase64,
  checkFrameMessage,
  clampHeight,
  decodeContext,
  encodeContext,
  frameContext,
  frameUrl,
  isPlainObject,
  pluginOf,
  replyType,
  reviewContext,
  safeMime,
} from '../../assets/lib/plugins.js';

/** How the bridge (crates/assent-server/src/plugins/bridge.js) reads the fragment, verbatim. */
function bridgeDecode(hash) {
  const raw = hash.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(raw), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

// ---------------------------------------------------------------- which plugin

test('a freeform review names its plugin in payload.plugin; any other message in metadata.plugin', () => {
  const review = { id: 'm1', metadata: { plugin: 'status-badge' }, review: { type: 'freeform', status: 'pending', payload: { plugin: 'status-badge', status: 'down', label: 'API' } } };
  assert.deepEqual(pluginOf(review), { name: 'status-badge', data: review.review.payload, inReview: true });
  const msg = { id: 'm2', metadata: { plugin: 'diagram', nodes: [{ id: 'a', label: 'A' }] } };
  assert.deepEqual(pluginOf(msg), { name: 'diagram', data: msg.metadata, inReview: false });
  // An approval with metadata.plugin: the plugin shows the message, the card stays an approval.
  const approval = { metadata: { plugin: 'diagram' }, review: { type: 'approval', payload: { plugin: 'x' } } };
  assert.deepEqual(pluginOf(approval), { name: 'diagram', data: approval.metadata, inReview: false });
  // A freeform review without payload.plugin falls back to the message's metadata.
  assert.equal(pluginOf({ metadata: { plugin: 'diagram' }, review: { type: 'freeform', payload: {} } }).inReview, false);
  for (const m of [null, {}, { metadata: null }, { metadata: { plugin: '' } }, { metadata: { plugin: 3 } }, { metadata: ['plugin'] }, { review: { type: 'freeform', payload: { plugin: { name: 'x' } } } }]) {
    assert.equal(pluginOf(m), null, JSON.stringify(m));
  }
});

// ---------------------------------------------------------------- the context

test('the context is base64url (no padding) of UTF-8 JSON and round-trips, non-ASCII included', () => {
  const value = {
    pluginName: 'status-badge',
    data: { label: 'Caisse — paiement ✓', detail: 'Größe: 12 €; 東京; emoji 🚦 and a surrogate pair 𝄞', quote: '"</script><b>' },
    n: [1, 2.5, null, true],
  };
  const enc = encodeContext(value);
  assert.match(enc, /^[A-Za-z0-9_-]+$/, 'only URL-safe characters: no +, / or =');
  assert.deepEqual(decodeContext(enc), value);
  assert.deepEqual(bridgeDecode(enc), value, 'the bridge reads it back');
  // Every padding length (the JSON's length mod 3) decodes in the bridge.
  for (const s of ['', 'a', 'ab', 'abc', 'é', 'éé', '🚦']) assert.deepEqual(bridgeDecode(encodeContext({ s })), { s });
  // It is UTF-8, not UTF-16 or Latin-1: "é" is two bytes.
  assert.equal(Buffer.from(encodeContext('é'), 'base64url').toString('hex'), '22c3a922');
  assert.throws(() => decodeContext('%%%'));
});

test('large contexts encode (chunked base64) and match Node’s own encoder', () => {
  const big = { data: 'x€'.repeat(100_000) };
  const enc = encodeContext(big);
  assert.equal(enc, Buffer.from(JSON.stringify(big), 'utf8').toString('base64url'));
  assert.deepEqual(decodeContext(enc), big);
  const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => i % 256);
  assert.equal(bytesToBase64(bytes), Buffer.from(bytes).toString('base64'));
});

test('a frame’s context: the data, its message’s attachments, the theme and the review state', () => {
  const msg = {
    id: 'm1', channelId: 'c1', senderType: 'agent', createdAt: '2030-01-01T00:00:00.000Z', text: 'not passed',
    attachments: [{ id: 'f1', filename: 'a.png', mimeType: 'image/png', size: 10, messageId: 'm1', textContent: 'secret?' }],
    review: { type: 'freeform', status: 'completed', payload: { plugin: 'status-badge', status: 'ok', label: 'API' }, response: { action: 'acknowledge' }, feedback: 'fb' },
  };
  const ctx = frameContext(msg, pluginOf(msg), { theme: 'dark', status: 'completed' });
  assert.deepEqual(ctx, {
    pluginName: 'status-badge',
    data: msg.review.payload,
    attachments: [{ id: 'f1', filename: 'a.png', mimeType: 'image/png', size: 10 }],
    message: { id: 'm1', channelId: 'c1', senderType: 'agent', createdAt: '2030-01-01T00:00:00.000Z' },
    theme: 'dark',
    env: {},
    review: { type: 'freeform', status: 'completed', payload: msg.review.payload, response: { action: 'acknowledge' } },
    isPreview: false,
  });
  // Pending (or expired by its deadline): no response; a message-level plugin has no review.
  assert.deepEqual(reviewContext({ ...msg.review, status: 'pending', response: null }), { type: 'freeform', status: 'pending', payload: msg.review.payload });
  assert.equal(reviewContext(msg.review, 'expired').response, undefined);
  const plain = { id: 'm2', metadata: { plugin: 'diagram', nodes: [] }, review: { type: 'approval', status: 'pending', payload: {} } };
  assert.equal(frameContext(plain, pluginOf(plain)).review, null);
  assert.equal(frameContext(plain, pluginOf(plain), { theme: 'weird' }).theme, 'light');
  assert.deepEqual(frameContext(plain, pluginOf(plain)).attachments, []);
  // The address: the plugin's frame, the context in the fragment (never sent to the server).
  const url = frameUrl('status-badge', ctx);
  assert.ok(url.startsWith('/plugins/status-badge/frame#'));
  assert.deepEqual(bridgeDecode(url.split('#')[1]), ctx);
  assert.ok(frameUrl('a b/../c', {}).startsWith('/plugins/a%20b%2F..%2Fc/frame#'), 'the name is one path segment');
});

// ---------------------------------------------------------------- what a frame posts

test('the messages the bridge sends are accepted, as the bridge shapes them', () => {
  // The bridge posts {type, id, payload}, id undefined when no reply is expected.
  assert.deepEqual(checkFrameMessage({ type: 'hp:resize', id: undefined, payload: { height: 120 } }), { type: 'hp:resize', id: null, payload: { height: 120 } });
  assert.deepEqual(checkFrameMessage({ type: 'hp:toast', payload: { message: '  Saved  ', variant: 'success' } }), { type: 'hp:toast', id: null, payload: { message: 'Saved', variant: 'success' } });
  assert.equal(checkFrameMessage({ type: 'hp:toast', payload: { message: 'x' } }).payload.variant, 'info');
  assert.deepEqual(checkFrameMessage({ type: 'hp:emit', payload: { action: 'zoom', data: { level: 2 } } }), { type: 'hp:emit', id: null, payload: { action: 'zoom', data: { level: 2 } } });
  assert.deepEqual(checkFrameMessage({ type: 'hp:respond', id: 'hp_1', payload: { response: { action: 'acknowledge', status: 'degraded' } } }), {
    type: 'hp:respond', id: 'hp_1', payload: { response: { action: 'acknowledge', status: 'degraded' } },
  });
  assert.deepEqual(checkFrameMessage({ type: 'hp:getFile', id: 'hp_2', payload: { attachmentId: 'c0abc' } }), { type: 'hp:getFile', id: 'hp_2', payload: { attachmentId: 'c0abc' } });
  assert.equal(checkFrameMessage({ type: 'hp:getFileUrl', id: 'hp_3', payload: { attachmentId: 'c0abc' } }).type, 'hp:getFileUrl');
  const long = checkFrameMessage({ type: 'hp:toast', payload: { message: 'y'.repeat(1500) } });
  assert.equal(long.payload.message.length, MAX_TOAST, 'a long toast is cut');
  assert.deepEqual(Object.keys(FRAME_MESSAGES).sort(), ['hp:emit', 'hp:getFile', 'hp:getFileUrl', 'hp:resize', 'hp:respond', 'hp:toast']);
});

test('anything else a frame posts is refused: unknown types, extra fields, wrong types, no id, oversize', () => {
  const refused = [
    null, undefined, 'hp:resize', 42, [], [{ type: 'hp:resize' }],
    {},
    { type: 'hp:unknown', payload: {} },
    { type: 'HP:RESIZE', payload: { height: 1 } },
    { type: 'toString', payload: {} },
    { type: '__proto__', payload: {} },
    { type: 'hp:respond:result', id: 'x', payload: { ok: true } },
    { type: 'hp:resize', payload: { height: '100' } },
    { type: 'hp:resize', payload: { height: Infinity } },
    { type: 'hp:resize', payload: { height: -1 } },
    { type: 'hp:resize', payload: { height: NaN } },
    { type: 'hp:resize', payload: [100] },
    { type: 'hp:resize', payload: null },
    { type: 'hp:resize' },
    { type: 'hp:resize', id: 'x', payload: { height: 10 } }, // no reply is expected: no id
    { type: 'hp:resize', payload: { height: 10, width: 10 } },
    { type: 'hp:toast', payload: { message: '' } },
    { type: 'hp:toast', payload: { message: '   ' } },
    { type: 'hp:toast', payload: { message: 5 } },
    { type: 'hp:toast', payload: { message: 'x', variant: 'danger' } },
    { type: 'hp:toast', payload: { message: 'x'.repeat(2001) } },
    { type: 'hp:emit', payload: { action: 3 } },
    { type: 'hp:emit', payload: { action: 'a'.repeat(101) } },
    // hp:respond: an id (a short word), an object answer, nothing else: never another message's id.
    { type: 'hp:respond', payload: { response: {} } },
    { type: 'hp:respond', id: '', payload: { response: {} } },
    { type: 'hp:respond', id: 7, payload: { response: {} } },
    { type: 'hp:respond', id: 'x'.repeat(65), payload: { response: {} } },
    { type: 'hp:respond', id: 'a b', payload: { response: {} } },
    { type: 'hp:respond', id: 'x', payload: { response: [] } },
    { type: 'hp:respond', id: 'x', payload: { response: 'yes' } },
    { type: 'hp:respond', id: 'x', payload: { response: null } },
    { type: 'hp:respond', id: 'x', payload: {} },
    { type: 'hp:respond', id: 'x', payload: { response: {}, messageId: 'other' } },
    { type: 'hp:respond', id: 'x', payload: { response: {} }, messageId: 'other' },
    { type: 'hp:respond', id: 'x', payload: { response: { big: 'z'.repeat(MAX_RESPONSE_CHARS) } } },
    { type: 'hp:respond', id: 'x', payload: { response: new Date() } },
    { type: 'hp:getFile', id: 'x', payload: { attachmentId: '' } },
    { type: 'hp:getFile', id: 'x', payload: { attachmentId: 12 } },
    { type: 'hp:getFile', id: 'x', payload: { attachmentId: 'a'.repeat(129) } },
    { type: 'hp:getFile', id: 'x', payload: { attachmentId: 'a', messageId: 'b' } },
    { type: 'hp:getFileUrl', payload: { attachmentId: 'a' } },
  ];
  for (const m of refused) assert.equal(checkFrameMessage(m), null, `refused: ${JSON.stringify(m)}`);
  // A class instance or an object with a foreign prototype is not a plain object.
  class Msg {
    constructor() {
      this.type = 'hp:resize';
      this.payload = { height: 10 };
    }
  }
  assert.equal(checkFrameMessage(new Msg()), null);
  assert.equal(checkFrameMessage(Object.assign(Object.create({ evil: 1 }), { type: 'hp:resize', payload: { height: 1 } })), null);
  const cyclic = {};
  cyclic.self = cyclic;
  assert.equal(checkFrameMessage({ type: 'hp:respond', id: 'x', payload: { response: cyclic } }), null);
  assert.equal(isPlainObject(Object.create(null)), true);
  assert.equal(isPlainObject(new Map()), false);
});

test('replies, heights, MIME types and the words for a refused answer', () => {
  assert.equal(replyType('hp:respond'), 'hp:respond:result');
  assert.equal(replyType('hp:getFile'), 'hp:getFile:response');
  assert.equal(replyType('hp:getFileUrl'), 'hp:getFileUrl:response');
  assert.equal(clampHeight(0), MIN_HEIGHT);
  assert.equal(clampHeight(123.6), 124);
  assert.equal(clampHeight(5000), MAX_HEIGHT);
  assert.equal(clampHeight('x'), MIN_HEIGHT);
  assert.deepEqual([MIN_HEIGHT, MAX_HEIGHT], [40, 800]);
  assert.equal(safeMime('image/PNG; charset=x'), 'image/png');
  assert.equal(safeMime('text/html;base64,PHNjcmlwdD4'), 'text/html');
  for (const bad of ['', null, 'png', 'image/png,evil', 'a/b c', 'image/"x"']) assert.equal(safeMime(bad), 'application/octet-stream', String(bad));
  assert.equal(answerError({ status: 400, message: 'bad', errors: [{ path: 'response.action', message: 'is required' }, { path: 'response.x', message: 'is unknown' }] }), 'response.action: is required; response.x: is unknown');
  assert.equal(answerError({ status: 409, code: 'review_already_responded', message: 'x' }), 'Someone already answered this request.');
  assert.equal(answerError({ status: 0 }), 'Cannot reach the server. Check your connection.');
  assert.equal(answerError({ status: 500, message: 'Boom' }), 'Boom');
  assert.equal(MAX_FILE_BYTES, 10 * 1024 * 1024);
});

// ---------------------------------------------------------------- attachments

test('a frame reads only the attachments of its own message', () => {
  const own = [{ id: 'f1', filename: 'a.png' }, { id: 'f2', filename: 'b.pdf' }];
  assert.equal(attachmentFor(own, 'f2')?.filename, 'b.pdf');
  for (const id of ['f3', '', null, undefined, 12, { id: 'f1' }, ['f1'], 'F1', ' f1', 'f1 ', '../f1', 'toString', '__proto__']) {
    assert.equal(attachmentFor(own, id), null, `refused: ${JSON.stringify(id)}`);
  }
  assert.equal(attachmentFor(undefined, 'f1'), null);
  assert.equal(attachmentFor([null, { id: 5 }, { id: 'f1' }], 'f1')?.id, 'f1');
  assert.equal(attachmentFor({ f1: { id: 'f1' } }, 'f1'), null, 'not a list');
});
