// The dashboard's client-side checks of review answers (assets/lib/validate.js), which mirror
// the server's `validate_response` / `check_value` (crates/assent-core/src/review.rs).
//
//   node --test crates/assent-server/tests/js/

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_ANSWER_TEXT,
  MAX_COMMENT,
  MAX_URL,
  buildFormResponse,
  checkChangeRequest,
  checkComment,
  checkHttpUrl,
  checkSelection,
  checkTextInput,
  checkValue,
  isDate,
  isDateTime,
  isEmail,
  isTime,
  parseFreeform,
  selectOptions,
  sentence,
} from '../../assets/lib/validate.js';

test('emails: something@domain.tld without spaces', () => {
  for (const ok of ['a@b.co', 'first.last+tag@sub.example.org']) assert.equal(isEmail(ok), true, ok);
  for (const bad of ['', 'plain', '@b.co', 'a@', 'a@b', 'a@.b.co', 'a@b.co.', 'a b@c.de', 'a@b .de']) assert.equal(isEmail(bad), false, bad);
});

test('http(s) URLs need a host; at most 2048 characters', () => {
  assert.equal(checkHttpUrl('https://example.com/path?q=1#x'), null);
  assert.equal(checkHttpUrl('http://user@host:8080'), null);
  assert.equal(checkHttpUrl('ftp://example.com'), 'must be an http or https URL');
  assert.equal(checkHttpUrl('example.com'), 'must be an http or https URL');
  assert.equal(checkHttpUrl('https://'), 'must be a valid URL');
  assert.equal(checkHttpUrl('https://:80/x'), 'must be a valid URL');
  assert.equal(checkHttpUrl('https://exa mple.com'), 'must be a valid URL');
  assert.equal(checkHttpUrl('https://example.com/\u0007'), 'must be a valid URL');
  assert.equal(checkHttpUrl(`https://e.com/${'a'.repeat(MAX_URL)}`), `must be at most ${MAX_URL} characters`);
});

test('dates, times and date-times are checked for real calendar values', () => {
  assert.equal(isDate('2024-02-29'), true, 'leap day');
  assert.equal(isDate('2023-02-29'), false);
  assert.equal(isDate('2024-13-01'), false);
  assert.equal(isDate('2024-1-01'), false);
  assert.equal(isTime('23:59'), true);
  assert.equal(isTime('23:59:59'), true);
  assert.equal(isTime('24:00'), false);
  assert.equal(isTime('12:60'), false);
  assert.equal(isTime('9:00'), false);
  assert.equal(isDateTime('2024-05-01T08:30'), true);
  assert.equal(isDateTime('2024-05-01T08:30:15'), true);
  assert.equal(isDateTime('2024-05-01T08:30:15.250Z'), true, 'RFC 3339 with a zone');
  assert.equal(isDateTime('2024-05-01T08:30+02:00'), true);
  assert.equal(isDateTime('2024-05-01 08:30'), false);
  assert.equal(isDateTime('2024-02-30T08:30'), false);
  assert.equal(isDateTime('2024-05-01T25:00'), false);
});

test('select options: strings or {value, label}; anything else is dropped', () => {
  assert.deepEqual(selectOptions({ options: ['a', { value: 'b', label: 'Bee' }, { value: 'c' }, { label: 'no value' }, 3, null] }), [
    { value: 'a', label: 'a' },
    { value: 'b', label: 'Bee' },
    { value: 'c', label: 'c' },
  ]);
  assert.deepEqual(selectOptions({}), []);
});

test('checkValue: numbers with min, max and step', () => {
  const f = { type: 'number', min: 1, max: 10, step: 0.5 };
  assert.equal(checkValue(f, 1), null);
  assert.equal(checkValue(f, '2.5'), null, 'numeric strings count');
  assert.equal(checkValue(f, 0), 'must be at least 1');
  assert.equal(checkValue(f, 11), 'must be at most 10');
  assert.equal(checkValue(f, 1.25), 'must be a multiple of 0.5 from 1');
  assert.equal(checkValue({ type: 'range', step: 3 }, 9), null, 'steps count from 0 without a min');
  assert.equal(checkValue({ type: 'range', step: 3 }, 10), 'must be a multiple of 3 from 0');
  assert.equal(checkValue({ type: 'number' }, 'abc'), 'must be a number');
  assert.equal(checkValue({ type: 'number' }, Infinity), 'must be a number');
  assert.equal(checkValue({ type: 'number' }, ' '), 'must be a number');
});

