//! Rendering merged aggregation states in Elasticsearch's response shape.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

use crate::aggs::collect::date_bucket;
use crate::aggs::request::{AggKind, AggNode, BucketOrder, DateInterval, MetricKind};
use crate::aggs::state::{AggState, Bucket, Key, KeyKind, Stats};
use crate::date;
use crate::error::{IndexError, Result};

/// `search.max_buckets`.
pub const MAX_BUCKETS: usize = 65_536;

fn too_many(n: usize) -> IndexError {
    IndexError::TooManyBuckets(format!(
        "Trying to create too many buckets. Must be less than or equal to: [{MAX_BUCKETS}] but was [{n}]. This limit can be set by changing the [search.max_buckets] cluster level setting."
    ))
}

/// Counts buckets as they are rendered, against [`MAX_BUCKETS`].
pub(crate) struct Budget(usize);

impl Budget {
    pub(crate) fn new() -> Budget {
        Budget(0)
    }

    /// Fails if `extra` more buckets would pass the limit (without taking them).
    fn check(&self, extra: usize) -> Result<()> {
        let n = self.0.saturating_add(extra);
        if n > MAX_BUCKETS { Err(too_many(n)) } else { Ok(()) }
    }

    fn take(&mut self, n: usize) -> Result<()> {
        self.0 = self.0.saturating_add(n);
        if self.0 > MAX_BUCKETS { Err(too_many(self.0)) } else { Ok(()) }
    }
}

fn num(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// A double as Java prints it (`100.0`, `1.5`, `1.0E21`), for range keys.
fn java_double(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e7 {
        format!("{f:.1}")
    } else if f.is_finite() && (f.abs() >= 1e7 || (f != 0.0 && f.abs() < 1e-3)) {
        let s = format!("{f:E}");
        match s.split_once('E') {
            Some((m, e)) if !m.contains('.') => format!("{m}.0E{e}"),
            _ => s,
        }
    } else {
        format!("{f}")
    }
}

fn date_format(kind: &Option<KeyKind>) -> Option<&str> {
    match kind {
        Some(KeyKind::Date { format }) => Some(format.as_deref().unwrap_or("")),
        _ => None,
    }
}

fn key_json(key: &Key, kind: &Option<KeyKind>, out: &mut Map<String, Value>) {
    match (key, kind) {
        (Key::Str(s), _) => {
            out.insert("key".into(), Value::String(s.to_string()));
        }
        (k, Some(KeyKind::Date { format })) => {
            let ms = k.as_f64().unwrap_or(0.0) as i64;
            out.insert("key".into(), json!(ms));
            out.insert(
                "key_as_string".into(),
                json!(date::format_pattern(ms, format.as_deref().unwrap_or(""))),
            );
        }
        (k, Some(KeyKind::Bool)) => {
            let b = k.as_f64().unwrap_or(0.0) != 0.0;
            out.insert("key".into(), json!(i64::from(b)));
            out.insert("key_as_string".into(), json!(b.to_string()));
        }
        (Key::I64(i), _) => {
            out.insert("key".into(), json!(i));
        }
        (Key::F64(f), _) => {
            out.insert("key".into(), num(*f));
        }
    }
}

/// Renders the aggregations of a request.
pub(crate) fn render(nodes: &[AggNode], states: Vec<AggState>) -> Result<Map<String, Value>> {
    let mut budget = Budget::new();
    render_level(nodes, states, &mut budget)
}

fn render_level(nodes: &[AggNode], states: Vec<AggState>, budget: &mut Budget) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for (node, state) in nodes.iter().zip(states) {
        out.insert(node.name.clone(), render_one(node, state, budget)?);
    }
    Ok(out)
}

fn bucket_body(
    node: &AggNode,
    bucket: Bucket,
    budget: &mut Budget,
    out: &mut Map<String, Value>,
) -> Result<()> {
    out.insert("doc_count".into(), json!(bucket.doc_count));
    for (k, v) in render_level(&node.subs, bucket.subs, budget)? {
        out.insert(k, v);
    }
    Ok(())
}

