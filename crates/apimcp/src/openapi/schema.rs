//! OpenAPI schemas → self-contained JSON Schema 2020-12.
//!
//! Every local `$ref` becomes `#/$defs/<Name>`, and only the definitions a tool reaches are
//! carried (so recursive schemas stay finite). Each definition is normalised once per direction
//! and cached for the whole document: 3.0 `nullable`, `example`, boolean exclusive bounds and
//! draft-4 tuple `items` become 2020-12; `readOnly` properties leave inputs and `writeOnly`
//! properties leave outputs; OpenAPI-only keywords (`discriminator`, `xml`, `x-*`) are dropped,
//! and a `oneOf` with a discriminator becomes `anyOf`, since overlapping branches would
//! otherwise reject valid values.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use serde_json::{Map, Value, json};

/// Which side of a call a schema describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    /// Arguments: `readOnly` properties are left out.
    Input,
    /// Results: `writeOnly` properties are left out.
    Output,
}

/// A schema that cannot be converted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A `$ref` whose target is not in the document.
    #[error("unresolved reference {reference}")]
    UnresolvedRef {
        /// The reference as written.
        reference: String,
    },
    /// A reference to another file or URL; such references are not fetched.
    #[error("external reference {reference} is not fetched (only references inside the document are followed)")]
    ExternalRef {
        /// The reference as written.
        reference: String,
    },
    /// A `$ref` chain that never reaches a schema.
    #[error("reference cycle through {reference}")]
    RefCycle {
        /// The reference where the cycle was found.
        reference: String,
    },
    /// A `$ref` that is not a string.
    #[error("`$ref` must be a string, found {found}")]
    BadRef {
        /// The JSON type found.
        found: &'static str,
    },
    /// A definition that stays invalid JSON Schema after its refused keywords are dropped.
    #[error(transparent)]
    Invalid(super::InvalidSchema),
}

/// The JSON pointer (`/components/schemas/Pet`) a local reference (`#/components/schemas/Pet`)
/// names, percent-decoded.
pub(crate) fn ref_pointer(reference: &str) -> Result<String, SchemaError> {
    let Some(fragment) = reference.strip_prefix('#') else {
        return Err(SchemaError::ExternalRef {
            reference: reference.into(),
        });
    };
    Ok(percent_encoding::percent_decode_str(fragment)
        .decode_utf8_lossy()
        .into_owned())
}

/// Follows `value`'s `$ref` chain, if any, to the node it names in `doc`.
pub(crate) fn resolve<'d>(doc: &'d Value, mut value: &'d Value) -> Result<&'d Value, SchemaError> {
    let mut seen = HashSet::new();
    while let Some(reference) = value.get("$ref") {
        let reference = reference.as_str().ok_or(SchemaError::BadRef {
            found: super::document::json_type(reference),
        })?;
        if !seen.insert(reference) {
            return Err(SchemaError::RefCycle {
                reference: reference.into(),
            });
        }
        let pointer = ref_pointer(reference)?;
        value = doc.pointer(&pointer).ok_or_else(|| SchemaError::UnresolvedRef {
            reference: reference.into(),
        })?;
    }
    Ok(value)
}

/// The definitions one tool schema reaches, in the order first seen.
#[derive(Default)]
pub(crate) struct Reached {
    order: Vec<String>,
    seen: HashSet<String>,
}

impl Reached {
    fn add(&mut self, pointer: &str) {
        if self.seen.insert(pointer.to_owned()) {
            self.order.push(pointer.to_owned());
        }
    }
}

struct Definition {
    schema: Value,
    refs: Vec<String>,
    /// Bytes of JSON, for the size budget.
    size: usize,
}

/// The stand-in for a definition left out by the size budget.
fn omitted(pointer: &str) -> Value {
    json!({ "description": format!("Not expanded here to keep the tool small; see #{pointer} in the API document.") })
}

type Cached = Result<Rc<Definition>, SchemaError>;

/// The schema converter for one document: definition names and normalised definitions are
/// shared by all tools.
pub(crate) struct Schemas<'d> {
    doc: &'d Value,
    names: HashMap<String, String>,
    taken: HashSet<String>,
    cache: HashMap<(String, Direction), Cached>,
    budget: Option<usize>,
    patterns: HashMap<String, bool>,
    warnings: Vec<String>,
}

