//! Responses that drift from their outputSchema, on GitHub's real document: its own example
//! for `repos/get` lacks the `language` the schema requires. `strict` makes that a tool error,
//! `advisory` (the default) serves it with `structuredContent` that matches the relaxed schema
//! it advertises, or as plain text when even that does not match, and `off` advertises no
//! outputSchema at all.

use std::convert::Infallible;

use apimcp::McpServer;
use apimcp::openapi::OpenApiDocument;
use apimcp::server::{Context, OutputSchemas};
use serde_json::{Value, json};

fn github() -> OpenApiDocument {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.cache/openapi/github.json");
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (scripts/fetch-openapi-docs.sh fetches it)"));
    OpenApiDocument::parse(&text, path).expect("a valid document")
}

/// GitHub's own example answer of `GET /repos/{owner}/{repo}`.
fn repos_get_example(document: &OpenApiDocument) -> Value {
    let doc = document.value();
    let operation = &doc["paths"]["/repos/{owner}/{repo}"]["get"];
    let mut example = &operation["responses"]["200"]["content"]["application/json"]["examples"]["default-response"];
    // GitHub keeps its examples under components/examples and points at them.
    if let Some(target) = example["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        example = doc.pointer(target).unwrap_or(&Value::Null);
    }
    example["value"].clone()
}

/// A server over GitHub's document whose API answers every call with `body`.
fn server(document: OpenApiDocument, mode: OutputSchemas, body: Value) -> McpServer {
    let api = tower::service_fn(move |_request: http::Request<axum::body::Body>| {
        let body = body.to_string();
        async move {
            let response = http::Response::builder()
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body));
            Ok::<_, Infallible>(response.expect("a response"))
        }
    });
    McpServer::builder()
        .openapi(document)
        .in_process(api)
        .output_schemas(mode)
        .build()
        .expect("builds")
}

fn call(server: &McpServer) -> Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let arguments = json!({"owner": "octocat", "repo": "Hello-World"});
    let call = server.call_tool("repos_get", arguments.as_object().cloned(), Context::default());
    runtime.block_on(call).expect("a tool result").to_json()
}

fn output_schema(server: &McpServer) -> Option<Value> {
    let tool = server
        .tool_definitions()
        .into_iter()
        .find(|t| t.name.as_str() == "repos_get")?;
    tool.output_schema.map(Value::Object)
}

#[test]
fn githubs_own_example_drifts_from_its_schema() {
    let document = github();
    let example = repos_get_example(&document);
    assert!(example.is_object() && example.get("language").is_none(), "{example}");
    let strict = server(document, OutputSchemas::Strict, example);
    assert!(output_schema(&strict).is_some(), "an outputSchema");
    let result = call(&strict);
    assert_eq!(result["isError"], true, "{result}");
    assert!(result.get("structuredContent").is_none());
    let message = result["content"][0]["text"].as_str().unwrap_or("");
    assert!(
        message.contains("does not match the outputSchema of repos_get"),
        "{message}"
    );
}

#[test]
fn advisory_serves_the_drifting_example_with_structured_content_its_schema_accepts() {
    let document = github();
    let example = repos_get_example(&document);
    let advisory = server(document, OutputSchemas::default(), example.clone());
    let schema = output_schema(&advisory).expect("an outputSchema");
    assert!(schema.get("required").is_none(), "no property is required");
    let result = call(&advisory);
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(result["structuredContent"], example);
    // What a strict client does: the structured content matches the advertised schema.
    let validator = jsonschema::validator_for(&schema).expect("the advertised schema compiles");
    assert!(validator.is_valid(&result["structuredContent"]));
}

#[test]
fn advisory_serves_a_response_that_breaks_even_the_relaxed_schema_as_text() {
    let mut wrong = repos_get_example(&github());
    wrong["id"] = json!("not a number");
    let advisory = server(github(), OutputSchemas::Advisory, wrong.clone());
    for _ in 0..2 {
        let result = call(&advisory);
        assert_eq!(result["isError"], false, "{result}");
        assert!(result.get("structuredContent").is_none(), "{result}");
        let text = result["content"][0]["text"].as_str().unwrap_or("");
        let served: Value = serde_json::from_str(text).expect("the body, as text");
        assert_eq!(served, wrong);
    }
}

#[test]
fn off_advertises_no_output_schema() {
    let document = github();
    let example = repos_get_example(&document);
    let off = server(document, OutputSchemas::Off, example);
    assert_eq!(output_schema(&off), None);
    assert!(off.tool_definitions().iter().all(|t| t.output_schema.is_none()));
    let result = call(&off);
    assert_eq!(result["isError"], false, "{result}");
    assert!(result.get("structuredContent").is_none());
}
