#!/usr/bin/env bash
# The OAuth proxy's token endpoint under load, with the embedded default store (the state
# directory's, on disk) and with Redis (started here when redis-server is installed), and a
# check that a tools/call with a valid token touches no store (Redis's command counts do not
# move while they run). The load is a token request from a registered client with a code
# nobody issued: the store work every exchange does (the code is taken, a redemption looked up)
# without the provider's round trip, which would measure the provider instead.
#   bench/oauth_token.sh            (BENCH_SECONDS=5 per measurement)
#   BENCH_NO_BUILD=1 bench/oauth_token.sh   (the binary already in target/, e.g. the tests')
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${BENCH_SECONDS:-5}
PROFILE=${BENCH_PROFILE:-release}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --profile "$PROFILE" -q -p apimcp-cli
BIN=target/$PROFILE/apimcp
WORK=$(mktemp -d)
PIDS=(); trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up() { for _ in $(seq 1 300); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; exit 1; }
REDIRECT=http://127.0.0.1:8799/cb
CALL='{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_item","arguments":{"item_id":1}}}'

P_DEMO=$(port)
$BIN demo --listen 127.0.0.1:$P_DEMO >/dev/null 2>&1 & PIDS+=($!)
up "http://127.0.0.1:$P_DEMO/openapi.json"

# proxy PORT [STORE_LINE]: apimcp as the OAuth proxy (its provider unreachable: the token
# endpoint's failing exchanges never ask it), a static token for the tools/call check.
proxy() {
  cat > "$WORK/$1.toml" <<EOF
[server]
stateless = true
state_dir = "$WORK/state-$1"
[api]
spec = "http://127.0.0.1:$P_DEMO/openapi.json"
upstream = "http://127.0.0.1:$P_DEMO"
[auth]
issuer = "http://127.0.0.1:9"
setup_proxies = true
client_id = "bench"
client_secret = "bench-secret"
static_tokens = ["bench-token"]
${2:-}
EOF
  $BIN serve --config "$WORK/$1.toml" --listen 127.0.0.1:$1 >"$WORK/$1.log" 2>&1 & PIDS+=($!)
  for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done
  cat "$WORK/$1.log" >&2; exit 1
}

# token NAME PORT: throughput and latency of the token endpoint.
token() {
  local client status
  client=$(curl -s -H 'content-type: application/json' -d "{\"redirect_uris\":[\"$REDIRECT\"]}" \
    "http://127.0.0.1:$2/oauth/register" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
  local body="grant_type=authorization_code&client_id=$client&code=not-issued&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
  status=$(curl -s -o /dev/null -w '%{http_code}' -d "$body" "http://127.0.0.1:$2/oauth/token")
  [ "$status" = 400 ] || { echo "$1: the token endpoint answered $status, not 400" >&2; exit 1; }
  cat > "$WORK/token.lua" <<EOF
wrk.method = "POST"
wrk.headers["content-type"] = "application/x-www-form-urlencoded"
wrk.body = "$body"
EOF
  wrk -t1 -c16 -d"${SECS}s" --latency -s "$WORK/token.lua" "http://127.0.0.1:$2/oauth/token" |
    awk -v name="$1" '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
      END {printf "%-40s %10s req/s   p50 %8s   p99 %8s\n", name, rps, p50, p99}'
}

# calls NAME PORT: tools/call with a valid token, throughput.
calls() {
  cat > "$WORK/call.lua" <<EOF
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["accept"] = "application/json, text/event-stream"
wrk.headers["authorization"] = "Bearer bench-token"
wrk.headers["mcp-protocol-version"] = "2025-06-18"
wrk.body = '$CALL'
EOF
  wrk -t1 -c16 -d"${SECS}s" --latency -s "$WORK/call.lua" "http://127.0.0.1:$2/mcp" |
    awk -v name="$1" '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
      END {printf "%-40s %10s req/s   p50 %8s   p99 %8s\n", name, rps, p50, p99}'
}

echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); ${SECS} s per measurement, 16 connections"
P_DISK=$(port); proxy "$P_DISK"
token "token endpoint, embedded store (disk)" "$P_DISK"
calls "tools/call with a token, embedded store" "$P_DISK"

if command -v redis-server >/dev/null; then
  P_REDIS=$(port)
  redis-server --port "$P_REDIS" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 & PIDS+=($!)
  for _ in $(seq 1 100); do redis-cli -p "$P_REDIS" ping >/dev/null 2>&1 && break; sleep 0.1; done
  P_R=$(port); proxy "$P_R" "store = \"redis://127.0.0.1:$P_REDIS/0\""
  token "token endpoint, Redis store" "$P_R"
  # Every command Redis ran, INFO itself aside.
  commands() { redis-cli -p "$P_REDIS" info commandstats | tr -d '\r' | grep -v '^cmdstat_info' |
    sed -n 's/.*:calls=\([0-9]*\),.*/\1/p' | awk '{n+=$1} END {print n+0}'; }
  before=$(commands)
  calls "tools/call with a token, Redis store" "$P_R"
  after=$(commands)
  echo "Redis commands run during those tools/call requests: $((after - before))"
else
  echo "redis-server is not installed: no Redis figures"
fi
