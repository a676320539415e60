//! The Elasticsearch query DSL as JSON, read into a [`QueryAst`] that does not depend on any
//! index (index-specific work happens when it is compiled).

use serde_json::Value;

use crate::error::{IndexError, Result};
use crate::query::params::{
    Params, checked_scalar, field_list, number, outer_boost, scalar_string, single_field, term_value, token,
};
use crate::query::query_string;

/// How the terms of a full-text query combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Operator {
    #[default]
    Or,
    And,
}

/// `minimum_should_match`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum MinShouldMatch {
    Count(i64),
    Percent(f64),
}

impl MinShouldMatch {
    /// How many of `optional` clauses must match.
    pub(crate) fn resolve(self, optional: usize) -> usize {
        let n = optional as i64;
        let v = match self {
            MinShouldMatch::Count(c) if c < 0 => n + c,
            MinShouldMatch::Count(c) => c,
            MinShouldMatch::Percent(p) if p < 0.0 => n - (n as f64 * -p / 100.0).floor() as i64,
            MinShouldMatch::Percent(p) => (n as f64 * p / 100.0).floor() as i64,
        };
        v.clamp(0, n) as usize
    }
}

/// `multi_match` types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MultiMatchType {
    BestFields,
    MostFields,
    CrossFields,
    Phrase,
    PhrasePrefix,
    BoolPrefix,
}

/// A query, read but not yet bound to an index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QueryAst {
    MatchAll {
        boost: f32,
    },
    MatchNone,
    Match {
        field: String,
        query: Value,
        operator: Operator,
        msm: Option<MinShouldMatch>,
        zero_terms_all: bool,
        boost: f32,
    },
    MatchPhrase {
        field: String,
        query: String,
        slop: u32,
        boost: f32,
    },
    MatchPhrasePrefix {
        field: String,
        query: String,
        boost: f32,
    },
    MultiMatch {
        fields: Vec<(String, f32)>,
        query: Value,
        kind: MultiMatchType,
        operator: Operator,
        msm: Option<MinShouldMatch>,
        tie_breaker: f32,
        lenient: bool,
        boost: f32,
    },
    Term {
        field: String,
        value: Value,
        case_insensitive: bool,
        boost: f32,
    },
    Terms {
        field: String,
        values: Vec<Value>,
        boost: f32,
    },
    Range {
        field: String,
        range: Box<RangeBounds>,
        boost: f32,
    },
    Exists {
        field: String,
        boost: f32,
    },
    Prefix {
        field: String,
        value: String,
        case_insensitive: bool,
        boost: f32,
    },
    Wildcard {
        field: String,
        value: String,
        case_insensitive: bool,
        boost: f32,
    },
    Ids {
        values: Vec<String>,
        boost: f32,
    },
    Bool {
        must: Vec<QueryAst>,
        filter: Vec<QueryAst>,
        should: Vec<QueryAst>,
        must_not: Vec<QueryAst>,
        msm: Option<MinShouldMatch>,
        boost: f32,
    },
    ConstantScore {
        filter: Box<QueryAst>,
        boost: f32,
    },
    DisMax {
        queries: Vec<QueryAst>,
        tie_breaker: f32,
        boost: f32,
    },
    Boost {
        query: Box<QueryAst>,
        boost: f32,
    },
    /// `query`, matching nothing where it does not fit the field's type (`lenient: true`).
    Lenient(Box<QueryAst>),
    /// `template` (whose field is blank) on each field matching `fields`, combined as `kind`
    /// says; with `lenient`, fields the query cannot apply to are skipped.
    PerField {
        fields: Vec<(String, f32)>,
        template: Box<QueryAst>,
        kind: MultiMatchType,
        tie_breaker: f32,
        lenient: bool,
    },
}

