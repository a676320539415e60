//! Role APIs (`_security/role`, bulk, `_query/role`, `_clear_cache`), role mappings, and the
//! privilege views (`_has_privileges`, `user/_privileges`, `privilege/_builtin`).

use crate::ErrorType;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_security::authn::{MappingError, RoleMapping};
use bulwark_security::authz::{
    ClusterPrivilege, IndexPrivilege, RESERVED_ROLES, RoleDescriptor, reserved_role_descriptor,
};
use bulwark_store::{Command, EntryKind};
use serde_json::{Map, Value, json};

use super::{Caller, audit_change};
use crate::body::{self, opt_string, opt_strings};
use crate::security_query::{self as sq, JsonDoc, JsonFields};
use crate::{ApiError, RestState};

fn stored_role(state: &RestState, name: &str) -> Result<Option<RoleDescriptor>, ApiError> {
    Ok(state
        .store
        .get_entry(EntryKind::Role, name)
        .map_err(ApiError::from)?
        .and_then(|v| serde_json::from_value(v).ok()))
}

fn render(d: &RoleDescriptor) -> Value {
    let mut v = serde_json::to_value(d).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.entry("transient_metadata").or_insert(json!({"enabled": true}));
    }
    v
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name.len() > 507 || name.starts_with('_') && name != "_" {
        return Err(body::validation(format!(
            "role name [{name}] is invalid: 1 to 507 characters, not starting with _"
        )));
    }
    if RESERVED_ROLES.contains(&name) {
        return Err(body::validation(format!("Role [{name}] is reserved and may not be used.")));
    }
    Ok(())
}

async fn put_one(state: &RestState, name: &str, v: &Value) -> Result<bool, ApiError> {
    check_name(name)?;
    let d = RoleDescriptor::from_json(name, v).map_err(ApiError::parse)?;
    crate::restrict::check_role_queries(name, &d)?;
    let existed = stored_role(state, name)?.is_some();
    let value = serde_json::to_value(&d).map_err(ApiError::encoding)?;
    state
        .store
        .write(Command::PutEntry { kind: EntryKind::Role, id: name.to_owned(), value })
        .await
        .map_err(ApiError::from)?;
    Ok(!existed)
}

/// `PUT|POST /_security/role/{name}`
pub async fn put(
    State(state): State<RestState>,
    Path(name): Path<String>,
    who: Caller,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let m = body::object(&bytes, true)?;
    let created = put_one(&state, &name, &Value::Object(m)).await?;
    state.authorizer.clear_cache();
    audit_change(&state, &who, "put_role", &name);
    Ok(Json(json!({ "role": { "created": created } })))
}

/// `POST /_security/role` (bulk put)
pub async fn bulk_put(
    State(state): State<RestState>,
    who: Caller,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let m = body::object(&bytes, true)?;
    let roles =
        m.get("roles").and_then(Value::as_object).ok_or_else(|| body::validation("[roles] is required"))?;
    let (mut created, mut updated, mut details) = (Vec::new(), Vec::new(), Map::new());
    for (name, v) in roles {
        match put_one(&state, name, v).await {
            Ok(true) => created.push(name.clone()),
            Ok(false) => updated.push(name.clone()),
            Err(e) => {
                details.insert(name.clone(), json!({ "type": e.kind, "reason": e.reason }));
            }
        }
    }
    state.authorizer.clear_cache();
    audit_change(&state, &who, "bulk_put_role", &roles.keys().cloned().collect::<Vec<_>>().join(","));
    let mut out = json!({ "created": created, "updated": updated, "noop": [] });
    if !details.is_empty() {
        out["errors"] = json!({ "count": details.len(), "details": details });
    }
    Ok(Json(out))
}

