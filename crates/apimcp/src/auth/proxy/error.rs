//! How the proxy's endpoints answer a failure. The token, registration and metadata endpoints
//! answer RFC 6749 §5.2 JSON. The authorization side shows an error page while the client's
//! redirect URI is not trusted yet, and afterwards sends the person back to the client with an
//! OAuth error (RFC 6749 §4.1.2.1).

use std::time::Duration;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode, header};
use serde::Serialize;
use url::Url;

use super::limits::SpendError;
use super::page::{error_page, redirect};
use super::params::RepeatedParam;
use super::provider::ProviderError;
use super::{AuthRequest, LookupError, Proxy, StoreError};

/// The headers of every token and registration answer (RFC 6749 §5.1).
pub(super) const NO_STORE: [(HeaderName, &str); 2] =
    [(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")];

/// How long a client waits before asking again when the store or the provider is down.
const RETRY_UNAVAILABLE: HeaderValue = HeaderValue::from_static("5");

/// A failure at the token, registration or metadata endpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(super) enum TokenError {
    /// 400 `invalid_request`: a parameter is missing or repeated.
    #[error("{description}")]
    InvalidRequest { description: String },
    /// 413 `invalid_request`: the token request is over [`MAX_FORM`](super::params::MAX_FORM).
    #[error("the request is too large")]
    TooLarge,
    /// 401 `invalid_client`: no client, or one that is not registered here.
    #[error("{description}")]
    InvalidClient { description: String },
    /// 400 `invalid_grant`: the code or refresh token is not good for this client.
    #[error("{description}")]
    InvalidGrant { description: String },
    /// 400 `invalid_scope`: the provider refused the scopes of a refresh.
    #[error("{description}")]
    InvalidScope { description: String },
    /// 400 `unsupported_grant_type`.
    #[error("{description}")]
    UnsupportedGrantType { description: String },
    /// 400 `invalid_client_metadata` (RFC 7591 §3.2.2).
    #[error("{description}")]
    InvalidClientMetadata { description: String },
    /// 400 `invalid_redirect_uri` (RFC 7591 §3.2.2).
    #[error("{description}")]
    InvalidRedirectUri { description: String },
    /// 404 `invalid_request`: dynamic registration is off.
    #[error("dynamic registration is off")]
    RegistrationOff,
    /// 429 `too_many_requests`, with `Retry-After`.
    #[error("too many requests from this address; try again later")]
    TooManyRequests { retry_after: Duration },
    /// 503 `temporarily_unavailable`, with `Retry-After`: the store or the provider is down.
    #[error("{description}")]
    Unavailable { description: String },
}

/// The RFC 6749 §5.2 body.
#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    error_description: String,
}

impl TokenError {
    /// `invalid_request` for `description`.
    pub(super) fn invalid_request(description: impl Into<String>) -> Self {
        Self::InvalidRequest {
            description: description.into(),
        }
    }

    /// `invalid_grant` for `description`.
    pub(super) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::InvalidGrant {
            description: description.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidRequest { .. } => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
            Self::InvalidClient { .. } => (StatusCode::UNAUTHORIZED, "invalid_client"),
            Self::InvalidGrant { .. } => (StatusCode::BAD_REQUEST, "invalid_grant"),
            Self::InvalidScope { .. } => (StatusCode::BAD_REQUEST, "invalid_scope"),
            Self::UnsupportedGrantType { .. } => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            Self::InvalidClientMetadata { .. } => (StatusCode::BAD_REQUEST, "invalid_client_metadata"),
            Self::InvalidRedirectUri { .. } => (StatusCode::BAD_REQUEST, "invalid_redirect_uri"),
            Self::RegistrationOff => (StatusCode::NOT_FOUND, "invalid_request"),
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Self::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
        }
    }
}

