//! Calls built from real documents (Stripe, Swagger 2.0 Petstore), as they reach a recording
//! service: the exact query, body and headers the real API would read.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use apimcp::McpServer;
use apimcp::server::Context;
use apimcp::upstream::{Credential, Secret};
use axum::body::Body;
use http::Request;
use serde_json::{Value, json};

/// One request as the API saw it.
#[derive(Clone, Debug, Default)]
struct Seen {
    uri: String,
    authorization: Option<String>,
    user_agent: Option<String>,
    api_key: Option<String>,
    content_type: Option<String>,
    body: String,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A service that records every request and answers `{}`.
fn recorder(
    log: Log,
) -> impl tower::Service<Request<Body>, Response = http::Response<Body>, Error = Infallible, Future: Send>
+ Clone
+ Send
+ Sync
+ 'static {
    tower::service_fn(move |request: Request<Body>| {
        let log = log.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
            let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let seen = Seen {
                uri: parts.uri.to_string(),
                authorization: header("authorization"),
                user_agent: header("user-agent"),
                api_key: header("api_key"),
                content_type: header("content-type"),
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            log.lock().expect("log").push(seen);
            let mut response = http::Response::new(Body::from("{}"));
            response
                .headers_mut()
                .insert("content-type", http::HeaderValue::from_static("application/json"));
            Ok::<_, Infallible>(response)
        }
    })
}

async fn call(mcp: &McpServer, log: &Log, tool: &str, arguments: Value) -> Seen {
    let arguments = arguments.as_object().cloned();
    // The recorder's `{}` matches no output schema; the request is what is checked here.
    let output = mcp.call_tool(tool, arguments, Context::default()).await;
    assert!(output.is_some(), "{tool} exists");
    log.lock().expect("log").pop().expect("a request reached the API")
}

#[tokio::test]
async fn stripe_reads_deep_objects_in_forms_and_queries_with_its_key() {
    let log = Log::default();
    let mcp = McpServer::builder()
        .openapi_file(common::real_document("stripe.json"))
        .in_process(recorder(log.clone()))
        .credential("bearerAuth", Credential::Value(Secret::new("sk_test_123")))
        .build()
        .expect("builds");
    let args = json!({"email": "ada@example.com", "address": {"city": "Berlin", "line1": "Main St 1"},
        "metadata": {"order_id": "6735"}, "expand": ["tax", "invoice_settings.default_payment_method"]});
    let created = call(&mcp, &log, "PostCustomers", args).await;
    assert_eq!(created.uri, "/v1/customers");
    assert_eq!(
        created.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        created.body,
        "address%5Bcity%5D=Berlin&address%5Bline1%5D=Main+St+1&email=ada%40example.com\
         &expand%5B%5D=tax&expand%5B%5D=invoice_settings.default_payment_method&metadata%5Border_id%5D=6735"
    );
    assert_eq!(
        created.authorization.as_deref(),
        Some("Bearer sk_test_123"),
        "basicAuth unmet: bearerAuth"
    );
    assert!(created.user_agent.unwrap_or_default().starts_with("apimcp/"));

    let listed = call(
        &mcp,
        &log,
        "GetCustomers",
        json!({"expand": ["data.tax"], "created": {"gte": 1}, "limit": 3}),
    )
    .await;
    assert_eq!(
        listed.uri,
        "/v1/customers?created%5Bgte%5D=1&expand%5B%5D=data.tax&limit=3"
    );
}

#[tokio::test]
async fn swagger_2_collection_format_multi_repeats_the_name() {
    let log = Log::default();
    let mcp = McpServer::builder()
        .openapi_file(common::real_document("examples/2.0-petstore.json"))
        .in_process(recorder(log.clone()))
        .credential("api_key", Credential::Value(Secret::new("special-key")))
        .build()
        .expect("builds");
    let found = call(&mcp, &log, "findPetsByStatus", json!({"status": ["available", "sold"]})).await;
    assert!(
        found.uri.ends_with("/pet/findByStatus?status=available&status=sold"),
        "{}",
        found.uri
    );
    let pet = call(&mcp, &log, "getPetById", json!({"petId": 1})).await;
    assert_eq!(
        pet.api_key.as_deref(),
        Some("special-key"),
        "getPetById's security is api_key"
    );
}
