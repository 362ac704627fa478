//! A parsed OpenAPI document: JSON or YAML text in, a version-checked `serde_json::Value` out.
//! Swagger 2.0 documents are converted to OpenAPI 3.0 here, so the rest of the conversion sees
//! only 3.x.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use super::servers::{ServerVariableError, check_values, first_server};
use super::swagger2;

/// The OpenAPI versions apimcp reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SpecVersion {
    /// OpenAPI 3.0.x (JSON Schema draft-4 dialect with `nullable`).
    V3_0,
    /// OpenAPI 3.1.x (JSON Schema 2020-12).
    V3_1,
    /// OpenAPI 3.2.x (JSON Schema 2020-12, `query` method, `additionalOperations`).
    V3_2,
}

/// An OpenAPI 3.x document ready for conversion.
///
/// JSON or YAML text goes in; Swagger 2.0 is converted to OpenAPI 3.0 on the way.
///
/// ```
/// use apimcp::openapi::{OpenApiDocument, SpecVersion};
///
/// let document = OpenApiDocument::parse("openapi: 3.1.0\ninfo: {title: Items, version: '2'}\npaths: {}\n", "items.yaml")?;
/// assert_eq!(document.version(), SpecVersion::V3_1);
/// assert_eq!((document.title(), document.api_version()), (Some("Items"), Some("2")));
///
/// let swagger = OpenApiDocument::from_value(serde_json::json!({"swagger": "2.0", "paths": {}}))?;
/// assert!(swagger.converted_from_swagger());
/// assert!(OpenApiDocument::parse(r#"{"openapi": "4.0.0"}"#, "x.json").is_err());
/// # Ok::<(), apimcp::openapi::DocumentError>(())
/// ```
#[derive(Clone, Debug)]
pub struct OpenApiDocument {
    value: Value,
    version: SpecVersion,
    from_swagger: bool,
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// The text is not valid JSON.
    #[error("{origin}:{line}:{column}: invalid JSON: {reason}")]
    Json {
        /// File or URL the text came from.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        reason: String,
    },
    /// The text is not valid YAML.
    #[error("{origin}:{line}:{column}: invalid YAML: {reason}")]
    Yaml {
        /// File or URL the text came from.
        origin: String,
        /// 1-based line (0 when the parser gave none).
        line: usize,
        /// 1-based column (0 when the parser gave none).
        column: usize,
        /// What the parser said.
        reason: String,
    },
    /// The file could not be read.
    #[error("cannot read {origin}: {reason}")]
    Unreadable {
        /// The file.
        origin: String,
        /// The I/O error.
        reason: String,
    },
    /// The top level is not an object.
    #[error("{origin}: an OpenAPI document is a JSON or YAML object, found {found}")]
    NotAnObject {
        /// File or URL the text came from.
        origin: String,
        /// The JSON type found.
        found: &'static str,
    },
    /// Neither `openapi` nor `swagger` is present.
    #[error("{origin}: no `openapi` (or `swagger`) field: this is not an OpenAPI document")]
    MissingVersion {
        /// File or URL the text came from.
        origin: String,
    },
    /// A version apimcp does not read.
    #[error(
        "{origin}: unsupported OpenAPI version {version:?}: apimcp reads OpenAPI 3.0, 3.1 and 3.2 and converts Swagger 2.0"
    )]
    UnsupportedVersion {
        /// File or URL the text came from.
        origin: String,
        /// The version string found.
        version: String,
    },
    /// A Swagger 2.0 document that could not be converted.
    #[error("{origin}: Swagger 2.0 document cannot be converted at {pointer}: {reason}")]
    Swagger {
        /// File or URL the text came from.
        origin: String,
        /// JSON pointer of the offending node.
        pointer: String,
        /// What is wrong.
        reason: String,
    },
}

