//! An OAuth 2 access token from the client credentials grant (RFC 6749 section 4.4), fetched
//! on first use, cached, and fetched again shortly before it expires or after the API
//! refused it. One request at a time: calls that need a token while one is being fetched
//! wait for it rather than each asking the authorization server.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::HeaderValue;
use serde::Deserialize;

use super::{ClientAuthMethod, ClientCredentials, CredentialError};

/// How long a token without `expires_in` is reused (it is also dropped after a 401).
const UNTIMED_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// The most a token is renewed before its expiry, so a call never carries one that expires
/// on the way.
const RENEW_MARGIN: Duration = Duration::from_secs(60);

/// A token endpoint and the client's credentials there.
pub(crate) struct TokenSource {
    scheme: String,
    client: reqwest::Client,
    token_url: url::Url,
    credentials: ClientCredentials,
    cached: Mutex<Option<Cached>>,
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Cached {
    authorization: HeaderValue,
    renew_at: Instant,
}

/// The token endpoint's answer (RFC 6749 section 5.1); other fields are ignored.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: Option<String>,
    expires_in: Option<u64>,
}

/// An error answer (RFC 6749 section 5.2).
#[derive(Deserialize)]
struct TokenErrorResponse {
    error: String,
}

impl TokenSource {
    pub(crate) fn new(
        scheme: &str,
        client: reqwest::Client,
        token_url: url::Url,
        credentials: ClientCredentials,
    ) -> Self {
        Self {
            scheme: scheme.to_owned(),
            client,
            token_url,
            credentials,
            cached: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// `Bearer <token>`, from the cache or the token endpoint.
    pub(crate) async fn authorization(&self) -> Result<HeaderValue, CredentialError> {
        if let Some(value) = self.cached() {
            return Ok(value);
        }
        let _one_at_a_time = self.fetching.lock().await;
        if let Some(value) = self.cached() {
            return Ok(value);
        }
        let fresh = self.fetch().await?;
        let value = fresh.authorization.clone();
        *self.lock() = Some(fresh);
        Ok(value)
    }

    /// Drops the cached token (the API refused it).
    pub(crate) fn forget(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        // The cache holds plain data: a panic elsewhere cannot leave it half-written.
        self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cached(&self) -> Option<HeaderValue> {
        let cached = self.lock();
        let usable = cached.as_ref().filter(|c| Instant::now() < c.renew_at)?;
        Some(usable.authorization.clone())
    }

    async fn fetch(&self) -> Result<Cached, CredentialError> {
        let started = Instant::now();
        let mut request = self
            .client
            .post(self.token_url.clone())
            .header(http::header::ACCEPT, "application/json");
        if self.credentials.auth_method == ClientAuthMethod::ClientSecretBasic {
            request = request.header(http::header::AUTHORIZATION, self.client_authentication()?);
        }
        let response = request
            .form(&self.form())
            .send()
            .await
            .map_err(|e| self.failed(connection_reason(&e)))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.failed(connection_reason(&e)))?;
        if !status.is_success() {
            let code = serde_json::from_slice::<TokenErrorResponse>(&body).map(|e| e.error);
            return Err(self.failed(match code {
                Ok(code) => format!("the token endpoint answered HTTP {} ({code})", status.as_u16()),
                Err(_) => format!("the token endpoint answered HTTP {}", status.as_u16()),
            }));
        }
        self.cached_from(&body, started)
    }

    /// RFC 6749 section 2.3.1: HTTP basic with the form-encoded id and secret.
    fn client_authentication(&self) -> Result<HeaderValue, CredentialError> {
        use base64::Engine as _;
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!(
            "{}:{}",
            enc(&self.credentials.client_id),
            enc(self.credentials.client_secret.expose())
        );
        let text = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair));
        let mut value = HeaderValue::from_str(&text).map_err(|_| self.failed("the client credentials".into()))?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// The grant, the scopes asked for, and with `client_secret_post` the id and secret
    /// (RFC 6749 section 2.3.1). Nothing here is logged, and no error shows the form.
    fn form(&self) -> Vec<(&'static str, String)> {
        let credentials = &self.credentials;
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if !credentials.scopes.is_empty() {
            form.push(("scope", credentials.scopes.join(" ")));
        }
        if credentials.auth_method == ClientAuthMethod::ClientSecretPost {
            form.push(("client_id", credentials.client_id.clone()));
            form.push(("client_secret", credentials.client_secret.expose().to_owned()));
        }
        form
    }

    fn cached_from(&self, body: &[u8], started: Instant) -> Result<Cached, CredentialError> {
        let token: TokenResponse = serde_json::from_slice(body)
            .map_err(|_| self.failed("the token endpoint's answer has no access_token".into()))?;
        if let Some(kind) = token
            .token_type
            .as_deref()
            .filter(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(self.failed(format!(
                "the token endpoint issued a {kind:?} token, not a bearer token"
            )));
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", token.access_token))
            .map_err(|_| self.failed("the access token is not a valid header value".into()))?;
        authorization.set_sensitive(true);
        Ok(Cached {
            authorization,
            renew_at: started + usable_for(token.expires_in),
        })
    }

    fn failed(&self, reason: String) -> CredentialError {
        CredentialError::Token {
            scheme: self.scheme.clone(),
            reason,
        }
    }
}

/// How long a token that lives `expires_in` seconds is used: until a tenth of its life (at
/// most a minute) before it expires.
fn usable_for(expires_in: Option<u64>) -> Duration {
    let Some(secs) = expires_in else {
        return UNTIMED_TOKEN_LIFETIME;
    };
    let life = Duration::from_secs(secs);
    life - (life / 10).min(RENEW_MARGIN)
}

/// A failed request, with its causes (the token URL holds no secret).
fn connection_reason(error: &reqwest::Error) -> String {
    let mut text = format!("the token endpoint could not be reached: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::extract::Request;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use base64::Engine as _;
    use serde_json::json;

    use super::*;

    const SECRET: &str = "s3cr+t&é";

    /// What one token request carried: its `Authorization` header and its form.
    type Seen = Arc<Mutex<Vec<(Option<String>, String)>>>;

    /// A token endpoint that issues a token to client `cid` authenticated either way, and
    /// says which way it was.
    async fn token_endpoint(seen: Seen) -> url::Url {
        let app = axum::Router::new().route(
            "/token",
            axum::routing::post(move |request: Request| {
                let seen = seen.clone();
                async move {
                    let authorization = request
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let body = axum::body::to_bytes(request.into_body(), 1 << 16)
                        .await
                        .unwrap_or_default();
                    let form = String::from_utf8_lossy(&body).into_owned();
                    seen.lock().expect("lock").push((authorization.clone(), form.clone()));
                    let pairs: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes()).into_owned().collect();
                    let has = |k: &str, v: &str| pairs.iter().any(|(pk, pv)| pk == k && pv == v);
                    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                    let basic = format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(format!("cid:{}", enc(SECRET)))
                    );
                    let in_form = has("client_id", "cid") && has("client_secret", SECRET);
                    let token = match (authorization == Some(basic), in_form) {
                        (true, false) => "by-basic",
                        (false, true) if authorization.is_none() => "by-post",
                        _ => {
                            let refused = json!({"error": "invalid_client"});
                            return (StatusCode::UNAUTHORIZED, axum::Json(refused)).into_response();
                        }
                    };
                    axum::Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600}))
                        .into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/token", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        url::Url::parse(&url).expect("url")
    }

    fn source(url: &url::Url, secret: &str, method: ClientAuthMethod) -> TokenSource {
        let credentials = ClientCredentials::new("cid", secret)
            .scopes(["read"])
            .auth_method(method);
        TokenSource::new("oauth", reqwest::Client::new(), url.clone(), credentials)
    }

    #[tokio::test]
    async fn the_client_authenticates_the_way_it_is_configured() {
        let seen = Seen::default();
        let url = token_endpoint(seen.clone()).await;
        let basic = source(&url, SECRET, ClientAuthMethod::ClientSecretBasic);
        assert_eq!(basic.authorization().await.expect("token"), "Bearer by-basic");
        let post = source(&url, SECRET, ClientAuthMethod::ClientSecretPost);
        assert_eq!(post.authorization().await.expect("token"), "Bearer by-post");
        let seen = seen.lock().expect("lock").clone();
        assert_eq!(
            seen[0].1, "grant_type=client_credentials&scope=read",
            "basic: no secret in the form"
        );
        assert_eq!(seen[1].0, None, "post: no Authorization header");
        assert_eq!(
            seen[1].1,
            "grant_type=client_credentials&scope=read&client_id=cid&client_secret=s3cr%2Bt%26%C3%A9"
        );
    }

    #[tokio::test]
    async fn a_refused_secret_is_not_in_the_error() {
        let url = token_endpoint(Seen::default()).await;
        for method in [ClientAuthMethod::ClientSecretPost, ClientAuthMethod::ClientSecretBasic] {
            let wrong = source(&url, "wr0ng-s3cret", method);
            let err = wrong.authorization().await.expect_err("refused");
            let shown = format!("{err} {err:?}");
            assert!(shown.contains("HTTP 401 (invalid_client)"), "{shown}");
            assert!(!shown.contains("wr0ng") && !shown.contains("s3cret"), "{shown}");
        }
    }

    #[test]
    fn auth_methods_are_read_by_their_rfc_8414_names() {
        assert_eq!(
            "client_secret_post".parse::<ClientAuthMethod>().ok(),
            Some(ClientAuthMethod::ClientSecretPost)
        );
        assert_eq!(
            " Client_Secret_Basic".parse::<ClientAuthMethod>().ok(),
            Some(ClientAuthMethod::ClientSecretBasic)
        );
        let err = "private_key_jwt".parse::<ClientAuthMethod>().expect_err("unknown");
        assert!(err.to_string().contains("private_key_jwt"), "{err}");
        assert_eq!(ClientAuthMethod::default(), ClientAuthMethod::ClientSecretBasic);
    }

    #[test]
    fn tokens_are_renewed_before_they_expire() {
        assert_eq!(usable_for(Some(3600)), Duration::from_secs(3540));
        assert_eq!(usable_for(Some(100)), Duration::from_secs(90));
        assert_eq!(usable_for(Some(0)), Duration::ZERO);
        assert_eq!(usable_for(None), UNTIMED_TOKEN_LIFETIME);
    }
}
