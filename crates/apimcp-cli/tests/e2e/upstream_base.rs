//! The API's base URL from the document: `servers[0]` with its variables, Swagger 2.0's
//! `host` + `basePath`, `--upstream` replacing the origin but keeping the base path unless it
//! has a path of its own, and per-path and per-operation `servers`.

use std::sync::Once;

use axum::Router;
use axum::extract::Request;
use serde_json::{Value, json};

use crate::util::{Apimcp, Http, serve_app, workspace};

/// An upstream that answers every request with its path.
fn start_upstream() -> (String, u16) {
    let app =
        Router::new().fallback(|request: Request| async move { axum::Json(json!({"path": request.uri().path()})) });
    let addr = serve_app(app);
    (format!("http://{addr}"), addr.port())
}

/// A real Petstore document (fetched by `scripts/fetch-openapi-docs.sh` on first use).
fn petstore(name: &str) -> String {
    static FETCH: Once = Once::new();
    FETCH.call_once(|| {
        let status = std::process::Command::new("bash")
            .arg(workspace().join("scripts/fetch-openapi-docs.sh"))
            .status()
            .expect("bash runs the fetch script");
        assert!(status.success(), "scripts/fetch-openapi-docs.sh failed");
    });
    workspace()
        .join(".cache/openapi/examples")
        .join(name)
        .display()
        .to_string()
}

/// The path `tool` reached on the upstream.
fn path_of(server: &Apimcp, tool: &str, args: Value) -> String {
    let http = Http::new();
    let mcp = server.url("/mcp");
    let session = http.session(&mcp);
    let result = http.call(&mcp, Some(&session), tool, args);
    // The last text is the API's answer (Petstore's outputSchema may put a note before it).
    let contents = result["result"]["content"].as_array().cloned().unwrap_or_default();
    let text = contents.last().and_then(|c| c["text"].as_str()).unwrap_or("");
    let seen: Value = serde_json::from_str(text).unwrap_or_else(|_| panic!("{result}"));
    seen["path"].as_str().unwrap_or("").to_owned()
}

#[test]
fn petstore_keeps_its_base_path_behind_an_upstream_origin() {
    let (base, _) = start_upstream();
    for doc in ["2.0-petstore.json", "3.0-petstore.json"] {
        let spec = petstore(doc);
        let server = Apimcp::cmd(["serve", "--spec", &spec, "--upstream", &base]).start();
        assert_eq!(
            path_of(&server, "getPetById", json!({"petId": 1})),
            "/v2/pet/1",
            "{doc}"
        );
        let custom = format!("{base}/custom");
        let server = Apimcp::cmd(["serve", "--spec", &spec, "--upstream", &custom]).start();
        assert_eq!(
            path_of(&server, "getPetById", json!({"petId": 1})),
            "/custom/pet/1",
            "{doc}: a path of its own"
        );
    }
}

#[test]
fn servers_with_variables_and_per_operation_servers() {
    let (_, port) = start_upstream();
    let ok = json!({"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}});
    let spec = json!({
        "openapi": "3.0.3", "info": {"title": "Servers", "version": "1"},
        "servers": [{"url": "http://127.0.0.1:{port}/{base}", "variables": {
            "port": {"default": port.to_string()}, "base": {"default": "api/v3", "enum": ["api/v3"]}}}],
        "paths": {
            "/things": {"get": {"operationId": "things", "responses": ok}},
            "/files": {"post": {"operationId": "upload", "servers": [{"url": "/uploads"}], "responses": ok}},
            "/reports": {"servers": [{"url": format!("http://127.0.0.1:{port}/reporting")}],
                "get": {"operationId": "reports", "responses": ok}}
        }
    });
    let path = std::env::temp_dir().join(format!("apimcp-servers-{}-{port}.json", std::process::id()));
    std::fs::write(&path, spec.to_string()).expect("spec");
    let spec = path.display().to_string();
    let server = Apimcp::cmd(["serve", "--spec", &spec]).start();
    assert_eq!(
        path_of(&server, "things", json!({})),
        "/api/v3/things",
        "servers[0] with its variables"
    );
    assert_eq!(
        path_of(&server, "upload", json!({})),
        "/uploads/files",
        "the operation's own server"
    );
    assert_eq!(
        path_of(&server, "reports", json!({})),
        "/reporting/reports",
        "the path item's server"
    );
}

#[test]
fn a_document_without_an_absolute_server_needs_an_upstream() {
    let spec = std::env::temp_dir().join(format!("apimcp-noserver-{}.json", std::process::id()));
    let doc =
        json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "servers": [{"url": "/v1"}], "paths": {}});
    std::fs::write(&spec, doc.to_string()).expect("spec");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apimcp"))
        .args([
            "serve",
            "--spec",
            &spec.display().to_string(),
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\"/v1\"") && stderr.contains("upstream"), "{stderr}");
}

