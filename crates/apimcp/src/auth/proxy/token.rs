//! `/oauth/token`: a client exchanges apimcp's code, after its PKCE verifier is checked, for the
//! provider's tokens; or refreshes them with a refresh token issued to it.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, header};
use serde_json::Value;

use super::error::{NO_STORE, TokenError};
use super::params::{MAX_FORM, Params, RepeatedParam};
use super::refresh::{Tokens, Use, redeemed_key};
use super::{AUTHORIZATION_TTL, IssuedCode, Proxy, RecordKind, StoreError, s256, same_secret};
use crate::auth::types::ClientId;

/// The grants apimcp's clients may use.
enum GrantType {
    AuthorizationCode,
    RefreshToken,
}

pub(super) async fn token(
    State(proxy): State<Arc<Proxy>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TokenError> {
    let params = form(&body)?;
    let client_id = client_id_of(&headers, &params)?;
    proxy.check_client(&client_id).await?;
    let mut tokens = match grant_type(&params)? {
        GrantType::AuthorizationCode => proxy.exchange_code(&client_id, &params).await?,
        GrantType::RefreshToken => proxy.refresh(&client_id, &params).await?,
    };
    // The ID token's issuer and audience are the provider's and apimcp's static client: it is
    // not for this client.
    tokens.remove("id_token");
    Ok((NO_STORE, Json(tokens)).into_response())
}

pub(super) fn form(body: &[u8]) -> Result<Params, TokenError> {
    if body.len() > MAX_FORM {
        return Err(TokenError::TooLarge);
    }
    Ok(Params::parse(body))
}

fn grant_type(params: &Params) -> Result<GrantType, TokenError> {
    match params.one("grant_type")? {
        Some("authorization_code") => Ok(GrantType::AuthorizationCode),
        Some("refresh_token") => Ok(GrantType::RefreshToken),
        Some(other) => Err(TokenError::UnsupportedGrantType {
            description: format!("grant_type {other:?} is not supported (authorization_code, refresh_token)"),
        }),
        None => Err(TokenError::invalid_request("grant_type is missing")),
    }
}

/// The parameter `name`, which the request must have.
pub(super) fn required<'a>(params: &'a Params, name: &str, missing: &str) -> Result<&'a str, TokenError> {
    params.one(name)?.ok_or_else(|| TokenError::invalid_request(missing))
}

impl Proxy {
    pub(super) async fn check_client(&self, client_id: &ClientId) -> Result<(), TokenError> {
        match self.client(client_id).await? {
            Some(_) => Ok(()),
            None => Err(TokenError::InvalidClient {
                description: "this client is not registered here".into(),
            }),
        }
    }

    async fn exchange_code(&self, client_id: &ClientId, params: &Params) -> Result<Tokens, TokenError> {
        let code = required(params, "code", "code is missing")?;
        let verifier = required(params, "code_verifier", "code_verifier is missing: PKCE is required")?;
        let redirect_uri = params.one("redirect_uri")?;
        let Some(issued) = self.take_locked::<IssuedCode>(RecordKind::Code, code).await? else {
            self.revoke_replayed(code).await?;
            return Err(TokenError::invalid_grant(
                "the code is unknown, expired or already used",
            ));
        };
        issued.check(client_id, redirect_uri, verifier)?;
        let mut tokens = issued.tokens;
        tokens.remove("id_token");
        let family = self.start_family(&tokens, client_id).await?;
        self.store
            .put(
                RecordKind::Code,
                &redeemed_key(code),
                Value::String(family),
                AUTHORIZATION_TTL,
            )
            .await?;
        Ok(tokens)
    }

    /// A code presented again after it was redeemed revokes what it issued (RFC 6749 §4.1.2).
    async fn revoke_replayed(&self, code: &str) -> Result<(), StoreError> {
        if let Some(Value::String(family)) = self.store.get(RecordKind::Code, &redeemed_key(code)).await? {
            tracing::warn!("a redeemed code was presented again: the tokens it issued are revoked");
            self.revoke_family(&family).await?;
        }
        Ok(())
    }

    async fn refresh(&self, client_id: &ClientId, params: &Params) -> Result<Tokens, TokenError> {
        let refresh = required(params, "refresh_token", "refresh_token is missing")?;
        let family = match self.use_refresh(refresh, client_id).await? {
            Use::Again(tokens) => return Ok(tokens),
            Use::Refresh { family } => family,
        };
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
        if let Ok(Some(scope)) = params.one("scope") {
            form.push(("scope", scope));
        }
        let answered = self.provider.token(&form).await;
        let rotated = match &answered {
            Ok(tokens) => self.rotate(refresh, client_id, &family, tokens).await,
            Err(_) => Ok(()),
        };
        self.release_refresh(refresh).await?;
        rotated?;
        let mut tokens = answered?;
        tokens.remove("id_token");
        Ok(tokens)
    }
}

