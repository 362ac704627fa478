//! The one module that speaks rmcp. Everything else uses apimcp's own types; a breaking rmcp
//! release changes this folder only.
//!
//! Tools and results cross the boundary as MCP JSON (our types serialise to exactly what the
//! protocol sends, and rmcp's deserialise from it), so no rmcp type leaks out.

// rmcp 3 marks logging, sampling and resource subscriptions deprecated (SEP-2577: gone from
// 2026-07-28); clients of 2024-11-05 to 2025-11-25 still use them.
#![allow(deprecated)]

mod listen;
mod peer;
mod rounds;
mod sessions;
mod transport;

use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult, DiscoverResult,
    ErrorData, GetPromptRequestParams, GetPromptResponse, GetPromptResult, Implementation, InitializeRequestParams,
    InitializeResult, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, ServerCapabilities,
    ServerConfig, ServerResult, SetLevelRequestParams, SubscribeRequestParams, SubscriptionFilter, Tool,
    UnsubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{RoleServer, ServerHandler};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::call::ToolOutput;
use crate::server::{CompletionRequest, Context, HandlerError, Listed, LogLevel, McpServer};
use crate::telemetry::{Answer, RequestTrace, ServerRequest, Target, TraceCarrier};
use peer::PeerChannel;
use rounds::{Echoed, Outcome};

pub(crate) use transport::{
    ClientMessage, HttpEndpoint, channel_session, known_protocol_versions, parse_client_message, serve_stdio,
    streamable_http,
};

/// A `tools/list` result: one page, and the cursor of the next.
fn tools_page(tools: Vec<Tool>, next: Option<String>) -> ListToolsResult {
    let mut result = ListToolsResult::with_all_items(tools);
    result.next_cursor = next;
    result
}

/// What rmcp's path writes in a `tools/list` page and a `tools/call` result besides the
/// tools, the cursor and the tool's own output, for a client of 2026-07-28 on (`modern`) or
/// of an older revision: JSON members, each followed by a comma, that the fast path writes
/// first, so both paths answer alike.
pub(crate) struct ResultMembers {
    /// Before `"tools"` (`resultType`, `ttlMs`, `cacheScope` from 2026-07-28).
    pub(crate) list: String,
    /// Before the tool's output (`resultType` from 2026-07-28).
    pub(crate) call: String,
}

impl ResultMembers {
    pub(crate) fn new(modern: bool) -> Self {
        let list = shaped(ServerResult::ListToolsResult(tools_page(Vec::new(), None)), modern);
        let output = ToolOutput::error(String::new());
        let own = output.to_json();
        let call = shaped(CallToolResponse::from(to_rmcp_result(&output)).into(), modern);
        let call = call.into_iter().filter(|(k, _)| own.get(k).is_none()).collect();
        Self {
            list: members(list.into_iter().filter(|(k, _)| k != "tools").collect()),
            call: members(call),
        }
    }
}

