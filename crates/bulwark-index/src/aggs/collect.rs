//! Running aggregations over one index: binding [`AggNode`]s to the index's mapping, and a
//! tantivy collector that reads fast fields document by document.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{EnableScoring, Weight};
use tantivy::{BitSet, DocId, Score, Searcher, SegmentOrdinal, SegmentReader};

use crate::aggs::request::{AggKind, AggNode, DateInterval, MetricKind};
use crate::aggs::state::{AggState, Bucket, Key, KeyKind};
use crate::column::{SegmentColumn, Val};
use crate::date;
use crate::document::epoch_unit;
use crate::error::{IndexError, Result};
use crate::mapping::{FieldType, Mapping, ValueKind};
use crate::query::{Compiler, number};

/// An aggregation bound to one index.
pub(crate) struct Bound {
    node: AggNode,
    /// The `_k` path of the field read, when it is mapped.
    path: Option<String>,
    kind: Option<KeyKind>,
    filters: Vec<Box<dyn Weight>>,
    ranges: Vec<(Option<f64>, Option<f64>)>,
    date_bounds: Option<(i64, i64)>,
    missing: Option<Key>,
    subs: Vec<Arc<Bound>>,
}

fn fielddata_error(field: &str) -> IndexError {
    IndexError::illegal(format!(
        "Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [{field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory."
    ))
}

/// Binds `nodes` to an index.
pub(crate) fn bind(
    nodes: &[AggNode],
    index_name: &str,
    mapping: &Mapping,
    compiler: &mut Compiler<'_>,
    searcher: &Searcher,
) -> Result<Vec<Arc<Bound>>> {
    nodes.iter().map(|n| bind_one(n, index_name, mapping, compiler, searcher).map(Arc::new)).collect()
}

