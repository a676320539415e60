//! A search request: the `_search` body and URL parameters, read and checked once, before any
//! index is touched.

use serde_json::{Value, json};

use crate::aggs::AggNode;
use crate::date;
use crate::error::{IndexError, Result};
use crate::fetch::{self, FieldRequest, Section};
use crate::query::{Query, QueryAst, token};
use crate::restriction::Restrictions;
use crate::sort::{self, SortField, SortValue};
use crate::source::SourceFilter;

/// `index.max_result_window`: `from + size` may not exceed it.
pub const MAX_RESULT_WINDOW: usize = 10_000;
/// What `track_total_hits` counts to by default.
pub const DEFAULT_TRACK_TOTAL_HITS: u64 = 10_000;

/// How precisely `hits.total` is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackTotalHits {
    /// Counted exactly.
    Exact,
    /// Counted up to this many; beyond, reported as a lower bound (`relation: gte`).
    UpTo(u64),
    /// Not reported (`hits.total` is absent).
    Off,
}

/// A parsed search request.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub(crate) query: QueryAst,
    pub(crate) post_filter: Option<QueryAst>,
    pub(crate) from: usize,
    pub(crate) size: usize,
    pub(crate) sort: Vec<SortField>,
    pub(crate) explicit_sort: bool,
    pub(crate) source: SourceFilter,
    pub(crate) track_total_hits: TrackTotalHits,
    pub(crate) track_scores: bool,
    pub(crate) aggs: Vec<AggNode>,
    pub(crate) seq_no_primary_term: bool,
    pub(crate) rest_total_hits_as_int: bool,
    pub(crate) search_after: Option<Vec<SortValue>>,
    pub(crate) min_score: Option<f32>,
    pub(crate) now: i64,
    pub(crate) restrictions: Restrictions,
    /// `fields`: values read from the source against the mapping.
    pub(crate) fields: Vec<FieldRequest>,
    /// `docvalue_fields`.
    pub(crate) docvalue_fields: Vec<FieldRequest>,
    /// `stored_fields`: `None` when absent; `Some(false)` for `_none_` (hits without `_id`);
    /// `Some(true)` for a list (no field is stored apart from `_source`, so the list adds
    /// nothing, and `_source` is left out unless asked for).
    pub(crate) stored_fields: Option<bool>,
    /// Whether `_source` was asked for explicitly (body or URL).
    pub(crate) source_explicit: bool,
    /// `version`: hits carry `_version` (the caller fills it in from the store).
    pub(crate) version: bool,
    /// `explain`: hits carry `_explanation`.
    pub(crate) explain: bool,
    /// `terminate_after`: each index stops collecting after this many matches.
    pub(crate) terminate_after: Option<u64>,
    /// `indices_boost` as asked: index names, aliases or patterns, and their boosts.
    pub(crate) indices_boost: Vec<(String, f32)>,
    /// The boosts per concrete index, once the caller resolved `indices_boost`.
    pub(crate) index_boosts: Vec<(String, f32)>,
    /// `timeout`, for the caller to validate as the URL parameter.
    pub(crate) timeout: Option<String>,
    /// Each index's `index.query.default_field`.
    pub(crate) default_fields: crate::DefaultFields,
}

impl Default for SearchRequest {
    fn default() -> SearchRequest {
        SearchRequest {
            query: QueryAst::MatchAll { boost: 1.0 },
            post_filter: None,
            from: 0,
            size: 10,
            sort: Vec::new(),
            explicit_sort: false,
            source: SourceFilter::default(),
            track_total_hits: TrackTotalHits::UpTo(DEFAULT_TRACK_TOTAL_HITS),
            track_scores: false,
            aggs: Vec::new(),
            seq_no_primary_term: false,
            rest_total_hits_as_int: false,
            search_after: None,
            min_score: None,
            now: date::now_millis(),
            restrictions: Restrictions::none(),
            fields: Vec::new(),
            docvalue_fields: Vec::new(),
            stored_fields: None,
            source_explicit: false,
            version: false,
            explain: false,
            terminate_after: None,
            indices_boost: Vec::new(),
            index_boosts: Vec::new(),
            timeout: None,
            default_fields: crate::DefaultFields::new(),
        }
    }
}

