//! apimcp as the OAuth authorization server MCP clients talk to, in front of a provider that
//! cannot serve them directly (no dynamic registration, no resource indicators, an issuer that
//! is not this server): FastAPI-MCP's `setup_proxies`, done so that today's clients accept it.
//!
//! The flow: a client registers at `/oauth/register` (a client id, never the provider's secret),
//! sends the person to `/oauth/authorize` (its PKCE challenge; a consent page for dynamically
//! registered clients), apimcp sends them on to the provider with its own client id, callback,
//! state and PKCE pair, exchanges the provider's code at `/oauth/callback` with the client
//! secret, and hands the client an apimcp code that `/oauth/token` exchanges, after checking the
//! client's verifier, for the provider's access token: a token for this resource, which the
//! resource-server side of apimcp checks like any other.

mod consent;
mod endpoints;
mod provider;
mod store;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use consent::CONSENT_TTL;
pub use provider::{MAX_BACKOFF, METADATA_TTL, PROVIDER_TIMEOUT};
pub use store::{MEMORY_STORE_CAPACITY, MemoryStore, OAuthStore, RecordKind, StoreError};

use consent::CookieSigner;
use provider::Provider;

/// How long an authorization may wait for consent or for the provider.
pub const AUTHORIZATION_TTL: Duration = Duration::from_secs(600);
/// How long an apimcp authorization code can be exchanged.
pub const CODE_TTL: Duration = Duration::from_secs(120);
/// How long a dynamically registered client is remembered.
pub const CLIENT_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

/// What the proxy is configured with (from [`crate::auth::AuthConfig`]).
pub(crate) struct ProxySettings {
    pub(crate) base_url: String,
    pub(crate) issuer: Option<String>,
    pub(crate) oauth_metadata_url: Option<String>,
    pub(crate) authorize_url: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) default_scope: String,
    pub(crate) registration: bool,
    pub(crate) registrations_per_minute: u32,
    pub(crate) clients: Vec<(String, Vec<String>)>,
    pub(crate) store: Arc<dyn OAuthStore>,
    pub(crate) signing_key: Option<Vec<u8>>,
}

/// The running proxy: settings, the provider, the store.
pub(crate) struct Proxy {
    issuer: String,
    /// The MCP endpoint's canonical URL, known once it is mounted.
    resource: std::sync::OnceLock<String>,
    callback: String,
    audience: Option<String>,
    default_scope: Vec<String>,
    registration: bool,
    clients: Vec<(String, Vec<String>)>,
    provider: Provider,
    store: Arc<dyn OAuthStore>,
    signer: CookieSigner,
    registrations: Mutex<Bucket>,
}

impl Proxy {
    pub(crate) fn new(settings: ProxySettings) -> Result<Self, String> {
        let issuer = settings.base_url.trim_end_matches('/').to_owned();
        let provider = Provider::new(
            settings.issuer,
            settings.oauth_metadata_url,
            settings.authorize_url,
            settings.client_id,
            settings.client_secret,
        )?;
        Ok(Self {
            callback: format!("{issuer}/oauth/callback"),
            issuer,
            resource: std::sync::OnceLock::new(),
            audience: settings.audience,
            default_scope: settings.default_scope.split_whitespace().map(str::to_owned).collect(),
            registration: settings.registration,
            clients: settings.clients,
            provider,
            store: settings.store,
            signer: CookieSigner::new(settings.signing_key.unwrap_or_else(|| random_bytes(32))),
            registrations: Mutex::new(Bucket::new(settings.registrations_per_minute)),
        })
    }

    /// Records the endpoint's canonical URL (the first mount's).
    pub(crate) fn set_resource(&self, resource: String) {
        let _ = self.resource.set(resource);
    }

    /// apimcp's own issuer: the public base URL.
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// RFC 8414 metadata: the provider's, with apimcp's issuer and endpoints.
    async fn metadata(&self) -> Result<Map<String, Value>, provider::ProviderError> {
        let mut metadata = (*self.provider.metadata().await?).clone();
        let ours = |path: &str| Value::String(format!("{}{path}", self.issuer));
        metadata.insert("issuer".into(), Value::String(self.issuer.clone()));
        metadata.insert("authorization_endpoint".into(), ours("/oauth/authorize"));
        metadata.insert("token_endpoint".into(), ours("/oauth/token"));
        if self.registration {
            metadata.insert("registration_endpoint".into(), ours("/oauth/register"));
        } else {
            metadata.remove("registration_endpoint");
        }
        // What apimcp's endpoints do, whatever the provider does.
        metadata.insert("response_types_supported".into(), serde_json::json!(["code"]));
        metadata.insert("response_modes_supported".into(), serde_json::json!(["query"]));
        metadata.insert(
            "grant_types_supported".into(),
            serde_json::json!(["authorization_code", "refresh_token"]),
        );
        metadata.insert("code_challenge_methods_supported".into(), serde_json::json!(["S256"]));
        metadata.insert(
            "token_endpoint_auth_methods_supported".into(),
            serde_json::json!(["none"]),
        );
        metadata.insert(
            "authorization_response_iss_parameter_supported".into(),
            Value::Bool(true),
        );
        // The provider's endpoints apimcp does not stand in for would take tokens apimcp's
        // clients do not have (and a provider registration would bypass the consent page).
        for field in [
            "revocation_endpoint",
            "introspection_endpoint",
            "pushed_authorization_request_endpoint",
            "require_pushed_authorization_requests",
            "device_authorization_endpoint",
            "end_session_endpoint",
            "backchannel_authentication_endpoint",
        ] {
            metadata.remove(field);
        }
        Ok(metadata)
    }

    /// A registered client: one the operator configured, or one from `/oauth/register`.
    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        if let Some((id, uris)) = self.clients.iter().find(|(id, _)| id == client_id) {
            return Ok(Some(Client {
                client_id: id.clone(),
                client_name: None,
                redirect_uris: uris.clone(),
                dynamic: false,
            }));
        }
        let found = self.store.get(RecordKind::Client, client_id).await?;
        Ok(found.and_then(|v| serde_json::from_value(v).ok()))
    }
}

/// A client of this proxy.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Client {
    client_id: String,
    client_name: Option<String>,
    redirect_uris: Vec<String>,
    /// Registered at `/oauth/register` (so the person must consent).
    dynamic: bool,
}

/// An authorization request, as the client sent it (checked).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct AuthRequest {
    client_id: String,
    client_name: String,
    redirect_uri: String,
    state: Option<String>,
    code_challenge: String,
    scopes: Vec<String>,
    resources: Vec<String>,
    /// The consent form's CSRF token (for a request waiting for consent).
    csrf: String,
}

/// An authorization sent on to the provider.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Pending {
    request: AuthRequest,
    verifier: String,
}

/// An apimcp code and what it is exchanged for.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct IssuedCode {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    tokens: Map<String, Value>,
}

/// A token bucket: `per_minute` registrations, refilled continuously.
struct Bucket {
    per_minute: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(per_minute: u32) -> Self {
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

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("the system's random source failed: {e}"));
    bytes
}

/// 256 random bits, URL-safe: states, codes, CSRF tokens, client ids, PKCE verifiers.
fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(32))
}

/// The store key of a secret: its SHA-256, so the store never holds the secret itself.
fn key_of(secret: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2).
fn s256(verifier: &str) -> String {
    key_of(verifier)
}

pub(crate) use endpoints::routes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

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
