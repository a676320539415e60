//! One Elasticsearch index on this node: its tantivy index, the order in which acknowledged
//! writes reach it, and its refresh generations.
//!
//! Writes are applied to tantivy after the store acknowledged them, outside any lock held
//! across the store write, so two requests writing the same document can reach tantivy in the
//! opposite order of the store. The store numbers every write of an index (`_seq_no`), so the
//! shard keeps, while writers overlap, the last `_seq_no` applied per id and skips an older
//! write that arrives late. The table is cleared whenever no writer is in flight, and pruned of
//! entries no in-flight writer can be older than.
//!
//! Every commit saves a position with the documents: the store's log index up to which every
//! change of this index is in the commit (see [`Shard::refresh`]), so that a start replays only
//! the entries after it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bulwark_index::{Index, IndexError, Mapping};
use serde_json::Value;
use tokio::sync::watch;

/// How many per-id entries the order table holds before it is pruned.
const PRUNE_AT: usize = 100_000;

/// One acknowledged change to apply.
#[derive(Debug)]
pub(crate) enum Applied {
    Put { id: String, source: Arc<Value>, seq_no: u64 },
    Delete { id: String, seq_no: u64 },
}

impl Applied {
    fn key(&self) -> (&str, u64) {
        match self {
            Applied::Put { id, seq_no, .. } | Applied::Delete { id, seq_no } => (id, *seq_no),
        }
    }
}

/// What an in-flight writer began after.
#[derive(Clone, Copy)]
struct Began {
    /// The highest `_seq_no` applied when it began (its own writes will all be higher).
    seq_no: u64,
    /// The store position followed when it began (its log entry will be later).
    position: u64,
}

#[derive(Default)]
struct Order {
    next_ticket: u64,
    /// In-flight writers by ticket.
    in_flight: BTreeMap<u64, Began>,
    /// The highest `_seq_no` applied so far.
    max_applied: u64,
    /// Last `_seq_no` applied per id, kept while writers overlap.
    recent: HashMap<String, u64>,
}

