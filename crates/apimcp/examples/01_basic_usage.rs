//! FastAPI-MCP's example 01: the items API with an MCP endpoint mounted on the same app.
//!
//! Run: `cargo run -p apimcp --example 01_basic_usage`, then connect a client to
//! `http://127.0.0.1:8000/mcp`.

use apimcp::McpServer;
use axum::Router;

/// The items API, with MCP at `/mcp`; tool calls go to the same router in-process.
pub fn app() -> Router {
    let (api, document) = apimcp::demo::app();
    let mcp = McpServer::builder()
        .utoipa(&document)
        .in_process(api.clone())
        .build()
        .expect("the items document converts");
    mcp.mount_http(api, "/mcp")
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen_addr()).await?;
    eprintln!("MCP at http://{}/mcp", listener.local_addr()?);
    apimcp::serve(listener, app()).await
}

/// `--listen ADDR`, default 127.0.0.1:8000.
fn listen_addr() -> String {
    std::env::args()
        .skip_while(|a| a != "--listen")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into())
}