impl QueryAst {
    /// This single-field query on `name` instead.
    pub(crate) fn with_field(&self, name: &str) -> QueryAst {
        let mut q = self.clone();
        match &mut q {
            QueryAst::Match { field, .. }
            | QueryAst::MatchPhrase { field, .. }
            | QueryAst::MatchPhrasePrefix { field, .. }
            | QueryAst::Term { field, .. }
            | QueryAst::Terms { field, .. }
            | QueryAst::Range { field, .. }
            | QueryAst::Exists { field, .. }
            | QueryAst::Prefix { field, .. }
            | QueryAst::Wildcard { field, .. } => *field = name.to_string(),
            _ => {}
        }
        q
    }
}

/// The bounds of a `range` query, as given.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RangeBounds {
    pub(crate) gt: Option<Value>,
    pub(crate) gte: Option<Value>,
    pub(crate) lt: Option<Value>,
    pub(crate) lte: Option<Value>,
    pub(crate) format: Option<String>,
    pub(crate) time_zone: Option<String>,
}

/// Reads a query clause: an object with exactly one key, the query type.
pub(crate) fn parse(v: &Value) -> Result<QueryAst> {
    parse_at(v, 0)
}

/// `index.max_terms_count`: how many values one `terms` query may hold.
const MAX_TERMS_COUNT: usize = 65_536;

/// How deeply compound queries may nest (Elasticsearch limits `bool` nesting too).
const MAX_DEPTH: usize = 32;

fn parse_at(v: &Value, depth: usize) -> Result<QueryAst> {
    if depth > MAX_DEPTH {
        return Err(IndexError::parsing(format!("the query nests deeper than [{MAX_DEPTH}] levels")));
    }
    let nested = |q: &Value| parse_at(q, depth + 1);
    let Value::Object(obj) = v else {
        return Err(IndexError::parsing(format!(
            "[_na] query malformed, must start with start_object, found [{}]",
            token(v)
        )));
    };
    let mut it = obj.iter();
    let Some((name, body)) = it.next() else {
        return Err(IndexError::illegal("query malformed, empty clause found"));
    };
    if let Some((next, _)) = it.next() {
        return Err(IndexError::parsing(format!(
            "[{name}] malformed query, expected [END_OBJECT] but found [FIELD_NAME] ([{next}])"
        )));
    }
    match name.as_str() {
        "match_all" => {
            let p = Params::new("match_all", body)?;
            p.only(&["boost"])?;
            let boost = p.boost()?;
            Ok(QueryAst::MatchAll { boost })
        }
        "match_none" => {
            let p = Params::new("match_none", body)?;
            p.only(&["boost"])?;
            Ok(QueryAst::MatchNone)
        }
        "match" => parse_match(body),
        "match_phrase" => parse_match_phrase(body, false),
        "match_phrase_prefix" => parse_match_phrase(body, true),
        "multi_match" => parse_multi_match(body),
        "term" => parse_term(body),
        "terms" => parse_terms(body),
        "range" => parse_range(body),
        "exists" => {
            let p = Params::new("exists", body)?;
            p.only(&["field", "boost"])?;
            let field = p.required_str("field")?;
            let boost = p.boost()?;
            Ok(QueryAst::Exists { field, boost })
        }
        "prefix" => parse_pattern(body, "prefix"),
        "wildcard" => parse_pattern(body, "wildcard"),
        "ids" => {
            let p = Params::new("ids", body)?;
            p.only(&["values", "boost"])?;
            let values = match p.get("values") {
                Some(Value::Array(a)) => a.iter().map(scalar_string).collect::<Option<Vec<_>>>(),
                Some(Value::String(s)) => Some(vec![s.clone()]),
                None => Some(Vec::new()),
                Some(_) => None,
            }
            .ok_or_else(|| IndexError::parsing("[ids] values must be an array of strings"))?;
            let boost = p.boost()?;
            Ok(QueryAst::Ids { values, boost })
        }
        "bool" => parse_bool(body, depth),
        "constant_score" => {
            let p = Params::new("constant_score", body)?;
            p.only(&["filter", "boost"])?;
            let filter = p
                .get("filter")
                .ok_or_else(|| IndexError::parsing("[constant_score] requires a 'filter' element"))?;
            let filter = Box::new(nested(filter)?);
            let boost = p.boost()?;
            Ok(QueryAst::ConstantScore { filter, boost })
        }
        "dis_max" => {
            let p = Params::new("dis_max", body)?;
            p.only(&["queries", "tie_breaker", "boost"])?;
            let queries = match p.get("queries") {
                Some(Value::Array(a)) => a.iter().map(nested).collect::<Result<Vec<_>>>()?,
                Some(v @ Value::Object(_)) => vec![nested(v)?],
                _ => {
                    return Err(IndexError::parsing(
                        "[dis_max] requires 'queries' field with at least one clause",
                    ));
                }
            };
            let tie_breaker = p.f32_or("tie_breaker", 0.0)?;
            let boost = p.boost()?;
            Ok(QueryAst::DisMax { queries, tie_breaker, boost })
        }
        "query_string" => query_string::parse_query_string(body),
        "simple_query_string" => query_string::parse_simple_query_string(body),
        other => Err(IndexError::parsing(format!("unknown query [{other}]"))),
    }
}

