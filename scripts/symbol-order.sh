#!/usr/bin/env bash
# Regenerates crates/apimcp-cli/symbol-order.txt, the order in which the linker places the
# functions of the shipped binary (the dist profile), from what `apimcp demo` runs under
# callgrind, phase by phase:
#   1. start-up and one direct GET: what an idle server has run;
#   2. initialize and notifications/initialized, twice: what each new session runs;
#   3. tools/call and tools/list in a session: the calls.
# Each phase's functions come after the earlier phases', so an idle server touches only the
# first part of its code. Rerun after a dependency update or a change of the start-up path;
# names that no longer match are ignored by the linker, so a stale file costs memory, not
# correctness. The dist profile keeps its symbols (strip = "debuginfo") so that the names here
# are those of the shipped binary.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
# Built on its own: together with the bench crate, cargo would unify their dependencies'
# features, and the names would be those of another binary.
cargo build --profile dist -q -p apimcp-cli
cargo build --release -q -p apimcp-bench
OUT=$(mktemp -d); trap 'kill "$PID" 2>/dev/null || true; rm -rf "$OUT"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$OUT/cg" \
  target/dist/apimcp demo --listen "127.0.0.1:$PORT" >"$OUT/log" 2>&1 & PID=$!
URL=http://127.0.0.1:$PORT
for _ in $(seq 1 300); do curl -fs -o /dev/null "$URL/items/1" && break; sleep 0.1; done
dump() { callgrind_control --dump="$1" "$PID" >/dev/null; }
H=(-H 'content-type: application/json' -H 'accept: application/json, text/event-stream')
S=(-H 'mcp-protocol-version: 2025-06-18')
dump start-up
for _ in 1 2; do
  ID=$(curl -s -D - -o /dev/null "${H[@]}" "$URL/mcp" -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"order","version":"1"}}}' \
    | tr -d '\r' | awk 'tolower($1)=="mcp-session-id:" {print $2}')
  curl -fs -o /dev/null "${H[@]}" "${S[@]}" -H "mcp-session-id: $ID" "$URL/mcp" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
done
dump sessions
for _ in 1 2; do
  curl -fs -o /dev/null "${H[@]}" "${S[@]}" -H "mcp-session-id: $ID" "$URL/mcp" -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_item","arguments":{"item_id":1}}}'
  curl -fs -o /dev/null "${H[@]}" "${S[@]}" -H "mcp-session-id: $ID" "$URL/mcp" -d '{"jsonrpc":"2.0","id":3,"method":"tools/list"}'
done
dump calls
{
  echo "# Made by scripts/symbol-order.sh: the functions apimcp demo runs at start-up, then per session, then per call."
  target/release/apimcp-bench symbol-order /apimcp "$OUT/cg.1" "$OUT/cg.2" "$OUT/cg.3"
} > crates/apimcp-cli/symbol-order.txt
echo "$(grep -vc '^#' crates/apimcp-cli/symbol-order.txt) functions in crates/apimcp-cli/symbol-order.txt; relinking"
cargo build --profile dist -q -p apimcp-cli
