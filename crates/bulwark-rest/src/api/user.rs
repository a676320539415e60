//! User APIs: `_security/user` put/get/delete, `_password`, `_enable`/`_disable`,
//! `_query/user`. Built-in users live beside native users: they can change password and be
//! disabled, never be deleted or redefined.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_security::authn::{
    Authentication, NativeUser, PasswordHash, RESERVED_USERS, is_reserved_username, validate_username,
};
use bulwark_store::{Command, EntryKind};
use secrecy::SecretString;
use serde_json::{Map, Value, json};

use super::audit_change;
use crate::blocking::blocking;
use crate::body::{self, opt_string, opt_strings};
use crate::caller::Caller;
use crate::security_query::{self as sq, JsonDoc, JsonFields};
use crate::{ApiError, RestState};

/// A built-in user's stored state.
#[derive(serde::Serialize, serde::Deserialize)]
struct ReservedEntry {
    #[serde(default)]
    password_hash: String,
    enabled: bool,
}

fn reserved(state: &RestState, name: &str) -> Result<Option<ReservedEntry>, ApiError> {
    let v = state.store.get_entry(EntryKind::ReservedUser, name).map_err(ApiError::from)?;
    Ok(v.and_then(|v| serde_json::from_value(v).ok()))
}

fn native(state: &RestState, name: &str) -> Result<Option<NativeUser>, ApiError> {
    let v = state.store.get_entry(EntryKind::User, name).map_err(ApiError::from)?;
    Ok(v.and_then(|v| serde_json::from_value(v).ok()))
}

fn reserved_body(name: &str, roles: &[&str], enabled: bool) -> Value {
    json!({
        "username": name, "roles": roles, "full_name": null, "email": null,
        "metadata": { "_reserved": true }, "enabled": enabled,
    })
}

fn native_body(name: &str, u: &NativeUser) -> Value {
    json!({
        "username": name, "roles": u.roles, "full_name": u.full_name, "email": u.email,
        "metadata": u.metadata, "enabled": u.enabled,
    })
}

/// Every user the API shows: built-in users first, then native users, by name.
fn all_users(state: &RestState) -> Result<Vec<(String, Value)>, ApiError> {
    let mut out = Vec::new();
    for (name, roles) in RESERVED_USERS {
        let enabled = reserved(state, name)?.is_none_or(|e| e.enabled);
        out.push(((*name).to_owned(), reserved_body(name, roles, enabled)));
    }
    for (name, v) in state.store.entries(EntryKind::User).map_err(ApiError::from)? {
        if let Ok(u) = serde_json::from_value::<NativeUser>(v) {
            out.push((name.clone(), native_body(&name, &u)));
        }
    }
    Ok(out)
}

async fn write(state: &RestState, cmd: Command) -> Result<(), ApiError> {
    state.store.write(cmd).await.map_err(ApiError::from)?;
    Ok(())
}

/// A new password hash from `password` (checked against the policy) or `password_hash`.
async fn new_hash(state: &RestState, m: &Map<String, Value>) -> Result<Option<PasswordHash>, ApiError> {
    match (opt_string(m, "password")?, opt_string(m, "password_hash")?) {
        (Some(_), Some(_)) => Err(body::validation("only one of [password, password_hash] can be provided")),
        (Some(p), None) => {
            let p = SecretString::from(p);
            state.password_policy.check(&p).map_err(body::validation)?;
            let alg = state.password_hashing;
            let h = blocking("hashing", move || PasswordHash::create(&p, alg)).await??;
            Ok(Some(h))
        }
        (None, Some(h)) => {
            let h = PasswordHash::from_stored(h);
            if !h.is_known_format() {
                return Err(ApiError::illegal_argument(
                    "the provided password hash is not a bcrypt, PBKDF2 or PBKDF2_STRETCH hash",
                ));
            }
            Ok(Some(h))
        }
        (None, None) => Ok(None),
    }
}

/// The fields a user document takes (`PUT /_security/user/{username}`).
pub const USER_FIELDS: &[&str] =
    &["username", "password", "password_hash", "roles", "full_name", "email", "metadata", "enabled"];

/// The fields of `PUT /_security/user/{username}/_password`.
pub const PASSWORD_FIELDS: &[&str] = &["password", "password_hash"];

/// Whether `a` is the native-realm user `name` (Elasticsearch refuses such a caller disabling
/// itself through `PUT /_security/user`).
fn is_native_self(a: &Authentication, name: &str) -> bool {
    a.lookup_realm.realm_type == "native" && a.user.username == name
}

/// Whether `name` is one of Elasticsearch's internal users (`_system`, `_xpack`, ...), which
/// no API may modify.
fn is_internal_username(name: &str) -> bool {
    name.starts_with('_') && is_reserved_username(name)
}

