//! FastAPI-MCP's example 06: the MCP endpoint mounted under a router prefix
//! (`/other/route/mcp`) instead of the root.
//!
//! Run: `cargo run -p apimcp --example 06_custom_mcp_router`.

use apimcp::McpServer;
use axum::Router;

/// The items API with MCP at `/other/route/mcp`.
pub fn app() -> Router {
    let (api, document) = apimcp::demo::app();
    let mcp = McpServer::builder()
        .utoipa(&document)
        .in_process(api.clone())
        .build()
        .expect("the items document converts");
    let other = mcp.mount_http(Router::new(), "/mcp");
    api.nest("/other/route", other)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen_addr()).await?;
    eprintln!("MCP at http://{}/other/route/mcp", listener.local_addr()?);
    apimcp::serve(listener, app()).await
}

/// `--listen ADDR`, default 127.0.0.1:8000.
fn listen_addr() -> String {
    std::env::args()
        .skip_while(|a| a != "--listen")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into())
}
