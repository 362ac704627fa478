//! `[auth]` → the library's `AuthConfig`.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use apimcp::auth::{AuthConfig, IntrospectionVerifier, JwtVerifier, ScopeRules, StaticTokens, canonical_resource};

use crate::config::{AuthSection, ServerSettings, secret};

/// `None` when the section configures nothing.
pub(crate) fn auth_config(
    section: &AuthSection,
    server: &ServerSettings,
    bound: SocketAddr,
) -> anyhow::Result<Option<AuthConfig>> {
    let section = &section.resolved()?;
    let kinds = [
        section.static_tokens.is_some(),
        section.introspection_url.is_some(),
        section.issuer.is_some() && section.introspection_url.is_none(),
    ];
    let count = kinds.iter().filter(|k| **k).count();
    if count == 0 {
        if section.required == Some(true) {
            bail!("[auth] required = true, but no static_tokens, introspection_url or issuer is given");
        }
        if section.setup_proxies == Some(true) || section.custom_oauth_metadata.is_some() {
            bail!("[auth]: the OAuth flow needs a way to check tokens: issuer, introspection_url or static_tokens");
        }
        return Ok(None);
    }
    if section.static_tokens.is_some() && section.introspection_url.is_some() {
        bail!("[auth]: give one of static_tokens and introspection_url, not both");
    }
    let base = server
        .public_url
        .as_ref()
        .map_or_else(|| format!("http://{bound}"), |u| u.as_str().to_owned());
    let resource = canonical_resource(&base, &server.path).map_err(anyhow::Error::msg)?;
    let audience = section.audience.clone().unwrap_or_else(|| resource.clone());
    let mut config = AuthConfig::new()
        .resource(resource)
        .optional(section.required == Some(false));
    if let Some(tokens) = &section.static_tokens {
        let tokens = tokens.iter().map(|t| secret(t)).collect::<anyhow::Result<Vec<_>>>()?;
        config = config
            .verifier(StaticTokens::new(tokens).with_scopes(section.scopes_supported.clone().unwrap_or_default()));
    } else if let Some(url) = &section.introspection_url {
        let id = section.introspection_client_id.clone().unwrap_or_default();
        let secret = secret(section.introspection_client_secret.as_deref().unwrap_or(""))?;
        config = config.verifier(IntrospectionVerifier::new(url, id, secret).with_audience(audience));
    } else if let Some(issuer) = &section.issuer {
        let mut verifier = JwtVerifier::new(issuer, audience);
        if let Some(jwks) = &section.jwks_uri {
            verifier = verifier.with_jwks_uri(jwks);
        }
        config = config.verifier(verifier);
    }
    if let Some(issuer) = &section.issuer {
        config = config.authorization_server(issuer);
    }
    config = oauth_flow(config, section)?;
    let rules = ScopeRules {
        required: section.required_scopes.clone().unwrap_or_default(),
        tools: section.tool_scopes.clone().unwrap_or_default(),
        implies: section.scope_implies.clone().unwrap_or_default(),
    };
    Ok(Some(
        config
            .scopes_supported(section.scopes_supported.clone().unwrap_or_default())
            .scope_rules(rules)
            .filter_tools_by_scope(section.filter_tools.unwrap_or(false)),
    ))
}

/// The OAuth flow's options: proxies or custom metadata.
fn oauth_flow(mut config: AuthConfig, section: &AuthSection) -> anyhow::Result<AuthConfig> {
    if let Some(issuer) = &section.issuer {
        config = config.issuer(issuer);
    }
    let text = |value: &Option<String>| value.as_deref().map(secret).transpose();
    if let Some(url) = &section.authorize_url {
        config = config.authorize_url(url);
    }
    if let Some(url) = &section.oauth_metadata_url {
        config = config.oauth_metadata_url(url);
    }
    if let Some(audience) = &section.audience {
        config = config.audience(audience);
    }
    if let Some(id) = text(&section.client_id)? {
        config = config.client_id(id);
    }
    if let Some(secret) = text(&section.client_secret)? {
        config = config.client_secret(secret);
    }
    if let Some(key) = text(&section.consent_signing_key)? {
        config = config.consent_signing_key(key.into_bytes());
    }
    if let Some(scope) = &section.default_scope {
        config = config.default_scope(scope);
    }
    if let Some(path) = &section.metadata_path {
        config = config.metadata_path(path);
    }
    if let Some(per_minute) = section.registrations_per_minute {
        config = config.registrations_per_minute(per_minute);
    }
    if let Some(metadata) = &section.custom_oauth_metadata {
        config = config.custom_oauth_metadata(custom_metadata(metadata)?);
    }
    Ok(config
        .setup_proxies(section.setup_proxies.unwrap_or(false))
        .setup_fake_dynamic_registration(section.setup_fake_dynamic_registration.unwrap_or(true)))
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
