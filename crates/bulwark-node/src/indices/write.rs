//! Document writes: check each document against its index's mapping (adding dynamically
//! mapped fields), write every allowed item in one `Command::Batch` through the store (with the
//! grown mappings, so mapping and documents are durable together), then apply the acknowledged
//! ones to tantivy in one pass per index.
//!
//! An `_update` reads the current document from the store and writes the merged one on the
//! condition that the document has not changed since (`if_seq_no`); on a concurrent change it is
//! retried `retry_on_conflict` times. An update of a document an earlier item of the same
//! request wrote waits for a following round, so that it reads that write.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use bulwark_rest::indices::DataError;
use bulwark_rest::indices::{
    IfMatch, IndexMeta, Refresh, UpdateOp, WriteItem, WriteOp, WriteOutcome, WriteRequest, WriteResult,
};
use bulwark_store::{Command, CommandResponse, DocOp, DocOutcome, DocVersion};
use serde_json::Value;

use super::Indices;
use super::shard::{Applied, Shard, Ticket};

/// An item still to be carried out.
struct Pending {
    pos: usize,
    item: WriteItem,
    retries_left: u32,
}

/// What an item writes.
enum Plan {
    Put { source: Arc<Value>, create: bool, guard: IfMatch, by_user: bool, update: bool },
    Delete { guard: IfMatch },
}

/// An item planned into this round's batch.
struct Planned {
    pending: Pending,
    id: String,
    plan: Plan,
}

/// The result of one round: items for the next round.
type Deferred = Vec<Pending>;

/// `first`, then `sized` (each with its size), cut into log entries of at most `budget` bytes
/// (an item larger than the budget is an entry alone; `first` counts for nothing), in order.
fn into_entries<T>(first: Vec<T>, sized: impl IntoIterator<Item = (T, usize)>, budget: usize) -> Vec<Vec<T>> {
    let mut entries = Vec::new();
    let (mut entry, mut bytes) = (first, 0usize);
    for (item, size) in sized {
        if bytes > 0 && bytes.saturating_add(size) > budget {
            entries.push(std::mem::take(&mut entry));
            bytes = 0;
        }
        bytes = bytes.saturating_add(size);
        entry.push(item);
    }
    entries.push(entry);
    entries
}

fn index_not_found(name: &str) -> DataError {
    DataError::IndexNotFound(name.to_owned())
}

fn conflict(id: &str, plan: &Plan, current: Option<DocVersion>) -> DataError {
    let (guard, create) = match plan {
        Plan::Put { guard, create, .. } => (*guard, *create),
        Plan::Delete { guard } => (*guard, false),
    };
    let reason = match (guard.seq_no, current) {
        (Some(s), Some(c)) => format!(
            "[{id}]: version conflict, required seqNo [{s}], primary term [{}]. current document has seqNo [{}] and primary term [{}]",
            guard.primary_term.unwrap_or(0),
            c.seq_no,
            c.primary_term
        ),
        (Some(s), None) => format!(
            "[{id}]: version conflict, required seqNo [{s}], primary term [{}]. but no document was found",
            guard.primary_term.unwrap_or(0)
        ),
        (None, c) if create => format!(
            "[{id}]: version conflict, document already exists (current version [{}])",
            c.map_or(0, |c| c.version)
        ),
        (None, _) => format!("[{id}]: version conflict"),
    };
    DataError::VersionConflict(reason)
}

/// Merges `patch` into `target` as Elasticsearch's partial update does (objects recursively,
/// everything else replaced); true if anything changed.
pub(crate) fn merge(target: &mut Value, patch: &Value) -> bool {
    let (Value::Object(t), Value::Object(p)) = (&mut *target, patch) else {
        let changed = target != patch;
        *target = patch.clone();
        return changed;
    };
    let mut changed = false;
    for (k, v) in p {
        match t.get_mut(k) {
            Some(existing) if existing.is_object() && v.is_object() => changed |= merge(existing, v),
            Some(existing) => {
                if existing != v {
                    *existing = v.clone();
                    changed = true;
                }
            }
            None => {
                t.insert(k.clone(), v.clone());
                changed = true;
            }
        }
    }
    changed
}

