//! The state directory: where the proxy keeps, owner-only, the key it generated on first start
//! and its on-disk store, so that a restart loses nothing.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::disk_store::DiskStore;
use super::random_bytes;
use super::store::StoreError;

/// The file holding the generated key (base64, 32 bytes).
const KEY_FILE: &str = "signing-key";
/// The file of the on-disk store.
const STORE_FILE: &str = "oauth.redb";

/// Why the state directory cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateDirError {
    /// The directory or its key file cannot be created, read or written.
    #[error("the state directory {}: {source}", path.display())]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The key file does not hold a key.
    #[error("{} does not hold a base64 key; remove it to have a new one generated", path.display())]
    BadKey {
        /// The key file.
        path: PathBuf,
    },
    /// The store cannot be opened (it is in use by another process, the disk is full, or it
    /// is damaged); the source says which.
    #[error("cannot open the OAuth store {}: {source}", path.display())]
    Store {
        /// The store's file.
        path: PathBuf,
        /// What the store said.
        source: StoreError,
    },
}

/// Creates `dir` (owner-only) if needed, and makes sure it is writable.
pub(super) fn prepare(dir: &Path) -> Result<(), StateDirError> {
    let io = |source| StateDirError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"").map_err(io)?;
    std::fs::remove_file(&probe).map_err(io)
}

/// The key generated on first start in `dir`, made now if there is none.
pub(super) fn key(dir: &Path) -> Result<Vec<u8>, StateDirError> {
    let path = dir.join(KEY_FILE);
    match create_key(&path) {
        Ok(key) => Ok(key),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => read_key(&path),
        Err(source) => Err(StateDirError::Io { path, source }),
    }
}

/// Writes a new key, readable by the owner only; fails if the file exists.
fn create_key(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    let key = random_bytes(32);
    let written = file
        .write_all(base64::engine::general_purpose::STANDARD.encode(&key).as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(error) = written {
        // A key file left half written (the disk is full) would stop every later start.
        let _ = std::fs::remove_file(path);
        return Err(error);
    }
    Ok(key)
}

fn read_key(path: &Path) -> Result<Vec<u8>, StateDirError> {
    let text = std::fs::read_to_string(path).map_err(|source| StateDirError::Io {
        path: path.to_owned(),
        source,
    })?;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .filter(|key| key.len() >= 16)
        .ok_or_else(|| StateDirError::BadKey { path: path.to_owned() })
}

/// The on-disk store in `dir`.
pub(super) fn store(dir: &Path) -> Result<DiskStore, StateDirError> {
    let path = dir.join(STORE_FILE);
    DiskStore::open(&path).map_err(|source| StateDirError::Store { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_owner_only_and_the_key_survives() {
        let dir = std::env::temp_dir().join(format!("apimcp-state-{}", uuid::Uuid::new_v4()));
        let nested = dir.join("a/b");
        prepare(&nested).expect("created");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&nested).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            let first = key(&nested).expect("generated");
            assert_eq!(mode(&nested.join(KEY_FILE)), 0o600);
            assert_eq!(key(&nested).expect("read"), first, "the same key after a restart");
        }
        std::fs::write(nested.join(KEY_FILE), "not a key!").expect("write");
        assert!(matches!(key(&nested), Err(StateDirError::BadKey { .. })));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_directory_that_cannot_be_made_is_a_clear_error() {
        let file = std::env::temp_dir().join(format!("apimcp-state-file-{}", uuid::Uuid::new_v4()));
        std::fs::write(&file, b"").expect("file");
        let error = prepare(&file.join("below")).expect_err("not under a file");
        assert!(error.to_string().starts_with("the state directory "), "{error}");
        let _ = std::fs::remove_file(file);
    }

    /// Writes `path` until the filesystem has no space left.
    fn fill(path: &Path) {
        let mut file = std::fs::File::create(path).expect("filler");
        let chunk = vec![1u8; 16 * 1024];
        while file.write_all(&chunk).and_then(|()| file.sync_all()).is_ok() {}
        // What is left is smaller than a chunk: take it too, a block at a time.
        while file.write_all(&chunk[..512]).and_then(|()| file.sync_all()).is_ok() {}
    }

    /// On a real filesystem that fills up, of its own (a small tmpfs, say):
    /// `APIMCP_SMALL_FS=/mnt/small cargo test -p apimcp --lib -- --ignored a_real_full_disk`.
    #[tokio::test]
    #[ignore = "needs a small filesystem of its own, named by APIMCP_SMALL_FS"]
    async fn a_real_full_disk_fails_start_up_and_writes_clearly_and_they_work_once_there_is_space() {
        use serde_json::json;

        use super::super::store::{OAuthStore as _, RecordKind};
        let root = PathBuf::from(std::env::var("APIMCP_SMALL_FS").expect("APIMCP_SMALL_FS"));
        let (dir, filler) = (
            root.join(format!("state-{}", uuid::Uuid::new_v4())),
            root.join("filler"),
        );
        prepare(&dir).expect("prepared");
        fill(&filler);
        let error = key(&dir).expect_err("no space for the key");
        assert!(
            error.to_string().contains("signing-key: No space left on device"),
            "{error}"
        );
        assert!(
            !dir.join(KEY_FILE).exists(),
            "no half-written key is left to stop the next start"
        );
        let error = store(&dir).err().expect("no space for the store");
        assert!(error.to_string().contains("oauth.redb is full"), "{error}");
        assert!(!dir.join(STORE_FILE).exists(), "no half-made store is left");
        std::fs::remove_file(&filler).expect("space again");
        key(&dir).expect("a key");
        let store = store(&dir).expect("the store");
        let hour = std::time::Duration::from_secs(3600);
        store
            .put(RecordKind::Code, "earlier", json!(1), hour)
            .await
            .expect("put");
        fill(&filler);
        let mut refused = None;
        for i in 0..10_000 {
            let record = json!("x".repeat(16 * 1024));
            if let Err(error) = store.put(RecordKind::Request, &format!("r{i}"), record, hour).await {
                refused = Some(error);
                break;
            }
        }
        let error = refused.expect("the disk fills up");
        assert!(error.to_string().contains("oauth.redb is full"), "{error}");
        let earlier = store.get(RecordKind::Code, "earlier").await;
        std::fs::remove_file(&filler).expect("space again");
        store
            .put(RecordKind::Code, "later", json!(2), hour)
            .await
            .expect("works again, without a restart");
        assert_eq!(store.take(RecordKind::Code, "earlier").await.ok(), Some(Some(json!(1))));
        eprintln!("while full, reading an earlier record gave {earlier:?}");
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