/// `PUT|POST /_security/user/{username}`
pub async fn put(
    State(state): State<RestState>,
    Path(name): Path<String>,
    who: Caller,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let m = body::object(&bytes, true)?;
    body::known_fields(&m, "put_user_request", USER_FIELDS)?;
    let enabled = body::opt_bool(&m, "enabled")?.unwrap_or(true);
    // Elasticsearch's order: disabling oneself (a native-realm caller), then the name.
    if !enabled && who.authn.as_ref().is_some_and(|a| is_native_self(a, &name)) {
        return Err(body::validation(
            "native and reserved realm users may not update the enabled status of their own account",
        ));
    }
    if is_reserved_username(&name) {
        return Err(body::validation(format!(
            "user [{name}] is reserved and only the password can be changed"
        )));
    }
    validate_username(&name).map_err(body::validation)?;
    if let Some(in_body) = opt_string(&m, "username")?.filter(|u| *u != name) {
        return Err(body::validation(format!(
            "the username in the body [{in_body}] does not match the username in the path [{name}]"
        )));
    }
    let metadata = body::user_metadata(&m)?.unwrap_or_default();
    let existing = native(&state, &name)?;
    let hash = new_hash(&state, &m).await?;
    let password_hash = match (hash, &existing) {
        (Some(h), _) => h.as_str().to_owned(),
        (None, Some(u)) => u.password_hash.clone(),
        (None, None) => {
            return Err(body::validation(
                "password must be specified unless you are updating an existing user",
            ));
        }
    };
    let user = NativeUser {
        password_hash,
        roles: opt_strings(&m, "roles")?.ok_or_else(|| body::validation("roles are missing"))?,
        full_name: opt_string(&m, "full_name")?,
        email: opt_string(&m, "email")?,
        metadata,
        enabled,
    };
    let value = serde_json::to_value(&user).map_err(ApiError::encoding)?;
    write(&state, Command::PutEntry { kind: EntryKind::User, id: name.clone(), value }).await?;
    state.authenticator.clear_cache(Some(&name));
    audit_change(&state, &who, "put_user", &name);
    Ok(Json(json!({ "created": existing.is_none() })))
}

/// `GET /_security/user` and `GET /_security/user/{names}`
pub async fn get(State(state): State<RestState>, names: Option<Path<String>>) -> Result<Response, ApiError> {
    let users = all_users(&state)?;
    let wanted: Option<Vec<String>> = names.map(|Path(n)| n.split(',').map(str::to_owned).collect());
    let mut out = Map::new();
    for (name, body) in users {
        if wanted.as_ref().is_none_or(|w| w.contains(&name)) {
            out.insert(name, body);
        }
    }
    if out.is_empty() && wanted.is_some() {
        return Ok((StatusCode::NOT_FOUND, Json(Value::Object(out))).into_response());
    }
    Ok(Json(Value::Object(out)).into_response())
}

/// `DELETE /_security/user/{username}`
pub async fn delete(
    State(state): State<RestState>,
    Path(name): Path<String>,
    who: Caller,
) -> Result<Response, ApiError> {
    if is_internal_username(&name) {
        return Err(ApiError::illegal_argument(format!("user [{name}] is internal")));
    }
    if is_reserved_username(&name) {
        return Err(ApiError::illegal_argument(format!("user [{name}] is reserved and cannot be deleted")));
    }
    if native(&state, &name)?.is_none() {
        return Ok((StatusCode::NOT_FOUND, Json(json!({ "found": false }))).into_response());
    }
    write(&state, Command::DeleteEntry { kind: EntryKind::User, id: name.clone() }).await?;
    state.authenticator.clear_cache(Some(&name));
    audit_change(&state, &who, "delete_user", &name);
    Ok(Json(json!({ "found": true })).into_response())
}

/// The user a `_password` request is about: the path's, or the caller's.
pub fn password_target(path: Option<&str>, who: Option<&Authentication>) -> Option<String> {
    path.map(str::to_owned).or_else(|| who.map(|a| a.user.username.clone()))
}

