//! `_cat` APIs: aligned text tables for humans (`v` for headers, `h` to pick columns) or JSON
//! with `format=json`.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::{ApiError, RestState};

/// A table: column names and rows of cells.
struct Table {
    columns: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn render(self, params: &HashMap<String, String>) -> Result<Response, ApiError> {
        let picked: Vec<usize> = match params.get("h") {
            Some(h) => h
                .split(',')
                .map(|name| {
                    self.columns.iter().position(|c| *c == name.trim()).ok_or_else(|| {
                        ApiError::illegal_argument(format!("header name [{}] does not exist", name.trim()))
                    })
                })
                .collect::<Result<_, _>>()?,
            None => (0..self.columns.len()).collect(),
        };
        if params.get("format").is_some_and(|f| f == "json") {
            let rows: Vec<Value> = self
                .rows
                .iter()
                .map(|r| {
                    let mut m = Map::new();
                    for &i in &picked {
                        m.insert(self.columns[i].to_owned(), Value::from(r[i].clone()));
                    }
                    Value::Object(m)
                })
                .collect();
            return Ok(axum::Json(rows).into_response());
        }
        let verbose = params.get("v").is_some_and(|v| v.is_empty() || v == "true");
        let mut lines: Vec<Vec<String>> = Vec::new();
        if verbose {
            lines.push(picked.iter().map(|&i| self.columns[i].to_owned()).collect());
        }
        lines.extend(self.rows.iter().map(|r| picked.iter().map(|&i| r[i].clone()).collect()));
        let widths: Vec<usize> = (0..picked.len())
            .map(|c| lines.iter().map(|l| l[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for l in lines {
            let cells: Vec<String> = l.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            out.push_str(cells.join(" ").trim_end());
            out.push('\n');
        }
        Ok(([(header::CONTENT_TYPE, "text/plain; charset=UTF-8")], out).into_response())
    }
}

fn epoch_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `GET /_cat/health`.
pub async fn health(
    State(state): State<RestState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let now = epoch_secs();
    let nodes = state.cluster.number_of_nodes().to_string();
    let data = state.cluster.number_of_data_nodes().to_string();
    let hms = format!("{:02}:{:02}:{:02}", (now / 3600) % 24, (now / 60) % 60, now % 60);
    Table {
        columns: vec![
            "epoch",
            "timestamp",
            "cluster",
            "status",
            "node.total",
            "node.data",
            "shards",
            "pri",
            "relo",
            "init",
            "unassign",
            "unassign.pri",
            "pending_tasks",
            "max_task_wait_time",
            "active_shards_percent",
        ],
        rows: vec![vec![
            now.to_string(),
            hms,
            state.info.cluster_name.clone(),
            "green".into(),
            nodes,
            data,
            "0".into(),
            "0".into(),
            "0".into(),
            "0".into(),
            "0".into(),
            "0".into(),
            "0".into(),
            "-".into(),
            "100.0%".into(),
        ]],
    }
    .render(&params)
}

/// `GET /_cat/nodes`.
pub async fn nodes(
    State(state): State<RestState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let rows = state
        .cluster
        .members()
        .into_iter()
        .map(|m| {
            let ip = m
                .address
                .rsplit_once(':')
                .map_or(m.address.as_str(), |(h, _)| h)
                .trim_matches(['[', ']'])
                .to_owned();
            vec![
                ip,
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "dm".into(),
                if m.master { "*".into() } else { "-".into() },
                m.name,
            ]
        })
        .collect();
    Table {
        columns: vec![
            "ip",
            "heap.percent",
            "ram.percent",
            "cpu",
            "load_1m",
            "load_5m",
            "load_15m",
            "node.role",
            "master",
            "name",
        ],
        rows,
    }
    .render(&params)
}

/// A byte count as `_cat` shows it: human (`5.2kb`), or in the unit `bytes` asks for.
fn byte_size(n: u64, unit: Option<&str>) -> String {
    const UNITS: [(&str, u64); 6] =
        [("pb", 1 << 50), ("tb", 1 << 40), ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("b", 1)];
    if let Some(u) = unit
        && let Some((_, size)) = UNITS.iter().find(|(name, _)| *name == u)
    {
        return (n / size).to_string();
    }
    let (name, size) = UNITS.iter().find(|(_, size)| n >= *size).copied().unwrap_or(("b", 1));
    if size == 1 {
        return format!("{n}b");
    }
    let v = n as f64 / size as f64;
    let shown = format!("{v:.1}");
    format!("{}{name}", shown.strip_suffix(".0").unwrap_or(&shown))
}

/// `GET /_cat/indices`, `/_cat/indices/{index}`: the indices the caller may monitor
/// (wildcards skip the others silently).
pub async fn indices(
    State(state): State<RestState>,
    caller: crate::caller::Caller,
    svc: crate::indices::DataPlane,
    path: Option<axum::extract::Path<String>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    use crate::resolve::{Catalog, Options, resolve};
    let expr = path.map(|axum::extract::Path(p)| p).unwrap_or_default();
    let catalog = Catalog::load(&svc)?;
    let mut opts = Options::from_params(&params)?.allowing_closed();
    if !params.contains_key("expand_wildcards") {
        opts.closed = true;
    }
    let names =
        resolve(&state, &caller, &catalog, &expr, bulwark_security::authz::Action::IndicesStats, opts)?;
    let unit = params.get("bytes").map(String::as_str);
    let mut rows: Vec<Vec<String>> = Vec::new();
    for name in names {
        let Some(meta) = catalog.index(&name) else { continue };
        let setting = |k: &str, default: &str| meta.setting(k).unwrap_or_else(|| default.to_owned());
        if meta.closed {
            let mut row = vec!["".into(), "close".into(), name.clone(), meta.uuid.clone()];
            row.extend([setting("number_of_shards", "1"), setting("number_of_replicas", "1")]);
            row.extend(std::iter::repeat_n(String::new(), 5));
            rows.push(row);
            continue;
        }
        let stats = svc.stats(&name);
        let size = byte_size(stats.store_bytes, unit);
        rows.push(vec![
            "green".into(),
            "open".into(),
            name.clone(),
            meta.uuid.clone(),
            setting("number_of_shards", "1"),
            setting("number_of_replicas", "1"),
            stats.docs.to_string(),
            "0".into(),
            size.clone(),
            size.clone(),
            size,
        ]);
    }
    let columns = vec![
        "health",
        "status",
        "index",
        "uuid",
        "pri",
        "rep",
        "docs.count",
        "docs.deleted",
        "store.size",
        "pri.store.size",
        "dataset.size",
    ];
    if let Some(s) = params.get("s") {
        for key in s.split(',').rev() {
            let (col, desc) = match key.trim().split_once(':') {
                Some((c, dir)) => (c, dir == "desc"),
                None => (key.trim(), false),
            };
            let Some(i) = columns.iter().position(|c| *c == col) else {
                return Err(ApiError::illegal_argument(format!(
                    "Unable to sort by unknown sort key `{col}`"
                )));
            };
            rows.sort_by(|a, b| {
                let ord = match (a[i].parse::<f64>(), b[i].parse::<f64>()) {
                    (Ok(x), Ok(y)) => x.total_cmp(&y),
                    _ => a[i].cmp(&b[i]),
                };
                if desc { ord.reverse() } else { ord }
            });
        }
    }
    Table { columns, rows }.render(&params)
}
