//! Alias APIs: `POST /_aliases` (atomic `add`, `remove`, `remove_index` actions),
//! `PUT|DELETE /{index}/_alias/{name}`, and `GET|HEAD` of aliases. Alias filters and routing
//! are refused: this node does not apply them.

use crate::ErrorType;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_pattern::Syntax;
use bulwark_security::authz::Action;
use serde_json::{Map, Value, json};

use super::index::{alias_json, invalid_alias};
use crate::blocks::{self, Level};
use crate::body;
use crate::caller::Caller;
use crate::indices::{AliasMeta, DataPlane, MetaChange};
use crate::resolve::{Catalog, Options, resolve, validate_index_name};
use crate::{ApiError, RestState};

type Params = Query<HashMap<String, String>>;

/// Reads an alias definition (`{}`, `{"is_write_index": true}`, ...).
pub fn parse_alias_meta(alias: &str, v: &Value) -> Result<AliasMeta, ApiError> {
    let Value::Object(m) = v else {
        return Err(ApiError::parse(format!("alias [{alias}] must be an object")));
    };
    let mut meta = AliasMeta::default();
    for (k, v) in m {
        match k.as_str() {
            "is_write_index" => meta.is_write_index = Some(flag(k, v)?),
            "is_hidden" => meta.is_hidden = Some(flag(k, v)?),
            "filter" | "routing" | "index_routing" | "search_routing" => {
                return Err(ApiError::illegal_argument(format!(
                    "[{k}] on alias [{alias}] is not supported by this node"
                )));
            }
            other => return Err(ApiError::parse(format!("[alias] unknown field [{other}]"))),
        }
    }
    Ok(meta)
}

fn flag(k: &str, v: &Value) -> Result<bool, ApiError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
        _ => Err(ApiError::parse(format!("[{k}] must be a boolean"))),
    }
}

fn names(m: &Map<String, Value>, one: &str, many: &str) -> Result<Vec<String>, ApiError> {
    let mut out = body::opt_strings(m, one)?.unwrap_or_default();
    out.extend(body::opt_strings(m, many)?.unwrap_or_default());
    Ok(out)
}

fn aliases_missing(names: &[String]) -> ApiError {
    ApiError::new(ErrorType::AliasesNotFound, format!("aliases [{}] missing", names.join(",")))
}

/// The changes that add `aliases` to the indices of `expr`, checked and authorized.
fn add_changes(
    state: &RestState,
    caller: &Caller,
    catalog: &Catalog,
    expr: &str,
    aliases: &[String],
    meta: &AliasMeta,
) -> Result<Vec<MetaChange>, ApiError> {
    if aliases.is_empty() {
        return Err(body::validation("[alias] is missing"));
    }
    for a in aliases {
        validate_index_name(a)?;
        if catalog.index(a).is_some() {
            return Err(invalid_alias(a));
        }
    }
    caller.authorize(state, Action::UpdateAliases, aliases)?;
    let opts = Options { allow_no_indices: false, ..Options::default() }.allowing_closed();
    let indices = resolve(state, caller, catalog, expr, Action::UpdateAliases, opts)?;
    blocks::check(catalog, &indices, Level::MetadataWrite)?;
    let mut out = Vec::new();
    for index in &indices {
        for alias in aliases {
            out.push(MetaChange::AddAlias { index: index.clone(), alias: alias.clone(), meta: meta.clone() });
        }
    }
    Ok(out)
}