/// An index of this node.
pub(crate) struct Shard {
    pub(crate) name: String,
    pub(crate) uuid: String,
    pub(crate) dir: PathBuf,
    index: RwLock<Index>,
    order: Mutex<Order>,
    /// Serializes changes of this index's metadata in the store (mapping updates included), so
    /// that the last one written holds every change made before it.
    pub(crate) meta: Arc<tokio::sync::Mutex<()>>,
    pub(crate) closed: AtomicBool,
    pub(crate) deleted: AtomicBool,
    /// Bumped after each applied write.
    written: AtomicU64,
    /// The write generation the last refresh made visible.
    refreshed: watch::Sender<u64>,
    /// The store log index up to which every applied entry has reached the shards (shared by
    /// every shard of the node; advanced by the store's `Through` events).
    followed: Arc<AtomicU64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shard {
    /// Creates the tantivy index in `dir`, at the position followed now (blocking).
    pub(crate) fn create(
        name: &str,
        uuid: &str,
        dir: &Path,
        mapping: Mapping,
        closed: bool,
        followed: &Arc<AtomicU64>,
    ) -> Result<Shard, IndexError> {
        if dir.exists() {
            let _ = std::fs::remove_dir_all(dir);
        }
        let mut index = Index::create(name, dir, mapping)?;
        // Its creation is a later log entry: a start that finds it replays from here.
        index.set_position(followed.load(Ordering::Acquire));
        index.commit()?;
        Ok(Shard::wrap(name, uuid, dir, index, closed, followed))
    }

    /// Opens the tantivy index in `dir` as last committed (blocking).
    pub(crate) fn open(
        name: &str,
        uuid: &str,
        dir: &Path,
        closed: bool,
        followed: &Arc<AtomicU64>,
    ) -> Result<Shard, IndexError> {
        let index = Index::open(name, dir)?;
        Ok(Shard::wrap(name, uuid, dir, index, closed, followed))
    }

    fn wrap(
        name: &str,
        uuid: &str,
        dir: &Path,
        index: Index,
        closed: bool,
        followed: &Arc<AtomicU64>,
    ) -> Shard {
        Shard {
            name: name.to_owned(),
            uuid: uuid.to_owned(),
            dir: dir.to_path_buf(),
            index: RwLock::new(index),
            order: Mutex::new(Order::default()),
            meta: Arc::new(tokio::sync::Mutex::new(())),
            closed: AtomicBool::new(closed),
            deleted: AtomicBool::new(false),
            written: AtomicU64::new(0),
            refreshed: watch::channel(0).0,
            followed: followed.clone(),
        }
    }

    /// The index, for searching.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The index, for changing.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Registers a writer about to write through the store; its writes are applied with
    /// [`Ticket::apply`].
    pub(crate) fn begin(self: &Arc<Self>) -> Ticket {
        let mut o = lock(&self.order);
        let id = o.next_ticket;
        o.next_ticket += 1;
        let began = Began { seq_no: o.max_applied, position: self.followed.load(Ordering::Acquire) };
        o.in_flight.insert(id, began);
        Ticket { shard: self.clone(), id }
    }

    /// Commits and makes every applied write visible (blocking).
    ///
    /// The commit saves the position up to which it holds every change: the log index the
    /// node's indices followed, but not beyond where an in-flight writer began (its entry is
    /// later than that, and not yet applied). A writer that finished applied its changes before
    /// it ended, under the index lock this takes.
    pub(crate) fn refresh(&self) -> Result<(), IndexError> {
        if self.deleted.load(Ordering::Relaxed) {
            return Ok(());
        }
        let target = self.written.load(Ordering::Acquire);
        let mut index = self.write();
        let position = {
            let o = lock(&self.order);
            let followed = self.followed.load(Ordering::Acquire);
            o.in_flight.values().map(|b| b.position).min().map_or(followed, |p| p.min(followed))
        };
        index.set_position(position);
        index.refresh()?;
        drop(index);
        self.refreshed.send_if_modified(|r| {
            let changed = *r < target;
            *r = (*r).max(target);
            changed
        });
        Ok(())
    }

    /// Whether the committed position is `by` or more log entries behind the followed one (an
    /// index nobody writes to still moves its position on, so that a start need not read the log
    /// from far back, or rebuild the index once the log was compacted).
    pub(crate) fn lags(&self, by: u64) -> bool {
        let followed = self.followed.load(Ordering::Acquire);
        self.read().committed_position().is_none_or(|p| followed.saturating_sub(p) >= by)
    }

    /// Whether a refresh would show something new.
    pub(crate) fn needs_refresh(&self) -> bool {
        self.written.load(Ordering::Acquire) > *self.refreshed.borrow() || self.read().needs_refresh()
    }

    /// The current write generation.
    pub(crate) fn generation(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Waits until a refresh made generation `generation` visible.
    pub(crate) async fn refreshed(&self, generation: u64) {
        let mut rx = self.refreshed.subscribe();
        let _ = rx.wait_for(|r| *r >= generation || self.deleted.load(Ordering::Relaxed)).await;
    }

    /// The size of the index files.
    pub(crate) fn disk_bytes(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|rd| rd.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
            .unwrap_or(0)
    }
}

/// An in-flight writer of a shard; dropping it ends the write.
pub(crate) struct Ticket {
    shard: Arc<Shard>,
    id: u64,
}

impl Ticket {
    pub(crate) fn shard(&self) -> &Arc<Shard> {
        &self.shard
    }

    /// Applies acknowledged changes in order, skipping any a newer write of the same id already
    /// applied (blocking). Returns the write generation that holds them.
    pub(crate) fn apply(&self, changes: Vec<Applied>) -> u64 {
        let shard = &self.shard;
        if shard.deleted.load(Ordering::Relaxed) || changes.is_empty() {
            return shard.generation();
        }
        let mut index = shard.write();
        let mut o = lock(&shard.order);
        let overlapping = o.in_flight.len() > 1;
        for change in changes {
            let (id, seq_no) = change.key();
            if o.recent.get(id).is_some_and(|&newer| newer > seq_no) {
                continue;
            }
            if overlapping {
                o.recent.insert(id.to_owned(), seq_no);
            }
            o.max_applied = o.max_applied.max(seq_no);
            let result = match &change {
                Applied::Put { id, source, seq_no } => {
                    index.apply_with_seq_no(id, source, *seq_no).map(|_| ())
                }
                Applied::Delete { id, .. } => index.delete(id),
            };
            if let Err(e) = result {
                // The store holds the write; the search index catches up at the next start.
                tracing::warn!(index = %shard.name, id, "an acknowledged write could not be indexed for search: {e}");
            }
        }
        if o.recent.len() > PRUNE_AT {
            let oldest = o.in_flight.values().map(|b| b.seq_no).min().unwrap_or(u64::MAX);
            o.recent.retain(|_, seq| *seq > oldest);
        }
        drop(o);
        drop(index);
        shard.written.fetch_add(1, Ordering::AcqRel) + 1
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut o = lock(&self.shard.order);
        o.in_flight.remove(&self.id);
        if o.in_flight.is_empty() {
            o.recent.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shard() -> (tempfile::TempDir, Arc<Shard>) {
        let dir = tempfile::tempdir().unwrap();
        let followed = Arc::new(AtomicU64::new(0));
        let s = Shard::create("t", "u", &dir.path().join("u"), Mapping::new(), false, &followed).unwrap();
        (dir, Arc::new(s))
    }

    fn put(id: &str, v: i64, seq_no: u64) -> Applied {
        Applied::Put { id: id.into(), source: json!({ "v": v }).into(), seq_no }
    }

    fn value_of(s: &Shard, id: &str) -> Option<i64> {
        let req = bulwark_index::SearchRequest::parse(
            Some(&json!({"query": {"ids": {"values": [id]}}})),
            [("", "")],
        )
        .unwrap();
        let r = s.read().search(&req).unwrap();
        r.hits.first().and_then(|h| h.source.as_ref()).and_then(|s| s["v"].as_i64())
    }

    #[test]
    fn a_late_older_write_does_not_overwrite_a_newer_one() {
        let (_d, s) = shard();
        let older = s.begin();
        let newer = s.begin();
        newer.apply(vec![put("1", 2, 1)]);
        older.apply(vec![put("1", 1, 0), put("2", 1, 2)]);
        drop((older, newer));
        s.refresh().unwrap();
        assert_eq!(value_of(&s, "1"), Some(2));
        assert_eq!(value_of(&s, "2"), Some(1));
    }

    #[test]
    fn a_commit_never_claims_the_position_of_an_unfinished_writer() {
        let (_d, s) = shard();
        s.followed.store(10, Ordering::Release);
        let writer = s.begin();
        // The store applied entries 11 and 12; the writer's is one of them, not yet in the index.
        s.followed.store(12, Ordering::Release);
        s.refresh().unwrap();
        assert_eq!(s.read().committed_position(), Some(10));
        writer.apply(vec![put("1", 1, 0)]);
        drop(writer);
        s.refresh().unwrap();
        assert_eq!(s.read().committed_position(), Some(12));
        assert_eq!(value_of(&s, "1"), Some(1));
        // Nothing written since: the position alone moves on when it lags.
        s.followed.store(100, Ordering::Release);
        assert!(s.lags(64));
        s.refresh().unwrap();
        assert_eq!(s.read().committed_position(), Some(100));
        assert!(!s.lags(64));
    }

    #[test]
    fn generations_follow_refreshes() {
        let (_d, s) = shard();
        let t = s.begin();
        let generation = t.apply(vec![put("1", 1, 0)]);
        assert!(s.needs_refresh());
        s.refresh().unwrap();
        assert_eq!(*s.refreshed.borrow(), generation);
        assert!(!s.needs_refresh());
    }
}
