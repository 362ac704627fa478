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
