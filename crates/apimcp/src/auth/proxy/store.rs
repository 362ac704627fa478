//! Where the proxy keeps what lives between requests and must be used once or revoked:
//! authorization requests waiting for consent or for the provider, apimcp's codes,
//! refresh-token bindings and consents (registered clients need no store: their id holds the
//! registration, sealed). A trait, so several replicas can share one (Redis, a database); an
//! on-disk store in the state directory ([`DiskStore`](super::DiskStore)) and an in-memory one
//! that is bounded and expires entries.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::Value;

/// What a record is; each kind is its own key space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKind {
    /// An authorization request shown on the consent page, by its id.
    Request,
    /// An authorization sent on to the provider, by apimcp's `state`.
    Pending,
    /// An authorization code apimcp issued, with the provider's tokens.
    Code,
    /// Which client a refresh token was issued to.
    Refresh,
    /// A consent a browser gave to a client.
    Consent,
}

/// The store could not be used. It wraps the store's own error, so logs keep its chain.
#[derive(Debug, thiserror::Error)]
#[error("the OAuth store failed: {inner}")]
pub struct StoreError {
    #[source]
    inner: BoxError,
}

/// Any error a store may fail with.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl StoreError {
    /// Wraps what went wrong in a store: its own error type, or a message.
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self { inner: error.into() }
    }

    /// The store's own error.
    pub fn into_inner(self) -> Box<dyn std::error::Error + Send + Sync> {
        self.inner
    }
}

/// Keys that are secrets (codes, states, tokens) arrive hashed, and records kept under a secret
/// arrive encrypted under it: a store never holds a secret.
pub trait OAuthStore: Send + Sync {
    /// Keeps `value` under `key` for `ttl`, replacing what was there.
    fn put(&self, kind: RecordKind, key: &str, value: Value, ttl: Duration) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Keeps `value` under `key` for `ttl` only if no live value is there, atomically (two
    /// replicas claiming the same key at once: one wins); whether it was kept.
    fn put_new(
        &self,
        kind: RecordKind,
        key: &str,
        value: Value,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// The live value under `key`.
    fn get(&self, kind: RecordKind, key: &str) -> BoxFuture<'_, Result<Option<Value>, StoreError>>;
    /// The live value under `key`, removed: what is taken once is never found again.
    fn take(&self, kind: RecordKind, key: &str) -> BoxFuture<'_, Result<Option<Value>, StoreError>>;
    /// Adds one to the counter `key` and answers its new value, atomically for everyone sharing
    /// the store; a new counter lives `ttl` from its first count (rate limits per source
    /// address). `None` (the default): the store keeps no shared counters, and each process
    /// counts in its own memory.
    fn count(&self, _key: &str, _ttl: Duration) -> BoxFuture<'_, Result<Option<u64>, StoreError>> {
        Box::pin(async { Ok(None) })
    }

    /// Whether the store answers now (what `/readyz` reports). A store in this process always
    /// does (the default).
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

/// The in-memory store: at most `capacity` records of each kind; when a kind is full, expired
/// records go, and if it is still full a new record is refused (a [`StoreError`], so 503),
/// never a live one evicted: a flood cannot push out someone's login in progress.
pub struct MemoryStore {
    capacity: usize,
    records: Mutex<HashMap<RecordKind, Records>>,
}

/// One kind's records: value and expiry, by key.
type Records = HashMap<String, (Instant, Value)>;

/// Records of each kind [`MemoryStore::default`] keeps.
pub const MEMORY_STORE_CAPACITY: usize = 10_000;

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_capacity(MEMORY_STORE_CAPACITY)
    }
}

impl MemoryStore {
    /// A store holding at most `capacity` records of each kind.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            records: Mutex::default(),
        }
    }

    fn put_now(
        &self,
        kind: RecordKind,
        key: &str,
        value: Value,
        ttl: Duration,
        only_new: bool,
    ) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut records = self.records.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let records = records.entry(kind).or_default();
        let live = records.get(key).is_some_and(|(expires, _)| *expires > now);
        if only_new && live {
            return Ok(false);
        }
        if !records.contains_key(key) && records.len() >= self.capacity {
            records.retain(|_, (expires, _)| *expires > now);
            if records.len() >= self.capacity {
                return Err(StoreError::new("the in-memory OAuth store is full"));
            }
        }
        records.insert(key.to_owned(), (now + ttl, value));
        Ok(true)
    }

    fn lookup(&self, kind: RecordKind, key: &str, remove: bool) -> Option<Value> {
        let mut records = self.records.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let records = records.get_mut(&kind)?;
        if records.get(key).is_some_and(|(expires, _)| *expires <= Instant::now()) {
            records.remove(key);
            return None;
        }
        if remove {
            records.remove(key).map(|(_, value)| value)
        } else {
            records.get(key).map(|(_, value)| value.clone())
        }
    }
}

