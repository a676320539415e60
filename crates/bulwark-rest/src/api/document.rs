//! Document APIs: `_doc` index (with or without id), `_create`, get and exists, `_source`,
//! delete, `_update` and `_mget`. Reads are real time (from the store); writes go through the
//! store and the node's index service.

use crate::ErrorType;
use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_security::authz::Action;
use bulwark_store::StoredDoc;
use serde_json::{Map, Value, json};

use super::write::{
    Targets, WriteKind, check_id, if_match_params, outcome_json, parse_source, refresh_param,
    refuse_unsupported, with_refresh,
};
use crate::body::{self, validation};
use crate::caller::Caller;
use crate::indices::{
    DataError, DataPlane, NewIndex, UpdateOp, WriteItem, WriteOp, WriteOutcome, WriteRequest,
};
use crate::ingest::{self, Applied, Stored};
use crate::resolve::{Catalog, index_closed, index_not_found};
use crate::restrict;
use crate::{ApiError, RestState};
use bulwark_index::SourceFilter;

type Params = Query<HashMap<String, String>>;

/// Carries out one write and returns its outcome.
async fn write_one(
    svc: &DataPlane,
    item: WriteItem,
    create: Option<NewIndex>,
    refresh: crate::indices::Refresh,
) -> Result<WriteOutcome, ApiError> {
    let may_create: BTreeMap<String, NewIndex> =
        create.map(|n| (item.index.clone(), n)).into_iter().collect();
    let mut out = svc.write(WriteRequest { items: vec![item], refresh, may_create }).await;
    let answer =
        out.pop().unwrap_or_else(|| Err(DataError::Node("the index service answered nothing".into())));
    answer.map_err(ApiError::from)
}

/// A single-document index request: where, which id, and whether it may only create.
struct Put {
    index: String,
    id: Option<String>,
    create: bool,
}

async fn put_doc(
    state: RestState,
    caller: Caller,
    svc: DataPlane,
    put: Put,
    params: HashMap<String, String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let Put { index, id, create } = put;
    let _reserved = state.indexing_pressure.reserve(bytes.len())?;
    refuse_unsupported(|k| params.get(k).cloned())?;
    if let Some(id) = &id {
        check_id(id)?;
    }
    let refresh = refresh_param(params.get("refresh").map(String::as_str))?;
    let if_match = if_match_params(&params)?;
    if create && if_match.seq_no.is_some() {
        return Err(validation("create operations do not support compare and set. use index instead"));
    }
    let source = parse_source(&bytes)?;
    // The body is not needed once parsed: a large document is held once, not twice.
    drop(bytes);
    let catalog = Catalog::load(&svc)?;
    // An index request without an id creates a document, as Elasticsearch treats it.
    let kind = if create || id.is_none() { WriteKind::Create } else { WriteKind::Index };
    let target = Targets::new(&state, &caller, &catalog).authorize(&index, kind)?;
    if crate::params::flag(&params, "require_alias")? && catalog.alias(&index).is_none() {
        return Err(super::write::alias_required(&index));
    }
    let mut id = id;
    let requested = params.get("pipeline").map(String::as_str);
    let source = match ingest::apply(&mut Stored::new(&state), &catalog, &target, requested, &mut id, source)?
    {
        Applied::Write(source) => source,
        Applied::Dropped => {
            let body = Value::Object(ingest::dropped_json(&target.index, id.as_deref()));
            return Ok((StatusCode::OK, Json(body)).into_response());
        }
    };
    if let Some(id) = &id {
        check_id(id)?;
    }
    if target.data_stream.is_some() {
        super::write::check_timestamp(&source)?;
    }
    let item = WriteItem {
        index: target.index,
        id,
        op: WriteOp::Index { source: source.into(), create: kind == WriteKind::Create, if_match },
    };
    let outcome = write_one(&svc, item, target.create, refresh).await?;
    let status = outcome.result.status();
    Ok((status, Json(Value::Object(with_refresh(outcome_json(&outcome), refresh)))).into_response())
}

