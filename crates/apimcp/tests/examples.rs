//! Every example, driven in-process through its `app()` by an MCP client.
#![allow(unreachable_pub)] // the examples' `pub fn app()` are public in their own crates

mod common;

use std::time::Duration;

use common::mcp::Client;
use serde_json::json;

#[path = "../examples/01_basic_usage.rs"]
#[allow(dead_code)]
mod basic;
#[path = "../examples/12_bearer_layer_on_rest.rs"]
#[allow(dead_code)]
mod bearer_rest;
#[path = "../examples/06_custom_mcp_router.rs"]
#[allow(dead_code)]
mod custom_router;
#[path = "../examples/03_custom_exposed_endpoints.rs"]
#[allow(dead_code)]
mod exposed;
#[path = "../examples/02_full_schema_description.rs"]
#[allow(dead_code)]
mod full_schema;
#[path = "../examples/08_auth_example_token_passthrough.rs"]
#[allow(dead_code)]
mod passthrough;
#[path = "../examples/05_reregister_tools.rs"]
#[allow(dead_code)]
mod reregister;
#[path = "../examples/04_separate_server.rs"]
#[allow(dead_code)]
mod separate;
#[path = "../examples/07_configure_http_timeout.rs"]
#[allow(dead_code)]
mod timeout;
#[path = "../examples/utoipa_router.rs"]
#[allow(dead_code)]
mod utoipa_router;

#[tokio::test]
async fn basic_usage_serves_the_items_tools() {
    let mut client = Client::new(basic::app(), "/mcp");
    let info = client.initialize().await;
    assert_eq!(info["serverInfo"], json!({"name": "Item API", "version": "1.0.0"}));
    assert_eq!(
        client.tool_names().await,
        [
            "list_items",
            "create_item",
            "search_items",
            "get_item",
            "update_item",
            "delete_item"
        ]
    );
    let created = client
        .call(
            "create_item",
            json!({"id": 42, "name": "Level", "price": 5.5, "tags": ["tool"]}),
        )
        .await;
    assert_eq!(created["structuredContent"]["name"], "Level", "{created}");
    let fetched = client.call("get_item", json!({"item_id": 42})).await;
    assert_eq!(fetched["structuredContent"]["price"], 5.5);
    let deleted = client.call("delete_item", json!({"item_id": 42})).await;
    assert_eq!(deleted["structuredContent"]["message"], "Item deleted successfully");
    let gone = client.call("get_item", json!({"item_id": 42})).await;
    assert_eq!(gone["isError"], true);
}

#[tokio::test]
async fn full_schema_description_describes_every_response() {
    let mut client = Client::new(full_schema::app(), "/mcp");
    client.initialize().await;
    let tools = client.tools().await;
    let get_item = tools.iter().find(|t| t["name"] == "get_item").expect("get_item");
    let description = get_item["description"].as_str().expect("text");
    assert!(description.contains("**404**: Item not found"), "{description}");
    assert!(description.contains("**Output Schema:**"), "{description}");
}

#[tokio::test]
async fn custom_exposed_endpoints_filter_the_tools() {
    let app = exposed::app();
    let cases = [
        ("/include-operations-mcp", vec!["list_items", "get_item"]),
        (
            "/exclude-operations-mcp",
            vec!["list_items", "search_items", "get_item"],
        ),
        (
            "/include-tags-mcp",
            vec!["list_items", "create_item", "get_item", "update_item", "delete_item"],
        ),
        (
            "/exclude-tags-mcp",
            vec!["list_items", "create_item", "get_item", "update_item", "delete_item"],
        ),
    ];
    for (path, expected) in cases {
        let mut client = Client::new(app.clone(), path);
        client.initialize().await;
        assert_eq!(client.tool_names().await, expected, "{path}");
    }
    let mut client = Client::new(app, "/include-operations-mcp");
    client.initialize().await;
    let reply = client
        .post(json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "delete_item", "arguments": {"item_id": 1}}}))
        .await;
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("Unknown tool"),
        "filtered tools are not callable"
    );
}

#[tokio::test]
async fn separate_server_calls_the_api_app() {
    let (api, mcp_app) = separate::apps();
    let mut client = Client::new(mcp_app, "/mcp");
    client.initialize().await;
    let item = client.call("get_item", json!({"item_id": 4})).await;
    assert_eq!(item["structuredContent"]["name"], "Saw");
    let list = client
        .post(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}))
        .await;
    assert_eq!(list.json()["id"], 7);
    assert_eq!(list.json()["result"]["tools"].as_array().map(Vec::len), Some(6));
    let on_api = Client::new(api, "/mcp");
    let reply = on_api.post(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})).await;
    assert_eq!(reply.status, 404, "the API app has no MCP endpoint");
}

#[tokio::test]
async fn reregistered_tools_appear_and_sessions_are_told() {
    let (api, mcp) = reregister::app();
    let (_, document) = apimcp::demo::app();
    let mut client = Client::new(mcp.mount_http(Default::default(), "/mcp"), "/mcp");
    client.initialize().await;
    assert_eq!(client.tool_names().await.len(), 6);
    let watcher = client.next_notification(Duration::from_secs(5));
    let refresh = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        reregister::add_endpoint(&mcp, api, &document)
    };
    let (notification, _grown) = tokio::join!(watcher, refresh);
    assert_eq!(
        notification.map(|n| n["method"].clone()),
        Some(json!("notifications/tools/list_changed"))
    );
    assert!(client.tool_names().await.contains(&"new_endpoint".to_owned()));
    let result = client.call("new_endpoint", json!({})).await;
    assert_eq!(result["structuredContent"]["message"], "Hello, world!");
}

