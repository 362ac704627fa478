//! The last word on a tool's schemas: valid JSON Schema 2020-12, whatever the document held.
//! A value the meta-schema refuses (a `description` that is not a string, a `required` list
//! holding a number, `type: "nope"`) is dropped, with a warning naming the tool and the place,
//! so one typo in a document costs a keyword, not the operation, and strict clients never meet
//! an invalid schema.

use std::cmp::Ordering;

use serde_json::Value;

/// Rounds of repair: each drops every value the meta-schema named; a drop can uncover another
/// (an emptied `allOf`), rarely more than once.
const ROUNDS: usize = 8;

/// Why a schema could not be made valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the schema is not valid JSON Schema 2020-12 and dropping keywords did not fix it ({0})")]
pub struct InvalidSchema(String);

/// Makes `value` valid 2020-12 by dropping what the meta-schema refuses; the JSON pointers
/// of what was dropped (empty when it was valid already).
pub(crate) fn make_valid(value: &mut Value) -> Result<Vec<String>, InvalidSchema> {
    let validator = jsonschema::draft202012::meta::validator();
    let mut dropped = Vec::new();
    let mut result = Err(InvalidSchema("too many rounds".to_owned()));
    for _ in 0..ROUNDS {
        if validator.is_valid(value) {
            result = Ok(());
            break;
        }
        let mut failing: Vec<Vec<String>> = validator
            .iter_errors(value)
            .map(|e| segments(e.instance_path().as_str()))
            .collect();
        if failing.iter().any(Vec::is_empty) {
            result = Err(InvalidSchema("the schema as a whole".to_owned()));
            break;
        }
        failing.sort_by(|a, b| compare_pointers(a, b));
        failing.dedup();
        // Last first: removing an array element never shifts one still to be removed.
        for pointer in failing.iter().rev() {
            if remove(value, pointer) {
                dropped.push(format!("/{}", pointer.join("/")));
            }
        }
    }
    result.map(|()| dropped)
}

/// A JSON pointer's segments, unescaped.
fn segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Document order, with array indices compared as numbers (`/a/9` before `/a/10`).
fn compare_pointers(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x.parse::<usize>(), y.parse::<usize>()) {
            (Ok(i), Ok(j)) => i.cmp(&j),
            _ => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// Removes the value at `pointer` from its object or array; whether there was one.
fn remove(root: &mut Value, pointer: &[String]) -> bool {
    let Some((last, parents)) = pointer.split_last() else {
        return false;
    };
    let mut node = root;
    for segment in parents {
        node = match node {
            Value::Object(map) => match map.get_mut(segment) {
                Some(child) => child,
                None => return false,
            },
            Value::Array(items) => match segment.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(child) => child,
                None => return false,
            },
            _ => return false,
        };
    }
    match node {
        Value::Object(map) => map.shift_remove(last).is_some(),
        Value::Array(items) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn repaired(mut schema: Value) -> (Value, Result<Vec<String>, InvalidSchema>) {
        let result = make_valid(&mut schema);
        (schema, result)
    }

    #[test]
    fn a_valid_schema_is_left_alone() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]});
        let (after, dropped) = repaired(schema.clone());
        assert_eq!(after, schema);
        assert_eq!(dropped, Ok(vec![]));
    }

    #[test]
    fn refused_values_are_dropped_and_the_rest_kept() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"type": "integer", "description": {"not": "a string"}, "minimum": 1},
                "b": {"type": "nope"}
            },
            "required": [1, "a", 2]
        });
        let (after, dropped) = repaired(schema);
        assert_eq!(
            after,
            json!({
                "type": "object",
                "properties": {"a": {"type": "integer", "minimum": 1}, "b": {}},
                "required": ["a"]
            })
        );
        let dropped = dropped.expect("repaired");
        assert!(dropped.contains(&"/properties/a/description".to_owned()), "{dropped:?}");
        assert!(jsonschema::draft202012::meta::is_valid(&after));
    }

    #[test]
    fn pointers_sort_with_numeric_indices() {
        let mut pointers = vec![segments("/a/10"), segments("/a/9"), segments("/a")];
        pointers.sort_by(|a, b| compare_pointers(a, b));
        assert_eq!(pointers, [segments("/a"), segments("/a/9"), segments("/a/10")]);
    }
}
