//! The JSON-RPC envelope of a message POSTed to an MCP endpoint, parsed once per request: the
//! per-call scope check reads the tool a `tools/call` names, and the fast path answers from the
//! same parse, so neither reads nor parses the body again. Strings borrow from the body unless
//! they hold escapes (`"tools\/call"` is `tools/call` too: the scope check must see it so).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// rmcp's own limit on a request body.
pub(super) const MAX_BODY: usize = 4 * 1024 * 1024;

/// What the envelope of a message says; `None` from [`Envelope::parse`] for anything without a
/// method (a response, a batch, malformed JSON), which rmcp answers.
pub(super) struct Envelope<'a> {
    /// `"2.0"`, or what else was sent.
    jsonrpc: Cow<'a, str>,
    /// The request id, as sent (none for a notification).
    pub(super) id: Option<&'a RawValue>,
    /// `tools/call`, `tools/list`, ...
    pub(super) method: Cow<'a, str>,
    /// The parameters of a `tools/call`, parsed.
    pub(super) call: Option<CallParams<'a>>,
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
}

/// The parameters of `tools/call`.
#[derive(Deserialize)]
pub(super) struct CallParams<'a> {
    /// The tool's name.
    #[serde(borrow)]
    pub(super) name: Cow<'a, str>,
    /// Its arguments.
    pub(super) arguments: Option<Map<String, Value>>,
    /// `_meta`, kept raw: only whether it asks for progress matters here.
    #[serde(rename = "_meta", borrow)]
    pub(super) meta: Option<&'a RawValue>,
}

impl<'a> Envelope<'a> {
    /// The envelope of `body`, when it has one.
    pub(super) fn parse(body: &'a [u8]) -> Option<Self> {
        let raw: Raw<'a> = serde_json::from_slice(body).ok()?;
        let call = match (raw.method.as_ref(), raw.params) {
            ("tools/call", Some(params)) => serde_json::from_str(params.get()).ok(),
            _ => None,
        };
        Some(Self {
            jsonrpc: raw.jsonrpc,
            id: raw.id,
            method: raw.method,
            call,
        })
    }

    /// A JSON-RPC 2.0 request (not a notification): its id.
    pub(super) fn request_id(&self) -> Option<&'a RawValue> {
        self.id.filter(|_| self.jsonrpc == "2.0")
    }

    /// The tool a `tools/call` names (the scope check reads it whatever else the message is).
    pub(super) fn tool(&self) -> Option<&str> {
        self.call.as_ref().map(|c| c.name.as_ref())
    }
}

impl Envelope<'_> {
    /// The tool whose scopes a `tools/call` needs on `server`: the tool it names, or in
    /// search mode the tool a `call_tool` calls.
    pub(super) fn tool_for<'s>(&'s self, server: &crate::server::McpServer) -> Option<&'s str> {
        let arguments = self.call.as_ref().and_then(|c| c.arguments.as_ref());
        Some(server.scope_target(self.tool()?, arguments))
    }
}

impl CallParams<'_> {
    /// Whether the client asked for progress notifications (which need its connection).
    pub(super) fn wants_progress(&self) -> bool {
        self.meta.is_some_and(|m| m.get().contains("progressToken"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_call_is_parsed_with_its_tool_and_arguments() {
        let body = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_item","arguments":{"id":1},"_meta":{"progressToken":"p"}}}"#;
        let envelope = Envelope::parse(body).expect("a request");
        assert_eq!(envelope.request_id().map(RawValue::get), Some("7"));
        assert_eq!(envelope.tool(), Some("get_item"));
        let call = envelope.call.expect("call params");
        assert!(call.wants_progress());
        assert_eq!(call.arguments.expect("arguments")["id"], 1);
    }

    #[test]
    fn what_is_not_a_request_has_no_request_id() {
        for body in [
            &br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#[..],
            br#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#,
        ] {
            let envelope = Envelope::parse(body).expect("an envelope");
            assert!(envelope.request_id().is_none());
        }
        for body in [&br#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#[..], b"not json"] {
            assert!(Envelope::parse(body).is_none());
        }
    }

    #[test]
    fn escaped_names_are_read_as_what_they_mean() {
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"delete\u005fitem"}}"#;
        let envelope = Envelope::parse(body).expect("an envelope");
        assert_eq!(envelope.tool(), Some("delete_item"));
    }

    #[test]
    fn a_call_names_its_tool_even_as_a_notification() {
        let body = br#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"delete_item"}}"#;
        let envelope = Envelope::parse(body).expect("an envelope");
        assert_eq!(envelope.tool(), Some("delete_item"));
    }
}
