//! The index service: one tantivy index per Elasticsearch index, derived from the store.
//!
//! The store (Raft log + state machine) is the truth for index metadata and documents; a write
//! is acknowledged once the store applied it, then this service applies it to tantivy before the
//! answer goes out. Searches see writes after a refresh: every second in the background, or on
//! `refresh=true|wait_for`.
//!
//! The search indices persist under `<path.data>/indices/`; every tantivy commit saves, with the
//! documents and the mapping, the store's log index up to which it holds every change. A start
//! opens them and replays only the log entries after that position (re-reading each document
//! they touched from the store, so replaying twice changes nothing); an index that is missing,
//! unreadable, ahead of the store or behind the compacted log is rebuilt from the store (see
//! `docs/architecture.md`). Index directories are named by index UUID, so an index deleted and
//! created again under the same name never shares files with its predecessor.

mod admin;
mod follow;
mod ids;
mod shard;
mod write;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bulwark_index::{Index, IndexError, Mapping, Query, Restrictions, SearchRequest, SearchResponse};
use bulwark_rest::indices::DataError;
use bulwark_rest::indices::{
    BoxFuture, IndexMeta, IndexService, IndexStats, MetaChange, NewIndex, NodeStats, WriteOutcome,
    WriteRequest,
};
use bulwark_store::{AppliedEvent, Store, StoredDoc};
use serde_json::Value;

use crate::NodeError;
use ids::IdGenerator;
use shard::Shard;

/// How often writes become visible without being asked (`index.refresh_interval`).
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// An index nobody writes to commits its position anew once it is this many log entries behind
/// (at the next periodic refresh), so that a start reads little of the log for it, and so that
/// it does not hold back log compaction: the store keeps every entry after the oldest position
/// the indices committed (`Indices::release_log`).
const POSITION_LAG: u64 = 64;

/// The node's indices.
pub struct Indices {
    store: Arc<Store>,
    root: PathBuf,
    shards: RwLock<HashMap<String, Arc<Shard>>>,
    /// Serializes index creation, deletion and metadata changes.
    admin: tokio::sync::Mutex<()>,
    ids: IdGenerator,
    started: Instant,
    start_ms: u64,
    /// The store log index up to which every applied entry has reached the shards (see
    /// `follow.rs`); each commit saves a position no later than it.
    followed: Arc<AtomicU64>,
    /// Wakes [`Indices::wait_followed`] when `followed` moves.
    followed_moved: tokio::sync::Notify,
}

/// What a start did.
#[derive(Default)]
struct OpenReport {
    opened: usize,
    rebuilt: usize,
    rebuilt_docs: u64,
    entries: u64,
    replayed_docs: u64,
}

/// The mapping the store holds for `name` (an unreadable one maps fields dynamically).
/// Its fields were accepted when stored, so they are not counted again; later updates are
/// checked against the index's `index.mapping.total_fields.limit`.
fn stored_mapping(name: &str, meta: &IndexMeta) -> Mapping {
    let mut mapping = if meta.mappings.is_null() {
        Mapping::new()
    } else {
        Mapping::from_json_limited(&meta.mappings, usize::MAX).unwrap_or_else(|e| {
            tracing::warn!(index = %name, "the stored mapping is unreadable ({e}); mapping fields dynamically");
            Mapping::new()
        })
    };
    mapping.set_total_fields_limit(meta.total_fields_limit());
    mapping
}

/// Stops using a shard that is rebuilt at start (its directory is made anew).
fn discard_now(shard: Option<Arc<Shard>>) {
    if let Some(s) = shard {
        s.deleted.store(true, Ordering::Relaxed);
    }
}