/// `GET /_security/role` and `/_security/role/{names}`: reserved and native roles.
pub async fn get(State(state): State<RestState>, names: Option<Path<String>>) -> Result<Response, ApiError> {
    let wanted: Option<Vec<String>> = names.map(|Path(n)| n.split(',').map(str::to_owned).collect());
    let mut out = Map::new();
    for r in RESERVED_ROLES {
        if wanted.as_ref().is_none_or(|w| w.iter().any(|x| x == r))
            && let Some(d) = reserved_role_descriptor(r)
        {
            out.insert((*r).to_owned(), render(&d));
        }
    }
    for (name, v) in state.store.entries(EntryKind::Role).map_err(ApiError::from)? {
        if wanted.as_ref().is_none_or(|w| w.contains(&name))
            && let Ok(d) = serde_json::from_value::<RoleDescriptor>(v)
        {
            out.insert(name, render(&d));
        }
    }
    if out.is_empty() && wanted.is_some() {
        return Ok((StatusCode::NOT_FOUND, Json(json!({}))).into_response());
    }
    Ok(Json(Value::Object(out)).into_response())
}

async fn delete_one(state: &RestState, name: &str) -> Result<bool, ApiError> {
    if RESERVED_ROLES.contains(&name) {
        return Err(ApiError::illegal_argument(format!("role [{name}] is reserved and cannot be deleted")));
    }
    if stored_role(state, name)?.is_none() {
        return Ok(false);
    }
    state
        .store
        .write(Command::DeleteEntry { kind: EntryKind::Role, id: name.to_owned() })
        .await
        .map_err(ApiError::from)?;
    Ok(true)
}

/// `DELETE /_security/role/{name}`
pub async fn delete(
    State(state): State<RestState>,
    Path(name): Path<String>,
    who: Caller,
) -> Result<Response, ApiError> {
    let found = delete_one(&state, &name).await?;
    state.authorizer.clear_cache();
    if !found {
        return Ok((StatusCode::NOT_FOUND, Json(json!({ "found": false }))).into_response());
    }
    audit_change(&state, &who, "delete_role", &name);
    Ok(Json(json!({ "found": true })).into_response())
}

/// `DELETE /_security/role` (bulk delete)
pub async fn bulk_delete(
    State(state): State<RestState>,
    who: Caller,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let m = body::object(&bytes, true)?;
    let names = opt_strings(&m, "names")?.ok_or_else(|| body::validation("[names] is required"))?;
    let (mut deleted, mut not_found, mut details) = (Vec::new(), Vec::new(), Map::new());
    for n in &names {
        match delete_one(&state, n).await {
            Ok(true) => deleted.push(n.clone()),
            Ok(false) => not_found.push(n.clone()),
            Err(e) => {
                details.insert(n.clone(), json!({ "type": e.kind, "reason": e.reason }));
            }
        }
    }
    state.authorizer.clear_cache();
    audit_change(&state, &who, "bulk_delete_role", &names.join(","));
    let mut out = json!({ "deleted": deleted, "not_found": not_found });
    if !details.is_empty() {
        out["errors"] = json!({ "count": details.len(), "details": details });
    }
    Ok(Json(out))
}

/// The fields `_query/role` searches (and `metadata.*`).
struct RoleFields;
impl JsonFields for RoleFields {
    const FIELDS: &'static [&'static str] = &["name", "description"];
}

/// `GET|POST /_security/_query/role`: `from`/`size` and a `query` in the security query
/// language (see `security_query`) over `name`, `description` and `metadata.*`.
pub async fn query(State(state): State<RestState>, bytes: Bytes) -> Result<Json<Value>, ApiError> {
    let m = body::object(&bytes, false)?;
    body::known_fields(&m, "query_role_request", sq::QUERY_FIELDS)?;
    let keys = sq::sort_keys::<JsonDoc<'_, RoleFields>>(m.get("sort"))?;
    let q = m.get("query").cloned().unwrap_or(json!({"match_all": {}}));
    let mut roles = Vec::new();
    for (name, v) in state.store.entries(EntryKind::Role).map_err(ApiError::from)? {
        let Ok(d) = serde_json::from_value::<RoleDescriptor>(v) else { continue };
        let mut r = render(&d);
        r["name"] = json!(name);
        let doc = r.as_object().cloned().unwrap_or_default();
        let jd = JsonDoc::<RoleFields>::new(&name, &doc);
        if sq::matches(&q, &jd, "Role")? {
            roles.push((sq::sort_values(&jd, &keys), r));
        }
    }
    let (total, page) = sq::page(&m, &keys.iter().map(|k| k.1).collect::<Vec<_>>(), roles)?;
    Ok(Json(json!({ "total": total, "count": page.len(), "roles": page })))
}

