//! MCP authorization as an OAuth resource server (MCP 2025-06-18 and later): bearer tokens
//! checked by a [`TokenVerifier`] (JWT with the issuer's JWKS, RFC 7662 introspection, or
//! static tokens) and by the user's own checks ([`AuthConfig::dependency`]), RFC 9728 protected
//! resource metadata, and the 401/403 `WWW-Authenticate` challenges clients follow.
//!
//! This module depends on http, tower and axum only, not on the MCP adapter: the same layer
//! can protect a plain REST router.

mod challenge;
mod introspection;
mod jwt;
mod layer;
mod metadata;
mod scopes;
mod static_tokens;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

pub use challenge::AuthRejection;
pub use introspection::{CACHE_TTL as INTROSPECTION_CACHE_TTL, IntrospectionVerifier};
pub use jwt::{JwtVerifier, REFETCH_INTERVAL};
pub(crate) use layer::{AuthState, authenticate};
pub use metadata::{ProtectedResourceMetadata, canonical_resource, metadata_urls};
pub use scopes::ScopeRules;
pub use static_tokens::StaticTokens;

use futures::future::BoxFuture;

/// A bearer token. Its `Debug` never shows it, and it has no `PartialEq`: compare through
/// [`StaticTokens`], in constant time.
#[derive(Clone)]
pub struct BearerToken(String);

impl BearerToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, for sending it on.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken([redacted])")
    }
}

/// Who is calling, as a verifier or check established it. Tools and logs see this, never the
/// token.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Principal {
    /// The `sub` claim.
    pub subject: Option<String>,
    /// The `client_id` (or `azp`) claim.
    pub client_id: Option<String>,
    /// The granted scopes.
    pub scopes: BTreeSet<String>,
    /// All claims, as the verifier saw them.
    pub claims: Value,
}

/// Why a token was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is not valid for this server: expired, wrong audience, bad signature, ...
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The authorization server could not be asked (down, timing out).
    #[error("the authorization server is unavailable: {0}")]
    Unavailable(String),
}

/// Checks bearer tokens.
pub trait TokenVerifier: Send + Sync {
    /// The principal the token stands for, or why not.
    fn verify<'a>(&'a self, token: &'a BearerToken) -> BoxFuture<'a, Result<Principal, VerifyError>>;
}

/// A check over the incoming request: a principal, nothing (pass), or a rejection.
pub type Dependency =
    Arc<dyn Fn(http::request::Parts) -> BoxFuture<'static, Result<Option<Principal>, AuthRejection>> + Send + Sync>;

/// How MCP requests are authorized.
#[derive(Clone, Default)]
pub struct AuthConfig {
    pub(crate) verifier: Option<Arc<dyn TokenVerifier>>,
    pub(crate) dependencies: Vec<Dependency>,
    pub(crate) authorization_servers: Vec<String>,
    pub(crate) resource: Option<String>,
    pub(crate) rules: ScopeRules,
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) filter_tools: bool,
    pub(crate) optional: bool,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("verifier", &self.verifier.is_some())
            .field("dependencies", &self.dependencies.len())
            .field("authorization_servers", &self.authorization_servers)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

impl AuthConfig {
    /// No checks yet: add a verifier or dependencies.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tokens are checked by `verifier` (a [`JwtVerifier`], [`IntrospectionVerifier`],
    /// [`StaticTokens`] or your own).
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

    /// Whether any check is configured.
    pub fn is_enabled(&self) -> bool {
        self.verifier.is_some() || !self.dependencies.is_empty()
    }

    pub(crate) fn rules(&self) -> &ScopeRules {
        &self.rules
    }

    pub(crate) fn filters_tools(&self) -> bool {
        self.filter_tools
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_show_in_debug_output() {
        let token = BearerToken::new("s3cr3t");
        assert_eq!(format!("{token:?}"), "BearerToken([redacted])");
        let config = AuthConfig::new().verifier(StaticTokens::new(["s3cr3t"]));
        assert!(!format!("{config:?}").contains("s3cr3t"));
    }
}
