//! `[auth]` → the library's `AuthConfig`.

use std::net::SocketAddr;

use anyhow::bail;
use apimcp::auth::{AuthConfig, IntrospectionVerifier, JwtVerifier, ScopeRules, StaticTokens, canonical_resource};

use crate::config::{AuthSection, ServerSettings, secret};

/// `None` when the section configures nothing.
pub(crate) fn auth_config(
    section: &AuthSection,
    server: &ServerSettings,
    bound: SocketAddr,
) -> anyhow::Result<Option<AuthConfig>> {
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
