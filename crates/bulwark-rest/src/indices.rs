//! What the data-plane APIs need from the node: index metadata, document writes that go through
//! the store, and searches over the search indices derived from it.
//!
//! The REST layer parses, authorizes and shapes answers; the node's index service
//! ([`IndexService`], reached as the request extension [`DataPlane`]) does the work. The
//! metadata schema ([`IndexMeta`]) is owned here, because this crate renders it.

use crate::ErrorType;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use bulwark_index::{IndexError, Query, Restrictions, SearchRequest, SearchResponse};
use bulwark_store::StoredDoc;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ApiError;

/// A boxed future, so that [`IndexService`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An index's metadata as kept in the replicated store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMeta {
    /// `index.uuid`.
    pub uuid: String,
    /// `index.creation_date`, epoch milliseconds.
    pub creation_date: u64,
    /// Index settings without their `index.` prefix, by dotted key (`number_of_shards`,
    /// `refresh_interval`, ...), values as Elasticsearch shows them (strings).
    #[serde(default)]
    pub settings: BTreeMap<String, Value>,
    /// The mapping (`{"properties": ...}`), dynamic additions included.
    #[serde(default)]
    pub mappings: Value,
    /// Aliases pointing at this index.
    #[serde(default)]
    pub aliases: BTreeMap<String, AliasMeta>,
    /// Whether the index is closed (`_close`).
    #[serde(default)]
    pub closed: bool,
    /// The data stream this index backs, if it is a backing index (`.ds-*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_stream: Option<String>,
}

/// What a new index is created with (templates already applied).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewIndex {
    /// Checked settings, by key without the `index.` prefix.
    pub settings: BTreeMap<String, Value>,
    /// The mapping.
    pub mappings: Option<Value>,
    /// Its aliases.
    pub aliases: BTreeMap<String, AliasMeta>,
    /// The data stream it backs (its first backing index).
    pub data_stream: Option<String>,
}

impl IndexMeta {
    /// Whether `index.hidden` is true (wildcards skip the index unless asked).
    pub fn hidden(&self) -> bool {
        self.settings.get("hidden").is_some_and(|v| v == "true" || v == &Value::Bool(true))
    }

    /// `index.mapping.total_fields.limit`.
    pub fn total_fields_limit(&self) -> usize {
        total_fields_limit(&self.settings)
    }

    /// A setting as a string, if set.
    pub fn setting(&self, key: &str) -> Option<String> {
        match self.settings.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

/// `index.mapping.total_fields.limit` of checked settings (by key without `index.`), or its
/// default.
pub fn total_fields_limit(settings: &BTreeMap<String, Value>) -> usize {
    settings
        .get("mapping.total_fields.limit")
        .and_then(|v| match v {
            Value::String(s) => s.parse().ok(),
            other => other.as_u64().and_then(|n| usize::try_from(n).ok()),
        })
        .unwrap_or(bulwark_index::TOTAL_FIELDS_LIMIT)
}

/// One alias of an index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AliasMeta {
    /// Whether writes through the alias go to this index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_write_index: Option<bool>,
    /// Whether wildcards skip the alias unless asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_hidden: Option<bool>,
}

/// A change of index metadata; a list of them is applied atomically.
#[derive(Debug, Clone)]
pub enum MetaChange {
    /// Merges a mapping into the index's mapping (`PUT _mapping`).
    PutMapping {
        /// The index.
        index: String,
        /// The mapping to merge.
        mapping: Value,
    },
    /// Adds or replaces an alias.
    AddAlias {
        /// The index.
        index: String,
        /// The alias name.
        alias: String,
        /// Its filter, routing and write flag.
        meta: AliasMeta,
    },
    /// Removes an alias (missing is not an error: the caller checked).
    RemoveAlias {
        /// The index.
        index: String,
        /// The alias name.
        alias: String,
    },
    /// Closes (`true`) or opens (`false`) an index.
    SetClosed {
        /// The index.
        index: String,
        /// Closed after the change.
        closed: bool,
    },
    /// Sets index settings (checked by the caller; `None` removes one).
    PutSettings {
        /// The index.
        index: String,
        /// Flat setting keys (`index.*`) and their new values.
        settings: BTreeMap<String, Option<Value>>,
    },
}

/// `refresh` of a write request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Refresh {
    /// Visible with the next periodic refresh.
    #[default]
    No,
    /// Refresh the touched indices before answering (`refresh=true`).
    Immediate,
    /// Answer once a periodic refresh made the writes visible (`refresh=wait_for`).
    WaitFor,
}

/// Optimistic concurrency control: the `_seq_no` and `_primary_term` the document must have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IfMatch {
    /// `if_seq_no`.
    pub seq_no: Option<u64>,
    /// `if_primary_term`.
    pub primary_term: Option<u64>,
}

