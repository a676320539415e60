//! Security APIs: `_security/_authenticate`.

use axum::Json;
use axum::extract::Request;
use serde_json::{Value, json};

use crate::{ApiError, authn};

/// `GET /_security/_authenticate`: who the caller is, in Elasticsearch's fields.
pub async fn authenticate(req: Request) -> Result<Json<Value>, ApiError> {
    let Some(a) = authn::current(&req) else {
        return Err(ApiError::illegal_argument("security is disabled on this node"));
    };
    let realm = |r: &bulwark_security::authn::RealmRef| json!({ "name": r.name, "type": r.realm_type });
    Ok(Json(json!({
        "username": a.user.username,
        "roles": a.user.roles,
        "full_name": a.user.full_name,
        "email": a.user.email,
        "metadata": if a.authentication_realm.realm_type == "reserved" { json!({ "_reserved": true }) } else { json!({}) },
        "enabled": a.user.enabled,
        "authentication_realm": realm(&a.authentication_realm),
        "lookup_realm": realm(&a.lookup_realm),
        "authentication_type": a.authentication_type,
    })))
}
