#!/usr/bin/env bash
# Regenerates crates/apimcp-cli/symbol-order.txt, the order in which the linker places the
# functions of the shipped binary (the dist profile), from what two servers run under
# callgrind: `apimcp demo`, and `apimcp serve` with the demo's document (read over HTTP) and
# the demo as its upstream. In three phases, each phase's functions after the earlier ones':
#   1. start-up and one request (a direct GET; for serve, a 404): what an idle server has run;
#   2. initialize and notifications/initialized, twice: what each new session runs;
#   3. tools/call and tools/list in a session: the calls.
# An idle server then touches only the first part of its code. The demo's three phases come
# first (the benchmark measures the demo), then what serve adds in each. Rerun after a dependency update
# or a change of the start-up path; names that no longer match are ignored by the linker, so a
# stale file costs memory, not correctness (bench/run.sh prints how many match). The dist
# profile keeps its symbols (strip = "debuginfo") so that the names are the shipped binary's.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
# Built on its own: together with the bench crate, cargo would unify their dependencies'
# features, and the names would be those of another binary.
cargo build --profile dist -q -p apimcp-cli
cargo build --release -q -p apimcp-bench
OUT=$(mktemp -d); PIDS=(); trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$OUT"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DEMO=http://127.0.0.1:$(port); SERVE=http://127.0.0.1:$(port)
profiled() { # NAME ARGS...: the binary under callgrind (full names in its dumps: NAME.1, NAME.2...)
  valgrind --tool=callgrind --demangle=no --compress-strings=no --callgrind-out-file="$OUT/$1" \
    target/dist/apimcp "${@:2}" >"$OUT/$1.log" 2>&1 &
  PIDS+=($!); declare -g "PID_$1=$!"
}
dump() { local pid="PID_$1"; callgrind_control --dump "${!pid}" >/dev/null 2>&1; }
answers() { for _ in $(seq 1 600); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" != 000 ] && return; sleep 0.1; done; exit 1; }
H=(-H 'content-type: application/json' -H 'accept: application/json, text/event-stream')
S=(-H 'mcp-protocol-version: 2025-06-18')
sessions() { # URL: two sessions; prints the last one's id
  local ID
  for _ in 1 2; do
    ID=$(curl -s -D - -o /dev/null "${H[@]}" "$1" -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"order","version":"1"}}}' \
      | tr -d '\r' | awk 'tolower($1)=="mcp-session-id:" {print $2}')
    curl -fs -o /dev/null "${H[@]}" "${S[@]}" -H "mcp-session-id: $ID" "$1" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
  done
  echo "$ID"
}
calls() { # URL SESSION
  local ID=$2
  for _ in 1 2; do
    curl -fs -o /dev/null "${H[@]}" "${S[@]}" -H "mcp-session-id: $ID" "$1" -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_item","arguments":{"item_id":1}}}'
    curl -fs -o /dev/null "${H[@]}" "${S[@]}" -H "mcp-session-id: $ID" "$1" -d '{"jsonrpc":"2.0","id":3,"method":"tools/list"}'
  done
}
profiled demo demo --listen "${DEMO#http://}"
answers "$DEMO/items/1"; dump demo
profiled serve serve --spec "$DEMO/openapi.json" --upstream "$DEMO" --listen "${SERVE#http://}"
answers "$SERVE/"; dump serve   # a 404: nothing of the MCP endpoint yet
DEMO_ID=$(sessions "$DEMO/mcp"); dump demo
SERVE_ID=$(sessions "$SERVE/mcp"); dump serve
calls "$DEMO/mcp" "$DEMO_ID"; dump demo
calls "$SERVE/mcp" "$SERVE_ID"; dump serve
{
  echo "# Made by scripts/symbol-order.sh: the functions apimcp demo and apimcp serve run at start-up, then per session, then per call."
  target/release/apimcp-bench symbol-order /apimcp "$OUT"/demo.{1,2,3} "$OUT"/serve.{1,2,3}
} > crates/apimcp-cli/symbol-order.txt
echo "$(grep -vc '^#' crates/apimcp-cli/symbol-order.txt) functions in crates/apimcp-cli/symbol-order.txt; relinking"
cargo build --profile dist -q -p apimcp-cli
