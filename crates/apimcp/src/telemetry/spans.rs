//! The server span of each MCP request, the client span of each API request, and the metrics
//! recorded when they end.
//!
//! The spans are made through the OpenTelemetry API directly, with their attributes built
//! once, rather than as `tracing` spans translated field by field: at tens of thousands of
//! calls a second on one core, the translation cost more than the call.

use std::borrow::Cow;
use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::Either;
use http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use opentelemetry::context::FutureExt as _;
use opentelemetry::context::WithContext;
use opentelemetry::global::BoxedSpan;
use opentelemetry::propagation::Injector;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use serde_json::value::RawValue;

use super::metrics::{Instruments, instruments, record};
use super::{TraceCarrier, records_arguments, semconv, tracer};

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
        let id = id.map(|id| {
            let text = id.get();
            let quoted = text.starts_with('"');
            quoted
                .then(|| serde_json::from_str::<String>(text).ok())
                .flatten()
                .unwrap_or_else(|| text.to_owned())
        });
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
    timed: Timed,
    method: &'static str,
}

impl ServerRequest {
    /// Starts the span of `method` on `target`. `headers` are the HTTP request's (none on
    /// stdio); `describe` is asked only when traces are on.
    pub(crate) fn start(
        method: &'static str,
        target: Target<'_>,
        headers: Option<&HeaderMap>,
        describe: impl FnOnce() -> RequestTrace,
    ) -> Self {
        let context = tracer().map(|tracer| {
            let mut request = describe();
            let carrier = request
                .carrier
                .take()
                .or_else(|| headers.and_then(TraceCarrier::from_headers));
            let parent = carrier.map_or_else(Context::current, |c| c.context());
            let mut span = tracer
                .span_builder(method)
                .with_kind(SpanKind::Server)
                .start_with_context(tracer, &parent);
            if span.is_recording() {
                describe_server(&mut span, method, target, headers, request);
            }
            parent.with_span(span)
        });
        Self {
            timed: Timed::new(context),
            method,
        }
    }

    /// `work` inside the span: the API call's span is its child, and log lines written
    /// meanwhile carry its ids.
    pub(crate) fn run<F: Future>(&self, work: F) -> Within<F> {
        self.timed.run(work)
    }

    /// Ends the request. `target` is given again for the metric, which names a tool or prompt
    /// only when the request did not fail as a request (an unknown name is the client's to
    /// choose, so it is kept out and the series stay bounded).
    pub(crate) fn finish(self, target: Target<'_>, answer: Answer) {
        let error: Option<Cow<'static, str>> = match answer {
            Answer::Ok => None,
            Answer::ToolError => Some(semconv::TOOL_ERROR.into()),
            Answer::Error(code) => Some(code.to_string().into()),
        };
        self.timed.end_span(error.as_ref(), || match (answer, &error) {
            (Answer::Error(_), Some(code)) => vec![KeyValue::new(semconv::RPC_RESPONSE_STATUS_CODE, code.clone())],
            _ => Vec::new(),
        });
        let Some((metrics, elapsed)) = self.timed.elapsed() else {
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
            attributes.push(KeyValue::new(semconv::ERROR_TYPE, error));
        }
        record(&metrics.operation_duration, elapsed, &attributes);
    }
}

/// Names the span (`tools/call get_item`: a tool or prompt does, a resource's URI does not,
/// being high-cardinality) and sets its attributes. Only a span that is recorded gets them:
/// with a ratio sampler most are not, and the call should not pay for them. (The standard
/// samplers decide on the trace id and the parent alone.)
fn describe_server(
    span: &mut BoxedSpan,
    method: &'static str,
    target: Target<'_>,
    headers: Option<&HeaderMap>,
    request: RequestTrace,
) {
    let mut attributes = Vec::with_capacity(8);
    match target {
        Target::Tool(tool) => {
            span.update_name(format!("{method} {tool}"));
            attributes.push(KeyValue::new(semconv::GEN_AI_OPERATION_NAME, semconv::EXECUTE_TOOL));
            attributes.push(KeyValue::new(semconv::GEN_AI_TOOL_NAME, tool.to_owned()));
        }
        Target::Prompt(prompt) => {
            span.update_name(format!("{method} {prompt}"));
            attributes.push(KeyValue::new(semconv::GEN_AI_PROMPT_NAME, prompt.to_owned()));
        }
        Target::Resource(uri) => attributes.push(KeyValue::new(semconv::MCP_RESOURCE_URI, uri.to_owned())),
        Target::None => {}
    }
    attributes.push(KeyValue::new(semconv::MCP_METHOD_NAME, method));
    if let Some(id) = request.id {
        attributes.push(KeyValue::new(semconv::JSONRPC_REQUEST_ID, id));
    }
    // Stdio is the one transport without HTTP headers.
    let transport = if headers.is_some() { "tcp" } else { "pipe" };
    attributes.push(KeyValue::new(semconv::NETWORK_TRANSPORT, transport));
    let header = |name: &str| headers.and_then(|h| h.get(name)).and_then(|v| v.to_str().ok());
    if let Some(session) = header("mcp-session-id") {
        attributes.push(KeyValue::new(semconv::MCP_SESSION_ID, session.to_owned()));
    }
    if let Some(version) = header("mcp-protocol-version")
        .map(str::to_owned)
        .or(request.protocol_version)
    {
        attributes.push(KeyValue::new(semconv::MCP_PROTOCOL_VERSION, version));
    }
    span.set_attributes(attributes);
}

/// The client span of the API request a tool call sends.
pub(crate) struct UpstreamCall {
    timed: Timed,
    method: http::Method,
}

