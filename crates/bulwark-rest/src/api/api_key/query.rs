//! `_security/_query/api_key`: the subset of the query DSL, sort and field names Elasticsearch
//! allows there, evaluated over stored keys on the blocking pool (every key is read, matched,
//! sorted and rendered: work that grows with the number of keys stays off the async workers).

use std::cmp::Ordering;
use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use bulwark_pattern::{Glob, Syntax};
use bulwark_security::authn::{ApiKeyRecord, now_millis};
use bulwark_security::authz::Action;
use serde_json::{Map, Value, json};

use super::{Scope, all_keys, caller, duration_ms, flag, limited_by, render, scope};
use crate::blocking::blocking;
use crate::body::{self, known_fields};
use crate::caller::Caller;
use crate::{ApiError, RestState};

/// `GET|POST /_security/_query/api_key` `{query?, from?, size?, sort?, search_after?}`
pub async fn query(
    State(state): State<RestState>,
    who: Caller,
    Query(params): Query<HashMap<String, String>>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let a = caller(&state, who)?;
    let with_limited_by = flag(&params, "with_limited_by")?;
    let m = body::object(&bytes, false)?;
    known_fields(
        &m,
        "query_api_keys_request",
        &["query", "from", "size", "sort", "search_after", "aggs", "aggregations"],
    )?;
    let bound = scope(&state, &a, Action::QueryApiKey)?;
    blocking("the query", move || search(&state, &m, &bound, with_limited_by)).await?.map(Json)
}

/// The answer of a query request over the keys `bound` reaches.
fn search(
    state: &RestState,
    m: &Map<String, Value>,
    bound: &Scope,
    with_limited_by: bool,
) -> Result<Value, ApiError> {
    let count = |key: &str, default: i64| -> Result<usize, ApiError> {
        let n = match m.get(key) {
            None | Some(Value::Null) => default,
            Some(v) => v.as_i64().ok_or_else(|| ApiError::parse(format!("[{key}] must be a number")))?,
        };
        usize::try_from(n)
            .map_err(|_| body::validation(format!("[{key}] parameter cannot be negative but was [{n}]")))
    };
    let (from, size) = (count("from", 0)?, count("size", 10)?);
    let q = m.get("query").cloned().unwrap_or_else(|| json!({ "match_all": {} }));
    let mut hits = Vec::new();
    for (id, k) in all_keys(state)? {
        if bound.reaches(&id, &k) && matches(&q, &id, &k)? {
            hits.push((id, k));
        }
    }
    let keys = sort_keys(m.get("sort"));
    let sort_values = |id: &str, k: &ApiKeyRecord| -> Vec<Value> {
        keys.iter().map(|(f, _)| f.values(id, k).into_iter().next().unwrap_or(Value::Null)).collect()
    };
    let ordering = |x: &[Value], y: &[Value]| -> Ordering {
        keys.iter()
            .zip(x.iter().zip(y))
            .map(|((_, desc), (a, b))| if *desc { compare(b, a) } else { compare(a, b) })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    };
    let mut sorted: Vec<(Vec<Value>, String, ApiKeyRecord)> =
        hits.into_iter().map(|(id, k)| (sort_values(&id, &k), id, k)).collect();
    sorted.sort_by(|x, y| ordering(&x.0, &y.0));
    if let Some(after) = m.get("search_after").and_then(Value::as_array).filter(|_| !keys.is_empty()) {
        sorted.retain(|(sv, _, _)| ordering(sv, after) == Ordering::Greater);
    }
    let total = sorted.len();
    let page: Vec<Value> = sorted
        .into_iter()
        .skip(from)
        .take(size)
        .map(|(sv, id, k)| {
            let mut v = render(&id, &k, with_limited_by.then(|| limited_by(state, &k)));
            if !keys.is_empty() {
                v["_sort"] = json!(sv);
            }
            v
        })
        .collect();
    Ok(json!({ "total": total, "count": page.len(), "api_keys": page }))
}

/// A queryable field.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Field {
    Id,
    Name,
    Username,
    RealmName,
    Type,
    Creation,
    Expiration,
    Invalidated,
    Invalidation,
    Metadata(String),
}

