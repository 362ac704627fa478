//! The official MCP conformance suite against the `conformance` example (a real apimcp
//! server: OpenAPI-derived tools plus custom tools, resources and prompts).

use std::time::Duration;

use crate::util::{Apimcp, peers, run_bounded, spawned};

fn suite(version_var: &str, url: &str, args: &[&str]) -> (bool, String) {
    let mut cmd = peers().node(version_var);
    cmd.args(["server", "--url", url]).args(args);
    let out = run_bounded(spawned(&mut cmd), Duration::from_secs(600));
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let summary = text.split("=== SUMMARY ===").last().unwrap_or(&text).to_owned();
    (out.status.success(), summary)
}

fn server() -> Apimcp {
    Apimcp::example("conformance").start()
}

#[test]
fn all_active_scenarios_of_0_1_16_pass_through_rmcp_alone() {
    let server = Apimcp::example("conformance").arg("--no-fast-path").start();
    let (ok, summary) = suite("CONFORMANCE_016", &server.url("/mcp"), &[]);
    assert!(ok, "{summary}");
    assert!(summary.contains(" 0 failed"), "{summary}");
}

#[test]
fn all_active_scenarios_of_0_1_16_pass() {
    let server = server();
    let (ok, summary) = suite("CONFORMANCE_016", &server.url("/mcp"), &[]);
    assert!(ok, "{summary}");
    assert!(summary.contains(" 0 failed"), "{summary}");
    let scenarios = summary.lines().filter(|l| l.contains(" passed, ")).count();
    assert!(scenarios >= 31, "30 scenarios and the total: {summary}");
}

fn requirements_of_2025_11_25_pass(server: &Apimcp) {
    let (ok, summary) = suite(
        "CONFORMANCE_020",
        &server.url("/mcp"),
        &["--requirements", "2025-11-25"],
    );
    assert!(ok, "{summary}");
}

#[test]
fn requirements_of_2025_11_25_pass_on_the_fast_path() {
    requirements_of_2025_11_25_pass(&server());
}

#[test]
fn requirements_of_2025_11_25_pass_through_rmcp_alone() {
    requirements_of_2025_11_25_pass(&Apimcp::example("conformance").arg("--no-fast-path").start());
}

#[test]
fn requirements_of_2026_07_28_pass_on_the_fast_path() {
    requirements_of_2026_07_28_pass(&server());
}

#[test]
fn requirements_of_2026_07_28_pass_through_rmcp_alone() {
    requirements_of_2026_07_28_pass(&Apimcp::example("conformance").arg("--no-fast-path").start());
}

fn requirements_of_2026_07_28_pass(server: &Apimcp) {
    let (ok, summary) = suite(
        "CONFORMANCE_020",
        &server.url("/mcp"),
        &["--requirements", "2026-07-28"],
    );
    assert!(ok, "{summary}");
    for scenario in [
        "server-stateless",
        "input-required-result-multi-round",
        "input-required-result-tampered-state",
    ] {
        assert!(summary.contains(&format!("✓ {scenario}:")), "{scenario}: {summary}");
    }
}

/// The Python SDK 2.x (2026-07-28) answers a custom tool's questions over rounds: two to the
/// user, one to the model, each round's answers sealed in `requestState`; an altered
/// `requestState` is refused with a JSON-RPC error.
#[test]
fn python_sdk_answers_a_tool_over_rounds_and_an_altered_state_is_refused() {
    let server = server();
    let (ok, lines) = peers().python("py-rounds.py", &[&server.url("/mcp"), "test_elicit_twice_and_sample"]);
    assert!(ok, "{lines:?}");
    assert_eq!(lines[0]["protocol"], "2026-07-28", "{lines:?}");
    assert_eq!(lines[0]["ok"], true, "{lines:?}");
    assert_eq!(lines[0]["text"], "Bonjour, answer 1 answer 2", "{lines:?}");
    assert_eq!(
        lines[0]["asked"],
        serde_json::json!(["elicitation", "elicitation", "sampling"]),
        "{lines:?}"
    );
    assert_eq!(lines[1]["refused"], true, "{lines:?}");
    assert_eq!(lines[1]["code"], -32602, "{lines:?}");
    assert!(
        lines[1]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("requestState"),
        "{lines:?}"
    );
}
