#!/usr/bin/env bash
# Gateway benchmark (npm run bench:gateway). Scenarios, all against the examples/echo-node runner:
#   (a) wrk straight to a standalone runner      (c) wrk through nginx proxy_pass to that runner
#   (b) wrk through Hangar's /run/<owner>/echo   (d) queue submit → status polls → result (queue-e2e.mjs)
#   (e) wrk through a bare Node proxy to that runner (node-floor.mjs: node:http + undici, nothing else)
# Writes bench/gateway/RESULTS.md (full runs only). Knobs:
#   BENCH_DURATION (s, 15), BENCH_CONNECTIONS (64), BENCH_THREADS (2), BENCH_LATENCY_DURATION (s of the
#   1-connection runs, 5), BENCH_QUEUE_CONCURRENCY (64), BENCH_POLL_MS (status poll interval, 10),
#   BENCH_PROFILE=1 (CPU profile of the server, summarised over the measured (b) run),
#   BENCH_SCENARIOS (subset of "a c e a1 c1 b b1 d"), BENCH_SKIP_HANGAR=1 (only the runner and nginx),
#   KEEP_TMP=1 (keep the temp dir with wrk outputs and the server log).
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=bench/gateway

DURATION=${BENCH_DURATION:-15}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
QCONC=${BENCH_QUEUE_CONCURRENCY:-64}
POLL_MS=${BENCH_POLL_MS:-10}
LAT_DURATION=${BENCH_LATENCY_DURATION:-5}
WARMUP=3
SCENARIOS=" ${BENCH_SCENARIOS:-a c e a1 c1 b b1 d} "

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench:gateway needs ${missing[*]}; install with: apt-get install -y wrk nginx-light" >&2
  exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hangar-bench.XXXXXX")
OUT=$TMP/out
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

descendants() { # pid… → the pids and all their descendants
  local p
  for p in "$@"; do
    echo "$p"
    # shellcheck disable=SC2046
    descendants $(pgrep -P "$p" || true)
  done
}
# CPU time (user + system, ms) of the given pids, from /proc; the load-independent cost per request.
cpu_ms() {
  local p total=0 ticks hz
  hz=$(getconf CLK_TCK)
  for p in "$@"; do
    ticks=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
    total=$((total + ${ticks:-0}))
  done
  echo $((total * 1000 / hz))
}

run_wrk() { # name url [threads connections duration]; PROXY_PIDS / RUNNER_PIDS are metered
  local t=${3:-$THREADS} c=${4:-$CONNS} d=${5:-$DURATION}
  [[ "$SCENARIOS" == *" $1 "* ]] || return 0
  echo "== ($1) $2" >&2
  wrk -t"$t" -c"$c" -d"${WARMUP}s" -s "$HERE/post.lua" "$2" >/dev/null
  record "wrk -t$t -c$c -d${d}s --latency -s $HERE/post.lua $2"
  local p0 r0
  p0=$(cpu_ms $PROXY_PIDS)
  r0=$(cpu_ms $RUNNER_PIDS)
  local w0
  w0=$(date +%s.%N)
  wrk -t"$t" -c"$c" -d"${d}s" --latency -s "$HERE/post.lua" "$2" | tee "$OUT/$1.txt" >&2
  echo "$w0 $(date +%s.%N)" >"$OUT/$1.window"
  echo "{\"proxy_cpu_ms\": $(($(cpu_ms $PROXY_PIDS) - p0)), \"runner_cpu_ms\": $(($(cpu_ms $RUNNER_PIDS) - r0))}" >"$OUT/$1.cpu.json"
}

uptime >"$OUT/load-before.txt"

# --- standalone runner for (a) and (c) ---
RPORT=$(free_port)
record "PORT=$RPORT HANGAR_RUNNER_ID=standalone node examples/echo-node/server.mjs"
PORT=$RPORT HANGAR_RUNNER_ID=standalone node examples/echo-node/server.mjs &
PIDS+=($!)
wait_http "http://127.0.0.1:$RPORT/health"

# --- nginx reference for (c) ---
NPORT=$(free_port)
mkdir -p "$TMP/nginx"
sed -e "s#@PREFIX@#$TMP/nginx#g" -e "s#@RUNNER_PORT@#$RPORT#g" -e "s#@PORT@#$NPORT#g" \
  "$HERE/nginx.conf.template" >"$TMP/nginx/nginx.conf"
cp "$TMP/nginx/nginx.conf" "$OUT/nginx.conf"
record "nginx -p \$TMP/nginx -e \$TMP/nginx/error.log -c \$TMP/nginx/nginx.conf   # $HERE/nginx.conf.template"
nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" &
PIDS+=($!)
wait_http "http://127.0.0.1:$NPORT/health"

# --- bare Node proxy for (e) ---
FPORT=$(free_port)
record "node $HERE/node-floor.mjs --target http://127.0.0.1:$RPORT --port $FPORT"
node "$HERE/node-floor.mjs" --target "http://127.0.0.1:$RPORT" --port "$FPORT" &
PIDS+=($!)
FLOOR_PID=$!
wait_http "http://127.0.0.1:$FPORT/health"

