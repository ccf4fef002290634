// Client-side checks of review answers. They mirror the server's rules
// (crates/assent-core/src/review.rs, `validate_response` and `check_value`) and use the same
// messages, so the human sees the problem before sending; the server stays the authority.
// Pure functions: no DOM, importable from Node for tests.

export const MAX_ANSWER_TEXT = 100_000;
export const MAX_COMMENT = 10_000;
export const MAX_URL = 2048;

const chars = (s) => [...s].length;

export function isEmail(s) {
  const at = s.indexOf('@');
  if (at < 0) return false;
  const local = s.slice(0, at);
  const domain = s.slice(at + 1);
  return local !== '' && domain.includes('.') && !domain.startsWith('.') && !domain.endsWith('.') && !/\s/.test(s);
}

/** null when `s` is an absolute http(s) URL with a host, else the reason. */
export function checkHttpUrl(s) {
  if (s.length > MAX_URL) return `must be at most ${MAX_URL} characters`;
  let rest;
  if (s.startsWith('https://')) rest = s.slice(8);
  else if (s.startsWith('http://')) rest = s.slice(7);
  else return 'must be an http or https URL';
  const authority = rest.split(/[/?#]/)[0];
  const host = authority.split('@').pop();
  // eslint-disable-next-line no-control-regex
  if (!host || host.startsWith(':') || /[\s\u0000-\u001f\u007f-\u009f]/.test(s)) return 'must be a valid URL';
  return null;
}

const pad2 = '(\\d{2})';
function validDate(y, m, d) {
  const dt = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  return dt.getUTCFullYear() === Number(y) && dt.getUTCMonth() === Number(m) - 1 && dt.getUTCDate() === Number(d);
}
const validTime = (h, m, s = '0') => Number(h) < 24 && Number(m) < 60 && Number(s) < 60;

export function isDate(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  return !!m && validDate(m[1], m[2], m[3]);
}
export function isTime(s) {
  const m = new RegExp(`^${pad2}:${pad2}(?::${pad2})?$`).exec(s);
  return !!m && validTime(m[1], m[2], m[3]);
}
export function isDateTime(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (m) return validDate(m[1], m[2], m[3]) && validTime(m[4], m[5], m[6]);
  // RFC 3339 with a zone is accepted too.
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s));
}

/** The values of a select field's options (plain strings or {value, label}). */
export function selectOptions(field) {
  return (Array.isArray(field.options) ? field.options : [])
    .map((o) => (typeof o === 'string' ? { value: o, label: o } : o && typeof o === 'object' ? { value: o.value, label: o.label ?? o.value } : null))
    .filter((o) => o && typeof o.value === 'string');
}

function asNumber(v) {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

const num = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const fmt = (n) => String(n);

/** The server's `check_value`: null if `v` suits a field of type `field.type`, else the message. */
export function checkValue(field, v) {
  const ty = field.type;
  if (ty === 'checkbox') return typeof v === 'boolean' ? null : 'must be a boolean';
  if (ty === 'number' || ty === 'range') {
    const n = asNumber(v);
    if (n === null) return 'must be a number';
    const min = num(field.min);
    const max = num(field.max);
    const step = num(field.step);
    if (min !== null && n < min) return `must be at least ${fmt(min)}`;
    if (max !== null && n > max) return `must be at most ${fmt(max)}`;
    if (step !== null) {
      const k = (n - (min ?? 0)) / step;
      if (Math.abs(k - Math.round(k)) > 1e-9) return `must be a multiple of ${fmt(step)} from ${fmt(min ?? 0)}`;
    }
    return null;
  }
  if (typeof v !== 'string') return 'must be a string';
  if (chars(v) > MAX_ANSWER_TEXT) return `must be at most ${MAX_ANSWER_TEXT} characters`;
  if (v === '') return null;
  switch (ty) {
    case 'email':
      return isEmail(v) ? null : 'must be an email address';
    case 'url':
      return checkHttpUrl(v) === null ? null : 'must be an http(s) URL';
    case 'date':
      return isDate(v) ? null : 'must be a date (YYYY-MM-DD)';
    case 'time':
      return isTime(v) ? null : 'must be a time (HH:MM)';
    case 'datetime':
      return isDateTime(v) ? null : 'must be a date and time (YYYY-MM-DDTHH:MM)';
    case 'select':
      return selectOptions(field).some((o) => o.value === v) ? null : "must be one of the field's options";
    default:
      return null;
  }
}

/**
 * Builds and checks a form answer from raw input values (`{name: string|boolean}` as read
 * from the inputs). Empty inputs are left out ("no value"); numbers and ranges are sent as
 * numbers, checkboxes as booleans. Returns `{response, errors: {name: message}}`.
 */
export function buildFormResponse(payload, raw) {
  const response = {};
  const errors = {};
  for (const f of Array.isArray(payload?.fields) ? payload.fields : []) {
    if (!f || typeof f.name !== 'string') continue;
    const required = f.required === true;
    let v = raw[f.name];
    if (f.type === 'checkbox') v = v === true;
    else if (v === undefined || v === null || v === '') v = null;
    else if ((f.type === 'number' || f.type === 'range') && asNumber(v) !== null) v = asNumber(v);
    if (v === null) {
      if (required) errors[f.name] = 'is required';
      continue;
    }
    const err = checkValue(f, v);
    if (err) errors[f.name] = err;
    else if (required && ((typeof v === 'string' && v.trim() === '') || (f.type === 'checkbox' && v === false))) errors[f.name] = 'is required';
    response[f.name] = v;
  }
  return { response, errors };
}

/** null or the message for a text-input answer (trimmed length within the limits). */
export function checkTextInput(payload, text) {
  if (typeof text !== 'string') return 'is required';
  const n = chars(text.trim());
  const min = Math.max(1, Number.isInteger(payload?.minLength) && payload.minLength > 0 ? payload.minLength : 1);
  const max = Number.isInteger(payload?.maxLength) && payload.maxLength > 0 ? payload.maxLength : MAX_ANSWER_TEXT;
  if (n === 0) return 'must not be empty';
  if (n < min) return `must be at least ${min} characters`;
  if (n > max) return `must be at most ${max} characters`;
  return null;
}

/** null or the message for a selection answer. */
export function checkSelection(payload, ids) {
  const known = (payload?.items ?? []).map((i) => i?.id);
  const single = payload?.mode !== 'multi';
  if (!ids.length) return single ? 'choose one option' : 'choose at least one option';
  if (single && ids.length !== 1) return 'must have exactly one entry (single selection)';
  if (ids.some((id) => !known.includes(id))) return `must be one of: ${known.join(', ')}`;
  if (new Set(ids).size !== ids.length) return 'is a duplicate';
  return null;
}

/** null or the message for an approval comment. */
export function checkComment(comment) {
  return chars(comment) > MAX_COMMENT ? 'is too long' : null;
}

/**
 * null or the message for the feedback of a request for changes: required (not blank, like
 * the server: "is required when requesting changes"), at most MAX_COMMENT characters.
 */
export function checkChangeRequest(feedback) {
  const text = String(feedback ?? '').trim();
  if (!text) return 'is required';
  return chars(text) > MAX_COMMENT ? `must be at most ${MAX_COMMENT} characters` : null;
}

/** Parses a freeform answer: `{value}` (a JSON object) or `{error}`. */
export function parseFreeform(text) {
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { error: `not valid JSON: ${e.message}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { error: 'must be a JSON object ({…})' };
  return { value: v };
}

/** "must be at most 5" → "Must be at most 5". */
export const sentence = (msg) => (msg ? msg[0].toUpperCase() + msg.slice(1) : msg);
