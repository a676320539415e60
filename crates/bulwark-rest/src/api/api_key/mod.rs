//! API key APIs: `_security/api_key` create/get/invalidate, `grant`, `{id}` update,
//! `_bulk_update`, `{ids}/_clear_cache`, and `_security/_query/api_key`.
//!
//! A key belongs to the user who created it, or for whom it was granted: user name plus realm
//! name and type (a key made with an API key belongs to that key's owner). The secret is stored
//! only as a salted hash and shown once, in the create or grant response.
//!
//! Which keys a caller reaches once the route's action is authorised is the authorizer's answer
//! (`bulwark_security::authz::KeyReach`); this module translates requests and answers. Update is
//! for the owner alone, whoever asks, as in Elasticsearch.

use crate::ErrorType;
use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_pattern::Glob;
use bulwark_security::audit::{AuditEvent, Origin};
use bulwark_security::authn::{
    ApiKeyRecord, Authentication, Credentials, encode_api_key, hash_api_key_secret, new_api_key_id,
    new_api_key_secret, now_millis,
};
use bulwark_security::authz::{
    Action, KeyReach, RoleDescriptor, beyond_own_keys, check_only_itself, effective_role_names,
    may_create_key,
};
use bulwark_store::{Command, EntryKind};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

mod aggs;
mod buckets;
mod query;
mod render;
mod update;

use crate::blocking::blocking;
use crate::body::{self, known_fields, opt_object, opt_string, opt_strings};
use crate::caller::Caller;
use crate::{ApiError, RestState};
pub use query::{QUERY_KEY_FIELDS, query};
use render::{limited_by, render};
pub use update::{bulk_update, update};

/// Longest key name Elasticsearch accepts.
const MAX_NAME_LEN: usize = 256;

/// The owner of a key: a user of a realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Owner {
    username: String,
    realm: String,
    realm_type: String,
}

impl Owner {
    fn owns(&self, k: &ApiKeyRecord) -> bool {
        k.username == self.username && k.realm == self.realm
    }

    /// Whether a request's `username` and `realm_name` both name this owner.
    fn named_by(&self, username: Option<&str>, realm: Option<&str>) -> bool {
        username == Some(self.username.as_str()) && realm == Some(self.realm.as_str())
    }
}

/// The caller, or an error when security is off or the API key service is disabled (there are
/// no API keys then).
pub(super) fn caller(state: &RestState, who: Caller) -> Result<Authentication, ApiError> {
    if !state.api_keys_enabled {
        return Err(ApiError::new(
            ErrorType::FeatureNotEnabled,
            "api keys are not enabled (xpack.security.authc.api_key.enabled is false)",
        ));
    }
    who.authn.ok_or_else(|| {
        ApiError::illegal_argument("api keys are not enabled: security is disabled on this node")
    })
}

/// Who owns the keys `a` creates: the user, or for an API key its owner.
fn owner_of(state: &RestState, a: &Authentication) -> Result<Owner, ApiError> {
    if let Some(k) = &a.api_key {
        let rec = load(state, &k.id)?
            .ok_or_else(|| ApiError::not_found(format!("api key [{}] not found", k.id)))?;
        return Ok(Owner { username: rec.username, realm: rec.realm, realm_type: rec.realm_type });
    }
    Ok(Owner {
        username: a.user.username.clone(),
        realm: a.lookup_realm.name.to_owned(),
        realm_type: a.lookup_realm.realm_type.to_owned(),
    })
}

/// Which keys `a` reaches for `action`, as the authorizer decides.
enum Scope {
    All,
    Owner(Owner),
    Itself(String),
}

/// What a get or invalidate request names.
struct Asked<'a> {
    ids: Option<&'a [String]>,
    owner: bool,
    username: Option<&'a str>,
    realm: Option<&'a str>,
}

