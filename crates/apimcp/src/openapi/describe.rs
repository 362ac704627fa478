//! Tool descriptions in FastAPI-MCP's template: summary, description, then a `### Responses:`
//! section with an example per response (from the document, or generated from the schema) and,
//! on request, the full response schema.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::schema::resolve;

/// How much of the responses the description shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DescribeOptions {
    pub(crate) all_responses: bool,
    pub(crate) full_response_schema: bool,
    pub(crate) omit_responses: bool,
    pub(crate) max_len: Option<usize>,
}

/// Deep enough for real response shapes, shallow enough that generated text stays readable.
const MAX_DEPTH: usize = 5;
/// The most bytes of one example a description carries: enough to show the response's shape
/// (GitHub's `emojis_get` example alone is 174 KB, its description was all of it).
const MAX_EXAMPLE_BYTES: usize = 4 * 1024;

pub(crate) fn describe(
    doc: &Value,
    method: &str,
    path: &str,
    op: &Map<String, Value>,
    options: DescribeOptions,
) -> String {
    let summary = op.get("summary").and_then(Value::as_str).unwrap_or("");
    let mut text = if summary.is_empty() {
        format!("{method} {path}")
    } else {
        summary.to_owned()
    };
    if let Some(description) = op.get("description").and_then(Value::as_str)
        && !description.is_empty()
    {
        text.push_str("\n\n");
        text.push_str(description);
    }
    if !options.omit_responses
        && let Some(Value::Object(responses)) = op.get("responses")
        && !responses.is_empty()
    {
        text.push_str(&responses_section(doc, responses, options));
    }
    truncate(text, options.max_len)
}

fn truncate(mut text: String, max_len: Option<usize>) -> String {
    let Some(max) = max_len else {
        return text;
    };
    if text.chars().count() <= max {
        return text;
    }
    let cut = text
        .char_indices()
        .nth(max.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i);
    text.truncate(cut);
    text.truncate(text.trim_end().len());
    text.push('…');
    text
}

/// The first 2xx code in numeric order, as FastAPI-MCP picks it.
fn success_code(responses: &Map<String, Value>) -> Option<&str> {
    (200..300).find_map(|code: u16| {
        responses
            .get_key_value(code.to_string().as_str())
            .map(|(k, _)| k.as_str())
    })
}

fn responses_section(doc: &Value, responses: &Map<String, Value>, options: DescribeOptions) -> String {
    let success = success_code(responses);
    let mut out = String::from("\n\n### Responses:\n");
    for (code, response) in responses {
        let is_success = Some(code.as_str()) == success;
        if !options.all_responses && success.is_some() && !is_success {
            continue;
        }
        let response = resolve(doc, response).unwrap_or(response);
        let description = response.get("description").and_then(Value::as_str).unwrap_or("");
        out.push_str(&format!("\n**{code}**: {description}"));
        if is_success {
            out.push_str(" (Success Response)");
        }
        for (media_type, media) in response.get("content").and_then(Value::as_object).into_iter().flatten() {
            out.push_str(&media_section(doc, media_type, media, options));
        }
    }
    out
}

fn media_section(doc: &Value, media_type: &str, media: &Value, options: DescribeOptions) -> String {
    let Some(schema) = media.get("schema") else {
        return String::new();
    };
    let mut out = format!("\nContent-Type: {media_type}");
    let example = document_example(doc, media).or_else(|| generate(doc, schema, 0, &mut HashSet::new()));
    if let Some(example) = example.filter(|e| !e.is_null()) {
        out.push_str("\n\n**Example Response:**\n```json\n");
        out.push_str(&bounded(pretty(&example)));
        out.push_str("\n```");
    }
    if options.full_response_schema {
        out.push_str(&output_schema_section(doc, schema));
    }
    out
}

/// The response schema with references inlined; an array shows its items' structure.
fn output_schema_section(doc: &Value, schema: &Value) -> String {
    let shown = display(doc, schema, 0, &mut HashSet::new());
    let items = shown
        .get("items")
        .filter(|_| shown.get("type") == Some(&json!("array")));
    let (heading, body) = match items {
        Some(items) => ("**Output Schema:** Array of items with the following structure:", items),
        None => ("**Output Schema:**", &shown),
    };
    format!("\n\n{heading}\n```json\n{}\n```", pretty(body))
}

