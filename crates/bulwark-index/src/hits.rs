//! The hit collector: counts matches and keeps the best `from + size` documents by the
//! request's sort (score, doc order, or fast-field values, with `missing` and `mode`).

use std::cmp::Ordering;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::column::{SegmentColumn, Val};
use crate::sort::{self, SortField, SortMode, SortValue};

/// Where one sort clause takes its values in an index.
#[derive(Debug, Clone)]
pub(crate) enum SortSource {
    Score,
    Doc,
    /// A fast field under `_k`.
    Field(String),
    /// An unmapped field sorted with `unmapped_type`: every document misses it.
    Missing,
}

/// A document that made the cut in one index.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) values: Vec<SortValue>,
    pub(crate) score: Score,
    pub(crate) segment: SegmentOrdinal,
    pub(crate) doc: DocId,
}

/// What the collector found in one index.
#[derive(Debug, Default)]
pub(crate) struct TopHits {
    pub(crate) candidates: Vec<Candidate>,
    pub(crate) count: u64,
    pub(crate) max_score: Option<Score>,
}

/// Collects hits for one index.
pub(crate) struct HitCollector {
    pub(crate) sources: Vec<SortSource>,
    pub(crate) fields: Arc<Vec<SortField>>,
    pub(crate) limit: usize,
    pub(crate) after: Option<Arc<Vec<SortValue>>>,
    pub(crate) min_score: Option<Score>,
    pub(crate) scoring: bool,
    /// `indices_boost` of this index: scores are multiplied by it.
    pub(crate) boost: Score,
}

/// A sort value inside one segment: strings as dictionary ordinals.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SegVal {
    Missing,
    I64(i64),
    F64(f64),
    Ord(u8, u64),
}

impl SegVal {
    fn rank(self) -> u8 {
        match self {
            SegVal::Missing => 0,
            SegVal::I64(_) | SegVal::F64(_) => 1,
            SegVal::Ord(..) => 2,
        }
    }

