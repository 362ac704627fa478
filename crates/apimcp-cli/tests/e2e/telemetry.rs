//! Observability end to end: the binary exports its spans over OTLP (HTTP and gRPC) to a
//! receiver the test runs (decoded with the official protobuf definitions), carries the trace on into the
//! API, and serves Prometheus metrics and health probes on its metrics listener.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::{Value, json};

use crate::util::{Apimcp, Http, eventually, free_port, serve_app};

/// A path argument no attribute may show.
const SECRET_ITEM: &str = "sekrit-item-7";

/// The OTLP/HTTP receiver: every span it was sent, decoded.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Span>>>);

impl Receiver {
    fn start() -> (Self, String) {
        let receiver = Self::default();
        let app = Router::new()
            .route("/v1/traces", post(receive_traces))
            .route("/v1/metrics", post(|| async { StatusCode::OK }))
            .with_state(receiver.clone());
        let addr = serve_app(app);
        (receiver, format!("http://{addr}"))
    }

    fn spans_of(&self, trace_id: &str) -> Vec<Span> {
        let spans = self.0.lock().expect("spans");
        spans.iter().filter(|s| hex(&s.trace_id) == trace_id).cloned().collect()
    }

    /// The same receiver over OTLP/gRPC: the trace service on HTTP/2 without TLS, as a
    /// collector serves it; answers its URL.
    fn start_grpc(&self) -> String {
        let service = TraceServiceServer::new(self.clone());
        let address = crate::util::serve_on_thread(|listener| async move {
            while let Ok((stream, _)) = listener.accept().await {
                let service = TowerToHyperService::new(service.clone());
                tokio::spawn(async move {
                    let http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                    let _ = http2.serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        format!("http://{address}")
    }

    fn keep(&self, request: ExportTraceServiceRequest) {
        let spans = request
            .resource_spans
            .into_iter()
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans);
        self.0.lock().expect("spans").extend(spans);
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.keep(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn receive_traces(State(receiver): State<Receiver>, body: Bytes) -> StatusCode {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return StatusCode::BAD_REQUEST;
    };
    receiver.keep(request);
    StatusCode::OK
}

/// The API: `get_item` records the `traceparent` it receives; `broken` answers 500.
fn start_api() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = seen.clone();
    let spec = json!({
        "openapi": "3.1.0", "info": {"title": "Items", "version": "1"},
        "paths": {
            "/items/{item_id}": {"get": {"operationId": "get_item", "parameters": [
                {"name": "item_id", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "api_key", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok"}}}},
            "/broken": {"get": {"operationId": "broken", "responses": {"200": {"description": "ok"}}}}
        }
    });
    let app = Router::new()
        .route("/openapi.json", get(move || async move { axum::Json(spec) }))
        .route(
            "/items/{id}",
            get(move |Path(id): Path<String>, headers: HeaderMap| async move {
                let parent = headers
                    .get("traceparent")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none");
                record.lock().expect("seen").push(parent.to_owned());
                axum::Json(json!({"id": id}))
            }),
        )
        .route("/broken", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "down") }));
    (format!("http://{}", serve_app(app)), seen)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attributes(span: &Span) -> HashMap<String, Value> {
    span.attributes
        .iter()
        .filter_map(|kv| {
            let value = match kv.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(s) => json!(s),
                any_value::Value::IntValue(i) => json!(i),
                any_value::Value::BoolValue(b) => json!(b),
                other => json!(format!("{other:?}")),
            };
            Some((kv.key.clone(), value))
        })
        .collect()
}

/// A `tools/call` whose `_meta` carries `traceparent`.
fn traced_call(tool: &str, arguments: Value, traceparent: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments, "_meta": {"traceparent": traceparent}}})
}

fn serve_traced(api: &str, otlp: &str, extra: &[&str]) -> Apimcp {
    let spec = format!("{api}/openapi.json");
    let mut start = Apimcp::cmd(["serve", "--spec", &spec, "--upstream", api])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
        .env("OTEL_BSP_SCHEDULE_DELAY", "50")
        .env("OTEL_SERVICE_NAME", "apimcp-e2e");
    for arg in extra {
        start = start.arg(arg);
    }
    start.start()
}

/// The server and client spans of `trace_id`, once both arrived.
fn call_spans(receiver: &Receiver, trace_id: &str) -> (Span, Span) {
    let mut found = None;
    let arrived = eventually(Duration::from_secs(10), || {
        let spans = receiver.spans_of(trace_id);
        let server = spans.iter().find(|s| s.kind == SpanKind::Server as i32).cloned();
        let client = spans.iter().find(|s| s.kind == SpanKind::Client as i32).cloned();
        found = server.zip(client);
        found.is_some()
    });
    assert!(
        arrived,
        "no server and client span of trace {trace_id} reached the receiver"
    );
    found.expect("spans")
}

/// The checks of both paths; gives back the receiver and the API's URL, for more.
fn a_tool_call_is_one_trace_from_the_client_to_the_api(extra: &[&str]) -> (Receiver, String) {
    let (receiver, otlp) = Receiver::start();
    let (api, seen) = start_api();
    let server = serve_traced(&api, &otlp, extra);
    let http = Http::new();
    let mcp = server.url("/mcp");
    let session = http.session(&mcp);
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = "00f067aa0ba902b7";
    let arguments = json!({"item_id": SECRET_ITEM, "api_key": "sekrit-key"});
    let body = traced_call("get_item", arguments, &format!("00-{trace_id}-{parent}-01"));
    let reply = http.post(&mcp, &headers, &body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["result"]["isError"], false, "{}", reply.body);

    let (server_span, client_span) = call_spans(&receiver, trace_id);
    assert_eq!(
        hex(&server_span.parent_span_id),
        parent,
        "the server span's parent is the client's"
    );
    assert_eq!(server_span.name, "tools/call get_item");
    let attrs = attributes(&server_span);
    assert_eq!(attrs["mcp.method.name"], "tools/call");
    assert_eq!(attrs["gen_ai.tool.name"], "get_item");
    assert_eq!(attrs["gen_ai.operation.name"], "execute_tool");
    assert_eq!(attrs["mcp.session.id"], session.as_str());
    assert_eq!(attrs["mcp.protocol.version"], "2025-06-18");
    assert_eq!(attrs["jsonrpc.request.id"], "9");
    assert_eq!(attrs["network.transport"], "tcp");
    assert!(!attrs.contains_key("error.type"), "{attrs:?}");

    assert_eq!(
        client_span.parent_span_id, server_span.span_id,
        "the client span is the server span's child"
    );
    let attrs = attributes(&client_span);
    assert_eq!(attrs["http.request.method"], "GET");
    assert_eq!(attrs["url.full"], format!("{api}/items/{{item_id}}?api_key=REDACTED"));
    assert_eq!(attrs["http.response.status_code"], 200);
    for span in [&server_span, &client_span] {
        let shown = format!("{:?}", attributes(span));
        assert!(
            !shown.contains(SECRET_ITEM) && !shown.contains("sekrit-key"),
            "an argument in {shown}"
        );
    }

    let sent = seen.lock().expect("seen").clone();
    let expected = format!("00-{trace_id}-{}-01", hex(&client_span.span_id));
    assert_eq!(sent, [expected], "the API receives the client span as its parent");

    // A tool error, its trace context in the HTTP header this time.
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let traceparent = format!("00-{trace_id}-b7ad6b7169203331-01");
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("traceparent", traceparent.as_str()),
    ];
    let reply = http.post(&mcp, &headers, &crate::util::rpc_call("broken", json!({})));
    assert_eq!(reply.json()["result"]["isError"], true, "{}", reply.body);
    let (server_span, client_span) = call_spans(&receiver, trace_id);
    assert_eq!(attributes(&server_span)["error.type"], "tool_error");
    assert_eq!(attributes(&client_span)["http.response.status_code"], 500);
    assert_eq!(attributes(&client_span)["error.type"], "500");

    a_caller_that_does_not_sample_is_followed(&receiver, &http, &mcp, &session, &seen);
    every_request_has_its_server_span(&receiver, &http, &mcp, &session);
    (receiver, api)
}

/// A caller whose `traceparent` says "not sampled": nothing is exported, and the API still
/// gets the trace, not sampled, so it does not start one of its own.
fn a_caller_that_does_not_sample_is_followed(
    receiver: &Receiver,
    http: &Http,
    mcp: &str,
    session: &str,
    seen: &Mutex<Vec<String>>,
) {
    let headers = [("mcp-session-id", session), ("mcp-protocol-version", "2025-06-18")];
    let unsampled = "5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c";
    let body = traced_call(
        "get_item",
        json!({"item_id": "1"}),
        &format!("00-{unsampled}-00f067aa0ba902b7-00"),
    );
    assert_eq!(http.post(mcp, &headers, &body).status, 200);
    let sent = seen.lock().expect("seen").last().cloned().expect("the API was called");
    assert!(
        sent.starts_with(&format!("00-{unsampled}-")) && sent.ends_with("-00"),
        "the API gets the unsampled trace: {sent}"
    );
    // Spans leave in the order they end: once a later trace's have arrived, none of the
    // unsampled one is still on its way.
    let sampled = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
    let body = traced_call(
        "get_item",
        json!({"item_id": "1"}),
        &format!("00-{sampled}-00f067aa0ba902b7-01"),
    );
    assert_eq!(http.post(mcp, &headers, &body).status, 200);
    call_spans(receiver, sampled);
    assert!(
        receiver.spans_of(unsampled).is_empty(),
        "an unsampled trace was exported"
    );
}

/// A request with `traceparent` in its `_meta`.
fn traced_request(id: Value, method: &str, mut params: Value, trace_id: &str) -> Value {
    params["_meta"] = json!({"traceparent": format!("00-{trace_id}-00f067aa0ba902b7-01")});
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// The server span of `trace_id`, once it arrived.
fn server_span(receiver: &Receiver, trace_id: &str) -> Span {
    let mut found = None;
    let arrived = eventually(Duration::from_secs(10), || {
        found = receiver
            .spans_of(trace_id)
            .into_iter()
            .find(|s| s.kind == SpanKind::Server as i32);
        found.is_some()
    });
    assert!(arrived, "no server span of trace {trace_id} reached the receiver");
    found.expect("span")
}

/// `tools/list` (the fast path's too) and `prompts/get` (rmcp's, and a JSON-RPC error) get
/// their spans, named and attributed as the MCP conventions say.
fn every_request_has_its_server_span(receiver: &Receiver, http: &Http, mcp: &str, session: &str) {
    let headers = [("mcp-session-id", session), ("mcp-protocol-version", "2025-06-18")];
    let trace_id = "11111111111111111111111111111111";
    let list = traced_request(json!("list-1"), "tools/list", json!({}), trace_id);
    assert_eq!(http.post(mcp, &headers, &list).status, 200);
    let span = server_span(receiver, trace_id);
    assert_eq!(span.name, "tools/list");
    let attrs = attributes(&span);
    assert_eq!(attrs["mcp.method.name"], "tools/list");
    assert_eq!(attrs["jsonrpc.request.id"], "list-1");
    assert_eq!(attrs["mcp.session.id"], session);
    assert!(!attrs.contains_key("gen_ai.operation.name"), "{attrs:?}");

    let trace_id = "22222222222222222222222222222222";
    let get = traced_request(json!(12), "prompts/get", json!({"name": "nope"}), trace_id);
    let reply = http.post(mcp, &headers, &get);
    assert_eq!(reply.json()["error"]["code"], -32602, "{}", reply.body);
    let span = server_span(receiver, trace_id);
    assert_eq!(span.name, "prompts/get nope");
    let attrs = attributes(&span);
    assert_eq!(attrs["gen_ai.prompt.name"], "nope");
    assert_eq!(attrs["jsonrpc.request.id"], "12");
    assert_eq!(attrs["error.type"], "-32602");
    assert_eq!(attrs["rpc.response.status_code"], "-32602");
}

/// Over stdio, exported over OTLP/gRPC: the span of a `tools/list` says `pipe` and the
/// revision `initialize` agreed.
fn stdio_requests_are_traced_over_grpc(api: &str, receiver: &Receiver) {
    let otlp = receiver.start_grpc();
    let spec = format!("{api}/openapi.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_apimcp"))
        .args(["serve", "--stdio", "--spec", &spec, "--upstream", api])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env("OTEL_BSP_SCHEDULE_DELAY", "50")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let trace_id = "33333333333333333333333333333333";
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let list = traced_request(json!(2), "tools/list", json!({}), trace_id);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    for message in [&initialize, &initialized, &list] {
        writeln!(stdin, "{message}").expect("write");
        if message.get("id").is_some() {
            line.clear();
            std::io::BufRead::read_line(&mut stdout, &mut line).expect("answer");
        }
    }
    assert!(line.contains("\"tools\""), "{line}");
    let span = server_span(receiver, trace_id);
    drop(stdin);
    let _ = crate::util::run_bounded(child, Duration::from_secs(10));
    assert_eq!(span.name, "tools/list");
    let attrs = attributes(&span);
    assert_eq!(attrs["network.transport"], "pipe");
    assert_eq!(attrs["jsonrpc.request.id"], "2");
    assert_eq!(attrs["mcp.protocol.version"], "2025-06-18");
}

#[test]
fn fast_path_calls_are_traced_into_the_api() {
    let _ = a_tool_call_is_one_trace_from_the_client_to_the_api(&[]);
}

#[test]
fn rmcp_path_calls_are_traced_into_the_api() {
    let (receiver, api) = a_tool_call_is_one_trace_from_the_client_to_the_api(&["--no-fast-path"]);
    stdio_requests_are_traced_over_grpc(&api, &receiver);
}

/// GETs `path` on the metrics listener: status and body.
fn probe(http: &Http, port: u16, path: &str) -> (u16, String) {
    let reply = http.get(&format!("http://127.0.0.1:{port}{path}"));
    (reply.status, reply.body)
}

/// The sum of the samples of `name` that have every label of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    let named = |l: &str| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} "));
    text.lines()
        .filter(|l| named(l) && labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The gauge of live sessions, on the metrics listener.
fn live_sessions(http: &Http, port: u16) -> f64 {
    sample(&probe(http, port, "/metrics").1, "mcp_server_sessions", &[])
}

/// A legacy SSE stream counts as a session while it is open, and no longer once closed.
fn legacy_sse_sessions_are_counted(http: &Http, metrics_port: u16, sse: &str) {
    let stream = reqwest::blocking::Client::new()
        .get(sse)
        .header("authorization", "Bearer good-token")
        .header("accept", "text/event-stream")
        .send()
        .expect("the event stream opens");
    assert_eq!(stream.status(), 200);
    assert_eq!(live_sessions(http, metrics_port), 2.0);
    drop(stream);
    let closed = eventually(Duration::from_secs(10), || live_sessions(http, metrics_port) == 1.0);
    assert!(
        closed,
        "{} live sessions after the stream closed",
        live_sessions(http, metrics_port)
    );
}

#[test]
fn metrics_count_calls_errors_and_refusals() {
    let (api, _) = start_api();
    let metrics_port = free_port();
    let dir = std::env::temp_dir().join(format!("apimcp-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("apimcp.toml");
    let toml = format!(
        "[server]\nmetrics_listen = \"127.0.0.1:{metrics_port}\"\n\n[api]\nspec = \"{api}/openapi.json\"\nupstream = \"{api}\"\n\n[auth]\nstatic_tokens = [\"good-token\"]\n"
    );
    std::fs::write(&config, toml).expect("config");
    let server = Apimcp::cmd(["serve", "--config", config.to_str().expect("utf-8")]).start();
    let http = Http::new();
    assert_eq!(probe(&http, metrics_port, "/healthz"), (200, "ok\n".into()));
    // The MCP port is bound before the document is fetched: ready once it is converted.
    let ready = eventually(Duration::from_secs(10), || {
        probe(&http, metrics_port, "/readyz") == (200, "ready\n".into())
    });
    assert!(ready, "never ready: {:?}", probe(&http, metrics_port, "/readyz"));

    let mcp = server.url("/mcp");
    let bearer = [("authorization", "Bearer good-token")];
    let session = http.session_with(&mcp, &bearer);
    let headers = [
        ("authorization", "Bearer good-token"),
        ("mcp-session-id", session.as_str()),
    ];
    for id in ["a", "b"] {
        let reply = http.post(
            &mcp,
            &headers,
            &crate::util::rpc_call("get_item", json!({"item_id": id})),
        );
        assert_eq!(reply.json()["result"]["isError"], false, "{}", reply.body);
    }
    let reply = http.post(&mcp, &headers, &crate::util::rpc_call("broken", json!({})));
    assert_eq!(reply.json()["result"]["isError"], true, "{}", reply.body);
    for _ in 0..3 {
        assert_eq!(
            http.post(&mcp, &[], &crate::util::rpc_call("get_item", json!({"item_id": "c"})))
                .status,
            401
        );
    }
    let wrong = [("authorization", "Bearer wrong-token")];
    assert_eq!(
        http.post(
            &mcp,
            &wrong,
            &crate::util::rpc_call("get_item", json!({"item_id": "c"}))
        )
        .status,
        401
    );

    let (status, text) = probe(&http, metrics_port, "/metrics");
    assert_eq!(status, 200);
    let duration = "mcp_server_operation_duration_seconds_count";
    assert_eq!(
        sample(
            &text,
            duration,
            &["gen_ai_tool_name=\"get_item\"", "mcp_method_name=\"tools/call\""]
        ),
        2.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            duration,
            &["gen_ai_tool_name=\"broken\"", "error_type=\"tool_error\""]
        ),
        1.0,
        "{text}"
    );
    // Every method is measured, not only tool calls.
    assert_eq!(
        sample(&text, duration, &["mcp_method_name=\"initialize\""]),
        1.0,
        "{text}"
    );
    let upstream = "http_client_request_duration_seconds_count";
    assert_eq!(
        sample(&text, upstream, &["http_response_status_code=\"200\""]),
        2.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, upstream, &["http_response_status_code=\"500\""]),
        1.0,
        "{text}"
    );
    let refusals = "apimcp_auth_refusals_total";
    assert_eq!(
        sample(&text, refusals, &["reason=\"no_token\"", "status=\"401\""]),
        3.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, refusals, &["reason=\"invalid_token\"", "status=\"401\""]),
        1.0,
        "{text}"
    );
    assert_eq!(sample(&text, "mcp_server_sessions", &[]), 1.0, "{text}");
    legacy_sse_sessions_are_counted(&http, metrics_port, &server.url("/sse"));

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/test.sh installs it)");
    std::io::Write::write_all(&mut promtool.stdin.take().expect("stdin"), text.as_bytes()).expect("write");
    let checked = promtool.wait_with_output().expect("promtool runs");
    let said = String::from_utf8_lossy(&checked.stdout).to_string() + &String::from_utf8_lossy(&checked.stderr);
    assert!(checked.status.success(), "promtool check metrics: {said}\n{text}");
}
