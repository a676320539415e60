//! Ingest pipelines: stored definitions (`ingest_pipeline` store entries, replicated like
//! templates), a documented subset of Elasticsearch's processors, and their application to
//! index and `_bulk` writes (`?pipeline=`, `index.default_pipeline`, `index.final_pipeline`).

mod date;
mod document;
mod pipeline;
mod run;
mod template;

use std::collections::HashMap;
use std::sync::Arc;

use bulwark_store::EntryKind;
use serde_json::Value;
use time::OffsetDateTime;

pub use document::IngestDoc;
pub use pipeline::Pipeline;
pub use run::{Flow, Lookup, run_pipeline};

use crate::api::write::Target;
use crate::resolve::Catalog;
use crate::{ApiError, RestState};

/// `_none`: no pipeline.
pub const NONE: &str = "_none";

/// `_ingest.timestamp`: now, as Elasticsearch prints it (UTC, nanoseconds).
pub fn timestamp() -> String {
    let now = OffsetDateTime::now_utc();
    date::Pattern::parse("yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSSXXX").map(|p| p.write(now)).unwrap_or_default()
}

/// Stored pipelines, read from the store once per id and request.
pub struct Stored<'a> {
    state: &'a RestState,
    cache: HashMap<String, Option<Arc<Pipeline>>>,
}

impl<'a> Stored<'a> {
    /// Pipelines of `state`'s store.
    pub fn new(state: &'a RestState) -> Stored<'a> {
        Stored { state, cache: HashMap::new() }
    }
}

impl Lookup for Stored<'_> {
    fn pipeline(&mut self, id: &str) -> Result<Option<Arc<Pipeline>>, ApiError> {
        if let Some(p) = self.cache.get(id) {
            return Ok(p.clone());
        }
        let p = match self.state.store.get_entry(EntryKind::IngestPipeline, id).map_err(ApiError::from)? {
            Some(Value::Object(body)) => Some(Arc::new(Pipeline::parse(id, &body)?)),
            _ => None,
        };
        self.cache.insert(id.to_owned(), p.clone());
        Ok(p)
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::illegal_argument(format!("pipeline with id [{id}] does not exist"))
}

/// A pipeline setting of the index a write goes to (of the index it creates, templates
/// applied, when it does not exist yet).
fn setting(catalog: &Catalog, target: &Target, key: &str) -> Option<String> {
    match &target.create {
        Some(new) => new.settings.get(key).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
        None => catalog.index(&target.index).and_then(|m| m.setting(key)),
    }
}

/// What the pipelines made of one document.
pub enum Applied {
    /// Write this source (with this id).
    Write(Value),
    /// A `drop` processor ran.
    Dropped,
}

/// Runs the pipelines of a write to `target` on `source`, as Elasticsearch chooses them: the
/// request's `pipeline` (or, without one, the index's `default_pipeline`), then the index's
/// `final_pipeline`; `_none` means none. A pipeline may set `_id` (written back to `id`).
pub fn apply(
    stored: &mut Stored<'_>,
    catalog: &Catalog,
    target: &Target,
    requested: Option<&str>,
    id: &mut Option<String>,
    source: Value,
) -> Result<Applied, ApiError> {
    let first = match requested.filter(|p| !p.is_empty()) {
        Some(p) => Some(p.to_owned()),
        None => setting(catalog, target, "default_pipeline"),
    };
    let last = setting(catalog, target, "final_pipeline");
    let ids: Vec<String> =
        [first, last].into_iter().flatten().filter(|p| !p.is_empty() && p != NONE).collect();
    if ids.is_empty() {
        return Ok(Applied::Write(source));
    }
    let mut pipelines = Vec::with_capacity(ids.len());
    for p in &ids {
        pipelines.push(stored.pipeline(p)?.ok_or_else(|| not_found(p))?);
    }
    let Value::Object(map) = source else {
        return Err(ApiError::illegal_argument(
            "a document sent through an ingest pipeline must be a JSON object",
        ));
    };
    let mut doc = IngestDoc::new(&target.index, id.as_deref(), map, timestamp());
    if run::run_for_write(&pipelines, &mut doc, stored)? == Flow::Drop {
        return Ok(Applied::Dropped);
    }
    *id = doc.id;
    Ok(Applied::Write(Value::Object(doc.source)))
}

/// The answer for a document a pipeline dropped, as Elasticsearch gives it (a `noop`).
pub fn dropped_json(index: &str, id: Option<&str>) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("_index".into(), Value::String(index.to_owned()));
    m.insert("_id".into(), Value::String(id.unwrap_or("auto-generated").to_owned()));
    m.insert("_version".into(), Value::from(-3));
    m.insert("result".into(), Value::String("noop".into()));
    m.insert("_shards".into(), serde_json::json!({"total": 0, "successful": 0, "failed": 0}));
    m
}
