//! Auth in front of the MCP endpoint, in-process: challenges, metadata, scopes per tool,
//! dependencies, the principal reaching custom tools.

mod common;

use apimcp::McpServer;
use apimcp::auth::{AuthConfig, AuthRejection, Principal, ScopeRules, StaticTokens};
use apimcp::call::{Content, ToolOutput};
use axum::Router;
use common::mcp::Client;
use http::Request;
use serde_json::{Value, json};
use tower::ServiceExt;

const PRM: &str = "http://localhost/.well-known/oauth-protected-resource/mcp";

fn app(auth: AuthConfig) -> Router {
    let (api, document) = apimcp::demo::app();
    let mcp = McpServer::builder()
        .utoipa(&document)
        .in_process(api.clone())
        .auth(auth)
        .tool(
            "whoami",
            "Who is calling",
            json!({"type": "object"}),
            |_, cx| async move {
                let subject = cx.principal().and_then(|p| p.subject.clone()).unwrap_or_default();
                ToolOutput::success(vec![Content::text(subject)])
            },
        )
        .build()
        .expect("builds");
    mcp.mount_http(api, "/mcp")
}

fn tokens() -> AuthConfig {
    let rules = ScopeRules {
        tools: [("delete_item".to_owned(), vec!["items:admin".to_owned()])].into(),
        implies: [("root".to_owned(), vec!["items:admin".to_owned()])].into(),
        ..ScopeRules::default()
    };
    AuthConfig::new()
        .verifier(StaticTokens::new(["reader-token"]).with_scopes(["items:read"]))
        .authorization_server("https://as.example")
        .scopes_supported(["items:read", "items:admin", "offline_access"])
        .scope_rules(rules)
}

async fn get(router: &Router, path: &str) -> (u16, Value) {
    let request = Request::get(path)
        .header("host", "localhost")
        .body(axum::body::Body::empty())
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn no_token_gets_401_with_the_metadata_url() {
    let router = app(tokens());
    let client = Client::new(router.clone(), "/mcp");
    let reply = client.post(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})).await;
    assert_eq!(reply.status, 401);
    let challenge = reply.headers["www-authenticate"].to_str().expect("ascii");
    assert_eq!(
        challenge,
        format!("Bearer scope=\"items:read items:admin\", resource_metadata=\"{PRM}\"")
    );
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let (status, metadata) = get(&router, path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(
            metadata,
            json!({"resource": "http://localhost/mcp", "authorization_servers": ["https://as.example"],
                "scopes_supported": ["items:read", "items:admin"], "bearer_methods_supported": ["header"]})
        );
    }
}

#[tokio::test]
async fn a_refused_or_misplaced_token_gets_invalid_token() {
    let router = app(tokens());
    let wrong = Client::new(router.clone(), "/mcp").with_header("authorization", "Bearer nope");
    let reply = wrong.post(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})).await;
    assert_eq!(reply.status, 401);
    assert!(
        reply.headers["www-authenticate"]
            .to_str()
            .expect("ascii")
            .contains("error=\"invalid_token\"")
    );
    let in_query = Client::new(router, "/mcp?access_token=reader-token");
    let reply = in_query
        .post(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .await;
    assert_eq!(reply.status, 401, "tokens are never read from the query string");
}

#[tokio::test]
async fn scopes_are_checked_per_tool_with_hierarchies() {
    let mut reader = Client::new(app(tokens()), "/mcp").with_header("authorization", "Bearer reader-token");
    reader.initialize().await;
    let item = reader.call("get_item", json!({"item_id": 1})).await;
    assert_eq!(item["structuredContent"]["name"], "Hammer");
    let refused = reader
        .post(json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "delete_item", "arguments": {"item_id": 1}}}))
        .await;
    assert_eq!(refused.status, 403);
    let challenge = refused.headers["www-authenticate"].to_str().expect("ascii");
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"items:admin\"") && challenge.contains(PRM),
        "{challenge}"
    );
    assert_eq!(
        reader.call("whoami", json!({})).await["content"][0]["text"],
        "static-token-1"
    );

    let root = AuthConfig::new()
        .verifier(StaticTokens::new(["root-token"]).with_scopes(["root"]))
        .scope_rules(ScopeRules {
            tools: [("delete_item".to_owned(), vec!["items:admin".to_owned()])].into(),
            implies: [("root".to_owned(), vec!["items:admin".to_owned()])].into(),
            ..ScopeRules::default()
        });
    let mut admin = Client::new(app(root), "/mcp").with_header("authorization", "Bearer root-token");
    admin.initialize().await;
    let deleted = admin.call("delete_item", json!({"item_id": 2})).await;
    assert_eq!(deleted["isError"], false, "root implies items:admin: {deleted}");
}

