//! What apimcp itself sends the API: fixed headers, a `User-Agent`, and the credentials each
//! operation's `security` asks for (API keys in a header, the query and a cookie; bearer;
//! basic; OAuth client credentials with a cached token), over HTTP and under `--stdio`, with
//! the secrets kept out of logs and error results.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::util::{Apimcp, Http, eventually, serve_app, stdio_calls};

const HEADER_KEY: &str = "sekrit-header-key";
const QUERY_KEY: &str = "sekrit query&key";
const COOKIE_KEY: &str = "sekrit-cookie-key";
const BEARER: &str = "sekrit-bearer-token";
const BASIC: &str = "ann:sekrit-password";
const CLIENT_SECRET: &str = "sekrit-client-secret";
const FIXED: &str = "sekrit-fixed-header";
/// Every secret above, as a test greps for it (the query key as it goes on the wire too).
const SECRETS: [&str; 8] = [
    "sekrit-header-key",
    "sekrit query&key",
    "sekrit%20query%26key",
    "sekrit-cookie-key",
    "sekrit-bearer-token",
    "sekrit-password",
    "sekrit-client-secret",
    "sekrit-fixed-header",
];

/// The recording upstream: echoes what apimcp sent; `/oauth/token` issues numbered tokens
/// to the right client; `/refused` answers 401.
struct Upstream {
    base: String,
    tokens_issued: Arc<AtomicUsize>,
}

async fn echo(request: Request) -> axum::Json<Value> {
    let (parts, _) = request.into_parts();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    axum::Json(json!({
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "user_agent": header("user-agent"),
        "authorization": header("authorization"),
        "x_api_key": header("x-api-key"),
        "x_fixed": header("x-fixed"),
        "x_trace": header("x-trace"),
        "cookie": header("cookie"),
    }))
}

async fn token(issued: Arc<AtomicUsize>, request: Request) -> axum::response::Response {
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("cid:{CLIENT_SECRET}"));
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(request.into_body(), 1 << 16)
        .await
        .unwrap_or_default();
    let form = String::from_utf8_lossy(&body);
    if authorization != Some(format!("Basic {expected}")) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_client"}))).into_response();
    }
    assert_eq!(
        form, "grant_type=client_credentials&scope=read",
        "the token request's form"
    );
    let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
    axum::Json(json!({"access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": 3600})).into_response()
}

fn start_upstream() -> Upstream {
    let tokens_issued = Arc::new(AtomicUsize::new(0));
    let issued = tokens_issued.clone();
    let app = Router::new()
        .route("/oauth/token", post(move |request| token(issued.clone(), request)))
        .route("/refused", get(|| async { StatusCode::UNAUTHORIZED }))
        .fallback(echo);
    let addr = serve_app(app);
    Upstream {
        base: format!("http://{addr}"),
        tokens_issued,
    }
}

fn spec() -> Value {
    let ok = json!({"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}});
    let op = |id: &str, security: Value| json!({"get": {"operationId": id, "security": security, "responses": ok}});
    json!({
        "openapi": "3.1.0", "info": {"title": "Credentials", "version": "1"},
        "components": {"securitySchemes": {
            "header_key": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "query_key": {"type": "apiKey", "in": "query", "name": "api_key"},
            "cookie_key": {"type": "apiKey", "in": "cookie", "name": "sid"},
            "bearerAuth": {"type": "http", "scheme": "bearer"},
            "basicAuth": {"type": "http", "scheme": "basic"},
            "oauth": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {"read": "read"}}}}
        }},
        "security": [{"bearerAuth": []}],
        "paths": {
            "/default": {"get": {"operationId": "default_op", "responses": ok}},
            "/keys": {"get": {"operationId": "keys", "security": [{"header_key": [], "query_key": [], "cookie_key": []}],
                "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}], "responses": ok}},
            "/basic": op("basic", json!([{"basicAuth": []}])),
            "/open": op("open", json!([])),
            "/o": op("oauth_op", json!([{"oauth": ["read"]}])),
            "/refused": op("oauth_refused", json!([{"oauth": ["read"]}]))
        }
    })
}

/// The spec and a configuration file with the OAuth client and a fixed header, in a fresh
/// directory; the arguments that name them and the other credentials.
fn files(upstream: &str, client_secret_var: &str) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("apimcp-creds-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let spec_path = dir.join("spec.json");
    std::fs::write(&spec_path, spec().to_string()).expect("spec");
    let config = dir.join("apimcp.toml");
    let toml = format!(
        "[api]\nupstream = \"{upstream}\"\n[api.headers]\nX-Fixed = \"env:FIXED\"\n\
         [api.credentials.oauth]\nclient_id = \"cid\"\nclient_secret = \"env:{client_secret_var}\"\nscopes = [\"read\"]\n"
    );
    std::fs::write(&config, toml).expect("config");
    [
        "serve",
        "--config",
        &config.display().to_string(),
        "--spec",
        &spec_path.display().to_string(),
        "--credential",
        "header_key=env:HK",
        "--credential",
        "query_key=env:QK",
        "--credential",
        "cookie_key=env:CK",
        "--credential",
        "bearerAuth=env:BT",
        "--credential",
        "basicAuth=env:BA",
        "--header",
        "X-Trace=t1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn with_env(cmd: crate::util::Start) -> crate::util::Start {
    cmd.env("HK", HEADER_KEY)
        .env("QK", QUERY_KEY)
        .env("CK", COOKIE_KEY)
        .env("BT", BEARER)
        .env("BA", BASIC)
        .env("CS", CLIENT_SECRET)
        .env("WRONG_CS", "sekrit-client-secret-but-wrong")
        .env("FIXED", FIXED)
}

fn echoed(result: &Value) -> Value {
    assert_eq!(result["result"]["isError"], false, "{result}");
    serde_json::from_str(result["result"]["content"][0]["text"].as_str().expect("text")).expect("echo JSON")
}

fn assert_no_secret(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret:?} shows in: {text}");
    }
}

