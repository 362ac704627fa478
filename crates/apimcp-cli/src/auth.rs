//! `[auth]`, validated, then turned into the library's `AuthConfig` once the server's address
//! is known (the resource URL tokens must name comes from it when `public_url` is not set).

use std::net::SocketAddr;

use anyhow::{Context, bail};
use apimcp::McpServerBuilder;
use apimcp::auth::proxy::RedisStore;
use apimcp::auth::{AuthConfig, IntrospectionVerifier, JwtVerifier, ScopeRules, StaticTokens, canonical_resource};

use crate::config::{AuthSection, Secret, env_value};
use crate::settings::ServerSettings;

/// `[auth]` with every `env:NAME` it uses read and its files loaded: building the
/// `AuthConfig` from it cannot fail on the environment any more.
#[derive(Debug)]
pub(crate) struct AuthSettings {
    /// The section as written, but for the `env:NAME` values, which hold what they name.
    section: AuthSection,
    /// `custom_oauth_metadata`, read.
    custom_metadata: Option<serde_json::Value>,
}

impl AuthSettings {
    /// `None` when the section configures no way to check tokens (and asks for nothing that
    /// needs one).
    pub(crate) fn new(written: &AuthSection) -> anyhow::Result<Option<Self>> {
        let mut section = with_urls_read(written)?;
        if !checks_tokens(&section)? {
            return Ok(None);
        }
        read_secrets(&mut section)?;
        check_store(&section)?;
        let custom_metadata = section
            .custom_oauth_metadata
            .as_ref()
            .map(custom_metadata)
            .transpose()?;
        Ok(Some(Self {
            section,
            custom_metadata,
        }))
    }

    /// Whether the server is the OAuth proxy MCP clients talk to (`setup_proxies`).
    pub(crate) fn sets_up_proxies(&self) -> bool {
        self.section.setup_proxies == Some(true)
    }

    /// `builder` with this auth, for a server reached at `server.public_url`, or else at `bound`.
    pub(crate) async fn guard(
        &self,
        builder: McpServerBuilder,
        server: &ServerSettings,
        bound: SocketAddr,
    ) -> anyhow::Result<McpServerBuilder> {
        let trust = self.section.trust_forwarded_headers.unwrap_or(false);
        let config = self.shared_store(self.config(server, bound)?).await?;
        Ok(builder.auth(config).trust_forwarded_headers(trust))
    }

    /// `[auth] store`: the proxy's store in Redis and, unless keys are configured, the key
    /// every replica on that Redis shares.
    async fn shared_store(&self, mut config: AuthConfig) -> anyhow::Result<AuthConfig> {
        let Some(url) = &self.section.store else {
            return Ok(config);
        };
        let shown = without_password(url.expose());
        let store = RedisStore::connect(url.expose())
            .await
            .with_context(|| format!("[auth] store: cannot use the Redis at {shown}"))?;
        if self.section.signing_keys.is_none() && self.section.consent_signing_key.is_none() {
            let key = store
                .shared_key()
                .await
                .with_context(|| format!("[auth] store: cannot read the shared key from {shown}"))?;
            config = config.signing_keys([key]);
        }
        tracing::info!(store = %shown, "the OAuth proxy keeps its state in Redis");
        Ok(config.oauth_store(store))
    }

    /// The library's configuration for a server reached at `server.public_url`, or else at
    /// `bound`.
    fn config(&self, server: &ServerSettings, bound: SocketAddr) -> anyhow::Result<AuthConfig> {
        let section = &self.section;
        let base = server
            .public_url
            .as_ref()
            .map_or_else(|| format!("http://{bound}"), |u| u.as_str().to_owned());
        let resource = canonical_resource(&base, &server.path).map_err(anyhow::Error::msg)?;
        let audience = section.audience.clone().unwrap_or_else(|| resource.clone());
        let mut config = AuthConfig::new()
            .resource(resource)
            .optional(section.required == Some(false));
        config = verifier(config, section, audience);
        if let Some(issuer) = &section.issuer {
            config = config.authorization_server(issuer);
        }
        config = self.oauth_flow(config);
        if self.sets_up_proxies() && section.store.is_none() {
            config = with_state_dir(config, server);
        }
        let rules = ScopeRules {
            required: section.required_scopes.clone().unwrap_or_default(),
            tools: section.tool_scopes.clone().unwrap_or_default(),
            implies: section.scope_implies.clone().unwrap_or_default(),
        };
        Ok(config
            .scopes_supported(section.scopes_supported.clone().unwrap_or_default())
            .scope_rules(rules)
            .filter_tools_by_scope(section.filter_tools.unwrap_or(false)))
    }

