//! The one module that speaks rmcp. Everything else uses apimcp's own types; a breaking rmcp
//! release changes this file only.
//!
//! Tools and results cross the boundary as MCP JSON (our types serialise to exactly what the
//! protocol sends, and rmcp's deserialise from it), so no rmcp type leaks out.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::channel::mpsc;
use futures::stream::BoxStream;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientJsonRpcMessage, ErrorData,
    GetExtensions, Implementation, JsonRpcError, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig, ServerJsonRpcMessage, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{RoleServer, ServerHandler, ServiceExt};
use tokio_util::sync::CancellationToken;

use crate::call::ToolOutput;
use crate::server::{McpServer, ToolSet};

/// The tool list in rmcp's types, built once per tool set.
#[derive(Default)]
struct ListCache {
    built: Mutex<Option<(usize, Arc<Vec<Tool>>)>>,
}

impl ListCache {
    fn tools(&self, set: &Arc<ToolSet>) -> Arc<Vec<Tool>> {
        let key = Arc::as_ptr(set) as usize;
        let mut built = self
            .built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((k, tools)) = built.as_ref()
            && *k == key
        {
            return tools.clone();
        }
        let tools: Arc<Vec<Tool>> = Arc::new(
            set.iter()
                .filter_map(|t| to_rmcp_tool(&t.converted.tool))
                .collect(),
        );
        *built = Some((key, tools.clone()));
        tools
    }
}

fn to_rmcp_tool(tool: &crate::tool::Tool) -> Option<Tool> {
    let json = serde_json::to_value(tool).ok()?;
    match serde_json::from_value(json) {
        Ok(tool) => Some(tool),
        Err(e) => {
            tracing::error!(tool = %tool.name, error = %e, "tool definition rejected by the MCP layer");
            None
        }
    }
}

fn to_rmcp_result(output: &ToolOutput) -> CallToolResult {
    serde_json::from_value(output.to_json()).unwrap_or_else(|e| {
        let text = format!("the result could not be encoded: {e}");
        serde_json::from_value(ToolOutput::error(text).to_json()).unwrap_or_default()
    })
}

/// The rmcp handler: a view of the [`McpServer`].
#[derive(Clone)]
pub(crate) struct Handler {
    server: McpServer,
    cache: Arc<ListCache>,
}

impl Handler {
    pub(crate) fn new(server: McpServer) -> Self {
        Self {
            server,
            cache: Arc::default(),
        }
    }
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        let options = self.server.options();
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .build();
        let mut config = ServerConfig::new(capabilities).with_server_info(Implementation::new(
            options.name.clone(),
            options.version.clone(),
        ));
        if let Some(instructions) = &options.instructions {
            config = config.with_instructions(instructions.clone());
        }
        config
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = self.cache.tools(&self.server.tools());
        Ok(ListToolsResult::with_all_items(tools.as_ref().clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        let tools = self.cache.tools(&self.server.tools());
        tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let headers = context
            .extensions
            .get::<http::request::Parts>()
            .map(|p| &p.headers);
        let output = self
            .server
            .call_tool(&request.name, request.arguments, headers)
            .await
            .ok_or_else(|| {
                ErrorData::invalid_params(format!("Unknown tool: {}", request.name), None)
            })?;
        Ok(to_rmcp_result(&output).into())
    }
}

/// The Streamable HTTP endpoint for `server`, as a tower service.
pub(crate) fn streamable_http(
    server: &McpServer,
    cancel: CancellationToken,
) -> StreamableHttpService<Handler, LocalSessionManager> {
    let options = server.options();
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(options.session_idle);
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_legacy_session_mode(!options.stateless)
        .with_json_response(options.stateless)
        .with_cancellation_token(cancel);
    let handler = Handler::new(server.clone());
    StreamableHttpService::new(move || Ok(handler.clone()), Arc::new(sessions), config)
}

/// Serves `server` over stdin and stdout until the client closes them.
pub(crate) async fn serve_stdio(server: McpServer) -> std::io::Result<()> {
    let running = Handler::new(server)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(std::io::Error::other)?;
    running.waiting().await.map_err(std::io::Error::other)?;
    Ok(())
}

/// A client message for a hand-written transport (legacy SSE), already parsed.
pub(crate) struct ClientMessage(ClientJsonRpcMessage);

/// Parses a JSON-RPC message from the client and attaches the HTTP request parts, as the
/// Streamable HTTP transport does, so tool calls see the request's headers. The error is the
/// JSON-RPC parse error to send back.
pub(crate) fn parse_client_message(
    body: &[u8],
    parts: http::request::Parts,
) -> Result<ClientMessage, String> {
    let mut message: ClientJsonRpcMessage = serde_json::from_slice(body).map_err(|e| {
        let error = ServerJsonRpcMessage::Error(JsonRpcError::new(
            None,
            ErrorData::parse_error(format!("Parse error: {e}"), None),
        ));
        serde_json::to_string(&error).unwrap_or_default()
    })?;
    match &mut message {
        ClientJsonRpcMessage::Request(r) => {
            r.request.extensions_mut().insert(parts);
        }
        ClientJsonRpcMessage::Notification(n) => {
            n.notification.extensions_mut().insert(parts);
        }
        _ => {}
    }
    Ok(ClientMessage(message))
}

/// A running session over a pair of channels: messages go in through `inbox`, serialised
/// server messages come out of `outbox`. The session ends when `inbox` is dropped.
pub(crate) struct ChannelSession {
    pub(crate) inbox: mpsc::Sender<ClientMessage>,
    pub(crate) outbox: BoxStream<'static, String>,
}

/// Starts a session of `server` over channels (the legacy SSE transport runs on this).
pub(crate) fn channel_session(server: McpServer, cancel: CancellationToken) -> ChannelSession {
    let (inbox, from_client) = mpsc::channel::<ClientMessage>(64);
    let (to_client, outbox) = mpsc::channel::<ServerJsonRpcMessage>(64);
    let from_client = from_client.map(|m| m.0);
    tokio::spawn(async move {
        let serving = Handler::new(server)
            .serve_with_ct((to_client, from_client), cancel)
            .await;
        match serving {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(e) => tracing::debug!(error = %e, "legacy SSE session ended before initialize"),
        }
    });
    let outbox = outbox
        .map(|m| serde_json::to_string(&m).unwrap_or_default())
        .boxed();
    ChannelSession { inbox, outbox }
}
