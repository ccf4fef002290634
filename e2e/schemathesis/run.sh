#!/usr/bin/env bash
# A bounded schemathesis pass over /api/openapi.json against a throwaway server, once with an
# agent's API key and once with a human session: no request may get a 5xx.
#   ASSENT_BIN=target/debug/assent bash e2e/schemathesis/run.sh
# Needs `st` (pip install -r e2e/schemathesis/requirements.txt). SCHEMATHESIS_EXAMPLES sets
# the examples per operation (default 25).
set -euo pipefail
: "${ASSENT_BIN:?}"
examples="${SCHEMATHESIS_EXAMPLES:-25}"
dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
url="http://127.0.0.1:$port"
ASSENT_LOG=warn ASSENT_ADMIN_EMAIL=owner@example.com ASSENT_ADMIN_PASSWORD=owner-password-1 \
  "$ASSENT_BIN" serve --addr "127.0.0.1:$port" --data-dir "$dir" > "$dir/server.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -fs "$url/health" > /dev/null && break; sleep 0.1; done
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token="$(curl -fs "$url/api/auth/login" -H 'content-type: application/json' \
  -d '{"email":"owner@example.com","password":"owner-password-1"}' | json '["token"]')"
key="$(curl -fs "$url/api/api-keys" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"label":"fuzz"}' | json '["key"]')"
curl -fs "$url/api/v1/agents" -H "x-api-key: $key" -H 'content-type: application/json' -d '{"name":"fuzz"}' > /dev/null
common=(--checks not_a_server_error,response_schema_conformance --max-examples "$examples" --seed 20261202 --request-timeout 35)
status=0
echo "schemathesis: agent API with an API key"
st run "$url/api/openapi.json" "${common[@]}" -H "x-api-key: $key" \
  --include-path-regex '^/api/v1/' || status=1
echo "schemathesis: human API with a session (logout and refresh would end it)"
st run "$url/api/openapi.json" "${common[@]}" -H "authorization: Bearer $token" \
  --exclude-path-regex '^/api/v1/|^/api/auth/(logout|refresh)$' || status=1
if grep -q '"level":"ERROR"' "$dir/server.log"; then
  echo "schemathesis: the server logged errors:" >&2
  grep '"level":"ERROR"' "$dir/server.log" | head -20 >&2
  status=1
fi
exit $status