#[tokio::test]
async fn tools_list_can_show_only_callable_tools() {
    let mut reader = Client::new(app(tokens().filter_tools_by_scope(true)), "/mcp")
        .with_header("authorization", "Bearer reader-token");
    reader.initialize().await;
    let names = reader.tool_names().await;
    assert!(
        names.contains(&"get_item".to_owned()) && !names.contains(&"delete_item".to_owned()),
        "{names:?}"
    );
}

#[tokio::test]
async fn dependencies_run_before_any_request_and_401_not_403() {
    let config = AuthConfig::new().dependency(|parts: http::request::Parts| async move {
        match parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
            Some("k1") => Ok(Some(Principal {
                subject: Some("key-user".into()),
                ..Principal::default()
            })),
            _ => Err(AuthRejection::unauthorized("an API key is required")),
        }
    });
    let router = app(config);
    let reply = Client::new(router.clone(), "/mcp")
        .post(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .await;
    assert_eq!(reply.status, 401);
    assert!(
        reply.headers["www-authenticate"]
            .to_str()
            .expect("ascii")
            .contains("resource_metadata=")
    );
    let mut keyed = Client::new(router, "/mcp").with_header("x-api-key", "k1");
    keyed.initialize().await;
    assert_eq!(keyed.call("whoami", json!({})).await["content"][0]["text"], "key-user");
}

#[tokio::test]
async fn an_axum_extractor_can_be_the_check() {
    struct ApiKey;
    impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ApiKey {
        type Rejection = http::StatusCode;
        async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
            match parts.headers.get("x-api-key") {
                Some(v) if v == "k1" => Ok(ApiKey),
                _ => Err(http::StatusCode::UNAUTHORIZED),
            }
        }
    }
    let router = app(AuthConfig::new().extractor::<ApiKey>());
    let refused = Client::new(router.clone(), "/mcp")
        .post(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .await;
    assert_eq!(refused.status, 401);
    let mut allowed = Client::new(router, "/mcp").with_header("x-api-key", "k1");
    allowed.initialize().await;
}

