//! Faults of the upstream API, survived: it refuses connections, resets mid-response, sends a
//! body that never ends or announces 10 GB, or answers after the timeout. Each call ends within
//! its timeout as a tool error that says what happened, and the next call works.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use apimcp::McpServer;
use common::mcp::Client;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TIMEOUT: Duration = Duration::from_secs(2);

/// One operation, `GET /faults/{kind}`: the upstream below misbehaves as `kind` says.
fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {"title": "faults", "version": "1"},
        "paths": {"/faults/{kind}": {"get": {
            "operationId": "fault",
            "parameters": [{"name": "kind", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}}}
        }}}
    })
}

/// A raw HTTP/1.1 upstream on loopback, one connection per request, misbehaving by path.
async fn faulty_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(misbehave(socket));
        }
    });
    address
}

async fn misbehave(mut socket: TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let kind = head
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .trim_start_matches("/faults/")
        .to_owned();
    match kind.as_str() {
        "reset" => {
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf a bo")
                .await;
            // Closing with a zero linger sends RST instead of FIN.
            let _ = socket.set_zero_linger();
        }
        "endless" => {
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await;
            let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
            while socket.write_all(chunk.as_bytes()).await.is_ok() {}
        }
        "trickle" => {
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await;
            while socket.write_all(b"1\r\nx\r\n").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        "huge" => {
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10737418240\r\n\r\nxxxx")
                .await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        "late" => {
            tokio::time::sleep(TIMEOUT * 3).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate")
                .await;
        }
        _ => {
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
                .await;
        }
    }
}

async fn client_for(upstream: &str) -> Client {
    let mcp = McpServer::builder()
        .openapi_json(document())
        .remote(upstream.parse().expect("url"))
        .timeout(TIMEOUT)
        .build()
        .expect("builds");
    let mut client = Client::new(mcp.mount_http(axum::Router::new(), "/mcp"), "/mcp");
    client.initialize().await;
    client
}

/// Calls `fault` with `kind`: the result's error text, and how long it took.
async fn failing_call(client: &Client, kind: &str) -> (String, Duration) {
    let started = Instant::now();
    let result = client.call("fault", json!({"kind": kind})).await;
    let took = started.elapsed();
    assert_eq!(result["isError"], true, "{kind}: {result}");
    let text = result["content"][0]["text"].as_str().unwrap_or_default().to_owned();
    (text, took)
}

#[tokio::test]
async fn every_upstream_fault_is_a_clear_tool_error_within_the_timeout() {
    let upstream = faulty_upstream().await;
    let client = client_for(&format!("http://{upstream}")).await;
    let cases = [
        ("reset", "could not be reached"),
        ("endless", "larger than"),
        ("trickle", "did not answer within 2 s"),
        ("huge", "larger than"),
        ("late", "did not answer within 2 s"),
    ];
    for (kind, expected) in cases {
        let (text, took) = failing_call(&client, kind).await;
        assert!(text.contains(expected), "{kind}: {text}");
        // Generous: the point is that nothing waits for the fault to end on its own.
        assert!(took < TIMEOUT * 4, "{kind} took {took:?}");
        let ok = client.call("fault", json!({"kind": "fine"})).await;
        assert_eq!(ok["isError"], false, "after {kind}: {ok}");
    }
}

#[tokio::test]
async fn an_upstream_that_refuses_connections_is_named_and_the_server_goes_on() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port");
    let client = client_for(&format!("http://{closed}")).await;
    let (text, took) = failing_call(&client, "fine").await;
    assert!(text.contains("could not be reached"), "{text}");
    assert!(text.to_lowercase().contains("connect"), "{text}");
    assert!(took < TIMEOUT * 4, "{took:?}");
    assert_eq!(client.tool_names().await, ["fault"]);
}
