#!/usr/bin/env bash
# Platform API benchmark (npm run bench:api). Seeds (or reuses) a database of 1,000,000 requests and
# 5,000,000 log lines over 30 days for 20 apps of 3 owners, starts the server on a copy of it, and measures:
#   1. per-operation latency (p50/p95/p99, sequential and concurrent) against a same-run trivial reference;
#   2. 200 SSE log-stream clients while a runner prints 2,000 lines/s;
#   3. gateway p99 (wrk to the echo-node example) at rest and while the API queries run in a loop.
# Writes bench/api/RESULTS.md. Knobs: BENCH_N (sequential samples per operation, 300), BENCH_DURATION (s of
# each gateway phase, 20), BENCH_SSE_CLIENTS (200), BENCH_SSE_RATE (2000 lines/s), BENCH_SSE_SECONDS (20),
# BENCH_CACHE_MAX_AGE_H (24), BENCH_FTS (trigger|bulk, how the seeder fills the log search index),
# BENCH_SEED_ARGS (extra seed.mjs arguments), BENCH_LOOP_NICE (10), BENCH_PHASES ("ops sse gateway", a subset runs only those; the
# report then goes to the temp dir instead of RESULTS.md), KEEP_TMP=1. `run.sh --seed-only` stops after seeding.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=bench/api
CACHE_ROOT=bench/results/tmp
N=${BENCH_N:-300}
DURATION=${BENCH_DURATION:-20}
SSE_CLIENTS=${BENCH_SSE_CLIENTS:-200}
SSE_RATE=${BENCH_SSE_RATE:-2000}
SSE_SECONDS=${BENCH_SSE_SECONDS:-20}
MAX_AGE_H=${BENCH_CACHE_MAX_AGE_H:-24}
FTS=${BENCH_FTS:-trigger}
PHASES=" ${BENCH_PHASES:-ops sse gateway} "
# The API load generator of phase 3 runs niced, as a client on another machine would: its own CPU (it
# parses every 0.5 MB analytics answer) is not the server's, and on 2 cores it would otherwise take the
# gateway's. BENCH_LOOP_NICE=0 measures with it competing.
LOOP_NICE=${BENCH_LOOP_NICE:-10}
read -r -a SEED_ARGS <<<"--days 30 --requests 1000000 --logs 5000000 --seed 1 --fts $FTS ${BENCH_SEED_ARGS:-}"

command -v wrk >/dev/null 2>&1 || { echo "bench:api needs wrk (apt-get install -y wrk)" >&2; exit 1; }

# Build: incremental, and tolerant of type errors elsewhere as long as the outputs exist.
if ! npm run build >/dev/null 2>&1; then
  echo "warning: npm run build reported errors; using the emitted dist" >&2