/// The changes that remove the aliases matching `patterns` from the indices of `expr`.
fn remove_changes(
    state: &RestState,
    caller: &Caller,
    catalog: &Catalog,
    expr: &str,
    patterns: &[String],
    must_exist: bool,
) -> Result<Vec<MetaChange>, ApiError> {
    if patterns.is_empty() {
        return Err(body::validation("[alias] is missing"));
    }
    let opts = Options::default().allowing_closed();
    let indices = resolve(state, caller, catalog, expr, Action::UpdateAliases, opts)?;
    blocks::check(catalog, &indices, Level::MetadataWrite)?;
    let mut out = Vec::new();
    let mut matched: BTreeSet<&String> = BTreeSet::new();
    for index in &indices {
        let Some(meta) = catalog.index(index) else { continue };
        for alias in meta.aliases.keys() {
            if let Some(p) =
                patterns.iter().find(|p| *p == "_all" || bulwark_pattern::matches(p, alias, Syntax::STAR))
            {
                matched.insert(p);
                out.push(MetaChange::RemoveAlias { index: index.clone(), alias: alias.clone() });
            }
        }
    }
    let missing: Vec<String> = patterns.iter().filter(|p| !matched.contains(p)).cloned().collect();
    if must_exist && !missing.is_empty() {
        return Err(aliases_missing(&missing));
    }
    let removed: Vec<String> = out
        .iter()
        .filter_map(|c| match c {
            MetaChange::RemoveAlias { alias, .. } => Some(alias.clone()),
            _ => None,
        })
        .collect();
    if !removed.is_empty() {
        caller.authorize(state, Action::UpdateAliases, &removed)?;
    }
    Ok(out)
}

/// `POST /_aliases`
pub async fn update(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = body::object(&bytes, true)?;
    let Some(Value::Array(actions)) = body.get("actions") else {
        return Err(body::validation("no actions specified"));
    };
    let catalog = Catalog::load(&svc)?;
    let mut changes = Vec::new();
    let mut deletes = Vec::new();
    for action in actions {
        let Value::Object(a) = action else { return Err(ApiError::parse("[actions] must hold objects")) };
        let (kind, spec) = match (a.len(), a.iter().next()) {
            (1, Some((k, Value::Object(spec)))) => (k.as_str(), spec),
            _ => return Err(ApiError::parse("an alias action must be an object with one key")),
        };
        let indices = names(spec, "index", "indices")?;
        if indices.is_empty() {
            return Err(body::validation("One of [index] or [indices] is required"));
        }
        let expr = indices.join(",");
        match kind {
            "add" => {
                let aliases = names(spec, "alias", "aliases")?;
                let mut meta_spec = spec.clone();
                for k in ["index", "indices", "alias", "aliases", "must_exist"] {
                    meta_spec.remove(k);
                }
                let meta = parse_alias_meta(&aliases.join(","), &Value::Object(meta_spec))?;
                changes.extend(add_changes(&state, &caller, &catalog, &expr, &aliases, &meta)?);
            }
            "remove" => {
                let aliases = names(spec, "alias", "aliases")?;
                let must_exist = spec.get("must_exist").and_then(Value::as_bool).unwrap_or(true);
                changes.extend(remove_changes(&state, &caller, &catalog, &expr, &aliases, must_exist)?);
            }
            "remove_index" => {
                caller.authorize(&state, Action::DeleteIndex, &indices)?;
                for i in &indices {
                    if catalog.index(i).is_none() {
                        return Err(crate::resolve::index_not_found(i));
                    }
                }
                blocks::check_delete_index(&catalog, &indices)?;
                deletes.extend(indices);
            }
            other => return Err(ApiError::parse(format!("Unknown alias action [{other}]"))),
        }
    }
    svc.update_metadata(changes).await?;
    if !deletes.is_empty() {
        svc.delete_indices(deletes).await?;
    }
    Ok(Json(json!({"acknowledged": true, "errors": false})))
}