    /// The OAuth flow's options: proxies or custom metadata.
    fn oauth_flow(&self, mut config: AuthConfig) -> AuthConfig {
        let section = &self.section;
        if let Some(issuer) = &section.issuer {
            config = config.issuer(issuer);
        }
        if let Some(url) = &section.authorize_url {
            config = config.authorize_url(url);
        }
        if let Some(url) = &section.oauth_metadata_url {
            config = config.oauth_metadata_url(url);
        }
        if let Some(audience) = &section.audience {
            config = config.audience(audience);
        }
        config = provider_options(credentials(config, section), section);
        if let Some(metadata) = &self.custom_metadata {
            config = config.custom_oauth_metadata(metadata.clone());
        }
        config
            .setup_proxies(section.setup_proxies.unwrap_or(false))
            .setup_fake_dynamic_registration(section.setup_fake_dynamic_registration.unwrap_or(true))
    }
}

/// The section with `env:NAME` values of the URL settings read from the environment.
fn with_urls_read(written: &AuthSection) -> anyhow::Result<AuthSection> {
    let mut section = written.clone();
    for field in [
        &mut section.issuer,
        &mut section.audience,
        &mut section.jwks_uri,
        &mut section.introspection_url,
        &mut section.authorize_url,
        &mut section.oauth_metadata_url,
    ] {
        if let Some(value) = field.as_mut() {
            *value = env_value(value)?;
        }
    }
    Ok(section)
}

/// Whether the section names exactly one way to check tokens; an error when it needs one and
/// names none, or names two.
fn checks_tokens(section: &AuthSection) -> anyhow::Result<bool> {
    let kinds = [
        section.static_tokens.is_some(),
        section.introspection_url.is_some(),
        section.issuer.is_some() && section.introspection_url.is_none(),
    ];
    if !kinds.contains(&true) {
        if section.required == Some(true) {
            bail!("[auth] required = true, but no static_tokens, introspection_url or issuer is given");
        }
        if section.setup_proxies == Some(true) || section.custom_oauth_metadata.is_some() {
            bail!("[auth]: the OAuth flow needs a way to check tokens: issuer, introspection_url or static_tokens");
        }
        return Ok(false);
    }
    if section.static_tokens.is_some() && section.introspection_url.is_some() {
        bail!("[auth]: give one of static_tokens and introspection_url, not both");
    }
    Ok(true)
}

/// The proxy keeps its keys and store in the state directory; without one (no `HOME`), in
/// memory.
fn with_state_dir(config: AuthConfig, server: &ServerSettings) -> AuthConfig {
    match &server.state_dir {
        Some(dir) => config.state_dir(dir),
        None => {
            tracing::warn!("no state directory (set [server] state_dir): OAuth state is lost on a restart");
            config
        }
    }
}

/// Reads the `env:NAME` secrets the configuration uses, in the order it uses them: the
/// verifier's, then the OAuth flow's (`client_id` is read the same way).
fn read_secrets(section: &mut AuthSection) -> anyhow::Result<()> {
    if let Some(tokens) = &section.static_tokens {
        section.static_tokens = Some(tokens.iter().map(Secret::resolve).collect::<anyhow::Result<_>>()?);
    } else if section.introspection_url.is_some() {
        let written = section.introspection_client_secret.as_ref();
        let secret = written.map_or_else(|| Ok(Secret::default()), Secret::resolve)?;
        section.introspection_client_secret = Some(secret);
    }
    section.client_id = section.client_id.as_deref().map(env_value).transpose()?;
    for field in [
        &mut section.client_secret,
        &mut section.consent_signing_key,
        &mut section.store,
    ] {
        *field = field.as_ref().map(Secret::resolve).transpose()?;
    }
    if let Some(keys) = &section.signing_keys {
        section.signing_keys = Some(keys.iter().map(Secret::resolve).collect::<anyhow::Result<_>>()?);
    }
    Ok(())
}

