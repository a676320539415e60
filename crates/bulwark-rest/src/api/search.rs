//! `_search`, `_msearch` and `_count` over indices, aliases and patterns. The index
//! expression is resolved (and authorized) here; the query DSL, hits and aggregations are the
//! index crate's; `took`, `timed_out` and `_shards` are added here.

use crate::ErrorType;
use std::collections::HashMap;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_index::{IndexError, SearchRequest};
use bulwark_security::authz::Action;
use serde_json::{Map, Value, json};

use crate::api::settings;
use crate::caller::Caller;
use crate::indices::DataPlane;
use crate::ndjson;
use crate::resolve::{Catalog, Options, resolve};
use crate::restrict;
use crate::{ApiError, RestState};

type Params = HashMap<String, String>;

/// A failed search: its status and Elasticsearch's `{"error", "status"}` body.
struct Failure {
    status: StatusCode,
    body: Value,
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        Failure { status: e.status, body: e.body() }
    }
}

impl Failure {
    /// An error while running the search: shard-level ones are wrapped in a
    /// `search_phase_execution_exception`, as Elasticsearch reports them.
    fn search(e: IndexError, indices: &[String]) -> Failure {
        if !e.is_shard_failure() {
            return ApiError::from(e).into();
        }
        let index = indices.first().cloned().unwrap_or_default();
        Failure::shard(ErrorType::of_index_error(&e), &e.reason(), &index)
    }

    /// A failure on the shard of `index`, wrapped as Elasticsearch reports it.
    fn shard(kind: ErrorType, reason: &str, index: &str) -> Failure {
        let status = kind.status();
        let cause = json!({"type": kind, "reason": reason, "index": index});
        let body = json!({
            "error": {
                "root_cause": [cause],
                "type": ErrorType::SearchPhaseExecution,
                "reason": "all shards failed",
                "phase": "query",
                "grouped": true,
                "failed_shards": [{"shard": 0, "index": index, "reason": cause}],
            },
            "status": status.as_u16(),
        });
        Failure { status, body }
    }

    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// A JSON body, or `None` when empty.
fn optional_body(bytes: &[u8]) -> Result<Option<Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    crate::json::parse(bytes).map(Some).map_err(|e| {
        crate::body::duplicate_field(&e).unwrap_or_else(|| {
            ApiError::new(
                ErrorType::XContentParse,
                format!("[{}:{}] failed to parse the request body: {e}", e.line(), e.column()),
            )
        })
    })
}

