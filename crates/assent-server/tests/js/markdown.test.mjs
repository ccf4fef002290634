// The dashboard's markdown renderer (assets/lib/markdown.js): what it makes of each construct,
// which link targets it keeps, and that its time grows linearly with the text, since agents
// write the text and a slow render freezes the dashboard.
//
//   node --test crates/assent-server/tests/js/

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseInline, parseMarkdown, plainPreview, renderMarkdown, safeUrl } from '../../assets/lib/markdown.js';

/** The parse tree as compact HTML (text escaped), for readable expectations. */
function html(nodes) {
  return nodes
    .map((n) => {
      if (typeof n === 'string') return n.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      const attrs = [
        n.href !== undefined && ` href="${n.href}"`,
        n.lang !== undefined && ` data-lang="${n.lang}"`,
        n.start !== undefined && ` start="${n.start}"`,
      ];
      const open = `<${n.tag}${attrs.filter(Boolean).join('')}>`;
      return n.tag === 'br' || n.tag === 'hr' ? open : `${open}${html(n.kids)}</${n.tag}>`;
    })
    .join('');
}

const md = (text) => html(parseMarkdown(text));
const inl = (text) => html(parseInline(text));

// ---------------------------------------------------------------- constructs

test('paragraphs, and single newlines as line breaks', () => {
  assert.equal(md('one\ntwo  \n\nthree'), '<p>one<br>two</p><p>three</p>');
  assert.equal(md('a\r\nb\rc'), '<p>a<br>b<br>c</p>');
  assert.equal(md(''), '');
  assert.equal(md(null), '');
});

test('headings', () => {
  assert.equal(md('# One\n## Two ##\n###### Six'), '<h1>One</h1><h2>Two</h2><h6>Six</h6>');
  assert.equal(md('   ### indented *em* #'), '<h3>indented <em>em</em></h3>');
  assert.equal(md('####### seven'), '<p>####### seven</p>');
  assert.equal(md('#nospace'), '<p>#nospace</p>');
  assert.equal(md('    # four spaces'), '<p>    # four spaces</p>');
  assert.equal(md('# '), '<h1></h1>');
});

test('emphasis, strong, strikethrough', () => {
  assert.equal(inl('*em* _em_ **strong** __strong__ ~~del~~'), '<em>em</em> <em>em</em> <strong>strong</strong> <strong>strong</strong> <del>del</del>');
  assert.equal(inl('**bold _and em_**'), '<strong>bold <em>and em</em></strong>');
  assert.equal(inl('*a **b** c*'), '<em>a <strong>b</strong> c</em>');
  assert.equal(inl('snake_case_name and 2*3*4'), 'snake_case_name and 2<em>3</em>4');
  assert.equal(inl('* not em * and ~single~'), '* not em * and ~single~');
  assert.equal(inl('**unclosed'), '**unclosed');
});

test('inline code and escapes', () => {
  assert.equal(inl('use `a <b>` here'), 'use <code>a &lt;b&gt;</code> here');
  assert.equal(inl('`` a`b ``'), '<code>a`b</code>');
  assert.equal(inl('`*not em*`'), '<code>*not em*</code>');
  assert.equal(inl('``unclosed` and `x`'), '``unclosed<code>and</code>x`');
  assert.equal(inl('\\*not em\\* \\[x\\](y) \\q'), '*not em* [x](y) \\q');
});

test('fenced code blocks', () => {
  assert.equal(md('```js\nconst a = `x`;\n  <b>\n```\nafter'), '<pre><code data-lang="js">const a = `x`;\n  &lt;b&gt;</code></pre><p>after</p>');
  assert.equal(md('~~~\nplain\n~~~'), '<pre><code>plain</code></pre>');
  assert.equal(md('```\nnever closed\nstill code'), '<pre><code>never closed\nstill code</code></pre>');
});

