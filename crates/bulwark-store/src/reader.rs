//! Local reads of the state machine: each call is one redb read transaction, which sees the last
//! committed apply and never waits for a writer.

use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use openraft::{LogId, StoredMembership};
use redb::{ReadOnlyTable, ReadableDatabase, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;

use crate::apply::{CodecCache, Codecs};
use crate::command::EntryKind;
use crate::db::AtPath;
use crate::document::StoredDoc;
use crate::error::StoreError;
use crate::tables::{DOCS, ENTRIES, INDICES, KEY_LAST_APPLIED, KEY_MEMBERSHIP, SM_META, SOURCE_DICTS};
use crate::types::{NodeId, NodeInfo};

/// The last applied log id and the membership, as openraft asks for them.
pub(crate) type AppliedState = (Option<LogId<NodeId>>, StoredMembership<NodeId, NodeInfo>);

/// A read handle on the state machine. Cheap to clone.
#[derive(Clone)]
pub struct StateReader {
    pub(crate) db: Arc<crate::db::Db>,
    pub(crate) path: Arc<PathBuf>,
    pub(crate) cache: Arc<EntryCache>,
    pub(crate) codecs: CodecCache,
}

/// Security entries as last read, for as long as the state has not changed since: every
/// authenticated request reads its user (or key, or token) again, and each read is a redb
/// transaction and a JSON parse. The state machine calls [`EntryCache::changed`] after every
/// commit (any commit: an entry is never served from before a change that might touch it), and
/// a read remembers the generation it began in, so a value read during a commit is kept under
/// the older generation and not served after it.
#[derive(Default)]
pub(crate) struct EntryCache {
    generation: AtomicU64,
    entries: Mutex<HashMap<EntryKind, HashMap<String, Cached>>>,
}

/// An entry (or its absence), the generation it was read in, and its typed form once a caller
/// asked for one ([`StateReader::get_entry_as`]: an `Option<T>`).
struct Cached {
    generation: u64,
    value: Option<serde_json::Value>,
    decoded: Option<Box<dyn Any + Send + Sync>>,
}

impl EntryCache {
    /// Entries kept at most; the cache starts afresh beyond (lookups of many names, e.g. a
    /// password-guessing run over user names, cannot grow it).
    const MAX: usize = 4096;

    /// The state changed: nothing read before is served again.
    pub(crate) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

impl StateReader {
    /// How many handles on the file are alive (this one included).
    pub(crate) fn handles(&self) -> usize {
        Arc::strong_count(&self.db)
    }

    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> Result<ReadOnlyTable<K, V>, StoreError> {
        let txn = self.db.begin_read().at(&self.path)?;
        txn.open_table(def).at(&self.path)
    }

    /// The security store entry `id` of `kind`.
    pub fn get_entry(&self, kind: EntryKind, id: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let generation = self.cache.generation.load(Ordering::Acquire);
        if let Some(c) = self.lock().get(&kind).and_then(|ids| ids.get(id))
            && c.generation == generation
        {
            return Ok(c.value.clone());
        }
        let value = self.read_entry(kind, id)?;
        self.remember(kind, id, Cached { generation, value: value.clone(), decoded: None });
        Ok(value)
    }

    /// The security store entry `id` of `kind` as a `T`, decoded once for as long as the state
    /// does not change (later calls clone it: no JSON to walk on every request).
    pub fn get_entry_as<T>(&self, kind: EntryKind, id: &str) -> Result<Option<T>, StoreError>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let generation = self.cache.generation.load(Ordering::Acquire);
        {
            let mut entries = self.lock();
            if let Some(c) = entries.get_mut(&kind).and_then(|ids| ids.get_mut(id))
                && c.generation == generation
            {
                if let Some(typed) = c.decoded.as_ref().and_then(|d| d.downcast_ref::<Option<T>>()) {
                    return Ok(typed.clone());
                }
                let typed: Option<T> = self.decode(kind, id, c.value.as_ref())?;
                c.decoded = Some(Box::new(typed.clone()));
                return Ok(typed);
            }
        }
        let value = self.read_entry(kind, id)?;
        let typed: Option<T> = self.decode(kind, id, value.as_ref())?;
        self.remember(kind, id, Cached { generation, value, decoded: Some(Box::new(typed.clone())) });
        Ok(typed)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<EntryKind, HashMap<String, Cached>>> {
        self.cache.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read_entry(&self, kind: EntryKind, id: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let table = self.table(ENTRIES)?;
        let row = table.get((kind.as_str(), id)).at(&self.path)?;
        row.map(|v| json(&self.path, || format!("{kind} entry [{id}]"), v.value())).transpose()
    }

    fn decode<T: DeserializeOwned>(
        &self,
        kind: EntryKind,
        id: &str,
        value: Option<&serde_json::Value>,
    ) -> Result<Option<T>, StoreError> {
        value
            .map(|v| {
                T::deserialize(v)
                    .map_err(|e| StoreError::decode(&self.path, format!("{kind} entry [{id}]"), e))
            })
            .transpose()
    }

    fn remember(&self, kind: EntryKind, id: &str, cached: Cached) {
        let mut entries = self.lock();
        if entries.values().map(HashMap::len).sum::<usize>() >= EntryCache::MAX {
            entries.clear();
        }
        entries.entry(kind).or_default().insert(id.to_owned(), cached);
    }

    /// Every entry of `kind`, ordered by id.
    pub fn entries(&self, kind: EntryKind) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let table = self.table(ENTRIES)?;
        pairs(&table, kind.as_str(), &self.path, |id, bytes| {
            json(&self.path, || format!("{kind} entry [{id}]"), bytes)
        })
    }

    /// The metadata of index `name`.
    pub fn index(&self, name: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let table = self.table(INDICES)?;
        let row = table.get(name).at(&self.path)?;
        row.map(|v| json(&self.path, || format!("metadata of index [{name}]"), v.value())).transpose()
    }

    /// Every index with its metadata, ordered by name.
    pub fn indices(&self) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let table = self.table(INDICES)?;
        let mut out = Vec::new();
        for row in table.iter().at(&self.path)? {
            let (k, v) = row.at(&self.path)?;
            let name = k.value().to_string();
            let value = json(&self.path, || format!("metadata of index [{name}]"), v.value())?;
            out.push((name, value));
        }
        Ok(out)
    }

    /// The document `id` of `index`.
    pub fn document(&self, index: &str, id: &str) -> Result<Option<StoredDoc>, StoreError> {
        let (table, dicts) = self.documents_and_dicts()?;
        let row = table.get((index, id)).at(&self.path)?;
        row.map(|v| Codecs::new(&self.codecs).decode(&dicts, &self.path, index, id, v.value())).transpose()
    }

    /// Every document of `index`, ordered by id (for rebuilding a search index).
    pub fn documents(&self, index: &str) -> Result<Vec<(String, StoredDoc)>, StoreError> {
        let (table, dicts) = self.documents_and_dicts()?;
        let mut codecs = Codecs::new(&self.codecs);
        pairs(&table, index, &self.path, |id, bytes| codecs.decode(&dicts, &self.path, index, id, bytes))
    }

    /// The documents and the source dictionaries, as one read transaction sees them.
    #[allow(clippy::type_complexity)]
    fn documents_and_dicts(
        &self,
    ) -> Result<
        (
            ReadOnlyTable<(&'static str, &'static str), &'static [u8]>,
            ReadOnlyTable<&'static str, &'static [u8]>,
        ),
        StoreError,
    > {
        let txn = self.db.begin_read().at(&self.path)?;
        Ok((txn.open_table(DOCS).at(&self.path)?, txn.open_table(SOURCE_DICTS).at(&self.path)?))
    }

    /// The last applied log id and the membership the state machine holds.
    pub(crate) fn applied_state(&self) -> Result<AppliedState, StoreError> {
        let table = self.table(SM_META)?;
        let last: Option<Option<LogId<NodeId>>> = meta(&table, KEY_LAST_APPLIED, &self.path)?;
        let membership = meta(&table, KEY_MEMBERSHIP, &self.path)?;
        Ok((last.flatten(), membership.unwrap_or_default()))
    }
}

/// Decodes a JSON record read from `path`.
pub(crate) fn json<T: DeserializeOwned>(
    path: &Path,
    what: impl FnOnce() -> String,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::decode(path, what(), e))
}

/// Reads the JSON record `key` of a `&str → bytes` table.
pub(crate) fn meta<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
    path: &Path,
) -> Result<Option<T>, StoreError> {
    match table.get(key).at(path)? {
        None => Ok(None),
        Some(v) => json(path, || format!("the {key} record"), v.value()).map(Some),
    }
}

/// The rows of `prefix` in a `(prefix, id) → bytes` table, decoded by `decode`.
fn pairs<T>(
    table: &ReadOnlyTable<(&'static str, &'static str), &'static [u8]>,
    prefix: &str,
    path: &Path,
    mut decode: impl FnMut(&str, &[u8]) -> Result<T, StoreError>,
) -> Result<Vec<(String, T)>, StoreError> {
    let mut out = Vec::new();
    for row in table.range::<(&str, &str)>((prefix, "")..).at(path)? {
        let (k, v) = row.at(path)?;
        let (p, id) = k.value();
        if p != prefix {
            break;
        }
        out.push((id.to_string(), decode(id, v.value())?));
    }
    Ok(out)
}