/// `example` cut after its last whole line within [`MAX_EXAMPLE_BYTES`], saying so.
fn bounded(example: String) -> String {
    if example.len() <= MAX_EXAMPLE_BYTES {
        return example;
    }
    let mut end = MAX_EXAMPLE_BYTES;
    while !example.is_char_boundary(end) {
        end -= 1;
    }
    let end = example[..end].rfind('\n').unwrap_or(end);
    format!(
        "{}\n... (cut here: the whole example is {} KB)",
        &example[..end],
        example.len() / 1024
    )
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// `examples` (the first with a `value`, following `$ref`s to `components/examples`), then
/// `example`.
fn document_example(doc: &Value, media: &Value) -> Option<Value> {
    if let Some(Value::Object(examples)) = media.get("examples") {
        let found = examples
            .values()
            .filter_map(|e| resolve(doc, e).ok())
            .find_map(|e| e.get("value"));
        if let Some(value) = found {
            return Some(value.clone());
        }
    }
    media.get("example").cloned()
}

/// An example value for `schema`; `None` where the schema recurses or gives nothing to show.
pub(crate) fn generate(doc: &Value, schema: &Value, depth: usize, visiting: &mut HashSet<String>) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    let reference = schema.get("$ref").and_then(Value::as_str);
    if let Some(r) = reference
        && !visiting.insert(r.to_owned())
    {
        return None;
    }
    let resolved = resolve(doc, schema).ok();
    let value = resolved.and_then(|s| generate_resolved(doc, s, depth, visiting));
    if let Some(r) = reference {
        visiting.remove(r);
    }
    value
}

fn generate_resolved(doc: &Value, schema: &Value, depth: usize, visiting: &mut HashSet<String>) -> Option<Value> {
    let s = schema.as_object()?;
    if let Some(given) = given_example(s) {
        return Some(given.clone());
    }
    if let Some(Value::Array(parts)) = s.get("allOf") {
        return merge_objects(parts.iter().filter_map(|p| generate(doc, p, depth + 1, visiting)));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(branches)) = s.get(key) {
            return branches
                .iter()
                .filter(|b| b.get("type") != Some(&json!("null")))
                .find_map(|b| generate(doc, b, depth + 1, visiting));
        }
    }
    typed_example(doc, s, depth, visiting)
}

/// What the schema itself offers: an example, a default or constant, the first enum value.
fn given_example(s: &Map<String, Value>) -> Option<&Value> {
    s.get("example")
        .or_else(|| s.get("examples").and_then(|e| e.get(0)))
        .or_else(|| s.get("default").or_else(|| s.get("const")))
        .or_else(|| s.get("enum").and_then(|e| e.get(0)))
}

/// A value of the schema's first non-null type.
fn typed_example(doc: &Value, s: &Map<String, Value>, depth: usize, visiting: &mut HashSet<String>) -> Option<Value> {
    let ty = match s.get("type") {
        Some(Value::Array(types)) => types.iter().find(|t| *t != "null"),
        other => other,
    };
    match ty.and_then(Value::as_str) {
        Some("object") | None if s.contains_key("properties") => Some(object_example(doc, s, depth, visiting)),
        Some("object") => Some(json!({})),
        Some("array") => {
            let item = s.get("items").and_then(|i| generate(doc, i, depth + 1, visiting));
            Some(Value::Array(item.into_iter().collect()))
        }
        Some("string") => Some(json!(string_example(s))),
        Some("integer") => Some(json!(1)),
        Some("number") => Some(json!(1.0)),
        Some("boolean") => Some(json!(true)),
        _ => None,
    }
}

/// An object with an example for each property that yields one.
fn object_example(doc: &Value, s: &Map<String, Value>, depth: usize, visiting: &mut HashSet<String>) -> Value {
    let mut out = Map::new();
    for (name, prop) in s.get("properties").and_then(Value::as_object).into_iter().flatten() {
        if let Some(v) = generate(doc, prop, depth + 1, visiting) {
            out.insert(name.clone(), v);
        }
    }
    Value::Object(out)
}

fn string_example(s: &Map<String, Value>) -> &str {
    match s.get("format").and_then(Value::as_str) {
        Some("date-time") => "2023-01-01T00:00:00Z",
        Some("date") => "2023-01-01",
        Some("email") => "user@example.com",
        Some("uri" | "url") => "https://example.com",
        Some("uuid") => "123e4567-e89b-12d3-a456-426614174000",
        _ => s.get("title").and_then(Value::as_str).unwrap_or("string"),
    }
}

fn merge_objects(parts: impl Iterator<Item = Value>) -> Option<Value> {
    let mut merged = Map::new();
    let mut last = None;
    for part in parts {
        match part {
            Value::Object(map) => merged.extend(map),
            other => last = Some(other),
        }
    }
    if merged.is_empty() {
        last
    } else {
        Some(Value::Object(merged))
    }
}