impl<'d> Schemas<'d> {
    /// `budget`: bytes of `$defs` per tool schema before the rest is left out.
    pub(crate) fn new(doc: &'d Value, budget: Option<usize>) -> Self {
        Self {
            doc,
            budget,
            patterns: HashMap::new(),
            warnings: Vec::new(),
            names: HashMap::new(),
            taken: HashSet::new(),
            cache: HashMap::new(),
        }
    }

    pub(crate) fn doc(&self) -> &'d Value {
        self.doc
    }

    /// Notes a warning for the report.
    pub(crate) fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// Notes about what normalisation had to leave out, each once.
    pub(crate) fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Whether the argument validator can compile `pattern`. Documents write ECMA-262
    /// patterns that Rust's regex engines reject (a bare `{`, say); such a pattern is left
    /// out, with a warning, rather than making the whole schema unusable.
    fn pattern_ok(&mut self, pattern: &str) -> bool {
        if let Some(ok) = self.patterns.get(pattern) {
            return *ok;
        }
        let ok = jsonschema::draft202012::new(&json!({ "pattern": pattern })).is_ok();
        if !ok {
            self.warnings.push(format!(
                "pattern {pattern:?} is not a regular expression apimcp can check; it is left out of the schemas that use it"
            ));
        }
        self.patterns.insert(pattern.to_owned(), ok);
        ok
    }

    /// Normalises `schema`, recording the definitions it references in `reached`.
    pub(crate) fn normalize(
        &mut self,
        schema: &'d Value,
        direction: Direction,
        reached: &mut Reached,
    ) -> Result<Value, SchemaError> {
        Normalizer {
            schemas: self,
            direction,
            reached,
        }
        .schema(schema)
    }

    /// The `$defs` object for everything `reached` leads to, transitively, breadth first.
    ///
    /// Once the definitions added pass the budget in bytes of JSON, the ones still waiting are
    /// carried as empty (accept-anything) schemas that say so: some documents (Stripe's) reach
    /// hundreds of kilobytes of definitions from every response, which no model reads.
    pub(crate) fn defs(&mut self, reached: &Reached, direction: Direction) -> Result<Map<String, Value>, SchemaError> {
        let budget = self.budget;
        let mut queue = reached.order.clone();
        let mut seen: HashSet<String> = queue.iter().cloned().collect();
        let mut defs = Map::new();
        let mut size = 0;
        for next in 0.. {
            let Some(pointer) = queue.get(next).cloned() else {
                break;
            };
            let name = self.def_name(&pointer);
            if budget.is_some_and(|b| size > b) {
                defs.insert(name, omitted(&pointer));
                continue;
            }
            let definition = self.definition(&pointer, direction)?;
            for r in &definition.refs {
                if seen.insert(r.clone()) {
                    queue.push(r.clone());
                }
            }
            size += definition.size;
            defs.insert(name, definition.schema.clone());
        }
        Ok(defs)
    }

    fn definition(&mut self, pointer: &str, direction: Direction) -> Cached {
        let key = (pointer.to_owned(), direction);
        if let Some(cached) = self.cache.get(&key) {
            return cached.clone();
        }
        let result = self.build_definition(pointer, direction);
        self.cache.insert(key, result.clone());
        result
    }

    fn build_definition(&mut self, pointer: &str, direction: Direction) -> Cached {
        let target = self.doc.pointer(pointer).ok_or_else(|| SchemaError::UnresolvedRef {
            reference: format!("#{pointer}"),
        })?;
        let mut reached = Reached::default();
        let mut schema = self.normalize(target, direction, &mut reached)?;
        let dropped = super::valid::make_valid(&mut schema).map_err(SchemaError::Invalid)?;
        if !dropped.is_empty() {
            self.warn(format!(
                "#{pointer}: the document's values at {} are not valid JSON Schema and were left out",
                dropped.join(", ")
            ));
        }
        let size = serde_json::to_vec(&schema).map_or(0, |v| v.len());
        Ok(Rc::new(Definition {
            schema,
            refs: reached.order,
            size,
        }))
    }

    /// A stable `$defs` key for a pointer: the component name where there is one.
    fn def_name(&mut self, pointer: &str) -> String {
        if let Some(name) = self.names.get(pointer) {
            return name.clone();
        }
        let base = pointer
            .strip_prefix("/components/schemas/")
            .map(str::to_owned)
            .unwrap_or_else(|| pointer.trim_start_matches('/').replace('/', "_"));
        let base: String = base
            .chars()
            .map(|c| if crate::tool::is_name_char(c) { c } else { '_' })
            .collect();
        let mut name = base.clone();
        let mut n = 2;
        while !self.taken.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.names.insert(pointer.to_owned(), name.clone());
        name
    }

    /// Whether a property schema is marked `readOnly` (or `writeOnly`), directly or through
    /// its reference.
    pub(crate) fn excluded(&self, property: &Value, direction: Direction) -> bool {
        let flag = match direction {
            Direction::Input => "readOnly",
            Direction::Output => "writeOnly",
        };
        let marked = |v: &Value| v.get(flag) == Some(&Value::Bool(true));
        marked(property) || resolve(self.doc, property).is_ok_and(marked)
    }
}

