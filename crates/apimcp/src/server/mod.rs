//! The MCP server: tools from an OpenAPI document, calls dispatched in-process or to a remote
//! API, mounted on an axum router over Streamable HTTP and legacy SSE, or served on stdio.

mod dispatch;
mod extend;
mod fast;
mod guard;
mod mount;
mod registry;
mod sse;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use http::{HeaderMap, HeaderName};
use serde_json::{Map, Value};

use crate::call::{ToolOutput, build_request, response_output};
use crate::openapi::{ConvertError, ConvertOptions, OpenApiDocument, Report, convert};

pub(crate) use dispatch::Dispatcher;
pub use dispatch::RESPONSE_LIMIT;
pub use extend::{
    BoxFuture, ClientError, CompletionRequest, Context, LogLevel, Prompt, PromptArgument, PromptMessage, PromptResult,
    Resource, ResourceTemplate, Role,
};
pub(crate) use extend::{ClientChannel, Extensions};
pub use guard::HostGuard;
pub use mount::serve;
pub(crate) use registry::{PerToolSet, ServedTool, ToolSet};

/// How long a tool call may take by default (FastAPI-MCP's is 10 s too).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle stateful session lives by default.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(30 * 60);

/// Why a server could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No OpenAPI document was given.
    #[error("no OpenAPI document: call .openapi(...) on the builder")]
    NoDocument,
    /// No dispatcher was given.
    #[error("no API to call: call .in_process(router) or .remote(url) on the builder")]
    NoDispatcher,
    /// The document could not be read.
    #[error(transparent)]
    Document(#[from] crate::openapi::DocumentError),
    /// The conversion failed.
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The authorization settings are incomplete or contradict each other.
    #[error("auth: {0}")]
    Auth(String),
    /// A forwarded header name is not a header name.
    #[error("{0:?} is not a valid header name")]
    HeaderName(String),
    /// A custom tool, resource or prompt is malformed.
    #[error("{0}")]
    Extension(String),
    /// A custom tool has the name of a derived tool.
    #[error("the custom tool {0} has the same name as a tool from the OpenAPI document")]
    DuplicateTool(String),
}

/// Settings of an [`McpServer`] beyond its tools.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// The server name clients show.
    pub name: String,
    /// The server version (the API's `info.version`, never its description).
    pub version: String,
    /// Instructions for the model, sent in `initialize`.
    pub instructions: Option<String>,
    /// Incoming MCP request headers passed on to the API on every call.
    pub forward_headers: Vec<HeaderName>,
    /// How long one call may take.
    pub timeout: Duration,
    /// Stateless Streamable HTTP: no sessions, any replica can answer any request.
    pub stateless: bool,
    /// How long an idle stateful session lives.
    pub session_idle: Duration,
    /// Which `Host` and `Origin` values are accepted (DNS-rebinding protection).
    pub host_guard: HostGuard,
    /// The URL clients reach this server at (scheme, host, port and any prefix path).
    pub public_url: Option<String>,
    /// Believe `X-Forwarded-Proto` and `X-Forwarded-Host` (only behind a proxy you trust).
    pub trust_forwarded_headers: bool,
    /// Answer plain `tools/call` and `tools/list` without rmcp's per-request machinery
    /// (same logic and checks; see the benchmark).
    pub fast_path: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            name: "apimcp".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            instructions: None,
            forward_headers: vec![http::header::AUTHORIZATION],
            timeout: DEFAULT_TIMEOUT,
            stateless: false,
            session_idle: DEFAULT_SESSION_IDLE,
            host_guard: HostGuard::default(),
            public_url: None,
            trust_forwarded_headers: false,
            fast_path: true,
        }
    }
}

/// An MCP server whose tools are an HTTP API's operations. Cheap to clone.
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
    auth: Option<Arc<crate::auth::AuthConfig>>,
    listed: PerToolSet<bytes::Bytes>,
    peers: std::sync::Mutex<Vec<Arc<dyn ClientChannel>>>,
    shutdown: tokio_util::sync::CancellationToken,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("name", &self.inner.options.name)
            .field("tools", &self.inner.tools.load().len())
            .finish()
    }
}

