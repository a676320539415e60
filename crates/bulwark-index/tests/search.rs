//! Sorting, pagination, `_source` filtering, totals, several indices, and the response shape.

mod common;

use bulwark_index::{Index, Mapping, Relation, SearchRequest, search_many};
use common::{hit_ids, index_with, search};
use serde_json::{Value, json};

const WORDS: &[&str] = &["alpha", "bravo", "charlie", "delta", "echo"];

/// 60 documents: `n` = i, `k` = a word, `f` = i / 4, `d` a day in 2024, some without `opt`.
fn numbered(name: &str, offset: u64) -> Index {
    let mapping = json!({"properties": {
        "n": {"type": "long"}, "k": {"type": "keyword"}, "f": {"type": "double"},
        "d": {"type": "date"}, "opt": {"type": "integer"}, "t": {"type": "text"}
    }});
    let docs: Vec<(String, Value)> = (0..60u64)
        .map(|i| {
            let n = i + offset;
            let mut doc = json!({
                "n": n, "k": WORDS[(n % 5) as usize], "f": n as f64 / 4.0,
                "d": format!("2024-01-{:02}", n % 28 + 1), "t": format!("doc {}", WORDS[(n % 5) as usize]),
                "nested": {"a": n, "b": "x"}, "tags": ["t1", "t2"]
            });
            if !n.is_multiple_of(3) {
                doc["opt"] = json!(n % 7);
            }
            (format!("{name}-{n}"), doc)
        })
        .collect();
    let docs: Vec<(&str, Value)> = docs.iter().map(|(id, d)| (id.as_str(), d.clone())).collect();
    index_with(name, mapping, &docs)
}

fn ns(resp: &bulwark_index::SearchResponse) -> Vec<i64> {
    resp.hits.iter().map(|h| h.source.as_ref().unwrap()["n"].as_i64().unwrap()).collect()
}

#[test]
fn sorts_by_fields_and_pages() {
    let index = numbered("a", 0);
    let resp = search(&[&index], json!({"sort": [{"n": "desc"}], "size": 5}));
    assert_eq!(ns(&resp), vec![59, 58, 57, 56, 55]);
    assert_eq!(resp.hits[0].sort, Some(vec![json!(59)]));
    assert_eq!(resp.hits[0].score, None, "no score when sorting by a field");
    assert_eq!(resp.max_score, None);

    // Pages concatenate to the full order.
    let mut all = Vec::new();
    for page in 0..6 {
        let resp = search(&[&index], json!({"sort": ["n"], "from": page * 10, "size": 10}));
        all.extend(ns(&resp));
    }
    assert_eq!(all, (0..60).collect::<Vec<i64>>());

    // Keyword then numeric descending.
    let resp = search(&[&index], json!({"sort": [{"k": "asc"}, {"n": {"order": "desc"}}], "size": 3}));
    assert_eq!(ns(&resp), vec![55, 50, 45]);
    assert_eq!(resp.hits[0].sort, Some(vec![json!("alpha"), json!(55)]));

    // Doubles and dates.
    let resp = search(&[&index], json!({"sort": [{"f": "desc"}], "size": 2}));
    assert_eq!(ns(&resp), vec![59, 58]);
    assert_eq!(resp.hits[0].sort, Some(vec![json!(14.75)]));
    let resp = search(&[&index], json!({"sort": [{"d": "desc"}, {"n": "asc"}], "size": 3}));
    assert_eq!(ns(&resp), vec![27, 55, 26]);
    assert_eq!(resp.hits[0].sort, Some(vec![json!(1_706_400_000_000i64), json!(27)]));

    // Missing values go last in either order unless asked first.
    let resp = search(&[&index], json!({"sort": [{"opt": "asc"}, "n"], "size": 60}));
    let order = ns(&resp);
    assert!(order[..40].iter().all(|n| n % 3 != 0) && order[40..].iter().all(|n| n % 3 == 0));
    assert_eq!(resp.hits[59].sort, Some(vec![Value::Null, json!(57)]));
    let resp =
        search(&[&index], json!({"sort": [{"opt": {"order": "desc", "missing": "_first"}}, "n"], "size": 1}));
    assert_eq!(ns(&resp), vec![0]);

    // _doc and _score.
    let resp = search(&[&index], json!({"sort": ["_doc"], "size": 3}));
    assert_eq!(resp.hits.len(), 3);
    let resp = search(
        &[&index],
        json!({"query": {"match": {"t": "alpha"}}, "sort": ["_score", {"n": "desc"}], "size": 2}),
    );
    assert_eq!(ns(&resp), vec![55, 50]);
    assert!(resp.hits[0].score.is_some() && resp.max_score.is_some());
    let resp = search(&[&index], json!({"sort": [{"n": "asc"}], "track_scores": true, "size": 1}));
    assert!(resp.hits[0].score.is_some());
}