impl Indices {
    /// Carries out `request`; one answer per item, in order.
    pub(crate) async fn write_docs(&self, request: WriteRequest) -> Vec<Result<WriteOutcome, DataError>> {
        let WriteRequest { items, refresh, may_create } = request;
        let mut results: Vec<Option<Result<WriteOutcome, DataError>>> =
            (0..items.len()).map(|_| None).collect();
        let mut create_failed: BTreeMap<String, DataError> = BTreeMap::new();
        for (name, new) in may_create {
            if self.shard(&name).is_none() {
                match self.create(name.clone(), new).await {
                    Ok(_) => tracing::info!(index = %name, "created index on first write"),
                    Err(DataError::AlreadyExists { .. }) => {}
                    Err(e) => {
                        create_failed.insert(name, e);
                    }
                }
            }
        }
        let mut pending: Vec<Pending> = items
            .into_iter()
            .enumerate()
            .map(|(pos, item)| {
                let retries_left = match &item.op {
                    WriteOp::Update(u) => u.retry_on_conflict,
                    _ => 0,
                };
                Pending { pos, item, retries_left }
            })
            .collect();
        let mut touched: BTreeMap<String, (Arc<Shard>, u64)> = BTreeMap::new();
        while !pending.is_empty() {
            pending = self.round(pending, &mut results, &create_failed, &mut touched).await;
            pending.sort_by_key(|p| p.pos);
        }
        match refresh {
            Refresh::No => {}
            Refresh::Immediate => {
                for (shard, _) in touched.values() {
                    let shard = shard.clone();
                    let done = tokio::task::spawn_blocking(move || shard.refresh()).await;
                    if let Ok(Err(e)) = done {
                        tracing::warn!("refreshing after a write failed: {e}");
                    }
                }
            }
            Refresh::WaitFor => {
                for (shard, generation) in touched.values() {
                    shard.refreshed(*generation).await;
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(DataError::Node("the write was not carried out".into()))))
            .collect()
    }

    /// Plans, writes and applies one round of items; returns the items left for another.
    async fn round(
        &self,
        round: Vec<Pending>,
        results: &mut [Option<Result<WriteOutcome, DataError>>],
        create_failed: &BTreeMap<String, DataError>,
        touched: &mut BTreeMap<String, (Arc<Shard>, u64)>,
    ) -> Deferred {
        let mut deferred = Vec::new();
        let mut keys: HashSet<(String, String)> = HashSet::new();
        let mut blocked: HashSet<(String, String)> = HashSet::new();
        let mut tickets: BTreeMap<String, Ticket> = BTreeMap::new();
        let mut grown: BTreeSet<String> = BTreeSet::new();
        let mut planned: Vec<Planned> = Vec::new();

        for mut p in round {
            let index = p.item.index.clone();
            let Some(shard) = self.shard(&index) else {
                let e = create_failed.get(&index).cloned().unwrap_or_else(|| index_not_found(&index));
                results[p.pos] = Some(Err(e));
                continue;
            };
            if shard.is_closed() {
                results[p.pos] = Some(Err(index_closed()));
                continue;
            }
            let id = p.item.id.get_or_insert_with(|| self.ids.next()).clone();
            let key = (index.clone(), id.clone());
            let is_update = matches!(p.item.op, WriteOp::Update(_));
            if blocked.contains(&key) || (is_update && keys.contains(&key)) {
                blocked.insert(key);
                deferred.push(p);
                continue;
            }
            keys.insert(key);
            let plan = match self.plan(&shard, &id, &p.item.op) {
                Ok(Ok((plan, grew))) => {
                    if grew {
                        grown.insert(index.clone());
                    }
                    plan
                }
                Ok(Err(outcome)) => {
                    results[p.pos] = Some(Ok(outcome));
                    continue;
                }
                Err(e) => {
                    results[p.pos] = Some(Err(e));
                    continue;
                }
            };
            tickets.entry(index).or_insert_with(|| shard.begin());
            planned.push(Planned { pending: p, id, plan });
        }
        if planned.is_empty() {
            return deferred;
        }

        // Mapping growth goes into the same batch, under each index's metadata lock (taken in
        // name order), so that the last metadata written holds every field added before it.
        let mut meta_guards = Vec::new();
        let mut cmds = Vec::with_capacity(grown.len());
        for name in &grown {
            let Some(ticket) = tickets.get(name) else { continue };
            let shard = ticket.shard().clone();
            meta_guards.push(shard.meta.clone().lock_owned().await);
            match self.metadata(name) {
                Ok(Some(mut meta)) => {
                    meta.mappings = shard.read().mapping().to_json();
                    match serde_json::to_value(&meta) {
                        Ok(metadata) => {
                            cmds.push(Command::UpdateIndexMetadata { name: name.clone(), metadata })
                        }
                        Err(e) => tracing::warn!(index = %name, "cannot encode index metadata: {e}"),
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(index = %name, "cannot read index metadata: {e}"),
            }
        }
        let meta_count = cmds.len();
        // In a cluster, log entries of about `ENTRY_BYTES` each (the first with the mapping
        // growth): one entry of several megabytes would not reach a follower within a
        // replication call's deadline on a busy host, and the follower would stand for
        // election. A node alone writes one entry (each entry is a commit of its own).
        let budget = if self.store.members().len() > 1 { bulwark_store::ENTRY_BYTES } else { usize::MAX };
        let sized = planned.iter().map(|p| {
            let index = p.pending.item.index.clone();
            let id = p.id.clone();
            let cmd = match &p.plan {
                Plan::Put { source, create, guard, .. } => Command::IndexDocument {
                    index,
                    id,
                    source: Arc::clone(source),
                    op: if *create { DocOp::Create } else { DocOp::Index },
                    if_seq_no: guard.seq_no,
                    if_primary_term: guard.primary_term,
                },
                Plan::Delete { guard } => Command::DeleteDocument {
                    index,
                    id,
                    if_seq_no: guard.seq_no,
                    if_primary_term: guard.primary_term,
                },
            };
            // A node alone cuts nothing: the log store sizes the entry's buffer itself, so the
            // documents are not walked twice.
            let size = if budget == usize::MAX { 0 } else { cmd.encoded_size_hint() };
            (cmd, size)
        });
        let entries = into_entries(cmds, sized, budget);

        // Entries one after the other; the items of an entry that failed and of those after it
        // answer its error (Elasticsearch's `_bulk` is not atomic either).
        let mut responses = Vec::with_capacity(meta_count + planned.len());
        let mut failed = None;
        for entry in entries {
            match self.store.write(Command::Batch(entry)).await {
                Ok(CommandResponse::Batch(r)) => responses.extend(r),
                Ok(other) => {
                    tracing::error!("the store answered a batch with {other:?}");
                    failed = Some(DataError::Node("unexpected answer to a batch".into()));
                    break;
                }
                Err(e) => {
                    if matches!(e, bulwark_store::StoreError::Unavailable { .. }) {
                        // The cluster's state (no majority), not a failure of this node.
                        tracing::warn!("a document write was refused: {e}");
                    } else {
                        tracing::error!("a document write failed in the store: {e}");
                    }
                    failed = Some(DataError::from(e));
                    break;
                }
            }
        }
        if let Some(err) = failed {
            for p in planned.iter().skip(responses.len().saturating_sub(meta_count)) {
                results[p.pending.pos] = Some(Err(err.clone()));
            }
        }
        drop(meta_guards);
        // Committed in the store, not yet in the search index (tests kill the node here).
        bulwark_keystore::crash_point("indices.store-committed");

        let mut changes: BTreeMap<String, Vec<Applied>> = BTreeMap::new();
        for (p, resp) in planned.into_iter().zip(responses.into_iter().skip(meta_count)) {
            let Planned { pending, id, plan } = p;
            let index = pending.item.index.clone();
            let outcome = match resp {
                CommandResponse::Doc(r) => {
                    let result = match r.result {
                        DocOutcome::Created => WriteResult::Created,
                        DocOutcome::Updated => WriteResult::Updated,
                        DocOutcome::Deleted => WriteResult::Deleted,
                        DocOutcome::NotFound => WriteResult::NotFound,
                    };
                    let source = match plan {
                        Plan::Put { source, update, .. } => {
                            let returned = update.then(|| Value::clone(&source));
                            changes.entry(index.clone()).or_default().push(Applied::Put {
                                id: id.clone(),
                                source,
                                seq_no: r.seq_no,
                            });
                            returned
                        }
                        Plan::Delete { .. } => {
                            if result == WriteResult::Deleted {
                                changes
                                    .entry(index.clone())
                                    .or_default()
                                    .push(Applied::Delete { id: id.clone(), seq_no: r.seq_no });
                            }
                            None
                        }
                    };
                    Ok(WriteOutcome {
                        index,
                        id,
                        result,
                        version: r.version,
                        seq_no: r.seq_no,
                        primary_term: r.primary_term,
                        source,
                    })
                }
                CommandResponse::VersionConflict { current } => {
                    let internal = matches!(plan, Plan::Put { update: true, by_user: false, .. });
                    if internal && pending.retries_left > 0 {
                        deferred.push(Pending { retries_left: pending.retries_left - 1, ..pending });
                        continue;
                    }
                    Err(conflict(&id, &plan, current))
                }
                CommandResponse::NotFound => Err(index_not_found(&index)),
                other => {
                    tracing::error!("the store answered a document write with {other:?}");
                    Err(DataError::Node("unexpected answer to a document write".into()))
                }
            };
            results[pending.pos] = Some(outcome);
        }

        for (name, ticket) in tickets {
            let shard = ticket.shard().clone();
            let list = changes.remove(&name).unwrap_or_default();
            let applied = tokio::task::spawn_blocking(move || ticket.apply(list)).await;
            match applied {
                Ok(generation) => {
                    touched.insert(name, (shard, generation));
                }
                Err(e) => tracing::error!(index = %name, "applying writes to the search index failed: {e}"),
            }
        }
        deferred
    }

    /// What `op` on document `id` writes: a plan (and whether the mapping grew), or an outcome
    /// reached without writing (a no-op update).
    fn plan(
        &self,
        shard: &Shard,
        id: &str,
        op: &WriteOp,
    ) -> Result<Result<(Plan, bool), WriteOutcome>, DataError> {
        match op {
            WriteOp::Index { source, create, if_match } => {
                let grew = check(shard, id, source)?;
                let plan = Plan::Put {
                    source: Arc::clone(source),
                    create: *create,
                    guard: *if_match,
                    by_user: true,
                    update: false,
                };
                Ok(Ok((plan, grew)))
            }
            WriteOp::Delete { if_match } => Ok(Ok((Plan::Delete { guard: *if_match }, false))),
            WriteOp::Update(u) => self.plan_update(shard, id, u),
        }
    }

    fn plan_update(
        &self,
        shard: &Shard,
        id: &str,
        u: &UpdateOp,
    ) -> Result<Result<(Plan, bool), WriteOutcome>, DataError> {
        let current = self.store.document(&shard.name, id).map_err(DataError::from)?;
        let by_user = u.if_match.seq_no.is_some();
        let (source, create, guard) = match current {
            Some(doc) => {
                let mut merged = doc.source.clone();
                let changed = match &u.doc {
                    Some(patch) => merge(&mut merged, patch),
                    None => false,
                };
                if !changed && u.detect_noop {
                    return Ok(Err(WriteOutcome {
                        index: shard.name.clone(),
                        id: id.to_owned(),
                        result: WriteResult::Noop,
                        version: doc.version,
                        seq_no: doc.seq_no,
                        primary_term: doc.primary_term,
                        source: Some(doc.source),
                    }));
                }
                let guard = if by_user {
                    u.if_match
                } else {
                    IfMatch { seq_no: Some(doc.seq_no), primary_term: Some(doc.primary_term) }
                };
                (merged, false, guard)
            }
            None => {
                let source = match (&u.upsert, u.doc_as_upsert, &u.doc) {
                    (Some(upsert), _, _) => upsert.clone(),
                    (None, true, Some(doc)) => doc.clone(),
                    _ => {
                        return Err(DataError::DocumentMissing(id.to_owned()));
                    }
                };
                (source, !by_user, u.if_match)
            }
        };
        let grew = check(shard, id, &source)?;
        Ok(Ok((Plan::Put { source: Arc::new(source), create, guard, by_user, update: true }, grew)))
    }

    /// The stored metadata of `name`.
    pub(crate) fn metadata(&self, name: &str) -> Result<Option<IndexMeta>, DataError> {
        match self.store.index(name).map_err(DataError::from)? {
            None => Ok(None),
            Some(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|e| DataError::Node(format!("the metadata of index [{name}] is unreadable: {e}"))),
        }
    }
}

/// Checks `source` against the shard's mapping and adds the fields dynamic mapping maps;
/// true if the mapping grew.
fn check(shard: &Shard, id: &str, source: &Value) -> Result<bool, DataError> {
    let update = shard.read().check(id, source)?;
    match update {
        Some(u) => {
            shard.write().put_mapping(&u)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

fn index_closed() -> DataError {
    DataError::IndexClosed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn partial_updates_merge_objects_and_replace_the_rest() {
        let mut doc = json!({"a": 1, "o": {"x": 1, "y": 2}, "l": [1, 2]});
        assert!(merge(&mut doc, &json!({"o": {"y": 3}, "l": [3], "n": true})));
        assert_eq!(doc, json!({"a": 1, "o": {"x": 1, "y": 3}, "l": [3], "n": true}));
        assert!(!merge(&mut doc, &json!({"a": 1, "o": {"x": 1}})));
    }

    #[test]
    fn writes_are_cut_into_entries_within_the_budget_in_order() {
        // The first entry also carries what comes first (the mapping growth), at no cost.
        let entries =
            into_entries(vec!["meta"], [("a", 40), ("b", 40), ("c", 40), ("d", 100), ("e", 10)], 100);
        assert_eq!(entries, vec![vec!["meta", "a", "b"], vec!["c"], vec!["d"], vec!["e"]]);
        // One item over the budget is an entry alone; nothing is ever an empty entry.
        assert_eq!(into_entries(vec![], [("x", 500), ("y", 1)], 100), vec![vec!["x"], vec!["y"]]);
        assert_eq!(into_entries(Vec::<&str>::new(), [], 100), vec![Vec::<&str>::new()]);
        // Unbounded: one entry, as a node alone writes.
        assert_eq!(into_entries(vec![], [("a", 1 << 30), ("b", 1 << 30)], usize::MAX).len(), 1);
    }
}
