//! One tool call, the pipeline the fast path and rmcp's path share: argument check, request,
//! dispatch, response mapping, output check. A derived tool never needs the client's
//! connection; a custom tool gets it through its [`Context`].

use std::fmt::Display;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Request};
use serde_json::{Map, Value};

use super::catalog::Meta;
use serde_json::value::RawValue;

use super::dispatch::{DispatchError, OperationServer, Reply};
use super::registry::{ServedTool, ToolSet};
use super::{BuildError, Context, Extensions, McpServer};
use crate::auth::Principal;
use crate::call::{ToolOutput, build_request, response_output};
use crate::telemetry::{Answer, RequestTrace, ServerRequest, Target, UpstreamCall};

/// Who is calling: rmcp's path has the whole client context; the fast path only the request's
/// headers and principal, and leaves custom tools (which may talk back to the client) to rmcp.
pub(crate) enum Caller<'a> {
    // Boxed: a call's context is large, and the fast path's entry is borrowed references.
    Full(Box<Context>),
    Fast {
        headers: &'a HeaderMap,
        principal: Option<&'a Principal>,
        id: &'a RawValue,
        meta: Option<&'a RawValue>,
    },
}

const TOOLS_CALL: &str = "tools/call";
/// The JSON-RPC code of an unknown tool.
const INVALID_PARAMS: i32 = -32602;

impl Caller<'_> {
    fn headers(&self) -> Option<&HeaderMap> {
        match self {
            Caller::Full(context) => context.headers(),
            Caller::Fast { headers, .. } => Some(headers),
        }
    }

    /// What the request's span records besides its headers.
    fn trace(&self) -> RequestTrace {
        match self {
            Caller::Full(context) => context.trace.clone(),
            Caller::Fast { id, meta, .. } => RequestTrace::from_raw(Some(id), *meta),
        }
    }

    pub(super) fn principal(&self) -> Option<&Principal> {
        match self {
            Caller::Full(context) => context.principal.as_ref(),
            Caller::Fast { principal, .. } => *principal,
        }
    }
}

