//! The legacy HTTP+SSE transport (MCP 2024-11-05), which rmcp dropped and FastAPI-MCP's
//! `mount_sse()` serves: `GET {path}` opens the event stream and sends the `endpoint` event;
//! `POST {path}/messages/?session_id=...` carries the client's messages.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use http::StatusCode;
use serde::Deserialize;

use super::http::nest;
use super::refusal::Refusal;
use super::wire::{Envelope, MAX_BODY, Malformed};
use crate::auth::AuthState;
use crate::mcp::{ClientMessage, channel_session, parse_client_message};
use crate::server::McpServer;

type Sessions = Arc<Mutex<HashMap<String, Session>>>;

/// A live legacy session: its inbox, and who opened it ([`crate::auth::Principal::owner`]).
#[derive(Clone)]
struct Session {
    inbox: mpsc::Sender<ClientMessage>,
    principal: Option<Arc<str>>,
}

#[derive(Clone)]
struct SseState {
    server: McpServer,
    sessions: Sessions,
    messages_path: String,
    auth: Option<AuthState>,
}

impl McpServer {
    /// Adds the legacy HTTP+SSE endpoint at `path` (e.g. `/sse`, messages at
    /// `/sse/messages/`) to `router`, behind the host guard.
    pub fn mount_sse<S>(&self, router: Router<S>, path: &str) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let base = path.trim_end_matches('/');
        let auth = self.auth_state(base);
        let state = SseState {
            server: self.clone(),
            sessions: Sessions::default(),
            messages_path: format!("{base}/messages/"),
            auth: auth.clone(),
        };
        let endpoint = Router::new()
            .route("/", get(open_stream))
            .route("/messages", post(receive))
            .route("/messages/", post(receive))
            .with_state(state);
        let endpoint = self.protect(endpoint, auth.as_ref());
        nest(router, base, endpoint)
    }
}

/// Removes the session when its event stream ends (the client went away); the sessions gauge
/// counts it while it lives.
struct SessionGuard {
    sessions: Sessions,
    id: String,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        lock(&self.sessions).remove(&self.id);
        crate::telemetry::session_closed();
    }
}

fn lock(sessions: &Sessions) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
    sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn open_stream(State(state): State<SseState>, request: Request) -> Response {
    if let Some(auth) = &state.auth
        && let Some(refusal) = auth.refuse_call(None, request.extensions(), request.headers())
    {
        return refusal;
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let session = channel_session(state.server.clone(), state.server.shutdown_token());
    let principal = crate::auth::request_owner(request.extensions()).map(Arc::from);
    let entry = Session {
        inbox: session.inbox,
        principal,
    };
    lock(&state.sessions).insert(id.clone(), entry);
    crate::telemetry::session_opened();
    let guard = SessionGuard {
        sessions: state.sessions.clone(),
        id: id.clone(),
    };
    let endpoint = Event::default()
        .event("endpoint")
        .data(format!("{}?session_id={id}", state.messages_path));
    let messages = session.outbox.map(move |json| {
        let _alive = &guard;
        Ok::<_, Infallible>(Event::default().event("message").data(json))
    });
    let stream = futures::stream::once(async move { Ok(endpoint) }).chain(messages);
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

#[derive(Deserialize)]
struct SessionQuery {
    session_id: Option<String>,
    #[serde(rename = "sessionId")]
    session_id_camel: Option<String>,
}

async fn receive(State(state): State<SseState>, Query(query): Query<SessionQuery>, request: Request) -> Response {
    match deliver(&state, query, request).await {
        Ok(()) => (StatusCode::ACCEPTED, "Accepted").into_response(),
        Err(refusal) => refusal,
    }
}

/// Reads, checks and hands one message to its session.
async fn deliver(state: &SseState, query: SessionQuery, request: Request) -> Result<(), Response> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| Refusal::TooLarge { limit: MAX_BODY }.into_response())?;
    let envelope = Envelope::read(&body).map_err(|e| Refusal::from(e).into_response())?;
    if let Some(auth) = &state.auth
        && let Some(refusal) = auth.refuse_call(envelope.tool_for(&state.server), &parts.extensions, &parts.headers)
    {
        return Err(refusal);
    }
    let principal = crate::auth::request_owner(&parts.extensions);
    let mut inbox = state.inbox(query, principal).map_err(IntoResponse::into_response)?;
    let message = parse_client_message(&body, parts).ok_or_else(|| {
        let problem = "the message is not an MCP message this server reads (check `method`, `id` and `params`)";
        Refusal::from(Malformed::Invalid { problem }).into_response()
    })?;
    inbox
        .send(message)
        .await
        .map_err(|_| Refusal::UnknownSession.into_response())
}

impl SseState {
    /// The inbox of the session the query names, if `principal` opened it (another's session
    /// is answered as unknown).
    fn inbox(&self, query: SessionQuery, principal: Option<&str>) -> Result<mpsc::Sender<ClientMessage>, Refusal> {
        let Some(id) = query.session_id.or(query.session_id_camel) else {
            return Err(Refusal::Transport {
                status: StatusCode::BAD_REQUEST,
                message: "Bad Request: session_id is required (the endpoint event gives the URL)".to_owned(),
            });
        };
        let session = lock(&self.sessions).get(&id).cloned();
        session
            .filter(|session| session.principal.as_deref() == principal)
            .map(|session| session.inbox)
            .ok_or(Refusal::UnknownSession)
    }
}
