// The dashboard serves a copy of this package's sources (crates/assent-server/assets/client/).
// This test keeps the copies identical: run ./sync-to-assets.sh after changing src/.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.resolve(here, '../src');
const copy = path.resolve(here, '../../../crates/assent-server/assets/client');

test('assets/client is an exact copy of clients/js/src (run ./sync-to-assets.sh)', () => {
  const js = (dir) => readdirSync(dir).filter((f) => f.endsWith('.js')).sort();
  assert.deepEqual(js(copy), js(src), 'the same files');
  for (const f of js(src)) {
    assert.ok(
      readFileSync(path.join(src, f)).equals(readFileSync(path.join(copy, f))),
      `${f} differs between clients/js/src and crates/assent-server/assets/client: run clients/js/sync-to-assets.sh`,
    );
  }
});