/// `result` as rmcp's handler sends it to a client of the era, as a JSON object.
fn shaped(mut result: ServerResult, modern: bool) -> serde_json::Map<String, Value> {
    if modern {
        result.fill_missing_cache_hints();
    } else {
        result.strip_result_type_for_legacy_peer();
    }
    match serde_json::to_value(result) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

/// `"a":1,"b":2,` from the members of an object.
fn members(map: serde_json::Map<String, Value>) -> String {
    map.iter()
        .map(|(k, v)| format!("{}:{v},", Value::String(k.clone())))
        .collect()
}

/// Whether rmcp reads `raw` as client capabilities (a 2026-07-28 request's `_meta` must carry
/// them).
pub(crate) fn readable_capabilities(raw: &str) -> bool {
    serde_json::from_str::<rmcp::model::ClientCapabilities>(raw).is_ok()
}

/// A listed tool in rmcp's types, read from its JSON text when a page is sent (a big API's
/// whole list kept in rmcp's types would hold every schema again as `Value`s).
fn to_rmcp_tool(tool: &Listed) -> Option<Tool> {
    match serde_json::from_slice(&tool.json) {
        Ok(parsed) => Some(parsed),
        Err(e) => {
            tracing::error!(tool = %tool.name, error = %e, "tool definition rejected by the MCP layer");
            None
        }
    }
}

fn to_rmcp_result(output: &ToolOutput) -> CallToolResult {
    from_result_json(output.to_json()).unwrap_or_else(|e| {
        let text = format!("the result could not be encoded: {e}");
        serde_json::from_value(ToolOutput::error(text).to_json()).unwrap_or_default()
    })
}

/// The rmcp handler: a view of the [`McpServer`]. One per session (its log level is the
/// session's own).
#[derive(Clone)]
pub(crate) struct Handler {
    server: McpServer,
    /// The session's log level (`logging/setLevel`); `None`: no log messages.
    level: Arc<Mutex<Option<LogLevel>>>,
    /// The resources the session subscribed to.
    subscriptions: peer::Subscriptions,
}

/// Resources one session may subscribe to at once: each costs a string of the session's.
const MAX_SUBSCRIPTIONS: usize = 256;

impl Handler {
    pub(crate) fn new(server: McpServer) -> Self {
        Self {
            server,
            level: Arc::new(Mutex::new(Some(LogLevel::Debug))),
            subscriptions: Arc::default(),
        }
    }

    /// A copy for a new session: its own log level and subscriptions.
    fn for_session(&self) -> Self {
        Self {
            server: self.server.clone(),
            level: Arc::new(Mutex::new(Some(LogLevel::Debug))),
            subscriptions: Arc::default(),
        }
    }

    /// A copy for a woken session, with what the session kept: its log level and subscriptions.
    fn woken(&self, level: Arc<Mutex<Option<LogLevel>>>, subscriptions: peer::Subscriptions) -> Self {
        Self {
            server: self.server.clone(),
            level,
            subscriptions,
        }
    }

    fn context(&self, context: &RequestContext<RoleServer>) -> Context {
        let parts = context.extensions.get::<http::request::Parts>();
        let headers = parts.map(|p| p.headers.clone());
        let principal = parts
            .and_then(|p| p.extensions.get::<crate::auth::Principal>())
            .cloned();
        let progress_token = context
            .meta
            .get_progress_token()
            .and_then(|t| serde_json::to_value(t).ok());
        let capabilities = context
            .client_capabilities()
            .and_then(|c| serde_json::to_value(c).ok())
            .unwrap_or(Value::Null);
        let channel = PeerChannel {
            peer: context.peer.clone(),
            capabilities,
            level: self.level_for(context),
            subscriptions: self.subscriptions.clone(),
        };
        // Only a span reads it: no allocation for it otherwise.
        let trace = if crate::telemetry::traces_enabled() {
            request_trace(context)
        } else {
            RequestTrace::default()
        };
        Context {
            channel: Some(Arc::new(channel)),
            headers,
            progress_token,
            principal,
            rounds: None,
            trace,
        }
    }

    /// A `tools/list` page, of the tools the caller may see.
    async fn list_page(
        &self,
        request: Option<PaginatedRequestParams>,
        context: &RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let pages = self.server.tool_pages_of(&self.server.tools());
        let cursor = request.as_ref().and_then(|r| r.cursor.as_deref());
        let page = if self.server.filters_tools() {
            let principal = self.context(context).principal;
            let allowed = |i: usize| {
                pages
                    .tool(i)
                    .is_some_and(|t| self.server.tool_allowed(&t.name, principal.as_ref()))
            };
            pages.filtered(cursor, allowed)
        } else {
            pages.page(cursor).map(|p| (p.tools.collect(), p.next))
        };
        let (indices, next) = page.map_err(|e| ErrorData::invalid_params(e.to_string(), None))?;
        let listed = indices
            .into_iter()
            .filter_map(|i| pages.tool(i).and_then(to_rmcp_tool))
            .collect();
        Ok(tools_page(listed, next))
    }

    /// Runs `work`, the answer to a `method` request, in the request's server span, and ends
    /// the span with the answer's JSON-RPC error code, if any. (`tools/call` is traced by the
    /// tool pipeline, which every transport's calls pass through and which sees tool errors.)
    async fn traced<T>(
        &self,
        method: &'static str,
        target: Target<'_>,
        context: &RequestContext<RoleServer>,
        work: impl Future<Output = Result<T, ErrorData>>,
    ) -> Result<T, ErrorData> {
        let headers = context.extensions.get::<http::request::Parts>().map(|p| &p.headers);
        let traced = ServerRequest::start(method, target, headers, || request_trace(context));
        let result = traced.run(work).await;
        let answer = match &result {
            Ok(_) => Answer::Ok,
            Err(error) => Answer::Error(error.code.0),
        };
        traced.finish(target, answer);
        result
    }

    /// The log level of a request: a 2026-07-28 request's own (`_meta` `logLevel`; none: no
    /// log messages), else the session's.
    fn level_for(&self, context: &RequestContext<RoleServer>) -> Arc<Mutex<Option<LogLevel>>> {
        if !rounds::is_stateless_era(context) {
            return self.level.clone();
        }
        let level = context
            .meta
            .log_level()
            .and_then(|l| serde_json::from_value(json!(l)).ok());
        Arc::new(Mutex::new(level))
    }
}

/// What a request's span records besides its headers: its id, the revision it speaks and the
/// trace context of its `_meta`.
fn request_trace(context: &RequestContext<RoleServer>) -> RequestTrace {
    RequestTrace {
        id: Some(context.id.to_string()),
        protocol_version: context.protocol_version().map(|v| v.as_str().to_owned()),
        carrier: TraceCarrier::from_fields(|name| context.meta.0.get(name)?.as_str()),
    }
}

fn from_json<T: serde::de::DeserializeOwned>(value: impl serde::Serialize) -> Result<T, ErrorData> {
    let json = serde_json::to_value(value).map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    from_result_json(json).map_err(|e| ErrorData::internal_error(e.to_string(), None))
}

/// The error for an unknown resource, naming it in `data` as SEP-2164 asks.
/// A resource or prompt handler's refusal as the JSON-RPC error of its kind.
fn handler_error(error: HandlerError) -> ErrorData {
    match error {
        HandlerError::NotFound { uri } => resource_not_found(&uri),
        HandlerError::InvalidParams { message } => ErrorData::invalid_params(message, None),
        other => ErrorData::internal_error(other.to_string(), None),
    }
}

fn resource_not_found(uri: &str) -> ErrorData {
    ErrorData::resource_not_found(format!("Resource not found: {uri}"), Some(json!({ "uri": uri })))
}

/// A result from its MCP JSON, marked complete as rmcp's own constructors do (rmcp sends
/// `resultType` to 2026-07-28 clients and strips it for older ones).
fn from_result_json<T: serde::de::DeserializeOwned>(mut json: Value) -> Result<T, serde_json::Error> {
    if let Value::Object(map) = &mut json {
        map.entry("resultType").or_insert_with(|| json!("complete"));
    }
    serde_json::from_value(json)
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        let options = self.server.options();
        let extensions = self.server.extensions();
        let mut capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_logging()
            .build();
        if extensions.has_resources() {
            capabilities.resources = serde_json::from_value(json!({"subscribe": true, "listChanged": false})).ok();
        }
        if !extensions.prompts.is_empty() {
            capabilities.prompts = serde_json::from_value(json!({"listChanged": false})).ok();
        }
        if extensions.completer.is_some() {
            capabilities.completions = serde_json::from_value(json!({})).ok();
        }
        let mut config = ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(options.name.clone(), options.version.clone()));
        if let Some(instructions) = self.server.instructions() {
            config = config.with_instructions(instructions);
        }
        config
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        self.traced("initialize", Target::None, &context, async {
            context.peer.set_peer_info(request.clone());
            self.negotiate_initialize(&request)
        })
        .await
    }

    async fn ping(&self, context: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        self.traced("ping", Target::None, &context, async { Ok(()) }).await
    }

    async fn discover(&self, context: RequestContext<RoleServer>) -> Result<DiscoverResult, ErrorData> {
        self.traced("server/discover", Target::None, &context, async {
            Ok(DiscoverResult::from_server_info(
                self.supported_protocol_versions().into_owned(),
                self.get_info(),
            ))
        })
        .await
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let channel = PeerChannel {
            peer: context.peer,
            capabilities: Value::Null,
            level: self.level.clone(),
            subscriptions: self.subscriptions.clone(),
        };
        self.server.register_peer(Arc::new(channel));
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.traced("tools/list", Target::None, &context, self.list_page(request, &context))
            .await
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        let pages = self.server.tool_pages_of(&self.server.tools());
        pages.named(name).and_then(to_rmcp_tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let cx = self.context(&context);
        let echoed = Echoed {
            method: "tools/call",
            target: request.name.to_string(),
            arguments: json!(request.arguments),
            responses: request.input_responses,
            state: request.request_state,
        };
        let server = &self.server;
        let arguments = request.arguments;
        let outcome = rounds::run(server, &context, cx, echoed, |cx| {
            server.call_tool(&request.name, arguments, cx)
        })
        .await?;
        match outcome {
            Outcome::InputRequired(result) => Ok(result.into()),
            Outcome::Done(output) => {
                let output =
                    output.ok_or_else(|| ErrorData::invalid_params(format!("Unknown tool: {}", request.name), None))?;
                Ok(to_rmcp_result(&output).into())
            }
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        self.traced("resources/list", Target::None, &context, async {
            let resources: Vec<_> = self.server.extensions().resources.iter().map(|(r, _)| r).collect();
            Ok(ListResourcesResult::with_all_items(from_json(resources)?))
        })
        .await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        self.traced("resources/templates/list", Target::None, &context, async {
            let templates: Vec<_> = self.server.extensions().templates.iter().map(|(t, _)| t).collect();
            Ok(ListResourceTemplatesResult::with_all_items(from_json(templates)?))
        })
        .await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.clone();
        self.traced("resources/read", Target::Resource(&uri), &context, async {
            let Some(handler) = self.server.extensions().resource_handler(&request.uri) else {
                return Err(resource_not_found(&request.uri));
            };
            let echoed = Echoed {
                method: "resources/read",
                target: request.uri.clone(),
                arguments: Value::Null,
                responses: request.input_responses,
                state: request.request_state,
            };
            let uri = request.uri;
            let outcome = rounds::run(&self.server, &context, self.context(&context), echoed, |cx| {
                handler(uri, cx)
            })
            .await?;
            let contents = match outcome {
                Outcome::InputRequired(result) => return Ok(result.into()),
                Outcome::Done(contents) => contents.map_err(handler_error)?,
            };
            let result: ReadResourceResult = from_json(json!({ "contents": contents }))?;
            Ok(result.into())
        })
        .await
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let uri = request.uri.clone();
        self.traced("resources/subscribe", Target::Resource(&uri), &context, async {
            if self.server.extensions().resource_handler(&request.uri).is_none() {
                return Err(resource_not_found(&request.uri));
            }
            let mut subscribed = self
                .subscriptions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if subscribed.len() >= MAX_SUBSCRIPTIONS && !subscribed.contains(&request.uri) {
                return Err(ErrorData::invalid_params(
                    format!(
                        "a session may subscribe to at most {MAX_SUBSCRIPTIONS} resources: unsubscribe from one first"
                    ),
                    None,
                ));
            }
            subscribed.insert(request.uri.clone());
            Ok(())
        })
        .await
    }

    /// Every category is accepted; rmcp keeps those the client asked for and the server
    /// advertises (tool list changes; resource list changes and updates when there are
    /// resources).
    fn accepted_subscription_filter(&self, requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }

    /// The stream is told of changes, like a session, until the client closes it.
    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let closed = CancellationToken::new();
        let channel = listen::ListenChannel {
            sink: context.sink().clone(),
            closed: closed.clone(),
        };
        self.server.register_peer(Arc::new(channel));
        let _closed = closed.drop_guard();
        context.cancelled().await;
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let uri = request.uri.clone();
        self.traced("resources/unsubscribe", Target::Resource(&uri), &context, async {
            self.subscriptions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&request.uri);
            Ok(())
        })
        .await
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        self.traced("prompts/list", Target::None, &context, async {
            let prompts: Vec<_> = self.server.extensions().prompts.iter().map(|(p, _)| p).collect();
            Ok(ListPromptsResult::with_all_items(from_json(prompts)?))
        })
        .await
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let name = request.name.clone();
        self.traced("prompts/get", Target::Prompt(&name), &context, async {
            let Some((prompt, handler)) = self.server.extensions().prompt(&request.name) else {
                return Err(ErrorData::invalid_params(
                    format!("Unknown prompt: {}", request.name),
                    None,
                ));
            };
            let arguments = request.arguments.unwrap_or_default();
            if let Some(missing) = prompt
                .arguments
                .iter()
                .find(|a| a.required && !arguments.contains_key(&a.name))
            {
                return Err(ErrorData::invalid_params(
                    format!("Missing required argument: {}", missing.name),
                    None,
                ));
            }
            let echoed = Echoed {
                method: "prompts/get",
                target: request.name.clone(),
                arguments: json!(arguments),
                responses: request.input_responses,
                state: request.request_state,
            };
            let outcome = rounds::run(&self.server, &context, self.context(&context), echoed, |cx| {
                handler(arguments, cx)
            })
            .await?;
            let result = match outcome {
                Outcome::InputRequired(result) => return Ok(result.into()),
                Outcome::Done(result) => result.map_err(handler_error)?,
            };
            let result: GetPromptResult = from_json(result)?;
            Ok(result.into())
        })
        .await
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        self.traced("completion/complete", Target::None, &context, async {
            let Some(completer) = &self.server.extensions().completer else {
                return Err(ErrorData::invalid_request("completions are not supported", None));
            };
            let reference = request
                .r#ref
                .as_prompt_name()
                .or(request.r#ref.as_resource_uri())
                .unwrap_or_default()
                .to_owned();
            let values = completer(CompletionRequest {
                reference,
                argument: request.argument.name.clone(),
                value: request.argument.value.clone(),
            })
            .await;
            let total = values.len();
            let shown: Vec<String> = values.into_iter().take(100).collect();
            from_json(json!({"completion": {"values": shown, "total": total, "hasMore": total > 100}}))
        })
        .await
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.traced("logging/setLevel", Target::None, &context, async {
            let level: LogLevel = serde_json::from_value(json!(request.level))
                .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?;
            *self.level.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(level);
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool::{ToolAnnotations, ToolName};

    #[test]
    fn custom_tool_definitions_cross_into_rmcp() {
        let tool = crate::tool::Tool {
            name: ToolName::new("t").expect("valid"),
            title: None,
            description: "d".into(),
            input_schema: serde_json::from_value(json!({"type": "object", "properties": {}})).expect("object"),
            output_schema: None,
            annotations: ToolAnnotations::default(),
        };
        let json = serde_json::to_value(&tool).expect("json");
        let back: Result<Tool, _> = serde_json::from_value(json.clone());
        assert!(back.is_ok(), "{json}: {:?}", back.err());
    }
}
