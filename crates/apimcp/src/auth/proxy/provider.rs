//! The upstream authorization server (Auth0, Keycloak, ...): its metadata, cached with a TTL
//! and refetched with backoff, and its token endpoint, called with the client secret that never
//! leaves apimcp.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::auth::types::{ClientId, ClientSecret};

/// How long the provider's metadata is used before it is fetched again.
const METADATA_TTL: Duration = Duration::from_secs(600);
/// The longest wait between two fetches after failures (the first is one second, then doubling).
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A provider that does not answer within this is treated as down.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The provider could not be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ProviderError {
    /// Down, timing out, or answering what is not metadata.
    #[error("the authorization server is unavailable: {reason}")]
    Unavailable { reason: String },
    /// It answered the token request with an OAuth error.
    #[error("the authorization server refused: {error}{}", in_parentheses(.description.as_deref()))]
    Refused { error: String, description: Option<String> },
}

impl ProviderError {
    fn unavailable(reason: impl Into<String>) -> Self {
        Self::Unavailable { reason: reason.into() }
    }
}

fn in_parentheses(text: Option<&str>) -> String {
    text.map(|t| format!(" ({t})")).unwrap_or_default()
}

#[derive(Default)]
struct Cache {
    metadata: Option<(Arc<Map<String, Value>>, Instant)>,
    failures: u32,
    next_try: Option<Instant>,
}

/// What the cache answers before anything is fetched.
enum Cached {
    /// Fresh metadata, or the stale copy (or the error) while backing off.
    Answer(Result<Arc<Map<String, Value>>, ProviderError>),
    /// Fetch again; the stale copy stands in if that fails.
    Fetch(Option<Arc<Map<String, Value>>>),
}

/// The upstream authorization server, with apimcp's client credentials there.
pub(crate) struct Provider {
    issuer: Option<String>,
    metadata_url: Option<String>,
    authorize_url: Option<String>,
    client_id: ClientId,
    client_secret: ClientSecret,
    client: reqwest::Client,
    cache: Mutex<Cache>,
}

/// The provider's endpoints this proxy uses.
pub(crate) struct Endpoints {
    pub(crate) authorization: String,
    pub(crate) token: String,
    pub(crate) metadata: Arc<Map<String, Value>>,
}

