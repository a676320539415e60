//! Reading `aggs` / `aggregations` JSON into [`AggNode`]s.

use serde_json::{Map, Value};

use crate::date::{self, CalendarUnit};
use crate::error::{IndexError, Result};
use crate::query::{QueryAst, number, parse_ast, token};

/// How `terms` buckets are ordered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BucketOrder {
    Count {
        desc: bool,
    },
    Key {
        desc: bool,
    },
    /// By a single-value metric sub-aggregation (`"avg_price"`, or `"stats.max"`).
    Metric {
        agg: String,
        value: Option<String>,
        desc: bool,
    },
}

/// A `date_histogram` interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum DateInterval {
    Calendar(CalendarUnit),
    Fixed(i64),
}

/// One range of a `range` aggregation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RangeSpec {
    pub(crate) key: Option<String>,
    pub(crate) from: Option<Value>,
    pub(crate) to: Option<Value>,
}

/// Metrics computed from the values of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetricKind {
    Min,
    Max,
    Avg,
    Sum,
    Stats,
    ValueCount,
}

impl MetricKind {
    /// The aggregation type's name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MetricKind::Min => "min",
            MetricKind::Max => "max",
            MetricKind::Avg => "avg",
            MetricKind::Sum => "sum",
            MetricKind::Stats => "stats",
            MetricKind::ValueCount => "value_count",
        }
    }
}

/// What an aggregation computes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AggKind {
    Terms {
        field: String,
        size: usize,
        min_doc_count: u64,
        order: Vec<BucketOrder>,
        missing: Option<Value>,
    },
    Filters {
        filters: Vec<(String, QueryAst)>,
        keyed: bool,
        other_bucket_key: Option<String>,
    },
    Filter {
        query: QueryAst,
    },
    Range {
        field: String,
        ranges: Vec<RangeSpec>,
        keyed: bool,
    },
    Histogram {
        field: String,
        interval: f64,
        offset: f64,
        min_doc_count: u64,
        extended_bounds: Option<(f64, f64)>,
        keyed: bool,
    },
    DateHistogram {
        field: String,
        interval: DateInterval,
        offset: i64,
        time_zone: i64,
        min_doc_count: u64,
        format: Option<String>,
        extended_bounds: Option<(Value, Value)>,
        keyed: bool,
    },
    Metric {
        field: String,
        kind: MetricKind,
        missing: Option<Value>,
    },
    Cardinality {
        field: String,
        missing: Option<Value>,
    },
    Missing {
        field: String,
    },
}

/// One named aggregation and its sub-aggregations.
#[derive(Debug, Clone, PartialEq)]
pub struct AggNode {
    pub(crate) name: String,
    pub(crate) kind: AggKind,
    pub(crate) subs: Vec<AggNode>,
    pub(crate) meta: Option<Value>,
}

impl AggNode {
    pub(crate) fn is_bucket(&self) -> bool {
        !matches!(self.kind, AggKind::Metric { .. } | AggKind::Cardinality { .. })
    }

    /// The field the aggregation reads, if any.
    pub(crate) fn field(&self) -> Option<&str> {
        match &self.kind {
            AggKind::Terms { field, .. }
            | AggKind::Range { field, .. }
            | AggKind::Histogram { field, .. }
            | AggKind::DateHistogram { field, .. }
            | AggKind::Metric { field, .. }
            | AggKind::Cardinality { field, .. }
            | AggKind::Missing { field } => Some(field),
            AggKind::Filters { .. } | AggKind::Filter { .. } => None,
        }
    }
}

/// Reads the value of `aggs`.
pub(crate) fn parse(v: &Value) -> Result<Vec<AggNode>> {
    parse_level(v, 0)
}

const MAX_DEPTH: usize = 16;

fn parse_level(v: &Value, depth: usize) -> Result<Vec<AggNode>> {
    if depth > MAX_DEPTH {
        return Err(IndexError::illegal(format!("aggregations nest deeper than {MAX_DEPTH} levels")));
    }
    let Value::Object(obj) = v else {
        return Err(IndexError::parsing(format!(
            "Expected [START_OBJECT] under [aggregations], but got a [{}]",
            token(v)
        )));
    };
    obj.iter().map(|(name, def)| parse_one(name, def, depth)).collect()
}

