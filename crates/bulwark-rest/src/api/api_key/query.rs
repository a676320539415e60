//! `_security/_query/api_key`: the subset of the query DSL, sort and field names Elasticsearch
//! allows there, evaluated over stored keys on the blocking pool (every key is read, matched,
//! sorted and rendered: work that grows with the number of keys stays off the async workers).

use std::cmp::Ordering;
use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use bulwark_security::authn::ApiKeyRecord;
use bulwark_security::authz::{Action, beyond_itself};
use serde_json::{Map, Value, json};

use super::{Scope, all_keys, caller, flag, limited_by, render, scope};
use crate::blocking::blocking;
use crate::body::{self, known_fields};
use crate::caller::Caller;
use crate::security_query::{self as sq, Queryable, compare};
use crate::{ApiError, RestState};

/// The body fields of `_security/_query/api_key`.
pub const QUERY_KEY_FIELDS: &[&str] =
    &["query", "from", "size", "sort", "search_after", "aggs", "aggregations"];

/// `GET|POST /_security/_query/api_key` `{query?, from?, size?, sort?, search_after?, aggs?}`
pub async fn query(
    State(state): State<RestState>,
    who: Caller,
    Query(params): Query<HashMap<String, String>>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let a = caller(&state, who)?;
    let with_limited_by = flag(&params, "with_limited_by")?;
    let m = body::object(&bytes, false)?;
    known_fields(&m, "query_api_keys_request", QUERY_KEY_FIELDS)?;
    let bound = scope(&state, &a, Action::QueryApiKey)?;
    if with_limited_by && matches!(bound, Scope::Itself(_)) {
        // The descriptors a key is limited by need `manage_api_key` or more.
        return Err(beyond_itself(&a, Action::QueryApiKey).into());
    }
    blocking("the query", move || search(&state, &m, &bound, with_limited_by)).await?.map(Json)
}

/// The answer of a query request over the keys `bound` reaches.
fn search(
    state: &RestState,
    m: &Map<String, Value>,
    bound: &Scope,
    with_limited_by: bool,
) -> Result<Value, ApiError> {
    let (from, size) = sq::from_size(m)?;
    let q = m.get("query").cloned().unwrap_or_else(|| json!({ "match_all": {} }));
    let mut hits = Vec::new();
    for (id, k) in all_keys(state)? {
        if bound.reaches(&id, &k) && matches(&q, &id, &k)? {
            hits.push((id, k));
        }
    }
    let aggregations = match (m.get("aggs"), m.get("aggregations")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::parse(
                "Found two aggregation definitions: use [aggs] or [aggregations], not both",
            ));
        }
        (Some(spec), None) | (None, Some(spec)) => Some(super::aggs::aggregate(spec, &hits)?),
        (None, None) => None,
    };
    let keys = sort_keys(m.get("sort"))?;
    let sort_values = |k: &ApiKeyRecord| -> Vec<Value> {
        keys.iter().map(|(f, _)| f.values(k).into_iter().next().unwrap_or(Value::Null)).collect()
    };
    let ordering = |x: &[Value], y: &[Value]| -> Ordering {
        keys.iter()
            .zip(x.iter().zip(y))
            .map(|((_, desc), (a, b))| if *desc { compare(b, a) } else { compare(a, b) })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    };
    let mut sorted: Vec<(Vec<Value>, String, ApiKeyRecord)> =
        hits.into_iter().map(|(id, k)| (sort_values(&k), id, k)).collect();
    sorted.sort_by(|x, y| ordering(&x.0, &y.0));
    // Every match counts towards the total, those before `search_after` too (Lucene counts a
    // hit before comparing it with the `after` values).
    let total = sorted.len();
    if let Some(after) = sq::search_after(m, keys.len())? {
        sorted.retain(|(sv, _, _)| ordering(sv, after) == Ordering::Greater);
    }
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
    let mut out = json!({ "total": total, "count": page.len(), "api_keys": page });
    if let Some(aggs) = aggregations {
        out["aggregations"] = aggs;
    }
    Ok(out)
}

