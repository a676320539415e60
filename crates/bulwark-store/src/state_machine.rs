//! The Raft state machine on redb (`state.redb`), with snapshots.
//!
//! Each call to `apply` is one redb write transaction, committed with fsync, that applies a batch
//! of log entries and records the last applied log id in the same commit: after a crash the state
//! is exactly that of some prefix of the log, and openraft re-applies the rest. Events for the
//! changes are broadcast after the commit.
//!
//! The file itself is the snapshot: it is durable at its last applied log id after every apply,
//! so a snapshot is a read transaction on it ([`SnapshotData`]), with the last applied log id and
//! membership that transaction sees as its meta, and no copy of the state is kept. It is
//! serialized only to be sent to a node that needs it. (Earlier versions kept a full JSON copy in
//! the table `snapshot`; it is dropped on open.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use openraft::{
    AnyError, Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, Snapshot, SnapshotMeta,
    StorageError, StorageIOError, StoredMembership,
};
use redb::{Database, ReadTransaction, ReadableDatabase};
use tokio::sync::broadcast;

use crate::apply::{CodecCache, StateTables, encode_json};
use crate::command::CommandResponse;
use crate::db::{self, AtPath};
use crate::error::StoreError;
use crate::event::AppliedEvent;
use crate::reader::{EntryCache, StateReader, meta};
use crate::snapshot;
use crate::snapshot_data::SnapshotData;
use crate::tables::{
    DOCS, ENTRIES, INDICES, KEY_LAST_APPLIED, KEY_MEMBERSHIP, LEGACY_SNAPSHOT, SEQ_NOS, SM_META,
    SOURCE_DICTS, TOMBSTONES,
};
use crate::types::{NodeId, NodeInfo, TypeConfig};

/// How many events a subscriber may fall behind before it sees `Lagged`.
const EVENT_CAPACITY: usize = 16 * 1024;

/// The state machine. openraft owns it once the Raft is started; reads go through a
/// [`StateReader`] on the same file.
pub struct StateMachine {
    db: Arc<db::Db>,
    path: Arc<PathBuf>,
    events: broadcast::Sender<AppliedEvent>,
    /// Told after every commit (see [`EntryCache`]).
    cache: Arc<EntryCache>,
    /// Shared with the readers.
    codecs: CodecCache,
}

/// Builds snapshots from a consistent read of the state machine.
pub struct SnapshotBuilder {
    db: Arc<db::Db>,
    path: Arc<PathBuf>,
}

impl StateMachine {
    /// Opens or creates the state machine file at `path` (blocking: may repair the file).
    pub fn open(path: &Path, check: crate::PageCheck) -> Result<StateMachine, StoreError> {
        let db = db::Db::open(path, check, db::STATE_CACHE_BYTES)?;
        let txn = db.begin_write().at(path)?;
        txn.open_table(SM_META).at(path)?;
        txn.open_table(ENTRIES).at(path)?;
        txn.open_table(INDICES).at(path)?;
        txn.open_table(SEQ_NOS).at(path)?;
        txn.open_table(DOCS).at(path)?;
        txn.open_table(SOURCE_DICTS).at(path)?;
        txn.open_table(TOMBSTONES).at(path)?;
        // A full copy of the state that earlier versions kept as their snapshot.
        txn.delete_table(LEGACY_SNAPSHOT).at(path)?;
        txn.commit().at(path)?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let (cache, codecs) = (Arc::default(), CodecCache::default());
        Ok(StateMachine { db: Arc::new(db), path: Arc::new(path.to_path_buf()), events, cache, codecs })
    }

    /// A read handle on this state machine.
    pub fn reader(&self) -> StateReader {
        StateReader {
            db: self.db.clone(),
            path: self.path.clone(),
            cache: self.cache.clone(),
            codecs: self.codecs.clone(),
        }
    }

    /// The sender of applied-change events (subscribe to it to follow changes).
    pub fn events(&self) -> broadcast::Sender<AppliedEvent> {
        self.events.clone()
    }

    fn io_err(e: StoreError) -> StorageError<NodeId> {
        StorageIOError::write_state_machine(AnyError::new(&e)).into()
    }

    /// Applies a batch in one transaction (blocking).
    fn apply_batch(
        db: &Database,
        path: &Path,
        codecs: &CodecCache,
        entries: &[Entry<TypeConfig>],
    ) -> Result<(Vec<CommandResponse>, Vec<AppliedEvent>), StoreError> {
        let txn = db.begin_write().at(path)?;
        let mut responses = Vec::with_capacity(entries.len());
        let mut events = Vec::new();
        {
            let mut tables = StateTables::open(&txn, path, codecs)?;
            let mut meta_table = txn.open_table(SM_META).at(path)?;
            for entry in entries {
                let response = match &entry.payload {
                    EntryPayload::Blank => CommandResponse::Ok,
                    EntryPayload::Normal(cmd) => tables.apply(cmd, &mut events)?,
                    EntryPayload::Membership(m) => {
                        let stored = StoredMembership::new(Some(entry.log_id), m.clone());
                        let bytes = encode_json("the membership", &stored)?;
                        meta_table.insert(KEY_MEMBERSHIP, bytes.as_slice()).at(path)?;
                        CommandResponse::Ok
                    }
                };
                responses.push(response);
            }
            if let Some(last) = entries.last() {
                let bytes = encode_json("the last applied log id", &Some(last.log_id))?;
                meta_table.insert(KEY_LAST_APPLIED, bytes.as_slice()).at(path)?;
            }
        }
        txn.commit().at(path)?;
        Ok((responses, events))
    }