/// `PUT|POST /{index}/_alias/{name}`
pub async fn put(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path((expr, name)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = body::object(&bytes, false)?;
    let aliases: Vec<String> =
        name.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let meta = parse_alias_meta(&name, &Value::Object(body))?;
    let catalog = Catalog::load(&svc)?;
    let changes = add_changes(&state, &caller, &catalog, &expr, &aliases, &meta)?;
    svc.update_metadata(changes).await?;
    Ok(Json(json!({"acknowledged": true})))
}

/// `DELETE /{index}/_alias/{name}`
pub async fn delete(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path((expr, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let patterns: Vec<String> =
        name.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let catalog = Catalog::load(&svc)?;
    let changes = remove_changes(&state, &caller, &catalog, &expr, &patterns, true)?;
    svc.update_metadata(changes).await?;
    Ok(Json(json!({"acknowledged": true})))
}

/// Aliases by index, and the explicit alias names nothing matched.
type Found = (BTreeMap<String, Map<String, Value>>, Vec<String>);

/// The aliases of the indices of `expr` matching `patterns` (all with `None`): by index, and
/// the explicit names nothing matched.
fn lookup(
    state: &RestState,
    caller: &Caller,
    catalog: &Catalog,
    expr: &str,
    patterns: Option<&[String]>,
    params: &HashMap<String, String>,
) -> Result<Found, ApiError> {
    let opts = Options::from_params(params)?.allowing_closed();
    let indices = resolve(state, caller, catalog, expr, Action::GetAliases, opts)?;
    blocks::check(catalog, &indices, Level::MetadataRead)?;
    let mut out = BTreeMap::new();
    let mut matched: BTreeSet<&String> = BTreeSet::new();
    for index in &indices {
        let Some(meta) = catalog.index(index) else { continue };
        let mut found = Map::new();
        for (alias, m) in &meta.aliases {
            let hit = match patterns {
                None => true,
                Some(ps) => {
                    match ps.iter().find(|p| *p == "_all" || bulwark_pattern::matches(p, alias, Syntax::STAR))
                    {
                        Some(p) => {
                            matched.insert(p);
                            true
                        }
                        None => false,
                    }
                }
            };
            if hit {
                found.insert(alias.clone(), alias_json(m));
            }
        }
        if patterns.is_none() || !found.is_empty() {
            out.insert(index.clone(), found);
        }
    }
    let missing = patterns
        .unwrap_or_default()
        .iter()
        .filter(|p| !p.contains('*') && *p != "_all" && !matched.contains(p))
        .cloned()
        .collect();
    Ok((out, missing))
}

fn split(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

async fn get_aliases(
    state: RestState,
    caller: Caller,
    svc: DataPlane,
    expr: String,
    name: Option<String>,
    params: HashMap<String, String>,
) -> Response {
    let patterns = name.as_deref().map(split);
    let result = Catalog::load(&svc)
        .and_then(|catalog| lookup(&state, &caller, &catalog, &expr, patterns.as_deref(), &params));
    match result {
        Err(e) => e.into_response(),
        Ok((found, missing)) => {
            let mut body: Map<String, Value> =
                found.into_iter().map(|(i, a)| (i, json!({ "aliases": a }))).collect();
            if missing.is_empty() {
                return Json(Value::Object(body)).into_response();
            }
            let what = if missing.len() == 1 { "alias" } else { "aliases" };
            body.insert("error".into(), json!(format!("{what} [{}] missing", missing.join(","))));
            body.insert("status".into(), json!(404));
            (StatusCode::NOT_FOUND, Json(Value::Object(body))).into_response()
        }
    }
}

/// `GET|HEAD /_alias`, `/_aliases`
pub async fn get_all(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Query(p): Params,
) -> Response {
    get_aliases(state, caller, svc, String::new(), None, p).await
}

/// `GET|HEAD /_alias/{name}`
pub async fn get_named(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path(name): Path<String>,
    Query(p): Params,
) -> Response {
    get_aliases(state, caller, svc, String::new(), Some(name), p).await
}

/// `GET|HEAD /{index}/_alias`
pub async fn get_of_index(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path(expr): Path<String>,
    Query(p): Params,
) -> Response {
    get_aliases(state, caller, svc, expr, None, p).await
}

/// `GET|HEAD /{index}/_alias/{name}`
pub async fn get_named_of_index(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path((expr, name)): Path<(String, String)>,
    Query(p): Params,
) -> Response {
    get_aliases(state, caller, svc, expr, Some(name), p).await
}
