//! `GET /_bulwark/audit`: this node's audit log, newest first (ours: Elasticsearch has no API
//! that reads its audit log back). It needs `cluster:admin/xpack/security/audit/get`, which
//! `manage_security` and `all` grant: whoever holds `manage_security` can already give themselves
//! any role, so a narrower rule (superusers only) would protect nothing, while `read_security`
//! (which may read users and roles but not change them) does not reach the log.
//!
//! Parameters: `size` (1 to 1000, default 50), `before` (a sequence number: only older events;
//! the previous page's `next_before`), `event` (comma-separated `event.action` values, e.g.
//! `access_denied,authentication_failed`) and `user` (exact `user.name`). The audit log is per
//! node: the answer says which node's it is. One request reads at most 16 MiB of the log (from
//! the newest line, or the cursor, backwards): a page that stopped there has `"partial": true`
//! and a `next_before` that goes on from the oldest line read.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use bulwark_settings::logs::AUDIT_EVENT_TYPES;
use serde_json::{Value, json};

use crate::blocking::blocking;
use crate::{ApiError, AuditQuery, AuditReader, ErrorType, RestState};

/// The default page size.
pub const DEFAULT_SIZE: usize = 50;
/// The largest page.
pub const MAX_SIZE: usize = 1000;

/// The query a request's parameters make, each checked.
pub fn query(params: &HashMap<String, String>) -> Result<AuditQuery, ApiError> {
    let size = match params.get("size") {
        None => DEFAULT_SIZE,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_SIZE).contains(&n) => n,
            _ => {
                return Err(ApiError::illegal_argument(format!(
                    "[size] must be a number from 1 to {MAX_SIZE}, not [{v}]"
                )));
            }
        },
    };
    let before = match params.get("before") {
        None => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            ApiError::illegal_argument(format!(
                "[before] must be an audit sequence number (the [next_before] of the previous page), not [{v}]"
            ))
        })?),
    };
    let mut events = Vec::new();
    for e in params.get("event").map(|v| v.split(',')).into_iter().flatten() {
        let e = e.trim();
        if !AUDIT_EVENT_TYPES.contains(&e) {
            return Err(ApiError::illegal_argument(format!(
                "[event] holds the unknown audit event type [{e}]; known types are [{}]",
                AUDIT_EVENT_TYPES.join(", ")
            )));
        }
        events.push(e.to_owned());
    }
    let user = match params.get("user").map(|u| u.trim()) {
        Some("") => return Err(ApiError::illegal_argument("[user] must not be empty")),
        u => u.map(str::to_owned),
    };
    Ok(AuditQuery { size, before, events, user })
}

/// `GET /_bulwark/audit`: `{"node", "events": [...], "next_before", "unreadable_lines"}`.
pub async fn read(
    State(state): State<RestState>,
    reader: Option<axum::Extension<AuditReader>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let q = query(&params)?;
    let Some(axum::Extension(AuditReader(trail))) = reader else {
        return Err(ApiError::new(
            ErrorType::FeatureNotEnabled,
            format!(
                "the audit log is off on node [{}]: set [xpack.security.audit.enabled] to true to record and read it",
                state.info.node_name
            ),
        ));
    };
    let page = blocking("reading the audit log", move || trail.read(&q))
        .await?
        .map_err(|e| ApiError::new(ErrorType::Internal, format!("cannot read the audit log: {e}")))?;
    Ok(Json(json!({
        "node": state.info.node_name,
        "events": page.events,
        "next_before": page.next_before,
        "unreadable_lines": page.unreadable_lines,
        "partial": page.partial,
    })))
}
