//! The Raft log, vote and committed index in a redb file (`raft-log.redb`).
//!
//! Every append, truncation, purge and vote is one redb write transaction committed with
//! [`Durability::Immediate`] (fsync) before openraft is told it is done, so an entry that openraft
//! counts as persisted is on disk. Only the committed index is written without fsync: it is a
//! hint that lets a restarted node re-apply faster, and Raft re-derives it when it is lost.
//!
//! openraft's core task waits for every call here (an append until its entries are durable): no
//! heartbeat leaves the leader meanwhile. Each call is timed ([`timed`]): one that takes longer
//! than [`SLOW_STORAGE`] is logged at WARN, every one at DEBUG (target `bulwark_store::log_store`).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{AnyError, Entry, LogId, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote};
use redb::{Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db;
use crate::error::StoreError;
use crate::identity::ClusterIdentity;
use crate::types::{NodeId, TypeConfig};

/// The log file's name inside the store directory.
pub const LOG_FILE: &str = "raft-log.redb";

/// Log entries by index, each a JSON-encoded [`openraft::Entry`].
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
/// Small JSON records by name (see the `KEY_*` constants).
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

const KEY_VOTE: &str = "vote";
const KEY_COMMITTED: &str = "committed";
const KEY_PURGED: &str = "last_purged";
const KEY_IDENTITY: &str = "identity";

/// Most bytes (as stored) of appended entries kept in memory until they are applied.
const PENDING_BYTES: u64 = 64 << 20;

/// The Raft log storage. Cloning is cheap and gives another handle on the same file (openraft's
/// log reader is such a clone).
#[derive(Clone)]
pub struct LogStore {
    db: Arc<db::Db>,
    path: Arc<PathBuf>,
    /// The stored size of every entry in the log, by index (what compaction weighs).
    sizes: Arc<Mutex<BTreeMap<u64, u64>>>,
    /// Entries appended and not yet read back to be applied, as openraft handed them over.
    pending: Arc<Mutex<Pending>>,
    /// Whether this handle's reads are the state machine's (see [`LogStore::applying`]).
    applies: bool,
}

/// Appended entries, kept so that applying them does not read them back from the file and decode
/// them again (for a `_bulk` of 5,000 documents, about 5 MB of JSON each way). They are the same
/// entries as on disk: kept only once their append is durable, dropped with every truncation and
/// purge, and — past [`PENDING_BYTES`] — the oldest first (a read then falls back to the file).
#[derive(Default)]
struct Pending {
    entries: BTreeMap<u64, (Entry<TypeConfig>, u64)>,
    bytes: u64,
}

impl Pending {
    fn insert(&mut self, index: u64, entry: Entry<TypeConfig>, bytes: u64) {
        self.remove_from(index);
        self.entries.insert(index, (entry, bytes));
        self.bytes += bytes;
        while self.bytes > PENDING_BYTES {
            let Some((_, (_, b))) = self.entries.pop_first() else { break };
            self.bytes -= b;
        }
    }

    /// Drops the entries from `index` on.
    fn remove_from(&mut self, index: u64) {
        let removed = self.entries.split_off(&index);
        self.bytes -= removed.values().map(|(_, b)| b).sum::<u64>();
    }

    /// Drops the entries up to `index`, included.
    fn remove_upto(&mut self, index: u64) {
        let kept = self.entries.split_off(&index.saturating_add(1));
        let removed = std::mem::replace(&mut self.entries, kept);
        self.bytes -= removed.values().map(|(_, b)| b).sum::<u64>();
    }

    /// The entries of `range` if every one of them is here: taken out (with every older one) when
    /// `take`, cloned otherwise.
    fn get(&mut self, range: (Bound<u64>, Bound<u64>), take: bool) -> Option<Vec<Entry<TypeConfig>>> {
        let start = match range.0 {
            Bound::Included(s) => s,
            Bound::Excluded(s) => s.checked_add(1)?,
            Bound::Unbounded => return None,
        };
        let end = match range.1 {
            Bound::Included(e) => e.checked_add(1)?,
            Bound::Excluded(e) => e,
            Bound::Unbounded => return None,
        };
        if end <= start || self.entries.range(start..end).count() as u64 != end - start {
            return None;
        }
        if !take {
            return Some(self.entries.range(start..end).map(|(_, (e, _))| e.clone()).collect());
        }
        let mut taken = self.entries.split_off(&start);
        let rest = taken.split_off(&end);
        let older = std::mem::replace(&mut self.entries, rest);
        self.bytes -= older.values().chain(taken.values()).map(|(_, b)| b).sum::<u64>();
        Some(taken.into_values().map(|(e, _)| e).collect())
    }
}

/// Just the log id of an encoded entry, to read it without decoding the payload.
#[derive(serde::Deserialize)]
struct LogIdOnly {
    log_id: LogId<NodeId>,
}

impl LogStore {
    /// Opens or creates the log file at `path` (blocking: may repair the file).
    pub fn open(path: &Path, check: crate::PageCheck) -> Result<LogStore, StoreError> {
        let db = db::Db::open(path, check, db::LOG_CACHE_BYTES)?;
        let store = LogStore {
            db: Arc::new(db),
            path: Arc::new(path.to_path_buf()),
            sizes: Arc::new(Mutex::new(BTreeMap::new())),
            pending: Arc::default(),
            applies: false,
        };
        store.write(Durability::Immediate, |txn| {
            txn.open_table(LOG)?;
            txn.open_table(META)?;
            Ok(())
        })?;
        let mut sizes = BTreeMap::new();
        {
            let txn = store.db.begin_read().map_err(|e| store.err(e))?;
            let table = txn.open_table(LOG).map_err(|e| store.err(e))?;
            for row in table.iter().map_err(|e| store.err(e))? {
                let (k, v) = row.map_err(|e| store.err(e))?;
                sizes.insert(k.value(), v.value().len() as u64);
            }
        }
        *store.sizes() = sizes;
        Ok(store)
    }

    /// The handle to give openraft as its log storage: its reads are the ones that feed the state
    /// machine, each entry read once, so it takes appended entries out of memory instead of reading
    /// them from the file (other handles, such as the readers that replicate, only copy them).
    pub fn applying(&self) -> LogStore {
        LogStore { applies: true, ..self.clone() }
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn sizes(&self) -> MutexGuard<'_, BTreeMap<u64, u64>> {
        self.sizes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The bytes the log's entries take (their stored encoding, without the file's overhead).
    pub fn bytes(&self) -> u64 {
        self.sizes().values().sum()
    }

    /// The highest log index that can be purged so that the log keeps its newest entries within
    /// both `keep_entries` entries and `keep_bytes` bytes; `None` when everything fits.
    pub(crate) fn retention_cut(&self, keep_entries: u64, keep_bytes: u64) -> Option<u64> {
        let sizes = self.sizes();
        let (mut entries, mut bytes) = (0u64, 0u64);
        for (index, size) in sizes.iter().rev() {
            if entries >= keep_entries || bytes.saturating_add(*size) > keep_bytes {
                return Some(*index);
            }
            entries += 1;
            bytes += size;
        }
        None
    }

    /// How many entries, and how many bytes of them, the log holds at or below `upto`.
    pub(crate) fn held_upto(&self, upto: u64) -> (u64, u64) {
        let sizes = self.sizes();
        sizes.range(..=upto).fold((0, 0), |(n, b), (_, size)| (n + 1, b + size))
    }

    /// The stored bytes of the `count` entries from index `first` on.
    fn held_between(&self, first: u64, count: usize) -> u64 {
        self.sizes().range(first..).take(count).map(|(_, size)| size).sum()
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The node's identity, if one was saved.
    pub fn identity(&self) -> Result<Option<ClusterIdentity>, StoreError> {
        self.read_meta(KEY_IDENTITY)
    }

    /// Saves the node's identity durably.
    pub fn save_identity(&self, identity: &ClusterIdentity) -> Result<(), StoreError> {
        let bytes = encode("the cluster identity", identity)?;
        self.write(Durability::Immediate, move |txn| {
            txn.open_table(META)?.insert(KEY_IDENTITY, bytes.as_slice())?;
            Ok(())
        })
    }

    /// The last log id removed by log compaction, if any.
    pub(crate) fn last_purged(&self) -> Result<Option<LogId<NodeId>>, StoreError> {
        self.read_meta(KEY_PURGED)
    }

    /// How many entries the log holds (purged entries are gone).
    pub fn len(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(LOG).map_err(|e| self.err(e))?;
        table.len().map_err(|e| self.err(e))
    }

    /// Whether the log holds no entries.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// How many handles on the file are alive (this one included).
    pub(crate) fn handles(&self) -> usize {
        Arc::strong_count(&self.db)
    }

    fn err(&self, e: impl Into<redb::Error>) -> StoreError {
        StoreError::db(&self.path, e)
    }

    fn read_meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(META).map_err(|e| self.err(e))?;
        match table.get(key).map_err(|e| self.err(e))? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(v.value())
                .map(Some)
                .map_err(|e| StoreError::decode(&self.path, format!("the {key} record"), e)),
        }
    }

    /// Runs `f` in one write transaction and commits it with `durability` (blocking).
    fn write(
        &self,
        durability: Durability,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(|e| self.err(e))?;
        txn.set_durability(durability).map_err(|e| self.err(e))?;
        f(&txn).map_err(|e| self.err(e))?;
        txn.commit().map_err(|e| self.err(e))
    }

    /// Runs [`LogStore::write`] on the blocking pool.
    async fn write_async(
        &self,
        context: &'static str,
        durability: Durability,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error> + Send + 'static,
    ) -> Result<(), StoreError> {
        let this = self.clone();
        db::blocking(context, move || this.write(durability, f)).await
    }

    fn entries(&self, range: (Bound<u64>, Bound<u64>)) -> Result<Vec<Entry<TypeConfig>>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(LOG).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in table.range::<u64>(range).map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            let index = k.value();
            let entry: Entry<TypeConfig> = serde_json::from_slice(v.value())
                .map_err(|e| StoreError::decode(&self.path, format!("log entry {index}"), e))?;
            if entry.log_id.index != index {
                return Err(StoreError::decode(
                    &self.path,
                    format!("log entry {index}"),
                    format!("it records index {}", entry.log_id.index),
                ));
            }
            out.push(entry);
        }
        Ok(out)
    }

    /// What the entries after `after` up to and including `upto` may have changed, each with its
    /// log index ([`crate::Command::touched`]); `None` when the log no longer holds all of them
    /// (it was compacted past `after`).
    pub(crate) fn changes(
        &self,
        after: u64,
        upto: u64,
    ) -> Result<Option<Vec<(u64, crate::event::AppliedEvent)>>, StoreError> {
        if self.last_purged()?.is_some_and(|p| p.index > after) {
            return Ok(None);
        }
        if upto <= after {
            return Ok(Some(Vec::new()));
        }
        let entries = self.entries((Bound::Excluded(after), Bound::Included(upto)))?;
        let contiguous = entries.iter().zip(after + 1..).all(|(e, i)| e.log_id.index == i);
        if !contiguous || entries.len() as u64 != upto - after {
            return Ok(None);
        }
        let mut out = Vec::new();
        let mut touched = Vec::new();
        for entry in entries {
            if let openraft::EntryPayload::Normal(cmd) = &entry.payload {
                cmd.touched(&mut touched);
                out.extend(touched.drain(..).map(|e| (entry.log_id.index, e)));
            }
        }
        Ok(Some(out))
    }

    fn last_log_id(&self) -> Result<Option<LogId<NodeId>>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(LOG).map_err(|e| self.err(e))?;
        match table.last().map_err(|e| self.err(e))? {
            None => Ok(None),
            Some((k, v)) => {
                let index = k.value();
                let only: LogIdOnly = serde_json::from_slice(v.value())
                    .map_err(|e| StoreError::decode(&self.path, format!("log entry {index}"), e))?;
                Ok(Some(only.log_id))
            }
        }
    }
}

