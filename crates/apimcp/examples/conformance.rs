//! The official MCP conformance suite's fixture server, built the apimcp way: an axum app
//! whose endpoints (documented with utoipa) become the plain tools, plus custom tools,
//! resources and prompts for what no HTTP endpoint can express (progress, logging, sampling,
//! elicitation, embedded resources).
//!
//! Run: `cargo run --release -p apimcp --example conformance -- --listen 127.0.0.1:3001`
//! (`--no-fast-path` sends every request through rmcp's service), then
//! point `@modelcontextprotocol/conformance server --url http://127.0.0.1:3001/mcp` at it.

use std::sync::OnceLock;
use std::time::Duration;

use apimcp::McpServer;
use apimcp::call::{Content, ResourceContents, ToolOutput};
use apimcp::server::{
    ClientError, CompletionRequest, Context, InputRequest, LogLevel, Prompt, PromptArgument, PromptMessage,
    PromptResult, Resource, ResourceTemplate, Role,
};
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A 1x1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
/// A tiny WAV file.
const WAV: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=";

#[derive(OpenApi)]
#[openapi(info(title = "apimcp conformance", version = "1.0.0"))]
struct ApiDoc;

/// This is a simple text response for testing
#[utoipa::path(get, path = "/simple-text", operation_id = "test_simple_text",
    responses((status = 200, description = "Text", content_type = "text/plain", body = String)))]
async fn simple_text() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain")],
        "This is a simple text response for testing.",
    )
}

/// Returns a PNG image
#[utoipa::path(get, path = "/image", operation_id = "test_image_content",
    responses((status = 200, description = "A PNG", content_type = "image/png", body = Vec<u8>)))]
async fn image() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/png")], decode(PNG))
}

/// Returns a WAV sound
#[utoipa::path(get, path = "/audio", operation_id = "test_audio_content",
    responses((status = 200, description = "A WAV", content_type = "audio/wav", body = Vec<u8>)))]
async fn audio() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "audio/wav")], decode(WAV))
}

/// Always fails
#[utoipa::path(get, path = "/error", operation_id = "test_error_handling",
    responses((status = 500, description = "The error", content_type = "text/plain", body = String)))]
async fn error() -> impl IntoResponse {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "This tool intentionally returns an error for testing",
    )
}

fn decode(b64: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_default()
}

/// The API: routes and OpenAPI document from the same code.
pub fn api() -> (Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(simple_text))
        .routes(routes!(image))
        .routes(routes!(audio))
        .routes(routes!(error))
        .split_for_parts()
}

fn text(t: impl Into<String>) -> ToolOutput {
    ToolOutput::success(vec![Content::text(t)])
}

fn object_schema(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required})
}

async fn with_logging(_args: Map<String, Value>, cx: Context) -> ToolOutput {
    for (i, message) in [
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = cx.log(LogLevel::Info, Some("conformance"), json!(message)).await;
    }
    text("Tool with logging executed successfully")
}

