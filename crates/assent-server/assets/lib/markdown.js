// A small, safe markdown renderer for agent messages. It parses the text into a tree of plain
// objects, then builds DOM nodes from it (text nodes for all content), so raw HTML in a message
// is shown as text and never parsed.
// Supported: paragraphs (single newlines are line breaks), headings, emphasis, strong,
// strikethrough, inline code, fenced code blocks, ordered/unordered lists, blockquotes,
// horizontal rules, pipe tables, links and autolinks. Links are kept only for http, https
// and mailto URLs; images are shown as links (nothing is loaded from agent-given URLs).
//
// Agents write the text, so every step is linear in its length: no construct rescans the rest
// of the line from each candidate opener (closers are found through tables built in one pass),
// and no regular expression left here can backtrack quadratically.

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

/** The normalised URL if it is http(s) or mailto, else null. */
export function safeUrl(raw) {
  const s = String(raw ?? '').trim();
  // Reject control characters and whitespace anywhere (they hide schemes: "java\tscript:").
  // eslint-disable-next-line no-control-regex
  if (!s || /[\u0000-\u0020\u007f-\u009f]/.test(s)) return null;
  // The scheme is all before the first `:`, so nothing else can parse to these; checking it
  // first spares a parse that throws (slow) for every link target that is not a URL.
  if (!/^(https?|mailto):/i.test(s)) return null;
  let u;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  return SAFE_PROTOCOLS.has(u.protocol) ? u.href : null;
}

// The tree: a string is a text node; an element is { tag, kids } plus `href` (a), `lang`
// (code of a fenced block) or `start` (ol).
const node = (tag, kids = [], extra = null) => (extra ? Object.assign({ tag, kids }, extra) : { tag, kids });

const isSpace = (c) => c !== undefined && /\s/.test(c);
const isWordChar = (c) => c !== undefined && /[\p{L}\p{N}_]/u.test(c);
// Headings and list items do not span these, as `.` in QUOTE does not.
const hasLineBreak = (s) => /[\n\r\u2028\u2029]/.test(s);

// ---------------------------------------------------------------- inline