/// The schema with references inlined for reading; a reference back into itself stays a
/// `$ref` so recursive schemas print finitely. OpenAPI-only keywords are left out.
fn display(doc: &Value, schema: &Value, depth: usize, visiting: &mut HashSet<String>) -> Value {
    let reference = schema.get("$ref").and_then(Value::as_str);
    if let Some(r) = reference
        && (depth > MAX_DEPTH || !visiting.insert(r.to_owned()))
    {
        return json!({ "$ref": r });
    }
    let shown = match resolve(doc, schema).ok() {
        Some(Value::Object(map)) => Value::Object(
            map.iter()
                .filter(|(k, _)| !is_display_noise(k))
                .map(|(k, v)| (k.clone(), display_child(doc, k, v, depth, visiting)))
                .collect(),
        ),
        Some(other) => other.clone(),
        None => schema.clone(),
    };
    if let Some(r) = reference {
        visiting.remove(r);
    }
    shown
}

fn display_child(doc: &Value, key: &str, value: &Value, depth: usize, visiting: &mut HashSet<String>) -> Value {
    match (key, value) {
        ("properties" | "patternProperties", Value::Object(props)) => Value::Object(
            props
                .iter()
                .map(|(k, v)| (k.clone(), display(doc, v, depth + 1, visiting)))
                .collect(),
        ),
        ("allOf" | "anyOf" | "oneOf", Value::Array(items)) => {
            Value::Array(items.iter().map(|v| display(doc, v, depth + 1, visiting)).collect())
        }
        ("items" | "additionalProperties" | "not", Value::Object(_)) => display(doc, value, depth + 1, visiting),
        _ => value.clone(),
    }
}

fn is_display_noise(key: &str) -> bool {
    key.starts_with("x-") || matches!(key, "xml" | "externalDocs" | "discriminator")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op() -> Map<String, Value> {
        json!({
            "summary": "Get Item",
            "description": "Fetch one item.",
            "responses": {
                "200": {"description": "Successful Response", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Item"}}}},
                "404": {"description": "Not found", "content": {"application/json": {
                    "schema": {"type": "object"}, "example": {"detail": "missing"}}}}
            }
        })
        .as_object()
        .cloned()
        .expect("object")
    }

    fn doc() -> Value {
        json!({"components": {"schemas": {"Item": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string", "title": "Name"},
            "at": {"type": "string", "format": "date-time"},
            "child": {"$ref": "#/components/schemas/Item"}}}}}})
    }

    #[test]
    fn follows_fastapi_mcps_template() {
        let text = describe(&doc(), "GET", "/items/{id}", &op(), DescribeOptions::default());
        let expected = "Get Item\n\nFetch one item.\n\n### Responses:\n\n**200**: Successful Response (Success Response)\nContent-Type: application/json\n\n**Example Response:**\n```json\n{\n  \"id\": 1,\n  \"name\": \"Name\",\n  \"at\": \"2023-01-01T00:00:00Z\"\n}\n```";
        assert_eq!(text, expected);
    }

    #[test]
    fn all_responses_and_full_schema_on_request() {
        let options = DescribeOptions {
            all_responses: true,
            full_response_schema: true,
            ..DescribeOptions::default()
        };
        let text = describe(&doc(), "GET", "/items/{id}", &op(), options);
        assert!(text.contains("**404**: Not found\nContent-Type: application/json\n\n**Example Response:**\n```json\n{\n  \"detail\": \"missing\"\n}"));
        assert!(text.contains("**Output Schema:**"));
        assert!(
            text.contains("\"$ref\": \"#/components/schemas/Item\""),
            "recursion shown as a $ref: {text}"
        );
    }

    #[test]
    fn responses_can_be_left_out_and_length_capped() {
        let omit = DescribeOptions {
            omit_responses: true,
            ..DescribeOptions::default()
        };
        assert_eq!(
            describe(&doc(), "GET", "/x", &op(), omit),
            "Get Item\n\nFetch one item."
        );
        let short = DescribeOptions {
            max_len: Some(5),
            ..omit
        };
        assert_eq!(describe(&doc(), "GET", "/x", &op(), short), "Get…");
        let bare = Map::new();
        assert_eq!(describe(&doc(), "DELETE", "/x/{id}", &bare, omit), "DELETE /x/{id}");
    }

    #[test]
    fn a_huge_example_is_cut_at_a_line_within_the_bound() {
        let emojis: Map<String, Value> = (0..5_000)
            .map(|i| (format!("emoji{i}"), json!(format!("https://example.com/{i}.png"))))
            .collect();
        let op = json!({"responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"type": "object"}, "example": emojis}}}}});
        let text = describe(
            &doc(),
            "GET",
            "/emojis",
            op.as_object().expect("object"),
            DescribeOptions::default(),
        );
        assert!(text.len() < MAX_EXAMPLE_BYTES + 400, "{}", text.len());
        assert!(text.contains("  \"emoji0\": \"https://example.com/0.png\",\n"));
        assert!(text.contains("\n... (cut here: the whole example is "), "{text}");
        assert!(!text.contains("emoji4999"));
    }
}
