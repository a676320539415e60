//! Service account APIs: `_security/service` (accounts), and per account
//! `credential/token[/{name}]` create and delete, `credential` (list) and
//! `credential/token/{names}/_clear_cache`.
//!
//! Tokens created here live in the replicated store (`EntryKind::ServiceToken`, id
//! `namespace/service/name`, value `{hash, creation}` as the node's `StoredServiceToken`),
//! hashed as `config/service_tokens` tokens are. The bearer value is shown once, in the create
//! response.

use crate::ErrorType;
use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_security::authn::{
    SERVICE_ACCOUNTS, ServiceAccount, ServiceAccountToken, ServiceTokenId, new_api_key_id, now_millis,
};
use bulwark_security::authz::reserved_role_descriptor;
use bulwark_store::{Command, EntryKind};
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};

use super::audit_change;
use crate::blocking::blocking;
use crate::caller::Caller;
use crate::{ApiError, RestState, body};

/// A token created through the API, as stored (the node reads the same shape).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct StoredServiceToken {
    hash: String,
    /// Epoch milliseconds.
    creation: i64,
}

/// A service account's role descriptor, in `GET /_security/service`'s shape.
pub fn role_descriptor(account: &ServiceAccount) -> Value {
    if let Some(same) = account.role.same_as_reserved_role
        && let Some(d) = reserved_role_descriptor(same)
    {
        // The account acts with the reserved role's privileges, under its own name.
        let mut v = serde_json::to_value(d).unwrap_or_else(|_| json!({}));
        v["metadata"] = json!({});
        v["transient_metadata"] = json!({ "enabled": true });
        for list in ["cluster", "indices", "applications", "run_as"] {
            if v.get(list).is_none() {
                v[list] = json!([]);
            }
        }
        return v;
    }
    let indices: Vec<Value> = account
        .role
        .indices
        .iter()
        .map(|g| {
            json!({ "names": g.names, "privileges": g.privileges, "allow_restricted_indices": g.allow_restricted_indices })
        })
        .collect();
    let applications: Vec<Value> = account
        .role
        .applications
        .iter()
        .map(
            |a| json!({ "application": a.application, "privileges": a.privileges, "resources": a.resources }),
        )
        .collect();
    json!({
        "cluster": account.role.cluster,
        "indices": indices,
        "applications": applications,
        "run_as": [],
        "metadata": {},
        "transient_metadata": { "enabled": true },
    })
}

/// `GET /_security/service[/{namespace}[/{service}]]`: `{}` when nothing matches.
pub async fn accounts(params: Option<Path<HashMap<String, String>>>) -> Json<Value> {
    let params = params.map(|p| p.0).unwrap_or_default();
    let (namespace, service) = (params.get("namespace"), params.get("service"));
    let out: Map<String, Value> = SERVICE_ACCOUNTS
        .iter()
        .filter(|a| namespace.is_none_or(|n| n == a.namespace) && service.is_none_or(|s| s == a.service))
        .map(|a| (a.principal.to_owned(), json!({ "role_descriptor": role_descriptor(a) })))
        .collect();
    Json(Value::Object(out))
}

fn path_part<'a>(params: &'a HashMap<String, String>, key: &str) -> &'a str {
    params.get(key).map_or("", String::as_str)
}

/// The account a path names, or Elasticsearch's refusal.
fn account(params: &HashMap<String, String>) -> Result<&'static ServiceAccount, ApiError> {
    let principal = format!("{}/{}", path_part(params, "namespace"), path_part(params, "service"));
    ServiceAccount::find(&principal)
        .ok_or_else(|| ApiError::illegal_argument(format!("service account [{principal}] does not exist")))
}

/// `POST|PUT .../credential/token/{name}` and `POST .../credential/token` (named `token_<id>`).
pub async fn create_token(
    State(state): State<RestState>,
    Path(params): Path<HashMap<String, String>>,
    who: Caller,
) -> Result<Json<Value>, ApiError> {
    let account = account(&params)?;
    let name = match params.get("name") {
        Some(n) => n.clone(),
        None => format!("token_{}", new_api_key_id()?),
    };
    let id = ServiceTokenId::new(account, &name).map_err(body::validation)?;
    let qualified = id.qualified_name();
    if state.store.get_entry(EntryKind::ServiceToken, &qualified).map_err(ApiError::from)?.is_some() {
        return Err(ApiError::new(
            ErrorType::VersionConflict,
            format!(
                "[service_account_token-{qualified}]: version conflict, document already exists (current version [1])"
            ),
        ));
    }
    let token = store_new_token(&state, id).await?;
    audit_change(&state, &who, "create_service_token", &qualified);
    Ok(Json(json!({
        "created": true,
        "token": { "name": name, "value": token.to_bearer().expose_secret() },
    })))
}