const ESCAPABLE = '\\`*_{}[]()#+-.!|~<>"\'';
// Punctuation that ends a sentence rather than a bare URL.
const TRAILING = '.,;:!?)]*_~';
const URL_RUN = /[^\s<>"'`]*/y;
// Each try at a bare URL reads the rest of its run of URL characters, so a run that failed
// is tried from only a few of the `http`s inside it (`http://[http://[…`).
const MAX_URL_TRIES = 4;

/** For each index, the first index at or after it where `hit` holds (-1: none). */
function nextWhere(n, hit) {
  const next = new Int32Array(n + 1).fill(-1);
  for (let k = n - 1; k >= 0; k--) next[k] = hit(k) ? k : next[k + 1];
  return next;
}

/** Tables over one inline text, each built on first use in a single pass. */
class Lookups {
  constructor(s) {
    this.s = s;
    this.memo = {};
    this.found = {};
  }

  table(key, make) {
    return (this.memo[key] ??= make(this.s));
  }

  /** The `]` or `)` closing the `[` or `(` at `k` (nesting and backslash escapes honoured), or -1. */
  partner(k) {
    return this.table('pairs', (s) => {
      const pair = new Int32Array(s.length).fill(-1);
      const open = { '[': [], '(': [] };
      for (let j = 0; j < s.length; j++) {
        const c = s[j];
        if (c === '\\') j++;
        else if (c === '[' || c === '(') open[c].push(j);
        else if (c === ']' || c === ')') {
          const stack = open[c === ']' ? '[' : '('];
          if (stack.length) pair[stack.pop()] = j;
        }
      }
      return pair;
    })[k];
  }

  /** The first run of at least `n` backticks at or after `from`, or -1. */
  ticks(from, n) {
    const { run, longest } = this.table('ticks', (s) => {
      const run = new Int32Array(s.length + 1);
      const longest = new Int32Array(s.length + 1);
      for (let k = s.length - 1; k >= 0; k--) {
        run[k] = s[k] === '`' ? run[k + 1] + 1 : 0;
        longest[k] = Math.max(run[k], longest[k + 1]);
      }
      return { run, longest };
    });
    // Knowing there is one, the walk to it is paid for by the code span it closes.
    if (from >= this.s.length || longest[from] < n) return -1;
    let k = from;
    while (run[k] < n) k++;
    return k;
  }

  /**
   * The first `marker` (`*`, `_`, `**`, `__` or `~~`) at or after `from` not preceded by a
   * backslash, or -1. A single `*` or `_` passes over doubled ones (`*a **b** c*`).
   */
  closer(marker, from) {
    const next = this.table(marker, (s) => {
      const c = marker[0];
      const at = nextWhere(s.length, (k) => s[k] === c && s[k - 1] !== '\\' && (marker.length === 1 || s[k + 1] === c));
      if (marker.length === 2) return at;
      // From the right, so that the search resumed past a doubled marker is already known.
      const skip = new Int32Array(s.length + 1).fill(-1);
      for (let k = s.length - 1; k >= 0; k--) {
        const q = at[k];
        skip[k] = q >= 0 && s[q + 1] === c && s[q - 1] !== c ? skip[q + 2] : q;
      }
      return skip;
    });
    return from < next.length ? next[from] : -1;
  }

  /** s.indexOf(ch, from) for a `from` that only grows: the string is scanned once in all. */
  next(ch, from) {
    const at = this.found[ch];
    if (at === undefined || (at >= 0 && at < from)) return (this.found[ch] = this.s.indexOf(ch, from));
    return at;
  }
}

/** The URL of a link destination: without a trailing "title" and without <> around it. */
function destUrl(raw) {
  let url = raw.trim();
  const q = url[url.length - 1];
  if (q === '"' || q === "'") {
    const open = url.lastIndexOf(q, url.length - 2);
    if (open > 0 && isSpace(url[open - 1])) url = url.slice(0, open).trimEnd();
  }
  if (url.length >= 2 && url[0] === '<' && url[url.length - 1] === '>' && !hasLineBreak(url)) url = url.slice(1, -1);
  return url;
}

/** Parses inline markdown into an array of tree nodes. */
export function parseInline(s, depth = 0) {
  if (depth > 8) return [s];
  const out = [];
  let text = '';
  const flush = () => {
    if (text) out.push(text);
    text = '';
  };
  const look = new Lookups(s);
  // The run of URL characters (up to `runEnd`) last read for a bare URL, and how often.
  let runEnd = 0;
  let runTries = 0;
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    // backslash escapes
    if (c === '\\' && i + 1 < s.length && ESCAPABLE.includes(s[i + 1])) {
      text += s[i + 1];
      i += 2;
      continue;
    }
    // code span
    if (c === '`') {
      let n = 1;
      while (s[i + n] === '`') n++;
      const end = look.ticks(i + n, n);
      if (end > 0) {
        flush();
        out.push(node('code', [s.slice(i + n, end).replace(/^ (.*) $/, '$1')]));
        i = end + n;
        continue;
      }
      text += '`'.repeat(n);
      i += n;
      continue;
    }
    // images (shown as links) and links
    if (c === '[' || (c === '!' && s[i + 1] === '[')) {
      const open = c === '!' ? i + 1 : i;
      const close = look.partner(open);
      const end = close > 0 && s[close + 1] === '(' ? look.partner(close + 1) : -1;
      if (end > 0) {
        const label = s.slice(open + 1, close);
        const href = safeUrl(destUrl(s.slice(close + 2, end)));
        flush();
        const kids = c === '!' ? [`[image: ${label || 'untitled'}]`] : parseInline(label, depth + 1);
        // An unsafe URL keeps only the label, as text.
        if (href) out.push(node('a', kids, { href }));
        else for (const k of kids) out.push(k);
        i = end + 1;
        continue;
      }
    }
    // <https://autolink>; it holds no `<` (else each `<` before a far `>` would try it all again)
    if (c === '<') {
      const end = look.next('>', i);
      const lt = look.next('<', i + 1);
      if (end > 0 && (lt < 0 || lt > end)) {
        const inner = s.slice(i + 1, end);
        const href = /^(https?:|mailto:)/i.test(inner) ? safeUrl(inner) : null;
        if (href) {
          flush();
          out.push(node('a', [inner], { href }));
          i = end + 1;
          continue;
        }
      }
    }
    // bare URLs
    const tired = i < runEnd && runTries >= MAX_URL_TRIES;
    if ((c === 'h' || c === 'H') && !tired && !isWordChar(s[i - 1]) && /^https?:\/\//i.test(s.slice(i, i + 8))) {
      URL_RUN.lastIndex = i;
      const end = i + URL_RUN.exec(s)[0].length;
      if (end !== runEnd) runTries = 0;
      runEnd = end;
      runTries++;
      let opens = 0;
      let closes = 0;
      for (let k = i; k < end; k++) {
        if (s[k] === '(') opens++;
        else if (s[k] === ')') closes++;
      }
      // Trailing punctuation belongs to the sentence, not the URL, unless it closes a `(`.
      let stop = end;
      while (TRAILING.includes(s[stop - 1])) {
        if (s[stop - 1] === ')') {
          if (opens >= closes) break;
          closes--;
        }
        stop--;
      }
      const url = s.slice(i, stop);
      const href = safeUrl(url);
      if (href) {
        flush();
        out.push(node('a', [url], { href }));
        i = stop;
        continue;
      }
    }
    // strong / emphasis / strikethrough
    if ((c === '*' || c === '_' || c === '~') && s[i + 1] !== undefined) {
      const dbl = s[i + 1] === c;
      if (c === '~' && !dbl) {
        text += c;
        i++;
        continue;
      }
      const marker = dbl ? c + c : c;
      const start = i + marker.length;
      const leftOk = s[start] !== undefined && !isSpace(s[start]) && !(c === '_' && isWordChar(s[i - 1]));
      if (leftOk) {
        const end = look.closer(marker, start + 1);
        if (end > 0 && !isSpace(s[end - 1]) && !(c === '_' && isWordChar(s[end + marker.length]))) {
          flush();
          const tag = c === '~' ? 'del' : dbl ? 'strong' : 'em';
          out.push(node(tag, parseInline(s.slice(start, end), depth + 1)));
          i = end + marker.length;
          continue;
        }
      }
    }
    text += c;
    i++;
  }
  flush();
  return out;
}

