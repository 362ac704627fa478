//! Swagger 2.0 → OpenAPI 3.0, so that old documents are converted rather than misread.
//!
//! What moves: `definitions`/`parameters`/`responses`/`securityDefinitions` into `components`,
//! `host` + `basePath` + `schemes` into `servers`, `body` and `formData` parameters into a
//! `requestBody` (media types from `consumes`), response `schema` into `content` (media types
//! from `produces`), and parameter type fields into `schema` with `collectionFormat` mapped to
//! `style`/`explode`. References are rewritten to their 3.0 locations.

use serde_json::{Map, Value, json};

/// Why a Swagger document could not be converted.
#[derive(Debug)]
pub(crate) struct SwaggerError {
    pub(crate) pointer: String,
    pub(crate) reason: String,
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// Keys of a 2.0 non-body parameter that describe its value and so move into `schema`.
const SCHEMA_KEYS: [&str; 16] = [
    "type",
    "format",
    "items",
    "enum",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
];

pub(crate) fn to_openapi_3(mut doc: Value) -> Result<Value, SwaggerError> {
    rewrite_refs(&mut doc);
    let Value::Object(src) = doc else {
        return Err(error("", "not an object"));
    };
    let consumes = media_types(src.get("consumes"));
    let produces = media_types(src.get("produces"));
    let ctx = Context {
        consumes: &consumes,
        produces: &produces,
        shared_params: src.get("parameters").and_then(Value::as_object),
    };
    let mut out = top_level(&src);
    out.insert("paths".into(), paths(&src, &ctx)?);
    out.insert("components".into(), components(&src, &ctx));
    Ok(Value::Object(out))
}

/// `openapi`, the fields 3.0 keeps as they are, and `servers`.
fn top_level(src: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("openapi".into(), json!("3.0.3"));
    for key in ["info", "tags", "security", "externalDocs"] {
        if let Some(v) = src.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(servers) = servers(src) {
        out.insert("servers".into(), servers);
    }
    out
}

struct Context<'a> {
    consumes: &'a [String],
    produces: &'a [String],
    shared_params: Option<&'a Map<String, Value>>,
}

fn error(pointer: &str, reason: &str) -> SwaggerError {
    SwaggerError {
        pointer: pointer.into(),
        reason: reason.into(),
    }
}

fn servers(src: &Map<String, Value>) -> Option<Value> {
    let base_path = src.get("basePath").and_then(Value::as_str).unwrap_or("");
    let Some(host) = src.get("host").and_then(Value::as_str) else {
        return (!base_path.is_empty()).then(|| json!([{ "url": base_path }]));
    };
    let schemes: Vec<&str> = src
        .get("schemes")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .filter(|s: &Vec<&str>| !s.is_empty())
        .unwrap_or_else(|| vec!["https"]);
    let list: Vec<Value> = schemes
        .iter()
        .map(|scheme| json!({ "url": format!("{scheme}://{host}{base_path}") }))
        .collect();
    Some(Value::Array(list))
}

fn media_types(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default()
}

fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref") {
                for (old, new) in [
                    ("#/definitions/", "#/components/schemas/"),
                    ("#/parameters/", "#/components/parameters/"),
                    ("#/responses/", "#/components/responses/"),
                ] {
                    if let Some(rest) = r.strip_prefix(old) {
                        *r = format!("{new}{rest}");
                        break;
                    }
                }
            }
            map.values_mut().for_each(rewrite_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

fn paths(src: &Map<String, Value>, ctx: &Context<'_>) -> Result<Value, SwaggerError> {
    let Some(paths) = src.get("paths") else {
        return Ok(json!({}));
    };
    let paths = paths
        .as_object()
        .ok_or_else(|| error("/paths", "`paths` is not an object"))?;
    let mut out = Map::new();
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            out.insert(path.clone(), item.clone());
            continue;
        };
        out.insert(path.clone(), Value::Object(path_item(item, ctx)));
    }
    Ok(Value::Object(out))
}

