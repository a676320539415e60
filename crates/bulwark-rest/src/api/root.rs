//! `GET /`: the node's name, cluster and version, in Elasticsearch's shape.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::RestState;

/// The Elasticsearch REST API version this node is compatible with.
pub const COMPATIBLE_VERSION: &str = "8.19.0";

/// The info body.
pub fn info_body(state: &RestState) -> Value {
    json!({
        "name": state.info.node_name,
        "cluster_name": state.info.cluster_name,
        "cluster_uuid": state.info.cluster_uuid,
        "version": {
            "number": COMPATIBLE_VERSION,
            "build_flavor": "default",
            "build_type": "tar",
            "build_hash": "unknown",
            "build_date": "unknown",
            "build_snapshot": false,
            "lucene_version": "9.12.2",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0",
            "distribution": "bulwark",
            "distribution_version": env!("CARGO_PKG_VERSION"),
        },
        "tagline": "You Know, for Search",
    })
}

/// `GET /`: the node, its cluster and version.
pub async fn info(State(state): State<RestState>) -> Json<Value> {
    Json(info_body(&state))
}

/// `HEAD /`: 200 with no body (used as a ping by clients).
pub async fn head() -> StatusCode {
    StatusCode::OK
}