/** Inline content with single newlines as <br>. */
function inlineLines(lines) {
  const nodes = [];
  lines.forEach((line, k) => {
    if (k > 0) nodes.push(node('br'));
    for (const n of parseInline(line.trimEnd())) nodes.push(n);
  });
  return nodes;
}

// ---------------------------------------------------------------- blocks

// These three are anchored and backtrack at most linearly. The other block shapes have
// patterns that would backtrack quadratically, so they are matched by the functions below.
const FENCE = /^ {0,3}(```+|~~~+)\s*([\w+-]*)/;
const HR = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;

/** `## Title ##` (up to three spaces of indent): { level, text } or null. */
function heading(line) {
  let k = 0;
  while (k < 4 && line[k] === ' ') k++;
  let level = 0;
  while (line[k + level] === '#') level++;
  if (k > 3 || level < 1 || level > 6 || !isSpace(line[k + level])) return null;
  let text = line.slice(k + level).trim();
  let end = text.length;
  while (text[end - 1] === '#') end--;
  text = text.slice(0, end).trimEnd();
  return hasLineBreak(text) ? null : { level, text };
}

/** `- item`, `1. item` or `1) item` (up to six spaces of indent): { indent, ordered, num, text } or null. */
function listItem(line) {
  let k = 0;
  while (line[k] === ' ') k++;
  if (k > 6) return null;
  let j = k;
  let num = '';
  if (line[k] === '-' || line[k] === '*' || line[k] === '+') j++;
  else {
    while (line[j] >= '0' && line[j] <= '9') j++;
    if (j === k || j - k > 9 || (line[j] !== '.' && line[j] !== ')')) return null;
    num = line.slice(k, j);
    j++;
  }
  if (!isSpace(line[j])) return null;
  const text = line.slice(j).trimStart();
  return hasLineBreak(text) ? null : { indent: k, ordered: num !== '', num, text };
}

/** A table's header separator: `--- | :---: | ---:`, outer pipes optional. */
function isTableSep(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|')) s = s.slice(0, -1);
  return s.split('|').every((cell) => /^:?-{2,}:?$/.test(cell.trim()));
}

function splitRow(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  const cells = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === '|') {
      cur += '|';
      i++;
    } else if (s[i] === '|') {
      cells.push(cur.trim());
      cur = '';
    } else cur += s[i];
  }
  cells.push(cur.trim());
  return cells;
}

