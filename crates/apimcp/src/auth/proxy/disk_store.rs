//! The embedded on-disk store: one file in the state directory, written through before each
//! answer, so a restart (even `kill -9`) loses nothing. One process at a time holds the file.
//!
//! A write that fails (the disk is full, an I/O error) leaves redb refusing every later
//! operation until the database is reopened; so the store drops it, and the next operation
//! opens the file again (which also repairs it): once there is space, requests work again
//! without a restart, and nothing written before is lost.

// redb's error is large, but it lives only inside this file's blocking closures and is boxed
// into a `StoreError` as soon as one comes out.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use redb::{Database, DatabaseError, ReadableTable, TableDefinition, TableError};
use serde_json::Value;

use super::store::{OAuthStore, RecordKind, StoreError};

/// How often expired records are swept out (they are never returned in between).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A store in one file on disk (the default when the proxy has a state directory).
pub struct DiskStore {
    db: Arc<Slot>,
    swept: Arc<Mutex<Instant>>,
}

/// The open database, if it is open, and how to open it again.
struct Slot {
    /// The store's file, named in errors.
    path: PathBuf,
    open: Box<dyn Fn() -> Result<Database, DatabaseError> + Send + Sync>,
    current: Mutex<Option<Arc<Database>>>,
}

/// The disk holding the store has no space left.
#[derive(Debug, thiserror::Error)]
#[error(
    "the disk holding the OAuth store {} is full: nothing can be stored until space is freed \
     (apimcp goes on by itself once it is): {source}",
    path.display()
)]
struct DiskFull {
    path: PathBuf,
    source: std::io::Error,
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
    /// open, or when the disk has no space for it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let (file, existed) = (path.to_owned(), path.exists());
        let opened = Self::open_with(path, move || Database::create(&file));
        if opened.is_err() && !existed {
            // A file left half made (the disk is full) would not open on the next start.
            let _ = std::fs::remove_file(path);
        }
        opened
    }

    /// The store on a test disk that can be filled (see `full_disk`).
    #[cfg(test)]
    pub(super) fn on_test_disk(disk: &super::full_disk::Disk) -> Result<Self, StoreError> {
        let disk = disk.clone();
        Self::open_with(Path::new("test-disk/oauth.redb"), move || {
            redb::Builder::new().create_with_backend(disk.backend())
        })
    }

    fn open_with(
        path: &Path,
        open: impl Fn() -> Result<Database, DatabaseError> + Send + Sync + 'static,
    ) -> Result<Self, StoreError> {
        let slot = Slot {
            path: path.to_owned(),
            open: Box::new(open),
            current: Mutex::new(None),
        };
        slot.database().map_err(|error| match error {
            redb::Error::DatabaseAlreadyOpen => {
                StoreError::new("it is open in another process (each apimcp needs a state directory of its own)")
            }
            error => slot.error(error),
        })?;
        Ok(Self {
            db: Arc::new(slot),
            swept: Arc::new(Mutex::new(Instant::now())),
        })
    }

    /// Runs `work` on the blocking pool: the file is written through, which waits for the disk.
    fn run<T, F>(&self, work: F) -> BoxFuture<'static, Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, redb::Error> + Send + 'static,
    {
        let slot = self.db.clone();
        Box::pin(async move {
            let worker = slot.clone();
            match tokio::task::spawn_blocking(move || worker.run(work)).await {
                Ok(result) => result.map_err(|error| slot.error(error)),
                Err(join) => Err(StoreError::new(join)),
            }
        })
    }

    /// Whether it is time to sweep expired records (at most once a minute).
    fn sweep_due(&self) -> bool {
        let mut swept = self.swept.lock().unwrap_or_else(PoisonError::into_inner);
        let due = swept.elapsed() >= SWEEP_EVERY;
        if due {
            *swept = Instant::now();
        }
        due
    }
}

