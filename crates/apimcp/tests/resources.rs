//! Resource subscriptions: a session's `resources/subscribe` and a 2026-07-28
//! `subscriptions/listen` stream's `resourceSubscriptions` are told when the app says a resource
//! changed, and only of the resources they asked for.

mod common;

use std::time::Duration;

use apimcp::McpServer;
use apimcp::call::ResourceContents;
use apimcp::server::Resource;
use axum::body::Body;
use common::mcp::Client;
use http::Request;
use serde_json::{Value, json};

const NOTES: &str = "test://notes";
const TODO: &str = "test://todo";
const WAIT: Duration = Duration::from_secs(5);

fn server() -> McpServer {
    let (api, document) = apimcp::demo::app();
    let mut builder = McpServer::builder().utoipa(&document).in_process(api);
    for uri in [NOTES, TODO] {
        let resource = Resource {
            uri: uri.into(),
            name: uri.trim_start_matches("test://").into(),
            description: None,
            mime_type: Some("text/plain".into()),
        };
        builder = builder.resource(resource, |uri, _| async move {
            Ok(vec![ResourceContents::text(uri, "text/plain", "some text")])
        });
    }
    builder.build().expect("server")
}

fn request(id: u64, method: &str, uri: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": {"uri": uri}})
}

#[tokio::test]
async fn a_session_hears_of_the_resources_it_subscribed_to_and_no_others() {
    let mcp = server();
    let mut client = Client::new(mcp.mount_http(Default::default(), "/mcp"), "/mcp");
    client.initialize().await;
    for (id, uri) in [(2, NOTES), (3, TODO)] {
        let reply = client.post(request(id, "resources/subscribe", uri)).await.json();
        assert_eq!(reply["result"], json!({}), "{reply}");
    }
    let reply = client.post(request(4, "resources/unsubscribe", NOTES)).await.json();
    assert_eq!(reply["result"], json!({}), "{reply}");
    let unknown = client
        .post(request(5, "resources/subscribe", "test://nothing"))
        .await
        .json();
    assert_eq!(unknown["error"]["code"], -32002, "{unknown}");

    // Told in order: the unsubscribed resource's change must not come before the other's.
    mcp.notify_resource_updated(NOTES);
    mcp.notify_resource_updated(TODO);
    let heard = client.next_notification(WAIT).await.expect("a notification");
    assert_eq!(heard["method"], "notifications/resources/updated", "{heard}");
    assert_eq!(heard["params"]["uri"], TODO, "{heard}");
}

#[tokio::test]
async fn a_listen_stream_hears_of_its_resource_subscriptions_with_its_subscription_id() {
    let mcp = server();
    let client = Client::new(mcp.mount_http(Default::default(), "/mcp"), "/mcp");
    let listen = json!({
        "jsonrpc": "2.0",
        "id": "listen-1",
        "method": "subscriptions/listen",
        "params": {
            "notifications": {"resourceSubscriptions": [TODO]},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
            },
        },
    });
    let request = Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "subscriptions/listen")
        .body(Body::from(listen.to_string()))
        .expect("request");
    let mut messages = client.stream(request).await;
    let ack = tokio::time::timeout(WAIT, messages.recv()).await.ok().flatten();
    let ack = ack.expect("an acknowledgement");
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged", "{ack}");

    mcp.notify_resource_updated(NOTES);
    mcp.notify_resource_updated(TODO);
    let heard = tokio::time::timeout(WAIT, messages.recv()).await.ok().flatten();
    let heard = heard.expect("a notification");
    assert_eq!(heard["method"], "notifications/resources/updated", "{heard}");
    assert_eq!(heard["params"]["uri"], TODO, "{heard}");
    assert_eq!(
        heard["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "listen-1",
        "{heard}"
    );
}