/// Keywords whose value is one schema.
const SCHEMA_KEYWORDS: [&str; 11] = [
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
    "items",
];
/// Keywords whose value is an array of schemas.
const SCHEMA_LIST_KEYWORDS: [&str; 4] = ["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value maps names to schemas.
const SCHEMA_MAP_KEYWORDS: [&str; 3] = ["properties", "patternProperties", "dependentSchemas"];
/// Annotation and assertion keywords kept as they are when their value has the right type.
const STRING_KEYWORDS: [&str; 5] = ["title", "description", "format", "contentMediaType", "contentEncoding"];
const BOOL_KEYWORDS: [&str; 4] = ["readOnly", "writeOnly", "deprecated", "uniqueItems"];
const NUMBER_KEYWORDS: [&str; 3] = ["minimum", "maximum", "multipleOf"];
const COUNT_KEYWORDS: [&str; 8] = [
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minContains",
    "maxContains",
];
const DATA_KEYWORDS: [&str; 3] = ["default", "const", "$comment"];
const JSON_TYPES: [&str; 7] = ["null", "boolean", "object", "array", "number", "string", "integer"];

struct Normalizer<'n, 'd> {
    schemas: &'n mut Schemas<'d>,
    direction: Direction,
    reached: &'n mut Reached,
}

impl<'d> Normalizer<'_, 'd> {
    fn schema(&mut self, schema: &'d Value) -> Result<Value, SchemaError> {
        let Value::Object(src) = schema else {
            // true/false are schemas; anything else means "no constraint".
            return Ok(if schema.is_boolean() { schema.clone() } else { json!({}) });
        };
        let mut out = Map::new();
        if let Some(reference) = src.get("$ref") {
            out.insert("$ref".into(), self.reference(reference)?);
        }
        for (key, value) in src {
            self.keyword(key, value, src, &mut out)?;
        }
        self.fix_bounds(src, &mut out);
        if src.get("discriminator").is_some()
            && let Some(one_of) = out.remove("oneOf")
        {
            out.insert("anyOf".into(), one_of);
        }
        let nullable = [src.get("nullable"), src.get("x-nullable")].contains(&Some(&json!(true)));
        Ok(if nullable {
            make_nullable(out)
        } else {
            Value::Object(out)
        })
    }

    fn reference(&mut self, reference: &Value) -> Result<Value, SchemaError> {
        let reference = reference.as_str().ok_or(SchemaError::BadRef {
            found: super::document::json_type(reference),
        })?;
        let pointer = ref_pointer(reference)?;
        if self.schemas.doc.pointer(&pointer).is_none() {
            return Err(SchemaError::UnresolvedRef {
                reference: reference.into(),
            });
        }
        self.reached.add(&pointer);
        Ok(json!(format!("#/$defs/{}", self.schemas.def_name(&pointer))))
    }

    /// One keyword of `src` into `out`: the ones 2020-12 spells differently first, then those
    /// kept as they are.
    fn keyword(
        &mut self,
        key: &str,
        value: &'d Value,
        src: &'d Map<String, Value>,
        out: &mut Map<String, Value>,
    ) -> Result<(), SchemaError> {
        match key {
            "items" if value.is_array() => {
                out.insert("prefixItems".into(), self.schema_list(value)?);
                if let Some(extra) = src.get("additionalItems") {
                    out.insert("items".into(), self.schema(extra)?);
                }
            }
            "type" => {
                if let Some(types) = normalize_type(value, out) {
                    out.insert("type".into(), types);
                }
            }
            "required" => {
                if let Some(required) = self.required(value, src) {
                    out.insert(key.into(), required);
                }
            }
            "properties" => {
                out.insert(key.into(), self.properties(value)?);
            }
            "example" if !src.contains_key("examples") => {
                out.insert("examples".into(), json!([value]));
            }
            "examples" => {
                out.insert(key.into(), examples_list(value));
            }
            "dependencies" => self.dependencies(value, out)?,
            "pattern" => {
                if let Some(p) = value.as_str().filter(|p| self.schemas.pattern_ok(p)) {
                    out.insert(key.into(), json!(p));
                }
            }
            _ => {
                if let Some(kept) = self.kept(key, value)? {
                    out.insert(key.into(), kept);
                }
            }
        }
        Ok(())
    }

    /// A keyword 2020-12 shares with OpenAPI, when its value has the right shape (subschemas
    /// normalised). `$ref` is handled first; everything else (`discriminator`, `xml`, `x-*`,
    /// `nullable`, `$id`, nested `$defs` reached through pointers instead) is dropped.
    fn kept(&mut self, key: &str, value: &'d Value) -> Result<Option<Value>, SchemaError> {
        Ok(match key {
            "enum" if value.is_array() => Some(value.clone()),
            "dependentRequired" if value.is_object() => Some(value.clone()),
            _ if SCHEMA_KEYWORDS.contains(&key) => Some(self.schema(value)?),
            _ if SCHEMA_LIST_KEYWORDS.contains(&key) && value.is_array() => Some(self.schema_list(value)?),
            _ if SCHEMA_MAP_KEYWORDS.contains(&key) && value.is_object() => Some(self.schema_map(value)?),
            _ if STRING_KEYWORDS.contains(&key) && value.is_string() => Some(value.clone()),
            _ if BOOL_KEYWORDS.contains(&key) && value.is_boolean() => Some(value.clone()),
            _ if NUMBER_KEYWORDS.contains(&key) || COUNT_KEYWORDS.contains(&key) => number_keyword(key, value),
            _ if DATA_KEYWORDS.contains(&key) => Some(value.clone()),
            _ => None,
        })
    }

    fn schema_list(&mut self, value: &'d Value) -> Result<Value, SchemaError> {
        let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
        items
            .iter()
            .map(|s| self.schema(s))
            .collect::<Result<_, _>>()
            .map(Value::Array)
    }

    fn schema_map(&mut self, value: &'d Value) -> Result<Value, SchemaError> {
        let mut out = Map::new();
        for (name, schema) in value.as_object().into_iter().flatten() {
            out.insert(name.clone(), self.schema(schema)?);
        }
        Ok(Value::Object(out))
    }

    /// `properties`, without those this direction leaves out. Keys are property names, so a
    /// property called `$ref` is just a property.
    fn properties(&mut self, value: &'d Value) -> Result<Value, SchemaError> {
        let mut out = Map::new();
        for (name, schema) in value.as_object().into_iter().flatten() {
            if !self.schemas.excluded(schema, self.direction) {
                out.insert(name.clone(), self.schema(schema)?);
            }
        }
        Ok(Value::Object(out))
    }

    /// `required` as unique strings, without properties this direction leaves out.
    fn required(&self, value: &Value, src: &Map<String, Value>) -> Option<Value> {
        let props = src.get("properties").and_then(Value::as_object);
        let mut seen = HashSet::new();
        let names: Vec<Value> = value
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .filter(|name| {
                let excluded = props
                    .and_then(|p| p.get(*name))
                    .is_some_and(|s| self.schemas.excluded(s, self.direction));
                !excluded && seen.insert(*name)
            })
            .map(|name| json!(name))
            .collect();
        Some(Value::Array(names))
    }

    /// Draft-4 `dependencies`: arrays become `dependentRequired`, schemas `dependentSchemas`.
    fn dependencies(&mut self, value: &'d Value, out: &mut Map<String, Value>) -> Result<(), SchemaError> {
        let (mut required, mut schemas) = (Map::new(), Map::new());
        for (name, dep) in value.as_object().into_iter().flatten() {
            if dep.is_array() {
                required.insert(name.clone(), dep.clone());
            } else {
                schemas.insert(name.clone(), self.schema(dep)?);
            }
        }
        if !required.is_empty() {
            out.insert("dependentRequired".into(), Value::Object(required));
        }
        if !schemas.is_empty() {
            out.insert("dependentSchemas".into(), Value::Object(schemas));
        }
        Ok(())
    }

    /// 3.0's boolean `exclusiveMinimum`/`exclusiveMaximum` modify `minimum`/`maximum`;
    /// 2020-12's are the bounds themselves.
    fn fix_bounds(&self, src: &Map<String, Value>, out: &mut Map<String, Value>) {
        for (exclusive, inclusive) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
            match src.get(exclusive) {
                Some(Value::Bool(true)) => {
                    if let Some(bound) = out.remove(inclusive) {
                        out.insert(exclusive.into(), bound);
                    }
                }
                Some(Value::Number(n)) => {
                    out.insert(exclusive.into(), Value::Number(n.clone()));
                }
                _ => {}
            }
        }
    }
}

