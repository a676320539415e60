//! `GET /_nodes/stats`: the basics monitoring asks for (documents, store size, process memory
//! and file descriptors, uptime) for this node; `GET /_nodes`: every member of the cluster.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Map, Value, json};

use crate::indices::DataPlane;
use crate::{ApiError, RestState};

/// The metrics this node reports.
const METRICS: &[&str] = &["indices", "process", "jvm", "os", "fs"];

fn split(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn stats(
    state: &RestState,
    svc: &DataPlane,
    nodes: Option<&str>,
    metrics: Option<&str>,
) -> Result<Value, ApiError> {
    let wanted = match metrics.map(split) {
        None => METRICS.iter().map(|m| (*m).to_owned()).collect(),
        Some(list) if list.iter().any(|m| m == "_all") => METRICS.iter().map(|m| (*m).to_owned()).collect(),
        Some(list) => {
            for m in &list {
                if !METRICS.contains(&m.as_str())
                    && !matches!(
                        m.as_str(),
                        "thread_pool"
                            | "transport"
                            | "http"
                            | "breaker"
                            | "script"
                            | "discovery"
                            | "ingest"
                            | "adaptive_selection"
                            | "script_cache"
                            | "indexing_pressure"
                            | "repositories"
                            | "allocations"
                    )
                {
                    return Err(ApiError::illegal_argument(format!(
                        "request [/_nodes/stats] contains unrecognized metric: [{m}]"
                    )));
                }
            }
            list
        }
    };
    let s = svc.node_stats();
    let name = state.info.node_name.clone();
    let selected = nodes.map(split).is_none_or(|list| {
        list.iter().any(|n| {
            matches!(n.as_str(), "_all" | "_local" | "_master" | "*") || *n == name || *n == s.node_id
        })
    });
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let member = state.cluster.members().into_iter().find(|m| m.name == name);
    let address = member.map(|m| m.address).unwrap_or_default();
    let host =
        address.rsplit_once(':').map_or(address.as_str(), |(h, _)| h).trim_matches(['[', ']']).to_owned();
    let mut node = Map::new();
    node.insert("timestamp".into(), json!(now));
    node.insert("name".into(), json!(name));
    node.insert("transport_address".into(), json!(address));
    node.insert("host".into(), json!(host));
    node.insert("ip".into(), json!(host));
    node.insert("roles".into(), json!(["data", "ingest", "master"]));
    let has = |m: &str| wanted.iter().any(|w| w == m);
    if has("indices") {
        node.insert(
            "indices".into(),
            json!({
                "docs": {"count": s.docs, "deleted": 0},
                "store": {"size_in_bytes": s.store_bytes, "total_data_set_size_in_bytes": s.store_bytes, "reserved_in_bytes": 0},
            }),
        );
    }
    if has("os") {
        node.insert("os".into(), json!({"timestamp": now}));
    }
    if has("process") {
        node.insert(
            "process".into(),
            json!({
                "timestamp": now,
                "open_file_descriptors": s.open_file_descriptors,
                "mem": {"total_virtual_in_bytes": s.virtual_bytes, "resident_in_bytes": s.resident_bytes},
            }),
        );
    }
    if has("jvm") {
        // There is no JVM: the process stands in for it, as monitoring tools read these keys.
        node.insert(
            "jvm".into(),
            json!({
                "timestamp": now,
                "uptime_in_millis": s.uptime_ms,
                "mem": {"heap_used_in_bytes": s.resident_bytes, "heap_used_percent": 0},
            }),
        );
    }
    if has("fs") {
        node.insert("fs".into(), json!({"timestamp": now}));
    }
    let nodes: Map<String, Value> =
        if selected { [(s.node_id.clone(), Value::Object(node))].into_iter().collect() } else { Map::new() };
    let n = nodes.len();
    Ok(json!({
        "_nodes": {"total": n, "successful": n, "failed": 0},
        "cluster_name": state.info.cluster_name,
        "nodes": nodes,
    }))
}

/// `GET /_nodes/stats`, `/_nodes/stats/{metric}`
pub async fn stats_all(
    State(state): State<RestState>,
    svc: DataPlane,
    metric: Option<Path<String>>,
    Query(_): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let metric = metric.map(|Path(m)| m);
    Ok(Json(stats(&state, &svc, None, metric.as_deref())?))
}

/// `GET /_nodes/{node_id}/stats`, `/_nodes/{node_id}/stats/{metric}`
pub async fn stats_of(
    State(state): State<RestState>,
    svc: DataPlane,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    Ok(Json(stats(&state, &svc, get("node_id").as_deref(), get("metric").as_deref())?))
}

/// The metrics of `GET /_nodes` that Elasticsearch knows.
const INFO_METRICS: &[&str] = &[
    "settings",
    "os",
    "process",
    "jvm",
    "thread_pool",
    "transport",
    "http",
    "remote_cluster_server",
    "plugins",
    "modules",
    "ingest",
    "aggregations",
    "indices",
];
/// The ones this node reports (for every member, from the membership).
const INFO_REPORTED: &[&str] = &["transport"];

/// Whether every item of `list` names a nodes-info metric (so `/_nodes/{x}` means metrics).
fn all_metrics(list: &[String]) -> bool {
    !list.is_empty() && list.iter().all(|m| INFO_METRICS.contains(&m.as_str()) || m == "_none")
}

fn info(state: &RestState, nodes: Option<&str>, metrics: Option<&str>) -> Result<Value, ApiError> {
    let wanted: Vec<String> = match metrics.map(split) {
        None => INFO_REPORTED.iter().map(|m| (*m).to_owned()).collect(),
        Some(list) if list.iter().any(|m| m == "_all") => {
            INFO_REPORTED.iter().map(|m| (*m).to_owned()).collect()
        }
        Some(list) => {
            for m in &list {
                if m == "_none" || INFO_REPORTED.contains(&m.as_str()) {
                    continue;
                }
                return Err(ApiError::illegal_argument(if INFO_METRICS.contains(&m.as_str()) {
                    format!(
                        "request [/_nodes] asks for metric [{m}], which this node does not report; it reports {INFO_REPORTED:?} (or ask for [_all] or no metric)"
                    )
                } else {
                    format!("request [/_nodes] contains unrecognized metric: [{m}]")
                }));
            }
            list.into_iter().filter(|m| m != "_none").collect()
        }
    };
    let uuid = state.store.cluster_uuid().to_owned();
    let (local, leader) = (state.store.node_id(), state.store.leader());
    let selectors = nodes.map(split);
    let mut out = Map::new();
    for m in state.store.members() {
        let id = super::coordination::node_id(&uuid, m.id);
        let selected = selectors.as_ref().is_none_or(|list| {
            list.iter().any(|s| match s.as_str() {
                "_all" | "*" => true,
                "_local" => m.id == local,
                "_master" => Some(m.id) == leader,
                other => other == id || other == m.name,
            })
        });
        if !selected {
            continue;
        }
        let host = m
            .address
            .rsplit_once(':')
            .map_or(m.address.as_str(), |(h, _)| h)
            .trim_matches(['[', ']'])
            .to_owned();
        let mut node = Map::new();
        node.insert("name".into(), json!(m.name));
        node.insert("transport_address".into(), json!(m.address));
        node.insert("host".into(), json!(host));
        node.insert("ip".into(), json!(host));
        node.insert("version".into(), json!(super::root::COMPATIBLE_VERSION));
        node.insert("build_flavor".into(), json!("default"));
        node.insert("build_type".into(), json!("tar"));
        node.insert("build_hash".into(), json!("unknown"));
        node.insert("roles".into(), json!(["data", "ingest", "master"]));
        node.insert("attributes".into(), json!({}));
        if wanted.iter().any(|w| w == "transport") {
            node.insert(
                "transport".into(),
                json!({"bound_address": [m.address], "publish_address": m.address, "profiles": {}}),
            );
        }
        out.insert(id, Value::Object(node));
    }
    let n = out.len();
    Ok(json!({
        "_nodes": {"total": n, "successful": n, "failed": 0},
        "cluster_name": state.info.cluster_name,
        "nodes": out,
    }))
}

/// `GET /_nodes`: every member of the cluster (name, addresses, version, roles, `transport`).
pub async fn info_all(State(state): State<RestState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(info(&state, None, None)?))
}

/// `GET /_nodes/{node_id}` or `/_nodes/{metric}` (a list of metric names means metrics, as in
/// Elasticsearch), and `/_nodes/{node_id}/{metric}`.
pub async fn info_of(
    State(state): State<RestState>,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (nodes, metric) = (get("node_id"), get("metric"));
    if metric.is_none()
        && let Some(n) = &nodes
        && all_metrics(&split(n))
    {
        return Ok(Json(info(&state, None, Some(n))?));
    }
    Ok(Json(info(&state, nodes.as_deref(), metric.as_deref())?))
}
