//! What one call costs in the server itself, without sockets: allocations, bytes allocated and
//! time per request, for the demo's direct `GET /items/1` and for MCP `tools/call get_item`
//! (stateless Streamable HTTP, the fast path), both through the same axum router.
//!
//! `cargo bench -p apimcp --bench calls` (`-- N` for N requests each; 200,000 by default).
//! The loopback benchmark (`bench/run.sh`) adds the kernel and the load generator; this one
//! shows what the MCP layer adds on top of the API's own handler.

use std::time::Instant;

use apimcp::McpServer;
use axum::body::Body;
use http::Request;
use tower::ServiceExt;

// Passes through to the system allocator until a profiler runs: the timing runs without one.
#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

const CALL: &str =
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_item","arguments":{"item_id":1}}}"#;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;

fn direct() -> Request<Body> {
    Request::get("/items/1")
        .header("host", "127.0.0.1:8000")
        .body(Body::empty())
        .expect("request")
}

fn tools_call() -> Request<Body> {
    mcp_post(CALL, None)
}

/// A POST to the MCP endpoint, in a session when one is given.
fn mcp_post(body: &'static str, session: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/mcp")
        .header("host", "127.0.0.1:8000")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(id) = session {
        request = request
            .header("mcp-session-id", id)
            .header("mcp-protocol-version", "2025-06-18");
    }
    request.body(Body::from(body)).expect("request")
}

/// The demo's API with its MCP endpoint at `/mcp`, as `apimcp demo` serves them.
fn demo(stateless: bool) -> axum::Router {
    let (api, document) = apimcp::demo::app();
    let server = McpServer::builder()
        .utoipa(&document)
        .in_process(api.clone())
        .stateless(stateless)
        .build()
        .expect("server");
    server.mount_http(api, "/mcp")
}

struct Figures {
    allocations: f64,
    kib: f64,
    micros: f64,
}

/// Time per request without a profiler, then allocations per request with one (dhat's count
/// of blocks and bytes, which includes reallocations).
async fn measure(app: &axum::Router, make: fn() -> Request<Body>, n: u64) -> Figures {
    for _ in 0..1_000 {
        send(app, make()).await;
    }
    let start = Instant::now();
    for _ in 0..n {
        send(app, make()).await;
    }
    let micros = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    let counted = 10_000;
    let profiler = dhat::Profiler::builder().testing().build();
    let before = dhat::HeapStats::get();
    for _ in 0..counted {
        send(app, make()).await;
    }
    let after = dhat::HeapStats::get();
    drop(profiler);
    let per = |total: u64| total as f64 / counted as f64;
    Figures {
        allocations: per(after.total_blocks - before.total_blocks),
        kib: per(after.total_bytes - before.total_bytes) / 1024.0,
        micros,
    }
}

/// One request through the router, its body read to the end (as hyper would write it).
async fn send(app: &axum::Router, request: Request<Body>) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    assert!(response.status().is_success(), "{}", response.status());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    assert!(!body.is_empty());
}

fn main() {
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000u64);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let app = demo(true);
        let direct = measure(&app, direct, n).await;
        let call = measure(&app, tools_call, n).await;
        println!("| request ({n} each, in-process, no sockets) | allocations | KiB allocated | µs |");
        println!("|---|---|---|---|");
        for (name, f) in [("direct GET /items/1", &direct), ("MCP tools/call, stateless", &call)] {
            println!("| {name} | {:.1} | {:.1} | {:.2} |", f.allocations, f.kib, f.micros);
        }
        println!(
            "| the MCP layer adds | {:.1} | {:.1} | {:.2} |",
            call.allocations - direct.allocations,
            call.kib - direct.kib,
            call.micros - direct.micros
        );
        let per_session = session_bytes(64).await;
        println!(
            "\nA stateful session, once initialized, holds {:.1} KiB of heap (64 sessions).",
            per_session / 1024.0
        );
    });
}

/// Heap bytes held per idle stateful session: `initialize`, then `notifications/initialized`.
async fn session_bytes(sessions: u32) -> f64 {
    let app = demo(false);
    open_session(&app).await;
    let profiler = dhat::Profiler::builder().testing().build();
    let before = dhat::HeapStats::get().curr_bytes;
    for _ in 0..sessions {
        open_session(&app).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let held = dhat::HeapStats::get().curr_bytes.saturating_sub(before);
    drop(profiler);
    held as f64 / f64::from(sessions)
}

/// `initialize`, read to the end, then `notifications/initialized` in the new session.
async fn open_session(app: &axum::Router) {
    let response = app
        .clone()
        .oneshot(mcp_post(INITIALIZE, None))
        .await
        .expect("infallible");
    let id = response.headers()["mcp-session-id"].to_str().expect("id").to_owned();
    axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let initialized = mcp_post(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, Some(&id));
    let response = app.clone().oneshot(initialized).await.expect("infallible");
    assert!(response.status().is_success(), "{}", response.status());
}