/// `[auth] store`, checked: a Redis URL, for the proxy.
fn check_store(section: &AuthSection) -> anyhow::Result<()> {
    let Some(url) = &section.store else {
        return Ok(());
    };
    if section.setup_proxies != Some(true) {
        bail!("[auth] store is where the OAuth proxy keeps its state: it needs setup_proxies = true");
    }
    let scheme = url.expose().split_once("://").map(|(scheme, _)| scheme);
    if !matches!(scheme, Some("redis" | "rediss")) {
        bail!("[auth] store must be a Redis URL, redis://HOST:PORT[/DB]");
    }
    Ok(())
}

/// A store URL fit for a log line: any password replaced.
fn without_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(an unreadable URL)".into(),
    }
}

/// The verifier the section names (`checks_tokens` made sure there is one).
fn verifier(config: AuthConfig, section: &AuthSection, audience: String) -> AuthConfig {
    if let Some(tokens) = &section.static_tokens {
        let tokens = tokens.iter().map(|t| t.expose().to_owned());
        let scopes = section.scopes_supported.clone().unwrap_or_default();
        config.verifier(StaticTokens::new(tokens).with_scopes(scopes))
    } else if let Some(url) = &section.introspection_url {
        let id = section.introspection_client_id.clone().unwrap_or_default();
        let secret = section.introspection_client_secret.as_ref().map_or("", Secret::expose);
        config.verifier(IntrospectionVerifier::new(url, id, secret).with_audience(audience))
    } else if let Some(issuer) = &section.issuer {
        let mut verifier = JwtVerifier::new(issuer, audience);
        if let Some(jwks) = &section.jwks_uri {
            verifier = verifier.with_jwks_uri(jwks);
        }
        if section.require_at_jwt == Some(true) {
            verifier = verifier.require_at_jwt();
        }
        config.verifier(verifier)
    } else {
        config
    }
}

/// The proxy's client at the provider, and the keys that seal client ids and sign consent
/// cookies (`consent_signing_key` is one more, after `signing_keys`).
fn credentials(mut config: AuthConfig, section: &AuthSection) -> AuthConfig {
    if let Some(id) = &section.client_id {
        config = config.client_id(id);
    }
    if let Some(secret) = &section.client_secret {
        config = config.client_secret(secret.expose());
    }
    if let Some(keys) = &section.signing_keys {
        config = config.signing_keys(keys.iter().map(|k| k.expose().as_bytes().to_vec()));
    }
    if let Some(key) = &section.consent_signing_key {
        config = config.consent_signing_key(key.expose().as_bytes().to_vec());
    }
    config
}

/// The provider's plain options: scope, metadata path, rate limits, refresh grace.
fn provider_options(mut config: AuthConfig, section: &AuthSection) -> AuthConfig {
    if let Some(scope) = &section.default_scope {
        config = config.default_scope(scope);
    }
    if let Some(path) = &section.metadata_path {
        config = config.metadata_path(path);
    }
    if let Some(per_minute) = section.registrations_per_minute {
        config = config.registrations_per_minute(per_minute);
    }
    if let Some(per_minute) = section.authorizations_per_minute {
        config = config.authorizations_per_minute(per_minute);
    }
    if let Some(secs) = section.refresh_grace_secs {
        config = config.refresh_grace(std::time::Duration::from_secs(secs));
    }
    client_options(config, section)
}

/// Which clients the proxy takes: metadata documents, the redirect URIs allowed.
fn client_options(mut config: AuthConfig, section: &AuthSection) -> AuthConfig {
    if let Some(on) = section.client_metadata_documents {
        config = config.client_metadata_documents(on);
    }
    if section.client_metadata_loopback_for_tests == Some(true) {
        tracing::warn!("client_metadata_loopback_for_tests is on: for tests only, never in production");
        config = config.client_metadata_loopback_for_tests(true);
    }
    if let Some(uris) = &section.allowed_redirect_uris {
        config = config.allowed_redirect_uris(uris.clone());
    }
    config
}

/// `custom_oauth_metadata`: a table is the document; a string is a JSON file's path.
fn custom_metadata(value: &toml::Value) -> anyhow::Result<serde_json::Value> {
    match value {
        toml::Value::String(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("custom_oauth_metadata: cannot read {path}"))?;
            serde_json::from_str(&text).with_context(|| format!("custom_oauth_metadata: {path} is not JSON"))
        }
        toml::Value::Table(_) => serde_json::to_value(value).context("custom_oauth_metadata"),
        _ => bail!("custom_oauth_metadata must be a table or the path of a JSON file"),
    }
}
