//! Overview (health, nodes, certificate expiry), search over the indices the user may read (with
//! a date histogram), and monitoring.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bulwark_client::segment;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::security::as_user;
use super::{layout, notice};
use crate::app::{AppState, node_failure, to_login};
use crate::monitor;
use crate::session::Session;

/// Days before expiry from which a certificate is flagged.
const EXPIRY_WARNING_DAYS: i64 = 30;

/// Epoch milliseconds as an ISO date and time (UTC).
pub fn date(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

pub async fn overview(State(state): State<Arc<AppState>>, Extension(s): Extension<Session>) -> Response {
    let health = as_user(&state, &s, "_cluster/health").await;
    let stats = as_user(&state, &s, "_nodes/stats/process,indices").await;
    let certs = as_user(&state, &s, "_ssl/certificates").await;
    let refused = |r: &Result<Value, Response>| r.as_ref().err().map(|r| r.status().as_u16());
    // An ended session shows as a redirect on the first call.
    if let Err(r) = &health
        && r.status().is_redirection()
    {
        return to_login(&state, Some(crate::session::Refusal::Invalid));
    }
    let now = time::OffsetDateTime::now_utc();
    layout("Overview", Some(&s), html! {
        h2 { "Cluster health" }
        @match &health {
            Ok(h) => {
                dl #health {
                    dt { "Cluster" } dd { (h["cluster_name"].as_str().unwrap_or("")) }
                    dt { "Status" } dd class=(format!("status {}", h["status"].as_str().unwrap_or(""))) { (h["status"].as_str().unwrap_or("unknown")) }
                    dt { "Nodes" } dd { (h["number_of_nodes"]) }
                    dt { "Active shards" } dd { (h["active_shards"]) }
                }
            }
            Err(_) => { (notice("error", &format!("You may not read the cluster health (HTTP {}).", refused(&health).unwrap_or(0)))) }
        }
        h2 { "Nodes" }
        @match &stats {
            Ok(v) => {
                table {
                    thead { tr { th scope="col" { "Node" } th scope="col" { "Address" } th scope="col" { "Documents" } th scope="col" { "Memory (MB)" } } }
                    tbody {
                        @for n in v["nodes"].as_object().into_iter().flat_map(|m| m.values()) {
                            tr { td { (n["name"].as_str().unwrap_or("")) } td { (n["transport_address"].as_str().unwrap_or("")) }
                                 td { (n["indices"]["docs"]["count"]) }
                                 td { (n["process"]["mem"]["resident_in_bytes"].as_u64().unwrap_or(0) / (1024 * 1024)) } }
                        }
                    }
                }
            }
            Err(_) => { (notice("error", "You may not read the nodes' statistics.")) }
        }
        h2 { "Certificates" }
        @match &certs {
            Ok(v) => {
                table #certificates {
                    thead { tr { th scope="col" { "Subject" } th scope="col" { "Path" } th scope="col" { "Expires" } th scope="col" { "" } } }
                    tbody {
                        @for c in v.as_array().into_iter().flatten() {
                            @let expiry = c["expiry"].as_str().unwrap_or("");
                            tr {
                                td { (c["subject_dn"].as_str().unwrap_or("")) } td { (c["path"].as_str().unwrap_or("")) } td { (expiry) }
                                td { (expiry_note(expiry, now)) }
                            }
                        }
                    }
                }
            }
            Err(_) => { (notice("error", "You may not read the node's certificates.")) }
        }
    }).into_response()
}

/// What the overview says of a certificate expiring at `expiry` (RFC 3339): a warning when it
/// has expired or expires within [`EXPIRY_WARNING_DAYS`].
fn expiry_note(expiry: &str, now: time::OffsetDateTime) -> Markup {
    let left = time::OffsetDateTime::parse(expiry, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| (t - now).whole_days());
    html! {
        @match left {
            Some(d) if d < 0 => { strong.warn { "expired" } }
            Some(d) if d < EXPIRY_WARNING_DAYS => { strong.warn { "expires in " (d) " days" } }
            Some(d) => { (d) " days left" }
            None => {}
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    #[serde(default)]
    index: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    date_field: String,
}

/// Index expression as a path segment: each comma-separated part encoded on its own.
fn index_path(index: &str) -> String {
    let parts: Vec<String> = index.split(',').map(str::trim).filter(|p| !p.is_empty()).map(segment).collect();
    if parts.is_empty() { "*".into() } else { parts.join(",") }
}

pub async fn search(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Query(q): Query<SearchQuery>,
) -> Response {
    if state.node().is_none() {
        return to_login(&state, None);
    }
    let index = if q.index.trim().is_empty() { "*".to_owned() } else { q.index.trim().to_owned() };
    let mut body = json!({
        "size": 20,
        "query": if q.q.trim().is_empty() { json!({"match_all": {}}) } else { json!({"query_string": {"query": q.q.trim()}}) },
    });
    if !q.date_field.trim().is_empty() {
        body["aggs"] = json!({"over_time": {"date_histogram": {"field": q.date_field.trim(), "calendar_interval": "day"}}});
    }
    let path = format!("{}/_search?ignore_unavailable=true&allow_no_indices=true", index_path(&index));
    let result = crate::tokens::call(&state, &s, reqwest::Method::POST, &path, Some(&body)).await;
    if let Err(e) = &result
        && e.status() == Some(401)
    {
        return node_failure(&state, e);
    }
    layout(
        "Search",
        Some(&s),
        html! {
            form #search method="get" action="/app/search" role="search" {
                label for="index" { "Indices" }
                input #index name="index" value=(index);
                label for="q" { "Query (Lucene syntax; empty: everything)" }
                input #q name="q" value=(q.q) type="search";
                label for="date_field" { "Date field for the histogram (optional)" }
                input #date_field name="date_field" value=(q.date_field) placeholder="@timestamp";
                button type="submit" { "Search" }
            }
            @match &result {
                Ok(v) => { (results(v)) }
                Err(e) => { (notice("error", &e.to_string())) }
            }
        },
    )
    .into_response()
}

fn results(v: &Value) -> Markup {
    let hits = v["hits"]["hits"].as_array().cloned().unwrap_or_default();
    let total = v["hits"]["total"]["value"].as_u64().unwrap_or(hits.len() as u64);
    let buckets = v["aggregations"]["over_time"]["buckets"].as_array().cloned().unwrap_or_default();
    html! {
        p #total role="status" { (total) " documents" }
        @if !buckets.is_empty() { (histogram(&buckets)) }
        table #hits {
            thead { tr { th scope="col" { "Index" } th scope="col" { "Id" } th scope="col" { "Document" } } }
            tbody {
                @for h in &hits {
                    tr.hit { td.index { (h["_index"].as_str().unwrap_or("")) } td { (h["_id"].as_str().unwrap_or("")) } td { code { (h["_source"].to_string()) } } }
                }
            }
        }
    }
}

