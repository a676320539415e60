//! Binding a [`QueryAst`] to one index: field names become paths in `_k`/`_t`, values are
//! converted by the field's mapped type, and the result is a tantivy query.

use std::ops::Bound;

use serde_json::Value;
use tantivy::Term;
use tantivy::columnar::NumericalValue;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery, Occur,
    PhrasePrefixQuery, PhraseQuery, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::TextAnalyzer;

use crate::date;
use crate::document::{epoch_unit, to_bool, to_float, to_integer};
use crate::error::{IndexError, Result};
use crate::mapping::{FieldMapping, Mapping, ValueKind};
use crate::query::dsl::{MinShouldMatch, MultiMatchType, Operator, QueryAst, RangeBounds};
use crate::query::params::{number, scalar_string};
use crate::query::term_scan::{Matcher, TermScanQuery};
use crate::schema::{Fields, TEXT_ANALYZER, path_term};
use bulwark_pattern::{Glob, Syntax};

type Q = Box<dyn Query>;

/// What a field name in a query refers to.
enum Target<'m> {
    Id,
    IndexName,
    Leaf { path: String, field: &'m FieldMapping, kind: ValueKind },
    Object(String),
    Unmapped,
}

/// Compiles queries for one index.
pub(crate) struct Compiler<'a> {
    mapping: &'a Mapping,
    fields: &'a Fields,
    index_name: &'a str,
    analyzer: TextAnalyzer,
    now: i64,
    /// Whether `mapping` hides fields the index holds (field-level security): `exists` then
    /// looks only at the mapped fields instead of scanning every indexed field name.
    restricted: bool,
    /// The fields a query naming none searches (`index.query.default_field`).
    default_fields: Vec<(String, f32)>,
}

fn empty() -> Q {
    Box::new(EmptyQuery)
}

fn boosted(q: Q, boost: f32) -> Q {
    if boost == 1.0 { q } else { Box::new(BoostQuery::new(q, boost)) }
}

fn constant(q: Q, boost: f32) -> Q {
    Box::new(ConstScoreQuery::new(q, boost))
}

fn shard_error(msg: impl std::fmt::Display) -> IndexError {
    IndexError::QueryShard(msg.to_string())
}