impl Indices {
    /// Opens every index of the store under `<data>/indices` as last committed, replays the
    /// store's log entries after the position each one saved, and rebuilds from the store the
    /// ones that cannot be opened or replayed (blocking: call it off the async executor).
    ///
    /// Subscribe to the store's events before calling this (see [`Indices::spawn_follower`]).
    pub fn open(store: Arc<Store>, data: &Path) -> Result<Arc<Indices>, NodeError> {
        let started = Instant::now();
        let root = data.join("indices");
        crate::files::create_dir(&root, 0o700)?;
        // Read before the state: every entry up to it is in what is read next.
        let applied = store.applied_index().map_err(NodeError::store("cannot read the store's position"))?;
        let indices = Indices {
            store: store.clone(),
            root,
            shards: RwLock::new(HashMap::new()),
            admin: tokio::sync::Mutex::new(()),
            ids: IdGenerator::new().map_err(NodeError::random("cannot make document ids"))?,
            started,
            start_ms: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
            followed: Arc::new(AtomicU64::new(applied)),
            followed_moved: tokio::sync::Notify::new(),
        };
        let stored = store.indices().map_err(NodeError::store("cannot read the indices from the store"))?;
        let mut metas = Vec::with_capacity(stored.len());
        for (name, v) in stored {
            let meta: IndexMeta = serde_json::from_value(v).map_err(|e| {
                NodeError::Config(format!("the metadata of index [{name}] in the store is unreadable: {e}"))
            })?;
            metas.push((name, meta));
        }
        indices.remove_unknown_directories(&metas);
        let mut report = OpenReport::default();
        let mut positions: BTreeMap<String, u64> = BTreeMap::new();
        for (name, meta) in &metas {
            match indices.reopen(name, meta, applied) {
                Ok(position) => {
                    positions.insert(name.clone(), position);
                }
                Err(reason) => {
                    tracing::warn!(index = %name, "rebuilding the search index from the store: {reason}");
                    report.rebuilt_docs += indices.rebuild(name, meta)?;
                    report.rebuilt += 1;
                }
            }
        }
        let changes = loop {
            let Some(from) = positions.values().copied().min() else { break Vec::new() };
            let read = store
                .changes_between(from, applied)
                .map_err(NodeError::store("cannot read the store's log to replay it"))?;
            if let Some(changes) = read {
                report.entries = applied - from;
                break changes;
            }
            // The log no longer reaches back to the oldest position: rebuild that index.
            let behind: Vec<String> =
                positions.iter().filter(|(_, p)| **p == from).map(|(n, _)| n.clone()).collect();
            for name in behind {
                positions.remove(&name);
                tracing::warn!(
                    index = %name,
                    "rebuilding the search index from the store: it holds the store's changes up to log entry {from}, and the log was compacted past it"
                );
                if let Some((_, meta)) = metas.iter().find(|(n, _)| *n == name) {
                    self::discard_now(indices.remove(&name));
                    report.rebuilt_docs += indices.rebuild(&name, meta)?;
                    report.rebuilt += 1;
                }
            }
        };
        report.replayed_docs = indices.replay(&positions, changes)?;
        report.opened = positions.len();
        for name in positions.keys() {
            if let Some(shard) = indices.shard(name) {
                shard.refresh().map_err(|source| NodeError::Index {
                    context: format!("cannot commit the search index of [{name}]"),
                    source,
                })?;
            }
        }
        tracing::info!(
            indices = metas.len(),
            opened = report.opened,
            rebuilt = report.rebuilt,
            rebuilt_documents = report.rebuilt_docs,
            replayed_entries = report.entries,
            replayed_documents = report.replayed_docs,
            position = applied,
            millis = started.elapsed().as_millis() as u64,
            "search indices opened: {} as committed, {} rebuilt from the store; replayed {} log entries ({} documents)",
            report.opened,
            report.rebuilt,
            report.entries,
            report.replayed_docs
        );
        indices.release_log();
        Ok(Arc::new(indices))
    }

    /// Lets the store compact its log up to the oldest position the indices committed: a start
    /// replays the entries after it, so those stay (see `bulwark_store::LogFloor`).
    fn release_log(&self) {
        let Some(floor) = self.store.log_floor() else { return };
        let followed = self.followed.load(Ordering::Acquire);
        let oldest = self.all_shards().iter().map(|s| s.read().committed_position().unwrap_or(0)).min();
        floor.set(oldest.map_or(followed, |p| p.min(followed)));
    }

