//! One small document per conversion rule.

use serde_json::{Value, json};

use super::*;
use crate::tool::{BodyEncoding, BodyShape, Location, Style};

fn doc(paths: Value) -> OpenApiDocument {
    doc_with(paths, json!({}))
}

fn doc_with(paths: Value, components: Value) -> OpenApiDocument {
    OpenApiDocument::from_value(json!({
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
        "paths": paths, "components": components,
    }))
    .expect("valid document")
}

fn tools(document: &OpenApiDocument) -> Vec<ConvertedTool> {
    let conversion = convert(document, &ConvertOptions::default()).expect("converts");
    assert!(conversion.report.skipped.is_empty(), "{:?}", conversion.report.skipped);
    conversion.tools
}

fn one(document: &OpenApiDocument) -> ConvertedTool {
    let mut all = tools(document);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

fn ok() -> Value {
    json!({"200": {"description": "OK"}})
}

#[test]
fn every_parameter_location_is_an_argument() {
    let t = one(&doc(json!({"/items/{id}": {"get": {
        "operationId": "get_item",
        "parameters": [
            {"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}, "description": "The id"},
            {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}, "explode": false},
            {"name": "X-Tenant", "in": "header", "required": true, "schema": {"type": "string", "enum": ["a", "b"]}},
            {"name": "session", "in": "cookie", "schema": {"type": "string", "default": "s"}},
            {"name": "Accept", "in": "header", "schema": {"type": "string"}}
        ],
        "responses": ok()}}})));
    let schema = &t.tool.input_schema;
    assert_eq!(
        Value::Object(schema.clone()),
        json!({"type": "object", "properties": {
            "id": {"type": "integer", "minimum": 1, "description": "The id"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "X-Tenant": {"type": "string", "enum": ["a", "b"]},
            "session": {"type": "string", "default": "s"}},
            "required": ["id", "X-Tenant"], "additionalProperties": false})
    );
    let where_: Vec<_> = t
        .binding
        .params
        .iter()
        .map(|p| (p.arg.as_str(), p.location.clone(), p.style, p.explode))
        .collect();
    assert_eq!(
        where_,
        [
            ("id", Location::Path, Style::Simple, false),
            ("tags", Location::Query, Style::Form, false),
            (
                "X-Tenant",
                Location::Header(http::HeaderName::from_static("x-tenant")),
                Style::Simple,
                false,
            ),
            ("session", Location::Cookie, Style::Form, true),
        ]
    );
}

#[test]
fn referenced_parameters_and_path_level_parameters_are_kept() {
    let t = one(&doc_with(
        json!({"/items/{id}": {
            "parameters": [{"$ref": "#/components/parameters/Id"}, {"name": "q", "in": "query", "schema": {"type": "string"}}],
            "get": {"operationId": "g", "parameters": [{"name": "q", "in": "query", "required": true, "schema": {"type": "integer"}}], "responses": ok()}}}),
        json!({"parameters": {"Id": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}}}),
    ));
    assert_eq!(t.tool.input_schema["properties"]["q"]["type"], "integer");
    assert_eq!(t.tool.input_schema["required"], json!(["id", "q"]));
    assert_eq!(t.binding.params.len(), 2);
}

#[test]
fn an_object_body_is_flattened() {
    let t = one(&doc_with(
        json!({"/items": {"post": {"operationId": "create",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}},
            "responses": ok()}}}),
        json!({"schemas": {"Item": {"type": "object", "required": ["name", "id"], "properties": {
            "id": {"type": "integer", "readOnly": true}, "name": {"type": "string"}, "price": {"type": "number"}}}}}),
    ));
    assert_eq!(
        Value::Object(t.tool.input_schema.clone()),
        json!({"type": "object", "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
            "required": ["name"], "additionalProperties": false})
    );
    let body = t.binding.body.expect("body");
    assert_eq!(body.encoding, BodyEncoding::Json);
    assert!(matches!(body.shape, BodyShape::Flattened { ref fields } if fields.len() == 2));
}

#[test]
fn an_optional_body_requires_none_of_its_fields() {
    let t = one(&doc(json!({"/items": {"post": {"operationId": "create",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}}}},
        "responses": ok()}}})));
    assert!(t.tool.input_schema.get("required").is_none());
}

