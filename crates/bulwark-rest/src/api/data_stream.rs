//! Data streams: `PUT|GET|DELETE /_data_stream[/{name}]`, and the first backing index a write
//! into a new stream creates.
//!
//! A data stream is not a store entry of its own: it is the set of indices whose metadata names
//! it (`IndexMeta::data_stream`), so a stream and its backing indices are created, replicated
//! and deleted together. Backing indices are `.ds-<stream>-<yyyy.MM.dd>-<generation>`, hidden;
//! writes go to the newest one. There is no rollover (lifecycle policies are stored, not run),
//! so a stream has one backing index unless made otherwise.

use std::collections::{BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{Path, Query, State};
use bulwark_pattern::{Syntax, matches};
use bulwark_security::authz::Action;
use serde_json::{Value, json};

use crate::caller::Caller;
use crate::indices::{DataPlane, NewIndex};
use crate::resolve::{Catalog, index_not_found, validate_index_name};
use crate::templates::{TIMESTAMP_FIELD, Templates, overlay};
use crate::{ApiError, ErrorType, RestState};

type Params = Query<HashMap<String, String>>;

/// `yyyy.MM.dd` of now (UTC).
fn today() -> String {
    let ms =
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
    super::license::iso8601(ms)[..10].replace('-', ".")
}

/// Checks a data stream name as Elasticsearch does.
fn check_name(name: &str) -> Result<(), ApiError> {
    validate_index_name(name)?;
    if name.starts_with(".ds-") {
        return Err(ApiError::illegal_argument(format!("data_stream [{name}] must not start with '.ds-'")));
    }
    Ok(())
}

/// The first backing index of new data stream `name` and what it is created with: the
/// matching template's parts, hidden, with `@timestamp` mapped as a date.
pub fn first_backing(templates: &Templates, name: &str) -> Result<(String, NewIndex), ApiError> {
    check_name(name)?;
    let Some((_, t)) = templates.find(name, false).filter(|(_, t)| t.data_stream.is_some()) else {
        return Err(ApiError::illegal_argument(format!(
            "no matching index template found for data stream [{name}]"
        )));
    };
    let parts = templates.compose(t);
    let request = NewIndex {
        settings: [("hidden".to_owned(), Value::String("true".into()))].into_iter().collect(),
        data_stream: Some(name.to_owned()),
        ..NewIndex::default()
    };
    let new = overlay(parts, request);
    let ts_type =
        new.mappings.as_ref().and_then(|m| m.pointer("/properties/@timestamp/type")).and_then(Value::as_str);
    if let Some(ty) = ts_type.filter(|t| *t != "date" && *t != "date_nanos") {
        return Err(ApiError::illegal_argument(format!(
            "data stream timestamp field [{TIMESTAMP_FIELD}] is of type [{ty}], but [date,date_nanos] is expected"
        )));
    }
    Ok((format!(".ds-{name}-{}-000001", today()), new))
}

/// `PUT /_data_stream/{name}`
pub async fn create(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.authorize(&state, Action::CreateDataStream, std::slice::from_ref(&name))?;
    check_name(&name)?;
    let catalog = Catalog::load(&svc)?;
    if catalog.data_stream(&name).is_some() {
        return Err(ApiError::new(
            ErrorType::ResourceAlreadyExists,
            format!("data_stream [{name}] already exists"),
        ));
    }
    if catalog.index(&name).is_some() || catalog.alias(&name).is_some() {
        return Err(ApiError::new(
            ErrorType::InvalidIndexName,
            format!("Invalid index name [{name}], an index or alias with the same name already exists"),
        ));
    }
    let templates = Templates::load(&state)?;
    let (index, new) = first_backing(&templates, &name)?;
    svc.create_index(index, new).await?;
    tracing::info!(data_stream = %name, "data stream created");
    Ok(Json(json!({"acknowledged": true})))
}

/// The data streams `expr` names (a comma list, wildcards, `*`, `_all`, empty) that the caller
/// may see for `action`: explicit names are authorized (403) and must exist (404), wildcards
/// skip what the caller may not see.
fn named(
    state: &RestState,
    caller: &Caller,
    catalog: &Catalog,
    expr: &str,
    action: Action,
) -> Result<Vec<String>, ApiError> {
    let parts: Vec<&str> = expr.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    let parts = if parts.is_empty() || parts == ["_all"] { vec!["*"] } else { parts };
    let mut out = BTreeSet::new();
    for part in parts {
        if part.contains('*') {
            out.extend(
                catalog
                    .data_streams()
                    .keys()
                    .filter(|n| matches(part, n, Syntax::STAR) && caller.allows(state, action, n))
                    .cloned(),
            );
            continue;
        }
        caller.check(state, action, &[part.to_owned()])?;
        if catalog.data_stream(part).is_none() {
            return Err(index_not_found(part));
        }
        out.insert(part.to_owned());
    }
    let out: Vec<String> = out.into_iter().collect();
    caller.granted(state, action, &out);
    Ok(out)
}

/// `GET /_data_stream[/{name}]`
pub async fn get(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    path: Option<Path<String>>,
    Query(_params): Params,
) -> Result<Json<Value>, ApiError> {
    let expr = path.map(|Path(p)| p).unwrap_or_default();
    let catalog = Catalog::load(&svc)?;
    let names = named(&state, &caller, &catalog, &expr, Action::GetDataStream)?;
    let templates = Templates::load(&state)?;
    let mut streams = Vec::new();
    for name in names {
        let backing = catalog.data_stream(&name).unwrap_or_default();
        let indices: Vec<Value> = backing
            .iter()
            .filter_map(|b| catalog.index(b).map(|m| (b, m)))
            .map(|(b, m)| {
                json!({
                    "index_name": b,
                    "index_uuid": m.uuid,
                    "prefer_ilm": true,
                    "ilm_policy": m.setting("lifecycle.name"),
                    "managed_by": "Unmanaged",
                })
            })
            .collect();
        let template = templates.find(&name, false);
        let policy = backing.last().and_then(|b| catalog.index(b)).and_then(|m| m.setting("lifecycle.name"));
        let mut s = json!({
            "name": name,
            "timestamp_field": {"name": TIMESTAMP_FIELD},
            "indices": indices,
            "generation": backing.last().map_or(0, |b| crate::resolve::generation(b)),
            "status": "GREEN",
            "template": template.map(|(n, _)| n),
            "next_generation_managed_by": "Unmanaged",
            "prefer_ilm": true,
            "hidden": template.and_then(|(_, t)| t.data_stream).is_some_and(|d| d.hidden),
            "system": false,
            "allow_custom_routing": false,
            "replicated": false,
            "rollover_on_write": false,
        });
        if let Some(p) = policy {
            s["ilm_policy"] = json!(p);
        }
        if let Some(meta) = template.and_then(|(_, t)| t.meta.clone()) {
            s["_meta"] = Value::Object(meta);
        }
        streams.push(s);
    }
    Ok(Json(json!({ "data_streams": streams })))
}

/// `DELETE /_data_stream/{name}`: the stream and its backing indices.
pub async fn delete(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path(expr): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let catalog = Catalog::load(&svc)?;
    let names = named(&state, &caller, &catalog, &expr, Action::DeleteDataStream)?;
    let backing: Vec<String> =
        names.iter().flat_map(|n| catalog.data_stream(n).unwrap_or_default().iter().cloned()).collect();
    svc.delete_indices(backing).await?;
    for n in &names {
        tracing::info!(data_stream = %n, "data stream deleted");
    }
    Ok(Json(json!({"acknowledged": true})))
}
