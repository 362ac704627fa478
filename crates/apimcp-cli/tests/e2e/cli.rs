//! The command line itself: `tools`, `check`, configuration files and their errors.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{run_bounded, spawned};

fn apimcp(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_apimcp"))
        .args(args)
        .output()
        .expect("runs")
}

fn write(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("apimcp-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

const SPEC: &str = r##"{"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": {
  "/a/{id}": {"get": {"operationId": "repos/get", "tags": ["x"], "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}], "responses": {"200": {"description": "ok"}}}},
  "/b": {"post": {"operationId": "broken", "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Missing"}}}}, "responses": {"200": {"description": "ok"}}}}}}"##;

#[test]
fn tools_json_prints_the_tool_list_and_a_summary() {
    let spec = write("spec.json", SPEC);
    let out = apimcp(&["tools", "--spec", &spec, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tools: Value = serde_json::from_slice(&out.stdout).expect("a JSON array on stdout");
    assert_eq!(tools[0]["name"], "repos_get");
    assert_eq!(tools[0]["inputSchema"]["required"][0], "id");
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.contains("operations: 2, tools: 1, filtered out: 0, skipped: 1"),
        "{summary}"
    );
    assert!(
        summary.contains("POST /b (broken): request body: unresolved reference #/components/schemas/Missing"),
        "{summary}"
    );
}

#[test]
fn tools_json_ends_quietly_when_its_reader_stops_early() {
    // `apimcp tools --json | head -1`: far more than a pipe holds, so the writes after the
    // reader is gone fail with a broken pipe, which is no error.
    let paths: serde_json::Map<String, Value> = (0..3000)
        .map(|i| {
            let operation = json!({"get": {"operationId": format!("op_{i}"), "summary": "An operation",
                "responses": {"200": {"description": "ok"}}}});
            (format!("/items{i}"), operation)
        })
        .collect();
    let document = json!({"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": paths});
    let spec = write("many.json", &document.to_string());
    let mut child = spawned(
        Command::new(env!("CARGO_BIN_EXE_apimcp"))
            .args(["tools", "--spec", &spec, "--json"])
            .stdin(Stdio::null()),
    );
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut first).expect("the first line");
    assert_eq!(first.trim(), "[");
    drop(stdout);
    let out = run_bounded(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    assert!(!stderr.contains("apimcp:"), "no error message: {stderr}");
}

#[test]
fn serve_honours_the_fetch_timeout() {
    // A document URL that never answers: the connection is accepted (by the kernel), the
    // request sent, and nothing comes back.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/openapi.json", silent.local_addr().expect("addr"));
    let started = Instant::now();
    let child = spawned(Command::new(env!("CARGO_BIN_EXE_apimcp")).args([
        "serve",
        "--spec",
        &url,
        "--upstream",
        "http://127.0.0.1:9",
        "--listen",
        "127.0.0.1:0",
        "--fetch-timeout-secs",
        "1",
    ]));
    // Well under the 30 s default, which the command used to wait whatever the flag said.
    let out = run_bounded(child, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("apimcp: cannot fetch {url}")), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "gave up after {:?}",
        started.elapsed()
    );
    drop(silent);
}