function isBlockStart(line, next) {
  return (
    FENCE.test(line) || heading(line) !== null || HR.test(line) || QUOTE.test(line) || listItem(line) !== null ||
    (line.includes('|') && next !== undefined && isTableSep(next))
  );
}

function parseList(lines, i, depth) {
  const first = listItem(lines[i]);
  const { indent, ordered } = first;
  const list = node(ordered ? 'ol' : 'ul', [], ordered && first.num !== '1' ? { start: Number(first.num) } : null);
  while (i < lines.length) {
    const m = listItem(lines[i]);
    if (!m || m.ordered !== ordered || m.indent !== indent) break;
    const itemLines = [m.text];
    i++;
    // continuation lines and nested lists
    const nested = [];
    while (i < lines.length && lines[i].trim() !== '') {
      const sub = listItem(lines[i]);
      if (sub && sub.indent > indent && depth < 6) {
        const [inner, next] = parseList(lines, i, depth + 1);
        nested.push(inner);
        i = next;
        continue;
      }
      if (sub || isBlockStart(lines[i], lines[i + 1])) break;
      itemLines.push(lines[i].trim());
      i++;
    }
    list.kids.push(node('li', [...inlineLines(itemLines), ...nested]));
    // one blank line between items keeps the list going
    if (lines[i]?.trim() === '' && i + 1 < lines.length) {
      const after = listItem(lines[i + 1]);
      if (after && after.ordered === ordered && after.indent === indent) i++;
    }
  }
  return [list, i];
}

// Rows shorter than the header get empty cells, but only this many in a message: a wide header
// over many short rows would otherwise make rows × columns cells out of a short text.
const MAX_PADDING_CELLS = 10_000;

