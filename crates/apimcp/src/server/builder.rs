//! Building an [`McpServer`]: where the document and the API are, the server's options, and
//! `build()`, which converts the document and checks the whole configuration once.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;
use serde_json::Value;

use super::dispatch::Dispatcher;
use super::extend::Extensions;
use super::registry::ToolSet;
use super::{Catalog, HostGuard, McpServer, OutputSchemas, StateKeys, check_names};
use crate::auth::AuthConfig;
use crate::openapi::{ConvertError, ConvertOptions, DocumentError, OpenApiDocument};
use crate::tool::InvalidToolName;
use crate::upstream::{Credential, Secret, Upstream, UpstreamConfig, UpstreamError};

/// How long a tool call may take by default (FastAPI-MCP's is 10 s too).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle stateful session lives by default.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
/// The default [`ServerOptions::max_sessions`]: an idle session costs under 1 KB, one in use
/// about 60 KB, so a full server stays under 256 MB even with all of them in use.
pub const DEFAULT_MAX_SESSIONS: usize = 3000;

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
    Document(#[from] DocumentError),
    /// The conversion failed.
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The authorization settings are incomplete or contradict each other.
    #[error("auth: {0}")]
    Auth(#[from] crate::auth::AuthConfigError),
    /// A forwarded header name is not a header name.
    #[error("{name:?} is not a valid header name")]
    HeaderName {
        /// The name as given.
        name: String,
    },
    /// A custom tool is malformed.
    #[error(transparent)]
    Extension(#[from] ExtensionError),
    /// The upstream headers or credentials do not fit the document.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// A pinned tool is neither derived nor custom.
    #[error("the pinned tool {name} is not a tool of this server")]
    UnknownPinnedTool {
        /// The name as given.
        name: String,
    },
    /// A custom tool has the name of a derived tool.
    #[error("the custom tool {name} has the same name as a tool from the OpenAPI document")]
    DuplicateTool {
        /// The tool's name.
        name: String,
    },
}

/// Why a custom tool, resource or prompt was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtensionError {
    /// A custom tool's name breaks MCP's tool-name rules.
    #[error(transparent)]
    InvalidToolName(#[from] InvalidToolName),
}

/// Settings of an [`McpServer`] beyond its tools.
#[derive(Clone, Debug)]
#[non_exhaustive]
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
    /// Live Streamable HTTP sessions at most: beyond it a new session evicts the least
    /// recently used one idle for a minute or more, or is answered 503 with `Retry-After`.
    pub max_sessions: usize,
    /// Live sessions one client address may hold (default: half of `max_sessions`).
    pub max_sessions_per_address: usize,
    /// Which `Host` and `Origin` values are accepted (DNS-rebinding protection).
    pub host_guard: HostGuard,
    /// The URL clients reach this server at (scheme, host, port and any prefix path).
    pub public_url: Option<String>,
    /// Believe `X-Forwarded-Proto` and `X-Forwarded-Host` (only behind a proxy you trust).
    pub trust_forwarded_headers: bool,
    /// Answer plain `tools/call` and `tools/list` without rmcp's per-request machinery
    /// (same logic and checks; see the benchmark).
    pub fast_path: bool,
    /// Whether `tools/list` offers every tool or search mode's three (see [`Catalog`]).
    pub catalog: Catalog,
    /// Tools listed beside the three in search mode (custom tools, usually).
    pub pinned_tools: Vec<String>,
    /// What the outputSchemas promise and what a response that breaks it becomes.
    pub output_schemas: OutputSchemas,
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
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_sessions_per_address: DEFAULT_MAX_SESSIONS / 2,
            host_guard: HostGuard::default(),
            public_url: None,
            trust_forwarded_headers: false,
            fast_path: true,
            catalog: Catalog::Full,
            pinned_tools: Vec::new(),
            output_schemas: OutputSchemas::default(),
        }
    }
}

/// Where calls go.
enum Target {
    InProcess(Dispatcher),
    Remote(url::Url),
}

/// Builds an [`McpServer`]: a document, an API to call, then options.
///
/// ```no_run
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use apimcp::McpServer;
///
/// let mcp = McpServer::builder()
///     .openapi_file("openapi.json")
///     .remote("https://api.example.com/v1".parse()?)
///     .timeout(std::time::Duration::from_secs(30))
///     .build()?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct McpServerBuilder {
    document: Option<Result<OpenApiDocument, DocumentError>>,
    target: Option<Target>,
    options: ServerOptions,
    name: Option<String>,
    version: Option<String>,
    forward_headers: Option<Vec<HeaderName>>,
    convert: ConvertOptions,
    pub(super) extensions: Extensions,
    pub(super) errors: Vec<ExtensionError>,
    auth: Option<AuthConfig>,
    upstream: UpstreamConfig,
    request_state_keys: Vec<Vec<u8>>,
}

