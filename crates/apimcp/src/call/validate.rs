//! Arguments and results checked against the tool's schemas (JSON Schema 2020-12; remote
//! references are never fetched: the crate is built without that feature).

use jsonschema::Validator;
use serde_json::Value;

use crate::tool::JsonObject;

/// At most this many problems are listed in one message.
const MAX_LISTED: usize = 8;
/// Values quoted in messages are cut to this many characters.
const MAX_QUOTED: usize = 160;

/// A compiled inputSchema.
pub struct ArgumentValidator {
    validator: Validator,
}

impl std::fmt::Debug for ArgumentValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArgumentValidator")
    }
}

impl ArgumentValidator {
    /// Compiles a schema; the error says why it does not compile.
    pub fn new(schema: &JsonObject) -> Result<Self, String> {
        let schema = Value::Object(schema.clone());
        jsonschema::draft202012::options()
            .build(&schema)
            .map(|validator| Self { validator })
            .map_err(|e| e.to_string())
    }

    /// `Ok` or a message that names each failing argument and the rule it breaks.
    pub fn check(&self, instance: &Value) -> Result<(), String> {
        // The common case costs no allocation; the errors are collected only when there are some.
        if self.validator.is_valid(instance) {
            return Ok(());
        }
        let problems: Vec<String> = self
            .validator
            .iter_errors(instance)
            .take(MAX_LISTED)
            .map(|e| describe(e.instance_path().as_str(), &e.to_string()))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// Whether a result matches the outputSchema.
pub type OutputCheck = ArgumentValidator;

fn describe(pointer: &str, message: &str) -> String {
    let message = if message.chars().count() > MAX_QUOTED {
        let cut: String = message.chars().take(MAX_QUOTED).collect();
        format!("{cut}…")
    } else {
        message.to_owned()
    };
    match pointer.trim_start_matches('/') {
        "" => message,
        path => format!("`{}`: {message}", path.replace("~1", "/").replace("~0", "~")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_name_the_argument_and_the_rule() {
        let schema = json!({"type": "object", "properties": {"item_id": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
            "required": ["item_id"], "additionalProperties": false});
        let v = ArgumentValidator::new(schema.as_object().expect("obj")).expect("compiles");
        assert!(v.check(&json!({"item_id": 1})).is_ok());
        let err = v.check(&json!({"item_id": "x", "tags": [1]})).expect_err("invalid");
        assert!(err.contains("`item_id`: \"x\" is not of type \"integer\""), "{err}");
        assert!(err.contains("`tags/0`"), "{err}");
        let err = v.check(&json!({"extra": 1})).expect_err("invalid");
        assert!(err.contains("\"item_id\" is a required property"), "{err}");
        assert!(err.contains("extra"), "{err}");
    }
}
