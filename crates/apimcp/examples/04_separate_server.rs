//! FastAPI-MCP's example 04: the MCP server on an app of its own, calling the API app
//! in-process (no socket between them).
//!
//! Run: `cargo run -p apimcp --example 04_separate_server` (API on :8000, MCP on :8001).

use apimcp::McpServer;
use axum::Router;

/// The API app and a separate MCP app whose tools call it.
pub fn apps() -> (Router, Router) {
    let (api, document) = apimcp::demo::app();
    let mcp = McpServer::builder()
        .utoipa(&document)
        .in_process(api.clone())
        .build()
        .expect("the items document converts");
    let mcp_app = mcp.mount_http(Router::new(), "/mcp");
    (api, mcp_app)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (api, mcp_app) = apps();
    let api_listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
    let mcp_listener = tokio::net::TcpListener::bind("127.0.0.1:8001").await?;
    eprintln!(
        "API at http://{}, MCP at http://{}/mcp",
        api_listener.local_addr()?,
        mcp_listener.local_addr()?
    );
    let (a, b) = tokio::join!(apimcp::serve(api_listener, api), apimcp::serve(mcp_listener, mcp_app));
    a.and(b)
}