    fn cmp_present(self, other: SegVal) -> Ordering {
        match (self, other) {
            (SegVal::I64(a), SegVal::I64(b)) => a.cmp(&b),
            (SegVal::Ord(ca, a), SegVal::Ord(cb, b)) => (ca, a).cmp(&(cb, b)),
            (a, b) if a.rank() == 1 && b.rank() == 1 => a.num().total_cmp(&b.num()),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    fn num(self) -> f64 {
        match self {
            SegVal::I64(i) => i as f64,
            SegVal::F64(f) => f,
            _ => 0.0,
        }
    }
}

fn seg_compare(fields: &[SortField], a: &[SegVal], b: &[SegVal]) -> Ordering {
    for (i, f) in fields.iter().enumerate() {
        let (x, y) =
            (a.get(i).copied().unwrap_or(SegVal::Missing), b.get(i).copied().unwrap_or(SegVal::Missing));
        let ord =
            crate::sort::order_key(f, matches!(x, SegVal::Missing), matches!(y, SegVal::Missing), || {
                x.cmp_present(y)
            });
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// Picks one value from a multi-valued field by `mode`.
fn pick(vals: &[Val], mode: SortMode) -> SegVal {
    let to_seg = |v: Val| match v {
        Val::I64(i) => SegVal::I64(i),
        Val::F64(f) => SegVal::F64(f),
        Val::Ord { col, ord } => SegVal::Ord(col, ord),
    };
    let Some(first) = vals.first() else { return SegVal::Missing };
    if vals.len() == 1 {
        return to_seg(*first);
    }
    let numeric: Option<Vec<f64>> = vals.iter().map(|v| v.as_f64()).collect();
    match (mode, numeric) {
        (SortMode::Sum, Some(n)) => SegVal::F64(n.iter().sum()),
        (SortMode::Avg, Some(n)) => SegVal::F64(n.iter().sum::<f64>() / n.len() as f64),
        (SortMode::Median, Some(mut n)) => {
            n.sort_by(f64::total_cmp);
            let mid = n.len() / 2;
            SegVal::F64(if n.len() % 2 == 0 { (n[mid - 1] + n[mid]) / 2.0 } else { n[mid] })
        }
        (SortMode::Max, _) => {
            vals.iter().map(|v| to_seg(*v)).max_by(|a, b| a.cmp_present(*b)).unwrap_or(SegVal::Missing)
        }
        _ => vals.iter().map(|v| to_seg(*v)).min_by(|a, b| a.cmp_present(*b)).unwrap_or(SegVal::Missing),
    }
}

pub(crate) struct HitSegment {
    segment: SegmentOrdinal,
    sources: Vec<SortSource>,
    columns: Vec<SegmentColumn>,
    fields: Arc<Vec<SortField>>,
    limit: usize,
    after: Option<Arc<Vec<SortValue>>>,
    min_score: Option<Score>,
    scoring: bool,
    boost: Score,
    buf: Vec<Val>,
    items: Vec<(Vec<SegVal>, Score, DocId)>,
    count: u64,
    max_score: Option<Score>,
}

impl HitSegment {
    fn key(&mut self, doc: DocId, score: Score) -> Vec<SegVal> {
        let mut key = Vec::with_capacity(self.sources.len());
        for (i, src) in self.sources.iter().enumerate() {
            key.push(match src {
                SortSource::Score => SegVal::F64(f64::from(score)),
                SortSource::Doc => SegVal::I64((i64::from(self.segment) << 32) | i64::from(doc)),
                SortSource::Missing => SegVal::Missing,
                SortSource::Field(_) => {
                    self.columns[i].values(doc, &mut self.buf);
                    let mode = self.fields.get(i).map_or(SortMode::Min, |f| f.mode);
                    pick(&self.buf, mode)
                }
            });
        }
        key
    }

    fn resolve(&self, key: &[SegVal]) -> Vec<SortValue> {
        key.iter()
            .enumerate()
            .map(|(i, v)| match *v {
                SegVal::Missing => SortValue::Missing,
                SegVal::I64(x) => SortValue::I64(x),
                SegVal::F64(x) => SortValue::F64(x),
                SegVal::Ord(col, ord) => SortValue::Str(self.columns[i].string(col, ord)),
            })
            .collect()
    }

    fn compact(&mut self) {
        let fields = self.fields.clone();
        self.items.sort_by(|a, b| seg_compare(&fields, &a.0, &b.0).then(a.2.cmp(&b.2)));
        self.items.truncate(self.limit);
    }
}

impl SegmentCollector for HitSegment {
    type Fruit = TopHits;

    fn collect(&mut self, doc: DocId, score: Score) {
        let score = score * self.boost;
        if let Some(min) = self.min_score
            && score < min
        {
            return;
        }
        self.count += 1;
        if self.scoring {
            self.max_score = Some(self.max_score.map_or(score, |m| m.max(score)));
        }
        if self.limit == 0 {
            return;
        }
        let key = self.key(doc, score);
        if let Some(after) = &self.after {
            let resolved = self.resolve(&key);
            if sort::compare(&self.fields, &resolved, after) != Ordering::Greater {
                return;
            }
        }
        self.items.push((key, score, doc));
        if self.items.len() >= self.limit.saturating_mul(2).max(1024) {
            self.compact();
        }
    }

    fn harvest(mut self) -> TopHits {
        self.compact();
        let candidates = self
            .items
            .iter()
            .map(|(key, score, doc)| Candidate {
                values: self.resolve(key),
                score: *score,
                segment: self.segment,
                doc: *doc,
            })
            .collect();
        TopHits { candidates, count: self.count, max_score: self.max_score }
    }
}

impl Collector for HitCollector {
    type Fruit = TopHits;
    type Child = HitSegment;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<HitSegment> {
        let mut columns = Vec::with_capacity(self.sources.len());
        for src in &self.sources {
            columns.push(match src {
                SortSource::Field(path) => SegmentColumn::open(reader, path)
                    .map_err(|e| tantivy::TantivyError::InternalError(e.to_string()))?,
                _ => SegmentColumn::default(),
            });
        }
        Ok(HitSegment {
            segment,
            sources: self.sources.clone(),
            columns,
            fields: self.fields.clone(),
            limit: self.limit,
            after: self.after.clone(),
            min_score: self.min_score,
            scoring: self.scoring,
            boost: self.boost,
            buf: Vec::new(),
            items: Vec::new(),
            count: 0,
            max_score: None,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scoring
    }

    fn merge_fruits(&self, fruits: Vec<TopHits>) -> tantivy::Result<TopHits> {
        let mut out = TopHits::default();
        for f in fruits {
            out.count += f.count;
            out.max_score = match (out.max_score, f.max_score) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            out.candidates.extend(f.candidates);
        }
        let fields = self.fields.clone();
        out.candidates.sort_by(|a, b| {
            sort::compare(&fields, &a.values, &b.values).then((a.segment, a.doc).cmp(&(b.segment, b.doc)))
        });
        out.candidates.truncate(self.limit);
        Ok(out)
    }
}

/// Passes at most `limit` matches of one index to `inner` (`terminate_after`); `seen` counts
/// every match offered, so the caller can tell whether the index stopped early.
pub(crate) struct Limited<C> {
    pub(crate) inner: C,
    pub(crate) limit: u64,
    pub(crate) seen: Arc<AtomicU64>,
}

pub(crate) struct LimitedSegment<S> {
    inner: S,
    limit: u64,
    seen: Arc<AtomicU64>,
}

impl<C: Collector> Collector for Limited<C> {
    type Fruit = C::Fruit;
    type Child = LimitedSegment<C::Child>;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self::Child> {
        Ok(LimitedSegment {
            inner: self.inner.for_segment(segment, reader)?,
            limit: self.limit,
            seen: self.seen.clone(),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.inner.requires_scoring()
    }

    fn merge_fruits(
        &self,
        fruits: Vec<<Self::Child as SegmentCollector>::Fruit>,
    ) -> tantivy::Result<Self::Fruit> {
        self.inner.merge_fruits(fruits)
    }
}

impl<S: SegmentCollector> SegmentCollector for LimitedSegment<S> {
    type Fruit = S::Fruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.seen.fetch_add(1, AtomicOrdering::Relaxed) < self.limit {
            self.inner.collect(doc, score);
        }
    }

    fn harvest(self) -> S::Fruit {
        self.inner.harvest()
    }
}
