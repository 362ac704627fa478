//! The metrics, on the global meter. Off (nothing recorded, no attribute built) until the
//! program has installed its meter provider and calls [`enable_metrics`].

use std::sync::OnceLock;
use std::time::Duration;

use axum::response::Response;
use axum::routing::MethodRouter;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, UpDownCounter};

use super::semconv;

/// Bucket bounds in seconds, from a fast in-process call to a slow API.
const DURATION_BOUNDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub(super) struct Instruments {
    pub(super) operation_duration: Histogram<f64>,
    pub(super) upstream_duration: Histogram<f64>,
    sessions: UpDownCounter<i64>,
    auth_refusals: Counter<u64>,
    oauth_proxy: Counter<u64>,
    rejected: Counter<u64>,
}

static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();

/// Creates apimcp's instruments on the global meter provider and starts recording. Call it
/// once, after `opentelemetry::global::set_meter_provider`.
pub fn enable_metrics() {
    INSTRUMENTS.get_or_init(|| {
        let meter = opentelemetry::global::meter("apimcp");
        let seconds = |name: &'static str, description: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(description)
                .with_boundaries(DURATION_BOUNDS.to_vec())
                .build()
        };
        let count = |name: &'static str, description: &'static str| {
            meter.u64_counter(name).with_description(description).build()
        };
        Instruments {
            operation_duration: seconds(
                semconv::MCP_SERVER_OPERATION_DURATION,
                "MCP requests, by method, tool and error type",
            ),
            upstream_duration: seconds(
                semconv::HTTP_CLIENT_REQUEST_DURATION,
                "API requests of tool calls, by method and status",
            ),
            sessions: meter
                .i64_up_down_counter(semconv::MCP_SERVER_SESSIONS)
                .with_description("Live MCP sessions")
                .build(),
            auth_refusals: count(
                semconv::AUTH_REFUSALS,
                "Requests refused by the bearer check, by status and reason",
            ),
            oauth_proxy: count(
                semconv::OAUTH_PROXY_OUTCOMES,
                "OAuth proxy requests, by endpoint and outcome",
            ),
            rejected: count(
                semconv::REQUESTS_REJECTED,
                "Requests refused by the traffic limits, by cause",
            ),
        }
    });
}

pub(super) fn instruments() -> Option<&'static Instruments> {
    INSTRUMENTS.get()
}

pub(super) fn record(histogram: &Histogram<f64>, elapsed: Duration, attributes: &[KeyValue]) {
    histogram.record(elapsed.as_secs_f64(), attributes);
}

/// A session opened (stateful Streamable HTTP or legacy SSE).
pub(crate) fn session_opened() {
    if let Some(m) = instruments() {
        m.sessions.add(1, &[]);
    }
}

/// A session ended (closed, expired or evicted).
pub(crate) fn session_closed() {
    if let Some(m) = instruments() {
        m.sessions.add(-1, &[]);
    }
}

/// The bearer check refused a request: `status` 401 or 403, `reason` a short fixed word.
pub(crate) fn auth_refused(status: u16, reason: &'static str) {
    if let Some(m) = instruments() {
        let attributes = [
            KeyValue::new(semconv::STATUS, i64::from(status)),
            KeyValue::new(semconv::REASON, reason),
        ];
        m.auth_refusals.add(1, &attributes);
    }
}

/// `route` (the OAuth proxy's endpoint at `path`), counting its answers by outcome.
pub(crate) fn count_oauth_proxy<S>(path: &str, route: MethodRouter<S>) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    let endpoint = match path.rsplit('/').next().unwrap_or_default() {
        "authorize" => "authorize",
        "consent" => "consent",
        "callback" => "callback",
        "token" => "token",
        "revoke" => "revoke",
        "register" => "register",
        _ => "metadata",
    };
    route.layer(axum::middleware::map_response(move |response: Response| async move {
        oauth_proxy_outcome(endpoint, outcome_of(&response));
        response
    }))
}

/// `ok`, `error_redirect` (an OAuth error sent back to the client's redirect URI),
/// `client_error` or `server_error`.
fn outcome_of(response: &Response) -> &'static str {
    let status = response.status();
    let location = response
        .headers()
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok());
    match status.as_u16() {
        500.. => "server_error",
        400.. => "client_error",
        300.. if location.is_some_and(|l| l.contains("error=")) => "error_redirect",
        _ => "ok",
    }
}

fn oauth_proxy_outcome(endpoint: &'static str, outcome: &'static str) {
    if let Some(m) = instruments() {
        let attributes = [
            KeyValue::new(semconv::ENDPOINT, endpoint),
            KeyValue::new(semconv::OUTCOME, outcome),
        ];
        m.oauth_proxy.add(1, &attributes);
    }
}

/// A traffic limit refused a request: `cause` a short fixed word.
pub(crate) fn rejected(cause: &'static str) {
    if let Some(m) = instruments() {
        m.rejected.add(1, &[KeyValue::new(semconv::REASON, cause)]);
    }
}