/// The `_nodes` answer of cache-clearing APIs.
pub fn nodes_ack(state: &RestState) -> Value {
    json!({
        "_nodes": { "total": 1, "successful": 1, "failed": 0 },
        "cluster_name": state.info.cluster_name,
        "nodes": { state.info.node_name.clone(): { "name": state.info.node_name } },
    })
}

/// `POST /_security/role/{names}/_clear_cache`
pub async fn clear_cache(State(state): State<RestState>, Path(_names): Path<String>) -> Json<Value> {
    state.authorizer.clear_cache();
    Json(nodes_ack(&state))
}

/// `PUT|POST /_security/role_mapping/{name}`: validated as Elasticsearch validates it (rules,
/// templates, required fields, unknown fields), then stored as given, `metadata` defaulting to
/// `{}`. Mappings apply to PKI realm users.
pub async fn put_mapping(
    State(state): State<RestState>,
    Path(name): Path<String>,
    who: Caller,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let m = body::object(&bytes, true)?;
    if let Err(e) = RoleMapping::parse(&name, &Value::Object(m.clone())) {
        return Err(match e {
            MappingError::Validation(r) => body::validation(r),
            MappingError::Parse(r) => ApiError::parse(r),
            MappingError::Parsing(r) => ApiError::new(ErrorType::Parsing, r),
            MappingError::Content(r) => ApiError::new(ErrorType::XContentParse, r),
        });
    }
    let existed = state.store.get_entry(EntryKind::RoleMapping, &name).map_err(ApiError::from)?.is_some();
    let mut value = Value::Object(m);
    value.as_object_mut().map(|o| o.entry("metadata").or_insert(json!({})));
    state
        .store
        .write(Command::PutEntry { kind: EntryKind::RoleMapping, id: name.clone(), value })
        .await
        .map_err(ApiError::from)?;
    audit_change(&state, &who, "put_role_mapping", &name);
    Ok(Json(json!({ "role_mapping": { "created": !existed } })))
}

/// `GET /_security/role_mapping` and `/_security/role_mapping/{names}`
pub async fn get_mappings(
    State(state): State<RestState>,
    names: Option<Path<String>>,
) -> Result<Response, ApiError> {
    let wanted: Option<Vec<String>> = names.map(|Path(n)| n.split(',').map(str::to_owned).collect());
    let mut out = Map::new();
    for (name, v) in state.store.entries(EntryKind::RoleMapping).map_err(ApiError::from)? {
        if wanted.as_ref().is_none_or(|w| w.contains(&name)) {
            out.insert(name, v);
        }
    }
    if out.is_empty() && wanted.is_some() {
        return Ok((StatusCode::NOT_FOUND, Json(json!({}))).into_response());
    }
    Ok(Json(Value::Object(out)).into_response())
}

/// `DELETE /_security/role_mapping/{name}`
pub async fn delete_mapping(
    State(state): State<RestState>,
    Path(name): Path<String>,
    who: Caller,
) -> Result<Response, ApiError> {
    if state.store.get_entry(EntryKind::RoleMapping, &name).map_err(ApiError::from)?.is_none() {
        return Ok((StatusCode::NOT_FOUND, Json(json!({ "found": false }))).into_response());
    }
    state
        .store
        .write(Command::DeleteEntry { kind: EntryKind::RoleMapping, id: name.clone() })
        .await
        .map_err(ApiError::from)?;
    audit_change(&state, &who, "delete_role_mapping", &name);
    Ok(Json(json!({ "found": true })).into_response())
}