    /// Opens the committed search index of `name`, with the store's mapping, if it can follow
    /// the store from where it is; returns the position it holds, or why it must be rebuilt.
    fn reopen(&self, name: &str, meta: &IndexMeta, applied: u64) -> Result<u64, String> {
        let dir = self.root.join(&meta.uuid);
        if !dir.exists() {
            return Err(format!("there is no search index on disk ({} is missing)", dir.display()));
        }
        let shard = Shard::open(name, &meta.uuid, &dir, meta.closed, &self.followed)
            .map_err(|e| format!("the search index on disk cannot be opened: {e}"))?;
        let position = shard.read().committed_position().ok_or_else(|| {
            "the search index on disk records no store position (written by an earlier version, or never committed)"
                .to_owned()
        })?;
        if position > applied {
            return Err(format!(
                "the search index on disk holds the store's changes up to log entry {position}, ahead of the store's {applied} (was the store replaced by an older copy?)"
            ));
        }
        {
            let mut index = shard.write();
            index.set_mapping(stored_mapping(name, meta));
            index.set_total_fields_limit(meta.total_fields_limit());
        }
        self.insert(name, Arc::new(shard));
        Ok(position)
    }

    /// Applies to the opened indices the documents the log entries after their positions
    /// changed, as the store holds them now (an entry at or below a position is skipped; a
    /// document applied again is replaced, never doubled). Returns how many were applied.
    fn replay(
        &self,
        positions: &BTreeMap<String, u64>,
        changes: Vec<(u64, AppliedEvent)>,
    ) -> Result<u64, NodeError> {
        let mut touched: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (log_index, event) in changes {
            if let AppliedEvent::Document { index, id } = event
                && positions.get(&index).is_some_and(|p| log_index > *p)
            {
                touched.entry(index).or_default().insert(id);
            }
        }
        let mut replayed = 0u64;
        for (name, ids) in touched {
            let Some(shard) = self.shard(&name) else { continue };
            let engine = |source: IndexError| NodeError::Index {
                context: format!("cannot replay the store's changes into the search index of [{name}]"),
                source,
            };
            let mut index = shard.write();
            for id in ids {
                let doc = self
                    .store
                    .document(&name, &id)
                    .map_err(NodeError::store(format!("cannot read a document of [{name}]")))?;
                let result = match doc {
                    Some(doc) => index.apply_with_seq_no(&id, &doc.source, doc.seq_no).map(|_| ()),
                    None => index.delete(&id),
                };
                match result {
                    Ok(()) => replayed += 1,
                    Err(e @ (IndexError::Engine { .. } | IndexError::Corrupt { .. })) => {
                        return Err(engine(e));
                    }
                    Err(e) => {
                        tracing::warn!(index = %name, id, "a stored document cannot be indexed for search: {e}")
                    }
                }
            }
        }
        Ok(replayed)
    }

