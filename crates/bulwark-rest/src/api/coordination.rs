//! The voting configuration: `POST` and `DELETE /_cluster/voting_config_exclusions`, and the
//! parts of `GET /_cluster/state` that show it (`nodes`, `master_node`,
//! `metadata.cluster_coordination`).
//!
//! An excluded node leaves the Raft voting configuration and stays a member that receives the
//! log (a learner) until `DELETE` readmits it; the store carries the change out on the leader
//! (forwarded there from a follower). Node ids are the ones `_nodes` reports (see [`node_id`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bulwark_store::{Member, VotersChange};
use serde_json::{Map, Value, json};

use crate::{ApiError, RestState};

/// How long `POST` waits for the new voting configuration by default (Elasticsearch's 30 s).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The id a node is known by over the REST API (`_nodes`, `_cluster/state`, `node_ids`): stable
/// for the node's place in its cluster.
pub fn node_id(cluster_uuid: &str, raft_id: u64) -> String {
    format!("{:016x}", super::license::fnv1a(0, &format!("{cluster_uuid}/{raft_id}")))
}

/// Elasticsearch answers both calls with 200 and an empty `text/plain` body.
fn empty_ok() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")], "").into_response()
}

fn split(list: &str) -> Vec<&str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
}

/// The members named by `node_names` or `node_ids` (exactly one of them), each of which must be
/// a member of the cluster.
fn resolve(state: &RestState, params: &HashMap<String, String>) -> Result<BTreeSet<u64>, ApiError> {
    let names = params.get("node_names").map(|s| split(s)).filter(|l| !l.is_empty());
    let ids = params.get("node_ids").map(|s| split(s)).filter(|l| !l.is_empty());
    let (wanted, by_id) = match (names, ids) {
        (Some(n), None) => (n, false),
        (None, Some(i)) => (i, true),
        _ => {
            return Err(ApiError::illegal_argument(
                "Please set node identifiers correctly. One and only one of [node_names] and [node_ids] has to be set",
            ));
        }
    };
    let uuid = state.store.cluster_uuid().to_owned();
    let members = state.store.members();
    let mut out = BTreeSet::new();
    for w in wanted {
        let found = members.iter().find(|m| if by_id { node_id(&uuid, m.id) == w } else { m.name == w });
        match found {
            Some(m) => {
                out.insert(m.id);
            }
            // Elasticsearch records an exclusion for a node it does not know (`_absent_`) and
            // applies it if such a node ever joins; here a node joins only by enrollment, so an
            // exclusion naming no member is refused rather than kept for nothing.
            None => {
                let what = if by_id { "id" } else { "name" };
                return Err(ApiError::illegal_argument(format!(
                    "no node with {what} [{w}] is a member of the cluster; the members are {:?}",
                    members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>()
                )));
            }
        }
    }
    Ok(out)
}

fn duration_param(params: &HashMap<String, String>, name: &str) -> Result<Option<Duration>, ApiError> {
    params
        .get(name)
        .map(|t| {
            bulwark_settings::values::parse_duration(t)
                .map_err(|e| ApiError::illegal_argument(format!("failed to parse [{name}]: {e}")))
        })
        .transpose()
}

/// `POST /_cluster/voting_config_exclusions?node_names=…|node_ids=…[&timeout=…]`: answers once
/// the nodes are out of the voting configuration (or fails after `timeout`, 30 s by default).
pub async fn exclude(
    State(state): State<RestState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let timeout = duration_param(&params, "timeout")?.unwrap_or(DEFAULT_TIMEOUT);
    let ids = resolve(&state, &params)?;
    state.store.change_voters(VotersChange::Exclude(ids), timeout).await?;
    Ok(empty_ok())
}

