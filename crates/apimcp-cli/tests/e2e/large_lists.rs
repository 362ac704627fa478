//! GitHub's 1,223 tools (11.5 MB of definitions) through a default `apimcp serve` to the Python
//! clients people use (the official SDK 2.x, FastMCP 4), in their default 2026-07-28 mode and in
//! a 2025-11-25 session: `tools/list` comes in pages under 1 MiB, the answers as JSON. The fast
//! path answers 2026-07-28 requests exactly as rmcp's path does; a session ends with 204.

use std::collections::HashSet;

use axum::Router;
use axum::extract::Request;
use serde_json::{Value, json};

use crate::util::{Apimcp, Http, peers, serve_app, workspace};

/// The number of tools GitHub's document gives (one per operation).
const GITHUB_TOOLS: usize = 1_223;

/// `apimcp serve` of GitHub's document in front of an upstream that answers every request with
/// the path it was asked for, as text (`meta_get-zen`, GET /zen, answers text).
fn github(extra: &[&str]) -> Apimcp {
    let upstream =
        serve_app(Router::new().fallback(|request: Request| async move { format!("zen at {}", request.uri().path()) }));
    let spec = workspace().join(".cache/openapi/github.json");
    let status = std::process::Command::new("bash")
        .arg(workspace().join("scripts/fetch-openapi-docs.sh"))
        .status()
        .expect("bash runs the fetch script");
    assert!(status.success(), "scripts/fetch-openapi-docs.sh failed");
    let mut args = vec![
        "serve".to_owned(),
        "--spec".to_owned(),
        spec.display().to_string(),
        "--upstream".to_owned(),
        format!("http://{upstream}"),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    Apimcp::cmd(args).start()
}

/// Lists every tool and calls `meta_get-zen` (GET /zen) with a Python client script of
/// `tests/peers/`, in `mode`; the names it listed.
fn list_and_call(script: &str, url: &str, mode: &str, protocol: &str) -> Vec<String> {
    let (ok, lines) = peers().python_script(script, url, mode, &["list", "call:meta_get-zen:{}"]);
    assert!(ok, "{script} {mode}: {lines:?}");
    assert_eq!(lines[0]["protocol"], protocol, "{script}: {lines:?}");
    assert_eq!(lines[2]["is_error"], false, "{script} {mode}: {lines:?}");
    assert_eq!(lines[2]["text"], "zen at /zen", "{script} {mode}: {lines:?}");
    let names: Vec<String> = serde_json::from_value(lines[1]["names"].clone()).expect("names");
    names
}

#[test]
fn python_sdk_and_fastmcp_list_all_of_githubs_tools_and_call_one_in_both_protocol_eras() {
    let server = github(&[]);
    let url = server.url("/mcp");
    for script in ["py-client.py", "fastmcp-client.py"] {
        for (mode, protocol) in [("auto", "2026-07-28"), ("legacy", "2025-11-25")] {
            let names = list_and_call(script, &url, mode, protocol);
            assert_eq!(names.len(), GITHUB_TOOLS, "{script} {mode}");
            let distinct: HashSet<&String> = names.iter().collect();
            assert_eq!(distinct.len(), GITHUB_TOOLS, "{script} {mode}: a tool listed twice");
            assert!(names.iter().any(|n| n == "repos_get"), "{script} {mode}");
        }
    }
    let (_, lines) = peers().python_script("py-client.py", &url, "auto", &["list"]);
    let pages = lines[1]["pages"].as_u64().unwrap_or_default();
    assert!(pages > 10, "11.5 MB in pages under 1 MiB: {pages} pages");
}

/// The 2026-07-28 request headers and `_meta` for `method` (and the tool a call names).
fn modern(method: &str, name: Option<&str>) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("mcp-protocol-version", "2026-07-28".to_owned()),
        ("mcp-method", method.to_owned()),
    ];
    if let Some(name) = name {
        headers.push(("mcp-name", name.to_owned()));
    }
    headers
}

fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
    })
}

/// POSTs `body` with `headers`; the status, content type and JSON answer.
fn post(url: &str, headers: &[(&'static str, String)], body: &Value) -> (u16, String, Value) {
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = Http::new().post(url, &headers, body);
    let content_type = reply.headers["content-type"].to_str().unwrap_or_default().to_owned();
    let json = serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.body));
    (reply.status, content_type, json)
}

