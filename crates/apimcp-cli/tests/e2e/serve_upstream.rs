//! `apimcp serve` against a real upstream HTTP server started by the test: path-encoding
//! safety, header forwarding, query styles, form and multipart bodies, timeouts, upstream
//! down, stateless mode, unknown sessions, foreign Origin, legacy SSE errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::routing::{any, get};
use serde_json::{Value, json};

use crate::util::{Apimcp, Http, eventually, serve_app};

/// The upstream: echoes what reached it; counts requests to /admin, which no tool exposes.
struct Upstream {
    base: String,
    admin_hits: Arc<AtomicUsize>,
}

async fn echo(request: Request) -> axum::Json<Value> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    axum::Json(json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "authorization": header("authorization"),
        "x_trace": header("x-trace"),
        "x_tenant": header("x-tenant"),
        "cookie": header("cookie"),
        "content_type": header("content-type"),
        "body": String::from_utf8_lossy(&body),
    }))
}

fn start_upstream() -> Upstream {
    let admin_hits = Arc::new(AtomicUsize::new(0));
    let hits = admin_hits.clone();
    let app = Router::new()
        .route(
            "/admin",
            any(move || {
                hits.fetch_add(1, Ordering::SeqCst);
                async { "ADMIN" }
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .fallback(echo);
    let addr = serve_app(app);
    Upstream {
        base: format!("http://{addr}"),
        admin_hits,
    }
}

fn spec_file() -> String {
    let spec = json!({
        "openapi": "3.1.0", "info": {"title": "Echo", "version": "2.0.0", "description": "not the version"},
        "paths": {
            "/echo/{id}": {"get": {"operationId": "echo", "parameters": [
                {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
                {"name": "filter", "in": "query", "style": "deepObject", "schema": {"type": "object", "additionalProperties": {"type": "string"}}},
                {"name": "X-Tenant", "in": "header", "schema": {"type": "string"}},
                {"name": "session", "in": "cookie", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
            "/form": {"post": {"operationId": "form", "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object", "properties": {"user": {"type": "string"}, "n": {"type": "integer"}}}}}}, "responses": {"200": {"description": "ok"}}}},
            "/upload": {"post": {"operationId": "upload", "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {
                "type": "object", "properties": {"file": {"type": "string", "format": "binary"}, "note": {"type": "string"}}}}}}, "responses": {"200": {"description": "ok"}}}},
            "/slow": {"get": {"operationId": "slow", "responses": {"200": {"description": "ok"}}}}
        }
    });
    let path = std::env::temp_dir().join(format!(
        "apimcp-echo-{}-{:?}.json",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, spec.to_string()).expect("write spec");
    path.display().to_string()
}

fn serve(upstream: &str, mode: &[&str], extra: &[&str]) -> Apimcp {
    let spec = spec_file();
    let mut args = vec!["serve", "--spec", spec.as_str(), "--upstream", upstream];
    args.extend_from_slice(mode);
    args.extend_from_slice(extra);
    Apimcp::cmd(&args).start()
}

fn echoed(result: &Value) -> Value {
    assert_eq!(result["result"]["isError"], false, "{result}");
    serde_json::from_str(result["result"]["content"][0]["text"].as_str().expect("text")).expect("echo JSON")
}

fn path_parameters_never_escape_their_segment(mode: &[&str]) {
    let upstream = start_upstream();
    let server = serve(&upstream.base, mode, &[]);
    let http = Http::new();
    let mcp = server.url("/mcp");
    let session = http.session(&mcp);
    for id in ["../admin", "..%2Fadmin", "a/../../admin", "x?y#z"] {
        let seen = echoed(&http.call(&mcp, Some(&session), "echo", json!({ "id": id })));
        assert!(
            seen["path"].as_str().unwrap_or("").starts_with("/echo/"),
            "{id}: {seen}"
        );
    }
    let refused = http.call(&mcp, Some(&session), "echo", json!({"id": ".."}));
    assert_eq!(refused["result"]["isError"], true);
    assert_eq!(upstream.admin_hits.load(Ordering::SeqCst), 0, "/admin was reached");
}

fn headers_query_styles_and_cookies_reach_the_api(mode: &[&str]) {
    let upstream = start_upstream();
    let server = serve(&upstream.base, mode, &[]);
    let http = Http::new();
    let mcp = server.url("/mcp");
    let session = http.session(&mcp);
    let args = json!({"id": "1", "tags": ["a", "b c"], "filter": {"k": "v"}, "X-Tenant": "acme", "session": "s1"});
    let reply = http.post(
        &mcp,
        &[
            ("mcp-session-id", &session),
            ("authorization", "Bearer abc"),
            ("x-trace", "t1"),
        ],
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "echo", "arguments": args}}),
    );
    let seen = echoed(&reply.json());
    assert_eq!(seen["query"], "tags=a&tags=b%20c&filter%5Bk%5D=v");
    assert_eq!(
        seen["authorization"], "Bearer abc",
        "authorization is forwarded by default"
    );
    assert_eq!(seen["x_trace"], Value::Null, "other headers are not");
    assert_eq!(seen["x_tenant"], "acme");
    assert_eq!(seen["cookie"], "session=s1");
    let injected = http.call(
        &mcp,
        Some(&session),
        "echo",
        json!({"id": "1", "X-Tenant": "a\r\nX-Admin: 1"}),
    );
    assert_eq!(injected["result"]["isError"], true);
    assert!(
        injected["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("X-Tenant")
    );
}

