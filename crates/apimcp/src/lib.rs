//! # apimcp
//!
//! Turns an HTTP API described by OpenAPI into a Model Context Protocol server, so AI agents
//! can call its endpoints as tools.
//!
//! | module | what it holds |
//! |---|---|
//! | `demo` (feature `demo`) | the bundled items API that `apimcp demo` serves |
//! | [`openapi`] | OpenAPI 3.0 / 3.1 / 3.2 (and Swagger 2.0) documents → MCP tools; pure, no I/O |
//! | [`auth`] | bearer checks, JWT/JWKS, introspection, RFC 9728 metadata, 401/403 challenges |
//! | [`call`] | one tool call as pure steps: argument checks, the HTTP request, the MCP content |
//! | [`server`] | the MCP server: in-process or remote dispatch, Streamable HTTP, stdio |
//! | [`tool`] | the tool model: MCP `Tool` definitions and the bindings that turn calls into requests |
//! | [`source`] | reading a document from a file or an http(s) URL |
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
mod mcp;
pub mod openapi;
pub mod server;
pub mod source;
#[cfg(feature = "__private")]
#[doc(hidden)]
pub mod test_helpers;
pub mod tool;
mod transport;

pub use openapi::{Conversion, ConvertOptions, OpenApiDocument, convert};
pub use server::{McpServer, McpServerBuilder, ServerOptions};
pub use tool::{Binding, Tool, ToolName};
pub use transport::serve;