fi
for f in packages/cli/dist/main.js packages/server/dist/store/sqlite/open.js; do
  [ -f "$f" ] || { echo "$f missing after build" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hangar-bench-api.XXXXXX")
OUT=$TMP/out
mkdir -p "$OUT" "$CACHE_ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

# --- seed, or reuse the cached seed for this schema and seeder ---
SEED_DIR=$(node $HERE/cache.mjs "$CACHE_ROOT" "$MAX_AGE_H" "${SEED_ARGS[@]}") && CACHED=1 || CACHED=0
if [ "$CACHED" = 0 ]; then
  rm -rf "$SEED_DIR" "$SEED_DIR.partial"
  echo "== seeding $SEED_DIR" >&2
  record "node $HERE/seed.mjs --home $SEED_DIR ${SEED_ARGS[*]}"
  node $HERE/seed.mjs --home "$SEED_DIR.partial" "${SEED_ARGS[@]}" 2>&1 | tee "$OUT/seed.log" >&2
  mv "$SEED_DIR.partial" "$SEED_DIR"
  cp "$OUT/seed.log" "$SEED_DIR/seed.log"
else
  echo "== reusing seed $SEED_DIR" >&2
  record "# reused cached seed (same schema and seeder): node $HERE/seed.mjs --home $SEED_DIR ${SEED_ARGS[*]}"
fi
[ "${1:-}" = --seed-only ] && exit 0
cp "$SEED_DIR/seed.log" "$OUT/seed.log" 2>/dev/null || true
cp "$SEED_DIR/bench-seed.json" "$OUT/seed.json"

seed_field() { node -e "const m=require(process.argv[1]);console.log(eval('m.'+process.argv[2]))" "$OUT/seed.json" "$1"; }

# --- the server on a copy of the seed, plus SSE client keys ---
HOME_DIR=$TMP/home
mkdir -p "$HOME_DIR"
cp --reflink=auto "$SEED_DIR/hangar.db" "$HOME_DIR/hangar.db"
# Metrics are measured uncached: a Prometheus scrape every >= 10 s always misses the 10 s cache.
echo '{"metrics":{"cache_ttl_s":0}}' >"$HOME_DIR/hangar.config.json"
record "echo '{\"metrics\":{\"cache_ttl_s\":0}}' >\$TMP/home/hangar.config.json"
STREAM_KEYS=$(((SSE_CLIENTS + 9) / 10))
record "node $HERE/stream-keys.mjs --db \$TMP/home/hangar.db --owner acme --n $STREAM_KEYS --out \$TMP/stream-keys.json"
node $HERE/stream-keys.mjs --db "$HOME_DIR/hangar.db" --owner acme --n "$STREAM_KEYS" --out "$TMP/stream-keys.json"
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
record "node packages/cli/dist/main.js serve --port $PORT --home \$TMP/home"
node packages/cli/dist/main.js serve --port "$PORT" --home "$HOME_DIR" >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
wait_http "$URL/.well-known/jwks.json" 180
export BENCH_KEY
BENCH_KEY=$(seed_field 'owners.acme.admin')

deploy() { # source dir, app name, copy dir
  rm -rf "$3" && cp -r "$1" "$3" && rm -f "$3"/*.test.ts
  node -e "const f=process.argv[1],fs=require('fs'),m=JSON.parse(fs.readFileSync(f));
    Object.assign(m,{name:process.argv[2],min_concurrency:1,max_concurrency:1});fs.writeFileSync(f,JSON.stringify(m,null,2))" \
    "$3/hangar.json" "$2"
  record "node packages/cli/dist/main.js --url $URL --key \$KEY deploy ${3/#$TMP/\$TMP} --json   # $1 as acme/$2, min = max = 1"
  node packages/cli/dist/main.js --url "$URL" --key "$BENCH_KEY" deploy "$3" --json >"$OUT/deploy-$2.json"
}
wait_run() { # path, body
  local i code
  for ((i = 0; i < 600; i++)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Key $BENCH_KEY" \
      -H 'content-type: application/json' -d "$2" "$URL$1" || true)
    [ "$code" = 200 ] && return 0
    sleep 0.1
  done
  echo "$1 never answered 200 (last $code)" >&2
  return 1
}
deploy examples/echo-node bench-echo "$TMP/echo"
deploy $HERE/log-app bench-logs "$TMP/logs"
wait_run /run/acme/bench-echo '{}'
wait_run /run/acme/bench-logs '{"rate":10,"seconds":0.1}'

# --- 1. operations ---
uptime >"$OUT/load-before.txt"
if [[ "$PHASES" == *" ops "* ]]; then
  echo "== operations (N=$N)" >&2
  record "node $HERE/measure.mjs ops --url $URL --seed \$TMP/out/seed.json --n $N --concurrency 4"
  node $HERE/measure.mjs ops --url "$URL" --seed "$OUT/seed.json" --n "$N" --concurrency 4 --out "$OUT/ops.json" || true
fi

# --- 2. SSE: each client follows one of 20 label values; every client gets every line; 20 clients ---
sse() { # name, clients, streams
  echo "== SSE $1: $2 clients, $SSE_RATE lines/s, streams=$3" >&2
  record "node $HERE/sse.mjs --url $URL --keys \$TMP/stream-keys.json --run-key \$KEY --clients $2 --rate $SSE_RATE --seconds $SSE_SECONDS --streams $3"
  node $HERE/sse.mjs --url "$URL" --keys "$TMP/stream-keys.json" --run-key "$BENCH_KEY" --clients "$2" \
    --rate "$SSE_RATE" --seconds "$SSE_SECONDS" --streams "$3" --server-pid "$SERVER_PID" --out "$OUT/sse-$1.json" || true
  sleep 2
}
if [[ "$PHASES" == *" sse "* ]]; then
  sse filtered "$SSE_CLIENTS" 20
  sse all "$SSE_CLIENTS" 1
  sse all-small $((SSE_CLIENTS / 10)) 1
fi

# --- 3. gateway p99 at rest and under the query loop, paced (~1k requests/s) and saturating ---
gw() { # name, connections, delay ms (0 = closed loop)
  local script=$HERE/paced.lua
  [ "$3" = 0 ] && script=bench/gateway/post.lua
  record "BENCH_DELAY_MS=$3 wrk -t1 -c$2 -d${DURATION}s --latency -s $script $URL/run/acme/bench-echo"
  BENCH_DELAY_MS=$3 wrk -t1 -c"$2" -d"${DURATION}s" --latency -s "$script" "$URL/run/acme/bench-echo" >"$OUT/gw-$1.txt"
}
gw_loaded() { # name, connections, delay
  record "nice -n $LOOP_NICE node $HERE/measure.mjs loop --url $URL --seed \$TMP/out/seed.json --seconds $((DURATION + 2)) --concurrency 2   # alongside:"
  nice -n "$LOOP_NICE" node $HERE/measure.mjs loop --url "$URL" --seed "$OUT/seed.json" --seconds $((DURATION + 2)) --concurrency 2 \
    --out "$OUT/loop-$1.json" &
  local loop=$!
  sleep 1
  gw "$1" "$2" "$3"
  wait "$loop" || true
}
if [[ "$PHASES" == *" gateway "* ]]; then
  echo "== gateway" >&2
  BENCH_DELAY_MS=0 wrk -t1 -c16 -d3s -s bench/gateway/post.lua "$URL/run/acme/bench-echo" >/dev/null
  gw paced-rest 10 10
  gw_loaded paced-load 10 10
  gw closed-rest 16 0
  gw_loaded closed-load 16 0
fi

uptime >"$OUT/load-after.txt"
kill -TERM "$SERVER_PID" && wait "$SERVER_PID" || true
RESULTS=$HERE/RESULTS.md
[ -z "${BENCH_PHASES:-}" ] || RESULTS=$OUT/RESULTS.md
node $HERE/report.mjs "$OUT" "$RESULTS"
