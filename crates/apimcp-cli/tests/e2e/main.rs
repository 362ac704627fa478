//! The `apimcp` command end to end, as one test binary (as ripgrep's `tests/tests.rs`): the
//! real binary and the library's examples as child processes, driven by real MCP clients and
//! a real authorization server (`util/`).

mod cli;
mod conformance;
mod demo_peers;
mod large_lists;
mod oauth;
mod oauth_clients;
mod oauth_floods;
mod oauth_proxy;
mod oauth_replicas;
mod search_mode;
mod serve_upstream;
mod stripe_wire;
mod telemetry;
mod upstream_base;
mod upstream_credentials;
mod util;