/// A log-store call that takes longer than this is logged at WARN: openraft's core waits for it
/// (a follower stands for election after 30 to 40 heartbeats without hearing from the leader).
pub(crate) const SLOW_STORAGE: Duration = Duration::from_millis(200);

/// Logs how long the log-store call `what` on `bytes` bytes took since `started`: at DEBUG
/// always, at WARN past [`SLOW_STORAGE`] (with what an operator can look at).
fn timed(what: &str, bytes: u64, started: Instant) {
    let took = started.elapsed();
    let took_ms = took.as_millis() as u64;
    if took > SLOW_STORAGE {
        tracing::warn!(
            took_ms,
            bytes,
            "slow Raft log storage: {what} took {took_ms} ms; Raft waits for it, so heartbeats are late and another node may start an election: check the load on the host and on the disk holding path.data"
        );
    } else {
        tracing::debug!(took_ms, bytes, "{what}");
    }
}

fn encode<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::encode(what, e))
}

/// A log entry as JSON, into a buffer of about its size (a `_bulk`'s entry holds megabytes).
fn encode_entry(entry: &Entry<TypeConfig>) -> Result<Vec<u8>, StoreError> {
    /// The log id and the payload's tag around the command.
    const ENVELOPE_BYTES: usize = 128;
    let command = match &entry.payload {
        openraft::EntryPayload::Normal(cmd) => cmd.encoded_size_hint(),
        _ => 0,
    };
    let mut out = Vec::with_capacity(ENVELOPE_BYTES + command);
    serde_json::to_writer(&mut out, entry)
        .map_err(|e| StoreError::encode(format!("log entry {}", entry.log_id.index), e))?;
    Ok(out)
}

