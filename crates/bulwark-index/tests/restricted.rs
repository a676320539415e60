//! Restricted reads (field- and document-level security): hidden fields are invisible to
//! queries, aggregations, sorts and `_source`; the filter limits hits, counts and aggregations.

mod common;

use std::sync::Arc;

use bulwark_index::{
    Index, Query, Restriction, Restrictions, SearchRequest, count_many_restricted, matching,
};
use serde_json::{Value, json};

fn hr() -> Index {
    common::index_with(
        "hr",
        json!({"properties": {
            "name": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
            "dept": {"type": "keyword"},
            "salary": {"type": "long"},
            "addr": {"properties": {"city": {"type": "keyword"}, "zip": {"type": "keyword"}}}
        }}),
        &[
            ("1", json!({"name": "ann", "dept": "eng", "salary": 100, "addr": {"city": "x", "zip": "1"}})),
            ("2", json!({"name": "bob", "dept": "ops", "salary": 200, "addr": {"zip": "2"}})),
            ("3", json!({"name": "cyd", "dept": "eng", "salary": 300})),
        ],
    )
}

/// `name`, `dept` and `addr.city` visible; only `dept: eng` documents.
fn eng() -> Restrictions {
    let visible: &'static [&'static str] = &["name", "dept", "addr.city"];
    let filter = Query::parse(&json!({"term": {"dept": "eng"}})).unwrap();
    let mut r = Restrictions::none();
    r.insert(
        "hr",
        Restriction::new(
            Some(Arc::new(move |f: &str| f.starts_with('_') || visible.contains(&f))),
            Some(filter),
        ),
    );
    r
}

fn search(index: &Index, body: Value) -> Value {
    let req = SearchRequest::parse(Some(&body), Vec::<(String, String)>::new()).unwrap().restricted(eng());
    index.search(&req).unwrap().to_json()
}

fn ids(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["hits"]["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| h["_id"].as_str().unwrap_or("").to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn documents_and_sources_are_limited() {
    let index = hr();
    let all = search(&index, json!({}));
    assert_eq!(ids(&all), ["1", "3"]);
    assert_eq!(all["hits"]["total"]["value"], 2);
    let one = search(&index, json!({"query": {"ids": {"values": ["1"]}}}));
    assert_eq!(
        one["hits"]["hits"][0]["_source"],
        json!({"name": "ann", "dept": "eng", "addr": {"city": "x"}})
    );
    assert_eq!(ids(&search(&index, json!({"query": {"term": {"dept": "ops"}}}))), Vec::<String>::new());
}

#[test]
fn hidden_fields_match_nothing() {
    let index = hr();
    for q in [
        json!({"term": {"salary": 100}}),
        json!({"range": {"salary": {"gte": 0}}}),
        json!({"exists": {"field": "salary"}}),
        json!({"exists": {"field": "sal*"}}),
        json!({"exists": {"field": "addr.zip"}}),
        json!({"wildcard": {"addr.zip": "*"}}),
        json!({"query_string": {"query": "salary:100"}}),
        json!({"query_string": {"query": "100"}}),
        json!({"match": {"name.keyword": "ann"}}),
        json!({"multi_match": {"query": "1", "fields": ["*"]}}),
    ] {
        assert_eq!(ids(&search(&index, json!({"query": q}))), Vec::<String>::new(), "{q}");
    }
    assert_eq!(ids(&search(&index, json!({"query": {"exists": {"field": "addr"}}}))), ["1"]);
    assert_eq!(ids(&search(&index, json!({"query": {"query_string": {"query": "ann"}}}))), ["1"]);
    assert_eq!(ids(&search(&index, json!({"query": {"query_string": {"query": "*"}}}))), ["1", "3"]);
}

#[test]
fn aggregations_and_sorts_do_not_see_hidden_fields() {
    let index = hr();
    let r = search(
        &index,
        json!({"size": 0, "aggs": {"pay": {"sum": {"field": "salary"}}, "depts": {"terms": {"field": "dept"}}, "zips": {"terms": {"field": "addr.zip"}}}}),
    );
    assert_eq!(r["aggregations"]["pay"]["value"], 0.0);
    assert_eq!(r["aggregations"]["depts"]["buckets"], json!([{"key": "eng", "doc_count": 2}]));
    assert_eq!(r["aggregations"]["zips"]["buckets"], json!([]));
    let sorted = search(&index, json!({"sort": [{"salary": "desc"}]}));
    assert_eq!(ids(&sorted), ["1", "3"]);
    for hit in sorted["hits"]["hits"].as_array().into_iter().flatten() {
        assert!(hit["sort"][0].is_null() || hit["sort"][0].as_i64().is_some_and(|v| v == i64::MIN), "{hit}");
    }
    let eng = eng();
    assert_eq!(count_many_restricted(&[&index], &Query::match_all(), &eng).unwrap(), 2);
    assert_eq!(
        count_many_restricted(
            &[&index],
            &Query::parse(&json!({"exists": {"field": "salary"}})).unwrap(),
            &eng
        )
        .unwrap(),
        0
    );
}

#[test]
fn real_time_documents_are_checked_against_the_filter() {
    let index = hr();
    let filter = Query::parse(&json!({"term": {"dept": "eng"}})).unwrap();
    let docs = vec![
        ("9".to_owned(), json!({"dept": "eng", "salary": 1})),
        ("8".to_owned(), json!({"dept": "ops"})),
        ("7".to_owned(), json!({"salary": "not a number"})),
    ];
    assert_eq!(matching(index.mapping(), &docs, &filter).unwrap(), [true, false, false]);
}
