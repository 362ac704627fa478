//! apimcp's bearer check on a plain REST router, no MCP involved: `RequireBearer` verifies the
//! token, hands the `Principal` to handlers through the request extensions, and answers a
//! missing or refused token with 401 and the RFC 6750 / RFC 9728 challenge, a token without the
//! required scope with 403.
//!
//! Run: `cargo run -p apimcp --example 12_bearer_layer_on_rest`, then
//! `curl -H "Authorization: Bearer reader-token" http://127.0.0.1:8000/whoami`.

use apimcp::auth::{Principal, RequireBearer, StaticTokens};
use axum::routing::get;
use axum::{Extension, Router};

/// A token that holds `items:read`.
pub const READER: &str = "reader-token";

/// The REST API, every route behind the bearer check.
pub fn app() -> Router {
    let verifier = StaticTokens::new([READER]).with_scopes(["items:read"]);
    let bearer = RequireBearer::new(verifier)
        .scopes(["items:read"])
        .resource_metadata("http://127.0.0.1:8000/.well-known/oauth-protected-resource");
    Router::new()
        .route("/whoami", get(whoami))
        .route("/items", get(|| async { "[]" }))
        .layer(bearer)
}

async fn whoami(Extension(principal): Extension<Principal>) -> String {
    principal.subject.unwrap_or_default()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen_addr()).await?;
    eprintln!(
        "REST API at http://{}; try Authorization: Bearer {READER}",
        listener.local_addr()?
    );
    apimcp::serve(listener, app()).await
}

/// `--listen ADDR`, default 127.0.0.1:8000.
fn listen_addr() -> String {
    std::env::args()
        .skip_while(|a| a != "--listen")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into())
}