impl<'a> Compiler<'a> {
    pub(crate) fn new(
        mapping: &'a Mapping,
        fields: &'a Fields,
        index_name: &'a str,
        index: &tantivy::Index,
        now: i64,
    ) -> Compiler<'a> {
        let analyzer = index.tokenizers().get(TEXT_ANALYZER).unwrap_or_default();
        let default_fields = vec![("*".to_string(), 1.0)];
        Compiler { mapping, fields, index_name, analyzer, now, restricted: false, default_fields }
    }

    /// Sets the fields a query naming none searches (`index.query.default_field`).
    pub(crate) fn default_fields(mut self, fields: &crate::query::DefaultFields) -> Compiler<'a> {
        self.default_fields = fields.of(self.index_name);
        self
    }

    /// Marks `mapping` as a restricted view of the index's fields.
    pub(crate) fn restricted(mut self, restricted: bool) -> Compiler<'a> {
        self.restricted = restricted;
        self
    }

    /// `exists` over the mapped leaves `keep` accepts (restricted mappings).
    fn exists_among(&self, keep: impl Fn(&str) -> bool) -> Q {
        let names = self.fields.field_names;
        let terms: Vec<Term> = self
            .mapping
            .leaves()
            .into_iter()
            .filter(|(path, _)| keep(path))
            .map(|(path, _)| Term::from_field_text(names, &path))
            .collect();
        if terms.is_empty() { empty() } else { Box::new(TermSetQuery::new(terms)) }
    }

    /// The time date math calls `now`.
    pub(crate) fn now(&self) -> i64 {
        self.now
    }

    fn target(&self, name: &str) -> Target<'a> {
        match name {
            "_id" => return Target::Id,
            "_index" => return Target::IndexName,
            _ => {}
        }
        match self.mapping.get(name) {
            Some(f) => match f.field_type().kind() {
                Some(kind) => Target::Leaf { path: name.to_string(), field: f, kind },
                None => Target::Object(name.to_string()),
            },
            None => Target::Unmapped,
        }
    }

    /// Compiles `ast`.
    pub(crate) fn compile(&mut self, ast: &QueryAst) -> Result<Q> {
        Ok(match ast {
            QueryAst::MatchAll { boost } => constant(Box::new(AllQuery), *boost),
            QueryAst::MatchNone => empty(),
            QueryAst::Match { field, query, operator, msm, zero_terms_all, boost } => {
                boosted(self.match_query(field, query, *operator, *msm, *zero_terms_all)?, *boost)
            }
            QueryAst::MatchPhrase { field, query, slop, boost } => {
                boosted(self.phrase(field, query, *slop, false)?, *boost)
            }
            QueryAst::MatchPhrasePrefix { field, query, boost } => {
                boosted(self.phrase(field, query, 0, true)?, *boost)
            }
            QueryAst::Lenient(inner) => match self.compile(inner) {
                Err(IndexError::QueryShard(_)) => empty(),
                other => other?,
            },
            QueryAst::MultiMatch { fields, query, kind, operator, msm, tie_breaker, lenient, boost } => {
                let template = match kind {
                    MultiMatchType::Phrase => QueryAst::MatchPhrase {
                        field: String::new(),
                        query: scalar_string(query).unwrap_or_default(),
                        slop: 0,
                        boost: 1.0,
                    },
                    MultiMatchType::PhrasePrefix => QueryAst::MatchPhrasePrefix {
                        field: String::new(),
                        query: scalar_string(query).unwrap_or_default(),
                        boost: 1.0,
                    },
                    _ => QueryAst::Match {
                        field: String::new(),
                        query: query.clone(),
                        operator: *operator,
                        msm: *msm,
                        zero_terms_all: false,
                        boost: 1.0,
                    },
                };
                boosted(self.per_field(fields, &template, *kind, *tie_breaker, *lenient)?, *boost)
            }
            QueryAst::PerField { fields, template, kind, tie_breaker, lenient } => {
                self.per_field(fields, template, *kind, *tie_breaker, *lenient)?
            }
            QueryAst::Term { field, value, case_insensitive, boost } => {
                boosted(self.term(field, value, *case_insensitive)?, *boost)
            }
            QueryAst::Terms { field, values, boost } => constant(self.terms(field, values)?, *boost),
            QueryAst::Range { field, range, boost } => constant(self.range(field, range)?, *boost),
            QueryAst::Exists { field, boost } => constant(self.exists(field), *boost),
            QueryAst::Prefix { field, value, case_insensitive, boost } => {
                let m = if *case_insensitive {
                    Matcher::PrefixIgnoreCase(value.to_lowercase())
                } else {
                    Matcher::Prefix(value.clone())
                };
                constant(self.scan(field, m, "prefix", |name| name.starts_with(value.as_str()))?, *boost)
            }
            QueryAst::Wildcard { field, value, case_insensitive, boost } => {
                let glob = Glob::new(value, Syntax::LUCENE.ignoring_case(*case_insensitive));
                let m = Matcher::Glob(glob.clone());
                constant(self.scan(field, m, "wildcard", |name| glob.matches(name))?, *boost)
            }
            QueryAst::Ids { values, boost } => {
                let terms = values.iter().map(|v| Term::from_field_text(self.fields.id, v));
                constant(Box::new(TermSetQuery::new(terms)), *boost)
            }
            QueryAst::Bool { must, filter, should, must_not, msm, boost } => {
                boosted(self.bool_query(must, filter, should, must_not, *msm)?, *boost)
            }
            QueryAst::ConstantScore { filter, boost } => constant(self.compile(filter)?, *boost),
            QueryAst::DisMax { queries, tie_breaker, boost } => {
                let qs = queries.iter().map(|q| self.compile(q)).collect::<Result<Vec<_>>>()?;
                if qs.is_empty() {
                    return Ok(empty());
                }
                boosted(Box::new(DisjunctionMaxQuery::with_tie_breaker(qs, *tie_breaker)), *boost)
            }
            QueryAst::Boost { query, boost } => boosted(self.compile(query)?, *boost),
        })
    }

    fn bool_query(
        &mut self,
        must: &[QueryAst],
        filter: &[QueryAst],
        should: &[QueryAst],
        must_not: &[QueryAst],
        msm: Option<MinShouldMatch>,
    ) -> Result<Q> {
        let mut clauses: Vec<(Occur, Q)> = Vec::new();
        for q in must {
            clauses.push((Occur::Must, self.compile(q)?));
        }
        for q in filter {
            clauses.push((Occur::Must, constant(self.compile(q)?, 0.0)));
        }
        for q in should {
            clauses.push((Occur::Should, self.compile(q)?));
        }
        for q in must_not {
            clauses.push((Occur::MustNot, self.compile(q)?));
        }
        let required = must.len() + filter.len();
        if required == 0 && should.is_empty() {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        let min = match msm {
            Some(m) => m.resolve(should.len()),
            None if required == 0 && !should.is_empty() => 1,
            None => 0,
        };
        Ok(Box::new(BooleanQuery::with_minimum_required_clauses(clauses, min)))
    }

    /// Expands field patterns against the mapping: `*` and `prefix*` name every matching
    /// leaf field (patterns are lenient: fields the query does not fit are skipped).
    fn expand(&self, fields: &[(String, f32)]) -> Vec<(String, f32, bool)> {
        // No fields named: the index's default fields, whose names, like patterns, only take
        // the fields the query applies to.
        let (fields, defaults) =
            if fields.is_empty() { (self.default_fields.as_slice(), true) } else { (fields, false) };
        let mut out: Vec<(String, f32, bool)> = Vec::new();
        for (pattern, boost) in fields {
            if defaults && !pattern.contains('*') {
                if self.mapping.field_type(pattern).is_some() && !out.iter().any(|(p, _, _)| p == pattern) {
                    out.push((pattern.clone(), *boost, true));
                }
            } else if pattern.contains('*') {
                for (path, _) in self.mapping.leaves() {
                    if bulwark_pattern::matches(pattern, &path, Syntax::STAR)
                        && !out.iter().any(|(p, _, _)| *p == path)
                    {
                        out.push((path, *boost, true));
                    }
                }
            } else if !out.iter().any(|(p, _, _)| p == pattern) {
                out.push((pattern.clone(), *boost, false));
            }
        }
        out
    }

    fn per_field(
        &mut self,
        fields: &[(String, f32)],
        template: &QueryAst,
        kind: MultiMatchType,
        tie_breaker: f32,
        lenient: bool,
    ) -> Result<Q> {
        let mut qs = Vec::new();
        for (field, boost, from_pattern) in self.expand(fields) {
            match self.compile(&template.with_field(&field)) {
                Ok(q) => qs.push(boosted(q, boost)),
                Err(IndexError::QueryShard(_)) if lenient || from_pattern => {}
                Err(e) => return Err(e),
            }
        }
        Ok(match qs.len() {
            0 => empty(),
            1 => qs.pop().unwrap_or_else(empty),
            _ => match kind {
                MultiMatchType::MostFields | MultiMatchType::CrossFields | MultiMatchType::BoolPrefix => {
                    Box::new(BooleanQuery::union(qs))
                }
                _ => Box::new(DisjunctionMaxQuery::with_tie_breaker(qs, tie_breaker)),
            },
        })
    }

    /// The analyzed tokens of `text` with their positions.
    fn tokens(&mut self, text: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        let mut stream = self.analyzer.token_stream(text);
        while stream.advance() {
            let t = stream.token();
            out.push((t.position, t.text.clone()));
        }
        out
    }

    fn text_term(&self, path: &str, token: &str) -> Term {
        let mut t = path_term(self.fields.text, path);
        t.append_type_and_str(token);
        t
    }

    fn match_query(
        &mut self,
        field: &str,
        query: &Value,
        operator: Operator,
        msm: Option<MinShouldMatch>,
        zero_terms_all: bool,
    ) -> Result<Q> {
        match self.target(field) {
            Target::Leaf { path, kind: ValueKind::Text, .. } => {
                let text = scalar_string(query).unwrap_or_default();
                let tokens = self.tokens(&text);
                if tokens.is_empty() {
                    return Ok(if zero_terms_all { Box::new(AllQuery) } else { empty() });
                }
                let mut qs: Vec<Q> = tokens
                    .iter()
                    .map(|(_, tok)| {
                        Box::new(TermQuery::new(self.text_term(&path, tok), IndexRecordOption::WithFreqs))
                            as Q
                    })
                    .collect();
                if qs.len() == 1 {
                    return Ok(qs.pop().unwrap_or_else(empty));
                }
                let n = qs.len();
                Ok(match operator {
                    Operator::And => Box::new(BooleanQuery::intersection(qs)),
                    Operator::Or => {
                        let min = msm.map_or(1, |m| m.resolve(n)).max(1);
                        Box::new(BooleanQuery::union_with_minimum_required_clauses(qs, min))
                    }
                })
            }
            _ => self.term(field, query, false),
        }
    }

    fn phrase(&mut self, field: &str, query: &str, slop: u32, prefix: bool) -> Result<Q> {
        match self.target(field) {
            Target::Leaf { path, kind: ValueKind::Text, .. } => {
                let tokens = self.tokens(query);
                let terms: Vec<(usize, Term)> =
                    tokens.iter().map(|(pos, tok)| (*pos, self.text_term(&path, tok))).collect();
                Ok(match (terms.len(), prefix) {
                    (0, _) => empty(),
                    (1, false) => Box::new(TermQuery::new(terms[0].1.clone(), IndexRecordOption::WithFreqs)),
                    (1, true) => {
                        let key = self.text_term(&path, "").serialized_value_bytes().to_vec();
                        let last = tokens.last().map(|t| t.1.clone()).unwrap_or_default();
                        Box::new(TermScanQuery::new(self.fields.text, key, Matcher::Prefix(last)))
                    }
                    (_, false) => Box::new(PhraseQuery::new_with_offset_and_slop(terms, slop)),
                    (_, true) => Box::new(PhrasePrefixQuery::new_with_offset(terms)),
                })
            }
            Target::Leaf { kind: ValueKind::Keyword, .. } if prefix => {
                self.scan(field, Matcher::Prefix(query.to_string()), "prefix", |_| false)
            }
            _ => self.term(field, &Value::String(query.to_string()), false),
        }
    }

    /// The exact-value term for `value` on a non-text leaf, `None` when no document can hold it
    /// (e.g. 1.5 on a `long` field).
    fn exact_term(
        &self,
        path: &str,
        field: &FieldMapping,
        kind: ValueKind,
        value: &Value,
    ) -> Result<Option<Term>> {
        let mut t = path_term(self.fields.keyword, path);
        let invalid = |cause: Option<String>| {
            shard_error(format!(
                "failed to create query: {}",
                cause.unwrap_or_else(|| format!(
                    "For input string: \"{}\"",
                    scalar_string(value).unwrap_or_default()
                ))
            ))
        };
        match kind {
            ValueKind::Keyword | ValueKind::Text => {
                t.append_type_and_str(&scalar_string(value).unwrap_or_default());
            }
            ValueKind::Ip => {
                let s = scalar_string(value).unwrap_or_default();
                let ip: std::net::IpAddr = s
                    .trim()
                    .parse()
                    .map_err(|_| invalid(Some(format!("'{s}' is not an IP string literal."))))?;
                t.append_type_and_str(&ip.to_string());
            }
            ValueKind::Integer { min, max } => {
                let f = match value {
                    Value::Number(n) if n.as_i64().is_none() => n.as_f64(),
                    Value::String(s) => {
                        s.trim().parse::<f64>().ok().filter(|_| s.trim().parse::<i64>().is_err())
                    }
                    _ => None,
                };
                if f.is_some_and(|f| f.fract() != 0.0) {
                    return Ok(None);
                }
                let i = to_integer(value, true).map_err(invalid)?;
                if i < min || i > max {
                    return Ok(None);
                }
                t.append_type_and_fast_value(i);
            }
            ValueKind::Float => {
                let f = to_float(value, true).map_err(invalid)?;
                match NumericalValue::F64(f).normalize() {
                    NumericalValue::I64(i) => t.append_type_and_fast_value(i),
                    NumericalValue::U64(u) => t.append_type_and_fast_value(u),
                    NumericalValue::F64(f) => t.append_type_and_fast_value(f),
                }
            }
            ValueKind::Boolean => {
                let b = to_bool(value).map_err(|_| {
                    shard_error(format!(
                        "Can't parse boolean value [{}], expected [true] or [false]",
                        scalar_string(value).unwrap_or_default()
                    ))
                })?;
                t.append_type_and_fast_value(b);
            }
            ValueKind::Date => {
                let ms = self.date_value(field, value, false, 0, None)?;
                t.append_type_and_fast_value(ms);
            }
        }
        Ok(Some(t))
    }

    fn date_value(
        &self,
        field: &FieldMapping,
        value: &Value,
        round_up: bool,
        offset: i64,
        format: Option<&str>,
    ) -> Result<i64> {
        let unit = epoch_unit(format.or(field.format()));
        let parsed = match value {
            Value::String(s) => {
                date::eval_math(s, self.now, round_up, offset).or_else(|| date::parse_str(s, unit))
            }
            other => date::parse_value(other, unit),
        };
        parsed.ok_or_else(|| {
            shard_error(format!(
                "failed to parse date field [{}] with format [{}]: [failed to parse date field [{}] with format [{}]]",
                scalar_string(value).unwrap_or_default(),
                field.format().unwrap_or("strict_date_optional_time||epoch_millis"),
                scalar_string(value).unwrap_or_default(),
                field.format().unwrap_or("strict_date_optional_time||epoch_millis"),
            ))
        })
    }

    fn term(&mut self, field: &str, value: &Value, case_insensitive: bool) -> Result<Q> {
        let text = scalar_string(value).unwrap_or_default();
        match self.target(field) {
            Target::Id if case_insensitive => {
                self.scan(field, Matcher::EqualsIgnoreCase(text.to_lowercase()), "term", |_| false)
            }
            Target::Id => Ok(Box::new(TermQuery::new(
                Term::from_field_text(self.fields.id, &text),
                IndexRecordOption::Basic,
            ))),
            Target::IndexName => Ok(if text == self.index_name { Box::new(AllQuery) } else { empty() }),
            Target::Leaf { kind: ValueKind::Text | ValueKind::Keyword, .. } if case_insensitive => {
                self.scan(field, Matcher::EqualsIgnoreCase(text.to_lowercase()), "term", |_| false)
            }
            Target::Leaf { path, kind: ValueKind::Text, .. } => {
                Ok(Box::new(TermQuery::new(self.text_term(&path, &text), IndexRecordOption::WithFreqs)))
            }
            Target::Leaf { path, field, kind } => Ok(match self.exact_term(&path, field, kind, value)? {
                Some(t) => Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
                None => empty(),
            }),
            Target::Object(_) | Target::Unmapped => Ok(empty()),
        }
    }

    fn terms(&mut self, field: &str, values: &[Value]) -> Result<Q> {
        let texts: Vec<String> = values.iter().filter_map(scalar_string).collect();
        let terms: Vec<Term> = match self.target(field) {
            Target::Id => texts.iter().map(|t| Term::from_field_text(self.fields.id, t)).collect(),
            Target::IndexName => {
                return Ok(if texts.iter().any(|t| t == self.index_name) {
                    Box::new(AllQuery)
                } else {
                    empty()
                });
            }
            Target::Leaf { path, kind: ValueKind::Text, .. } => {
                texts.iter().map(|t| self.text_term(&path, t)).collect()
            }
            Target::Leaf { path, field, kind } => {
                let mut out = Vec::new();
                for v in values {
                    if let Some(t) = self.exact_term(&path, field, kind, v)? {
                        out.push(t);
                    }
                }
                out
            }
            Target::Object(_) | Target::Unmapped => return Ok(empty()),
        };
        Ok(if terms.is_empty() { empty() } else { Box::new(TermSetQuery::new(terms)) })
    }

    fn range(&mut self, field: &str, r: &RangeBounds) -> Result<Q> {
        let lower_value = r.gt.as_ref().map(|v| (v, false)).or(r.gte.as_ref().map(|v| (v, true)));
        let upper_value = r.lt.as_ref().map(|v| (v, false)).or(r.lte.as_ref().map(|v| (v, true)));
        if lower_value.is_none() && upper_value.is_none() {
            return Ok(self.exists(field));
        }
        let (path, field_mapping, kind) = match self.target(field) {
            Target::Leaf { path, field, kind } => (path, field, kind),
            Target::Id => {
                let lower = str_bound(lower_value);
                let upper = str_bound(upper_value);
                return self.scan(field, Matcher::Range { lower, upper }, "range", |_| false);
            }
            Target::IndexName => {
                let name = self.index_name.to_string();
                let m = Matcher::Range { lower: str_bound(lower_value), upper: str_bound(upper_value) };
                return Ok(if matches_range(&m, &name) { Box::new(AllQuery) } else { empty() });
            }
            Target::Object(_) | Target::Unmapped => return Ok(empty()),
        };
        let json = |path: &str| path_term(self.fields.keyword, path);
        let (lower, upper): (Bound<Term>, Bound<Term>) = match kind {
            ValueKind::Integer { .. } => {
                let num = |v: &Value| {
                    number(v).filter(|f| !f.is_nan()).ok_or_else(|| {
                        shard_error(format!(
                            "failed to create query: For input string: \"{}\"",
                            scalar_string(v).unwrap_or_default()
                        ))
                    })
                };
                let lower = match lower_value {
                    None => None,
                    Some((v, inclusive)) => {
                        let f = num(v)?;
                        let i = if f.fract() == 0.0 && !inclusive { f + 1.0 } else { f.ceil() };
                        if i > 9.2e18 {
                            return Ok(empty());
                        }
                        (i >= -9.2e18).then_some(i as i64)
                    }
                };
                let upper = match upper_value {
                    None => None,
                    Some((v, inclusive)) => {
                        let f = num(v)?;
                        let i = if f.fract() == 0.0 && !inclusive { f - 1.0 } else { f.floor() };
                        if i < -9.2e18 {
                            return Ok(empty());
                        }
                        (i <= 9.2e18).then_some(i as i64)
                    }
                };
                let mk = |i: i64| {
                    let mut t = json(&path);
                    t.append_type_and_fast_value(i);
                    t
                };
                if lower.is_none() && upper.is_none() {
                    return Ok(self.exists(field));
                }
                (
                    lower.map_or(Bound::Unbounded, |i| Bound::Included(mk(i))),
                    upper.map_or(Bound::Unbounded, |i| Bound::Included(mk(i))),
                )
            }
            ValueKind::Float => {
                let mk = |v: &Value| -> Result<Term> {
                    let f = to_float(v, true).map_err(|_| {
                        shard_error(format!(
                            "failed to create query: For input string: \"{}\"",
                            scalar_string(v).unwrap_or_default()
                        ))
                    })?;
                    let mut t = json(&path);
                    t.append_type_and_fast_value(f.clamp(-9.2e18, 9.2e18));
                    Ok(t)
                };
                if lower_value.is_some_and(|(v, _)| to_float(v, true).is_ok_and(|f| f > 9.2e18))
                    || upper_value.is_some_and(|(v, _)| to_float(v, true).is_ok_and(|f| f < -9.2e18))
                {
                    return Ok(empty());
                }
                (bound(lower_value, mk)?, bound(upper_value, mk)?)
            }
            ValueKind::Date => {
                let offset = r.time_zone.as_deref().and_then(date::parse_offset).unwrap_or(0);
                let fmt = r.format.as_deref();
                let lower = match lower_value {
                    None => Bound::Unbounded,
                    Some((v, inclusive)) => {
                        // `gt` rounds up (past the whole unit), `gte` rounds down.
                        let ms = self.date_value(field_mapping, v, !inclusive, offset, fmt)?;
                        let mut t = json(&path);
                        t.append_type_and_fast_value(ms);
                        if inclusive { Bound::Included(t) } else { Bound::Excluded(t) }
                    }
                };
                let upper = match upper_value {
                    None => Bound::Unbounded,
                    Some((v, inclusive)) => {
                        // `lte` rounds up (to the end of the unit), `lt` rounds down.
                        let ms = self.date_value(field_mapping, v, inclusive, offset, fmt)?;
                        let mut t = json(&path);
                        t.append_type_and_fast_value(ms);
                        if inclusive { Bound::Included(t) } else { Bound::Excluded(t) }
                    }
                };
                (lower, upper)
            }
            ValueKind::Keyword | ValueKind::Ip => {
                let mk = |v: &Value| -> Result<Term> {
                    let mut t = json(&path);
                    t.append_type_and_str(&scalar_string(v).unwrap_or_default());
                    Ok(t)
                };
                (bound(lower_value, mk)?, bound(upper_value, mk)?)
            }
            ValueKind::Text => {
                let m = Matcher::Range { lower: str_bound(lower_value), upper: str_bound(upper_value) };
                return self.scan(field, m, "range", |_| false);
            }
            ValueKind::Boolean => {
                let b = |v: Option<(&Value, bool)>| {
                    v.map(|(v, inc)| (to_bool(v).map(i64::from).unwrap_or(0), inc))
                };
                let (lo, hi) = (b(lower_value), b(upper_value));
                let ok = |x: i64| {
                    lo.is_none_or(|(l, inc)| if inc { x >= l } else { x > l })
                        && hi.is_none_or(|(h, inc)| if inc { x <= h } else { x < h })
                };
                let values: Vec<Value> =
                    [0, 1].into_iter().filter(|x| ok(*x)).map(|x| Value::Bool(x == 1)).collect();
                return self.terms(field, &values);
            }
        };
        Ok(Box::new(RangeQuery::new(lower, upper)))
    }

    fn exists(&self, field: &str) -> Q {
        let names = self.fields.field_names;
        if field.contains('*') {
            let glob = Glob::new(field, Syntax::STAR);
            if self.restricted {
                return self.exists_among(|path| glob.matches(path));
            }
            return Box::new(TermScanQuery::new(names, Vec::new(), Matcher::Glob(glob)));
        }
        match self.target(field) {
            Target::Id | Target::IndexName => Box::new(AllQuery),
            Target::Leaf { path, .. } => {
                Box::new(TermQuery::new(Term::from_field_text(names, &path), IndexRecordOption::Basic))
            }
            Target::Object(path) if self.restricted => {
                let prefix = format!("{path}.");
                self.exists_among(|p| p.starts_with(&prefix))
            }
            Target::Object(path) => {
                Box::new(TermScanQuery::new(names, Vec::new(), Matcher::Prefix(format!("{path}."))))
            }
            Target::Unmapped => empty(),
        }
    }

    /// A term-dictionary scan on a keyword-like or text field (`prefix`, `wildcard`,
    /// case-insensitive `term`, text ranges); `index_matches` decides for `_index`.
    fn scan(&self, field: &str, m: Matcher, query: &str, index_matches: impl Fn(&str) -> bool) -> Result<Q> {
        let (tantivy_field, key) = match self.target(field) {
            Target::Id => (self.fields.id, Vec::new()),
            Target::IndexName => {
                return Ok(if index_matches(self.index_name) { Box::new(AllQuery) } else { empty() });
            }
            Target::Leaf { path, kind: ValueKind::Text, .. } => {
                (self.fields.text, self.text_term(&path, "").serialized_value_bytes().to_vec())
            }
            Target::Leaf { path, kind: ValueKind::Keyword | ValueKind::Ip, .. } => {
                let mut t = path_term(self.fields.keyword, &path);
                t.append_type_and_str("");
                (self.fields.keyword, t.serialized_value_bytes().to_vec())
            }
            Target::Leaf { field: f, .. } => {
                return Err(shard_error(format!(
                    "Can only use {query} queries on keyword and text fields - not on [{field}] which is of type [{}]",
                    f.field_type()
                )));
            }
            Target::Object(_) | Target::Unmapped => return Ok(empty()),
        };
        Ok(Box::new(TermScanQuery::new(tantivy_field, key, m)))
    }
}

fn bound(v: Option<(&Value, bool)>, mk: impl Fn(&Value) -> Result<Term>) -> Result<Bound<Term>> {
    Ok(match v {
        None => Bound::Unbounded,
        Some((v, true)) => Bound::Included(mk(v)?),
        Some((v, false)) => Bound::Excluded(mk(v)?),
    })
}

fn str_bound(v: Option<(&Value, bool)>) -> Bound<String> {
    match v {
        None => Bound::Unbounded,
        Some((v, true)) => Bound::Included(scalar_string(v).unwrap_or_default()),
        Some((v, false)) => Bound::Excluded(scalar_string(v).unwrap_or_default()),
    }
}

fn matches_range(m: &Matcher, s: &str) -> bool {
    match m {
        Matcher::Range { lower, upper } => {
            (match lower {
                Bound::Included(l) => s >= l.as_str(),
                Bound::Excluded(l) => s > l.as_str(),
                Bound::Unbounded => true,
            }) && (match upper {
                Bound::Included(u) => s <= u.as_str(),
                Bound::Excluded(u) => s < u.as_str(),
                Bound::Unbounded => true,
            })
        }
        _ => false,
    }
}
