//! What a tool's outputSchema promises, and what happens when the API's response breaks the
//! promise. Documents drift from their APIs (GitHub's own example for `repos/get` lacks the
//! required `language`), and strict clients reject `structuredContent` that does not match the
//! advertised schema, so the server decides; it never sends unchecked structured data.

use std::str::FromStr;

use serde_json::{Map, Value};

/// How tools use the outputSchema derived from the document's success response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputSchemas {
    /// The document's schema as written; a response that does not match it is a tool error
    /// (`isError: true`, the body kept as text).
    Strict,
    /// The default. The advertised schema is relaxed where documents most often drift from
    /// their APIs: no property is required, extra properties are allowed and any typed value
    /// may be `null` (but the root, an object as MCP wants). A response that matches the relaxed schema (nearly all) gets
    /// `structuredContent`, which a strict client accepts; one that still does not is
    /// returned as text, not an error, without `structuredContent`, and logged once per tool
    /// with its first mismatch.
    #[default]
    Advisory,
    /// No outputSchema: responses are text only.
    Off,
}

/// A value that names no output schema mode.
#[derive(Debug, thiserror::Error)]
#[error("output_schema must be \"strict\", \"advisory\" or \"off\", not {given:?}")]
#[non_exhaustive]
pub struct UnknownOutputSchemas {
    /// What was given.
    pub given: String,
}

impl FromStr for OutputSchemas {
    type Err = UnknownOutputSchemas;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "strict" => Ok(Self::Strict),
            "advisory" => Ok(Self::Advisory),
            "off" => Ok(Self::Off),
            _ => Err(UnknownOutputSchemas { given: text.to_owned() }),
        }
    }
}

impl OutputSchemas {
    /// The schema tools advertise and responses are checked against, from the document's.
    pub(crate) fn advertised(self, schema: Option<Map<String, Value>>) -> Option<Map<String, Value>> {
        match self {
            Self::Strict => schema,
            Self::Off => None,
            Self::Advisory => schema.map(|mut schema| {
                let root_type = schema.get("type").cloned();
                relax(&mut schema);
                // MCP wants the root of an outputSchema to be `"type": "object"`, as written.
                if let Some(root_type) = root_type {
                    schema.insert("type".into(), root_type);
                }
                schema
            }),
        }
    }
}

/// Keywords whose value is one schema.
const ONE: &[&str] = &["additionalProperties", "items", "not", "if", "then", "else", "contains"];
/// Keywords whose value is a list of schemas.
const LIST: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems", "items"];
/// Keywords whose value maps names to schemas.
const NAMED: &[&str] = &["properties", "patternProperties", "$defs", "definitions"];

/// Drops `required` and `additionalProperties: false`, and lets typed values be `null`, in
/// `schema` and every schema inside it (walking only schema keywords, so a property named
/// `required` stays).
fn relax(schema: &mut Map<String, Value>) {
    schema.remove("required");
    if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
        schema.remove("additionalProperties");
    }
    match schema.get_mut("type") {
        Some(Value::String(single)) if single != "null" => {
            let single = std::mem::take(single);
            schema.insert("type".into(), Value::from(vec![single, "null".to_owned()]));
        }
        Some(Value::Array(types)) if !types.iter().any(|t| t == "null") => types.push("null".into()),
        _ => {}
    }
    for (key, value) in schema.iter_mut() {
        let key = key.as_str();
        match value {
            Value::Object(inner) if ONE.contains(&key) => relax(inner),
            Value::Object(named) if NAMED.contains(&key) => named.values_mut().for_each(relax_value),
            Value::Array(list) if LIST.contains(&key) => list.iter_mut().for_each(relax_value),
            _ => {}
        }
    }
}

fn relax_value(value: &mut Value) {
    if let Value::Object(schema) = value {
        relax(schema);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn advisory_relaxes_required_closed_objects_and_types_everywhere() {
        let schema = object(
            json!({"type": "object", "required": ["language"], "additionalProperties": false,
            "properties": {"language": {"type": "string"}, "required": {"type": ["integer"]},
                "owner": {"$ref": "#/$defs/user"}},
            "$defs": {"user": {"type": "object", "required": ["login"], "properties": {"login": {"type": "string"}}}}}),
        );
        let relaxed = OutputSchemas::Advisory
            .advertised(Some(schema.clone()))
            .map(Value::Object);
        assert_eq!(
            relaxed,
            Some(json!({"type": "object",
            "properties": {"language": {"type": ["string", "null"]}, "required": {"type": ["integer", "null"]},
                "owner": {"$ref": "#/$defs/user"}},
            "$defs": {"user": {"type": ["object", "null"], "properties": {"login": {"type": ["string", "null"]}}}}}))
        );
        assert_eq!(
            OutputSchemas::Strict.advertised(Some(schema.clone())),
            Some(schema.clone())
        );
        assert_eq!(OutputSchemas::Off.advertised(Some(schema)), None);
    }

    #[test]
    fn modes_parse() {
        assert_eq!("Strict".parse::<OutputSchemas>().ok(), Some(OutputSchemas::Strict));
        assert_eq!(" off".parse::<OutputSchemas>().ok(), Some(OutputSchemas::Off));
        assert_eq!(OutputSchemas::default(), OutputSchemas::Advisory);
        let error = "loose".parse::<OutputSchemas>().err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("output_schema must be \"strict\", \"advisory\" or \"off\", not \"loose\"")
        );
    }
}
