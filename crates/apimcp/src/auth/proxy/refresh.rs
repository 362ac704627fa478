//! Refresh tokens: each is bound to the client it was issued to and to its family (the tokens
//! one authorization led to). When the provider rotates a refresh token, the previous one keeps
//! working for a grace window, answered with the same tokens without asking the provider (which
//! has retired it), until its replacement is first used; presented after that, it revokes its
//! whole family (RFC 9700 §4.14.2), as does a replayed code (RFC 6749 §4.1.2).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::error::TokenError;
use super::{Proxy, REFRESH_TTL, RecordKind, StoreError, key_of, random_token};
use crate::auth::types::ClientId;

/// How long a refresh waits for another request refreshing the same token.
const CONCURRENT_WAIT: Duration = Duration::from_secs(5);
/// How often it looks whether that request is done.
const CONCURRENT_POLL: Duration = Duration::from_millis(25);
/// How long a claim on a refresh token outlives a replica that died while refreshing it: a
/// little more than the provider's timeout.
const IN_FLIGHT_TTL: Duration = Duration::from_secs(40);

/// Tokens as the provider issued them.
pub(super) type Tokens = Map<String, Value>;

/// What the store keeps for a refresh token, locked under it.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Binding {
    pub(super) client_id: ClientId,
    pub(super) family: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotated: Option<Rotated>,
}

/// A refresh token the provider replaced.
#[derive(serde::Serialize, serde::Deserialize)]
struct Rotated {
    /// Until when (seconds since the epoch) it is still answered.
    until: u64,
    /// The store key of its replacement.
    successor: String,
    /// What its refresh answered, given again within the window.
    tokens: Tokens,
}

/// What presenting a refresh token leads to.
pub(super) enum Use {
    /// Ask the provider; the new tokens join `family`.
    Refresh { family: String },
    /// A rotated-out token within its grace window: these tokens again.
    Again(Tokens),
}

fn refused(description: &str) -> TokenError {
    TokenError::invalid_grant(description)
}

/// The store key that says a refresh token (by its store key) has been used.
fn used_key(key: &str) -> String {
    format!("used:{key}")
}

/// The store key that says a refresh token (by its store key) is at the provider right now.
fn in_flight_key(key: &str) -> String {
    format!("inflight:{key}")
}

/// The store key that says a family is revoked.
fn family_key(family: &str) -> String {
    format!("family:{family}")
}

/// The store key that remembers which family a redeemed code started.
pub(super) fn redeemed_key(code: &str) -> String {
    format!("redeemed:{}", key_of(code))
}

impl Proxy {
    /// A new family for the tokens a code was exchanged for: binds their refresh token.
    pub(super) async fn start_family(&self, tokens: &Tokens, client_id: &ClientId) -> Result<String, StoreError> {
        let family = random_token();
        if let Some(refresh) = tokens.get("refresh_token").and_then(Value::as_str) {
            self.bind_refresh(refresh, client_id, &family, None).await?;
        }
        Ok(family)
    }

    async fn bind_refresh(
        &self,
        refresh: &str,
        client_id: &ClientId,
        family: &str,
        rotated: Option<Rotated>,
    ) -> Result<(), StoreError> {
        let binding = Binding {
            client_id: client_id.clone(),
            family: family.to_owned(),
            rotated,
        };
        self.put_locked(RecordKind::Refresh, refresh, &binding, REFRESH_TTL)
            .await
    }