fn bind_one(
    node: &AggNode,
    index_name: &str,
    mapping: &Mapping,
    compiler: &mut Compiler<'_>,
    searcher: &Searcher,
) -> Result<Bound> {
    let mut path = None;
    let mut kind = None;
    // `_index` is no stored field: every document of this index has the index's name.
    let index_field = node.field() == Some("_index");
    if index_field {
        let ty = match &node.kind {
            AggKind::Terms { .. } | AggKind::Cardinality { .. } => None,
            AggKind::Metric { kind, .. } => Some(kind.as_str()),
            AggKind::Histogram { .. } => Some("histogram"),
            AggKind::DateHistogram { .. } => Some("date_histogram"),
            AggKind::Range { .. } => Some("range"),
            _ => Some("missing"),
        };
        if let Some(ty) = ty {
            return Err(IndexError::illegal(format!(
                "Field [_index] of type [_index] is not supported for aggregation [{ty}]"
            )));
        }
        kind = Some(KeyKind::Str);
    } else if let Some(field) = node.field() {
        if let Some(f) = mapping.get(field).filter(|f| !f.field_type().is_object()) {
            let k = match f.field_type().kind() {
                Some(ValueKind::Text) => {
                    if matches!(node.kind, AggKind::Missing { .. }) {
                        None
                    } else {
                        return Err(fielddata_error(field));
                    }
                }
                Some(ValueKind::Keyword | ValueKind::Ip) => Some(KeyKind::Str),
                Some(ValueKind::Integer { .. }) => Some(KeyKind::Integer),
                Some(ValueKind::Float) => Some(KeyKind::Float),
                Some(ValueKind::Boolean) => Some(KeyKind::Bool),
                Some(ValueKind::Date) => Some(KeyKind::Date { format: f.format().map(str::to_string) }),
                None => None,
            };
            let numeric_only = match &node.kind {
                AggKind::Metric { kind: MetricKind::ValueCount, .. } => None,
                AggKind::Metric { kind, .. } => Some(kind.as_str()),
                AggKind::Histogram { .. } => Some("histogram"),
                AggKind::DateHistogram { .. } => Some("date_histogram"),
                AggKind::Range { .. } => Some("range"),
                _ => None,
            };
            if let (Some(ty), Some(KeyKind::Str)) = (numeric_only, &k) {
                return Err(IndexError::illegal(format!(
                    "Field [{field}] of type [{}] is not supported for aggregation [{ty}]",
                    f.field_type()
                )));
            }
            if k.is_some() {
                path = Some(field.to_string());
            }
            kind = k;
        } else if let Some(FieldType::Object | FieldType::Nested) = mapping.field_type(field) {
            return Err(IndexError::illegal(format!(
                "Field [{field}] of type [object] is not supported for aggregation [{}]",
                node.name
            )));
        }
    }
    let mut filters = Vec::new();
    let filter_queries: Vec<&crate::query::QueryAst> = match &node.kind {
        AggKind::Filters { filters, .. } => filters.iter().map(|(_, q)| q).collect(),
        AggKind::Filter { query } => vec![query],
        _ => Vec::new(),
    };
    for q in filter_queries {
        let compiled = compiler.compile(q)?;
        let weight = compiled
            .weight(EnableScoring::disabled_from_searcher(searcher))
            .map_err(IndexError::engine("preparing a filter aggregation"))?;
        filters.push(weight);
    }
    let date_kind = matches!(kind, Some(KeyKind::Date { .. }));
    let format = match &kind {
        Some(KeyKind::Date { format }) => format.clone(),
        _ => None,
    };
    let as_number = |v: &Value| -> Result<f64> {
        if date_kind {
            let ms = match v {
                Value::String(s) => date::eval_math(s, compiler_now(compiler), false, 0)
                    .or_else(|| date::parse_str(s, epoch_unit(format.as_deref()))),
                other => date::parse_value(other, epoch_unit(format.as_deref())),
            };
            ms.map(|m| m as f64).ok_or_else(|| {
                IndexError::illegal(format!("failed to parse date [{v}] in aggregation [{}]", node.name))
            })
        } else {
            number(v).ok_or_else(|| {
                IndexError::illegal(format!("[{v}] is not a number in aggregation [{}]", node.name))
            })
        }
    };
    let mut ranges = Vec::new();
    if let AggKind::Range { ranges: specs, .. } = &node.kind {
        for r in specs {
            let from = r.from.as_ref().map(&as_number).transpose()?;
            let to = r.to.as_ref().map(&as_number).transpose()?;
            ranges.push((from, to));
        }
    }
    let mut date_bounds = None;
    if let AggKind::DateHistogram { extended_bounds: Some((lo, hi)), .. } = &node.kind {
        date_bounds = Some((as_number(lo)? as i64, as_number(hi)? as i64));
    }
    let missing = match &node.kind {
        _ if index_field => Some(Key::Str(Arc::from(index_name))),
        AggKind::Terms { missing: Some(m), .. }
        | AggKind::Metric { missing: Some(m), .. }
        | AggKind::Cardinality { missing: Some(m), .. } => Some(match (&kind, m) {
            (Some(KeyKind::Str) | None, v) => {
                Key::Str(Arc::from(crate::query::scalar_string(v).unwrap_or_default().as_str()))
            }
            (Some(KeyKind::Float), v) => Key::F64(as_number(v)?),
            (Some(KeyKind::Bool), v) => Key::I64(i64::from(crate::document::to_bool(v).unwrap_or(false))),
            (_, v) => Key::I64(as_number(v)? as i64),
        }),
        _ => None,
    };
    let subs = node
        .subs
        .iter()
        .map(|s| bind_one(s, index_name, mapping, compiler, searcher).map(Arc::new))
        .collect::<Result<Vec<_>>>()?;
    Ok(Bound { node: node.clone(), path, kind, filters, ranges, date_bounds, missing, subs })
}

fn compiler_now(c: &Compiler<'_>) -> i64 {
    c.now()
}

/// Collects every aggregation of a request over one index.
pub(crate) struct AggCollector {
    pub(crate) roots: Vec<Arc<Bound>>,
}

/// One aggregation's per-segment reader.
pub(crate) struct SegAgg {
    bound: Arc<Bound>,
    column: SegmentColumn,
    strings: HashMap<(u8, u64), Arc<str>>,
    bitsets: Vec<BitSet>,
    buf: Vec<Val>,
    subs: Vec<SegAgg>,
}

