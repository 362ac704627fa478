//! FastAPI-MCP's example 05: routes added after the MCP server was built become tools once
//! the server is refreshed (FastAPI-MCP's `setup_server()`); connected sessions get
//! `notifications/tools/list_changed`. An axum `Router` is immutable, so the grown router is
//! handed over with the new document.
//!
//! Run: `cargo run -p apimcp --example 05_reregister_tools`.

use apimcp::{McpServer, OpenApiDocument};
use axum::Router;
use axum::routing::get;
use serde_json::json;

/// The items API before and after a `/new/endpoint` route is added, and the server.
pub fn app() -> (Router, McpServer) {
    let (api, document) = apimcp::demo::app();
    let mcp = McpServer::builder()
        .utoipa(&document)
        .in_process(api.clone())
        .build()
        .expect("the items document converts");
    (api, mcp)
}

/// Adds `/new/endpoint` to `api` and its document, and re-registers the tools; the grown API.
pub fn add_endpoint(mcp: &McpServer, api: Router, document: &utoipa::openapi::OpenApi) -> Router {
    let api = api.route(
        "/new/endpoint",
        get(|| async { axum::Json(json!({"message": "Hello, world!"})) }),
    );
    let mut value = serde_json::to_value(document).expect("serialises");
    value["paths"]["/new/endpoint"] = json!({"get": {"operationId": "new_endpoint", "summary": "New endpoint",
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}}});
    let document = OpenApiDocument::from_value(value).expect("valid document");
    mcp.refresh_with_service(&document, api.clone()).expect("re-registers");
    api
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (api, mcp) = app();
    let (_, document) = apimcp::demo::app();
    let api = add_endpoint(&mcp, api, &document);
    let app = mcp.mount_http(api, "/mcp");
    let listener = tokio::net::TcpListener::bind(listen_addr()).await?;
    eprintln!(
        "MCP at http://{}/mcp ({} tools)",
        listener.local_addr()?,
        mcp.tool_count()
    );
    apimcp::serve(listener, app).await
}

/// `--listen ADDR`, default 127.0.0.1:8000.
fn listen_addr() -> String {
    std::env::args()
        .skip_while(|a| a != "--listen")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into())
}