/// `type` as valid 2020-12: Swagger's `file` is a binary string, common aliases are mapped,
/// unknown names are dropped (no constraint rather than an invalid schema).
fn normalize_type(value: &Value, out: &mut Map<String, Value>) -> Option<Value> {
    let names: Vec<&str> = match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let mut types: Vec<&str> = Vec::new();
    for name in names {
        let mapped = match name {
            "file" => {
                out.entry("format").or_insert(json!("binary"));
                "string"
            }
            "int" | "long" | "int32" | "int64" => "integer",
            "float" | "double" => "number",
            "bool" => "boolean",
            other => other,
        };
        if JSON_TYPES.contains(&mapped) && !types.contains(&mapped) {
            types.push(mapped);
        }
    }
    match types.as_slice() {
        [] => None,
        [one] => Some(json!(one)),
        many => Some(json!(many)),
    }
}

/// `examples` as 2020-12's array: an OpenAPI examples map gives its values.
fn examples_list(value: &Value) -> Value {
    match value {
        Value::Array(_) => value.clone(),
        Value::Object(map) => Value::Array(map.values().cloned().collect()),
        other => json!([other]),
    }
}

/// Numbers as numbers (`"10"` is read as 10); counts must be non-negative integers and
/// `multipleOf` positive, or the keyword is dropped.
fn number_keyword(key: &str, value: &Value) -> Option<Value> {
    let number = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !number.is_finite() {
        return None;
    }
    if COUNT_KEYWORDS.contains(&key) && (number < 0.0 || number.fract() != 0.0) {
        return None;
    }
    if key == "multipleOf" && number <= 0.0 {
        return None;
    }
    match value {
        Value::Number(_) => Some(value.clone()),
        _ if number.fract() == 0.0 && number.abs() < 9e15 => Some(json!(number as i64)),
        _ => Some(json!(number)),
    }
}

