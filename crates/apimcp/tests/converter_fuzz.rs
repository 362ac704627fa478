//! The converter, fuzzed: real documents (the @readme/oas-examples edge cases), mutated by a
//! seeded generator, never panic the converter, and whatever it converts has input and output
//! schemas that are valid JSON Schema 2020-12 and compile. Same cases on every run;
//! `APIMCP_PROPERTY_CASES` raises the number of mutants per document for a long run.

mod common;

use apimcp::openapi::{ConvertOptions, OpenApiDocument, convert};
use serde_json::{Map, Value, json};

/// xorshift64*: small, seeded, the same sequence everywhere.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Values a schema or an operation may meet where it expects something else.
fn odd_value(rng: &mut Seeded, refs: &[String]) -> Value {
    match rng.below(12) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(-1),
        3 => json!(1e308),
        4 => json!(""),
        5 => json!("\u{0}\r\n{}/..%2F"),
        6 => json!([]),
        7 => json!({}),
        8 => json!({"$ref": rng.pick(refs)}),
        9 => json!({"$ref": "#/components/schemas/DoesNotExist"}),
        10 => json!({"type": rng.pick(&["object", "array", "string", "null", "nope"])[..].to_owned()}),
        _ => json!({"type": ["string", "null", 3]}),
    }
}

/// Every JSON pointer in `value`, root first.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                pointers(child, format!("{at}/{escaped}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// One mutation at a random place: remove, replace, wrap, nest deep, or point a `$ref` at an
/// ancestor (a cycle).
fn mutate(document: &mut Value, rng: &mut Seeded) {
    let mut all = Vec::new();
    pointers(document, String::new(), &mut all);
    let refs: Vec<String> = all.iter().filter(|p| !p.is_empty()).map(|p| format!("#{p}")).collect();
    let target = rng.pick(&all[1..]).clone();
    let (parent, key) = target.rsplit_once('/').unwrap_or(("", ""));
    let key = key.replace("~1", "/").replace("~0", "~");
    let replacement = match rng.below(6) {
        0 => None,
        1 => Some(odd_value(rng, &refs)),
        2 => {
            let inner = document.pointer(&target).cloned().unwrap_or(Value::Null);
            let keyword = *rng.pick(&["allOf", "anyOf", "oneOf", "not"]);
            Some(if keyword == "not" {
                json!({"not": inner})
            } else {
                json!({keyword: [inner, {}]})
            })
        }
        3 => {
            let mut deep = json!({"type": "string"});
            for i in 0..rng.below(300) {
                deep = if i % 2 == 0 {
                    json!({"type": "array", "items": deep})
                } else {
                    json!({"type": "object", "properties": {"a": deep}})
                };
            }
            Some(deep)
        }
        4 if !parent.is_empty() => Some(json!({"$ref": format!("#{parent}")})),
        _ => Some(json!({"$ref": rng.pick(&refs)})),
    };
    let Some(container) = document.pointer_mut(parent) else {
        return;
    };
    match (container, replacement) {
        (Value::Object(map), None) => {
            map.remove(&key);
        }
        (Value::Object(map), Some(value)) => {
            map.insert(key, value);
        }
        (Value::Array(items), None) => {
            if let Ok(i) = key.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        (Value::Array(items), Some(value)) => {
            if let Some(slot) = key.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *slot = value;
            }
        }
        _ => {}
    }
}

/// The converter's output for `document`, checked: every schema valid 2020-12 that compiles.
fn convert_and_check(document: Value, label: &str) {
    let Ok(document) = OpenApiDocument::from_value(document) else {
        return; // refused as a document, with an error: fine
    };
    let Ok(conversion) = convert(&document, &ConvertOptions::default()) else {
        return;
    };
    for tool in &conversion.tools {
        let name = &tool.tool.name;
        let mut schemas = vec![("inputSchema", Value::Object(tool.tool.input_schema.clone()))];
        if let Some(output) = &tool.tool.output_schema {
            schemas.push(("outputSchema", Value::Object(output.clone())));
        }
        for (which, schema) in schemas {
            if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
                panic!("{label}: {name}: {which} is not valid 2020-12: {e}\n{schema}");
            }
            if let Err(e) = jsonschema::draft202012::new(&schema) {
                panic!("{label}: {name}: {which} does not compile: {e}");
            }
        }
    }
}

fn mutants_per_document() -> usize {
    std::env::var("APIMCP_PROPERTY_CASES")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .map_or(40, |n| (n / 50).max(1))
}

#[test]
fn mutated_real_documents_never_panic_the_converter_and_give_valid_schemas() {
    let mut rng = Seeded(0x0A51_FA22);
    for path in common::example_documents() {
        let text = std::fs::read_to_string(&path).expect("readable");
        let Ok(original) = serde_json::from_str::<Value>(&text) else {
            continue; // the YAML ones are read by real_documents.rs
        };
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        for case in 0..mutants_per_document() {
            let mut mutant = original.clone();
            for _ in 0..=rng.below(4) {
                mutate(&mut mutant, &mut rng);
            }
            convert_and_check(mutant, &format!("{name} mutant {case}"));
        }
    }
}

/// Documents built from nothing: random shapes in every place a document has structure.
#[test]
fn generated_documents_never_panic_the_converter_and_give_valid_schemas() {
    let mut rng = Seeded(0x6E4E_2A7E);
    let cases = mutants_per_document() * 25;
    for case in 0..cases {
        let refs = ["#/components/schemas/A".to_owned(), "#/components/schemas/B".to_owned()];
        let mut schemas = Map::new();
        schemas.insert("A".into(), odd_value(&mut rng, &refs));
        schemas.insert("B".into(), json!({"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}, "b": odd_value(&mut rng, &refs)}}));
        let parameter = json!({
            "name": rng.pick(&["id", "", "a b", "x[y]", "../p"])[..].to_owned(),
            "in": rng.pick(&["path", "query", "header", "cookie", "body", "nowhere"])[..].to_owned(),
            "required": rng.below(2) == 0,
            "style": rng.pick(&["simple", "label", "matrix", "form", "deepObject", "pipeDelimited", "bogus"])[..].to_owned(),
            "explode": rng.below(2) == 0,
            "schema": odd_value(&mut rng, &refs),
        });
        let media = rng.pick(&[
            "application/json",
            "multipart/form-data",
            "application/x-www-form-urlencoded",
            "text/plain",
            "*/*",
        ])[..]
            .to_owned();
        let path = rng.pick(&["/items/{id}", "/items", "/{a}/{a}", "/", "/x/{unclosed"])[..].to_owned();
        let document = json!({
            "openapi": rng.pick(&["3.0.3", "3.1.0", "3.2.0"])[..].to_owned(),
            "info": {"title": "generated", "version": "1"},
            "paths": {path: {rng.pick(&["get", "post", "put", "delete", "patch", "query"])[..].to_owned(): {
                "operationId": rng.pick(&["op", "", "a/b", "x".repeat(200).as_str()])[..].to_owned(),
                "parameters": [parameter, odd_value(&mut rng, &refs)],
                "requestBody": {"content": {media.clone(): {"schema": odd_value(&mut rng, &refs)}}},
                "responses": {"200": {"description": "ok", "content": {media: {"schema": {"$ref": "#/components/schemas/B"}}}}}
            }}},
            "components": {"schemas": schemas}
        });
        convert_and_check(document, &format!("generated {case}"));
    }
}
