//! Index administration: creating and deleting indices, and changing their metadata (mapping,
//! aliases, open/closed) through the store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use bulwark_index::Mapping;
use bulwark_rest::indices::DataError;
use bulwark_rest::indices::{IndexMeta, MetaChange, NewIndex};
use bulwark_store::{Command, CommandResponse};
use serde_json::Value;

use super::Indices;
use super::ids::new_uuid;
use super::shard::Shard;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
}

fn already_exists(name: &str, uuid: &str) -> DataError {
    DataError::AlreadyExists { name: name.to_owned(), uuid: uuid.to_owned() }
}

fn not_found(name: &str) -> DataError {
    DataError::IndexNotFound(name.to_owned())
}

fn encode(meta: &IndexMeta) -> Result<Value, DataError> {
    serde_json::to_value(meta).map_err(|e| DataError::Node(format!("cannot encode index metadata: {e}")))
}

/// Stops using a shard and removes its files (off the async executor).
pub(super) async fn discard(shard: Arc<Shard>) {
    shard.deleted.store(true, Ordering::Relaxed);
    let dir = shard.dir.clone();
    drop(shard);
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
}

impl Indices {
    /// Creates index `name` (a valid name): its search index first, then its metadata in the
    /// store; the index exists once the store has it.
    pub(crate) async fn create(&self, name: String, new: NewIndex) -> Result<IndexMeta, DataError> {
        let NewIndex { mut settings, mappings, aliases, data_stream } = new;
        let limit = bulwark_rest::indices::total_fields_limit(&settings);
        let mut mapping = match &mappings {
            Some(v) => Mapping::from_json_limited(v, limit)?,
            None => Mapping::new(),
        };
        mapping.set_total_fields_limit(limit);
        settings.entry("number_of_shards".into()).or_insert_with(|| Value::from("1"));
        settings.entry("number_of_replicas".into()).or_insert_with(|| Value::from("1"));
        let _admin = self.admin.lock().await;
        if let Some(existing) = self.metadata(&name)? {
            return Err(already_exists(&name, &existing.uuid));
        }
        let meta = IndexMeta {
            uuid: new_uuid().map_err(|e| DataError::Node(e.to_string()))?,
            creation_date: now_ms(),
            settings,
            mappings: mapping.to_json(),
            aliases,
            closed: false,
            data_stream,
        };
        let metadata = encode(&meta)?;
        let (n, u, dir) = (name.clone(), meta.uuid.clone(), self.root.join(&meta.uuid));
        let followed = self.followed.clone();
        let shard =
            tokio::task::spawn_blocking(move || Shard::create(&n, &u, &dir, mapping, false, &followed))
                .await
                .map_err(|e| DataError::Node(format!("creating the search index was interrupted: {e}")))??;
        let shard = Arc::new(shard);
        // Visible to writers before the store has the index: a write that races the creation
        // is refused by the store (`index_not_found_exception`), never lost.
        self.insert(&name, shard.clone());
        let refused = match self.store.write(Command::CreateIndex { name: name.clone(), metadata }).await {
            Ok(CommandResponse::Index { .. }) => {
                tracing::info!(index = %name, uuid = %meta.uuid, "index created");
                return Ok(meta);
            }
            Ok(CommandResponse::AlreadyExists) => {
                let uuid = self.metadata(&name)?.map(|m| m.uuid).unwrap_or_default();
                already_exists(&name, &uuid)
            }
            Ok(other) => DataError::Node(format!("unexpected answer to an index creation: {other:?}")),
            Err(e) => DataError::from(e),
        };
        self.remove(&name);
        discard(shard).await;
        Err(refused)
    }

    /// Deletes indices with their documents.
    pub(crate) async fn delete(&self, names: Vec<String>) -> Result<(), DataError> {
        if names.is_empty() {
            return Ok(());
        }
        let _admin = self.admin.lock().await;
        let cmds = names.iter().map(|name| Command::DeleteIndex { name: name.clone() }).collect();
        self.store.write(Command::Batch(cmds)).await.map_err(DataError::from)?;
        for name in names {
            if let Some(shard) = self.remove(&name) {
                tracing::info!(index = %name, uuid = %shard.uuid, "index deleted");
                discard(shard).await;
            }
        }
        Ok(())
    }