#[tokio::test]
async fn custom_mcp_router_mounts_under_a_prefix() {
    let mut client = Client::new(custom_router::app(), "/other/route/mcp");
    client.initialize().await;
    let item = client.call("get_item", json!({"item_id": 1})).await;
    assert_eq!(item["structuredContent"]["name"], "Hammer");
    let mut slashed = Client::new(custom_router::app(), "/other/route/mcp/");
    slashed.initialize().await;
    let item = slashed.call("get_item", json!({"item_id": 2})).await;
    assert_eq!(
        item["structuredContent"]["id"], 2,
        "a trailing slash reaches the same endpoint"
    );
    let beyond = Client::new(custom_router::app(), "/other/route/mcp/extra");
    let reply = beyond.post(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})).await;
    assert_eq!(reply.status, 404, "only the endpoint's own path is MCP");
}

#[tokio::test]
async fn configured_timeout_bounds_slow_calls() {
    let mut client = Client::new(timeout::app(Duration::from_millis(300)), "/mcp");
    client.initialize().await;
    let quick = client.call("slow", json!({"seconds": 0})).await;
    assert_eq!(quick["isError"], false);
    let started = std::time::Instant::now();
    let slow = client.call("slow", json!({"seconds": 2})).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(slow["isError"], true);
    assert!(
        slow["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("did not answer within 0.3 s"),
        "{slow}"
    );
    let again = client.call("slow", json!({"seconds": 0})).await;
    assert_eq!(again["isError"], false, "healthy after a timeout");
}

#[tokio::test]
async fn token_passthrough_reaches_the_api() {
    let mut with_token =
        Client::new(passthrough::app(), "/mcp").with_header("authorization", &format!("Bearer {}", passthrough::TOKEN));
    with_token.initialize().await;
    let item = with_token.call("get_item", json!({"item_id": 1})).await;
    assert_eq!(item["structuredContent"]["name"], "Hammer", "{item}");
    let mut without = Client::new(passthrough::app(), "/mcp");
    without.initialize().await;
    let refused = without.call("get_item", json!({"item_id": 1})).await;
    assert_eq!(refused["isError"], true);
    assert!(
        refused["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("HTTP 401"),
        "{refused}"
    );
}

#[tokio::test]
async fn utoipa_router_tools_come_from_the_routes() {
    let mut client = Client::new(utoipa_router::app(), "/mcp");
    client.initialize().await;
    let hello = client.call("hello", json!({"name": "apimcp"})).await;
    assert_eq!(hello["structuredContent"]["message"], "Hello, apimcp!");
}

#[tokio::test]
async fn a_server_can_be_built_from_a_file() {
    let (api, document) = apimcp::demo::app();
    let path = std::env::temp_dir().join(format!("apimcp-items-{}.yaml", std::process::id()));
    let yaml = format!(
        "# the items document, as YAML\n{}",
        serde_json::to_string(&document).expect("json")
    );
    std::fs::write(&path, yaml).expect("write");
    let mcp = apimcp::McpServer::builder()
        .openapi_file(&path)
        .in_process(api.clone())
        .build()
        .expect("builds");
    assert_eq!(mcp.tool_count(), 6);
    let missing = apimcp::McpServer::builder()
        .openapi_file("/nonexistent/openapi.json")
        .in_process(api)
        .build();
    assert!(
        missing
            .expect_err("no file")
            .to_string()
            .contains("cannot read /nonexistent/openapi.json")
    );
}

/// The bearer layer protects a plain axum router: 401 with the challenge without a token or
/// with a wrong one, the principal in the handler with a good one.
#[tokio::test]
async fn the_bearer_layer_protects_a_plain_rest_router() {
    use tower::ServiceExt;
    let get = |token: Option<&str>| {
        let mut request = axum::http::Request::get("/whoami");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        bearer_rest::app().oneshot(request.body(axum::body::Body::empty()).expect("request"))
    };
    let missing = get(None).await.expect("infallible");
    assert_eq!(missing.status(), 401);
    let challenge = missing.headers()["www-authenticate"].to_str().expect("ascii");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains(r#"resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource""#),
        "{challenge}"
    );
    assert!(challenge.contains(r#"scope="items:read""#), "{challenge}");
    let wrong = get(Some("guess")).await.expect("infallible");
    assert_eq!(wrong.status(), 401);
    let wrong_challenge = wrong.headers()["www-authenticate"].to_str().expect("ascii");
    assert!(
        wrong_challenge.contains(r#"error="invalid_token""#),
        "{wrong_challenge}"
    );
    let ok = get(Some(bearer_rest::READER)).await.expect("infallible");
    assert_eq!(ok.status(), 200);
    let body = axum::body::to_bytes(ok.into_body(), 1024).await.expect("body");
    assert_eq!(&body[..], b"static-token-1");
}
