//! Real-world OpenAPI documents: GitHub, Stripe, Slack, OpenAI and the @readme/oas-examples
//! edge cases. For each: no crash, every operation accounted for, no parameter lost, names
//! valid and unique, and every schema a valid JSON Schema 2020-12 document that compiles.

mod common;

use std::collections::HashSet;
use std::path::Path;

use apimcp::openapi::{ConvertOptions, OpenApiDocument, convert};
use serde_json::Value;

struct Checked {
    operations: usize,
    tools: usize,
}

fn check(path: &Path) -> Checked {
    let text = std::fs::read_to_string(path).expect("readable");
    let document = OpenApiDocument::parse(&text, &path.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
    let conversion = convert(&document, &ConvertOptions::default()).expect("converts");
    let report = &conversion.report;
    for skipped in &report.skipped {
        println!("{}: skipped {skipped}", path.display());
    }
    assert_eq!(
        conversion.tools.len() + report.skipped.len(),
        report.operations,
        "{}: every operation is a tool or a reported skip",
        path.display()
    );
    let mut names = HashSet::new();
    let raw_params = parameters_by_operation(document.value());
    for t in &conversion.tools {
        let name = t.tool.name.as_str();
        assert!(names.insert(name.to_owned()), "duplicate tool name {name}");
        assert!(name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)));
        let key = (t.binding.method.to_string(), t.binding.path.clone());
        let expected = raw_params.get(&key).expect("operation in document");
        let mut bound: Vec<(String, String)> = t
            .binding
            .params
            .iter()
            .map(|p| (p.name.clone(), p.location.as_str().to_owned()))
            .collect();
        bound.sort();
        assert_eq!(&bound, expected, "{name}: every parameter is bound");
        let properties = t.tool.input_schema["properties"].as_object().expect("properties");
        for p in &t.binding.params {
            assert!(
                properties.contains_key(&p.arg),
                "{name}: argument {} in the schema",
                p.arg
            );
        }
        assert_schema(name, "inputSchema", &Value::Object(t.tool.input_schema.clone()));
        if let Some(output) = &t.tool.output_schema {
            assert_eq!(output["type"], "object", "{name}: outputSchema is an object");
            assert_schema(name, "outputSchema", &Value::Object(output.clone()));
        }
    }
    Checked {
        operations: report.operations,
        tools: conversion.tools.len(),
    }
}

/// Valid against the 2020-12 meta-schema, and compiles (every `$ref` resolves).
fn assert_schema(tool: &str, which: &str, schema: &Value) {
    if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
        panic!("{tool}: {which} is not valid JSON Schema 2020-12: {e}\n{schema}");
    }
    if let Err(e) = jsonschema::draft202012::new(schema) {
        panic!("{tool}: {which} does not compile: {e}");
    }
    assert_eq!(schema["type"], "object");
}

/// Parameters per operation read straight from the document, by the specification's rules
/// (path-item parameters overridden by operation ones; Accept, Content-Type and Authorization
/// headers ignored), independently of the converter.
fn parameters_by_operation(doc: &Value) -> std::collections::HashMap<(String, String), Vec<(String, String)>> {
    let resolve = |v: &Value| -> Value {
        let mut v = v.clone();
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            v = doc
                .pointer(r.trim_start_matches('#'))
                .cloned()
                .expect("resolvable $ref");
        }
        v
    };
    let mut out = std::collections::HashMap::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        let item = resolve(item);
        let mut ops: Vec<(String, &Value)> = Vec::new();
        for (key, op) in item.as_object().into_iter().flatten() {
            if [
                "get", "put", "post", "delete", "options", "head", "patch", "trace", "query",
            ]
            .contains(&key.as_str())
            {
                ops.push((key.to_uppercase(), op));
            }
        }
        for (method, op) in ops {
            let mut params: Vec<(String, String)> = Vec::new();
            for level in [&item["parameters"], &op["parameters"]] {
                for p in level.as_array().into_iter().flatten() {
                    let p = resolve(p);
                    let entry = (
                        p["name"].as_str().unwrap_or("").to_owned(),
                        p["in"].as_str().unwrap_or("").to_owned(),
                    );
                    let ignored = entry.1 == "header"
                        && ["accept", "content-type", "authorization"].contains(&entry.0.to_lowercase().as_str());
                    params.retain(|q| q != &entry);
                    if !ignored {
                        params.push(entry);
                    }
                }
            }
            params.sort();
            out.insert((method, path.clone()), params);
        }
    }
    out
}

#[test]
fn github_rest_every_operation_is_a_tool() {
    let checked = check(&common::real_document("github.json"));
    assert_eq!((checked.operations, checked.tools), (1223, 1223));
}

#[test]
fn stripe() {
    let checked = check(&common::real_document("stripe.json"));
    assert_eq!(checked.tools, checked.operations);
}

#[test]
fn slack() {
    let checked = check(&common::real_document("slack.json"));
    assert_eq!(checked.tools, checked.operations);
}

#[test]
fn openai() {
    let checked = check(&common::real_document("openai.json"));
    assert_eq!(checked.tools, checked.operations);
}

#[test]
fn readme_oas_examples_petstores_and_edge_cases() {
    let files = common::example_documents();
    assert!(files.len() > 40, "the examples are all there");
    for file in files {
        let checked = check(&file);
        println!(
            "{}: {} operations, {} tools",
            file.display(),
            checked.operations,
            checked.tools
        );
    }
}