impl Field {
    fn parse(f: &str) -> Option<Field> {
        Some(match f {
            "id" | "_id" => Field::Id,
            "name" => Field::Name,
            "username" => Field::Username,
            "realm_name" => Field::RealmName,
            "type" => Field::Type,
            "creation" => Field::Creation,
            "expiration" => Field::Expiration,
            "invalidated" => Field::Invalidated,
            "invalidation" => Field::Invalidation,
            m => Field::Metadata(m.strip_prefix("metadata.")?.to_owned()),
        })
    }

    fn parse_or_fail(f: &str) -> Result<Field, ApiError> {
        Field::parse(f).ok_or_else(|| {
            ApiError::illegal_argument(format!("Field [{f}] is not allowed for querying or aggregation"))
        })
    }

    fn is_date(&self) -> bool {
        matches!(self, Field::Creation | Field::Expiration | Field::Invalidation)
    }

    /// The field's values in one key (none when it is missing).
    pub(super) fn values(&self, id: &str, k: &ApiKeyRecord) -> Vec<Value> {
        let one = |v: Value| vec![v];
        match self {
            Field::Id => one(json!(id)),
            Field::Name => one(json!(k.name)),
            Field::Username => one(json!(k.username)),
            Field::RealmName => one(json!(k.realm)),
            Field::Type => one(json!(k.key_type)),
            Field::Creation => one(json!(k.creation)),
            Field::Expiration => k.expiration.map(|e| json!(e)).into_iter().collect(),
            Field::Invalidated => one(json!(k.invalidated)),
            Field::Invalidation => k.invalidation.map(|e| json!(e)).into_iter().collect(),
            Field::Metadata(path) => {
                let mut cur = Some(&Value::Null);
                let mut obj = Some(&k.metadata);
                for part in path.split('.') {
                    cur = obj.and_then(|o| o.get(part));
                    obj = cur.and_then(Value::as_object);
                }
                match cur {
                    Some(Value::Array(a)) => a.clone(),
                    Some(Value::Null) | None => Vec::new(),
                    Some(v) => vec![v.clone()],
                }
            }
        }
    }
}

/// A value as a keyword (metadata is indexed flattened: every leaf is a keyword).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A date bound: epoch milliseconds, or `now` with an optional `+`/`-` time value.
fn date_value(v: &Value) -> Result<i64, ApiError> {
    if let Some(n) = v.as_i64() {
        return Ok(n);
    }
    let s = v.as_str().ok_or_else(|| ApiError::parse(format!("failed to parse date field [{v}]")))?;
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    let now = now_millis();
    match s.strip_prefix("now") {
        Some("") => Ok(now),
        Some(rest) if rest.starts_with('+') => Ok(now.saturating_add(duration_ms(&rest[1..])?)),
        Some(rest) if rest.starts_with('-') => Ok(now.saturating_sub(duration_ms(&rest[1..])?)),
        _ => Err(ApiError::parse(format!(
            "failed to parse date field [{s}]: use epoch milliseconds or now, now-1d, now+30m"
        ))),
    }
}

/// `{field: value}` or `{field: {value|query|wildcard, case_insensitive}}`.
fn single_field<'a>(body: &'a Value, kind: &str, key: &str) -> Result<(Field, &'a Value, bool), ApiError> {
    let (f, v) = body
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
        .ok_or_else(|| ApiError::parse(format!("[{kind}] query malformed, expected a single field")))?;
    let field = Field::parse_or_fail(f)?;
    match v {
        Value::Object(o) => {
            let value = o
                .get(key)
                .or_else(|| o.get("value"))
                .ok_or_else(|| ApiError::parse(format!("[{kind}] query on [{f}] has no [{key}]")))?;
            let ci = o.get("case_insensitive").and_then(Value::as_bool).unwrap_or(false);
            Ok((field, value, ci))
        }
        v => Ok((field, v, false)),
    }
}

fn eq_text(have: &str, want: &str, ci: bool) -> bool {
    if ci { have.eq_ignore_ascii_case(want) } else { have == want }
}

