//! The axum middleware in front of the MCP endpoints: the user's checks, the bearer token,
//! per-call scopes; an identity in the request extensions, or a ready-made 401/403.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, header};
use serde::Deserialize;

use super::metadata::{canonical_resource, metadata_urls};
use super::{AuthConfig, AuthRejection, BearerToken, Principal, VerifyError};

/// The largest JSON-RPC body read to find the tool being called.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// The scopes a tool needs according to the OpenAPI document, by tool name.
pub(crate) type DocumentScopes = Arc<dyn Fn(&str) -> Vec<Vec<String>> + Send + Sync>;

/// What the middleware needs: the configuration, where the endpoint is, and the tools' scopes.
#[derive(Clone)]
pub(crate) struct AuthState {
    pub(crate) config: Arc<AuthConfig>,
    pub(crate) verifier: Option<Arc<dyn super::TokenVerifier>>,
    pub(crate) path: String,
    pub(crate) public_url: Option<String>,
    pub(crate) trust_forwarded: bool,
    pub(crate) document_scopes: DocumentScopes,
}

impl AuthState {
    /// The canonical URL of the endpoint, for this request: the configured resource, else
    /// `public_url` + path, else the request's own host (trusting `X-Forwarded-*` only when
    /// told to).
    pub(crate) fn resource(&self, headers: &HeaderMap) -> String {
        if let Some(resource) = &self.config.resource {
            return resource.clone();
        }
        let base = self.public_url.clone().unwrap_or_else(|| self.request_base(headers));
        canonical_resource(&base, &self.path).unwrap_or(base)
    }

    fn request_base(&self, headers: &HeaderMap) -> String {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').next().unwrap_or("").trim().to_owned())
        };
        let forwarded = |name: &str| if self.trust_forwarded { get(name) } else { None };
        let scheme = forwarded("x-forwarded-proto").unwrap_or_else(|| "http".into());
        let host = forwarded("x-forwarded-host")
            .or_else(|| get("host"))
            .unwrap_or_else(|| "localhost".into());
        format!("{scheme}://{host}")
    }

    /// The path-inserted metadata URL, the one challenges point at.
    pub(crate) fn metadata_url(&self, headers: &HeaderMap) -> String {
        metadata_urls(&self.resource(headers)).1
    }

    fn reject(&self, rejection: AuthRejection, headers: &HeaderMap) -> Response {
        let scopes = if self.config.rules.required.is_empty() {
            self.config
                .scopes_supported
                .iter()
                .filter(|s| s.as_str() != "offline_access")
                .cloned()
                .collect()
        } else {
            self.config.rules.required.clone()
        };
        rejection
            .with_scopes(scopes)
            .with_metadata(self.metadata_url(headers))
            .into_response()
    }
}

/// The bearer token of the `Authorization` header. Tokens are never taken from the query.
fn bearer(headers: &HeaderMap) -> Option<BearerToken> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| BearerToken::new(token.trim()))
}

#[derive(Deserialize)]
struct Call {
    method: Option<String>,
    params: Option<CallParams>,
}

#[derive(Deserialize)]
struct CallParams {
    name: Option<String>,
}

pub(crate) async fn authenticate(State(state): State<AuthState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let mut principal: Option<Principal> = None;
    for check in &state.config.dependencies {
        match check(parts.clone()).await {
            Ok(Some(found)) => principal = Some(found),
            Ok(None) => {}
            Err(rejection) => return state.reject(rejection, &parts.headers),
        }
    }
    if let Some(verifier) = &state.verifier {
        match bearer(&parts.headers) {
            Some(token) => match verify(verifier.as_ref(), &token).await {
                Ok(found) => principal = Some(found),
                Err(rejection) => return state.reject(rejection, &parts.headers),
            },
            None if state.config.optional => {}
            None => {
                let rejection = AuthRejection::unauthorized("this MCP server requires a bearer token");
                return state.reject(rejection, &parts.headers);
            }
        }
    }
    let (body, tool) = match tool_called(&parts.method, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Some(rejection) = scope_rejection(&state, tool.as_deref(), principal.as_ref()) {
        return state.reject(rejection, &parts.headers);
    }
    if let Some(principal) = principal {
        tracing::debug!(subject = ?principal.subject, client = ?principal.client_id, "authorized");
        parts.extensions.insert(principal);
    }
    next.run(Request::from_parts(parts, body)).await
}

/// 403 when the token lacks a scope the call needs (401 when there is no token at all).
fn scope_rejection(state: &AuthState, tool: Option<&str>, principal: Option<&Principal>) -> Option<AuthRejection> {
    let rules = &state.config.rules;
    let needed = match tool {
        Some(name) => rules.for_tool(name, &(state.document_scopes)(name)),
        None => rules.for_tool("", &[]),
    };
    let granted = principal.map(|p| p.scopes.clone()).unwrap_or_default();
    let missing = rules.missing(&granted, &needed)?;
    Some(match principal {
        Some(_) => AuthRejection::insufficient_scope(missing),
        None => AuthRejection::unauthorized("this call requires a bearer token").with_scopes(missing),
    })
}

async fn verify(verifier: &dyn super::TokenVerifier, token: &BearerToken) -> Result<Principal, AuthRejection> {
    match verifier.verify(token).await {
        Ok(found) => Ok(found),
        Err(VerifyError::Invalid(why)) => {
            tracing::info!(reason = %why, "refused a bearer token");
            Err(AuthRejection::invalid_token(why))
        }
        Err(VerifyError::Unavailable(why)) => {
            tracing::warn!(reason = %why, "cannot check a bearer token");
            Err(AuthRejection::unavailable(why))
        }
    }
}

/// Reads a POST body to find `tools/call`'s tool name, and gives the body back.
async fn tool_called(method: &Method, body: axum::body::Body) -> Result<(axum::body::Body, Option<String>), Response> {
    if method != Method::POST {
        return Ok((body, None));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| (http::StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large").into_response())?;
    let tool = serde_json::from_slice::<Call>(&bytes)
        .ok()
        .filter(|c| c.method.as_deref() == Some("tools/call"))
        .and_then(|c| c.params?.name);
    Ok((axum::body::Body::from(bytes), tool))
}