RUNNER_PIDS=$(descendants "${PIDS[0]}")
NGINX_PIDS=$(descendants "${PIDS[1]}")
PROXY_PIDS="" run_wrk a "http://127.0.0.1:$RPORT/"
PROXY_PIDS=$NGINX_PIDS run_wrk c "http://127.0.0.1:$NPORT/"
PROXY_PIDS=$FLOOR_PID run_wrk e "http://127.0.0.1:$FPORT/"
# One connection: latency added per request without queueing behind 63 others.
PROXY_PIDS="" run_wrk a1 "http://127.0.0.1:$RPORT/" 1 1 "$LAT_DURATION"
PROXY_PIDS=$NGINX_PIDS run_wrk c1 "http://127.0.0.1:$NPORT/" 1 1 "$LAT_DURATION"

# --- Hangar for (b) and (d) ---
if [ -z "${BENCH_SKIP_HANGAR:-}" ] && [ -f packages/cli/dist/main.js ]; then
  HOME_DIR=$TMP/home
  mkdir -p "$HOME_DIR"
  HPORT=$(free_port)
  NODE_FLAGS=()
  [ -n "${BENCH_PROFILE:-}" ] && NODE_FLAGS=(--cpu-prof --cpu-prof-dir="$OUT/profile")
  record "node ${NODE_FLAGS[*]:+${NODE_FLAGS[*]} }packages/cli/dist/main.js serve --port $HPORT --home \$TMP/home"
  SERVER_T0=$(date +%s.%N)
  node "${NODE_FLAGS[@]}" packages/cli/dist/main.js serve --port "$HPORT" --home "$HOME_DIR" >"$OUT/server.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=($SERVER_PID)
  wait_http "http://127.0.0.1:$HPORT/" 60 "$SERVER_PID" || { cat "$OUT/server.log" >&2; exit 1; }
  for ((i = 0; i < 100; i++)); do [ -s "$HOME_DIR/admin.key" ] && break; sleep 0.1; done
  export BENCH_KEY
  BENCH_KEY=$(tr -d '\n' <"$HOME_DIR/admin.key")
  HURL="http://127.0.0.1:$HPORT"

  # One runner for every scenario: the app copy is pinned to min = max = 1.
  cp -r examples/echo-node "$TMP/echo"
  rm -f "$TMP/echo"/*.test.ts
  node -e "const f=process.argv[1],fs=require('fs'),m=JSON.parse(fs.readFileSync(f));
    Object.assign(m,{min_concurrency:1,max_concurrency:1});fs.writeFileSync(f,JSON.stringify(m,null,2))" \
    "$TMP/echo/hangar.json"
  record "node packages/cli/dist/main.js --url $HURL deploy \$TMP/echo --json   # echo-node, min = max = 1"
  node packages/cli/dist/main.js --url "$HURL" --key "$BENCH_KEY" deploy "$TMP/echo" --json >"$OUT/deploy.json"
  ENDPOINT=$(node -e "console.log(JSON.parse(require('fs').readFileSync(process.argv[1])).endpoint_id)" "$OUT/deploy.json")
  for ((i = 0; i < 600; i++)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Key $BENCH_KEY" \
      -H 'content-type: application/json' -d '{}' "$HURL/run/$ENDPOINT" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  [ "$code" = 200 ] || { echo "app $ENDPOINT never answered 200 (last $code)" >&2; exit 1; }

  PROXY_PIDS=$SERVER_PID
  RUNNER_PIDS=$(descendants "$SERVER_PID" | grep -vx "$SERVER_PID" || true)
  run_wrk b "$HURL/run/$ENDPOINT"
  run_wrk b1 "$HURL/run/$ENDPOINT" 1 1 "$LAT_DURATION"

  if [[ "$SCENARIOS" == *" d "* ]]; then
    echo "== (d) queue $HURL/queue/$ENDPOINT" >&2
    p0=$(cpu_ms $PROXY_PIDS)
    r0=$(cpu_ms $RUNNER_PIDS)
    record "node $HERE/queue-e2e.mjs --url $HURL --path /queue/$ENDPOINT --concurrency $QCONC --duration $DURATION --poll-ms $POLL_MS"
    node "$HERE/queue-e2e.mjs" --url "$HURL" --path "/queue/$ENDPOINT" --concurrency "$QCONC" \
      --duration "$DURATION" --warmup "$WARMUP" --poll-ms "$POLL_MS" | tee "$OUT/d.json" >&2
    # Metered over warm-up and measurement; the report divides by the requests of both.
    echo "{\"proxy_cpu_ms\": $(($(cpu_ms $PROXY_PIDS) - p0)), \"runner_cpu_ms\": $(($(cpu_ms $RUNNER_PIDS) - r0))}" >"$OUT/d.cpu.json"
  fi

  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
else
  echo "skipping (b) and (d): Hangar CLI not built (npm run build) or BENCH_SKIP_HANGAR set" >&2
fi

uptime >"$OUT/load-after.txt"
# Only a full run replaces the recorded results.
RESULTS=$HERE/RESULTS.md
[ -z "${BENCH_SCENARIOS:-}${BENCH_SKIP_HANGAR:-}${BENCH_PROFILE:-}" ] || RESULTS=$OUT/RESULTS.md
node "$HERE/report.mjs" "$OUT" "$RESULTS"
if [ -n "${BENCH_PROFILE:-}" ] && [ -n "${SERVER_T0:-}" ]; then
  # Only the samples taken during the measured (b) run, not start-up, deploy or warm-up.
  read -r w0 w1 <"$OUT/b.window" 2>/dev/null || { w0=$SERVER_T0; w1=$(date +%s.%N); }
  since() { awk -v a="$1" -v b="$SERVER_T0" 'BEGIN { print a - b }'; }
  node "$HERE/profile-top.mjs" "$OUT/profile" "$(since "$w0")" "$(since "$w1")"
fi