    /// Removes the directories under `indices/` that belong to no index of the store (deleted
    /// indices, or ones whose creation did not reach the store).
    fn remove_unknown_directories(&self, metas: &[(String, IndexMeta)]) {
        let known: BTreeSet<&str> = metas.iter().map(|(_, m)| m.uuid.as_str()).collect();
        let Ok(entries) = std::fs::read_dir(&self.root) else { return };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            if known.contains(file_name.to_string_lossy().as_ref()) {
                continue;
            }
            let path = entry.path();
            let removed =
                if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            match removed {
                Ok(()) => tracing::info!("removed [{}]: no index of the store uses it", path.display()),
                Err(e) => tracing::warn!("cannot remove [{}], which no index uses: {e}", path.display()),
            }
        }
    }

    /// Recreates one index from the store's documents.
    fn rebuild(&self, name: &str, meta: &IndexMeta) -> Result<u64, NodeError> {
        let engine = |source: IndexError| NodeError::Index {
            context: format!("cannot rebuild the search index of [{name}]"),
            source,
        };
        let mapping = stored_mapping(name, meta);
        let shard = Shard::create(
            name,
            &meta.uuid,
            &self.root.join(&meta.uuid),
            mapping,
            meta.closed,
            &self.followed,
        )
        .map_err(engine)?;
        // Read before the documents: every change up to it is in them.
        let position = self.followed.load(Ordering::Acquire);
        let docs = self
            .store
            .documents(name)
            .map_err(NodeError::store(format!("cannot read the documents of [{name}]")))?;
        let mut indexed = 0u64;
        {
            let mut index = shard.write();
            for (id, doc) in docs {
                match index.apply_with_seq_no(&id, &doc.source, doc.seq_no) {
                    Ok(_) => indexed += 1,
                    Err(e @ (IndexError::Engine { .. } | IndexError::Corrupt { .. })) => {
                        return Err(engine(e));
                    }
                    Err(e) => {
                        tracing::warn!(index = %name, id, "a stored document cannot be indexed for search: {e}")
                    }
                }
            }
            index.set_position(position);
            index.refresh().map_err(engine)?;
        }
        self.insert(name, Arc::new(shard));
        Ok(indexed)
    }

    /// Waits (at most `timeout`) until every store entry up to log index `index` has reached
    /// the search indices — an index created through another node exists here, its documents
    /// are in its shard —, so that a request served after a read barrier sees in the indices
    /// what the store has. Returns whether it got there.
    pub async fn wait_followed(&self, index: u64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut moved = std::pin::pin!(self.followed_moved.notified());
            moved.as_mut().enable();
            if self.followed.load(Ordering::Acquire) >= index {
                return true;
            }
            if tokio::time::timeout_at(deadline, moved).await.is_err() {
                return self.followed.load(Ordering::Acquire) >= index;
            }
        }
    }

    /// Commits every index with the position it reached, once the indices followed the store
    /// up to its last applied entry (waiting at most `wait`), so that the next start replays
    /// nothing (blocking).
    pub fn close(&self, wait: Duration) {
        let deadline = Instant::now() + wait;
        if let Ok(applied) = self.store.applied_index() {
            while self.followed.load(Ordering::Acquire) < applied && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        for shard in self.all_shards() {
            if let Err(e) = shard.refresh() {
                tracing::warn!(index = %shard.name, "cannot commit the search index at shutdown: {e}");
            }
        }
    }

    /// Refreshes indices with unseen writes every [`REFRESH_INTERVAL`], until the service is
    /// dropped.
    pub fn spawn_refresher(self: &Arc<Self>) {
        let weak: Weak<Indices> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REFRESH_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(me) = weak.upgrade() else { return };
                let due: Vec<Arc<Shard>> = me
                    .all_shards()
                    .into_iter()
                    .filter(|s| s.needs_refresh() || s.lags(POSITION_LAG))
                    .collect();
                drop(me);
                for shard in due {
                    let name = shard.name.clone();
                    match tokio::task::spawn_blocking(move || shard.refresh()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!(index = %name, "periodic refresh failed: {e}"),
                        Err(e) => tracing::warn!(index = %name, "periodic refresh was interrupted: {e}"),
                    }
                }
                if let Some(me) = weak.upgrade() {
                    me.release_log();
                }
            }
        });
    }

    fn shard(&self, name: &str) -> Option<Arc<Shard>> {
        self.shards.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(name).cloned()
    }

    fn all_shards(&self) -> Vec<Arc<Shard>> {
        self.shards.read().unwrap_or_else(std::sync::PoisonError::into_inner).values().cloned().collect()
    }

    fn insert(&self, name: &str, shard: Arc<Shard>) {
        self.shards.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(name.to_owned(), shard);
    }

    fn remove(&self, name: &str) -> Option<Arc<Shard>> {
        self.shards.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(name)
    }

    /// Every index's stored metadata.
    fn catalog_metas(&self) -> Result<Vec<(String, IndexMeta)>, DataError> {
        let all = self.store.indices().map_err(DataError::from)?;
        all.into_iter()
            .map(|(name, v)| match serde_json::from_value(v) {
                Ok(meta) => Ok((name, meta)),
                Err(e) => Err(DataError::Node(format!("the metadata of index [{name}] is unreadable: {e}"))),
            })
            .collect()
    }

    /// The shards of `names` that exist, sorted by name (the order their locks are taken in).
    fn shards_of(&self, names: &[String]) -> Vec<Arc<Shard>> {
        let mut out: Vec<Arc<Shard>> = names.iter().filter_map(|n| self.shard(n)).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.dedup_by(|a, b| a.name == b.name);
        out
    }

    /// Runs `f` over read access to the indices of `names` (blocking).
    fn with_indices<T>(shards: &[Arc<Shard>], f: impl FnOnce(&[&Index]) -> T) -> T {
        let guards: Vec<_> = shards.iter().map(|s| s.read()).collect();
        let refs: Vec<&Index> = guards.iter().map(|g| &**g).collect();
        f(&refs)
    }

    fn process(&self) -> (u64, u64, u64) {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kb = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
                .map_or(0, |n| n * 1024)
        };
        let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |rd| rd.count() as u64);
        (kb("VmRSS:"), kb("VmSize:"), fds)
    }
}