    /// Replaces the state with a snapshot (blocking).
    fn install(
        db: &Database,
        path: &Path,
        meta: &SnapshotMeta<NodeId, NodeInfo>,
        data: &[u8],
    ) -> Result<(), StoreError> {
        let txn = db.begin_write().at(path)?;
        snapshot::import(&txn, path, &meta.snapshot_id, data)?;
        {
            let mut meta_table = txn.open_table(SM_META).at(path)?;
            let last = encode_json("the last applied log id", &meta.last_log_id)?;
            meta_table.insert(KEY_LAST_APPLIED, last.as_slice()).at(path)?;
            let membership = encode_json("the membership", &meta.last_membership)?;
            meta_table.insert(KEY_MEMBERSHIP, membership.as_slice()).at(path)?;
        }
        txn.commit().at(path)
    }
}

/// The state machine as `txn` sees it, as a snapshot (its last log id is `None` before anything
/// was applied).
fn current(txn: ReadTransaction, path: &Arc<PathBuf>) -> Result<Snapshot<TypeConfig>, StoreError> {
    let sm_meta = txn.open_table(SM_META).at(path)?;
    let last_log_id = meta::<Option<LogId<NodeId>>>(&sm_meta, KEY_LAST_APPLIED, path)?.flatten();
    let last_membership: StoredMembership<NodeId, NodeInfo> =
        meta(&sm_meta, KEY_MEMBERSHIP, path)?.unwrap_or_default();
    drop(sm_meta);
    // The same state has the same id on every node (the state machine is deterministic).
    let snapshot_id = match &last_log_id {
        Some(id) => format!("{}-{}-{}", id.leader_id.term, id.leader_id.node_id, id.index),
        None => "0-0-0".to_string(),
    };
    let meta = SnapshotMeta { last_log_id, last_membership, snapshot_id };
    Ok(Snapshot { meta, snapshot: Box::new(SnapshotData::view(txn, path.clone())) })
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let err = |e: StoreError| StorageIOError::write_snapshot(None, AnyError::new(&e));
        let txn = self.db.begin_read().at(&self.path).map_err(err)?;
        let snapshot = current(txn, &self.path).map_err(err)?;
        tracing::debug!(snapshot = %snapshot.meta.snapshot_id, "the store's state file is the snapshot");
        Ok(snapshot)
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, NodeInfo>), StorageError<NodeId>> {
        self.reader()
            .applied_state()
            .map_err(|e| StorageIOError::read_state_machine(AnyError::new(&e)).into())
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<CommandResponse>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry<TypeConfig>> = entries.into_iter().collect();
        let Some(last) = entries.last().map(|e| e.log_id.index) else {
            return Ok(Vec::new());
        };
        let (db, path) = (self.db.clone(), self.path.clone());
        let (cache, codecs) = (self.cache.clone(), self.codecs.clone());
        let (responses, events) = db::blocking("applying log entries", move || {
            let applied = Self::apply_batch(&db, &path, &codecs, &entries);
            cache.changed();
            applied
        })
        .await
        .map_err(Self::io_err)?;
        for event in events {
            // No subscriber is not an error.
            let _ = self.events.send(event);
        }
        let _ = self.events.send(AppliedEvent::Through { log_index: last });
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder { db: self.db.clone(), path: self.path.clone() }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<SnapshotData>, StorageError<NodeId>> {
        Ok(Box::new(SnapshotData::empty()))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, NodeInfo>,
        snapshot: Box<SnapshotData>,
    ) -> Result<(), StorageError<NodeId>> {
        let data = snapshot
            .into_bytes()
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), AnyError::new(&e)))?;
        let (db, path, owned_meta) = (self.db.clone(), self.path.clone(), meta.clone());
        let bytes = data.len();
        let cache = self.cache.clone();
        db::blocking("installing a snapshot", move || {
            let installed = Self::install(&db, &path, &owned_meta, &data);
            cache.changed();
            installed
        })
        .await
        .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), AnyError::new(&e)))?;
        let index = meta.last_log_id.map_or(0, |l| l.index);
        tracing::info!(
            snapshot = %meta.snapshot_id,
            log_index = index,
            bytes = bytes as u64,
            "installed a store snapshot from the leader at log index {index} ({bytes} bytes): this node was behind the leader's compacted log"
        );
        let _ = self.events.send(AppliedEvent::Reset);
        if let Some(last) = meta.last_log_id {
            let _ = self.events.send(AppliedEvent::Through { log_index: last.index });
        }
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let read_err = |e: StoreError| StorageIOError::read_snapshot(None, AnyError::new(&e));
        let txn = self.db.begin_read().at(&self.path).map_err(read_err)?;
        let snapshot = current(txn, &self.path).map_err(read_err)?;
        Ok(snapshot.meta.last_log_id.is_some().then_some(snapshot))
    }
}
