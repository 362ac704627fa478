//! Hostile input on every MCP path (the fast path, rmcp's service, legacy SSE): each refusal
//! has the right status and JSON-RPC error, and the server answers a normal call afterwards.

mod common;

use apimcp::McpServer;
use apimcp::test_helpers as rpc;
use axum::Router;
use axum::body::Body;
use common::mcp::Client;
use http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The demo API with MCP at `/mcp` and legacy SSE at `/sse`.
fn app(fast_path: bool) -> Router {
    app_with(|builder| builder.fast_path(fast_path))
}

fn app_with(options: impl FnOnce(apimcp::McpServerBuilder) -> apimcp::McpServerBuilder) -> Router {
    let (api, document) = apimcp::demo::app();
    let builder = McpServer::builder().utoipa(&document).in_process(api.clone());
    let mcp = options(builder).build().expect("server");
    mcp.mount_sse(mcp.mount_http(api, "/mcp"), "/sse")
}

/// Sends `body` to `path` with `headers` (host, JSON content type and both Accept types unless
/// overridden); the status and the JSON body.
async fn send(router: &Router, path: &str, headers: &[(&str, &str)], body: impl Into<Body>) -> (u16, Value) {
    let mut request = Request::post(path).header("host", "localhost");
    let defaults = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ];
    for (name, value) in defaults {
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            request = request.header(name, value);
        }
    }
    for (name, value) in headers.iter().filter(|(_, v)| !v.is_empty()) {
        request = request.header(*name, *value);
    }
    let request = request.body(body.into()).expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    // rmcp's path may answer as an event stream: the message is its last `data:`.
    let text = String::from_utf8_lossy(&bytes);
    let message = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or(&text);
    let json = serde_json::from_str(message).unwrap_or_else(|_| panic!("not JSON: {bytes:?}"));
    (status, json)
}

/// A session's POSTs answer a normal call.
async fn still_answers(router: &Router) {
    let mut client = Client::new(router.clone(), "/mcp");
    client.initialize().await;
    let result = client.call("get_item", json!({"item_id": 1})).await;
    assert_eq!(result["structuredContent"]["id"], 1, "{result}");
}

fn assert_error(got: &(u16, Value), status: u16, code: i64) {
    let (s, body) = got;
    assert_eq!((*s, body["error"]["code"].as_i64()), (status, Some(code)), "{body}");
    assert_eq!(body["id"], Value::Null, "{body}");
    assert_eq!(body["jsonrpc"], "2.0");
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(message.len() > 20, "a message a person can act on: {body}");
}

#[tokio::test]
async fn what_is_not_json_is_a_parse_error_on_both_paths() {
    let deep = "[".repeat(200_000);
    for fast in [true, false] {
        let router = app(fast);
        for body in [
            &b"{not json"[..],
            b"",
            b"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}",
            deep.as_bytes(),
        ] {
            let got = send(&router, "/mcp", &[], body.to_vec()).await;
            assert_error(&got, 400, -32700);
        }
        still_answers(&router).await;
    }
}

