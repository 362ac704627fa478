//! The URLs of the document's `servers`, their `{variables}` filled in: with the values the
//! user set ([`ConvertOptions::server_variables`](super::ConvertOptions::server_variables)),
//! else the document's defaults. Only the first server of a list is used: that is the API's
//! base (top level), or an operation's or path item's own base. Pure.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A server variable set by the user that the document does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerVariableError {
    /// No server URL apimcp uses declares the variable.
    #[error(
        "server variable {name:?}: the document's servers declare no such variable ({})",
        declared_list(declared)
    )]
    Unknown {
        /// The name given.
        name: String,
        /// The variables the servers declare.
        declared: Vec<String>,
    },
    /// The variable has an `enum` and the value is not in it.
    #[error("server variable {name:?}: {value:?} is not allowed; the document allows {}", allowed.join(", "))]
    NotAllowed {
        /// The variable.
        name: String,
        /// The value given.
        value: String,
        /// The values of its `enum`.
        allowed: Vec<String>,
    },
}

fn declared_list(declared: &[String]) -> String {
    if declared.is_empty() {
        "they declare none".into()
    } else {
        format!("they declare: {}", declared.join(", "))
    }
}

/// The first entry of a `servers` list, each variable replaced by the value given for it,
/// else its default (a variable with neither is left as written, so the URL fails to parse
/// rather than mislead).
pub(crate) fn first_server(servers: Option<&Value>, values: &BTreeMap<String, String>) -> Option<String> {
    let server = servers?.as_array()?.first()?;
    let mut url = server.get("url")?.as_str()?.trim().to_owned();
    for (name, variable) in variables(server) {
        let value = values
            .get(name)
            .cloned()
            .or_else(|| variable.get("default").and_then(text));
        if let Some(value) = value {
            url = url.replace(&format!("{{{name}}}"), &value);
        }
    }
    Some(url)
}

/// Checks the values given against the variables of every server apimcp uses: each must be
/// declared by one, and be in its `enum` where it has one.
pub(crate) fn check_values(doc: &Value, values: &BTreeMap<String, String>) -> Result<(), ServerVariableError> {
    if values.is_empty() {
        return Ok(());
    }
    let declared = declarations(doc);
    for (name, value) in values {
        let Some(variables) = declared.get(name.as_str()) else {
            return Err(ServerVariableError::Unknown {
                name: name.clone(),
                declared: declared.keys().map(|k| (*k).to_owned()).collect(),
            });
        };
        for variable in variables {
            let allowed: Vec<String> = match variable.get("enum").and_then(Value::as_array) {
                Some(list) if !list.is_empty() => list.iter().filter_map(text).collect(),
                _ => continue,
            };
            if !allowed.contains(value) {
                return Err(ServerVariableError::NotAllowed {
                    name: name.clone(),
                    value: value.clone(),
                    allowed,
                });
            }
        }
    }
    Ok(())
}

/// Every variable of the first server of every `servers` list (top level, path items and
/// operations, 3.2's `additionalOperations` too), by name.
fn declarations(doc: &Value) -> BTreeMap<&str, Vec<&Value>> {
    let mut lists = vec![doc.get("servers")];
    for item in values(doc.get("paths")) {
        lists.push(item.get("servers"));
        // The operations, and whatever else the item holds: only objects have `servers`.
        for op in values(Some(item)).chain(values(item.get("additionalOperations"))) {
            lists.push(op.get("servers"));
        }
    }
    let mut declared: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    let firsts = lists.into_iter().flatten().filter_map(|list| list.as_array()?.first());
    for server in firsts {
        for (name, variable) in variables(server) {
            declared.entry(name.as_str()).or_default().push(variable);
        }
    }
    declared
}

/// The values of an object (nothing for anything else).
fn values(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value.and_then(Value::as_object).into_iter().flat_map(Map::values)
}

fn variables(server: &Value) -> impl Iterator<Item = (&String, &Value)> {
    server.get("variables").and_then(Value::as_object).into_iter().flatten()
}

/// A default or enum value as text (YAML writes `default: 8443` as a number).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn doc() -> Value {
        json!({
            "servers": [
                {"url": "https://{region}.api.test/{version}", "variables": {
                    "region": {"default": "us", "enum": ["us", "eu"]},
                    "version": {"default": "v1"}}},
                {"url": "https://{ignored}.test", "variables": {"ignored": {"default": "x"}}}
            ],
            "paths": {"/files": {
                "servers": [{"url": "https://files.{region}.api.test:{port}", "variables": {
                    "region": {"default": "us", "enum": ["us", "eu", "ap"]}, "port": {"default": 8443}}}],
                "get": {"servers": [{"url": "https://{tenant}.uploads.test", "variables": {"tenant": {"default": "t0"}}}]}
            }}
        })
    }

    #[test]
    fn values_given_replace_the_defaults() {
        let doc = doc();
        assert_eq!(
            first_server(doc.get("servers"), &BTreeMap::new()).as_deref(),
            Some("https://us.api.test/v1")
        );
        let given = values(&[("region", "eu"), ("version", "v2")]);
        assert_eq!(check_values(&doc, &given), Ok(()));
        assert_eq!(
            first_server(doc.get("servers"), &given).as_deref(),
            Some("https://eu.api.test/v2")
        );
        let files = doc.pointer("/paths/~1files/servers");
        assert_eq!(
            first_server(files, &given).as_deref(),
            Some("https://files.eu.api.test:8443"),
            "a path item's server takes the same value, and a numeric default"
        );
        let tenant = values(&[("tenant", "acme")]);
        assert_eq!(check_values(&doc, &tenant), Ok(()), "an operation's own variable");
        let op = doc.pointer("/paths/~1files/get/servers");
        assert_eq!(first_server(op, &tenant).as_deref(), Some("https://acme.uploads.test"));
    }

    #[test]
    fn a_value_outside_the_enum_is_refused_with_the_allowed_values() {
        let err = check_values(&doc(), &values(&[("region", "ap")])).expect_err("not in servers[0]'s enum");
        assert_eq!(
            err,
            ServerVariableError::NotAllowed {
                name: "region".into(),
                value: "ap".into(),
                allowed: vec!["us".into(), "eu".into()],
            }
        );
        assert_eq!(
            err.to_string(),
            "server variable \"region\": \"ap\" is not allowed; the document allows us, eu"
        );
    }

    #[test]
    fn an_unknown_variable_is_refused_with_the_declared_ones() {
        let err = check_values(&doc(), &values(&[("ignored", "y")])).expect_err("only first servers count");
        assert_eq!(
            err.to_string(),
            "server variable \"ignored\": the document's servers declare no such variable \
             (they declare: port, region, tenant, version)"
        );
        let none = check_values(&json!({"servers": [{"url": "https://a.test"}]}), &values(&[("x", "1")]));
        assert!(
            none.expect_err("none declared")
                .to_string()
                .contains("they declare none")
        );
    }
}