/// A queryable field.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Field {
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
    pub(super) fn parse(f: &str) -> Option<Field> {
        Some(match f {
            "name" => Field::Name,
            "username" => Field::Username,
            "realm_name" => Field::RealmName,
            "type" => Field::Type,
            "creation" => Field::Creation,
            "expiration" => Field::Expiration,
            "invalidated" => Field::Invalidated,
            "invalidation" => Field::Invalidation,
            // The whole metadata object: every value in it, as keywords (a flattened field).
            "metadata" => Field::Metadata(String::new()),
            m => Field::Metadata(m.strip_prefix("metadata.").filter(|p| !p.is_empty())?.to_owned()),
        })
    }

    pub(super) fn is_date(&self) -> bool {
        matches!(self, Field::Creation | Field::Expiration | Field::Invalidation)
    }

    /// The field's values in one key (none when it is missing).
    pub(super) fn values(&self, k: &ApiKeyRecord) -> Vec<Value> {
        let one = |v: Value| vec![v];
        match self {
            Field::Name => one(json!(k.name)),
            Field::Username => one(json!(k.username)),
            Field::RealmName => one(json!(k.realm)),
            Field::Type => one(json!(k.key_type)),
            Field::Creation => one(json!(k.creation)),
            Field::Expiration => k.expiration.map(|e| json!(e)).into_iter().collect(),
            Field::Invalidated => one(json!(k.invalidated)),
            Field::Invalidation => k.invalidation.map(|e| json!(e)).into_iter().collect(),
            Field::Metadata(path) => sq::values_at(&k.metadata, path),
        }
    }
}

/// One stored key, as the query language sees it.
struct KeyDoc<'a> {
    id: &'a str,
    k: &'a ApiKeyRecord,
}

impl Queryable for KeyDoc<'_> {
    type Field = Field;

    fn field(name: &str) -> Option<Field> {
        Field::parse(name)
    }

    fn values(&self, f: &Field) -> Vec<Value> {
        f.values(self.k)
    }

    fn is_date(f: &Field) -> bool {
        f.is_date()
    }

    fn is_boolean(f: &Field) -> bool {
        *f == Field::Invalidated
    }

    fn id(&self) -> &str {
        self.id
    }

    fn pattern_fields() -> &'static [&'static str] {
        SIMPLE_QUERY_FIELDS
    }
}

/// The fields `*` stands for in a `simple_query_string` (Elasticsearch's list: not `id`, and
/// `metadata` as one flattened field, never its sub-fields).
const SIMPLE_QUERY_FIELDS: &[&str] = &[
    "username",
    "realm_name",
    "name",
    "type",
    "creation",
    "expiration",
    "invalidated",
    "invalidation",
    "metadata",
];

/// Whether the key matches a query (the subset of the query DSL Elasticsearch allows here).
pub(super) fn matches(q: &Value, id: &str, k: &ApiKeyRecord) -> Result<bool, ApiError> {
    sq::matches(q, &KeyDoc { id, k }, "API Key")
}

/// Sort keys over the key fields (another field is refused).
pub(super) fn sort_keys(v: Option<&Value>) -> Result<Vec<(Field, bool)>, ApiError> {
    sq::sort_keys::<KeyDoc<'_>>(v)
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
            json!({ "bool": { "must": [{ "ids": { "values": ["abc"] } }], "must_not": { "term": { "name": "x" } } } })
        ));
        assert!(t(
            json!({ "bool": { "should": [{ "term": { "name": "x" } }, { "term": { "name": "my-key" } }] } })
        ));
        assert!(!t(json!({ "bool": { "filter": [{ "term": { "name": "x" } }] } })));
        let e = matches(&json!({ "term": { "api_key_hash": "x" } }), "abc", &k).unwrap_err();
        assert_eq!(e.reason, "Field [api_key_hash] is not allowed for querying or aggregation");
        // The id is queried with `ids` only, as in Elasticsearch.
        for f in ["id", "_id"] {
            let e = matches(&json!({ "term": { f: "abc" } }), "abc", &k).unwrap_err();
            assert_eq!(e.reason, format!("Field [{f}] is not allowed for querying or aggregation"));
        }
        assert!(matches(&json!({ "script": {} }), "abc", &k).is_err());
    }

    #[test]
    fn sort_specs() {
        let keys = sort_keys(Some(
            &json!(["name", { "creation": { "order": "desc" } }, "_doc", { "type": "DESC" }]),
        ));
        assert_eq!(keys.ok(), Some(vec![(Field::Name, false), (Field::Creation, true), (Field::Type, true)]));
        let refused = |v: Value| sort_keys(Some(&v)).unwrap_err().reason;
        assert_eq!(
            refused(json!([{ "nope": "asc" }])),
            "Field [nope] is not allowed for querying or aggregation"
        );
        assert_eq!(refused(json!("_score")), "Field [_score] is not allowed for querying or aggregation");
        assert_eq!(
            refused(json!("na*")),
            "Field name pattern [na*] is not allowed for querying or aggregation"
        );
        assert_eq!(refused(json!({ "name": "up" })), "Unknown SortOrder [up]");
        assert_eq!(compare(&json!(1), &Value::Null), Ordering::Less);
        assert_eq!(compare(&json!(10), &json!(9)), Ordering::Greater);
    }
}