#[test]
fn strict_turns_a_skip_into_a_failure() {
    let spec = write("strict.json", SPEC);
    let out = apimcp(&["tools", "--spec", &spec, "--strict"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("strict mode"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn filters_of_one_kind_cannot_be_combined() {
    let spec = write("filters.json", SPEC);
    let out = apimcp(&["tools", "--spec", &spec, "--include-tags", "x", "--exclude-tags", "y"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("include_tags and exclude_tags"));
    let out = apimcp(&["tools", "--spec", &spec, "--include-tags", "x", "--json"]);
    let tools: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(tools.as_array().map(Vec::len), Some(1));
}

#[test]
fn unparseable_documents_name_the_line() {
    let spec = write("bad.yaml", "openapi: 3.0.0\npaths:\n  - a\n  b: c\n");
    let out = apimcp(&["tools", "--spec", &spec]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:4:"), "{err}");
    let swagger = write("old.json", r#"{"swagger": "1.2"}"#);
    let err = String::from_utf8_lossy(&apimcp(&["tools", "--spec", &swagger]).stderr).into_owned();
    assert!(err.contains("\"1.2\""), "{err}");
}

#[test]
fn check_validates_a_configuration_without_serving() {
    let spec = write("check-spec.json", SPEC);
    let config = write(
        "good.toml",
        &format!(
            "[server]\nlisten = \"127.0.0.1:9\"\npath = \"/m\"\nstateless = true\n[api]\nspec = \"{spec}\"\nupstream = \"http://127.0.0.1:9\"\ntimeout_secs = 5\ninclude_tags = [\"x\"]\n"
        ),
    );
    let out = apimcp(&["check", "--config", &config]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("OK: 1 tools from 2 operations (1 filtered out, 0 skipped), MCP at http://127.0.0.1:9/m"),
        "{text}"
    );

    let typo = write("typo.toml", "[server]\nlisen = \"127.0.0.1:9\"\n");
    let out = apimcp(&["check", "--config", &typo]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("lisen"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let missing = write("missing.toml", "[server]\nlisten = \"127.0.0.1:9\"\n");
    let out = apimcp(&["check", "--config", &missing]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--spec"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn environment_overrides_the_file() {
    let spec = write("env-spec.json", SPEC);
    let config = write(
        "env.toml",
        &format!("[server]\nlisten = \"127.0.0.1:9\"\n[api]\nspec = \"{spec}\"\nupstream = \"http://127.0.0.1:9\"\n"),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_apimcp"))
        .args(["check", "--config", &config])
        .env("APIMCP_PATH", "/from-env")
        .output()
        .expect("runs");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("/from-env"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_oauth_configurations_of_the_examples_check_and_bad_ones_say_why() {
    let spec = write("oauth-spec.json", SPEC);
    let with_spec = |name: &str, text: &str| {
        let text = text.replace("http://127.0.0.1:8001/openapi.json", &spec);
        write(name, &text)
    };
    let env = [
        ("OAUTH_ISSUER", "https://id.example.test"),
        ("OAUTH_CLIENT_ID", "apimcp"),
        ("OAUTH_CLIENT_SECRET", "s3cret"),
        ("AUTH0_ISSUER", "https://tenant.auth0.test/"),
        (
            "AUTH0_METADATA_URL",
            "https://tenant.auth0.test/.well-known/openid-configuration",
        ),
        ("AUTH0_AUDIENCE", "https://items.api.test/"),
        ("AUTH0_CLIENT_ID", "apimcp"),
        ("AUTH0_CLIENT_SECRET", "s3cret"),
    ];
    let check = |config: &str| {
        Command::new(env!("CARGO_BIN_EXE_apimcp"))
            .args(["check", "--config", config])
            .envs(env)
            .output()
            .expect("runs")
    };
    let dir = crate::util::workspace().join("examples/config");
    for file in ["oauth-proxy.toml", "auth0.toml", "custom-oauth-metadata.toml"] {
        let text = std::fs::read_to_string(dir.join(file)).expect("example configuration");
        let out = check(&with_spec(file, &text));
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let proxy = std::fs::read_to_string(dir.join("oauth-proxy.toml")).expect("read");
    let cases = [
        (
            proxy.replace("client_secret = \"env:OAUTH_CLIENT_SECRET\"", ""),
            "setup_proxies needs client_secret",
        ),
        (
            proxy.replace("public_url = \"http://127.0.0.1:8000\"", ""),
            "setup_proxies needs the server's public_url",
        ),
        (
            proxy.replace("env:OAUTH_CLIENT_ID", "env:APIMCP_TEST_UNSET"),
            "APIMCP_TEST_UNSET is not set",
        ),
        (
            format!("{proxy}[auth.custom_oauth_metadata]\nissuer = \"https://x.test\"\n"),
            "custom_oauth_metadata or setup_proxies, not both",
        ),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let out = check(&with_spec(&format!("bad-oauth-{i}.toml"), text));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(expected), "{expected}: {err}");
    }
    let custom = std::fs::read_to_string(dir.join("custom-oauth-metadata.toml")).expect("read");
    let lacking = custom.replace("token_endpoint = \"https://auth.example.com/oauth/token\"\n", "");
    let out = check(&with_spec("bad-custom.toml", &lacking));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("custom_oauth_metadata lacks: token_endpoint"), "{err}");
}
