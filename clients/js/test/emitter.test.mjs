// The emitter contract every managed-socket event shares (no server needed).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Emitter } from '../src/index.js';

test('subscribe returns an unsubscribe function; listeners run in order', () => {
  const e = new Emitter();
  const seen = [];
  const offA = e.subscribe((v) => seen.push(`a${v}`));
  e.subscribe((v) => seen.push(`b${v}`));
  e.emit(1);
  offA();
  offA(); // idempotent
  e.emit(2);
  assert.deepEqual(seen, ['a1', 'b1', 'b2']);
  assert.equal(e.size, 1);
});

test('the same function subscribed twice is two subscriptions', () => {
  const e = new Emitter();
  let n = 0;
  const fn = () => n++;
  const off1 = e.subscribe(fn);
  e.subscribe(fn);
  e.emit();
  off1();
  e.emit();
  assert.equal(n, 3);
});

test('a throwing listener does not stop the others', () => {
  const e = new Emitter();
  const seen = [];
  const original = console.error;
  const reported = [];
  console.error = (err) => reported.push(err);
  const hadReportError = 'reportError' in globalThis;
  const saved = globalThis.reportError;
  globalThis.reportError = undefined;
  try {
    e.subscribe(() => {
      throw new Error('boom');
    });
    e.subscribe((v) => seen.push(v));
    e.emit('x');
  } finally {
    console.error = original;
    if (hadReportError) globalThis.reportError = saved;
    else delete globalThis.reportError;
  }
  assert.deepEqual(seen, ['x']);
  assert.equal(reported[0]?.message, 'boom');
});

test('subscribe rejects non-functions; clear removes everything', () => {
  const e = new Emitter();
  assert.throws(() => e.subscribe('nope'), TypeError);
  e.subscribe(() => {});
  e.clear();
  assert.equal(e.size, 0);
});
