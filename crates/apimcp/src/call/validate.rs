//! Arguments and results checked against the tool's schemas (JSON Schema 2020-12; remote
//! references are never fetched: the crate is built without that feature).

use std::fmt;

use jsonschema::Validator;
use serde_json::Value;

use crate::tool::JsonObject;

/// At most this many problems are listed in one message.
const MAX_LISTED: usize = 8;
/// Values quoted in messages are cut to this many characters.
const MAX_QUOTED: usize = 160;

/// Why a value cannot be checked against a schema, or breaks it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum CheckError {
    /// The schema does not compile (a document that defeats the compiler).
    #[error("the schema does not compile: {source}")]
    Uncompilable {
        /// What the compiler said.
        source: Box<jsonschema::ValidationError<'static>>,
    },
    /// A served tool's definition could not be read back for its schemas (never for one
    /// apimcp wrote).
    #[error("the tool's schemas cannot be read: {reason}")]
    Unreadable {
        /// What the JSON parser said.
        reason: String,
    },
    /// The value breaks the schema; the message lists each rule it breaks.
    #[error("{}", joined(violations))]
    Mismatch {
        /// At most [`MAX_LISTED`] violations, in the validator's order.
        violations: Vec<Violation>,
    },
}

/// One broken rule: where in the value, and what the rule says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    /// Slash-separated path to the value (`tags/0`), empty for the whole value.
    pub(crate) path: String,
    /// The validator's message, cut at [`MAX_QUOTED`] characters.
    pub(crate) message: String,
}

impl Violation {
    fn new(error: &jsonschema::ValidationError<'_>) -> Self {
        let pointer = error.instance_path().as_str().trim_start_matches('/');
        Self {
            path: pointer.replace("~1", "/").replace("~0", "~"),
            message: cut(error.to_string()),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path.as_str() {
            "" => f.write_str(&self.message),
            path => write!(f, "`{path}`: {}", self.message),
        }
    }
}

fn joined(violations: &[Violation]) -> String {
    let texts: Vec<String> = violations.iter().map(Violation::to_string).collect();
    texts.join("; ")
}

fn cut(message: String) -> String {
    if message.chars().count() <= MAX_QUOTED {
        return message;
    }
    let mut cut: String = message.chars().take(MAX_QUOTED).collect();
    cut.push('…');
    cut
}

/// A compiled inputSchema.
pub(crate) struct ArgumentValidator {
    validator: Validator,
}

impl fmt::Debug for ArgumentValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ArgumentValidator")
    }
}

impl ArgumentValidator {
    /// Compiles a schema.
    pub(crate) fn new(schema: &JsonObject) -> Result<Self, CheckError> {
        let schema = Value::Object(schema.clone());
        jsonschema::draft202012::options()
            .build(&schema)
            .map(|validator| Self { validator })
            .map_err(|source| CheckError::Uncompilable {
                source: Box::new(source),
            })
    }

    /// `Ok`, or each failing argument with the rule it breaks.
    pub(crate) fn check(&self, instance: &Value) -> Result<(), CheckError> {
        // The common case costs no allocation; the errors are collected only when there are some.
        if self.validator.is_valid(instance) {
            return Ok(());
        }
        let violations: Vec<Violation> = self
            .validator
            .iter_errors(instance)
            .take(MAX_LISTED)
            .map(|e| Violation::new(&e))
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(CheckError::Mismatch { violations })
        }
    }
}

/// Whether a result matches the outputSchema.
pub(crate) type OutputCheck = ArgumentValidator;

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
        let err = v
            .check(&json!({"item_id": "x", "tags": [1]}))
            .expect_err("invalid")
            .to_string();
        assert!(err.contains("`item_id`: \"x\" is not of type \"integer\""), "{err}");
        assert!(err.contains("`tags/0`"), "{err}");
        let err = v.check(&json!({"extra": 1})).expect_err("invalid").to_string();
        assert!(err.contains("\"item_id\" is a required property"), "{err}");
        assert!(err.contains("extra"), "{err}");
    }

    #[test]
    fn the_message_is_each_violation_joined() {
        let schema = json!({"type": "object", "properties": {"item_id": {"type": "integer"}}});
        let v = ArgumentValidator::new(schema.as_object().expect("obj")).expect("compiles");
        let err = v.check(&json!({"item_id": "x"})).expect_err("invalid");
        assert_eq!(err.to_string(), "`item_id`: \"x\" is not of type \"integer\"");
        let CheckError::Mismatch { violations } = err else {
            panic!("a mismatch");
        };
        assert_eq!(violations[0].path, "item_id");
        let err = v.check(&json!(["whole"])).expect_err("invalid");
        assert_eq!(err.to_string(), "[\"whole\"] is not of type \"object\"");
        let long = "y".repeat(400);
        let err = v.check(&json!({"item_id": long})).expect_err("invalid").to_string();
        assert!(
            err.ends_with('…') && err.chars().count() == "`item_id`: ".len() + 161,
            "{err}"
        );
    }

    #[test]
    fn a_schema_that_does_not_compile_says_so() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "(unclosed"}}});
        let err = ArgumentValidator::new(schema.as_object().expect("obj")).expect_err("does not compile");
        assert!(matches!(err, CheckError::Uncompilable { .. }));
        assert!(std::error::Error::source(&err).is_some());
    }
}
