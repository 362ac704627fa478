//! FastAPI-MCP's example 08: token passthrough. The API checks a bearer token itself; the MCP
//! client sends `Authorization` (mcp-remote: `--header Authorization:${AUTH_HEADER}`) and
//! apimcp passes it on to the API on every tool call.
//!
//! Run: `cargo run -p apimcp --example 08_auth_example_token_passthrough`, then
//! `npx mcp-remote http://127.0.0.1:8000/mcp --header "Authorization: Bearer secret-token"`.

use apimcp::McpServer;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};

/// The token the example's API accepts.
pub const TOKEN: &str = "secret-token";

async fn require_token(request: Request, next: Next) -> Response {
    let expected = format!("Bearer {TOKEN}");
    match request.headers().get("authorization").and_then(|v| v.to_str().ok()) {
        Some(value) if value == expected => next.run(request).await,
        _ => (StatusCode::UNAUTHORIZED, "a valid bearer token is required").into_response(),
    }
}

/// The items API behind a bearer check, with MCP at `/mcp` (the MCP endpoint itself is open:
/// the API decides).
pub fn app() -> Router {
    let (api, document) = apimcp::demo::app();
    let protected = api.layer(from_fn(require_token));
    let mcp = McpServer::builder()
        .utoipa(&document)
        .in_process(protected.clone())
        .build()
        .expect("the items document converts");
    mcp.mount_http(protected, "/mcp")
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen_addr()).await?;
    eprintln!(
        "MCP at http://{}/mcp; the API wants Authorization: Bearer {TOKEN}",
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