impl OAuthStore for MemoryStore {
    fn put(&self, kind: RecordKind, key: &str, value: Value, ttl: Duration) -> BoxFuture<'_, Result<(), StoreError>> {
        let kept = self.put_now(kind, key, value, ttl, false).map(drop);
        Box::pin(async move { kept })
    }

    fn put_new(
        &self,
        kind: RecordKind,
        key: &str,
        value: Value,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        let kept = self.put_now(kind, key, value, ttl, true);
        Box::pin(async move { kept })
    }

    fn get(&self, kind: RecordKind, key: &str) -> BoxFuture<'_, Result<Option<Value>, StoreError>> {
        let found = self.lookup(kind, key, false);
        Box::pin(async move { Ok(found) })
    }

    fn take(&self, kind: RecordKind, key: &str) -> BoxFuture<'_, Result<Option<Value>, StoreError>> {
        let found = self.lookup(kind, key, true);
        Box::pin(async move { Ok(found) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn taken_records_are_gone_and_expired_ones_never_come_back() {
        let store = MemoryStore::default();
        store
            .put(RecordKind::Code, "c", json!(1), Duration::from_secs(60))
            .await
            .expect("put");
        assert_eq!(
            store.get(RecordKind::Pending, "c").await.ok(),
            Some(None),
            "kinds are apart"
        );
        assert_eq!(store.take(RecordKind::Code, "c").await.ok(), Some(Some(json!(1))));
        assert_eq!(store.take(RecordKind::Code, "c").await.ok(), Some(None));
        store
            .put(RecordKind::Code, "old", json!(2), Duration::ZERO)
            .await
            .expect("put");
        assert_eq!(store.get(RecordKind::Code, "old").await.ok(), Some(None));
    }

    #[tokio::test]
    async fn a_full_kind_refuses_new_records_rather_than_evict_live_ones() {
        let store = MemoryStore::with_capacity(2);
        let put = |key: &'static str, secs| store.put(RecordKind::Refresh, key, json!(key), Duration::from_secs(secs));
        put("a", 10).await.expect("put");
        put("b", 100).await.expect("put");
        assert!(
            put("c", 50).await.is_err(),
            "full of live records: the new one is refused"
        );
        assert_eq!(store.get(RecordKind::Refresh, "a").await.ok(), Some(Some(json!("a"))));
        put("a", 0).await.expect("a key already kept may be replaced");
        put("c", 50).await.expect("the expired record made room");
        assert_eq!(store.get(RecordKind::Refresh, "c").await.ok(), Some(Some(json!("c"))));
        store
            .put(RecordKind::Consent, "x", json!(1), Duration::from_secs(1))
            .await
            .expect("other kinds have their own room");
        assert_eq!(store.get(RecordKind::Refresh, "b").await.ok(), Some(Some(json!("b"))));
    }

    #[tokio::test]
    async fn put_new_keeps_only_the_first_live_value() {
        let store = MemoryStore::default();
        let claim = |v| store.put_new(RecordKind::Refresh, "k", json!(v), Duration::from_secs(60));
        assert_eq!(claim(1).await.ok(), Some(true));
        assert_eq!(claim(2).await.ok(), Some(false));
        assert_eq!(store.get(RecordKind::Refresh, "k").await.ok(), Some(Some(json!(1))));
        store
            .put(RecordKind::Refresh, "k", json!(0), Duration::ZERO)
            .await
            .expect("put");
        assert_eq!(claim(3).await.ok(), Some(true), "an expired value does not count");
    }

    #[test]
    fn a_store_error_keeps_the_stores_own_error() {
        let error = StoreError::new(std::io::Error::other("the database is down"));
        assert_eq!(error.to_string(), "the OAuth store failed: the database is down");
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("the database is down"));
        assert_eq!(StoreError::new("full").into_inner().to_string(), "full");
    }
}