fn forward_headers_is_an_allow_list(mode: &[&str]) {
    let upstream = start_upstream();
    let server = serve(&upstream.base, mode, &["--forward-headers", "x-trace"]);
    let http = Http::new();
    let mcp = server.url("/mcp");
    let session = http.session(&mcp);
    let reply = http.post(
        &mcp,
        &[("mcp-session-id", &session), ("authorization", "Bearer abc"), ("x-trace", "t1")],
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "echo", "arguments": {"id": "1"}}}),
    );
    let seen = echoed(&reply.json());
    assert_eq!(
        (seen["x_trace"].as_str(), seen["authorization"].as_str()),
        (Some("t1"), None)
    );
}

fn form_and_multipart_bodies(mode: &[&str]) {
    let upstream = start_upstream();
    let server = serve(&upstream.base, mode, &[]);
    let http = Http::new();
    let mcp = server.url("/mcp");
    let session = http.session(&mcp);
    let seen = echoed(&http.call(&mcp, Some(&session), "form", json!({"user": "a b", "n": 3})));
    assert_eq!(seen["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(seen["body"], "user=a+b&n=3");
    let seen = echoed(&http.call(
        &mcp,
        Some(&session),
        "upload",
        json!({"file": "aGVsbG8=", "note": "hi"}),
    ));
    assert!(
        seen["content_type"]
            .as_str()
            .unwrap_or("")
            .starts_with("multipart/form-data; boundary=")
    );
    let body = seen["body"].as_str().unwrap_or("");
    assert!(
        body.contains("filename=\"file\"") && body.contains("\r\n\r\nhello\r\n"),
        "{body}"
    );
}

fn a_slow_api_times_out_and_the_server_stays_healthy(mode: &[&str]) {
    let upstream = start_upstream();
    let server = serve(&upstream.base, mode, &["--timeout-secs", "1"]);
    let http = Http::new();
    let mcp = server.url("/mcp");
    let session = http.session(&mcp);
    let start = Instant::now();
    let slow = http.call(&mcp, Some(&session), "slow", json!({}));
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "answered after {:?}",
        start.elapsed()
    );
    assert_eq!(slow["result"]["isError"], true);
    assert!(
        slow["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("did not answer within 1 s"),
        "{slow}"
    );
    echoed(&http.call(&mcp, Some(&session), "echo", json!({"id": "after"})));
}

fn an_unreachable_api_is_a_tool_error(mode: &[&str]) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let server = serve(&dead, mode, &[]);
    let http = Http::new();
    let mcp = server.url("/mcp");
    let session = http.session(&mcp);
    let result = http.call(&mcp, Some(&session), "echo", json!({"id": "1"}));
    assert_eq!(result["result"]["isError"], true);
    assert!(
        result["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("could not be reached"),
        "{result}"
    );
}

fn stateless_mode_needs_no_session(mode: &[&str]) {
    let upstream = start_upstream();
    let server = serve(&upstream.base, mode, &["--stateless"]);
    let http = Http::new();
    let reply = http.post(
        &server.url("/mcp"),
        &[("mcp-protocol-version", "2025-06-18")],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"id": "x"}}}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.headers.get("mcp-session-id").is_none());
    assert_eq!(reply.headers["content-type"], "application/json");
    echoed(&reply.json());
}

fn sessions_hosts_and_versions(mode: &[&str]) {
    let upstream = start_upstream();
    let server = serve(&upstream.base, mode, &[]);
    let http = Http::new();
    let mcp = server.url("/mcp");
    let init = http.post(
        &mcp,
        &[],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}),
    );
    let info = init.json();
    assert_eq!(
        info["result"]["serverInfo"],
        json!({"name": "Echo", "version": "2.0.0"}),
        "the API version, not its description"
    );
    let unknown = http.post(
        &mcp,
        &[("mcp-session-id", "no-such-session")],
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    );
    assert_eq!(unknown.status, 404);
    let foreign = http.post(
        &mcp,
        &[("origin", "http://evil.example")],
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    );
    assert_eq!(foreign.status, 403);
    assert!(
        eventually(Duration::from_secs(5), || server.log().contains("public_url")),
        "the refusal is logged with what to set: {}",
        server.log()
    );
    let get = http.get(&server.url("/sse/messages/?session_id=nope"));
    assert_eq!(get.status, 405, "messages are POSTed");
    let unknown_sse = http.post(
        &server.url("/sse/messages/?session_id=nope"),
        &[],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
    );
    assert_eq!(unknown_sse.status, 404);
}

/// Every test runs twice: through the fast path and through rmcp's service alone.
macro_rules! both_paths {
    ($($name:ident),* $(,)?) => {
        mod fast_path {
            $(#[test] fn $name() { super::$name(&[]) })*
        }
        mod rmcp_path {
            $(#[test] fn $name() { super::$name(&["--no-fast-path"]) })*
        }
    };
}

both_paths!(
    path_parameters_never_escape_their_segment,
    headers_query_styles_and_cookies_reach_the_api,
    forward_headers_is_an_allow_list,
    form_and_multipart_bodies,
    a_slow_api_times_out_and_the_server_stays_healthy,
    an_unreachable_api_is_a_tool_error,
    stateless_mode_needs_no_session,
    sessions_hosts_and_versions
);