/// `_update`.
#[derive(Debug, Clone, Default)]
pub struct UpdateOp {
    /// A partial document merged into the current one.
    pub doc: Option<Value>,
    /// The document to create when there is none.
    pub upsert: Option<Value>,
    /// Create the document from `doc` when there is none.
    pub doc_as_upsert: bool,
    /// Answer `noop` without writing when the merge changes nothing (default true).
    pub detect_noop: bool,
    /// How often to retry on a concurrent change.
    pub retry_on_conflict: u32,
    /// `if_seq_no` / `if_primary_term` of the update.
    pub if_match: IfMatch,
}

/// What one write does.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Index a document; `create` refuses to replace one (`op_type=create`).
    Index {
        /// The document.
        source: Arc<Value>,
        /// `op_type=create`.
        create: bool,
        /// The version the current document must have.
        if_match: IfMatch,
    },
    /// Delete a document.
    Delete {
        /// The version the current document must have.
        if_match: IfMatch,
    },
    /// Update a document.
    Update(UpdateOp),
}

/// One document write, on a concrete index (aliases resolved by the caller).
#[derive(Debug, Clone)]
pub struct WriteItem {
    /// The concrete index.
    pub index: String,
    /// The id; `None` lets the service generate one (index operations only).
    pub id: Option<String>,
    /// What to do.
    pub op: WriteOp,
}

/// A list of writes applied in order (a `_bulk`, or one document).
#[derive(Debug, Clone, Default)]
pub struct WriteRequest {
    /// The writes, in order.
    pub items: Vec<WriteItem>,
    /// When the writes become visible to searches.
    pub refresh: Refresh,
    /// Missing indices the caller may auto-create, with what they are created with; a missing
    /// index not listed is an `index_not_found_exception` for its items.
    pub may_create: BTreeMap<String, NewIndex>,
}

/// What a write did, in Elasticsearch's `result` spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteResult {
    /// `created`.
    Created,
    /// `updated`.
    Updated,
    /// `deleted`.
    Deleted,
    /// `not_found`.
    NotFound,
    /// `noop`.
    Noop,
}

impl WriteResult {
    /// `created`, `updated`, `deleted`, `not_found` or `noop`.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteResult::Created => "created",
            WriteResult::Updated => "updated",
            WriteResult::Deleted => "deleted",
            WriteResult::NotFound => "not_found",
            WriteResult::Noop => "noop",
        }
    }

    /// The HTTP status of an item with this result.
    pub fn status(self) -> StatusCode {
        match self {
            WriteResult::Created => StatusCode::CREATED,
            WriteResult::NotFound => StatusCode::NOT_FOUND,
            _ => StatusCode::OK,
        }
    }
}

/// A carried-out write.
#[derive(Debug, Clone)]
pub struct WriteOutcome {
    /// The concrete index.
    pub index: String,
    /// The document id.
    pub id: String,
    /// What happened.
    pub result: WriteResult,
    /// `_version` after the write.
    pub version: u64,
    /// `_seq_no` of the write.
    pub seq_no: u64,
    /// `_primary_term` of the write.
    pub primary_term: u64,
    /// The document after an update (for the update API's `get`).
    pub source: Option<Value>,
}

/// Per-index numbers for `_cat/indices` and stats.
#[derive(Debug, Clone, Copy, Default)]
pub struct IndexStats {
    /// Documents searches see.
    pub docs: u64,
    /// Bytes of the search index on disk.
    pub store_bytes: u64,
}

/// Node-wide numbers for `_nodes/stats` (also what a member answers over the transport).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct NodeStats {
    /// This node's id, as `_nodes` keys it.
    pub node_id: String,
    /// Documents in this node's search indices.
    pub docs: u64,
    /// Bytes of this node's search indices on disk.
    pub store_bytes: u64,
    /// Resident memory of the process.
    pub resident_bytes: u64,
    /// Virtual memory of the process.
    pub virtual_bytes: u64,
    /// Open file descriptors of the process.
    pub open_file_descriptors: u64,
    /// When the node started, epoch milliseconds.
    pub start_time_ms: u64,
    /// Milliseconds since the node started.
    pub uptime_ms: u64,
}

