//! Traces and metrics through the OpenTelemetry API, so an operator can follow one agent
//! request from the MCP client through apimcp into the API, and alert on what the agents do.
//!
//! The library only emits: a server span per MCP request and a client span per API request on
//! the global tracer once [`enable_traces`] is called, and metrics on the global meter once
//! [`enable_metrics`] is called. The program that links it installs the providers and
//! exporters (the `apimcp` command does, from the standard `OTEL_*` variables). Until then no
//! span is made and no metric recorded: the cost is one check a request.
//!
//! The trace context of a call is taken from the request's `_meta` (`traceparent`,
//! `tracestate`, `baggage`), else from the HTTP `traceparent` header, and injected into the
//! API request, in-process or remote, through the global text map propagator.
//!
//! No attribute carries a token, a secret or an argument value: the API request's URL is its
//! path template, with its query values replaced, unless [`record_arguments`] is turned on.

mod carrier;
mod metrics;
pub mod semconv;
mod spans;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::InstrumentationScope;
use opentelemetry::global::BoxedTracer;

pub(crate) use carrier::TraceCarrier;
pub use metrics::enable_metrics;
pub(crate) use metrics::{auth_refused, count_oauth_proxy, rejected, session_closed, session_opened};
pub(crate) use spans::{Answer, RequestTrace, ServerRequest, Target, UpstreamCall};

static TRACER: OnceLock<BoxedTracer> = OnceLock::new();

/// Starts making spans on the global tracer provider. Call it once, after
/// `opentelemetry::global::set_tracer_provider`.
pub fn enable_traces() {
    TRACER.get_or_init(|| {
        let scope = InstrumentationScope::builder("apimcp")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        opentelemetry::global::tracer_with_scope(scope)
    });
}

/// Whether spans are made: what a span would show need not be gathered otherwise.
pub(crate) fn traces_enabled() -> bool {
    TRACER.get().is_some()
}

/// The tracer, once traces are enabled.
fn tracer() -> Option<&'static BoxedTracer> {
    TRACER.get()
}

static RECORD_ARGUMENTS: AtomicBool = AtomicBool::new(false);

/// Lets the API request's span show the real path (with the call's path arguments) rather
/// than its template. Query values stay hidden either way: an API key may ride there.
pub fn record_arguments(on: bool) {
    RECORD_ARGUMENTS.store(on, Ordering::Relaxed);
}

fn records_arguments() -> bool {
    RECORD_ARGUMENTS.load(Ordering::Relaxed)
}