impl McpServer {
    /// Starts a builder.
    pub fn builder() -> McpServerBuilder {
        McpServerBuilder {
            document: None,
            target: None,
            options: ServerOptions::default(),
            name: None,
            version: None,
            forward_headers: None,
            convert: ConvertOptions::default(),
            extensions: Extensions::default(),
            errors: Vec::new(),
            auth: None,
            upstream: UpstreamConfig::default(),
            request_state_keys: Vec::new(),
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
            Err(e) => Err(DocumentError::Unreadable {
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
        self.target = Some(Target::InProcess(Dispatcher::in_process(service)));
        self
    }

    /// Call a remote API at `base` (its path is kept as a prefix).
    pub fn remote(mut self, base: url::Url) -> Self {
        self.target = Some(Target::Remote(base));
        self
    }

    /// The server name (default: the document's `info.title`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The server version (default: the document's `info.version`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
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
        let parse = |name: S| {
            let name = name.as_ref();
            HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| BuildError::HeaderName { name: name.into() })
        };
        self.forward_headers = Some(names.into_iter().map(parse).collect::<Result<_, _>>()?);
        Ok(self)
    }

    /// What apimcp sends to the API on every call: fixed headers and credentials for the
    /// document's security schemes (see [`crate::upstream`]). Replaces what
    /// [`upstream_header`](Self::upstream_header) and [`credential`](Self::credential) set.
    pub fn upstream(mut self, config: UpstreamConfig) -> Self {
        self.upstream = config;
        self
    }

    /// A header sent to the API on every call (`User-Agent` replaces apimcp's own).
    pub fn upstream_header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.upstream = std::mem::take(&mut self.upstream).header(name, value);
        self
    }

