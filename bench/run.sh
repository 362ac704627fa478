#!/usr/bin/env bash
# The benchmark, in one run on loopback so the ratios hold on a noisy machine:
# direct GET on `apimcp demo`, MCP tools/call over Streamable HTTP (stateless, stateful with 1
# and 64 sessions, and 2026-07-28's per-request calls on both), legacy SSE, tools/list (demo
# and the first page of GitHub's 1,223 tools, in both protocol eras), memory, start-up
# time, and FastAPI-MCP 0.4.0 (uvicorn, one worker) serving the same items API under the same
# load. Server on core 0, load generator on core 1. Tracing is compiled in everywhere; two more
# stateless servers export their spans and metrics over OTLP/HTTP to a local receiver (a sink
# that answers 200): one at the default sampling (every trace), one sampling 10% of them.
#   bench/run.sh                 (BENCH_SECONDS=10 per measurement; BENCH_SECONDS=3 for a quick look)
#   BENCH_PROFILE=release bench/run.sh   (a third of the build time; the shipped binary is dist)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${BENCH_SECONDS:-10}
SERVER_CPU=0; LOAD_CPU=1
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
PROFILE=${BENCH_PROFILE:-dist}   # the shipped binary: [profile.dist] in Cargo.toml
# Apart: built together, the two would share their dependencies' features, and the server
# would not be the binary `cargo build -p apimcp-cli` ships.
cargo build --profile "$PROFILE" -q -p apimcp-cli
cargo build --profile "$PROFILE" -q -p apimcp-bench
scripts/fetch-openapi-docs.sh
VENV=.cache/bench-venv
[ -x "$VENV/bin/uvicorn" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "fastapi-mcp==0.4.0" "mcp<2" uvicorn; }
BIN=target/$PROFILE/apimcp; LOADER=target/$PROFILE/apimcp-bench
PIDS=(); trap 'kill -KILL "${PIDS[@]}" 2>/dev/null || true' EXIT   # uvicorn waits for its sessions on TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up() { for _ in $(seq 1 300); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; exit 1; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'
CALL='{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_item","arguments":{"item_id":1}}}'
LIST='{"jsonrpc":"2.0","id":3,"method":"tools/list"}'
# 2026-07-28: no session; the revision and the client's capabilities in each request's _meta.
META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"}}'
CALL26='{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_item","arguments":{"item_id":1},'"$META"'}}'
LIST26='{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{'"$META"'}}'
session() { # URL -> a new initialized session id
  local id
  id=$(curl -s -D - -o /dev/null -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' -d "$INIT" "$1" | tr -d '\r' | awk 'tolower($1)=="mcp-session-id:" {print $2}')
  curl -s -o /dev/null -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' -H "mcp-session-id: $id" \
    -H 'mcp-protocol-version: 2025-06-18' -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$1"
  echo "$id"
}
sessions() { local list=(); for _ in $(seq 1 "$2"); do list+=("$(session "$1")"); done; (IFS=,; echo "${list[*]}"); }
RESULTS=$(mktemp)
measure() { # NAME CONNS URL [BODY [SESSIONS [MCP-METHOD [MCP-NAME]]]]: with a method, at 2026-07-28
  local name=$1 conns=$2 url=$3 out protocol=
  [ -n "${6:-}" ] && protocol=2026-07-28
  if [ -n "${4:-}" ]; then
    out=$(BODY=$4 SESSIONS=${5:-} PROTOCOL=$protocol METHOD=${6:-} NAME=${7:-} taskset -c $LOAD_CPU wrk -t1 -c"$conns" -d"${SECS}s" --latency -s bench/lua/mcp.lua "$url")
  else
    out=$(taskset -c $LOAD_CPU wrk -t1 -c"$conns" -d"${SECS}s" --latency "$url")
  fi
  local rps p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$conns" "${rps:-0}" "${p99:-?}" "${errors:-0}" >> "$RESULTS"
}

P_STATEFUL=$(port); P_STATELESS=$(port); P_GITHUB=$(port); P_FASTAPI=$(port); P_OTEL=$(port); P_OTEL10=$(port); P_SINK=$(port); P_RMCP=$(port)
taskset -c $LOAD_CPU python3 - "$P_SINK" >/dev/null 2>&1 <<'PY' & PIDS+=($!)
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    # Keep-alive, as a collector answers: a connection per export (HTTP/1.0) keeps a thread
    # starting on the load generator's core, and wrk, put to sleep, must be woken for every
    # answer; that alone cost the exporting server half its throughput.
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
PY
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$P_SINK taskset -c $SERVER_CPU $BIN demo --stateless --listen 127.0.0.1:$P_OTEL >/dev/null 2>&1 & PIDS+=($!)
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$P_SINK OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1 \
  taskset -c $SERVER_CPU $BIN demo --stateless --listen 127.0.0.1:$P_OTEL10 >/dev/null 2>&1 & PIDS+=($!)
taskset -c $SERVER_CPU $BIN demo --listen 127.0.0.1:$P_STATEFUL >/dev/null 2>&1 & PIDS+=($!); DEMO=$!
taskset -c $SERVER_CPU $BIN demo --stateless --listen 127.0.0.1:$P_STATELESS >/dev/null 2>&1 & PIDS+=($!)
# The same without the fast path: what 2026-07-28 calls cost when rmcp's service answers them.
taskset -c $SERVER_CPU $BIN demo --stateless --no-fast-path --listen 127.0.0.1:$P_RMCP >/dev/null 2>&1 & PIDS+=($!)
taskset -c $SERVER_CPU $BIN serve --stateless --spec .cache/openapi/github.json --upstream http://127.0.0.1:9 --listen 127.0.0.1:$P_GITHUB >/dev/null 2>&1 & PIDS+=($!)
(cd bench && exec taskset -c $SERVER_CPU "../$VENV/bin/uvicorn" fastapi_items:app --host 127.0.0.1 --port "$P_FASTAPI" --workers 1 --log-level warning >/dev/null 2>&1) & PIDS+=($!)
up "http://127.0.0.1:$P_OTEL/items/1"; up "http://127.0.0.1:$P_OTEL10/items/1"; up "http://127.0.0.1:$P_STATEFUL/items/1"; up "http://127.0.0.1:$P_STATELESS/items/1"; up "http://127.0.0.1:$P_RMCP/items/1"; up "http://127.0.0.1:$P_FASTAPI/items/1"
for _ in $(seq 1 100); do curl -s -o /dev/null -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' -d "$LIST" "http://127.0.0.1:$P_GITHUB/mcp" && break; sleep 0.1; done
FASTAPI_PID=$(pgrep -f "uvicorn fastapi_items:app --host 127.0.0.1 --port $P_FASTAPI" | head -n1)
IDLE=$(rss_mb $DEMO); FASTAPI_IDLE=$(rss_mb "$FASTAPI_PID")
BEFORE_SESSIONS=$(rss_mb $DEMO)
S64=$(sessions "http://127.0.0.1:$P_STATEFUL/mcp" 64); S1=${S64%%,*}
AFTER_SESSIONS=$(rss_mb $DEMO)
F1=$(session "http://127.0.0.1:$P_FASTAPI/mcp")

for c in 16 64; do
  measure "direct GET /items/1" $c "http://127.0.0.1:$P_STATEFUL/items/1"
  measure "MCP tools/call, stateless" $c "http://127.0.0.1:$P_STATELESS/mcp" "$CALL"
  measure "MCP tools/call, stateless, OTLP export" $c "http://127.0.0.1:$P_OTEL/mcp" "$CALL"
  measure "MCP tools/call, stateless, OTLP export, 10% sampled" $c "http://127.0.0.1:$P_OTEL10/mcp" "$CALL"
  measure "MCP tools/call, stateful, 1 session" $c "http://127.0.0.1:$P_STATEFUL/mcp" "$CALL" "$S1"
  measure "MCP tools/call, stateful, 64 sessions" $c "http://127.0.0.1:$P_STATEFUL/mcp" "$CALL" "$S64"
  measure "MCP tools/call, 2026-07-28, stateless server" $c "http://127.0.0.1:$P_STATELESS/mcp" "$CALL26" "" tools/call get_item
  measure "MCP tools/call, 2026-07-28, stateful server" $c "http://127.0.0.1:$P_STATEFUL/mcp" "$CALL26" "" tools/call get_item
  measure "MCP tools/call, 2026-07-28, rmcp's path (--no-fast-path)" $c "http://127.0.0.1:$P_RMCP/mcp" "$CALL26" "" tools/call get_item
  sse=$(taskset -c $LOAD_CPU $LOADER sse "http://127.0.0.1:$P_STATEFUL/sse" $c "$SECS")
  printf '%s\t%s\t%s\t%s\t0\n' "MCP tools/call, legacy SSE" $c "$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$sse")" "$(sed 's/.*p99_ms=\([0-9.]*\).*/\1ms/' <<<"$sse")" >> "$RESULTS"
  measure "FastAPI-MCP direct GET /items/1" $c "http://127.0.0.1:$P_FASTAPI/items/1"
  measure "FastAPI-MCP tools/call, 1 session" $c "http://127.0.0.1:$P_FASTAPI/mcp" "$CALL" "$F1"