#[test]
fn sort_errors_and_unmapped_fields() {
    let index = numbered("a", 0);
    let run = |body: Value| {
        let req = SearchRequest::parse(Some(&body), Vec::<(String, String)>::new())?;
        search_many(&[&index], &req)
    };
    let err = run(json!({"sort": ["t"]})).unwrap_err();
    assert_eq!(err.error_type(), "illegal_argument_exception");
    assert!(err.reason().starts_with("Text fields are not optimised"));
    let err = run(json!({"sort": ["nope"]})).unwrap_err();
    assert_eq!(err.error_type(), "query_shard_exception");
    assert_eq!(err.reason(), "No mapping found for [nope] in order to sort on");
    let resp = run(json!({"sort": [{"nope": {"unmapped_type": "long"}}, "n"], "size": 2})).unwrap();
    assert_eq!(ns(&resp), vec![0, 1]);
}

#[test]
fn search_after_continues_a_sort() {
    let index = numbered("a", 0);
    let first = search(&[&index], json!({"sort": [{"k": "asc"}, {"n": "asc"}], "size": 7}));
    let last = first.hits.last().unwrap().sort.clone().unwrap();
    let next =
        search(&[&index], json!({"sort": [{"k": "asc"}, {"n": "asc"}], "size": 7, "search_after": last}));
    let both = search(&[&index], json!({"sort": [{"k": "asc"}, {"n": "asc"}], "size": 14}));
    let mut joined = ns(&first);
    joined.extend(ns(&next));
    assert_eq!(joined, ns(&both));
}

#[test]
fn filters_source() {
    let index = numbered("a", 0);
    let one = |source: Value| {
        let resp = search(&[&index], json!({"query": {"term": {"n": 7}}, "_source": source}));
        resp.hits[0].source.clone()
    };
    assert_eq!(one(json!(false)), None);
    assert_eq!(one(json!("n")), Some(json!({"n": 7})));
    assert_eq!(one(json!(["n", "k"])), Some(json!({"n": 7, "k": "charlie"})));
    assert_eq!(one(json!("nested.*")), Some(json!({"nested": {"a": 7, "b": "x"}})));
    assert_eq!(
        one(json!({"includes": ["nested"], "excludes": ["nested.b"]})),
        Some(json!({"nested": {"a": 7}}))
    );
    assert_eq!(one(json!({"excludes": ["t*", "nested", "d", "f", "opt", "k"]})), Some(json!({"n": 7})));
    // URL parameters.
    let req = SearchRequest::parse(
        Some(&json!({"query": {"term": {"n": 7}}})),
        [("_source_includes", "n,k"), ("_source_excludes", "k")],
    )
    .unwrap();
    let resp = search_many(&[&index], &req).unwrap();
    assert_eq!(resp.hits[0].source, Some(json!({"n": 7})));
    let req = SearchRequest::parse(None, [("_source", "false"), ("q", "n:7")]).unwrap();
    let resp = search_many(&[&index], &req).unwrap();
    assert_eq!(hit_ids(&resp), vec!["a-7"]);
    assert_eq!(resp.hits[0].source, None);
}

