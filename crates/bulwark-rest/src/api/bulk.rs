//! `_bulk`: NDJSON action and source lines, each item authorized on its own (a refused item is
//! a per-item 403 and the others still apply), all allowed items written as one batch through
//! the store, one result per item in request order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use serde_json::{Map, Value, json};

use super::document::{update_get, update_op};
use super::write::{
    Targets, WriteKind, check_id, if_match_json, item_error_json, outcome_json, refresh_param,
    refuse_unsupported,
};
use crate::caller::Caller;
use crate::indices::{DataError, DataPlane, WriteItem, WriteOp, WriteRequest};
use crate::ingest::{self, Applied, Stored};
use crate::ndjson::{self, Line, token};
use crate::resolve::Catalog;
use crate::{ApiError, RestState};
use bulwark_index::SourceFilter;

/// Keys an action line may hold.
const META_KEYS: &[&str] = &[
    "_index",
    "_id",
    "routing",
    "if_seq_no",
    "if_primary_term",
    "version",
    "version_type",
    "pipeline",
    "require_alias",
    "retry_on_conflict",
    "_source",
    "dynamic_templates",
    "op_type",
    "require_data_stream",
    "list_executed_pipelines",
];

/// One item as read from the body.
struct Item {
    /// `index`, `create`, `update` or `delete`.
    action: &'static str,
    index: String,
    id: Option<String>,
    /// What to write, or why the item fails (taken when the item is queued).
    op: Option<Result<(WriteKind, WriteOp), ApiError>>,
    /// The update's `_source`, if asked.
    filter: Option<SourceFilter>,
    /// `require_alias`: the target must be an alias (never an index, never auto-created).
    require_alias: bool,
    /// An `index` action without `op_type: create` (refused by data streams, even without id).
    index_op: bool,
    /// The item's own `pipeline`.
    pipeline: Option<String>,
}

