//! FastAPI-MCP's example 02: tool descriptions that show every response and its full schema.
//!
//! Run: `cargo run -p apimcp --example 02_full_schema_description`.

use apimcp::{ConvertOptions, McpServer};
use axum::Router;

/// The items API; its tools describe all responses with their full schemas.
pub fn app() -> Router {
    let (api, document) = apimcp::demo::app();
    let options = ConvertOptions::default()
        .describe_all_responses(true)
        .describe_full_response_schema(true);
    let mcp = McpServer::builder()
        .utoipa(&document)
        .in_process(api.clone())
        .name("Item API MCP")
        .convert_options(options)
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
