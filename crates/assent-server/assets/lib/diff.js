// A word-level diff of two texts (for review iterations): the texts are split into words and
// runs of whitespace, the longest common subsequence of those tokens is kept, and the rest
// becomes insertions and deletions. Pure: no DOM (the review card renders <ins>/<del>).

/** Above this many differing tokens on either side the texts are shown as replaced whole. */
export const MAX_DIFF_TOKENS = 2000;

/** "a  b\nc" → ["a", "  ", "b", "\n", "c"]. */
export function tokenize(text) {
  return String(text ?? '').match(/\s+|[^\s]+/g) ?? [];
}

function push(ops, op, text) {
  if (!text) return;
  const last = ops[ops.length - 1];
  if (last && last.op === op) last.text += text;
  else ops.push({ op, text });
}

/**
 * The operations turning `before` into `after`: `[{op: 'eq'|'del'|'ins', text}]`, adjacent
 * operations of the same kind merged, a deletion before the insertion that replaces it.
 */
export function wordDiff(before, after) {
  const a = tokenize(before);
  const b = tokenize(after);
  // Common prefix and suffix first: most iterations change a little of a long text.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const ops = [];
  push(ops, 'eq', a.slice(0, start).join(''));
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  if (x.length > MAX_DIFF_TOKENS || y.length > MAX_DIFF_TOKENS) {
    push(ops, 'del', x.join(''));
    push(ops, 'ins', y.join(''));
  } else if (x.length || y.length) {
    // lcs[i][j] = length of the LCS of x[i..] and y[j..], in one flat array.
    const n = x.length;
    const m = y.length;
    const w = m + 1;
    const lcs = new Uint16Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    let del = '';
    let ins = '';
    const flush = () => {
      push(ops, 'del', del);
      push(ops, 'ins', ins);
      del = '';
      ins = '';
    };
    while (i < n || j < m) {
      if (i < n && j < m && x[i] === y[j]) {
        flush();
        push(ops, 'eq', x[i]);
        i++;
        j++;
      } else if (j < m && (i === n || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j])) {
        ins += y[j++];
      } else {
        del += x[i++];
      }
    }
    flush();
  }
  push(ops, 'eq', a.slice(endA).join(''));
  return mergeWhitespace(ops);
}

/**
 * A lone run of whitespace kept between two changes ("del ␣ ins del ␣ ins") reads badly:
 * fold it into the changes around it, so that a rewritten phrase shows as one deletion and
 * one insertion.
 */
function mergeWhitespace(ops) {
  // Groups: {eq} or {del, ins} (a change, its deletion shown first).
  const groups = [];
  for (const o of ops) {
    const last = groups[groups.length - 1];
    if (o.op === 'eq') groups.push({ eq: o.text });
    else if (last && last.eq === undefined) last[o.op] += o.text;
    else groups.push({ del: '', ins: '', [o.op]: o.text });
  }
  const out = [];
  for (let k = 0; k < groups.length; k++) {
    const g = groups[k];
    const prev = out[out.length - 1];
    const next = groups[k + 1];
    // Only between changes that, together, delete and insert something (else the space would
    // show up as a changed space on one side).
    if (
      g.eq !== undefined && /^\s+$/.test(g.eq) && prev && prev.eq === undefined && next && next.eq === undefined &&
      (prev.del || next.del) && (prev.ins || next.ins)
    ) {
      prev.del = prev.del + g.eq + next.del;
      prev.ins = prev.ins + g.eq + next.ins;
      k++; // next is folded in
      continue;
    }
    out.push({ ...g });
  }
  const result = [];
  for (const g of out) {
    if (g.eq !== undefined) push(result, 'eq', g.eq);
    else {
      push(result, 'del', g.del);
      push(result, 'ins', g.ins);
    }
  }
  return result;
}

/** How many words were added and removed (whitespace does not count). */
export function diffStats(ops) {
  const words = (t) => (t.match(/[^\s]+/g) ?? []).length;
  let added = 0;
  let removed = 0;
  for (const o of ops) {
    if (o.op === 'ins') added += words(o.text);
    if (o.op === 'del') removed += words(o.text);
  }
  return { added, removed };
}
