#!/usr/bin/env bash
# The soak (not a CI test): `apimcp demo` under mixed load for SOAK_SECONDS (default 600):
# timed normal calls, session churn, initialize floods, slow clients, bad input, while its
# resident memory is sampled; prints the curve, the answers by kind, p50/p99 of the normal
# calls, and whether memory plateaus. Exit 1 if it does not, or on an unexpected answer.
#   bench/soak.sh                      (10 minutes, the dist binary)
#   SOAK_SECONDS=60 BENCH_PROFILE=release bench/soak.sh -- --slow 500   (extra args to soak.py)
# Server on core 0, load on core 1 (taskset), as bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${BENCH_PROFILE:-dist}
cargo build --profile "$PROFILE" -q -p apimcp-cli
BIN=target/$PROFILE/apimcp
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
taskset -c 0 "$BIN" demo --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/items/1" && break; sleep 0.1; done
[ "${1:-}" = "--" ] && shift
taskset -c 1 python3 bench/soak.py --pid "$PID" --url "http://127.0.0.1:$PORT/mcp" \
  --duration "${SOAK_SECONDS:-600}" "$@"
