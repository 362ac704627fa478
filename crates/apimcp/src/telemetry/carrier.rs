//! The W3C trace context of one request: from `_meta` (SEP-414) or the HTTP headers.

use http::HeaderMap;
use opentelemetry::propagation::Extractor;
use serde::Deserialize;
use serde_json::value::RawValue;

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";
const BAGGAGE: &str = "baggage";

/// `traceparent`, `tracestate` and `baggage`, as the client sent them.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct TraceCarrier {
    traceparent: Option<String>,
    tracestate: Option<String>,
    baggage: Option<String>,
}

impl TraceCarrier {
    /// From the string fields of a `_meta` object.
    pub(crate) fn from_fields<'a>(field: impl Fn(&str) -> Option<&'a str>) -> Option<Self> {
        let owned = |name| field(name).map(str::to_owned);
        let carrier = Self {
            traceparent: owned(TRACEPARENT),
            tracestate: owned(TRACESTATE),
            baggage: owned(BAGGAGE),
        };
        carrier.traceparent.is_some().then_some(carrier)
    }

    /// From a `_meta` kept raw (the fast path's); `None` when it has no `traceparent`.
    pub(crate) fn from_raw(meta: &RawValue) -> Option<Self> {
        serde_json::from_str::<Self>(meta.get())
            .ok()
            .filter(|c| c.traceparent.is_some())
    }

    /// From the HTTP headers of the MCP request.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Self> {
        // Most requests have none: one lookup for them.
        headers.get(TRACEPARENT)?;
        Self::from_fields(|name| headers.get(name).and_then(|v| v.to_str().ok()))
    }

    /// The remote parent context, through the global propagator.
    pub(crate) fn context(&self) -> opentelemetry::Context {
        opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(self))
    }
}

impl Extractor for TraceCarrier {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => self.traceparent.as_deref(),
            TRACESTATE => self.tracestate.as_deref(),
            BAGGAGE => self.baggage.as_deref(),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, TRACESTATE, BAGGAGE]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_without_a_traceparent_carries_nothing() {
        let raw = RawValue::from_string(r#"{"tracestate":"a=1","progressToken":3}"#.into()).expect("json");
        assert!(TraceCarrier::from_raw(&raw).is_none());
        let raw = RawValue::from_string(r#"{"traceparent":"00-ab-cd-01","baggage":"k=v"}"#.into()).expect("json");
        let carrier = TraceCarrier::from_raw(&raw).expect("carrier");
        assert_eq!(carrier.get("baggage"), Some("k=v"));
    }
}