/// `DELETE /_cluster/voting_config_exclusions[?wait_for_removal=…]`: readmits every excluded
/// node to the voting configuration.
///
/// Elasticsearch's `wait_for_removal` (default true) first waits for the excluded nodes to
/// leave the cluster. An excluded Bulwark node never leaves it (it stays a member receiving the
/// log, whether it runs or not), so there is nothing to wait for: the value is validated and
/// both readmit at once.
pub async fn clear(
    State(state): State<RestState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if let Some(v) = params.get("wait_for_removal")
        && !matches!(v.as_str(), "true" | "false" | "")
    {
        return Err(ApiError::illegal_argument(format!(
            "Failed to parse value [{v}] as only [true] or [false] are allowed."
        )));
    }
    state.store.change_voters(VotersChange::Readmit, DEFAULT_TIMEOUT).await?;
    Ok(empty_ok())
}

/// The sections of `_cluster/state` Bulwark has.
const METRICS: &[&str] = &["blocks", "master_node", "metadata", "nodes"];
/// Sections Elasticsearch has and Bulwark does not (no shards, no routing, no customs).
const MISSING: &[&str] = &["version", "routing_table", "routing_nodes", "customs"];

/// `GET /_cluster/state`.
pub async fn state_all(State(state): State<RestState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(render(&state, METRICS)))
}

/// `GET /_cluster/state/{metrics}`.
pub async fn state_of(
    State(state): State<RestState>,
    Path(metrics): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut wanted = Vec::new();
    for m in split(&metrics) {
        if m == "_all" {
            return Ok(Json(render(&state, METRICS)));
        }
        if let Some(known) = METRICS.iter().find(|k| **k == m) {
            wanted.push(*known);
        } else if MISSING.contains(&m) {
            return Err(ApiError::illegal_argument(format!(
                "the cluster state of Bulwark has no [{m}] section; it has {METRICS:?}"
            )));
        } else {
            return Err(ApiError::illegal_argument(format!(
                "request [/_cluster/state/{metrics}] contains unrecognized metric: [{m}]"
            )));
        }
    }
    Ok(Json(render(&state, &wanted)))
}

fn render(state: &RestState, wanted: &[&str]) -> Value {
    let uuid = state.store.cluster_uuid().to_owned();
    let members: Vec<Member> = state.store.members();
    let (term, leader) = {
        let m = state.store.raft().metrics();
        let m = m.borrow();
        (m.current_term, m.current_leader)
    };
    let id = |m: &Member| node_id(&uuid, m.id);
    let mut out = Map::new();
    out.insert("cluster_name".into(), json!(state.info.cluster_name));
    out.insert("cluster_uuid".into(), json!(uuid));
    if wanted.contains(&"master_node") {
        let master = leader.and_then(|l| members.iter().find(|m| m.id == l)).map(id);
        out.insert("master_node".into(), json!(master));
    }
    if wanted.contains(&"blocks") {
        out.insert("blocks".into(), json!({}));
    }
    if wanted.contains(&"nodes") {
        let nodes: BTreeMap<String, Value> = members
            .iter()
            .map(|m| {
                let node = json!({
                    "name": m.name,
                    "transport_address": m.address,
                    "external_id": m.name,
                    "attributes": {},
                    "roles": ["data", "ingest", "master"],
                });
                (id(m), node)
            })
            .collect();
        out.insert("nodes".into(), json!(nodes));
    }
    if wanted.contains(&"metadata") {
        let voters: Vec<String> = members.iter().filter(|m| m.voter).map(id).collect();
        let excluded: Vec<Value> = members
            .iter()
            .filter(|m| !m.voter && !m.standby)
            .map(|m| json!({"node_id": id(m), "node_name": m.name}))
            .collect();
        out.insert(
            "metadata".into(),
            json!({
                "cluster_uuid": uuid,
                "cluster_uuid_committed": true,
                "cluster_coordination": {
                    "term": term,
                    "last_committed_config": voters,
                    "last_accepted_config": voters,
                    "voting_config_exclusions": excluded,
                },
            }),
        );
    }
    Value::Object(out)
}
