//! `GET /_nodes/stats`: the basics monitoring asks for (documents, store size, process memory
//! and file descriptors, uptime) for this node.

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