impl Slot {
    /// The open database, opened now if the last one was dropped after a failed write.
    fn database(&self) -> Result<Arc<Database>, redb::Error> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(db) = current.as_ref() {
            return Ok(db.clone());
        }
        let db = Arc::new((self.open)()?);
        *current = Some(db.clone());
        Ok(db)
    }

    /// Runs `work`; after an I/O error, redb refuses everything until it is reopened, so the
    /// database is dropped (once no operation holds it any more) and the next one reopens it.
    fn run<T>(&self, work: impl FnOnce(&Database) -> Result<T, redb::Error>) -> Result<T, redb::Error> {
        let db = self.database()?;
        let result = work(&db);
        if matches!(result, Err(redb::Error::Io(_) | redb::Error::PreviousIo)) {
            let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            if current.as_ref().is_some_and(|open| Arc::ptr_eq(open, &db)) {
                *current = None;
            }
        }
        result
    }

    /// What the store says: a full disk in words an operator acts on, anything else as redb
    /// put it.
    fn error(&self, error: redb::Error) -> StoreError {
        match error {
            redb::Error::Io(source) if disk_full(&source) => StoreError::new(DiskFull {
                path: self.path.clone(),
                source,
            }),
            error => StoreError::new(error),
        }
    }
}

/// Whether an I/O error says the disk (or the user's quota on it) is full.
fn disk_full(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
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

    use super::super::full_disk::Disk;
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

    fn says_the_disk_is_full(error: &StoreError) -> bool {
        error
            .to_string()
            .contains("the disk holding the OAuth store test-disk/oauth.redb is full")
    }

    #[tokio::test]
    async fn a_full_disk_refuses_new_records_keeps_the_old_ones_and_passes_once_there_is_space() {
        let disk = Disk::default();
        let store = DiskStore::on_test_disk(&disk).expect("opens");
        let hour = Duration::from_secs(3600);
        for (key, value) in [("earlier", json!({"a": 1})), ("other", json!({"b": 2}))] {
            store.put(RecordKind::Code, key, value, hour).await.expect("put");
        }
        disk.set_full(true);
        let big = json!("x".repeat(100_000));
        let error = store
            .put(RecordKind::Request, "new", big.clone(), hour)
            .await
            .expect_err("no space for it");
        assert!(says_the_disk_is_full(&error), "{error}");
        let full_len = disk.file_len();
        for i in 0..50 {
            let started = Instant::now();
            let error = store
                .put(RecordKind::Request, &format!("new-{i}"), big.clone(), hour)
                .await
                .expect_err("still no space");
            assert!(says_the_disk_is_full(&error), "{error}");
            assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        }
        assert_eq!(disk.file_len(), full_len, "failed writes leave nothing behind");
        assert_eq!(
            store.get(RecordKind::Code, "earlier").await.ok(),
            Some(Some(json!({"a": 1}))),
            "what was stored is still read"
        );
        // Taking writes too: on a full disk it may fail (clearly), but never loses the record.
        let taken = store.take(RecordKind::Code, "other").await;
        let fine = match &taken {
            Ok(found) => *found == Some(json!({"b": 2})),
            Err(error) => says_the_disk_is_full(error),
        };
        assert!(fine, "{taken:?}");
        disk.set_full(false);
        store
            .put(RecordKind::Request, "new", big.clone(), hour)
            .await
            .expect("there is space again");
        assert_eq!(store.get(RecordKind::Request, "new").await.ok(), Some(Some(big)));
        assert_eq!(
            store.take(RecordKind::Code, "earlier").await.ok(),
            Some(Some(json!({"a": 1})))
        );
        if taken.is_err() {
            assert_eq!(
                store.take(RecordKind::Code, "other").await.ok(),
                Some(Some(json!({"b": 2})))
            );
        }
        assert_eq!(
            store.get(RecordKind::Request, "new-0").await.ok(),
            Some(None),
            "nothing half-written"
        );
    }

    #[test]
    fn a_store_that_cannot_be_created_on_a_full_disk_is_a_clear_error() {
        let disk = Disk::default();
        disk.set_full(true);
        let error = DiskStore::on_test_disk(&disk).err().expect("no space for the file");
        assert!(says_the_disk_is_full(&error), "{error}");
        let error = super::super::state_dir::StateDirError::Store {
            path: "test-disk/oauth.redb".into(),
            source: error,
        };
        assert!(
            error.to_string().starts_with(
                "cannot open the OAuth store test-disk/oauth.redb: the OAuth store failed: the disk holding"
            ),
            "{error}"
        );
        disk.set_full(false);
        assert!(
            DiskStore::on_test_disk(&disk).is_err(),
            "a half-made file does not open: why `open` removes the file it failed to make"
        );
        disk.remove_file();
        assert!(DiskStore::on_test_disk(&disk).is_ok(), "made once there is space");
    }
}