function blocks(lines, depth, budget) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === '') {
      i++;
      continue;
    }
    let m;
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) body.push(lines[i++]);
      i++; // closing fence (or end of text)
      out.push(node('pre', [node('code', [body.join('\n')], m[2] ? { lang: m[2] } : null)]));
      continue;
    }
    if ((m = heading(line))) {
      out.push(node(`h${m.level}`, parseInline(m.text)));
      i++;
      continue;
    }
    if (HR.test(line)) {
      out.push(node('hr'));
      i++;
      continue;
    }
    if (QUOTE.test(line) && depth < 8) {
      const inner = [];
      while (i < lines.length && QUOTE.test(lines[i])) inner.push(QUOTE.exec(lines[i++])[1]);
      out.push(node('blockquote', blocks(inner, depth + 1, budget)));
      continue;
    }
    if (listItem(line)) {
      const [list, next] = parseList(lines, i, 0);
      out.push(list);
      i = next;
      continue;
    }
    if (line.includes('|') && lines[i + 1] !== undefined && isTableSep(lines[i + 1])) {
      const head = splitRow(line);
      const rows = [];
      i += 2;
      while (i < lines.length && lines[i].includes('|') && lines[i].trim() !== '') {
        const cells = splitRow(lines[i++]);
        const missing = head.length - cells.length;
        let width = head.length;
        if (missing > 0 && missing > budget.padding) width = cells.length;
        else if (missing > 0) budget.padding -= missing;
        const row = [];
        for (let k = 0; k < width; k++) row.push(node('td', parseInline(cells[k] ?? '')));
        rows.push(node('tr', row));
      }
      const thead = node('thead', [node('tr', head.map((c) => node('th', parseInline(c))))]);
      out.push(node('table', [thead, node('tbody', rows)]));
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() !== '' && (para.length === 0 || !isBlockStart(lines[i], lines[i + 1]))) {
      para.push(lines[i++]);
    }
    out.push(node('p', inlineLines(para)));
  }
  return out;
}

/** Parses markdown into an array of block nodes (see `node` for the shape). */
export function parseMarkdown(text) {
  const src = String(text ?? '').replace(/\r\n?/g, '\n');
  return blocks(src.split('\n'), 0, { padding: MAX_PADDING_CELLS });
}

// ---------------------------------------------------------------- DOM

function build(n) {
  if (typeof n === 'string') return document.createTextNode(n);
  const e = document.createElement(n.tag);
  if (n.href !== undefined) {
    e.href = n.href;
    e.target = '_blank';
    e.rel = 'noopener noreferrer nofollow ugc';
  }
  if (n.lang !== undefined) e.dataset.lang = n.lang;
  if (n.start !== undefined) e.start = n.start;
  for (const k of n.kids) e.append(build(k));
  return e;
}

/** Renders inline markdown into an array of DOM nodes. */
export function inline(s, depth = 0) {
  return parseInline(s, depth).map(build);
}

/** Renders markdown into a `<div class="md">`. */
export function renderMarkdown(text) {
  const root = document.createElement('div');
  root.className = 'md';
  for (const n of parseMarkdown(text)) root.append(build(n));
  return root;
}

// ---------------------------------------------------------------- plain text

/**
 * Replaces `[label](target)` (`![label](target)` when `bang`) by its label, as
 * s.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') would, but finding each `]` and `)` once
 * instead of scanning on from every `[`.
 */
function dropTargets(s, bang) {
  const lead = bang ? '![' : '[';
  const look = new Lookups(s);
  let out = '';
  let copied = 0;
  let i = s.indexOf(lead);
  while (i >= 0) {
    const close = look.next(']', i + lead.length);
    const end = close >= 0 && s[close + 1] === '(' ? look.next(')', close + 2) : -2;
    // No `]`, or no `)` after a `](`: no later `[` can match either.
    if (close < 0 || end === -1) break;
    if (end >= 0) {
      out += s.slice(copied, i) + s.slice(i + lead.length, close);
      copied = end + 1;
    }
    i = s.indexOf(lead, end >= 0 ? end + 1 : i + 1);
  }
  return out + s.slice(copied);
}

/** A one-line plain-text preview of markdown (for lists). */
export function plainPreview(text, max = 140) {
  const code = String(text ?? '').replace(/```[\s\S]*?(```|$)/g, ' [code] ');
  const s = dropTargets(dropTargets(code, true), false)
    .replace(/^ {0,3}(#{1,6}|>|[-*+]|\d+[.)])\s+/gm, '')
    .replace(/(\*\*|__|~~|`)/g, '')
    .replace(/(^|\W)[*_]([^*_\n]+)[*_](?=\W|$)/g, '$1$2')
    .replace(/\s+/g, ' ')
    .trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