/// Writes `text` to a file of this test process and answers its path.
fn temp_file(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("apimcp-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn server_variables_set_by_flag_reach_the_base_and_the_operations_servers() {
    let (_, port) = start_upstream();
    let ok = json!({"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}});
    // The defaults point nowhere: only the values given reach the upstream.
    let spec = json!({
        "openapi": "3.1.0", "info": {"title": "Variables", "version": "1"},
        "servers": [{"url": "http://127.0.0.1:{port}/{version}", "variables": {
            "port": {"default": "1"}, "version": {"default": "v1", "enum": ["v1", "v2"]}}}],
        "paths": {
            "/things": {"get": {"operationId": "things", "responses": ok}},
            "/files": {"post": {"operationId": "upload", "responses": ok,
                "servers": [{"url": "http://127.0.0.1:{port}/uploads/{version}",
                    "variables": {"port": {"default": "1"}, "version": {"default": "v1"}}}]}}
        }
    });
    let spec = temp_file(&format!("variables-{port}.json"), &spec.to_string());
    let port = format!("port={port}");
    let server = Apimcp::cmd([
        "serve",
        "--spec",
        &spec,
        "--server-variable",
        &port,
        "--server-variable",
        "version=v2",
    ])
    .start();
    assert_eq!(path_of(&server, "things", json!({})), "/v2/things");
    assert_eq!(
        path_of(&server, "upload", json!({})),
        "/uploads/v2/files",
        "the operation's server takes the same values"
    );
}

#[test]
fn check_shows_the_base_url_from_server_variables_and_refuses_bad_ones() {
    let spec = json!({
        "openapi": "3.1.0", "info": {"title": "Regions", "version": "1"},
        "servers": [{"url": "https://{region}.api.test/{version}", "variables": {
            "region": {"default": "us", "enum": ["us", "eu"]}, "version": {"default": "v1"}}}],
        "paths": {"/things": {"get": {"operationId": "things", "responses": {"200": {"description": "ok"}}}}}
    });
    let spec = temp_file("regions.json", &spec.to_string());
    let check = |name: &str, variables: &str| {
        let config = temp_file(
            name,
            &format!(
                "[server]\nlisten = \"127.0.0.1:9\"\n[api]\nspec = \"{spec}\"\n[api.server_variables]\n{variables}"
            ),
        );
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_apimcp"))
            .args(["check", "--config", &config])
            .env("RUST_LOG", "info")
            .output()
            .expect("runs");
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, log) = check("regions-ok.toml", "region = \"eu\"\nversion = \"v2\"\n");
    assert!(ok, "{log}");
    let line = log
        .lines()
        .find(|l| l.contains("tool calls go to the API at this base URL"))
        .unwrap_or_else(|| panic!("no base URL line in {log}"));
    assert!(line.contains("https://eu.api.test/v2"), "{line}");

    let (ok, log) = check("regions-mars.toml", "region = \"mars\"\n");
    assert!(!ok);
    assert!(
        log.contains("server variable \"region\": \"mars\" is not allowed; the document allows us, eu"),
        "{log}"
    );
    let (ok, log) = check("regions-zone.toml", "zone = \"a\"\n");
    assert!(!ok);
    assert!(
        log.contains("server variable \"zone\"") && log.contains("they declare: region, version"),
        "{log}"
    );
}