/// The value of a single-value metric sub-aggregation of `bucket`, for ordering.
fn metric_value(node: &AggNode, bucket: &Bucket, agg: &str, value: Option<&str>) -> Option<f64> {
    let (i, sub) = node.subs.iter().enumerate().find(|(_, s)| s.name == agg)?;
    match (&sub.kind, bucket.subs.get(i)?) {
        (AggKind::Metric { kind, .. }, AggState::Metric { stats, .. }) => {
            let which = match (kind, value) {
                (MetricKind::Stats, Some(v)) => v,
                (MetricKind::Min, _) => "min",
                (MetricKind::Max, _) => "max",
                (MetricKind::Sum, _) => "sum",
                (MetricKind::ValueCount, _) => "count",
                _ => "avg",
            };
            stat(stats, which)
        }
        (AggKind::Cardinality { .. }, AggState::Cardinality(set)) => Some(set.len() as f64),
        (_, AggState::Filter(b) | AggState::Missing(b)) => Some(b.doc_count as f64),
        _ => None,
    }
}

fn stat(s: &Stats, which: &str) -> Option<f64> {
    match which {
        "count" | "value_count" => Some(s.count as f64),
        "sum" => Some(s.sum),
        _ if s.count == 0 => None,
        "min" => Some(s.min),
        "max" => Some(s.max),
        "avg" => Some(s.sum / s.count as f64),
        _ => None,
    }
}

