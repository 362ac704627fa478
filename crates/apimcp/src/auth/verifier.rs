//! What every check shares: the bearer token, the principal a check establishes, and the
//! verifier trait that turns one into the other.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value;

use super::challenge::AuthRejection;

/// A bearer token. Its `Debug` never shows it, and it has no `PartialEq`: compare through
/// [`StaticTokens`](super::StaticTokens), in constant time.
#[derive(Clone)]
pub struct BearerToken(String);

impl BearerToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, for sending it on.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken([redacted])")
    }
}

/// Who is calling, as a verifier or check established it. Tools and logs see this, never the
/// token.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Principal {
    /// The `sub` claim.
    pub subject: Option<String>,
    /// The `client_id` (or `azp`) claim.
    pub client_id: Option<String>,
    /// The granted scopes.
    pub scopes: BTreeSet<String>,
    /// All claims, as the verifier saw them.
    pub claims: Value,
}

impl Principal {
    /// Who this is, for binding a session to the one who opened it: the subject, else the
    /// client (a client-credentials token has no user).
    pub(crate) fn owner(&self) -> Option<&str> {
        self.subject.as_deref().or(self.client_id.as_deref())
    }
}

/// The owner of a request (see [`Principal::owner`]): `None` without auth or without a token.
pub(crate) fn request_owner(extensions: &http::Extensions) -> Option<&str> {
    extensions.get::<Principal>().and_then(Principal::owner)
}

/// Why a token was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is not valid for this server: expired, wrong audience, bad signature, ...
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The authorization server could not be asked (down, timing out).
    #[error("the authorization server is unavailable: {0}")]
    Unavailable(String),
}

/// Checks bearer tokens.
pub trait TokenVerifier: Send + Sync {
    /// The principal the token stands for, or why not.
    fn verify<'a>(&'a self, token: &'a BearerToken) -> BoxFuture<'a, Result<Principal, VerifyError>>;

    /// Whether tokens can be checked now (a JWT verifier holds its issuer's keys, or could
    /// fetch them): what `/readyz` reports. Ready unless a verifier says otherwise.
    fn ready(&self) -> BoxFuture<'_, Result<(), VerifyError>> {
        Box::pin(async { Ok(()) })
    }
}

/// A check over the incoming request: a principal, nothing (pass), or a rejection.
pub type Dependency =
    Arc<dyn Fn(http::request::Parts) -> BoxFuture<'static, Result<Option<Principal>, AuthRejection>> + Send + Sync>;