    /// What `refresh`, presented by `client_id`, leads to; refused when it is unknown, another
    /// client's, revoked, or rotated out and past its window (which revokes its family). Only
    /// one request at a time, across replicas, takes a token to the provider (a claim kept with
    /// `put_new`): one presented again meanwhile waits for that refresh and is answered as a
    /// rotated-out token within its window, so the provider never sees a token twice and
    /// revokes the grant.
    pub(super) async fn use_refresh(&self, refresh: &str, client_id: &ClientId) -> Result<Use, TokenError> {
        let key = key_of(refresh);
        let deadline = Instant::now() + CONCURRENT_WAIT;
        loop {
            let binding = self.binding(refresh, client_id).await?;
            if let Some(rotated) = binding.rotated {
                return self.use_rotated(&key, &binding.family, rotated).await;
            }
            let claim = in_flight_key(&key);
            if self
                .store
                .put_new(RecordKind::Refresh, &claim, Value::Bool(true), IN_FLIGHT_TTL)
                .await?
            {
                self.mark_used(&key).await?;
                return Ok(Use::Refresh { family: binding.family });
            }
            if Instant::now() >= deadline {
                return Err(refused("another request is refreshing this token; try again"));
            }
            tokio::time::sleep(CONCURRENT_POLL).await;
        }
    }

    /// The binding of `refresh`, if it is `client_id`'s and its family is not revoked.
    async fn binding(&self, refresh: &str, client_id: &ClientId) -> Result<Binding, TokenError> {
        let binding: Binding = self
            .get_locked(RecordKind::Refresh, refresh)
            .await?
            .filter(|binding: &Binding| binding.client_id == *client_id)
            .ok_or_else(|| refused("the refresh token is unknown here or was issued to another client"))?;
        if self.family_revoked(&binding.family).await? {
            return Err(refused("the refresh token has been revoked"));
        }
        Ok(binding)
    }

    /// A rotated-out token: the same tokens again within its window, until its replacement is
    /// used; after that it revokes its family.
    async fn use_rotated(&self, key: &str, family: &str, rotated: Rotated) -> Result<Use, TokenError> {
        self.mark_used(key).await?;
        let successor_used = self
            .store
            .get(RecordKind::Refresh, &used_key(&rotated.successor))
            .await?;
        if now() < rotated.until && successor_used.is_none() {
            return Ok(Use::Again(rotated.tokens));
        }
        self.revoke_family(family).await?;
        Err(refused(
            "the refresh token was replaced and used again: every token of its grant is revoked",
        ))
    }

    async fn mark_used(&self, key: &str) -> Result<(), StoreError> {
        self.store
            .put(RecordKind::Refresh, &used_key(key), Value::Bool(true), REFRESH_TTL)
            .await
    }

    /// Ends the claim [`use_refresh`](Self::use_refresh) took on `refresh`, once the provider
    /// has answered (and a rotation, if any, is recorded).
    pub(super) async fn release_refresh(&self, refresh: &str) -> Result<(), StoreError> {
        let claim = in_flight_key(&key_of(refresh));
        self.store.take(RecordKind::Refresh, &claim).await.map(drop)
    }

    /// After the provider answered a refresh of `old`: a replacement joins the family, and `old`
    /// stays answerable for the grace window.
    pub(super) async fn rotate(
        &self,
        old: &str,
        client_id: &ClientId,
        family: &str,
        tokens: &Tokens,
    ) -> Result<(), StoreError> {
        let Some(new) = tokens
            .get("refresh_token")
            .and_then(Value::as_str)
            .filter(|new| *new != old)
        else {
            return Ok(());
        };
        self.bind_refresh(new, client_id, family, None).await?;
        let rotated = Rotated {
            until: now() + self.refresh_grace.as_secs(),
            successor: key_of(new),
            tokens: tokens.clone(),
        };
        self.bind_refresh(old, client_id, family, Some(rotated)).await
    }

