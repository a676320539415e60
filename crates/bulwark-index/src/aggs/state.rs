//! Partial aggregation results: built per segment, merged across segments and indices, then
//! rendered (see `result.rs`).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::aggs::request::{AggKind, AggNode};

/// How bucket keys and metric values of a field are shown.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KeyKind {
    Str,
    Integer,
    Float,
    Bool,
    Date { format: Option<String> },
}

/// A bucket key or distinct value.
#[derive(Debug, Clone)]
pub(crate) enum Key {
    I64(i64),
    F64(f64),
    Str(Arc<str>),
}

impl Key {
    fn rank(&self) -> u8 {
        match self {
            Key::I64(_) | Key::F64(_) => 0,
            Key::Str(_) => 1,
        }
    }

    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Key::I64(i) => Some(*i as f64),
            Key::F64(f) => Some(*f),
            Key::Str(_) => None,
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::I64(a), Key::I64(b)) => a.cmp(b),
            (Key::Str(a), Key::Str(b)) => a.cmp(b),
            (a, b) if a.rank() == 0 && b.rank() == 0 => {
                a.as_f64().unwrap_or(0.0).total_cmp(&b.as_f64().unwrap_or(0.0))
            }
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            // Equal numbers must hash alike whichever variant holds them.
            Key::I64(i) => (*i as f64).to_bits().hash(state),
            Key::F64(f) => f.to_bits().hash(state),
            Key::Str(s) => s.hash(state),
        }
    }
}

/// A bucket: its document count and the states of its sub-aggregations.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    pub(crate) doc_count: u64,
    pub(crate) subs: Vec<AggState>,
}

impl Bucket {
    pub(crate) fn new(subs: &[AggNode]) -> Bucket {
        Bucket { doc_count: 0, subs: subs.iter().map(AggState::empty).collect() }
    }

    fn merge(&mut self, other: Bucket) {
        self.doc_count += other.doc_count;
        for (mine, theirs) in self.subs.iter_mut().zip(other.subs) {
            mine.merge(theirs);
        }
    }
}

/// Running numbers over a field's values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stats {
    pub(crate) count: u64,
    pub(crate) sum: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats { count: 0, sum: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY }
    }
}

impl Stats {
    pub(crate) fn add(&mut self, v: f64) {
        self.count += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    fn merge(&mut self, o: Stats) {
        self.count += o.count;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }
}

/// The partial result of one aggregation.
#[derive(Debug, Clone)]
pub(crate) enum AggState {
    Terms {
        kind: Option<KeyKind>,
        buckets: HashMap<Key, Bucket>,
    },
    Filters(Vec<Bucket>),
    Filter(Bucket),
    Range {
        kind: Option<KeyKind>,
        bounds: Vec<(Option<f64>, Option<f64>)>,
        buckets: Vec<Bucket>,
    },
    /// Buckets by index (`floor((v - offset) / interval)`).
    Histogram {
        buckets: BTreeMap<i64, Bucket>,
    },
    /// Buckets by start, in epoch milliseconds.
    DateHistogram {
        kind: Option<KeyKind>,
        buckets: BTreeMap<i64, Bucket>,
        bounds: Option<(i64, i64)>,
    },
    Metric {
        kind: Option<KeyKind>,
        stats: Stats,
    },
    Cardinality(HashSet<Key>),
    Missing(Bucket),
}

impl AggState {
    /// The empty state of `node`.
    pub(crate) fn empty(node: &AggNode) -> AggState {
        match &node.kind {
            AggKind::Terms { .. } => AggState::Terms { kind: None, buckets: HashMap::new() },
            AggKind::Filters { filters, other_bucket_key, .. } => {
                let n = filters.len() + usize::from(other_bucket_key.is_some());
                AggState::Filters((0..n).map(|_| Bucket::new(&node.subs)).collect())
            }
            AggKind::Filter { .. } => AggState::Filter(Bucket::new(&node.subs)),
            AggKind::Range { ranges, .. } => AggState::Range {
                kind: None,
                bounds: Vec::new(),
                buckets: ranges.iter().map(|_| Bucket::new(&node.subs)).collect(),
            },
            AggKind::Histogram { .. } => AggState::Histogram { buckets: BTreeMap::new() },
            AggKind::DateHistogram { .. } => {
                AggState::DateHistogram { kind: None, buckets: BTreeMap::new(), bounds: None }
            }
            AggKind::Metric { .. } => AggState::Metric { kind: None, stats: Stats::default() },
            AggKind::Cardinality { .. } => AggState::Cardinality(HashSet::new()),
            AggKind::Missing { .. } => AggState::Missing(Bucket::new(&node.subs)),
        }
    }

    /// Adds `other` (the same aggregation over other documents) into `self`.
    pub(crate) fn merge(&mut self, other: AggState) {
        match (self, other) {
            (AggState::Terms { kind, buckets }, AggState::Terms { kind: k2, buckets: b2 }) => {
                merge_kind(kind, k2);
                for (key, b) in b2 {
                    match buckets.get_mut(&key) {
                        Some(mine) => mine.merge(b),
                        None => {
                            buckets.insert(key, b);
                        }
                    }
                }
            }
            (AggState::Filters(mine), AggState::Filters(theirs)) => {
                for (m, t) in mine.iter_mut().zip(theirs) {
                    m.merge(t);
                }
            }
            (AggState::Filter(m), AggState::Filter(t)) | (AggState::Missing(m), AggState::Missing(t)) => {
                m.merge(t)
            }
            (
                AggState::Range { kind, bounds, buckets },
                AggState::Range { kind: k2, bounds: bo2, buckets: b2 },
            ) => {
                merge_kind(kind, k2);
                if bounds.is_empty() {
                    *bounds = bo2;
                }
                for (m, t) in buckets.iter_mut().zip(b2) {
                    m.merge(t);
                }
            }
            (AggState::Histogram { buckets }, AggState::Histogram { buckets: b2 }) => merge_map(buckets, b2),
            (
                AggState::DateHistogram { kind, buckets, bounds },
                AggState::DateHistogram { kind: k2, buckets: b2, bounds: bo2 },
            ) => {
                merge_kind(kind, k2);
                if bounds.is_none() {
                    *bounds = bo2;
                }
                merge_map(buckets, b2);
            }
            (AggState::Metric { kind, stats }, AggState::Metric { kind: k2, stats: s2 }) => {
                merge_kind(kind, k2);
                stats.merge(s2);
            }
            (AggState::Cardinality(mine), AggState::Cardinality(theirs)) => mine.extend(theirs),
            _ => {}
        }
    }
}

fn merge_kind(mine: &mut Option<KeyKind>, theirs: Option<KeyKind>) {
    if mine.is_none() {
        *mine = theirs;
    }
}

fn merge_map(mine: &mut BTreeMap<i64, Bucket>, theirs: BTreeMap<i64, Bucket>) {
    for (k, b) in theirs {
        match mine.get_mut(&k) {
            Some(m) => m.merge(b),
            None => {
                mine.insert(k, b);
            }
        }
    }
}