impl IssuedCode {
    /// The code is good for this client, its redirect URI and its PKCE verifier only.
    fn check(&self, client_id: &ClientId, redirect_uri: Option<&str>, verifier: &str) -> Result<(), TokenError> {
        if self.client_id != *client_id {
            return Err(TokenError::invalid_grant("the code was issued to another client"));
        }
        if redirect_uri.is_some_and(|uri| uri != self.redirect_uri) {
            return Err(TokenError::invalid_grant(
                "redirect_uri differs from the authorization request's",
            ));
        }
        if !same_secret(&s256(verifier), &self.code_challenge) {
            return Err(TokenError::invalid_grant(
                "the PKCE code_verifier does not match the code_challenge",
            ));
        }
        Ok(())
    }
}

/// Why a token request names no client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(super) enum ClientIdError {
    #[error(transparent)]
    Repeated(#[from] RepeatedParam),
    #[error("the Basic credentials are not base64")]
    NotBase64,
    #[error("the Basic credentials are not UTF-8")]
    NotUtf8,
    #[error("client_id and the Basic credentials name different clients")]
    Mismatch,
    #[error("client_id is missing")]
    Missing,
}

impl From<ClientIdError> for TokenError {
    fn from(error: ClientIdError) -> Self {
        Self::InvalidClient {
            description: error.to_string(),
        }
    }
}

/// The client id of a token request: HTTP Basic (with an empty secret: the clients are public)
/// or the form's `client_id`.
pub(super) fn client_id_of(headers: &HeaderMap, params: &Params) -> Result<ClientId, ClientIdError> {
    let from_form = params.one("client_id")?.map(ClientId::new);
    match (from_form, basic_client_id(headers)?) {
        (Some(a), Some(b)) if a != b => Err(ClientIdError::Mismatch),
        (Some(id), _) | (None, Some(id)) => Ok(id),
        (None, None) => Err(ClientIdError::Missing),
    }
}

/// The user name of HTTP Basic credentials, form-decoded (RFC 6749 §2.3.1).
fn basic_client_id(headers: &HeaderMap) -> Result<Option<ClientId>, ClientIdError> {
    let Some(credentials) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
    else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .map_err(|_| ClientIdError::NotBase64)?;
    let text = String::from_utf8(decoded).map_err(|_| ClientIdError::NotUtf8)?;
    let id = text.split_once(':').map_or(text.as_str(), |(id, _)| id);
    let id: String = form_urlencoded::parse(format!("x={id}").as_bytes())
        .map(|(_, v)| v.into_owned())
        .collect();
    Ok(Some(ClientId::new(id)))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn basic(credentials: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&value).expect("header"));
        headers
    }

    #[test]
    fn the_client_is_named_by_the_form_or_by_basic_credentials() {
        let form = Params::parse(b"client_id=c%201");
        assert_eq!(client_id_of(&HeaderMap::new(), &form).ok(), Some(ClientId::new("c 1")));
        let none = Params::parse(b"");
        assert_eq!(client_id_of(&basic("c+1:"), &none).ok(), Some(ClientId::new("c 1")));
        assert_eq!(client_id_of(&basic("c 1:"), &form).ok(), Some(ClientId::new("c 1")));
        let error = |headers: &HeaderMap, params: &Params| client_id_of(headers, params).map_err(|e| e.to_string());
        assert_eq!(
            error(&basic("other:"), &form),
            Err("client_id and the Basic credentials name different clients".to_owned())
        );
        assert_eq!(error(&HeaderMap::new(), &none), Err("client_id is missing".to_owned()));
        let mut garbled = HeaderMap::new();
        garbled.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic %%%"));
        assert_eq!(
            error(&garbled, &none),
            Err("the Basic credentials are not base64".to_owned())
        );
    }

    #[test]
    fn a_code_is_good_for_its_client_redirect_uri_and_verifier_only() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let issued = IssuedCode {
            client_id: ClientId::new("c1"),
            redirect_uri: "http://127.0.0.1:8799/cb".into(),
            code_challenge: s256(verifier),
            tokens: serde_json::Map::new(),
        };
        let c1 = ClientId::new("c1");
        assert!(issued.check(&c1, None, verifier).is_ok());
        assert!(issued.check(&c1, Some("http://127.0.0.1:8799/cb"), verifier).is_ok());
        let refused = |result: Result<(), TokenError>| result.map_err(|e| e.to_string()).err();
        assert_eq!(
            refused(issued.check(&ClientId::new("c2"), None, verifier)).as_deref(),
            Some("the code was issued to another client")
        );
        assert_eq!(
            refused(issued.check(&c1, Some("http://127.0.0.1:9/cb"), verifier)).as_deref(),
            Some("redirect_uri differs from the authorization request's")
        );
        assert_eq!(
            refused(issued.check(&c1, None, "wrong")).as_deref(),
            Some("the PKCE code_verifier does not match the code_challenge")
        );
    }
}