/// Builds an [`McpServer`].
#[must_use]
pub struct McpServerBuilder {
    document: Option<Result<OpenApiDocument, crate::openapi::DocumentError>>,
    dispatcher: Option<Result<Dispatcher, BuildError>>,
    remote: Option<reqwest::Url>,
    options: ServerOptions,
    name_set: bool,
    version_set: bool,
    convert: ConvertOptions,
    extensions: Extensions,
    errors: Vec<String>,
    auth: Option<crate::auth::AuthConfig>,
    forward_set: bool,
}

impl McpServer {
    /// Starts a builder.
    pub fn builder() -> McpServerBuilder {
        McpServerBuilder {
            document: None,
            dispatcher: None,
            remote: None,
            options: ServerOptions::default(),
            name_set: false,
            version_set: false,
            convert: ConvertOptions::default(),
            extensions: Extensions::default(),
            errors: Vec::new(),
            auth: None,
            forward_set: false,
        }
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

    /// The authorization settings, when auth is on.
    pub(crate) fn auth(&self) -> Option<&Arc<crate::auth::AuthConfig>> {
        self.inner.auth.as_ref()
    }

    /// The scopes the OpenAPI document says `tool` needs.
    pub(crate) fn document_scopes(&self, tool: &str) -> Vec<Vec<String>> {
        self.tools()
            .get(tool)
            .map(|t| t.converted.required_scopes.clone())
            .unwrap_or_default()
    }

    /// Whether `principal` may call `tool` (always, without auth).
    pub(crate) fn tool_allowed(&self, tool: &str, principal: Option<&crate::auth::Principal>) -> bool {
        let Some(auth) = self.auth() else {
            return true;
        };
        let granted = principal.map(|p| p.scopes.clone()).unwrap_or_default();
        let needed = auth.rules().for_tool(tool, &self.document_scopes(tool));
        auth.rules().missing(&granted, &needed).is_none()
    }

    /// What was added by hand.
    pub(crate) fn extensions(&self) -> &Extensions {
        &self.inner.extensions
    }

    /// Remembers a session's client, to tell it when the tools change.
    pub(crate) fn register_peer(&self, peer: Arc<dyn ClientChannel>) {
        let mut peers = self
            .inner
            .peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        peers.retain(|p| !p.is_closed());
        peers.push(peer);
    }

    fn notify_tools_changed(&self) {
        let mut peers = self
            .inner
            .peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        peers.retain(|p| !p.is_closed());
        for peer in peers.iter() {
            let sent = peer.tools_changed();
            tokio::spawn(async move {
                let _ = sent.await;
            });
        }
    }

    /// Runs one tool call: argument check, request, dispatch, response mapping. `None` when
    /// there is no such tool. The context carries the MCP request's HTTP headers, for forwarding.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Option<Map<String, Value>>,
        context: Context,
    ) -> Option<ToolOutput> {
        let tools = self.tools();
        if let Some(tool) = tools.get(name) {
            return Some(self.call_served(tool, arguments, context.headers()).await);
        }
        let custom = self.inner.extensions.tool(name)?;
        let arguments = arguments.unwrap_or_default();
        if let Some(validator) = &custom.validator
            && let Err(message) = validator.check(&Value::Object(arguments.clone()))
        {
            return Some(ToolOutput::error(format!("Invalid arguments for {name}: {message}")));
        }
        Some((custom.handler)(arguments, context).await)
    }

