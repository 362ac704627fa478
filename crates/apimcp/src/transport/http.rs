//! Putting the Streamable HTTP endpoint (and the authorization routes that go with it) on an
//! axum router, and serving a router.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use tower::{Service, ServiceBuilder};

use super::fast::Endpoint;
use crate::auth::AuthState;
use crate::server::McpServer;

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
        let rmcp = crate::mcp::streamable_http(self, self.shutdown_token());
        let auth = self.auth_state(path);
        let endpoint = self.protect(Endpoint::new(self, rmcp, auth.clone()), auth.as_ref());
        let router = match (self.auth(), &auth) {
            (Some(runtime), Some(auth)) => runtime.routes(router, auth, &self.options().host_guard),
            _ => router,
        };
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

    /// The host guard, then the bearer layer when auth is on (a foreign Origin learns nothing
    /// about auth).
    pub(super) fn protect(&self, endpoint: impl HttpService, auth: Option<&AuthState>) -> impl HttpService {
        ServiceBuilder::new()
            .layer(self.options().host_guard.clone())
            .option_layer(auth.map(AuthState::layer))
            .service(endpoint)
    }

    /// The auth of the endpoint at `path`, when auth is on.
    pub(super) fn auth_state(&self, path: &str) -> Option<AuthState> {
        let server = self.clone();
        let document_scopes = Arc::new(move |tool: &str| server.document_scopes(tool));
        let options = self.options();
        let public_url = options.public_url.as_deref();
        Some(
            self.auth()?
                .endpoint(path, public_url, options.trust_forwarded_headers, document_scopes),
        )
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

/// Resolves on Ctrl-C or SIGTERM.
pub(super) async fn shutdown_signal() {
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