/// Why the index service could not carry something out, typed by what happened; `error.rs` maps
/// it to Elasticsearch's error type, reason and status (the node names none of them). Cheap to
/// clone: one failed batch is every item's answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DataError {
    /// The index does not exist.
    #[error("no such index [{0}]")]
    IndexNotFound(String),
    /// An index of that name exists.
    #[error("index [{name}/{uuid}] already exists")]
    AlreadyExists {
        /// The index name.
        name: String,
        /// The existing index's uuid.
        uuid: String,
    },
    /// The index is closed.
    #[error("closed")]
    IndexClosed,
    /// A write's guard (`if_seq_no`, `op_type=create`, …) does not hold; the reason names the
    /// document and what was found.
    #[error("{0}")]
    VersionConflict(String),
    /// An update of a document that does not exist, with no upsert.
    #[error("[{0}]: document missing")]
    DocumentMissing(String),
    /// An alias would have more than one write index.
    #[error("alias [{alias}] has more than one write index [{}]", indices.join(","))]
    SeveralWriteIndices {
        /// The alias.
        alias: String,
        /// Its write indices.
        indices: Vec<String>,
    },
    /// The store refused or failed.
    #[error(transparent)]
    Store(Arc<bulwark_store::StoreError>),
    /// The search index refused or failed.
    #[error(transparent)]
    Index(Arc<IndexError>),
    /// The node failed (an interrupted task, unreadable metadata, an answer it did not expect).
    #[error("{0}")]
    Node(String),
}

impl From<bulwark_store::StoreError> for DataError {
    fn from(e: bulwark_store::StoreError) -> DataError {
        DataError::Store(Arc::new(e))
    }
}

impl From<IndexError> for DataError {
    fn from(e: IndexError) -> DataError {
        DataError::Index(Arc::new(e))
    }
}

/// The node's index service.
pub trait IndexService: Send + Sync {
    /// Every index with its metadata, by name.
    fn catalog(&self) -> Result<Vec<(String, IndexMeta)>, DataError>;
    /// Creates index `name` (already validated) with settings, mapping and aliases.
    fn create_index(&self, name: String, new: NewIndex) -> BoxFuture<'_, Result<IndexMeta, DataError>>;
    /// Deletes indices with their documents.
    fn delete_indices(&self, names: Vec<String>) -> BoxFuture<'_, Result<(), DataError>>;
    /// Applies metadata changes, all or none.
    fn update_metadata(&self, changes: Vec<MetaChange>) -> BoxFuture<'_, Result<(), DataError>>;
    /// Carries out writes in order; one answer per item.
    fn write(&self, request: WriteRequest) -> BoxFuture<'_, Vec<Result<WriteOutcome, DataError>>>;
    /// The current document (real time: from the store, not the search index).
    fn get(&self, index: &str, id: &str) -> Result<Option<StoredDoc>, DataError>;
    /// Searches concrete indices as one.
    fn search(
        &self,
        indices: Vec<String>,
        request: SearchRequest,
    ) -> BoxFuture<'_, Result<SearchResponse, IndexError>>;
    /// Counts matching documents in concrete indices, as restricted per index.
    fn count(
        &self,
        indices: Vec<String>,
        query: Query,
        restrictions: Restrictions,
    ) -> BoxFuture<'_, Result<u64, IndexError>>;
    /// Which of `docs` (`(id, source)`) match `filter` under the mapping of `index` (real-time
    /// reads under document-level security).
    fn matching(
        &self,
        index: &str,
        docs: Vec<(String, Value)>,
        filter: Query,
    ) -> BoxFuture<'_, Result<Vec<bool>, IndexError>>;
    /// Makes every write so far visible to searches.
    fn refresh(&self, indices: Vec<String>) -> BoxFuture<'_, Result<(), DataError>>;
    /// The mapping searches use now, dynamic additions included.
    fn mapping(&self, index: &str) -> Option<Value>;
    /// Numbers about one index.
    fn stats(&self, index: &str) -> IndexStats;
    /// Numbers about the node.
    fn node_stats(&self) -> NodeStats;
}

/// The node's [`IndexService`], as a request extension:
/// `router(state).layer(axum::Extension(DataPlane(service)))`.
#[derive(Clone)]
pub struct DataPlane(pub Arc<dyn IndexService>);

impl std::ops::Deref for DataPlane {
    type Target = dyn IndexService;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for DataPlane {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<DataPlane>().cloned().ok_or_else(|| {
            ApiError::new(ErrorType::Unavailable, "the data plane is not available on this node")
        })
    }
}

/// `{"index": {...}}` from dotted keys: how Elasticsearch shows settings.
pub fn nest_settings(flat: &BTreeMap<String, Value>) -> Map<String, Value> {
    let mut root = Map::new();
    for (k, v) in flat {
        let mut cur = &mut root;
        let parts: Vec<&str> = k.split('.').collect();
        for (i, p) in parts.iter().enumerate() {
            if i + 1 == parts.len() {
                cur.insert((*p).to_owned(), v.clone());
            } else {
                let entry = cur.entry((*p).to_owned()).or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                match entry {
                    Value::Object(m) => cur = m,
                    _ => break,
                }
            }
        }
    }
    root
}