    /// A derived tool's call with only the request's headers (the fast path's entry: no
    /// client connection needed). `None` when there is no such derived tool.
    pub(crate) async fn call_derived(
        &self,
        name: &str,
        arguments: Option<Map<String, Value>>,
        headers: &HeaderMap,
    ) -> Option<ToolOutput> {
        let tools = self.tools();
        let tool = tools.get(name)?;
        Some(self.call_served(tool, arguments, Some(headers)).await)
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

    async fn call_served(
        &self,
        tool: &ServedTool,
        arguments: Option<Map<String, Value>>,
        incoming: Option<&HeaderMap>,
    ) -> ToolOutput {
        // One Value for the schema check and the request, so the arguments are not copied.
        let arguments = Value::Object(arguments.unwrap_or_default());
        if let Err(message) = tool.check_arguments(&arguments) {
            return ToolOutput::error(format!("Invalid arguments for {}: {message}", tool.name()));
        }
        let empty = Map::new();
        let fields = arguments.as_object().unwrap_or(&empty);
        let mut request = match build_request(&tool.converted.binding, fields) {
            Ok(request) => request,
            Err(e) => {
                return ToolOutput::error(format!("Invalid arguments for {}: {e}", tool.name()));
            }
        };
        if let Some(incoming) = incoming {
            forward(&self.inner.options.forward_headers, incoming, request.headers_mut());
        }
        let timeout = self.inner.options.timeout;
        let reply = match self.inner.dispatcher.load().send(request, timeout).await {
            Ok(reply) => reply,
            Err(e) => return ToolOutput::error(format!("{} failed: {e}", tool.name())),
        };
        let content_type = reply
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let output = response_output(
            &tool.converted.binding,
            tool.has_output_schema(),
            reply.status,
            content_type,
            &reply.body,
        );
        tool.check_output(output)
    }
}

/// Custom tools must not shadow derived ones (or each other).
fn check_names(set: &ToolSet, extensions: &Extensions) -> Result<(), BuildError> {
    let mut seen = std::collections::HashSet::new();
    for custom in &extensions.tools {
        let name = custom.tool.name.as_str();
        if set.get(name).is_some() || !seen.insert(name) {
            return Err(BuildError::DuplicateTool(name.to_owned()));
        }
    }
    Ok(())
}

/// Copies the allow-listed headers of the MCP request onto the API request, unless a header
/// parameter already set them.
fn forward(names: &[HeaderName], incoming: &HeaderMap, outgoing: &mut HeaderMap) {
    for name in names {
        if outgoing.contains_key(name) {
            continue;
        }
        for value in incoming.get_all(name) {
            outgoing.append(name.clone(), value.clone());
        }
    }
}

impl McpServerBuilder {
    /// The OpenAPI document the tools come from.
    pub fn openapi(mut self, document: OpenApiDocument) -> Self {
        self.document = Some(Ok(document));
        self
    }

    /// The OpenAPI document from a JSON or YAML file.
    pub fn openapi_file(mut self, path: impl AsRef<std::path::Path>) -> Self {
        let path = path.as_ref();
        self.document = Some(match std::fs::read_to_string(path) {
            Ok(text) => OpenApiDocument::parse(&text, &path.display().to_string()),
            Err(e) => Err(crate::openapi::DocumentError::Unreadable {
                origin: path.display().to_string(),
                reason: e.to_string(),
            }),
        });
        self
    }

    /// The OpenAPI document as JSON.
    pub fn openapi_json(mut self, document: Value) -> Self {
        self.document = Some(OpenApiDocument::from_value(document));
        self
    }

    /// The OpenAPI document from utoipa.
    #[cfg(feature = "utoipa")]
    pub fn utoipa(self, document: &utoipa::openapi::OpenApi) -> Self {
        let value = serde_json::to_value(document).unwrap_or(Value::Null);
        self.openapi_json(value)
    }

    /// Call the API in-process: any tower service, such as the axum `Router` that serves it.
    pub fn in_process<S>(mut self, service: S) -> Self
    where
        S: tower::Service<http::Request<axum::body::Body>, Error = std::convert::Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.dispatcher = Some(Ok(Dispatcher::in_process(service)));
        self
    }

    /// Call a remote API at `base` (its path is kept as a prefix).
    pub fn remote(mut self, base: reqwest::Url) -> Self {
        self.remote = Some(base);
        self.dispatcher = None;
        self
    }

