//! Search mode end to end: `apimcp serve --catalog search|auto` over Streamable HTTP, against
//! an upstream that echoes what reached it. `tools/list` offers the three tools; they find,
//! describe and call the API's operations, on the fast path and on rmcp's; a call through
//! `call_tool` fails exactly as a direct call does; a token filtered by scope only ever sees
//! what it may call; `auto` switches above its threshold.

use axum::Router;
use axum::extract::Request;
use serde_json::{Value, json};

use crate::util::{Apimcp, Http, peers, serve_app, workspace};

/// Derived tools in the test document: five about tickets and 65 others, past `auto`'s 64.
const TOOLS: usize = 70;

fn start_upstream() -> String {
    let app = Router::new().fallback(|request: Request| async move {
        axum::Json(json!({"method": request.method().as_str(), "path": request.uri().path()}))
    });
    format!("http://{}", serve_app(app))
}

fn operation(id: &str, summary: &str, parameters: Value) -> Value {
    json!({"operationId": id, "summary": summary, "parameters": parameters, "tags": ["tickets"],
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}})
}

fn spec_file() -> String {
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]);
    let mut paths = serde_json::Map::new();
    paths.insert(
        "/tickets".into(),
        json!({
        "get": operation("list_tickets", "List tickets", json!([])),
        "post": operation("create_ticket", "Open a new ticket", json!([]))}),
    );
    paths.insert(
        "/tickets/{id}".into(),
        json!({
        "get": operation("get_ticket", "Get a ticket", id.clone()),
        "patch": operation("update_ticket", "Update a ticket", id.clone()),
        "delete": operation("delete_ticket", "Delete a ticket", id)}),
    );
    for i in 0..TOOLS - 5 {
        let op = json!({"operationId": format!("widget_report_{i}"), "summary": format!("Widget report number {i}"),
            "responses": {"200": {"description": "ok"}}});
        paths.insert(format!("/widgets/{i}/report"), json!({ "get": op }));
    }
    let spec = json!({"openapi": "3.1.0", "info": {"title": "Tracker", "version": "1"}, "paths": paths});
    let path = std::env::temp_dir().join(format!(
        "apimcp-search-{}-{:?}.json",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, spec.to_string()).expect("write spec");
    path.display().to_string()
}

fn serve(extra: &[&str]) -> Apimcp {
    let upstream = start_upstream();
    let spec = spec_file();
    let mut args = vec!["serve", "--spec", spec.as_str(), "--upstream", upstream.as_str()];
    args.extend_from_slice(extra);
    Apimcp::cmd(&args).start()
}

/// A client of one session.
struct Client {
    http: Http,
    url: String,
    headers: Vec<(String, String)>,
}

impl Client {
    fn new(server: &Apimcp, token: Option<&str>) -> (Self, Value) {
        let http = Http::new();
        let url = server.url("/mcp");
        let mut headers: Vec<(String, String)> = token
            .map(|t| ("authorization".into(), format!("Bearer {t}")))
            .into_iter()
            .collect();
        let borrowed: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let init = http.post(&url, &borrowed, &apimcp::test_helpers::initialize());
        assert_eq!(init.status, 200, "{}", init.body);
        let session = init.headers["mcp-session-id"].to_str().expect("ascii").to_owned();
        headers.push(("mcp-session-id".into(), session));
        let client = Self { http, url, headers };
        let ack = client.post(&apimcp::test_helpers::initialized());
        assert_eq!(ack.status, 202);
        (client, init.json())
    }

    fn post(&self, body: &Value) -> apimcp::test_helpers::Reply {
        let headers: Vec<(&str, &str)> = self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.http.post(&self.url, &headers, body)
    }

    fn list(&self) -> Vec<String> {
        let reply = self.post(&apimcp::test_helpers::tools_list(2)).json();
        let tools = reply["result"]["tools"].as_array().cloned().unwrap_or_default();
        tools
            .iter()
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect()
    }

    /// The result of a tools/call.
    fn call(&self, tool: &str, arguments: Value) -> Value {
        let reply = self.post(&apimcp::test_helpers::tools_call(3, tool, arguments));
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["result"].clone()
    }
}

fn text(result: &Value) -> String {
    result["content"][0]["text"].as_str().unwrap_or("").to_owned()
}

