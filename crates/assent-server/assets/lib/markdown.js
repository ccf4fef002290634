// A small, safe markdown renderer for agent messages. It builds DOM nodes directly (text
// nodes for all content), so raw HTML in a message is shown as text and never parsed.
// Supported: paragraphs (single newlines are line breaks), headings, emphasis, strong,
// strikethrough, inline code, fenced code blocks, ordered/unordered lists, blockquotes,
// horizontal rules, pipe tables, links and autolinks. Links are kept only for http, https
// and mailto URLs; images are shown as links (nothing is loaded from agent-given URLs).

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

/** The normalised URL if it is http(s) or mailto, else null. */
export function safeUrl(raw) {
  const s = String(raw ?? '').trim();
  // Reject control characters and whitespace anywhere (they hide schemes: "java\tscript:").
  // eslint-disable-next-line no-control-regex
  if (!s || /[\u0000-\u0020\u007f-\u009f]/.test(s)) return null;
  let u;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  return SAFE_PROTOCOLS.has(u.protocol) ? u.href : null;
}

function el(tag, ...children) {
  const e = document.createElement(tag);
  for (const c of children) e.append(c);
  return e;
}

function link(href, children) {
  const a = el('a', ...children);
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer nofollow ugc';
  return a;
}

// ---------------------------------------------------------------- inline

const ESCAPABLE = '\\`*_{}[]()#+-.!|~<>"\'';

function findClosing(s, from, marker) {
  let i = from;
  while (i < s.length) {
    const j = s.indexOf(marker, i);
    if (j < 0) return -1;
    if (s[j - 1] !== '\\') return j;
    i = j + 1;
  }
  return -1;
}

/** Index of the `]` that closes the `[` at `open`, honouring nesting and escapes. */
function closeBracket(s, open) {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '[') depth++;
    else if (s[i] === ']' && --depth === 0) return i;
  }
  return -1;
}

/** Parses `(url "title")` at `i`; returns [url, endIndex] or null. */
function parseDest(s, i) {
  if (s[i] !== '(') return null;
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '(') depth++;
    else if (s[j] === ')' && --depth === 0) {
      const inner = s.slice(i + 1, j).trim();
      const url = inner.replace(/\s+("[^"]*"|'[^']*')$/, '').replace(/^<(.*)>$/, '$1');
      return [url, j + 1];
    }
  }
  return null;
}

const isWordChar = (c) => c !== undefined && /[\p{L}\p{N}_]/u.test(c);

/** Renders inline markdown into an array of nodes. */
export function inline(s, depth = 0) {
  const out = [];
  let text = '';
  const flush = () => {
    if (text) out.push(document.createTextNode(text));
    text = '';
  };
  if (depth > 8) return [document.createTextNode(s)];
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
      const fence = '`'.repeat(n);
      const end = s.indexOf(fence, i + n);
      if (end > 0) {
        flush();
        out.push(el('code', document.createTextNode(s.slice(i + n, end).replace(/^ (.*) $/, '$1'))));
        i = end + n;
        continue;
      }
      text += fence;
      i += n;
      continue;
    }
    // images (shown as links) and links
    if (c === '[' || (c === '!' && s[i + 1] === '[')) {
      const open = c === '!' ? i + 1 : i;
      const close = closeBracket(s, open);
      const dest = close > 0 ? parseDest(s, close + 1) : null;
      if (dest) {
        const label = s.slice(open + 1, close);
        const href = safeUrl(dest[0]);
        flush();
        const kids = c === '!' ? [document.createTextNode(`[image: ${label || 'untitled'}]`)] : inline(label, depth + 1);
        // An unsafe URL keeps only the label, as text.
        if (href) out.push(link(href, kids));
        else out.push(...kids);
        i = dest[1];
        continue;
      }
    }
    // <https://autolink>
    if (c === '<') {
      const end = s.indexOf('>', i);
      if (end > 0) {
        const inner = s.slice(i + 1, end);
        const href = /^(https?:|mailto:)/i.test(inner) ? safeUrl(inner) : null;
        if (href) {
          flush();
          out.push(link(href, [document.createTextNode(inner)]));
          i = end + 1;
          continue;
        }
      }
    }
    // bare URLs
    if ((c === 'h' || c === 'H') && !isWordChar(s[i - 1]) && /^https?:\/\//i.test(s.slice(i, i + 8))) {
      const m = /^https?:\/\/[^\s<>"'`]+/i.exec(s.slice(i));
      let url = m[0];
      // Trailing punctuation belongs to the sentence, not the URL.
      while (/[.,;:!?)\]*_~]$/.test(url)) {
        if (url.endsWith(')') && (url.match(/\(/g) ?? []).length >= (url.match(/\)/g) ?? []).length) break;
        url = url.slice(0, -1);
      }
      const href = safeUrl(url);
      if (href) {
        flush();
        out.push(link(href, [document.createTextNode(url)]));
        i += url.length;
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
      const leftOk = s[start] !== undefined && !/\s/.test(s[start]) && !(c === '_' && isWordChar(s[i - 1]));
      if (leftOk) {
        let end = findClosing(s, start + 1, marker);
        // A single `*` must not be matched by the first half of a `**`.
        while (end > 0 && !dbl && s[end + 1] === c && s[end - 1] !== c) end = findClosing(s, end + 2, marker);
        if (end > start - 1 && end > 0 && !/\s/.test(s[end - 1]) && !(c === '_' && isWordChar(s[end + marker.length]))) {
          flush();
          const tag = c === '~' ? 'del' : dbl ? 'strong' : 'em';
          out.push(el(tag, ...inline(s.slice(start, end), depth + 1)));
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
    if (k > 0) nodes.push(document.createElement('br'));
    nodes.push(...inline(line.replace(/\s+$/, '')));
  });
  return nodes;
}

