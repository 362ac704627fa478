//! The MCP server's core: the tool set being served, the call pipeline the fast path and
//! rmcp's path share, the builder, and what users add by hand. No HTTP routing and no rmcp here:
//! the transports (`transport`) and the rmcp adapter sit above and call into this.

mod builder;
mod call;
mod catalog;
mod discovery;
mod dispatch;
mod extend;
mod guard;
mod output;
mod pages;
mod peers;
mod registry;
mod request_state;
mod rounds;

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;

use crate::auth::{Auth, Principal};
use crate::openapi::{ConvertOptions, OpenApiDocument, Report};
use crate::upstream::Upstream;

pub use builder::{
    BuildError, DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE, DEFAULT_TIMEOUT, ExtensionError, McpServerBuilder,
    ServerOptions,
};
use call::check_names;
pub use catalog::{Catalog, DEFAULT_AUTO_ABOVE, UnknownCatalog};
pub(crate) use dispatch::Dispatcher;
pub use dispatch::RESPONSE_LIMIT;
pub use extend::{
    BoxFuture, ClientError, CompletionRequest, Context, HandlerError, LogLevel, Prompt, PromptArgument, PromptMessage,
    PromptResult, Resource, ResourceTemplate, Role,
};
pub(crate) use extend::{ClientChannel, Extensions};
pub use guard::{HostGuard, Refused};
pub use output::{OutputSchemas, UnknownOutputSchemas};
pub(crate) use pages::{Listed, Page, ToolPages};
pub(crate) use registry::{PerToolSet, ToolSet};
pub(crate) use request_state::{Binding, StateKeys};
pub use request_state::{REQUEST_STATE_TTL, StateError};
pub use rounds::InputRequest;
pub(crate) use rounds::{Round, Rounds};

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
    upstream: Upstream,
    extensions: Extensions,
    auth: Option<Arc<Auth>>,
    listed: PerToolSet<Arc<ToolPages>>,
    meta: catalog::MetaTools,
    peers: std::sync::Mutex<Vec<Arc<dyn ClientChannel>>>,
    shutdown: CancellationToken,
    state_keys: StateKeys,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("name", &self.inner.options.name)
            .field("tools", &self.inner.tools.load().len())
            .finish()
    }
}

/// A custom or search-mode tool as listed: its definition encoded (once per tool set).
fn listed(tool: &crate::tool::Tool) -> Listed {
    Listed {
        name: tool.name.to_string(),
        json: registry::encode(tool),
    }
}

/// What a server is made of, as the builder hands it over.
struct Parts {
    options: ServerOptions,
    convert: ConvertOptions,
    tools: ToolSet,
    dispatcher: Dispatcher,
    upstream: Upstream,
    extensions: Extensions,
    auth: Option<Arc<Auth>>,
    state_keys: StateKeys,
}

