//! `?filter_path=`: Elasticsearch's response filter, applied once to every JSON response.
//!
//! A comma-separated list of dotted paths: `*` matches any part of one field name (`hits.*._id`,
//! `agg*`), `**` any number of levels (`**._id`), and a leading `-` excludes instead of
//! includes. Arrays are transparent (a path applies to each element). With inclusions only the
//! matching fields are kept (objects left empty disappear, an answer with nothing left is `{}`);
//! exclusions then remove what they match.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bulwark_pattern::{Syntax, matches};
use serde_json::{Map, Value};

/// One path: its parts (`**` for any number of levels).
type Path = Vec<String>;

/// The inclusion and exclusion paths of a `filter_path` value.
#[derive(Debug, Default, PartialEq)]
struct Filter {
    include: Vec<Path>,
    exclude: Vec<Path>,
}

impl Filter {
    fn parse(spec: &str) -> Filter {
        let mut f = Filter::default();
        for raw in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (list, path) = match raw.strip_prefix('-') {
                Some(p) => (&mut f.exclude, p),
                None => (&mut f.include, raw),
            };
            let parts: Path = path.split('.').filter(|p| !p.is_empty()).map(str::to_owned).collect();
            if !parts.is_empty() {
                list.push(parts);
            }
        }
        f
    }

    fn apply(&self, v: Value) -> Value {
        let mut v = if self.include.is_empty() {
            v
        } else {
            include(&v, &self.include).unwrap_or_else(|| Value::Object(Map::new()))
        };
        if !self.exclude.is_empty() {
            exclude(&mut v, &self.exclude);
        }
        v
    }
}

/// The paths that continue below field `key`, and whether one of them ends at it.
fn step(paths: &[Path], key: &str) -> (Vec<Path>, bool) {
    let mut next = Vec::new();
    let mut ends = false;
    let mut at = |rest: &[String], next: &mut Vec<Path>| {
        if rest.is_empty() {
            ends = true;
        } else {
            next.push(rest.to_vec());
        }
    };
    for p in paths {
        if p[0] == "**" {
            // `**` stays for deeper levels, or is done and the rest applies here.
            next.push(p.clone());
            match p.get(1) {
                None => at(&[], &mut next),
                Some(first) if matches(first, key, Syntax::STAR) => at(&p[2..], &mut next),
                Some(_) => {}
            }
        } else if matches(&p[0], key, Syntax::STAR) {
            at(&p[1..], &mut next);
        }
    }
    (next, ends)
}

/// What `paths` keep of `v` (`None`: nothing).
fn include(v: &Value, paths: &[Path]) -> Option<Value> {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, child) in m {
                let (next, ends) = step(paths, k);
                if ends {
                    out.insert(k.clone(), child.clone());
                } else if !next.is_empty()
                    && let Some(kept) = include(child, &next)
                {
                    out.insert(k.clone(), kept);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let kept: Vec<Value> = items.iter().filter_map(|i| include(i, paths)).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        // A scalar where the path wants more levels.
        _ => None,
    }
}

/// Removes what `paths` match from `v`.
fn exclude(v: &mut Value, paths: &[Path]) {
    match v {
        Value::Object(m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                let (next, ends) = step(paths, &k);
                if ends {
                    m.remove(&k);
                } else if !next.is_empty()
                    && let Some(child) = m.get_mut(&k)
                {
                    exclude(child, &next);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| exclude(i, paths)),
        _ => {}
    }
}

/// The `filter_path` of a query string, if any.
fn requested(req: &Request) -> Option<String> {
    let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(req.uri()).ok()?.0;
    pairs.into_iter().rev().find(|(k, _)| k == "filter_path").map(|(_, v)| v)
}

/// The middleware: filters a JSON response body.
pub async fn filter(req: Request, next: Next) -> Response {
    let spec = requested(&req);
    let resp = next.run(req).await;
    let Some(spec) = spec else { return resp };
    let is_json = resp.headers().get(header::CONTENT_TYPE).is_some_and(|ct| {
        ct.as_bytes().starts_with(b"application/json")
            || ct.as_bytes().starts_with(b"application/vnd.elasticsearch+json")
    });
    if !is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let filtered = serde_json::to_vec(&Filter::parse(&spec).apply(v)).unwrap_or_else(|_| bytes.to_vec());
    let mut resp = Response::from_parts(parts, Body::from(filtered));
    resp.headers_mut().remove(header::CONTENT_LENGTH);
    resp
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sample() -> Value {
        json!({
            "took": 3,
            "hits": {"total": {"value": 2}, "hits": [
                {"_id": "1", "_source": {"a": 1, "b": {"c": 2}}},
                {"_id": "2", "_source": {"a": 3}}
            ]},
            "aggregations": {"x": {"buckets": [{"key": "k", "doc_count": 1}]}}
        })
    }

    #[test]
    fn filters_as_elasticsearch() {
        let f = |s: &str| Filter::parse(s).apply(sample());
        assert_eq!(f("hits.hits._id"), json!({"hits": {"hits": [{"_id": "1"}, {"_id": "2"}]}}));
        assert_eq!(f("took,hits.total"), json!({"took": 3, "hits": {"total": {"value": 2}}}));
        assert_eq!(f("hits.*._id"), json!({"hits": {"hits": [{"_id": "1"}, {"_id": "2"}]}}));
        assert_eq!(f("**.c"), json!({"hits": {"hits": [{"_source": {"b": {"c": 2}}}]}}));
        assert_eq!(f("**.doc_count"), json!({"aggregations": {"x": {"buckets": [{"doc_count": 1}]}}}));
        assert_eq!(f("agg*"), json!({"aggregations": sample()["aggregations"]}));
        assert_eq!(f("nothing.here"), json!({}));
        let mut expected = sample();
        expected["hits"]["hits"][0].as_object_mut().unwrap().remove("_source");
        expected["hits"]["hits"][1].as_object_mut().unwrap().remove("_source");
        assert_eq!(f("-hits.hits._source"), expected);
        assert_eq!(f("hits.hits,-**._source"), json!({"hits": {"hits": [{"_id": "1"}, {"_id": "2"}]}}));
    }
}
