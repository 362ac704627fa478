//! Putting the server on an axum router, and serving it.

use std::convert::Infallible;

use axum::Router;
use axum::extract::Request;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::{Service, ServiceBuilder};

use super::McpServer;

/// What an endpoint is to axum: a cloneable HTTP service that never fails.
pub(super) trait HttpService:
    Service<Request, Response = Response, Error = Infallible, Future: Send + 'static> + Clone + Send + Sync + 'static
{
}

impl<T> HttpService for T where
    T: Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

impl McpServer {
    /// Adds the Streamable HTTP endpoint at `path` (e.g. `/mcp`, and `/mcp/` with it) to
    /// `router`, behind the host guard. An empty path or `/` makes it the router's fallback.
    pub fn mount_http<S>(&self, router: Router<S>, path: &str) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let endpoint = crate::mcp::streamable_http(self, self.shutdown_token());
        let endpoint = self.protect(super::fast::Endpoint::new(self, endpoint), path);
        let router = self.serve_metadata(router, path);
        let router = self.serve_authorization(router, path);
        // Routes of their own (not a nested router): no path rewriting or second routing per
        // request. `/mcp/` is served as `/mcp`.
        let path = path.trim_end_matches('/');
        if path.is_empty() {
            router.fallback_service(endpoint)
        } else {
            router
                .route_service(path, endpoint.clone())
                .route_service(&format!("{path}/"), endpoint)
        }
    }

    /// The host guard, then auth when it is on (a foreign Origin learns nothing about auth).
    pub(super) fn protect(&self, endpoint: impl HttpService, path: &str) -> impl HttpService {
        let auth = self
            .auth_state(path)
            .map(|state| from_fn_with_state(state, crate::auth::authenticate));
        ServiceBuilder::new()
            .layer(self.options().host_guard.clone())
            .option_layer(auth)
            .service(endpoint)
    }

    pub(super) fn auth_state(&self, path: &str) -> Option<crate::auth::AuthState> {
        let config = self.auth()?.clone();
        let server = self.clone();
        Some(crate::auth::AuthState {
            verifier: config.verifier_for(self.fixed_resource(path).as_deref()),
            config,
            path: path.trim_end_matches('/').to_owned(),
            public_url: self.options().public_url.clone(),
            trust_forwarded: self.options().trust_forwarded_headers,
            document_scopes: std::sync::Arc::new(move |tool| server.document_scopes(tool)),
        })
    }

    /// The endpoint's canonical URL when it does not depend on the request: the configured
    /// resource, else `public_url` + `path`.
    fn fixed_resource(&self, path: &str) -> Option<String> {
        let config = self.auth()?;
        let public_url = self.options().public_url.as_deref();
        config
            .resource
            .clone()
            .or_else(|| public_url.and_then(|base| crate::auth::canonical_resource(base, path).ok()))
    }

    /// RFC 9728 metadata at the root and path-inserted well-known URLs, when auth is on.
    fn serve_metadata<S>(&self, router: Router<S>, path: &str) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let Some(state) = self.auth_state(path) else {
            return router;
        };
        let document = move |headers: http::HeaderMap| {
            let state = state.clone();
            async move {
                let resource = state.resource(&headers);
                let metadata = crate::auth::ProtectedResourceMetadata::new(
                    &resource,
                    &state.config.authorization_servers,
                    &state.config.scopes_supported,
                );
                axum::Json(metadata)
            }
        };
        let root = "/.well-known/oauth-protected-resource";
        let inserted = format!("{root}{}", path.trim_end_matches('/'));
        let router = router.route(&inserted, axum::routing::get(document.clone()));
        if inserted == root {
            router
        } else {
            router.route(root, axum::routing::get(document))
        }
    }

    /// The authorization server side, when configured: the proxy's endpoints, or the custom
    /// metadata.
    fn serve_authorization<S>(&self, router: Router<S>, path: &str) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let Some(config) = self.auth() else {
            return router;
        };
        let metadata_path = config.oauth.metadata_path.clone();
        if let Some(proxy) = &config.proxy {
            if let Some(resource) = self.fixed_resource(path) {
                proxy.set_resource(resource);
            }
            tracing::info!(
                issuer = proxy.issuer(),
                "OAuth proxy on: register {}/oauth/callback as the redirect URI at the provider",
                proxy.issuer()
            );
            return crate::auth::proxy::routes(proxy, &metadata_path)
                .into_iter()
                .fold(router, |router, (path, route)| router.route(&path, route));
        }
        if let Some(metadata) = config.oauth.custom_oauth_metadata.clone() {
            return router.route(
                &metadata_path,
                axum::routing::get(move || std::future::ready(axum::Json(metadata.clone()))),
            );
        }
        router
    }

    /// Serves on stdin and stdout until the client closes them (logs must go to stderr).
    pub async fn serve_stdio(&self) -> std::io::Result<()> {
        crate::mcp::serve_stdio(self.clone()).await
    }

    /// Ends the sessions and streams of every mounted endpoint.
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
    }

    pub(super) fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.child_token()
    }
}

pub(super) fn nest<S>(router: Router<S>, path: &str, service: impl HttpService) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        router.fallback_service(service)
    } else {
        router.nest_service(path, service)
    }
}

/// Serves `app` on `listener` until Ctrl-C (or SIGTERM), with TCP_NODELAY on every accepted
/// socket: without it, replies written in several pieces (SSE) wait about 40 ms for delayed
/// ACKs.
pub async fn serve(listener: TcpListener, app: Router) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