/// 3.0 `nullable: true`: `null` joins `type` (and `enum`) when there is a type to join,
/// otherwise the schema becomes `anyOf: [schema, {type: null}]`.
fn make_nullable(mut schema: Map<String, Value>) -> Value {
    let has_const = schema.contains_key("const");
    match schema.get_mut("type") {
        Some(Value::String(t)) if !has_const => {
            let t = std::mem::take(t);
            if t != "null" {
                schema.insert("type".into(), json!([t, "null"]));
            }
        }
        Some(Value::Array(types)) if !has_const => {
            if !types.contains(&json!("null")) {
                types.push(json!("null"));
            }
        }
        _ => return nullable_any_of(schema),
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    Value::Object(schema)
}

fn nullable_any_of(mut schema: Map<String, Value>) -> Value {
    let mut outer = Map::new();
    for key in ["title", "description", "default", "examples", "deprecated"] {
        if let Some(v) = schema.remove(key) {
            outer.insert(key.into(), v);
        }
    }
    outer.insert("anyOf".into(), json!([Value::Object(schema), {"type": "null"}]));
    Value::Object(outer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalize(doc: &Value, schema: &Value, direction: Direction) -> (Value, Map<String, Value>) {
        let mut schemas = Schemas::new(doc, None);
        let mut reached = Reached::default();
        let schema: &'static Value = Box::leak(Box::new(schema.clone()));
        let doc_schema = schemas.normalize(schema, direction, &mut reached).expect("normalizes");
        let defs = schemas.defs(&reached, direction).expect("defs");
        (doc_schema, defs)
    }

    #[test]
    fn nullable_joins_the_type_or_wraps_in_any_of() {
        let doc = json!({});
        let (s, _) = normalize(
            &doc,
            &json!({"type": "string", "nullable": true, "enum": ["a"]}),
            Direction::Input,
        );
        assert_eq!(s, json!({"type": ["string", "null"], "enum": ["a", null]}));
        let doc = json!({"components": {"schemas": {"A": {"type": "object"}}}});
        let (s, _) = normalize(
            &doc,
            &json!({"allOf": [{"$ref": "#/components/schemas/A"}], "nullable": true, "description": "d"}),
            Direction::Input,
        );
        assert_eq!(
            s,
            json!({"description": "d", "anyOf": [{"allOf": [{"$ref": "#/$defs/A"}]}, {"type": "null"}]})
        );
    }

    #[test]
    fn example_and_exclusive_bounds_become_2020_12() {
        let (s, _) = normalize(
            &json!({}),
            &json!({"type": "integer", "minimum": 1, "exclusiveMinimum": true, "maximum": 9,
                    "exclusiveMaximum": false, "example": 5, "x-extra": 1, "xml": {}}),
            Direction::Input,
        );
        assert_eq!(
            s,
            json!({"type": "integer", "maximum": 9, "examples": [5], "exclusiveMinimum": 1})
        );
    }

    #[test]
    fn recursive_schemas_become_defs_and_stay_finite() {
        let doc = json!({"components": {"schemas": {
            "Node": {"type": "object", "properties": {
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                "meta": {"$ref": "#/components/schemas/Meta"}}},
            "Meta": {"type": "object"},
            "Unused": {"type": "string"}}}});
        let (s, defs) = normalize(&doc, &json!({"$ref": "#/components/schemas/Node"}), Direction::Input);
        assert_eq!(s, json!({"$ref": "#/$defs/Node"}));
        assert_eq!(defs.keys().collect::<Vec<_>>(), ["Node", "Meta"]);
        assert_eq!(
            defs["Node"]["properties"]["children"]["items"],
            json!({"$ref": "#/$defs/Node"})
        );
    }

    #[test]
    fn a_property_named_ref_is_a_property() {
        let (s, defs) = normalize(
            &json!({}),
            &json!({"type": "object", "properties": {"$ref": {"type": "string"}}, "required": ["$ref"]}),
            Direction::Input,
        );
        assert_eq!(s["properties"]["$ref"], json!({"type": "string"}));
        assert!(defs.is_empty());
    }

    #[test]
    fn read_only_leaves_inputs_and_write_only_leaves_outputs() {
        let schema = json!({"type": "object", "required": ["id", "password", "name"], "properties": {
            "id": {"type": "integer", "readOnly": true},
            "password": {"type": "string", "writeOnly": true},
            "name": {"type": "string"}}});
        let (input, _) = normalize(&json!({}), &schema, Direction::Input);
        assert_eq!(input["properties"].as_object().expect("obj").len(), 2, "{input}");
        assert_eq!(input["required"], json!(["password", "name"]));
        let (output, _) = normalize(&json!({}), &schema, Direction::Output);
        assert_eq!(output["required"], json!(["id", "name"]));
    }

    #[test]
    fn discriminated_one_of_becomes_any_of() {
        let (s, _) = normalize(
            &json!({}),
            &json!({"oneOf": [{"type": "object"}, {"type": "object"}], "discriminator": {"propertyName": "kind"}}),
            Direction::Input,
        );
        assert!(s.get("oneOf").is_none() && s.get("discriminator").is_none());
        assert_eq!(s["anyOf"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn external_and_dangling_references_are_errors() {
        let doc = json!({});
        let mut schemas = Schemas::new(&doc, None);
        let mut reached = Reached::default();
        let ext: &'static Value = Box::leak(Box::new(json!({"$ref": "other.yaml#/Pet"})));
        assert!(matches!(
            schemas.normalize(ext, Direction::Input, &mut reached),
            Err(SchemaError::ExternalRef { .. })
        ));
        let dangling: &'static Value = Box::leak(Box::new(json!({"$ref": "#/components/schemas/Nope"})));
        assert!(matches!(
            schemas.normalize(dangling, Direction::Input, &mut reached),
            Err(SchemaError::UnresolvedRef { .. })
        ));
    }

    #[test]
    fn tuple_items_and_draft4_dependencies_are_converted() {
        let (s, _) = normalize(
            &json!({}),
            &json!({"items": [{"type": "string"}], "additionalItems": false,
                    "dependencies": {"a": ["b"], "c": {"required": ["d"]}}, "type": ["string", "bogus"]}),
            Direction::Input,
        );
        assert_eq!(
            s,
            json!({"prefixItems": [{"type": "string"}], "items": false,
                "dependentRequired": {"a": ["b"]}, "dependentSchemas": {"c": {"required": ["d"]}}, "type": "string"})
        );
    }
}
