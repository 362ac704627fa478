//! The JSON-RPC envelope of a message POSTed to an MCP endpoint, parsed and checked once per
//! request: a body that is not JSON is a parse error, an envelope that breaks JSON-RPC 2.0 an
//! invalid request, both answered before rmcp sees them. The per-call scope check reads the tool
//! a `tools/call` names, and the fast path answers from the same parse, so neither reads nor
//! parses the body again. Strings borrow from the body unless they hold escapes
//! (`"tools\/call"` is `tools/call` too: the scope check must see it so).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::error::Category;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// rmcp's own limit on a request body.
pub(super) const MAX_BODY: usize = 4 * 1024 * 1024;

/// Why a body is not a JSON-RPC message: each message says what to fix, and none carries
/// internal text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(super) enum Malformed {
    /// Not JSON at all (bad syntax, cut short, invalid UTF-8, nested too deeply).
    #[error("Parse error: the body is not valid JSON (line {line}, column {column})")]
    Parse {
        /// Where the parser stopped.
        line: usize,
        /// Where the parser stopped.
        column: usize,
    },
    /// JSON, but not a JSON-RPC 2.0 message.
    #[error("Invalid Request: {problem}")]
    Invalid {
        /// What is wrong, as the client should read it.
        problem: &'static str,
    },
}

impl Malformed {
    const fn invalid(problem: &'static str) -> Self {
        Self::Invalid { problem }
    }

    /// A parse error at byte `offset` of `body`.
    fn at(body: &[u8], offset: usize) -> Self {
        let before = &body[..offset.min(body.len())];
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        Self::Parse {
            line: before.iter().filter(|&&b| b == b'\n').count() + 1,
            column: offset - line_start + 1,
        }
    }

    /// A parse error where serde stopped, or an invalid request when the JSON was well formed
    /// but a member had the wrong type.
    fn from_serde(error: &serde_json::Error) -> Self {
        match error.classify() {
            Category::Data => Self::invalid(
                "a member has the wrong type: `jsonrpc` and `method` are strings, `id` a string or a number",
            ),
            Category::Syntax | Category::Eof | Category::Io => Self::Parse {
                line: error.line(),
                column: error.column(),
            },
        }
    }
}

/// What the envelope of a message says.
pub(super) struct Envelope<'a> {
    /// The request id, as sent (none for a notification, or when `null`).
    pub(super) id: Option<&'a RawValue>,
    /// `tools/call`, `tools/list`, ...; `None` for a response to a request of the server's.
    pub(super) method: Option<Cow<'a, str>>,
    /// The parameters of a `tools/call`, parsed.
    pub(super) call: Option<CallParams<'a>>,
    /// The parameters as sent, unparsed.
    pub(super) params: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow)]
    jsonrpc: Option<Cow<'a, str>>,
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
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
    /// The envelope of `body`, or why it has none. The whole body must be UTF-8 (serde does
    /// not look inside the strings it skips).
    pub(super) fn read(body: &'a [u8]) -> Result<Self, Malformed> {
        let body = std::str::from_utf8(body).map_err(|e| Malformed::at(body, e.valid_up_to()))?;
        not_an_object(body)?;
        let raw: Raw<'a> = serde_json::from_str(body).map_err(|e| Malformed::from_serde(&e))?;
        raw.check()?;
        let call = match (raw.method.as_deref(), raw.params) {
            (Some("tools/call"), Some(params)) => serde_json::from_str(params.get()).ok(),
            _ => None,
        };
        Ok(Self {
            id: raw.id,
            method: raw.method,
            call,
            params: raw.params,
        })
    }

    /// A request (not a notification, nor a response): its id.
    pub(super) fn request_id(&self) -> Option<&'a RawValue> {
        self.id.filter(|_| self.method.is_some())
    }

    /// The tool a `tools/call` names (the scope check reads it whatever else the message is).
    pub(super) fn tool(&self) -> Option<&str> {
        self.call.as_ref().map(|c| c.name.as_ref())
    }

    /// The method, or `""` for a response.
    pub(super) fn method(&self) -> &str {
        self.method.as_deref().unwrap_or("")
    }
}

