//! Operations in a document, and the parts of a tool that come from the operation as a whole:
//! output schema and annotations.

use serde_json::{Map, Value, json};

use super::OperationError;
use super::schema::{Direction, Reached, SchemaError, Schemas, resolve};
use crate::tool::{JsonObject, ToolAnnotations};

/// The methods a path item holds directly (3.2 adds `query`; others go in
/// `additionalOperations`).
const METHODS: [&str; 9] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace", "query",
];

/// One operation of the document.
pub(crate) struct Operation<'d> {
    pub(crate) method: String,
    pub(crate) path: &'d str,
    pub(crate) item: &'d Map<String, Value>,
    pub(crate) op: &'d Map<String, Value>,
}

impl<'d> Operation<'d> {
    pub(crate) fn operation_id(&self) -> Option<&'d str> {
        self.op
            .get("operationId")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
    }

    /// `GET /items/{id}`: how reports and name maps refer to an operation.
    pub(crate) fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    pub(crate) fn tags(&self) -> Vec<&'d str> {
        self.op
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    pub(crate) fn summary(&self) -> Option<&'d str> {
        self.op
            .get("summary")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// A path item that could not be read, with the path it sits at.
pub(crate) struct BadPathItem {
    pub(crate) path: String,
    pub(crate) error: OperationError,
}

/// Every operation, in document order.
pub(crate) fn operations(doc: &Value) -> (Vec<Operation<'_>>, Vec<BadPathItem>) {
    let mut ops = Vec::new();
    let mut bad = Vec::new();
    let paths = doc.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        match resolve(doc, item) {
            Ok(Value::Object(item)) => ops.extend(path_item_operations(path, item)),
            Ok(_) => {}
            Err(source) => bad.push(BadPathItem {
                path: path.clone(),
                error: OperationError::Schema {
                    at: "path item".into(),
                    source,
                },
            }),
        }
    }
    (ops, bad)
}

/// The operations of one path item: under method keys, then under `additionalOperations`.
fn path_item_operations<'d>(path: &'d str, item: &'d Map<String, Value>) -> Vec<Operation<'d>> {
    let mut ops = Vec::new();
    for (key, value) in item {
        if let (true, Some(op)) = (METHODS.contains(&key.as_str()), value.as_object()) {
            ops.push(operation(key, path, item, op));
        }
    }
    let extra = item.get("additionalOperations").and_then(Value::as_object);
    for (method, value) in extra.into_iter().flatten() {
        if let Some(op) = value.as_object() {
            ops.push(operation(method, path, item, op));
        }
    }
    ops
}

fn operation<'d>(
    method: &str,
    path: &'d str,
    item: &'d Map<String, Value>,
    op: &'d Map<String, Value>,
) -> Operation<'d> {
    Operation {
        method: method.to_ascii_uppercase(),
        path,
        item,
        op,
    }
}

