//! `/oauth/register`: RFC 7591 dynamic registration of a public client (no secret: apimcp's
//! secret for the provider is never handed out), rate limited.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{Extensions, HeaderMap, StatusCode};

use super::error::{NO_STORE, TokenError};
use super::limits::Action;
use super::registration::{RegistrationRequest, RegistrationResponse};
use super::{CLIENT, Proxy, Registration};
use crate::auth::types::ClientId;

pub(super) async fn register(
    State(proxy): State<Arc<Proxy>>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Result<Response, TokenError> {
    if !proxy.registration {
        return Err(TokenError::RegistrationOff);
    }
    let request = RegistrationRequest::parse(&body)?;
    let mut response = request.response(ClientId::new(""), seconds_since_epoch())?;
    proxy.allowed_redirects.check(&response.redirect_uris)?;
    // Only a registration that would succeed counts against its sender's budget: garbage
    // costs nobody anything.
    proxy.spend(Action::Register, &headers, &extensions).await?;
    // The client id is the registration, sealed: no store holds it, so no flood of
    // registrations can push it out, and it outlives restarts.
    let registration = Registration {
        client_name: response.client_name.clone(),
        redirect_uris: response.redirect_uris.clone(),
    };
    response.client_id = ClientId::new(proxy.keys.seal(CLIENT, &registration, None));
    log_registration(&response, &request);
    Ok((StatusCode::CREATED, NO_STORE, Json(response)).into_response())
}

fn seconds_since_epoch() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn log_registration(response: &RegistrationResponse, request: &RegistrationRequest) {
    tracing::info!(client = %response.client_id, "registered a client");
    if !request.extra.is_empty() {
        let members: Vec<&String> = request.extra.keys().collect();
        tracing::debug!(client = %response.client_id, ?members, "client metadata apimcp does not use");
    }
}