impl Provider {
    /// Fails only when no HTTP client can be built (no TLS backend).
    pub(crate) fn new(
        issuer: Option<String>,
        metadata_url: Option<String>,
        authorize_url: Option<String>,
        client_id: ClientId,
        client_secret: ClientSecret,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(PROVIDER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            issuer,
            metadata_url,
            authorize_url,
            client_id,
            client_secret,
            client,
            cache: Mutex::default(),
        })
    }

    pub(crate) fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The provider's metadata: cached, refetched after the TTL; after a failure a stale copy
    /// is used, and the next fetch waits (1 s, doubling up to a minute) so a provider that is
    /// down is not hammered and callers get an answer at once.
    pub(crate) async fn metadata(&self) -> Result<Arc<Map<String, Value>>, ProviderError> {
        let stale = match self.cached(Instant::now()) {
            Cached::Answer(answer) => return answer,
            Cached::Fetch(stale) => stale,
        };
        match self.fetch_metadata().await {
            Ok(metadata) => Ok(self.keep(metadata)),
            Err(error) => {
                self.back_off(&error);
                stale.ok_or(error)
            }
        }
    }

    fn cached(&self, now: Instant) -> Cached {
        let cache = self.lock();
        let stale = cache.metadata.as_ref().map(|(m, _)| m.clone());
        if let Some((metadata, fetched)) = &cache.metadata
            && now.duration_since(*fetched) < METADATA_TTL
        {
            return Cached::Answer(Ok(metadata.clone()));
        }
        if cache.next_try.is_some_and(|at| now < at) {
            return Cached::Answer(stale.ok_or_else(|| {
                ProviderError::unavailable(format!(
                    "its metadata could not be fetched ({} failures in a row; retrying later)",
                    cache.failures
                ))
            }));
        }
        Cached::Fetch(stale)
    }

    fn keep(&self, metadata: Map<String, Value>) -> Arc<Map<String, Value>> {
        let metadata = Arc::new(metadata);
        *self.lock() = Cache {
            metadata: Some((metadata.clone(), Instant::now())),
            ..Cache::default()
        };
        metadata
    }

    fn back_off(&self, error: &ProviderError) {
        let mut cache = self.lock();
        cache.failures = cache.failures.saturating_add(1);
        let backoff = Duration::from_secs(1u64 << cache.failures.min(6).saturating_sub(1)).min(MAX_BACKOFF);
        cache.next_try = Some(Instant::now() + backoff);
        tracing::warn!(%error, retry_in = ?backoff, "cannot fetch the authorization server's metadata");
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn fetch_metadata(&self) -> Result<Map<String, Value>, ProviderError> {
        let urls = match (&self.metadata_url, &self.issuer) {
            (Some(url), _) => vec![url.clone()],
            (None, Some(issuer)) => crate::auth::jwt::discovery_urls(issuer),
            (None, None) => return Err(ProviderError::unavailable("no issuer or oauth_metadata_url")),
        };
        let mut last = ProviderError::unavailable("no metadata URL");
        for url in urls {
            match self.get_object(&url).await {
                Ok(metadata) => return Ok(metadata),
                Err(error) => last = error,
            }
        }
        Err(last)
    }

    async fn get_object(&self, url: &str) -> Result<Map<String, Value>, ProviderError> {
        let unavailable = |why: String| ProviderError::unavailable(format!("{url}: {why}"));
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("HTTP {}", response.status().as_u16())));
        }
        let metadata: Map<String, Value> = response.json().await.map_err(|e| unavailable(e.to_string()))?;
        for field in ["authorization_endpoint", "token_endpoint"] {
            if metadata.get(field).and_then(Value::as_str).is_none() {
                return Err(unavailable(format!("the metadata has no {field}")));
            }
        }
        Ok(metadata)
    }

    pub(crate) async fn endpoints(&self) -> Result<Endpoints, ProviderError> {
        let metadata = self.metadata().await?;
        let field = |name: &str| {
            metadata
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(Endpoints {
            authorization: self
                .authorize_url
                .clone()
                .unwrap_or_else(|| field("authorization_endpoint")),
            token: field("token_endpoint"),
            metadata,
        })
    }

    /// A token request (`authorization_code` or `refresh_token`) with apimcp's client
    /// credentials: HTTP Basic unless the provider only takes them in the form.
    pub(crate) async fn token(&self, params: &[(&str, &str)]) -> Result<Map<String, Value>, ProviderError> {
        let endpoints = self.endpoints().await?;
        let response = self
            .token_request(&endpoints, params)
            .send()
            .await
            .map_err(|e| ProviderError::unavailable(format!("{}: {e}", endpoints.token)))?;
        let status = response.status();
        let body: Map<String, Value> = response.json().await.map_err(|e| {
            ProviderError::unavailable(format!(
                "{}: HTTP {} without a JSON body ({e})",
                endpoints.token,
                status.as_u16()
            ))
        })?;
        token_answer(&endpoints.token, status, body)
    }

    fn token_request(&self, endpoints: &Endpoints, params: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let methods = endpoints.metadata.get("token_endpoint_auth_methods_supported");
        let basic = methods
            .and_then(Value::as_array)
            .is_none_or(|m| m.iter().any(|m| m == "client_secret_basic"));
        let mut form: Vec<(&str, &str)> = params.to_vec();
        let mut request = self.client.post(&endpoints.token).header("accept", "application/json");
        if basic {
            let (id, secret) = (self.client_id.as_str(), self.client_secret.secret());
            request = request.basic_auth(form_encode(id), Some(form_encode(secret)));
        } else {
            form.push(("client_id", self.client_id.as_str()));
            form.push(("client_secret", self.client_secret.secret()));
        }
        request.form(&form)
    }
}

/// The tokens of a token response, or why there are none.
fn token_answer(
    endpoint: &str,
    status: http::StatusCode,
    body: Map<String, Value>,
) -> Result<Map<String, Value>, ProviderError> {
    if status.is_success() && body.get("access_token").and_then(Value::as_str).is_some() {
        return Ok(body);
    }
    if status.is_server_error() {
        return Err(ProviderError::unavailable(format!(
            "{endpoint}: HTTP {}",
            status.as_u16()
        )));
    }
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    Err(ProviderError::Refused {
        error: text("error").unwrap_or_else(|| "invalid_grant".into()),
        description: text("error_description"),
    })
}

/// RFC 6749 §2.3.1: client credentials in Basic are form-encoded first.
fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_provider_that_is_down_is_not_asked_again_at_once() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        let url = format!(
            "http://{}/.well-known/openid-configuration",
            listener.local_addr().expect("addr")
        );
        drop(listener);
        let provider =
            Provider::new(None, Some(url), None, ClientId::new("c"), ClientSecret::new("s")).expect("client");
        let first = provider.metadata().await.expect_err("nothing listens");
        assert!(matches!(first, ProviderError::Unavailable { .. }), "{first}");
        let started = Instant::now();
        let second = provider.metadata().await.expect_err("still down");
        assert!(second.to_string().contains("retrying later"), "{second}");
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "answered from the backoff"
        );
    }
}
