#!/usr/bin/env bash
# CI smoke run of assent-bench: every scenario for a few seconds with tiny numbers against a
# throwaway server, so that the tool never rots. No timing assertions: it only has to finish
# with 0 errors and full delivery.
#   ASSENT_BIN=target/debug/assent BENCH_BIN=target/debug/assent-bench bash crates/assent-bench/smoke.sh
set -euo pipefail
: "${ASSENT_BIN:?}" "${BENCH_BIN:?}"
dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
url="http://127.0.0.1:$port"
ASSENT_LOG=warn ASSENT_ADMIN_EMAIL=admin@example.com ASSENT_ADMIN_PASSWORD=admin-password-1 ASSENT_MAX_CONNECTIONS_PER_IP=0 ASSENT_MAX_SOCKETS_PER_CREDENTIAL=0 \
  ASSENT_ALLOW_PRIVATE_WEBHOOKS=true ASSENT_WEBHOOK_TIMEOUT_MS=500 ASSENT_WEBHOOK_RETRY_SCHEDULE=0ms,5ms,100ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms \
  "$ASSENT_BIN" serve --addr "127.0.0.1:$port" --data-dir "$dir" > "$dir/server.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -fs "$url/health" > /dev/null && break; sleep 0.1; done
b() { timeout 120 "$BENCH_BIN" --url "$url" --server-pid "$pid" --json "$dir/out.json" "$@" > /dev/null; }
check() { python3 -c "import json,sys; d=json.load(open('$dir/out.json')); ok=eval(sys.argv[1]); print('bench smoke', d['scenario'], 'ok' if ok else 'FAILED', json.dumps({k: d[k] for k in sys.argv[2].split(',')})); sys.exit(0 if ok else 1)" "$1" "$2"; }
b ingest --agents 4 --channels 2 --subscribers 2 --rate 200 --duration 2
check "d['errors'] == 0 and d['messages'] > 0 and d['deliveries'] == d['deliveries_expected']" messages,deliveries,errors
b idle --connections 50 --hold 1
check "d['connections'] == 50 and d['failed'] == 0" connections,failed
b resume --clients 10 --messages 6 --rate 3 --jitter 1.5
check "d['delivered_pct'] == 100.0 and d['duplicates'] == 0 and d['out_of_order'] == 0" delivered_pct,duplicates,out_of_order
b wait --waiters 20
check "d['completed'] == 20" completed
b webhooks --events 40 --deadline 60
check "d['delivered_pct'] == 100.0 and d['duplicates'] == 0 and d['webhook_ids_per_message_max'] == 1" delivered_pct,duplicates,requests
b files --size-mb 8 --rounds 1
check "d['errors'] == 0 and d['upload_mb_s'] > 0 and d['download_mb_s'] > 0" upload_mb_s,download_mb_s,rss_growth_upload_mib

# Cluster mode: two nodes on a fresh PostgreSQL database and a Redis of their own; agents
# post to the first, subscribers listen on the second (resume: every reconnect moves).
pg="${ASSENT_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
db="assent_smoke_$$"
psql -q "$pg" -c "CREATE DATABASE $db" > /dev/null
db_url="${pg%/*}/$db"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
rport="$(free_port)"
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no > /dev/null &
rpid=$!
pids=()
urls=()
cleanup_cluster() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  kill -TERM "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true
  psql -q "$pg" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" > /dev/null || true
}
trap 'cleanup_cluster; kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
sleep 0.3
for k in 0 1; do
  p="$(free_port)"
  mkdir -p "$dir/node$k"
  ASSENT_LOG=warn ASSENT_ADMIN_EMAIL=admin@example.com ASSENT_ADMIN_PASSWORD=admin-password-1 ASSENT_MAX_CONNECTIONS_PER_IP=0 ASSENT_MAX_SOCKETS_PER_CREDENTIAL=0 \
    "$ASSENT_BIN" serve --addr "127.0.0.1:$p" --data-dir "$dir/node$k" --database-url "$db_url" --redis-url "redis://127.0.0.1:$rport" > "$dir/node$k.log" 2>&1 &
  pids+=($!)
  urls+=("http://127.0.0.1:$p")
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$p/health" > /dev/null && break; sleep 0.1; done
done
c() { timeout 120 "$BENCH_BIN" --url "${urls[0]}" --sub-url "$1" --json "$dir/out.json" "${@:2}" > /dev/null; }
c "${urls[1]}" ingest --agents 4 --channels 2 --subscribers 2 --rate 200 --duration 2
check "d['errors'] == 0 and d['messages'] > 0 and d['deliveries'] == d['deliveries_expected']" messages,deliveries,errors
c "${urls[1]},${urls[0]}" resume --clients 10 --messages 6 --rate 3 --jitter 1.5
check "d['delivered_pct'] == 100.0 and d['duplicates'] == 0 and d['out_of_order'] == 0" delivered_pct,duplicates,out_of_order
