//! RFC 7591 dynamic client registration documents: the request as a client sends it, and the
//! response apimcp gives, as serde structs.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::error::TokenError;
use crate::auth::types::ClientId;

/// The grant types a client may register, and what it gets when it names none.
const GRANT_TYPES: [&str; 2] = ["authorization_code", "refresh_token"];
/// The response types a client may register, and what it gets when it names none.
const RESPONSE_TYPES: [&str; 1] = ["code"];

/// The largest registration request read.
pub(super) const MAX_REGISTRATION: usize = 16 * 1024;
/// The most redirect URIs a client may register (the client id carries them all, sealed).
pub(super) const MAX_REDIRECT_URIS: usize = 10;
/// The longest redirect URI, and the longest of the other text members.
pub(super) const MAX_URI: usize = 2000;
/// The longest `client_name` read (what is shown is cut to 100 characters).
const MAX_NAME: usize = 400;

/// A member of the request, kept whatever its JSON type, so that a mistyped member is named in
/// the error rather than failing the whole document.
#[derive(Debug, Default)]
pub(super) enum Member<T> {
    /// Not in the request.
    #[default]
    Absent,
    /// Given, with the expected type.
    Given(T),
    /// Given with another type (`null` included).
    Mistyped,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Member<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(serde_json::from_value(value).map_or(Self::Mistyped, Self::Given))
    }
}

impl<T> Member<T> {
    fn given(&self) -> Option<&T> {
        match self {
            Self::Given(value) => Some(value),
            Self::Absent | Self::Mistyped => None,
        }
    }
}

/// The client metadata of a registration request (RFC 7591 §2) that apimcp reads.
#[derive(Debug, Deserialize)]
pub(super) struct RegistrationRequest {
    #[serde(default)]
    redirect_uris: Member<Vec<Value>>,
    #[serde(default)]
    grant_types: Member<Vec<String>>,
    #[serde(default)]
    response_types: Member<Vec<String>>,
    #[serde(default)]
    client_name: Member<String>,
    #[serde(default)]
    scope: Member<String>,
    #[serde(default)]
    client_uri: Member<String>,
    #[serde(default)]
    logo_uri: Member<String>,
    #[serde(default)]
    software_id: Member<String>,
    #[serde(default)]
    software_version: Member<String>,
    #[serde(default)]
    application_type: Member<String>,
    /// The members apimcp does not read (`token_endpoint_auth_method`, `contacts`, ...).
    #[serde(flatten)]
    pub(super) extra: Map<String, Value>,
}

/// The registration response (RFC 7591 §3.2.1): a public client, so no secret.
#[derive(Debug, Serialize)]
pub(super) struct RegistrationResponse {
    pub(super) client_id: ClientId,
    pub(super) client_id_issued_at: u64,
    pub(super) redirect_uris: Vec<String>,
    pub(super) grant_types: Vec<String>,
    pub(super) response_types: Vec<String>,
    pub(super) token_endpoint_auth_method: &'static str,
    /// `native` (loopback redirect URIs) or `web`, as the client said or as its URIs show.
    pub(super) application_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) client_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) client_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) logo_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) software_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) software_version: Option<String>,
}

/// Why a registration is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(super) enum RegistrationError {
    #[error("the registration request is over {MAX_REGISTRATION} bytes")]
    TooLarge,
    #[error("at most {MAX_REDIRECT_URIS} redirect_uris may be registered")]
    TooManyRedirectUris,
    #[error("{member} is longer than {max} bytes")]
    TooLong { member: &'static str, max: usize },
    #[error("the body must be a JSON object")]
    NotAnObject,
    #[error("redirect_uris must be a non-empty array")]
    NoRedirectUris,
    #[error("redirect_uris must be strings")]
    RedirectUriNotAString,
    #[error("{uri:?} is not a URL: {source}")]
    RedirectUriNotAUrl { uri: String, source: url::ParseError },
    #[error("{uri:?} has a fragment")]
    RedirectUriFragment { uri: String },
    #[error("{uri:?}: http redirect URIs must be on a loopback host (127.0.0.1, [::1], localhost)")]
    HttpNotOnLoopback { uri: String },
    #[error("{uri:?}: the scheme {scheme:?} is not allowed (https, or http on loopback)")]
    RedirectUriScheme { uri: String, scheme: String },
    #[error(
        "{uri:?}: a web application cannot return to a loopback host; register it with application_type \"native\""
    )]
    LoopbackForWeb { uri: String },
    #[error("{uri:?} is not among the redirect URIs this server allows")]
    NotAllowed { uri: String },
    #[error("application_type must be \"native\" or \"web\"")]
    ApplicationType,
    #[error("{member} must be an array of strings")]
    NotStrings { member: &'static str },
    #[error("{member}: {value:?} is not supported ({})", .allowed.join(", "))]
    Unsupported {
        member: &'static str,
        value: String,
        allowed: &'static [&'static str],
    },
}

