//! The audit log page: the node's `GET /_bulwark/audit`, read as the logged-in user (the node lets
//! only holders of `manage_security` read it), newest first, filtered by event type and user,
//! paged with the node's cursor.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_settings::logs::AUDIT_EVENT_TYPES;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::{layout, notice};
use crate::app::{AppState, node_failure, to_login};
use crate::session::Session;

/// Events per page.
const PAGE: usize = 50;

/// The page's filters (all optional; empty means none).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    #[serde(default)]
    event: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    before: String,
}

impl Filters {
    /// The query string for the node, or for this page with `before`.
    fn query(&self, before: Option<&str>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in
            [("event", self.event.trim()), ("user", self.user.trim()), ("before", before.unwrap_or(""))]
        {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }
}

fn text(e: &Value, k: &str) -> String {
    match &e[k] {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        v => v.to_string(),
    }
}

/// What the event was about, in a few words.
fn detail(e: &Value) -> String {
    let parts: Vec<String> = [
        ("action", ""),
        ("indices", "on "),
        ("url.path", ""),
        ("change", ""),
        ("target", "of "),
        ("reason", ""),
        ("tls.layer", "TLS "),
        ("outcome", ""),
        ("lockout.scope", "scope "),
    ]
    .iter()
    .filter_map(|(k, prefix)| {
        let t = text(e, k);
        (!t.is_empty()).then(|| format!("{prefix}{t}"))
    })
    .collect();
    parts.join(" · ")
}

pub async fn audit(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Query(f): Query<Filters>,
) -> Response {
    if state.node().is_none() {
        return to_login(&state, None);
    }
    let before = f.before.trim();
    let path = format!("_bulwark/audit?size={PAGE}&{}", f.query(Some(before)));
    let answer = crate::tokens::get(&state, &s, &path).await;
    let (status, body) = match answer {
        Ok(v) => (StatusCode::OK, table(&v, &f)),
        Err(e) if e.status() == Some(401) => return node_failure(&state, &e),
        Err(e) if e.status() == Some(403) => (
            StatusCode::FORBIDDEN,
            notice(
                "error",
                &format!("Only users with the manage_security privilege may read the audit log. {e}"),
            ),
        ),
        Err(e) => {
            let status =
                e.status().and_then(|c| StatusCode::from_u16(c).ok()).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, notice("error", &e.to_string()))
        }
    };
    let page = layout(
        "Audit log",
        Some(&s),
        html! {
            form #audit-filters method="get" action="/app/audit" {
                label for="event" { "Event type" }
                select #event name="event" {
                    option value="" selected[f.event.is_empty()] { "any" }
                    @for t in AUDIT_EVENT_TYPES { option value=(t) selected[f.event == *t] { (t) } }
                }
                label for="user" { "User name" }
                input #user name="user" value=(f.user);
                button type="submit" { "Filter" }
            }
            (body)
        },
    );
    (status, page).into_response()
}

fn table(v: &Value, f: &Filters) -> Markup {
    let events: Vec<&Value> = v["events"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    let next = v["next_before"].as_u64();
    html! {
        p.hint { "The audit log of node " strong { (v["node"].as_str().unwrap_or("?")) } ", newest first." }
        @if v["unreadable_lines"].as_u64().unwrap_or(0) > 0 {
            (notice("error", &format!("{} lines of the audit log are not sealed entries: run `bulwark doctor`.", v["unreadable_lines"])))
        }
        @if v["partial"].as_bool() == Some(true) {
            p.hint #partial { "The node reads a bounded part of the log per page; this page ends there. \"Older events\" searches on." }
        }
        @if events.is_empty() { p #no-events { "No audit events match." } }
        @else {
            table #audit-events {
                thead { tr {
                    th scope="col" { "#" } th scope="col" { "Time" } th scope="col" { "Event" } th scope="col" { "User" }
                    th scope="col" { "From" } th scope="col" { "Details" } th scope="col" { "Seal" }
                } }
                tbody {
                    @for e in &events {
                        tr {
                            td { (text(e, "audit.sequence")) }
                            td { (text(e, "@timestamp")) }
                            td.event { (text(e, "event.action")) }
                            td.user { (text(e, "user.name")) }
                            td { (text(e, "origin.address")) }
                            td { (detail(e)) }
                            td { @if e["audit.verified"].as_bool() == Some(true) { "ok" } @else { strong.warn { "not valid" } } }
                        }
                    }
                }
            }
        }
        @if let Some(n) = next {
            p { a #older href=(format!("/app/audit?{}", f.query(Some(&n.to_string())))) { "Older events" } }
        }
    }
}