fn interrupted(e: tokio::task::JoinError) -> IndexError {
    IndexError::Engine { context: "running a search", detail: e.to_string() }
}

impl IndexService for Indices {
    fn catalog(&self) -> Result<Vec<(String, IndexMeta)>, DataError> {
        self.catalog_metas()
    }

    fn create_index(&self, name: String, new: NewIndex) -> BoxFuture<'_, Result<IndexMeta, DataError>> {
        Box::pin(self.create(name, new))
    }

    fn delete_indices(&self, names: Vec<String>) -> BoxFuture<'_, Result<(), DataError>> {
        Box::pin(self.delete(names))
    }

    fn update_metadata(&self, changes: Vec<MetaChange>) -> BoxFuture<'_, Result<(), DataError>> {
        Box::pin(self.update_meta(changes))
    }

    fn write(&self, request: WriteRequest) -> BoxFuture<'_, Vec<Result<WriteOutcome, DataError>>> {
        Box::pin(self.write_docs(request))
    }

    fn get(&self, index: &str, id: &str) -> Result<Option<StoredDoc>, DataError> {
        self.store.document(index, id).map_err(DataError::from)
    }

    fn search(
        &self,
        indices: Vec<String>,
        request: SearchRequest,
    ) -> BoxFuture<'_, Result<SearchResponse, IndexError>> {
        let shards = self.shards_of(&indices);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                Indices::with_indices(&shards, |refs| bulwark_index::search_many(refs, &request))
            })
            .await
            .map_err(interrupted)?
        })
    }

    fn count(
        &self,
        indices: Vec<String>,
        query: Query,
        restrictions: Restrictions,
    ) -> BoxFuture<'_, Result<u64, IndexError>> {
        let shards = self.shards_of(&indices);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                Indices::with_indices(&shards, |refs| {
                    bulwark_index::count_many_restricted(refs, &query, &restrictions)
                })
            })
            .await
            .map_err(interrupted)?
        })
    }

    fn matching(
        &self,
        index: &str,
        docs: Vec<(String, Value)>,
        filter: Query,
    ) -> BoxFuture<'_, Result<Vec<bool>, IndexError>> {
        let mapping = self.shard(index).map(|s| s.read().mapping().clone());
        Box::pin(async move {
            // Without a search index there is no mapping to read the filter with: nothing matches.
            let Some(mapping) = mapping else { return Ok(vec![false; docs.len()]) };
            tokio::task::spawn_blocking(move || bulwark_index::matching(&mapping, &docs, &filter))
                .await
                .map_err(interrupted)?
        })
    }

    fn refresh(&self, indices: Vec<String>) -> BoxFuture<'_, Result<(), DataError>> {
        let shards = self.shards_of(&indices);
        Box::pin(async move {
            for shard in shards {
                tokio::task::spawn_blocking(move || shard.refresh())
                    .await
                    .map_err(|e| DataError::Node(format!("refresh was interrupted: {e}")))??;
            }
            Ok(())
        })
    }

    fn mapping(&self, index: &str) -> Option<Value> {
        self.shard(index).map(|s| s.read().mapping().to_json())
    }

    fn stats(&self, index: &str) -> IndexStats {
        match self.shard(index) {
            Some(s) => IndexStats { docs: s.read().doc_count(), store_bytes: s.disk_bytes() },
            None => IndexStats::default(),
        }
    }

    fn node_stats(&self) -> NodeStats {
        let shards = self.all_shards();
        let (resident_bytes, virtual_bytes, open_file_descriptors) = self.process();
        NodeStats {
            node_id: bulwark_rest::api::coordination::node_id(
                self.store.cluster_uuid(),
                self.store.node_id(),
            ),
            docs: shards.iter().map(|s| s.read().doc_count()).sum(),
            store_bytes: shards.iter().map(|s| s.disk_bytes()).sum(),
            resident_bytes,
            virtual_bytes,
            open_file_descriptors,
            start_time_ms: self.start_ms,
            uptime_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}