fn parse_match(body: &Value) -> Result<QueryAst> {
    let (field, v, outer) = single_field("match", body)?;
    if !v.is_object() {
        let query = checked_scalar("match", v)?;
        return Ok(QueryAst::Match {
            field,
            query,
            operator: Operator::Or,
            msm: None,
            zero_terms_all: false,
            boost: outer.unwrap_or(1.0),
        });
    }
    let mut p = Params::new("match", v)?;
    p.ignore(&[
        "analyzer",
        "fuzziness",
        "lenient",
        "prefix_length",
        "max_expansions",
        "fuzzy_transpositions",
        "fuzzy_rewrite",
        "auto_generate_synonyms_phrase_query",
    ]);
    p.only(&["query", "operator", "minimum_should_match", "boost", "zero_terms_query"])?;
    let query = checked_scalar(
        "match",
        p.get("query").ok_or_else(|| IndexError::parsing("[match] requires query value"))?,
    )?;
    let zero_terms_all = zero_terms(&p)?;
    let q = QueryAst::Match {
        field,
        query,
        operator: p.operator()?,
        msm: p.msm()?,
        zero_terms_all,
        boost: outer_boost(&p, outer)?,
    };
    Ok(if p.bool_or("lenient", false)? { QueryAst::Lenient(Box::new(q)) } else { q })
}

fn zero_terms(p: &Params<'_>) -> Result<bool> {
    match p.opt_str("zero_terms_query")?.as_deref() {
        None | Some("none") | Some("NONE") => Ok(false),
        Some("all") | Some("ALL") => Ok(true),
        Some(o) => Err(IndexError::parsing(format!("Unsupported zero_terms_query value [{o}]"))),
    }
}

fn parse_match_phrase(body: &Value, prefix: bool) -> Result<QueryAst> {
    let name = if prefix { "match_phrase_prefix" } else { "match_phrase" };
    let (field, v, outer) = single_field(name, body)?;
    let (query, slop, boost) = if v.is_object() {
        let mut p = Params::new(name, v)?;
        p.ignore(&["analyzer", "zero_terms_query", "max_expansions"]);
        p.only(&["query", "slop", "boost"])?;
        let q =
            p.get("query").ok_or_else(|| IndexError::parsing(format!("[{name}] requires query value")))?;
        let q = scalar_string(q).ok_or_else(|| {
            IndexError::parsing(format!("[{name}] unknown token [{}] after [query]", token(q)))
        })?;
        let slop = p.f32_or("slop", 0.0)?;
        if slop < 0.0 {
            return Err(IndexError::illegal("No negative slop allowed."));
        }
        (q, slop as u32, outer_boost(&p, outer)?)
    } else {
        let q = scalar_string(v).ok_or_else(|| {
            IndexError::parsing(format!("[{name}] unknown token [{}] after [query]", token(v)))
        })?;
        (q, 0, outer.unwrap_or(1.0))
    };
    Ok(if prefix {
        QueryAst::MatchPhrasePrefix { field, query, boost }
    } else {
        QueryAst::MatchPhrase { field, query, slop, boost }
    })
}

