# Helpers shared by the benchmark scripts (sourced after TMP and OUT are set):
# PIDS + an EXIT trap that stops them and removes $TMP (unless KEEP_TMP), record, free_port, wait_http.
PIDS=()
bench_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap bench_cleanup EXIT

# Records a command for RESULTS.md with the temp dir and the checkout written symbolically.
record() { printf '%s\n' "$*" | sed -e "s#$TMP#\$TMP#g" -e "s#$PWD/##g" >>"$OUT/commands.txt"; }

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

wait_http() { # url [max seconds] [pid that must stay alive]
  local i
  for ((i = 0; i < ${2:-30} * 10; i++)); do
    curl -s -o /dev/null -m 1 "$1" && return 0
    if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
      echo "process $3 exited while waiting for $1" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2
  return 1
}
