//! # apimcp
//!
//! Turns an HTTP API described by OpenAPI into a Model Context Protocol server, so AI agents
//! can call its endpoints as tools.
//!
//! An axum app serves its own API as MCP in a few lines; tool calls run in-process through the
//! app's `Router`, so its extractors, middleware and auth apply unchanged:
//!
//! ```no_run
//! use apimcp::McpServer;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let (api, document) = apimcp::demo::app(); // any axum Router and its utoipa OpenApi
//!     let mcp = McpServer::builder()
//!         .utoipa(&document)
//!         .in_process(api.clone())
//!         .build()?;
//!     let app = mcp.mount_http(api, "/mcp"); // Streamable HTTP; mount_sse for legacy SSE
//!     apimcp::serve(tokio::net::TcpListener::bind("127.0.0.1:8000").await?, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! Any other API is called over HTTP instead: `.remote("https://api.example.com/v1".parse()?)`.
//! Requests can be authorized as an OAuth resource server, with apimcp as the authorization
//! server MCP clients talk to if the provider cannot be ([`auth`]).
//!
//! | module | what it holds |
//! |---|---|
//! | `demo` (feature `demo`) | the bundled items API that `apimcp demo` serves |
//! | [`openapi`] | OpenAPI 3.0 / 3.1 / 3.2 (and Swagger 2.0) documents → MCP tools; pure, no I/O |
//! | [`auth`] | bearer checks, JWT/JWKS, introspection, RFC 9728 metadata, 401/403 challenges, the OAuth proxy |
//! | [`call`] | what a tool call returns: [`ToolOutput`](call::ToolOutput) and its content |
//! | [`search`] | finding tools by what they do: a BM25F index over a catalog; pure, no I/O |
//! | [`server`] | the MCP server: the builder, the tool set, the call pipeline, custom tools |
//! | [`tool`] | the tool model: MCP `Tool` definitions and the bindings that turn calls into requests |
//! | [`source`] | reading a document from a file or an http(s) URL |
//! | [`telemetry`] | OpenTelemetry spans and metrics of tool calls, and their attribute names |
//! | [`upstream`] | what apimcp sends the API: fixed headers, credentials per security scheme |
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `utoipa` | yes | [`McpServerBuilder::utoipa`]: a server from a utoipa `OpenApi` document |
//! | `demo` | no | the bundled items API (`apimcp::demo::app()`), used by the examples below |
//! | `redis` | no | `auth::proxy::RedisStore`: the OAuth proxy's store in Redis, shared by replicas |
//!
//! Converting a document alone, with no server:
//!
//! ```
//! use apimcp::openapi::{ConvertOptions, OpenApiDocument, convert};
//!
//! let doc = OpenApiDocument::parse(r#"{
//!   "openapi": "3.1.0", "info": {"title": "Items", "version": "1"},
//!   "paths": {"/items/{item_id}": {"get": {"operationId": "get_item", "summary": "Get Item",
//!     "parameters": [{"name": "item_id", "in": "path", "required": true,
//!                     "schema": {"type": "integer"}}],
//!     "responses": {"200": {"description": "OK"}}}}}
//! }"#, "items.json")?;
//! let conversion = convert(&doc, &ConvertOptions::default())?;
//! assert_eq!(conversion.tools[0].tool.name.as_str(), "get_item");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod auth;
pub mod call;
#[cfg(feature = "demo")]
pub mod demo;
mod keys;
mod mcp;
pub mod openapi;
pub mod search;
pub mod server;
pub mod source;
pub mod telemetry;
#[cfg(feature = "__private")]
#[doc(hidden)]
pub mod test_helpers;
pub mod tool;
mod transport;
pub mod upstream;

pub use openapi::{Conversion, ConvertOptions, OpenApiDocument, convert};
pub use server::{McpServer, McpServerBuilder, ServerOptions};
pub use tool::{Binding, Tool, ToolName};
pub use transport::{ConnectionLimits, serve, serve_with};

/// The README's examples, compiled with the doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
