//! The MCP server's core: the tool set being served, the call pipeline the fast path and
//! rmcp's path share, the builder, and what users add by hand. No HTTP routing and no rmcp here:
//! the transports (`transport`) and the rmcp adapter sit above and call into this.

mod builder;
mod call;
mod dispatch;
mod extend;
mod guard;
mod peers;
mod registry;

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;

use crate::auth::{Auth, Principal};
use crate::openapi::{ConvertOptions, OpenApiDocument, Report, convert};

pub use builder::{
    BuildError, DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE, DEFAULT_TIMEOUT, ExtensionError, McpServerBuilder,
    ServerOptions,
};
use call::check_names;
pub(crate) use dispatch::Dispatcher;
pub use dispatch::RESPONSE_LIMIT;
pub use extend::{
    BoxFuture, ClientError, CompletionRequest, Context, LogLevel, Prompt, PromptArgument, PromptMessage, PromptResult,
    Resource, ResourceTemplate, Role,
};
pub(crate) use extend::{ClientChannel, Extensions};
pub use guard::HostGuard;
pub(crate) use registry::{PerToolSet, ToolSet};

/// An MCP server whose tools are an HTTP API's operations. Cheap to clone.
///
/// Build one with [`McpServer::builder`], put it on a router with `mount_http` (Streamable
/// HTTP) or `mount_sse` (legacy SSE), or serve it on stdio with `serve_stdio`.
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

struct Inner {
    options: ServerOptions,
    convert: ConvertOptions,
    tools: ArcSwap<ToolSet>,
    dispatcher: ArcSwap<Dispatcher>,
    extensions: Extensions,
    auth: Option<Arc<Auth>>,
    listed: PerToolSet<bytes::Bytes>,
    peers: std::sync::Mutex<Vec<Arc<dyn ClientChannel>>>,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("name", &self.inner.options.name)
            .field("tools", &self.inner.tools.load().len())
            .finish()
    }
}

impl McpServer {
    fn new(
        options: ServerOptions,
        convert: ConvertOptions,
        tools: ToolSet,
        dispatcher: Dispatcher,
        extensions: Extensions,
        auth: Option<Arc<Auth>>,
    ) -> Self {
        let inner = Inner {
            options,
            convert,
            tools: ArcSwap::from_pointee(tools),
            dispatcher: ArcSwap::from_pointee(dispatcher),
            extensions,
            auth,
            listed: PerToolSet::default(),
            peers: std::sync::Mutex::default(),
            shutdown: CancellationToken::new(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// The server's settings.
    pub fn options(&self) -> &ServerOptions {
        &self.inner.options
    }

    /// The tools being served now.
    pub(crate) fn tools(&self) -> Arc<ToolSet> {
        self.inner.tools.load_full()
    }

    /// What the last conversion reported.
    pub fn report(&self) -> Report {
        self.inner.tools.load().report.clone()
    }

    /// The number of tools served.
    pub fn tool_count(&self) -> usize {
        self.inner.tools.load().len()
    }

    /// Re-converts from `document` and swaps the tool set atomically (FastAPI-MCP's
    /// `setup_server()`, after routes changed). Calls in flight finish on the old set.
    /// Connected sessions are told with `notifications/tools/list_changed`.
    pub fn refresh(&self, document: &OpenApiDocument) -> Result<Report, BuildError> {
        let conversion = convert(document, &self.inner.convert)?;
        let set = ToolSet::new(conversion);
        check_names(&set, &self.inner.extensions)?;
        let report = set.report.clone();
        self.inner.tools.store(Arc::new(set));
        self.notify_tools_changed();
        Ok(report)
    }

    /// [`refresh`](Self::refresh), and calls go to `service` from now on: an axum `Router` is
    /// immutable, so new routes come as a new router.
    pub fn refresh_with_service<S>(&self, document: &OpenApiDocument, service: S) -> Result<Report, BuildError>
    where
        S: tower::Service<http::Request<axum::body::Body>, Error = std::convert::Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.inner.dispatcher.store(Arc::new(Dispatcher::in_process(service)));
        self.refresh(document)
    }

    /// `{"tools": [...]}` as JSON, built once per tool set.
    pub(crate) fn tools_list_json(&self) -> bytes::Bytes {
        let set = self.tools();
        self.inner.listed.get(&set, || {
            serde_json::json!({ "tools": self.definitions_of(&set) })
                .to_string()
                .into()
        })
    }

    /// The authorization runtime, when auth is on.
    pub(crate) fn auth(&self) -> Option<&Arc<Auth>> {
        self.inner.auth.as_ref()
    }

    /// Whether `tools/list` shows each token only the tools it may call.
    pub(crate) fn filters_tools(&self) -> bool {
        self.auth().is_some_and(|a| a.filters_tools())
    }

    /// The scopes the OpenAPI document says `tool` needs.
    pub(crate) fn document_scopes(&self, tool: &str) -> Vec<Vec<String>> {
        self.tools()
            .get(tool)
            .map(|t| t.converted.required_scopes.clone())
            .unwrap_or_default()
    }

    /// Whether `principal` may call `tool` (always, without auth).
    pub(crate) fn tool_allowed(&self, tool: &str, principal: Option<&Principal>) -> bool {
        self.auth()
            .is_none_or(|auth| auth.allows(tool, &self.document_scopes(tool), principal))
    }

    /// What was added by hand.
    pub(crate) fn extensions(&self) -> &Extensions {
        &self.inner.extensions
    }

    /// Every tool definition: derived ones, then custom ones.
    pub fn tool_definitions(&self) -> Vec<crate::tool::Tool> {
        self.definitions_of(&self.tools())
    }

    /// The definitions with the derived tools of `set`.
    pub(crate) fn definitions_of(&self, set: &ToolSet) -> Vec<crate::tool::Tool> {
        set.iter()
            .map(|t| t.converted.tool.clone())
            .chain(self.inner.extensions.tools.iter().map(|t| t.tool.clone()))
            .collect()
    }

    /// Ends the sessions and streams of every mounted endpoint.
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
    }

    /// Cancelled by [`shutdown`](Self::shutdown): what every session and stream listens to.
    pub(crate) fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.child_token()
    }
}