/// Body keys that would change results and are not supported; an empty object or array (as
/// Kibana sends `script_fields: {}` and `runtime_mappings: {}`) asks for nothing and is accepted.
const UNSUPPORTED_KEYS: &[&str] = &[
    "knn",
    "collapse",
    "pit",
    "rescore",
    "suggest",
    "slice",
    "script_fields",
    "rank",
    "retriever",
    "runtime_mappings",
    "highlight",
    "stats",
];

/// Body keys whose `false` (the default) is accepted and whose `true` is not supported.
const OFF_ONLY_KEYS: &[&str] = &["profile"];

impl SearchRequest {
    /// A `match_all` request for the first 10 hits.
    pub fn new() -> SearchRequest {
        SearchRequest::default()
    }

    /// Reads a request from its body (if any) and URL parameters. URL parameters win over the
    /// body, as in Elasticsearch; parameters that are not about the search itself (`pretty`,
    /// `ignore_unavailable`, ...) are left to the caller and ignored here.
    pub fn parse<K, V>(
        body: Option<&Value>,
        params: impl IntoIterator<Item = (K, V)>,
    ) -> Result<SearchRequest>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut req = SearchRequest::default();
        if let Some(body) = body {
            req.read_body(body)?;
        }
        let mut source = (None, None, None);
        let mut q: Option<String> = None;
        let mut qs = serde_json::Map::new();
        for (k, v) in params {
            let (k, v) = (k.as_ref(), v.as_ref());
            match k {
                "from" => req.from = int_param(k, v)?,
                "size" => req.size = int_param(k, v)?,
                "sort" => {
                    req.sort = sort::parse_param(v)?;
                    req.explicit_sort = true;
                }
                "q" => q = Some(v.to_string()),
                "df" => {
                    qs.insert("default_field".into(), json!(v));
                }
                "default_operator" => {
                    qs.insert("default_operator".into(), json!(v));
                }
                "lenient" => {
                    qs.insert("lenient".into(), json!(v == "true"));
                }
                "_source" => source.0 = Some(v.to_string()),
                "_source_includes" | "_source_include" => source.1 = Some(v.to_string()),
                "_source_excludes" | "_source_exclude" => source.2 = Some(v.to_string()),
                "track_total_hits" => req.track_total_hits = track_total_hits(&parse_scalar(v))?,
                "track_scores" => req.track_scores = v == "true" || v.is_empty(),
                "rest_total_hits_as_int" => req.rest_total_hits_as_int = v == "true" || v.is_empty(),
                "seq_no_primary_term" => req.seq_no_primary_term = v == "true" || v.is_empty(),
                "version" => req.version = v == "true" || v.is_empty(),
                "explain" => req.explain = v == "true" || v.is_empty(),
                "terminate_after" => req.terminate_after = terminate_after(int_param(k, v)? as u64),
                "stored_fields" => req.stored_fields = Some(!v.split(',').any(|f| f.trim() == "_none_")),
                "docvalue_fields" => req.docvalue_fields = fetch::parse(Section::DocValues, &split_list(v))?,
                _ => {}
            }
        }
        if let Some(q) = q {
            qs.insert("query".into(), json!(q));
            req.query = crate::query::parse_ast(&json!({ "query_string": qs }))?;
        }
        req.source_explicit |= source.0.is_some() || source.1.is_some() || source.2.is_some();
        req.source.apply_params(source.0.as_deref(), source.1.as_deref(), source.2.as_deref());
        req.check_window()?;
        req.check_stored_fields()?;
        Ok(req)
    }

    fn read_body(&mut self, body: &Value) -> Result<()> {
        let Value::Object(obj) = body else {
            return Err(IndexError::parsing(format!(
                "Unexpected token [{}] in the search body, expected an object",
                token(body)
            )));
        };
        for (k, v) in obj {
            match k.as_str() {
                "query" => self.query = crate::query::parse_ast(v)?,
                "post_filter" => self.post_filter = Some(crate::query::parse_ast(v)?),
                "from" => self.from = int_value(k, v)?,
                "size" => self.size = int_value(k, v)?,
                "sort" => {
                    self.sort = sort::parse(v)?;
                    self.explicit_sort = true;
                }
                "_source" => {
                    self.source = SourceFilter::from_json(v)?;
                    self.source_explicit = true;
                }
                "track_total_hits" => self.track_total_hits = track_total_hits(v)?,
                "track_scores" => self.track_scores = bool_value(k, v)?,
                "seq_no_primary_term" => self.seq_no_primary_term = bool_value(k, v)?,
                "aggs" | "aggregations" => self.aggs = crate::aggs::parse(v)?,
                "search_after" => {
                    let Value::Array(items) = v else {
                        return Err(IndexError::parsing(format!(
                            "[search_after] must be an array, found [{}]",
                            token(v)
                        )));
                    };
                    self.search_after = Some(items.iter().map(SortValue::from_json).collect());
                }
                "min_score" => {
                    self.min_score = Some(
                        crate::query::number(v)
                            .ok_or_else(|| IndexError::parsing("[min_score] must be a number"))?
                            as f32,
                    )
                }
                "fields" => self.fields = fetch::parse(Section::Fields, v)?,
                "docvalue_fields" => self.docvalue_fields = fetch::parse(Section::DocValues, v)?,
                "stored_fields" => self.stored_fields = Some(stored_fields(v)?),
                "version" => self.version = bool_value(k, v)?,
                "explain" => self.explain = bool_value(k, v)?,
                "terminate_after" => self.terminate_after = terminate_after(int_value(k, v)? as u64),
                "indices_boost" => self.indices_boost = indices_boost(v)?,
                "timeout" => match v {
                    Value::String(s) => self.timeout = Some(s.clone()),
                    Value::Number(n) => self.timeout = Some(n.to_string()),
                    other => {
                        return Err(IndexError::parsing(format!(
                            "[timeout] must be a time value such as 30s, found [{}]",
                            token(other)
                        )));
                    }
                },
                k if OFF_ONLY_KEYS.contains(&k) => {
                    if bool_value(k, v)? {
                        return Err(IndexError::illegal(format!(
                            "[{k}] is not supported in a search request"
                        )));
                    }
                }
                k if UNSUPPORTED_KEYS.contains(&k) => {
                    let empty = match v {
                        Value::Object(o) => o.is_empty(),
                        Value::Array(a) => a.is_empty(),
                        _ => false,
                    };
                    if !empty {
                        return Err(IndexError::illegal(format!(
                            "[{k}] is not supported in a search request"
                        )));
                    }
                }
                k => return Err(IndexError::parsing(format!("Unknown key for a {} in [{k}].", token(v)))),
            }
        }
        Ok(())
    }

    fn check_window(&self) -> Result<()> {
        let window = self.from.saturating_add(self.size);
        if window > MAX_RESULT_WINDOW {
            return Err(IndexError::illegal(format!(
                "Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was [{window}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting."
            )));
        }
        if self.search_after.is_some() && self.from > 0 {
            return Err(IndexError::illegal("[from] parameter must be set to 0 when [search_after] is used"));
        }
        if let Some(after) = &self.search_after
            && after.len() != self.sort.len().max(1)
        {
            return Err(IndexError::illegal(format!(
                "search_after has {} value(s) but sort has {}.",
                after.len(),
                self.sort.len().max(1)
            )));
        }
        Ok(())
    }

    /// Elasticsearch's checks of `stored_fields: _none_` against what else the request asks.
    fn check_stored_fields(&self) -> Result<()> {
        if self.stored_fields == Some(false) {
            if self.source_explicit && !self.source.is_disabled() {
                return Err(IndexError::illegal(
                    "[stored_fields] cannot be disabled if [_source] is requested",
                ));
            }
            if !self.fields.is_empty() {
                return Err(IndexError::illegal(
                    "[stored_fields] cannot be disabled when using the [fields] option",
                ));
            }
        }
        Ok(())
    }

    /// Fixes "now" for date math (tests; a request otherwise takes the time it was parsed).
    pub fn with_now(mut self, now_millis: i64) -> SearchRequest {
        self.now = now_millis;
        self
    }

    /// Limits what the request sees of each index (field- and document-level security).
    pub fn restricted(mut self, restrictions: Restrictions) -> SearchRequest {
        self.restrictions = restrictions;
        self
    }

    /// The query (with its default fields).
    pub fn with_query(mut self, query: &Query) -> SearchRequest {
        self.query = query.ast().clone();
        self.default_fields = query.default_fields().clone();
        self
    }

    /// Sets each index's `index.query.default_field`.
    pub fn with_default_fields(mut self, fields: crate::DefaultFields) -> SearchRequest {
        self.default_fields = fields;
        self
    }

    /// `from`.
    pub fn from(&self) -> usize {
        self.from
    }

    /// `size`.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether `hits.total` is to be rendered as a plain number (`rest_total_hits_as_int`).
    pub fn rest_total_hits_as_int(&self) -> bool {
        self.rest_total_hits_as_int
    }

    /// Whether the request asks for aggregations.
    pub fn has_aggregations(&self) -> bool {
        !self.aggs.is_empty()
    }

    /// Whether hits are to carry `_version` (`version`): the caller reads it from the store.
    pub fn wants_version(&self) -> bool {
        self.version
    }

    /// `terminate_after`, when set.
    pub fn terminate_after(&self) -> Option<u64> {
        self.terminate_after
    }

    /// The `timeout` of the body, for the caller to check as it checks the URL parameter.
    pub fn timeout(&self) -> Option<&str> {
        self.timeout.as_deref()
    }

    /// Whether `docvalue_fields` names anything.
    pub fn has_docvalue_fields(&self) -> bool {
        !self.docvalue_fields.is_empty()
    }

    /// How many mapped fields `docvalue_fields` asks for in `mapping`: patterns expanded, each
    /// field (multi-fields included) counted once, unmapped names not counted, as Elasticsearch
    /// counts them against `index.max_docvalue_fields_search`.
    pub fn docvalue_fields_count(&self, mapping: &crate::Mapping) -> usize {
        fetch::count_matching(&self.docvalue_fields, mapping)
    }

    /// The names, aliases or patterns of `indices_boost`, in the order given.
    pub fn indices_boost(&self) -> impl Iterator<Item = &str> {
        self.indices_boost.iter().map(|(name, _)| name.as_str())
    }

    /// Sets the boosts of `indices_boost` once resolved: `resolved[i]` holds the concrete indices
    /// of the i-th entry. An index named by several entries takes the first one's boost.
    pub fn with_index_boosts(mut self, resolved: Vec<Vec<String>>) -> SearchRequest {
        let mut boosts: Vec<(String, f32)> = Vec::new();
        for ((_, boost), names) in self.indices_boost.iter().zip(resolved) {
            for name in names {
                if !boosts.iter().any(|(n, _)| *n == name) {
                    boosts.push((name, *boost));
                }
            }
        }
        self.index_boosts = boosts;
        self
    }

    /// The boost of `index`'s scores (`indices_boost`; 1 when none applies).
    pub(crate) fn index_boost(&self, index: &str) -> f32 {
        self.index_boosts.iter().find(|(n, _)| n == index).map_or(1.0, |(_, b)| *b)
    }
}

