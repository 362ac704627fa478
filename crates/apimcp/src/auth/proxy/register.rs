//! `/oauth/register`: RFC 7591 dynamic registration of a public client (no secret: apimcp's
//! secret for the provider is never handed out), rate limited.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;

use super::error::{NO_STORE, TokenError};
use super::registration::{RegistrationRequest, RegistrationResponse};
use super::{CLIENT, Proxy, Registration};
use crate::auth::types::ClientId;

pub(super) async fn register(State(proxy): State<Arc<Proxy>>, body: Bytes) -> Result<Response, TokenError> {
    proxy.check_registration_open()?;
    let request = RegistrationRequest::parse(&body)?;
    let mut response = request.response(ClientId::new(""), seconds_since_epoch())?;
    proxy.allowed_redirects.check(&response.redirect_uris)?;
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

impl Proxy {
    /// Registration must be on, and under its rate (which every attempt counts against).
    fn check_registration_open(&self) -> Result<(), TokenError> {
        if !self.registration {
            return Err(TokenError::RegistrationOff);
        }
        let mut bucket = self
            .registrations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        bucket
            .take()
            .map_err(|retry_after| TokenError::TooManyRequests { retry_after })
    }
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

/// A token bucket: `per_minute` registrations, refilled continuously.
pub(super) struct Bucket {
    per_minute: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub(super) fn new(per_minute: u32) -> Self {
        let per_minute = f64::from(per_minute.max(1));
        Self {
            per_minute,
            tokens: per_minute,
            at: Instant::now(),
        }
    }

    /// Whether one more is allowed now; else how long until it is.
    fn take(&mut self) -> Result<(), Duration> {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.per_minute / 60.0;
        self.tokens = (self.tokens + refill).min(self.per_minute);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) * 60.0 / self.per_minute))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_rate_limited() {
        let mut bucket = Bucket::new(2);
        assert!(bucket.take().is_ok());
        assert!(bucket.take().is_ok());
        let wait = bucket.take().expect_err("the third in the same instant waits");
        assert!(
            wait > Duration::from_secs(20) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
    }
}
