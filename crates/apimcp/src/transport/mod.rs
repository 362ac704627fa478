//! Everything that knows HTTP routes, sockets and stdio: the Streamable HTTP endpoint (the fast
//! path in front of rmcp's service), the legacy HTTP+SSE endpoint, stdio, and [`serve`].
//!
//! The floors, each importing only the ones below it: `transport` → [`crate::mcp`] (the rmcp
//! adapter) → [`crate::server`] (tool set, call pipeline, builder) → the pure core
//! ([`crate::openapi`], [`crate::call`], [`crate::tool`]); [`crate::auth`] sits beside the core
//! and imports neither the server nor the adapter.

mod fast;
mod http;
mod listen;
mod refusal;
mod sse;
mod stdio;
mod wire;

pub use listen::{ConnectionLimits, serve, serve_with};

/// What the envelope parser reads in `body` (its request id as sent, the tool a `tools/call`
/// names, the method), or the error the client would be told: the fuzz targets' view, through
/// `test_helpers`.
#[cfg(feature = "__private")]
pub(crate) fn read_envelope(body: &[u8]) -> Result<(Option<String>, Option<String>, String), String> {
    let envelope = wire::Envelope::read(body).map_err(|e| e.to_string())?;
    let id = envelope.request_id().map(|id| id.get().to_owned());
    Ok((id, envelope.tool().map(str::to_owned), envelope.method().to_owned()))
}
