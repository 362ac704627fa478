//! [`AuthConfig`]: how MCP requests are authorized, as settings. [`AuthConfig::build`] checks
//! them once and settles them into the private runtime ([`super::runtime::Auth`]).

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::challenge::AuthRejection;
use super::metadata::canonical_resource;
use super::proxy;
use super::runtime::Auth;
use super::scopes::ScopeRules;
use super::types::{ClientId, ClientSecret};
use super::verifier::{Dependency, Principal, TokenVerifier};

/// Why authorization settings cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthConfigError {
    /// `custom_oauth_metadata` and `setup_proxies` were both given.
    #[error("give custom_oauth_metadata or setup_proxies, not both")]
    ProxyAndCustomMetadata,
    /// The proxy lacks a setting.
    #[error("setup_proxies needs {setting}")]
    ProxyNeeds {
        /// What to set.
        setting: &'static str,
    },
    /// `custom_oauth_metadata` is not a JSON object.
    #[error("custom_oauth_metadata must be a JSON object")]
    CustomMetadataNotObject,
    /// `custom_oauth_metadata` lacks fields an MCP client needs.
    #[error("custom_oauth_metadata lacks: {}", .fields.join(", "))]
    CustomMetadataLacks {
        /// What is missing.
        fields: Vec<&'static str>,
    },
    /// Tokens are checked against the issuer, but for which audience is unknown.
    #[error("issuer without a verifier checks JWTs for this server: give audience, resource or public_url")]
    AudienceUnknown,
    /// A URL setting is not an http(s) URL.
    #[error(transparent)]
    InvalidUrl(#[from] super::types::InvalidUrl),
    /// The proxy could not be set up.
    #[error(transparent)]
    Proxy(#[from] proxy::ProxyError),
}

/// How MCP requests are authorized.
#[derive(Clone, Default)]
#[must_use]
pub struct AuthConfig {
    pub(crate) verifier: Option<Arc<dyn TokenVerifier>>,
    pub(crate) dependencies: Vec<Dependency>,
    pub(crate) authorization_servers: Vec<String>,
    pub(crate) resource: Option<String>,
    pub(crate) rules: ScopeRules,
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) filter_tools: bool,
    pub(crate) optional: bool,
    pub(crate) oauth: OAuthOptions,
}

/// FastAPI-MCP's `AuthConfig` OAuth options, under the same names.
#[derive(Clone)]
pub(crate) struct OAuthOptions {
    pub(crate) issuer: Option<String>,
    pub(crate) authorize_url: Option<String>,
    pub(crate) oauth_metadata_url: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) default_scope: String,
    pub(crate) setup_proxies: bool,
    pub(crate) setup_fake_dynamic_registration: bool,
    pub(crate) custom_oauth_metadata: Option<Value>,
    pub(crate) metadata_path: String,
    pub(crate) registrations_per_minute: u32,
    pub(crate) authorizations_per_minute: u32,
    pub(crate) clients: Vec<(String, Vec<String>)>,
    pub(crate) store: Option<Arc<dyn proxy::OAuthStore>>,
    pub(crate) signing_keys: Vec<Vec<u8>>,
    pub(crate) state_dir: Option<std::path::PathBuf>,
    pub(crate) refresh_grace: std::time::Duration,
    pub(crate) client_metadata_documents: bool,
    pub(crate) client_metadata_loopback_for_tests: bool,
    pub(crate) allowed_redirect_uris: Vec<String>,
}

/// The scopes the proxy asks the provider for when the client asks for fewer (FastAPI-MCP's).
pub const DEFAULT_SCOPE: &str = "openid profile email";
/// Where authorization server metadata is served (RFC 8414).
pub const DEFAULT_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// Dynamic registrations accepted per minute from one source address, by default.
pub const DEFAULT_REGISTRATIONS_PER_MINUTE: u32 = 30;
/// Authorization requests accepted per minute from one source address, by default.
pub const DEFAULT_AUTHORIZATIONS_PER_MINUTE: u32 = 60;