/// `GET|POST /_security/user/_has_privileges` (and `/_security/user/{user}/_has_privileges`,
/// answered for the caller as Elasticsearch does).
pub async fn has_privileges(
    State(state): State<RestState>,
    who: Caller,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let Some(a) = who.authn else {
        return Err(ApiError::illegal_argument("security is disabled on this node"));
    };
    let m = body::object(&bytes, true)?;
    let mut all = true;
    let mut cluster = Map::new();
    for p in opt_strings(&m, "cluster")?.unwrap_or_default() {
        let held = state.authorizer.has_cluster_privilege(&a, &p).map_err(ApiError::illegal_argument)?;
        all &= held;
        cluster.insert(p, json!(held));
    }
    let mut index = Map::new();
    for entry in m.get("index").and_then(Value::as_array).cloned().unwrap_or_default() {
        let e = entry.as_object().cloned().unwrap_or_default();
        let names = opt_strings(&e, "names")?.unwrap_or_default();
        let privileges = opt_strings(&e, "privileges")?.unwrap_or_default();
        for n in names {
            let slot = index.entry(n.clone()).or_insert_with(|| json!({}));
            for p in &privileges {
                let held =
                    state.authorizer.has_index_privilege(&a, &n, p).map_err(ApiError::illegal_argument)?;
                all &= held;
                slot[p.as_str()] = json!(held);
            }
        }
    }
    let mut application = Map::new();
    for entry in m.get("application").and_then(Value::as_array).cloned().unwrap_or_default() {
        let e = entry.as_object().cloned().unwrap_or_default();
        let app = opt_string(&e, "application")?.unwrap_or_default();
        let slot = application.entry(app.clone()).or_insert_with(|| json!({}));
        let privileges = opt_strings(&e, "privileges")?.unwrap_or_default();
        for res in opt_strings(&e, "resources")?.unwrap_or_default() {
            let mut r = Map::new();
            for p in &privileges {
                let held = state.authorizer.has_application_privilege(&a, &app, p, &res);
                all &= held;
                r.insert(p.clone(), json!(held));
            }
            slot[res.as_str()] = Value::Object(r);
        }
    }
    Ok(Json(json!({
        "username": a.user.username,
        "has_all_requested": all,
        "cluster": cluster,
        "index": index,
        "application": application,
    })))
}

/// `GET /_security/user/_privileges`: the union of the caller's roles.
pub async fn user_privileges(State(state): State<RestState>, who: Caller) -> Result<Json<Value>, ApiError> {
    let Some(a) = who.authn else {
        return Err(ApiError::illegal_argument("security is disabled on this node"));
    };
    if a.api_key.as_ref().is_some_and(|k| !k.descriptors.is_empty()) {
        return Err(ApiError::illegal_argument(
            "Cannot retrieve privileges for API keys with assigned role descriptors. \
             Please use the Get API key information API https://ela.st/es-api-get-api-key",
        ));
    }
    let (mut cluster, mut indices, mut applications, mut run_as) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (_, d) in state.authorizer.roles_of(&a) {
        cluster.extend(d.cluster.clone());
        indices.extend(d.indices.iter().map(|i| serde_json::to_value(i).unwrap_or_default()));
        applications.extend(d.applications.iter().map(|x| serde_json::to_value(x).unwrap_or_default()));
        run_as.extend(d.run_as.clone());
    }
    cluster.sort();
    cluster.dedup();
    run_as.sort();
    run_as.dedup();
    Ok(Json(
        json!({ "cluster": cluster, "global": [], "indices": indices, "applications": applications, "run_as": run_as }),
    ))
}

/// `GET /_security/privilege/_builtin`
pub async fn builtin() -> Json<Value> {
    let mut cluster: Vec<&str> = ClusterPrivilege::ALL.iter().map(|p| p.name()).collect();
    let mut index: Vec<&str> = IndexPrivilege::ALL.iter().map(|p| p.name()).collect();
    cluster.sort_unstable();
    index.sort_unstable();
    Json(json!({ "cluster": cluster, "index": index, "remote_cluster": ["monitor_enrich", "monitor_stats"] }))
}
