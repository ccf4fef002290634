// The dashboard's client-side answer checks (assets/lib/validate.js) give the same verdicts
// and messages as the server (crates/assent-core/src/review.rs; cases from its unit tests).
// Pure functions: no browser needed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildFormResponse,
  checkHttpUrl,
  checkSelection,
  checkTextInput,
  isDate,
  isDateTime,
  isEmail,
  isTime,
  parseFreeform,
} from '../../crates/assent-server/assets/lib/validate.js';

const FORM = {
  fields: [
    { name: 'age', type: 'number', label: 'Age', min: 0, max: 120, required: true },
    { name: 'email', type: 'email', label: 'E' },
    { name: 'when', type: 'date', label: 'D' },
    { name: 'env', type: 'select', label: 'Env', options: ['staging', 'prod'] },
    { name: 'ok', type: 'checkbox', label: 'OK' },
    { name: 'secret', type: 'password', label: 'P' },
    { name: 'vol', type: 'range', label: 'V', min: 0, max: 10, step: 2 },
  ],
};
const first = (raw) => Object.entries(buildFormResponse(FORM, raw).errors)[0]?.join(': ');

test('form answers: the server\'s rules and messages', () => {
  const good = buildFormResponse(FORM, { age: '42', email: 'a@b.co', when: '2026-01-31', env: 'prod', ok: true, secret: 'x', vol: '4' });
  assert.deepEqual(good.errors, {});
  assert.deepEqual(good.response, { age: 42, email: 'a@b.co', when: '2026-01-31', env: 'prod', ok: true, secret: 'x', vol: 4 });
  assert.equal(first({}), 'age: is required');
  assert.equal(first({ age: '200' }), 'age: must be at most 120');
  assert.equal(first({ age: '1', email: 'nope' }), 'email: must be an email address');
  assert.equal(first({ age: '1', when: '2026-02-30' }), 'when: must be a date (YYYY-MM-DD)');
  assert.equal(first({ age: '1', env: 'dev' }), "env: must be one of the field's options");
  assert.match(first({ age: '1', vol: '3' }), /^vol: must be a multiple of 2 from 0/);
  assert.equal(first({ age: 'abc' }), 'age: must be a number');
  // Empty optional inputs are left out; an unchecked optional checkbox is false.
  assert.deepEqual(buildFormResponse(FORM, { age: '5', email: '', ok: false }).response, { age: 5, ok: false });
  // A required checkbox must be checked; a required text must not be blank.
  const req = { fields: [{ name: 'c', type: 'checkbox', label: 'C', required: true }, { name: 't', type: 'text', label: 'T', required: true }] };
  assert.deepEqual(buildFormResponse(req, { c: false, t: '   ' }).errors, { c: 'is required', t: 'is required' });
});

test('text input: trimmed length within minLength/maxLength', () => {
  const p = { minLength: 3, maxLength: 5 };
  assert.equal(checkTextInput(p, 'abcd'), null);
  assert.equal(checkTextInput(p, 'ab'), 'must be at least 3 characters');
  assert.equal(checkTextInput(p, 'abcdef'), 'must be at most 5 characters');
  assert.equal(checkTextInput(p, '   '), 'must not be empty');
  assert.equal(checkTextInput({}, ' x '), null);
});

test('selection: single needs exactly one, multi at least one, known ids only', () => {
  const single = { items: [{ id: 'a' }, { id: 'b' }] };
  const multi = { mode: 'multi', items: [{ id: 'a' }, { id: 'b' }] };
  assert.equal(checkSelection(single, ['a']), null);
  assert.match(checkSelection(single, ['a', 'b']), /exactly one/);
  assert.ok(checkSelection(single, []));
  assert.equal(checkSelection(multi, ['a', 'b']), null);
  assert.equal(checkSelection(multi, ['a', 'z']), 'must be one of: a, b');
});

test('formats: email, http(s) URL, date, time, datetime; freeform JSON objects', () => {
  assert.ok(isEmail('a@example.com'));
  assert.ok(!isEmail('a@example.') && !isEmail('@x.io') && !isEmail('a b@x.io'));
  assert.equal(checkHttpUrl('https://example.com/hook'), null);
  assert.equal(checkHttpUrl('http://127.0.0.1:9000'), null);
  assert.ok(checkHttpUrl('ftp://example.com'));
  assert.ok(checkHttpUrl('https://'));
  assert.ok(checkHttpUrl('https://exa mple.com'));
  assert.ok(isDate('2026-01-31') && !isDate('2026-02-30'));
  assert.ok(isTime('09:30') && isTime('09:30:15') && !isTime('25:00'));
  assert.ok(isDateTime('2026-12-01T18:00') && isDateTime('2026-12-01T18:00:00Z') && !isDateTime('tomorrow'));
  assert.deepEqual(parseFreeform('{"a":[1,2]}'), { value: { a: [1, 2] } });
  assert.ok(parseFreeform('[1]').error);
  assert.ok(parseFreeform('"no"').error);
  assert.ok(parseFreeform('{').error);
});