impl OpenApiDocument {
    /// Parses JSON or YAML text; `origin` names the source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, DocumentError> {
        let value = if looks_like_json(text) {
            parse_json(text, origin)?
        } else {
            parse_yaml(text, origin)?
        };
        Self::from_value_with_origin(value, origin)
    }

    /// Takes an already parsed document (for example utoipa's `OpenApi` serialised to JSON).
    pub fn from_value(value: Value) -> Result<Self, DocumentError> {
        Self::from_value_with_origin(value, "document")
    }

    fn from_value_with_origin(value: Value, origin: &str) -> Result<Self, DocumentError> {
        let Value::Object(object) = &value else {
            return Err(DocumentError::NotAnObject {
                origin: origin.into(),
                found: json_type(&value),
            });
        };
        if let Some(swagger) = object.get("swagger") {
            return Self::from_swagger(version_string(swagger), value, origin);
        }
        let version = object
            .get("openapi")
            .map(version_string)
            .ok_or_else(|| DocumentError::MissingVersion { origin: origin.into() })?;
        let version = parse_version(&version).ok_or_else(|| unsupported(origin, version))?;
        Ok(Self {
            value,
            version,
            from_swagger: false,
        })
    }

    /// A Swagger 2.0 document, converted to OpenAPI 3.0.
    fn from_swagger(version: String, value: Value, origin: &str) -> Result<Self, DocumentError> {
        if version != "2.0" {
            return Err(unsupported(origin, version));
        }
        let converted = swagger2::to_openapi_3(value).map_err(|e| DocumentError::Swagger {
            origin: origin.into(),
            pointer: e.pointer,
            reason: e.reason,
        })?;
        Ok(Self {
            value: converted,
            version: SpecVersion::V3_0,
            from_swagger: true,
        })
    }

    /// The document as JSON.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The OpenAPI version (3.0 for a converted Swagger 2.0 document).
    pub fn version(&self) -> SpecVersion {
        self.version
    }

    /// Whether the document was Swagger 2.0, converted on load.
    pub fn converted_from_swagger(&self) -> bool {
        self.from_swagger
    }

    /// `info.title`, if present.
    pub fn title(&self) -> Option<&str> {
        self.value.pointer("/info/title").and_then(Value::as_str)
    }

    /// `servers[0].url` with its `{variables}` set to their defaults (for Swagger 2.0,
    /// `schemes[0]://host/basePath`): absolute, or a path relative to the API's origin.
    pub fn server_url(&self) -> Option<String> {
        first_server(self.value.get("servers"), &BTreeMap::new())
    }

    /// [`server_url`](Self::server_url) with the variables in `values` set to them (the
    /// others at their defaults): the same values
    /// [`ConvertOptions::server_variables`](super::ConvertOptions::server_variables) gives
    /// the operations' own servers. A name that no server declares, or a value outside its
    /// variable's `enum`, is an error.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use apimcp::openapi::OpenApiDocument;
    ///
    /// let document = OpenApiDocument::from_value(serde_json::json!({"openapi": "3.1.0", "paths": {},
    ///     "servers": [{"url": "https://{region}.api.example.com/v1",
    ///                  "variables": {"region": {"default": "us", "enum": ["us", "eu"]}}}]}))?;
    /// let eu = BTreeMap::from([("region".to_owned(), "eu".to_owned())]);
    /// assert_eq!(document.server_url_with(&eu)?.as_deref(), Some("https://eu.api.example.com/v1"));
    /// let mars = BTreeMap::from([("region".to_owned(), "mars".to_owned())]);
    /// assert!(document.server_url_with(&mars).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server_url_with(&self, values: &BTreeMap<String, String>) -> Result<Option<String>, ServerVariableError> {
        check_values(&self.value, values)?;
        Ok(first_server(self.value.get("servers"), values))
    }

    /// `info.version` (the API's version, not the OpenAPI version), if present.
    pub fn api_version(&self) -> Option<&str> {
        self.value.pointer("/info/version").and_then(Value::as_str)
    }
}

fn unsupported(origin: &str, version: String) -> DocumentError {
    DocumentError::UnsupportedVersion {
        origin: origin.into(),
        version,
    }
}

/// `3.0.3` → 3.0; only 3.0, 3.1 and 3.2 are read.
fn parse_version(version: &str) -> Option<SpecVersion> {
    let mut parts = version.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    match (major, minor) {
        ("3", "0") => Some(SpecVersion::V3_0),
        ("3", "1") => Some(SpecVersion::V3_1),
        ("3", "2") => Some(SpecVersion::V3_2),
        _ => None,
    }
}