/// Redirect URI problems are `invalid_redirect_uri`, the rest `invalid_client_metadata`.
impl From<RegistrationError> for TokenError {
    fn from(error: RegistrationError) -> Self {
        let description = error.to_string();
        match error {
            RegistrationError::NoRedirectUris
            | RegistrationError::RedirectUriNotAString
            | RegistrationError::RedirectUriNotAUrl { .. }
            | RegistrationError::RedirectUriFragment { .. }
            | RegistrationError::HttpNotOnLoopback { .. }
            | RegistrationError::RedirectUriScheme { .. }
            | RegistrationError::LoopbackForWeb { .. }
            | RegistrationError::NotAllowed { .. }
            | RegistrationError::TooManyRedirectUris
            | RegistrationError::TooLong {
                member: "redirect_uris",
                ..
            } => Self::InvalidRedirectUri { description },
            _ => Self::InvalidClientMetadata { description },
        }
    }
}

impl RegistrationRequest {
    /// Reads a request body: a JSON object of at most [`MAX_REGISTRATION`] bytes.
    pub(super) fn parse(body: &[u8]) -> Result<Self, RegistrationError> {
        if body.len() > MAX_REGISTRATION {
            return Err(RegistrationError::TooLarge);
        }
        let Ok(Value::Object(members)) = serde_json::from_slice::<Value>(body) else {
            return Err(RegistrationError::NotAnObject);
        };
        serde_json::from_value(Value::Object(members)).map_err(|_| RegistrationError::NotAnObject)
    }

    /// Redirect URIs a client may register: https, or http on a loopback host (RFC 8252 §7.3);
    /// never with a fragment.
    fn redirect_uris(&self) -> Result<Vec<String>, RegistrationError> {
        let uris = self
            .redirect_uris
            .given()
            .filter(|uris| !uris.is_empty())
            .ok_or(RegistrationError::NoRedirectUris)?;
        if uris.len() > MAX_REDIRECT_URIS {
            return Err(RegistrationError::TooManyRedirectUris);
        }
        if uris
            .iter()
            .any(|uri| uri.as_str().is_some_and(|uri| uri.len() > MAX_URI))
        {
            return Err(RegistrationError::TooLong {
                member: "redirect_uris",
                max: MAX_URI,
            });
        }
        uris.iter()
            .map(|uri| check_redirect_uri(uri.as_str().ok_or(RegistrationError::RedirectUriNotAString)?))
            .collect()
    }

    /// The grant types asked for: the default when none are named.
    fn grant_types(&self) -> Result<Vec<String>, RegistrationError> {
        listed("grant_types", &self.grant_types, &GRANT_TYPES)
    }

    /// The response types asked for: the default when none are named.
    fn response_types(&self) -> Result<Vec<String>, RegistrationError> {
        listed("response_types", &self.response_types, &RESPONSE_TYPES)
    }

    /// The client's name, without control characters or invisible formatting (bidirectional
    /// overrides that reverse what the consent page shows, zero-width characters) and at most
    /// 100 characters long: the consent page shows it.
    fn client_name(&self) -> Option<String> {
        self.client_name.given().map(|name| shown_name(name))
    }

    /// No text member is longer than it may be: what is registered stays small.
    fn check_lengths(&self) -> Result<(), RegistrationError> {
        let members = [
            ("client_name", &self.client_name, MAX_NAME),
            ("scope", &self.scope, MAX_URI),
            ("client_uri", &self.client_uri, MAX_URI),
            ("logo_uri", &self.logo_uri, MAX_URI),
            ("software_id", &self.software_id, MAX_URI),
            ("software_version", &self.software_version, MAX_URI),
        ];
        match members
            .into_iter()
            .find(|(_, member, max)| member.given().is_some_and(|text| text.len() > *max))
        {
            Some((member, _, max)) => Err(RegistrationError::TooLong { member, max }),
            None => Ok(()),
        }
    }

