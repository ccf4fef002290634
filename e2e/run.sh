#!/usr/bin/env bash
# Runs the end-to-end suites (Node: socket.io-client + ws; Python: python-socketio) against a
# real Assent server started here on a free loopback port with a throwaway data dir.
#
#   ASSENT_BIN=target/debug/assent e2e/run.sh
#
# After the suites it runs the examples against the same server: examples/node (Placet's
# WebSocket full example, driven by node:test) and examples/langchain (pytest), then the
# dashboard's unit tests (crates/assent-server/tests/js: node --test), the JS client's tests
# (clients/js: node --test) and the dashboard's browser suite
# (e2e/browser/run.sh: headless Chromium via playwright-core; its screenshots go to a temporary
# directory unless ASSENT_SCREENSHOTS=1, which refreshes docs/dashboard/).
#
# Dependencies must already be installed (this script installs nothing):
#   (cd e2e/node && npm ci) && pip install -r e2e/python/requirements.txt
#   (cd examples/node && npm ci) && pip install -r examples/langchain/requirements.txt
#   (cd clients/js && npm ci) && (cd e2e/browser && npm ci) && apt-get install chromium
# Optional: PYTHON (default python3), ASSENT_E2E_SUITE_TIMEOUT (seconds per suite, default 600).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
python="${PYTHON:-python3}"
suite_timeout="${ASSENT_E2E_SUITE_TIMEOUT:-600}"

: "${ASSENT_BIN:?set ASSENT_BIN to the path of the built assent binary}"
case "$ASSENT_BIN" in
  /*) ;;
  *) ASSENT_BIN="$PWD/$ASSENT_BIN" ;;
esac
[[ -x "$ASSENT_BIN" ]] || { echo "e2e: ASSENT_BIN=$ASSENT_BIN is not an executable file" >&2; exit 2; }
export ASSENT_BIN
[[ -d "$here/node/node_modules" ]] || { echo "e2e: run 'npm ci' in e2e/node first" >&2; exit 2; }
[[ -d "$root/examples/node/node_modules" ]] || { echo "e2e: run 'npm ci' in examples/node first" >&2; exit 2; }
[[ -d "$root/clients/js/node_modules" ]] || { echo "e2e: run 'npm ci' in clients/js first" >&2; exit 2; }
[[ -d "$here/browser/node_modules" ]] || { echo "e2e: run 'npm ci' in e2e/browser first" >&2; exit 2; }

# A free port: bind port 0 and read back what the kernel chose. (A tiny race with other
# processes remains; the health wait below would then fail loudly rather than hang.)
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/assent-e2e.XXXXXX")"
data_dir="$work_dir/data"
mkdir "$data_dir"
log="$work_dir/server.log"
server_pid=""

cleanup() {
  local status=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -f "$log" ]]; then
    echo "e2e: ---- last 80 lines of the server log ($log) ----" >&2
    tail -n 80 "$log" >&2 || true
  fi
  rm -rf "$work_dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export ASSENT_URL="http://127.0.0.1:$port"
export ASSENT_ADMIN_EMAIL="admin@example.com"
export ASSENT_ADMIN_PASSWORD="admin-password-1"

echo "e2e: starting $ASSENT_BIN on $ASSENT_URL (data dir $data_dir)"
# Webhook tests deliver to loopback receivers, with a short retry schedule.
# ASSENT_E2E_WEBHOOKS=1: the browser suite's webhook tests fail (rather than skip) without them.
export ASSENT_E2E_WEBHOOKS=1
ASSENT_ALLOW_PRIVATE_WEBHOOKS=true ASSENT_WEBHOOK_TIMEOUT_MS=2000 \
  ASSENT_WEBHOOK_RETRY_SCHEDULE=0ms,200ms,200ms \
  "$ASSENT_BIN" serve --addr "127.0.0.1:$port" --data-dir "$data_dir" --plugins-dir "$root/examples/plugins" >"$log" 2>&1 &
server_pid=$!

# Wait (at most 30 s) for GET /health to answer 200.
healthy=""
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "e2e: the server exited before becoming healthy" >&2
    exit 1
  fi
  if "$python" - "$ASSENT_URL/health" <<'PY' 2>/dev/null; then
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=1) as res:
    sys.exit(0 if res.status == 200 else 1)
PY
    healthy=1
    break
  fi
  sleep 0.2
done
[[ -n "$healthy" ]] || { echo "e2e: $ASSENT_URL/health did not answer 200 within 30 s" >&2; exit 1; }
echo "e2e: server healthy"

failed=()

echo "e2e: ==== node suite (socket.io-client, ws) ===="
if ! (cd "$here/node" && timeout --kill-after=10 "$suite_timeout" node --test); then
  failed+=(node)
fi

echo "e2e: ==== MCP Inspector CLI lists /mcp's tools ===="
if ! timeout --kill-after=10 "$suite_timeout" bash "$here/inspector/list-tools.sh"; then
  failed+=(mcp-inspector)
fi

echo "e2e: ==== python suite (python-socketio) ===="
if ! (cd "$root" && timeout --kill-after=10 "$suite_timeout" "$python" -m pytest -q e2e/python); then
  failed+=(python)
fi

echo "e2e: ==== example: examples/node (socket.io-client approval agent) ===="
if ! (cd "$root/examples/node" && timeout --kill-after=10 "$suite_timeout" node --test); then
  failed+=(example-node)
fi

echo "e2e: ==== example: examples/langchain (LangChain tools, python-socketio) ===="
if ! (cd "$root" && timeout --kill-after=10 "$suite_timeout" "$python" -m pytest -q examples/langchain); then
  failed+=(example-langchain)
fi

echo "e2e: ==== dashboard unit tests: crates/assent-server/tests/js (chat reducer, validation, diff, markdown) ===="
if ! (cd "$root" && timeout --kill-after=10 "$suite_timeout" node --test crates/assent-server/tests/js/*.test.mjs); then
  failed+=(dashboard-unit)
fi

echo "e2e: ==== JS client: clients/js (managed sockets, REST) ===="
if ! (cd "$root/clients/js" && timeout --kill-after=10 "$suite_timeout" node --test test/*.test.mjs); then
  failed+=(clients-js)
fi

echo "e2e: ==== dashboard: e2e/browser (headless Chromium) ===="
if ! timeout --kill-after=10 "$suite_timeout" bash "$here/browser/run.sh"; then
  failed+=(browser)
fi

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "e2e: the server died during the run" >&2
  failed+=(server)
fi

if ((${#failed[@]})); then
  echo "e2e: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "e2e: all suites and examples passed"