#[tokio::test]
async fn envelopes_that_break_json_rpc_are_invalid_requests() {
    let bodies = [
        json!({"jsonrpc": "2.0", "id": {"a": 1}, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 1}),
        json!({"id": 1, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": 5}),
        json!([rpc::tools_list(1)]),
    ];
    for fast in [true, false] {
        let router = app(fast);
        let mut client = Client::new(router.clone(), "/mcp");
        client.initialize().await;
        let session = client.session().expect("a session").to_owned();
        for body in &bodies {
            let got = send(&router, "/mcp", &[("mcp-session-id", &session)], body.to_string()).await;
            assert_error(&got, 400, -32600);
        }
        still_answers(&router).await;
    }
}

#[tokio::test]
async fn wrong_media_types_and_unknown_sessions_are_json_rpc_errors() {
    let router = app(true);
    let body = rpc::tools_list(1).to_string();
    let got = send(&router, "/mcp", &[("content-type", "text/plain")], body.clone()).await;
    assert_error(&got, 415, -32600);
    let got = send(&router, "/mcp", &[("accept", "application/json")], body.clone()).await;
    assert_error(&got, 406, -32600);
    let got = send(&router, "/mcp", &[("mcp-session-id", "no-such-session")], body).await;
    assert_error(&got, 404, -32001);
    still_answers(&router).await;
}

#[tokio::test]
async fn legacy_sse_messages_are_refused_by_the_book() {
    let router = app(true);
    let got = send(
        &router,
        "/sse/messages/?session_id=nope",
        &[],
        rpc::tools_list(1).to_string(),
    )
    .await;
    assert_error(&got, 404, -32001);
    let got = send(&router, "/sse/messages/?session_id=nope", &[], "{nope").await;
    assert_error(&got, 400, -32700);
    let bad_id = json!({"jsonrpc": "2.0", "id": [1], "method": "tools/list"}).to_string();
    let got = send(&router, "/sse/messages/?session_id=nope", &[], bad_id).await;
    assert_error(&got, 400, -32600);
    let got = send(&router, "/sse/messages/", &[], rpc::tools_list(1).to_string()).await;
    assert_error(&got, 400, -32600);
    still_answers(&router).await;
}

mod connections {
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    use apimcp::ConnectionLimits;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    async fn start(limits: ConnectionLimits) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(apimcp::serve_with(listener, super::app(true), limits));
        addr
    }

    /// A GET of the demo's item 1 on a new connection: the status line.
    async fn get(addr: SocketAddr) -> String {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        let request = "GET /items/1 HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n";
        tcp.write_all(request.as_bytes()).await.expect("write");
        let mut reply = String::new();
        tcp.read_to_string(&mut reply).await.expect("read");
        reply.lines().next().unwrap_or("").to_owned()
    }

    /// Reads until the server closes the connection; how long that took.
    async fn closed_after(mut tcp: TcpStream) -> Duration {
        let started = Instant::now();
        let mut buffer = [0u8; 1024];
        while tcp.read(&mut buffer).await.is_ok_and(|n| n > 0) {}
        started.elapsed()
    }

    #[tokio::test]
    async fn slow_headers_are_cut_at_the_timeout_and_normal_calls_go_on() {
        let addr = start(ConnectionLimits::default().header_timeout(Duration::from_secs(1))).await;
        let mut slow = Vec::new();
        for _ in 0..50 {
            let mut tcp = TcpStream::connect(addr).await.expect("connect");
            tcp.write_all(b"GET /items/1 HTTP/1.1\r\nhost: local")
                .await
                .expect("write");
            slow.push(tcp);
        }
        let started = Instant::now();
        assert_eq!(get(addr).await, "HTTP/1.1 200 OK");
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        for tcp in slow {
            let took = closed_after(tcp).await;
            assert!(took < Duration::from_secs(3), "still open after {took:?}");
        }
        assert_eq!(get(addr).await, "HTTP/1.1 200 OK");
    }

    #[tokio::test]
    async fn connections_over_a_limit_are_closed_on_accept() {
        let addr = start(ConnectionLimits::default().max_per_address(3)).await;
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(TcpStream::connect(addr).await.expect("connect"));
        }
        let extra = TcpStream::connect(addr).await.expect("connect");
        let took = closed_after(extra).await;
        assert!(took < Duration::from_secs(1), "the fourth was kept {took:?}");
        drop(held);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(get(addr).await, "HTTP/1.1 200 OK");
    }
}

/// `initialize` from client address `ip`: the status, `Retry-After` and the session id.
async fn initialize_from(router: &Router, ip: [u8; 4]) -> (u16, Option<String>, Option<String>) {
    let peer = std::net::SocketAddr::from((ip, 40000));
    let mut request = Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Body::from(rpc::initialize().to_string()))
        .expect("request");
    request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
    let response = router.clone().oneshot(request).await.expect("infallible");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    (
        response.status().as_u16(),
        header("retry-after"),
        header("mcp-session-id"),
    )
}

#[tokio::test]
async fn sessions_are_capped_per_server_and_per_address_and_live_ones_keep_working() {
    let router = app_with(|builder| builder.max_sessions(4, 2));
    let mut opened = Vec::new();
    for ip in [[10, 0, 0, 1], [10, 0, 0, 1]] {
        let (status, _, session) = initialize_from(&router, ip).await;
        assert_eq!(status, 200);
        opened.push(session.expect("a session id"));
    }
    let (status, retry_after, _) = initialize_from(&router, [10, 0, 0, 1]).await;
    assert_eq!(
        (status, retry_after.is_some()),
        (503, true),
        "the address's share is used up"
    );
    for _ in 0..2 {
        assert_eq!(initialize_from(&router, [10, 0, 0, 2]).await.0, 200);
    }
    let (status, retry_after, _) = initialize_from(&router, [10, 0, 0, 3]).await;
    assert_eq!(
        (status, retry_after.as_deref()),
        (503, Some("60")),
        "every session is in use"
    );
    let body = rpc::tools_call(3, "get_item", json!({"item_id": 1})).to_string();
    let (status, reply) = send(&router, "/mcp", &[("mcp-session-id", &opened[0])], body).await;
    assert_eq!(
        (status, &reply["result"]["structuredContent"]["id"]),
        (200, &json!(1)),
        "{reply}"
    );
}

