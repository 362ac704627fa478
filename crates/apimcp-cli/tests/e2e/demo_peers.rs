//! Real MCP clients against `apimcp demo`: the inspector CLI, mcp-remote, the TypeScript SDK
//! over legacy SSE and over stdio (`apimcp serve --stdio`).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::peers::{mcp_remote_call, mcp_remote_converse};
use crate::util::{Apimcp, peers, run_bounded};

const DEMO_TOOLS: [&str; 6] = [
    "list_items",
    "create_item",
    "search_items",
    "get_item",
    "update_item",
    "delete_item",
];

#[test]
fn inspector_lists_and_calls_demo_tools() {
    let demo = Apimcp::cmd(["demo"]).start();
    let out = peers().inspector(&demo.url("/mcp"), &["--method", "tools/list"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let names: Vec<&str> = listed["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, DEMO_TOOLS);

    let out = peers().inspector(
        &demo.url("/mcp"),
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "get_item",
            "--tool-arg",
            "item_id=3",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(result["structuredContent"]["name"], "Wrench", "{result}");

    let out = peers().inspector(
        &demo.url("/mcp"),
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "get_item",
            "--tool-arg",
            "item_id=999",
        ],
    );
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(result["isError"], true);
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("HTTP 404"),
        "{result}"
    );
}

/// The Python SDK 2.x, in its default mode (2026-07-28, no session) and in a 2025-11-25
/// session: lists the demo's tools, calls one, and gets the precise message for a bad argument.
#[test]
fn python_sdk_lists_and_calls_in_both_protocol_eras() {
    let demo = Apimcp::cmd(["demo"]).start();
    for (mode, protocol) in [("auto", "2026-07-28"), ("legacy", "2025-11-25")] {
        let (ok, lines) = peers().python_client(
            &demo.url("/mcp"),
            mode,
            &[
                "list",
                r#"call:get_item:{"item_id":3}"#,
                r#"call:get_item:{"item_id":"x"}"#,
            ],
        );
        assert!(ok, "{mode}: {lines:?}");
        assert_eq!(lines[0]["protocol"], protocol, "{lines:?}");
        assert_eq!(lines[1]["names"], json!(DEMO_TOOLS), "{mode}: {lines:?}");
        assert_eq!(lines[2]["structured"]["name"], "Wrench", "{mode}: {lines:?}");
        assert_eq!(lines[3]["is_error"], true, "{mode}: {lines:?}");
        let message = lines[3]["text"].as_str().unwrap_or_default();
        assert!(
            message.contains("`item_id`") && message.contains("integer"),
            "{mode}: {message}"
        );
    }
}

#[test]
fn mcp_remote_calls_get_item_through_the_demo() {
    let demo = Apimcp::cmd(["demo"]).start();
    let config = std::env::temp_dir().join(format!("apimcp-mcp-remote-{}", std::process::id()));
    let bridge = peers()
        .node("MCP_REMOTE")
        .args([
            demo.url("/mcp").as_str(),
            "--transport",
            "http-only",
            "--host",
            "127.0.0.1",
        ])
        .env("MCP_REMOTE_CONFIG_DIR", &config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mcp-remote starts");
    let (init, call) = mcp_remote_converse(bridge, "get_item", json!({"item_id": 1}));
    assert_eq!(init["result"]["serverInfo"]["name"], "Item API");
    assert_eq!(call["result"]["structuredContent"]["name"], "Hammer", "{call}");
    let _ = std::fs::remove_dir_all(config);
}

#[test]
fn sdk_client_drives_legacy_sse() {
    let demo = Apimcp::cmd(["demo"]).start();
    let out = peers().sdk_script(
        "sse-client.mjs",
        &[&demo.url("/sse"), "search_items", r#"{"q":"drill"}"#],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["tools"].as_array().map(Vec::len), Some(6));
    assert_eq!(
        report["result"]["structuredContent"]["result"][0]["name"], "Drill",
        "{report}"
    );
}

#[test]
fn sdk_client_drives_stdio() {
    let demo = Apimcp::cmd(["demo"]).start();
    let spec = demo.url("/openapi.json");
    let out = peers().sdk_script(
        "stdio-client.mjs",
        &[
            "get_item",
            r#"{"item_id":2}"#,
            env!("CARGO_BIN_EXE_apimcp"),
            "serve",
            "--stdio",
            "--spec",
            &spec,
            "--upstream",
            &demo.base,
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["tools"].as_array().map(Vec::len), Some(6));
    assert_eq!(report["result"]["structuredContent"]["name"], "Screwdriver", "{report}");
}

#[test]
fn stdio_writes_nothing_but_protocol_to_stdout() {
    let demo = Apimcp::cmd(["demo"]).start();
    let mut child = Command::new(env!("CARGO_BIN_EXE_apimcp"))
        .args([
            "serve",
            "--stdio",
            "--spec",
            &demo.url("/openapi.json"),
            "--upstream",
            &demo.base,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{}", json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})).expect("write");
    drop(stdin);
    let out = run_bounded(child, Duration::from_secs(30));
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        let message: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON-RPC on stdout: {line}"));
        assert_eq!(message["jsonrpc"], "2.0");
    }
    assert!(text.contains("\"serverInfo\""), "{text}");
}

#[test]
fn token_passthrough_through_mcp_remote_with_the_seed_header() {
    // FastAPI-MCP's "Basic Token Passthrough": the API checks the token; mcp-remote sends it
    // with `--header Authorization:${AUTH_HEADER}`; apimcp passes it on.
    let example = Apimcp::example("08_auth_example_token_passthrough").start();
    let config = std::env::temp_dir().join(format!("apimcp-mcp-remote-passthrough-{}", std::process::id()));
    let mut cmd = peers().node("MCP_REMOTE");
    cmd.args([
        example.url("/mcp").as_str(),
        "--transport",
        "http-only",
        "--host",
        "127.0.0.1",
        "--header",
        "Authorization:${AUTH_HEADER}",
    ])
    .env("AUTH_HEADER", "Bearer secret-token")
    .env("MCP_REMOTE_CONFIG_DIR", &config);
    let answer = mcp_remote_call(cmd, "get_item", json!({"item_id": 5}));
    assert_eq!(answer["result"]["structuredContent"]["name"], "Drill", "{answer}");

    let mut cmd = peers().node("MCP_REMOTE");
    cmd.args([
        example.url("/mcp").as_str(),
        "--transport",
        "http-only",
        "--host",
        "127.0.0.1",
    ])
    .env("MCP_REMOTE_CONFIG_DIR", &config);
    let refused = mcp_remote_call(cmd, "get_item", json!({"item_id": 5}));
    assert_eq!(
        refused["result"]["isError"], true,
        "without the header the API refuses: {refused}"
    );
}