#[test]
fn non_object_bodies_go_under_body() {
    for (schema, required) in [
        (json!({"type": "array", "items": {"type": "string"}}), true),
        (json!({"type": "integer"}), false),
        (
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
            true,
        ),
        (json!({"oneOf": [{"type": "string"}, {"type": "object"}]}), true),
    ] {
        let t = one(&doc(json!({"/x": {"put": {"operationId": "put",
            "requestBody": {"required": required, "description": "The payload",
                "content": {"application/json": {"schema": schema}}},
            "responses": ok()}}})));
        let body = &t.tool.input_schema["properties"]["body"];
        assert_eq!(body["description"], "The payload", "{schema}");
        assert_eq!(t.tool.input_schema.contains_key("required"), required, "{schema}");
        assert!(matches!(t.binding.body.expect("body").shape, BodyShape::Whole { ref arg } if arg == "body"));
    }
}

#[test]
fn path_query_and_body_of_the_same_name_each_keep_an_argument() {
    let t = one(&doc(json!({"/items/{id}": {"put": {"operationId": "update",
        "parameters": [
            {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}},
            {"name": "id", "in": "query", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}}}},
        "responses": ok()}}})));
    let props = t.tool.input_schema["properties"].as_object().expect("properties");
    assert_eq!(props.keys().collect::<Vec<_>>(), ["id", "query_id", "body"]);
    assert_eq!(t.tool.input_schema["required"], json!(["id", "query_id", "body"]));
    let params: Vec<_> = t
        .binding
        .params
        .iter()
        .map(|p| (p.arg.as_str(), p.name.as_str(), p.location.clone()))
        .collect();
    assert_eq!(
        params,
        [("id", "id", Location::Path), ("query_id", "id", Location::Query)]
    );
}

#[test]
fn form_and_multipart_bodies_are_supported() {
    let t = one(&doc(json!({"/login": {"post": {"operationId": "login",
        "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "required": ["user"], "properties": {"user": {"type": "string"}, "pass": {"type": "string"}}}}}},
        "responses": ok()}}})));
    let body = t.binding.body.expect("body");
    assert_eq!(body.encoding, BodyEncoding::Form);
    assert_eq!(body.media_type, "application/x-www-form-urlencoded");
    assert_eq!(t.tool.input_schema["required"], json!(["user"]));

    let t = one(&doc(json!({"/upload": {"post": {"operationId": "upload",
        "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {
            "type": "object", "properties": {
                "file": {"type": "string", "format": "binary", "description": "The image"},
                "note": {"type": "string"}}}}}},
        "responses": ok()}}})));
    let body = t.binding.body.expect("body");
    assert_eq!(
        body.encoding,
        BodyEncoding::Multipart {
            files: vec!["file".into()]
        }
    );
    assert_eq!(
        t.tool.input_schema["properties"]["file"],
        json!({"type": "string", "contentEncoding": "base64", "description": "The image (file contents, base64-encoded)"})
    );
}

