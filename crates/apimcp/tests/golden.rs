//! Golden snapshots: Petstore 3.0 and 3.1 in, the tool list (and bindings) out. A change to
//! the conversion shows up as a readable diff; `UPDATE_GOLDEN=1 cargo test --test golden`
//! rewrites the snapshots.

mod common;

use std::path::Path;

use apimcp::openapi::{ConvertOptions, OpenApiDocument, convert};
use serde_json::{Value, json};

fn snapshot(document: &Path) -> Value {
    let text = std::fs::read_to_string(document).expect("readable");
    let document = OpenApiDocument::parse(&text, "petstore").expect("parses");
    let conversion = convert(&document, &ConvertOptions::default()).expect("converts");
    assert!(conversion.report.skipped.is_empty());
    Value::Array(
        conversion
            .tools
            .iter()
            .map(|t| json!({ "tool": t.tool, "binding": t.binding }))
            .collect(),
    )
}

fn check(input: &str, golden: &str) {
    let actual = snapshot(&common::real_document(input));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(golden);
    let text = serde_json::to_string_pretty(&actual).expect("serialises") + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, text).expect("writes the snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing: run with UPDATE_GOLDEN=1", path.display()));
    if expected != text {
        let actual_path = path.with_extension("actual.json");
        std::fs::write(&actual_path, &text).expect("writes the actual output");
        panic!(
            "{golden} changed: compare {} with {} (UPDATE_GOLDEN=1 accepts the change)",
            path.display(),
            actual_path.display()
        );
    }
}

#[test]
fn petstore_3_0() {
    check("examples/3.0-petstore.json", "petstore-3.0.tools.json");
}

#[test]
fn petstore_3_1() {
    check("examples/3.1-petstore.json", "petstore-3.1.tools.json");
}

#[test]
fn yaml_and_json_of_the_same_document_give_the_same_tools() {
    for version in ["3.0", "3.1"] {
        let json = snapshot(&common::real_document(&format!("examples/{version}-petstore.json")));
        let yaml = snapshot(&common::real_document(&format!("yaml/{version}-petstore.yaml")));
        assert_eq!(json, yaml, "{version}");
    }
}
