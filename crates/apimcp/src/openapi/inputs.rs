//! An operation's parameters and request body → the tool's inputSchema and the bindings that
//! say where each argument goes.
//!
//! Argument names: path parameters first, then query, header, cookie; each keeps its own name
//! (made client-safe) unless an earlier one took it, in which case it is prefixed with its
//! location (`query_id`). An object body is flattened into top-level arguments when none of its
//! fields collides; otherwise, and for every other body, it is one `body` argument.

use http::HeaderName;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Map, Value, json};

use super::OperationError;
use super::names::{Names, sanitize};
use super::schema::{Direction, Reached, Schemas, resolve};
use crate::tool::{
    BodyBinding, BodyEncoding, BodyShape, FieldBinding, FieldEncoding, JsonObject, Location, ParamBinding, Style,
};

/// The arguments of one operation.
pub(crate) struct Inputs {
    pub(crate) schema: JsonObject,
    pub(crate) params: Vec<ParamBinding>,
    pub(crate) body: Option<BodyBinding>,
}

/// Headers OpenAPI says to ignore as parameters: HTTP itself sets them.
const IGNORED_HEADERS: [HeaderName; 3] = [ACCEPT, CONTENT_TYPE, AUTHORIZATION];

pub(crate) fn build<'d>(
    schemas: &mut Schemas<'d>,
    item: &'d Map<String, Value>,
    op: &'d Map<String, Value>,
) -> Result<Inputs, OperationError> {
    let mut builder = Builder {
        schemas,
        reached: Reached::default(),
        names: Names::default(),
        properties: Map::new(),
        required: Vec::new(),
    };
    let params = builder.params(item, op)?;
    let body = builder.body(op)?;
    let schema = builder.finish()?;
    Ok(Inputs { schema, params, body })
}

struct Builder<'s, 'd> {
    schemas: &'s mut Schemas<'d>,
    reached: Reached,
    names: Names,
    properties: Map<String, Value>,
    required: Vec<String>,
}

/// A parameter read from the document.
struct RawParam<'d> {
    name: &'d str,
    location: Location,
    spec: &'d Map<String, Value>,
}

