//! Composable index templates and component templates: `PUT|POST|GET|HEAD|DELETE
//! /_index_template[/{name}]`, `POST /_index_template/_simulate_index/{name}` and
//! `PUT|POST|GET|HEAD|DELETE /_component_template[/{name}]`. What a template is and how it
//! applies to a new index is `crate::templates`.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_index::Mapping;
use bulwark_pattern::{Syntax, matches};
use bulwark_store::{Command, EntryKind};
use serde_json::{Value, json};

use crate::body;
use crate::indices::{DataPlane, NewIndex};
use crate::resolve::Catalog;
use crate::templates::{
    IndexTemplate, Templates, component_json, index_template_json, list, parse_component,
    parse_index_template, parts_json,
};
use crate::{ApiError, ErrorType, RestState};

type Params = Query<HashMap<String, String>>;

fn acknowledged() -> Json<Value> {
    Json(json!({"acknowledged": true}))
}

/// Checks a template name as Elasticsearch does (`invalid_index_template_exception`).
fn check_name(kind: &str, name: &str) -> Result<(), ApiError> {
    let bad = |why: &str| {
        ApiError::new(ErrorType::InvalidIndexTemplate, format!("{kind} [{name}] invalid, cause [{why}]"))
    };
    if name.is_empty() {
        return Err(bad("name must not be empty"));
    }
    if name.contains(' ') || name.contains(',') || name.contains('"') || name.contains('*') {
        return Err(bad("name must not contain a space, ',', '\"' or '*'"));
    }
    if name.starts_with('_') {
        return Err(bad("name must not start with '_'"));
    }
    if name != name.to_lowercase() {
        return Err(bad("name must be lower cased"));
    }
    Ok(())
}

/// `create=true`: refuse to replace.
fn create_only(params: &HashMap<String, String>) -> Result<bool, ApiError> {
    crate::params::flag(params, "create")
}

async fn put_entry(state: &RestState, kind: EntryKind, name: &str, value: Value) -> Result<(), ApiError> {
    state
        .store
        .write(Command::PutEntry { kind, id: name.to_owned(), value })
        .await
        .map_err(ApiError::from)?;
    Ok(())
}

/// Checks index template `name` against the others and its component templates.
fn validate(templates: &Templates, name: &str, t: &IndexTemplate) -> Result<(), ApiError> {
    let missing = templates.missing_components(t);
    if !missing.is_empty() {
        return Err(ApiError::new(
            ErrorType::InvalidIndexTemplate,
            format!(
                "index template [{name}] specifies component templates {} that do not exist",
                list(&missing)
            ),
        ));
    }
    let clash = templates.conflicts(name, t);
    if !clash.is_empty() {
        let names: Vec<&str> = clash.keys().map(String::as_str).collect();
        let with: Vec<String> = clash.iter().map(|(n, ps)| format!("{n} => {}", list(ps))).collect();
        return Err(ApiError::illegal_argument(format!(
            "index template [{name}] has index patterns {} matching patterns from existing templates [{}] with patterns ({}) that have the same priority [{}], multiple index templates may not match during index creation, please use a different priority",
            list(&t.index_patterns),
            names.join(","),
            with.join(","),
            t.priority.unwrap_or(0)
        )));
    }
    let composed = templates.compose(t);
    if let Some(m) = composed.mappings {
        let limit = crate::indices::total_fields_limit(&composed.settings);
        Mapping::from_json_limited(&m, limit).map_err(|e| {
            ApiError::new(
                ErrorType::InvalidIndexTemplate,
                format!("index template [{name}] invalid, cause [composed mappings are not valid: {e}]"),
            )
        })?;
    }
    Ok(())
}

/// `PUT|POST /_index_template/{name}`
pub async fn put_index_template(
    State(state): State<RestState>,
    Path(name): Path<String>,
    Query(params): Params,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    check_name("index_template", &name)?;
    let create = create_only(&params)?;
    let t = parse_index_template(&body::object(&bytes, true)?)?;
    let mut templates = Templates::load(&state)?;
    if create && templates.index.contains_key(&name) {
        return Err(ApiError::illegal_argument(format!("index template [{name}] already exists")));
    }
    validate(&templates, &name, &t)?;
    let value = serde_json::to_value(&t).map_err(ApiError::encoding)?;
    templates.index.insert(name.clone(), t);
    put_entry(&state, EntryKind::IndexTemplate, &name, value).await?;
    tracing::info!(template = %name, "index template stored");
    Ok(acknowledged())
}