    /// `native` or `web` (OpenID Connect Dynamic Registration §2, which the 2026-07-28 MCP
    /// revision asks clients to send): a web application may not return to a loopback host.
    /// A client that says nothing is `native` when it has a loopback redirect URI.
    fn application_type(&self, uris: &[String]) -> Result<&'static str, RegistrationError> {
        let loopback = uris.iter().find(|uri| is_loopback_uri(uri));
        match (&self.application_type, loopback) {
            (Member::Given(kind), _) if kind == "native" => Ok("native"),
            (Member::Given(kind), None) if kind == "web" => Ok("web"),
            (Member::Given(kind), Some(uri)) if kind == "web" => {
                Err(RegistrationError::LoopbackForWeb { uri: uri.clone() })
            }
            (Member::Absent, Some(_)) => Ok("native"),
            (Member::Absent, None) => Ok("web"),
            _ => Err(RegistrationError::ApplicationType),
        }
    }

    /// The response for the client to be registered as `client_id`, once the request is
    /// checked (in this order: redirect URIs, grant types, response types).
    pub(super) fn response(
        &self,
        client_id: ClientId,
        issued_at: u64,
    ) -> Result<RegistrationResponse, RegistrationError> {
        let text = |member: &Member<String>| member.given().cloned();
        let redirect_uris = self.redirect_uris()?;
        self.check_lengths()?;
        Ok(RegistrationResponse {
            client_id,
            client_id_issued_at: issued_at,
            application_type: self.application_type(&redirect_uris)?,
            redirect_uris,
            grant_types: self.grant_types()?,
            response_types: self.response_types()?,
            token_endpoint_auth_method: "none",
            client_name: self.client_name(),
            scope: text(&self.scope),
            client_uri: text(&self.client_uri),
            logo_uri: text(&self.logo_uri),
            software_id: text(&self.software_id),
            software_version: text(&self.software_version),
        })
    }
}

/// Whether a character of a client's name is shown: not a control, not an invisible format
/// character (Unicode's bidirectional controls, zero-width characters, the byte order mark).
fn shown(c: char) -> bool {
    let invisible = matches!(
        c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    );
    !c.is_control() && !invisible
}

/// A client's name as the consent page shows it: without control characters or invisible
/// formatting, at most 100 characters.
pub(super) fn shown_name(name: &str) -> String {
    name.chars().filter(|c| shown(*c)).take(100).collect()
}

/// Whether `uri` is an http URI on a loopback host (RFC 8252 §7.3).
pub(super) fn is_loopback_uri(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|url| url.scheme() == "http" && is_loopback(&url))
}

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"))
}

/// A redirect URI a client may have: https, or http on a loopback host; no fragment.
pub(super) fn check_redirect_uri(uri: &str) -> Result<String, RegistrationError> {
    let url = Url::parse(uri).map_err(|source| RegistrationError::RedirectUriNotAUrl {
        uri: uri.to_owned(),
        source,
    })?;
    if url.fragment().is_some() {
        return Err(RegistrationError::RedirectUriFragment { uri: uri.to_owned() });
    }
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => Ok(uri.to_owned()),
        "http" if loopback => Ok(uri.to_owned()),
        "http" => Err(RegistrationError::HttpNotOnLoopback { uri: uri.to_owned() }),
        other => Err(RegistrationError::RedirectUriScheme {
            uri: uri.to_owned(),
            scheme: other.to_owned(),
        }),
    }
}