fn parse_multi_match(body: &Value) -> Result<QueryAst> {
    let mut p = Params::new("multi_match", body)?;
    p.ignore(&[
        "analyzer",
        "fuzziness",
        "lenient",
        "prefix_length",
        "max_expansions",
        "fuzzy_transpositions",
        "fuzzy_rewrite",
        "auto_generate_synonyms_phrase_query",
        "slop",
    ]);
    p.only(&[
        "query",
        "fields",
        "type",
        "operator",
        "minimum_should_match",
        "tie_breaker",
        "boost",
        "zero_terms_query",
    ])?;
    let query = checked_scalar(
        "multi_match",
        p.get("query").ok_or_else(|| IndexError::parsing("No text specified for multi_match query"))?,
    )?;
    let kind = match p.opt_str("type")?.as_deref() {
        None | Some("best_fields") => MultiMatchType::BestFields,
        Some("most_fields") => MultiMatchType::MostFields,
        Some("cross_fields") => MultiMatchType::CrossFields,
        Some("phrase") => MultiMatchType::Phrase,
        Some("phrase_prefix") => MultiMatchType::PhrasePrefix,
        Some("bool_prefix") => MultiMatchType::BoolPrefix,
        Some(o) => return Err(IndexError::parsing(format!("[multi_match] query does not allow type [{o}]"))),
    };
    // Without `fields`, the index's `index.query.default_field` (filled in when compiled).
    let fields = field_list("multi_match", p.get("fields"))?;
    zero_terms(&p)?;
    Ok(QueryAst::MultiMatch {
        fields,
        query,
        kind,
        operator: p.operator()?,
        msm: p.msm()?,
        tie_breaker: p.f32_or("tie_breaker", 0.0)?,
        lenient: p.bool_or("lenient", false)?,
        boost: p.boost()?,
    })
}

fn parse_term(body: &Value) -> Result<QueryAst> {
    let (field, v, outer) = single_field("term", body)?;
    if let Value::Object(_) = v {
        let p = Params::new("term", v)?;
        p.only(&["value", "boost", "case_insensitive"])?;
        let value = p.get("value").ok_or_else(|| IndexError::parsing("[term] query requires a value"))?;
        let value = term_value("term", value)?;
        let case_insensitive = p.bool_or("case_insensitive", false)?;
        return Ok(QueryAst::Term { field, value, case_insensitive, boost: outer_boost(&p, outer)? });
    }
    Ok(QueryAst::Term {
        field,
        value: term_value("term", v)?,
        case_insensitive: false,
        boost: outer.unwrap_or(1.0),
    })
}

fn parse_terms(body: &Value) -> Result<QueryAst> {
    let Value::Object(obj) = body else {
        return Err(IndexError::parsing(format!("[terms] query malformed, found [{}]", token(body))));
    };
    let mut field: Option<(String, Vec<Value>)> = None;
    let mut boost = 1.0;
    for (k, v) in obj {
        match k.as_str() {
            "_name" => {}
            "boost" => {
                boost =
                    number(v).ok_or_else(|| IndexError::parsing("[terms] [boost] must be a number"))? as f32
            }
            _ => {
                let Value::Array(items) = v else {
                    return Err(IndexError::parsing(format!(
                        "[terms] query does not support [{k}] with a [{}]: terms lookup is not supported, give an array of values",
                        token(v)
                    )));
                };
                if let Some((prev, _)) = &field {
                    return Err(IndexError::parsing(format!(
                        "[terms] query does not support multiple fields, found [{prev}] and [{k}]"
                    )));
                }
                let values = items.iter().map(|i| term_value("terms", i)).collect::<Result<Vec<_>>>()?;
                field = Some((k.clone(), values));
            }
        }
    }
    let (field, values) =
        field.ok_or_else(|| IndexError::parsing("[terms] query requires a field with an array of values"))?;
    if boost < 0.0 {
        return Err(IndexError::illegal("negative [boost] are not allowed."));
    }
    if values.len() > MAX_TERMS_COUNT {
        return Err(IndexError::illegal(format!(
            "The number of terms [{}] used in the Terms Query request has exceeded the allowed maximum of [{MAX_TERMS_COUNT}]. This maximum can be set by changing the [index.max_terms_count] index level setting.",
            values.len()
        )));
    }
    Ok(QueryAst::Terms { field, values, boost })
}

