//! rmcp's transports, wrapped: the Streamable HTTP service with its session manager, stdio, and
//! a session over channels for the hand-written legacy SSE transport.

use std::net::IpAddr;
use std::sync::Arc;

use futures::StreamExt;
use futures::channel::mpsc;
use futures::stream::BoxStream;
use rmcp::ServiceExt;
use rmcp::model::{ClientJsonRpcMessage, GetExtensions, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::Handler;
use super::sessions::{BoundedSessions, Limits, SessionsFull};
use crate::server::McpServer;

/// The Streamable HTTP endpoint: rmcp's service on bounded sessions, and a way to ask whether
/// a session exists (for the fast path, which answers plain tool calls itself).
pub(crate) struct HttpEndpoint {
    pub(crate) service: StreamableHttpService<Handler, BoundedSessions>,
    sessions: Arc<BoundedSessions>,
}

impl HttpEndpoint {
    /// Whether `id` names a live session.
    pub(crate) async fn has_session(&self, id: &str) -> bool {
        use rmcp::transport::streamable_http_server::SessionManager;
        self.sessions.has_session(&Arc::from(id)).await.unwrap_or(false)
    }

    /// Room for a new session from `address`, or why there is none.
    pub(crate) async fn admit(&self, address: Option<IpAddr>) -> Result<(), SessionsFull> {
        self.sessions.admit(address).await
    }

    /// Records who opened session `id`: the client's address and principal.
    pub(crate) fn opened_by(&self, id: &str, address: Option<IpAddr>, principal: Option<&str>) {
        self.sessions.opened_by(id, address, principal);
    }

    /// Ends session `id` (a `DELETE` rmcp accepted).
    pub(crate) async fn end(&self, id: &str) {
        self.sessions.end(&Arc::from(id)).await;
    }

    /// Whether session `id` belongs to another principal than `principal`.
    pub(crate) fn foreign(&self, id: &str, principal: Option<&str>) -> bool {
        self.sessions.foreign(id, principal)
    }
}

/// The Streamable HTTP endpoint for `server`.
pub(crate) fn streamable_http(server: &McpServer, cancel: CancellationToken) -> HttpEndpoint {
    let options = server.options();
    let mut local = LocalSessionManager::default();
    local.session_config.keep_alive = Some(options.session_idle);
    let limits = Limits {
        max: options.max_sessions,
        max_per_address: options.max_sessions_per_address,
        idle: options.session_idle,
    };
    let handler = Handler::new(server.clone());
    let sessions = BoundedSessions::new(local, limits, handler.clone(), cancel.clone());
    let sessions = Arc::new(sessions);
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_legacy_session_mode(!options.stateless)
        // JSON whenever the answer is one message: 2026-07-28 requests are served without a
        // session even here, and clients cap an SSE event (the Python SDK at 1 MiB).
        .with_json_response(true)
        .with_cancellation_token(cancel);
    let service = StreamableHttpService::new(move || Ok(handler.for_session()), sessions.clone(), config);
    HttpEndpoint { service, sessions }
}

/// The protocol versions rmcp speaks, newest last.
pub(crate) fn known_protocol_versions() -> Vec<String> {
    rmcp::model::ProtocolVersion::KNOWN_VERSIONS
        .iter()
        .map(|v| v.to_string())
        .collect()
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
/// Streamable HTTP transport does, so tool calls see the request's headers. `None` when rmcp's
/// types cannot read it (the envelope was checked before).
pub(crate) fn parse_client_message(body: &[u8], parts: http::request::Parts) -> Option<ClientMessage> {
    let mut message: ClientJsonRpcMessage = serde_json::from_slice(body).ok()?;
    match &mut message {
        ClientJsonRpcMessage::Request(r) => {
            r.request.extensions_mut().insert(parts);
        }
        ClientJsonRpcMessage::Notification(n) => {
            n.notification.extensions_mut().insert(parts);
        }
        _ => {}
    }
    Some(ClientMessage(message))
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
    let outbox = outbox.map(|m| serde_json::to_string(&m).unwrap_or_default()).boxed();
    ChannelSession { inbox, outbox }
}