fn op_type(params: &HashMap<String, String>) -> Result<bool, ApiError> {
    match params.get("op_type").map(String::as_str) {
        None | Some("index") => Ok(false),
        Some("create") => Ok(true),
        Some(other) => {
            Err(ApiError::illegal_argument(format!("opType must be 'create' or 'index', found: [{other}]")))
        }
    }
}

/// `PUT|POST /{index}/_doc/{id}`
pub async fn index_with_id(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path((index, id)): Path<(String, String)>,
    Query(params): Params,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let create = op_type(&params)?;
    put_doc(state, caller, svc, Put { index, id: Some(id), create }, params, bytes).await
}

/// `POST /{index}/_doc`
pub async fn index_auto_id(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path(index): Path<String>,
    Query(params): Params,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let create = op_type(&params)?;
    put_doc(state, caller, svc, Put { index, id: None, create }, params, bytes).await
}

/// `PUT|POST /{index}/_create/{id}`
pub async fn create(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path((index, id)): Path<(String, String)>,
    Query(params): Params,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    put_doc(state, caller, svc, Put { index, id: Some(id), create: true }, params, bytes).await
}

/// The one index a single-document read of `name` reads.
pub fn single_index(catalog: &Catalog, name: &str) -> Result<String, ApiError> {
    if let Some(meta) = catalog.index(name) {
        if meta.closed {
            return Err(index_closed());
        }
        return Ok(name.to_owned());
    }
    match catalog.alias(name) {
        Some([one]) => Ok(one.clone()),
        Some(many) => Err(ApiError::illegal_argument(format!(
            "alias [{name}] has more than one index associated with it [{}], can't execute a single index op",
            many.join(", ")
        ))),
        None => Err(index_not_found(name)),
    }
}

/// Reads document `id` of `index` for `action` (authorized on the name as given).
fn read(
    state: &RestState,
    caller: &Caller,
    svc: &DataPlane,
    catalog: &Catalog,
    index: &str,
    id: &str,
    action: Action,
) -> Result<(String, Option<StoredDoc>), ApiError> {
    caller.authorize(state, action, &[index.to_owned()])?;
    let concrete = single_index(catalog, index)?;
    crate::blocks::check(catalog, std::slice::from_ref(&concrete), crate::blocks::Level::Read)?;
    let doc = svc.get(&concrete, id)?;
    Ok((concrete, doc))
}

/// `doc` as the caller may see it through `action`: missing when the caller's document filter
/// does not match it, its source cut to the caller's fields.
async fn visible(
    state: &RestState,
    caller: &Caller,
    svc: &DataPlane,
    catalog: &Catalog,
    action: Action,
    (concrete, id): (&str, &str),
    doc: Option<StoredDoc>,
) -> Result<Option<StoredDoc>, ApiError> {
    let Some(mut doc) = doc else { return Ok(None) };
    let Some(access) = restrict::access(state, caller, catalog, action, concrete)? else {
        return Ok(Some(doc));
    };
    let restriction = restrict::restriction(&access)?;
    if let Some(filter) = restriction.filter() {
        let matched =
            svc.matching(concrete, vec![(id.to_owned(), doc.source.clone())], filter.clone()).await?;
        if matched.first() != Some(&true) {
            return Ok(None);
        }
    }
    doc.source = restriction.filter_source(&doc.source);
    Ok(Some(doc))
}

/// A document as get and mget show it.
fn doc_json(index: &str, id: &str, doc: Option<&StoredDoc>, filter: &SourceFilter) -> Value {
    let mut m = Map::new();
    m.insert("_index".into(), json!(index));
    m.insert("_id".into(), json!(id));
    match doc {
        Some(d) => {
            m.insert("_version".into(), json!(d.version));
            m.insert("_seq_no".into(), json!(d.seq_no));
            m.insert("_primary_term".into(), json!(d.primary_term));
            m.insert("found".into(), json!(true));
            if let Some(s) = filter.apply(&d.source) {
                m.insert("_source".into(), s);
            }
        }
        None => {
            m.insert("found".into(), json!(false));
        }
    }
    Value::Object(m)
}

