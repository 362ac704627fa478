//! One tool call, as pure steps: validate the arguments, build the HTTP request, turn the
//! HTTP response into MCP content. No I/O here; the server dispatches the request.

mod request;
mod response;
mod validate;

pub(crate) use request::build_request;
pub(crate) use response::response_output;
pub use response::{Content, ResourceContents, ToolOutput};
pub(crate) use validate::{ArgumentValidator, CheckError, OutputCheck};