#[test]
fn binary_and_text_bodies_are_strings() {
    let t = one(&doc(json!({"/blob": {"put": {"operationId": "put_blob",
        "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        "responses": ok()}}})));
    assert_eq!(t.binding.body.expect("body").encoding, BodyEncoding::Binary);
    assert_eq!(t.tool.input_schema["properties"]["body"]["contentEncoding"], "base64");
    let t = one(&doc(json!({"/note": {"put": {"operationId": "put_note",
        "requestBody": {"content": {"text/plain": {"schema": {"type": "string"}}}}, "responses": ok()}}})));
    assert_eq!(t.binding.body.expect("body").encoding, BodyEncoding::Text);
}

#[test]
fn json_is_preferred_among_media_types() {
    let t = one(&doc(json!({"/x": {"post": {"operationId": "x",
        "requestBody": {"content": {
            "application/xml": {"schema": {"type": "object", "properties": {"a": {"type": "string"}}}},
            "application/vnd.x+json": {"schema": {"type": "object", "properties": {"b": {"type": "string"}}}},
            "application/json; charset=utf-8": {"schema": {"type": "object", "properties": {"c": {"type": "string"}}}}}},
        "responses": ok()}}})));
    assert_eq!(t.binding.body.expect("body").media_type, "application/json");
    assert!(t.tool.input_schema["properties"].get("c").is_some());
}

#[test]
fn all_of_bodies_are_merged_for_flattening() {
    let t = one(&doc_with(
        json!({"/pets": {"post": {"operationId": "add",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"allOf": [
                {"$ref": "#/components/schemas/Base"}, {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}}]}}}},
            "responses": ok()}}}),
        json!({"schemas": {"Base": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}),
    ));
    assert_eq!(t.tool.input_schema["required"], json!(["name", "kind"]));
}

#[test]
fn recursive_bodies_and_outputs_carry_only_reached_defs() {
    let t = one(&doc_with(
        json!({"/tree": {"post": {"operationId": "tree",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}}}}),
        json!({"schemas": {
            "Node": {"type": "object", "properties": {"value": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}},
            "Other": {"type": "string"}}}),
    ));
    let defs = t.tool.input_schema["$defs"].as_object().expect("defs");
    assert_eq!(defs.keys().collect::<Vec<_>>(), ["Node"]);
    let out = t.tool.output_schema.expect("output");
    assert_eq!(out["type"], "object");
    assert_eq!(out["properties"]["children"]["items"], json!({"$ref": "#/$defs/Node"}));
    assert!(!t.binding.output_wrapped);
}

#[test]
fn non_object_outputs_are_wrapped_in_result() {
    let t = one(&doc(json!({"/items": {"get": {"operationId": "list",
        "responses": {
            "404": {"description": "no"},
            "201": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "integer"}}}}},
            "200": {"description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}}}}}})));
    assert_eq!(
        Value::Object(t.tool.output_schema.expect("output")),
        json!({"type": "object", "properties": {"result": {"type": "array", "items": {"type": "integer"}}}, "required": ["result"]})
    );
    assert!(t.binding.output_wrapped);
}

#[test]
fn write_only_fields_leave_outputs() {
    let t = one(&doc(
        json!({"/u": {"get": {"operationId": "u", "responses": {"200": {"description": "ok",
        "content": {"application/json": {"schema": {"type": "object", "properties": {
            "name": {"type": "string"}, "password": {"type": "string", "writeOnly": true}}}}}}}}}}),
    ));
    let out = t.tool.output_schema.expect("output");
    assert!(out["properties"].get("password").is_none());
}

#[test]
fn names_are_valid_unique_and_stable() {
    let document = doc(json!({
        "/repos/{owner}": {"get": {"operationId": "repos/get", "responses": ok()},
                           "post": {"operationId": "repos_get", "responses": ok()}},
        "/items/{item_id}": {"delete": {"responses": ok()}},
        "/long": {"get": {"operationId": "x".repeat(80), "responses": ok()}}
    }));
    let names: Vec<String> = tools(&document).iter().map(|t| t.tool.name.to_string()).collect();
    assert_eq!(names[..3], ["repos_get", "repos_get_2", "delete_items_item_id"]);
    assert_eq!(names[3].len(), 64);
    let again: Vec<String> = tools(&document).iter().map(|t| t.tool.name.to_string()).collect();
    assert_eq!(names, again);
}

#[test]
fn the_name_map_overrides_names() {
    let document = doc(json!({"/a": {"get": {"operationId": "a", "responses": ok()}},
                              "/b": {"get": {"responses": ok()}}}));
    let options = ConvertOptions {
        tool_names: [("a", "first"), ("GET /b", "second")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        ..ConvertOptions::default()
    };
    let conversion = convert(&document, &options).expect("converts");
    let names: Vec<&str> = conversion.tools.iter().map(|t| t.tool.name.as_str()).collect();
    assert_eq!(names, ["first", "second"]);
    let bad = ConvertOptions {
        tool_names: [("a".to_owned(), "not/valid".to_owned())].into(),
        ..ConvertOptions::default()
    };
    assert!(matches!(
        convert(&document, &bad),
        Err(ConvertError::InvalidToolName { .. })
    ));
    let twice = ConvertOptions {
        tool_names: [("a", "same"), ("GET /b", "same")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        ..ConvertOptions::default()
    };
    assert!(matches!(
        convert(&document, &twice),
        Err(ConvertError::DuplicateToolName { .. })
    ));
}

#[test]
fn annotations_follow_http_semantics() {
    let t = tools(&doc(json!({"/x": {
        "get": {"operationId": "g", "summary": "Get X", "responses": ok()},
        "put": {"operationId": "p", "responses": ok()},
        "delete": {"operationId": "d", "responses": ok()},
        "post": {"operationId": "c", "responses": ok()}}})));
    let hints: Vec<_> = t
        .iter()
        .map(|t| {
            let a = &t.tool.annotations;
            (a.read_only_hint, a.destructive_hint, a.idempotent_hint)
        })
        .collect();
    assert_eq!(
        hints,
        [
            (Some(true), None, None),
            (Some(false), Some(true), Some(true)),
            (Some(false), Some(true), Some(true)),
            (Some(false), Some(false), Some(false)),
        ]
    );
    assert_eq!(t[0].tool.title.as_deref(), Some("Get X"));
    assert_eq!(t[0].tool.annotations.title.as_deref(), Some("Get X"));
}

#[test]
fn filters_select_the_whole_set() {
    let document = doc(json!({
        "/a": {"get": {"operationId": "a", "tags": ["t1"], "responses": ok()}},
        "/b": {"get": {"operationId": "b", "tags": ["t2"], "responses": ok()}},
        "/c": {"get": {"operationId": "c", "responses": ok()}}}));
    let run = |filter: OperationFilter| {
        let options = ConvertOptions {
            filter,
            ..ConvertOptions::default()
        };
        let conversion = convert(&document, &options).expect("converts");
        let names: Vec<String> = conversion.tools.iter().map(|t| t.tool.name.to_string()).collect();
        (names, conversion.report)
    };
    let (names, report) = run(OperationFilter {
        include_tags: Some(vec!["t2".into()]),
        ..OperationFilter::default()
    });
    assert_eq!((names, report.filtered_out), (vec!["b".to_owned()], 2));
    let (names, _) = run(OperationFilter {
        include_operations: Some(vec![]),
        ..OperationFilter::default()
    });
    assert!(names.is_empty());
    let (_, report) = run(OperationFilter {
        exclude_operations: Some(vec!["zz".into()]),
        ..OperationFilter::default()
    });
    assert_eq!(report.warnings, ["exclude_operations: \"zz\" matches no operation"]);
    let conflict = ConvertOptions {
        filter: OperationFilter {
            include_tags: Some(vec!["t1".into()]),
            exclude_tags: Some(vec!["t2".into()]),
            ..OperationFilter::default()
        },
        ..ConvertOptions::default()
    };
    assert!(matches!(convert(&document, &conflict), Err(ConvertError::Filter(_))));
}

#[test]
fn a_broken_operation_is_skipped_with_its_reason() {
    let document = doc(json!({
        "/good": {"get": {"operationId": "good", "responses": ok()}},
        "/bad": {"get": {"operationId": "bad", "parameters": [{"$ref": "#/components/parameters/Missing"}], "responses": ok()}},
        "/ext": {"post": {"operationId": "ext", "requestBody": {"content": {"application/json": {"schema": {"$ref": "other.yaml#/Pet"}}}}, "responses": ok()}}}));
    let conversion = convert(&document, &ConvertOptions::default()).expect("converts");
    assert_eq!(conversion.tools.len(), 1);
    let reasons: Vec<String> = conversion.report.skipped.iter().map(Skipped::to_string).collect();
    assert_eq!(
        reasons,
        [
            "GET /bad (bad): parameter: unresolved reference #/components/parameters/Missing",
            "POST /ext (ext): request body: external reference other.yaml#/Pet is not fetched (only references inside the document are followed)",
        ]
    );
    let strict = ConvertOptions {
        strict: true,
        ..ConvertOptions::default()
    };
    let err = convert(&document, &strict).expect_err("strict");
    assert!(err.to_string().contains("GET /bad (bad)"), "{err}");
}

#[test]
fn nullable_parameters_accept_null() {
    let t = one(&doc(json!({"/x": {"get": {"operationId": "x", "parameters": [
        {"name": "q", "in": "query", "schema": {"type": "string", "nullable": true}}], "responses": ok()}}})));
    assert_eq!(
        t.tool.input_schema["properties"]["q"]["type"],
        json!(["string", "null"])
    );
}

#[test]
fn swagger_2_is_converted_not_misread() {
    let document = OpenApiDocument::from_value(json!({
        "swagger": "2.0", "info": {"title": "t", "version": "1"},
        "paths": {"/pets": {"post": {"operationId": "addPet",
            "parameters": [{"in": "body", "name": "pet", "required": true, "schema": {"$ref": "#/definitions/Pet"}}],
            "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}}}}},
        "definitions": {"Pet": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}
    }))
    .expect("converted");
    assert!(document.converted_from_swagger());
    let t = one(&document);
    assert_eq!(t.tool.input_schema["required"], json!(["name"]));
    assert_eq!(
        t.tool.output_schema.expect("output")["properties"]["name"]["type"],
        "string"
    );
}

#[test]
fn version_3_2_query_and_additional_operations_are_tools() {
    let document = OpenApiDocument::from_value(json!({
        "openapi": "3.2.0", "info": {"title": "t", "version": "1"},
        "paths": {"/search": {
            "query": {"operationId": "search", "responses": ok()},
            "additionalOperations": {"LINK": {"operationId": "link", "responses": ok()}}}}
    }))
    .expect("3.2");
    let t = tools(&document);
    let methods: Vec<&str> = t.iter().map(|t| t.binding.method.as_str()).collect();
    assert_eq!(methods, ["QUERY", "LINK"]);
    assert_eq!(t[0].tool.annotations.read_only_hint, Some(true));
}

#[test]
fn patterns_the_validator_cannot_compile_are_left_out_with_a_warning() {
    let document = doc(json!({"/x": {"get": {"operationId": "x", "parameters": [
        {"name": "a", "in": "query", "schema": {"type": "string", "pattern": "^{[0-9]+}$"}},
        {"name": "b", "in": "query", "schema": {"type": "string", "pattern": "^[a-z]+$"}}],
        "responses": ok()}}}));
    let conversion = convert(&document, &ConvertOptions::default()).expect("converts");
    let props = &conversion.tools[0].tool.input_schema["properties"];
    assert!(props["a"].get("pattern").is_none());
    assert_eq!(props["b"]["pattern"], "^[a-z]+$");
    assert_eq!(conversion.report.warnings.len(), 1);
    assert!(conversion.report.warnings[0].contains("^{[0-9]+}$"));
}

#[test]
fn oauth_scopes_come_from_security_requirements() {
    let document = OpenApiDocument::from_value(json!({
        "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "security": [{"oauth": ["items:read"]}],
        "components": {"securitySchemes": {
            "oauth": {"type": "oauth2", "flows": {}},
            "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://x/.well-known/openid-configuration"},
            "key": {"type": "apiKey", "in": "header", "name": "X-Key"}}},
        "paths": {
            "/a": {"get": {"operationId": "inherits", "responses": ok()}},
            "/b": {"post": {"operationId": "own", "security": [{"oauth": ["items:write", "items:read"]}, {"oidc": ["admin"]}], "responses": ok()}},
            "/c": {"get": {"operationId": "open", "security": [], "responses": ok()}},
            "/d": {"get": {"operationId": "either", "security": [{"oauth": ["x"]}, {"key": []}], "responses": ok()}}
        }
    }))
    .expect("valid");
    let scopes: Vec<Vec<Vec<String>>> = tools(&document).into_iter().map(|t| t.required_scopes).collect();
    assert_eq!(
        scopes,
        vec![
            vec![vec!["items:read".to_owned()]],
            vec![
                vec!["items:write".to_owned(), "items:read".to_owned()],
                vec!["admin".to_owned()]
            ],
            vec![],
            vec![],
        ]
    );
}

#[test]
fn a_header_name_http_cannot_carry_skips_its_operation() {
    let document = doc(json!({
        "/a": {"get": {"operationId": "a", "parameters": [
            {"name": "X Trace", "in": "header", "schema": {"type": "string"}}], "responses": ok()}},
        "/b": {"get": {"operationId": "b", "parameters": [
            {"name": "X-Trace", "in": "header", "schema": {"type": "string"}}], "responses": ok()}}
    }));
    let conversion = convert(&document, &ConvertOptions::default()).expect("converts");
    let names: Vec<&str> = conversion.tools.iter().map(|t| t.tool.name.as_str()).collect();
    assert_eq!(names, ["b"]);
    let [skipped] = conversion.report.skipped.as_slice() else {
        panic!("one skip: {:?}", conversion.report.skipped);
    };
    assert_eq!(
        skipped.reason,
        OperationError::InvalidHeaderName { name: "X Trace".into() }
    );
    assert_eq!(
        skipped.to_string(),
        "GET /a (a): parameter `X Trace`: not a valid HTTP header name"
    );
    let header = &conversion.tools[0].binding.params[0];
    assert_eq!(header.name, "X-Trace", "the document's spelling is kept");
    assert_eq!(
        header.location,
        Location::Header(http::HeaderName::from_static("x-trace"))
    );
}

#[test]
fn a_method_http_cannot_send_skips_its_operation() {
    let document = OpenApiDocument::from_value(json!({
        "openapi": "3.2.0", "info": {"title": "t", "version": "1"},
        "paths": {"/x": {"additionalOperations": {
            "LINK": {"operationId": "link", "responses": ok()},
            "NOT A METHOD": {"operationId": "bad", "responses": ok()}}}}
    }))
    .expect("3.2");
    let conversion = convert(&document, &ConvertOptions::default()).expect("converts");
    assert_eq!(conversion.tools.len(), 1);
    assert_eq!(
        conversion.tools[0].binding.method,
        http::Method::from_bytes(b"LINK").expect("token")
    );
    let reasons: Vec<String> = conversion.report.skipped.iter().map(Skipped::to_string).collect();
    assert_eq!(reasons, ["NOT A METHOD /x (bad): `NOT A METHOD` is not an HTTP method"]);
}

#[test]
fn bindings_serialise_method_and_location_as_names() {
    let t = one(&doc(json!({"/x": {"delete": {"operationId": "x", "parameters": [
        {"name": "If-Match", "in": "header", "required": true, "schema": {"type": "string"}}],
        "responses": ok()}}})));
    let json = serde_json::to_value(&t.binding).expect("serialises");
    assert_eq!(json["method"], "DELETE");
    assert_eq!(json["params"][0]["name"], "If-Match");
    assert_eq!(json["params"][0]["location"], "header");
}

#[test]
fn server_variables_fill_the_operations_servers_and_bad_ones_fail_the_conversion() {
    let document = OpenApiDocument::from_value(json!({
        "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://{region}.api.test/v1", "variables": {
            "region": {"default": "us", "enum": ["us", "eu"]}}}],
        "paths": {"/files": {
            "servers": [{"url": "https://files.{region}.api.test", "variables": {"region": {"default": "us"}}}],
            "get": {"operationId": "files", "responses": ok()}}}
    }))
    .expect("valid document");
    let eu = ConvertOptions::default().server_variable("region", "eu");
    let converted = convert(&document, &eu).expect("converts");
    assert_eq!(
        converted.tools[0].binding.server.as_deref(),
        Some("https://files.eu.api.test")
    );
    let base = document.server_url_with(&eu.server_variables).expect("allowed");
    assert_eq!(base.as_deref(), Some("https://eu.api.test/v1"));
    assert_eq!(
        convert(&document, &ConvertOptions::default()).expect("converts").tools[0]
            .binding
            .server
            .as_deref(),
        Some("https://files.us.api.test"),
        "the default without a value"
    );

    let mars = ConvertOptions::default().server_variable("region", "mars");
    let err = convert(&document, &mars).expect_err("not in the enum");
    assert!(
        matches!(&err, ConvertError::ServerVariable(ServerVariableError::NotAllowed { name, .. }) if name == "region"),
        "{err}"
    );
    let unknown = ConvertOptions::default().server_variable("zone", "a");
    let err = convert(&document, &unknown).expect_err("undeclared");
    assert!(err.to_string().contains("\"zone\""), "{err}");
}