fn clauses(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

/// Whether the key matches a query (the subset of the query DSL Elasticsearch allows here).
pub(super) fn matches(q: &Value, id: &str, k: &ApiKeyRecord) -> Result<bool, ApiError> {
    let Some((kind, body)) = q.as_object().filter(|o| o.len() == 1).and_then(|o| o.iter().next()) else {
        return Err(ApiError::parse("a query must be an object with exactly one query type"));
    };
    Ok(match kind.as_str() {
        "match_all" => true,
        "term" | "match" => {
            let (f, want, ci) = single_field(body, kind, if kind == "match" { "query" } else { "value" })?;
            let want = text(want).ok_or_else(|| {
                ApiError::parse(format!("[{kind}] value must be a string, number or boolean"))
            })?;
            f.values(id, k).iter().filter_map(text).any(|h| eq_text(&h, &want, ci))
        }
        "terms" => {
            let (f, want, _) = single_field(body, kind, "value")?;
            let want: Vec<String> = want
                .as_array()
                .ok_or_else(|| ApiError::parse("[terms] query requires an array of values"))?
                .iter()
                .filter_map(text)
                .collect();
            f.values(id, k).iter().filter_map(text).any(|h| want.contains(&h))
        }
        "prefix" => {
            let (f, want, ci) = single_field(body, kind, "value")?;
            let want = text(want).unwrap_or_default();
            f.values(id, k).iter().filter_map(text).any(|h| {
                if ci { h.to_lowercase().starts_with(&want.to_lowercase()) } else { h.starts_with(&want) }
            })
        }
        "wildcard" => {
            let (f, want, ci) = single_field(body, kind, "wildcard")?;
            let glob = Glob::new(&text(want).unwrap_or_default(), Syntax::LUCENE.ignoring_case(ci));
            f.values(id, k).iter().filter_map(text).any(|h| glob.matches(&h))
        }
        "ids" => body
            .get("values")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::parse("[ids] query requires [values]"))?
            .iter()
            .any(|v| v.as_str() == Some(id)),
        "exists" => {
            let f = body
                .get("field")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::parse("[exists] query requires [field]"))?;
            !Field::parse_or_fail(f)?.values(id, k).is_empty()
        }
        "range" => {
            let (f, bounds) = body
                .as_object()
                .filter(|o| o.len() == 1)
                .and_then(|o| o.iter().next())
                .ok_or_else(|| ApiError::parse("[range] query malformed, expected a single field"))?;
            let field = Field::parse_or_fail(f)?;
            let values = field.values(id, k);
            let mut ok = !values.is_empty();
            for (op, bound) in bounds.as_object().into_iter().flatten() {
                let cmp = |have: &Value| -> Result<Ordering, ApiError> {
                    if field.is_date() {
                        Ok(have.as_i64().unwrap_or(0).cmp(&date_value(bound)?))
                    } else {
                        Ok(text(have).unwrap_or_default().cmp(&text(bound).unwrap_or_default()))
                    }
                };
                let accept: fn(Ordering) -> bool = match op.as_str() {
                    "gt" => |o| o == Ordering::Greater,
                    "gte" => |o| o != Ordering::Less,
                    "lt" => |o| o == Ordering::Less,
                    "lte" => |o| o != Ordering::Greater,
                    "format" | "time_zone" | "boost" => continue,
                    other => {
                        return Err(ApiError::parse(format!("[range] query does not support [{other}]")));
                    }
                };
                for v in &values {
                    ok &= accept(cmp(v)?);
                }
            }
            ok
        }
        "bool" => {
            let all = |key: &str| -> Result<bool, ApiError> {
                for c in clauses(body.get(key)) {
                    if !matches(c, id, k)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            };
            let should = clauses(body.get("should"));
            let mut should_hits = 0;
            for c in &should {
                should_hits += usize::from(matches(c, id, k)?);
            }
            let mut none = true;
            for c in clauses(body.get("must_not")) {
                none &= !matches(c, id, k)?;
            }
            let scoring_only = clauses(body.get("must")).is_empty() && clauses(body.get("filter")).is_empty();
            let min_should = body
                .get("minimum_should_match")
                .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
                .map_or(usize::from(scoring_only && !should.is_empty()), |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                });
            all("must")? && all("filter")? && none && should_hits >= min_should
        }
        other => {
            return Err(ApiError::illegal_argument(format!(
                "Query type [{other}] is not supported for API Key query"
            )));
        }
    })
}