fn shards(n: usize) -> Value {
    json!({"total": n, "successful": n, "skipped": 0, "failed": 0})
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Each index's `index.query.default_field`, for the queries that name no field.
fn default_fields(catalog: &Catalog, indices: &[String]) -> Result<bulwark_index::DefaultFields, ApiError> {
    let mut out = bulwark_index::DefaultFields::new();
    for index in indices {
        let Some(Value::Array(items)) =
            catalog.index(index).and_then(|m| m.settings.get("query.default_field"))
        else {
            continue;
        };
        let entries: Vec<String> = items.iter().filter_map(Value::as_str).map(str::to_owned).collect();
        out.set(index, &entries)?;
    }
    Ok(out)
}

/// `index.max_docvalue_fields_search`: `docvalue_fields` may name at most that many mapped
/// fields of each searched index (patterns expanded), as Elasticsearch checks on each shard.
fn check_docvalue_fields(
    catalog: &Catalog,
    indices: &[String],
    request: &SearchRequest,
) -> Result<(), Failure> {
    if !request.has_docvalue_fields() {
        return Ok(());
    }
    for index in indices {
        let Some(meta) = catalog.index(index) else { continue };
        let limit =
            settings::number(meta, "max_docvalue_fields_search", settings::MAX_DOCVALUE_FIELDS_SEARCH);
        let mapping = match &meta.mappings {
            Value::Null => bulwark_index::Mapping::new(),
            m => bulwark_index::Mapping::from_json(m).map_err(ApiError::from)?,
        };
        let asked = request.docvalue_fields_count(&mapping);
        if asked > limit {
            let reason = format!(
                "Trying to retrieve too many docvalue_fields. Must be less than or equal to: [{limit}] but was [{asked}]. This limit can be set by changing the [index.max_docvalue_fields_search] index level setting."
            );
            return Err(Failure::shard(ErrorType::IllegalArgument, &reason, index));
        }
    }
    Ok(())
}

/// Runs one search: resolve, parse, search, shape.
async fn execute(
    state: &RestState,
    caller: &Caller,
    svc: &DataPlane,
    catalog: &Catalog,
    expr: &str,
    params: &Params,
    body: Option<&Value>,
) -> Result<Map<String, Value>, Failure> {
    let started = Instant::now();
    if params.contains_key("scroll") {
        return Err(ApiError::illegal_argument("[scroll] is not supported; page with [search_after]").into());
    }
    let request = SearchRequest::parse(body, params.iter()).map_err(ApiError::from)?;
    if let Some(timeout) = request.timeout() {
        crate::params::check_time_value("timeout", timeout)?;
    }
    let opts = Options::from_params(params)?;
    let indices = resolve(state, caller, catalog, expr, Action::Search, opts)?;
    crate::blocks::check(catalog, &indices, crate::blocks::Level::Read)?;
    // `indices_boost` names indices, aliases or patterns; each boosts the searched indices it
    // resolves to (a name the caller may not search boosts nothing).
    let boosted = request
        .indices_boost()
        .map(|name| {
            let named = resolve(state, caller, catalog, name, Action::Search, opts).unwrap_or_default();
            named.into_iter().filter(|i| indices.contains(i)).collect()
        })
        .collect();
    check_docvalue_fields(catalog, &indices, &request)?;
    let wants_version = request.wants_version();
    let request = request
        .with_index_boosts(boosted)
        .with_default_fields(default_fields(catalog, &indices)?)
        .restricted(restrict::restrictions(state, caller, catalog, Action::Search, &indices)?);
    let n = indices.len();
    let mut found = svc.search(indices.clone(), request).await.map_err(|e| Failure::search(e, &indices))?;
    if wants_version {
        for hit in &mut found.hits {
            if let Some(id) = &hit.id {
                hit.version = svc.get(&hit.index, id).map_err(ApiError::from)?.map(|d| d.version);
            }
        }
    }
    let mut out = Map::new();
    out.insert("took".into(), json!(millis(started)));
    out.insert("timed_out".into(), json!(false));
    if let Some(terminated) = found.terminated_early {
        out.insert("terminated_early".into(), json!(terminated));
    }
    out.insert("_shards".into(), shards(n));
    if let Value::Object(rest) = found.to_json() {
        out.extend(rest);
    }
    Ok(out)
}

/// `GET|POST /_search`, `/{index}/_search`
pub async fn search(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    path: Option<Path<String>>,
    Query(params): Query<Params>,
    bytes: Bytes,
) -> Response {
    let expr = path.map(|Path(p)| p).unwrap_or_default();
    let run = async {
        let body = optional_body(&bytes)?;
        let catalog = Catalog::load(&svc)?;
        execute(&state, &caller, &svc, &catalog, &expr, &params, body.as_ref()).await
    };
    match run.await {
        Ok(m) => Json(Value::Object(m)).into_response(),
        Err(f) => f.into_response(),
    }
}

/// Header keys of an `_msearch` item that choose and expand indices.
const HEADER_KEYS: &[&str] = &[
    "index",
    "ignore_unavailable",
    "allow_no_indices",
    "expand_wildcards",
    "search_type",
    "preference",
    "routing",
    "request_cache",
    "ccs_minimize_roundtrips",
    "allow_partial_search_results",
    "ignore_throttled",
];

/// `GET|POST /_msearch`, `/{index}/_msearch`
pub async fn msearch(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    path: Option<Path<String>>,
    Query(params): Query<Params>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let default_expr = path.map(|Path(p)| p).unwrap_or_default();
    let lines = ndjson::lines(&bytes)?;
    if lines.len() % 2 != 0 {
        return Err(crate::body::validation("the last search header has no search body"));
    }
    let catalog = Catalog::load(&svc)?;
    let mut responses = Vec::with_capacity(lines.len() / 2);
    for pair in lines.chunks(2) {
        let header = ndjson::object_line(&pair[0], "msearch header")?;
        if let Some(k) = header.keys().find(|k| !HEADER_KEYS.contains(&k.as_str())) {
            return Err(ApiError::illegal_argument(format!(
                "key [{k}] is not supported in the metadata section"
            )));
        }
        let body = ndjson::object_line(&pair[1], "msearch body")?;
        let mut item_params: Params = params
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "max_concurrent_searches" | "typed_keys"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut expr = default_expr.clone();
        for (k, v) in &header {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
                other => other.to_string(),
            };
            if k == "index" {
                expr = v;
            } else {
                item_params.insert(k.clone(), v);
            }
        }
        let body = Value::Object(body);
        responses.push(
            match execute(&state, &caller, &svc, &catalog, &expr, &item_params, Some(&body)).await {
                Ok(mut m) => {
                    m.insert("status".into(), json!(200));
                    Value::Object(m)
                }
                Err(f) => f.body,
            },
        );
    }
    Ok(Json(json!({"took": millis(started), "responses": responses})))
}