impl<'d> Builder<'_, 'd> {
    fn finish(self) -> Result<JsonObject, OperationError> {
        let defs = self
            .schemas
            .defs(&self.reached, Direction::Input)
            .map_err(|source| OperationError::Schema {
                at: "input schema".into(),
                source,
            })?;
        let mut schema = Map::new();
        schema.insert("type".into(), json!("object"));
        schema.insert("properties".into(), Value::Object(self.properties));
        if !self.required.is_empty() {
            schema.insert("required".into(), json!(self.required));
        }
        schema.insert("additionalProperties".into(), json!(false));
        if !defs.is_empty() {
            schema.insert("$defs".into(), Value::Object(defs));
        }
        Ok(schema)
    }

    fn add(&mut self, arg: &str, property: Value, required: bool) {
        self.properties.insert(arg.to_owned(), property);
        if required && !self.required.iter().any(|r| r == arg) {
            self.required.push(arg.to_owned());
        }
    }

    fn normalize(&mut self, schema: &'d Value, at: &str) -> Result<Value, OperationError> {
        self.schemas
            .normalize(schema, Direction::Input, &mut self.reached)
            .map_err(|source| OperationError::Schema {
                at: at.to_owned(),
                source,
            })
    }

    fn params(
        &mut self,
        item: &'d Map<String, Value>,
        op: &'d Map<String, Value>,
    ) -> Result<Vec<ParamBinding>, OperationError> {
        let mut raw = self.collect(item.get("parameters"), Vec::new())?;
        raw = self.collect(op.get("parameters"), raw)?;
        raw.sort_by_key(|p| p.location.rank());
        raw.into_iter().map(|p| self.param(p)).collect()
    }

    /// Adds the parameters of one level; a later level replaces an earlier one of the same
    /// name and location, as OpenAPI says operation parameters override path-item ones.
    fn collect(
        &self,
        list: Option<&'d Value>,
        mut raw: Vec<RawParam<'d>>,
    ) -> Result<Vec<RawParam<'d>>, OperationError> {
        for entry in list.and_then(Value::as_array).into_iter().flatten() {
            let spec = self.param_spec(entry)?;
            let name = spec
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid_param("?", "the parameter has no `name`"))?;
            let location = param_location(spec, name)?;
            if matches!(&location, Location::Header(header) if IGNORED_HEADERS.contains(header)) {
                continue;
            }
            raw.retain(|p| !(p.name == name && p.location == location));
            raw.push(RawParam { name, location, spec });
        }
        Ok(raw)
    }

    /// A parameter object, its `$ref` followed.
    fn param_spec(&self, entry: &'d Value) -> Result<&'d Map<String, Value>, OperationError> {
        resolve(self.schemas.doc(), entry)
            .map_err(|source| OperationError::Schema {
                at: "parameter".into(),
                source,
            })?
            .as_object()
            .ok_or_else(|| invalid_param("?", "a parameter must be an object"))
    }

    fn param(&mut self, p: RawParam<'d>) -> Result<ParamBinding, OperationError> {
        let arg = self.arg_name(p.name, p.location.as_str());
        let (property, json) = self.param_property(&p)?;
        let required = p.location == Location::Path || p.spec.get("required") == Some(&json!(true));
        self.add(&arg, property, required);
        let style = style(p.spec, &p.location);
        let explode = p
            .spec
            .get("explode")
            .and_then(Value::as_bool)
            .unwrap_or(style == Style::Form);
        Ok(ParamBinding {
            arg,
            name: p.name.to_owned(),
            location: p.location,
            style,
            explode,
            allow_reserved: p.spec.get("allowReserved") == Some(&json!(true)),
            json,
            required,
        })
    }

    /// The argument's schema, with the parameter's description, deprecation and example, and
    /// whether the value is sent as JSON text.
    fn param_property(&mut self, p: &RawParam<'d>) -> Result<(Value, bool), OperationError> {
        let at = format!("parameter `{}`", p.name);
        let (mut property, json) = match param_schema(p.spec) {
            Some((schema, json)) => (self.normalize(schema, &at)?, json),
            None => (json!({"type": "string"}), false),
        };
        if let Value::Object(prop) = &mut property {
            for key in ["description", "deprecated"] {
                if let Some(v) = p.spec.get(key) {
                    prop.insert(key.into(), v.clone());
                }
            }
            if let Some(example) = p.spec.get("example") {
                prop.entry("examples").or_insert_with(|| json!([example]));
            }
        }
        Ok((property, json))
    }

    /// A client-safe argument name for `wire`, prefixed with `location` when taken.
    fn arg_name(&mut self, wire: &str, location: &str) -> String {
        let clean = sanitize(wire);
        if !clean.is_empty() && clean.len() <= 64 && self.names.reserve(&clean) {
            return clean;
        }
        self.names.unique(&format!("{location}_{wire}"), location)
    }

    fn body(&mut self, op: &'d Map<String, Value>) -> Result<Option<BodyBinding>, OperationError> {
        let Some(request_body) = op.get("requestBody") else {
            return Ok(None);
        };
        let request_body = resolve(self.schemas.doc(), request_body).map_err(|source| OperationError::Schema {
            at: "request body".into(),
            source,
        })?;
        let Some((media_type, media)) = choose_media(request_body.get("content")) else {
            return Ok(None);
        };
        let kind = MediaKind::of(media_type);
        let required = request_body.get("required") == Some(&json!(true));
        let description = request_body.get("description").and_then(Value::as_str);
        let (shape, files) = self.body_shape(media.get("schema"), kind, description, required)?;
        let encodings = match kind {
            MediaKind::Form | MediaKind::Multipart => field_encodings(media.get("encoding")),
            _ => Vec::new(),
        };
        Ok(Some(BodyBinding {
            media_type: kind.wire_type(media_type),
            encoding: kind.encoding(files),
            shape,
            required,
            encodings,
        }))
    }

    /// Flattened fields where the body is an object that allows it, else one `body` argument.
    fn body_shape(
        &mut self,
        schema: Option<&'d Value>,
        kind: MediaKind,
        description: Option<&str>,
        required: bool,
    ) -> Result<(BodyShape, Vec<String>), OperationError> {
        let flat = match (kind, schema) {
            (MediaKind::Json | MediaKind::Form | MediaKind::Multipart, Some(schema)) => {
                self.flatten(schema, kind, required)?
            }
            _ => None,
        };
        match flat {
            Some(found) => Ok(found),
            None => self.whole_body(schema, kind, description, required),
        }
    }

    /// The body's fields as top-level arguments, or `None` when the body is not a plain object
    /// or a field name collides with an argument already taken.
    fn flatten(
        &mut self,
        schema: &'d Value,
        kind: MediaKind,
        body_required: bool,
    ) -> Result<Option<(BodyShape, Vec<String>)>, OperationError> {
        let doc = self.schemas.doc();
        let Some(object) = object_fields(doc, schema, 0) else {
            return Ok(None);
        };
        let Some(fields) = self.field_args(&object) else {
            return Ok(None);
        };
        let mut bindings = Vec::new();
        let mut files = Vec::new();
        for (field, field_schema, arg) in fields {
            self.names.reserve(&arg);
            let mut property = self.normalize(field_schema, &format!("request body field `{field}`"))?;
            if kind == MediaKind::Multipart && is_file(doc, field_schema) {
                property = as_base64(property);
                files.push(field.to_owned());
            }
            self.add(&arg, property, body_required && object.required.contains(&field));
            bindings.push(FieldBinding {
                arg,
                field: field.to_owned(),
            });
        }
        Ok(Some((BodyShape::Flattened { fields: bindings }, files)))
    }

    /// The fields inputs keep, each with its argument name; `None` when a name is unusable,
    /// taken, or given twice.
    fn field_args(&self, object: &ObjectFields<'d>) -> Option<Vec<(&'d str, &'d Value, String)>> {
        let fields: Vec<(&'d str, &'d Value)> = object
            .fields
            .iter()
            .copied()
            .filter(|(_, s)| !self.schemas.excluded(s, Direction::Input))
            .collect();
        let args: Vec<String> = fields.iter().map(|(name, _)| sanitize(name)).collect();
        let clash = args
            .iter()
            .enumerate()
            .any(|(i, a)| a.is_empty() || a.len() > 64 || self.names.is_taken(a) || args[..i].contains(a));
        let named = fields
            .into_iter()
            .zip(args)
            .map(|((field, schema), arg)| (field, schema, arg));
        (!clash).then(|| named.collect())
    }

    fn whole_body(
        &mut self,
        schema: Option<&'d Value>,
        kind: MediaKind,
        description: Option<&str>,
        required: bool,
    ) -> Result<(BodyShape, Vec<String>), OperationError> {
        let arg = self.names.unique("body", "body");
        let mut property = match (kind, schema) {
            (MediaKind::Binary, _) => as_base64(json!({"type": "string"})),
            (MediaKind::Text, _) => json!({"type": "string"}),
            (_, Some(schema)) => self.normalize(schema, "request body")?,
            (_, None) => json!({}),
        };
        if let (Value::Object(prop), Some(d)) = (&mut property, description) {
            prop.insert("description".into(), json!(d));
        }
        self.add(&arg, property, required);
        Ok((BodyShape::Whole { arg }, Vec::new()))
    }
}

