//! What apimcp itself sends to the API: fixed headers (a `User-Agent` naming apimcp by
//! default) and credentials for the document's `securitySchemes`, configured by scheme name.
//!
//! Each call gets exactly what its operation's `security` asks for: the first alternative
//! whose every scheme has a credential is applied (`apiKey` in a header, the query or a
//! cookie; HTTP `bearer` and `basic`; an OAuth 2 token fetched with the client credentials
//! grant, cached and refreshed). An operation whose alternatives cannot be met gets none, and
//! the API answers as it does to an anonymous caller.
//!
//! Precedence: what is configured here wins. A header the operator set (a fixed header or a
//! credential) replaces a header parameter of the same name, and a forwarded header of the
//! MCP client (`forward_headers`) is only sent where nothing configured set that header; the
//! server logs a warning at start-up when the two name the same header, so neither silently
//! replaces the other.
//!
//! Secrets are [`Secret`]s: their `Debug` is redacted, header values carrying them are marked
//! sensitive, and no error apimcp writes names them.
//!
//! ```
//! use apimcp::upstream::{Credential, Secret, UpstreamConfig};
//!
//! let config = UpstreamConfig::default()
//!     .header("X-Tenant", "acme")
//!     .credential("api_key", Credential::Value(Secret::new("s3cret")));
//! assert!(!format!("{config:?}").contains("s3cret"));
//! ```

mod apply;
mod base;
mod oauth;
mod schemes;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

pub(crate) use apply::Upstream;
pub(crate) use base::operation_base;
pub use base::{BaseUrlError, base_url};

/// The `User-Agent` apimcp sends unless a fixed header sets one.
pub const DEFAULT_USER_AGENT: &str = concat!("apimcp/", env!("CARGO_PKG_VERSION"));

/// A value sent to the API and never shown: `Debug` prints `[redacted]`, and there is no
/// `Display` and no `PartialEq`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// The credential for one security scheme of the document.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Credential {
    /// One value: an `apiKey` scheme's key, or the token of an HTTP `bearer` (or other HTTP
    /// scheme: `Authorization: <scheme> <value>`), `oauth2` or `openIdConnect` scheme. For an
    /// HTTP `basic` scheme it is `username:password`.
    Value(Secret),
    /// HTTP `basic`.
    Basic {
        /// The user name (sent, so not secret, but never logged either).
        username: String,
        /// The password.
        password: Secret,
    },
    /// OAuth 2 client credentials: apimcp fetches a token, caches it and fetches a new one
    /// before it expires (or after the API answers 401).
    ClientCredentials(ClientCredentials),
}

/// The client credentials grant (RFC 6749 section 4.4) for an `oauth2` scheme.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientCredentials {
    /// The client id.
    pub client_id: String,
    /// The client secret (sent as [`auth_method`](Self::auth_method) says).
    pub client_secret: Secret,
    /// The scopes to ask for (none: the authorization server's default).
    pub scopes: Vec<String>,
    /// The token endpoint; by default the scheme's `clientCredentials.tokenUrl` (a relative
    /// one is resolved against the API's base URL).
    pub token_url: Option<url::Url>,
    /// How the client id and secret reach the token endpoint (HTTP basic by default).
    pub auth_method: ClientAuthMethod,
}