test('checkValue: checkboxes, strings by type, selects', () => {
  assert.equal(checkValue({ type: 'checkbox' }, false), null);
  assert.equal(checkValue({ type: 'checkbox' }, 'true'), 'must be a boolean');
  assert.equal(checkValue({ type: 'text' }, 5), 'must be a string');
  assert.equal(checkValue({ type: 'text' }, 'x'.repeat(MAX_ANSWER_TEXT + 1)), `must be at most ${MAX_ANSWER_TEXT} characters`);
  assert.equal(checkValue({ type: 'text' }, '😀'.repeat(MAX_ANSWER_TEXT)), null, 'characters, not UTF-16 units');
  assert.equal(checkValue({ type: 'email' }, ''), null, 'empty is "no value", not invalid');
  assert.equal(checkValue({ type: 'email' }, 'nope'), 'must be an email address');
  assert.equal(checkValue({ type: 'url' }, 'mailto:a@b.c'), 'must be an http(s) URL');
  assert.equal(checkValue({ type: 'date' }, '2024-02-30'), 'must be a date (YYYY-MM-DD)');
  assert.equal(checkValue({ type: 'time' }, '25:00'), 'must be a time (HH:MM)');
  assert.equal(checkValue({ type: 'datetime' }, '2024-01-01'), 'must be a date and time (YYYY-MM-DDTHH:MM)');
  const sel = { type: 'select', options: ['eu', { value: 'us', label: 'US' }] };
  assert.equal(checkValue(sel, 'us'), null);
  assert.equal(checkValue(sel, 'US'), "must be one of the field's options");
  assert.equal(checkValue({ type: 'textarea' }, 'anything'), null);
});

test('buildFormResponse: typed values, empty inputs left out, required fields flagged', () => {
  const payload = {
    fields: [
      { name: 'replicas', type: 'number', max: 10, required: true },
      { name: 'email', type: 'email', required: true },
      { name: 'note', type: 'text' },
      { name: 'agree', type: 'checkbox', required: true },
      { name: 'notify', type: 'checkbox' },
      { name: 'name', type: 'text', required: true },
      { name: 'region', type: 'select', options: ['eu'] },
      null,
      { type: 'text' },
    ],
  };
  const { response, errors } = buildFormResponse(payload, { replicas: '42', email: '', note: '', agree: false, name: '   ', region: 'eu' });
  assert.deepEqual(response, { replicas: 42, agree: false, notify: false, name: '   ', region: 'eu' });
  assert.deepEqual(errors, { replicas: 'must be at most 10', email: 'is required', agree: 'is required', name: 'is required' });
  const good = buildFormResponse(payload, { replicas: '3', email: 'a@b.co', agree: true, name: 'Ada' });
  assert.deepEqual(good, { response: { replicas: 3, email: 'a@b.co', agree: true, notify: false, name: 'Ada' }, errors: {} });
  assert.deepEqual(buildFormResponse(null, {}), { response: {}, errors: {} });
});

test('checkTextInput: trimmed length between minLength and maxLength', () => {
  assert.equal(checkTextInput({}, 'ok'), null);
  assert.equal(checkTextInput({}, '   '), 'must not be empty');
  assert.equal(checkTextInput({}, undefined), 'is required');
  assert.equal(checkTextInput({ minLength: 5 }, '  abc  '), 'must be at least 5 characters');
  assert.equal(checkTextInput({ maxLength: 3 }, 'abcd'), 'must be at most 3 characters');
  assert.equal(checkTextInput({ maxLength: 3 }, ' 😀😀😀 '), null, 'characters, after trimming');
  assert.equal(checkTextInput({ minLength: -2, maxLength: 0 }, 'x'), null, 'nonsense limits fall back to the defaults');
});

test('checkSelection: single and multi mode, known ids, no duplicates', () => {
  const items = [{ id: 'eu' }, { id: 'us' }, { id: 'ap' }];
  assert.equal(checkSelection({ items }, ['eu']), null);
  assert.equal(checkSelection({ items }, []), 'choose one option');
  assert.equal(checkSelection({ items }, ['eu', 'us']), 'must have exactly one entry (single selection)');
  assert.equal(checkSelection({ items, mode: 'multi' }, []), 'choose at least one option');
  assert.equal(checkSelection({ items, mode: 'multi' }, ['eu', 'ap']), null);
  assert.equal(checkSelection({ items, mode: 'multi' }, ['eu', 'xx']), 'must be one of: eu, us, ap');
  assert.equal(checkSelection({ items, mode: 'multi' }, ['eu', 'eu']), 'is a duplicate');
});

test('a request for changes needs feedback: not blank, at most MAX_COMMENT characters (trimmed)', () => {
  for (const blank of ['', '   ', '\n\t ', null, undefined]) assert.equal(checkChangeRequest(blank), 'is required', JSON.stringify(blank));
  assert.equal(checkChangeRequest('Shorter, please'), null);
  assert.equal(checkChangeRequest(`  ${'x'.repeat(MAX_COMMENT)}  `), null, 'surrounding whitespace is not sent');
  assert.equal(checkChangeRequest('x'.repeat(MAX_COMMENT + 1)), `must be at most ${MAX_COMMENT} characters`);
  assert.equal(checkChangeRequest('😀'.repeat(MAX_COMMENT)), null, 'characters, not UTF-16 units');
});

test('comments, freeform JSON, and sentence case', () => {
  assert.equal(checkComment('x'.repeat(MAX_COMMENT)), null);
  assert.equal(checkComment('x'.repeat(MAX_COMMENT + 1)), 'is too long');
  assert.deepEqual(parseFreeform('{"a": [1, 2]}'), { value: { a: [1, 2] } });
  assert.deepEqual(parseFreeform('[1]'), { error: 'must be a JSON object ({…})' });
  assert.deepEqual(parseFreeform('null'), { error: 'must be a JSON object ({…})' });
  assert.match(parseFreeform('{nope').error, /^not valid JSON: /);
  assert.equal(sentence('must be at most 5'), 'Must be at most 5');
  assert.equal(sentence(''), '');
  assert.equal(sentence(null), null);
});
