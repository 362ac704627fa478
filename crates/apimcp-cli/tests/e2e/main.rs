//! The `apimcp` command end to end, as one test binary (as ripgrep's `tests/tests.rs`): the
//! real binary and the library's examples as child processes, driven by real MCP clients and
//! a real authorization server (`util/`).

mod cli;
mod conformance;
mod demo_peers;
mod oauth;
mod oauth_clients;
mod oauth_proxy;
mod search_mode;
mod serve_upstream;
mod upstream_base;
mod upstream_credentials;
mod util;