#[test]
fn tracks_total_hits() {
    let mapping = json!({"properties": {"n": {"type": "long"}}});
    let mut index = Index::create_in_ram("big", Mapping::from_json(&mapping).unwrap()).unwrap();
    for i in 0..10_050 {
        index.apply(&i.to_string(), &json!({ "n": i })).unwrap();
    }
    index.refresh().unwrap();
    assert_eq!(index.doc_count(), 10_050);
    let resp = search(&[&index], json!({"size": 0}));
    assert_eq!(resp.total_json(), Some(json!({"value": 10_000, "relation": "gte"})));
    let resp = search(&[&index], json!({"size": 0, "track_total_hits": true}));
    assert_eq!(resp.total_json(), Some(json!({"value": 10_050, "relation": "eq"})));
    let resp = search(&[&index], json!({"size": 0, "track_total_hits": 100}));
    assert_eq!(resp.total.unwrap().relation, Relation::Gte);
    assert_eq!(resp.total.unwrap().value, 100);
    let resp = search(&[&index], json!({"size": 0, "track_total_hits": false}));
    assert_eq!(resp.total, None);
    assert!(resp.hits_json().get("total").is_none());
    let resp = search(&[&index], json!({"query": {"range": {"n": {"lt": 5}}}}));
    assert_eq!(resp.total_json(), Some(json!({"value": 5, "relation": "eq"})));
    let req = SearchRequest::parse(
        Some(&json!({"size": 0})),
        [("rest_total_hits_as_int", "true"), ("track_total_hits", "true")],
    )
    .unwrap();
    let resp = search_many(&[&index], &req).unwrap();
    assert_eq!(resp.hits_json()["total"], json!(10_050));
    // The result window.
    let err = SearchRequest::parse(Some(&json!({"from": 10_000, "size": 1})), Vec::<(String, String)>::new())
        .unwrap_err();
    assert_eq!(err.error_type(), "illegal_argument_exception");
    assert!(err.reason().contains("Result window is too large"));
    // Deep pages still work within the window.
    let resp = search(&[&index], json!({"sort": ["n"], "from": 9_990, "size": 10}));
    assert_eq!(ns(&resp), (9_990..10_000).collect::<Vec<i64>>());
}

#[test]
fn searches_several_indices_as_one() {
    let a = numbered("a", 0);
    let b = numbered("b", 100);
    let resp = search(&[&a, &b], json!({"sort": [{"n": "desc"}], "size": 3}));
    assert_eq!(ns(&resp), vec![159, 158, 157]);
    assert_eq!(resp.hits[0].index, "b");
    let resp = search(&[&a, &b], json!({"query": {"term": {"_index": "a"}}, "size": 0}));
    assert_eq!(resp.total.unwrap().value, 60);
    let resp = search(&[&a, &b], json!({"query": {"terms": {"n": [5, 105]}}}));
    let mut ids = hit_ids(&resp);
    ids.sort();
    assert_eq!(ids, vec!["a-5", "b-105"]);
    let resp = search(
        &[&a, &b],
        json!({"size": 0, "aggs": {"k": {"terms": {"field": "k"}}, "max": {"max": {"field": "n"}}}}),
    );
    let aggs = resp.aggregations.unwrap();
    assert_eq!(aggs["max"]["value"], json!(159.0));
    let total: u64 =
        aggs["k"]["buckets"].as_array().unwrap().iter().map(|b| b["doc_count"].as_u64().unwrap()).sum();
    assert_eq!(total, 120);
    assert_eq!(bulwark_index::count_many(&[&a, &b], &bulwark_index::Query::match_all()).unwrap(), 120);
}

#[test]
fn post_filter_narrows_hits_not_aggregations() {
    let index = numbered("a", 0);
    let resp = search(
        &[&index],
        json!({"post_filter": {"term": {"k": "alpha"}}, "aggs": {"k": {"terms": {"field": "k"}}}, "size": 100}),
    );
    assert_eq!(resp.total.unwrap().value, 12);
    assert!(resp.hits.iter().all(|h| h.source.as_ref().unwrap()["k"] == "alpha"));
    assert_eq!(resp.aggregations.unwrap()["k"]["buckets"].as_array().unwrap().len(), 5);
}

#[test]
fn renders_elasticsearch_shapes() {
    let mut index = Index::create_in_ram("shape", Mapping::new()).unwrap();
    index.apply_with_seq_no("1", &json!({"a": "x"}), 7).unwrap();
    index.refresh().unwrap();
    let req =
        SearchRequest::parse(Some(&json!({"seq_no_primary_term": true})), Vec::<(String, String)>::new())
            .unwrap();
    let resp = search_many(&[&index], &req).unwrap();
    let v = resp.to_json();
    assert_eq!(v["hits"]["total"], json!({"value": 1, "relation": "eq"}));
    let hit = &v["hits"]["hits"][0];
    assert_eq!(hit["_index"], "shape");
    assert_eq!(hit["_id"], "1");
    assert_eq!(hit["_seq_no"], 7);
    assert_eq!(hit["_primary_term"], 1);
    assert_eq!(hit["_source"], json!({"a": "x"}));
    assert!(hit["_score"].is_number());
    assert!(hit.get("sort").is_none());
    assert!(v.get("aggregations").is_none());
    let resp = search(&[&index], json!({"sort": ["_doc"], "min_score": 0}));
    assert_eq!(resp.hits.len(), 1);
}
