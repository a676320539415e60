//! Opening the embedded databases (redb) so that damage is reported, never a panic.

use std::io::{ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Duration;

use redb::Database;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// Page cache of the state file: a fixed part of the node's resident size. At 64 MiB the caches
/// filled over the first rounds of large writes and the node's RSS grew by about 50 MiB before it
/// levelled off; search reads go through tantivy, not this.
pub(crate) const STATE_CACHE_BYTES: usize = 16 << 20;

/// Page cache of the log file: entries are written once, read back rarely (a follower's
/// catch-up, a start's replay) and purged soon, so caching them only holds memory.
pub(crate) const LOG_CACHE_BYTES: usize = 2 << 20;

/// When opening a store file checks the checksum of every page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageCheck {
    /// On every open: the walk grows with the data (about 1 GB/s).
    Always,
    /// After an unclean shutdown (redb's repair walks the pages anyway), and whenever the file is
    /// not exactly as this store left it when it last closed the file cleanly: a different size,
    /// inode, modification or change time, or no record of a clean close (see [`Db`]). A start
    /// after a clean stop then costs the same at any size. What it does not catch is damage that
    /// leaves a file's times unchanged (the medium decaying underneath the file system), as
    /// Elasticsearch, which checks nothing at start by default (`index.shard.check_on_startup`).
    WhenChanged,
}

/// An open store file. Dropping the last handle closes the database and then records what the
/// file looks like in `<file>.closed` ([`Stamp`]): the next open trusts the file without walking
/// its pages only if it still looks exactly so. (A close that fails leaves redb's own mark of an
/// unclean shutdown in the file, and redb then repairs it on open, walking its pages, whatever
/// the record says.)
pub(crate) struct Db {
    // Dropped in this order: the database is closed before its close is recorded.
    db: Database,
    _closed: RecordOnDrop,
}

impl Db {
    /// Opens (or creates) the redb file at `path`.
    ///
    /// After an unclean shutdown redb repairs the file on open (it walks the trees and rebuilds the
    /// allocator state from the last durable commit). When `check` asks for it, the checksum of
    /// every page is checked as well (the same walk), so that a file damaged on disk is refused
    /// with [`StoreError::Corrupt`] instead of being trusted. A panic inside redb while opening a
    /// damaged file is turned into the same error.
    pub(crate) fn open(path: &Path, check: PageCheck, cache_bytes: usize) -> Result<Db, StoreError> {
        let created = create_if_missing(path)?;
        let changed = take_clean_close(path)?.filter(|_| !created);
        let why = match (check, changed) {
            (PageCheck::Always, _) => Some("on every open, as configured"),
            (PageCheck::WhenChanged, changed) => changed,
        };
        let verify = why.is_some();
        let mut builder = Database::builder();
        builder.set_cache_size(cache_bytes);
        builder.set_check_integrity_on_open(verify);
        let shown = path.display().to_string();
        // redb checks every page by walking the file as a repair does, through the same callback:
        // with `verify` that happens on every open, clean or not, so it is not reported as a
        // repair.
        builder.set_repair_callback(move |session| {
            if session.progress() > 0.0 {
                return;
            }
            if let Some(why) = why {
                tracing::info!(file = %shown, "checking every page of the store file ({why})");
            } else {
                tracing::warn!(file = %shown, "repairing store file after an unclean shutdown");
            }
        });
        let db = match catch_unwind(AssertUnwindSafe(|| builder.create(path))) {
            Ok(Ok(db)) => db,
            Ok(Err(redb::DatabaseError::RepairAborted)) => {
                return Err(StoreError::Corrupt {
                    path: path.to_path_buf(),
                    detail: "the repair after an unclean shutdown was aborted".to_string(),
                });
            }
            Ok(Err(e)) => return Err(StoreError::db(path, e)),
            Err(panic) => {
                return Err(StoreError::Corrupt { path: path.to_path_buf(), detail: panic_message(&panic) });
            }
        };
        Ok(Db { db, _closed: RecordOnDrop(path.to_path_buf()) })
    }
}

impl std::ops::Deref for Db {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.db
    }
}