#[test]
fn each_operation_gets_the_credentials_its_security_names() {
    let upstream = start_upstream();
    let server = with_env(Apimcp::cmd(files(&upstream.base, "CS"))).start();
    let http = Http::new();
    let mcp = server.url("/mcp");
    let session = http.session(&mcp);

    let keys = echoed(&http.call(&mcp, Some(&session), "keys", json!({"q": "x"})));
    assert_eq!(keys["query"], "q=x&api_key=sekrit%20query%26key");
    assert_eq!(keys["x_api_key"], HEADER_KEY);
    assert_eq!(keys["cookie"], format!("sid={COOKIE_KEY}"));
    assert_eq!(keys["authorization"], Value::Null, "keys names no bearer scheme");
    assert_eq!(keys["x_fixed"], FIXED);
    assert_eq!(keys["x_trace"], "t1");
    let agent = keys["user_agent"].as_str().unwrap_or("");
    assert!(agent.starts_with("apimcp/"), "{agent}");

    let default = echoed(&http.call(&mcp, Some(&session), "default_op", json!({})));
    assert_eq!(
        default["authorization"],
        format!("Bearer {BEARER}"),
        "the document's security"
    );
    let basic = echoed(&http.call(&mcp, Some(&session), "basic", json!({})));
    let encoded = base64::engine::general_purpose::STANDARD.encode(BASIC);
    assert_eq!(basic["authorization"], format!("Basic {encoded}"));
    let open = echoed(&http.call(&mcp, Some(&session), "open", json!({})));
    assert_eq!(open["authorization"], Value::Null, "security: [] gets nothing");

    for _ in 0..3 {
        let oauth = echoed(&http.call(&mcp, Some(&session), "oauth_op", json!({})));
        assert_eq!(oauth["authorization"], "Bearer tok-1", "the token is cached");
    }
    assert_eq!(upstream.tokens_issued.load(Ordering::SeqCst), 1);
    let refused = http.call(&mcp, Some(&session), "oauth_refused", json!({}));
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    let renewed = echoed(&http.call(&mcp, Some(&session), "oauth_op", json!({})));
    assert_eq!(
        renewed["authorization"], "Bearer tok-2",
        "a refused token is fetched again"
    );
    assert_no_secret(&server.log());
}

#[test]
fn a_configured_credential_wins_over_a_forwarded_header_and_says_so() {
    let upstream = start_upstream();
    let server = with_env(Apimcp::cmd(files(&upstream.base, "CS"))).start();
    let http = Http::new();
    let mcp = server.url("/mcp");
    let client = [("authorization", "Bearer client-token")];
    let session = http.session_with(&mcp, &client);
    let call = |tool: &str| {
        let headers = [client[0], ("mcp-session-id", session.as_str())];
        let body = apimcp::test_helpers::tools_call(3, tool, json!({}));
        echoed(&http.post(&mcp, &headers, &body).json())
    };
    assert_eq!(call("default_op")["authorization"], format!("Bearer {BEARER}"));
    assert_eq!(
        call("open")["authorization"],
        "Bearer client-token",
        "nothing configured: forwarded"
    );
    assert!(
        eventually(Duration::from_secs(5), || server
            .log()
            .contains("authorization header is forwarded")),
        "the overlap is logged: {}",
        server.log()
    );
}

#[test]
fn secrets_stay_out_of_errors_and_logs() {
    let upstream = start_upstream();
    let server = with_env(Apimcp::cmd(files(&upstream.base, "WRONG_CS"))).start();
    let http = Http::new();
    let mcp = server.url("/mcp");
    let session = http.session(&mcp);
    let refused = http.call(&mcp, Some(&session), "oauth_op", json!({}));
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    let text = refused.to_string();
    assert!(text.contains("invalid_client"), "{text}");
    assert_no_secret(&text);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let down = with_env(Apimcp::cmd(files(&dead, "CS"))).start();
    let mcp = down.url("/mcp");
    let session = http.session(&mcp);
    for tool in ["keys", "default_op", "basic"] {
        let result = http.call(&mcp, Some(&session), tool, json!({}));
        assert_eq!(result["result"]["isError"], true, "{result}");
        assert_no_secret(&result.to_string());
    }
    assert_no_secret(&server.log());
    assert_no_secret(&down.log());
}

#[test]
fn credentials_work_under_stdio() {
    let upstream = start_upstream();
    let mut args = files(&upstream.base, "CS");
    args.push("--stdio".to_owned());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apimcp"));
    cmd.args(&args)
        .env("HK", HEADER_KEY)
        .env("QK", QUERY_KEY)
        .env("CK", COOKIE_KEY)
        .env("BT", BEARER)
        .env("BA", BASIC)
        .env("CS", CLIENT_SECRET)
        .env("FIXED", FIXED);
    let answers = stdio_calls(cmd, &[("keys", json!({})), ("oauth_op", json!({}))]);
    let keys = echoed(&answers[0]);
    assert_eq!(keys["x_api_key"], HEADER_KEY);
    assert_eq!(keys["query"], "api_key=sekrit%20query%26key");
    assert_eq!(echoed(&answers[1])["authorization"], "Bearer tok-1");
}
