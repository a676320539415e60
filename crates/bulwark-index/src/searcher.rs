//! Running a search over one or several indices: compile the query per index, collect hits and
//! aggregations, merge, page, and fetch the hits' sources.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};
use tantivy::collector::Collector;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query as _};
use tantivy::schema::Value as _;
use tantivy::{DocAddress, Searcher, TantivyDocument};

use crate::aggs::{self, AggCollector, AggState};
use crate::error::{IndexError, Result};
use crate::fetch::{self, Section};
use crate::hits::{Candidate, HitCollector, Limited, SortSource};
use crate::index::Index;
use crate::mapping::{Mapping, ValueKind};
use crate::query::{Compiler, Query};
use crate::request::{SearchRequest, TrackTotalHits};
use crate::response::{Hit, Relation, SearchResponse, TotalHits};
use crate::restriction::{Restriction, Restrictions};
use crate::sort::{self, SortField, SortTarget};

/// Where each sort clause reads its values in an index with `mapping` (a field the caller may
/// not see is missing in every document).
fn sort_sources(
    mapping: &Mapping,
    fields: &[SortField],
    restriction: Option<&Restriction>,
) -> Result<Vec<SortSource>> {
    fields
        .iter()
        .map(|f| match &f.target {
            SortTarget::Score => Ok(SortSource::Score),
            SortTarget::Doc => Ok(SortSource::Doc),
            SortTarget::Field(name) => {
                if restriction.is_some_and(|r| !r.shows(name)) && mapping.get(name).is_some() {
                    return Ok(SortSource::Missing);
                }
                if name == "_id" {
                    return Err(IndexError::illegal(
                        "Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic cluster setting: indices.id_field_data.enabled",
                    ));
                }
                match mapping.get(name) {
                    Some(m) => match m.field_type().kind() {
                        Some(ValueKind::Text) => Err(IndexError::illegal(format!(
                            "Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [{name}] in order to load field data by uninverting the inverted index. Note that this can use significant memory."
                        ))),
                        Some(_) => Ok(SortSource::Field(name.clone())),
                        None => Err(IndexError::QueryShard(format!("No mapping found for [{name}] in order to sort on"))),
                    },
                    None if f.unmapped_type.is_some() => Ok(SortSource::Missing),
                    None => Err(IndexError::QueryShard(format!("No mapping found for [{name}] in order to sort on"))),
                }
            }
        })
        .collect()
}