const TYPES: &[&str] = &[
    "terms",
    "filters",
    "filter",
    "range",
    "date_range",
    "histogram",
    "date_histogram",
    "min",
    "max",
    "avg",
    "sum",
    "stats",
    "value_count",
    "cardinality",
    "missing",
];

fn parse_one(name: &str, def: &Value, depth: usize) -> Result<AggNode> {
    if name.is_empty() || name.contains(['[', ']', '>']) {
        return Err(IndexError::parsing(format!(
            "Invalid aggregation name [{name}]. Aggregation names can contain any character except '[', ']', and '>'"
        )));
    }
    let Value::Object(obj) = def else {
        return Err(IndexError::parsing(format!(
            "Expected [START_OBJECT] under [{name}], but got a [{}]",
            token(def)
        )));
    };
    let mut kind: Option<(&str, &Value)> = None;
    let mut subs = Vec::new();
    let mut meta = None;
    for (k, v) in obj {
        match k.as_str() {
            "aggs" | "aggregations" => subs = parse_level(v, depth + 1)?,
            "meta" => meta = Some(v.clone()),
            t => {
                if let Some((prev, _)) = kind {
                    return Err(IndexError::parsing(format!(
                        "Found two aggregation type definitions in [{name}]: [{prev}] and [{t}]"
                    )));
                }
                if !TYPES.contains(&t) {
                    return Err(IndexError::parsing(format!("Unknown aggregation type [{t}]")));
                }
                kind = Some((t, v));
            }
        }
    }
    let (ty, body) =
        kind.ok_or_else(|| IndexError::parsing(format!("Missing definition for aggregation [{name}]")))?;
    let kind = parse_kind(name, ty, body)?;
    let node = AggNode { name: name.to_string(), kind, subs, meta };
    if !node.is_bucket() && !node.subs.is_empty() {
        return Err(IndexError::illegal(format!(
            "Aggregator [{name}] of type [{ty}] cannot accept sub-aggregations"
        )));
    }
    Ok(node)
}

/// The parameters of one aggregation body, with checks.
struct Body<'a> {
    agg: &'a str,
    ty: &'a str,
    obj: &'a Map<String, Value>,
}

impl<'a> Body<'a> {
    fn only(&self, known: &[&str]) -> Result<()> {
        for k in self.obj.keys() {
            if !known.contains(&k.as_str()) {
                return Err(IndexError::parsing(format!("[{}] unknown field [{k}]", self.ty)));
            }
        }
        Ok(())
    }

    fn get(&self, k: &str) -> Option<&'a Value> {
        self.obj.get(k).filter(|v| !v.is_null())
    }

    fn field(&self) -> Result<String> {
        match self.get("field") {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(IndexError::parsing(format!(
                "[{}] [field] must be a string, found [{}]",
                self.ty,
                token(v)
            ))),
            None if self.obj.contains_key("script") => {
                Err(IndexError::illegal(format!("scripts are not supported in aggregation [{}]", self.agg)))
            }
            None => Err(IndexError::illegal(format!(
                "Required one of fields [field, script], but none were specified. in aggregation [{}]",
                self.agg
            ))),
        }
    }

    fn number(&self, k: &str) -> Result<Option<f64>> {
        match self.get(k) {
            None => Ok(None),
            Some(v) => number(v).filter(|f| f.is_finite()).map(Some).ok_or_else(|| {
                IndexError::parsing(format!("[{}] [{k}] must be a number, found [{}]", self.ty, token(v)))
            }),
        }
    }

    fn count(&self, k: &str, default: u64) -> Result<u64> {
        match self.number(k)? {
            None => Ok(default),
            Some(f) if f >= 0.0 => Ok(f as u64),
            Some(f) => Err(IndexError::illegal(format!(
                "[{k}] must be greater than or equal to 0. Found [{f}] in [{}]",
                self.agg
            ))),
        }
    }

    fn bool(&self, k: &str) -> Result<bool> {
        match self.get(k) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(IndexError::parsing(format!(
                "[{}] [{k}] must be a boolean, found [{}]",
                self.ty,
                token(v)
            ))),
        }
    }

    fn string(&self, k: &str) -> Result<Option<String>> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(IndexError::parsing(format!(
                "[{}] [{k}] must be a string, found [{}]",
                self.ty,
                token(v)
            ))),
        }
    }
}

