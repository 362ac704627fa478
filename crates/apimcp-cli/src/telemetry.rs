//! Logs, traces and metrics of the running command: the `tracing` subscriber (human or JSON
//! lines on stderr), the OpenTelemetry providers and their OTLP exporters, configured by the
//! standard `OTEL_*` variables, and the Prometheus registry `/metrics` reads.
//!
//! Traces are exported when `OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (metrics likewise, with `..._METRICS_ENDPOINT`),
//! over HTTP/protobuf or, with `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`, gRPC. The SDK reads
//! `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER` and the batch
//! settings itself. With nothing set, no provider is installed and apimcp makes no span.

use std::fmt;

use anyhow::Context as _;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_otlp::{MetricExporter, SpanExporter};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::args::LogFormat;

/// The installed providers, flushed and shut down when the command ends.
#[derive(Default)]
pub(crate) struct Telemetry {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
}

impl Telemetry {
    /// Flushes what is buffered and stops the exporters, waiting at most [`SHUTDOWN_LIMIT`]:
    /// a collector that is down must not keep the process from exiting.
    pub(crate) fn shutdown(self) {
        if self.tracer.is_none() && self.meter.is_none() {
            return;
        }
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            self.flush();
            let _ = done.send(());
        });
        if finished.recv_timeout(SHUTDOWN_LIMIT).is_err() {
            eprintln!("apimcp: the telemetry exporters did not finish within {SHUTDOWN_LIMIT:?}; exiting without them");
        }
    }

    fn flush(self) {
        if let Some(tracer) = self.tracer
            && let Err(e) = tracer.shutdown_with_timeout(SHUTDOWN_LIMIT)
        {
            eprintln!("apimcp: exporting the last spans failed: {e}");
        }
        if let Some(meter) = self.meter
            && let Err(e) = meter.shutdown()
        {
            eprintln!("apimcp: exporting the last metrics failed: {e}");
        }
    }
}

/// The longest the exporters may take to flush at exit.
const SHUTDOWN_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Logs to stderr in `format`, and traces when OTLP is configured (or JSON logs want ids).
/// Call within the Tokio runtime's context: the gRPC exporter takes its handle.
pub(crate) fn init(format: LogFormat) -> anyhow::Result<Telemetry> {
    let mut telemetry = Telemetry::default();
    if otlp_configured("TRACES") {
        telemetry.tracer = Some(tracer_provider(Some(span_exporter()?)));
    } else if format == LogFormat::Json {
        // Ids for the log lines, nothing exported.
        telemetry.tracer = Some(tracer_provider(None));
    }
    if let Some(provider) = &telemetry.tracer {
        let propagator = opentelemetry::propagation::TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ]);
        opentelemetry::global::set_text_map_propagator(propagator);
        opentelemetry::global::set_tracer_provider(provider.clone());
        apimcp::telemetry::enable_traces();
    }
    tracing_subscriber::registry()
        .with(log_layer(format))
        .try_init()
        .context("installing the log subscriber")?;
    Ok(telemetry)
}

/// Installs the meter provider: its Prometheus reader when `/metrics` is served, its OTLP
/// reader when configured. With neither, no metric is recorded.
pub(crate) fn init_metrics(telemetry: &mut Telemetry, registry: Option<&prometheus::Registry>) -> anyhow::Result<()> {
    let otlp = otlp_configured("METRICS");
    if registry.is_none() && !otlp {
        return Ok(());
    }
    let mut builder = SdkMeterProvider::builder().with_resource(resource());
    if let Some(registry) = registry {
        let exporter = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .build()
            .context("the Prometheus exporter")?;
        builder = builder.with_reader(exporter);
    }
    if otlp {
        builder = builder.with_reader(PeriodicReader::builder(metric_exporter()?).build());
    }
    let provider = builder.build();
    opentelemetry::global::set_meter_provider(provider.clone());
    apimcp::telemetry::enable_metrics();
    telemetry.meter = Some(provider);
    Ok(())
}

fn log_layer<S>(format: LogFormat) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,rmcp=warn,opentelemetry=warn,opentelemetry_sdk=warn".into());
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match format {
        LogFormat::Text => layer
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => layer.event_format(JsonLines).with_filter(filter).boxed(),
    }
}