/// Where the parameter goes, from its `in`; a header's name is checked here, once.
fn param_location(spec: &Map<String, Value>, name: &str) -> Result<Location, OperationError> {
    match spec.get("in").and_then(Value::as_str) {
        Some("path") => Ok(Location::Path),
        Some("query" | "querystring") => Ok(Location::Query),
        Some("header") => HeaderName::from_bytes(name.as_bytes())
            .map(Location::Header)
            .map_err(|_| OperationError::InvalidHeaderName { name: name.into() }),
        Some("cookie") => Ok(Location::Cookie),
        other => {
            let reason = format!("unknown location `in: {}`", other.unwrap_or("(none)"));
            Err(invalid_param(name, &reason))
        }
    }
}

fn invalid_param(name: &str, reason: &str) -> OperationError {
    OperationError::InvalidParameter {
        name: name.into(),
        reason: reason.into(),
    }
}

/// A parameter's schema: `schema`, or the schema of its single `content` entry (sent as JSON).
fn param_schema(spec: &Map<String, Value>) -> Option<(&Value, bool)> {
    if let Some(schema) = spec.get("schema") {
        return Some((schema, false));
    }
    let (_, media) = spec.get("content")?.as_object()?.iter().next()?;
    Some((media.get("schema")?, true))
}

