//! The fast path: plain `tools/call` and `tools/list` requests answered in the HTTP task, with
//! the same tool logic ([`McpServer::call_tool`]) and the same checks as rmcp's service, which
//! gets everything else: initialize, notifications, GET and DELETE, unknown or missing
//! sessions, 2026-07-28 requests, calls that want progress, custom tools (they may talk back
//! to the client), and anything malformed, so errors are rmcp's own.
//!
//! Host, Origin and auth checks are layers outside both paths.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde::Deserialize;
use serde_json::value::RawValue;
use tower::ServiceExt;

use super::McpServer;
use crate::call::ToolOutput;
use crate::mcp::HttpEndpoint;

/// rmcp's own limit on a request body.
const MAX_BODY: usize = 4 * 1024 * 1024;
/// From this revision on, requests carry their lifecycle in `_meta`: rmcp's job.
const STATELESS_REVISION: &str = "2026-07-28";

/// The Streamable HTTP endpoint as a tower service: the fast path when it is on, rmcp's
/// service for the rest.
#[derive(Clone)]
pub(crate) struct Endpoint(Arc<FastPath>);

struct FastPath {
    server: McpServer,
    endpoint: HttpEndpoint,
    versions: Vec<String>,
}

impl Endpoint {
    pub(crate) fn new(server: &McpServer, endpoint: HttpEndpoint) -> Self {
        Self(Arc::new(FastPath {
            server: server.clone(),
            endpoint,
            versions: crate::mcp::known_protocol_versions(),
        }))
    }
}

impl tower::Service<Request> for Endpoint {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let fast = self.0.clone();
        Box::pin(async move { Ok(fast.handle(request).await) })
    }
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

impl FastPath {
    async fn handle(&self, request: Request) -> Response {
        let request = if self.server.options().fast_path {
            match self.try_answer(request).await {
                Ok(response) => return response,
                Err(request) => request,
            }
        } else {
            request
        };
        let Ok(response) = self.endpoint.service.clone().oneshot(request).await;
        response.into_response()
    }

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
        let mut body = Vec::with_capacity(1024);
        body.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
        body.extend_from_slice(id.get().as_bytes());
        body.extend_from_slice(br#","result":"#);
        let body = match envelope.method {
            // The cached list (megabytes for a large API) is sent as it is, not copied.
            "tools/list" => Body::new(Pieces::new([body.into(), self.list()?, Bytes::from_static(b"}")])),
            // The result is written in place, after the envelope.
            _ => {
                serde_json::to_writer(&mut body, &self.call(parts, envelope.params?).await?).ok()?;
                body.push(b'}');
                Body::from(body)
            }
        };
        let json = HeaderValue::from_static("application/json");
        Some(([(header::CONTENT_TYPE, json)], body).into_response())
    }

    fn list(&self) -> Option<Bytes> {
        let filtered = self.server.auth().is_some_and(|a| a.filters_tools());
        (!filtered).then(|| self.server.tools_list_json())
    }

    /// A derived tool's call without a progress token; `None` for anything else.
    async fn call(&self, parts: &http::request::Parts, params: &RawValue) -> Option<ToolOutput> {
        let params: CallParams<'_> = serde_json::from_str(params.get()).ok()?;
        let wants_progress = params.meta.is_some_and(|m| m.get().contains("progressToken"));
        if wants_progress {
            return None;
        }
        // `None` for a custom tool, which rmcp's path runs with its client connection.
        self.server
            .call_derived(params.name, params.arguments, &parts.headers)
            .await
    }
}

/// A body of a few shared buffers, with its exact length (so it is sent with Content-Length).
struct Pieces(std::collections::VecDeque<Bytes>);

impl Pieces {
    fn new(pieces: impl IntoIterator<Item = Bytes>) -> Self {
        Self(pieces.into_iter().filter(|p| !p.is_empty()).collect())
    }
}

impl http_body::Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().0.pop_front().map(|p| Ok(http_body::Frame::data(p))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.0.iter().map(|p| p.len() as u64).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn pieces_are_sent_whole_with_their_exact_length() {
        let pieces = Pieces::new([Bytes::from("{\"a\":"), Bytes::new(), Bytes::from_static(b"[1,2]}")]);
        assert_eq!(http_body::Body::size_hint(&pieces).exact(), Some(11));
        let body = pieces.collect().await.expect("infallible").to_bytes();
        assert_eq!(&body[..], b"{\"a\":[1,2]}");
    }
}
