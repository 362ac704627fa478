//! The fast path: plain `tools/call` and `tools/list` requests answered in the HTTP task, with
//! the same tool logic ([`McpServer::call_tool`]) and the same checks as rmcp's service, which
//! gets everything else: initialize, notifications, GET and DELETE, unknown or missing
//! sessions, 2026-07-28 requests, calls that want progress, custom tools (they may talk back
//! to the client), and anything malformed, so errors are rmcp's own.
//!
//! Host, Origin and auth checks are layers outside both paths.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, header};
use serde::Deserialize;
use serde_json::value::RawValue;
use tower::ServiceExt;

use super::McpServer;
use crate::mcp::HttpEndpoint;

/// rmcp's own limit on a request body.
const MAX_BODY: usize = 4 * 1024 * 1024;
/// From this revision on, requests carry their lifecycle in `_meta`: rmcp's job.
const STATELESS_REVISION: &str = "2026-07-28";

pub(crate) struct FastPath {
    pub(crate) server: McpServer,
    pub(crate) endpoint: HttpEndpoint,
    pub(crate) versions: Vec<String>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    jsonrpc: &'a str,
    id: Option<&'a RawValue>,
    method: &'a str,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct CallParams<'a> {
    name: &'a str,
    arguments: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(rename = "_meta", borrow)]
    meta: Option<&'a RawValue>,
}

pub(crate) async fn handle(State(fast): State<Arc<FastPath>>, request: Request) -> Response {
    match fast.try_answer(request).await {
        Ok(response) => response,
        Err(request) => {
            let Ok(response) = fast.endpoint.service.clone().oneshot(request).await;
            response.into_response()
        }
    }
}

impl FastPath {
    /// The answer, or the request back (whole) for rmcp.
    async fn try_answer(&self, request: Request) -> Result<Response, Request> {
        if request.method() != Method::POST || !self.plain_post(request.headers()) {
            return Err(request);
        }
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
            return Ok((StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large").into_response());
        };
        match self.answer(&parts, &bytes).await {
            Some(response) => Ok(response),
            None => Err(Request::from_parts(parts, Body::from(bytes))),
        }
    }

    /// JSON in, JSON or SSE accepted (rmcp answers 406/415 otherwise), and a protocol version
    /// rmcp knows, before 2026-07-28.
    fn plain_post(&self, headers: &HeaderMap) -> bool {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
        let json_body = text("content-type").starts_with("application/json");
        let accept = text("accept");
        let accepts = accept.contains("application/json") && accept.contains("text/event-stream");
        let version = text("mcp-protocol-version");
        let version_ok =
            version.is_empty() || (version < STATELESS_REVISION && self.versions.iter().any(|v| v == version));
        json_body && accepts && version_ok
    }

    async fn answer(&self, parts: &http::request::Parts, body: &Bytes) -> Option<Response> {
        let envelope: Envelope<'_> = serde_json::from_slice(body).ok()?;
        let id = envelope.id?;
        if envelope.jsonrpc != "2.0" || !matches!(envelope.method, "tools/call" | "tools/list") {
            return None;
        }
        if !self.server.options().stateless {
            let session = parts.headers.get("mcp-session-id")?.to_str().ok()?;
            if !self.endpoint.has_session(session).await {
                return None;
            }
        }
        let result = match envelope.method {
            "tools/list" => self.list()?,
            _ => self.call(parts, envelope.params?).await?,
        };
        let body = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#, id.get());
        Some(([(header::CONTENT_TYPE, "application/json")], body).into_response())
    }

    fn list(&self) -> Option<String> {
        let filtered = self.server.auth().is_some_and(|a| a.filters_tools());
        (!filtered).then(|| self.server.tools_list_json().to_string())
    }

    /// A derived tool's call without a progress token; `None` for anything else.
    async fn call(&self, parts: &http::request::Parts, params: &RawValue) -> Option<String> {
        let params: CallParams<'_> = serde_json::from_str(params.get()).ok()?;
        let wants_progress = params.meta.is_some_and(|m| m.get().contains("progressToken"));
        if wants_progress || !self.server.is_derived_tool(params.name) {
            return None;
        }
        let output = self
            .server
            .call_derived(params.name, params.arguments, &parts.headers)
            .await?;
        serde_json::to_string(&output).ok()
    }
}