impl UpstreamCall {
    /// Starts the span, as a child of the current one, and puts its trace context on
    /// `request`. `base` gives the API's base URL for a remote API (none in-process), asked
    /// only when traces are on; `template` is the operation's path template.
    pub(crate) fn start(
        request: &mut Request<Bytes>,
        base: impl FnOnce(&Request<Bytes>) -> Option<String>,
        template: &str,
    ) -> Self {
        let method = request.method().clone();
        let context = tracer().map(|tracer| {
            let parent = Context::current();
            let mut span = tracer
                .span_builder(method_name(&method))
                .with_kind(SpanKind::Client)
                .start_with_context(tracer, &parent);
            // Named and described only when recorded, as the server span is.
            if span.is_recording() {
                span.update_name(format!("{method} {template}"));
                let mut attributes = Vec::with_capacity(4);
                attributes.push(KeyValue::new(semconv::HTTP_REQUEST_METHOD, method_name(&method)));
                attributes.push(KeyValue::new(semconv::URL_TEMPLATE, template.to_owned()));
                if let Some(base) = base(request) {
                    attributes.push(KeyValue::new(
                        semconv::URL_FULL,
                        shown_url(&base, request.uri(), template),
                    ));
                }
                span.set_attributes(attributes);
            }
            let context = parent.with_span(span);
            inject(&context, request.headers_mut());
            context
        });
        Self {
            timed: Timed::new(context),
            method,
        }
    }

    /// Sending the request (`work`), inside the span.
    pub(crate) fn run<F: Future>(&self, work: F) -> Within<F> {
        self.timed.run(work)
    }

    /// Ends the request: its status, or the kind of failure that left it without one.
    pub(crate) fn finish(self, outcome: Result<StatusCode, &'static str>) {
        let error: Option<Cow<'static, str>> = match outcome {
            Ok(status) if status.as_u16() >= 400 => Some(status.as_str().to_owned().into()),
            Ok(_) => None,
            Err(kind) => Some(kind.into()),
        };
        let status = outcome.ok().map(|s| i64::from(s.as_u16()));
        self.timed.end_span(error.as_ref(), || {
            let status = status.map(|s| KeyValue::new(semconv::HTTP_RESPONSE_STATUS_CODE, s));
            status.into_iter().collect()
        });
        let Some((metrics, elapsed)) = self.timed.elapsed() else {
            return;
        };
        let mut attributes = vec![KeyValue::new(semconv::HTTP_REQUEST_METHOD, method_name(&self.method))];
        if let Some(status) = status {
            attributes.push(KeyValue::new(semconv::HTTP_RESPONSE_STATUS_CODE, status));
        }
        if let Some(error) = error {
            attributes.push(KeyValue::new(semconv::ERROR_TYPE, error));
        }
        record(&metrics.upstream_duration, elapsed, &attributes);
    }
}

/// The standard methods without an allocation.
fn method_name(method: &http::Method) -> Cow<'static, str> {
    match *method {
        http::Method::GET => "GET".into(),
        http::Method::POST => "POST".into(),
        http::Method::PUT => "PUT".into(),
        http::Method::PATCH => "PATCH".into(),
        http::Method::DELETE => "DELETE".into(),
        _ => method.as_str().to_owned().into(),
    }
}

/// A request's span (when traces are on) and its start (when metrics are on): what the server
/// and the client span share.
struct Timed {
    /// The context holding the span.
    context: Option<Context>,
    started: Option<Instant>,
}

impl Timed {
    fn new(context: Option<Context>) -> Self {
        let started = instruments().map(|_| Instant::now());
        Self { context, started }
    }

    fn run<F: Future>(&self, work: F) -> Within<F> {
        within(self.context.as_ref(), work)
    }

    /// Ends the span with the `attributes` of its outcome, and `error.type` and an error
    /// status when it failed; `attributes` is asked only when there is a span.
    fn end_span(&self, error: Option<&Cow<'static, str>>, attributes: impl FnOnce() -> Vec<KeyValue>) {
        let Some(context) = &self.context else {
            return;
        };
        let span = context.span();
        span.set_attributes(attributes());
        if let Some(error) = error {
            span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, error.clone()));
            span.set_status(Status::error(""));
        }
        span.end();
    }

    /// The instruments and the time since the start, when metrics are on.
    fn elapsed(&self) -> Option<(&'static Instruments, Duration)> {
        Some((instruments()?, self.started?.elapsed()))
    }
}

/// A future run with a span's context current, or as it is when traces are off.
pub(crate) type Within<F> = Either<WithContext<F>, F>;

/// `work`, with `context` current whenever it runs (when there is one). A plain function
/// returning the wrapper, not an `async fn`: that would keep `work` twice in its state, and
/// the tool call's future is kilobytes.
fn within<F: Future>(context: Option<&Context>, work: F) -> Within<F> {
    match context {
        Some(context) => Either::Left(work.with_context(context.clone())),
        None => Either::Right(work),
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

fn inject(context: &Context, headers: &mut HeaderMap) {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(context, &mut HeaderInjector(headers));
    });
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The W3C names are known: no parsing for them on every call.
        let name = match key {
            "traceparent" => Ok(HeaderName::from_static("traceparent")),
            "tracestate" => Ok(HeaderName::from_static("tracestate")),
            "baggage" => Ok(HeaderName::from_static("baggage")),
            other => HeaderName::try_from(other),
        };
        if let (Ok(name), Ok(value)) = (name, HeaderValue::try_from(value)) {
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