impl Scope {
    /// Whether a request may run as asked (it is refused, not filtered, as in Elasticsearch): a
    /// key reaching only itself names only itself, by id; a user reaching its own keys asks with
    /// `owner` or names its own user and realm.
    fn permit(&self, a: &Authentication, action: Action, asked: Asked<'_>) -> Result<(), ApiError> {
        match self {
            Scope::Itself(_) => Ok(check_only_itself(a, action, asked.ids)?),
            Scope::Owner(o) if !asked.owner && !o.named_by(asked.username, asked.realm) => {
                Err(beyond_own_keys(a, action).into())
            }
            Scope::Owner(_) | Scope::All => Ok(()),
        }
    }

    pub(super) fn reaches(&self, id: &str, k: &ApiKeyRecord) -> bool {
        match self {
            Scope::All => true,
            Scope::Owner(o) => o.owns(k),
            Scope::Itself(own) => own == id,
        }
    }
}

/// The keys `a` reaches for `action`.
fn scope(state: &RestState, a: &Authentication, action: Action) -> Result<Scope, ApiError> {
    Ok(match state.authorizer.api_key_reach(a, action) {
        KeyReach::All => Scope::All,
        KeyReach::OwnKeys => Scope::Owner(owner_of(state, a)?),
        KeyReach::Itself(id) => Scope::Itself(id),
    })
}

/// What a new or updated key is limited by: the owner's role names and a copy of their
/// descriptors (for a key made by a key, the copy that key carries).
fn limits_of(state: &RestState, a: &Authentication) -> (Vec<String>, Option<Map<String, Value>>) {
    let names = effective_role_names(a);
    let copied = match &a.api_key {
        Some(k) => k.limited_by.clone(),
        None => Some(state.authorizer.descriptors_of(&names)),
    };
    (names, copied)
}

fn load(state: &RestState, id: &str) -> Result<Option<ApiKeyRecord>, ApiError> {
    let v = state.store.get_entry(EntryKind::ApiKey, id).map_err(ApiError::from)?;
    Ok(v.and_then(|v| serde_json::from_value(v).ok()))
}

/// Every stored key, oldest first.
pub(super) fn all_keys(state: &RestState) -> Result<Vec<(String, ApiKeyRecord)>, ApiError> {
    let mut keys: Vec<(String, ApiKeyRecord)> = state
        .store
        .entries(EntryKind::ApiKey)
        .map_err(ApiError::from)?
        .into_iter()
        .filter_map(|(id, v)| serde_json::from_value(v).ok().map(|r| (id, r)))
        .collect();
    keys.sort_by(|a, b| a.1.creation.cmp(&b.1.creation).then_with(|| a.0.cmp(&b.0)));
    Ok(keys)
}

async fn put(state: &RestState, id: &str, rec: &ApiKeyRecord) -> Result<(), ApiError> {
    let value = serde_json::to_value(rec).map_err(ApiError::encoding)?;
    state
        .store
        .write(Command::PutEntry { kind: EntryKind::ApiKey, id: id.to_owned(), value })
        .await
        .map_err(ApiError::from)?;
    Ok(())
}

fn audit(state: &RestState, who: &str, change: &str, target: &str) {
    state.authenticator.audit(AuditEvent::SecurityConfigChange {
        user: who.to_owned(),
        change: change.to_owned(),
        target: target.to_owned(),
    });
}

/// A validation failure listing every problem, in Elasticsearch's numbering.
fn validation_errors(errors: &[String]) -> Result<(), ApiError> {
    if errors.is_empty() {
        return Ok(());
    }
    let listed: String = errors.iter().enumerate().map(|(i, e)| format!("{}: {e};", i + 1)).collect();
    Err(ApiError::new(ErrorType::ActionRequestValidation, format!("Validation Failed: {listed}")))
}

/// A boolean query parameter: absent is false, present without a value is true.
pub(super) fn flag(params: &HashMap<String, String>, key: &str) -> Result<bool, ApiError> {
    match params.get(key).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("" | "true") => Ok(true),
        Some(v) => Err(ApiError::illegal_argument(format!(
            "Failed to parse value [{v}] as only [true] or [false] are allowed."
        ))),
    }
}

fn param<'a>(params: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    params.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