/// The stored templates of `kind` whose name matches `pattern` (a name, a wildcard or a comma
/// list); a missing name without a wildcard is a 404 saying `what`.
fn selected<T: Clone>(
    all: &BTreeMap<String, T>,
    pattern: Option<&str>,
    what: &str,
) -> Result<Vec<(String, T)>, ApiError> {
    let Some(pattern) = pattern.filter(|p| !p.is_empty() && *p != "*" && *p != "_all") else {
        return Ok(all.iter().map(|(n, t)| (n.clone(), t.clone())).collect());
    };
    let mut out = Vec::new();
    for part in pattern.split(',').map(str::trim) {
        let found: Vec<_> = all
            .iter()
            .filter(|(n, _)| matches(part, n, Syntax::STAR))
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect();
        if found.is_empty() && !part.contains('*') {
            return Err(ApiError::new(
                ErrorType::ResourceNotFound,
                format!("{what} matching [{part}] not found"),
            ));
        }
        out.extend(found);
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

/// `GET /_index_template[/{name}]`
pub async fn get_index_template(
    State(state): State<RestState>,
    path: Option<Path<String>>,
) -> Result<Json<Value>, ApiError> {
    let templates = Templates::load(&state)?;
    let name = path.map(|Path(p)| p);
    let found = selected(&templates.index, name.as_deref(), "index template")?;
    let list: Vec<Value> =
        found.iter().map(|(n, t)| json!({"name": n, "index_template": index_template_json(t)})).collect();
    Ok(Json(json!({ "index_templates": list })))
}

/// `HEAD /_index_template/{name}`
pub async fn index_template_exists(State(state): State<RestState>, Path(name): Path<String>) -> Response {
    match Templates::load(&state).and_then(|t| selected(&t.index, Some(&name), "index template")) {
        Ok(found) if !found.is_empty() => StatusCode::OK.into_response(),
        Ok(_) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => e.status.into_response(),
    }
}

/// `DELETE /_index_template/{name}` (a comma list; wildcards allowed)
pub async fn delete_index_template(
    State(state): State<RestState>,
    svc: DataPlane,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let templates = Templates::load(&state)?;
    let mut names = Vec::new();
    for part in name.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let found: Vec<&String> = templates.index.keys().filter(|n| matches(part, n, Syntax::STAR)).collect();
        if found.is_empty() && !part.contains('*') {
            return Err(ApiError::new(
                ErrorType::IndexTemplateMissing,
                format!("index_template [{part}] missing"),
            ));
        }
        names.extend(found.into_iter().cloned());
    }
    // A template a data stream was made with stays while the stream exists.
    let catalog = Catalog::load(&svc)?;
    let mut in_use = std::collections::BTreeSet::new();
    for stream in catalog.data_streams().keys() {
        if let Some((t, _)) = templates.find(stream, false)
            && names.iter().any(|n| n == t)
        {
            in_use.insert((t.to_owned(), stream.clone()));
        }
    }
    if !in_use.is_empty() {
        let ts: std::collections::BTreeSet<String> = in_use.iter().map(|(t, _)| t.clone()).collect();
        let ds: std::collections::BTreeSet<String> = in_use.iter().map(|(_, d)| d.clone()).collect();
        return Err(ApiError::illegal_argument(format!(
            "unable to remove composable templates {} as they are in use by a data streams {}",
            list(&ts),
            list(&ds)
        )));
    }
    let cmds = names
        .iter()
        .map(|n| Command::DeleteEntry { kind: EntryKind::IndexTemplate, id: n.clone() })
        .collect();
    state.store.write(Command::Batch(cmds)).await.map_err(ApiError::from)?;
    Ok(acknowledged())
}

/// `POST /_index_template/_simulate_index/{name}`: what a new index `name` would get.
pub async fn simulate_index(
    State(state): State<RestState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let templates = Templates::load(&state)?;
    let Some((tname, t)) = templates.find(&name, false) else {
        return Err(ApiError::new(
            ErrorType::ResourceNotFound,
            format!("no matching index template found for index [{name}]"),
        ));
    };
    let new = if t.data_stream.is_some() {
        crate::api::data_stream::first_backing(&templates, &name)?.1
    } else {
        templates.apply(&name, NewIndex::default())?
    };
    let parts = crate::templates::TemplateParts {
        settings: new.settings,
        mappings: new.mappings,
        aliases: new.aliases,
    };
    let overlapping: Vec<Value> = templates
        .index
        .iter()
        .filter(|(n, o)| {
            n.as_str() != tname && o.index_patterns.iter().any(|p| matches(p, &name, Syntax::STAR))
        })
        .map(|(n, o)| json!({"name": n, "index_patterns": o.index_patterns}))
        .collect();
    Ok(Json(json!({"template": parts_json(&parts), "overlapping": overlapping})))
}

/// `PUT|POST /_component_template/{name}`
pub async fn put_component_template(
    State(state): State<RestState>,
    Path(name): Path<String>,
    Query(params): Params,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    check_name("component_template", &name)?;
    let create = create_only(&params)?;
    let c = parse_component(&body::object(&bytes, true)?)?;
    let mut templates = Templates::load(&state)?;
    if create && templates.component.contains_key(&name) {
        return Err(ApiError::illegal_argument(format!("component template [{name}] already exists")));
    }
    templates.component.insert(name.clone(), c.clone());
    // Every index template using it must still compose.
    for (tname, t) in templates.index.iter().filter(|(_, t)| t.composed_of.contains(&name)) {
        validate(&templates, tname, t)?;
    }
    let value = serde_json::to_value(&c).map_err(ApiError::encoding)?;
    put_entry(&state, EntryKind::ComponentTemplate, &name, value).await?;
    tracing::info!(template = %name, "component template stored");
    Ok(acknowledged())
}

/// `GET /_component_template[/{name}]`
pub async fn get_component_template(
    State(state): State<RestState>,
    path: Option<Path<String>>,
) -> Result<Json<Value>, ApiError> {
    let templates = Templates::load(&state)?;
    let name = path.map(|Path(p)| p);
    let found = selected(&templates.component, name.as_deref(), "component template")?;
    let list: Vec<Value> =
        found.iter().map(|(n, t)| json!({"name": n, "component_template": component_json(t)})).collect();
    Ok(Json(json!({ "component_templates": list })))
}

/// `HEAD /_component_template/{name}`
pub async fn component_template_exists(State(state): State<RestState>, Path(name): Path<String>) -> Response {
    match Templates::load(&state).and_then(|t| selected(&t.component, Some(&name), "component template")) {
        Ok(found) if !found.is_empty() => StatusCode::OK.into_response(),
        Ok(_) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => e.status.into_response(),
    }
}

/// `DELETE /_component_template/{name}` (a comma list; wildcards allowed)
pub async fn delete_component_template(
    State(state): State<RestState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let templates = Templates::load(&state)?;
    let mut names = Vec::new();
    for part in name.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let found: Vec<&String> =
            templates.component.keys().filter(|n| matches(part, n, Syntax::STAR)).collect();
        if found.is_empty() && !part.contains('*') {
            return Err(ApiError::new(
                ErrorType::ResourceNotFound,
                format!("component_template [{part}] missing"),
            ));
        }
        names.extend(found.into_iter().cloned());
    }
    let users: Vec<String> = templates
        .index
        .iter()
        .filter(|(_, t)| t.composed_of.iter().any(|c| names.contains(c)))
        .map(|(n, _)| n.clone())
        .collect();
    if !users.is_empty() {
        return Err(ApiError::illegal_argument(format!(
            "component templates {} cannot be removed as they are still in use by index templates {}",
            list(&names),
            list(&users)
        )));
    }
    let cmds = names
        .iter()
        .map(|n| Command::DeleteEntry { kind: EntryKind::ComponentTemplate, id: n.clone() })
        .collect();
    state.store.write(Command::Batch(cmds)).await.map_err(ApiError::from)?;
    Ok(acknowledged())
}