/// `GET|HEAD /{index}/_doc/{id}`
pub async fn get(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path((index, id)): Path<(String, String)>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let catalog = Catalog::load(&svc)?;
    let (concrete, doc) = read(&state, &caller, &svc, &catalog, &index, &id, Action::GetDoc)?;
    let doc = visible(&state, &caller, &svc, &catalog, Action::GetDoc, (&concrete, &id), doc).await?;
    let status = if doc.is_some() { StatusCode::OK } else { StatusCode::NOT_FOUND };
    let filter = SourceFilter::from_params(&params);
    Ok((status, Json(doc_json(&concrete, &id, doc.as_ref(), &filter))).into_response())
}

/// `GET|HEAD /{index}/_source/{id}`
pub async fn source(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path((index, id)): Path<(String, String)>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let catalog = Catalog::load(&svc)?;
    let (concrete, doc) = read(&state, &caller, &svc, &catalog, &index, &id, Action::GetDoc)?;
    let doc = visible(&state, &caller, &svc, &catalog, Action::GetDoc, (&concrete, &id), doc).await?;
    let missing = || ApiError::not_found(format!("Document not found [{concrete}]/[{id}]"));
    let doc = doc.ok_or_else(missing)?;
    let filter = SourceFilter::from_params(&params);
    Ok(Json(filter.apply(&doc.source).unwrap_or(Value::Object(Map::new()))).into_response())
}

/// `DELETE /{index}/_doc/{id}`
pub async fn delete(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path((index, id)): Path<(String, String)>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    refuse_unsupported(|k| params.get(k).cloned())?;
    let refresh = refresh_param(params.get("refresh").map(String::as_str))?;
    let if_match = if_match_params(&params)?;
    let catalog = Catalog::load(&svc)?;
    let target = Targets::new(&state, &caller, &catalog).authorize(&index, WriteKind::Delete)?;
    let item = WriteItem { index: target.index, id: Some(id), op: WriteOp::Delete { if_match } };
    let outcome = write_one(&svc, item, None, refresh).await?;
    let status = outcome.result.status();
    Ok((status, Json(Value::Object(with_refresh(outcome_json(&outcome), refresh)))).into_response())
}

/// Reads an `_update` body (also a bulk `update` item's source line).
pub fn update_op(body: &Map<String, Value>) -> Result<(UpdateOp, Option<SourceFilter>), ApiError> {
    let mut op = UpdateOp { detect_noop: true, ..UpdateOp::default() };
    let mut filter = None;
    for (k, v) in body {
        match k.as_str() {
            "doc" => match v {
                Value::Object(_) => op.doc = Some(v.clone()),
                _ => return Err(ApiError::parse("[doc] must be an object")),
            },
            "upsert" => match v {
                Value::Object(_) => op.upsert = Some(v.clone()),
                _ => return Err(ApiError::parse("[upsert] must be an object")),
            },
            "doc_as_upsert" => op.doc_as_upsert = bool_field(k, v)?,
            "detect_noop" => op.detect_noop = bool_field(k, v)?,
            "_source" => filter = Some(SourceFilter::from_json(v)?),
            "script" | "scripted_upsert" => {
                return Err(ApiError::illegal_argument("scripts are not supported; use [doc] or [upsert]"));
            }
            other => {
                return Err(ApiError::new(
                    ErrorType::XContentParse,
                    format!("[UpdateRequest] unknown field [{other}]"),
                ));
            }
        }
    }
    if op.doc.is_none() {
        return Err(validation("script or doc is missing"));
    }
    Ok((op, filter))
}

fn bool_field(k: &str, v: &Value) -> Result<bool, ApiError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
        _ => Err(ApiError::parse(format!("[{k}] must be a boolean"))),
    }
}

/// The update answer's `get`, when the caller asked for the source.
pub fn update_get(outcome: &WriteOutcome, filter: Option<&SourceFilter>) -> Option<Value> {
    let filter = filter.filter(|f| !f.is_disabled())?;
    let source = outcome.source.as_ref()?;
    let mut g = Map::new();
    g.insert("_seq_no".into(), json!(outcome.seq_no));
    g.insert("_primary_term".into(), json!(outcome.primary_term));
    g.insert("found".into(), json!(true));
    if let Some(s) = filter.apply(source) {
        g.insert("_source".into(), s);
    }
    Some(Value::Object(g))
}