// ---------------------------------------------------------------- blocks

const RE = {
  fence: /^ {0,3}(```+|~~~+)\s*([\w+-]*)/,
  heading: /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/,
  hr: /^ {0,3}([-*_])(\s*\1){2,}\s*$/,
  quote: /^ {0,3}> ?(.*)$/,
  ul: /^( {0,6})([-*+])\s+(.*)$/,
  ol: /^( {0,6})(\d{1,9})[.)]\s+(.*)$/,
  tableSep: /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/,
};

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
    RE.fence.test(line) || RE.heading.test(line) || RE.hr.test(line) || RE.quote.test(line) ||
    RE.ul.test(line) || RE.ol.test(line) || (line.includes('|') && next !== undefined && RE.tableSep.test(next))
  );
}

function parseList(lines, i, depth) {
  const first = RE.ul.exec(lines[i]) ?? RE.ol.exec(lines[i]);
  const ordered = !RE.ul.test(lines[i]);
  const indent = first[1].length;
  const list = document.createElement(ordered ? 'ol' : 'ul');
  if (ordered && first[2] !== '1') list.start = Number(first[2]);
  while (i < lines.length) {
    const m = (ordered ? RE.ol : RE.ul).exec(lines[i]);
    if (!m || m[1].length !== indent) break;
    const itemLines = [m[3]];
    i++;
    // continuation lines and nested lists
    const nested = [];
    while (i < lines.length && lines[i].trim() !== '') {
      const sub = RE.ul.exec(lines[i]) ?? RE.ol.exec(lines[i]);
      if (sub && sub[1].length > indent && depth < 6) {
        const [node, next] = parseList(lines, i, depth + 1);
        nested.push(node);
        i = next;
        continue;
      }
      if (sub || isBlockStart(lines[i], lines[i + 1])) break;
      itemLines.push(lines[i].trim());
      i++;
    }
    const li = el('li', ...inlineLines(itemLines), ...nested);
    list.append(li);
    // one blank line between items keeps the list going
    if (lines[i]?.trim() === '' && i + 1 < lines.length && (ordered ? RE.ol : RE.ul).test(lines[i + 1])) {
      const mm = (ordered ? RE.ol : RE.ul).exec(lines[i + 1]);
      if (mm[1].length === indent) i++;
    }
  }
  return [list, i];
}

function blocks(lines, depth = 0) {
  const frag = document.createDocumentFragment();
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === '') {
      i++;
      continue;
    }
    let m;
    if ((m = RE.fence.exec(line))) {
      const fence = m[1];
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) body.push(lines[i++]);
      i++; // closing fence (or end of text)
      const code = el('code', document.createTextNode(body.join('\n')));
      if (m[2]) code.dataset.lang = m[2];
      frag.append(el('pre', code));
      continue;
    }
    if ((m = RE.heading.exec(line))) {
      frag.append(el(`h${m[1].length}`, ...inline(m[2])));
      i++;
      continue;
    }
    if (RE.hr.test(line)) {
      frag.append(document.createElement('hr'));
      i++;
      continue;
    }
    if (RE.quote.test(line) && depth < 8) {
      const inner = [];
      while (i < lines.length && RE.quote.test(lines[i])) inner.push(RE.quote.exec(lines[i++])[1]);
      frag.append(el('blockquote', blocks(inner, depth + 1)));
      continue;
    }
    if (RE.ul.test(line) || RE.ol.test(line)) {
      const [list, next] = parseList(lines, i, 0);
      frag.append(list);
      i = next;
      continue;
    }
    if (line.includes('|') && lines[i + 1] !== undefined && RE.tableSep.test(lines[i + 1])) {
      const head = splitRow(line);
      const table = document.createElement('table');
      const thead = el('thead', el('tr', ...head.map((c) => el('th', ...inline(c)))));
      const tbody = document.createElement('tbody');
      i += 2;
      while (i < lines.length && lines[i].includes('|') && lines[i].trim() !== '') {
        const cells = splitRow(lines[i++]);
        tbody.append(el('tr', ...head.map((_, k) => el('td', ...inline(cells[k] ?? '')))));
      }
      table.append(thead, tbody);
      frag.append(table);
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() !== '' && (para.length === 0 || !isBlockStart(lines[i], lines[i + 1]))) {
      para.push(lines[i++]);
    }
    frag.append(el('p', ...inlineLines(para)));
  }
  return frag;
}

/** Renders markdown into a `<div class="md">`. */
export function renderMarkdown(text) {
  const root = document.createElement('div');
  root.className = 'md';
  const src = String(text ?? '').replace(/\r\n?/g, '\n');
  root.append(blocks(src.split('\n')));
  return root;
}

/** A one-line plain-text preview of markdown (for lists). */
export function plainPreview(text, max = 140) {
  const s = String(text ?? '')
    .replace(/```[\s\S]*?(```|$)/g, ' [code] ')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/^ {0,3}(#{1,6}|>|[-*+]|\d+[.)])\s+/gm, '')
    .replace(/(\*\*|__|~~|`)/g, '')
    .replace(/(^|\W)[*_]([^*_\n]+)[*_](?=\W|$)/g, '$1$2')
    .replace(/\s+/g, ' ')
    .trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
