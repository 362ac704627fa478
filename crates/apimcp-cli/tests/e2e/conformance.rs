//! The official MCP conformance suite against the `conformance` example (a real apimcp
//! server: OpenAPI-derived tools plus custom tools, resources and prompts).

use std::path::Path;
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

#[test]
fn requirements_of_2025_11_25_pass() {
    let server = server();
    let (ok, summary) = suite(
        "CONFORMANCE_020",
        &server.url("/mcp"),
        &["--requirements", "2025-11-25"],
    );
    assert!(ok, "{summary}");
}

#[test]
fn requirements_of_2026_07_28_pass_but_for_the_listed_gaps() {
    let server = server();
    let baseline = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/2026-07-28-baseline.yml");
    let baseline = baseline.display().to_string();
    let (ok, summary) = suite(
        "CONFORMANCE_020",
        &server.url("/mcp"),
        &["--requirements", "2026-07-28", "--expected-failures", &baseline],
    );
    assert!(ok, "{summary}");
}
