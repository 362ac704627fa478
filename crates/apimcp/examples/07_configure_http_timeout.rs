//! FastAPI-MCP's example 07: a longer timeout for slow endpoints. A call that takes longer
//! than the timeout is a tool error that says so, and the server stays healthy.
//!
//! Run: `cargo run -p apimcp --example 07_configure_http_timeout`.

use std::time::Duration;

use apimcp::McpServer;
use axum::Router;
use axum::routing::get;
use serde_json::json;

/// An API with a slow endpoint (`GET /slow?seconds=N`) and MCP at `/mcp`, with `timeout`.
pub fn app(timeout: Duration) -> Router {
    let api = Router::new().route(
        "/slow",
        get(
            |axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, f64>>| async move {
                let seconds = q.get("seconds").copied().unwrap_or(1.0);
                tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
                axum::Json(json!({"slept": seconds}))
            },
        ),
    );
    let document = json!({"openapi": "3.1.0", "info": {"title": "Slow API", "version": "1"},
        "paths": {"/slow": {"get": {"operationId": "slow", "summary": "Sleep, then answer",
            "parameters": [{"name": "seconds", "in": "query", "schema": {"type": "number", "minimum": 0, "maximum": 60}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}}}}});
    let mcp = McpServer::builder()
        .openapi_json(document)
        .in_process(api.clone())
        .timeout(timeout)
        .build()
        .expect("the document converts");
    mcp.mount_http(api, "/mcp")
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen_addr()).await?;
    eprintln!("MCP at http://{}/mcp (timeout 20 s)", listener.local_addr()?);
    apimcp::serve(listener, app(Duration::from_secs(20))).await
}

/// `--listen ADDR`, default 127.0.0.1:8000.
fn listen_addr() -> String {
    std::env::args()
        .skip_while(|a| a != "--listen")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into())
}
