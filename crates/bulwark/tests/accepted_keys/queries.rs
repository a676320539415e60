//! Rows for the bodies of the security `_query` APIs: `_query/role` (the same parser as
//! `_query/user`) and `_query/api_key`.

use serde_json::{Value, json};

use super::{Check, Ctx};

fn roles(c: &Ctx, body: &Value) -> Value {
    c.admin("PUT", "/_security/role/aq_r1", &json!({"cluster": ["monitor"]}));
    c.admin("PUT", "/_security/role/aq_r2", &json!({"cluster": ["monitor"]}));
    let (status, v) = c.call(&c.elastic, "POST", "/_security/_query/role", body);
    assert_eq!(status, 200, "{body}: {v}");
    v
}

fn names(v: &Value, list: &str, field: &str) -> Vec<String> {
    v[list].as_array().into_iter().flatten().filter_map(|r| r[field].as_str().map(str::to_owned)).collect()
}

fn prefix() -> Value {
    json!({"prefix": {"name": "aq_r"}})
}

pub const SECURITY_QUERY: &[(&str, Check)] = &[
    ("query", |c| {
        let v = roles(c, &json!({"query": {"term": {"name": "aq_r2"}}}));
        assert_eq!(names(&v, "roles", "name"), ["aq_r2"], "{v}");
    }),
    ("from", |c| {
        let v = roles(c, &json!({"query": prefix(), "sort": ["name"], "from": 1}));
        assert_eq!((names(&v, "roles", "name"), &v["total"]), (vec!["aq_r2".to_owned()], &json!(2)), "{v}");
    }),
    ("size", |c| {
        let v = roles(c, &json!({"query": prefix(), "size": 0}));
        assert_eq!((&v["count"], &v["total"]), (&json!(0), &json!(2)), "{v}");
    }),
    ("sort", |c| {
        let v = roles(c, &json!({"query": prefix(), "sort": [{"name": "desc"}]}));
        assert_eq!(names(&v, "roles", "name"), ["aq_r2", "aq_r1"], "{v}");
        assert_eq!(v["roles"][0]["_sort"], json!(["aq_r2"]), "{v}");
    }),
    ("search_after", |c| {
        let v = roles(c, &json!({"query": prefix(), "sort": ["name"], "search_after": ["aq_r1"]}));
        assert_eq!(names(&v, "roles", "name"), ["aq_r2"], "{v}");
    }),
];

fn keys(c: &Ctx, body: &Value) -> Value {
    for name in ["aq-k1", "aq-k2"] {
        let (_, found) = c.call(&c.elastic, "GET", &format!("/_security/api_key?name={name}"), &Value::Null);
        if found["api_keys"].as_array().is_none_or(Vec::is_empty) {
            c.admin("POST", "/_security/api_key", &json!({"name": name, "metadata": {"k": name}}));
        }
    }
    let (status, v) = c.call(&c.elastic, "POST", "/_security/_query/api_key", body);
    assert_eq!(status, 200, "{body}: {v}");
    v
}

fn key_prefix() -> Value {
    json!({"prefix": {"name": "aq-k"}})
}

pub const API_KEY_QUERY: &[(&str, Check)] = &[
    ("query", |c| {
        let v = keys(c, &json!({"query": {"term": {"name": "aq-k2"}}}));
        assert_eq!(names(&v, "api_keys", "name"), ["aq-k2"], "{v}");
    }),
    ("from", |c| {
        let v = keys(c, &json!({"query": key_prefix(), "sort": ["name"], "from": 1}));
        assert_eq!(names(&v, "api_keys", "name"), ["aq-k2"], "{v}");
    }),
    ("size", |c| {
        let v = keys(c, &json!({"query": key_prefix(), "size": 0}));
        assert_eq!((&v["count"], &v["total"]), (&json!(0), &json!(2)), "{v}");
    }),
    ("sort", |c| {
        let v = keys(c, &json!({"query": key_prefix(), "sort": [{"name": "desc"}]}));
        assert_eq!(names(&v, "api_keys", "name"), ["aq-k2", "aq-k1"], "{v}");
    }),
    ("search_after", |c| {
        let v = keys(c, &json!({"query": key_prefix(), "sort": ["name"], "search_after": ["aq-k1"]}));
        assert_eq!(names(&v, "api_keys", "name"), ["aq-k2"], "{v}");
    }),
    ("aggs", |c| {
        let v = keys(c, &json!({"query": key_prefix(), "aggs": {"n": {"value_count": {"field": "name"}}}}));
        assert_eq!(v["aggregations"]["n"]["value"], 2, "{v}");
    }),
    ("aggregations", |c| {
        let v = keys(
            c,
            &json!({"query": key_prefix(), "aggregations": {"n": {"cardinality": {"field": "metadata.k"}}}}),
        );
        assert_eq!(v["aggregations"]["n"]["value"], 2, "{v}");
    }),
];