    /// Applies metadata changes, all in one store write or none.
    pub(crate) async fn update_meta(&self, changes: Vec<MetaChange>) -> Result<(), DataError> {
        if changes.is_empty() {
            return Ok(());
        }
        let _admin = self.admin.lock().await;
        let mut by_index: BTreeMap<String, Vec<MetaChange>> = BTreeMap::new();
        for c in changes {
            let index = match &c {
                MetaChange::PutMapping { index, .. }
                | MetaChange::AddAlias { index, .. }
                | MetaChange::RemoveAlias { index, .. }
                | MetaChange::SetClosed { index, .. }
                | MetaChange::PutSettings { index, .. } => index.clone(),
            };
            by_index.entry(index).or_default().push(c);
        }
        // Locks in name order, as document writers take them.
        let mut guards = Vec::new();
        let mut updated: BTreeMap<String, (Arc<Shard>, IndexMeta, Vec<Mapping>)> = BTreeMap::new();
        for (name, list) in by_index {
            let shard = self.shard(&name).ok_or_else(|| not_found(&name))?;
            guards.push(shard.meta.clone().lock_owned().await);
            let mut meta = self.metadata(&name)?.ok_or_else(|| not_found(&name))?;
            let mut mappings = Vec::new();
            for c in list {
                match c {
                    MetaChange::PutMapping { mapping, .. } => {
                        // The update alone is not counted: the merge is, against the limit.
                        let m = Mapping::from_json_limited(&mapping, usize::MAX)?;
                        shard.read().mapping().clone().merge(&m)?;
                        mappings.push(m);
                    }
                    MetaChange::AddAlias { alias, meta: a, .. } => {
                        meta.aliases.insert(alias, a);
                    }
                    MetaChange::RemoveAlias { alias, .. } => {
                        meta.aliases.remove(&alias);
                    }
                    MetaChange::SetClosed { closed, .. } => meta.closed = closed,
                    MetaChange::PutSettings { settings, .. } => {
                        for (k, v) in settings {
                            match v {
                                Some(v) => meta.settings.insert(k, v),
                                None => meta.settings.remove(&k),
                            };
                        }
                    }
                }
            }
            updated.insert(name, (shard, meta, mappings));
        }
        self.check_write_indices(&updated)?;
        let mut cmds = Vec::new();
        for (name, (shard, meta, mappings)) in &mut updated {
            if !mappings.is_empty() {
                let mut index = shard.write();
                for m in mappings.iter() {
                    index.put_mapping(m)?;
                }
                meta.mappings = index.mapping().to_json();
            }
            cmds.push(Command::UpdateIndexMetadata { name: name.clone(), metadata: encode(meta)? });
        }
        self.store.write(Command::Batch(cmds)).await.map_err(DataError::from)?;
        for (shard, meta, _) in updated.values() {
            shard.closed.store(meta.closed, Ordering::Relaxed);
            shard.write().set_total_fields_limit(meta.total_fields_limit());
        }
        Ok(())
    }

    /// Refuses an alias with more than one write index.
    fn check_write_indices(
        &self,
        updated: &BTreeMap<String, (Arc<Shard>, IndexMeta, Vec<Mapping>)>,
    ) -> Result<(), DataError> {
        let mut writers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, meta) in self.catalog_metas()? {
            let meta = updated.get(&name).map_or(meta, |(_, m, _)| m.clone());
            for (alias, a) in &meta.aliases {
                if a.is_write_index == Some(true) {
                    writers.entry(alias.clone()).or_default().push(name.clone());
                }
            }
        }
        match writers.iter().find(|(_, w)| w.len() > 1) {
            Some((alias, w)) => {
                Err(DataError::SeveralWriteIndices { alias: alias.clone(), indices: w.clone() })
            }
            None => Ok(()),
        }
    }
}
