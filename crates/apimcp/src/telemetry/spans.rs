//! The two spans of a tool call and the metrics recorded when they end.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use opentelemetry::KeyValue;
use opentelemetry::propagation::Injector;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::metrics::{instruments, record};
use super::{SPAN_TARGET, TraceCarrier, records_arguments, semconv};
use crate::call::ToolOutput;

const TOOLS_CALL: &str = "tools/call";

/// The server span of one `tools/call` and its start, for the duration metric.
pub(crate) struct ServerCall {
    span: Span,
    started: Option<Instant>,
}

impl ServerCall {
    /// Starts the span, its parent the trace context of `_meta` (`meta`, only asked for when
    /// the span is recorded) or else of the HTTP headers.
    pub(crate) fn start(tool: &str, headers: Option<&HeaderMap>, meta: impl FnOnce() -> Option<TraceCarrier>) -> Self {
        let span = tracing::info_span!(
            target: SPAN_TARGET,
            "mcp.server",
            otel.name = Empty,
            otel.kind = "server",
            otel.status_code = Empty,
            { semconv::MCP_METHOD_NAME } = TOOLS_CALL,
            { semconv::GEN_AI_OPERATION_NAME } = "execute_tool",
            { semconv::GEN_AI_TOOL_NAME } = tool,
            { semconv::MCP_SESSION_ID } = Empty,
            { semconv::MCP_PROTOCOL_VERSION } = Empty,
            { semconv::ERROR_TYPE } = Empty,
        );
        if !span.is_disabled() {
            describe_server(&span, tool, headers, meta);
        }
        let started = instruments().map(|_| Instant::now());
        Self { span, started }
    }

    pub(crate) fn span(&self) -> Span {
        self.span.clone()
    }

    /// Ends the call: `None` is an unknown tool (a JSON-RPC invalid params error).
    pub(crate) fn finish(self, tool: &str, output: Option<&ToolOutput>) {
        let error = match output {
            None => Some("-32602"),
            Some(output) if output.is_error => Some(semconv::TOOL_ERROR),
            Some(_) => None,
        };
        if let Some(error) = error {
            self.span.record(semconv::ERROR_TYPE, error);
            self.span.record("otel.status_code", "error");
        }
        let (Some(metrics), Some(started)) = (instruments(), self.started) else {
            return;
        };
        let mut attributes = vec![KeyValue::new(semconv::MCP_METHOD_NAME, TOOLS_CALL)];
        // An unknown tool's name is the client's to choose: kept out, so the series are bounded.
        if output.is_some() {
            attributes.push(KeyValue::new(semconv::GEN_AI_TOOL_NAME, tool.to_owned()));
        }
        if let Some(error) = error {
            attributes.push(KeyValue::new(semconv::ERROR_TYPE, error));
        }
        record(&metrics.operation_duration, started.elapsed(), &attributes);
    }
}

fn describe_server(span: &Span, tool: &str, headers: Option<&HeaderMap>, meta: impl FnOnce() -> Option<TraceCarrier>) {
    span.record("otel.name", format!("{TOOLS_CALL} {tool}"));
    let header = |name: &str| headers.and_then(|h| h.get(name)).and_then(|v| v.to_str().ok());
    if let Some(session) = header("mcp-session-id") {
        span.record(semconv::MCP_SESSION_ID, session);
    }
    if let Some(version) = header("mcp-protocol-version") {
        span.record(semconv::MCP_PROTOCOL_VERSION, version);
    }
    let carrier = meta().or_else(|| headers.and_then(TraceCarrier::from_headers));
    if let Some(carrier) = carrier {
        // Fails only when no OpenTelemetry layer records the span, and then it has no parent.
        let _ = span.set_parent(carrier.context());
    }
}

/// The client span of the API request a tool call sends.
pub(crate) struct UpstreamCall {
    span: Span,
    started: Option<Instant>,
    method: http::Method,
}