/// Whether OTLP export of `signal` (`TRACES`, `METRICS`) is configured and not turned off.
fn otlp_configured(signal: &str) -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let exporter = std::env::var(format!("OTEL_{signal}_EXPORTER")).unwrap_or_default();
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set(&format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")))
        && !exporter.eq_ignore_ascii_case("none")
        && !disabled
}

/// Whether `signal` goes over gRPC (`OTEL_EXPORTER_OTLP[_SIGNAL]_PROTOCOL=grpc`) rather than
/// HTTP/protobuf, the default.
fn grpc(signal: &str) -> anyhow::Result<bool> {
    let protocol = std::env::var(format!("OTEL_EXPORTER_OTLP_{signal}_PROTOCOL"))
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or_default();
    match protocol.trim() {
        "" | "http/protobuf" => Ok(false),
        "grpc" => Ok(true),
        other => anyhow::bail!("OTEL_EXPORTER_OTLP_PROTOCOL: {other:?} is not supported (grpc or http/protobuf)"),
    }
}

fn span_exporter() -> anyhow::Result<SpanExporter> {
    let exporter = if grpc("TRACES")? {
        SpanExporter::builder().with_tonic().build()
    } else {
        SpanExporter::builder().with_http().build()
    };
    exporter.context("the OTLP span exporter")
}

fn metric_exporter() -> anyhow::Result<MetricExporter> {
    let exporter = if grpc("METRICS")? {
        MetricExporter::builder().with_tonic().build()
    } else {
        MetricExporter::builder().with_http().build()
    };
    exporter.context("the OTLP metric exporter")
}

fn tracer_provider(exporter: Option<SpanExporter>) -> SdkTracerProvider {
    let builder = SdkTracerProvider::builder().with_resource(resource());
    match exporter {
        Some(exporter) => builder.with_batch_exporter(exporter).build(),
        None => builder.build(),
    }
}

/// The SDK's resource (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`), named `apimcp` unless
/// those name the service.
fn resource() -> Resource {
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.is_empty())
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.name="));
    let builder = Resource::builder();
    if named {
        builder
    } else {
        builder.with_service_name("apimcp")
    }
    .build()
}

/// One JSON object a line: time, level, target, the event's fields, and the trace and span
/// ids of the OpenTelemetry span it happened in.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let metadata = event.metadata();
        let mut line = Map::new();
        line.insert("timestamp".into(), timestamp.into());
        line.insert("level".into(), metadata.level().as_str().into());
        line.insert("target".into(), metadata.target().into());
        let mut fields = Map::new();
        event.record(&mut JsonFields(&mut fields));
        line.insert("fields".into(), fields.into());
        // The span of the request being answered: apimcp makes it current while it runs.
        let ids = opentelemetry::Context::map_current(|context| context.span().span_context().clone());
        if ids.is_valid() {
            line.insert("trace_id".into(), ids.trace_id().to_string().into());
            line.insert("span_id".into(), ids.span_id().to_string().into());
        }
        writeln!(writer, "{}", Value::Object(line))
    }
}

struct JsonFields<'a>(&'a mut Map<String, Value>);

impl Visit for JsonFields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::{Tracer as _, TracerProvider as _};

    use super::*;

    /// Log lines captured in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_carry_the_ids_of_the_current_span_only() {
        let provider = SdkTracerProvider::builder().build();
        let span = provider.tracer("test").start("tools/call get_item");
        let context = opentelemetry::Context::current_with_span(span);
        let ids = context.span().span_context().clone();
        let captured = Captured::default();
        let writer = captured.clone();
        let logs = tracing_subscriber::fmt::layer()
            .event_format(JsonLines)
            .with_writer(move || writer.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(logs), || {
            {
                let _current = context.clone().attach();
                tracing::warn!(tool = "get_item", "inside the request");
            }
            tracing::info!("after it");
        });

        let text = String::from_utf8(captured.0.lock().expect("log buffer").clone()).expect("utf-8");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["level"], "WARN");
        assert_eq!(lines[0]["fields"]["tool"], "get_item");
        assert_eq!(lines[0]["fields"]["message"], "inside the request");
        assert_eq!(lines[0]["trace_id"], ids.trace_id().to_string());
        assert_eq!(lines[0]["span_id"], ids.span_id().to_string());
        assert!(lines[1].get("trace_id").is_none(), "{}", lines[1]);
    }
}
