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

use super::McpServer;
use super::mount::nest;
use crate::mcp::{ClientMessage, channel_session, parse_client_message};

/// The largest message accepted.
const MAX_MESSAGE: usize = 4 * 1024 * 1024;

type Sessions = Arc<Mutex<HashMap<String, mpsc::Sender<ClientMessage>>>>;

#[derive(Clone)]
struct SseState {
    server: McpServer,
    sessions: Sessions,
    messages_path: String,
}

impl McpServer {
    /// Adds the legacy HTTP+SSE endpoint at `path` (e.g. `/sse`, messages at
    /// `/sse/messages/`) to `router`, behind the host guard.
    pub fn mount_sse<S>(&self, router: Router<S>, path: &str) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let base = path.trim_end_matches('/');
        let state = SseState {
            server: self.clone(),
            sessions: Sessions::default(),
            messages_path: format!("{base}/messages/"),
        };
        let endpoint = Router::new()
            .route("/", get(open_stream))
            .route("/messages", post(receive))
            .route("/messages/", post(receive))
            .with_state(state);
        let endpoint = self.protect(endpoint, base);
        nest(router, base, endpoint)
    }
}

/// Removes the session when its event stream ends (the client went away).
struct SessionGuard {
    sessions: Sessions,
    id: String,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        lock(&self.sessions).remove(&self.id);
    }
}

fn lock(sessions: &Sessions) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<ClientMessage>>> {
    sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn open_stream(State(state): State<SseState>) -> impl IntoResponse {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let session = channel_session(state.server.clone(), state.server.shutdown_token());
    lock(&state.sessions).insert(id.clone(), session.inbox);
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
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[derive(Deserialize)]
struct SessionQuery {
    session_id: Option<String>,
    #[serde(rename = "sessionId")]
    session_id_camel: Option<String>,
}

async fn receive(State(state): State<SseState>, Query(query): Query<SessionQuery>, request: Request) -> Response {
    let Some(id) = query.session_id.or(query.session_id_camel) else {
        return (StatusCode::BAD_REQUEST, "Bad Request: session_id is required\n").into_response();
    };
    let Some(mut inbox) = lock(&state.sessions).get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, "Not Found: unknown or closed session\n").into_response();
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_MESSAGE).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large\n").into_response();
    };
    let message = match parse_client_message(&body, parts) {
        Ok(message) => message,
        Err(parse_error) => {
            return (
                StatusCode::BAD_REQUEST,
                [(http::header::CONTENT_TYPE, "application/json")],
                parse_error,
            )
                .into_response();
        }
    };
    match inbox.send(message).await {
        Ok(()) => (StatusCode::ACCEPTED, "Accepted").into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "Not Found: the session has ended\n").into_response(),
    }
}