#[tokio::test]
async fn legacy_sse_endpoints_are_protected_too() {
    let (api, document) = apimcp::demo::app();
    let mcp = McpServer::builder()
        .utoipa(&document)
        .in_process(api.clone())
        .auth(tokens())
        .build()
        .expect("builds");
    let router = mcp.mount_sse(api, "/sse");
    let (status, _) = get(&router, "/sse").await;
    assert_eq!(status, 401);
    let post = Client::new(router, "/sse/messages/?session_id=x")
        .post(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .await;
    assert_eq!(post.status, 401);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_metadata_uses_the_forwarded_host() {
    let (api, document) = apimcp::demo::app();
    let build = |trust: bool| {
        McpServer::builder()
            .utoipa(&document)
            .in_process(api.clone())
            .auth(tokens())
            .host_guard(apimcp::server::HostGuard::any())
            .trust_forwarded_headers(trust)
            .build()
            .expect("builds")
            .mount_http(api.clone(), "/mcp")
    };
    let fetch = |router: Router| async move {
        let request = Request::get("/.well-known/oauth-protected-resource/mcp")
            .header("host", "10.0.0.5:8000")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "mcp.example.com")
            .body(axum::body::Body::empty())
            .expect("request");
        let response = router.oneshot(request).await.expect("infallible");
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("body")
            .to_bytes();
        serde_json::from_slice::<Value>(&bytes).expect("json")["resource"].clone()
    };
    assert_eq!(fetch(build(true)).await, "https://mcp.example.com/mcp");
    assert_eq!(
        fetch(build(false)).await,
        "http://10.0.0.5:8000/mcp",
        "forwarded headers are ignored unless trusted"
    );
}

#[tokio::test]
async fn a_token_for_this_server_does_not_reach_a_remote_api_unless_asked() {
    let upstream = axum::Router::new().fallback(|headers: http::HeaderMap| async move {
        axum::Json(json!({"authorization": headers.get("authorization").and_then(|v| v.to_str().ok())}))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, upstream).await });
    let document = json!({"openapi": "3.1.0", "info": {"title": "Echo", "version": "1"}, "paths": {"/echo": {"get": {
        "operationId": "echo", "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}}}}});
    let serve = |forward: Option<&[&str]>| {
        let builder = McpServer::builder()
            .openapi_json(document.clone())
            .remote(reqwest::Url::parse(&base).expect("url"))
            .auth(AuthConfig::new().verifier(StaticTokens::new(["t1"])));
        let builder = match forward {
            Some(names) => builder.forward_headers(names.iter().copied()).expect("names"),
            None => builder,
        };
        builder.build().expect("builds").mount_http(Router::new(), "/mcp")
    };
    let seen = |router: Router| async move {
        let mut client = Client::new(router, "/mcp").with_header("authorization", "Bearer t1");
        client.initialize().await;
        client.call("echo", json!({})).await["structuredContent"]["authorization"].clone()
    };
    assert_eq!(seen(serve(None)).await, Value::Null, "not forwarded by default");
    assert_eq!(
        seen(serve(Some(&["authorization"]))).await,
        "Bearer t1",
        "forwarded when named"
    );
}

/// A session answers only the principal that opened it: another valid token with the session
/// id gets 404 (as for an unknown session) on POST, GET and DELETE, and the session lives on.
#[tokio::test]
async fn a_session_answers_only_the_principal_that_opened_it() {
    let auth = AuthConfig::new()
        .verifier(StaticTokens::new(["alice-token", "bob-token"]).with_scopes(["items:read"]))
        .authorization_server("https://as.example");
    let router = app(auth);
    let mut alice = Client::new(router.clone(), "/mcp").with_header("authorization", "Bearer alice-token");
    alice.initialize().await;
    let session = alice.session().expect("a session").to_owned();
    let bob = Client::new(router.clone(), "/mcp")
        .with_header("authorization", "Bearer bob-token")
        .with_header("mcp-session-id", &session);
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let refused = bob.post(list.clone()).await;
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], -32001, "{}", refused.body);
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}}});
    assert_eq!(bob.post(call).await.status, 404);
    for method in [http::Method::GET, http::Method::DELETE] {
        let request = Request::builder()
            .method(method.clone())
            .uri("/mcp")
            .header("host", "localhost")
            .header("accept", "text/event-stream")
            .header("authorization", "Bearer bob-token")
            .header("mcp-session-id", &session)
            .body(axum::body::Body::empty())
            .expect("request");
        let response = router.clone().oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), 404, "{method}");
    }
    let still = alice.post(list).await;
    assert_eq!(still.status, 200, "{}", still.body);
    assert!(still.body.contains("get_item"), "{}", still.body);
    assert_eq!(
        alice.call("whoami", json!({})).await["content"][0]["text"],
        "static-token-1"
    );
}

/// The legacy SSE transport binds its sessions the same way: another principal posting to a
/// session's message URL gets 404, the opener 202.
#[tokio::test]
async fn a_legacy_sse_session_answers_only_its_opener() {
    let (api, document) = apimcp::demo::app();
    let auth = AuthConfig::new()
        .verifier(StaticTokens::new(["alice-token", "bob-token"]))
        .authorization_server("https://as.example");
    let mcp = McpServer::builder()
        .utoipa(&document)
        .in_process(api.clone())
        .auth(auth)
        .build()
        .expect("builds");
    let router = mcp.mount_sse(api, "/sse");
    let open = Request::get("/sse")
        .header("host", "localhost")
        .header("authorization", "Bearer alice-token")
        .body(axum::body::Body::empty())
        .expect("request");
    let response = router.clone().oneshot(open).await.expect("infallible");
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let first = http_body_util::BodyExt::frame(&mut body)
        .await
        .expect("an event")
        .expect("a frame")
        .into_data()
        .expect("data");
    let event = String::from_utf8_lossy(&first).into_owned();
    let endpoint = event
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("an endpoint event: {event}"))
        .to_owned();
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let as_bob = Client::new(router.clone(), &endpoint).with_header("authorization", "Bearer bob-token");
    assert_eq!(as_bob.post(ping.clone()).await.status, 404);
    let as_alice = Client::new(router, &endpoint).with_header("authorization", "Bearer alice-token");
    let accepted = as_alice.post(ping).await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    drop(body);
}