/// A list member whose items must all be `allowed`; `allowed` when it is absent.
fn listed(
    name: &'static str,
    member: &Member<Vec<String>>,
    allowed: &'static [&'static str],
) -> Result<Vec<String>, RegistrationError> {
    let items = match member {
        Member::Absent => return Ok(allowed.iter().map(|s| (*s).to_owned()).collect()),
        Member::Given(items) => items,
        Member::Mistyped => return Err(RegistrationError::NotStrings { member: name }),
    };
    match items.iter().find(|i| !allowed.contains(&i.as_str())) {
        Some(other) => Err(RegistrationError::Unsupported {
            member: name,
            value: other.clone(),
            allowed,
        }),
        None => Ok(items.clone()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(members: Value) -> RegistrationRequest {
        RegistrationRequest::parse(members.to_string().as_bytes()).expect("an object")
    }

    #[test]
    fn only_https_and_loopback_redirects_register() {
        let check = |uris: Value| request(json!({"redirect_uris": uris})).redirect_uris();
        assert!(check(json!(["http://127.0.0.1:8080/oauth/callback", "https://app.test/cb"])).is_ok());
        assert!(check(json!(["http://localhost:3000/cb", "http://[::1]:9/cb"])).is_ok());
        let error = check(json!(["http://evil.test/cb"])).expect_err("plain http elsewhere");
        assert!(error.to_string().contains("loopback"), "{error}");
        assert!(check(json!(["https://app.test/cb#x"])).is_err());
        assert!(check(json!(["javascript:alert(1)"])).is_err());
        assert!(check(json!([])).is_err());
        assert!(check(json!("https://app.test/cb")).is_err());
        assert!(matches!(
            check(json!(["https://app.test/cb", 5])),
            Err(RegistrationError::RedirectUriNotAString)
        ));
    }

    #[test]
    fn the_response_is_the_registered_metadata_and_no_secret() {
        let asked = request(json!({
            "redirect_uris": ["http://127.0.0.1:8799/cb"],
            "client_name": "App\u{7}\u{202E}\u{200B}",
            "scope": "mcp:read",
            "logo_uri": 5,
            "token_endpoint_auth_method": "client_secret_post",
            "contacts": ["a@b.test"],
        }));
        assert_eq!(asked.extra.len(), 2, "the members apimcp does not read are kept");
        let response = asked.response(ClientId::new("c1"), 7).expect("valid");
        assert_eq!(
            serde_json::to_string(&response).expect("json"),
            json!({
                "client_id": "c1",
                "client_id_issued_at": 7,
                "redirect_uris": ["http://127.0.0.1:8799/cb"],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
                "application_type": "native",
                "client_name": "App",
                "scope": "mcp:read",
            })
            .to_string(),
            "the same members in the same order"
        );
    }

    #[test]
    fn the_application_type_fits_the_redirect_uris() {
        let kind = |members: Value| {
            let asked = request(members);
            asked
                .redirect_uris()
                .and_then(|uris| asked.application_type(&uris))
                .map_err(|e| e.to_string())
        };
        let loopback = json!(["http://127.0.0.1:8080/cb"]);
        let hosted = json!(["https://claude.ai/api/mcp/auth_callback"]);
        assert_eq!(kind(json!({"redirect_uris": loopback})), Ok("native"));
        assert_eq!(kind(json!({"redirect_uris": hosted})), Ok("web"));
        assert_eq!(
            kind(json!({"redirect_uris": hosted, "application_type": "native"})),
            Ok("native")
        );
        assert_eq!(
            kind(json!({"redirect_uris": hosted, "application_type": "web"})),
            Ok("web")
        );
        let web_on_loopback = kind(json!({"redirect_uris": loopback, "application_type": "web"}));
        assert!(web_on_loopback.is_err_and(|e| e.contains("native")));
        assert!(kind(json!({"redirect_uris": hosted, "application_type": "desktop"})).is_err());
        assert!(kind(json!({"redirect_uris": hosted, "application_type": 1})).is_err());
    }

    #[test]
    fn what_a_registration_may_carry_is_bounded() {
        let refused = |members: Value| {
            request(members)
                .response(ClientId::new("c"), 0)
                .map(drop)
                .map_err(|e| TokenError::from(e).to_string())
        };
        let uri = "http://127.0.0.1:9/cb";
        let (too_many, most) = ([uri; MAX_REDIRECT_URIS + 1], [uri; MAX_REDIRECT_URIS]);
        assert_eq!(
            refused(json!({"redirect_uris": too_many})),
            Err(format!("at most {MAX_REDIRECT_URIS} redirect_uris may be registered"))
        );
        let long_uri = format!("{uri}?{}", "x".repeat(MAX_URI));
        assert!(matches!(
            TokenError::from(
                request(json!({"redirect_uris": [long_uri]}))
                    .response(ClientId::new("c"), 0)
                    .expect_err("long")
            ),
            TokenError::InvalidRedirectUri { .. }
        ));
        assert_eq!(
            refused(json!({"redirect_uris": [uri], "client_name": "n".repeat(MAX_NAME + 1)})),
            Err(format!("client_name is longer than {MAX_NAME} bytes"))
        );
        assert!(refused(json!({"redirect_uris": [uri], "logo_uri": "l".repeat(MAX_URI + 1)})).is_err());
        assert!(refused(json!({"redirect_uris": most, "client_name": "n".repeat(MAX_NAME)})).is_ok());
        let body = format!("{{\"client_name\": \"{}\"}}", "n".repeat(MAX_REGISTRATION));
        assert!(matches!(
            RegistrationRequest::parse(body.as_bytes()),
            Err(RegistrationError::TooLarge)
        ));
    }

    #[test]
    fn lists_hold_supported_strings_only() {
        let error = |members: Value| request(members).grant_types().map_err(|e| e.to_string());
        assert_eq!(
            error(json!({"grant_types": ["implicit"]})),
            Err("grant_types: \"implicit\" is not supported (authorization_code, refresh_token)".to_owned())
        );
        assert_eq!(
            error(json!({"grant_types": null})),
            Err("grant_types must be an array of strings".to_owned())
        );
        assert_eq!(
            error(json!({"grant_types": ["refresh_token"]})),
            Ok(vec!["refresh_token".to_owned()])
        );
        assert!(request(json!({"response_types": ["token"]})).response_types().is_err());
        assert!(matches!(
            RegistrationRequest::parse(b"[1]"),
            Err(RegistrationError::NotAnObject)
        ));
    }
}