/// `POST /{index}/_update/{id}`
pub async fn update(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path((index, id)): Path<(String, String)>,
    Query(params): Params,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    let _reserved = state.indexing_pressure.reserve(bytes.len())?;
    let refresh = refresh_param(params.get("refresh").map(String::as_str))?;
    let body = body::object(&bytes, true)?;
    drop(bytes);
    let (mut op, mut filter) = update_op(&body)?;
    op.if_match = if_match_params(&params)?;
    if let Some(r) = params.get("retry_on_conflict") {
        op.retry_on_conflict = r.parse().map_err(|_| {
            ApiError::illegal_argument(format!(
                "Failed to parse int parameter [retry_on_conflict] with value [{r}]"
            ))
        })?;
    }
    if params.keys().any(|k| k.starts_with("_source")) {
        filter = Some(SourceFilter::from_params(&params));
    }
    let catalog = Catalog::load(&svc)?;
    if crate::params::flag(&params, "require_alias")? && catalog.alias(&index).is_none() {
        return Err(super::write::alias_required(&index));
    }
    let target = Targets::new(&state, &caller, &catalog).authorize(&index, WriteKind::Update)?;
    let item = WriteItem { index: target.index, id: Some(id), op: WriteOp::Update(op) };
    let outcome = write_one(&svc, item, target.create, refresh).await?;
    let mut m = with_refresh(outcome_json(&outcome), refresh);
    if let Some(g) = update_get(&outcome, filter.as_ref()) {
        m.insert("get".into(), g);
    }
    Ok((outcome.result.status(), Json(Value::Object(m))).into_response())
}

/// `GET|POST /_mget`, `/{index}/_mget`
pub async fn mget(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    path: Option<Path<String>>,
    Query(params): Params,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let default_index = path.map(|Path(p)| p);
    let body = body::object(&bytes, true)?;
    let default_filter = SourceFilter::from_params(&params);
    let mut wanted: Vec<(Option<String>, Option<String>, SourceFilter)> = Vec::new();
    match (body.get("docs"), body.get("ids")) {
        (Some(Value::Array(docs)), _) => {
            for d in docs {
                let Value::Object(d) = d else { return Err(ApiError::parse("[docs] must hold objects")) };
                let index = body::opt_string(d, "_index")?.or_else(|| default_index.clone());
                let id = match d.get("_id") {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
                let filter = match d.get("_source") {
                    Some(v) => SourceFilter::from_json(v)?,
                    None => default_filter.clone(),
                };
                wanted.push((index, id, filter));
            }
        }
        (None, Some(Value::Array(ids))) => {
            for id in ids {
                let id = match id {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return Err(ApiError::parse("[ids] must hold strings")),
                };
                wanted.push((default_index.clone(), Some(id), default_filter.clone()));
            }
        }
        (Some(_), _) => return Err(ApiError::parse("[docs] must be an array")),
        (None, Some(_)) => return Err(ApiError::parse("[ids] must be an array")),
        (None, None) => return Err(validation("no documents to get")),
    }
    if wanted.is_empty() {
        return Err(validation("no documents to get"));
    }
    for (i, (index, id, _)) in wanted.iter().enumerate() {
        if index.is_none() {
            return Err(validation(format!("index is missing for doc {i}")));
        }
        if id.is_none() {
            return Err(validation(format!("id is missing for doc {i}")));
        }
    }
    let catalog = Catalog::load(&svc)?;
    let mut docs = Vec::with_capacity(wanted.len());
    for (index, id, filter) in wanted {
        let (index, id) = (index.unwrap_or_default(), id.unwrap_or_default());
        let shown = match read(&state, &caller, &svc, &catalog, &index, &id, Action::MultiGet) {
            Ok((concrete, doc)) => {
                visible(&state, &caller, &svc, &catalog, Action::MultiGet, (&concrete, &id), doc)
                    .await
                    .map(|doc| (concrete, doc))
            }
            Err(e) => Err(e),
        };
        docs.push(match shown {
            Ok((concrete, doc)) => doc_json(&concrete, &id, doc.as_ref(), &filter),
            Err(e) => json!({"_index": index, "_id": id, "error": e.body()["error"].clone()}),
        });
    }
    Ok(Json(json!({ "docs": docs })))
}