impl SegAgg {
    fn open(bound: &Arc<Bound>, reader: &SegmentReader) -> tantivy::Result<SegAgg> {
        let column = match &bound.path {
            Some(p) => SegmentColumn::open(reader, p)
                .map_err(|e| tantivy::TantivyError::InternalError(e.to_string()))?,
            None => SegmentColumn::default(),
        };
        let mut bitsets = Vec::new();
        for w in &bound.filters {
            let mut bits = BitSet::with_max_value(reader.max_doc().max(1));
            w.for_each_no_score(reader, &mut |docs| {
                for &d in docs {
                    bits.insert(d);
                }
            })?;
            bitsets.push(bits);
        }
        let subs = bound.subs.iter().map(|s| SegAgg::open(s, reader)).collect::<tantivy::Result<Vec<_>>>()?;
        Ok(SegAgg { bound: bound.clone(), column, strings: HashMap::new(), bitsets, buf: Vec::new(), subs })
    }

    /// The keys of `doc`, deduplicated, in key order.
    fn keys(&mut self, doc: DocId) -> Vec<Key> {
        if self.column.is_empty() {
            return self.bound.missing.iter().cloned().collect();
        }
        self.column.values(doc, &mut self.buf);
        let float = self.bound.kind == Some(KeyKind::Float);
        let mut keys: Vec<Key> = Vec::with_capacity(self.buf.len());
        for v in &self.buf {
            keys.push(match *v {
                Val::I64(i) if float => Key::F64(i as f64),
                Val::I64(i) => Key::I64(i),
                Val::F64(f) => Key::F64(f),
                Val::Ord { col, ord } => {
                    let column = &self.column;
                    Key::Str(
                        self.strings.entry((col, ord)).or_insert_with(|| column.string(col, ord)).clone(),
                    )
                }
            });
        }
        if keys.is_empty() {
            if let Some(m) = &self.bound.missing {
                keys.push(m.clone());
            }
        } else if keys.len() > 1 {
            keys.sort();
            keys.dedup();
        }
        keys
    }

    /// The numeric values of `doc` (all of them, repeats included).
    fn numbers(&mut self, doc: DocId) -> Vec<f64> {
        if self.column.is_empty() {
            return self.bound.missing.as_ref().and_then(Key::as_f64).into_iter().collect();
        }
        self.column.values(doc, &mut self.buf);
        let mut out: Vec<f64> = self.buf.iter().filter_map(|v| v.as_f64()).collect();
        if out.is_empty()
            && let Some(m) = self.bound.missing.as_ref().and_then(Key::as_f64)
        {
            out.push(m);
        }
        out
    }

    fn fill_bucket(&mut self, bucket: &mut Bucket, doc: DocId) {
        bucket.doc_count += 1;
        for (sub, state) in self.subs.iter_mut().zip(bucket.subs.iter_mut()) {
            sub.collect(state, doc);
        }
    }