fn style(spec: &Map<String, Value>, location: &Location) -> Style {
    let default = match location {
        Location::Path | Location::Header(_) => Style::Simple,
        Location::Query | Location::Cookie => Style::Form,
    };
    match spec.get("style").and_then(Value::as_str) {
        Some("simple") => Style::Simple,
        Some("label") if *location == Location::Path => Style::Label,
        Some("matrix") if *location == Location::Path => Style::Matrix,
        Some("form") => Style::Form,
        Some("spaceDelimited") => Style::SpaceDelimited,
        Some("pipeDelimited") => Style::PipeDelimited,
        Some("deepObject") => Style::DeepObject,
        _ => default,
    }
}

/// A form or multipart media type's `encoding` map, in document order.
fn field_encodings(encoding: Option<&Value>) -> Vec<FieldEncoding> {
    let entries = encoding.and_then(Value::as_object).into_iter().flatten();
    entries
        .filter_map(|(field, e)| Some((field, e.as_object()?)))
        .map(|(field, e)| field_encoding(field, e))
        .collect()
}

/// One Encoding Object. A `style` given alone explodes only `form`, as for parameters; an
/// `explode` or `allowReserved` given alone implies the default style, `form`.
fn field_encoding(field: &str, e: &Map<String, Value>) -> FieldEncoding {
    let explicit = e.get("style").and_then(Value::as_str);
    let implied = e.contains_key("explode") || e.contains_key("allowReserved");
    let style = match explicit {
        Some("deepObject") => Some(Style::DeepObject),
        Some("spaceDelimited") => Some(Style::SpaceDelimited),
        Some("pipeDelimited") => Some(Style::PipeDelimited),
        Some(_) => Some(Style::Form),
        None => implied.then_some(Style::Form),
    };
    FieldEncoding {
        field: field.to_owned(),
        style,
        explode: e
            .get("explode")
            .and_then(Value::as_bool)
            .unwrap_or(style == Some(Style::Form)),
        allow_reserved: e.get("allowReserved") == Some(&json!(true)),
        content_type: e.get("contentType").and_then(Value::as_str).map(str::to_owned),
    }
}

/// What kind of body a media type carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum MediaKind {
    Json,
    Form,
    Multipart,
    Text,
    Binary,
}

impl MediaKind {
    fn of(media_type: &str) -> Self {
        let essence = essence(media_type);
        match essence.as_str() {
            "application/x-www-form-urlencoded" => Self::Form,
            m if m.starts_with("multipart/") => Self::Multipart,
            "*/*" | "application/*" => Self::Json,
            m if m.contains("json") => Self::Json,
            m if m.starts_with("text/") || m.ends_with("xml") => Self::Text,
            _ => Self::Binary,
        }
    }

    /// How a body of this kind is written; `files` are the multipart fields that carry files.
    fn encoding(self, files: Vec<String>) -> BodyEncoding {
        match self {
            Self::Json => BodyEncoding::Json,
            Self::Form => BodyEncoding::Form,
            Self::Multipart => BodyEncoding::Multipart { files },
            Self::Text => BodyEncoding::Text,
            Self::Binary => BodyEncoding::Binary,
        }
    }

    /// The `Content-Type` to send: wildcards become a concrete type.
    fn wire_type(self, media_type: &str) -> String {
        let essence = essence(media_type);
        match self {
            Self::Json if essence.contains('*') => "application/json".into(),
            Self::Multipart => "multipart/form-data".into(),
            Self::Binary if essence.contains('*') => "application/octet-stream".into(),
            Self::Text if essence.contains('*') => "text/plain".into(),
            _ => essence,
        }
    }
}

