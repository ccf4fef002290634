#!/usr/bin/env bash
# Runs every benchmark scenario of docs/BENCHMARKS.md against a fresh release server on
# loopback, RUNS times each, and writes the JSON results to docs/bench/.
#   cargo build --release -p assent-server -p assent-bench && bash crates/assent-bench/run-all.sh
# Env: RUNS (default 3), SCENARIOS (default: all), PG_URL (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
RUNS="${RUNS:-3}"
SCENARIOS="${SCENARIOS:-ingest-sqlite ingest-pg max-sqlite fanout light idle resume wait webhooks webhooks-fast files sweep cluster cluster-resume}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
OUT=docs/bench
BIN=target/release/assent
BENCH=target/release/assent-bench
ulimit -n 20000
mkdir -p "$OUT"
PORT=18777
URL="http://127.0.0.1:$PORT"
server_pid=""
# Webhook scenarios: a local receiver (so private targets allowed), the default schedule's
# shape compressed to seconds with 12 steps, and a 1 s timeout so hung requests fail fast.
WEBHOOK_ENV=(ASSENT_ALLOW_PRIVATE_WEBHOOKS=true ASSENT_WEBHOOK_TIMEOUT_MS=1000
  "ASSENT_WEBHOOK_RETRY_SCHEDULE=0ms,5ms,300ms,1s,1s,1s,1s,1s,1s,1s,1s,1s")
EXTRA_ENV=()

