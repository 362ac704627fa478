//! An axum app built with utoipa's `OpenApiRouter`: routes and OpenAPI document come from the
//! same code, so the tools can never drift from the endpoints.
//!
//! Run: `cargo run -p apimcp --example utoipa_router`.

use apimcp::McpServer;
use axum::Json;
use axum::Router;
use axum::extract::Path;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A greeting.
#[derive(Serialize, ToSchema)]
struct Greeting {
    /// The text.
    message: String,
}

/// Greet someone
///
/// Returns a greeting for `name`.
#[utoipa::path(get, path = "/hello/{name}", operation_id = "hello",
    params(("name" = String, Path, description = "Who to greet")),
    responses((status = 200, description = "The greeting", body = Greeting)))]
async fn hello(Path(name): Path<String>) -> Json<Greeting> {
    Json(Greeting {
        message: format!("Hello, {name}!"),
    })
}

#[derive(OpenApi)]
#[openapi(info(title = "Greeter", version = "0.1.0"))]
struct ApiDoc;

/// The greeter with MCP at `/mcp`.
pub fn app() -> Router {
    let (api, document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(hello))
        .split_for_parts();
    let mcp = McpServer::builder()
        .utoipa(&document)
        .in_process(api.clone())
        .build()
        .expect("the greeter document converts");
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