/// Searches `indices` as one (Elasticsearch's query-then-fetch over several indices).
pub fn search_many(indices: &[&Index], req: &SearchRequest) -> Result<SearchResponse> {
    let fields = Arc::new(if req.sort.is_empty() {
        vec![SortField {
            target: SortTarget::Score,
            desc: true,
            missing_first: false,
            mode: sort::SortMode::Max,
            unmapped_type: None,
        }]
    } else {
        req.sort.clone()
    });
    let limit = req.from.saturating_add(req.size);
    // Scores cost time: compute them only when hits are ranked or shown by them.
    let scoring = (limit > 0 && fields.iter().any(|f| f.target == SortTarget::Score))
        || req.track_scores
        || req.min_score.is_some();
    let after = req.search_after.clone().map(Arc::new);

    let mut pool: Vec<(usize, Candidate)> = Vec::new();
    let mut total = 0u64;
    let mut max_score: Option<f32> = None;
    let mut agg_states: Option<Vec<AggState>> = None;
    let mut terminated_early = false;
    // One searcher per index for the whole request, so hits are fetched from what was searched.
    let searchers: Vec<Searcher> = indices.iter().map(|i| i.searcher()).collect();
    // Per index: the mapping the caller sees, and the query to explain hits with.
    let mut seen_mappings = Vec::with_capacity(indices.len());
    let mut explained = Vec::with_capacity(indices.len());

    for (i, (index, searcher)) in indices.iter().zip(&searchers).enumerate() {
        let restriction = req.restrictions.get(index.name());
        seen_mappings.push(restriction.and_then(|r| r.mapping(index.mapping())));
        let mapping = seen_mappings[i].as_ref().unwrap_or(index.mapping());
        let mut compiler = Compiler::new(mapping, index.fields(), index.name(), index.tantivy(), req.now)
            .restricted(restriction.is_some_and(|r| r.predicate().is_some()))
            .default_fields(&req.default_fields);
        let compiled = compiler.compile(&req.query)?;
        // The caller's query alone is explained: the document-level filter scores nothing and
        // its terms are the role's, not the caller's to read.
        explained.push(req.explain.then(|| compiled.box_clone()));
        let query = limit_to_visible(compiled, index, restriction, req.now)?;
        let collector = HitCollector {
            sources: sort_sources(index.mapping(), &fields, restriction)?,
            fields: fields.clone(),
            limit,
            after: after.clone(),
            min_score: req.min_score,
            scoring,
            boost: req.index_boost(index.name()),
        };
        let agg_collector = if req.aggs.is_empty() {
            None
        } else {
            Some(AggCollector {
                roots: aggs::bind(&req.aggs, index.name(), mapping, &mut compiler, searcher)?,
            })
        };
        let matched = Arc::new(AtomicU64::new(0));
        let (top, states) = match (&req.post_filter, agg_collector) {
            (None, Some(a)) => {
                let (top, states) = run(searcher, &*query, (collector, a), req, &matched)?;
                (top, Some(states))
            }
            (None, None) => (run(searcher, &*query, collector, req, &matched)?, None),
            (Some(post), a) => {
                let states = match a {
                    Some(a) => Some(run(searcher, &*query, a, req, &Arc::new(AtomicU64::new(0)))?),
                    None => None,
                };
                let post = compiler.compile(post)?;
                let combined = BooleanQuery::new(vec![
                    (Occur::Must, query),
                    (Occur::Must, Box::new(ConstScoreQuery::new(post, 0.0))),
                ]);
                (run(searcher, &combined, collector, req, &matched)?, states)
            }
        };
        terminated_early |= req.terminate_after.is_some_and(|limit| matched.load(Ordering::Relaxed) >= limit);
        total += top.count;
        max_score = match (max_score, top.max_score) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        pool.extend(top.candidates.into_iter().map(|c| (i, c)));
        if let Some(states) = states {
            match &mut agg_states {
                None => agg_states = Some(states),
                Some(mine) => {
                    for (m, t) in mine.iter_mut().zip(states) {
                        m.merge(t);
                    }
                }
            }
        }
    }

    pool.sort_by(|(ia, a), (ib, b)| {
        sort::compare(&fields, &a.values, &b.values).then((ia, a.segment, a.doc).cmp(&(ib, b.segment, b.doc)))
    });
    let mut hits = Vec::new();
    for (i, c) in pool.into_iter().skip(req.from).take(req.size) {
        let shown = Shown {
            restriction: req.restrictions.get(indices[i].name()),
            mapping: seen_mappings[i].as_ref().unwrap_or(indices[i].mapping()),
            explain: explained[i].as_deref(),
        };
        hits.push(fetch(indices[i], &searchers[i], &c, req, scoring, &shown)?);
    }

    let total = match req.track_total_hits {
        TrackTotalHits::Exact => Some(TotalHits { value: total, relation: Relation::Eq }),
        TrackTotalHits::UpTo(n) if total > n => Some(TotalHits { value: n, relation: Relation::Gte }),
        TrackTotalHits::UpTo(_) => Some(TotalHits { value: total, relation: Relation::Eq }),
        TrackTotalHits::Off => None,
    };
    let aggregations = match agg_states {
        Some(states) => Some(aggs::render(&req.aggs, states)?),
        None if !req.aggs.is_empty() => {
            Some(aggs::render(&req.aggs, req.aggs.iter().map(AggState::empty).collect())?)
        }
        None => None,
    };
    Ok(SearchResponse {
        total,
        max_score: if scoring && req.size > 0 { max_score } else { None },
        hits,
        aggregations,
        terminated_early: req.terminate_after.map(|_| terminated_early),
        rest_total_hits_as_int: req.rest_total_hits_as_int,
        seq_no_primary_term: req.seq_no_primary_term,
    })
}

/// Runs `collector` over `query`, passing it at most `terminate_after` matches when set
/// (`matched` counts the matches offered).
fn run<C: Collector>(
    searcher: &Searcher,
    query: &dyn tantivy::query::Query,
    collector: C,
    req: &SearchRequest,
    matched: &Arc<AtomicU64>,
) -> Result<C::Fruit> {
    let engine = IndexError::engine("searching");
    match req.terminate_after {
        Some(limit) => searcher
            .search(query, &Limited { inner: collector, limit, seen: matched.clone() })
            .map_err(engine),
        None => searcher.search(query, &collector).map_err(engine),
    }
}

/// What of an index a hit may show: the caller's restriction and mapping, and the query to
/// explain the hit with (`explain`).
struct Shown<'a> {
    restriction: Option<&'a Restriction>,
    mapping: &'a Mapping,
    explain: Option<&'a dyn tantivy::query::Query>,
}