fn render_one(node: &AggNode, state: AggState, budget: &mut Budget) -> Result<Value> {
    let mut out = Map::new();
    if let Some(meta) = &node.meta {
        out.insert("meta".into(), meta.clone());
    }
    match (&node.kind, state) {
        (AggKind::Terms { size, min_doc_count, order, .. }, AggState::Terms { kind, buckets }) => {
            let mut list: Vec<(Key, Bucket)> =
                buckets.into_iter().filter(|(_, b)| b.doc_count >= (*min_doc_count).max(1)).collect();
            list.sort_by(|(ka, ba), (kb, bb)| {
                for o in order {
                    let ord = match o {
                        BucketOrder::Count { desc } => {
                            let c = ba.doc_count.cmp(&bb.doc_count);
                            if *desc { c.reverse() } else { c }
                        }
                        BucketOrder::Key { desc } => {
                            let c = ka.cmp(kb);
                            if *desc { c.reverse() } else { c }
                        }
                        BucketOrder::Metric { agg, value, desc } => {
                            let (x, y) = (
                                metric_value(node, ba, agg, value.as_deref()),
                                metric_value(node, bb, agg, value.as_deref()),
                            );
                            let c = match (x, y) {
                                (Some(x), Some(y)) => x.total_cmp(&y),
                                (Some(_), None) => return Ordering::Less,
                                (None, Some(_)) => return Ordering::Greater,
                                (None, None) => Ordering::Equal,
                            };
                            if *desc { c.reverse() } else { c }
                        }
                    };
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
                bb.doc_count.cmp(&ba.doc_count).then_with(|| ka.cmp(kb))
            });
            let other: u64 = list.iter().skip(*size).map(|(_, b)| b.doc_count).sum();
            list.truncate(*size);
            budget.take(list.len())?;
            let mut rendered = Vec::with_capacity(list.len());
            for (key, bucket) in list {
                let mut b = Map::new();
                key_json(&key, &kind, &mut b);
                bucket_body(node, bucket, budget, &mut b)?;
                rendered.push(Value::Object(b));
            }
            out.insert("doc_count_error_upper_bound".into(), json!(0));
            out.insert("sum_other_doc_count".into(), json!(other));
            out.insert("buckets".into(), Value::Array(rendered));
        }
        (AggKind::Filters { filters, keyed, other_bucket_key }, AggState::Filters(buckets)) => {
            budget.take(buckets.len())?;
            let names: Vec<String> =
                filters.iter().map(|(n, _)| n.clone()).chain(other_bucket_key.iter().cloned()).collect();
            if *keyed {
                let mut map = Map::new();
                for (name, bucket) in names.into_iter().zip(buckets) {
                    let mut b = Map::new();
                    bucket_body(node, bucket, budget, &mut b)?;
                    map.insert(name, Value::Object(b));
                }
                out.insert("buckets".into(), Value::Object(map));
            } else {
                let mut list = Vec::new();
                for bucket in buckets {
                    let mut b = Map::new();
                    bucket_body(node, bucket, budget, &mut b)?;
                    list.push(Value::Object(b));
                }
                out.insert("buckets".into(), Value::Array(list));
            }
        }
        (AggKind::Filter { .. }, AggState::Filter(bucket))
        | (AggKind::Missing { .. }, AggState::Missing(bucket)) => {
            bucket_body(node, bucket, budget, &mut out)?;
        }
        (AggKind::Range { ranges, keyed, .. }, AggState::Range { kind, bounds, buckets }) => {
            budget.take(buckets.len())?;
            let fmt = date_format(&kind);
            let show = |f: f64| match fmt {
                Some(p) => date::format_pattern(f as i64, p),
                None => java_double(f),
            };
            let mut list = Vec::new();
            let mut map = Map::new();
            for (i, bucket) in buckets.into_iter().enumerate() {
                let (from, to) = bounds.get(i).copied().unwrap_or((None, None));
                let key = ranges.get(i).and_then(|r| r.key.clone()).unwrap_or_else(|| {
                    format!("{}-{}", from.map_or("*".to_string(), show), to.map_or("*".to_string(), show))
                });
                let mut b = Map::new();
                if !*keyed {
                    b.insert("key".into(), json!(key));
                }
                if let Some(f) = from {
                    b.insert("from".into(), num(f));
                    if fmt.is_some() {
                        b.insert("from_as_string".into(), json!(show(f)));
                    }
                }
                if let Some(t) = to {
                    b.insert("to".into(), num(t));
                    if fmt.is_some() {
                        b.insert("to_as_string".into(), json!(show(t)));
                    }
                }
                bucket_body(node, bucket, budget, &mut b)?;
                if *keyed {
                    map.insert(key, Value::Object(b));
                } else {
                    list.push(Value::Object(b));
                }
            }
            out.insert("buckets".into(), if *keyed { Value::Object(map) } else { Value::Array(list) });
        }
        (
            AggKind::Histogram { interval, offset, min_doc_count, extended_bounds, keyed, .. },
            AggState::Histogram { mut buckets },
        ) => {
            if *min_doc_count == 0 {
                let idx = |v: f64| ((v - offset) / interval).floor().clamp(-9e15, 9e15) as i64;
                let lo =
                    buckets.keys().next().copied().into_iter().chain(extended_bounds.map(|b| idx(b.0))).min();
                let hi = buckets
                    .keys()
                    .next_back()
                    .copied()
                    .into_iter()
                    .chain(extended_bounds.map(|b| idx(b.1)))
                    .max();
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    let n = usize::try_from(hi.saturating_sub(lo).saturating_add(1)).unwrap_or(usize::MAX);
                    budget.check(n)?;
                    for i in lo..=hi {
                        buckets.entry(i).or_insert_with(|| Bucket::new(&node.subs));
                    }
                }
            }
            let kept: Vec<(i64, Bucket)> =
                buckets.into_iter().filter(|(_, b)| b.doc_count >= *min_doc_count).collect();
            budget.take(kept.len())?;
            let mut list = Vec::new();
            let mut map = Map::new();
            for (i, bucket) in kept {
                let key = i as f64 * interval + offset;
                let mut b = Map::new();
                b.insert("key".into(), num(key));
                bucket_body(node, bucket, budget, &mut b)?;
                if *keyed {
                    map.insert(java_double(key), Value::Object(b));
                } else {
                    list.push(Value::Object(b));
                }
            }
            out.insert("buckets".into(), if *keyed { Value::Object(map) } else { Value::Array(list) });
        }
        (
            AggKind::DateHistogram { interval, offset, time_zone, min_doc_count, format, keyed, .. },
            AggState::DateHistogram { kind, mut buckets, bounds },
        ) => {
            if *min_doc_count == 0 {
                let ext = bounds.and_then(|(lo, hi)| {
                    Some((
                        date_bucket(lo, *interval, *offset, *time_zone)?,
                        date_bucket(hi, *interval, *offset, *time_zone)?,
                    ))
                });
                let lo = buckets.keys().next().copied().into_iter().chain(ext.map(|e| e.0)).min();
                let hi = buckets.keys().next_back().copied().into_iter().chain(ext.map(|e| e.1)).max();
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    let mut cur = lo;
                    let mut n = 0usize;
                    while cur <= hi {
                        n += 1;
                        budget.check(n)?;
                        buckets.entry(cur).or_insert_with(|| Bucket::new(&node.subs));
                        let next = match interval {
                            DateInterval::Calendar(unit) => date::add_units(cur, 1, *unit)
                                .and_then(|t| date_bucket(t, *interval, *offset, *time_zone)),
                            DateInterval::Fixed(len) => cur.checked_add(*len),
                        };
                        match next {
                            Some(t) if t > cur => cur = t,
                            _ => break,
                        }
                    }
                }
            }
            let pattern =
                format.clone().or_else(|| date_format(&kind).map(str::to_string)).unwrap_or_default();
            let kept: Vec<(i64, Bucket)> =
                buckets.into_iter().filter(|(_, b)| b.doc_count >= *min_doc_count).collect();
            budget.take(kept.len())?;
            let mut list = Vec::new();
            let mut map = Map::new();
            for (start, bucket) in kept {
                let mut b = Map::new();
                let shown = date::format_pattern(start, &pattern);
                b.insert("key_as_string".into(), json!(shown));
                b.insert("key".into(), json!(start));
                bucket_body(node, bucket, budget, &mut b)?;
                if *keyed {
                    map.insert(shown, Value::Object(b));
                } else {
                    list.push(Value::Object(b));
                }
            }
            out.insert("buckets".into(), if *keyed { Value::Object(map) } else { Value::Array(list) });
        }
        (AggKind::Metric { kind: metric, .. }, AggState::Metric { kind, stats }) => {
            let fmt = date_format(&kind);
            let with_string = |out: &mut Map<String, Value>, name: &str, v: Option<f64>| {
                out.insert(name.to_string(), v.map_or(Value::Null, num));
                if let (Some(p), Some(v)) = (fmt, v) {
                    out.insert(format!("{name}_as_string"), json!(date::format_pattern(v as i64, p)));
                }
            };
            match metric {
                MetricKind::Min => with_string(&mut out, "value", stat(&stats, "min")),
                MetricKind::Max => with_string(&mut out, "value", stat(&stats, "max")),
                MetricKind::Avg => with_string(&mut out, "value", stat(&stats, "avg")),
                MetricKind::Sum => {
                    out.insert("value".into(), num(stats.sum));
                }
                MetricKind::ValueCount => {
                    out.insert("value".into(), json!(stats.count));
                }
                MetricKind::Stats => {
                    out.insert("count".into(), json!(stats.count));
                    with_string(&mut out, "min", stat(&stats, "min"));
                    with_string(&mut out, "max", stat(&stats, "max"));
                    with_string(&mut out, "avg", stat(&stats, "avg"));
                    out.insert("sum".into(), num(stats.sum));
                }
            }
        }
        (AggKind::Cardinality { .. }, AggState::Cardinality(set)) => {
            out.insert("value".into(), json!(set.len()));
        }
        _ => {}
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_doubles() {
        assert_eq!(java_double(100.0), "100.0");
        assert_eq!(java_double(1.5), "1.5");
        assert_eq!(java_double(-3.0), "-3.0");
        assert_eq!(java_double(1e21), "1.0E21");
    }
}