fn action_name(line: &Line<'_>, m: &Map<String, Value>) -> Result<&'static str, ApiError> {
    let found = m.keys().next().cloned().unwrap_or_default();
    let name = match found.as_str() {
        "index" => "index",
        "create" => "create",
        "update" => "update",
        "delete" => "delete",
        _ => {
            return Err(ApiError::illegal_argument(format!(
                "Malformed action/metadata line [{}], expected field [create], [delete], [index] or [update] but found [{found}]",
                line.number
            )));
        }
    };
    if m.len() != 1 {
        return Err(ApiError::illegal_argument(format!(
            "Malformed action/metadata line [{}], expected a simple value for field [{name}] but found [START_OBJECT]",
            line.number
        )));
    }
    Ok(name)
}

fn string_meta(meta: &Map<String, Value>, key: &str) -> Option<String> {
    match meta.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// How many items a body's lines hold, or why they are refused (for the fuzz target).
pub(crate) fn count_items(lines: &[Line<'_>]) -> Result<usize, ApiError> {
    parse(lines, Some("fuzz"), false).map(|items| items.len())
}

/// Reads every item; a malformed action line fails the whole request, as in Elasticsearch.
fn parse(
    lines: &[Line<'_>],
    default_index: Option<&str>,
    default_require_alias: bool,
) -> Result<Vec<Item>, ApiError> {
    let mut items = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        i += 1;
        let action_line = ndjson::object_line(line, "action/metadata")?;
        let action = action_name(line, &action_line)?;
        let Some(Value::Object(meta)) = action_line.get(action) else {
            let found = action_line.get(action).map_or("VALUE_NULL", token);
            return Err(ApiError::illegal_argument(format!(
                "Malformed action/metadata line [{}], expected START_OBJECT but found [{found}]",
                line.number
            )));
        };
        if let Some(k) = meta.keys().find(|k| !META_KEYS.contains(&k.as_str())) {
            return Err(ApiError::illegal_argument(format!(
                "Action/metadata line [{}] contains an unknown parameter [{k}]",
                line.number
            )));
        }
        let index = string_meta(meta, "_index")
            .or_else(|| default_index.map(str::to_owned))
            .ok_or_else(|| crate::body::validation("index is missing"))?;
        let id = string_meta(meta, "_id");
        let source = if action == "delete" {
            None
        } else {
            let Some(s) = lines.get(i) else {
                return Err(crate::body::validation(format!("source is missing for the [{action}] action")));
            };
            i += 1;
            Some(s.bytes)
        };
        let mut filter = None;
        let require_alias = match meta.get("require_alias") {
            None | Some(Value::Null) => default_require_alias,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
            Some(_) => {
                return Err(ApiError::illegal_argument(format!(
                    "Action/metadata line [{}]: [require_alias] must be a boolean",
                    line.number
                )));
            }
        };
        // Deletes never create an index, so `require_alias` does not apply to them.
        let require_alias = require_alias && action != "delete";
        let op = item_op(action, meta, id.as_deref(), source, &mut filter);
        let index_op = action == "index" && string_meta(meta, "op_type").as_deref() != Some("create");
        let pipeline = string_meta(meta, "pipeline");
        items.push(Item { action, index, id, op: Some(op), filter, require_alias, index_op, pipeline });
    }
    Ok(items)
}

fn item_op(
    action: &str,
    meta: &Map<String, Value>,
    id: Option<&str>,
    source: Option<&[u8]>,
    filter: &mut Option<SourceFilter>,
) -> Result<(WriteKind, WriteOp), ApiError> {
    refuse_unsupported(|k| string_meta(meta, k))?;
    if let Some(id) = id {
        check_id(id)?;
    }
    let if_match = if_match_json(meta)?;
    let source_value = || super::write::parse_source(source.unwrap_or_default());
    match action {
        "delete" => {
            if id.is_none() {
                return Err(crate::body::validation("id is missing"));
            }
            Ok((WriteKind::Delete, WriteOp::Delete { if_match }))
        }
        "update" => {
            if id.is_none() {
                return Err(crate::body::validation("id is missing"));
            }
            if meta.get("pipeline").is_some_and(|p| !p.is_null()) {
                return Err(ApiError::illegal_argument(
                    "[pipeline] applies to index and create actions; this node does not run pipelines on updates",
                ));
            }
            let Value::Object(body) = source_value()? else {
                return Err(ApiError::parse("the update source must be an object"));
            };
            let (mut op, body_filter) = update_op(&body)?;
            op.if_match = if_match;
            op.retry_on_conflict = match meta.get("retry_on_conflict") {
                None => 0,
                Some(v) => v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| ApiError::illegal_argument("[retry_on_conflict] must be a number"))?,
            };
            *filter = match meta.get("_source") {
                Some(v) => Some(SourceFilter::from_json(v)?),
                None => body_filter,
            };
            Ok((WriteKind::Update, WriteOp::Update(op)))
        }
        _ => {
            let create = action == "create"
                || string_meta(meta, "op_type").as_deref() == Some("create")
                || id.is_none();
            if create && if_match.seq_no.is_some() {
                return Err(crate::body::validation(
                    "create operations do not support compare and set. use index instead",
                ));
            }
            let kind = if create { WriteKind::Create } else { WriteKind::Index };
            Ok((kind, WriteOp::Index { source: source_value()?.into(), create, if_match }))
        }
    }
}

/// `POST|PUT /_bulk`, `/{index}/_bulk`
pub async fn bulk(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    path: Option<Path<String>>,
    Query(params): Query<HashMap<String, String>>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let _reserved = state.indexing_pressure.reserve(bytes.len())?;
    let default_index = path.map(|Path(p)| p);
    refuse_unsupported(|k| params.get(k).cloned())?;
    let refresh = refresh_param(params.get("refresh").map(String::as_str))?;
    let require_alias = crate::params::flag(&params, "require_alias")?;
    let lines = ndjson::lines(&bytes)?;
    let mut items = parse(&lines, default_index.as_deref(), require_alias)?;
    // The items own what they need: the body is not held while they are written.
    drop(lines);
    drop(bytes);
    if items.is_empty() {
        return Err(crate::body::validation("no requests added"));
    }

    let catalog = Catalog::load(&svc)?;
    let mut targets = Targets::new(&state, &caller, &catalog).in_bulk();
    let mut request = WriteRequest { refresh, ..WriteRequest::default() };
    let mut stored = Stored::new(&state);
    let default_pipeline = params.get("pipeline").cloned();
    // For each item: the position of its write in the request (none when a pipeline dropped
    // it), or its error.
    let mut slots: Vec<Result<Option<usize>, ApiError>> = Vec::with_capacity(items.len());
    let mut filters = Vec::with_capacity(items.len());
    for item in &mut items {
        filters.push(item.filter.take());
        let op = item.op.take().unwrap_or_else(|| Err(ApiError::store("a bulk item was read twice")));
        let slot = op.and_then(|(kind, mut op)| {
            if item.require_alias && catalog.alias(&item.index).is_none() {
                return Err(super::write::alias_required(&item.index));
            }
            let target = targets.authorize(&item.index, kind)?;
            if let WriteOp::Index { source, .. } = &mut op {
                let requested = item.pipeline.as_deref().or(default_pipeline.as_deref());
                let value = Arc::unwrap_or_clone(std::mem::take(source));
                match ingest::apply(&mut stored, &catalog, &target, requested, &mut item.id, value)? {
                    Applied::Write(v) => *source = Arc::new(v),
                    Applied::Dropped => return Ok(None),
                }
                if let Some(id) = &item.id {
                    check_id(id)?;
                }
            }
            if let (Some(_), WriteOp::Index { source, .. }) = (&target.data_stream, &op) {
                if item.index_op {
                    return Err(super::write::only_create_in_streams());
                }
                super::write::check_timestamp(source)?;
            }
            if let Some(new) = target.create {
                request.may_create.entry(target.index.clone()).or_insert(new);
            }
            request.items.push(WriteItem { index: target.index, id: item.id.clone(), op });
            Ok(Some(request.items.len() - 1))
        });
        slots.push(slot);
    }

    let mut results: Vec<Option<_>> = if request.items.is_empty() {
        Vec::new()
    } else {
        svc.write(request).await.into_iter().map(Some).collect()
    };
    let mut errors = false;
    let mut out = Vec::with_capacity(items.len());
    for ((item, slot), filter) in items.iter().zip(slots).zip(filters) {
        let result = slot.and_then(|pos| {
            let Some(pos) = pos else { return Ok(None) };
            results
                .get_mut(pos)
                .and_then(Option::take)
                .unwrap_or_else(|| Err(DataError::Node("the index service lost an item".into())))
                .map(Some)
                .map_err(ApiError::from)
        });
        let body = match result {
            Ok(None) => {
                let mut m = ingest::dropped_json(&item.index, item.id.as_deref());
                m.insert("status".into(), json!(200));
                m
            }
            Ok(Some(o)) => {
                let mut m = outcome_json(&o);
                m.insert("status".into(), json!(o.result.status().as_u16()));
                if let Some(g) = update_get(&o, filter.as_ref()) {
                    m.insert("get".into(), g);
                }
                m
            }
            Err(e) => {
                errors = true;
                item_error_json(&item.index, item.id.as_deref(), &e)
            }
        };
        // Built in place: `json!` would copy each item (and below, the whole list) once more.
        let mut wrapped = Map::with_capacity(1);
        wrapped.insert(item.action.to_string(), Value::Object(body));
        out.push(Value::Object(wrapped));
    }
    let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut response = Map::with_capacity(3);
    response.insert("took".into(), took.into());
    response.insert("errors".into(), errors.into());
    response.insert("items".into(), Value::Array(out));
    Ok(Json(Value::Object(response)))
}