fn read_err(e: StoreError) -> StorageError<NodeId> {
    StorageIOError::read_logs(AnyError::new(&e)).into()
}

fn write_err(e: StoreError) -> StorageError<NodeId> {
    StorageIOError::write_logs(AnyError::new(&e)).into()
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let bounds = (range.start_bound().cloned(), range.end_bound().cloned());
        if let Some(entries) = self.pending().get(bounds, self.applies) {
            return Ok(entries);
        }
        let started = Instant::now();
        let entries = self.entries(bounds).map_err(read_err)?;
        let bytes = entries.first().map_or(0, |first| self.held_between(first.log_id.index, entries.len()));
        timed("reading log entries", bytes, started);
        Ok(entries)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let last_purged_log_id: Option<LogId<NodeId>> = self.read_meta(KEY_PURGED).map_err(read_err)?;
        let last_log_id = self.last_log_id().map_err(read_err)?.or(last_purged_log_id);
        Ok(LogState { last_purged_log_id, last_log_id })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        LogStore { applies: false, ..self.clone() }
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let started = Instant::now();
        let bytes = encode("the vote", vote).map_err(|e| StorageIOError::write_vote(AnyError::new(&e)))?;
        let size = bytes.len() as u64;
        self.write_async("saving the vote", Durability::Immediate, move |txn| {
            txn.open_table(META)?.insert(KEY_VOTE, bytes.as_slice())?;
            Ok(())
        })
        .await
        .map_err(|e| StorageIOError::write_vote(AnyError::new(&e)))?;
        timed("saving the vote", size, started);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        self.read_meta(KEY_VOTE).map_err(|e| StorageIOError::read_vote(AnyError::new(&e)).into())
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<(), StorageError<NodeId>> {
        let started = Instant::now();
        let bytes = encode("the committed log id", &committed).map_err(write_err)?;
        let size = bytes.len() as u64;
        // Not fsynced: made durable by the next append; losing it only delays re-applying.
        self.write_async("saving the committed index", Durability::None, move |txn| {
            txn.open_table(META)?.insert(KEY_COMMITTED, bytes.as_slice())?;
            Ok(())
        })
        .await
        .map_err(write_err)?;
        timed("saving the committed index", size, started);
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self.read_meta::<Option<LogId<NodeId>>>(KEY_COMMITTED).map_err(read_err)?.flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let started = Instant::now();
        let mut rows = Vec::new();
        let mut appended = Vec::new();
        for entry in entries {
            let bytes = encode_entry(&entry).map_err(write_err)?;
            rows.push((entry.log_id.index, bytes));
            appended.push(entry);
        }
        let sizes: Vec<(u64, u64)> = rows.iter().map(|(i, b)| (*i, b.len() as u64)).collect();
        let size = sizes.iter().map(|(_, b)| b).sum();
        timed("encoding log entries", size, started);
        let started = Instant::now();
        self.write_async("appending to the log", Durability::Immediate, move |txn| {
            let mut table = txn.open_table(LOG)?;
            for (index, bytes) in &rows {
                table.insert(index, bytes.as_slice())?;
            }
            Ok(())
        })
        .await
        .map_err(write_err)?;
        timed("appending to the log (with fsync)", size, started);
        let mut pending = self.pending();
        for (entry, (index, bytes)) in appended.into_iter().zip(&sizes) {
            pending.insert(*index, entry, *bytes);
        }
        drop(pending);
        self.sizes().extend(sizes);
        // The entries are durable: only now tell openraft.
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let from = log_id.index;
        let started = Instant::now();
        // Out of memory first: from here on a read of them goes to the file.
        self.pending().remove_from(from);
        self.write_async("truncating the log", Durability::Immediate, move |txn| {
            txn.open_table(LOG)?.retain_in(from.., |_, _| false)?;
            Ok(())
        })
        .await
        .map_err(write_err)?;
        let removed = self.sizes().split_off(&from);
        timed("truncating the log", removed.values().sum(), started);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let upto = log_id.index;
        let started = Instant::now();
        let bytes = encode("the purged log id", &log_id).map_err(write_err)?;
        self.pending().remove_upto(upto);
        self.write_async("purging the log", Durability::Immediate, move |txn| {
            txn.open_table(META)?.insert(KEY_PURGED, bytes.as_slice())?;
            txn.open_table(LOG)?.retain_in(..=upto, |_, _| false)?;
            Ok(())
        })
        .await
        .map_err(write_err)?;
        let mut sizes = self.sizes();
        let kept = sizes.split_off(&upto.saturating_add(1));
        let removed = std::mem::replace(&mut *sizes, kept);
        drop(sizes);
        timed("purging the log", removed.values().sum(), started);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload};

    use super::*;

    fn entry(index: u64) -> Entry<TypeConfig> {
        Entry { log_id: LogId::new(CommittedLeaderId::new(1, 1), index), payload: EntryPayload::Blank }
    }

    fn indices(entries: &[Entry<TypeConfig>]) -> Vec<u64> {
        entries.iter().map(|e| e.log_id.index).collect()
    }

    #[test]
    fn pending_entries_are_served_only_whole_and_taken_once() {
        let mut p = Pending::default();
        for i in 3..=6 {
            p.insert(i, entry(i), 10);
        }
        let range = |a, b| (Bound::Included(a), Bound::Excluded(b));
        assert!(p.get(range(2, 5), false).is_none(), "index 2 is not here");
        assert!(p.get(range(5, 8), false).is_none(), "index 7 is not here");
        assert!(p.get((Bound::Included(4), Bound::Unbounded), false).is_none());
        assert_eq!(indices(&p.get(range(4, 6), false).unwrap()), [4, 5], "a copy");
        assert_eq!(indices(&p.get(range(4, 6), true).unwrap()), [4, 5], "taken, with index 3");
        assert_eq!(p.entries.keys().copied().collect::<Vec<_>>(), [6]);
        assert_eq!(p.bytes, 10);
        assert!(p.get(range(4, 6), true).is_none(), "taken once: the next read goes to the file");
    }

    #[test]
    fn truncation_purge_and_the_memory_bound_drop_pending_entries() {
        let mut p = Pending::default();
        for i in 1..=10 {
            p.insert(i, entry(i), 1);
        }
        p.remove_from(8);
        p.remove_upto(2);
        assert_eq!(p.entries.keys().copied().collect::<Vec<_>>(), (3..=7).collect::<Vec<_>>());
        assert_eq!(p.bytes, 5);
        // An entry appended again at an index replaces it and every later one.
        p.insert(5, entry(5), 1);
        assert_eq!(p.entries.keys().copied().collect::<Vec<_>>(), [3, 4, 5]);
        // Past the bound, the oldest go first.
        p.insert(6, entry(6), PENDING_BYTES - 1);
        assert_eq!(p.entries.keys().copied().collect::<Vec<_>>(), [5, 6]);
        assert_eq!(p.bytes, PENDING_BYTES);
    }
}