    fn collect(&mut self, state: &mut AggState, doc: DocId) {
        let bound = self.bound.clone();
        match (&bound.node.kind, state) {
            (AggKind::Terms { .. }, AggState::Terms { kind, buckets }) => {
                if kind.is_none() {
                    kind.clone_from(&bound.kind);
                }
                for key in self.keys(doc) {
                    let b = buckets.entry(key).or_insert_with(|| Bucket::new(&bound.node.subs));
                    self.fill_bucket(b, doc);
                }
            }
            (AggKind::Filters { .. }, AggState::Filters(buckets)) => {
                let mut any = false;
                for i in 0..self.bitsets.len() {
                    if self.bitsets[i].contains(doc) {
                        any = true;
                        if let Some(b) = buckets.get_mut(i) {
                            self.fill_bucket(b, doc);
                        }
                    }
                }
                if !any && buckets.len() > self.bitsets.len() {
                    let i = self.bitsets.len();
                    if let Some(b) = buckets.get_mut(i) {
                        self.fill_bucket(b, doc);
                    }
                }
            }
            (AggKind::Filter { .. }, AggState::Filter(b))
                if self.bitsets.first().is_some_and(|bits| bits.contains(doc)) =>
            {
                self.fill_bucket(b, doc);
            }
            (AggKind::Missing { .. }, AggState::Missing(b)) => {
                let present = match &bound.path {
                    Some(_) => {
                        self.column.values(doc, &mut self.buf);
                        !self.buf.is_empty()
                    }
                    None => false,
                };
                if !present {
                    self.fill_bucket(b, doc);
                }
            }
            (AggKind::Range { .. }, AggState::Range { kind, bounds, buckets }) => {
                if kind.is_none() {
                    kind.clone_from(&bound.kind);
                }
                if bounds.is_empty() {
                    bounds.clone_from(&bound.ranges);
                }
                let values = self.numbers(doc);
                for (i, (from, to)) in bound.ranges.iter().enumerate() {
                    let hit =
                        values.iter().any(|v| from.is_none_or(|f| *v >= f) && to.is_none_or(|t| *v < t));
                    if hit && let Some(b) = buckets.get_mut(i) {
                        self.fill_bucket(b, doc);
                    }
                }
            }
            (AggKind::Histogram { interval, offset, .. }, AggState::Histogram { buckets }) => {
                let mut idx: Vec<i64> = self
                    .numbers(doc)
                    .into_iter()
                    .map(|v| ((v - offset) / interval).floor().clamp(-9e15, 9e15) as i64)
                    .collect();
                idx.sort_unstable();
                idx.dedup();
                for i in idx {
                    let b = buckets.entry(i).or_insert_with(|| Bucket::new(&bound.node.subs));
                    self.fill_bucket(b, doc);
                }
            }
            (
                AggKind::DateHistogram { interval, offset, time_zone, .. },
                AggState::DateHistogram { kind, buckets, bounds },
            ) => {
                if kind.is_none() {
                    kind.clone_from(&bound.kind);
                }
                if bounds.is_none() {
                    *bounds = bound.date_bounds;
                }
                let mut starts: Vec<i64> = self
                    .numbers(doc)
                    .into_iter()
                    .filter_map(|v| date_bucket(v as i64, *interval, *offset, *time_zone))
                    .collect();
                starts.sort_unstable();
                starts.dedup();
                for s in starts {
                    let b = buckets.entry(s).or_insert_with(|| Bucket::new(&bound.node.subs));
                    self.fill_bucket(b, doc);
                }
            }
            (AggKind::Metric { kind: MetricKind::ValueCount, .. }, AggState::Metric { stats, .. }) => {
                if self.column.is_empty() {
                    return;
                }
                self.column.values(doc, &mut self.buf);
                stats.count += self.buf.len() as u64;
            }
            (AggKind::Metric { .. }, AggState::Metric { kind, stats }) => {
                if kind.is_none() {
                    kind.clone_from(&bound.kind);
                }
                for v in self.numbers(doc) {
                    stats.add(v);
                }
            }
            (AggKind::Cardinality { .. }, AggState::Cardinality(set)) => {
                for k in self.keys(doc) {
                    set.insert(k);
                }
            }
            _ => {}
        }
    }
}

/// The start of the `date_histogram` bucket holding `ms`.
pub(crate) fn date_bucket(ms: i64, interval: DateInterval, offset: i64, tz: i64) -> Option<i64> {
    match interval {
        DateInterval::Calendar(unit) => {
            date::round_down(ms.checked_sub(offset)?, unit, tz)?.checked_add(offset)
        }
        DateInterval::Fixed(len) => {
            let local = ms.checked_add(tz)?.checked_sub(offset)?;
            local.div_euclid(len).checked_mul(len)?.checked_add(offset)?.checked_sub(tz)
        }
    }
}

/// The per-segment collector.
pub(crate) struct AggSegment {
    aggs: Vec<SegAgg>,
    states: Vec<AggState>,
}

impl SegmentCollector for AggSegment {
    type Fruit = Vec<AggState>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        for (agg, state) in self.aggs.iter_mut().zip(self.states.iter_mut()) {
            agg.collect(state, doc);
        }
    }

    fn harvest(self) -> Vec<AggState> {
        self.states
    }
}

impl Collector for AggCollector {
    type Fruit = Vec<AggState>;
    type Child = AggSegment;

    fn for_segment(&self, _segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<AggSegment> {
        let aggs = self.roots.iter().map(|b| SegAgg::open(b, reader)).collect::<tantivy::Result<Vec<_>>>()?;
        let states = self.roots.iter().map(|b| AggState::empty(&b.node)).collect();
        Ok(AggSegment { aggs, states })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<AggState>>) -> tantivy::Result<Vec<AggState>> {
        let mut out: Vec<AggState> = self.roots.iter().map(|b| AggState::empty(&b.node)).collect();
        for fruit in fruits {
            for (mine, theirs) in out.iter_mut().zip(fruit) {
                mine.merge(theirs);
            }
        }
        Ok(out)
    }
}