async fn with_progress(_args: Map<String, Value>, cx: Context) -> ToolOutput {
    for step in [0.0, 50.0, 100.0] {
        let _ = cx
            .progress(step, Some(100.0), Some(&format!("Completed step {step}")))
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    text("Tool with progress executed successfully")
}

async fn sampling(args: Map<String, Value>, cx: Context) -> ToolOutput {
    let prompt = args.get("prompt").and_then(Value::as_str).unwrap_or("");
    let request =
        json!({"messages": [{"role": "user", "content": {"type": "text", "text": prompt}}], "maxTokens": 100});
    match cx.sample(request).await {
        Ok(result) => {
            let said = result["content"]["text"].as_str().unwrap_or("").to_owned();
            text(format!("LLM response: {said}"))
        }
        Err(e) => ToolOutput::error(format!("Sampling failed: {e}")),
    }
}

async fn elicit(cx: &Context, message: &str, schema: Value, label: &str) -> ToolOutput {
    match cx.elicit(json!({"message": message, "requestedSchema": schema})).await {
        Ok(result) => {
            let action = result["action"].as_str().unwrap_or("unknown");
            text(format!(
                "{label}: action={action}, content={}",
                result.get("content").unwrap_or(&Value::Null)
            ))
        }
        Err(e) => ToolOutput::error(format!("Elicitation failed: {e}")),
    }
}

async fn elicitation(args: Map<String, Value>, cx: Context) -> ToolOutput {
    let message = args
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("Please provide your information");
    let schema = object_schema(
        json!({"username": {"type": "string", "description": "User's response"},
               "email": {"type": "string", "description": "User's email address"}}),
        &["username", "email"],
    );
    elicit(&cx, message, schema, "User response").await
}

async fn elicitation_defaults(_args: Map<String, Value>, cx: Context) -> ToolOutput {
    let schema = object_schema(
        json!({
            "name": {"type": "string", "description": "User name", "default": "John Doe"},
            "age": {"type": "integer", "description": "User age", "default": 30},
            "score": {"type": "number", "description": "User score", "default": 95.5},
            "status": {"type": "string", "description": "User status", "enum": ["active", "inactive", "pending"], "default": "active"},
            "verified": {"type": "boolean", "description": "Verification status", "default": true}
        }),
        &[],
    );
    elicit(
        &cx,
        "Please review and update the form fields with defaults",
        schema,
        "Elicitation completed",
    )
    .await
}

async fn elicitation_enums(_args: Map<String, Value>, cx: Context) -> ToolOutput {
    let schema = object_schema(
        json!({
            "untitledSingle": {"type": "string", "description": "Choose an option", "enum": ["option1", "option2", "option3"]},
            "titledSingle": {"type": "string", "description": "Choose a titled option", "oneOf": [
                {"const": "value1", "title": "First Option"}, {"const": "value2", "title": "Second Option"}, {"const": "value3", "title": "Third Option"}]},
            "legacyEnum": {"type": "string", "description": "Choose a legacy option", "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"]},
            "untitledMulti": {"type": "array", "description": "Choose multiple options",
                "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
            "titledMulti": {"type": "array", "description": "Choose multiple titled options", "items": {"anyOf": [
                {"const": "value1", "title": "First Choice"}, {"const": "value2", "title": "Second Choice"}, {"const": "value3", "title": "Third Choice"}]}}
        }),
        &[],
    );
    elicit(
        &cx,
        "Please select options from the enum fields",
        schema,
        "Elicitation completed",
    )
    .await
}

/// The server and its document, for `test_trigger_tool_change`.
static SERVED: OnceLock<(McpServer, apimcp::OpenApiDocument)> = OnceLock::new();

/// Reloads the tool list, which tells sessions and listen streams that it changed.
async fn trigger_tool_change(_args: Map<String, Value>, _cx: Context) -> ToolOutput {
    match SERVED.get().map(|(server, document)| server.refresh(document)) {
        Some(Ok(_)) => text("Tool list reloaded"),
        Some(Err(e)) => ToolOutput::error(format!("Reload failed: {e}")),
        None => ToolOutput::error("The server is not running"),
    }
}

/// Samples whatever the client declared: a 2026-07-28 client without `sampling` gets -32021.
async fn missing_capability(_args: Map<String, Value>, cx: Context) -> ToolOutput {
    let request = json!({"messages": [{"role": "user", "content": {"type": "text", "text": "Hi"}}], "maxTokens": 10});
    match cx.sample(request).await {
        Ok(_) => text("Sampled"),
        Err(e) => ToolOutput::error(format!("Sampling failed: {e}")),
    }
}

fn ask_name(message: &str) -> InputRequest {
    let schema = object_schema(json!({"name": {"type": "string"}}), &["name"]);
    InputRequest::elicit(json!({"message": message, "requestedSchema": schema}))
}

fn ask_model(question: &str, max_tokens: u32) -> InputRequest {
    InputRequest::sample(json!({
        "messages": [{"role": "user", "content": {"type": "text", "text": question}}],
        "maxTokens": max_tokens
    }))
}

fn confirm() -> InputRequest {
    let schema = object_schema(json!({"ok": {"type": "boolean"}}), &["ok"]);
    InputRequest::elicit(json!({"message": "Please confirm", "requestedSchema": schema}))
}

/// What a tool answers when the client could not give what it asked.
fn failed(e: &ClientError) -> ToolOutput {
    ToolOutput::error(format!("The client could not answer: {e}"))
}

fn content_field(answer: &Value, field: &str) -> String {
    match &answer["content"][field] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn mrtr_elicitation(_args: Map<String, Value>, cx: Context) -> ToolOutput {
    match cx.input("user_name", ask_name("What is your name?")).await {
        Ok(answer) => text(format!("Hello, {}!", content_field(&answer, "name"))),
        Err(e) => failed(&e),
    }
}

async fn mrtr_sampling(_args: Map<String, Value>, cx: Context) -> ToolOutput {
    match cx
        .input("capital_question", ask_model("What is the capital of France?", 100))
        .await
    {
        Ok(answer) => text(format!(
            "The model said: {}",
            answer["content"]["text"].as_str().unwrap_or("")
        )),
        Err(e) => failed(&e),
    }
}

async fn mrtr_roots(_args: Map<String, Value>, cx: Context) -> ToolOutput {
    match cx.input("client_roots", InputRequest::list_roots()).await {
        Ok(answer) => text(format!("Roots: {}", answer["roots"])),
        Err(e) => failed(&e),
    }
}

/// Reaching the end at all means apimcp opened the sealed state it handed out.
async fn mrtr_request_state(_args: Map<String, Value>, cx: Context) -> ToolOutput {
    match cx.input("confirm", confirm()).await {
        Ok(answer) => text(format!("state-ok: confirmed={}", content_field(&answer, "ok"))),
        Err(e) => failed(&e),
    }
}

async fn mrtr_multiple(_args: Map<String, Value>, cx: Context) -> ToolOutput {
    let (name, greeting, roots) = tokio::join!(
        cx.input("user_name", ask_name("What is your name?")),
        cx.input("greeting", ask_model("Generate a greeting", 50)),
        cx.input("client_roots", InputRequest::list_roots()),
    );
    match (name, greeting, roots) {
        (Ok(name), Ok(greeting), Ok(roots)) => text(format!(
            "{} {}! ({} roots)",
            greeting["content"]["text"].as_str().unwrap_or(""),
            content_field(&name, "name"),
            roots["roots"].as_array().map_or(0, Vec::len)
        )),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => failed(&e),
    }
}

async fn mrtr_multi_round(_args: Map<String, Value>, cx: Context) -> ToolOutput {
    let name = match cx.input("step1", ask_name("Step 1: What is your name?")).await {
        Ok(answer) => content_field(&answer, "name"),
        Err(e) => return failed(&e),
    };
    let schema = object_schema(json!({"color": {"type": "string"}}), &["color"]);
    let color =
        InputRequest::elicit(json!({"message": "Step 2: What is your favorite color?", "requestedSchema": schema}));
    match cx.input("step2", color).await {
        Ok(answer) => text(format!("{name} likes {}", content_field(&answer, "color"))),
        Err(e) => failed(&e),
    }
}

/// Written as for a session: two questions to the user, then one to the model. A 2026-07-28
/// client gets them over three rounds; a session's client, as requests.
async fn elicit_twice_and_sample(_args: Map<String, Value>, cx: Context) -> ToolOutput {
    let schema = object_schema(json!({"name": {"type": "string"}}), &["name"]);
    let mut names = Vec::new();
    for message in ["Your first name?", "Your last name?"] {
        match cx.elicit(json!({"message": message, "requestedSchema": schema})).await {
            Ok(answer) => names.push(content_field(&answer, "name")),
            Err(e) => return failed(&e),
        }
    }
    let question = format!("Greet {} in French", names.join(" "));
    let request =
        json!({"messages": [{"role": "user", "content": {"type": "text", "text": question}}], "maxTokens": 20});
    match cx.sample(request).await {
        Ok(answer) => text(format!(
            "{}, {}",
            answer["content"]["text"].as_str().unwrap_or(""),
            names.join(" ")
        )),
        Err(e) => failed(&e),
    }
}

/// Asks only what the client declared it can answer.
async fn mrtr_capabilities(_args: Map<String, Value>, cx: Context) -> ToolOutput {
    let declared = cx.client_capabilities();
    let mut said = Vec::new();
    if declared.get("sampling").is_some() {
        match cx.input("model", ask_model("Say hello", 20)).await {
            Ok(answer) => said.push(answer["content"]["text"].as_str().unwrap_or("").to_owned()),
            Err(e) => return failed(&e),
        }
    }
    if declared.get("elicitation").is_some() {
        match cx.input("user_name", ask_name("What is your name?")).await {
            Ok(answer) => said.push(content_field(&answer, "name")),
            Err(e) => return failed(&e),
        }
    }
    text(format!("Asked only what was declared: {said:?}"))
}

/// The MCP server: the API's tools plus the custom fixtures.
pub fn server(api: Router, document: &utoipa::openapi::OpenApi) -> Result<McpServer, apimcp::server::BuildError> {
    let no_args = json!({"type": "object", "properties": {}});
    McpServer::builder()
        .utoipa(document)
        .in_process(api)
        .name("apimcp-conformance")
        .fast_path(!std::env::args().any(|a| a == "--no-fast-path"))
        .tool("test_embedded_resource", "Returns an embedded resource", no_args.clone(), |_, _| async {
            ToolOutput::success(vec![Content::resource(ResourceContents::text(
                "test://embedded-resource",
                "text/plain",
                "This is an embedded resource content.",
            ))])
        })
        .tool("test_multiple_content_types", "Returns text, an image and a resource", no_args.clone(), |_, _| async {
            ToolOutput::success(vec![
                Content::text("Multiple content types test:"),
                Content::image(PNG, "image/png"),
                Content::resource(ResourceContents::text(
                    "test://mixed-content-resource",
                    "application/json",
                    r#"{"test":"data","value":123}"#,
                )),
            ])
        })
        .tool("test_tool_with_logging", "Sends log messages while it runs", no_args.clone(), with_logging)
        .tool("test_logging_tool", "Sends log messages while it runs", no_args.clone(), with_logging)
        .tool("test_missing_capability", "Needs sampling", no_args.clone(), missing_capability)
        .tool("test_streaming_elicitation", "Asks the user mid-call", no_args.clone(), |_, cx| async move {
            elicit(&cx, "What is your name?", object_schema(json!({"name": {"type": "string"}}), &["name"]), "User response").await
        })
        .tool("test_elicit_twice_and_sample", "Asks the user twice, then the model", no_args.clone(), elicit_twice_and_sample)
        .tool("test_trigger_tool_change", "Reloads the tool list", no_args.clone(), trigger_tool_change)
        .tool("test_input_required_result_elicitation", "Asks a name over rounds", no_args.clone(), mrtr_elicitation)
        .tool("test_input_required_result_sampling", "Asks the model over rounds", no_args.clone(), mrtr_sampling)
        .tool("test_input_required_result_list_roots", "Asks for roots over rounds", no_args.clone(), mrtr_roots)
        .tool("test_input_required_result_request_state", "Checks its sealed state", no_args.clone(), mrtr_request_state)
        .tool("test_input_required_result_multiple_inputs", "Asks three things at once", no_args.clone(), mrtr_multiple)
        .tool("test_input_required_result_multi_round", "Asks twice, in turn", no_args.clone(), mrtr_multi_round)
        .tool("test_input_required_result_tampered_state", "Refuses altered state", no_args.clone(), mrtr_request_state)
        .tool("test_input_required_result_capabilities", "Asks what was declared", no_args.clone(), mrtr_capabilities)
        .tool("test_tool_with_progress", "Reports progress while it runs", no_args.clone(), with_progress)
        .tool(
            "test_sampling",
            "Asks the client's model",
            object_schema(json!({"prompt": {"type": "string", "description": "The prompt to send"}}), &["prompt"]),
            sampling,
        )
        .tool(
            "test_elicitation",
            "Asks the user",
            object_schema(json!({"message": {"type": "string", "description": "The message to show"}}), &["message"]),
            elicitation,
        )
        .tool("test_elicitation_sep1034_defaults", "Asks the user with defaults", no_args.clone(), elicitation_defaults)
        .tool("test_elicitation_sep1330_enums", "Asks the user with enums", no_args, elicitation_enums)
        .tool(
            "json_schema_2020_12_tool",
            "Tool with JSON Schema 2020-12 features",
            json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                "$defs": {"address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
                "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}}, "additionalProperties": false}),
            |args, _| async move { text(format!("Received: {}", Value::Object(args))) },
        )
        .resource(resource("test://static-text", "static-text", "text/plain"), |uri, _| async move {
            Ok(vec![ResourceContents::text(uri, "text/plain", "This is the content of the static text resource.")])
        })
        .resource(resource("test://static-binary", "static-binary", "image/png"), |uri, _| async move {
            Ok(vec![ResourceContents::blob(uri, "image/png", PNG)])
        })
        .resource(resource("test://watched-resource", "watched-resource", "text/plain"), |uri, _| async move {
            Ok(vec![ResourceContents::text(uri, "text/plain", "Watched resource content")])
        })
        .resource_template(
            ResourceTemplate {
                uri_template: "test://template/{id}/data".into(),
                name: "template".into(),
                description: Some("A resource template".into()),
                mime_type: Some("application/json".into()),
            },
            |uri, _| async move {
                let id = uri.trim_start_matches("test://template/").trim_end_matches("/data").to_owned();
                let body = json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
                Ok(vec![ResourceContents::text(uri, "application/json", body.to_string())])
            },
        )
        .prompt(prompt("test_simple_prompt", "A simple prompt", &[]), |_, _| async {
            Ok(user(vec![Content::text("This is a simple prompt for testing.")]))
        })
        .prompt(prompt("test_prompt_with_arguments", "A prompt with arguments", &["arg1", "arg2"]), |args, _| async move {
            let arg = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            Ok(user(vec![Content::text(format!("Prompt with arguments: arg1='{}', arg2='{}'", arg("arg1"), arg("arg2")))]))
        })
        .prompt(
            prompt("test_prompt_with_embedded_resource", "A prompt with an embedded resource", &["resourceUri"]),
            |args, _| async move {
                let uri = args.get("resourceUri").and_then(Value::as_str).unwrap_or("test://example").to_owned();
                Ok(user(vec![
                    Content::resource(ResourceContents::text(uri, "text/plain", "Embedded resource content for testing.")),
                    Content::text("Please process the embedded resource above."),
                ]))
            },
        )
        .prompt(prompt("test_input_required_result_prompt", "A prompt that asks the user first", &[]), |_, cx| async move {
            let schema = object_schema(json!({"context": {"type": "string"}}), &["context"]);
            let question = InputRequest::elicit(json!({"message": "What context should the prompt use?", "requestedSchema": schema}));
            let answer = cx
                .input("user_context", question)
                .await
                .map_err(|e| apimcp::server::HandlerError::failed(e.to_string()))?;
            Ok(user(vec![Content::text(format!("Use this context: {}", content_field(&answer, "context")))]))
        })
        .prompt(prompt("test_prompt_with_image", "A prompt with an image", &[]), |_, _| async {
            Ok(user(vec![Content::image(PNG, "image/png"), Content::text("Please analyze the image above.")]))
        })
        .completion(|request: CompletionRequest| async move {
            ["paris", "park", "party", "value1", "value2"]
                .into_iter()
                .filter(|v| v.starts_with(&request.value))
                .map(str::to_owned)
                .collect()
        })
        .build()
}

fn resource(uri: &str, name: &str, mime: &str) -> Resource {
    Resource {
        uri: uri.into(),
        name: name.into(),
        description: Some(format!("The {name} fixture")),
        mime_type: Some(mime.into()),
    }
}

fn prompt(name: &str, description: &str, required: &[&str]) -> Prompt {
    Prompt {
        name: name.into(),
        description: Some(description.into()),
        arguments: required
            .iter()
            .map(|a| PromptArgument {
                name: (*a).into(),
                description: Some(format!("The {a} argument")),
                required: true,
            })
            .collect(),
    }
}

/// Every message from the user, one per content block.
fn user(contents: Vec<Content>) -> PromptResult {
    PromptResult {
        description: None,
        messages: contents
            .into_iter()
            .map(|content| PromptMessage {
                role: Role::User,
                content,
            })
            .collect(),
    }
}

/// The whole app: REST endpoints and MCP at `/mcp`.
pub fn app() -> Result<Router, apimcp::server::BuildError> {
    let (api, document) = api();
    let mcp = server(api.clone(), &document)?;
    if let Ok(document) = apimcp::OpenApiDocument::from_value(serde_json::to_value(&document).unwrap_or_default()) {
        let _ = SERVED.set((mcp.clone(), document));
    }
    Ok(mcp.mount_http(api, "/mcp"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listen = std::env::args()
        .skip_while(|a| a != "--listen")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3001".into());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!("conformance server: MCP at http://{}/mcp", listener.local_addr()?);
    apimcp::serve(listener, app()?).await?;
    Ok(())
}
