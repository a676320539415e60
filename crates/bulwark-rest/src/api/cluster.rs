//! `GET /_cluster/health`.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use crate::{ApiError, RestState};

/// The parameters of `GET /_cluster/health`.
#[derive(Debug, Deserialize)]
pub struct HealthParams {
    wait_for_status: Option<String>,
    wait_for_nodes: Option<String>,
    timeout: Option<String>,
}

/// `wait_for_nodes`: `N`, `>=N`, `<=N`, `>N`, `<N`, `ge(N)`, `le(N)`, `gt(N)`, `lt(N)`.
fn nodes_condition(s: &str) -> Result<impl Fn(usize) -> bool, ApiError> {
    let bad = || {
        ApiError::illegal_argument(format!("cannot parse wait_for_nodes [{s}]: use N, >=N, <=N, >N or <N"))
    };
    let t = s.trim();
    let (op, n) = if let Some(inner) = t.strip_suffix(')').and_then(|x| x.split_once('(')) {
        match inner.0 {
            "ge" => (">=", inner.1),
            "le" => ("<=", inner.1),
            "gt" => (">", inner.1),
            "lt" => ("<", inner.1),
            _ => return Err(bad()),
        }
    } else if let Some(n) = t.strip_prefix(">=") {
        (">=", n)
    } else if let Some(n) = t.strip_prefix("<=") {
        ("<=", n)
    } else if let Some(n) = t.strip_prefix('>') {
        (">", n)
    } else if let Some(n) = t.strip_prefix('<') {
        ("<", n)
    } else {
        ("==", t)
    };
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    Ok(move |have: usize| match op {
        ">=" => have >= n,
        "<=" => have <= n,
        ">" => have > n,
        "<" => have < n,
        _ => have == n,
    })
}

/// `GET /_cluster/health`: the real members, `wait_for_nodes` and `wait_for_status` bounded by `timeout`.
pub async fn health(
    State(state): State<RestState>,
    Query(params): Query<HealthParams>,
) -> Result<axum::response::Response, ApiError> {
    // A single node with no unassigned shards is always green, so any wait is satisfied at once.
    if let Some(s) = params.wait_for_status.as_deref()
        && !matches!(s, "green" | "yellow" | "red")
    {
        return Err(ApiError::illegal_argument(format!(
            "unknown cluster health status [{s}]; use green, yellow or red"
        )));
    }
    let mut timed_out = false;
    if let Some(w) = params.wait_for_nodes.as_deref() {
        let ok = nodes_condition(w)?;
        let timeout = match params.timeout.as_deref() {
            Some(t) => bulwark_settings::values::parse_duration(t)
                .map_err(|e| ApiError::illegal_argument(format!("failed to parse [timeout]: {e}")))?,
            None => std::time::Duration::from_secs(30),
        };
        let deadline = tokio::time::Instant::now() + timeout;
        while !ok(state.cluster.number_of_nodes()) {
            if tokio::time::Instant::now() >= deadline {
                timed_out = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    let nodes = state.cluster.number_of_nodes();
    let body = json!({
        "cluster_name": state.info.cluster_name,
        "status": "green",
        "timed_out": timed_out,
        "number_of_nodes": nodes,
        "number_of_data_nodes": state.cluster.number_of_data_nodes(),
        "active_primary_shards": 0,
        "active_shards": 0,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": 0,
        "unassigned_primary_shards": 0,
        "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0,
        "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": 100.0,
    });
    if timed_out {
        // Elasticsearch answers a health wait that timed out with 408 and the body.
        return Ok((axum::http::StatusCode::REQUEST_TIMEOUT, Json(body)).into_response());
    }
    Ok(Json(body).into_response())
}