/// `terminate_after`: 0 (the default) means no limit.
fn terminate_after(n: u64) -> Option<u64> {
    (n > 0).then_some(n)
}

/// A comma-separated URL list as a JSON array.
fn split_list(v: &str) -> Value {
    Value::Array(v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| json!(s)).collect())
}

/// `stored_fields`: `_none_` turns stored fields (and `_id`) off; a name or list keeps them.
fn stored_fields(v: &Value) -> Result<bool> {
    let names: Vec<&str> = match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str().ok_or_else(|| {
                    IndexError::parsing(format!(
                        "Expected [VALUE_STRING] in [stored_fields] but found [{}]",
                        token(i)
                    ))
                })
            })
            .collect::<Result<_>>()?,
        other => {
            return Err(IndexError::parsing(format!(
                "Expected [VALUE_STRING] or [START_ARRAY] in [stored_fields] but found [{}]",
                token(other)
            )));
        }
    };
    Ok(!names.contains(&"_none_"))
}

/// `indices_boost`: an array of `{index: boost}` objects.
fn indices_boost(v: &Value) -> Result<Vec<(String, f32)>> {
    let bad = || {
        IndexError::parsing(
            "[indices_boost] must be an array of objects of one index name each and its boost, such as [{\"logs-*\": 2.0}]",
        )
    };
    let Value::Array(items) = v else { return Err(bad()) };
    items
        .iter()
        .map(|item| match item {
            Value::Object(obj) if obj.len() == 1 => {
                let (name, boost) = obj.iter().next().ok_or_else(bad)?;
                let boost = crate::query::number(boost).ok_or_else(bad)?;
                Ok((name.clone(), boost as f32))
            }
            _ => Err(bad()),
        })
        .collect()
}

