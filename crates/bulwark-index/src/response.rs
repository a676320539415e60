//! The parts of a `_search` answer this crate computes, in Elasticsearch's JSON shape. The
//! caller adds `took`, `timed_out` and `_shards`.

use serde_json::{Map, Value, json};

/// Whether `hits.total.value` is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// `eq`: the exact count.
    Eq,
    /// `gte`: a lower bound (counting stopped at `track_total_hits`).
    Gte,
}

/// `hits.total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotalHits {
    /// The count.
    pub value: u64,
    /// Whether it is exact.
    pub relation: Relation,
}

/// One hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// `_index`.
    pub index: String,
    /// `_id`; `None` with `stored_fields: _none_`.
    pub id: Option<String>,
    /// `_version`, when asked (`version: true`); filled in by the caller, which knows it.
    pub version: Option<u64>,
    /// `_score`; `None` when hits are sorted by a field and scores are not tracked.
    pub score: Option<f32>,
    /// `_source`, filtered as asked; `None` when `_source` is off.
    pub source: Option<Value>,
    /// The hit's sort values, when the request sorts explicitly.
    pub sort: Option<Vec<Value>>,
    /// `_seq_no`, when asked (`seq_no_primary_term`) and known.
    pub seq_no: Option<u64>,
    /// `fields`: the values asked with `fields` and `docvalue_fields`, when there are any.
    pub fields: Option<Map<String, Value>>,
    /// `_explanation`, when asked (`explain: true`).
    pub explanation: Option<Value>,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResponse {
    /// `hits.total`; `None` with `track_total_hits: false`.
    pub total: Option<TotalHits>,
    /// `hits.max_score`.
    pub max_score: Option<f32>,
    /// `hits.hits`.
    pub hits: Vec<Hit>,
    /// `aggregations`, when asked.
    pub aggregations: Option<Map<String, Value>>,
    /// `terminated_early`, when `terminate_after` was given: whether some index stopped
    /// collecting at the limit.
    pub terminated_early: Option<bool>,
    pub(crate) rest_total_hits_as_int: bool,
    pub(crate) seq_no_primary_term: bool,
}

fn score_json(s: Option<f32>) -> Value {
    s.and_then(|s| serde_json::Number::from_f64(f64::from(s))).map_or(Value::Null, Value::Number)
}

impl Hit {
    /// The hit as Elasticsearch shows it.
    pub fn to_json(&self, seq_no_primary_term: bool) -> Value {
        let mut h = Map::new();
        h.insert("_index".into(), Value::String(self.index.clone()));
        if let Some(id) = &self.id {
            h.insert("_id".into(), Value::String(id.clone()));
        }
        if let Some(version) = self.version {
            h.insert("_version".into(), json!(version));
        }
        if seq_no_primary_term && let Some(seq_no) = self.seq_no {
            h.insert("_seq_no".into(), json!(seq_no));
            h.insert("_primary_term".into(), json!(1));
        }
        h.insert("_score".into(), score_json(self.score));
        if let Some(source) = &self.source {
            h.insert("_source".into(), source.clone());
        }
        if let Some(fields) = &self.fields {
            h.insert("fields".into(), Value::Object(fields.clone()));
        }
        if let Some(explanation) = &self.explanation {
            h.insert("_explanation".into(), explanation.clone());
        }
        if let Some(sort) = &self.sort {
            h.insert("sort".into(), Value::Array(sort.clone()));
        }
        Value::Object(h)
    }
}

impl SearchResponse {
    /// `hits.total` as Elasticsearch shows it: `{"value", "relation"}`, or a plain number with
    /// `rest_total_hits_as_int`.
    pub fn total_json(&self) -> Option<Value> {
        let total = self.total?;
        Some(if self.rest_total_hits_as_int {
            json!(total.value)
        } else {
            json!({"value": total.value, "relation": match total.relation { Relation::Eq => "eq", Relation::Gte => "gte" }})
        })
    }

    /// The `hits` object.
    pub fn hits_json(&self) -> Value {
        let mut h = Map::new();
        if let Some(total) = self.total_json() {
            h.insert("total".into(), total);
        }
        h.insert("max_score".into(), score_json(self.max_score));
        h.insert(
            "hits".into(),
            Value::Array(self.hits.iter().map(|hit| hit.to_json(self.seq_no_primary_term)).collect()),
        );
        Value::Object(h)
    }

    /// `{"hits": ..., "aggregations": ...}` (aggregations only when asked).
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("hits".into(), self.hits_json());
        if let Some(aggs) = &self.aggregations {
            out.insert("aggregations".into(), Value::Object(aggs.clone()));
        }
        Value::Object(out)
    }
}
