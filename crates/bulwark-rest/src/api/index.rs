//! Index APIs: create (with `settings`, `mappings`, `aliases`), delete, get, exists,
//! `_refresh`, `_mapping` get/put, `_close` and `_open`.

use crate::ErrorType;
use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_security::authz::Action;
use serde_json::{Map, Value, json};

use super::alias::parse_alias_meta;
use super::settings::{parse_settings, settings_json};
use crate::blocks::{self, Level};
use crate::body;
use crate::caller::Caller;
use crate::indices::{AliasMeta, DataPlane, MetaChange, NewIndex};
use crate::resolve::{Catalog, Options, resolve, validate_index_name};
use crate::{ApiError, RestState};

type Params = Query<HashMap<String, String>>;

/// `PUT /{index}`
pub async fn create(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path(index): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    caller.authorize(&state, Action::CreateIndex, std::slice::from_ref(&index))?;
    validate_index_name(&index)?;
    let body = body::object(&bytes, false)?;
    let mut settings = BTreeMap::new();
    let mut mappings = None;
    let mut aliases = BTreeMap::new();
    for (k, v) in &body {
        match k.as_str() {
            "settings" => settings = parse_settings(v)?,
            "mappings" => mappings = Some(v.clone()),
            "aliases" => {
                let Value::Object(m) = v else { return Err(ApiError::parse("[aliases] must be an object")) };
                for (alias, meta) in m {
                    validate_index_name(alias)?;
                    aliases.insert(alias.clone(), parse_alias_meta(alias, meta)?);
                }
            }
            other => return Err(ApiError::parse(format!("unknown key [{other}] for create index"))),
        }
    }
    if !aliases.is_empty() {
        // Adding an alias is an alias change: as in Elasticsearch, creating an index with
        // aliases also needs `indices:admin/aliases` on the alias names, or a user allowed to
        // create `logs-*` could take over an alias someone else made (`is_write_index`).
        let names: Vec<String> = aliases.keys().cloned().collect();
        caller.authorize(&state, Action::UpdateAliases, &names)?;
    }
    let catalog = Catalog::load(&svc)?;
    if catalog.alias(&index).is_some() {
        return Err(ApiError::new(
            ErrorType::InvalidIndexName,
            format!("Invalid index name [{index}], already exists as alias"),
        ));
    }
    for alias in aliases.keys() {
        if alias == &index || catalog.index(alias).is_some() {
            return Err(invalid_alias(alias));
        }
    }
    let templates = crate::templates::Templates::load(&state)?;
    let new = NewIndex { settings, mappings, aliases, data_stream: None };
    let hidden = new.settings.get("hidden").is_some_and(|v| v == "true");
    if let Some((t, _)) = templates.find(&index, hidden).filter(|(_, t)| t.data_stream.is_some()) {
        return Err(ApiError::illegal_argument(format!(
            "cannot create index with name [{index}], because it matches with template [{t}] that creates data streams only, use create data stream api instead"
        )));
    }
    let new = templates.apply(&index, new)?;
    svc.create_index(index.clone(), new).await?;
    Ok(Json(json!({"acknowledged": true, "shards_acknowledged": true, "index": index})))
}

/// 400 `invalid_alias_name_exception` for an alias named like an index.
pub fn invalid_alias(alias: &str) -> ApiError {
    ApiError::new(
        ErrorType::InvalidAliasName,
        format!(
            "Invalid alias name [{alias}]: an index or data stream exists with the same name as the alias"
        ),
    )
}

/// Names for a destructive action: no wildcards and no aliases
/// (`action.destructive_requires_name` is true, as by default in Elasticsearch 8).
fn explicit_names(catalog: &Catalog, expr: &str) -> Result<Vec<String>, ApiError> {
    let names: Vec<String> =
        expr.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if names.is_empty() || names.iter().any(|n| n.contains('*') || n == "_all" || n.starts_with('-')) {
        return Err(ApiError::illegal_argument("Wildcard expressions or all indices are not allowed"));
    }
    for n in &names {
        if catalog.data_stream(n).is_some() {
            return Err(ApiError::illegal_argument(format!(
                "The provided expression [{n}] matches a data stream, specify the corresponding concrete indices instead."
            )));
        }
        if catalog.index(n).is_none() && catalog.alias(n).is_some() {
            return Err(ApiError::illegal_argument(format!(
                "The provided expression [{n}] matches an alias, specify the corresponding concrete indices instead."
            )));
        }
    }
    Ok(names)
}

/// The existing indices among explicit `names` (missing ones are a 404 unless
/// `ignore_unavailable`).
fn existing(catalog: &Catalog, names: Vec<String>, opts: Options) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for n in names {
        if catalog.index(&n).is_some() {
            out.push(n);
        } else if !opts.ignore_unavailable {
            return Err(crate::resolve::index_not_found(&n));
        }
    }
    Ok(out)
}

/// `DELETE /{index}`
pub async fn delete(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path(expr): Path<String>,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    let catalog = Catalog::load(&svc)?;
    let names = explicit_names(&catalog, &expr)?;
    caller.authorize(&state, Action::DeleteIndex, &names)?;
    let names = existing(&catalog, names, Options::from_params(&params)?)?;
    for n in &names {
        if let Some(ds) = catalog.parent_stream(n)
            && catalog.data_stream(ds).and_then(<[String]>::last) == Some(n)
        {
            return Err(ApiError::illegal_argument(format!(
                "index [{n}] is the write index for data stream [{ds}] and cannot be deleted"
            )));
        }
    }
    blocks::check_delete_index(&catalog, &names)?;
    svc.delete_indices(names).await?;
    Ok(Json(json!({"acknowledged": true})))
}

