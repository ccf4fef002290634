// The word-level diff of review iterations (assets/lib/diff.js).
//
//   node --test crates/assent-server/tests/js/

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_DIFF_TOKENS, diffStats, tokenize, wordDiff } from '../../assets/lib/diff.js';

/** The text each side sees: `before` keeps eq + del, `after` keeps eq + ins. */
const sides = (ops) => ({
  before: ops.filter((o) => o.op !== 'ins').map((o) => o.text).join(''),
  after: ops.filter((o) => o.op !== 'del').map((o) => o.text).join(''),
});

test('tokenize splits into words and runs of whitespace', () => {
  assert.deepEqual(tokenize('a  b\nc'), ['a', '  ', 'b', '\n', 'c']);
  assert.deepEqual(tokenize('  lead'), ['  ', 'lead']);
  assert.deepEqual(tokenize(''), []);
  assert.deepEqual(tokenize(null), []);
  assert.deepEqual(tokenize(42), ['42']);
});

test('equal texts are one eq; an empty side is a whole insertion or deletion', () => {
  assert.deepEqual(wordDiff('same text', 'same text'), [{ op: 'eq', text: 'same text' }]);
  assert.deepEqual(wordDiff('', 'new text'), [{ op: 'ins', text: 'new text' }]);
  assert.deepEqual(wordDiff('old text', ''), [{ op: 'del', text: 'old text' }]);
  assert.deepEqual(wordDiff('', ''), []);
});

test('a changed word is a deletion followed by its insertion', () => {
  assert.deepEqual(wordDiff('Deploy v1 today', 'Deploy v2 today'), [
    { op: 'eq', text: 'Deploy ' },
    { op: 'del', text: 'v1' },
    { op: 'ins', text: 'v2' },
    { op: 'eq', text: ' today' },
  ]);
});

test('insertions and deletions in the middle keep the common words', () => {
  assert.deepEqual(wordDiff('a b c', 'a x b c'), [
    { op: 'eq', text: 'a ' },
    { op: 'ins', text: 'x ' },
    { op: 'eq', text: 'b c' },
  ]);
  assert.deepEqual(wordDiff('one two three four', 'one three four'), [
    { op: 'eq', text: 'one ' },
    { op: 'del', text: 'two ' },
    { op: 'eq', text: 'three four' },
  ]);
});

test('a lone space between two changes is folded into one deletion and one insertion', () => {
  assert.deepEqual(wordDiff('the quick fox', 'a slow fox'), [
    { op: 'del', text: 'the quick' },
    { op: 'ins', text: 'a slow' },
    { op: 'eq', text: ' fox' },
  ]);
});

test('both sides are always rebuilt exactly', () => {
  const cases = [
    ['Restart the worker pool at 14:00 UTC.', 'Restart the worker pool at 15:30 UTC, then page on-call.'],
    ['a\n\nb  c', 'a\nb c d'],
    ['x y z', 'z y x'],
    ['', '  '],
    ['lorem ipsum dolor sit amet', 'ipsum lorem amet sit dolor extra'],
  ];
  for (const [before, after] of cases) {
    const ops = wordDiff(before, after);
    assert.deepEqual(sides(ops), { before, after }, JSON.stringify([before, after]));
    for (let i = 1; i < ops.length; i++) assert.notEqual(ops[i].op, ops[i - 1].op, 'adjacent operations of one kind are merged');
    assert.ok(ops.every((o) => o.text !== ''), 'no empty operations');
  }
});

test('above MAX_DIFF_TOKENS differing tokens the middle is shown as replaced whole', () => {
  const words = (p, k) => Array.from({ length: k }, (_, i) => `${p}${i}`).join(' ');
  const before = `head ${words('a', MAX_DIFF_TOKENS)} tail`;
  const after = `head ${words('b', MAX_DIFF_TOKENS)} tail`;
  const ops = wordDiff(before, after);
  assert.deepEqual(ops.map((o) => o.op), ['eq', 'del', 'ins', 'eq']);
  assert.equal(ops[0].text, 'head ');
  assert.equal(ops[3].text, ' tail');
  assert.deepEqual(sides(ops), { before, after });
});

test('diffStats counts added and removed words, not whitespace', () => {
  assert.deepEqual(diffStats(wordDiff('Deploy v1 today', 'Deploy v2 right now')), { added: 3, removed: 2 });
  assert.deepEqual(diffStats([{ op: 'ins', text: '   ' }, { op: 'eq', text: 'x y' }]), { added: 0, removed: 0 });
  assert.deepEqual(diffStats([]), { added: 0, removed: 0 });
});