fn fetch(
    index: &Index,
    searcher: &Searcher,
    c: &Candidate,
    req: &SearchRequest,
    scoring: bool,
    shown: &Shown<'_>,
) -> Result<Hit> {
    let fields = index.fields();
    let address = DocAddress::new(c.segment, c.doc);
    let doc: TantivyDocument = searcher.doc(address).map_err(IndexError::engine("reading a hit"))?;
    let id = doc.get_first(fields.id).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    // Stored fields asked by name: none is stored apart from `_source`, which then only comes
    // when asked for explicitly (as in Elasticsearch).
    let source_shown = !req.source.is_disabled() && (req.stored_fields.is_none() || req.source_explicit);
    let wants_fields = !req.fields.is_empty() || !req.docvalue_fields.is_empty();
    let visible = match doc.get_first(fields.source).and_then(|v| v.as_bytes()) {
        Some(bytes) if source_shown || wants_fields => {
            let v: Value = serde_json::from_slice(bytes).map_err(|e| IndexError::Engine {
                context: "reading a stored _source",
                detail: e.to_string(),
            })?;
            Some(match shown.restriction {
                Some(r) => r.filter_source(&v),
                None => v,
            })
        }
        _ => None,
    };
    let mut hit_fields = Map::new();
    if let Some(v) = &visible {
        fetch::collect(Section::Fields, &req.fields, shown.mapping, &id, v, &mut hit_fields)?;
        fetch::collect(Section::DocValues, &req.docvalue_fields, shown.mapping, &id, v, &mut hit_fields)?;
    }
    let explanation = match shown.explain {
        Some(query) => {
            let e = query.explain(searcher, address).map_err(IndexError::engine("explaining a hit"))?;
            Some(explanation_json(serde_json::to_value(&e).unwrap_or(Value::Null)))
        }
        None => None,
    };
    let seq_no = if req.seq_no_primary_term {
        searcher
            .segment_reader(c.segment)
            .fast_fields()
            .u64(crate::schema::SEQ_NO)
            .ok()
            .and_then(|col| col.first(c.doc))
    } else {
        None
    };
    Ok(Hit {
        index: index.name().to_string(),
        id: (req.stored_fields != Some(false)).then_some(id),
        version: None,
        score: scoring.then_some(c.score),
        source: visible.filter(|_| source_shown).and_then(|v| req.source.apply(&v)),
        fields: (!hit_fields.is_empty()).then_some(hit_fields),
        explanation,
        sort: req.explicit_sort.then(|| c.values.iter().map(|v| v.to_json()).collect()),
        seq_no,
    })
}

/// tantivy's explanation tree in Elasticsearch's shape: `value`, `description`, `details`
/// (always present, possibly empty).
fn explanation_json(v: Value) -> Value {
    let Value::Object(mut obj) = v else { return v };
    let details = match obj.remove("details") {
        Some(Value::Array(items)) => items.into_iter().map(explanation_json).collect(),
        _ => Vec::new(),
    };
    obj.remove("context");
    obj.insert("details".into(), Value::Array(details));
    Value::Object(obj)
}

/// Limits `query` to the documents the restriction's filter matches (compiled against the whole
/// mapping: the filter may test fields the caller cannot see).
fn limit_to_visible(
    query: Box<dyn tantivy::query::Query>,
    index: &Index,
    restriction: Option<&Restriction>,
    now: i64,
) -> Result<Box<dyn tantivy::query::Query>> {
    let Some(filter) = restriction.and_then(Restriction::filter) else { return Ok(query) };
    let mut full = Compiler::new(index.mapping(), index.fields(), index.name(), index.tantivy(), now);
    let filter = full.compile(filter.ast())?;
    Ok(Box::new(BooleanQuery::new(vec![
        (Occur::Must, query),
        (Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0))),
    ])))
}

/// Counts the documents of `indices` matching `query` (`_count`).
pub fn count_many(indices: &[&Index], query: &Query) -> Result<u64> {
    count_many_restricted(indices, query, &Restrictions::none())
}

/// Counts the documents of `indices` matching `query`, as restricted per index.
pub fn count_many_restricted(indices: &[&Index], query: &Query, restrictions: &Restrictions) -> Result<u64> {
    let mut n = 0u64;
    for index in indices {
        let searcher = index.searcher();
        let now = crate::date::now_millis();
        let restriction = restrictions.get(index.name());
        let seen = restriction.and_then(|r| r.mapping(index.mapping()));
        let mapping = seen.as_ref().unwrap_or(index.mapping());
        let mut compiler = Compiler::new(mapping, index.fields(), index.name(), index.tantivy(), now)
            .restricted(restriction.is_some_and(|r| r.predicate().is_some()))
            .default_fields(query.default_fields());
        let q = limit_to_visible(compiler.compile(query.ast())?, index, restriction, now)?;
        n += q.count(&searcher).map_err(IndexError::engine("counting"))? as u64;
    }
    Ok(n)
}
