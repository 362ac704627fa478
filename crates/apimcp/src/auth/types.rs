//! OAuth protocol strings as types, in the manner of oauth2-rs: secrets whose `Debug` never
//! shows them and that have no `PartialEq` (so they are never compared in variable time by
//! accident), plain newtypes for identifiers, and URLs checked once, where they are configured.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

/// A secret string: a redacted `Debug`, no `PartialEq`, and the secret only through `secret()`.
macro_rules! secret_type {
    ($(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        #[derive(Clone)]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("Wraps a secret as a `", stringify!($name), "`.")]
            pub fn new(secret: impl Into<String>) -> Self {
                Self(secret.into())
            }

            /// The secret itself, for sending it where it belongs.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

/// A protocol string that is not a secret: compared, hashed, shown and serialised as the string.
macro_rules! string_type {
    ($(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("Wraps a string as a `", stringify!($name), "`.")]
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The string itself.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// An http(s) URL checked once: the parsed URL and the text it is compared and sent as.
macro_rules! url_type {
    ($(#[$attr:meta])* $name:ident, $text:expr) => {
        $(#[$attr])*
        #[derive(Clone)]
        pub struct $name {
            url: Url,
            text: String,
        }

        impl $name {
            /// Checks `value`, given as the setting named `setting` (which the error names): an
            /// http(s) URL with a host and no fragment.
            pub fn new(setting: &'static str, value: &str) -> Result<Self, InvalidUrl> {
                let text: fn(&str) -> &str = $text;
                let text = text(value).to_owned();
                Ok(Self {
                    url: http_url(setting, &text)?,
                    text,
                })
            }

            /// The URL as text.
            pub fn as_str(&self) -> &str {
                &self.text
            }

            /// The parsed URL.
            pub fn url(&self) -> &Url {
                &self.url
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.text)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.text).finish()
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.text == other.text
            }
        }

        impl Eq for $name {}
    };
}

secret_type! {
    /// The client secret apimcp has at an authorization server (RFC 6749 §2.3.1): for the
    /// provider behind the OAuth proxy, or for introspection. It stays on the server.
    ClientSecret
}

string_type! {
    /// A client identifier (RFC 6749 §2.2): apimcp's at the provider, or one the proxy issued.
    ClientId
}

string_type! {
    /// One access token scope (RFC 6749 §3.3).
    Scope
}

/// Scopes in the order they were asked for. A scope named twice stays twice: the list is sent
/// on as the client gave it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// The scopes of a space-separated `scope` parameter.
    pub fn parse(scope: &str) -> Self {
        Self(scope.split_whitespace().map(Scope::new).collect())
    }

    /// Appends each of `scopes` that is not here yet.
    pub fn include(&mut self, scopes: &Scopes) {
        for scope in &scopes.0 {
            if !self.0.contains(scope) {
                self.0.push(scope.clone());
            }
        }
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }
}

/// The `scope` parameter: the scopes separated by spaces.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

url_type! {
    /// An issuer identifier (RFC 8414 §2). Issuers are compared as strings, so the trailing
    /// slash is dropped: `https://h.test/` and `https://h.test` name one issuer, written the
    /// second way.
    IssuerUrl, |value| value.trim_end_matches('/')
}

url_type! {
    /// The canonical URL of a protected resource (RFC 8707), the audience its tokens carry.
    /// Kept exactly as given, since tokens must name it byte for byte;
    /// [`canonical_resource`](super::canonical_resource) makes the canonical form.
    ResourceUrl, |value| value
}

/// A setting that is not an http(s) URL without a fragment.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidUrl {
    /// It does not parse as a URL.
    #[error("{setting}: {value:?} is not a URL: {source}")]
    Unparsable {
        /// The setting it was given as.
        setting: &'static str,
        /// What was given.
        value: String,
        /// Why it does not parse.
        source: url::ParseError,
    },
    /// Its scheme is not http or https, or it has no host.
    #[error("{setting}: {value:?} is not an http(s) URL")]
    NotHttp {
        /// The setting it was given as.
        setting: &'static str,
        /// What was given.
        value: String,
    },
    /// It has a fragment, which no OAuth URL may have.
    #[error("{setting}: {value:?} has a fragment")]
    Fragment {
        /// The setting it was given as.
        setting: &'static str,
        /// What was given.
        value: String,
    },
}

fn http_url(setting: &'static str, value: &str) -> Result<Url, InvalidUrl> {
    let url = Url::parse(value).map_err(|source| InvalidUrl::Unparsable {
        setting,
        value: value.to_owned(),
        source,
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(InvalidUrl::NotHttp {
            setting,
            value: value.to_owned(),
        });
    }
    if url.fragment().is_some() {
        return Err(InvalidUrl::Fragment {
            setting,
            value: value.to_owned(),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secrets_never_show_in_debug_output() {
        let secret = ClientSecret::new("s3cr3t");
        assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
        assert_eq!(secret.secret(), "s3cr3t");
    }

    #[test]
    fn identifiers_serialise_as_their_string() {
        let id = ClientId::new("c1");
        assert_eq!(serde_json::to_value(&id).expect("json"), serde_json::json!("c1"));
        assert_eq!(id.to_string(), "c1");
        let scopes = Scopes::parse(" openid  mcp:read ");
        assert_eq!(
            serde_json::to_value(&scopes).expect("json"),
            serde_json::json!(["openid", "mcp:read"])
        );
    }

    #[test]
    fn scopes_keep_their_order_and_gain_only_missing_defaults() {
        let mut scopes = Scopes::parse("mcp:read openid");
        scopes.include(&Scopes::parse("openid profile"));
        assert_eq!(scopes.to_string(), "mcp:read openid profile");
        assert_eq!(Scopes::default().to_string(), "");
    }

    #[test]
    fn urls_are_http_without_a_fragment() {
        let issuer = IssuerUrl::new("public_url", "https://h.test/base/").expect("valid");
        assert_eq!(issuer.as_str(), "https://h.test/base");
        assert_eq!(issuer.url().path(), "/base");
        assert_eq!(
            IssuerUrl::new("public_url", "http://127.0.0.1:8000")
                .expect("valid")
                .as_str(),
            "http://127.0.0.1:8000"
        );
        let resource = ResourceUrl::new("resource", "https://h.test/mcp/").expect("valid");
        assert_eq!(resource.as_str(), "https://h.test/mcp/", "kept as given");
        assert!(matches!(
            IssuerUrl::new("issuer", "not a url"),
            Err(InvalidUrl::Unparsable { setting: "issuer", .. })
        ));
        assert!(matches!(
            ResourceUrl::new("resource", "ftp://h.test/x"),
            Err(InvalidUrl::NotHttp { .. })
        ));
        let error = ResourceUrl::new("resource", "https://h.test/mcp#x").expect_err("fragment");
        assert_eq!(error.to_string(), "resource: \"https://h.test/mcp#x\" has a fragment");
    }
}