fn negative(k: &str, v: impl std::fmt::Display) -> IndexError {
    IndexError::illegal(format!("[{k}] parameter cannot be negative, found [{v}]"))
}

fn int_value(k: &str, v: &Value) -> Result<usize> {
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        IndexError::XContentParse(format!(
            "[{k}] failed to parse field [{k}]: expected an integer, found [{v}]"
        ))
    })?;
    if n < 0 {
        return Err(negative(k, n));
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

fn int_param(k: &str, v: &str) -> Result<usize> {
    let n: i64 = v
        .trim()
        .parse()
        .map_err(|_| IndexError::illegal(format!("Failed to parse int parameter [{k}] with value [{v}]")))?;
    if n < 0 {
        return Err(negative(k, n));
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

fn bool_value(k: &str, v: &Value) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
        other => Err(IndexError::XContentParse(format!(
            "[{k}] failed to parse field [{k}]: expected a boolean, found [{other}]"
        ))),
    }
}

fn parse_scalar(s: &str) -> Value {
    match s {
        "true" | "" => Value::Bool(true),
        "false" => Value::Bool(false),
        other => other.parse::<i64>().map_or_else(|_| Value::String(other.to_string()), Value::from),
    }
}

fn track_total_hits(v: &Value) -> Result<TrackTotalHits> {
    match v {
        Value::Bool(true) => Ok(TrackTotalHits::Exact),
        Value::Bool(false) => Ok(TrackTotalHits::Off),
        Value::Number(n) => match n.as_i64() {
            Some(-1) => Ok(TrackTotalHits::Off),
            Some(i) if i >= 0 => Ok(if i == i64::from(i32::MAX) {
                TrackTotalHits::Exact
            } else {
                TrackTotalHits::UpTo(i as u64)
            }),
            _ => Err(IndexError::illegal(format!(
                "[track_total_hits] parameter must be positive or equals to -1, got {n}"
            ))),
        },
        other => Err(IndexError::illegal(format!(
            "[track_total_hits] parameter must be a boolean or a number, found [{other}]"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<SearchRequest> {
        SearchRequest::parse(Some(&body), Vec::<(String, String)>::new())
    }

    #[test]
    fn defaults() {
        let r = parse(json!({})).unwrap();
        assert_eq!((r.from, r.size), (0, 10));
        assert_eq!(r.track_total_hits, TrackTotalHits::UpTo(10_000));
    }

    #[test]
    fn url_params_win() {
        let r = SearchRequest::parse(
            Some(&json!({"size": 3})),
            [("size", "5"), ("from", "2"), ("sort", "n:desc")],
        )
        .unwrap();
        assert_eq!((r.from, r.size), (2, 5));
        assert!(r.sort[0].desc);
    }

    #[test]
    fn refuses_bad_requests() {
        let cases = [
            (
                json!({"from": 9_995, "size": 6}),
                "illegal_argument_exception",
                "Result window is too large, from + size must be less than or equal to: [10000] but was [10001]",
            ),
            (
                json!({"size": -1}),
                "illegal_argument_exception",
                "[size] parameter cannot be negative, found [-1]",
            ),
            (json!({"from": "x"}), "x_content_parse_exception", "[from]"),
            (json!({"bogus": {}}), "parsing_exception", "Unknown key for a START_OBJECT in [bogus]."),
            (json!({"query": {"nope": {}}}), "parsing_exception", "unknown query [nope]"),
            (json!({"knn": {"field": "v", "k": 3}}), "illegal_argument_exception", "[knn] is not supported"),
            (json!({"track_total_hits": "x"}), "illegal_argument_exception", "track_total_hits"),
            (json!([]), "parsing_exception", "Unexpected token"),
        ];
        for (body, ty, msg) in cases {
            let err = parse(body.clone()).unwrap_err();
            assert_eq!(err.error_type(), ty, "{body}");
            assert!(err.reason().contains(msg), "{body}: {}", err.reason());
        }
        let err = SearchRequest::parse(None, [("size", "abc")]).unwrap_err();
        assert_eq!(err.error_type(), "illegal_argument_exception");
    }

    #[test]
    fn q_param_is_query_string() {
        let r = SearchRequest::parse(None, [("q", "title:hello")]).unwrap();
        assert!(matches!(r.query, QueryAst::Match { ref field, .. } if field == "title"));
    }
}
