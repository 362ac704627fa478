//! The converter: any JSON document never panics it, and every tool it converts has input and
//! output schemas that are valid JSON Schema 2020-12 and compile (as
//! `crates/apimcp/tests/converter_fuzz.rs` asserts for its seeded mutants).
#![no_main]

use apimcp::openapi::{ConvertOptions, OpenApiDocument, convert};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<Value>(data) else {
        return;
    };
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
                panic!("{name}: {which} is not valid 2020-12: {e}\n{schema}");
            }
            if let Err(e) = jsonschema::draft202012::new(&schema) {
                panic!("{name}: {which} does not compile: {e}\n{schema}");
            }
        }
    }
});
