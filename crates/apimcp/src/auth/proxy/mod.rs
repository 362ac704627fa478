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

mod authorize;
mod callback;
mod cimd;
mod consent;
mod disk_store;
mod error;
#[cfg(test)]
mod full_disk;
mod limits;
mod metadata;
mod page;
mod params;
mod provider;
mod redirects;
#[cfg(feature = "redis")]
mod redis_store;
mod refresh;
mod register;
mod registration;
mod revoke;
mod state_dir;
mod store;
mod token;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::routing::{MethodRouter, get, post};
use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub(crate) use cimd::CimdError;
pub use disk_store::DiskStore;
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
pub use state_dir::StateDirError;
pub use store::{MEMORY_STORE_CAPACITY, MemoryStore, OAuthStore, RecordKind, StoreError};

use crate::auth::types::{ClientId, ClientSecret, InvalidUrl, IssuerUrl, ResourceUrl, Scopes};
use crate::keys::{self, Keys, random_bytes, same_secret};
use cimd::Documents;
use limits::{Action, RateLimits, SpendError};
use provider::Provider;
use redirects::AllowList;

/// How long an authorization may wait for consent or for the provider.
const AUTHORIZATION_TTL: Duration = Duration::from_secs(600);
/// How long an apimcp authorization code can be exchanged.
const CODE_TTL: Duration = Duration::from_secs(120);
/// How long a rotated-out refresh token keeps working, by default.
pub const DEFAULT_REFRESH_GRACE: Duration = Duration::from_secs(60);
/// How long a refresh token's binding is remembered.
const REFRESH_TTL: Duration = Duration::from_secs(90 * 24 * 3600);
/// The heaviest record kept, sealed: what a request may carry is bounded well below it, so
/// only a bug or a provider's outsized tokens reach it.
const MAX_RECORD: usize = 64 * 1024;

/// What the proxy is configured with (from [`crate::auth::AuthConfig`]).
pub(crate) struct ProxySettings {
    /// The server's public base URL, which becomes apimcp's issuer.
    pub(crate) base_url: String,
    pub(crate) issuer: Option<String>,
    pub(crate) oauth_metadata_url: Option<String>,
    pub(crate) authorize_url: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) client_id: ClientId,
    pub(crate) client_secret: ClientSecret,
    pub(crate) default_scope: String,
    pub(crate) registration: bool,
    pub(crate) registrations_per_minute: u32,
    pub(crate) authorizations_per_minute: u32,
    pub(crate) clients: Vec<(String, Vec<String>)>,
    /// The store given, else the state directory's, else one in memory.
    pub(crate) store: Option<Arc<dyn OAuthStore>>,
    /// The first seals and signs, all open and verify; none: the state directory's, else a
    /// random one.
    pub(crate) signing_keys: Vec<Vec<u8>>,
    pub(crate) state_dir: Option<PathBuf>,
    /// How long a rotated-out refresh token keeps working.
    pub(crate) refresh_grace: Duration,
    /// Whether client ids that are https URLs are resolved as client metadata documents.
    pub(crate) client_metadata_documents: bool,
    /// Tests only: metadata documents may be served over http from loopback.
    pub(crate) client_metadata_loopback_for_tests: bool,
    /// The redirect URIs self-registered and document clients may use (empty: any).
    pub(crate) allowed_redirect_uris: Vec<String>,
}

#[cfg(test)]
impl ProxySettings {
    /// A proxy in front of a provider at an unused loopback port, self-registration on, a
    /// store in memory: the tests change what they are about.
    pub(crate) fn for_tests() -> Self {
        Self {
            base_url: "http://127.0.0.1:1".into(),
            issuer: Some("http://127.0.0.1:9".into()),
            oauth_metadata_url: None,
            authorize_url: None,
            audience: None,
            client_id: ClientId::new("proxy"),
            client_secret: ClientSecret::new("secret"),
            default_scope: "openid".into(),
            registration: true,
            registrations_per_minute: 30,
            authorizations_per_minute: 60,
            clients: Vec::new(),
            store: None,
            signing_keys: Vec::new(),
            state_dir: None,
            refresh_grace: DEFAULT_REFRESH_GRACE,
            client_metadata_documents: false,
            client_metadata_loopback_for_tests: false,
            allowed_redirect_uris: Vec::new(),
        }
    }
}

