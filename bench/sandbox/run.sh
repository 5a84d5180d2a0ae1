#!/usr/bin/env bash
# Runner sandbox benchmark (npm run bench:sandbox), both halves measured in one run:
#   (1) runner cold start, plain process vs sandbox (cold-start.mjs: start → first 200 on /health)
#   (2) /run throughput through Hangar to examples/echo-node, runners.isolation "trusted" (plain child
#       processes, the path before the sandbox) vs "sandbox" (bubblewrap + pasta port forward), with wrk;
#       rounds alternate trusted/sandbox so drift hits both alike.
# Writes bench/sandbox/RESULTS.md. Knobs: BENCH_SAMPLES (cold starts per driver, 30), BENCH_DURATION
# (s per wrk round, 10), BENCH_ROUNDS (2), BENCH_CONNECTIONS (32), KEEP_TMP=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=bench/sandbox
DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-2}
CONNS=${BENCH_CONNECTIONS:-32}

command -v wrk >/dev/null 2>&1 || { echo "bench:sandbox needs wrk (apt-get install -y wrk)" >&2; exit 1; }
command -v bwrap >/dev/null 2>&1 || { echo "bench:sandbox needs bubblewrap and passt" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hangar-bench-sandbox.XXXXXX")
OUT=$TMP/out
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "== cold start (${BENCH_SAMPLES:-30} samples per driver)"
record "node $HERE/cold-start.mjs"
node "$HERE/cold-start.mjs" | tee "$OUT/cold-start.json"

serve() { # isolation → starts a server in $TMP/<isolation>, sets URL and KEY
  local iso=$1 home=$TMP/$1 port
  mkdir -p "$home"
  printf '{"runners":{"isolation":"%s"},"limits":{"rate_limit":{"requests_per_second":0}}}\n' "$iso" >"$home/hangar.config.json"
  port=$(free_port)
  HANGAR_LOG_LEVEL=warn node packages/cli/dist/main.js serve --demo --port "$port" --home "$home" >"$home/server.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  URL=http://127.0.0.1:$port
  wait_http "$URL/" 60 "$SERVER_PID"
  KEY=$(cat "$home/admin.key")
  # Warm the runner up, then give the gateway's key cache one call.
  for _ in 1 2 3 4 5; do curl -s -o /dev/null -X POST "$URL/run/demo/echo" -H "Authorization: Key $KEY" -H 'content-type: application/json' -d '{}'; done
}

for ((r = 1; r <= ROUNDS; r++)); do
  for iso in trusted sandbox; do
    serve "$iso"
    echo "== /run round $r, isolation $iso"
    record "BENCH_KEY=\$KEY wrk -t2 -c$CONNS -d${DURATION}s -s bench/gateway/post.lua $URL/run/demo/echo   # isolation $iso"
    BENCH_KEY=$KEY wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s bench/gateway/post.lua "$URL/run/demo/echo" | tee "$OUT/wrk-$iso-$r.txt"
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
  done
done

node "$HERE/report.mjs" "$OUT" >"$HERE/RESULTS.md"
cat "$HERE/RESULTS.md"