    /// The server name (default: the document's `info.title`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.options.name = name.into();
        self.name_set = true;
        self
    }

    /// The server version (default: the document's `info.version`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.options.version = version.into();
        self.version_set = true;
        self
    }

    /// Instructions for the model.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.options.instructions = Some(instructions.into());
        self
    }

    /// How operations become tools.
    pub fn convert_options(mut self, options: ConvertOptions) -> Self {
        self.convert = options;
        self
    }

    /// Headers of the MCP request to pass on to the API (default: `authorization`).
    pub fn forward_headers<I, S>(mut self, names: I) -> Result<Self, BuildError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.options.forward_headers = names
            .into_iter()
            .map(|n| {
                HeaderName::from_bytes(n.as_ref().trim().as_bytes())
                    .map_err(|_| BuildError::HeaderName(n.as_ref().into()))
            })
            .collect::<Result<_, _>>()?;
        self.forward_set = true;
        Ok(self)
    }

    /// Authorize MCP requests (see [`crate::auth`]).
    pub fn auth(mut self, auth: crate::auth::AuthConfig) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The URL clients reach this server at; its host is also allowed by the host guard.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.options.public_url = Some(url.into());
        self
    }

    /// Answer plain tool calls in the HTTP task (default on); off sends everything through rmcp.
    pub fn fast_path(mut self, on: bool) -> Self {
        self.options.fast_path = on;
        self
    }

    /// Believe `X-Forwarded-Proto` and `X-Forwarded-Host` from a proxy you trust.
    pub fn trust_forwarded_headers(mut self, trust: bool) -> Self {
        self.options.trust_forwarded_headers = trust;
        self
    }

    /// How long one call may take (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// Serve Streamable HTTP without sessions.
    pub fn stateless(mut self, stateless: bool) -> Self {
        self.options.stateless = stateless;
        self
    }

    /// How long an idle session lives (default 30 minutes).
    pub fn session_idle(mut self, idle: Duration) -> Self {
        self.options.session_idle = idle;
        self
    }

    /// Which `Host` and `Origin` values are accepted.
    pub fn host_guard(mut self, guard: HostGuard) -> Self {
        self.options.host_guard = guard;
        self
    }

    /// Converts the document and builds the server.
    pub fn build(mut self) -> Result<McpServer, BuildError> {
        let document = self.document.ok_or(BuildError::NoDocument)??;
        let remote = self.dispatcher.is_none() && self.remote.is_some();
        let dispatcher = match (self.dispatcher.take(), self.remote.take()) {
            (Some(d), _) => d?,
            (None, Some(base)) => Dispatcher::remote(base).map_err(|e| BuildError::Client(e.to_string()))?,
            (None, None) => return Err(BuildError::NoDispatcher),
        };
        let auth_on = self.auth.as_ref().is_some_and(crate::auth::AuthConfig::is_enabled);
        if auth_on && remote && !self.forward_set {
            // A token issued for this MCP server is not passed to an API of another audience
            // unless the operator names `authorization` in forward_headers.
            self.options
                .forward_headers
                .retain(|h| h != http::header::AUTHORIZATION);
            tracing::info!(
                "auth is on and the API is remote: the client's Authorization header is not forwarded (name it in forward_headers to forward it)"
            );
        }
        if !self.name_set
            && let Some(title) = document.title()
        {
            self.options.name = title.to_owned();
        }
        if !self.version_set
            && let Some(version) = document.api_version()
        {
            self.options.version = version.to_owned();
        }
        let public_host = self
            .options
            .public_url
            .as_deref()
            .and_then(|u| reqwest::Url::parse(u).ok());
        if let Some(host) = public_host.as_ref().and_then(|u| u.host_str()) {
            self.options.host_guard = self.options.host_guard.with_host(host);
        }
        if let Some(error) = self.errors.into_iter().next() {
            return Err(BuildError::Extension(error));
        }
        let auth = match self.auth.filter(crate::auth::AuthConfig::is_enabled) {
            Some(auth) => Some(Arc::new(
                auth.prepare(self.options.public_url.as_deref())
                    .map_err(BuildError::Auth)?,
            )),
            None => None,
        };
        let set = ToolSet::new(convert(&document, &self.convert)?);
        check_names(&set, &self.extensions)?;
        Ok(McpServer {
            inner: Arc::new(Inner {
                options: self.options,
                convert: self.convert,
                tools: ArcSwap::from_pointee(set),
                dispatcher: ArcSwap::from_pointee(dispatcher),
                extensions: self.extensions,
                auth,
                listed: PerToolSet::default(),
                peers: std::sync::Mutex::default(),
                shutdown: tokio_util::sync::CancellationToken::new(),
            }),
        })
    }
}