impl UpstreamCall {
    /// Starts the span and puts its trace context on `request`. `base` gives the API's base
    /// URL for a remote API (none in-process), asked only when the span is recorded;
    /// `template` is the operation's path template.
    pub(crate) fn start(
        request: &mut Request<Bytes>,
        base: impl FnOnce(&Request<Bytes>) -> Option<String>,
        template: &str,
    ) -> Self {
        let method = request.method().clone();
        let span = tracing::info_span!(
            target: SPAN_TARGET,
            "http.client",
            otel.name = Empty,
            otel.kind = "client",
            otel.status_code = Empty,
            { semconv::HTTP_REQUEST_METHOD } = method.as_str(),
            { semconv::URL_FULL } = Empty,
            { semconv::URL_TEMPLATE } = template,
            { semconv::HTTP_RESPONSE_STATUS_CODE } = Empty,
            { semconv::ERROR_TYPE } = Empty,
        );
        if !span.is_disabled() {
            span.record("otel.name", format!("{method} {template}"));
            if let Some(base) = base(request) {
                span.record(semconv::URL_FULL, shown_url(&base, request.uri(), template));
            }
            inject(&span, request.headers_mut());
        }
        let started = instruments().map(|_| Instant::now());
        Self { span, started, method }
    }

    pub(crate) fn span(&self) -> Span {
        self.span.clone()
    }

    /// Ends the request: its status, or the kind of failure that left it without one.
    pub(crate) fn finish(self, outcome: Result<StatusCode, &'static str>) {
        let error: Option<std::borrow::Cow<'static, str>> = match outcome {
            Ok(status) if status.as_u16() >= 400 => Some(status.as_str().to_owned().into()),
            Ok(_) => None,
            Err(kind) => Some(kind.into()),
        };
        if let Ok(status) = outcome {
            self.span
                .record(semconv::HTTP_RESPONSE_STATUS_CODE, i64::from(status.as_u16()));
        }
        if let Some(error) = &error {
            self.span.record(semconv::ERROR_TYPE, error.as_ref());
            self.span.record("otel.status_code", "error");
        }
        let (Some(metrics), Some(started)) = (instruments(), self.started) else {
            return;
        };
        let mut attributes = vec![KeyValue::new(
            semconv::HTTP_REQUEST_METHOD,
            self.method.as_str().to_owned(),
        )];
        if let Ok(status) = outcome {
            attributes.push(KeyValue::new(
                semconv::HTTP_RESPONSE_STATUS_CODE,
                i64::from(status.as_u16()),
            ));
        }
        if let Some(error) = error {
            attributes.push(KeyValue::new(semconv::ERROR_TYPE, error));
        }
        record(&metrics.upstream_duration, started.elapsed(), &attributes);
    }
}

/// `base` + the path (the template unless arguments may be recorded) + the query with every
/// value replaced: `https://api.test/v1/items/{item_id}?api_key=REDACTED`.
fn shown_url(base: &str, uri: &http::Uri, template: &str) -> String {
    let path = if records_arguments() { uri.path() } else { template };
    let mut url = format!("{}{path}", base.trim_end_matches('/'));
    if let Some(query) = uri.query() {
        let keys: Vec<String> = form_urlencoded::parse(query.as_bytes())
            .map(|(key, _)| {
                let key: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
                format!("{key}=REDACTED")
            })
            .collect();
        url.push('?');
        url.push_str(&keys.join("&"));
    }
    url
}

fn inject(span: &Span, headers: &mut HeaderMap) {
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeaderInjector(headers));
    });
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(key), HeaderValue::try_from(value)) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_show_the_template_and_no_query_value() {
        let uri: http::Uri = "/items/42?api_key=s3cret&q=x%20y".parse().expect("uri");
        let url = shown_url("https://api.test/v1/", &uri, "/items/{item_id}");
        assert_eq!(url, "https://api.test/v1/items/{item_id}?api_key=REDACTED&q=REDACTED");
    }
}
