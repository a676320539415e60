//! Security APIs: `_security/_authenticate` and `_security/realm/{realms}/_clear_cache`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use bulwark_security::authn::RealmRef;
use serde_json::{Map, Value, json};

use crate::{ApiError, RestState, authn};

/// `GET /_security/_authenticate`: who the caller is, in Elasticsearch's fields (with `token`
/// for a service token and `api_key` for an API key).
pub async fn authenticate(req: Request) -> Result<Json<Value>, ApiError> {
    let Some(a) = authn::current(&req) else {
        return Err(ApiError::illegal_argument("security is disabled on this node"));
    };
    Ok(Json(render_authentication(a)))
}

/// An authentication as `_authenticate` shows it (also the `authentication` of a token response).
pub(crate) fn render_authentication(a: &bulwark_security::authn::Authentication) -> Value {
    let realm = |r: &RealmRef| json!({ "name": r.name, "type": r.realm_type });
    let metadata = if a.authentication_realm == RealmRef::SERVICE_ACCOUNT {
        json!({ "_elastic_service_account": true })
    } else if a.lookup_realm.realm_type == "reserved" {
        json!({ "_reserved": true })
    } else if let Some(dn) = &a.pki_dn {
        json!({ "pki_dn": dn })
    } else {
        json!({})
    };
    let mut out = Map::new();
    out.insert("username".into(), json!(a.user.username));
    out.insert("roles".into(), json!(a.user.roles));
    out.insert("full_name".into(), json!(a.user.full_name));
    out.insert("email".into(), json!(a.user.email));
    if let Some(t) = &a.token {
        out.insert("token".into(), json!({ "name": t.name, "type": t.token_type }));
    }
    out.insert("metadata".into(), metadata);
    out.insert("enabled".into(), json!(a.user.enabled));
    out.insert("authentication_realm".into(), realm(&a.authentication_realm));
    out.insert("lookup_realm".into(), realm(&a.lookup_realm));
    out.insert("authentication_type".into(), json!(a.authentication_type));
    if let Some(k) = &a.api_key {
        out.insert("api_key".into(), json!({ "id": k.id, "name": k.name }));
    }
    Value::Object(out)
}

/// `POST /_security/realm/{realms}/_clear_cache?usernames=a,b`: every realm's cache of verified
/// credentials (the realm list names them; all share one clearing), for those users or all.
pub async fn clear_realm_cache(
    State(state): State<RestState>,
    Path(_realms): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Json<Value> {
    let users: Vec<&str> = params
        .get("usernames")
        .map(|u| u.split(',').map(str::trim).filter(|u| !u.is_empty()).collect())
        .unwrap_or_default();
    if users.is_empty() {
        state.authenticator.clear_cache(None);
    } else {
        for u in users {
            state.authenticator.clear_cache(Some(u));
        }
    }
    Json(super::api_key::cleared_nodes(&state))
}