/// Why the proxy cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The public base URL cannot be apimcp's issuer.
    #[error(transparent)]
    InvalidUrl(#[from] InvalidUrl),
    /// No HTTP client for the provider could be built.
    #[error("cannot build the HTTP client for the authorization server: {source}")]
    Client {
        /// What the HTTP library said.
        #[from]
        source: reqwest::Error,
    },
    /// The state directory cannot be used.
    #[error(transparent)]
    StateDir(#[from] StateDirError),
}

/// The running proxy: settings, the provider, the store.
pub(crate) struct Proxy {
    issuer: IssuerUrl,
    /// The MCP endpoint's canonical URL, known once it is mounted.
    resource: OnceLock<ResourceUrl>,
    /// apimcp's redirect URI at the provider.
    callback: String,
    audience: Option<String>,
    default_scope: Scopes,
    registration: bool,
    clients: Vec<(ClientId, Vec<String>)>,
    provider: Provider,
    store: Arc<dyn OAuthStore>,
    keys: Arc<Keys>,
    refresh_grace: Duration,
    /// Registrations and authorizations per source address.
    limits: RateLimits,
    /// Whether the source address is the last of `X-Forwarded-For` (behind a trusted proxy).
    trust_forwarded: AtomicBool,
    /// Client metadata documents, when they are accepted.
    documents: Option<Documents>,
    allowed_redirects: AllowList,
}

/// Why a client cannot be looked up.
#[derive(Debug, thiserror::Error)]
enum LookupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Its client metadata document does not describe a usable client.
    #[error(transparent)]
    Document(#[from] CimdError),
}

impl Proxy {
    pub(crate) fn new(settings: ProxySettings) -> Result<Self, ProxyError> {
        let issuer = IssuerUrl::new("public_url", &settings.base_url)?;
        let provider = Provider::new(
            settings.issuer,
            settings.oauth_metadata_url,
            settings.authorize_url,
            settings.client_id,
            settings.client_secret,
        )?;
        let (store, keys) = durable_parts(settings.store, settings.signing_keys, settings.state_dir.as_deref())?;
        let clients = settings.clients.into_iter();
        let documents = settings
            .client_metadata_documents
            .then(|| Documents::new(settings.client_metadata_loopback_for_tests))
            .transpose()?;
        Ok(Self {
            documents,
            allowed_redirects: AllowList::new(settings.allowed_redirect_uris),
            callback: format!("{issuer}/oauth/callback"),
            issuer,
            resource: OnceLock::new(),
            audience: settings.audience,
            default_scope: Scopes::parse(&settings.default_scope),
            registration: settings.registration,
            clients: clients.map(|(id, uris)| (ClientId::new(id), uris)).collect(),
            provider,
            store,
            keys: Arc::new(Keys::new(&keys)),
            refresh_grace: settings.refresh_grace,
            limits: RateLimits::new(settings.registrations_per_minute, settings.authorizations_per_minute),
            trust_forwarded: AtomicBool::new(false),
        })
    }

    /// Records the endpoint's canonical URL (the first mount's): tokens are for it only.
    pub(crate) fn set_resource(&self, resource: String) {
        match ResourceUrl::new("resource", &resource) {
            Ok(resource) => {
                let _ = self.resource.set(resource);
            }
            Err(error) => tracing::warn!(%error, "the OAuth proxy does not restrict tokens to this resource"),
        }
    }

    /// The keys the proxy seals and signs with (configured, shared through the store, or the
    /// state directory's), for other things sealed for clients to carry.
    pub(crate) fn keys(&self) -> Arc<Keys> {
        self.keys.clone()
    }

    /// Behind a proxy whose forwarded headers are trusted, requests come from the address it
    /// names in `X-Forwarded-For`, not from the proxy.
    pub(crate) fn set_trust_forwarded(&self, trust: bool) {
        self.trust_forwarded.store(trust, Ordering::Relaxed);
    }

    /// Counts one `action` against the budget of the address the request comes from.
    async fn spend(
        &self,
        action: Action,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<(), SpendError> {
        let trust = self.trust_forwarded.load(Ordering::Relaxed);
        let source = limits::source_address(headers, extensions, trust);
        self.limits.spend(self.store.as_ref(), action, source).await
    }

    /// Whether the provider's metadata can be had (cached, with back-off: probes do not hammer
    /// a provider that is down) and the store answers.
    pub(crate) async fn ready(&self) -> Result<(), super::NotReady> {
        self.provider
            .metadata()
            .await
            .map_err(|e| super::NotReady::Provider(e.to_string()))?;
        self.store
            .ping()
            .await
            .map_err(|e| super::NotReady::Store(e.to_string()))
    }

    /// apimcp's own issuer: the public base URL.
    pub(crate) fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    /// A registered client: one the operator configured, one described by its metadata
    /// document, or one from `/oauth/register`.
    async fn client(&self, client_id: &ClientId) -> Result<Option<Client>, LookupError> {
        if let Some((id, uris)) = self.clients.iter().find(|(id, _)| id == client_id) {
            return Ok(Some(Client {
                client_id: id.clone(),
                client_name: None,
                redirect_uris: uris.clone(),
                dynamic: false,
                document: false,
            }));
        }
        if client_id.as_str().starts_with("https://") || client_id.as_str().starts_with("http://") {
            return self.document_client(client_id).await.map(Some);
        }
        Ok(self
            .keys
            .open::<Registration>(CLIENT, client_id.as_str())
            .map(|registration| registration.client(client_id.clone())))
    }

    /// The client the metadata document at `client_id` describes, its redirect URIs allowed.
    async fn document_client(&self, client_id: &ClientId) -> Result<Client, LookupError> {
        let documents = self.documents.as_ref().ok_or(CimdError::Off)?;
        let found = documents.client(client_id.as_str()).await?;
        self.allowed_redirects
            .check(&found.redirect_uris)
            .map_err(|error| CimdError::RedirectUri {
                url: client_id.to_string(),
                why: error.to_string(),
            })?;
        Ok(Client {
            client_id: client_id.clone(),
            client_name: Some(found.client_name),
            redirect_uris: found.redirect_uris,
            dynamic: true,
            document: true,
        })
    }

    /// `record`, locked under `secret`, kept under the secret's hash.
    async fn put_locked(
        &self,
        kind: RecordKind,
        secret: &str,
        record: &impl Serialize,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let locked = keys::lock(secret, record);
        if locked.len() > MAX_RECORD {
            return Err(StoreError::new(format!(
                "a {kind:?} record of {} bytes is over the {MAX_RECORD}-byte limit",
                locked.len()
            )));
        }
        let locked = Value::String(locked);
        self.store.put(kind, &key_of(secret), locked, ttl).await
    }

    /// The record kept under `secret`.
    async fn get_locked<T: DeserializeOwned>(&self, kind: RecordKind, secret: &str) -> Result<Option<T>, StoreError> {
        let found = self.store.get(kind, &key_of(secret)).await?;
        Ok(found.and_then(|v| keys::unlock(secret, v.as_str()?)))
    }

    /// The record kept under `secret`, taken: it is never found again.
    async fn take_locked<T: DeserializeOwned>(&self, kind: RecordKind, secret: &str) -> Result<Option<T>, StoreError> {
        let found = self.store.take(kind, &key_of(secret)).await?;
        Ok(found.and_then(|v| keys::unlock(secret, v.as_str()?)))
    }
}

/// The proxy's routes, each ready for the user's router whatever its state type.
/// `/authorize`, `/token` and `/register` are the 2025-03-26 fallbacks for clients that find no
/// metadata.
pub(crate) fn routes<S>(proxy: &Arc<Proxy>, metadata_path: &str) -> Vec<(String, MethodRouter<S>)>
where
    S: Clone + Send + Sync + 'static,
{
    let mut routes: Vec<(String, MethodRouter<S>)> = metadata::paths(&proxy.issuer, metadata_path)
        .into_iter()
        .map(|path| (path, get(metadata::metadata).with_state(proxy.clone())))
        .collect();
    for path in ["/oauth/authorize", "/authorize"] {
        routes.push((path.into(), get(authorize::authorize).with_state(proxy.clone())));
    }
    routes.push((
        "/oauth/consent".into(),
        post(consent::consent).with_state(proxy.clone()),
    ));
    routes.push((
        "/oauth/callback".into(),
        get(callback::callback).with_state(proxy.clone()),
    ));
    for path in ["/oauth/token", "/token"] {
        routes.push((path.into(), post(token::token).with_state(proxy.clone())));
    }
    routes.push(("/oauth/revoke".into(), post(revoke::revoke).with_state(proxy.clone())));
    for path in ["/oauth/register", "/register"] {
        routes.push((path.into(), post(register::register).with_state(proxy.clone())));
    }
    routes
}

/// A client of this proxy.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Client {
    client_id: ClientId,
    client_name: Option<String>,
    redirect_uris: Vec<String>,
    /// Registered at `/oauth/register` or described by a metadata document (so the person
    /// must consent).
    dynamic: bool,
    /// Described by a client metadata document: its client id is the document's URL.
    #[serde(default)]
    document: bool,
}

/// What a sealed client id holds: the registration, so that no store keeps it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Registration {
    #[serde(rename = "n", skip_serializing_if = "Option::is_none", default)]
    client_name: Option<String>,
    #[serde(rename = "r")]
    redirect_uris: Vec<String>,
}