test('lists', () => {
  assert.equal(md('- a\n* b\n+ c'), '<ul><li>a</li><li>b</li><li>c</li></ul>');
  assert.equal(md('1. one\n2. two'), '<ol><li>one</li><li>two</li></ol>');
  assert.equal(md('3) three\n4) four'), '<ol start="3"><li>three</li><li>four</li></ol>');
  assert.equal(md('- a\n  - nested\n  - too\n- b'), '<ul><li>a<ul><li>nested</li><li>too</li></ul></li><li>b</li></ul>');
  assert.equal(md('- a\n  continued\n\n- b'), '<ul><li>a<br>continued</li><li>b</li></ul>');
  assert.equal(md('- a\n\n\n- b'), '<ul><li>a</li></ul><ul><li>b</li></ul>');
  assert.equal(md('-not a list\n1.neither'), '<p>-not a list<br>1.neither</p>');
  assert.equal(md('1234567890. too long'), '<p>1234567890. too long</p>');
});

test('blockquotes and horizontal rules', () => {
  assert.equal(md('> quoted\n> > deeper\n\nafter'), '<blockquote><p>quoted</p><blockquote><p>deeper</p></blockquote></blockquote><p>after</p>');
  assert.equal(md('---\n* * *\n___'), '<hr><hr><hr>');
  assert.equal(md('text\n---'), '<p>text</p><hr>');
});

test('pipe tables', () => {
  assert.equal(
    md('| a | b |\n|---|:--:|\n| 1 | 2 |\n| x \\| y |\n| p | q | extra |'),
    '<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody>' +
      '<tr><td>1</td><td>2</td></tr><tr><td>x | y</td><td></td></tr><tr><td>p</td><td>q</td></tr></tbody></table>',
  );
  assert.equal(md('a | *b*\n-- | --'), '<table><thead><tr><th>a</th><th><em>b</em></th></tr></thead><tbody></tbody></table>');
  assert.equal(md('a | b\nx | -'), '<p>a | b<br>x | -</p>');
});

test('a wide header over many short rows does not multiply into rows × columns cells', () => {
  const cells = (text) => JSON.stringify(parseMarkdown(text)).split('"td"').length - 1;
  assert.equal(cells('a|b|c\n--\n1|\n|2'), 6, 'short rows are padded');
  const wide = `${'h|'.repeat(2000)}\n--\n${'|\n'.repeat(2000)}`;
  assert.ok(cells(wide) < 20_000, `${cells(wide)} cells`);
});

test('links, images and autolinks', () => {
  assert.equal(inl('[text *em*](https://example.com/a)'), '<a href="https://example.com/a">text <em>em</em></a>');
  assert.equal(inl('[t](https://e.com/x "Title") [u](<https://e.com/y> \'T\')'), '<a href="https://e.com/x">t</a> <a href="https://e.com/y">u</a>');
  assert.equal(inl('[nested [brackets]](https://e.com/(paren))'), '<a href="https://e.com/(paren)">nested [brackets]</a>');
  assert.equal(inl('![a chart](https://e.com/c.png) ![](https://e.com/d.png)'), '<a href="https://e.com/c.png">[image: a chart]</a> <a href="https://e.com/d.png">[image: untitled]</a>');
  assert.equal(inl('<https://e.com/auto> <mailto:a@b.co>'), '<a href="https://e.com/auto">https://e.com/auto</a> <a href="mailto:a@b.co">mailto:a@b.co</a>');
  assert.equal(inl('[no target] [empty]() [unclosed](https://e.com'), '[no target] empty [unclosed](<a href="https://e.com/">https://e.com</a>');
});

test('bare URLs leave sentence punctuation outside', () => {
  assert.equal(inl('see https://e.com/a.'), 'see <a href="https://e.com/a">https://e.com/a</a>.');
  assert.equal(inl('(see https://e.com/a_(b)), ok'), '(see <a href="https://e.com/a_(b)">https://e.com/a_(b)</a>), ok');
  assert.equal(inl('HTTP://E.COM/X!'), '<a href="http://e.com/X">HTTP://E.COM/X</a>!');
  assert.equal(inl('xhttp://e.com no'), 'xhttp://e.com no');
  assert.equal(inl('broken http:// here and http://[oops'), 'broken http:// here and http://[oops');
});

