#!/usr/bin/env bash
# The project's whole check, as CI runs it: formatting, lints, docs, then every test
# (unit, golden, real OpenAPI documents fetched from pinned npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq npm; }
# promtool checks the /metrics text in the telemetry tests.
command -v promtool >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus; }
# The OAuth proxy's replica tests start their own Redis (Debian's package) on a free port.
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server; }
scripts/fetch-openapi-docs.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
# Each feature set of the library compiles on its own (what `cargo hack --each-feature` checks).
for features in "" utoipa demo redis; do
  cargo check -p apimcp --lib --no-default-features --features "$features" --locked
done
# `cargo test` builds the examples too, with the workspace's features; the end-to-end tests'
# own `cargo build --workspace --example NAME` then finds them fresh.
cargo test --workspace --release --locked