/// How a client authenticates at the token endpoint (RFC 6749 section 2.3.1; the names are
/// RFC 8414's `token_endpoint_auth_methods_supported` values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `client_secret_basic`, the default: HTTP basic with the form-encoded id and secret,
    /// which every authorization server must support.
    #[default]
    ClientSecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` in the request's form, for the
    /// servers that take nothing else.
    ClientSecretPost,
}

impl FromStr for ClientAuthMethod {
    type Err = UnknownAuthMethod;

    /// `client_secret_basic` or `client_secret_post`.
    fn from_str(text: &str) -> Result<Self, UnknownAuthMethod> {
        match text.trim().to_ascii_lowercase().as_str() {
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            "client_secret_post" => Ok(Self::ClientSecretPost),
            _ => Err(UnknownAuthMethod { given: text.to_owned() }),
        }
    }
}

/// A value that names no client authentication method.
#[derive(Debug, thiserror::Error)]
#[error("auth_method must be \"client_secret_basic\" or \"client_secret_post\", not {given:?}")]
#[non_exhaustive]
pub struct UnknownAuthMethod {
    /// What was given.
    pub given: String,
}

impl ClientCredentials {
    /// A client id and secret, with no scopes and the document's token URL.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scopes: Vec::new(),
            token_url: None,
            auth_method: ClientAuthMethod::default(),
        }
    }

    /// How the id and secret are sent: `client_secret_post` puts them in the form, for an
    /// authorization server that does not take HTTP basic.
    #[must_use]
    pub fn auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// The scopes to ask for.
    #[must_use]
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// A token endpoint other than the document's.
    #[must_use]
    pub fn token_url(mut self, url: url::Url) -> Self {
        self.token_url = Some(url);
        self
    }
}

/// What apimcp sends to the API on every call: fixed headers and credentials by scheme name.
#[derive(Clone, Debug, Default)]
pub struct UpstreamConfig {
    headers: Vec<(String, Secret)>,
    credentials: BTreeMap<String, Credential>,
}

impl UpstreamConfig {
    /// A header sent on every call (a later one of the same name replaces it). Its value is
    /// treated as a secret, since it may well be one. `User-Agent` replaces apimcp's own.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The credential for the document's security scheme `scheme` (its key in
    /// `components.securitySchemes`, or `securityDefinitions` in Swagger 2.0).
    #[must_use]
    pub fn credential(mut self, scheme: impl Into<String>, credential: Credential) -> Self {
        self.credentials.insert(scheme.into(), credential);
        self
    }

    /// Whether anything beyond the defaults is configured.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.credentials.is_empty()
    }

    /// The scheme names credentials are configured for.
    pub fn schemes(&self) -> impl Iterator<Item = &str> {
        self.credentials.keys().map(String::as_str)
    }
}

/// Why the upstream settings do not fit the document (found once, when the server is built).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// A credential names a scheme the document does not define.
    #[error(
        "credential for {scheme:?}: the document defines no such security scheme (it defines: {})",
        known_list(known)
    )]
    UnknownScheme {
        /// The scheme name given.
        scheme: String,
        /// The schemes the document defines.
        known: Vec<String>,
    },
    /// The credential's kind does not fit the scheme's type.
    #[error("credential for {scheme:?}: a {scheme_type} scheme takes {expected}")]
    WrongCredential {
        /// The scheme name.
        scheme: String,
        /// The scheme's type as the document writes it (`apiKey`, `http basic`, ...).
        scheme_type: String,
        /// What it takes.
        expected: &'static str,
    },
    /// The scheme's type is one apimcp cannot send (`mutualTLS`, or an unknown type).
    #[error("credential for {scheme:?}: apimcp cannot send {scheme_type} credentials")]
    UnsupportedScheme {
        /// The scheme name.
        scheme: String,
        /// Its type.
        scheme_type: String,
    },
    /// Client credentials with no token URL, in the document or configured.
    #[error("credential for {scheme:?}: the scheme has no clientCredentials flow with a tokenUrl; set token_url")]
    NoTokenUrl {
        /// The scheme name.
        scheme: String,
    },
    /// A token URL that is not an absolute http(s) URL (nor relative to a remote API).
    #[error("credential for {scheme:?}: token URL {url:?} is not an http(s) URL")]
    InvalidTokenUrl {
        /// The scheme name.
        scheme: String,
        /// The URL as found.
        url: String,
    },
    /// A fixed header's name is not a header name.
    #[error("header {name:?}: not a valid header name")]
    InvalidHeaderName {
        /// The name as given.
        name: String,
    },
    /// A fixed header's or credential's value cannot be sent in a header (the value is not
    /// shown: it may be secret).
    #[error("{what}: the value is not a valid header value (visible ASCII, no CR or LF)")]
    InvalidHeaderValue {
        /// The header or scheme it belongs to.
        what: String,
    },
    /// The HTTP client for token requests could not be built.
    #[error("cannot build the HTTP client for token requests: {0}")]
    Client(#[source] reqwest::Error),
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "none".into()
    } else {
        known.join(", ")
    }
}

/// Why a call's credentials could not be had (an OAuth token request that failed). The text
/// never carries the client secret or a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The token endpoint could not be reached or answered with an error.
    #[error("no access token for the security scheme {scheme:?}: {reason}")]
    Token {
        /// The scheme name.
        scheme: String,
        /// What went wrong (status, OAuth error code, or a connection failure).
        reason: String,
    },
}