fn path_item(item: &Map<String, Value>, ctx: &Context<'_>) -> Map<String, Value> {
    let shared = resolve_params(item.get("parameters"), ctx);
    let mut out = Map::new();
    for (key, value) in item {
        match (key.as_str(), value.as_object()) {
            (method, Some(op)) if METHODS.contains(&method) => {
                out.insert(key.clone(), Value::Object(operation(op, &shared, ctx)));
            }
            ("parameters", _) => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    out
}

/// Parameters with `#/components/parameters/..` references inlined, since a 2.0 `body` or
/// `formData` parameter becomes part of a request body, not a 3.0 parameter.
fn resolve_params(params: Option<&Value>, ctx: &Context<'_>) -> Vec<Map<String, Value>> {
    let Some(params) = params.and_then(Value::as_array) else {
        return Vec::new();
    };
    params
        .iter()
        .filter_map(|p| {
            let name = p
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/parameters/"));
            match name {
                Some(name) => ctx.shared_params?.get(name)?.as_object().cloned(),
                None => p.as_object().cloned(),
            }
        })
        .collect()
}

fn operation(op: &Map<String, Value>, shared: &[Map<String, Value>], ctx: &Context<'_>) -> Map<String, Value> {
    let params = merged_params(op, shared, ctx);
    let consumes = op_media(op, "consumes", ctx.consumes);
    let produces = op_media(op, "produces", ctx.produces);
    let mut out = operation_fields(op, &produces);
    add_params_and_body(&mut out, &params, &consumes);
    out
}

/// The path item's parameters, each replaced by an operation parameter of the same name and
/// location.
fn merged_params(op: &Map<String, Value>, shared: &[Map<String, Value>], ctx: &Context<'_>) -> Vec<Map<String, Value>> {
    let mut params = shared.to_vec();
    for p in resolve_params(op.get("parameters"), ctx) {
        params.retain(|q| !(q.get("name") == p.get("name") && q.get("in") == p.get("in")));
        params.push(p);
    }
    params
}

/// The operation's fields but its parameters and media lists, with responses converted.
fn operation_fields(op: &Map<String, Value>, produces: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in op {
        match key.as_str() {
            "parameters" | "consumes" | "produces" | "schemes" => {}
            "responses" => {
                out.insert(key.clone(), responses(value, produces));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    out
}

/// Plain parameters stay parameters; the `body` parameter, or else the `formData` ones,
/// become the request body.
fn add_params_and_body(out: &mut Map<String, Value>, params: &[Map<String, Value>], consumes: &[String]) {
    let (body, form): (Vec<_>, Vec<_>) = params
        .iter()
        .filter(|p| matches!(in_of(p), "body" | "formData"))
        .partition(|p| in_of(p) == "body");
    let plain: Vec<Value> = params
        .iter()
        .filter(|p| !matches!(in_of(p), "body" | "formData"))
        .map(|p| Value::Object(parameter(p)))
        .collect();
    if !plain.is_empty() {
        out.insert("parameters".into(), Value::Array(plain));
    }
    if let Some(body) = body.first() {
        out.insert("requestBody".into(), body_request(body, consumes));
    } else if !form.is_empty() {
        out.insert("requestBody".into(), form_request(&form, consumes));
    }
}

fn op_media(op: &Map<String, Value>, key: &str, global: &[String]) -> Vec<String> {
    let own = media_types(op.get(key));
    if !own.is_empty() {
        own
    } else if !global.is_empty() {
        global.to_vec()
    } else {
        vec!["application/json".into()]
    }
}

fn in_of(p: &Map<String, Value>) -> &str {
    p.get("in").and_then(Value::as_str).unwrap_or("")
}

fn parameter(p: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut schema = Map::new();
    for (key, value) in p {
        if SCHEMA_KEYS.contains(&key.as_str()) {
            schema.insert(key.clone(), value.clone());
        } else if key == "x-nullable" {
            schema.insert("nullable".into(), value.clone());
        } else if key != "collectionFormat" && key != "allowEmptyValue" {
            out.insert(key.clone(), value.clone());
        }
    }
    if let Some(format) = p.get("collectionFormat").and_then(Value::as_str) {
        let (style, explode) = collection_style(format, matches!(in_of(p), "query" | "formData"));
        out.insert("style".into(), json!(style));
        out.insert("explode".into(), json!(explode));
    }
    out.insert("schema".into(), Value::Object(schema));
    out
}

/// `collectionFormat` as 3.0 `style` and `explode`. `tsv` has no 3.0 style; it is sent as
/// `csv` (no major API documents it).
fn collection_style(format: &str, query_like: bool) -> (&'static str, bool) {
    match format {
        "multi" => ("form", true),
        "ssv" => ("spaceDelimited", false),
        "pipes" => ("pipeDelimited", false),
        _ if query_like => ("form", false),
        _ => ("simple", false),
    }
}

fn body_request(body: &Map<String, Value>, consumes: &[String]) -> Value {
    let schema = body.get("schema").cloned().unwrap_or_else(|| json!({}));
    let content: Map<String, Value> = consumes
        .iter()
        .map(|mt| (mt.clone(), json!({ "schema": schema })))
        .collect();
    let mut out = Map::new();
    if let Some(d) = body.get("description") {
        out.insert("description".into(), d.clone());
    }
    out.insert("content".into(), Value::Object(content));
    out.insert("required".into(), body.get("required").cloned().unwrap_or(json!(false)));
    Value::Object(out)
}

fn form_request(fields: &[&Map<String, Value>], consumes: &[String]) -> Value {
    let (properties, required) = form_schema(fields);
    let has_file = fields.iter().any(|f| f.get("type") == Some(&json!("file")));
    let media = if has_file || consumes.iter().any(|c| c.starts_with("multipart/form-data")) {
        "multipart/form-data"
    } else {
        "application/x-www-form-urlencoded"
    };
    let any_required = !required.is_empty();
    let mut media_object = json!({ "schema": { "type": "object", "properties": properties, "required": required } });
    let encoding = form_encoding(fields);
    if !encoding.is_empty() {
        media_object["encoding"] = Value::Object(encoding);
    }
    json!({ "content": { media: media_object }, "required": any_required })
}

/// The `collectionFormat` of array fields as 3.0 `encoding` entries (`multi` repeats the
/// name, `csv` joins with commas, and so on).
fn form_encoding(fields: &[&Map<String, Value>]) -> Map<String, Value> {
    let mut encoding = Map::new();
    for field in fields {
        let (Some(name), Some(format)) = (
            field.get("name").and_then(Value::as_str),
            field.get("collectionFormat").and_then(Value::as_str),
        ) else {
            continue;
        };
        let (style, explode) = collection_style(format, true);
        encoding.insert(name.into(), json!({ "style": style, "explode": explode }));
    }
    encoding
}

/// The form's fields as object properties, and the names of the required ones.
fn form_schema(fields: &[&Map<String, Value>]) -> (Map<String, Value>, Vec<Value>) {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in fields {
        let name = field.get("name").and_then(Value::as_str).unwrap_or("");
        let mut schema = parameter(field).remove("schema").unwrap_or_else(|| json!({}));
        if let Some(d) = field.get("description") {
            schema["description"] = d.clone();
        }
        properties.insert(name.into(), schema);
        if field.get("required") == Some(&json!(true)) {
            required.push(json!(name));
        }
    }
    (properties, required)
}

fn responses(responses: &Value, produces: &[String]) -> Value {
    let Some(map) = responses.as_object() else {
        return responses.clone();
    };
    Value::Object(
        map.iter()
            .map(|(code, r)| (code.clone(), response(r, produces)))
            .collect(),
    )
}

fn response(r: &Value, produces: &[String]) -> Value {
    let Some(map) = r.as_object() else {
        return r.clone();
    };
    if map.contains_key("$ref") {
        return r.clone();
    }
    let mut out = Map::new();
    out.insert(
        "description".into(),
        map.get("description").cloned().unwrap_or(json!("")),
    );
    if let Some(schema) = map.get("schema") {
        let examples = map.get("examples").and_then(Value::as_object);
        out.insert("content".into(), response_content(schema, examples, produces));
    }
    if let Some(Value::Object(headers)) = map.get("headers") {
        out.insert("headers".into(), response_headers(headers));
    }
    Value::Object(out)
}

/// The schema under each produced media type, with that type's example.
fn response_content(schema: &Value, examples: Option<&Map<String, Value>>, produces: &[String]) -> Value {
    let content = produces.iter().map(|mt| {
        let mut media = json!({ "schema": schema });
        if let Some(example) = examples.and_then(|e| e.get(mt)) {
            media["example"] = example.clone();
        }
        (mt.clone(), media)
    });
    Value::Object(content.collect())
}

/// Response headers: their type fields move into `schema`, as a parameter's do.
fn response_headers(headers: &Map<String, Value>) -> Value {
    let headers = headers.iter().map(|(name, h)| {
        let schema = h.as_object().map(parameter).unwrap_or_default();
        (name.clone(), Value::Object(schema))
    });
    Value::Object(headers.collect())
}

fn components(src: &Map<String, Value>, ctx: &Context<'_>) -> Value {
    let mut out = Map::new();
    if let Some(defs) = src.get("definitions") {
        out.insert("schemas".into(), defs.clone());
    }
    if let Some(params) = ctx.shared_params {
        out.insert("parameters".into(), plain_parameters(params));
    }
    if let Some(shared) = src.get("responses") {
        out.insert("responses".into(), responses(shared, ctx.produces));
    }
    if let Some(Value::Object(schemes)) = src.get("securityDefinitions") {
        let converted = schemes.iter().map(|(k, s)| (k.clone(), security_scheme(s))).collect();
        out.insert("securitySchemes".into(), Value::Object(converted));
    }
    Value::Object(out)
}

/// Shared parameters but `body` and `formData` ones, which have no 3.0 component.
fn plain_parameters(params: &Map<String, Value>) -> Value {
    let plain = params
        .iter()
        .filter_map(|(k, p)| Some((k, p.as_object()?)))
        .filter(|(_, p)| !matches!(in_of(p), "body" | "formData"))
        .map(|(k, p)| (k.clone(), Value::Object(parameter(p))));
    Value::Object(plain.collect())
}

fn security_scheme(s: &Value) -> Value {
    match s.get("type").and_then(Value::as_str) {
        Some("basic") => json!({ "type": "http", "scheme": "basic" }),
        Some("oauth2") => oauth2_scheme(s),
        _ => s.clone(),
    }
}

/// A 2.0 OAuth scheme has one `flow`; 3.0 names its flows differently and nests them.
fn oauth2_scheme(s: &Value) -> Value {
    let flow = match s.get("flow").and_then(Value::as_str) {
        Some("accessCode") => "authorizationCode",
        Some("application") => "clientCredentials",
        Some(other) => other,
        None => "implicit",
    };
    let mut body = Map::new();
    for key in ["authorizationUrl", "tokenUrl", "scopes"] {
        if let Some(v) = s.get(key) {
            body.insert(key.into(), v.clone());
        }
    }
    body.entry("scopes").or_insert(json!({}));
    json!({ "type": "oauth2", "flows": { flow: body } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn petstore_like() -> Value {
        json!({
            "swagger": "2.0",
            "info": {"title": "t", "version": "1"},
            "host": "api.example.com", "basePath": "/v1", "schemes": ["https"],
            "consumes": ["application/json"], "produces": ["application/json"],
            "paths": {"/pets/{id}": {
                "parameters": [{"$ref": "#/parameters/Id"}],
                "put": {
                    "operationId": "updatePet",
                    "parameters": [
                        {"name": "tags", "in": "query", "type": "array", "items": {"type": "string"}, "collectionFormat": "multi"},
                        {"name": "pet", "in": "body", "required": true, "schema": {"$ref": "#/definitions/Pet"}}
                    ],
                    "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}}
                },
                "post": {
                    "operationId": "uploadImage", "consumes": ["multipart/form-data"],
                    "parameters": [{"name": "file", "in": "formData", "type": "file", "required": true},
                        {"name": "tags", "in": "formData", "type": "array", "items": {"type": "string"}, "collectionFormat": "csv"},
                        {"name": "ids", "in": "formData", "type": "array", "items": {"type": "integer"}, "collectionFormat": "multi"}],
                    "responses": {"200": {"description": "ok"}}
                }
            }},
            "parameters": {"Id": {"name": "id", "in": "path", "required": true, "type": "integer"}},
            "definitions": {"Pet": {"type": "object", "properties": {"id": {"type": "integer"}}}},
            "securityDefinitions": {"oauth": {"type": "oauth2", "flow": "accessCode",
                "authorizationUrl": "https://a/auth", "tokenUrl": "https://a/token", "scopes": {"read": "r"}}}
        })
    }

    #[test]
    fn converts_bodies_parameters_and_references() {
        let doc = to_openapi_3(petstore_like()).expect("converts");
        assert_eq!(doc["servers"][0]["url"], "https://api.example.com/v1");
        let put = &doc["paths"]["/pets/{id}"]["put"];
        assert_eq!(put["parameters"][0]["name"], "id");
        assert_eq!(put["parameters"][0]["schema"]["type"], "integer");
        assert_eq!(put["parameters"][1]["style"], "form");
        assert_eq!(put["parameters"][1]["explode"], true);
        assert_eq!(
            put["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Pet"
        );
        assert_eq!(put["requestBody"]["required"], true);
        assert_eq!(
            put["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Pet"
        );
        let post = &doc["paths"]["/pets/{id}"]["post"];
        let form = &post["requestBody"]["content"]["multipart/form-data"]["schema"];
        assert_eq!(form["properties"]["file"]["type"], "file");
        let encoding = &post["requestBody"]["content"]["multipart/form-data"]["encoding"];
        assert_eq!(encoding["tags"], json!({"style": "form", "explode": false}), "csv");
        assert_eq!(encoding["ids"], json!({"style": "form", "explode": true}), "multi");
        assert_eq!(form["required"][0], "file");
        assert_eq!(
            doc["components"]["securitySchemes"]["oauth"]["flows"]["authorizationCode"]["tokenUrl"],
            "https://a/token"
        );
    }
}
