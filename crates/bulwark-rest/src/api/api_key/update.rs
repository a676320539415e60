//! `PUT /_security/api_key/{id}` and `POST /_security/api_key/_bulk_update`: the owner changes
//! a key's role descriptors, metadata or expiration (the owner's limits are copied again).

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use bulwark_security::authn::{Authentication, now_millis};
use bulwark_security::authz::RoleDescriptor;
use serde_json::{Map, Value, json};

use super::{
    Owner, UPDATE_KEY_FIELDS, audit, caller, expiration_field, limits_of, load, metadata_field, owner_of,
    put, role_descriptors_field, validation_errors,
};
use crate::body::{self, known_fields, opt_strings};
use crate::caller::Caller;
use crate::{ApiError, RestState};

/// The changes an update asks for.
struct KeyUpdate {
    role_descriptors: Option<Map<String, Value>>,
    metadata: Option<Map<String, Value>>,
    /// Milliseconds from now.
    expiration: Option<i64>,
}

fn key_update(m: &Map<String, Value>, object: &str, extra: &[&str]) -> Result<KeyUpdate, ApiError> {
    let mut known = UPDATE_KEY_FIELDS.to_vec();
    known.extend_from_slice(extra);
    known_fields(m, object, &known)?;
    let mut errors = Vec::new();
    let metadata = metadata_field(m, &mut errors)?;
    validation_errors(&errors)?;
    Ok(KeyUpdate { role_descriptors: role_descriptors_field(m)?, metadata, expiration: expiration_field(m)? })
}

/// Whether two sets of role descriptors mean the same, compared as Elasticsearch compares them:
/// parsed (`"names": "a"` is `["a"]`, an absent list is an empty one), not as written.
fn same_descriptors(old: &Map<String, Value>, new: &Map<String, Value>) -> bool {
    old.len() == new.len()
        && old.iter().all(|(name, d)| {
            new.get(name).is_some_and(|n| {
                matches!((RoleDescriptor::from_json(name, d), RoleDescriptor::from_json(name, n)),
                    (Ok(a), Ok(b)) if a == b)
            })
        })
}

/// Applies an update to one key the caller owns; whether anything changed.
async fn update_one(
    state: &RestState,
    a: &Authentication,
    owner: &Owner,
    id: &str,
    u: &KeyUpdate,
) -> Result<bool, ApiError> {
    let not_found =
        || ApiError::not_found(format!("no API key owned by requesting user found for ID [{id}]"));
    let old = load(state, id)?.filter(|k| owner.owns(k)).ok_or_else(not_found)?;
    if old.invalidated {
        return Err(ApiError::illegal_argument(format!("cannot update invalidated API key [{id}]")));
    }
    let now = now_millis();
    if !old.is_active(now) {
        return Err(ApiError::illegal_argument(format!("cannot update expired API key [{id}]")));
    }
    let mut new = old.clone();
    if let Some(rd) = u.role_descriptors.as_ref().filter(|rd| !same_descriptors(&old.role_descriptors, rd)) {
        new.role_descriptors = rd.clone();
    }
    if let Some(md) = &u.metadata {
        new.metadata = md.clone();
    }
    if let Some(ms) = u.expiration {
        new.expiration = Some(now.saturating_add(ms));
    }
    (new.limited_by_roles, new.limited_by) = limits_of(state, a);
    new.realm_type = owner.realm_type.clone();
    if new == old {
        return Ok(false);
    }
    put(state, id, &new).await?;
    audit(state, &a.user.username, "update_api_key", id);
    Ok(true)
}

/// Refuses updates through an API key, as Elasticsearch does.
fn owner_for_update(state: &RestState, a: &Authentication) -> Result<Owner, ApiError> {
    if a.api_key.is_some() {
        return Err(ApiError::illegal_argument(
            "authentication via API key not supported: only the owner user can update an API key",
        ));
    }
    owner_of(state, a)
}

/// `PUT /_security/api_key/{id}` `{role_descriptors?, metadata?, expiration?}`
pub async fn update(
    State(state): State<RestState>,
    Path(id): Path<String>,
    who: Caller,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let a = caller(&state, who)?;
    let owner = owner_for_update(&state, &a)?;
    let u = key_update(&body::object(&bytes, false)?, "update_api_key_request", &[])?;
    let updated = update_one(&state, &a, &owner, &id, &u).await?;
    Ok(Json(json!({ "updated": updated })))
}

/// `POST /_security/api_key/_bulk_update` `{ids, role_descriptors?, metadata?, expiration?}`
pub async fn bulk_update(
    State(state): State<RestState>,
    who: Caller,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let a = caller(&state, who)?;
    let owner = owner_for_update(&state, &a)?;
    let m = body::object(&bytes, true)?;
    let u = key_update(&m, "bulk_update_api_key_request", &["ids"])?;
    let ids = opt_strings(&m, "ids")?.unwrap_or_default();
    if ids.is_empty() {
        return Err(body::validation("Field [ids] cannot be empty"));
    }
    if ids.iter().collect::<BTreeSet<_>>().len() != ids.len() {
        return Err(body::validation("Field [ids] cannot contain duplicates"));
    }
    let (mut updated, mut noops, mut details) = (Vec::new(), Vec::new(), Map::new());
    for id in ids {
        match update_one(&state, &a, &owner, &id, &u).await {
            Ok(true) => updated.push(id),
            Ok(false) => noops.push(id),
            Err(e) if e.status.is_client_error() => {
                details.insert(id, json!({ "type": e.kind, "reason": e.reason }));
            }
            Err(e) => return Err(e),
        }
    }
    let mut out = json!({ "updated": updated, "noops": noops });
    if !details.is_empty() {
        out["errors"] = json!({ "count": details.len(), "details": details });
    }
    Ok(Json(out))
}
