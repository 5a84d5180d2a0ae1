#!/usr/bin/env bash
# Streaming pass-through benchmark (npm run bench:stream): examples/stream-node reached through Hangar's
# /run and directly (a second copy of the app on its own port), in one run (stream-first-event.mjs).
# Prints JSON. Knobs: BENCH_ISOLATION (runners.isolation of the server, "trusted": the gateway's own cost,
# without the sandbox's port forward), BENCH_SAMPLES (first-event samples per side, 200), BENCH_STREAMS
# (100), BENCH_RATE (events/s per stream, 50), BENCH_SECONDS (10), KEEP_TMP=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=bench/gateway
ISOLATION=${BENCH_ISOLATION:-trusted}

[ -f packages/cli/dist/main.js ] || { echo "bench:stream needs a build (npm run build)" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hangar-bench-stream.XXXXXX")
OUT=$TMP/out
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

HOME_DIR=$TMP/home
mkdir -p "$HOME_DIR"
printf '{"runners":{"isolation":"%s"},"limits":{"rate_limit":{"requests_per_second":0}}}\n' "$ISOLATION" \
  >"$HOME_DIR/hangar.config.json"
HPORT=$(free_port)
HANGAR_LOG_LEVEL=warn node packages/cli/dist/main.js serve --port "$HPORT" --home "$HOME_DIR" >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
HURL=http://127.0.0.1:$HPORT
wait_http "$HURL/" 60 "$SERVER_PID" || { cat "$OUT/server.log" >&2; exit 1; }
for ((i = 0; i < 100; i++)); do [ -s "$HOME_DIR/admin.key" ] && break; sleep 0.1; done
KEY=$(tr -d '\n' <"$HOME_DIR/admin.key")

# One runner taking every stream at once, as the direct copy does.
cp -r examples/stream-node "$TMP/app"
node -e "const f=process.argv[1],fs=require('fs'),m=JSON.parse(fs.readFileSync(f));
  Object.assign(m,{min_concurrency:1,max_concurrency:1,max_multiplexing:256});fs.writeFileSync(f,JSON.stringify(m,null,2))" \
  "$TMP/app/hangar.json"
node packages/cli/dist/main.js --url "$HURL" --key "$KEY" deploy "$TMP/app" --json >"$OUT/deploy.json"
ENDPOINT=$(node -e "console.log(JSON.parse(require('fs').readFileSync(process.argv[1])).endpoint_id)" "$OUT/deploy.json")
for ((i = 0; i < 600; i++)); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Key $KEY" \
    -H 'content-type: application/json' -d '{"events":1}' "$HURL/run/$ENDPOINT/stream" || true)
  [ "$code" = 200 ] && break
  sleep 0.1
done

DPORT=$(free_port)
PORT=$DPORT node examples/stream-node/server.mjs >/dev/null &
PIDS+=($!)
wait_http "http://127.0.0.1:$DPORT/health" 30

echo "== isolation $ISOLATION, $(nproc) CPUs, node $(node --version)" >&2
BENCH_KEY=$KEY node "$HERE/stream-first-event.mjs" --hangar "$HURL/run/$ENDPOINT" --direct "http://127.0.0.1:$DPORT" \
  --samples "${BENCH_SAMPLES:-200}" --streams "${BENCH_STREAMS:-100}" --rate "${BENCH_RATE:-50}" \
  --seconds "${BENCH_SECONDS:-10}"