/// `PUT|POST /_security/user/{username}/_password` and `/_security/user/_password`
pub async fn change_password(
    State(state): State<RestState>,
    name: Option<Path<String>>,
    who: Caller,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let name = password_target(name.as_ref().map(|p| p.0.as_str()), who.authn.as_ref())
        .ok_or_else(|| body::validation("a user name is required"))?;
    let m = body::object(&bytes, true)?;
    body::known_fields(&m, "change_password_request", PASSWORD_FIELDS)?;
    let hash = new_hash(&state, &m).await?.ok_or_else(|| body::validation("password must be specified"))?;
    if is_reserved_username(&name) {
        if !RESERVED_USERS.iter().any(|(u, _)| *u == name) {
            return Err(ApiError::illegal_argument(format!("user [{name}] is internal and has no password")));
        }
        let enabled = reserved(&state, &name)?.is_none_or(|e| e.enabled);
        let value = json!({ "password_hash": hash.as_str(), "enabled": enabled });
        write(&state, Command::PutEntry { kind: EntryKind::ReservedUser, id: name.clone(), value }).await?;
    } else {
        let mut u = native(&state, &name)?.ok_or_else(|| {
            ApiError::not_found(format!("user [{name}] does not exist in the native realm; file-realm users change passwords with `bulwark users passwd`"))
        })?;
        u.password_hash = hash.as_str().to_owned();
        let value = serde_json::to_value(&u).map_err(ApiError::encoding)?;
        write(&state, Command::PutEntry { kind: EntryKind::User, id: name.clone(), value }).await?;
    }
    state.authenticator.clear_cache(Some(&name));
    audit_change(&state, &who, "change_password", &name);
    Ok(Json(json!({})))
}

async fn set_enabled(
    state: RestState,
    name: String,
    enabled: bool,
    who: Caller,
) -> Result<Json<Value>, ApiError> {
    if who.authn.as_ref().is_some_and(|a| a.user.username == name) {
        return Err(ApiError::illegal_argument(
            "users may not update the enabled status of their own account",
        ));
    }
    if is_internal_username(&name) {
        return Err(ApiError::illegal_argument(format!("user [{name}] is internal")));
    }
    if RESERVED_USERS.iter().any(|(u, _)| *u == name) {
        let hash = reserved(&state, &name)?.map(|e| e.password_hash).unwrap_or_default();
        let value = json!({ "password_hash": hash, "enabled": enabled });
        write(&state, Command::PutEntry { kind: EntryKind::ReservedUser, id: name.clone(), value }).await?;
    } else {
        let mut u =
            native(&state, &name)?.ok_or_else(|| ApiError::not_found(format!("user [{name}] not found")))?;
        u.enabled = enabled;
        let value = serde_json::to_value(&u).map_err(ApiError::encoding)?;
        write(&state, Command::PutEntry { kind: EntryKind::User, id: name.clone(), value }).await?;
    }
    state.authenticator.clear_cache(Some(&name));
    audit_change(&state, &who, if enabled { "enable_user" } else { "disable_user" }, &name);
    Ok(Json(json!({})))
}

/// `PUT|POST /_security/user/{username}/_enable`
pub async fn enable(
    State(state): State<RestState>,
    Path(name): Path<String>,
    who: Caller,
) -> Result<Json<Value>, ApiError> {
    set_enabled(state, name, true, who).await
}

/// `PUT|POST /_security/user/{username}/_disable`
pub async fn disable(
    State(state): State<RestState>,
    Path(name): Path<String>,
    who: Caller,
) -> Result<Json<Value>, ApiError> {
    set_enabled(state, name, false, who).await
}

/// The fields `_query/user` searches (and `metadata.*`).
struct UserFields;
impl JsonFields for UserFields {
    const FIELDS: &'static [&'static str] = &["username", "roles", "enabled", "full_name", "email"];
    const BOOLEANS: &'static [&'static str] = &["enabled"];
    // Analyzed text in Elasticsearch's security index: not sortable there.
    const UNSORTABLE: &'static [&'static str] = &["full_name", "email"];
}

/// `GET|POST /_security/_query/user`: `from`, `size`, and a `query` in the security query
/// language (see `security_query`) over `username`, `roles`, `enabled`, `full_name`, `email`
/// and `metadata.*`.
pub async fn query(State(state): State<RestState>, bytes: Bytes) -> Result<Json<Value>, ApiError> {
    let m = body::object(&bytes, false)?;
    body::known_fields(&m, "query_user_request", sq::QUERY_FIELDS)?;
    let keys = sq::sort_keys::<JsonDoc<'_, UserFields>>(m.get("sort"))?;
    let q = m.get("query").cloned().unwrap_or(json!({ "match_all": {} }));
    let mut users = Vec::new();
    for (name, u) in all_users(&state)? {
        let doc = u.as_object().cloned().unwrap_or_default();
        let d = JsonDoc::<UserFields>::new(&name, &doc);
        if sq::matches(&q, &d, "User")? {
            users.push((sq::sort_values(&d, &keys), u));
        }
    }
    let (total, page) = sq::page(&m, &keys.iter().map(|k| k.1).collect::<Vec<_>>(), users)?;
    Ok(Json(json!({ "total": total, "count": page.len(), "users": page })))
}
