//! Every node's search indices follow the committed log: in a cluster of several nodes, a write
//! carried out through another node reaches this node only as an applied store entry, so the
//! index service applies the store's events (documents, index creation and deletion) to its
//! shards. Applying a document twice (the node that wrote it also applies it directly) is
//! harmless: the shard keeps the newest `_seq_no` of each id.
//!
//! The follower also keeps the node's position in the store (`Indices::followed`): after the
//! events of a batch are applied, it moves to the batch's last `Through` marker, so every entry up
//! to it has reached the shards — by this follower, or on a single node by the writer that made
//! it (which began its ticket before its entry existed; see `Shard::refresh`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use bulwark_store::AppliedEvent;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::Indices;
use super::admin::discard;
use super::shard::Applied;

/// At most this many events are applied in one pass.
const BATCH: usize = 1024;

impl Indices {
    /// Applies the store's events to the search indices, until the service is dropped.
    ///
    /// `rx` must be subscribed before the indices were built from the store: an entry applied
    /// in between would otherwise reach neither (a restarted node catching up applies entries
    /// from its first moment, while its indices are still being rebuilt).
    pub fn spawn_follower(self: &Arc<Self>, mut rx: tokio::sync::broadcast::Receiver<AppliedEvent>) {
        let weak: Weak<Indices> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let first = rx.recv().await;
                let mut events = Vec::new();
                let mut rebuild = false;
                match first {
                    Ok(e) => events.push(e),
                    Err(RecvError::Lagged(_)) => rebuild = true,
                    Err(RecvError::Closed) => return,
                }
                while events.len() < BATCH {
                    match rx.try_recv() {
                        Ok(e) => events.push(e),
                        Err(TryRecvError::Lagged(_)) => rebuild = true,
                        Err(_) => break,
                    }
                }
                let through = events
                    .iter()
                    .filter_map(|e| match e {
                        AppliedEvent::Through { log_index } => Some(*log_index),
                        _ => None,
                    })
                    .max();
                let Some(me) = weak.upgrade() else { return };
                let mut reached = through.unwrap_or(0);
                if me.store.members().len() <= 1 && me.store.leader() == Some(me.store.node_id()) {
                    // The leader of a cluster of one made every write itself, and applied it to
                    // its shards as it made it; after missed events the store's position is as
                    // good as any marker. A node still joining also sees a membership of one (or
                    // none) until the cluster's reaches it, but it does not lead: it applies what
                    // it receives.
                    if rebuild && let Ok(applied) = me.store.applied_index() {
                        reached = reached.max(applied);
                    }
                } else if rebuild || events.iter().any(|e| matches!(e, AppliedEvent::Reset)) {
                    // Read before the rebuild reads the state: everything up to it is in it.
                    if let Ok(applied) = me.store.applied_index() {
                        reached = reached.max(applied);
                    }
                    me.follow_all().await;
                } else {
                    me.follow(events).await;
                }
                me.followed.fetch_max(reached, Ordering::AcqRel);
                me.followed_moved.notify_waiters();
            }
        });
    }

    async fn follow(self: &Arc<Self>, events: Vec<AppliedEvent>) {
        let mut docs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in events {
            match e {
                AppliedEvent::Document { index, id } => docs.entry(index).or_default().push(id),
                AppliedEvent::Index { name } => {
                    // Documents before the index change belong to the index as it was.
                    self.apply_docs(std::mem::take(&mut docs)).await;
                    self.follow_index(&name).await;
                }
                AppliedEvent::Entry { .. } | AppliedEvent::Reset | AppliedEvent::Through { .. } => {}
            }
        }
        self.apply_docs(docs).await;
    }

    async fn apply_docs(self: &Arc<Self>, docs: BTreeMap<String, Vec<String>>) {
        for (index, ids) in docs {
            let Some(shard) = self.shard(&index) else { continue };
            let mut changes = Vec::with_capacity(ids.len());
            for id in ids {
                match self.store.document(&index, &id) {
                    Ok(Some(doc)) => {
                        changes.push(Applied::Put { id, source: Arc::new(doc.source), seq_no: doc.seq_no })
                    }
                    Ok(None) => changes.push(Applied::Delete { id, seq_no: 0 }),
                    Err(e) => tracing::warn!(index = %index, id, "cannot read a replicated document: {e}"),
                }
            }
            let ticket = shard.begin();
            let _ = tokio::task::spawn_blocking(move || ticket.apply(changes)).await;
        }
    }

    /// Creates, replaces or removes this node's shard of `name` as the store now has it.
    async fn follow_index(self: &Arc<Self>, name: &str) {
        let _admin = self.admin.lock().await;
        let meta = match self.metadata(name) {
            Ok(m) => m,
            Err(e) => return tracing::warn!(index = %name, "cannot follow an index change: {e}"),
        };
        let shard = self.shard(name);
        match (meta, shard) {
            (None, Some(shard)) => {
                self.remove(name);
                tracing::info!(index = %name, "index deleted (replicated)");
                discard(shard).await;
            }
            (Some(meta), Some(shard)) if shard.uuid == meta.uuid => {
                shard.closed.store(meta.closed, std::sync::atomic::Ordering::Relaxed);
                // Fields mapped on the node that wrote (dynamic mapping) arrive as a metadata
                // change before the documents that use them. They were counted there: taken
                // whatever the limit, which then applies to later updates.
                let mut index = shard.write();
                if !meta.mappings.is_null() && meta.mappings != index.mapping().to_json() {
                    index.set_total_fields_limit(usize::MAX);
                    let grown = bulwark_index::Mapping::from_json_limited(&meta.mappings, usize::MAX)
                        .map_err(|e| e.to_string())
                        .and_then(|m| index.put_mapping(&m).map_err(|e| e.to_string()));
                    if let Err(e) = grown {
                        tracing::warn!(index = %name, "cannot apply a replicated mapping: {e}");
                    }
                }
                index.set_total_fields_limit(meta.total_fields_limit());
                drop(index);
            }
            (Some(meta), old) => {
                if let Some(old) = old {
                    self.remove(name);
                    discard(old).await;
                }
                let (me, n) = (self.clone(), name.to_owned());
                match tokio::task::spawn_blocking(move || me.rebuild(&n, &meta)).await {
                    Ok(Ok(_)) => tracing::info!(index = %name, "index created (replicated)"),
                    Ok(Err(e)) => tracing::warn!(index = %name, "cannot build a replicated index: {e}"),
                    Err(e) => {
                        tracing::warn!(index = %name, "building a replicated index was interrupted: {e}")
                    }
                }
            }
            (None, None) => {}
        }
    }

    /// Rebuilds every index from the store (after a snapshot replaced the state, or when events
    /// were missed).
    async fn follow_all(self: &Arc<Self>) {
        let names: Vec<String> = {
            let mut n: Vec<String> =
                self.store.indices().map(|v| v.into_iter().map(|(k, _)| k).collect()).unwrap_or_default();
            n.extend(self.all_shards().iter().map(|s| s.name.clone()));
            n.sort();
            n.dedup();
            n
        };
        for name in names {
            if let Some(shard) = self.shard(&name) {
                let _admin = self.admin.lock().await;
                self.remove(&name);
                discard(shard).await;
            }
            self.follow_index(&name).await;
        }
    }
}
