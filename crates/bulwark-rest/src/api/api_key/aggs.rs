//! `aggs` of `_query/api_key`, computed over the keys the query matched (all of them, not only
//! the page): the types Elasticsearch offers there — `terms`, `value_count`, `cardinality`,
//! `missing`, `filter`, `filters`, and in `buckets.rs` `range`, `date_range` and `composite`.
//! Any other type is refused naming it, as Elasticsearch refuses the types it does not allow.

use std::collections::{BTreeMap, BTreeSet};

use bulwark_security::authn::ApiKeyRecord;
use serde_json::{Map, Value, json};

use super::query::{Field, matches};
use crate::ApiError;

/// The `aggregations` object for `keys` (the matched keys, with their ids).
pub(super) fn aggregate(spec: &Value, keys: &[(String, ApiKeyRecord)]) -> Result<Value, ApiError> {
    let Value::Object(named) = spec else {
        return Err(ApiError::parse("[aggs] must be an object of named aggregations"));
    };
    let mut out = Map::new();
    for (name, agg) in named {
        out.insert(name.clone(), one(name, agg, keys)?);
    }
    Ok(Value::Object(out))
}

fn one(name: &str, agg: &Value, keys: &[(String, ApiKeyRecord)]) -> Result<Value, ApiError> {
    let Some((kind, body)) = agg.as_object().filter(|o| o.len() == 1).and_then(|o| o.iter().next()) else {
        return Err(ApiError::parse(format!(
            "Expected exactly one aggregation type for [{name}] (sub-aggregations are not supported here)"
        )));
    };
    let field = || -> Result<Field, ApiError> {
        let f = body
            .get("field")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::parse(format!("[{kind}] aggregation [{name}] requires [field]")))?;
        Field::parse(f).ok_or_else(|| {
            ApiError::illegal_argument(format!("Field [{f}] is not allowed for querying or aggregation"))
        })
    };
    let values = |f: &Field| keys.iter().flat_map(|(_, k)| f.values(k)).collect::<Vec<_>>();
    Ok(match kind.as_str() {
        "value_count" => json!({ "value": values(&field()?).len() }),
        "cardinality" => {
            let distinct: BTreeSet<String> = values(&field()?).iter().map(Value::to_string).collect();
            json!({ "value": distinct.len() })
        }
        "missing" => {
            let f = field()?;
            json!({ "doc_count": keys.iter().filter(|(_, k)| f.values(k).is_empty()).count() })
        }
        "terms" => terms(name, body, &field()?, keys)?,
        "range" | "date_range" => super::buckets::range(name, kind, body, keys)?,
        "composite" => super::buckets::composite(name, body, keys)?,
        "filter" => json!({ "doc_count": count_matching(body, keys)? }),
        "filters" => {
            let Some(Value::Object(filters)) = body.get("filters") else {
                return Err(ApiError::parse(format!(
                    "[filters] aggregation [{name}] requires named [filters]"
                )));
            };
            let mut buckets = Map::new();
            for (bucket, q) in filters {
                buckets.insert(bucket.clone(), json!({ "doc_count": count_matching(q, keys)? }));
            }
            json!({ "buckets": buckets })
        }
        other => {
            return Err(ApiError::illegal_argument(format!(
                "Unsupported API Keys agg [{name}] of type [{other}]"
            )));
        }
    })
}

fn count_matching(q: &Value, keys: &[(String, ApiKeyRecord)]) -> Result<usize, ApiError> {
    let mut n = 0;
    for (id, k) in keys {
        n += usize::from(matches(q, id, k)?);
    }
    Ok(n)
}

/// `terms`: buckets by value, the most frequent first (ties by key), `size` of them (10).
fn terms(
    name: &str,
    body: &Value,
    field: &Field,
    keys: &[(String, ApiKeyRecord)],
) -> Result<Value, ApiError> {
    if let Some(k) = body.as_object().and_then(|o| o.keys().find(|k| !matches!(k.as_str(), "field" | "size")))
    {
        return Err(ApiError::parse(format!("[terms] aggregation [{name}] does not support [{k}] here")));
    }
    let size = match body.get("size") {
        None => 10,
        Some(v) => v.as_u64().and_then(|n| usize::try_from(n).ok()).filter(|n| *n > 0).ok_or_else(|| {
            ApiError::parse(format!("[size] must be greater than 0. Found [{v}] in [{name}]"))
        })?,
    };
    let mut counts: BTreeMap<String, (Value, u64)> = BTreeMap::new();
    for (_, k) in keys {
        for v in field.values(k) {
            counts.entry(v.to_string()).or_insert((v, 0)).1 += 1;
        }
    }
    let mut buckets: Vec<(Value, u64)> = counts.into_values().collect();
    buckets.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| crate::security_query::compare(&a.0, &b.0)));
    let other: u64 = buckets.iter().skip(size).map(|b| b.1).sum();
    let buckets: Vec<Value> = buckets
        .into_iter()
        .take(size)
        .map(|(key, doc_count)| {
            let mut b = Map::new();
            let shown = match &key {
                // Shown with the field's own format (`epoch_millis` in the security index).
                Value::Number(n) if field.is_date() => Some(n.to_string()),
                Value::Bool(v) => Some(v.to_string()),
                _ => None,
            };
            b.insert("key".into(), if let Value::Bool(v) = key { json!(u8::from(v)) } else { key });
            if let Some(s) = shown {
                b.insert("key_as_string".into(), json!(s));
            }
            b.insert("doc_count".into(), json!(doc_count));
            Value::Object(b)
        })
        .collect();
    Ok(json!({ "doc_count_error_upper_bound": 0, "sum_other_doc_count": other, "buckets": buckets }))
}
