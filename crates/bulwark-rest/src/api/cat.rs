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