impl McpServer {
    fn new(parts: Parts) -> Self {
        let inner = Inner {
            options: parts.options,
            convert: parts.convert,
            tools: ArcSwap::from_pointee(parts.tools),
            dispatcher: ArcSwap::from_pointee(parts.dispatcher),
            upstream: parts.upstream,
            extensions: parts.extensions,
            auth: parts.auth,
            listed: PerToolSet::default(),
            meta: catalog::MetaTools::new(),
            peers: std::sync::Mutex::default(),
            shutdown: CancellationToken::new(),
            state_keys: parts.state_keys,
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
    /// Connected sessions are told with `notifications/tools/list_changed`. Upstream headers
    /// and credentials stay as they were checked against the first document.
    pub fn refresh(&self, document: &OpenApiDocument) -> Result<Report, BuildError> {
        let options = &self.inner.options;
        let custom = self.custom_tools();
        let set = ToolSet::convert(
            document,
            &self.inner.convert,
            options.output_schemas,
            options.catalog,
            &custom,
        )?;
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

    /// The tool list of `set` in pages, built once per tool set.
    pub(crate) fn tool_pages_of(&self, set: &Arc<ToolSet>) -> Arc<ToolPages> {
        self.inner
            .listed
            .get(set, || Arc::new(ToolPages::new(self.listed_of(set))))
    }

    /// The authorization runtime, when auth is on.
    /// Whether the server can serve: its document is converted (it is, once built); when
    /// tokens are checked, the issuer's keys are held or reachable, or its introspection
    /// endpoint answers; with the OAuth proxy, the provider's metadata can be had and the
    /// proxy's store (Redis) answers.
    ///
    /// # Errors
    /// Which of those cannot be done now.
    pub async fn ready(&self) -> Result<(), crate::auth::NotReady> {
        match self.auth() {
            Some(auth) => auth.ready().await,
            None => Ok(()),
        }
    }

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
            .map(|t| t.required_scopes.clone())
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

    /// The tool definitions `tools/list` shows: derived ones, then custom ones; in search
    /// mode, `search_tools`, `describe_tools` and `call_tool`, then the pinned tools.
    pub fn tool_definitions(&self) -> Vec<crate::tool::Tool> {
        let listed = self.listed_of(&self.tools());
        listed
            .iter()
            .filter_map(|t| serde_json::from_slice(&t.json).ok())
            .collect()
    }

    /// Whether `tools/list` offers the three search tools instead of every tool (see
    /// [`Catalog`]).
    pub fn searches(&self) -> bool {
        self.tools().index.is_some()
    }

    /// The definitions `tools/list` shows with the derived tools of `set`, as JSON text: the
    /// derived tools' own text, shared, not copied.
    fn listed_of(&self, set: &ToolSet) -> Vec<Listed> {
        if set.index.is_some() {
            return self.searched_definitions(set);
        }
        let derived = set.iter().map(|t| Listed {
            name: t.name().to_owned(),
            json: t.definition().clone(),
        });
        derived
            .chain(self.inner.extensions.tools.iter().map(|t| listed(&t.tool)))
            .collect()
    }

    /// Search mode's list: the three tools, then the pinned ones that exist in `set`.
    fn searched_definitions(&self, set: &ToolSet) -> Vec<Listed> {
        let pinned = self.inner.options.pinned_tools.iter().filter_map(|name| {
            let derived = set.get(name).map(|t| Listed {
                name: t.name().to_owned(),
                json: t.definition().clone(),
            });
            derived.or_else(|| self.inner.extensions.tool(name).map(|t| listed(&t.tool)))
        });
        self.inner.meta.definitions().iter().map(listed).chain(pinned).collect()
    }

    /// The custom tools' definitions.
    fn custom_tools(&self) -> Vec<&crate::tool::Tool> {
        self.inner.extensions.tools.iter().map(|t| &t.tool).collect()
    }

    /// The instructions sent in `initialize`: in search mode, how to use the three tools,
    /// then the operator's own.
    pub fn instructions(&self) -> Option<String> {
        let own = self.inner.options.instructions.clone();
        let Some(index) = &self.tools().index else {
            return own;
        };
        let search = catalog::instructions(index.len());
        Some(match own {
            Some(own) => format!("{search}\n\n{own}"),
            None => search,
        })
    }

    /// The tool whose scopes a `tools/call` of `name` needs: in search mode, `call_tool`
    /// needs those of the tool it calls.
    pub(crate) fn scope_target<'a>(
        &self,
        name: &'a str,
        arguments: Option<&'a serde_json::Map<String, serde_json::Value>>,
    ) -> &'a str {
        let inner = arguments
            .and_then(|a| a.get("name"))
            .and_then(serde_json::Value::as_str);
        match inner {
            Some(inner) if name == "call_tool" && self.searches() => inner,
            _ => name,
        }
    }

    /// A multi-round-trip request's `requestState`: the answers so far, sealed for `binding`.
    pub(crate) fn seal_request_state(
        &self,
        binding: &Binding,
        answers: std::collections::BTreeMap<String, serde_json::Value>,
    ) -> String {
        self.inner.state_keys.seal(binding, answers)
    }

    /// The answers an echoed `requestState` holds, if this server sealed it for `binding`.
    pub(crate) fn open_request_state(
        &self,
        binding: &Binding,
        state: &str,
    ) -> Result<std::collections::BTreeMap<String, serde_json::Value>, StateError> {
        self.inner.state_keys.open(binding, state)
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
