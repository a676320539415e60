//! Running a search over one or several indices: compile the query per index, collect hits and
//! aggregations, merge, page, and fetch the hits' sources.

use std::sync::Arc;

use serde_json::Value;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur};
use tantivy::schema::Value as _;
use tantivy::{DocAddress, Searcher, TantivyDocument};

use crate::aggs::{self, AggCollector, AggState};
use crate::error::{IndexError, Result};
use crate::hits::{Candidate, HitCollector, SortSource};
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
    // One searcher per index for the whole request, so hits are fetched from what was searched.
    let searchers: Vec<Searcher> = indices.iter().map(|i| i.searcher()).collect();

    for (i, (index, searcher)) in indices.iter().zip(&searchers).enumerate() {
        let restriction = req.restrictions.get(index.name());
        let seen = restriction.and_then(|r| r.mapping(index.mapping()));
        let mapping = seen.as_ref().unwrap_or(index.mapping());
        let mut compiler = Compiler::new(mapping, index.fields(), index.name(), index.tantivy(), req.now)
            .restricted(restriction.is_some_and(|r| r.predicate().is_some()));
        let query = limit_to_visible(compiler.compile(&req.query)?, index, restriction, req.now)?;
        let collector = HitCollector {
            sources: sort_sources(index.mapping(), &fields, restriction)?,
            fields: fields.clone(),
            limit,
            after: after.clone(),
            min_score: req.min_score,
            scoring,
        };
        let agg_collector = if req.aggs.is_empty() {
            None
        } else {
            Some(AggCollector {
                roots: aggs::bind(&req.aggs, index.name(), mapping, &mut compiler, searcher)?,
            })
        };
        let engine = IndexError::engine("searching");
        let (top, states) = match (&req.post_filter, agg_collector) {
            (None, Some(a)) => {
                let (top, states) = searcher.search(&*query, &(collector, a)).map_err(&engine)?;
                (top, Some(states))
            }
            (None, None) => (searcher.search(&*query, &collector).map_err(&engine)?, None),
            (Some(post), a) => {
                let states = match a {
                    Some(a) => Some(searcher.search(&*query, &a).map_err(&engine)?),
                    None => None,
                };
                let post = compiler.compile(post)?;
                let combined = BooleanQuery::new(vec![
                    (Occur::Must, query),
                    (Occur::Must, Box::new(ConstScoreQuery::new(post, 0.0))),
                ]);
                (searcher.search(&combined, &collector).map_err(&engine)?, states)
            }
        };
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
        let restriction = req.restrictions.get(indices[i].name());
        hits.push(fetch(indices[i], &searchers[i], &c, req, scoring, restriction)?);
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
        rest_total_hits_as_int: req.rest_total_hits_as_int,
        seq_no_primary_term: req.seq_no_primary_term,
    })
}

fn fetch(
    index: &Index,
    searcher: &Searcher,
    c: &Candidate,
    req: &SearchRequest,
    scoring: bool,
    restriction: Option<&Restriction>,
) -> Result<Hit> {
    let fields = index.fields();
    let doc: TantivyDocument =
        searcher.doc(DocAddress::new(c.segment, c.doc)).map_err(IndexError::engine("reading a hit"))?;
    let id = doc.get_first(fields.id).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let source = match (req.source.is_disabled(), doc.get_first(fields.source).and_then(|v| v.as_bytes())) {
        (false, Some(bytes)) => {
            let v: Value = serde_json::from_slice(bytes).map_err(|e| IndexError::Engine {
                context: "reading a stored _source",
                detail: e.to_string(),
            })?;
            match restriction {
                Some(r) => req.source.apply(&r.filter_source(&v)),
                None => req.source.apply(&v),
            }
        }
        _ => None,
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
        id,
        score: scoring.then_some(c.score),
        source,
        sort: req.explicit_sort.then(|| c.values.iter().map(|v| v.to_json()).collect()),
        seq_no,
    })
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
            .restricted(restriction.is_some_and(|r| r.predicate().is_some()));
        let q = limit_to_visible(compiler.compile(query.ast())?, index, restriction, now)?;
        n += q.count(&searcher).map_err(IndexError::engine("counting"))? as u64;
    }
    Ok(n)
}