done
measure "MCP tools/list, demo (6 tools)" 16 "http://127.0.0.1:$P_STATELESS/mcp" "$LIST"
measure "MCP tools/list, 2026-07-28, demo (6 tools)" 16 "http://127.0.0.1:$P_STATELESS/mcp" "$LIST26" "" tools/list
# A page: at most 256 KiB of definitions (the whole list is 11.5 MB).
measure "MCP tools/list, GitHub (first page of 1,223 tools)" 4 "http://127.0.0.1:$P_GITHUB/mcp" "$LIST"
measure "MCP tools/list, 2026-07-28, GitHub (first page)" 4 "http://127.0.0.1:$P_GITHUB/mcp" "$LIST26" "" tools/list
LOADED=$(rss_mb $DEMO); FASTAPI_LOADED=$(rss_mb "$FASTAPI_PID")

P_START=$(port); P_FSTART=$(port)
START=$($LOADER startup "http://127.0.0.1:$P_START/mcp" -- $BIN demo --listen 127.0.0.1:$P_START)
FSTART=$(cd bench && "../$LOADER" startup "http://127.0.0.1:$P_FSTART/mcp" -- "../$VENV/bin/uvicorn" fastapi_items:app --host 127.0.0.1 --port "$P_FSTART" --workers 1)

