//! `GET /_nodes/stats`: the basics monitoring asks for (documents, store size, process memory
//! and file descriptors, uptime) of every member, each answering for itself over the transport;
//! `GET /_nodes`: every member of the cluster.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Map, Value, json};

use crate::indices::{DataPlane, NodeStats};
use crate::{ApiError, ErrorType, MemberFailure, RestState};

/// The metrics this node reports.
const METRICS: &[&str] = &["indices", "process", "jvm", "os", "fs"];

fn split(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// How long `_nodes/stats` waits for each other member by default. Elasticsearch waits without
/// limit; here a member that stopped answering is reported failed instead of hanging the call.
const STATS_TIMEOUT: Duration = Duration::from_secs(10);
/// What `timeout=-1` (no deadline) waits at most: the transport's keep-alive ends a call to a
/// member that stopped answering long before.
const NO_DEADLINE: Duration = Duration::from_secs(24 * 3600);

/// The metrics `_nodes/stats` is asked for (every one it reports when none is named).
fn stats_metrics(metrics: Option<&str>) -> Result<Vec<String>, ApiError> {
    match metrics.map(split) {
        None => Ok(METRICS.iter().map(|m| (*m).to_owned()).collect()),
        Some(list) if list.iter().any(|m| m == "_all") => {
            Ok(METRICS.iter().map(|m| (*m).to_owned()).collect())
        }
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
            Ok(list)
        }
    }
}

/// `timeout`: a time value (`-1` waits without a deadline of its own, `0` not at all).
fn stats_timeout(params: &HashMap<String, String>) -> Result<Duration, ApiError> {
    let Some(v) = params.get("timeout") else { return Ok(STATS_TIMEOUT) };
    match v.trim() {
        "-1" => Ok(NO_DEADLINE),
        "0" => Ok(Duration::ZERO),
        t => bulwark_settings::values::parse_duration(t)
            .map_err(|e| ApiError::illegal_argument(format!("failed to parse [timeout]: {e}"))),
    }
}

/// Whether `selectors` (Elasticsearch's node filters) pick the member `id` named `name`.
fn picks(
    selectors: Option<&[String]>,
    key: &str,
    name: &str,
    id: u64,
    local: u64,
    leader: Option<u64>,
) -> bool {
    selectors.is_none_or(|list| {
        list.iter().any(|s| match s.as_str() {
            "_all" | "*" => true,
            "_local" => id == local,
            "_master" => Some(id) == leader,
            other => other == key || other == name,
        })
    })
}

fn host_of(address: &str) -> String {
    address.rsplit_once(':').map_or(address, |(h, _)| h).trim_matches(['[', ']']).to_owned()
}

/// One node's entry in `nodes`, from its numbers.
fn node_entry(s: &NodeStats, name: &str, address: &str, wanted: &[String], now: u64) -> Value {
    let host = host_of(address);
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
    Value::Object(node)
}

/// Every selected member's numbers: this node's own, the others' asked over the transport at
/// once, each with `timeout` to answer. A member that does not answer is counted in
/// `_nodes.failed` and described in `_nodes.failures`, as Elasticsearch reports a failed node.
async fn stats(
    state: &RestState,
    svc: &DataPlane,
    nodes: Option<&str>,
    metrics: Option<&str>,
    timeout: Duration,
) -> Result<Value, ApiError> {
    let wanted = stats_metrics(metrics)?;
    let uuid = state.store.cluster_uuid().to_owned();
    let (local, leader) = (state.store.node_id(), state.store.leader());
    let mut members: Vec<(u64, String, String)> =
        state.store.members().into_iter().map(|m| (m.id, m.name, m.address)).collect();
    if !members.iter().any(|(id, ..)| *id == local) {
        // Not (yet) in the membership it sees: it answers for itself.
        let address = state.cluster.members().into_iter().find(|m| m.name == state.info.node_name);
        members.push((local, state.info.node_name.clone(), address.map(|m| m.address).unwrap_or_default()));
    }
    let selectors = nodes.map(split);
    let mut asked = Vec::new();
    for (id, name, address) in members {
        let key = super::coordination::node_id(&uuid, id);
        if !picks(selectors.as_deref(), &key, &name, id, local, leader) {
            continue;
        }
        let answer = (id != local).then(|| {
            let call = state.cluster.member_stats(&address, timeout);
            tokio::spawn(async move {
                tokio::time::timeout(timeout, call).await.unwrap_or_else(|_| {
                    Err(MemberFailure {
                        kind: ErrorType::ReceiveTimeoutTransport,
                        reason: format!("timed out after [{}ms]", timeout.as_millis()),
                    })
                })
            })
        });
        asked.push((key, name, address, answer));
    }
    let own = svc.node_stats();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let (mut out, mut failures) = (Map::new(), Vec::new());
    for (key, name, address, answer) in asked {
        let result = match answer {
            None => Ok(own.clone()),
            Some(task) => task.await.unwrap_or_else(|e| {
                Err(MemberFailure { kind: ErrorType::Transport, reason: format!("the call failed: {e}") })
            }),
        };
        let result = result.and_then(|s| {
            if s.node_id == key {
                Ok(s)
            } else {
                Err(MemberFailure {
                    kind: ErrorType::Transport,
                    reason: format!("node [{}] answered at this address instead", s.node_id),
                })
            }
        });
        match result {
            Ok(s) => {
                out.insert(key, node_entry(&s, &name, &address, &wanted, now));
            }
            Err(f) => failures.push(json!({
                "type": ErrorType::FailedNode.name(),
                "reason": format!("Failed node [{key}]"),
                "node_id": key,
                "caused_by": {"type": f.kind.name(), "reason": format!("[{name}][{address}][cluster:monitor/nodes/stats[n]] {}", f.reason)},
            })),
        }
    }
    let (ok, failed) = (out.len(), failures.len());
    let mut header = json!({"total": ok + failed, "successful": ok, "failed": failed});
    if failed > 0 {
        header["failures"] = Value::Array(failures);
    }
    Ok(json!({
        "_nodes": header,
        "cluster_name": state.info.cluster_name,
        "nodes": out,
    }))
}

/// `GET /_nodes/stats`, `/_nodes/stats/{metric}`
pub async fn stats_all(
    State(state): State<RestState>,
    svc: DataPlane,
    metric: Option<Path<String>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let metric = metric.map(|Path(m)| m);
    let timeout = stats_timeout(&params)?;
    Ok(Json(stats(&state, &svc, None, metric.as_deref(), timeout).await?))
}

/// `GET /_nodes/{node_id}/stats`, `/_nodes/{node_id}/stats/{metric}`
pub async fn stats_of(
    State(state): State<RestState>,
    svc: DataPlane,
    Path(params): Path<Vec<(String, String)>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let timeout = stats_timeout(&query)?;
    Ok(Json(stats(&state, &svc, get("node_id").as_deref(), get("metric").as_deref(), timeout).await?))
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
        if !picks(selectors.as_deref(), &id, &m.name, m.id, local, leader) {
            continue;
        }
        let host = host_of(&m.address);
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
