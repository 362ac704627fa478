//! An HTTP response → MCP tool output.
//!
//! 2xx JSON is text plus `structuredContent` when the tool has an outputSchema (wrapped as
//! `{"result": ...}` where the schema was); text is text; `image/*` and `audio/*` are image and
//! audio content; other bytes are an embedded resource. Anything else than 2xx is
//! `isError: true` with the status and the body, cut at [`ERROR_BODY_LIMIT`].

use std::borrow::Cow;

use base64::Engine as _;
use http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use crate::tool::Binding;

/// How much of an error response body the model sees.
pub(crate) const ERROR_BODY_LIMIT: usize = 8 * 1024;

/// One MCP content block, serialised as MCP sends it.
///
/// ```
/// use apimcp::call::{Content, ResourceContents};
/// use serde_json::json;
///
/// let blocks = [
///     Content::text("42 items"),
///     Content::image("iVBORw0KGgo=", "image/png"),
///     Content::resource(ResourceContents::text("items://all", "text/csv", "id\n1\n")),
/// ];
/// assert_eq!(serde_json::to_value(&blocks[0])?, json!({"type": "text", "text": "42 items"}));
/// assert_eq!(
///     serde_json::to_value(&blocks[1])?,
///     json!({"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"})
/// );
/// assert_eq!(serde_json::to_value(&blocks[2])?["resource"]["uri"], "items://all");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Content {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// A base64 image.
    Image {
        /// Base64 bytes.
        data: String,
        /// e.g. `image/png`.
        #[serde(rename = "mimeType")]
        mime_type: String,
    },
    /// Base64 audio.
    Audio {
        /// Base64 bytes.
        data: String,
        /// e.g. `audio/wav`.
        #[serde(rename = "mimeType")]
        mime_type: String,
    },
    /// An embedded resource.
    Resource {
        /// The resource.
        resource: ResourceContents,
    },
}

/// The contents of a resource: text or base64 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResourceContents {
    /// The resource's URI.
    pub uri: String,
    /// Its media type.
    #[serde(rename = "mimeType", skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Text contents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Base64 contents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
}

impl ResourceContents {
    /// Text contents.
    pub fn text(uri: impl Into<String>, mime_type: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            mime_type: Some(mime_type.into()),
            text: Some(text.into()),
            blob: None,
        }
    }

    /// Binary contents, given as base64.
    pub fn blob(uri: impl Into<String>, mime_type: impl Into<String>, base64: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            mime_type: Some(mime_type.into()),
            text: None,
            blob: Some(base64.into()),
        }
    }
}

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    /// An image block from base64 data.
    pub fn image(base64: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Self::Image {
            data: base64.into(),
            mime_type: mime_type.into(),
        }
    }

    /// An audio block from base64 data.
    pub fn audio(base64: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Self::Audio {
            data: base64.into(),
            mime_type: mime_type.into(),
        }
    }

    /// An embedded resource block.
    pub fn resource(contents: ResourceContents) -> Self {
        Self::Resource { resource: contents }
    }
}

/// The result of a tool call, before it is put into an MCP message.
///
/// A custom tool's handler returns one: [`ToolOutput::success`] with content blocks, or
/// [`ToolOutput::error`] with a message the model can act on (`isError: true`, not a
/// protocol error).
///
/// ```
/// use apimcp::call::{Content, ToolOutput};
/// use serde_json::json;
///
/// let done = ToolOutput::success(vec![Content::text("3")]);
/// assert_eq!(done.to_json(), json!({"content": [{"type": "text", "text": "3"}], "isError": false}));
///
/// let refused = ToolOutput::error("`a` must be a number");
/// assert!(refused.is_error);
/// assert_eq!(refused.to_json()["content"][0]["text"], "`a` must be a number");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolOutput {
    /// Content blocks.
    pub content: Vec<Content>,
    /// Structured JSON, when the tool has an outputSchema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    /// Whether the call failed in a way the model can act on.
    pub is_error: bool,
}

impl ToolOutput {
    /// A successful call with these blocks.
    pub fn success(content: Vec<Content>) -> Self {
        Self {
            content,
            structured_content: None,
            is_error: false,
        }
    }

    /// A failed call with a message for the model.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            content: vec![Content::text(message)],
            structured_content: None,
            is_error: true,
        }
    }

    /// The output as the JSON of an MCP `CallToolResult`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({"content": [], "isError": true}))
    }
}

/// Turns a response into tool output. `structured` says whether the tool declares an
/// outputSchema (so JSON bodies also become `structuredContent`).
pub(crate) fn response_output(
    binding: &Binding,
    structured: bool,
    status: StatusCode,
    content_type: Option<&str>,
    body: &[u8],
) -> ToolOutput {
    if !status.is_success() {
        return ToolOutput::error(error_text(status, body));
    }
    let media = essence(content_type);
    if reads_as_text(&media, body) {
        text_output(binding, structured, &media, body)
    } else {
        ToolOutput::success(vec![bytes_content(binding, &media, body)])
    }
}