impl Default for OAuthOptions {
    fn default() -> Self {
        Self {
            issuer: None,
            authorize_url: None,
            oauth_metadata_url: None,
            audience: None,
            client_id: None,
            client_secret: None,
            default_scope: DEFAULT_SCOPE.into(),
            setup_proxies: false,
            setup_fake_dynamic_registration: true,
            custom_oauth_metadata: None,
            metadata_path: DEFAULT_METADATA_PATH.into(),
            registrations_per_minute: DEFAULT_REGISTRATIONS_PER_MINUTE,
            authorizations_per_minute: DEFAULT_AUTHORIZATIONS_PER_MINUTE,
            clients: Vec::new(),
            store: None,
            signing_keys: Vec::new(),
            state_dir: None,
            refresh_grace: proxy::DEFAULT_REFRESH_GRACE,
            client_metadata_documents: true,
            client_metadata_loopback_for_tests: false,
            allowed_redirect_uris: Vec::new(),
        }
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("verifier", &self.verifier.is_some())
            .field("dependencies", &self.dependencies.len())
            .field("authorization_servers", &self.authorization_servers)
            .field("resource", &self.resource)
            .field("issuer", &self.oauth.issuer)
            .field("client_id", &self.oauth.client_id)
            .field("setup_proxies", &self.oauth.setup_proxies)
            .finish_non_exhaustive()
    }
}

impl AuthConfig {
    /// No checks yet: add a verifier or dependencies.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tokens are checked by `verifier` (a [`JwtVerifier`](super::JwtVerifier), [`IntrospectionVerifier`](super::IntrospectionVerifier),
    /// [`StaticTokens`](super::StaticTokens) or your own).
    pub fn verifier(mut self, verifier: impl TokenVerifier + 'static) -> Self {
        self.verifier = Some(Arc::new(verifier));
        self
    }

    /// A check run on every MCP request before it is handled (FastAPI-MCP's `dependencies`).
    /// It sees the request's parts and returns a principal, `None` to pass, or a rejection.
    pub fn dependency<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn(http::request::Parts) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Option<Principal>, AuthRejection>> + Send + 'static,
    {
        self.dependencies.push(Arc::new(move |parts| Box::pin(check(parts))));
        self
    }

    /// An axum extractor as a check: the request passes when `E` extracts, and is refused with
    /// 401 otherwise.
    pub fn extractor<E>(self) -> Self
    where
        E: axum::extract::FromRequestParts<()> + Send + 'static,
    {
        self.dependency(|mut parts: http::request::Parts| async move {
            match E::from_request_parts(&mut parts, &()).await {
                Ok(_) => Ok(None),
                Err(_) => Err(AuthRejection::unauthorized("the request's credentials were refused")),
            }
        })
    }

    /// The issuer(s) listed in the protected resource metadata.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// The canonical URL of this MCP endpoint (default: `public_url` + path).
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// `scopes_supported` in the metadata (`offline_access` is never listed).
    pub fn scopes_supported<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Which scopes are needed: per request, per tool, and which imply which.
    pub fn scope_rules(mut self, rules: ScopeRules) -> Self {
        self.rules = rules;
        self
    }

    /// `tools/list` shows only the tools the token may call.
    pub fn filter_tools_by_scope(mut self, filter: bool) -> Self {
        self.filter_tools = filter;
        self
    }

    /// Let requests without a token through (with no principal); a call that needs scopes
    /// still gets 401. Tokens that are sent are always checked.
    pub fn optional(mut self, optional: bool) -> Self {
        self.optional = optional;
        self
    }

