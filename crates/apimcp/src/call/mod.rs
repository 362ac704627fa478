//! One tool call, as pure steps: validate the arguments, build the HTTP request, turn the
//! HTTP response into MCP content. No I/O here; the server dispatches the request.

mod request;
mod response;
mod validate;

pub use request::{ArgumentError, build_request};
pub use response::{Content, ERROR_BODY_LIMIT, ResourceContents, ToolOutput, response_output};
pub use validate::{ArgumentValidator, OutputCheck};
