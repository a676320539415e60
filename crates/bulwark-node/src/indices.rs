//! The index service: one tantivy index per Elasticsearch index, derived from the store.
//!
//! The store (Raft log + state machine) is the truth for index metadata and documents; a write
//! is acknowledged once the store applied it, then this service applies it to tantivy before the
//! answer goes out. Searches see writes after a refresh: every second in the background, or on
//! `refresh=true|wait_for`.
//!
//! On start every search index is rebuilt from the store (`<path.data>/indices/` is emptied
//! first). That is simple and always consistent after a crash — there is nothing to reconcile —
//! at the cost of a start time that grows with the data (see `docs/architecture.md`). Index
//! directories are named by index UUID, so an index deleted and created again under the same
//! name never shares files with its predecessor.

mod admin;
mod follow;
mod ids;
mod shard;
mod write;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bulwark_index::{Index, IndexError, Mapping, Query, Restrictions, SearchRequest, SearchResponse};
use bulwark_rest::ApiError;
use bulwark_rest::indices::{
    AliasMeta, BoxFuture, IndexMeta, IndexService, IndexStats, MetaChange, NodeStats, WriteOutcome,
    WriteRequest,
};
use bulwark_store::{Store, StoredDoc};
use serde_json::Value;

use crate::NodeError;
use ids::IdGenerator;
use shard::Shard;

/// How often writes become visible without being asked (`index.refresh_interval`).
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

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
}

impl Indices {
    /// Rebuilds every index of the store under `<data>/indices` (blocking: call it off the
    /// async executor) and starts serving them.
    pub fn open(store: Arc<Store>, data: &Path) -> Result<Arc<Indices>, NodeError> {
        let started = Instant::now();
        let root = data.join("indices");
        if root.exists() {
            std::fs::remove_dir_all(&root)
                .map_err(NodeError::io("cannot empty the search index directory", &root))?;
        }
        crate::files::create_dir(&root, 0o700)?;
        let indices = Indices {
            store: store.clone(),
            root,
            shards: RwLock::new(HashMap::new()),
            admin: tokio::sync::Mutex::new(()),
            ids: IdGenerator::new().map_err(NodeError::random("cannot make document ids"))?,
            started,
            start_ms: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
        };
        let stored = store.indices().map_err(NodeError::store("cannot read the indices from the store"))?;
        let mut docs_total = 0u64;
        for (name, v) in &stored {
            let meta: IndexMeta = serde_json::from_value(v.clone()).map_err(|e| {
                NodeError::Config(format!("the metadata of index [{name}] in the store is unreadable: {e}"))
            })?;
            let docs = indices.rebuild(name, &meta)?;
            docs_total += docs;
        }
        tracing::info!(
            indices = stored.len(),
            documents = docs_total,
            millis = started.elapsed().as_millis() as u64,
            "search indices rebuilt from the store"
        );
        Ok(Arc::new(indices))
    }

    /// Recreates one index from the store's documents.
    fn rebuild(&self, name: &str, meta: &IndexMeta) -> Result<u64, NodeError> {
        let engine = |source: IndexError| NodeError::Index {
            context: format!("cannot rebuild the search index of [{name}]"),
            source,
        };
        let mapping = if meta.mappings.is_null() {
            Mapping::new()
        } else {
            Mapping::from_json(&meta.mappings).unwrap_or_else(|e| {
                tracing::warn!(index = %name, "the stored mapping is unreadable ({e}); mapping fields dynamically");
                Mapping::new()
            })
        };
        let shard = Shard::create(name, &meta.uuid, &self.root.join(&meta.uuid), mapping, meta.closed)
            .map_err(engine)?;
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
            index.refresh().map_err(engine)?;
        }
        self.insert(name, Arc::new(shard));
        Ok(indexed)
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
                let due: Vec<Arc<Shard>> =
                    me.all_shards().into_iter().filter(|s| s.needs_refresh()).collect();
                drop(me);
                for shard in due {
                    let name = shard.name.clone();
                    match tokio::task::spawn_blocking(move || shard.refresh()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!(index = %name, "periodic refresh failed: {e}"),
                        Err(e) => tracing::warn!(index = %name, "periodic refresh was interrupted: {e}"),
                    }
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
    fn catalog_metas(&self) -> Result<Vec<(String, IndexMeta)>, ApiError> {
        let all = self.store.indices().map_err(ApiError::from)?;
        all.into_iter()
            .map(|(name, v)| match serde_json::from_value(v) {
                Ok(meta) => Ok((name, meta)),
                Err(e) => Err(ApiError::store(format!("the metadata of index [{name}] is unreadable: {e}"))),
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
    fn catalog(&self) -> Result<Vec<(String, IndexMeta)>, ApiError> {
        self.catalog_metas()
    }

    fn create_index(
        &self,
        name: String,
        settings: BTreeMap<String, Value>,
        mappings: Option<Value>,
        aliases: BTreeMap<String, AliasMeta>,
    ) -> BoxFuture<'_, Result<IndexMeta, ApiError>> {
        Box::pin(self.create(name, settings, mappings, aliases))
    }

    fn delete_indices(&self, names: Vec<String>) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(self.delete(names))
    }

    fn update_metadata(&self, changes: Vec<MetaChange>) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(self.update_meta(changes))
    }

    fn write(&self, request: WriteRequest) -> BoxFuture<'_, Vec<Result<WriteOutcome, ApiError>>> {
        Box::pin(self.write_docs(request))
    }

    fn get(&self, index: &str, id: &str) -> Result<Option<StoredDoc>, ApiError> {
        self.store.document(index, id).map_err(ApiError::from)
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

    fn refresh(&self, indices: Vec<String>) -> BoxFuture<'_, Result<(), ApiError>> {
        let shards = self.shards_of(&indices);
        Box::pin(async move {
            for shard in shards {
                tokio::task::spawn_blocking(move || shard.refresh())
                    .await
                    .map_err(|e| ApiError::store(format!("refresh was interrupted: {e}")))??;
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