fn essence(media_type: &str) -> String {
    media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// The media type to send: JSON first (exact `application/json` before `+json` types), then
/// forms, multipart, text and binary, each in document order.
fn choose_media(content: Option<&Value>) -> Option<(&str, &Value)> {
    let content = content?.as_object()?;
    content
        .iter()
        .enumerate()
        .min_by_key(|(i, (mt, _))| {
            let kind = MediaKind::of(mt);
            let exact = essence(mt) != "application/json";
            (kind, exact, *i)
        })
        .map(|(_, (mt, media))| (mt.as_str(), media))
}

/// A plain object's fields: `properties` (merged over `allOf`), with no union, map or
/// conditional that flattening would lose.
struct ObjectFields<'d> {
    fields: Vec<(&'d str, &'d Value)>,
    required: Vec<&'d str>,
}

const MAX_ALL_OF_DEPTH: usize = 16;

fn object_fields<'d>(doc: &'d Value, schema: &'d Value, depth: usize) -> Option<ObjectFields<'d>> {
    let s = resolve(doc, schema).ok()?.as_object()?;
    if !is_plain_object(s) || depth > MAX_ALL_OF_DEPTH {
        return None;
    }
    let mut out = ObjectFields::own(s);
    let parts = s.get("allOf").and_then(Value::as_array);
    if out.fields.is_empty() && parts.is_none() {
        return None;
    }
    for part in parts.into_iter().flatten() {
        out.merge(object_fields(doc, part, depth + 1)?)?;
    }
    Some(out)
}

/// No union, condition, map, `null` or other type that flattening would lose.
fn is_plain_object(s: &Map<String, Value>) -> bool {
    let blocked = ["anyOf", "oneOf", "not", "if", "patternProperties", "$ref"]
        .iter()
        .any(|k| s.contains_key(*k));
    let nullable = s.get("nullable") == Some(&json!(true));
    let is_map = s.get("additionalProperties").is_some_and(|a| a != &json!(false));
    let typed_other = s.get("type").is_some_and(|t| t != "object");
    !(blocked || nullable || is_map || typed_other)
}

impl<'d> ObjectFields<'d> {
    /// The schema's own `properties` and `required`, before `allOf`.
    fn own(s: &'d Map<String, Value>) -> Self {
        Self {
            fields: s
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.iter().map(|(k, v)| (k.as_str(), v)).collect())
                .unwrap_or_default(),
            required: s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default(),
        }
    }

    /// Adds an `allOf` part's fields; `None` when a name is already there.
    fn merge(&mut self, part: Self) -> Option<()> {
        let clash = part
            .fields
            .iter()
            .any(|(name, _)| self.fields.iter().any(|(n, _)| n == name));
        if clash {
            return None;
        }
        self.fields.extend(part.fields);
        self.required.extend(part.required);
        Some(())
    }
}

/// Whether a multipart field carries a file (a binary string, or an array of them).
fn is_file(doc: &Value, schema: &Value) -> bool {
    let Ok(s) = resolve(doc, schema) else {
        return false;
    };
    if s.get("type") == Some(&json!("array")) {
        return s.get("items").is_some_and(|i| is_file(doc, i));
    }
    let binary = matches!(s.get("format").and_then(Value::as_str), Some("binary" | "byte"));
    let media_only = s.get("contentMediaType").is_some() && s.get("contentEncoding").is_none();
    s.get("type") == Some(&json!("file")) || binary || media_only
}

/// A file schema as clients send it: base64 text (arrays of files stay arrays).
fn as_base64(schema: Value) -> Value {
    let Value::Object(mut s) = schema else {
        return schema;
    };
    if s.get("type") == Some(&json!("array")) {
        if let Some(items) = s.remove("items") {
            s.insert("items".into(), as_base64(items));
        }
        return Value::Object(s);
    }
    let description = s
        .get("description")
        .and_then(Value::as_str)
        .map_or_else(String::new, |d| format!("{d} "));
    let mut out = Map::new();
    out.insert("type".into(), json!("string"));
    out.insert("contentEncoding".into(), json!("base64"));
    out.insert(
        "description".into(),
        json!(format!("{description}(file contents, base64-encoded)")),
    );
    Value::Object(out)
}