fn parse_range(body: &Value) -> Result<QueryAst> {
    let (field, v, outer) = single_field("range", body)?;
    let mut p = Params::new("range", v)?;
    p.ignore(&["relation"]);
    p.only(&[
        "gt",
        "gte",
        "lt",
        "lte",
        "from",
        "to",
        "include_lower",
        "include_upper",
        "format",
        "time_zone",
        "boost",
    ])?;
    let bound = |k: &'static str| -> Result<Option<Value>> {
        match p.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => Ok(Some(v.clone())),
            Some(v) => Err(IndexError::parsing(format!(
                "[range] query does not support [{k}] of type [{}]",
                token(v)
            ))),
        }
    };
    let mut r = RangeBounds {
        gt: bound("gt")?,
        gte: bound("gte")?,
        lt: bound("lt")?,
        lte: bound("lte")?,
        ..RangeBounds::default()
    };
    let include_lower = p.bool_or("include_lower", true)?;
    let include_upper = p.bool_or("include_upper", true)?;
    if let Some(from) = bound("from")? {
        if include_lower { r.gte = Some(from) } else { r.gt = Some(from) }
    }
    if let Some(to) = bound("to")? {
        if include_upper { r.lte = Some(to) } else { r.lt = Some(to) }
    }
    r.format = p.opt_str("format")?;
    r.time_zone = p.opt_str("time_zone")?;
    if let Some(tz) = &r.time_zone
        && crate::date::parse_offset(tz).is_none()
    {
        return Err(IndexError::illegal(format!(
            "time_zone [{tz}] is not supported: use UTC or a fixed offset such as +01:00"
        )));
    }
    Ok(QueryAst::Range { field, range: Box::new(r), boost: outer_boost(&p, outer)? })
}

fn parse_pattern(body: &Value, name: &'static str) -> Result<QueryAst> {
    let (field, v, outer) = single_field(name, body)?;
    let (value, case_insensitive, boost) = if let Value::Object(_) = v {
        let mut p = Params::new(name, v)?;
        p.ignore(&["rewrite"]);
        p.only(&["value", "wildcard", "boost", "case_insensitive"])?;
        let value = p
            .get("value")
            .or_else(|| p.get("wildcard"))
            .ok_or_else(|| IndexError::parsing(format!("[{name}] requires a value")))?;
        let value = scalar_string(value)
            .ok_or_else(|| IndexError::parsing(format!("[{name}] value must be a string")))?;
        (value, p.bool_or("case_insensitive", false)?, outer_boost(&p, outer)?)
    } else {
        let value = scalar_string(v).ok_or_else(|| {
            IndexError::parsing(format!("[{name}] value must be a string, found [{}]", token(v)))
        })?;
        (value, false, outer.unwrap_or(1.0))
    };
    Ok(if name == "prefix" {
        QueryAst::Prefix { field, value, case_insensitive, boost }
    } else {
        QueryAst::Wildcard { field, value, case_insensitive, boost }
    })
}