/// A refusal by the headers (406, 415) after a large body leaves the connection usable: the
/// body is read first, so the next request on the same keep-alive connection is answered.
#[tokio::test]
async fn a_refused_large_body_does_not_cost_the_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app(true)).await });
    let mut socket = tokio::net::TcpStream::connect(address).await.expect("connect");
    let big = "[".repeat(200_000);
    let initialize = rpc::initialize().to_string();
    for (content_type, accept, body, status) in [
        ("text/plain", "application/json, text/event-stream", big.as_str(), "415"),
        ("application/json", "text/html", big.as_str(), "406"),
        (
            "application/json",
            "application/json, text/event-stream",
            initialize.as_str(),
            "200",
        ),
    ] {
        let request = format!(
            "POST /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-type: {content_type}\r\naccept: {accept}\r\n\
             mcp-protocol-version: 2025-06-18\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        socket
            .write_all(request.as_bytes())
            .await
            .expect("the connection is still open");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let n = socket.read(&mut byte).await.expect("read");
            assert_eq!(n, 1, "the server closed the connection before answering {status}");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).to_lowercase();
        assert!(head.starts_with(&format!("http/1.1 {status}")), "{head}");
        if status == "200" {
            break; // answered on the same connection: an SSE stream follows
        }
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("a content-length: {head}"));
        let mut rest = vec![0u8; length];
        socket.read_exact(&mut rest).await.expect("the body");
    }
}

/// A call in session `session` (a tool call on the fast path, or `ping`, which rmcp answers
/// and wakes the session's worker for): the status, after checking a 200's answer.
async fn use_session(router: &Router, session: &str, rmcp_path: bool) -> u16 {
    let body = if rmcp_path {
        json!({"jsonrpc": "2.0", "id": 7, "method": "ping"})
    } else {
        rpc::tools_call(7, "get_item", json!({"item_id": 1}))
    };
    let headers = [("mcp-session-id", session), ("mcp-protocol-version", "2025-06-18")];
    let (status, reply) = send(router, "/mcp", &headers, body.to_string()).await;
    match status {
        200 if rmcp_path => assert_eq!(reply["result"], json!({}), "{reply}"),
        200 => assert_eq!(reply["result"]["structuredContent"]["id"], 1, "{reply}"),
        _ => assert_error(&(status, reply), 404, -32001),
    }
    status
}

#[tokio::test]
async fn idle_sessions_are_evicted_least_recently_used_first_and_expire() {
    // Idle after half the idle timeout: evictable after 500 ms, gone after 1 s.
    let idle = std::time::Duration::from_secs(1);
    let router = app_with(|builder| builder.max_sessions(2, 2).session_idle(idle));
    let a = initialize_from(&router, [10, 0, 0, 1]).await.2.expect("a");
    let b = initialize_from(&router, [10, 0, 0, 1]).await.2.expect("b");
    let (status, retry_after, _) = initialize_from(&router, [10, 0, 0, 2]).await;
    assert_eq!((status, retry_after.is_some()), (503, true), "neither is idle yet");
    tokio::time::sleep(idle / 2 + idle / 10).await;
    assert_eq!(use_session(&router, &b, true).await, 200, "b is used, a stays idle");
    let (status, _, c) = initialize_from(&router, [10, 0, 0, 2]).await;
    assert_eq!(status, 200, "the least recently used idle session makes room");
    assert_eq!(use_session(&router, &a, false).await, 404, "a was evicted");
    assert_eq!(use_session(&router, &b, false).await, 200, "b, in use, stays");
    tokio::time::sleep(idle + idle / 10).await;
    let c = c.expect("c");
    assert_eq!(use_session(&router, &b, true).await, 404, "b expired");
    assert_eq!(use_session(&router, &c, false).await, 404, "c expired");
    assert_eq!(
        initialize_from(&router, [10, 0, 0, 3]).await.0,
        200,
        "expired ones make room"
    );
}

#[tokio::test]
async fn sessions_in_use_survive_a_flood_of_new_ones() {
    let router = app_with(|builder| builder.max_sessions(8, 8));
    let mut active = Vec::new();
    for _ in 0..2 {
        active.push(initialize_from(&router, [10, 0, 0, 1]).await.2.expect("a session"));
    }
    let mut statuses = std::collections::BTreeMap::new();
    for round in 0..200 {
        let (status, retry_after, _) = initialize_from(&router, [10, 0, 1, (round % 50) as u8]).await;
        assert_eq!(retry_after.is_some(), status == 503, "{status}");
        *statuses.entry(status).or_insert(0) += 1;
        if round % 20 == 0 {
            for (i, session) in active.iter().enumerate() {
                assert_eq!(use_session(&router, session, i % 2 == 0).await, 200, "round {round}");
            }
        }
    }
    assert_eq!(statuses, [(200, 6), (503, 194)].into(), "the cap holds");
    for session in &active {
        assert_eq!(use_session(&router, session, false).await, 200);
        assert_eq!(use_session(&router, session, true).await, 200);
    }
}
