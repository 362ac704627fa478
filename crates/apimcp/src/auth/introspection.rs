//! RFC 7662 introspection for opaque tokens, with answers cached briefly under a SHA-256 of
//! the token (never the token itself).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::jwt::principal;
use super::types::ClientSecret;
use super::verifier::{BearerToken, Principal, TokenVerifier, VerifyError};

/// How long an introspection answer is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
const MAX_CACHED: usize = 10_000;
const TIMEOUT: Duration = Duration::from_secs(5);

type Cache = HashMap<[u8; 32], (Instant, Result<Principal, VerifyError>)>;

/// Asks the authorization server whether a token is active.
pub struct IntrospectionVerifier {
    url: String,
    client_id: String,
    client_secret: ClientSecret,
    audience: Option<String>,
    client: reqwest::Client,
    cache: Mutex<Cache>,
}

impl IntrospectionVerifier {
    /// Introspect at `url`, authenticating as `client_id` / `client_secret` (HTTP Basic).
    pub fn new(url: impl Into<String>, client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            client_id: client_id.into(),
            client_secret: ClientSecret::new(client_secret),
            audience: None,
            client: reqwest::Client::builder().timeout(TIMEOUT).build().unwrap_or_default(),
            cache: Mutex::default(),
        }
    }

    /// Refuse active tokens whose `aud` does not include `audience`.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    async fn check(&self, token: &BearerToken) -> Result<Principal, VerifyError> {
        let key: [u8; 32] = Sha256::digest(token.secret().as_bytes()).into();
        if let Some((at, answer)) = self.cache.lock().await.get(&key)
            && at.elapsed() < CACHE_TTL
        {
            return answer.clone();
        }
        let answer = self.introspect(token).await;
        if !matches!(answer, Err(VerifyError::Unavailable(_))) {
            let mut cache = self.cache.lock().await;
            if cache.len() >= MAX_CACHED {
                cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
            }
            if cache.len() < MAX_CACHED {
                cache.insert(key, (Instant::now(), answer.clone()));
            }
        }
        answer
    }

    async fn introspect(&self, token: &BearerToken) -> Result<Principal, VerifyError> {
        let response = self
            .client
            .post(&self.url)
            .basic_auth(&self.client_id, Some(self.client_secret.secret()))
            .form(&[("token", token.secret()), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|e| VerifyError::Unavailable(format!("introspection: {e}")))?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            let shown: String = body.chars().take(200).collect();
            return Err(VerifyError::Unavailable(format!(
                "introspection: HTTP {status}: {shown}"
            )));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| VerifyError::Unavailable(format!("introspection: {e}")))?;
        if body.get("active") != Some(&Value::Bool(true)) {
            return Err(VerifyError::Invalid("the token is not active".into()));
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if body.get("exp").and_then(Value::as_u64).is_some_and(|exp| exp < now) {
            return Err(VerifyError::Invalid("the token has expired".into()));
        }
        if let Some(audience) = &self.audience {
            let listed = match body.get("aud") {
                Some(Value::String(a)) => a == audience.as_str(),
                Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
                _ => false,
            };
            if !listed {
                return Err(VerifyError::Invalid(
                    "the token was not issued for this server (aud)".into(),
                ));
            }
        }
        Ok(principal(body))
    }
}

impl TokenVerifier for IntrospectionVerifier {
    fn verify<'a>(&'a self, token: &'a BearerToken) -> BoxFuture<'a, Result<Principal, VerifyError>> {
        Box::pin(self.check(token))
    }

    /// The introspection endpoint answers a token nobody issued (with `active: false`, which
    /// is cached like any answer, so probes do not ask it each time).
    fn ready(&self) -> BoxFuture<'_, Result<(), VerifyError>> {
        Box::pin(async {
            match self.check(&BearerToken::new("apimcp-readiness-probe")).await {
                Err(VerifyError::Unavailable(why)) => Err(VerifyError::Unavailable(why)),
                _ => Ok(()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn active_tokens_pass_and_answers_are_cached() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let app = axum::Router::new().route(
            "/introspect",
            axum::routing::post(move |headers: http::HeaderMap, body: String| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    let authed = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Basic cnM6cnMtc2VjcmV0");
                    let active = authed && body.contains("token=good");
                    let other_aud = body.contains("token=elsewhere");
                    axum::Json(match (active, other_aud) {
                        (true, _) => json!({"active": true, "sub": "u1", "scope": "items:read", "aud": "http://127.0.0.1:8000/mcp"}),
                        (false, true) => json!({"active": true, "sub": "u2", "aud": "https://other"}),
                        _ => json!({"active": false}),
                    })
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/introspect", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let verifier = IntrospectionVerifier::new(url, "rs", "rs-secret").with_audience("http://127.0.0.1:8000/mcp");
        let good = verifier.verify(&BearerToken::new("good")).await.expect("active");
        assert!(good.scopes.contains("items:read"));
        verifier.verify(&BearerToken::new("good")).await.expect("cached");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the second answer came from the cache");
        assert!(matches!(
            verifier.verify(&BearerToken::new("bad")).await,
            Err(VerifyError::Invalid(_))
        ));
        assert!(matches!(
            verifier.verify(&BearerToken::new("elsewhere")).await,
            Err(VerifyError::Invalid(_))
        ));
    }
}
