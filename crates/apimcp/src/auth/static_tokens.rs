//! A fixed set of tokens, for small deployments; compared in constant time.

use std::collections::BTreeSet;

use futures::future::BoxFuture;
use subtle::ConstantTimeEq;

use super::verifier::{BearerToken, Principal, TokenVerifier, VerifyError};

/// Accepts the given tokens; each principal gets `scopes`.
pub struct StaticTokens {
    tokens: Vec<String>,
    scopes: BTreeSet<String>,
}

impl StaticTokens {
    /// These tokens (read them from the environment, not from code).
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(tokens: I) -> Self {
        Self {
            tokens: tokens
                .into_iter()
                .map(Into::into)
                .filter(|t: &String| !t.is_empty())
                .collect(),
            scopes: BTreeSet::new(),
        }
    }

    /// The scopes a holder of any of the tokens has.
    pub fn with_scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
}

impl TokenVerifier for StaticTokens {
    fn verify<'a>(&'a self, token: &'a BearerToken) -> BoxFuture<'a, Result<Principal, VerifyError>> {
        // Every candidate is compared, so the time does not say which one (or how much) matched.
        let found = self.tokens.iter().enumerate().fold(None, |found, (i, t)| {
            if bool::from(t.as_bytes().ct_eq(token.secret().as_bytes())) {
                Some(i)
            } else {
                found
            }
        });
        let result = match found {
            Some(i) => Ok(Principal {
                subject: Some(format!("static-token-{}", i + 1)),
                scopes: self.scopes.clone(),
                ..Principal::default()
            }),
            None => Err(VerifyError::Invalid("unknown token".into())),
        };
        Box::pin(async move { result })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_listed_tokens_pass() {
        let tokens = StaticTokens::new(["alpha", "beta"]).with_scopes(["items:read"]);
        let ok = tokens.verify(&BearerToken::new("beta")).await.expect("accepted");
        assert_eq!(ok.subject.as_deref(), Some("static-token-2"));
        assert!(ok.scopes.contains("items:read"));
        assert!(tokens.verify(&BearerToken::new("gamma")).await.is_err());
        assert!(tokens.verify(&BearerToken::new("alph")).await.is_err());
        assert!(StaticTokens::new([""]).verify(&BearerToken::new("")).await.is_err());
    }
}
