//! The server span of each MCP request, the client span of each API request, and the metrics
//! recorded when they end.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use opentelemetry::KeyValue;
use opentelemetry::propagation::Injector;
use serde_json::value::RawValue;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::metrics::{instruments, record};
use super::{SPAN_TARGET, TraceCarrier, records_arguments, semconv};

/// What an MCP request acts on: a tool or prompt names its span (`tools/call get_item`); a
/// resource's URI is an attribute only, as the conventions advise (it is high-cardinality).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target<'a> {
    None,
    Tool(&'a str),
    Prompt(&'a str),
    Resource(&'a str),
}

/// What a request's span says of it besides its method and target, gathered only when the
/// span is recorded: its JSON-RPC id, the revision rmcp negotiated (stdio and legacy SSE have
/// no `MCP-Protocol-Version` header) and the trace context of its `_meta`.
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestTrace {
    pub(crate) id: Option<String>,
    pub(crate) protocol_version: Option<String>,
    pub(crate) carrier: Option<TraceCarrier>,
}

impl RequestTrace {
    /// From the fast path's raw envelope: the id as the client wrote it (a string unquoted).
    pub(crate) fn from_raw(id: Option<&RawValue>, meta: Option<&RawValue>) -> Self {
        let id = id.map(|id| serde_json::from_str::<String>(id.get()).unwrap_or_else(|_| id.get().to_owned()));
        Self {
            id,
            protocol_version: None,
            carrier: meta.and_then(TraceCarrier::from_raw),
        }
    }
}

/// How an MCP request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    Ok,
    /// A tool result with `isError: true`.
    ToolError,
    /// A JSON-RPC error, by its code.
    Error(i32),
}

/// The server span of one MCP request and its start, for the duration metric.
pub(crate) struct ServerRequest {
    span: Span,
    started: Option<Instant>,
    method: &'static str,
}

impl ServerRequest {
    /// Starts the span of `method` on `target`. `headers` are the HTTP request's (none on
    /// stdio); `describe` is asked only when the span is recorded.
    pub(crate) fn start(
        method: &'static str,
        target: Target<'_>,
        headers: Option<&HeaderMap>,
        describe: impl FnOnce() -> RequestTrace,
    ) -> Self {
        let span = tracing::info_span!(
            target: SPAN_TARGET,
            "mcp.server",
            otel.name = Empty,
            otel.kind = "server",
            otel.status_code = Empty,
            { semconv::MCP_METHOD_NAME } = method,
            { semconv::GEN_AI_OPERATION_NAME } = Empty,
            { semconv::GEN_AI_TOOL_NAME } = Empty,
            { semconv::GEN_AI_PROMPT_NAME } = Empty,
            { semconv::MCP_RESOURCE_URI } = Empty,
            { semconv::JSONRPC_REQUEST_ID } = Empty,
            { semconv::MCP_SESSION_ID } = Empty,
            { semconv::MCP_PROTOCOL_VERSION } = Empty,
            { semconv::NETWORK_TRANSPORT } = Empty,
            { semconv::ERROR_TYPE } = Empty,
            { semconv::RPC_RESPONSE_STATUS_CODE } = Empty,
        );
        if !span.is_disabled() {
            describe_server(&span, method, target, headers, describe());
        }
        let started = instruments().map(|_| Instant::now());
        Self { span, started, method }
    }

    pub(crate) fn span(&self) -> Span {
        self.span.clone()
    }

    /// Ends the request. `target` is given again for the metric, which names a tool or prompt
    /// only when the request did not fail as a request (an unknown name is the client's to
    /// choose, so it is kept out and the series stay bounded).
    pub(crate) fn finish(self, target: Target<'_>, answer: Answer) {
        let code;
        let error = match answer {
            Answer::Ok => None,
            Answer::ToolError => Some(semconv::TOOL_ERROR),
            Answer::Error(c) => {
                code = c.to_string();
                Some(code.as_str())
            }
        };
        if let Some(error) = error {
            self.span.record(semconv::ERROR_TYPE, error);
            if matches!(answer, Answer::Error(_)) {
                self.span.record(semconv::RPC_RESPONSE_STATUS_CODE, error);
            }
            self.span.record("otel.status_code", "error");
        }
        let (Some(metrics), Some(started)) = (instruments(), self.started) else {
            return;
        };
        let mut attributes = vec![KeyValue::new(semconv::MCP_METHOD_NAME, self.method)];
        if !matches!(answer, Answer::Error(_)) {
            let named = match target {
                Target::Tool(tool) => Some((semconv::GEN_AI_TOOL_NAME, tool)),
                Target::Prompt(prompt) => Some((semconv::GEN_AI_PROMPT_NAME, prompt)),
                Target::None | Target::Resource(_) => None,
            };
            if let Some((key, name)) = named {
                attributes.push(KeyValue::new(key, name.to_owned()));
            }
        }
        if let Some(error) = error {
            attributes.push(KeyValue::new(semconv::ERROR_TYPE, error.to_owned()));
        }
        record(&metrics.operation_duration, started.elapsed(), &attributes);
    }
}

fn describe_server(span: &Span, method: &str, target: Target<'_>, headers: Option<&HeaderMap>, request: RequestTrace) {
    match target {
        Target::Tool(tool) => {
            span.record("otel.name", format!("{method} {tool}"));
            span.record(semconv::GEN_AI_OPERATION_NAME, semconv::EXECUTE_TOOL);
            span.record(semconv::GEN_AI_TOOL_NAME, tool);
        }
        Target::Prompt(prompt) => {
            span.record("otel.name", format!("{method} {prompt}"));
            span.record(semconv::GEN_AI_PROMPT_NAME, prompt);
        }
        Target::Resource(uri) => {
            span.record("otel.name", method);
            span.record(semconv::MCP_RESOURCE_URI, uri);
        }
        Target::None => {
            span.record("otel.name", method);
        }
    }
    if let Some(id) = &request.id {
        span.record(semconv::JSONRPC_REQUEST_ID, id.as_str());
    }
    // Stdio is the one transport without HTTP headers.
    span.record(
        semconv::NETWORK_TRANSPORT,
        if headers.is_some() { "tcp" } else { "pipe" },
    );
    let header = |name: &str| headers.and_then(|h| h.get(name)).and_then(|v| v.to_str().ok());
    if let Some(session) = header("mcp-session-id") {
        span.record(semconv::MCP_SESSION_ID, session);
    }
    if let Some(version) = header("mcp-protocol-version").or(request.protocol_version.as_deref()) {
        span.record(semconv::MCP_PROTOCOL_VERSION, version);
    }
    let carrier = request.carrier.or_else(|| headers.and_then(TraceCarrier::from_headers));
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