test('markup in a message is text, never HTML', () => {
  assert.equal(md('<img src=x onerror="alert(1)"> <script>alert(2)</script>'), '<p>&lt;img src=x onerror="alert(1)"&gt; &lt;script&gt;alert(2)&lt;/script&gt;</p>');
});

// ---------------------------------------------------------------- link targets

test('safeUrl keeps http, https and mailto only', () => {
  assert.equal(safeUrl('https://example.com/a?b#c'), 'https://example.com/a?b#c');
  assert.equal(safeUrl('HTTP://Example.COM'), 'http://example.com/');
  assert.equal(safeUrl('  mailto:a@b.co  '), 'mailto:a@b.co');
  for (const bad of [
    'javascript:alert(1)',
    'JAVASCRIPT:alert(1)',
    'JaVaScRiPt:alert(1)',
    ' javascript:alert(1)',
    'java\tscript:alert(1)',
    'java\nscript:alert(1)',
    'java\u0000script:alert(1)',
    '\u0001javascript:alert(1)',
    'javascript\u00a0:alert(1)',
    'https://e.com/\u0085x',
    'data:text/html,<script>alert(1)</script>',
    'DATA:text/html;base64,PHNjcmlwdD4=',
    'vbscript:msgbox(1)',
    'VBScript:msgbox(1)',
    'file:///etc/passwd',
    '//evil.example/x',
    '/relative',
    'https://',
    '',
    null,
  ]) {
    assert.equal(safeUrl(bad), null, JSON.stringify(bad));
  }
});

test('an unsafe target keeps only the label, as text', () => {
  assert.equal(inl('[click](javascript:alert(1))'), 'click');
  assert.equal(inl('[shout](JAVASCRIPT:alert(1)) [d](data:text/html,x) [v](vbscript:x)'), 'shout d v');
  assert.equal(inl('[tab](java\tscript:alert(1))'), 'tab');
  assert.equal(inl('![pic](javascript:alert(1))'), '[image: pic]');
  assert.equal(inl('<javascript:alert(1)> javascript:alert(1)'), '&lt;javascript:alert(1)&gt; javascript:alert(1)');
});

// ---------------------------------------------------------------- DOM

// Just what the DOM builder calls.
globalThis.document = {
  createElement: (tag) => ({ tag, kids: [], dataset: {}, append(kid) { this.kids.push(kid); } }),
  createTextNode: (text) => ({ text }),
};

test('the DOM: elements, text nodes and safe link attributes', () => {
  const root = renderMarkdown('Hi [x](https://e.com) <b>\n\n```sh\nls\n```\n\n2. two');
  assert.equal(root.tag, 'div');
  assert.equal(root.className, 'md');
  const [p, pre, ol] = root.kids;
  const [hi, a, raw] = p.kids;
  assert.deepEqual(hi, { text: 'Hi ' });
  assert.equal(a.tag, 'a');
  assert.equal(a.href, 'https://e.com/');
  assert.equal(a.target, '_blank');
  assert.equal(a.rel, 'noopener noreferrer nofollow ugc');
  assert.deepEqual(a.kids, [{ text: 'x' }]);
  assert.deepEqual(raw, { text: ' <b>' }, 'markup stays a text node');
  assert.equal(pre.kids[0].dataset.lang, 'sh');
  assert.equal(ol.start, 2);
});

// ---------------------------------------------------------------- preview

test('plainPreview: one line of plain text', () => {
  assert.equal(plainPreview('# Title\n\nSome **bold** and _em_ text, `code`.\n\n- item'), 'Title Some bold and em text, code. item');
  assert.equal(plainPreview('see [the docs](https://e.com) and ![a chart](x.png)'), 'see the docs and a chart');
  assert.equal(plainPreview('before\n```\nconst x = 1;\n```\nafter'), 'before [code] after');
  assert.equal(plainPreview('x'.repeat(200), 10), `${'x'.repeat(9)}…`);
  assert.equal(plainPreview(null), '');
});

// ---------------------------------------------------------------- linear time