/// The output schema, from the first 2xx response with a JSON schema (`200` before `201`,
/// specific codes before `2XX`). A non-object schema is wrapped as `{"result": ...}`, and the
/// flag says so.
pub(crate) fn output_schema<'d>(
    schemas: &mut Schemas<'d>,
    op: &'d Map<String, Value>,
) -> Result<Option<(JsonObject, bool)>, OperationError> {
    let Some(Value::Object(responses)) = op.get("responses") else {
        return Ok(None);
    };
    let mut codes: Vec<&String> = responses
        .keys()
        .filter(|c| c.len() == 3 && c.starts_with('2'))
        .collect();
    codes.sort_by_key(|c| (c.ends_with(['X', 'x']), c.as_str()));
    for code in codes {
        let found = response_schema(schemas, &responses[code.as_str()]).map_err(|source| OperationError::Schema {
            at: format!("response {code}"),
            source,
        })?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// One response's JSON schema, normalised and wrapped; `None` when it has none.
fn response_schema<'d>(
    schemas: &mut Schemas<'d>,
    response: &'d Value,
) -> Result<Option<(JsonObject, bool)>, SchemaError> {
    let response = resolve(schemas.doc(), response)?;
    let Some(schema) = json_schema_of(response) else {
        return Ok(None);
    };
    let root = resolve(schemas.doc(), schema)?;
    let mut reached = Reached::default();
    let normalized = schemas.normalize(root, Direction::Output, &mut reached)?;
    let defs = schemas.defs(&reached, Direction::Output)?;
    Ok(Some(wrap_output(normalized, defs)))
}

fn json_schema_of(response: &Value) -> Option<&Value> {
    let content = response.get("content")?.as_object()?;
    content
        .iter()
        .filter(|(mt, _)| {
            let mt = mt.to_ascii_lowercase();
            mt.contains("json") || mt.starts_with("*/*")
        })
        .find_map(|(_, media)| media.get("schema"))
}

fn wrap_output(schema: Value, defs: Map<String, Value>) -> (JsonObject, bool) {
    let (mut root, wrapped) = match schema {
        Value::Object(map) if map.get("type") == Some(&json!("object")) => (map, false),
        other => {
            let mut map = Map::new();
            map.insert("type".into(), json!("object"));
            map.insert("properties".into(), json!({ "result": other }));
            map.insert("required".into(), json!(["result"]));
            (map, true)
        }
    };
    if !defs.is_empty() {
        root.insert("$defs".into(), Value::Object(defs));
    }
    (root, wrapped)
}

/// Hints from HTTP semantics: safe methods are read-only; DELETE, PUT and PATCH may destroy or
/// overwrite; PUT and DELETE are idempotent.
pub(crate) fn annotations(method: &str, title: Option<&str>) -> ToolAnnotations {
    let (read_only, destructive, idempotent) = match method {
        "GET" | "HEAD" | "OPTIONS" | "TRACE" | "QUERY" => (true, None, None),
        "PUT" | "DELETE" => (false, Some(true), Some(true)),
        "PATCH" => (false, Some(true), Some(false)),
        _ => (false, Some(false), Some(false)),
    };
    ToolAnnotations {
        title: title.map(str::to_owned),
        read_only_hint: Some(read_only),
        destructive_hint: destructive,
        idempotent_hint: idempotent,
        open_world_hint: None,
    }
}

/// The OAuth scopes an operation needs, as alternatives (any one suffices): from its
/// `security` requirements, or the document's where it has none. Only `oauth2` and
/// `openIdConnect` schemes carry scopes; an alternative without any (an API key, or `{}`)
/// means no scope is needed, so the result is empty.
pub(crate) fn required_scopes(doc: &Value, op: &Map<String, Value>) -> Vec<Vec<String>> {
    let Some(Value::Array(requirements)) = op.get("security").or_else(|| doc.get("security")) else {
        return Vec::new();
    };
    let mut alternatives = Vec::new();
    for requirement in requirements.iter().filter_map(Value::as_object) {
        let scopes = requirement_scopes(doc, requirement);
        if scopes.is_empty() {
            return Vec::new();
        }
        alternatives.push(scopes);
    }
    alternatives
}

/// The scopes of one requirement's OAuth and OpenID Connect schemes, each once.
fn requirement_scopes(doc: &Value, requirement: &Map<String, Value>) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for (name, list) in requirement {
        if !matches!(scheme_type(doc, name), Some("oauth2" | "openIdConnect")) {
            continue;
        }
        for scope in list.as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        }
    }
    scopes
}

/// The `type` of the security scheme called `name`.
fn scheme_type<'d>(doc: &'d Value, name: &str) -> Option<&'d str> {
    let scheme = doc.pointer("/components/securitySchemes")?.get(name)?;
    resolve(doc, scheme).ok()?.get("type")?.as_str()
}

/// The operation's security alternatives (its own `security`, or the document's), each the
/// scheme names it needs together; an empty alternative means anonymous calls are allowed.
pub(crate) fn security_requirements(doc: &Value, op: &Map<String, Value>) -> Vec<Vec<String>> {
    let Some(Value::Array(requirements)) = op.get("security").or_else(|| doc.get("security")) else {
        return Vec::new();
    };
    requirements
        .iter()
        .filter_map(Value::as_object)
        .map(|r| r.keys().cloned().collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_operation_overrides_the_document_requirements() {
        let doc = json!({"security": [{"a": []}]});
        let own = json!({"security": [{}, {"b": [], "c": ["x"]}]});
        assert_eq!(
            security_requirements(&doc, own.as_object().expect("object")),
            vec![vec![], vec!["b".to_owned(), "c".to_owned()]]
        );
        let inherits = json!({});
        assert_eq!(
            security_requirements(&doc, inherits.as_object().expect("object")),
            vec![vec!["a".to_owned()]]
        );
    }
}