/// Every page of the 2026-07-28 list at `url`, each as answered.
fn modern_pages(url: &str) -> Vec<(u16, String, Value)> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut params = json!({"_meta": meta()});
        if let Some(cursor) = &cursor {
            params["cursor"] = json!(cursor);
        }
        let body = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": params});
        let page = post(url, &modern("tools/list", None), &body);
        cursor = page.2["result"]["nextCursor"].as_str().map(str::to_owned);
        pages.push(page);
        if cursor.is_none() || pages.len() > 200 {
            return pages;
        }
    }
}

#[test]
fn the_fast_path_answers_2026_requests_exactly_as_rmcps_path() {
    let fast = github(&[]);
    let rmcp = github(&["--no-fast-path"]);
    let (fast, rmcp) = (fast.url("/mcp"), rmcp.url("/mcp"));

    let fast_pages = modern_pages(&fast);
    assert_eq!(fast_pages, modern_pages(&rmcp));
    let mut listed = 0;
    for (status, content_type, page) in &fast_pages {
        assert_eq!((*status, content_type.as_str()), (200, "application/json"), "{page}");
        assert_eq!(page["result"]["resultType"], "complete", "{page}");
        assert!(page.to_string().len() < 1 << 20, "a page under 1 MiB");
        listed += page["result"]["tools"].as_array().map_or(0, Vec::len);
    }
    assert_eq!(listed, GITHUB_TOOLS);
    assert!(fast_pages.len() > 10, "{} pages", fast_pages.len());

    let call = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "meta_get-zen", "arguments": {}, "_meta": meta()}});
    let headers = modern("tools/call", Some("meta_get-zen"));
    let answered = post(&fast, &headers, &call);
    assert_eq!(answered, post(&rmcp, &headers, &call));
    assert_eq!(answered.1, "application/json");
    assert_eq!(
        answered.2["result"]["content"][0]["text"], "zen at /zen",
        "{}",
        answered.2
    );

    // What is not plain goes to rmcp on both: the same refusals.
    let bad_name = modern("tools/call", Some("repos_get"));
    assert_eq!(post(&fast, &bad_name, &call), post(&rmcp, &bad_name, &call));
    let no_meta = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"});
    let list_headers = modern("tools/list", None);
    assert_eq!(
        post(&fast, &list_headers, &no_meta),
        post(&rmcp, &list_headers, &no_meta)
    );
}

#[test]
fn an_invalid_cursor_is_a_clear_invalid_params_error_on_every_path() {
    let fast = github(&[]);
    let rmcp = github(&["--no-fast-path"]);
    for url in [fast.url("/mcp"), rmcp.url("/mcp")] {
        for cursor in ["not-a-cursor", "dDE6MDAwMDAwMDAwMDAwMDAwMDox"] {
            let body = json!({"jsonrpc": "2.0", "id": 6, "method": "tools/list",
                "params": {"cursor": cursor, "_meta": meta()}});
            let (_, _, answer) = post(&url, &modern("tools/list", None), &body);
            assert_eq!(answer["error"]["code"], -32602, "{answer}");
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains("invalid cursor"), "{message}");
            let session = Http::new().session(&url);
            let legacy = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {"cursor": cursor}});
            let reply = Http::new().post(&url, &[("mcp-session-id", &session)], &legacy);
            let answer: Value = reply.json();
            assert_eq!(answer["error"]["code"], -32602, "{answer}");
        }
    }
}

#[test]
fn a_session_delete_answers_204() {
    let demo = Apimcp::cmd(["demo"]).start();
    let url = demo.url("/mcp");
    let session = Http::new().session(&url);
    let deleted = reqwest::blocking::Client::new()
        .delete(&url)
        .header("mcp-session-id", &session)
        .send()
        .expect("DELETE");
    assert_eq!(deleted.status().as_u16(), 204);
    let after = Http::new().post(
        &url,
        &[("mcp-session-id", &session)],
        &apimcp::test_helpers::tools_list(1),
    );
    assert_eq!(after.status, 404, "{}", after.body);
}

#[test]
fn the_search_catalog_lists_in_one_page_alike_on_both_paths() {
    let fast = github(&["--catalog", "search"]);
    let rmcp = github(&["--catalog", "search", "--no-fast-path"]);
    let pages = modern_pages(&fast.url("/mcp"));
    assert_eq!(pages, modern_pages(&rmcp.url("/mcp")));
    assert_eq!(pages.len(), 1);
    let names: Vec<&str> = pages[0].2["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["search_tools", "describe_tools", "call_tool"]);
}