echo
echo "bench/run.sh, $(date -u +%Y-%m-%d), profile $PROFILE, ${SECS}s per measurement, $(nproc) cores; server on core $SERVER_CPU, load on core $LOAD_CPU"
# How much of the linker's function order (scripts/symbol-order.sh) this binary matched.
ORDERED=$(grep -v '^#' crates/apimcp-cli/symbol-order.txt | sort -u)
echo "function order: $(comm -12 <(nm --defined-only "$BIN" 2>/dev/null | awk '{print $3}' | sort -u) <(echo "$ORDERED") | wc -l) of $(wc -l <<<"$ORDERED") names in the binary"
echo
python3 - "$RESULTS" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
def rps(name, c):
    return next((float(r[2]) for r in rows if r[0] == name and r[1] == c), None)
print("| measurement | conns | req/s | p99 | non-2xx | vs direct | vs FastAPI-MCP tools/call |")
print("|---|---|---|---|---|---|---|")
for name, c, r, p99, errors in rows:
    direct = rps("direct GET /items/1", c) if not name.startswith("FastAPI") else rps("FastAPI-MCP direct GET /items/1", c)
    fastapi = rps("FastAPI-MCP tools/call, 1 session", c)
    r = float(r)
    vs_direct = f"{100 * r / direct:.0f}%" if direct and "tools/call" in name else ""
    vs_fastapi = f"{r / fastapi:.0f}x" if fastapi and "tools/call" in name and not name.startswith("FastAPI") else ""
    print(f"| {name} | {c} | {r:,.0f} | {p99} | {errors} | {vs_direct} | {vs_fastapi} |")
for c in ("16", "64"):
    plain = rps("MCP tools/call, stateless", c)
    for sampling, name in (("every trace", "OTLP export"), ("10% of traces", "OTLP export, 10% sampled")):
        exported = rps(f"MCP tools/call, stateless, {name}", c)
        if plain and exported:
            print(f"\nOTLP export of {sampling} at {c} connections: {100 * exported / plain:.1f}% of the throughput without an exporter")
PY
echo
echo "| memory and start-up | apimcp | FastAPI-MCP |"
echo "|---|---|---|"
echo "| resident memory idle (MB) | $IDLE | $FASTAPI_IDLE |"
echo "| resident memory after the load (MB) | $LOADED | $FASTAPI_LOADED |"
echo "| 64 idle sessions add (MB) | $(python3 -c "print(round($AFTER_SESSIONS - $BEFORE_SESSIONS, 1))") | |"
echo "| process start to first initialize (ms) | $START | $FSTART |"
echo
echo "Load + conversion (cargo bench -p apimcp --bench convert):"
cargo bench -q -p apimcp --bench convert -- .cache/openapi/github.json .cache/openapi/stripe.json 2>/dev/null | grep '^|'
echo
echo "Served (apimcp-bench memory: idle once it answers and the allocator's 1 s purge delay has passed, after a client has read the whole paginated tools/list, and in use: after one more request past the purge delay):"
echo "| document | tools | HTTP idle MB | HTTP after tools/list MB | HTTP in use MB | stdio idle MB | stdio after tools/list MB | stdio in use MB | list MB |"
echo "|---|---|---|---|---|---|---|---|---|"
for doc in github stripe; do $LOADER memory ".cache/openapi/$doc.json" -- "$BIN"; done