// Each family of hostile input is timed at n and 4n characters. Linear work takes about 4×
// as long for 4n; the old quadratic renderer took 16× (100,000 `[` took 39 s in a browser).
// The bounds leave room for a slow, busy machine: the larger input may take up to 10× the
// smaller plus a little, and any input at most 1.5 s per 100,000 characters.
const N = 25_000;
const MS_PER_100K = 1500;
const ceiling = (chars) => (MS_PER_100K * chars) / 100_000;

const times = (s, n) => s.repeat(Math.ceil(n / s.length));
function garbage(n, alphabet) {
  let x = 12345;
  let s = '';
  for (let k = 0; k < n; k++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += alphabet[x % alphabet.length];
  }
  return s;
}

const FAMILIES = {
  'runs of [': (n) => '['.repeat(n),
  'runs of [ then one ]': (n) => `${'['.repeat(n)}]`,
  'runs of ![': (n) => times('![', n),
  'nested brackets': (n) => '[a'.repeat(n / 4) + ']'.repeat(n / 4),
  'unclosed link targets': (n) => times('[a](', n),
  'a URL then )': (n) => `see https://example.com/a${')'.repeat(n)}`,
  'failing bare URLs': (n) => times('http://[(', n),
  'runs of *': (n) => '*'.repeat(n),
  'runs of _': (n) => '_'.repeat(n),
  'runs of ~': (n) => '~'.repeat(n),
  'runs of backticks': (n) => '`'.repeat(n),
  'backtick runs, longest first': (n) => {
    let s = '';
    for (let k = Math.floor(Math.sqrt(2 * n)); k > 0; k--) s += `${'`'.repeat(k)}a`;
    return s;
  },
  'single * across doubled ones': (n) => `*a${times(' **a', n)}`,
  'runs of <': (n) => '<'.repeat(n),
  'autolinks without an end': (n) => `${times('<http://a', n)}>`,
  'spaces inside a line': (n) => `a${' '.repeat(n)}b`,
  'spaces before a link title': (n) => `[a](b${' '.repeat(n)}c)`,
  'spaces inside a heading': (n) => `# a${' '.repeat(n)}b`,
  'hashes inside a heading': (n) => `# ${'#'.repeat(n)}b`,
  'spaces in a list item': (n) => `- ${' '.repeat(n)}a\u2028`,
  'spaces under a table header': (n) => `a|b\n${' '.repeat(n)}x`,
  'wide table, empty rows': (n) => `${times('a|', n / 2)}\n--\n${times('|\n', n / 2)}`,
  'mixed garbage, one line': (n) => garbage(n, '[]()!*_~`<>h\\ |#-:"\'/.'),
  'mixed garbage, many lines': (n) => garbage(n, '[]()!*_~`<>h\\ \n|#-:"\'/.1'),
};

/** The best of three runs (a busy machine pauses), stopping at the first run over the ceiling. */
function elapsed(f, input) {
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    f(input);
    best = Math.min(best, performance.now() - t);
    if (best > ceiling(input.length)) break;
  }
  return best;
}

function assertLinear(what, f, make, n) {
  f(make(n / 10)); // compiles the paths this input takes before anything is timed
  const small = make(n);
  const t1 = elapsed(f, small);
  assert.ok(t1 < ceiling(small.length), `${what}: ${t1.toFixed(0)} ms for ${small.length} characters`);
  const big = make(4 * n);
  const t4 = elapsed(f, big);
  assert.ok(t4 < ceiling(big.length), `${what}: ${t4.toFixed(0)} ms for ${big.length} characters`);
  assert.ok(t4 < 10 * t1 + 50, `${what}: ${t1.toFixed(0)} ms for ${small.length} characters but ${t4.toFixed(0)} ms for ${big.length}`);
}

for (const [name, make] of Object.entries(FAMILIES)) {
  // The mixed garbage is timed at 50 KB and 200 KB.
  const n = name.startsWith('mixed') ? 2 * N : N;
  test(`linear time: ${name}`, () => {
    assertLinear(`render, ${name}`, renderMarkdown, make, n);
    assertLinear(`preview, ${name}`, plainPreview, make, n);
  });
}

test('linear time: 40,000 [ in a chat-list preview', () => {
  assertLinear('preview of [', plainPreview, (n) => '['.repeat(n), 10_000);
});
