//! Index lifecycle policies: `PUT|GET|DELETE /_ilm/policy[/{name}]`. Policies are store
//! entries (kind `lifecycle_policy`), checked as Elasticsearch checks their phases and actions,
//! and returned as stored. They are **not executed**: no rollover, shrink or delete ever runs
//! (docs/architecture.md says so); `index.lifecycle.name` is kept on indices and shown.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use bulwark_store::{Command, EntryKind};
use serde_json::{Map, Value, json};

use crate::body;
use crate::indices::DataPlane;
use crate::resolve::Catalog;
use crate::{ApiError, ErrorType, RestState};

/// The phases and the actions each allows, as Elasticsearch's time-series lifecycle defines them.
pub const PHASES: &[(&str, &[&str])] = &[
    (
        "hot",
        &[
            "set_priority",
            "unfollow",
            "rollover",
            "readonly",
            "downsample",
            "shrink",
            "forcemerge",
            "searchable_snapshot",
        ],
    ),
    (
        "warm",
        &[
            "set_priority",
            "unfollow",
            "readonly",
            "downsample",
            "allocate",
            "migrate",
            "shrink",
            "forcemerge",
        ],
    ),
    (
        "cold",
        &[
            "set_priority",
            "unfollow",
            "readonly",
            "downsample",
            "searchable_snapshot",
            "allocate",
            "migrate",
            "freeze",
        ],
    ),
    ("frozen", &["unfollow", "searchable_snapshot"]),
    ("delete", &["wait_for_snapshot", "delete"]),
];

/// Fields of the request body, of `policy` and of a phase.
pub const REQUEST_FIELDS: &[&str] = &["policy"];
/// Fields of `policy`.
pub const POLICY_FIELDS: &[&str] = &["phases", "_meta"];
/// Fields of a phase.
pub const PHASE_FIELDS: &[&str] = &["min_age", "actions"];

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
}

/// Checks a policy body; answers the `policy` object to store.
fn check_policy(m: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    body::known_fields(m, "put_lifecycle_request", REQUEST_FIELDS)?;
    let Some(Value::Object(policy)) = m.get("policy") else {
        return Err(ApiError::parse(
            "[put_lifecycle_request] failed to parse field [policy]: Required [policy]",
        ));
    };
    body::known_fields(policy, "lifecycle_policy", POLICY_FIELDS)?;
    body::opt_object(policy, "_meta")?;
    let phases = body::opt_object(policy, "phases")?.unwrap_or_default();
    for (phase, v) in &phases {
        let Some((_, allowed)) = PHASES.iter().find(|(p, _)| p == phase) else {
            return Err(ApiError::illegal_argument(format!(
                "Timeseries lifecycle does not support phase [{phase}]"
            )));
        };
        let Value::Object(pm) = v else {
            return Err(ApiError::parse(format!("[{phase}] must be an object")));
        };
        body::known_fields(pm, "phase", PHASE_FIELDS)?;
        if let Some(age) = pm.get("min_age") {
            let s = age.as_str().map(str::to_owned).unwrap_or_else(|| age.to_string());
            crate::params::check_time_value("min_age", &s)?;
        }
        for action in body::opt_object(pm, "actions")?.unwrap_or_default().keys() {
            if !allowed.contains(&action.as_str()) {
                return Err(ApiError::illegal_argument(format!(
                    "invalid action [{action}] defined in phase [{phase}]"
                )));
            }
        }
    }
    Ok(policy.clone())
}

/// `PUT /_ilm/policy/{name}`
pub async fn put(
    State(state): State<RestState>,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    if name.is_empty() || name.contains([' ', ',', '*']) || name.starts_with('_') {
        return Err(ApiError::illegal_argument(format!("invalid policy name [{name}]")));
    }
    let policy = check_policy(&body::object(&bytes, true)?)?;
    let version = state
        .store
        .get_entry(EntryKind::LifecyclePolicy, &name)
        .map_err(ApiError::from)?
        .and_then(|v| v["version"].as_u64())
        .unwrap_or(0)
        + 1;
    let value = json!({"policy": policy, "version": version, "modified_date": now_ms()});
    state
        .store
        .write(Command::PutEntry { kind: EntryKind::LifecyclePolicy, id: name, value })
        .await
        .map_err(ApiError::from)?;
    Ok(Json(json!({"acknowledged": true})))
}

/// The indices whose `index.lifecycle.name` is `name`.
fn in_use(catalog: &Catalog, name: &str) -> Vec<String> {
    catalog
        .indices()
        .iter()
        .filter(|(_, m)| m.setting("lifecycle.name").as_deref() == Some(name))
        .map(|(n, _)| n.clone())
        .collect()
}

/// `GET /_ilm/policy[/{name}]` (a comma list of names)
pub async fn get(
    State(state): State<RestState>,
    svc: DataPlane,
    path: Option<Path<String>>,
) -> Result<Json<Value>, ApiError> {
    let stored = state.store.entries(EntryKind::LifecyclePolicy).map_err(ApiError::from)?;
    let wanted: Option<Vec<String>> = path.map(|Path(p)| p.split(',').map(str::to_owned).collect());
    if let Some(w) = &wanted {
        let missing: Vec<&String> = w.iter().filter(|n| !stored.iter().any(|(s, _)| s == *n)).collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            return Err(ApiError::new(
                ErrorType::ResourceNotFound,
                format!("Lifecycle policy not found: [{}]", names.join(", ")),
            ));
        }
    }
    let catalog = Catalog::load(&svc)?;
    let mut out = Map::new();
    for (name, v) in stored {
        if wanted.as_ref().is_some_and(|w| !w.contains(&name)) {
            continue;
        }
        let indices = in_use(&catalog, &name);
        let streams: Vec<&str> = indices.iter().filter_map(|i| catalog.parent_stream(i)).collect();
        let modified = v["modified_date"].as_u64().unwrap_or(0);
        out.insert(
            name.clone(),
            json!({
                "version": v["version"],
                "modified_date": super::license::iso8601(modified),
                "policy": v["policy"],
                "in_use_by": {"indices": indices, "data_streams": streams, "composable_templates": []},
            }),
        );
    }
    Ok(Json(Value::Object(out)))
}

/// `DELETE /_ilm/policy/{name}`
pub async fn delete(
    State(state): State<RestState>,
    svc: DataPlane,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if state.store.get_entry(EntryKind::LifecyclePolicy, &name).map_err(ApiError::from)?.is_none() {
        return Err(ApiError::new(
            ErrorType::ResourceNotFound,
            format!("Lifecycle policy not found: {name}"),
        ));
    }
    let users = in_use(&Catalog::load(&svc)?, &name);
    if !users.is_empty() {
        return Err(ApiError::illegal_argument(format!(
            "Cannot delete policy [{name}]. It is in use by one or more indices: [{}]",
            users.join(", ")
        )));
    }
    state
        .store
        .write(Command::DeleteEntry { kind: EntryKind::LifecyclePolicy, id: name })
        .await
        .map_err(ApiError::from)?;
    Ok(Json(json!({"acknowledged": true})))
}