    /// The provider's issuer (FastAPI-MCP's `issuer`). Without a verifier, its tokens are
    /// checked as JWTs against its JWKS, for `audience` (default: this endpoint's canonical URL).
    /// Without proxies, the protected resource metadata names it.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.oauth.issuer = Some(issuer.into());
        self
    }

    /// The provider's authorization endpoint, when its metadata does not give the right one.
    pub fn authorize_url(mut self, url: impl Into<String>) -> Self {
        self.oauth.authorize_url = Some(url.into());
        self
    }

    /// Where the provider's metadata is (default: discovered from `issuer`).
    pub fn oauth_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.oauth.oauth_metadata_url = Some(url.into());
        self
    }

    /// The audience tokens must carry, and that the proxy asks the provider for (Auth0's
    /// `audience` parameter). Default: the canonical resource URL.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.oauth.audience = Some(audience.into());
        self
    }

    /// The client id apimcp has at the provider (proxies).
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.oauth.client_id = Some(id.into());
        self
    }

    /// The client secret apimcp has at the provider: it stays on the server.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.oauth.client_secret = Some(secret.into());
        self
    }

    /// Scopes added to every authorization when the client does not ask for them (default
    /// [`DEFAULT_SCOPE`]; empty for none).
    pub fn default_scope(mut self, scope: impl Into<String>) -> Self {
        self.oauth.default_scope = scope.into();
        self
    }

    /// apimcp becomes the authorization server MCP clients talk to, in front of the provider
    /// (see [`proxy`]). Needs `public_url`, `client_id`, `client_secret`, and `issuer` or
    /// `oauth_metadata_url`.
    pub fn setup_proxies(mut self, on: bool) -> Self {
        self.oauth.setup_proxies = on;
        self
    }

    /// With proxies, clients may register themselves at `/oauth/register` (default on). They
    /// get a client id of their own and never a secret.
    pub fn setup_fake_dynamic_registration(mut self, on: bool) -> Self {
        self.oauth.setup_fake_dynamic_registration = on;
        self
    }

    /// Authorization server metadata served as given at `metadata_path` (checked first: issuer,
    /// authorization and token endpoints, `S256`). The protected resource metadata names its
    /// issuer.
    pub fn custom_oauth_metadata(mut self, metadata: Value) -> Self {
        self.oauth.custom_oauth_metadata = Some(metadata);
        self
    }

    /// Where the authorization server metadata is served (default [`DEFAULT_METADATA_PATH`]).
    pub fn metadata_path(mut self, path: impl Into<String>) -> Self {
        self.oauth.metadata_path = path.into();
        self
    }

    /// A client the operator registered with the proxy (no consent page for it).
    pub fn oauth_client<I, S>(mut self, client_id: impl Into<String>, redirect_uris: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let uris = redirect_uris.into_iter().map(Into::into).collect();
        self.oauth.clients.push((client_id.into(), uris));
        self
    }

    /// Where the proxy keeps what must be used once or revoked: pending authorizations,
    /// codes, refresh bindings, consents (default: a [`proxy::DiskStore`] in the
    /// [`state_dir`](Self::state_dir), else a [`proxy::MemoryStore`]).
    pub fn oauth_store(mut self, store: impl proxy::OAuthStore + 'static) -> Self {
        self.oauth.store = Some(Arc::new(store));
        self
    }

    /// The proxy's state directory, created owner-only if missing: the key generated on first
    /// start (when no [`signing_keys`](Self::signing_keys) are given) and the on-disk store
    /// live there, so a restart loses nothing. Without it (and without a store and keys),
    /// everything is in memory and lost on a restart. One process per directory.
    pub fn state_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.oauth.state_dir = Some(dir.into());
        self
    }

    /// The keys that seal client ids and sign consent cookies: the first seals and signs, all
    /// open and verify, so a key rotates without logging anyone out (default: the state
    /// directory's generated key, else a random one). Share them between replicas.
    pub fn signing_keys<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: Into<Vec<u8>>,
    {
        self.oauth.signing_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// One more signing key, after those given (FastAPI-MCP-era name for
    /// [`signing_keys`](Self::signing_keys)).
    pub fn consent_signing_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.oauth.signing_keys.push(key.into());
        self
    }

    /// How long a refresh token the provider replaced keeps working (default
    /// [`proxy::DEFAULT_REFRESH_GRACE`]), so a late or repeated refresh does not log anyone
    /// out; used after that, it revokes every token of its grant.
    pub fn refresh_grace(mut self, grace: std::time::Duration) -> Self {
        self.oauth.refresh_grace = grace;
        self
    }

    /// Whether a client id that is an https URL is taken as a client ID metadata document
    /// (default on): apimcp fetches the document (https only, never from a private, loopback
    /// or link-local address, no redirects, at most 5 KB within 5 s, cached as its
    /// `Cache-Control` says up to an hour) and the client gets the consent page.
    pub fn client_metadata_documents(mut self, on: bool) -> Self {
        self.oauth.client_metadata_documents = on;
        self
    }

    /// **For tests only**: client metadata documents may also be served over plain http from
    /// loopback (`127.0.0.1`, `[::1]`, `localhost`), so a test harness can serve one. Never
    /// turn this on in production: any program on the server's machine could then pose as a
    /// client.
    pub fn client_metadata_loopback_for_tests(mut self, on: bool) -> Self {
        self.oauth.client_metadata_loopback_for_tests = on;
        self
    }

    /// The only redirect URIs clients that register themselves or come with a metadata
    /// document may use (default: any https URI, and http on loopback). A loopback entry
    /// matches on any port. For hosted clients see `docs/oauth.md` (claude.ai, claude.com,
    /// chatgpt.com callbacks).
    pub fn allowed_redirect_uris<I, S>(mut self, uris: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.oauth.allowed_redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// Dynamic registrations accepted per minute from one source address (default
    /// [`DEFAULT_REGISTRATIONS_PER_MINUTE`]); only registrations that would succeed count.
    /// Shared by the replicas when the store is shared (Redis), else per process.
    pub fn registrations_per_minute(mut self, per_minute: u32) -> Self {
        self.oauth.registrations_per_minute = per_minute;
        self
    }

    /// Authorization requests accepted per minute from one source address (default
    /// [`DEFAULT_AUTHORIZATIONS_PER_MINUTE`]); only requests that pass every check count.
    pub fn authorizations_per_minute(mut self, per_minute: u32) -> Self {
        self.oauth.authorizations_per_minute = per_minute;
        self
    }

    /// Whether any check is configured.
    pub fn is_enabled(&self) -> bool {
        self.verifier.is_some()
            || !self.dependencies.is_empty()
            || self.oauth.issuer.is_some()
            || self.oauth.setup_proxies
            || self.oauth.custom_oauth_metadata.is_some()
    }

    /// Checks the settings and builds the runtime: what `McpServer`'s builder does with
    /// `public_url`, the URL clients reach the server at.
    pub(crate) fn build(mut self, public_url: Option<&str>) -> Result<Auth, AuthConfigError> {
        if self.oauth.setup_proxies && self.oauth.custom_oauth_metadata.is_some() {
            return Err(AuthConfigError::ProxyAndCustomMetadata);
        }
        if let Some(metadata) = &self.oauth.custom_oauth_metadata {
            let issuer = check_custom_metadata(metadata)?;
            if self.authorization_servers.is_empty() {
                self.authorization_servers.push(issuer);
            }
        }
        let proxy = self.proxy(public_url)?;
        if let Some(proxy) = &proxy {
            self.authorization_servers = vec![proxy.issuer().to_owned()];
        } else if let Some(issuer) = &self.oauth.issuer
            && self.authorization_servers.is_empty()
        {
            self.authorization_servers.push(issuer.clone());
        }
        if self.checks_issuer_tokens()
            && self.oauth.audience.is_none()
            && self.resource.is_none()
            && public_url.is_none()
        {
            return Err(AuthConfigError::AudienceUnknown);
        }
        Ok(Auth::new(self, proxy))
    }

    /// Tokens are the issuer's JWTs, checked by a verifier made for this server's audience.
    pub(crate) fn checks_issuer_tokens(&self) -> bool {
        self.verifier.is_none() && self.dependencies.is_empty() && self.oauth.issuer.is_some()
    }

    /// The proxy, when `setup_proxies` is on.
    fn proxy(&self, public_url: Option<&str>) -> Result<Option<Arc<proxy::Proxy>>, AuthConfigError> {
        if !self.oauth.setup_proxies {
            return Ok(None);
        }
        let o = &self.oauth;
        let needs = |setting| AuthConfigError::ProxyNeeds { setting };
        let public_url = public_url
            .ok_or_else(|| needs("the server's public_url (its callback URL is registered at the provider)"))?;
        if o.issuer.is_none() && o.oauth_metadata_url.is_none() {
            return Err(needs("issuer or oauth_metadata_url"));
        }
        let base_url = canonical_resource(public_url, "")?;
        let proxy = proxy::Proxy::new(proxy::ProxySettings {
            base_url,
            issuer: o.issuer.clone(),
            oauth_metadata_url: o.oauth_metadata_url.clone(),
            authorize_url: o.authorize_url.clone(),
            audience: o.audience.clone(),
            client_id: ClientId::new(o.client_id.clone().ok_or_else(|| needs("client_id"))?),
            client_secret: ClientSecret::new(o.client_secret.clone().ok_or_else(|| needs("client_secret"))?),
            default_scope: o.default_scope.clone(),
            registration: o.setup_fake_dynamic_registration,
            registrations_per_minute: o.registrations_per_minute,
            authorizations_per_minute: o.authorizations_per_minute,
            clients: o.clients.clone(),
            store: o.store.clone(),
            signing_keys: o.signing_keys.clone(),
            state_dir: o.state_dir.clone(),
            refresh_grace: o.refresh_grace,
            client_metadata_documents: o.client_metadata_documents,
            client_metadata_loopback_for_tests: o.client_metadata_loopback_for_tests,
            allowed_redirect_uris: o.allowed_redirect_uris.clone(),
        })?;
        Ok(Some(Arc::new(proxy)))
    }
}