/// The media type without its parameters, in lower case. Media types are case-insensitive;
/// most APIs already send them in lower case, so that costs no allocation.
fn essence(content_type: Option<&str>) -> Cow<'_, str> {
    let media = content_type.and_then(|c| c.split(';').next()).unwrap_or("").trim();
    if media.bytes().any(|b| b.is_ascii_uppercase()) {
        media.to_ascii_lowercase().into()
    } else {
        media.into()
    }
}

/// Text for the model: a textual media type that is not an image or audio (`image/svg+xml`
/// is an image), or no media type and valid UTF-8.
fn reads_as_text(media: &str, body: &[u8]) -> bool {
    if media.starts_with("image/") || media.starts_with("audio/") {
        return false;
    }
    is_textual(media) || (media.is_empty() && std::str::from_utf8(body).is_ok())
}

/// Image, audio, or else an embedded resource named after the operation's path.
fn bytes_content(binding: &Binding, media: &str, body: &[u8]) -> Content {
    let data = base64::engine::general_purpose::STANDARD.encode(body);
    match media {
        m if m.starts_with("image/") => Content::image(data, m),
        m if m.starts_with("audio/") => Content::audio(data, m),
        m => {
            let mime = if m.is_empty() { "application/octet-stream" } else { m };
            let uri = format!("apimcp:response{}", binding.path);
            Content::resource(ResourceContents::blob(uri, mime, data))
        }
    }
}

fn is_textual(media: &str) -> bool {
    media.starts_with("text/") || media.contains("json") || media.ends_with("xml") || media == "application/javascript"
}

fn text_output(binding: &Binding, structured: bool, media: &str, body: &[u8]) -> ToolOutput {
    let text = String::from_utf8_lossy(body).into_owned();
    let json = (media.contains("json") || media.is_empty())
        .then(|| serde_json::from_slice::<Value>(body).ok())
        .flatten();
    let structured_content = match json {
        Some(value) if structured && binding.output_wrapped => Some(json!({ "result": value })),
        Some(value) if structured => Some(value),
        _ => None,
    };
    ToolOutput {
        content: vec![Content::text(text)],
        structured_content,
        is_error: false,
    }
}

fn error_text(status: StatusCode, body: &[u8]) -> String {
    let reason = status.canonical_reason().unwrap_or("");
    let mut text = format!("HTTP {} {reason}", status.as_u16());
    if !body.is_empty() {
        let shown = &body[..body.len().min(ERROR_BODY_LIMIT)];
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(shown));
        if body.len() > ERROR_BODY_LIMIT {
            text.push_str(&format!("\n[... {} more bytes cut]", body.len() - ERROR_BODY_LIMIT));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(wrapped: bool) -> Binding {
        Binding {
            method: http::Method::GET,
            path: "/items/{id}".into(),
            params: vec![],
            body: None,
            output_wrapped: wrapped,
            server: None,
        }
    }

    #[test]
    fn json_is_text_and_structured() {
        let out = response_output(
            &binding(false),
            true,
            StatusCode::OK,
            Some("application/json"),
            br#"{"id":1}"#,
        );
        assert_eq!(
            out.to_json(),
            json!({"content": [{"type": "text", "text": "{\"id\":1}"}], "structuredContent": {"id": 1}, "isError": false})
        );
        let wrapped = response_output(&binding(true), true, StatusCode::OK, Some("application/json"), b"[1]");
        assert_eq!(wrapped.structured_content, Some(json!({"result": [1]})));
        let plain = response_output(&binding(false), false, StatusCode::OK, Some("application/json"), b"[1]");
        assert_eq!(plain.structured_content, None);
    }

    #[test]
    fn media_types_map_to_content_kinds() {
        let b = binding(false);
        let image = response_output(&b, false, StatusCode::OK, Some("image/png"), &[1, 2]);
        assert_eq!(
            image.content,
            [Content::Image {
                data: "AQI=".into(),
                mime_type: "image/png".into()
            }]
        );
        let audio = response_output(&b, false, StatusCode::OK, Some("audio/wav"), &[1]);
        assert!(matches!(audio.content[0], Content::Audio { .. }));
        let pdf = response_output(&b, false, StatusCode::OK, Some("application/pdf"), &[0xff]);
        assert!(
            matches!(&pdf.content[0], Content::Resource { resource } if resource.mime_type.as_deref() == Some("application/pdf"))
        );
        let text = response_output(&b, true, StatusCode::OK, Some("text/plain; charset=utf-8"), b"hi");
        assert_eq!(
            (text.content[0].clone(), text.structured_content),
            (Content::text("hi"), None)
        );
    }

    #[test]
    fn errors_carry_status_and_a_cut_body() {
        let out = response_output(
            &binding(false),
            true,
            StatusCode::NOT_FOUND,
            None,
            br#"{"detail":"no"}"#,
        );
        assert!(out.is_error);
        assert_eq!(out.content, [Content::text("HTTP 404 Not Found\n{\"detail\":\"no\"}")]);
        let big = vec![b'x'; ERROR_BODY_LIMIT + 10];
        let out = response_output(&binding(false), false, StatusCode::BAD_GATEWAY, None, &big);
        let Content::Text { text } = &out.content[0] else {
            panic!("text")
        };
        assert!(text.ends_with("[... 10 more bytes cut]"));
    }
}
