//! Refusals by the book: every error an MCP endpoint answers before or instead of a JSON-RPC
//! reply is a JSON-RPC error object (`id: null`) with the HTTP status that fits, and a message
//! a person can act on. rmcp's own plain-text refusals are rewritten into the same shape, and
//! its internal errors lose their internal text.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};

use super::wire::Malformed;

/// JSON-RPC 2.0: the body is not JSON.
const PARSE_ERROR: i32 = -32700;
/// JSON-RPC 2.0: the JSON is not a valid request (and the code for refusals of the request
/// as a whole: its headers, its size).
const INVALID_REQUEST: i32 = -32600;
/// JSON-RPC 2.0: an internal error.
const INTERNAL_ERROR: i32 = -32603;
/// An implementation-defined server error: the server cannot take the request now.
const SERVER_BUSY: i32 = -32000;
/// The code the MCP SDKs answer an unknown session with.
const SESSION_NOT_FOUND: i32 = -32001;

/// An HTTP refusal of a message, before any JSON-RPC handling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Refusal {
    /// Not JSON, or not JSON-RPC: 400.
    #[error(transparent)]
    Malformed(#[from] Malformed),
    /// The body is over the limit: 413.
    #[error("Payload Too Large: a message is at most {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// `Accept` does not name what the endpoint answers with: 406.
    #[error("Not Acceptable: the Accept header must name both application/json and text/event-stream")]
    NotAcceptable,
    /// The body is not sent as JSON: 415.
    #[error("Unsupported Media Type: send messages with Content-Type: application/json")]
    UnsupportedMediaType,
    /// The session is unknown, ended or not the caller's: 404.
    #[error("Not Found: unknown or expired session; start a new one with initialize")]
    UnknownSession,
    /// No session can be opened now: 503 with `Retry-After`.
    #[error("Service Unavailable: {reason}; retry in {retry_after} s")]
    Busy {
        /// What is full.
        reason: String,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// Refused by the transport for a reason of its own, with its status.
    #[error("{message}")]
    Transport {
        /// The status to answer with.
        status: StatusCode,
        /// What the transport said.
        message: String,
    },
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::UnknownSession => StatusCode::NOT_FOUND,
            Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Transport { status, .. } => *status,
        }
    }

    /// The `reason` of the rejected-requests metric (the session cap counts where it refuses).
    fn cause(&self) -> Option<&'static str> {
        match self {
            Self::Malformed(_) => Some("malformed"),
            Self::TooLarge { .. } => Some("body_too_large"),
            Self::NotAcceptable => Some("not_acceptable"),
            Self::UnsupportedMediaType => Some("unsupported_media_type"),
            Self::UnknownSession => Some("unknown_session"),
            Self::Busy { .. } | Self::Transport { .. } => None,
        }
    }

    fn code(&self) -> i32 {
        match self {
            Self::Malformed(Malformed::Parse { .. }) => PARSE_ERROR,
            Self::UnknownSession => SESSION_NOT_FOUND,
            Self::Busy { .. } => SERVER_BUSY,
            Self::Transport { status, .. } if status.is_server_error() => INTERNAL_ERROR,
            _ => INVALID_REQUEST,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        if let Some(cause) = self.cause() {
            crate::telemetry::rejected(cause);
        }
        let body = serde_json::json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": {"code": self.code(), "message": self.to_string()},
        });
        let mut response = (self.status(), axum::Json(body)).into_response();
        if let Self::Busy { retry_after, .. } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, http::HeaderValue::from(retry_after));
        }
        response
    }
}

/// `headers` ask for an answer this endpoint gives: JSON and SSE, as rmcp requires.
pub(super) fn check_accept(headers: &HeaderMap) -> Result<(), Refusal> {
    let named = |mime: &str| {
        headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|item| essence(item).eq_ignore_ascii_case(mime))
    };
    if named("application/json") && named("text/event-stream") {
        Ok(())
    } else {
        Err(Refusal::NotAcceptable)
    }
}

