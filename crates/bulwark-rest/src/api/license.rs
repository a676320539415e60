//! `GET /_license`: an active basic license, as a fresh Elasticsearch cluster reports it. The
//! issue date is when this node's store was first created; the uid is derived from the cluster
//! UUID, so both are stable.

use std::time::UNIX_EPOCH;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::RestState;

/// FNV-1a, for stable ids derived from stable strings.
pub fn fnv1a(seed: u64, s: &str) -> u64 {
    s.bytes().fold(seed ^ 0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for epoch milliseconds.
pub fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, (rem / 60) % 60, rem % 60, ms % 1000)
}

/// `GET /_license`
pub async fn get(State(state): State<RestState>) -> Json<Value> {
    let issued = std::fs::metadata(state.store.dir().join(bulwark_store::FORMAT_FILE))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
    let uuid = &state.info.cluster_uuid;
    let (a, b) = (fnv1a(1, uuid), fnv1a(2, uuid));
    let uid = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    );
    Json(json!({
        "license": {
            "status": "active",
            "uid": uid,
            "type": "basic",
            "issue_date": iso8601(issued),
            "issue_date_in_millis": issued,
            "max_nodes": 1000,
            "max_resource_units": null,
            "issued_to": state.info.cluster_name,
            "issuer": "elasticsearch",
            "start_date_in_millis": -1,
        }
    }))
}

/// `GET /_xpack`: build, license and features, as the shippers read them (Beats check that
/// `features.ilm` is available). A feature this node does not have is shown unavailable.
pub async fn xpack(
    State(state): State<RestState>,
    axum::extract::Query(params): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Json<Value>, crate::ApiError> {
    let all = ["build", "license", "features"];
    let wanted: Vec<String> = match params.get("categories") {
        None => all.iter().map(|s| (*s).to_owned()).collect(),
        Some(c) => c.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
    };
    if let Some(bad) = wanted.iter().find(|c| !all.contains(&c.as_str())) {
        return Err(crate::ApiError::illegal_argument(format!("Unknown info category [{bad}]")));
    }
    let Json(license) = get(State(state.clone())).await;
    let uid = license["license"]["uid"].clone();
    let feature = |available: bool| json!({"available": available, "enabled": available});
    let mut out = serde_json::Map::new();
    if wanted.iter().any(|c| c == "build") {
        out.insert("build".into(), json!({"hash": "bulwark", "date": "2026-01-01T00:00:00.000Z"}));
    }
    if wanted.iter().any(|c| c == "license") {
        out.insert(
            "license".into(),
            json!({"uid": uid, "type": "basic", "mode": "basic", "status": "active"}),
        );
    }
    if wanted.iter().any(|c| c == "features") {
        out.insert(
            "features".into(),
            json!({
                "security": feature(state.security_enabled),
                // Policies are stored and shown, not executed (see docs/architecture.md).
                "ilm": feature(true),
                "data_streams": feature(true),
                "monitoring": feature(false),
                "watcher": feature(false),
                "ml": feature(false),
                "graph": feature(false),
                "transform": feature(false),
                "rollup": feature(false),
                "slm": feature(false),
                "ccr": feature(false),
                "enrich": feature(false),
            }),
        );
    }
    out.insert("tagline".into(), json!("You know, for X"));
    Ok(Json(Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
