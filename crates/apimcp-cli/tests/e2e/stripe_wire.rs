//! Stripe's real document served by the binary, over HTTP and under `--stdio`: the exact
//! request a recording upstream receives for `PostCustomers` (deepObject form fields,
//! `expand[]`) and `GetCustomers` (deepObject query), with the configured bearer key.

use std::process::Command;

use axum::Router;
use axum::extract::Request;
use serde_json::{Value, json};

use crate::util::{Apimcp, Http, serve_app, stdio_calls, workspace};

const STRIPE_KEY: &str = "sk_test_sekrit_stripe_key";

/// The form body Stripe reads for the arguments of [`customer`]: the document's property
/// order, objects as `address[city]`, the array as repeated `expand[]`.
const CUSTOMER_FORM: &str = "address%5Bcity%5D=Berlin&address%5Bline1%5D=Main+St+1&email=ada%40example.com\
    &expand%5B%5D=tax&expand%5B%5D=invoice_settings.default_payment_method&metadata%5Border_id%5D=6735";

fn customer() -> Value {
    json!({"email": "ada@example.com", "address": {"city": "Berlin", "line1": "Main St 1"},
        "metadata": {"order_id": "6735"}, "expand": ["tax", "invoice_settings.default_payment_method"]})
}

/// An upstream that answers every request with what it received.
fn start_recorder() -> String {
    let app = Router::new().fallback(|request: Request| async move {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        axum::Json(json!({
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "query": parts.uri.query(),
            "content_type": header("content-type"),
            "authorization": header("authorization"),
            "body": String::from_utf8_lossy(&body),
        }))
    });
    format!("http://{}", serve_app(app))
}

fn stripe() -> String {
    let path = workspace().join(".cache/openapi/stripe.json");
    if !path.exists() {
        let status = Command::new("bash")
            .arg(workspace().join("scripts/fetch-openapi-docs.sh"))
            .status()
            .expect("bash runs the fetch script");
        assert!(status.success(), "scripts/fetch-openapi-docs.sh failed");
    }
    path.display().to_string()
}

fn serve_args(upstream: &str) -> Vec<String> {
    let spec = stripe();
    [
        "serve",
        "--spec",
        &spec,
        "--upstream",
        upstream,
        "--credential",
        "bearerAuth=env:STRIPE_KEY",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// What the recorder answered, from a tool result (the last text: the response drifts from
/// Stripe's output schema, so advisory mode returns it as text, not an error).
fn recorded(result: &Value) -> Value {
    assert_eq!(result["result"]["isError"], false, "{result}");
    let contents = result["result"]["content"].as_array().cloned().unwrap_or_default();
    let text = contents.last().and_then(|c| c["text"].as_str()).unwrap_or("");
    serde_json::from_str(text).unwrap_or_else(|_| panic!("{result}"))
}

fn assert_customer_created(seen: &Value) {
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/v1/customers");
    assert_eq!(seen["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(seen["body"], CUSTOMER_FORM);
    assert_eq!(seen["authorization"], format!("Bearer {STRIPE_KEY}"));
}

fn assert_customers_listed(seen: &Value) {
    assert_eq!(seen["method"], "GET");
    assert_eq!(seen["path"], "/v1/customers");
    assert_eq!(seen["query"], "created%5Bgte%5D=1&expand%5B%5D=data.tax&limit=3");
    assert_eq!(seen["authorization"], format!("Bearer {STRIPE_KEY}"));
}

fn listing() -> Value {
    json!({"expand": ["data.tax"], "created": {"gte": 1}, "limit": 3})
}

#[test]
fn stripe_calls_reach_the_api_as_stripe_reads_them_over_http() {
    let upstream = start_recorder();
    let server = Apimcp::cmd(serve_args(&upstream)).env("STRIPE_KEY", STRIPE_KEY).start();
    let http = Http::new();
    let mcp = server.url("/mcp");
    let session = http.session(&mcp);
    assert_customer_created(&recorded(&http.call(&mcp, Some(&session), "PostCustomers", customer())));
    assert_customers_listed(&recorded(&http.call(&mcp, Some(&session), "GetCustomers", listing())));
    assert!(!server.log().contains(STRIPE_KEY), "the key shows in the log");
}

#[test]
fn stripe_calls_reach_the_api_as_stripe_reads_them_under_stdio() {
    let upstream = start_recorder();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apimcp"));
    cmd.args(serve_args(&upstream))
        .arg("--stdio")
        .env("STRIPE_KEY", STRIPE_KEY);
    let answers = stdio_calls(cmd, &[("PostCustomers", customer()), ("GetCustomers", listing())]);
    assert_customer_created(&recorded(&answers[0]));
    assert_customers_listed(&recorded(&answers[1]));
}
