//! Putting the server on an axum router, and serving it.

use axum::Router;
use axum::middleware::from_fn_with_state;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::McpServer;
use super::guard::enforce;

impl McpServer {
    /// Adds the Streamable HTTP endpoint at `path` (e.g. `/mcp`) to `router`, behind the host
    /// guard.
    pub fn mount_http<S>(&self, router: Router<S>, path: &str) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let service = crate::mcp::streamable_http(self, self.shutdown_token());
        let guarded = Router::new()
            .fallback_service(service)
            .layer(from_fn_with_state(self.options().host_guard.clone(), enforce));
        nest(router, path, guarded)
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

pub(super) fn nest<S>(router: Router<S>, path: &str, service: Router) -> Router<S>
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
