//! `GET /_cluster/health`.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{ApiError, RestState};

#[derive(Debug, Deserialize)]
pub struct HealthParams {
    wait_for_status: Option<String>,
}

pub async fn health(
    State(state): State<RestState>,
    Query(params): Query<HealthParams>,
) -> Result<Json<Value>, ApiError> {
    // A single node with no unassigned shards is always green, so any wait is satisfied at once.
    if let Some(s) = params.wait_for_status.as_deref()
        && !matches!(s, "green" | "yellow" | "red")
    {
        return Err(ApiError::illegal_argument(format!(
            "unknown cluster health status [{s}]; use green, yellow or red"
        )));
    }
    let nodes = state.cluster.number_of_nodes();
    Ok(Json(json!({
        "cluster_name": state.info.cluster_name,
        "status": "green",
        "timed_out": false,
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
    })))
}
