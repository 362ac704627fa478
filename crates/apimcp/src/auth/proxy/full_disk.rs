//! A disk that fills up, for tests: a redb storage backend in memory that behaves as a full
//! filesystem does while its switch is on. Writing to space the file already has (blocks
//! written before) still works; writing anywhere new fails with `StorageFull`. Growing the file
//! itself works (a sparse extension takes no block), as `ftruncate` does on a full disk.

use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use redb::StorageBackend;

/// A filesystem block: what a write to new space allocates.
const BLOCK: u64 = 4096;

/// The disk: its bytes, shared by every backend opened on it (a reopened store finds what the
/// last one wrote), and the switch that fills it.
#[derive(Clone, Debug, Default)]
pub(super) struct Disk {
    file: Arc<Mutex<File>>,
    full: Arc<AtomicBool>,
}

/// The one file on the disk, and which of its blocks hold data.
#[derive(Debug, Default)]
struct File {
    bytes: Vec<u8>,
    written: HashSet<u64>,
}

impl Disk {
    /// Fills the disk (`true`) or frees space on it (`false`).
    pub(super) fn set_full(&self, full: bool) {
        self.full.store(full, Ordering::SeqCst);
    }

    /// The file's length, in bytes.
    pub(super) fn file_len(&self) -> usize {
        self.file().bytes.len()
    }

    /// Removes the file (as `DiskStore::open` does with one it failed to make).
    pub(super) fn remove_file(&self) {
        *self.file() = File::default();
    }

    /// A backend for one database opened on this disk.
    pub(super) fn backend(&self) -> Backend {
        Backend(self.clone())
    }

    fn file(&self) -> std::sync::MutexGuard<'_, File> {
        self.file.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What redb owns: a handle on the [`Disk`].
#[derive(Debug)]
pub(super) struct Backend(Disk);

fn out_of_range() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "past the end of the file")
}

/// The range `offset..offset + len` as indices into the file, if it is inside it.
fn range(file: &File, offset: u64, len: usize) -> Result<std::ops::Range<usize>, io::Error> {
    let start = usize::try_from(offset).map_err(|_| out_of_range())?;
    let end = start.checked_add(len).ok_or_else(out_of_range)?;
    if end > file.bytes.len() {
        return Err(out_of_range());
    }
    Ok(start..end)
}

impl StorageBackend for Backend {
    fn len(&self) -> Result<u64, io::Error> {
        Ok(self.0.file().bytes.len() as u64)
    }

    fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>, io::Error> {
        let file = self.0.file();
        let range = range(&file, offset, len)?;
        Ok(file.bytes[range].to_vec())
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        let mut file = self.0.file();
        let len = usize::try_from(len).map_err(|_| out_of_range())?;
        file.bytes.resize(len, 0);
        let blocks = (len as u64).div_ceil(BLOCK);
        file.written.retain(|block| *block < blocks);
        Ok(())
    }

    fn sync_data(&self, _eventual: bool) -> Result<(), io::Error> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        if data.is_empty() {
            return Ok(());
        }
        let mut file = self.0.file();
        let range = range(&file, offset, data.len())?;
        let blocks = offset / BLOCK..=(range.end as u64 - 1) / BLOCK;
        let new_space = blocks.clone().any(|block| !file.written.contains(&block));
        if new_space && self.0.full.load(Ordering::SeqCst) {
            return Err(io::ErrorKind::StorageFull.into());
        }
        file.bytes[range].copy_from_slice(data);
        file.written.extend(blocks);
        Ok(())
    }
}
