//! The embedded on-disk store: one file in the state directory, written through before each
//! answer, so a restart (even `kill -9`) loses nothing. One process at a time holds the file.

// redb's error is large, but it lives only inside this file's blocking closures and is boxed
// into a `StoreError` as soon as one comes out.
#![allow(clippy::result_large_err)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use redb::{Database, ReadableTable, TableDefinition, TableError};
use serde_json::Value;

use super::store::{OAuthStore, RecordKind, StoreError};

/// How often expired records are swept out (they are never returned in between).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A store in one file on disk (the default when the proxy has a state directory).
pub struct DiskStore {
    db: Arc<Database>,
    swept: Arc<Mutex<Instant>>,
}

/// A record as kept: its expiry in seconds since the epoch (8 bytes, big-endian), then JSON.
type Table = TableDefinition<'static, &'static str, &'static [u8]>;

fn table(kind: RecordKind) -> Table {
    TableDefinition::new(match kind {
        RecordKind::Request => "request",
        RecordKind::Pending => "pending",
        RecordKind::Code => "code",
        RecordKind::Refresh => "refresh",
        RecordKind::Consent => "consent",
    })
}

impl DiskStore {
    /// Opens (or creates) the store in the file at `path`. Fails when another process has it
    /// open.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(StoreError::new)?;
        Ok(Self {
            db: Arc::new(db),
            swept: Arc::new(Mutex::new(Instant::now())),
        })
    }

    /// Runs `work` on the blocking pool: the file is written through, which waits for the disk.
    fn run<T, F>(&self, work: F) -> BoxFuture<'static, Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, redb::Error> + Send + 'static,
    {
        let db = self.db.clone();
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || work(&db)).await {
                Ok(result) => result.map_err(StoreError::new),
                Err(join) => Err(StoreError::new(join)),
            }
        })
    }

    /// Whether it is time to sweep expired records (at most once a minute).
    fn sweep_due(&self) -> bool {
        let mut swept = self.swept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = swept.elapsed() >= SWEEP_EVERY;
        if due {
            *swept = Instant::now();
        }
        due
    }
}

fn put(db: &Database, kind: RecordKind, key: &str, bytes: &[u8], sweep: bool) -> Result<(), redb::Error> {
    let tx = db.begin_write()?;
    {
        let mut records = tx.open_table(table(kind))?;
        if sweep {
            let now = now();
            records.retain(|_, record| expiry(record) > now)?;
        }
        records.insert(key, bytes)?;
    }
    tx.commit()?;
    Ok(())
}

/// Inserts the record unless a live one is there, in one write transaction (which redb runs
/// one at a time): whether it was inserted.
fn put_new(db: &Database, kind: RecordKind, key: &str, bytes: &[u8]) -> Result<bool, redb::Error> {
    let tx = db.begin_write()?;
    let inserted = {
        let mut records = tx.open_table(table(kind))?;
        let live = records.get(key)?.is_some_and(|record| expiry(record.value()) > now());
        if !live {
            records.insert(key, bytes)?;
        }
        !live
    };
    tx.commit()?;
    Ok(inserted)
}

fn get(db: &Database, kind: RecordKind, key: &str) -> Result<Option<Value>, redb::Error> {
    let tx = db.begin_read()?;
    let records = match tx.open_table(table(kind)) {
        Ok(records) => records,
        Err(TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let found = records.get(key)?;
    Ok(found.and_then(|record| live(record.value())))
}

fn take(db: &Database, kind: RecordKind, key: &str) -> Result<Option<Value>, redb::Error> {
    let tx = db.begin_write()?;
    let found = {
        let mut records = tx.open_table(table(kind))?;
        records.remove(key)?.and_then(|record| live(record.value()))
    };
    tx.commit()?;
    Ok(found)
}

/// The record's value, unless it has expired.
fn live(record: &[u8]) -> Option<Value> {
    let json = record.get(8..)?;
    (expiry(record) > now()).then(|| serde_json::from_slice(json).ok())?
}

fn expiry(record: &[u8]) -> u64 {
    record
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_be_bytes)
}

fn encode(value: &Value, ttl: Duration) -> Vec<u8> {
    let expires = now().saturating_add(ttl.as_secs());
    let mut bytes = expires.to_be_bytes().to_vec();
    bytes.extend(serde_json::to_vec(value).unwrap_or_default());
    bytes
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl OAuthStore for DiskStore {
    fn put(&self, kind: RecordKind, key: &str, value: Value, ttl: Duration) -> BoxFuture<'_, Result<(), StoreError>> {
        let (key, bytes, sweep) = (key.to_owned(), encode(&value, ttl), self.sweep_due());
        self.run(move |db| put(db, kind, &key, &bytes, sweep))
    }

    fn put_new(
        &self,
        kind: RecordKind,
        key: &str,
        value: Value,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        let (key, bytes) = (key.to_owned(), encode(&value, ttl));
        self.run(move |db| put_new(db, kind, &key, &bytes))
    }

    fn get(&self, kind: RecordKind, key: &str) -> BoxFuture<'_, Result<Option<Value>, StoreError>> {
        let key = key.to_owned();
        self.run(move |db| get(db, kind, &key))
    }

    fn take(&self, kind: RecordKind, key: &str) -> BoxFuture<'_, Result<Option<Value>, StoreError>> {
        let key = key.to_owned();
        self.run(move |db| take(db, kind, &key))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn records_outlive_the_process_that_wrote_them_and_are_taken_once() {
        let dir = std::env::temp_dir().join(format!("apimcp-disk-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("oauth.redb");
        let store = DiskStore::open(&path).expect("opens");
        let hour = Duration::from_secs(3600);
        store
            .put(RecordKind::Code, "c", json!({"a": 1}), hour)
            .await
            .expect("put");
        store
            .put(RecordKind::Consent, "old", json!(true), Duration::ZERO)
            .await
            .expect("put");
        assert!(DiskStore::open(&path).is_err(), "one process at a time");
        drop(store);
        let store = DiskStore::open(&path).expect("opens again");
        assert_eq!(
            store.get(RecordKind::Pending, "c").await.ok(),
            Some(None),
            "kinds are apart"
        );
        assert_eq!(store.get(RecordKind::Consent, "old").await.ok(), Some(None), "expired");
        assert_eq!(store.get(RecordKind::Code, "c").await.ok(), Some(Some(json!({"a": 1}))));
        assert_eq!(
            store.take(RecordKind::Code, "c").await.ok(),
            Some(Some(json!({"a": 1})))
        );
        assert_eq!(store.take(RecordKind::Code, "c").await.ok(), Some(None));
        let claim = |v| store.put_new(RecordKind::Refresh, "k", json!(v), hour);
        assert_eq!(claim(1).await.ok(), Some(true));
        assert_eq!(claim(2).await.ok(), Some(false), "only the first claim is kept");
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