/// A bar chart of the date histogram, inline SVG (no script, no style attribute).
fn histogram(buckets: &[Value]) -> Markup {
    let max = buckets.iter().filter_map(|b| b["doc_count"].as_u64()).max().unwrap_or(1).max(1) as f64;
    let (w, h) = (720.0_f64, 160.0_f64);
    let bw = w / buckets.len() as f64;
    html! {
        svg #histogram xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {w} {}", h + 20.0)) role="img" aria-label="Documents over time" {
            @for (i, b) in buckets.iter().enumerate() {
                @let c = b["doc_count"].as_u64().unwrap_or(0) as f64;
                @let bh = c / max * h;
                rect x=(format!("{:.1}", i as f64 * bw + 1.0)) y=(format!("{:.1}", h - bh)) width=(format!("{:.1}", (bw - 2.0).max(1.0))) height=(format!("{bh:.1}")) fill="#1f6feb" {
                    title { (b["key_as_string"].as_str().unwrap_or("")) ": " (c) }
                }
            }
            text x="0" y=(h + 15.0) font-size="11" { (buckets.first().and_then(|b| b["key_as_string"].as_str()).unwrap_or("")) }
        }
    }
}

pub async fn monitoring(State(state): State<Arc<AppState>>, Extension(s): Extension<Session>) -> Response {
    // The user must be allowed to read the statistics the console samples.
    if let Err(r) = as_user(&state, &s, "_nodes/stats/process").await {
        return r;
    }
    let samples = state.monitor.samples();
    layout("Monitoring", Some(&s), html! {
        p { "Sampled every " (monitor::INTERVAL.as_secs()) " s from " code { "_nodes/stats" } " (last hour)." }
        img src="/app/monitoring/chart.svg?metric=memory" alt="Resident memory of the nodes over time" width="720" height="240";
        img src="/app/monitoring/chart.svg?metric=docs" alt="Documents over time" width="720" height="240";
        @if let Some(last) = samples.last() {
            p { "Latest: " (last.resident_bytes / (1024 * 1024)) " MB resident, " (last.docs) " documents, " (last.open_fds) " open files." }
        }
    }).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartQuery {
    metric: String,
}

pub async fn monitoring_chart(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Query(q): Query<ChartQuery>,
) -> Response {
    if let Err(r) = as_user(&state, &s, "_nodes/stats/process").await {
        return r;
    }
    let samples = state.monitor.samples();
    let svg = match q.metric.as_str() {
        "memory" => {
            monitor::chart("Resident memory", "MB", &samples, |s| s.resident_bytes as f64 / 1_048_576.0)
        }
        "docs" => monitor::chart("Documents", "docs", &samples, |s| s.docs as f64),
        _ => {
            return (axum::http::StatusCode::BAD_REQUEST, "unknown [metric]: use memory or docs")
                .into_response();
        }
    };
    ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_near_or_past_expiry_are_warned() {
        let now = time::OffsetDateTime::from_unix_timestamp(1796558400).unwrap(); // 2026-12-06T12:00:00Z
        let note = |e: &str| expiry_note(e, now).into_string();
        assert_eq!(note("2027-12-06T12:00:00Z"), "365 days left");
        assert_eq!(note("2026-12-16T12:00:00Z"), "<strong class=\"warn\">expires in 10 days</strong>");
        assert_eq!(note("2026-12-01T00:00:00Z"), "<strong class=\"warn\">expired</strong>");
        assert_eq!(note("not a date"), "");
    }
}