start_server() { # $1 = database url or empty
  local dir; dir="$(mktemp -d)"
  local db=()
  [[ -n "${1:-}" ]] && db=(--database-url "$1")
  # The load comes from a few loopback addresses and one key: no connection caps.
  env ASSENT_LOG=warn ASSENT_ADMIN_EMAIL=admin@example.com ASSENT_ADMIN_PASSWORD=admin-password-1 ASSENT_MAX_CONNECTIONS_PER_IP=0 ASSENT_MAX_SOCKETS_PER_CREDENTIAL=0 \
    "${EXTRA_ENV[@]}" "$BIN" serve --addr "127.0.0.1:$PORT" --data-dir "$dir" "${db[@]}" > "$dir/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -fs "$URL/health" > /dev/null && return 0; sleep 0.1; done
  echo "server did not start" >&2; cat "$dir/server.log" >&2; exit 1
}
stop_server() { kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
trap 'stop_server; [[ ${#node_pids[@]} -gt 0 ]] && stop_cluster' EXIT
fresh_pg() {
  local name="assent_bench_$1"
  psql -q "$PG_URL/test" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name" >/dev/null
  echo "$PG_URL/$name"
}
# Cluster scenarios: N nodes on one fresh PostgreSQL database and a Redis of their own, on
# ports PORT, PORT+1, …; the agents post to the first, the subscribers listen on the others.
node_pids=()
redis_pid=""
REDIS_PORT=18799
start_cluster() { # $1 = nodes, $2 = database url
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no > /dev/null &
  redis_pid=$!
  sleep 0.3
  node_pids=()
  for k in $(seq 0 $(($1 - 1))); do
    local dir; dir="$(mktemp -d)"
    local redis=(--redis-url "redis://127.0.0.1:$REDIS_PORT")
    [[ "$1" == 1 ]] && redis=()
    env ASSENT_LOG=warn ASSENT_ADMIN_EMAIL=admin@example.com ASSENT_ADMIN_PASSWORD=admin-password-1 ASSENT_MAX_CONNECTIONS_PER_IP=0 ASSENT_MAX_SOCKETS_PER_CREDENTIAL=0 \
      "$BIN" serve --addr "127.0.0.1:$((PORT + k))" --data-dir "$dir" --database-url "$2" "${redis[@]}" > "$dir/server.log" 2>&1 &
    node_pids+=($!)
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$((PORT + k))/health" > /dev/null && break; sleep 0.1; done
  done
  server_pid="${node_pids[0]}"
}
stop_cluster() {
  for p in "${node_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  node_pids=()
  kill -TERM "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true
}
other_nodes() { # $1 = nodes: the subscribers' URLs (the first node itself when alone)
  local urls=() k
  for k in $(seq 1 $(($1 - 1))); do urls+=("http://127.0.0.1:$((PORT + k))"); done
  [[ "$1" == 1 ]] && urls=("$URL")
  (IFS=,; echo "${urls[*]}")
}
run_cluster() { # name, nodes, args...
  local name=$1 nodes=$2; shift 2
  for i in $(seq 1 "$RUNS"); do
    start_cluster "$nodes" "$(fresh_pg "c$i")"
    echo "== $name run $i ($nodes nodes): assent-bench $*" >&2
    "$BENCH" --url "$URL" --sub-url "$(other_nodes "$nodes")" --server-pid "$server_pid" --json "$OUT/$name-$i.json" "$@" > /dev/null
    stop_cluster
  done
}
# Side by side: the same scenario against Assent (SQLite) and the Node.js peer
# (crates/assent-bench/peer: npm ci there first), in turn, round after round.
PEER_PORT=18781
PEER_URL="http://127.0.0.1:$PEER_PORT"
start_peer() {
  local dir; dir="$(mktemp -d)"
  node crates/assent-bench/peer/server.mjs --port "$PEER_PORT" --db "$dir/peer.db" > "$dir/peer.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -fs "$PEER_URL/health" > /dev/null && return 0; sleep 0.1; done
  echo "peer did not start" >&2; cat "$dir/peer.log" >&2; exit 1
}
side_by_side() { # name, args...
  local name=$1; shift
  for i in $(seq 1 "$RUNS"); do
    start_server ""
    echo "== $name round $i, assent: assent-bench $*" >&2
    "$BENCH" --url "$URL" --server-pid "$server_pid" --json "$OUT/vs-$name-assent-$i.json" "$@" > /dev/null
    stop_server
    start_peer
    echo "== $name round $i, peer: assent-bench $*" >&2
    "$BENCH" --url "$PEER_URL" --server-pid "$server_pid" --json "$OUT/vs-$name-peer-$i.json" "$@" > /dev/null
    stop_server
  done
}
run() { # name, db, args...
  local name=$1 db=$2; shift 2
  for i in $(seq 1 "$RUNS"); do
    if [[ "$db" == pg ]]; then start_server "$(fresh_pg "$i")"; else start_server ""; fi
    echo "== $name run $i: assent-bench $*" >&2
    "$BENCH" --url "$URL" --server-pid "$server_pid" --json "$OUT/$name-$i.json" "$@" > /dev/null
    stop_server
  done
}
for s in $SCENARIOS; do
  case $s in
    # Paced at 5,500/s: the per-agent pacing of the generator loses a few tenths of a percent.
    ingest-sqlite) run ingest-sqlite sqlite ingest --agents 64 --channels 8 --subscribers 1 --rate 5500 --duration 60 ;;
    ingest-pg) run ingest-pg pg ingest --agents 64 --channels 8 --subscribers 1 --rate 5500 --duration 60 ;;
    max-sqlite) run max-sqlite sqlite ingest --agents 64 --channels 8 --subscribers 1 --duration 20 ;;
    fanout) run fanout sqlite ingest --agents 10 --channels 1 --subscribers 100 --rate 250 --duration 30 ;;
    light) run light sqlite ingest --agents 50 --channels 100 --subscribers 10 --rate 500 --duration 30 ;;
    idle) run idle sqlite idle --connections 15000 --hold 10 ;;
    resume) run resume sqlite resume --clients 1000 --messages 120 --rate 2 --jitter 15 ;;
    wait) run wait sqlite wait --waiters 2000 ;;
    webhooks) EXTRA_ENV=("${WEBHOOK_ENV[@]}"); run webhooks sqlite webhooks --events 1000 --fail-5xx 0.30 --hang 0.10 --throttle 0.05; EXTRA_ENV=() ;;
    webhooks-fast) EXTRA_ENV=("${WEBHOOK_ENV[@]}"); run webhooks-fast sqlite webhooks --events 5000 --fail-5xx 0 --hang 0 --throttle 0; EXTRA_ENV=() ;;
    # One 200 MiB file up and down, three times; the limit raised above the default 100 MiB.
    files) EXTRA_ENV=(ASSENT_MAX_UPLOAD_BYTES=268435456); run files sqlite files --size-mb 200 --rounds 3; EXTRA_ENV=() ;;
    # The cross-node hop: posts on the first node, subscribers on the others (alone: the same
    # node, on PostgreSQL without Redis), light load.
    cluster) for nodes in 1 2 3; do
        run_cluster "cluster-$nodes" "$nodes" ingest --agents 20 --channels 20 --subscribers 1 --rate 500 --duration 20
      done ;;
    # Resume under jitter with every reconnect moving to another node.
    cluster-resume) run_cluster cluster-resume 3 resume --clients 300 --messages 60 --rate 2 --jitter 5 ;;
    # Assent and the Node.js peer in turn (issue 17's table): open-loop ingest, light load,
    # fan-out, idle sockets (vs-peer: all four).
    vs-ingest) side_by_side ingest --open-loop ingest --agents 64 --channels 4 --subscribers 1 --rate 8000 --duration 15 ;;
    vs-light) side_by_side light ingest --agents 20 --channels 4 --subscribers 1 --rate 500 --duration 15 ;;
    vs-fanout) side_by_side fanout ingest --agents 20 --channels 4 --subscribers 25 --rate 500 --duration 15 ;;
    vs-idle) side_by_side idle idle --connections 4000 --hold 5 ;;
    vs-peer)
      side_by_side ingest --open-loop ingest --agents 64 --channels 4 --subscribers 1 --rate 8000 --duration 15
      side_by_side light ingest --agents 20 --channels 4 --subscribers 1 --rate 500 --duration 15
      side_by_side fanout ingest --agents 20 --channels 4 --subscribers 25 --rate 500 --duration 15
      side_by_side idle idle --connections 4000 --hold 5 ;;
    # Latency vs load for the plot (one run per rate, 12 s each).
    sweep)
      for rate in 500 1000 2000 3000 4000 5000 6000; do
        start_server ""
        "$BENCH" --url "$URL" --server-pid "$server_pid" --json "$OUT/sweep-$rate.json" ingest --agents 64 --channels 8 --subscribers 1 --rate "$rate" --duration 12 > /dev/null
        stop_server
      done ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done
echo "results in $OUT" >&2