/// Creates an empty redb file at `path` unless there is one; whether it did. redb writes a new
/// file's header after sizing it, so a process killed in between leaves a file no open accepts
/// ("not a redb database"): the file is made under `<file>.new` and renamed into place once redb
/// has closed it, so that `path` is a complete database or nothing (a `.new` left by a kill is
/// made again).
fn create_if_missing(path: &Path) -> Result<bool, StoreError> {
    if path.exists() {
        return Ok(false);
    }
    let mut new = path.as_os_str().to_owned();
    new.push(".new");
    let new = PathBuf::from(new);
    let io = |action: &'static str, at: &Path| {
        let path = at.to_path_buf();
        move |source| StoreError::Io { action, path, source }
    };
    match std::fs::remove_file(&new) {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(io("remove", &new)(e)),
        _ => {}
    }
    drop(Database::create(&new).map_err(|e| StoreError::db(&new, e))?);
    std::fs::File::open(&new).and_then(|f| f.sync_all()).map_err(io("sync", &new))?;
    std::fs::rename(&new, path).map_err(io("rename into place", &new))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io("sync", dir))?;
    Ok(true)
}

/// Records the clean close of the file it names when dropped (after the database, see [`Db`]).
struct RecordOnDrop(PathBuf);

impl Drop for RecordOnDrop {
    fn drop(&mut self) {
        if let Err(e) = record_clean_close(&self.0) {
            tracing::warn!(file = %self.0.display(), "the next start checks every page of the store file: {e}");
        }
    }
}

/// What a file looked like: anything that writes to it changes its change time (which no
/// program can set), and a copy or a replacement has another inode.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    len: u64,
    dev: u64,
    ino: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            len: meta.len(),
            dev: meta.dev(),
            ino: meta.ino(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// The record of `path`'s last clean close.
fn closed_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".closed");
    path.with_file_name(name)
}

/// Why `path` is not known to be exactly as it was when it was last closed cleanly (`None`: it
/// is). The record is removed, so that it vouches for one open only.
fn take_clean_close(path: &Path) -> Result<Option<&'static str>, StoreError> {
    const NOT_CLOSED: Option<&str> = Some("it was not closed cleanly");
    const CHANGED: Option<&str> = Some("it changed after it was closed cleanly");
    let record = closed_path(path);
    let bytes = match std::fs::read(&record) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(NOT_CLOSED),
        Err(source) => return Err(StoreError::Io { action: "read", path: record, source }),
    };
    std::fs::remove_file(&record).map_err(|source| StoreError::Io {
        action: "remove",
        path: record,
        source,
    })?;
    let recorded: Option<Stamp> = serde_json::from_slice(&bytes).ok();
    let now = match std::fs::metadata(path) {
        Ok(meta) => Stamp::of(&meta),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(NOT_CLOSED),
        Err(source) => {
            return Err(StoreError::Io { action: "read the metadata of", path: path.to_path_buf(), source });
        }
    };
    Ok(if recorded.as_ref() == Some(&now) { None } else { CHANGED })
}

/// Most waits for the file system's clock to move past the file's last change (1 ms each).
const CLOCK_WAITS: u32 = 50;