fn parse_bool(body: &Value, depth: usize) -> Result<QueryAst> {
    let mut p = Params::new("bool", body)?;
    p.ignore(&["adjust_pure_negative"]);
    p.only(&["must", "filter", "should", "must_not", "minimum_should_match", "boost"])?;
    let clauses = |k: &'static str| -> Result<Vec<QueryAst>> {
        match p.get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items.iter().map(|q| parse_at(q, depth + 1)).collect(),
            Some(v @ Value::Object(_)) => Ok(vec![parse_at(v, depth + 1)?]),
            Some(v) => Err(IndexError::parsing(format!(
                "[bool] query does not support [{k}] of type [{}]",
                token(v)
            ))),
        }
    };
    Ok(QueryAst::Bool {
        must: clauses("must")?,
        filter: clauses("filter")?,
        should: clauses("should")?,
        must_not: clauses("must_not")?,
        msm: p.msm()?,
        boost: p.boost()?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_short_and_long_forms() {
        assert_eq!(
            parse(&json!({"term": {"f": "v"}})).unwrap(),
            QueryAst::Term { field: "f".into(), value: json!("v"), case_insensitive: false, boost: 1.0 }
        );
        assert_eq!(
            parse(&json!({"term": {"f": {"value": 3, "boost": 2}}})).unwrap(),
            QueryAst::Term { field: "f".into(), value: json!(3), case_insensitive: false, boost: 2.0 }
        );
        assert!(matches!(
            parse(&json!({"match": {"f": {"query": "a b", "operator": "AND"}}})).unwrap(),
            QueryAst::Match { operator: Operator::And, .. }
        ));
        assert!(matches!(
            parse(&json!({"bool": {"must": {"match_all": {}}, "should": [{"term": {"a": 1}}]}})).unwrap(),
            QueryAst::Bool { ref must, ref should, .. } if must.len() == 1 && should.len() == 1
        ));
    }

    #[test]
    fn reports_errors_like_elasticsearch() {
        let cases = [
            (json!({"xyz": {}}), "parsing_exception", "unknown query [xyz]"),
            (
                json!({"term": {"a": 1, "b": 2}}),
                "parsing_exception",
                "[term] query doesn't support multiple fields, found [a] and [b]",
            ),
            (
                json!({"match_all": {}, "term": {}}),
                "parsing_exception",
                "[match_all] malformed query, expected [END_OBJECT] but found [FIELD_NAME]",
            ),
            (
                json!({"range": {"f": {"gte": 1, "nope": 2}}}),
                "parsing_exception",
                "[range] query does not support [nope]",
            ),
            (json!({"bool": {"must": 5}}), "parsing_exception", "[bool] query does not support [must]"),
            (json!({}), "illegal_argument_exception", "query malformed, empty clause found"),
            (json!([]), "parsing_exception", "query malformed"),
            (json!({"term": {"f": [1]}}), "parsing_exception", "array of values"),
            (json!({"terms": {"f": {"index": "x"}}}), "parsing_exception", "terms lookup is not supported"),
            (
                json!({"match": {"f": {"query": "x", "operator": "xor"}}}),
                "parsing_exception",
                "operator [xor]",
            ),
            (json!({"match_all": {"boost": -1}}), "illegal_argument_exception", "negative [boost]"),
        ];
        for (q, ty, msg) in cases {
            let err = parse(&q).unwrap_err();
            assert_eq!(err.error_type(), ty, "{q}");
            assert!(err.reason().contains(msg), "{q}: {}", err.reason());
        }
    }

    #[test]
    fn minimum_should_match() {
        assert_eq!(MinShouldMatch::Count(2).resolve(3), 2);
        assert_eq!(MinShouldMatch::Count(-1).resolve(3), 2);
        assert_eq!(MinShouldMatch::Count(5).resolve(3), 3);
        assert_eq!(MinShouldMatch::Percent(75.0).resolve(4), 3);
        assert_eq!(MinShouldMatch::Percent(-25.0).resolve(4), 3);
    }
}
