// The word diff of review iterations (assets/lib/diff.js). Pure functions: no browser needed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_DIFF_TOKENS, diffStats, tokenize, wordDiff } from '../../crates/assent-server/assets/lib/diff.js';

/** Rebuilds both texts from the operations. */
function sides(ops) {
  return {
    before: ops.filter((o) => o.op !== 'ins').map((o) => o.text).join(''),
    after: ops.filter((o) => o.op !== 'del').map((o) => o.text).join(''),
  };
}

test('tokens are words and runs of whitespace', () => {
  assert.deepEqual(tokenize('a  b\nc'), ['a', '  ', 'b', '\n', 'c']);
  assert.deepEqual(tokenize(''), []);
  assert.deepEqual(tokenize(null), []);
});

test('word diff: unchanged, replaced, inserted and deleted words', () => {
  assert.deepEqual(wordDiff('a b c', 'a b c'), [{ op: 'eq', text: 'a b c' }]);
  assert.deepEqual(wordDiff('the quick brown fox', 'the slow red fox'), [
    { op: 'eq', text: 'the ' },
    { op: 'del', text: 'quick brown' },
    { op: 'ins', text: 'slow red' },
    { op: 'eq', text: ' fox' },
  ]);
  assert.deepEqual(wordDiff('one three', 'one two three'), [{ op: 'eq', text: 'one ' }, { op: 'ins', text: 'two ' }, { op: 'eq', text: 'three' }]);
  assert.deepEqual(wordDiff('one two three', 'one three'), [{ op: 'eq', text: 'one ' }, { op: 'del', text: 'two ' }, { op: 'eq', text: 'three' }]);
  assert.deepEqual(wordDiff('', 'new text'), [{ op: 'ins', text: 'new text' }]);
  assert.deepEqual(wordDiff('old text', ''), [{ op: 'del', text: 'old text' }]);
  assert.deepEqual(wordDiff('', ''), []);
});

test('word diff: both texts can be rebuilt; stats count words', () => {
  const cases = [
    ['Deploy v2.4.0 to production now?', 'Deploy v2.4.1 to staging first, then production?'],
    ['line one\nline two\n\nline three', 'line one\nline 2\n\nline three and more'],
    ['  leading and trailing  ', 'leading, trailing'],
    ['a b a b a b', 'b a b a'],
  ];
  for (const [a, b] of cases) {
    const ops = wordDiff(a, b);
    assert.deepEqual(sides(ops), { before: a, after: b }, JSON.stringify(ops));
    for (let i = 1; i < ops.length; i++) assert.notEqual(ops[i].op, ops[i - 1].op, 'adjacent operations are merged');
  }
  assert.deepEqual(diffStats(wordDiff('the quick brown fox', 'the slow red fox')), { added: 2, removed: 2 });
});

test('word diff: random edits always rebuild both texts', () => {
  let seed = 42;
  const rnd = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const WORDS = ['a', 'b', 'c', 'deploy', 'v2', ' ', '  ', '\n', 'x.'];
  const text = () => Array.from({ length: rnd(30) }, () => WORDS[rnd(WORDS.length)]).join(rnd(2) ? ' ' : '');
  for (let i = 0; i < 500; i++) {
    const a = text();
    const b = rnd(3) ? text() : a.replace(/b/g, 'c');
    assert.deepEqual(sides(wordDiff(a, b)), { before: a, after: b }, JSON.stringify([a, b]));
  }
});

test('word diff: very different long texts are shown as replaced whole', () => {
  const a = Array.from({ length: MAX_DIFF_TOKENS + 10 }, (_, i) => `a${i}`).join(' ');
  const b = Array.from({ length: MAX_DIFF_TOKENS + 10 }, (_, i) => `b${i}`).join(' ');
  const ops = wordDiff(`same ${a} end`, `same ${b} end`);
  assert.deepEqual(ops.map((o) => o.op), ['eq', 'del', 'ins', 'eq']);
  assert.deepEqual(sides(ops), { before: `same ${a} end`, after: `same ${b} end` });
});