/// Parses an Elasticsearch time value (`30m`, `1d`, `1ms`) into milliseconds.
pub(crate) fn duration_ms(value: &str) -> Result<i64, ApiError> {
    let d = bulwark_settings::values::parse_duration(value).map_err(|e| {
        ApiError::parse(format!(
            "failed to parse setting [expiration] with value [{value}] as a time value: {e}"
        ))
    })?;
    Ok(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// An optional `expiration` field, as a duration in milliseconds.
fn expiration_field(m: &Map<String, Value>) -> Result<Option<i64>, ApiError> {
    opt_string(m, "expiration")?.map(|s| duration_ms(&s)).transpose()
}

/// An optional `role_descriptors` object: role name to descriptor, each parsed and compiled as
/// a role is (unknown fields and privileges are refused). Stored as given, but for
/// Elasticsearch's synonym `index`, stored (and shown) as `indices`.
fn role_descriptors_field(m: &Map<String, Value>) -> Result<Option<Map<String, Value>>, ApiError> {
    let Some(mut rds) = opt_object(m, "role_descriptors")? else { return Ok(None) };
    for (role, d) in &mut rds {
        let parsed = RoleDescriptor::from_json(role, d).map_err(ApiError::parse)?;
        crate::restrict::check_role_queries(role, &parsed)?;
        if let Some(o) = d.as_object_mut()
            && let Some(groups) = o.remove("index")
        {
            o.insert("indices".into(), groups);
        }
    }
    Ok(Some(rds))
}

/// An optional `metadata` object; keys starting with `_` are reserved.
fn metadata_field(
    m: &Map<String, Value>,
    errors: &mut Vec<String>,
) -> Result<Option<Map<String, Value>>, ApiError> {
    let md = opt_object(m, "metadata")?;
    if md.as_ref().is_some_and(|md| md.keys().any(|k| k.starts_with('_'))) {
        errors.push("API key metadata keys may not start with [_]".into());
    }
    Ok(md)
}

/// What a create or grant request asks for.
struct KeyRequest {
    name: String,
    /// Milliseconds from now.
    expiration: Option<i64>,
    role_descriptors: Map<String, Value>,
    metadata: Map<String, Value>,
}

/// The fields of a create request (`POST /_security/api_key`) and of a grant's `api_key`.
pub const CREATE_KEY_FIELDS: &[&str] = &["name", "expiration", "role_descriptors", "metadata"];

/// The fields of `POST /_security/api_key/grant`.
pub const GRANT_KEY_FIELDS: &[&str] =
    &["grant_type", "username", "password", "access_token", "run_as", "api_key"];

/// The fields of `PUT /_security/api_key/{id}` (bulk updates add `ids`).
pub const UPDATE_KEY_FIELDS: &[&str] = &["role_descriptors", "metadata", "expiration"];

fn key_request(m: &Map<String, Value>, object: &str) -> Result<KeyRequest, ApiError> {
    known_fields(m, object, CREATE_KEY_FIELDS)?;
    let mut errors = Vec::new();
    let name = opt_string(m, "name")?.unwrap_or_default();
    if name.is_empty() {
        errors.push("api key name is required".to_owned());
    } else {
        if name.chars().count() > MAX_NAME_LEN {
            errors.push(format!("api key name may not be more than {MAX_NAME_LEN} characters long"));
        }
        if name.trim() != name {
            errors.push("api key name may not begin or end with whitespace".into());
        }
        if name.starts_with('_') {
            errors.push("api key name may not begin with an underscore".into());
        }
    }
    let metadata = metadata_field(m, &mut errors)?.unwrap_or_default();
    validation_errors(&errors)?;
    Ok(KeyRequest {
        name,
        expiration: expiration_field(m)?,
        role_descriptors: role_descriptors_field(m)?.unwrap_or_default(),
        metadata,
    })
}

/// Stores a new key and answers with its secret (the only time it is shown).
async fn create_key(
    state: &RestState,
    req: KeyRequest,
    owner: Owner,
    (limited_by_roles, limited_by): (Vec<String>, Option<Map<String, Value>>),
    actor: &str,
    change: &str,
) -> Result<Json<Value>, ApiError> {
    let id = new_api_key_id()?;
    let secret: SecretString = new_api_key_secret()?;
    let now = now_millis();
    let expiration = req.expiration.map(|ms| now.saturating_add(ms));
    let rec = ApiKeyRecord {
        name: req.name,
        secret_hash: hash_api_key_secret(&secret)?,
        creation: now,
        expiration,
        invalidated: false,
        invalidation: None,
        username: owner.username,
        realm: owner.realm,
        realm_type: owner.realm_type,
        metadata: req.metadata,
        role_descriptors: req.role_descriptors,
        limited_by_roles,
        limited_by,
        key_type: "rest".into(),
    };
    put(state, &id, &rec).await?;
    audit(state, actor, change, &id);
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("name".into(), json!(rec.name));
    if let Some(e) = expiration {
        out.insert("expiration".into(), json!(e));
    }
    out.insert("api_key".into(), json!(secret.expose_secret()));
    out.insert("encoded".into(), json!(encode_api_key(&id, &secret).expose_secret()));
    Ok(Json(Value::Object(out)))
}

/// `POST|PUT /_security/api_key`
pub async fn create(
    State(state): State<RestState>,
    who: Caller,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let a = caller(&state, who)?;
    let m = body::object(&bytes, true)?;
    let req = key_request(&m, "api_key_request")?;
    if !may_create_key(&a, &req.role_descriptors) {
        return Err(ApiError::illegal_argument(
            "creating derived api keys requires an explicit role descriptor that is empty (has no privileges)",
        ));
    }
    let owner = owner_of(&state, &a)?;
    create_key(&state, req, owner, limits_of(&state, &a), &a.user.username, "create_api_key").await
}

/// `POST /_security/api_key/grant`: a key for a user whose password the caller presents.
pub async fn grant(
    State(state): State<RestState>,
    who: Caller,
    connect: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let a = caller(&state, who)?;
    let m = body::object(&bytes, true)?;
    known_fields(&m, "grant_api_key_request", GRANT_KEY_FIELDS)?;
    let grant_type = opt_string(&m, "grant_type")?;
    let username = opt_string(&m, "username")?;
    let password = opt_string(&m, "password")?.map(SecretString::from);
    let access_token = opt_string(&m, "access_token")?;
    let mut errors = Vec::new();
    match grant_type.as_deref() {
        None => errors.push("[grant_type] is required".to_owned()),
        Some("password") => {
            if username.is_none() {
                errors.push("[username] is required for grant_type [password]".into());
            }
            if password.is_none() {
                errors.push("[password] is required for grant_type [password]".into());
            }
            if access_token.is_some() {
                errors.push("[access_token] is not supported for grant_type [password]".into());
            }
        }
        Some("access_token") => {
            if access_token.is_none() {
                errors.push("[access_token] is required for grant_type [access_token]".into());
            }
            if username.is_some() {
                errors.push("[username] is not supported for grant_type [access_token]".into());
            }
            if password.is_some() {
                errors.push("[password] is not supported for grant_type [access_token]".into());
            }
        }
        Some(other) => errors.push(format!("grant_type [{other}] is not supported")),
    }
    let key = opt_object(&m, "api_key")?;
    if key.is_none() {
        errors.push("api key request is required".into());
    }
    validation_errors(&errors)?;
    if opt_string(&m, "run_as")?.is_some() {
        return Err(ApiError::illegal_argument("[run_as] is not supported when granting an api key"));
    }
    let req = key_request(&key.unwrap_or_default(), "api_key_request")?;
    let credentials = match (username, password, access_token) {
        (Some(username), Some(password), None) => Credentials::Basic { username, password },
        (None, None, Some(token)) => {
            if state.token_timeout.is_none() {
                return Err(ApiError::new(ErrorType::FeatureNotEnabled, "security tokens are not enabled"));
            }
            // Only an access token of the token service (a service-account token is refused).
            let token = SecretString::from(token);
            if bulwark_security::authn::ParsedAccessToken::parse(&token).is_none() {
                return Err(ApiError::from(bulwark_security::SecurityError::Unauthenticated {
                    user: "bearer token".into(),
                    path: uri.path().to_owned(),
                }));
            }
            Credentials::Bearer(token)
        }
        _ => {
            return Err(body::validation("[username] and [password] are required for grant_type [password]"));
        }
    };
    let origin = Origin {
        address: connect.map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| c.0.0.ip()),
        method: method.to_string(),
        path: uri.path().to_owned(),
    };
    let granted = crate::authn::authenticate_body_credentials(&state, credentials, origin).await?;
    let owner = owner_of(&state, &granted)?;
    create_key(&state, req, owner, limits_of(&state, &granted), &a.user.username, "grant_api_key").await
}

/// Elasticsearch's name filter: `*` is every key, a trailing `*` a prefix, anything else exact
/// (no other character is special).
fn name_filter(pattern: &str) -> Glob {
    match pattern.strip_suffix('*') {
        Some(prefix) => Glob::prefix(prefix),
        None => Glob::literal(pattern),
    }
}

/// `GET /_security/api_key?id=&name=&username=&realm_name=&owner=&active_only=&with_limited_by=`
pub async fn get(
    State(state): State<RestState>,
    who: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let a = caller(&state, who)?;
    let (id, name) = (param(&params, "id"), param(&params, "name").map(name_filter));
    let (username, realm) = (param(&params, "username"), param(&params, "realm_name"));
    let owner = flag(&params, "owner")?;
    let (active_only, with_limited_by) = (flag(&params, "active_only")?, flag(&params, "with_limited_by")?);
    let mut errors = Vec::new();
    if (id.is_some() || name.is_some()) && (username.is_some() || realm.is_some()) {
        errors.push(
            "username or realm name must not be specified when the api key id or api key name is specified"
                .to_owned(),
        );
    }
    if owner && (username.is_some() || realm.is_some()) {
        errors.push("neither username nor realm-name may be specified when retrieving owned API keys".into());
    }
    if id.is_some() && name.is_some() {
        errors.push("only one of [api key id, api key name] can be specified".into());
    }
    validation_errors(&errors)?;
    let mine = if owner { Some(owner_of(&state, &a)?) } else { None };
    let bound = scope(&state, &a, Action::GetApiKey)?;
    // A key reaches itself by id, and never the descriptors it is limited by (those need
    // `manage_api_key` or more, as in Elasticsearch).
    let ids = id.filter(|_| !with_limited_by).map(|i| vec![i.to_owned()]);
    bound.permit(&a, Action::GetApiKey, Asked { ids: ids.as_deref(), owner, username, realm })?;
    let by_id = id.is_some();
    let [id, username, realm] = [id, username, realm].map(|v| v.map(str::to_owned));
    // Reading and rendering every key is a scan: off the request workers.
    let found: Vec<Value> = blocking("listing the API keys", move || -> Result<_, ApiError> {
        let now = now_millis();
        Ok(all_keys(&state)?
            .into_iter()
            .filter(|(kid, k)| {
                id.as_ref().is_none_or(|i| i == kid)
                    && name.as_ref().is_none_or(|n| n.matches(&k.name))
                    && username.as_ref().is_none_or(|u| *u == k.username)
                    && realm.as_ref().is_none_or(|r| *r == k.realm)
                    && mine.as_ref().is_none_or(|o| o.owns(k))
                    && bound.reaches(kid, k)
                    && (!active_only || k.is_active(now))
            })
            .map(|(kid, k)| render(&kid, &k, with_limited_by.then(|| limited_by(&state, &k))))
            .collect())
    })
    .await??;
    let status = if by_id && found.is_empty() { StatusCode::NOT_FOUND } else { StatusCode::OK };
    Ok((status, Json(json!({ "api_keys": found }))).into_response())
}

/// `DELETE /_security/api_key` `{ids|id, name, realm_name, username, owner}`
pub async fn invalidate(
    State(state): State<RestState>,
    who: Caller,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let a = caller(&state, who)?;
    let m = body::object(&bytes, true)?;
    known_fields(
        &m,
        "invalidate_api_key_request",
        &["id", "ids", "name", "realm_name", "username", "owner"],
    )?;
    let ids = match (opt_string(&m, "id")?, opt_strings(&m, "ids")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::parse("Must use either [id] or [ids], not both at the same time"));
        }
        (Some(id), None) => Some(vec![id]),
        (None, ids) => ids,
    };
    if ids.as_ref().is_some_and(Vec::is_empty) {
        return Err(body::validation("Field [ids] cannot be an empty array"));
    }
    if let Some(blank) = ids.as_ref().and_then(|ids| ids.iter().position(|i| i.trim().is_empty())) {
        return Err(body::validation(format!(
            "Field [ids] must not contain blank id, but got blank id at index position: [{blank}]"
        )));
    }
    let name = opt_string(&m, "name")?.filter(|s| !s.is_empty()).map(|n| name_filter(&n));
    let realm = opt_string(&m, "realm_name")?.filter(|s| !s.is_empty());
    let username = opt_string(&m, "username")?.filter(|s| !s.is_empty());
    let owner = body::opt_bool(&m, "owner")?.unwrap_or(false);
    let mut errors = Vec::new();
    if realm.is_none() && username.is_none() && ids.is_none() && name.is_none() && !owner {
        errors.push("One of [api key id(s), api key name, username, realm name] must be specified if [owner] flag is false".to_owned());
    }
    if (ids.is_some() || name.is_some()) && (realm.is_some() || username.is_some()) {
        errors.push("username or realm name must not be specified when the api key id(s) or api key name are specified".into());
    }
    if owner && (realm.is_some() || username.is_some()) {
        errors
            .push("neither username nor realm-name may be specified when invalidating owned API keys".into());
    }
    if ids.is_some() && name.is_some() {
        errors.push("only one of [api key id(s), api key name] can be specified".into());
    }
    validation_errors(&errors)?;
    let mine = if owner { Some(owner_of(&state, &a)?) } else { None };
    let bound = scope(&state, &a, Action::InvalidateApiKey)?;
    let asked = Asked { ids: ids.as_deref(), owner, username: username.as_deref(), realm: realm.as_deref() };
    bound.permit(&a, Action::InvalidateApiKey, asked)?;
    let (mut invalidated, mut previously) = (Vec::new(), Vec::new());
    let now = now_millis();
    for (kid, mut k) in all_keys(&state)? {
        let hit = ids.as_ref().is_none_or(|ids| ids.contains(&kid))
            && name.as_ref().is_none_or(|n| n.matches(&k.name))
            && username.as_deref().is_none_or(|u| u == k.username)
            && realm.as_deref().is_none_or(|r| r == k.realm)
            && mine.as_ref().is_none_or(|o| o.owns(&k))
            && bound.reaches(&kid, &k);
        if !hit {
            continue;
        }
        if k.invalidated {
            previously.push(kid);
            continue;
        }
        k.invalidated = true;
        k.invalidation = Some(now);
        put(&state, &kid, &k).await?;
        audit(&state, &a.user.username, "invalidate_api_key", &kid);
        invalidated.push(kid);
    }
    Ok(Json(json!({
        "invalidated_api_keys": invalidated,
        "previously_invalidated_api_keys": previously,
        "error_count": 0,
    })))
}

/// The answer of every `_clear_cache` API: this node cleared (there is one node per answer).
pub fn cleared_nodes(state: &RestState) -> Value {
    json!({
        "_nodes": { "total": 1, "successful": 1, "failed": 0 },
        "cluster_name": state.info.cluster_name,
        "nodes": { state.store.node_id().to_string(): { "name": state.info.node_name } },
    })
}

/// `POST /_security/api_key/{ids}/_clear_cache`: keys are read from the store on every use
/// (only the hash check is cached, by nothing), so there is nothing to drop.
pub async fn clear_cache(State(state): State<RestState>, Path(_ids): Path<String>) -> Json<Value> {
    Json(cleared_nodes(&state))
}

#[cfg(test)]
mod tests;