/// `GET /{index}`
pub async fn get(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path(expr): Path<String>,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    let catalog = Catalog::load(&svc)?;
    let opts = Options::from_params(&params)?.allowing_closed();
    let names = resolve(&state, &caller, &catalog, &expr, Action::IndicesGet, opts)?;
    blocks::check(&catalog, &names, Level::MetadataRead)?;
    let mut out = Map::new();
    for name in names {
        let Some(meta) = catalog.index(&name) else { continue };
        let mappings = svc.mapping(&name).unwrap_or_else(|| meta.mappings.clone());
        let aliases: Map<String, Value> =
            meta.aliases.iter().map(|(a, m)| (a.clone(), alias_json(m))).collect();
        out.insert(
            name.clone(),
            json!({"aliases": aliases, "mappings": mappings_or_empty(mappings), "settings": settings_json(&name, meta)}),
        );
    }
    Ok(Json(Value::Object(out)))
}

fn mappings_or_empty(v: Value) -> Value {
    if v.is_null() { json!({}) } else { v }
}

/// An alias as the index and alias APIs show it.
pub fn alias_json(m: &AliasMeta) -> Value {
    serde_json::to_value(m).unwrap_or_else(|_| json!({}))
}

/// `HEAD /{index}`
pub async fn exists(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path(expr): Path<String>,
    Query(params): Params,
) -> Response {
    let found = Catalog::load(&svc).and_then(|catalog| {
        let opts = Options::from_params(&params)?.allowing_closed();
        resolve(&state, &caller, &catalog, &expr, Action::IndicesGet, opts)
    });
    match found {
        Ok(names) if !names.is_empty() => StatusCode::OK.into_response(),
        Ok(_) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => e.status.into_response(),
    }
}

/// `GET|POST /_refresh`, `/{index}/_refresh`
pub async fn refresh(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    path: Option<Path<String>>,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    let expr = path.map(|Path(p)| p).unwrap_or_default();
    let catalog = Catalog::load(&svc)?;
    let names =
        resolve(&state, &caller, &catalog, &expr, Action::RefreshIndex, Options::from_params(&params)?)?;
    let n = names.len();
    svc.refresh(names).await?;
    Ok(Json(json!({"_shards": {"total": n, "successful": n, "failed": 0}})))
}

/// `GET /_mapping`, `/{index}/_mapping`
pub async fn get_mapping(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    path: Option<Path<String>>,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    let expr = path.map(|Path(p)| p).unwrap_or_default();
    let catalog = Catalog::load(&svc)?;
    let opts = Options::from_params(&params)?.allowing_closed();
    let names = resolve(&state, &caller, &catalog, &expr, Action::GetMapping, opts)?;
    blocks::check(&catalog, &names, Level::MetadataRead)?;
    let mut out = Map::new();
    for name in names {
        let Some(meta) = catalog.index(&name) else { continue };
        let mappings = svc.mapping(&name).unwrap_or_else(|| meta.mappings.clone());
        out.insert(name, json!({"mappings": mappings_or_empty(mappings)}));
    }
    Ok(Json(Value::Object(out)))
}

/// `PUT|POST /{index}/_mapping`
pub async fn put_mapping(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path(expr): Path<String>,
    Query(params): Params,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mapping = Value::Object(body::object(&bytes, true)?);
    // Checked here for its shape; the node checks it against each index's field limit.
    bulwark_index::Mapping::from_json_limited(&mapping, usize::MAX)?;
    let catalog = Catalog::load(&svc)?;
    let opts = Options::from_params(&params)?.allowing_closed();
    let names = resolve(&state, &caller, &catalog, &expr, Action::PutMapping, opts)?;
    if names.is_empty() {
        return Err(crate::resolve::index_not_found(&expr));
    }
    blocks::check(&catalog, &names, Level::MetadataWrite)?;
    let changes =
        names.into_iter().map(|index| MetaChange::PutMapping { index, mapping: mapping.clone() }).collect();
    svc.update_metadata(changes).await?;
    Ok(Json(json!({"acknowledged": true})))
}

/// `POST /{index}/_close`
pub async fn close(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path(expr): Path<String>,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    let catalog = Catalog::load(&svc)?;
    let names = explicit_names(&catalog, &expr)?;
    caller.authorize(&state, Action::CloseIndex, &names)?;
    let names = existing(&catalog, names, Options::from_params(&params)?)?;
    blocks::check(&catalog, &names, Level::MetadataWrite)?;
    let changes =
        names.iter().map(|index| MetaChange::SetClosed { index: index.clone(), closed: true }).collect();
    svc.update_metadata(changes).await?;
    let indices: Map<String, Value> = names.into_iter().map(|n| (n, json!({"closed": true}))).collect();
    Ok(Json(json!({"acknowledged": true, "shards_acknowledged": true, "indices": indices})))
}

/// `POST /{index}/_open`
pub async fn open(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path(expr): Path<String>,
    Query(params): Params,
) -> Result<Json<Value>, ApiError> {
    let catalog = Catalog::load(&svc)?;
    let mut opts = Options::from_params(&params)?.allowing_closed();
    opts.closed = true;
    let names = resolve(&state, &caller, &catalog, &expr, Action::OpenIndex, opts)?;
    blocks::check(&catalog, &names, Level::MetadataWrite)?;
    let changes = names.into_iter().map(|index| MetaChange::SetClosed { index, closed: false }).collect();
    svc.update_metadata(changes).await?;
    Ok(Json(json!({"acknowledged": true, "shards_acknowledged": true})))
}