/// YAML writes `openapi: 3.0` as a number; accept both forms.
fn version_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn looks_like_json(text: &str) -> bool {
    text.trim_start_matches('\u{feff}').trim_start().starts_with('{')
}

fn parse_json(text: &str, origin: &str) -> Result<Value, DocumentError> {
    serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| DocumentError::Json {
        origin: origin.into(),
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })
}

fn parse_yaml(text: &str, origin: &str) -> Result<Value, DocumentError> {
    let yaml_error = |e: yaml_serde::Error| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        DocumentError::Yaml {
            origin: origin.into(),
            line,
            column,
            reason: e.to_string(),
        }
    };
    let mut yaml: yaml_serde::Value = yaml_serde::from_str(text).map_err(yaml_error)?;
    yaml.apply_merge().map_err(yaml_error)?;
    Ok(yaml_to_json(yaml))
}

/// YAML allows non-string keys (`200:` in `responses`); JSON keys are their text.
fn yaml_to_json(yaml: yaml_serde::Value) -> Value {
    use yaml_serde::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => yaml_number(&n),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(mapping) => Value::Object(
            mapping
                .into_iter()
                .map(|(k, v)| (yaml_key(k), yaml_to_json(v)))
                .collect::<Map<_, _>>(),
        ),
        Y::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

fn yaml_number(n: &yaml_serde::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::from(i)
    } else if let Some(u) = n.as_u64() {
        Value::from(u)
    } else {
        n.as_f64().and_then(Number::from_f64).map_or(Value::Null, Value::Number)
    }
}

fn yaml_key(key: yaml_serde::Value) -> String {
    match yaml_to_json(key) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_and_yaml_of_every_3x_version() {
        let json = OpenApiDocument::parse(r#"{"openapi":"3.0.3","paths":{}}"#, "a.json");
        assert_eq!(json.expect("3.0").version(), SpecVersion::V3_0);
        let yaml = OpenApiDocument::parse("openapi: 3.1.0\npaths: {}\n", "a.yaml");
        assert_eq!(yaml.expect("3.1").version(), SpecVersion::V3_1);
        let v32 = OpenApiDocument::parse("openapi: '3.2.0'\npaths: {}\n", "a.yaml");
        assert_eq!(v32.expect("3.2").version(), SpecVersion::V3_2);
    }

    #[test]
    fn yaml_integer_keys_become_strings() {
        let doc = OpenApiDocument::parse(
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      responses:\n        200:\n          description: ok\n",
            "a.yaml",
        )
        .expect("parses");
        assert!(doc.value().pointer("/paths/~1a/get/responses/200").is_some());
    }

    #[test]
    fn json_errors_name_the_line_and_column() {
        let err = OpenApiDocument::parse("{\n  \"openapi\": \"3.0.0\",\n  oops\n}", "spec.json").expect_err("invalid");
        let DocumentError::Json { line, origin, .. } = &err else {
            panic!("expected a JSON error, got {err}");
        };
        assert_eq!((*line, origin.as_str()), (3, "spec.json"));
        assert!(err.to_string().starts_with("spec.json:3:"));
    }

    #[test]
    fn yaml_errors_name_the_line() {
        let err = OpenApiDocument::parse("openapi: 3.0.0\npaths:\n  - a\n  b: c\n", "spec.yaml").expect_err("invalid");
        assert!(matches!(err, DocumentError::Yaml { line: 4, .. }), "{err}");
    }

    #[test]
    fn other_versions_are_refused_by_name() {
        for (text, version) in [(r#"{"openapi":"4.0.0"}"#, "4.0.0"), (r#"{"swagger":"1.2"}"#, "1.2")] {
            let err = OpenApiDocument::parse(text, "x").expect_err("unsupported");
            assert!(err.to_string().contains(version), "{err}");
        }
        let err = OpenApiDocument::parse(r#"{"info":{}}"#, "x").expect_err("no version");
        assert!(matches!(err, DocumentError::MissingVersion { .. }));
        let err = OpenApiDocument::parse("[1]", "x").expect_err("array");
        assert!(matches!(err, DocumentError::NotAnObject { .. }));
    }
}
