//! The authorization side of a built server: the settings checked once, the proxy built, and
//! what each mounted endpoint needs (its bearer layer, its routes, which tools a token sees).

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::routing::get;
use http::HeaderMap;

use super::config::AuthConfig;
use super::jwt::JwtVerifier;
use super::layer::{AuthState, DocumentScopes, Site};
use super::metadata::{ProtectedResourceMetadata, canonical_resource};
use super::proxy::{self, Proxy};
use super::verifier::{Principal, TokenVerifier};
use crate::server::HostGuard;

/// Why the server cannot serve now ([`McpServer::ready`](crate::McpServer::ready), what
/// `/readyz` reports).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotReady {
    /// Tokens cannot be checked: the issuer's keys or its introspection endpoint are out of
    /// reach.
    #[error("tokens cannot be checked: {0}")]
    Tokens(#[from] super::VerifyError),
    /// The OAuth proxy's provider cannot be reached (its metadata).
    #[error("the OAuth proxy's provider: {0}")]
    Provider(String),
    /// The OAuth proxy's store does not answer.
    #[error("the OAuth proxy's store does not answer: {0}")]
    Store(String),
}

/// What an [`AuthConfig`] settles into when a server is built.
pub(crate) struct Auth {
    pub(super) config: AuthConfig,
    proxy: Option<Arc<Proxy>>,
    /// The JWT verifier for `issuer` when no verifier was given, made at the first mount.
    issuer_verifier: OnceLock<Arc<dyn TokenVerifier>>,
}

impl Auth {
    pub(super) fn new(config: AuthConfig, proxy: Option<Arc<Proxy>>) -> Self {
        Self {
            config,
            proxy,
            issuer_verifier: OnceLock::new(),
        }
    }

    /// The OAuth proxy's keys, when it runs.
    pub(crate) fn proxy_keys(&self) -> Option<Arc<crate::keys::Keys>> {
        self.proxy.as_ref().map(|p| p.keys())
    }

    /// The issuers the protected resource metadata lists.
    pub(crate) fn authorization_servers(&self) -> &[String] {
        &self.config.authorization_servers
    }

    /// Whether `tools/list` shows only the tools a token may call.
    pub(crate) fn filters_tools(&self) -> bool {
        self.config.filter_tools
    }

    /// Whether `principal` may call `tool`, which the document says needs `document_scopes`.
    pub(crate) fn allows(&self, tool: &str, document_scopes: &[Vec<String>], principal: Option<&Principal>) -> bool {
        let rules = &self.config.rules;
        let granted = principal.map(|p| p.scopes.clone()).unwrap_or_default();
        rules
            .missing(&granted, &rules.for_tool(tool, document_scopes))
            .is_none()
    }

    /// What the middleware of the endpoint at `path` needs.
    pub(crate) fn endpoint(
        self: &Arc<Self>,
        path: &str,
        public_url: Option<&str>,
        trust_forwarded: bool,
        document_scopes: DocumentScopes,
    ) -> AuthState {
        let site = Site {
            resource: self.config.resource.clone(),
            path: path.trim_end_matches('/').to_owned(),
            public_url: public_url.map(str::to_owned),
            trust_forwarded,
        };
        let verifier = self.verifier_for(site.fixed_resource().as_deref());
        AuthState::new(self.clone(), verifier, site, document_scopes)
    }

    /// Whether the verifier in use can check tokens now (none made yet: nothing to wait for).
    pub(crate) async fn ready(&self) -> Result<(), NotReady> {
        let verifier = self.config.verifier.as_ref().or_else(|| self.issuer_verifier.get());
        if let Some(verifier) = verifier {
            verifier.ready().await?;
        }
        if let Some(proxy) = &self.proxy {
            proxy.ready().await?;
        }
        Ok(())
    }

    /// The verifier for requests to the endpoint whose canonical URL is `resource`.
    fn verifier_for(&self, resource: Option<&str>) -> Option<Arc<dyn TokenVerifier>> {
        if let Some(verifier) = &self.config.verifier {
            return Some(verifier.clone());
        }
        let issuer = self
            .config
            .oauth
            .issuer
            .as_ref()
            .filter(|_| self.config.dependencies.is_empty())?;
        let oauth = &self.config.oauth;
        let audience = oauth
            .audience
            .as_deref()
            .or(self.config.resource.as_deref())
            .or(resource)?;
        let verifier = self
            .issuer_verifier
            .get_or_init(|| Arc::new(JwtVerifier::new(issuer, audience)));
        Some(verifier.clone())
    }

    /// `router` with what the endpoint of `state` adds: RFC 9728 metadata at the root and
    /// path-inserted well-known URLs, and the authorization server side when configured (the
    /// proxy's endpoints, or the custom metadata).
    /// Each behind `guard` on `Host` only: browsers reach these from other sites, but DNS
    /// rebinding must not reach them under a name of its own.
    pub(crate) fn routes<S>(&self, router: Router<S>, state: &AuthState, guard: &HostGuard) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let guard = guard.host_only();
        let router = serve_resource_metadata(router, state, &guard);
        let metadata_path = &self.config.oauth.metadata_path;
        if let Some(proxy) = &self.proxy {
            return proxy_routes(router, proxy, state, metadata_path, &guard);
        }
        match self.config.oauth.custom_oauth_metadata.clone() {
            Some(metadata) => router.route(
                metadata_path,
                get(move || std::future::ready(axum::Json(metadata.clone()))).layer(guard),
            ),
            None => router,
        }
    }
}

fn serve_resource_metadata<S>(router: Router<S>, state: &AuthState, guard: &HostGuard) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let root = "/.well-known/oauth-protected-resource";
    let inserted = format!("{root}{}", state.site().path);
    let state = state.clone();
    let document = move |headers: HeaderMap| {
        let state = state.clone();
        async move {
            let auth = state.auth();
            let resource = state.site().resource(&headers);
            let supported = &auth.config.scopes_supported;
            axum::Json(ProtectedResourceMetadata::new(
                &resource,
                auth.authorization_servers(),
                supported,
            ))
        }
    };
    let router = router.route(&inserted, get(document.clone()).layer(guard.clone()));
    if inserted == root {
        router
    } else {
        router.route(root, get(document).layer(guard.clone()))
    }
}

fn proxy_routes<S>(
    router: Router<S>,
    proxy: &Arc<Proxy>,
    state: &AuthState,
    metadata_path: &str,
    guard: &HostGuard,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    if let Some(resource) = state.site().fixed_resource() {
        proxy.set_resource(resource);
    }
    proxy.set_trust_forwarded(state.site().trust_forwarded);
    tracing::info!(
        issuer = proxy.issuer(),
        "OAuth proxy on: register {}/oauth/callback as the redirect URI at the provider",
        proxy.issuer()
    );
    proxy::routes(proxy, metadata_path)
        .into_iter()
        .fold(router, |router, (path, route)| {
            let route = crate::telemetry::count_oauth_proxy(&path, route).layer(guard.clone());
            router.route(&path, route)
        })
}

impl Site {
    /// The endpoint's canonical URL when it does not depend on the request: the configured
    /// resource, else `public_url` + path.
    pub(super) fn fixed_resource(&self) -> Option<String> {
        let from_public_url = || canonical_resource(self.public_url.as_deref()?, &self.path).ok();
        self.resource.clone().or_else(from_public_url)
    }
}