/// `GET|POST /_count`, `/{index}/_count`
pub async fn count(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    path: Option<Path<String>>,
    Query(params): Query<Params>,
    bytes: Bytes,
) -> Response {
    let expr = path.map(|Path(p)| p).unwrap_or_default();
    let run = async {
        let body = optional_body(&bytes)?;
        let query = count_query(body.as_ref(), &params)?;
        let terminate_after = terminate_after(&params)?;
        let catalog = Catalog::load(&svc)?;
        let opts = Options::from_params(&params)?;
        let indices = resolve(&state, &caller, &catalog, &expr, Action::Count, opts)?;
        crate::blocks::check(&catalog, &indices, crate::blocks::Level::Read)?;
        let restrictions = restrict::restrictions(&state, &caller, &catalog, Action::Count, &indices)?;
        let query = query.with_default_fields(default_fields(&catalog, &indices)?);
        let n = indices.len();
        let Some(limit) = terminate_after else {
            let count = svc
                .count(indices.clone(), query, restrictions)
                .await
                .map_err(|e| Failure::search(e, &indices))?;
            return Ok::<_, Failure>(json!({"count": count, "_shards": shards(n)}));
        };
        // Each index is one shard, and a shard stops counting at `terminate_after`.
        let (mut count, mut terminated_early) = (0, false);
        for index in &indices {
            let one = vec![index.clone()];
            let c = svc
                .count(one.clone(), query.clone(), restrictions.clone())
                .await
                .map_err(|e| Failure::search(e, &one))?;
            terminated_early |= c >= limit;
            count += c.min(limit);
        }
        Ok(json!({"count": count, "terminated_early": terminated_early, "_shards": shards(n)}))
    };
    match run.await {
        Ok(v) => Json(v).into_response(),
        Err(f) => f.into_response(),
    }
}

/// `terminate_after` of a `_count`: checked before any index is resolved; `0` (the default)
/// counts everything.
fn terminate_after(params: &Params) -> Result<Option<u64>, ApiError> {
    let Some(v) = params.get("terminate_after") else { return Ok(None) };
    let n: i32 = v.parse().map_err(|_| {
        ApiError::illegal_argument(format!(
            "Failed to parse int parameter [terminate_after] with value [{v}]"
        ))
    })?;
    match u64::try_from(n) {
        Err(_) => Err(ApiError::illegal_argument("terminateAfter must be > 0")),
        Ok(0) => Ok(None),
        Ok(n) => Ok(Some(n)),
    }
}

/// The query of a `_count`: `q` (a `query_string`), the body's `query`, or `match_all`.
fn count_query(body: Option<&Value>, params: &Params) -> Result<bulwark_index::Query, ApiError> {
    if let Some(q) = params.get("q") {
        let mut qs = Map::new();
        qs.insert("query".into(), json!(q));
        for (param, key) in [("df", "default_field"), ("default_operator", "default_operator")] {
            if let Some(v) = params.get(param) {
                qs.insert(key.into(), json!(v));
            }
        }
        if let Some(v) = params.get("lenient") {
            qs.insert("lenient".into(), json!(v == "true"));
        }
        return Ok(bulwark_index::Query::parse(&json!({ "query_string": qs }))?);
    }
    let Some(body) = body else { return Ok(bulwark_index::Query::match_all()) };
    let Value::Object(m) = body else {
        return Err(ApiError::new(ErrorType::Parsing, "request body must be an object"));
    };
    if let Some(k) = m.keys().find(|k| k.as_str() != "query") {
        return Err(ApiError::new(ErrorType::Parsing, format!("request does not support [{k}]")));
    }
    match m.get("query") {
        Some(q) => Ok(bulwark_index::Query::parse(q)?),
        None => Ok(bulwark_index::Query::match_all()),
    }
}