/// Generates a token with the given id, stores its hash, and returns it (the only time the
/// secret exists outside the caller's response).
pub(crate) async fn store_new_token(
    state: &RestState,
    id: ServiceTokenId,
) -> Result<ServiceAccountToken, ApiError> {
    let qualified = id.qualified_name();
    let token = ServiceAccountToken::generate(id)?;
    let algorithm = state.service_token_hashing;
    let token = blocking("hashing", move || {
        let hash = token.hash(algorithm);
        (token, hash)
    })
    .await?;
    let (token, hash) = (token.0, token.1?);
    let stored = StoredServiceToken { hash: hash.as_str().to_owned(), creation: now_millis() };
    let value = serde_json::to_value(&stored).map_err(ApiError::encoding)?;
    state
        .store
        .write(Command::PutEntry { kind: EntryKind::ServiceToken, id: qualified, value })
        .await
        .map_err(ApiError::from)?;
    Ok(token)
}

/// `DELETE .../credential/token/{name}`: `{"found": false}` with 404 when there is no such token.
pub async fn delete_token(
    State(state): State<RestState>,
    Path(params): Path<HashMap<String, String>>,
    who: Caller,
) -> Result<Response, ApiError> {
    let account = account(&params)?;
    let id = ServiceTokenId::new(account, path_part(&params, "name")).map_err(body::validation)?;
    let qualified = id.qualified_name();
    if state.store.get_entry(EntryKind::ServiceToken, &qualified).map_err(ApiError::from)?.is_none() {
        return Ok((StatusCode::NOT_FOUND, Json(json!({ "found": false }))).into_response());
    }
    state
        .store
        .write(Command::DeleteEntry { kind: EntryKind::ServiceToken, id: qualified.clone() })
        .await
        .map_err(ApiError::from)?;
    audit_change(&state, &who, "delete_service_token", &qualified);
    Ok(Json(json!({ "found": true })).into_response())
}

/// `GET .../credential`: the account's stored tokens and this node's file tokens.
pub async fn credentials(
    State(state): State<RestState>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let principal = format!("{}/{}", path_part(&params, "namespace"), path_part(&params, "service"));
    let prefix = format!("{principal}/");
    let mut stored: Vec<String> = state
        .store
        .entries(EntryKind::ServiceToken)
        .map_err(ApiError::from)?
        .into_iter()
        .filter_map(|(id, _)| id.strip_prefix(&prefix).map(str::to_owned))
        .collect();
    stored.sort();
    let files = state.authenticator.file_service_tokens(&principal);
    let tokens: Map<String, Value> = stored.iter().map(|n| (n.clone(), json!({}))).collect();
    let file_tokens: Map<String, Value> =
        files.iter().map(|n| (n.clone(), json!({ "nodes": [state.info.node_name] }))).collect();
    Ok(Json(json!({
        "service_account": principal,
        "count": stored.len() + files.len(),
        "tokens": tokens,
        "nodes_credentials": {
            "_nodes": { "total": 1, "successful": 1, "failed": 0 },
            "file_tokens": file_tokens,
        },
    })))
}

/// `POST .../credential/token/{names}/_clear_cache`: a deleted or replaced token is refused
/// before any cached verification is consulted, so there is nothing stale to drop.
pub async fn clear_cache(
    State(state): State<RestState>,
    Path(_params): Path<HashMap<String, String>>,
) -> Json<Value> {
    Json(super::api_key::cleared_nodes(&state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_have_elasticsearch_fields() {
        let fleet = role_descriptor(ServiceAccount::find("elastic/fleet-server").unwrap());
        assert_eq!(fleet["cluster"], json!(["monitor", "manage_own_api_key"]));
        assert_eq!(fleet["applications"][0]["application"], "kibana-*");
        assert_eq!(fleet["transient_metadata"], json!({ "enabled": true }));
        let kibana = role_descriptor(ServiceAccount::find("elastic/kibana").unwrap());
        assert!(kibana["cluster"].as_array().unwrap().contains(&json!("manage_own_api_key")));
        assert_eq!(kibana["run_as"], json!([]));
    }
}