impl McpServer {
    /// Runs one tool call: argument check, request, dispatch, response mapping. `None` when
    /// there is no such tool. The context carries the MCP request's HTTP headers, for forwarding.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Option<Map<String, Value>>,
        context: Context,
    ) -> Option<ToolOutput> {
        self.dispatch(&self.tools(), name, arguments, Caller::Full(Box::new(context)))
            .await
    }

    /// A call with only the request's headers and principal (the fast path's entry: no client
    /// connection). `None` for a custom tool, and for anything else rmcp should answer.
    pub(crate) async fn call_derived(
        &self,
        name: &str,
        arguments: Option<Map<String, Value>>,
        headers: &HeaderMap,
        principal: Option<&Principal>,
        id: &RawValue,
        meta: Option<&RawValue>,
    ) -> Option<ToolOutput> {
        let set = self.tools();
        // Unknown and custom tools go to rmcp's path, which traces them once.
        let searched = set.index.is_some() && Meta::named(name).is_some();
        if !searched && set.get(name).is_none() {
            return None;
        }
        let caller = Caller::Fast {
            headers,
            principal,
            id,
            meta,
        };
        self.dispatch(&set, name, arguments, caller).await
    }

    /// Every path's tool call passes here once: its server span and duration (the other
    /// requests get theirs where rmcp's handler or the fast path answers them).
    async fn dispatch(
        &self,
        set: &ToolSet,
        name: &str,
        arguments: Option<Map<String, Value>>,
        caller: Caller<'_>,
    ) -> Option<ToolOutput> {
        let traced = ServerRequest::start(TOOLS_CALL, Target::Tool(name), caller.headers(), || caller.trace());
        let output = traced.run(self.route(set, name, arguments, caller)).await;
        let answer = match &output {
            // An unknown tool: rmcp's path answers it with invalid params.
            None => Answer::Error(INVALID_PARAMS),
            Some(output) if output.is_error => Answer::ToolError,
            Some(_) => Answer::Ok,
        };
        traced.finish(Target::Tool(name), answer);
        output
    }

    /// In search mode the three search tools come first; then the API's tools and custom ones.
    async fn route(
        &self,
        set: &ToolSet,
        name: &str,
        arguments: Option<Map<String, Value>>,
        caller: Caller<'_>,
    ) -> Option<ToolOutput> {
        if set.index.is_some()
            && let Some(meta) = Meta::named(name)
        {
            return self.call_meta(set, meta, arguments, caller).await;
        }
        self.call_named(set, name, arguments, caller).await
    }

    /// A derived or custom tool by name.
    pub(super) async fn call_named(
        &self,
        set: &ToolSet,
        name: &str,
        arguments: Option<Map<String, Value>>,
        caller: Caller<'_>,
    ) -> Option<ToolOutput> {
        if let Some(tool) = set.get(name) {
            return Some(self.call_served(tool, arguments, caller.headers()).await);
        }
        let Caller::Full(context) = caller else {
            return None;
        };
        let custom = self.inner.extensions.tool(name)?;
        let arguments = arguments.unwrap_or_default();
        if let Some(validator) = &custom.validator
            && let Err(message) = validator.check(&Value::Object(arguments.clone()))
        {
            return Some(ToolOutput::error(format!("Invalid arguments for {name}: {message}")));
        }
        Some((custom.handler)(arguments, *context).await)
    }

    async fn call_served(
        &self,
        tool: &ServedTool,
        arguments: Option<Map<String, Value>>,
        incoming: Option<&HeaderMap>,
    ) -> ToolOutput {
        match self.try_call(tool, arguments, incoming).await {
            Ok(output) | Err(output) => output,
        }
    }

    /// The call's result; `Err` is the tool error that ends it early.
    async fn try_call(
        &self,
        tool: &ServedTool,
        arguments: Option<Map<String, Value>>,
        incoming: Option<&HeaderMap>,
    ) -> Result<ToolOutput, ToolOutput> {
        let mut request = request_for(tool, arguments)?;
        let failed = |e: &dyn Display| ToolOutput::error(format!("{} failed: {e}", tool.name()));
        let security = &tool.security;
        let used = self
            .inner
            .upstream
            .apply(security, &mut request)
            .await
            .map_err(|e| failed(&e))?;
        if let Some(server) = &tool.binding.server {
            request.extensions_mut().insert(OperationServer(server.clone()));
        }
        if let Some(incoming) = incoming {
            forward(&self.inner.options.forward_headers, incoming, request.headers_mut());
        }
        let timeout = self.inner.options.timeout;
        let dispatcher = self.inner.dispatcher.load();
        let template = &tool.binding.path;
        let traced = UpstreamCall::start(&mut request, |r| dispatcher.base(r), template);
        let reply = traced.run(dispatcher.send(request, timeout)).await;
        traced.finish(reply.as_ref().map(|r| r.status).map_err(DispatchError::kind));
        let reply = reply.map_err(|e| failed(&e))?;
        if reply.status == http::StatusCode::UNAUTHORIZED {
            used.rejected();
        }
        Ok(tool.check_output(output_of(tool, &reply)))
    }
}

/// The API request for a call, or the tool error that says why its arguments are refused.
fn request_for(tool: &ServedTool, arguments: Option<Map<String, Value>>) -> Result<Request<Bytes>, ToolOutput> {
    let invalid = |why: &dyn Display| ToolOutput::error(format!("Invalid arguments for {}: {why}", tool.name()));
    // One Value for the schema check and the request, so the arguments are not copied.
    let arguments = Value::Object(arguments.unwrap_or_default());
    tool.check_arguments(&arguments).map_err(|why| invalid(&why))?;
    let empty = Map::new();
    let fields = arguments.as_object().unwrap_or(&empty);
    build_request(&tool.binding, fields).map_err(|why| invalid(&why))
}

/// The API's reply as tool content.
fn output_of(tool: &ServedTool, reply: &Reply) -> ToolOutput {
    let content_type = reply
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let binding = &tool.binding;
    response_output(
        binding,
        tool.has_output_schema(),
        reply.status,
        content_type,
        &reply.body,
    )
}

/// Custom tools must not shadow derived ones (or each other).
pub(super) fn check_names(set: &ToolSet, extensions: &Extensions) -> Result<(), BuildError> {
    let mut seen = std::collections::HashSet::new();
    for custom in &extensions.tools {
        let name = custom.tool.name.as_str();
        if set.get(name).is_some() || !seen.insert(name) {
            return Err(BuildError::DuplicateTool { name: name.to_owned() });
        }
    }
    Ok(())
}

/// Copies the allow-listed headers of the MCP request onto the API request, unless a header
/// parameter, a configured header or a credential already set them.
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
