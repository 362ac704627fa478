//! The fast path: plain `tools/call` and `tools/list` requests answered in the HTTP task, with
//! the same tool logic ([`McpServer::call_tool`]) and the same checks as rmcp's service, which
//! gets everything else: initialize, notifications, GET and DELETE, unknown or missing
//! sessions, 2026-07-28 requests, calls that want progress, custom tools (they may talk back
//! to the client), and anything malformed, so errors are rmcp's own.
//!
//! The host guard and the bearer check are layers outside; the per-call scope check is here,
//! on the envelope the fast path reads too ([`super::wire`]), so a body is read and parsed once.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, header};
use tower::ServiceExt;

use super::refusal::{Refusal, by_the_book, check_accept, check_content_type};
use super::wire::{CallParams, Envelope, MAX_BODY};
use crate::auth::AuthState;
use crate::call::ToolOutput;
use crate::mcp::HttpEndpoint;
use crate::server::McpServer;

/// From this revision on, requests carry their lifecycle in `_meta`: rmcp's job.
const STATELESS_REVISION: &str = "2026-07-28";

/// The Streamable HTTP endpoint as a tower service: the per-call scope check when auth is on,
/// then the fast path when it is on, then rmcp's service for the rest.
#[derive(Clone)]
pub(super) struct Endpoint(Arc<FastPath>);

struct FastPath {
    server: McpServer,
    endpoint: HttpEndpoint,
    auth: Option<AuthState>,
    versions: Vec<String>,
}

impl Endpoint {
    pub(super) fn new(server: &McpServer, endpoint: HttpEndpoint, auth: Option<AuthState>) -> Self {
        Self(Arc::new(FastPath {
            server: server.clone(),
            endpoint,
            auth,
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

impl FastPath {
    async fn handle(&self, request: Request) -> Response {
        if self.foreign_session(&request) {
            return Refusal::UnknownSession.into_response();
        }
        if request.method() == Method::POST {
            return self.post(request).await.unwrap_or_else(|refusal| refusal);
        }
        if let Some(auth) = &self.auth
            && let Some(refusal) = auth.refuse_call(None, request.extensions(), request.headers())
        {
            return refusal;
        }
        self.rmcp(request, false).await
    }

    /// A message: its headers and body checked here (so every refusal is a JSON-RPC error),
    /// then the scope check, then the fast path or rmcp.
    async fn post(&self, request: Request) -> Result<Response, Response> {
        let (parts, body) = request.into_parts();
        // The body is read before the headers are judged: a refusal that left it unread would
        // cost the client its connection (hyper closes it), and the next request on it.
        let bytes = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|_| Refusal::TooLarge { limit: MAX_BODY }.into_response())?;
        check_accept(&parts.headers).map_err(IntoResponse::into_response)?;
        check_content_type(&parts.headers).map_err(IntoResponse::into_response)?;
        let envelope = Envelope::read(&bytes).map_err(|e| Refusal::from(e).into_response())?;
        if let Some(auth) = &self.auth
            && let Some(refusal) = auth.refuse_call(envelope.tool_for(&self.server), &parts.extensions, &parts.headers)
        {
            return Err(refusal);
        }
        let opens_session = self.opens_session(&parts.headers, &envelope);
        if self.plain_post(&parts.headers)
            && let Some(response) = self.answer(&parts, envelope).await
        {
            return Ok(response);
        }
        let address = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        if opens_session && let Err(full) = self.endpoint.admit(address).await {
            let wait = full.retry_after();
            let retry_after = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
            return Err(Refusal::Busy {
                reason: full.to_string(),
                retry_after,
            }
            .into_response());
        }
        let principal = crate::auth::request_owner(&parts.extensions).map(str::to_owned);
        let response = self.rmcp(Request::from_parts(parts, Body::from(bytes)), true).await;
        if opens_session && let Some(id) = response.headers().get("mcp-session-id") {
            let id = id.to_str().unwrap_or_default();
            self.endpoint.opened_by(id, address, principal.as_deref());
        }
        Ok(response)
    }

    /// The request names a session another principal opened: it is answered as if the session
    /// did not exist, so a session id alone is worth nothing to anyone else.
    fn foreign_session(&self, request: &Request) -> bool {
        let id = request.headers().get("mcp-session-id").and_then(|v| v.to_str().ok());
        id.is_some_and(|id| {
            self.endpoint
                .foreign(id, crate::auth::request_owner(request.extensions()))
        })
    }

    /// An `initialize` outside a session, in stateful mode: it opens one.
    fn opens_session(&self, headers: &HeaderMap, envelope: &Envelope<'_>) -> bool {
        !self.server.options().stateless && envelope.method() == "initialize" && !headers.contains_key("mcp-session-id")
    }

    /// rmcp's answer, its refusals by the book.
    async fn rmcp(&self, request: Request, content_type_checked: bool) -> Response {
        let Ok(response) = self.endpoint.service.clone().oneshot(request).await;
        by_the_book(response.into_response(), content_type_checked).await
    }

    /// The fast path is on, and the protocol version is one rmcp knows, before 2026-07-28 (the
    /// media types are checked already).
    fn plain_post(&self, headers: &HeaderMap) -> bool {
        let version = headers
            .get("mcp-protocol-version")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let version_ok =
            version.is_empty() || (version < STATELESS_REVISION && self.versions.iter().any(|v| v == version));
        self.server.options().fast_path && version_ok
    }

    async fn answer(&self, parts: &Parts, envelope: Envelope<'_>) -> Option<Response> {
        let id = envelope.request_id()?;
        if !matches!(envelope.method(), "tools/call" | "tools/list") || !self.in_session(parts).await {
            return None;
        }
        let mut body = Vec::with_capacity(1024);
        body.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
        body.extend_from_slice(id.get().as_bytes());
        body.extend_from_slice(br#","result":"#);
        let body = match envelope.call {
            // The result is written in place, after the envelope.
            Some(call) => {
                serde_json::to_writer(&mut body, &self.call(parts, call).await?).ok()?;
                body.push(b'}');
                Body::from(body)
            }
            // The cached list (megabytes for a large API) is sent as it is, not copied.
            None if envelope.method() == "tools/list" => {
                Body::new(Pieces::new([body.into(), self.list()?, Bytes::from_static(b"}")]))
            }
            None => return None,
        };
        let json = HeaderValue::from_static("application/json");
        Some(([(header::CONTENT_TYPE, json)], body).into_response())
    }

    /// Stateless, or a live session of rmcp's (which answers unknown sessions itself).
    async fn in_session(&self, parts: &Parts) -> bool {
        if self.server.options().stateless {
            return true;
        }
        let session = parts.headers.get("mcp-session-id").and_then(|v| v.to_str().ok());
        match session {
            Some(id) => self.endpoint.has_session(id).await,
            None => false,
        }
    }

    fn list(&self) -> Option<Bytes> {
        (!self.server.filters_tools()).then(|| self.server.tools_list_json())
    }

    /// A derived tool's call without a progress token; `None` for anything else.
    async fn call(&self, parts: &Parts, call: CallParams<'_>) -> Option<ToolOutput> {
        if call.wants_progress() {
            return None;
        }
        // `None` for a custom tool, which rmcp's path runs with its client connection.
        self.server
            .call_derived(
                &call.name,
                call.arguments,
                &parts.headers,
                parts.extensions.get(),
                call.meta,
            )
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