    /// The credential for the document's security scheme `scheme`; each call gets the
    /// credentials its operation's `security` asks for.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use apimcp::McpServer;
    /// use apimcp::upstream::{Credential, Secret};
    ///
    /// let mcp = McpServer::builder()
    ///     .openapi_file("openapi.json")
    ///     .remote("https://api.example.com/v1".parse()?)
    ///     .credential("bearerAuth", Credential::Value(Secret::new(std::env::var("API_TOKEN")?)))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn credential(mut self, scheme: impl Into<String>, credential: Credential) -> Self {
        self.upstream = std::mem::take(&mut self.upstream).credential(scheme, credential);
        self
    }

    /// Authorize MCP requests (see [`crate::auth`]).
    pub fn auth(mut self, auth: AuthConfig) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The keys that seal the `requestState` of multi-round-trip requests (2026-07-28 clients
    /// answering elicitation, sampling or roots questions): the first seals, all open, so a
    /// key rotates by putting a new one first. Share them between replicas. Default: the OAuth
    /// proxy's keys when it runs (its [`signing_keys`](crate::auth::AuthConfig::signing_keys),
    /// the key shared through its store, or its state directory's), else a random key of this
    /// process (a restart or another replica then refuses a state, and the
    /// client starts the request again).
    pub fn request_state_keys<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: Into<Vec<u8>>,
    {
        self.request_state_keys = keys.into_iter().map(Into::into).collect();
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

    /// The most live sessions (default [`DEFAULT_MAX_SESSIONS`]), and the most one client
    /// address may hold (default half of them).
    pub fn max_sessions(mut self, max: usize, per_address: usize) -> Self {
        self.options.max_sessions = max.max(1);
        self.options.max_sessions_per_address = per_address.clamp(1, max.max(1));
        self
    }

    /// Which `Host` and `Origin` values are accepted.
    pub fn host_guard(mut self, guard: HostGuard) -> Self {
        self.options.host_guard = guard;
        self
    }

    /// How `tools/list` offers the tools: all of them ([`Catalog::Full`], the default), or
    /// `search_tools`, `describe_tools` and `call_tool` ([`Catalog::Search`], or
    /// [`Catalog::auto()`] above 64 tools) for APIs too large to list.
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.options.catalog = catalog;
        self
    }

    /// How tools use the outputSchema of the document's success response
    /// ([`OutputSchemas::Advisory`] by default: relaxed where documents drift, never failing a
    /// call for a drifting response; `Strict`: as written, a drifting response is a tool
    /// error; `Off`: none).
    pub fn output_schemas(mut self, mode: OutputSchemas) -> Self {
        self.options.output_schemas = mode;
        self
    }

    /// Tools that stay listed beside the three in search mode (custom tools, usually).
    pub fn pin_tools<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.pinned_tools = names.into_iter().map(Into::into).collect();
        self
    }

    /// Converts the document and builds the server.
    pub fn build(mut self) -> Result<McpServer, BuildError> {
        let document = self.document.take().ok_or(BuildError::NoDocument)??;
        let base = match &self.target {
            Some(Target::Remote(base)) => Some(base.clone()),
            _ => None,
        };
        let (dispatcher, remote) = self.dispatcher()?;
        let auth_on = self.auth.as_ref().is_some_and(AuthConfig::is_enabled);
        let options = self.resolve_options(&document, remote && auth_on);
        if let Some(error) = self.errors.into_iter().next() {
            return Err(error.into());
        }
        let auth = match self.auth.filter(AuthConfig::is_enabled) {
            Some(auth) => Some(Arc::new(auth.build(options.public_url.as_deref())?)),
            None => None,
        };
        let state_keys = state_keys(&self.request_state_keys, auth.as_deref());
        let upstream = Upstream::new(document.value(), &self.upstream, base.as_ref(), options.timeout)?;
        warn_overlaps(&upstream, &options.forward_headers);
        let custom: Vec<_> = self.extensions.tools.iter().map(|t| &t.tool).collect();
        let set = ToolSet::convert(
            &document,
            &self.convert,
            options.output_schemas,
            options.catalog,
            &custom,
        )?;
        check_names(&set, &self.extensions)?;
        check_pinned(&set, &self.extensions, &options.pinned_tools)?;
        let parts = super::Parts {
            options,
            convert: self.convert,
            tools: set,
            dispatcher,
            upstream,
            extensions: self.extensions,
            auth,
            state_keys,
        };
        Ok(McpServer::new(parts))
    }

    /// The dispatcher, and whether the API is remote.
    fn dispatcher(&mut self) -> Result<(Dispatcher, bool), BuildError> {
        match self.target.take().ok_or(BuildError::NoDispatcher)? {
            Target::InProcess(dispatcher) => Ok((dispatcher, false)),
            Target::Remote(base) => Ok((Dispatcher::remote(base).map_err(BuildError::Client)?, true)),
        }
    }

    /// The options with every default resolved: name and version from the document, the
    /// forwarded headers, the public host allowed by the host guard.
    fn resolve_options(&mut self, document: &OpenApiDocument, remote_with_auth: bool) -> ServerOptions {
        let mut options = std::mem::take(&mut self.options);
        let name = self.name.take().or_else(|| document.title().map(str::to_owned));
        let version = self
            .version
            .take()
            .or_else(|| document.api_version().map(str::to_owned));
        options.name = name.unwrap_or(options.name);
        options.version = version.unwrap_or(options.version);
        match self.forward_headers.take() {
            Some(names) => options.forward_headers = names,
            None if remote_with_auth => withhold_authorization(&mut options.forward_headers),
            None => {}
        }
        let public_url = options.public_url.as_deref().and_then(|u| url::Url::parse(u).ok());
        if let Some(host) = public_url.as_ref().and_then(url::Url::host_str) {
            options.host_guard = options.host_guard.with_host(host);
        }
        options
    }
}

/// A forwarded header that configuration also sets is not forwarded: say so once.
fn warn_overlaps(upstream: &Upstream, forwarded: &[HeaderName]) {
    for name in upstream.overlaps(forwarded) {
        tracing::warn!(
            "the client's {name} header is forwarded, but a configured header or credential sets {name} too: calls that get the configured one do not carry the client's"
        );
    }
}

/// Every pinned name names a derived or custom tool.
fn check_pinned(set: &ToolSet, extensions: &Extensions, pinned: &[String]) -> Result<(), BuildError> {
    match pinned
        .iter()
        .find(|n| set.get(n).is_none() && extensions.tool(n).is_none())
    {
        Some(name) => Err(BuildError::UnknownPinnedTool { name: name.clone() }),
        None => Ok(()),
    }
}

/// A token issued for this MCP server is not passed to an API of another audience unless the
/// operator names `authorization` in forward_headers.
fn withhold_authorization(forward: &mut Vec<HeaderName>) {
    forward.retain(|h| h != http::header::AUTHORIZATION);
    tracing::info!(
        "auth is on and the API is remote: the client's Authorization header is not forwarded (name it in forward_headers to forward it)"
    );
}

/// The request-state keys: those given, else the OAuth proxy's, else a random one.
fn state_keys(given: &[Vec<u8>], auth: Option<&crate::auth::Auth>) -> StateKeys {
    match auth.and_then(crate::auth::Auth::proxy_keys) {
        Some(keys) if given.is_empty() => StateKeys::shared(keys),
        _ => StateKeys::new(given),
    }
}
