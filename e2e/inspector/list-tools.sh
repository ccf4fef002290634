#!/usr/bin/env bash
# The MCP Inspector CLI (the protocol's reference client) lists the tools of a running
# server's /mcp with a fresh agent key. Needs `npm ci` here; ASSENT_URL and the admin login
# as e2e/run.sh exports them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${ASSENT_URL:?}" "${ASSENT_ADMIN_EMAIL:?}" "${ASSENT_ADMIN_PASSWORD:?}"
field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
token="$(curl -fs "$ASSENT_URL/api/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$ASSENT_ADMIN_EMAIL\",\"password\":\"$ASSENT_ADMIN_PASSWORD\"}" | field token)"
key="$(curl -fs "$ASSENT_URL/api/api-keys" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' -d '{"label":"inspector"}' | field key)"
out="$(cd "$here" && node_modules/.bin/mcp-inspector --cli "$ASSENT_URL/mcp" --transport http \
  --header "x-api-key: $key" --method tools/list)"
python3 - "$out" <<'PY'
import json, sys
names = sorted(t["name"] for t in json.loads(sys.argv[1])["tools"])
expected = sorted(["list_channels", "create_channel", "ping_status", "send_message",
    "send_review_message", "wait_for_review", "get_messages", "get_message", "delete_message",
    "get_pending_reviews", "get_iteration_chain", "list_plugins",
    "ask_approval", "ask_selection", "ask_form", "ask_text",
    # one per example plugin (e2e/run.sh loads examples/plugins)
    "send_status_badge_message", "send_diagram_message"])
assert names == expected, names
print(f"mcp inspector: {len(names)} tools listed")
PY
