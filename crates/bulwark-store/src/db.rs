//! Opening the embedded databases (redb) so that damage is reported, never a panic.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use redb::Database;

use crate::error::StoreError;

/// Page cache of the state file: a fixed part of the node's resident size. At 64 MiB the caches
/// filled over the first rounds of large writes and the node's RSS grew by about 50 MiB before it
/// levelled off; search reads go through tantivy, not this.
pub(crate) const STATE_CACHE_BYTES: usize = 16 << 20;

/// Page cache of the log file: entries are written once, read back rarely (a follower's
/// catch-up, a start's replay) and purged soon, so caching them only holds memory.
pub(crate) const LOG_CACHE_BYTES: usize = 2 << 20;

/// Opens (or creates) the redb file at `path`.
///
/// After an unclean shutdown redb repairs the file on open (it walks the trees and rebuilds the
/// allocator state from the last durable commit). With `verify` the checksum of every page is
/// checked on every open as well (the same walk, about 1 GB/s: the part of a start that grows with
/// the data), so that a file damaged on disk is refused with [`StoreError::Corrupt`] instead of
/// being trusted. A panic inside redb while opening a damaged file is turned into the same error.
pub(crate) fn open(path: &Path, verify: bool, cache_bytes: usize) -> Result<Database, StoreError> {
    let mut builder = Database::builder();
    builder.set_cache_size(cache_bytes);
    builder.set_check_integrity_on_open(verify);
    let shown = path.display().to_string();
    // redb checks every page by walking the file as a repair does, through the same callback: with
    // `verify` that happens on every open, clean or not, so it is not reported as a repair.
    builder.set_repair_callback(move |session| {
        if session.progress() > 0.0 {
            return;
        }
        if verify {
            tracing::info!(file = %shown, "checking every page of the store file");
        } else {
            tracing::warn!(file = %shown, "repairing store file after an unclean shutdown");
        }
    });
    match catch_unwind(AssertUnwindSafe(|| builder.create(path))) {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(redb::DatabaseError::RepairAborted)) => Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: "the repair after an unclean shutdown was aborted".to_string(),
        }),
        Ok(Err(e)) => Err(StoreError::db(path, e)),
        Err(panic) => Err(StoreError::Corrupt { path: path.to_path_buf(), detail: panic_message(&panic) }),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        format!("the database reader failed: {s}")
    } else if let Some(s) = panic.downcast_ref::<String>() {
        format!("the database reader failed: {s}")
    } else {
        "the database reader failed".to_string()
    }
}

/// Runs blocking database work (a commit with fsync, a repair, a snapshot) off the async
/// executor's worker threads.
pub(crate) async fn blocking<T, F>(context: &'static str, work: F) -> Result<T, StoreError>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) => Err(StoreError::Task { context, detail: e.to_string() }),
    }
}

/// Attaches the database file to a redb error.
pub(crate) trait AtPath<T> {
    /// Turns a redb error into a [`StoreError`] naming `path`.
    fn at(self, path: &Path) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> AtPath<T> for Result<T, E> {
    fn at(self, path: &Path) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::db(path, e))
    }
}