fn hit_names(result: &Value) -> Vec<String> {
    let tools = result["structuredContent"]["tools"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    tools
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

fn search_describe_and_call(mode: &[&str]) {
    let mut args = vec!["--catalog", "search"];
    args.extend_from_slice(mode);
    let server = serve(&args);
    let (client, init) = Client::new(&server, None);
    let instructions = init["result"]["instructions"].as_str().unwrap_or("");
    assert!(
        instructions.contains("search_tools") && instructions.contains("call_tool"),
        "{init}"
    );
    assert_eq!(client.list(), ["search_tools", "describe_tools", "call_tool"]);

    let found = client.call("search_tools", json!({"query": "remove a ticket"}));
    assert_eq!(found["isError"], false, "{found}");
    assert_eq!(
        hit_names(&found).first().map(String::as_str),
        Some("delete_ticket"),
        "{found}"
    );
    assert!(text(&found).starts_with("delete_ticket"), "{found}");
    let again = client.call("search_tools", json!({"query": "remove a ticket"}));
    assert_eq!(found, again, "the same query gives the same answer");
    let two = client.call("search_tools", json!({"query": "widget report", "limit": 2}));
    assert_eq!(hit_names(&two).len(), 2);

    let described = client.call("describe_tools", json!({"names": ["get_ticket", "no_such_tool"]}));
    let definition = &described["structuredContent"]["tools"][0];
    assert_eq!(definition["name"], "get_ticket");
    assert_eq!(definition["inputSchema"]["properties"]["id"]["type"], "integer");
    assert_eq!(described["structuredContent"]["unknown"], json!(["no_such_tool"]));

    let called = client.call("call_tool", json!({"name": "get_ticket", "arguments": {"id": 7}}));
    assert_eq!(called["isError"], false, "{called}");
    assert_eq!(called["structuredContent"]["path"], "/tickets/7");
    let through = client.call("call_tool", json!({"name": "get_ticket", "arguments": {"id": "seven"}}));
    let direct = client.call("get_ticket", json!({"id": "seven"}));
    assert_eq!(through["isError"], true);
    assert_eq!(text(&through), text(&direct), "the same message as a direct call");
    assert!(text(&through).contains("Invalid arguments for get_ticket"), "{through}");
    let unknown = client.call("call_tool", json!({"name": "no_such_tool", "arguments": {}}));
    assert_eq!(unknown["isError"], true);
    let bad = client.call("search_tools", json!({"query": "x", "limit": 500}));
    assert_eq!(bad["isError"], true, "limit is at most 50: {bad}");
}

#[test]
fn search_describe_and_call_on_the_fast_path() {
    search_describe_and_call(&[]);
}

#[test]
fn search_describe_and_call_on_rmcps_path() {
    search_describe_and_call(&["--no-fast-path"]);
}

#[test]
fn auto_switches_to_search_above_its_threshold() {
    let server = serve(&["--catalog", "auto"]);
    let (client, _) = Client::new(&server, None);
    assert_eq!(client.list().len(), 3, "{TOOLS} tools is above 64");
    let server = serve(&["--catalog", "auto", "--catalog-auto-above", "100"]);
    let (client, init) = Client::new(&server, None);
    assert_eq!(client.list().len(), TOOLS);
    assert!(init["result"]["instructions"].is_null(), "{init}");
    let server = serve(&[]);
    let (client, _) = Client::new(&server, None);
    assert_eq!(client.list().len(), TOOLS, "full by default");
}

#[test]
fn a_scope_filtered_token_only_finds_describes_and_calls_what_it_may() {
    let upstream = start_upstream();
    let spec = spec_file();
    let config = std::env::temp_dir().join(format!("apimcp-search-auth-{}.toml", std::process::id()));
    let toml = format!(
        "[api]\nspec = \"{spec}\"\nupstream = \"{upstream}\"\ncatalog = \"search\"\n[auth]\nstatic_tokens = [\"env:SEARCH_TOKEN\"]\nscopes_supported = [\"tickets:read\"]\nfilter_tools = true\n[auth.tool_scopes]\ndelete_ticket = [\"tickets:admin\"]\n"
    );
    std::fs::write(&config, toml).expect("write config");
    let config = config.display().to_string();
    let server = Apimcp::cmd(["serve", "--config", config.as_str()])
        .env("SEARCH_TOKEN", "reader")
        .start();
    let (client, _) = Client::new(&server, Some("reader"));
    let found = client.call("search_tools", json!({"query": "delete a ticket", "limit": 50}));
    let names = hit_names(&found);
    assert!(
        names.contains(&"get_ticket".to_owned()) && !names.contains(&"delete_ticket".to_owned()),
        "{found}"
    );
    let described = client.call("describe_tools", json!({"names": ["delete_ticket"]}));
    assert_eq!(described["structuredContent"]["unknown"], json!(["delete_ticket"]));
    let refused = client.post(&apimcp::test_helpers::tools_call(
        4,
        "call_tool",
        json!({"name": "delete_ticket", "arguments": {"id": 1}}),
    ));
    assert_eq!(refused.status, 403, "{}", refused.body);
    let challenge = refused.headers["www-authenticate"].to_str().unwrap_or("");
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains("tickets:admin"),
        "{challenge}"
    );
    let allowed = client.call("call_tool", json!({"name": "get_ticket", "arguments": {"id": 1}}));
    assert_eq!(allowed["isError"], false, "{allowed}");
}

#[test]
fn pinned_tools_stay_listed_from_the_flag_and_from_the_file() {
    let server = serve(&["--catalog", "search", "--pin-tool", "get_ticket,list_tickets"]);
    let (client, _) = Client::new(&server, None);
    assert_eq!(
        client.list(),
        [
            "search_tools",
            "describe_tools",
            "call_tool",
            "get_ticket",
            "list_tickets"
        ]
    );
    let upstream = start_upstream();
    let spec = spec_file();
    let config = std::env::temp_dir().join(format!("apimcp-search-pin-{}.toml", std::process::id()));
    let toml = format!(
        "[api]\nspec = \"{spec}\"\nupstream = \"{upstream}\"\ncatalog = \"search\"\npin_tools = [\"create_ticket\"]\n"
    );
    std::fs::write(&config, toml).expect("write config");
    let config = config.display().to_string();
    let server = Apimcp::cmd(["serve", "--config", config.as_str()]).start();
    let (client, _) = Client::new(&server, None);
    assert_eq!(
        client.list(),
        ["search_tools", "describe_tools", "call_tool", "create_ticket"]
    );
}

/// `apimcp serve --spec <GitHub's document> --catalog search` against the echoing upstream.
fn serve_github() -> Apimcp {
    let upstream = start_upstream();
    let spec = workspace().join(".cache/openapi/github.json").display().to_string();
    Apimcp::cmd([
        "serve",
        "--spec",
        spec.as_str(),
        "--upstream",
        upstream.as_str(),
        "--catalog",
        "search",
    ])
    .start()
}

#[test]
fn the_inspector_lists_and_searches_githubs_catalog() {
    let server = serve_github();
    let url = server.url("/mcp");
    let out = peers().inspector(&url, &["--method", "tools/list"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let names: Vec<&str> = listed["tools"]
        .as_array()
        .map(|tools| tools.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["search_tools", "describe_tools", "call_tool"]);
    let search = [
        "--method",
        "tools/call",
        "--tool-name",
        "search_tools",
        "--tool-arg",
        "query=close an issue",
    ];
    let out = peers().inspector(&url, &search);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let found: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        found["structuredContent"]["tools"][0]["name"], "issues_update",
        "{found}"
    );
}

#[test]
fn the_python_sdk_searches_describes_and_calls_githubs_catalog() {
    let server = serve_github();
    let steps = [
        "list",
        r#"call:search_tools:{"query":"list the pull requests of a repository"}"#,
        r#"call:describe_tools:{"names":["repos_get"]}"#,
        r#"call:call_tool:{"name":"repos_get","arguments":{"owner":"octocat","repo":"hello"}}"#,
        r#"call:call_tool:{"name":"repos_get","arguments":{"owner":"octocat"}}"#,
    ];
    let (ok, lines) = peers().python_client(&server.url("/mcp"), "auto", &steps);
    assert!(ok, "{lines:?}");
    assert_eq!(
        lines[1]["names"],
        json!(["search_tools", "describe_tools", "call_tool"]),
        "{lines:?}"
    );
    let hits = lines[2]["structured"]["tools"].as_array().cloned().unwrap_or_default();
    assert!(hits.iter().take(5).any(|h| h["name"] == "pulls_list"), "{lines:?}");
    let described = &lines[3]["structured"]["tools"][0];
    assert_eq!(described["name"], "repos_get", "{lines:?}");
    assert!(
        described["inputSchema"]["required"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("repo")))
    );
    assert_eq!(lines[4]["is_error"], false, "{lines:?}");
    assert_eq!(lines[4]["structured"]["path"], "/repos/octocat/hello", "{lines:?}");
    assert_eq!(lines[5]["is_error"], true, "{lines:?}");
    let message = lines[5]["text"].as_str().unwrap_or_default();
    assert!(message.contains("Invalid arguments for repos_get"), "{message}");
}
