//! The operator's listener (`metrics_listen`), apart from the MCP one so that it can stay
//! private: `/metrics` in the Prometheus text format, `/healthz` (the process answers) and
//! `/readyz` (the document is converted; tokens can be checked when auth is on; the OAuth
//! proxy's provider and store answer).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use apimcp::McpServer;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// What the probes look at: the metrics registry, and the server once it is built.
#[derive(Clone)]
pub(crate) struct Probes {
    registry: prometheus::Registry,
    server: Arc<OnceLock<McpServer>>,
}

impl Probes {
    pub(crate) fn new() -> Self {
        Self {
            registry: prometheus::Registry::new(),
            server: Arc::default(),
        }
    }

    /// The registry the Prometheus exporter fills.
    pub(crate) fn registry(&self) -> &prometheus::Registry {
        &self.registry
    }

    /// The server is built: its document converted.
    pub(crate) fn serving(&self, server: &McpServer) {
        let _ = self.server.set(server.clone());
    }
}

/// Binds `addr` and serves the probes there in the background.
pub(crate) async fn listen(addr: SocketAddr, probes: Probes) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (metrics_listen)"))?;
    tracing::info!(
        "metrics at http://{}/metrics, probes at /healthz and /readyz",
        listener.local_addr()?
    );
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(probes);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}

async fn metrics(State(probes): State<Probes>) -> Response {
    let encoder = prometheus::TextEncoder::new();
    match encoder.encode_to_string(&probes.registry.gather()) {
        Ok(text) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the metrics: {e}\n"),
        )
            .into_response(),
    }
}

async fn ready(State(probes): State<Probes>) -> Response {
    let Some(server) = probes.server.get() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the OpenAPI document is not converted yet\n",
        )
            .into_response();
    };
    match server.ready().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n")).into_response(),
    }
}