    /// Revokes every refresh token of `family`.
    pub(super) async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        let key = family_key(family);
        self.store
            .put(RecordKind::Refresh, &key, Value::Bool(true), REFRESH_TTL)
            .await
    }

    async fn family_revoked(&self, family: &str) -> Result<bool, StoreError> {
        Ok(self
            .store
            .get(RecordKind::Refresh, &family_key(family))
            .await?
            .is_some())
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::super::ProxySettings;
    use super::*;

    fn proxy(grace_secs: u64) -> Proxy {
        Proxy::new(ProxySettings {
            refresh_grace: Duration::from_secs(grace_secs),
            client_metadata_documents: true,
            ..ProxySettings::for_tests()
        })
        .expect("proxy")
    }

    fn tokens(access: &str, refresh: &str) -> Tokens {
        let value = json!({"access_token": access, "refresh_token": refresh});
        value.as_object().cloned().expect("object")
    }

    #[tokio::test]
    async fn a_rotated_token_is_answered_until_its_replacement_is_used_then_revokes_its_family() {
        let proxy = proxy(60);
        let a = ClientId::new("a");
        let family = proxy.start_family(&tokens("at1", "r1"), &a).await.expect("bound");
        let other = proxy.use_refresh("r1", &ClientId::new("b")).await;
        assert!(other.is_err(), "only for the client it was issued to");
        let Ok(Use::Refresh { family: used }) = proxy.use_refresh("r1", &a).await else {
            panic!("a bound token is refreshed at the provider");
        };
        assert_eq!(used, family);
        proxy
            .rotate("r1", &a, &family, &tokens("at2", "r2"))
            .await
            .expect("rotated");
        let Ok(Use::Again(again)) = proxy.use_refresh("r1", &a).await else {
            panic!("within the window, the replaced token gets the same answer again");
        };
        assert_eq!(again, tokens("at2", "r2"));
        assert!(matches!(proxy.use_refresh("r2", &a).await, Ok(Use::Refresh { .. })));
        assert!(proxy.use_refresh("r1", &a).await.is_err(), "its replacement was used");
        assert!(
            proxy.use_refresh("r2", &a).await.is_err(),
            "the whole family is revoked"
        );
    }

    #[tokio::test]
    async fn a_token_presented_twice_at_once_goes_to_the_provider_once() {
        let proxy = std::sync::Arc::new(proxy(60));
        let a = ClientId::new("a");
        let family = proxy.start_family(&tokens("at1", "r1"), &a).await.expect("bound");
        assert!(matches!(proxy.use_refresh("r1", &a).await, Ok(Use::Refresh { .. })));
        let waiting = tokio::spawn({
            let (proxy, a) = (proxy.clone(), a.clone());
            async move { proxy.use_refresh("r1", &a).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "the second waits for the first refresh");
        proxy
            .rotate("r1", &a, &family, &tokens("at2", "r2"))
            .await
            .expect("rotated");
        proxy.release_refresh("r1").await.expect("released");
        let Ok(Ok(Use::Again(again))) = waiting.await else {
            panic!("the second is answered with the first one's tokens");
        };
        assert_eq!(again, tokens("at2", "r2"));
        let unrotated = proxy.start_family(&tokens("at3", "r3"), &a).await.expect("bound");
        assert!(matches!(proxy.use_refresh("r3", &a).await, Ok(Use::Refresh { .. })));
        proxy.release_refresh("r3").await.expect("released");
        assert!(
            matches!(proxy.use_refresh("r3", &a).await, Ok(Use::Refresh { family }) if family == unrotated),
            "a token the provider kept goes to it again once the first refresh is done"
        );
    }

    #[tokio::test]
    async fn past_its_window_a_replaced_token_revokes_its_family() {
        let proxy = proxy(0);
        let a = ClientId::new("a");
        let family = proxy.start_family(&tokens("at1", "r1"), &a).await.expect("bound");
        proxy
            .rotate("r1", &a, &family, &tokens("at2", "r2"))
            .await
            .expect("rotated");
        assert!(proxy.use_refresh("r1", &a).await.is_err());
        assert!(proxy.use_refresh("r2", &a).await.is_err(), "the family is revoked");
        let unrotated = proxy.start_family(&tokens("at3", "r3"), &a).await.expect("bound");
        proxy
            .rotate("r3", &a, &unrotated, &tokens("at4", "r3"))
            .await
            .expect("same token");
        assert!(matches!(proxy.use_refresh("r3", &a).await, Ok(Use::Refresh { .. })));
    }
}