/// Sort keys: `"name"`, `{"name": "desc"}`, `{"name": {"order": "desc"}}`; unknown fields are
/// skipped.
pub(super) fn sort_keys(v: Option<&Value>) -> Vec<(Field, bool)> {
    let items = match v {
        Some(Value::Array(a)) => a.clone(),
        Some(v @ (Value::String(_) | Value::Object(_))) => vec![v.clone()],
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for item in items {
        let (name, desc) = match &item {
            Value::String(s) => (s.clone(), false),
            Value::Object(o) => match o.iter().next() {
                Some((f, Value::String(ord))) => (f.clone(), ord.eq_ignore_ascii_case("desc")),
                Some((f, Value::Object(spec))) => (
                    f.clone(),
                    spec.get("order").and_then(Value::as_str).is_some_and(|o| o.eq_ignore_ascii_case("desc")),
                ),
                Some((f, _)) => (f.clone(), false),
                None => continue,
            },
            _ => continue,
        };
        if let Some(f) = Field::parse(&name) {
            out.push((f, desc));
        }
    }
    out
}

/// Orders JSON sort values: missing last, numbers numerically, otherwise as text.
pub(super) fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().unwrap_or(0.0).partial_cmp(&y.as_f64().unwrap_or(0.0)).unwrap_or(Ordering::Equal)
        }
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => text(a).cmp(&text(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::record;
    use super::*;

    #[test]
    fn query_subset() {
        let k = record("elastic", "reserved", "my-key");
        let t = |q: Value| matches(&q, "abc", &k).unwrap();
        assert!(t(json!({ "match_all": {} })));
        assert!(t(json!({ "term": { "name": "my-key" } })));
        assert!(t(json!({ "term": { "name": { "value": "MY-KEY", "case_insensitive": true } } })));
        assert!(!t(json!({ "term": { "name": "other" } })));
        assert!(t(json!({ "terms": { "username": ["x", "elastic"] } })));
        assert!(t(json!({ "prefix": { "realm_name": "res" } })));
        assert!(t(json!({ "wildcard": { "name": "my-*" } })));
        assert!(t(json!({ "wildcard": { "name": "m?-k*" } })));
        assert!(t(json!({ "wildcard": { "name": "my\\-k*" } })));
        assert!(!t(json!({ "wildcard": { "name": "my\\*" } })));
        assert!(t(json!({ "wildcard": { "name": { "wildcard": "MY-*", "case_insensitive": true } } })));
        assert!(!t(json!({ "wildcard": { "name": "MY-*" } })));
        assert!(t(json!({ "term": { "invalidated": false } })));
        assert!(t(json!({ "term": { "metadata.env": "prod" } })));
        assert!(t(json!({ "term": { "metadata.tier.level": "2" } })));
        assert!(t(json!({ "ids": { "values": ["abc"] } })));
        assert!(!t(json!({ "exists": { "field": "expiration" } })));
        assert!(t(json!({ "range": { "creation": { "gte": 5, "lt": "now" } } })));
        assert!(t(
            json!({ "bool": { "must": [{ "term": { "id": "abc" } }], "must_not": { "term": { "name": "x" } } } })
        ));
        assert!(t(
            json!({ "bool": { "should": [{ "term": { "name": "x" } }, { "term": { "name": "my-key" } }] } })
        ));
        assert!(!t(json!({ "bool": { "filter": [{ "term": { "name": "x" } }] } })));
        let e = matches(&json!({ "term": { "api_key_hash": "x" } }), "abc", &k).unwrap_err();
        assert_eq!(e.reason, "Field [api_key_hash] is not allowed for querying or aggregation");
        assert!(matches(&json!({ "script": {} }), "abc", &k).is_err());
    }

    #[test]
    fn sort_specs() {
        let keys = sort_keys(Some(
            &json!(["name", { "creation": { "order": "desc" } }, { "nope": "asc" }, "_score"]),
        ));
        assert_eq!(keys, vec![(Field::Name, false), (Field::Creation, true)]);
        assert_eq!(compare(&json!(1), &Value::Null), Ordering::Less);
        assert_eq!(compare(&json!(10), &json!(9)), Ordering::Greater);
    }
}
