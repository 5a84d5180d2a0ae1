#!/usr/bin/env bash
# The SSE phase of bench/api/run.sh on its own, without the seeded database: starts `hangar serve` on a
# fresh home and a free port, deploys bench/api/log-app as acme/bench-logs, and runs bench/api/sse.mjs for
# the three cases run.sh uses (200 clients over 20 label values, 200 clients each getting every line,
# 20 clients). Prints one JSON result line per case and writes them to $OUT (default: a temp dir).
# Knobs: BENCH_SSE_CLIENTS (200), BENCH_SSE_RATE (2000 lines/s), BENCH_SSE_SECONDS (20),
# BENCH_SSE_PROCS (client processes, 2), BENCH_SSE_CASES ("filtered all all-small"), SERVER_NODE_ARGS
# (extra node flags for the server, e.g. --cpu-prof), BENCH_CLI (the CLI entry to serve with, default
# packages/cli/dist/main.js: point it at another build to compare), BENCH_SSE_DB (a database to start from,
# e.g. the bench:api seed, instead of an empty one), KEEP_TMP=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=bench/api
SSE_CLIENTS=${BENCH_SSE_CLIENTS:-200}
SSE_RATE=${BENCH_SSE_RATE:-2000}
SSE_SECONDS=${BENCH_SSE_SECONDS:-20}
SSE_PROCS=${BENCH_SSE_PROCS:-2}
CASES=${BENCH_SSE_CASES:-filtered all all-small}
read -r -a NODE_ARGS <<<"${SERVER_NODE_ARGS:-}"
CLI=$(realpath "${BENCH_CLI:-packages/cli/dist/main.js}")

for f in "$CLI" packages/server/dist/api/logs/stream.js; do
  [ -f "$f" ] || { echo "$f missing: run npm run build first" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hangar-bench-sse.XXXXXX")
OUT=${OUT:-$TMP/out}
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

# --- a fresh home: acme's ADMIN key (creates the database), then the stream clients' keys ---
HOME_DIR=$TMP/home
mkdir -p "$HOME_DIR"
if [ -n "${BENCH_SSE_DB:-}" ]; then
  record "cp BENCH_SSE_DB \$TMP/home/hangar.db   # start from an existing database (e.g. the bench:api seed)"
  cp --reflink=auto "$BENCH_SSE_DB" "$HOME_DIR/hangar.db"
fi
record "node packages/cli/dist/main.js --home \$TMP/home keys create --owner acme --scope ADMIN --json"
KEY=$(node packages/cli/dist/main.js --home "$HOME_DIR" keys create --owner acme --scope ADMIN --json |
  node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s).key))")
STREAM_KEYS=$(((SSE_CLIENTS + 9) / 10))
record "node $HERE/stream-keys.mjs --db \$TMP/home/hangar.db --owner acme --n $STREAM_KEYS --out \$TMP/stream-keys.json"
node $HERE/stream-keys.mjs --db "$HOME_DIR/hangar.db" --owner acme --n "$STREAM_KEYS" --out "$TMP/stream-keys.json"

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
record "node ${NODE_ARGS[*]:+${NODE_ARGS[*]} }${BENCH_CLI:-packages/cli/dist/main.js} serve --port $PORT --home \$TMP/home"
(cd "$OUT" && exec node "${NODE_ARGS[@]}" "$CLI" serve --port "$PORT" \
  --home "$HOME_DIR") >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
wait_http "$URL/.well-known/jwks.json" 60

# --- deploy the log printer (one runner) and wait until it answers ---
rm -rf "$TMP/logs" && cp -r "$HERE/log-app" "$TMP/logs"
record "node packages/cli/dist/main.js --url $URL --key \$KEY deploy \$TMP/logs --json   # $HERE/log-app as acme/bench-logs"
node packages/cli/dist/main.js --url "$URL" --key "$KEY" deploy "$TMP/logs" --json >"$OUT/deploy.json"
for ((i = 0; ; i++)); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Key $KEY" \
    -H 'content-type: application/json' -d '{"rate":10,"seconds":0.1}' "$URL/run/acme/bench-logs" || true)
  [ "$code" = 200 ] && break
  [ "$i" -lt 600 ] || { echo "bench-logs never answered 200 (last $code)" >&2; exit 1; }
  sleep 0.1
done
sleep 1

# --- the cases of run.sh ---
sse() { # name, clients, streams
  uptime >"$OUT/load-$1.txt"
  echo "== SSE $1: $2 clients, $SSE_RATE lines/s, streams=$3" >&2
  record "node $HERE/sse.mjs --url $URL --keys \$TMP/stream-keys.json --run-key \$KEY --clients $2 --rate $SSE_RATE --seconds $SSE_SECONDS --streams $3 --procs $SSE_PROCS --server-pid \$SERVER_PID"
  node $HERE/sse.mjs --url "$URL" --keys "$TMP/stream-keys.json" --run-key "$KEY" --clients "$2" \
    --rate "$SSE_RATE" --seconds "$SSE_SECONDS" --streams "$3" --procs "$SSE_PROCS" --server-pid "$SERVER_PID" --out "$OUT/sse-$1.json" || true
  sleep 2
}
for c in $CASES; do
  case $c in
    filtered) sse filtered "$SSE_CLIENTS" 20 ;;
    all) sse all "$SSE_CLIENTS" 1 ;;
    all-small) sse all-small $((SSE_CLIENTS / 10)) 1 ;;
    *) echo "unknown case $c" >&2; exit 1 ;;
  esac
done
echo "results in $OUT" >&2