fn parse_kind(name: &str, ty: &str, v: &Value) -> Result<AggKind> {
    let Value::Object(obj) = v else {
        return Err(IndexError::parsing(format!(
            "Expected [START_OBJECT] under [{ty}], but got a [{}] in [{name}]",
            token(v)
        )));
    };
    let b = Body { agg: name, ty, obj };
    Ok(match ty {
        "terms" => {
            b.only(&[
                "field",
                "size",
                "shard_size",
                "min_doc_count",
                "shard_min_doc_count",
                "order",
                "missing",
                "execution_hint",
                "collect_mode",
                "show_term_doc_count_error",
                "format",
                "value_type",
            ])?;
            let size = b.count("size", 10)?;
            if size == 0 {
                return Err(IndexError::illegal(format!(
                    "[size] must be greater than 0. Found [0] in [{name}]"
                )));
            }
            let order = match b.get("order") {
                None => vec![BucketOrder::Count { desc: true }],
                Some(Value::Array(items)) => {
                    items.iter().map(|o| parse_order(name, o)).collect::<Result<Vec<_>>>()?
                }
                Some(o) => vec![parse_order(name, o)?],
            };
            AggKind::Terms {
                field: b.field()?,
                size: usize::try_from(size).unwrap_or(usize::MAX),
                min_doc_count: b.count("min_doc_count", 1)?,
                order,
                missing: b.get("missing").cloned(),
            }
        }
        "filters" => {
            b.only(&["filters", "other_bucket", "other_bucket_key", "keyed"])?;
            let (filters, keyed) = match b.get("filters") {
                Some(Value::Object(named)) => (
                    named.iter().map(|(k, q)| Ok((k.clone(), parse_ast(q)?))).collect::<Result<Vec<_>>>()?,
                    true,
                ),
                Some(Value::Array(list)) => (
                    list.iter()
                        .enumerate()
                        .map(|(i, q)| Ok((i.to_string(), parse_ast(q)?)))
                        .collect::<Result<Vec<_>>>()?,
                    false,
                ),
                _ => {
                    return Err(IndexError::parsing(format!(
                        "[filters] requires [filters] to be an object or an array in [{name}]"
                    )));
                }
            };
            let other_key = b.string("other_bucket_key")?;
            let other = b.bool("other_bucket")? || other_key.is_some();
            AggKind::Filters {
                filters,
                keyed,
                other_bucket_key: other.then(|| other_key.unwrap_or_else(|| "_other_".into())),
            }
        }
        "filter" => AggKind::Filter { query: parse_ast(v)? },
        "range" | "date_range" => {
            b.only(&["field", "ranges", "keyed", "format", "missing", "time_zone"])?;
            let Some(Value::Array(items)) = b.get("ranges") else {
                return Err(IndexError::illegal(format!(
                    "No [ranges] specified for the [{name}] aggregation"
                )));
            };
            let ranges = items
                .iter()
                .map(|r| {
                    let Value::Object(r) = r else {
                        return Err(IndexError::parsing(format!(
                            "[{ty}] ranges must be objects in [{name}]"
                        )));
                    };
                    for k in r.keys() {
                        if !["key", "from", "to"].contains(&k.as_str()) {
                            return Err(IndexError::parsing(format!("[range] unknown field [{k}]")));
                        }
                    }
                    let bound = |k: &str| -> Result<Option<Value>> {
                        match r.get(k) {
                            None | Some(Value::Null) => Ok(None),
                            Some(v @ (Value::Number(_) | Value::String(_))) => Ok(Some(v.clone())),
                            Some(v) => Err(IndexError::parsing(format!(
                                "[range] [{k}] must be a number or a string, found [{}]",
                                token(v)
                            ))),
                        }
                    };
                    Ok(RangeSpec {
                        key: r.get("key").and_then(Value::as_str).map(str::to_string),
                        from: bound("from")?,
                        to: bound("to")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            AggKind::Range { field: b.field()?, ranges, keyed: b.bool("keyed")? }
        }
        "histogram" => {
            b.only(&[
                "field",
                "interval",
                "offset",
                "min_doc_count",
                "extended_bounds",
                "hard_bounds",
                "keyed",
                "order",
                "missing",
                "format",
            ])?;
            let interval = b.number("interval")?.unwrap_or(0.0);
            if interval <= 0.0 {
                return Err(IndexError::illegal(format!(
                    "[interval] must be >0 for histogram aggregation [{name}]"
                )));
            }
            let extended_bounds = match b.get("extended_bounds") {
                Some(Value::Object(e)) => {
                    match (e.get("min").and_then(number), e.get("max").and_then(number)) {
                        (Some(lo), Some(hi)) => Some((lo, hi)),
                        _ => None,
                    }
                }
                _ => None,
            };
            AggKind::Histogram {
                field: b.field()?,
                interval,
                offset: b.number("offset")?.unwrap_or(0.0),
                min_doc_count: b.count("min_doc_count", 0)?,
                extended_bounds,
                keyed: b.bool("keyed")?,
            }
        }
        "date_histogram" => {
            b.only(&[
                "field",
                "calendar_interval",
                "fixed_interval",
                "interval",
                "offset",
                "time_zone",
                "min_doc_count",
                "format",
                "extended_bounds",
                "hard_bounds",
                "keyed",
                "order",
                "missing",
            ])?;
            let interval = match (b.string("calendar_interval")?, b.string("fixed_interval")?, b.string("interval")?) {
                (Some(c), None, None) => DateInterval::Calendar(CalendarUnit::from_calendar_interval(&c).ok_or_else(|| {
                    IndexError::illegal(format!("The supplied interval [{c}] could not be parsed as a calendar interval."))
                })?),
                (None, Some(f), None) => DateInterval::Fixed(date::parse_fixed_interval(&f).ok_or_else(|| {
                    IndexError::illegal(format!(
                        "failed to parse setting [date_histogram.fixedInterval] with value [{f}] as a time value: unit is missing or unrecognized"
                    ))
                })?),
                (None, None, Some(i)) => match CalendarUnit::from_calendar_interval(&i) {
                    Some(u) => DateInterval::Calendar(u),
                    None => DateInterval::Fixed(date::parse_fixed_interval(&i).ok_or_else(|| {
                        IndexError::illegal(format!("Unable to parse interval [{i}]"))
                    })?),
                },
                (None, None, None) => {
                    return Err(IndexError::illegal(format!(
                        "Invalid interval specified, must be non-null and non-empty in [{name}]: use [calendar_interval] or [fixed_interval]"
                    )));
                }
                _ => {
                    return Err(IndexError::illegal(
                        "Cannot use more than one of [calendar_interval], [fixed_interval] and [interval]",
                    ));
                }
            };
            let offset = match b.get("offset") {
                None => 0,
                Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
                Some(Value::String(s)) => {
                    let (neg, s) = match s.strip_prefix('-') {
                        Some(rest) => (true, rest),
                        None => (false, s.strip_prefix('+').unwrap_or(s)),
                    };
                    let ms = date::parse_fixed_interval(s).ok_or_else(|| {
                        IndexError::illegal(format!("failed to parse [offset] [{s}] in [{name}]"))
                    })?;
                    if neg { -ms } else { ms }
                }
                Some(v) => {
                    return Err(IndexError::parsing(format!(
                        "[date_histogram] [offset] must be a string, found [{}]",
                        token(v)
                    )));
                }
            };
            let time_zone = match b.string("time_zone")? {
                None => 0,
                Some(tz) => date::parse_offset(&tz).ok_or_else(|| {
                    IndexError::illegal(format!(
                        "time_zone [{tz}] is not supported: use UTC or a fixed offset such as +01:00"
                    ))
                })?,
            };
            let extended_bounds = match b.get("extended_bounds") {
                Some(Value::Object(e)) => match (e.get("min"), e.get("max")) {
                    (Some(lo), Some(hi)) => Some((lo.clone(), hi.clone())),
                    _ => None,
                },
                _ => None,
            };
            AggKind::DateHistogram {
                field: b.field()?,
                interval,
                offset,
                time_zone,
                min_doc_count: b.count("min_doc_count", 0)?,
                format: b.string("format")?,
                extended_bounds,
                keyed: b.bool("keyed")?,
            }
        }
        "min" | "max" | "avg" | "sum" | "stats" | "value_count" => {
            b.only(&["field", "missing", "format", "value_type"])?;
            let kind = match ty {
                "min" => MetricKind::Min,
                "max" => MetricKind::Max,
                "avg" => MetricKind::Avg,
                "sum" => MetricKind::Sum,
                "stats" => MetricKind::Stats,
                _ => MetricKind::ValueCount,
            };
            AggKind::Metric { field: b.field()?, kind, missing: b.get("missing").cloned() }
        }
        "cardinality" => {
            b.only(&["field", "precision_threshold", "missing", "execution_hint"])?;
            AggKind::Cardinality { field: b.field()?, missing: b.get("missing").cloned() }
        }
        "missing" => {
            b.only(&["field"])?;
            AggKind::Missing { field: b.field()? }
        }
        other => return Err(IndexError::parsing(format!("Unknown aggregation type [{other}]"))),
    })
}

fn parse_order(name: &str, v: &Value) -> Result<BucketOrder> {
    let Value::Object(o) = v else {
        return Err(IndexError::parsing(format!("[terms] [order] must be an object in [{name}]")));
    };
    let mut it = o.iter();
    let (Some((key, dir)), None) = (it.next(), it.next()) else {
        return Err(IndexError::parsing(format!("[terms] [order] must hold exactly one key in [{name}]")));
    };
    let desc = match dir.as_str() {
        Some("desc") | Some("DESC") => true,
        Some("asc") | Some("ASC") => false,
        _ => {
            return Err(IndexError::parsing(format!(
                "Unknown terms order direction [{dir}] in terms aggregation [{name}]"
            )));
        }
    };
    Ok(match key.as_str() {
        "_count" => BucketOrder::Count { desc },
        "_key" | "_term" => BucketOrder::Key { desc },
        path => {
            let (agg, value) = match path.split_once('.') {
                Some((a, v)) => (a.to_string(), Some(v.to_string())),
                None => (path.to_string(), None),
            };
            BucketOrder::Metric { agg, value, desc }
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_nested_aggs() {
        let aggs = parse(&json!({
            "by_tag": {"terms": {"field": "tag", "size": 5}, "aggs": {"avg_n": {"avg": {"field": "n"}}}},
            "per_day": {"date_histogram": {"field": "d", "calendar_interval": "day"}},
            "named": {"filters": {"filters": {"a": {"term": {"t": "a"}}}}}
        }))
        .unwrap();
        assert_eq!(aggs.len(), 3);
        assert_eq!(aggs[0].subs.len(), 1);
        assert!(matches!(
            aggs[1].kind,
            AggKind::DateHistogram { interval: DateInterval::Calendar(CalendarUnit::Day), .. }
        ));
    }

    #[test]
    fn refuses_bad_aggs() {
        let cases = [
            (json!({"a": {"nope": {}}}), "parsing_exception", "Unknown aggregation type [nope]"),
            (
                json!({"a": {"terms": {"field": "x"}, "avg": {"field": "y"}}}),
                "parsing_exception",
                "Found two aggregation type definitions in [a]",
            ),
            (json!({"a": {}}), "parsing_exception", "Missing definition for aggregation [a]"),
            (
                json!({"a": {"avg": {"field": "x"}, "aggs": {"b": {"max": {"field": "y"}}}}}),
                "illegal_argument_exception",
                "cannot accept sub-aggregations",
            ),
            (
                json!({"a": {"terms": {}}}),
                "illegal_argument_exception",
                "Required one of fields [field, script]",
            ),
            (
                json!({"a": {"histogram": {"field": "x", "interval": 0}}}),
                "illegal_argument_exception",
                "[interval] must be >0",
            ),
            (
                json!({"a": {"date_histogram": {"field": "x", "calendar_interval": "5d"}}}),
                "illegal_argument_exception",
                "could not be parsed as a calendar interval",
            ),
            (
                json!({"a": {"date_histogram": {"field": "x"}}}),
                "illegal_argument_exception",
                "Invalid interval specified",
            ),
            (
                json!({"a": {"terms": {"field": "x", "size": 0}}}),
                "illegal_argument_exception",
                "[size] must be greater than 0",
            ),
            (
                json!({"a": {"terms": {"field": "x", "bogus": 1}}}),
                "parsing_exception",
                "[terms] unknown field [bogus]",
            ),
            (json!({"a": 5}), "parsing_exception", "Expected [START_OBJECT]"),
        ];
        for (aggs, ty, msg) in cases {
            let err = parse(&aggs).unwrap_err();
            assert_eq!(err.error_type(), ty, "{aggs}");
            assert!(err.reason().contains(msg), "{aggs}: {}", err.reason());
        }
    }
}
