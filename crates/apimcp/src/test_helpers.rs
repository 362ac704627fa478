//! What the tests of this crate and of the `apimcp` command share: the JSON-RPC messages an
//! MCP client sends, and the reply it reads. Behind the hidden `__private` feature (as axum
//! shares its `TestClient`); not part of the API, and no semver promise.

use serde_json::{Value, json};

/// An HTTP reply, as a test reads it.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body, as text.
    pub body: String,
}

impl Reply {
    /// The JSON-RPC message of a JSON body, or of an SSE body (its last `data:` line that
    /// parses). Panics when there is none: a test has nothing to check then.
    pub fn json(&self) -> Value {
        if let Ok(v) = serde_json::from_str(&self.body) {
            return v;
        }
        self.body
            .lines()
            .rev()
            .filter_map(|l| l.strip_prefix("data:"))
            .find_map(|d| serde_json::from_str(d.trim()).ok())
            .unwrap_or_else(|| panic!("no JSON-RPC message in {:?}", self.body))
    }
}

/// The `initialize` request (id 1) of a client named `test`, at revision 2025-06-18.
pub fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}})
}

/// The `notifications/initialized` that completes the handshake.
pub fn initialized() -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
}

/// A `tools/list` request.
pub fn tools_list(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"})
}

/// A `tools/call` request for `tool` with `arguments`.
pub fn tools_call(id: u64, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
}

/// The HTTP request a call with `args` makes for `binding`, or the error the model would be
/// told (the request builder, for the fuzz targets).
pub fn build_request(
    binding: &crate::Binding,
    args: &serde_json::Map<String, Value>,
) -> Result<http::Request<bytes::Bytes>, String> {
    crate::call::build_request(binding, args).map_err(|e| e.to_string())
}

/// What the JSON-RPC envelope parser reads in `body`: the request id as sent, the tool a
/// `tools/call` names and the method; or the error the client would be told.
pub fn read_envelope(body: &[u8]) -> Result<(Option<String>, Option<String>, String), String> {
    crate::transport::read_envelope(body)
}

/// A verifier of tokens from `issuer` for `audience` that holds the keys of the JWKS document
/// `jwks` already, so that no token waits for the network.
pub fn jwt_verifier_holding(
    issuer: &str,
    audience: &str,
    jwks: &str,
) -> Result<crate::auth::JwtVerifier, serde_json::Error> {
    let set = serde_json::from_str(jwks)?;
    // Were the keys ever refetched, the fetch fails at once and the held keys stay.
    let verifier = crate::auth::JwtVerifier::new(issuer, audience).with_jwks_uri("http://127.0.0.1:9/jwks");
    Ok(verifier.holding(set))
}
