#!/usr/bin/env bash
# Runs the dashboard's browser suite (headless Chromium via playwright-core) against a
# running Assent server:
#
#   ASSENT_URL=http://127.0.0.1:8080 e2e/browser/run.sh
#
# e2e/run.sh calls it with the server it started (and the admin credentials exported).
# Needs `npm ci` in e2e/browser and Debian's chromium (/usr/bin/chromium, or CHROMIUM_PATH).
# Screenshots of the main screens go to a temporary directory ($TMPDIR/assent-dashboard-screenshots,
# or ASSENT_SCREENSHOT_DIR); ASSENT_SCREENSHOTS=1 writes them into docs/dashboard/ instead (refreshes
# the tour's images), ASSENT_SCREENSHOTS=0 takes none.
# ASSENT_DEV_ASSETS=1 serves crates/assent-server/assets/ from disk instead of the embedded copy.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${ASSENT_URL:?set ASSENT_URL to the running server, e.g. http://127.0.0.1:8080}"
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
[[ -x "$chromium" ]] || { echo "browser e2e: no Chromium at $chromium (apt-get install chromium, or set CHROMIUM_PATH)" >&2; exit 2; }
[[ -d "$here/node_modules/playwright-core" ]] || { echo "browser e2e: run 'npm ci' in e2e/browser first" >&2; exit 2; }
cd "$here"
exec node --test --test-concurrency=1 ./*.test.mjs