/// Writes `<file>.closed` for a file that was just closed cleanly.
///
/// File times come from a clock that may only move every few milliseconds, so a change made in
/// the same tick as the close would leave the change time as recorded. The record is therefore
/// only written once a file written after the close carries a later time; if the clock does not
/// move within [`CLOCK_WAITS`] ms, no record is written and the next open checks every page.
fn record_clean_close(path: &Path) -> std::io::Result<()> {
    let stamp = Stamp::of(&std::fs::metadata(path)?);
    let record = closed_path(path);
    let mut tmp = record.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let json = serde_json::to_vec(&stamp).map_err(std::io::Error::other)?;
    for _ in 0..CLOCK_WAITS {
        // Like the store files: for the node's user only, whatever the umask of the process.
        let mut file =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        file.write_all(&json)?;
        file.sync_all()?;
        let written = file.metadata()?;
        if (written.mtime(), written.mtime_nsec()) > stamp.ctime {
            return std::fs::rename(&tmp, &record);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    std::fs::remove_file(&tmp)?;
    Err(std::io::Error::other("the file system's clock did not move past the file's last change"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    use redb::{ReadableDatabase, TableDefinition};

    const T: TableDefinition<&str, &str> = TableDefinition::new("t");

    /// A file written and closed cleanly, and its directory.
    fn closed_file() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let db = Db::open(&path, PageCheck::WhenChanged, 1 << 20).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(T).unwrap().insert("k", "v").unwrap();
        txn.commit().unwrap();
        drop(db);
        let record = std::fs::metadata(closed_path(&path)).expect("a clean close leaves its record");
        assert_eq!(record.permissions().mode() & 0o777, 0o600);
        (dir, path)
    }

    #[test]
    fn a_clean_close_vouches_for_the_next_open_only() {
        let (_dir, path) = closed_file();
        assert_eq!(take_clean_close(&path).unwrap(), None);
        assert!(!closed_path(&path).exists());
        assert_eq!(
            take_clean_close(&path).unwrap(),
            Some("it was not closed cleanly"),
            "used up by the open it vouched for"
        );

        // An open that is not followed by a clean close leaves no record either.
        let (_dir, path) = closed_file();
        let db = Db::open(&path, PageCheck::WhenChanged, 1 << 20).unwrap();
        assert!(!closed_path(&path).exists());
        std::mem::forget(db);
        assert_eq!(take_clean_close(&path).unwrap(), Some("it was not closed cleanly"));
    }

    #[test]
    fn any_change_after_the_clean_close_is_noticed() {
        // The same byte written back: only the file's times say it was written to.
        let (_dir, path) = closed_file();
        let bytes = std::fs::read(&path).unwrap();
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(4096)).unwrap();
        file.write_all(&bytes[4096..4097]).unwrap();
        drop(file);
        assert_eq!(
            take_clean_close(&path).unwrap(),
            Some("it changed after it was closed cleanly"),
            "a write after the close"
        );

        let (_dir, path) = closed_file();
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len + 4096).unwrap();
        assert_eq!(
            take_clean_close(&path).unwrap(),
            Some("it changed after it was closed cleanly"),
            "a longer file"
        );

        // A copy put in its place (another inode), with the original's times.
        let (dir, path) = closed_file();
        let copy = dir.path().join("copy");
        std::fs::copy(&path, &copy).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&copy)
            .unwrap()
            .set_times(std::fs::FileTimes::new().set_modified(meta.modified().unwrap()))
            .unwrap();
        std::fs::rename(&copy, &path).unwrap();
        assert_eq!(
            take_clean_close(&path).unwrap(),
            Some("it changed after it was closed cleanly"),
            "a replaced file"
        );

        // A record that is not one.
        let (_dir, path) = closed_file();
        std::fs::write(closed_path(&path), b"{").unwrap();
        assert_eq!(
            take_clean_close(&path).unwrap(),
            Some("it changed after it was closed cleanly"),
            "an unreadable record"
        );
    }

    #[test]
    fn a_damaged_file_after_a_clean_close_is_refused() {
        let (_dir, path) = closed_file();
        let len = std::fs::metadata(&path).unwrap().len();
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        for at in (4096..len).step_by(4096) {
            std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(at)).unwrap();
            file.write_all(&[0xA5; 64]).unwrap();
        }
        drop(file);
        let err = Db::open(&path, PageCheck::WhenChanged, 1 << 20).err().expect("refused");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        let db = Db::open(&path, PageCheck::Always, 1 << 20);
        assert!(db.is_err(), "refused with the check on every open as well");
    }

    #[test]
    fn an_unchanged_file_is_read_as_it_was_left() {
        let (_dir, path) = closed_file();
        let db = Db::open(&path, PageCheck::WhenChanged, 1 << 20).unwrap();
        let txn = db.begin_read().unwrap();
        assert_eq!(txn.open_table(T).unwrap().get("k").unwrap().unwrap().value(), "v");
    }

    #[test]
    fn a_new_file_appears_whole_and_a_half_made_one_is_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let new = dir.path().join("state.redb.new");
        // What a kill while redb sized a new file left: zeros, no header.
        std::fs::write(&new, vec![0u8; 1 << 20]).unwrap();
        assert!(create_if_missing(&path).unwrap());
        assert!(!new.exists(), "the half-made file is gone");
        assert!(!create_if_missing(&path).unwrap(), "an existing file is left alone");
        let db = Db::open(&path, PageCheck::WhenChanged, 1 << 20).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(T).unwrap().insert("k", "v").unwrap();
        txn.commit().unwrap();
        // A file named like the store's but not a database is still refused, never replaced.
        let other = dir.path().join("raft-log.redb");
        std::fs::write(&other, vec![0u8; 4096]).unwrap();
        let refused = Db::open(&other, PageCheck::WhenChanged, 1 << 20).err().expect("refused");
        assert!(matches!(refused, StoreError::Corrupt { .. } | StoreError::Database { .. }), "{refused:?}");
    }
}
