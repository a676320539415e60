//! `PUT|GET|DELETE /_ingest/pipeline[/{id}]` and `_simulate`. Pipelines are store entries
//! (kind `ingest_pipeline`) holding the body as given, checked first (see `crate::ingest`).

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_pattern::Syntax;
use bulwark_store::{Command, EntryKind};
use serde_json::{Map, Value, json};

use crate::body;
use crate::indices::DataPlane;
use crate::ingest::{self, Flow, IngestDoc, Lookup, Pipeline, Stored};
use crate::resolve::Catalog;
use crate::{ApiError, ErrorType, RestState};

/// `PUT /_ingest/pipeline/{id}`
pub async fn put(
    State(state): State<RestState>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    if id.is_empty() || id == ingest::NONE || id.contains(['*', ',', ' ']) {
        return Err(ApiError::illegal_argument(format!(
            "invalid pipeline id [{id}]: it must not be empty, [_none], or contain [*], [,] or spaces"
        )));
    }
    let body = body::object(&bytes, true)?;
    Pipeline::parse(&id, &body)?;
    state
        .store
        .write(Command::PutEntry { kind: EntryKind::IngestPipeline, id, value: Value::Object(body) })
        .await
        .map_err(ApiError::from)?;
    Ok(Json(json!({"acknowledged": true})))
}

/// Whether `id` is named by one of `patterns` (wildcards allowed).
fn named(patterns: &[&str], id: &str) -> bool {
    patterns.iter().any(|p| bulwark_pattern::matches(p, id, Syntax::STAR))
}

/// `GET /_ingest/pipeline[/{id}]` (a comma list of ids and wildcards). Nothing found is a 404
/// with an empty object, as in Elasticsearch.
pub async fn get(State(state): State<RestState>, path: Option<Path<String>>) -> Result<Response, ApiError> {
    let stored = state.store.entries(EntryKind::IngestPipeline).map_err(ApiError::from)?;
    let wanted = path.map(|Path(p)| p);
    let patterns: Option<Vec<&str>> = wanted.as_deref().map(|w| w.split(',').collect());
    let mut out = Map::new();
    for (id, body) in stored {
        if patterns.as_ref().is_none_or(|p| named(p, &id)) {
            out.insert(id, body);
        }
    }
    if out.is_empty() && wanted.is_some() {
        return Ok((StatusCode::NOT_FOUND, Json(json!({}))).into_response());
    }
    Ok(Json(Value::Object(out)).into_response())
}

/// The indices whose `index.<key>` is one of `ids`.
fn users<'c>(catalog: &'c Catalog, key: &str, id: &str) -> Vec<&'c str> {
    catalog
        .indices()
        .iter()
        .filter(|(_, m)| m.setting(key).as_deref() == Some(id))
        .map(|(n, _)| n.as_str())
        .collect()
}

/// `DELETE /_ingest/pipeline/{id}` (wildcards allowed). A pipeline that an index names as its
/// default or final pipeline is not deleted, as in Elasticsearch.
pub async fn delete(
    State(state): State<RestState>,
    svc: DataPlane,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let patterns: Vec<&str> = id.split(',').collect();
    let matched: Vec<String> = state
        .store
        .entries(EntryKind::IngestPipeline)
        .map_err(ApiError::from)?
        .into_iter()
        .map(|(i, _)| i)
        .filter(|i| named(&patterns, i))
        .collect();
    if matched.is_empty() {
        return Err(ApiError::new(ErrorType::ResourceNotFound, format!("pipeline [{id}] is missing")));
    }
    let catalog = Catalog::load(&svc)?;
    for p in &matched {
        for (key, what) in [("default_pipeline", "default pipeline"), ("final_pipeline", "final pipeline")] {
            let using = users(&catalog, key, p);
            if let Some(first) = using.first() {
                return Err(ApiError::illegal_argument(format!(
                    "pipeline [{p}] cannot be deleted because it is the {what} for {} index(es) including [{first}]",
                    using.len()
                )));
            }
        }
    }
    for p in matched {
        state
            .store
            .write(Command::DeleteEntry { kind: EntryKind::IngestPipeline, id: p })
            .await
            .map_err(ApiError::from)?;
    }
    Ok(Json(json!({"acknowledged": true})))
}

/// An error as a simulated document shows it.
fn error_json(e: &ApiError) -> Value {
    let cause = json!({"type": e.kind, "reason": e.reason});
    json!({"root_cause": [cause.clone()], "type": e.kind, "reason": e.reason})
}

/// Fields of a simulated document.
const DOC_FIELDS: &[&str] = &["_index", "_id", "_routing", "_version", "_version_type", "_source"];

/// One simulated document from the request.
fn sim_doc(v: &Value, now: &str) -> Result<IngestDoc, ApiError> {
    let Value::Object(m) = v else {
        return Err(ApiError::parse("[docs] must be a list of objects"));
    };
    if let Some(k) = m.keys().find(|k| !DOC_FIELDS.contains(&k.as_str())) {
        return Err(ApiError::parse(format!("[docs] a document does not support the field [{k}]")));
    }
    let text = |k: &str| m.get(k).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
    let source = match m.get("_source") {
        Some(Value::Object(s)) => s.clone(),
        Some(_) => return Err(ApiError::parse("[_source] must be an object")),
        None => return Err(ApiError::parse("[_source] required property is missing")),
    };
    let index = text("_index").unwrap_or_else(|| "_index".into());
    Ok(IngestDoc::new(&index, Some(&text("_id").unwrap_or_else(|| "_id".into())), source, now.to_owned()))
}

/// `POST|GET /_ingest/pipeline[/{id}]/_simulate`
pub async fn simulate(
    State(state): State<RestState>,
    path: Option<Path<String>>,
    Query(params): Query<HashMap<String, String>>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    if crate::params::flag(&params, "verbose")? {
        return Err(ApiError::illegal_argument(
            "[verbose] simulation (one result per processor) is not supported on this node; simulate without it",
        ));
    }
    let body = body::object(&bytes, true)?;
    if let Some(k) = body.keys().find(|k| *k != "pipeline" && *k != "docs") {
        return Err(ApiError::parse(format!("[simulate] unknown field [{k}]")));
    }
    let mut stored = Stored::new(&state);
    let pipeline = match path {
        Some(Path(id)) => stored
            .pipeline(&id)?
            .ok_or_else(|| ApiError::illegal_argument(format!("pipeline [{id}] does not exist")))?,
        None => match body.get("pipeline") {
            Some(Value::Object(p)) => std::sync::Arc::new(Pipeline::parse("_simulate_pipeline", p)?),
            Some(_) => return Err(ApiError::parse("[pipeline] must be an object")),
            None => return Err(ApiError::parse("[pipeline] required property is missing")),
        },
    };
    let docs = match body.get("docs") {
        Some(Value::Array(d)) if !d.is_empty() => d,
        Some(Value::Array(_)) => return Err(ApiError::parse("must specify at least one document in [docs]")),
        Some(_) => return Err(ApiError::parse("[docs] must be a list")),
        None => return Err(ApiError::parse("[docs] required property is missing")),
    };
    let now = ingest::timestamp();
    let docs = docs.iter().map(|d| sim_doc(d, &now)).collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(docs.len());
    for mut doc in docs {
        let r = ingest::run_pipeline(&pipeline, &mut doc, &mut stored, &mut Vec::new());
        out.push(match r {
            Ok(Flow::Continue) => json!({"doc": doc.to_json()}),
            Ok(Flow::Drop) => Value::Null,
            Err(e) => json!({"error": error_json(&e)}),
        });
    }
    Ok(Json(json!({"docs": out})))
}