/// The issuer of valid custom metadata, or everything it lacks.
fn check_custom_metadata(metadata: &Value) -> Result<String, AuthConfigError> {
    let object = metadata.as_object().ok_or(AuthConfigError::CustomMetadataNotObject)?;
    let url = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .filter(|u| url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https")))
    };
    let mut missing: Vec<&str> = ["issuer", "authorization_endpoint", "token_endpoint"]
        .into_iter()
        .filter(|name| url(name).is_none())
        .collect();
    let s256 = object
        .get("code_challenge_methods_supported")
        .and_then(Value::as_array)
        .is_some_and(|m| m.iter().any(|m| m == "S256"));
    if !s256 {
        missing.push("\"S256\" in code_challenge_methods_supported");
    }
    match (missing.is_empty(), url("issuer")) {
        (true, Some(issuer)) => Ok(issuer.to_owned()),
        _ => Err(AuthConfigError::CustomMetadataLacks { fields: missing }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_show_in_debug_output() {
        let token = super::super::BearerToken::new("s3cr3t");
        assert_eq!(format!("{token:?}"), "BearerToken([redacted])");
        let config = AuthConfig::new().verifier(super::super::StaticTokens::new(["s3cr3t"]));
        assert!(!format!("{config:?}").contains("s3cr3t"));
        let proxy = AuthConfig::new().client_secret("s3cr3t");
        assert!(!format!("{proxy:?}").contains("s3cr3t"));
    }

    #[test]
    fn custom_metadata_is_checked_and_names_what_is_missing() {
        let good = serde_json::json!({
            "issuer": "https://as.test",
            "authorization_endpoint": "https://as.test/authorize",
            "token_endpoint": "https://as.test/token",
            "code_challenge_methods_supported": ["S256"],
        });
        assert_eq!(check_custom_metadata(&good).expect("valid"), "https://as.test");
        let error = check_custom_metadata(
            &serde_json::json!({"issuer": "https://as.test", "code_challenge_methods_supported": ["plain"]}),
        )
        .expect_err("incomplete");
        assert_eq!(
            error.to_string(),
            "custom_oauth_metadata lacks: authorization_endpoint, token_endpoint, \"S256\" in code_challenge_methods_supported"
        );
        let auth = AuthConfig::new()
            .custom_oauth_metadata(good)
            .build(None)
            .expect("valid");
        assert_eq!(auth.authorization_servers(), ["https://as.test"]);
    }

    #[test]
    fn proxies_say_what_they_need() {
        let base = || AuthConfig::new().setup_proxies(true).issuer("https://tenant.test");
        let error =
            |config: AuthConfig, url: Option<&str>| config.build(url).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error(base(), None).contains("public_url"));
        assert!(error(base(), Some("http://127.0.0.1:8000")).contains("client_id"));
        assert!(error(base().client_id("c"), Some("http://127.0.0.1:8000")).contains("client_secret"));
        let ready = base()
            .client_id("c")
            .client_secret("s")
            .build(Some("HTTP://127.0.0.1:8000/"))
            .expect("complete");
        assert_eq!(
            ready.authorization_servers(),
            ["http://127.0.0.1:8000"],
            "clients are sent to apimcp"
        );
        let both = base().custom_oauth_metadata(serde_json::json!({}));
        assert!(error(both, Some("http://h")).contains("not both"));
    }
}
