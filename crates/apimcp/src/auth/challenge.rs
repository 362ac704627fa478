//! 401 and 403 answers with the `WWW-Authenticate: Bearer` challenge of RFC 6750 and RFC 9728
//! that MCP clients follow (never FastAPI-MCP's bare 403).

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// Why a request was refused, ready to become a response once the metadata URL is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthRejection {
    pub(crate) status: StatusCode,
    pub(crate) error: Option<&'static str>,
    pub(crate) description: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) resource_metadata: Option<String>,
}

impl AuthRejection {
    /// 401 without `error`: no credentials (the client should start authorization).
    pub fn unauthorized(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: None,
            description: description.into(),
            scopes: Vec::new(),
            resource_metadata: None,
        }
    }

    /// 401 `error="invalid_token"`: a token was sent and refused.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self {
            error: Some("invalid_token"),
            ..Self::unauthorized(description)
        }
    }

    /// 403 `error="insufficient_scope"` listing every scope the call needs.
    pub fn insufficient_scope(scopes: Vec<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            error: Some("insufficient_scope"),
            description: format!("this call needs the scopes: {}", scopes.join(" ")),
            scopes,
            resource_metadata: None,
        }
    }

    /// 503: the authorization server could not be asked.
    pub fn unavailable(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            ..Self::unauthorized(description)
        }
    }

    /// The scopes to ask for in the challenge.
    pub fn with_scopes(mut self, scopes: Vec<String>) -> Self {
        if self.scopes.is_empty() {
            self.scopes = scopes;
        }
        self
    }

    /// Where the protected resource metadata is.
    pub fn with_metadata(mut self, url: impl Into<String>) -> Self {
        self.resource_metadata = Some(url.into());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `WWW-Authenticate` value.
    pub fn challenge(&self) -> String {
        let mut params = Vec::new();
        if let Some(error) = self.error {
            params.push(format!("error=\"{error}\""));
            params.push(format!("error_description=\"{}\"", quote(&self.description)));
        }
        if !self.scopes.is_empty() {
            params.push(format!("scope=\"{}\"", quote(&self.scopes.join(" "))));
        }
        if let Some(url) = &self.resource_metadata {
            params.push(format!("resource_metadata=\"{}\"", quote(url)));
        }
        if params.is_empty() {
            "Bearer".into()
        } else {
            format!("Bearer {}", params.join(", "))
        }
    }
}

/// A quoted-string body: backslash and quote escaped, control characters dropped.
fn quote(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let reason = match self.error {
            Some(error) => error,
            None if self.status == StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            None => "no_token",
        };
        crate::telemetry::auth_refused(self.status.as_u16(), reason);
        let body = serde_json::json!({
            "error": self.error.unwrap_or(if self.status == StatusCode::SERVICE_UNAVAILABLE { "temporarily_unavailable" } else { "unauthorized" }),
            "error_description": self.description,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status != StatusCode::SERVICE_UNAVAILABLE {
            if let Ok(value) = HeaderValue::from_str(&self.challenge()) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
            }
        } else {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc_6750_and_9728() {
        let prm = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
        assert_eq!(
            AuthRejection::unauthorized("no token")
                .with_scopes(vec!["a".into()])
                .with_metadata(prm)
                .challenge(),
            format!("Bearer scope=\"a\", resource_metadata=\"{prm}\"")
        );
        assert_eq!(
            AuthRejection::invalid_token("token \"expired\"")
                .with_metadata(prm)
                .challenge(),
            format!(
                "Bearer error=\"invalid_token\", error_description=\"token \\\"expired\\\"\", resource_metadata=\"{prm}\""
            )
        );
        let forbidden = AuthRejection::insufficient_scope(vec!["a".into(), "b".into()]).with_metadata(prm);
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        assert!(forbidden.challenge().contains("error=\"insufficient_scope\""));
        assert!(forbidden.challenge().contains("scope=\"a b\""));
    }
}
