//! FastAPI-MCP's example 03: choose which endpoints become tools, by operation or by tag.
//! Four servers on one app show the four filters; include and exclude of the same kind
//! together is a configuration error.
//!
//! Run: `cargo run -p apimcp --example 03_custom_exposed_endpoints`.

use apimcp::McpServer;
use apimcp::openapi::{ConvertOptions, OperationFilter};
use axum::Router;

fn with_filter(api: &Router, document: &utoipa::openapi::OpenApi, filter: OperationFilter) -> McpServer {
    let options = ConvertOptions::default().filter(filter);
    McpServer::builder()
        .utoipa(document)
        .in_process(api.clone())
        .convert_options(options)
        .build()
        .expect("the items document converts")
}

fn names(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|s| (*s).to_owned()).collect())
}

/// `/include-operations-mcp`: only get_item and list_items; `/exclude-operations-mcp`: all but
/// create, update and delete; `/include-tags-mcp`: the `items` tag; `/exclude-tags-mcp`: all but
/// the `search` tag.
pub fn app() -> Router {
    let (api, document) = apimcp::demo::app();
    let servers = [
        (
            "/include-operations-mcp",
            OperationFilter {
                include_operations: names(&["get_item", "list_items"]),
                ..Default::default()
            },
        ),
        (
            "/exclude-operations-mcp",
            OperationFilter {
                exclude_operations: names(&["create_item", "update_item", "delete_item"]),
                ..Default::default()
            },
        ),
        (
            "/include-tags-mcp",
            OperationFilter {
                include_tags: names(&["items"]),
                ..Default::default()
            },
        ),
        (
            "/exclude-tags-mcp",
            OperationFilter {
                exclude_tags: names(&["search"]),
                ..Default::default()
            },
        ),
    ];
    let mut app = api.clone();
    for (path, filter) in servers {
        app = with_filter(&api, &document, filter).mount_http(app, path);
    }
    app
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen_addr()).await?;
    eprintln!(
        "four MCP endpoints at http://{}/{{include,exclude}}-{{operations,tags}}-mcp",
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