/// The JSON error; `no-store` on all but a 503, which says when to come back instead.
impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let (status, error) = self.status_and_code();
        let body = Json(ErrorBody {
            error,
            error_description: self.to_string(),
        });
        match self {
            Self::Unavailable { .. } => (status, [(header::RETRY_AFTER, RETRY_UNAVAILABLE)], body).into_response(),
            Self::TooManyRequests { retry_after } => {
                let seconds = HeaderValue::from(retry_after.as_secs().max(1));
                (status, NO_STORE, [(header::RETRY_AFTER, seconds)], body).into_response()
            }
            _ => (status, NO_STORE, body).into_response(),
        }
    }
}

impl From<SpendError> for TokenError {
    fn from(error: SpendError) -> Self {
        match error {
            SpendError::Limited(limited) => Self::TooManyRequests {
                retry_after: limited.retry_after,
            },
            SpendError::Store(error) => error.into(),
        }
    }
}

impl From<RepeatedParam> for TokenError {
    fn from(error: RepeatedParam) -> Self {
        Self::invalid_request(error.to_string())
    }
}

impl From<StoreError> for TokenError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable {
            description: store_down(&error).into(),
        }
    }
}

/// What a client is told when the store fails (what failed goes to the log, not to it).
fn store_down(error: &StoreError) -> &'static str {
    tracing::warn!(%error, "the OAuth proxy's store is unavailable");
    STORE_DOWN
}

/// The description of a 503 for a store that failed.
const STORE_DOWN: &str = "the authorization server's store is unavailable; try again shortly";

/// A client whose metadata document cannot be used is `invalid_client`.
impl From<LookupError> for TokenError {
    fn from(error: LookupError) -> Self {
        match error {
            LookupError::Store(error) => error.into(),
            LookupError::Document(error) => Self::InvalidClient {
                description: error.to_string(),
            },
        }
    }
}

/// The provider's answer to a refresh: down, or refusing the token or its scopes.
impl From<ProviderError> for TokenError {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::Unavailable { reason } => Self::Unavailable { description: reason },
            ProviderError::Refused { error, description } => {
                let description = description.unwrap_or_else(|| "the provider refused the refresh token".into());
                if error == "invalid_scope" {
                    Self::InvalidScope { description }
                } else {
                    Self::InvalidGrant { description }
                }
            }
        }
    }
}

/// An OAuth error for the client (RFC 6749 §4.1.2.1), once its redirect URI is trusted.
#[derive(Debug)]
pub(super) struct Denied {
    /// The `error` code.
    pub(super) error: &'static str,
    /// The `error_description`.
    pub(super) description: String,
}

impl Denied {
    pub(super) fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }
}

impl From<RepeatedParam> for Denied {
    fn from(error: RepeatedParam) -> Self {
        Self::new("invalid_request", error.to_string())
    }
}

/// Why an authorization stops.
#[derive(Debug)]
pub(super) enum Refusal {
    /// An error page: the redirect URI is not trusted (yet), or nothing can go back.
    Page {
        status: StatusCode,
        title: &'static str,
        detail: String,
    },
    /// Back to the client with an OAuth error.
    Redirect { back: Back, denied: Denied },
}

impl Refusal {
    pub(super) fn page(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self::Page {
            status,
            title,
            detail: detail.into(),
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        Self::page(StatusCode::SERVICE_UNAVAILABLE, "Try again later", store_down(&error))
    }
}

/// Over the rate limit: a page saying when to come back.
impl From<SpendError> for Refusal {
    fn from(error: SpendError) -> Self {
        match error {
            SpendError::Limited(limited) => Self::page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                format!(
                    "temporarily_unavailable: too many authorization requests from this address; try again in {} s",
                    limited.retry_after.as_secs().max(1)
                ),
            ),
            SpendError::Store(error) => error.into(),
        }
    }
}