/// What client ids are sealed for.
const CLIENT: &str = "client";

impl Registration {
    fn client(self, client_id: ClientId) -> Client {
        Client {
            client_id,
            client_name: self.client_name,
            redirect_uris: self.redirect_uris,
            dynamic: true,
            document: false,
        }
    }
}

/// The proxy's store and signing keys.
type Durable = (Arc<dyn OAuthStore>, Vec<Vec<u8>>);

/// The store and keys: those given, else the state directory's (made on first start), else
/// in memory and random (lost on a restart).
fn durable_parts(
    store: Option<Arc<dyn OAuthStore>>,
    mut keys: Vec<Vec<u8>>,
    state_dir: Option<&std::path::Path>,
) -> Result<Durable, StateDirError> {
    let Some(dir) = state_dir else {
        return Ok((store.unwrap_or_else(|| Arc::new(MemoryStore::default())), keys));
    };
    state_dir::prepare(dir)?;
    if keys.is_empty() {
        keys.push(state_dir::key(dir)?);
    }
    let store = match store {
        Some(store) => store,
        None => Arc::new(state_dir::store(dir)?),
    };
    Ok((store, keys))
}

/// An authorization request, as the client sent it (checked).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct AuthRequest {
    client_id: ClientId,
    client_name: String,
    redirect_uri: String,
    state: Option<String>,
    code_challenge: String,
    scopes: Scopes,
    resources: Vec<String>,
    /// The standard parameters passed on to the provider (`prompt`, `max_age`, ...).
    #[serde(default)]
    passed: Vec<(String, String)>,
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
    client_id: ClientId,
    redirect_uri: String,
    code_challenge: String,
    tokens: Map<String, Value>,
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use http::{Request, StatusCode, header};
    use tower::ServiceExt as _;

    use super::*;
    use full_disk::Disk;

    const REDIRECT: &str = "http://127.0.0.1:8799/cb";

    /// The proxy's routes on a store on `disk`, and a client that registered itself.
    fn app_on(disk: &Disk) -> (axum::Router, String) {
        let store = DiskStore::on_test_disk(disk).expect("the store opens while there is space");
        let proxy = Proxy::new(ProxySettings {
            store: Some(Arc::new(store)),
            signing_keys: vec![b"a key for the tests of the proxy".to_vec()],
            ..ProxySettings::for_tests()
        })
        .expect("proxy");
        let registration = Registration {
            client_name: Some("app".into()),
            redirect_uris: vec![REDIRECT.into()],
        };
        let client_id = proxy.keys.seal(CLIENT, &registration, None);
        let proxy = Arc::new(proxy);
        let app = routes(&proxy, "/.well-known/oauth-authorization-server")
            .into_iter()
            .fold(axum::Router::new(), |app, (path, route)| app.route(&path, route));
        (app, client_id)
    }

    /// The status and body of `request` sent to `app`.
    async fn send(app: &axum::Router, request: Request<axum::body::Body>) -> (StatusCode, String) {
        let response = app.clone().oneshot(request).await.expect("answered");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    fn token_request(client_id: &str) -> Request<axum::body::Body> {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", "a-code-nobody-issued")
            .append_pair("code_verifier", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
            .append_pair("client_id", client_id)
            .finish();
        Request::post("/oauth/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form.into())
            .expect("request")
    }

    fn authorize_request(client_id: &str) -> Request<axum::body::Body> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("response_type", "code")
            .append_pair("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
            .append_pair("code_challenge_method", "S256")
            .finish();
        Request::get(format!("/oauth/authorize?{query}"))
            .body(axum::body::Body::empty())
            .expect("request")
    }

    /// What the proxy logs, kept for the test to read.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Log {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Log {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().expect("log")).into_owned()
        }
    }

    #[tokio::test]
    async fn a_full_disk_is_503_temporarily_unavailable_and_the_next_request_works_once_there_is_space() {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _logging = tracing::subscriber::set_default(subscriber);
        let disk = Disk::default();
        let (app, client_id) = app_on(&disk);
        disk.set_full(true);
        let started = std::time::Instant::now();
        for _ in 0..20 {
            let (status, body) = send(&app, token_request(&client_id)).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
            let body: Value = serde_json::from_str(&body).expect("json");
            assert_eq!(body["error"], "temporarily_unavailable", "{body}");
            let (status, page) = send(&app, authorize_request(&client_id)).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
            assert!(page.contains("try again shortly"), "{page}");
            assert!(
                !page.contains("redb") && !page.contains("test-disk"),
                "no internal detail: {page}"
            );
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        let logged = log.text();
        assert!(
            logged.contains("the disk holding the OAuth store test-disk/oauth.redb is full"),
            "{logged}"
        );
        disk.set_full(false);
        let (status, body) = send(&app, token_request(&client_id)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("invalid_grant"), "answered by the book again: {body}");
        let (status, page) = send(&app, authorize_request(&client_id)).await;
        assert_eq!(status, StatusCode::OK, "the consent page: {page}");
        assert!(page.contains("<form"), "{page}");
    }

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