/// A body that is not a JSON object: a parse error when it is not JSON either, otherwise an
/// invalid request (a batch, or a bare value). Checked first because serde would read an
/// array of the right length as the fields of [`Raw`] in order.
fn not_an_object(body: &str) -> Result<(), Malformed> {
    let first = body.trim_start().chars().next();
    if first == Some('{') {
        return Ok(());
    }
    serde_json::from_str::<serde::de::IgnoredAny>(body).map_err(|e| Malformed::from_serde(&e))?;
    Err(match first {
        Some('[') => Malformed::invalid("batches are not supported: send one message per request"),
        _ => Malformed::invalid("a JSON-RPC message is a JSON object"),
    })
}

impl Raw<'_> {
    /// The rules of JSON-RPC 2.0 that serde's types do not check.
    fn check(&self) -> Result<(), Malformed> {
        if self.jsonrpc.as_deref() != Some("2.0") {
            return Err(Malformed::invalid("`jsonrpc` must be \"2.0\""));
        }
        if self.id.is_some_and(|id| !is_id(id)) {
            return Err(Malformed::invalid("`id` must be a string, a number or null"));
        }
        if self.params.is_some_and(|p| !p.get().starts_with(['{', '['])) {
            return Err(Malformed::invalid("`params` must be an object or an array"));
        }
        let response = self.id.is_some() && (self.result.is_some() || self.error.is_some());
        if self.method.is_none() && !response {
            return Err(Malformed::invalid("`method` is missing"));
        }
        Ok(())
    }
}

/// A string or a number (a raw value is never empty, and `null` never reaches here).
fn is_id(id: &RawValue) -> bool {
    id.get()
        .starts_with(|c: char| c == '"' || c == '-' || c.is_ascii_digit())
}

impl Envelope<'_> {
    /// The tool whose scopes a `tools/call` needs on `server`: the tool it names, or in
    /// search mode the tool a `call_tool` calls.
    pub(super) fn tool_for<'s>(&'s self, server: &crate::server::McpServer) -> Option<&'s str> {
        let arguments = self.call.as_ref().and_then(|c| c.arguments.as_ref());
        Some(server.scope_target(self.tool()?, arguments))
    }
}

/// The parameters of `tools/list`.
#[derive(Deserialize)]
pub(super) struct ListParams<'a> {
    /// Where the page starts.
    #[serde(borrow)]
    pub(super) cursor: Option<Cow<'a, str>>,
    /// `_meta`, kept raw.
    #[serde(rename = "_meta", borrow)]
    pub(super) meta: Option<&'a RawValue>,
}

/// What the fast path reads of a request's `_meta`: the 2026-07-28 lifecycle keys.
#[derive(Deserialize)]
pub(super) struct RequestMeta<'a> {
    /// The revision the request speaks (2026-07-28 on).
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow)]
    pub(super) protocol_version: Option<Cow<'a, str>>,
    /// The client's capabilities (2026-07-28 on), kept raw.
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", borrow)]
    pub(super) client_capabilities: Option<&'a RawValue>,
}

impl<'a> RequestMeta<'a> {
    /// The `_meta` of a request: empty without one, `None` when it is not an object of the
    /// expected shape (rmcp's path answers that).
    pub(super) fn read(meta: Option<&'a RawValue>) -> Option<Self> {
        match meta {
            None => Some(Self {
                protocol_version: None,
                client_capabilities: None,
            }),
            Some(raw) => serde_json::from_str(raw.get()).ok(),
        }
    }
}