/// Before the client is known there is no redirect URI to go back to: a page, which names
/// the OAuth error.
impl From<LookupError> for Refusal {
    fn from(error: LookupError) -> Self {
        match error {
            LookupError::Store(error) => error.into(),
            LookupError::Document(error) => Self::page(
                StatusCode::BAD_REQUEST,
                "Invalid client",
                format!("invalid_client: {error}"),
            ),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Page { status, title, detail } => error_page(status, title, &detail),
            Self::Redirect { back, denied } => {
                back.with(&[("error", denied.error), ("error_description", &denied.description)])
            }
        }
    }
}

/// The way back to the client: its redirect URI, its `state`, and apimcp's `iss` (RFC 9207).
#[derive(Debug)]
pub(super) struct Back {
    /// 302, or 303 after the consent form's POST.
    status: StatusCode,
    redirect_uri: String,
    state: Option<String>,
    issuer: String,
}

impl Proxy {
    /// The way back to the client of `request`, answered with `status`.
    pub(super) fn back(&self, request: &AuthRequest, status: StatusCode) -> Back {
        Back {
            status,
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            issuer: self.issuer.as_str().to_owned(),
        }
    }
}

impl Back {
    /// Sends the person back with `pairs` (a code or an error).
    pub(super) fn with(self, pairs: &[(&str, &str)]) -> Response {
        let Ok(mut url) = Url::parse(&self.redirect_uri) else {
            return error_page(StatusCode::BAD_REQUEST, "Invalid redirect URI", &self.redirect_uri);
        };
        url.query_pairs_mut()
            .extend_pairs(pairs)
            .extend_pairs(self.state.as_deref().map(|state| ("state", state)))
            .append_pair("iss", &self.issuer);
        redirect(self.status, url.as_str())
    }

    /// Sends the person back with `denied`.
    pub(super) fn refuse(self, denied: Denied) -> Refusal {
        Refusal::Redirect { back: self, denied }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[tokio::test]
    async fn token_errors_are_rfc_6749_json_that_is_never_cached() {
        let response = TokenError::invalid_grant("the code was issued to another client").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::PRAGMA], "no-cache");
        assert_eq!(
            body(response).await,
            serde_json::json!({"error": "invalid_grant", "error_description": "the code was issued to another client"})
        );
    }

    #[tokio::test]
    async fn waits_are_announced_with_retry_after() {
        let limited = TokenError::TooManyRequests {
            retry_after: Duration::from_millis(300),
        }
        .into_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "1");
        assert_eq!(limited.headers()[header::CACHE_CONTROL], "no-store");
        let down = TokenError::from(StoreError::new("down")).into_response();
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(down.headers()[header::RETRY_AFTER], "5");
        assert!(down.headers().get(header::CACHE_CONTROL).is_none());
        assert_eq!(
            body(down).await,
            serde_json::json!({"error": "temporarily_unavailable", "error_description": "the authorization server's store is unavailable; try again shortly"})
        );
    }

    #[test]
    fn a_refused_refresh_keeps_the_providers_scope_error() {
        let refused = |error: &str| ProviderError::Refused {
            error: error.into(),
            description: None,
        };
        assert!(matches!(
            TokenError::from(refused("invalid_scope")),
            TokenError::InvalidScope { .. }
        ));
        let other = TokenError::from(refused("unauthorized_client"));
        assert!(matches!(other, TokenError::InvalidGrant { .. }));
        assert_eq!(other.to_string(), "the provider refused the refresh token");
    }

    #[test]
    fn the_way_back_carries_the_state_and_the_issuer() {
        let back = Back {
            status: StatusCode::SEE_OTHER,
            redirect_uri: "http://127.0.0.1:8799/cb?x=1".into(),
            state: Some("s 1".into()),
            issuer: "http://127.0.0.1:8000".into(),
        };
        let response = back.refuse(Denied::new("access_denied", "no")).into_response();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers()[header::LOCATION],
            "http://127.0.0.1:8799/cb?x=1&error=access_denied&error_description=no&state=s+1&iss=http%3A%2F%2F127.0.0.1%3A8000"
        );
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    }
}