/// The body is declared JSON.
pub(super) fn check_content_type(headers: &HeaderMap) -> Result<(), Refusal> {
    let declared = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    match declared {
        Some(v) if essence(v).eq_ignore_ascii_case("application/json") => Ok(()),
        _ => Err(Refusal::UnsupportedMediaType),
    }
}

/// A media type without its parameters.
fn essence(media_type: &str) -> &str {
    media_type.split(';').next().unwrap_or("").trim()
}

/// The longest plain-text refusal of rmcp's that is kept as the message.
const MAX_TRANSPORT_MESSAGE: usize = 512;

/// rmcp's refusal `response` (plain text) as a JSON-RPC error; anything else as it is. rmcp
/// answers a body its types cannot read with 415: after [`check_content_type`] passed, that
/// is an invalid request. A server error keeps its status but not its text, which is
/// internal (it is in rmcp's log).
pub(super) async fn by_the_book(response: Response, content_type_checked: bool) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let refusal = match status {
        StatusCode::UNSUPPORTED_MEDIA_TYPE if content_type_checked => Malformed::Invalid {
            problem: "the message is not an MCP message this server reads (check `method`, `id` and `params`)",
        }
        .into(),
        StatusCode::NOT_FOUND => Refusal::UnknownSession,
        s if s.is_server_error() => Refusal::Transport {
            status,
            message: "Internal error: the server could not handle this request".to_owned(),
        },
        _ => Refusal::Transport {
            status,
            message: text_of(response.into_body()).await,
        },
    };
    let mut response = refusal.into_response();
    if let Some(allow) = allow {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    response
}

/// A short plain-text body, cut at [`MAX_TRANSPORT_MESSAGE`] bytes.
async fn text_of(body: Body) -> String {
    let bytes = axum::body::to_bytes(body, MAX_TRANSPORT_MESSAGE * 8)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let mut end = text.len().min(MAX_TRANSPORT_MESSAGE);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    async fn json_of(response: Response) -> (StatusCode, serde_json::Value) {
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    #[tokio::test]
    async fn a_refusal_is_a_json_rpc_error_with_a_null_id() {
        let refusal = Refusal::Malformed(Malformed::Parse { line: 1, column: 2 });
        let (status, body) = json_of(refusal.into_response()).await;
        assert_eq!(status, 400);
        assert_eq!(body["id"], serde_json::Value::Null);
        assert_eq!(body["error"]["code"], -32700);
    }

    #[tokio::test]
    async fn rmcp_plain_text_becomes_json_and_internal_text_is_dropped() {
        let plain = |status: u16, text: &'static str| {
            let mut response = Response::new(Body::from(text));
            *response.status_mut() = StatusCode::from_u16(status).expect("status");
            response
        };
        let (status, body) = json_of(by_the_book(plain(415, "fail to deserialize"), true).await).await;
        assert_eq!((status.as_u16(), body["error"]["code"].as_i64()), (400, Some(-32600)));
        let (status, body) = json_of(by_the_book(plain(404, "Not Found"), true).await).await;
        assert_eq!((status.as_u16(), body["error"]["code"].as_i64()), (404, Some(-32001)));
        let (status, body) = json_of(by_the_book(plain(500, "secret detail"), true).await).await;
        assert_eq!(status, 500);
        assert!(!body.to_string().contains("secret"), "{body}");
        let (_, body) = json_of(by_the_book(plain(400, "Bad Request: x"), true).await).await;
        assert_eq!(body["error"]["message"], "Bad Request: x");
    }

    #[test]
    fn accept_and_content_type_are_read_by_essence() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (k, v) in pairs {
                map.append(*k, HeaderValue::from_static(v));
            }
            map
        };
        let both = headers(&[("accept", "application/json;q=0.9, TEXT/event-stream")]);
        assert!(check_accept(&both).is_ok());
        assert_eq!(
            check_accept(&headers(&[("accept", "*/*")])),
            Err(Refusal::NotAcceptable)
        );
        let json = headers(&[("content-type", "application/json; charset=utf-8")]);
        assert!(check_content_type(&json).is_ok());
        let form = headers(&[("content-type", "application/jsonx")]);
        assert_eq!(check_content_type(&form), Err(Refusal::UnsupportedMediaType));
    }
}