impl<'a> Envelope<'a> {
    /// The parameters of a `tools/list` (none sent reads as none), or `None` when they are not
    /// of the expected shape.
    pub(super) fn list_params(&self) -> Option<ListParams<'a>> {
        match self.params {
            None => Some(ListParams {
                cursor: None,
                meta: None,
            }),
            Some(raw) => serde_json::from_str(raw.get()).ok(),
        }
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
        let envelope = Envelope::read(body).expect("a request");
        assert_eq!(envelope.request_id().map(RawValue::get), Some("7"));
        assert_eq!(envelope.tool(), Some("get_item"));
        let call = envelope.call.expect("call params");
        assert!(call.wants_progress());
        assert_eq!(call.arguments.expect("arguments")["id"], 1);
    }

    #[test]
    fn notifications_and_responses_have_no_request_id() {
        for body in [
            &br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#[..],
            br#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#,
            br#"{"jsonrpc":"2.0","id":"s1","result":{}}"#,
            br#"{"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"no"}}"#,
        ] {
            let envelope = Envelope::read(body).expect("an envelope");
            assert!(envelope.request_id().is_none());
        }
    }

    #[test]
    fn what_is_not_json_is_a_parse_error() {
        let deep = "[".repeat(200_000);
        for body in [
            &b"not json"[..],
            b"",
            b"{\"jsonrpc\":",
            b"{\"a\":\"\xff\"}",
            b"{} x",
            deep.as_bytes(),
        ] {
            let refused = Envelope::read(body).err();
            assert!(
                matches!(refused, Some(Malformed::Parse { .. })),
                "{body:?}: {refused:?}"
            );
        }
        let deep_object = format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{}",
            "{\"a\":".repeat(200_000)
        );
        assert!(matches!(
            Envelope::read(deep_object.as_bytes()),
            Err(Malformed::Parse { .. })
        ));
    }

    #[test]
    fn json_that_breaks_json_rpc_is_an_invalid_request() {
        let cases: [(&[u8], &str); 9] = [
            (br#"{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}"#, "`id`"),
            (br#"{"jsonrpc":"2.0","id":[1],"method":"tools/list"}"#, "`id`"),
            (br#"{"jsonrpc":"2.0","id":true,"method":"tools/list"}"#, "`id`"),
            (br#"{"id":1,"method":"tools/list"}"#, "`jsonrpc`"),
            (br#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#, "`jsonrpc`"),
            (br#"{"jsonrpc":"2.0","id":1}"#, "`method` is missing"),
            (
                br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":"x"}"#,
                "`params`",
            ),
            (br#"{"jsonrpc":"2.0","id":1,"method":5}"#, "wrong type"),
            (br#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#, "batches"),
        ];
        for (body, says) in cases {
            let refused = Envelope::read(body).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                refused.starts_with("Invalid Request: ") && refused.contains(says),
                "{refused}"
            );
        }
        assert!(Envelope::read(b"42").is_err_and(|e| e.to_string().contains("JSON object")));
    }

    #[test]
    fn escaped_names_are_read_as_what_they_mean() {
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"delete\u005fitem"}}"#;
        let envelope = Envelope::read(body).expect("an envelope");
        assert_eq!(envelope.tool(), Some("delete_item"));
    }

    #[test]
    fn a_call_names_its_tool_even_as_a_notification() {
        let body = br#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"delete_item"}}"#;
        let envelope = Envelope::read(body).expect("an envelope");
        assert_eq!(envelope.tool(), Some("delete_item"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;

    /// Seeded xorshift64*: the same cases on every run.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_envelope_parser() {
        let seeds: [&[u8]; 3] = [
            br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_item","arguments":{"id":1},"_meta":{"progressToken":"p"}}}"#,
            br#"{"jsonrpc":"2.0","id":"s","result":{}}"#,
            br#"[{"jsonrpc":"2.0","method":"notifications/initialized"}]"#,
        ];
        let cases = std::env::var("APIMCP_PROPERTY_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(20_000);
        let mut state = 0x5EED_0002_u64;
        for _ in 0..cases {
            let mut body = seeds[(next(&mut state) % 3) as usize].to_vec();
            // Flip, insert or cut a few bytes: mostly near-valid messages, some garbage.
            for _ in 0..=next(&mut state) % 4 {
                let at = (next(&mut state) as usize) % (body.len() + 1);
                let byte = next(&mut state) as u8;
                match next(&mut state) % 3 {
                    0 if at < body.len() => body[at] = byte,
                    1 => body.insert(at, byte),
                    _ => body.truncate(at),
                }
            }
            if let Ok(envelope) = Envelope::read(&body) {
                let _ = (envelope.request_id(), envelope.tool(), envelope.method());
            }
        }
    }
}
