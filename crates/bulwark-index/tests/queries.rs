//! Each query type against a small fixed data set: which documents match.

mod common;

use bulwark_index::{Index, Query, SearchRequest, search_many};
use common::{index_with, matching};
use serde_json::{Value, json};

fn fixture() -> Index {
    let mapping = json!({"properties": {
        "title": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
        "tags": {"type": "keyword"},
        "views": {"type": "long"},
        "price": {"type": "double"},
        "published": {"type": "boolean"},
        "date": {"type": "date"},
        "author": {"properties": {"name": {"type": "keyword"}, "age": {"type": "integer"}}},
        "ip": {"type": "ip"}
    }});
    index_with(
        "books",
        mapping,
        &[
            (
                "1",
                json!({"title": "The quick brown fox", "tags": ["animal", "fast"], "views": 100, "price": 9.99,
                         "published": true, "date": "2024-01-01", "author": {"name": "alice", "age": 30}}),
            ),
            (
                "2",
                json!({"title": "Lazy dog sleeps", "tags": ["animal"], "views": 50, "price": 19.5,
                         "published": false, "date": "2024-02-15T10:00:00Z", "author": {"name": "bob", "age": 40}}),
            ),
            (
                "3",
                json!({"title": "Quick start guide", "tags": ["docs"], "views": 500, "price": 0,
                         "published": true, "date": "2023-12-31", "author": {"name": "carol", "age": 25}}),
            ),
            (
                "4",
                json!({"title": "Brown bears and foxes", "tags": ["animal", "wild"], "views": 5,
                         "published": true, "date": "2024-03-01", "author": {"name": "alice", "age": 30}}),
            ),
            (
                "5",
                json!({"title": "Fast cars", "tags": [], "views": 1000, "price": 55000.0,
                         "published": false, "author": {"name": "dave"}, "ip": "10.0.0.1"}),
            ),
        ],
    )
}

#[test]
fn query_types_match_the_expected_documents() {
    let index = fixture();
    let now = "2024-03-02T12:00:00Z";
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"match_all": {}}), vec!["1", "2", "3", "4", "5"]),
        (json!({"match_none": {}}), vec![]),
        // match: analyzed, OR by default, AND on request
        (json!({"match": {"title": "quick"}}), vec!["1", "3"]),
        (json!({"match": {"title": "QUICK Brown"}}), vec!["1", "3", "4"]),
        (json!({"match": {"title": {"query": "quick brown", "operator": "and"}}}), vec!["1"]),
        (json!({"match": {"title": {"query": "quick brown fox", "minimum_should_match": 2}}}), vec!["1"]),
        (json!({"match": {"tags": "animal"}}), vec!["1", "2", "4"]),
        (json!({"match": {"views": "50"}}), vec!["2"]),
        (json!({"match": {"nope": "x"}}), vec![]),
        (json!({"match": {"title": "!!!"}}), vec![]),
        (json!({"match": {"views": {"query": "abc", "lenient": true}}}), vec![]),
        (
            json!({"match": {"title": {"query": "!!!", "zero_terms_query": "all"}}}),
            vec!["1", "2", "3", "4", "5"],
        ),
        (
            json!({"multi_match": {"query": "sleeps", "fields": ["title", "views"], "lenient": true}}),
            vec!["2"],
        ),
        // match_phrase
        (json!({"match_phrase": {"title": "quick brown"}}), vec!["1"]),
        (json!({"match_phrase": {"title": "brown quick"}}), vec![]),
        (json!({"match_phrase": {"title": {"query": "quick fox", "slop": 1}}}), vec!["1"]),
        (json!({"match_phrase_prefix": {"title": "quick bro"}}), vec!["1"]),
        // multi_match
        (json!({"multi_match": {"query": "alice", "fields": ["title", "author.name"]}}), vec!["1", "4"]),
        (json!({"multi_match": {"query": "fast", "fields": ["title", "tags"]}}), vec!["1", "5"]),
        (json!({"multi_match": {"query": "fast"}}), vec!["1", "5"]),
        (json!({"multi_match": {"query": "quick brown", "type": "phrase", "fields": ["title*"]}}), vec!["1"]),
        // term / terms: exact, not analyzed
        (json!({"term": {"tags": "animal"}}), vec!["1", "2", "4"]),
        (json!({"term": {"tags": "Animal"}}), vec![]),
        (json!({"term": {"tags": {"value": "Animal", "case_insensitive": true}}}), vec!["1", "2", "4"]),
        (json!({"term": {"title": "quick"}}), vec!["1", "3"]),
        (json!({"term": {"title": "Quick"}}), vec![]),
        (json!({"term": {"title.keyword": "Fast cars"}}), vec!["5"]),
        (json!({"term": {"views": 500}}), vec!["3"]),
        (json!({"term": {"views": "500"}}), vec!["3"]),
        (json!({"term": {"views": 500.5}}), vec![]),
        (json!({"term": {"price": 19.5}}), vec!["2"]),
        (json!({"term": {"price": 0}}), vec!["3"]),
        (json!({"term": {"published": true}}), vec!["1", "3", "4"]),
        (json!({"term": {"published": "false"}}), vec!["2", "5"]),
        (json!({"term": {"date": "2024-01-01"}}), vec!["1"]),
        (json!({"term": {"author.name": "alice"}}), vec!["1", "4"]),
        (json!({"term": {"author.age": 30}}), vec!["1", "4"]),
        (json!({"term": {"ip": "10.0.0.1"}}), vec!["5"]),
        (json!({"term": {"_id": "3"}}), vec!["3"]),
        (json!({"term": {"_index": "books"}}), vec!["1", "2", "3", "4", "5"]),
        (json!({"term": {"_index": "other"}}), vec![]),
        (json!({"terms": {"tags": ["docs", "wild"]}}), vec!["3", "4"]),
        (json!({"terms": {"views": [5, 50, 7]}}), vec!["2", "4"]),
        (json!({"terms": {"_id": ["1", "5", "9"]}}), vec!["1", "5"]),
        (json!({"terms": {"_index": ["x", "books"]}}), vec!["1", "2", "3", "4", "5"]),
        // range
        (json!({"range": {"views": {"gte": 50, "lt": 500}}}), vec!["1", "2"]),
        (json!({"range": {"views": {"gt": 50, "lte": 500}}}), vec!["1", "3"]),
        (json!({"range": {"views": {"gt": 49.5}}}), vec!["1", "2", "3", "5"]),
        (json!({"range": {"views": {"lt": "100"}}}), vec!["2", "4"]),
        (json!({"range": {"price": {"gte": 9.99, "lte": 19.5}}}), vec!["1", "2"]),
        (json!({"range": {"price": {"gt": 0}}}), vec!["1", "2", "5"]),
        (json!({"range": {"price": {"lt": 1e300}}}), vec!["1", "2", "3", "5"]),
        (json!({"range": {"date": {"gte": "2024-01-01", "lt": "2024-03-01"}}}), vec!["1", "2"]),
        (json!({"range": {"date": {"gte": "2024-02"}}}), vec!["2", "4"]),
        (json!({"range": {"date": {"gte": 1704067200000i64}}}), vec!["1", "2", "4"]),
        (json!({"range": {"date": {"gte": "now-2d/d"}}}), vec!["4"]),
        (json!({"range": {"date": {"gt": "now-61d/d"}}}), vec!["2", "4"]),
        (json!({"range": {"date": {"lte": "2024-01-01||/M"}}}), vec!["1", "3"]),
        (json!({"range": {"date": {"lt": "now-1y"}}}), vec![]),
        (
            json!({"range": {"date": {"gte": "2024-01-01T01:00:00", "time_zone": "+01:00"}}}),
            vec!["1", "2", "4"],
        ),
        (json!({"range": {"author.name": {"gte": "b", "lt": "d"}}}), vec!["2", "3"]),
        (json!({"range": {"title": {"gte": "s", "lt": "t"}}}), vec!["2", "3"]),
        (json!({"range": {"published": {"gte": true}}}), vec!["1", "3", "4"]),
        (json!({"range": {"nope": {"gte": 1}}}), vec![]),
        (json!({"range": {"views": {}}}), vec!["1", "2", "3", "4", "5"]),
        // exists
        (json!({"exists": {"field": "price"}}), vec!["1", "2", "3", "5"]),
        (json!({"exists": {"field": "tags"}}), vec!["1", "2", "3", "4"]),
        (json!({"exists": {"field": "author"}}), vec!["1", "2", "3", "4", "5"]),
        (json!({"exists": {"field": "author.age"}}), vec!["1", "2", "3", "4"]),
        (json!({"exists": {"field": "title.keyword"}}), vec!["1", "2", "3", "4", "5"]),
        (json!({"exists": {"field": "ip"}}), vec!["5"]),
        (json!({"exists": {"field": "nope"}}), vec![]),
        // prefix / wildcard
        (json!({"prefix": {"tags": "an"}}), vec!["1", "2", "4"]),
        (json!({"prefix": {"tags": {"value": "AN", "case_insensitive": true}}}), vec!["1", "2", "4"]),
        (json!({"prefix": {"title": "fox"}}), vec!["1", "4"]),
        (json!({"prefix": {"title.keyword": "The"}}), vec!["1"]),
        (json!({"prefix": {"_id": "1"}}), vec!["1"]),
        (json!({"wildcard": {"tags": "*i*l"}}), vec!["1", "2", "4"]),
        (json!({"wildcard": {"tags": {"value": "d?cs"}}}), vec!["3"]),
        (json!({"wildcard": {"author.name": {"wildcard": "*o*"}}}), vec!["2", "3"]),
        (json!({"wildcard": {"title": "sl*p*"}}), vec!["2"]),
        (json!({"wildcard": {"_index": "bo*"}}), vec!["1", "2", "3", "4", "5"]),
        // ids
        (json!({"ids": {"values": ["2", "4", "42"]}}), vec!["2", "4"]),
        (json!({"ids": {"values": []}}), vec![]),
        // bool
        (
            json!({"bool": {"must": [{"term": {"tags": "animal"}}], "must_not": [{"term": {"published": false}}]}}),
            vec!["1", "4"],
        ),
        (json!({"bool": {"filter": {"range": {"views": {"gte": 100}}}}}), vec!["1", "3", "5"]),
        (
            json!({"bool": {"should": [{"term": {"tags": "docs"}}, {"term": {"tags": "wild"}}]}}),
            vec!["3", "4"],
        ),
        (json!({"bool": {"must_not": {"term": {"tags": "animal"}}}}), vec!["3", "5"]),
        (json!({"bool": {}}), vec!["1", "2", "3", "4", "5"]),
        (
            json!({"bool": {"must": {"term": {"published": true}}, "should": {"term": {"tags": "docs"}}}}),
            vec!["1", "3", "4"],
        ),
        (
            json!({"bool": {"should": [{"term": {"tags": "animal"}}, {"term": {"published": true}}, {"range": {"views": {"gte": 100}}}],
                            "minimum_should_match": 2}}),
            vec!["1", "3", "4"],
        ),
        (
            json!({"bool": {"should": [{"term": {"tags": "animal"}}, {"term": {"published": true}}], "minimum_should_match": "100%"}}),
            vec!["1", "4"],
        ),
        (json!({"constant_score": {"filter": {"term": {"tags": "docs"}}, "boost": 2}}), vec!["3"]),
        (
            json!({"dis_max": {"queries": [{"term": {"tags": "docs"}}, {"term": {"views": 5}}]}}),
            vec!["3", "4"],
        ),
        // query_string
        (json!({"query_string": {"query": "title:quick"}}), vec!["1", "3"]),
        (json!({"query_string": {"query": "title:quick AND tags:docs"}}), vec!["3"]),
        (json!({"query_string": {"query": "title:quick OR tags:wild"}}), vec!["1", "3", "4"]),
        (json!({"query_string": {"query": "title:quick NOT tags:docs"}}), vec!["1"]),
        (json!({"query_string": {"query": "+title:brown -title:fox"}}), vec!["4"]),
        (json!({"query_string": {"query": "title:\"quick brown\""}}), vec!["1"]),
        (json!({"query_string": {"query": "(tags:docs OR tags:wild) AND published:true"}}), vec!["3", "4"]),
        (json!({"query_string": {"query": "views:[50 TO 500}"}}), vec!["1", "2"]),
        (json!({"query_string": {"query": "views:>=500"}}), vec!["3", "5"]),
        (json!({"query_string": {"query": "author.name:a*"}}), vec!["1", "4"]),
        (json!({"query_string": {"query": "_exists_:ip"}}), vec!["5"]),
        (json!({"query_string": {"query": "price:*"}}), vec!["1", "2", "3", "5"]),
        (json!({"query_string": {"query": "quick", "default_field": "title"}}), vec!["1", "3"]),
        (
            json!({"query_string": {"query": "quick fast", "fields": ["title", "tags"], "default_operator": "AND"}}),
            vec!["1"],
        ),
        (json!({"query_string": {"query": "sleeps"}}), vec!["2"]),
        (json!({"query_string": {"query": "carol"}}), vec!["3"]),
        (json!({"query_string": {"query": "*"}}), vec!["1", "2", "3", "4", "5"]),
        // simple_query_string
        (json!({"simple_query_string": {"query": "quick fox", "fields": ["title"]}}), vec!["1", "3"]),
        (json!({"simple_query_string": {"query": "quick +brown", "fields": ["title"]}}), vec!["1"]),
        (json!({"simple_query_string": {"query": "quick | cars", "fields": ["title"]}}), vec!["1", "3", "5"]),
        (json!({"simple_query_string": {"query": "quick -start", "fields": ["title"]}}), vec!["1"]),
        (json!({"simple_query_string": {"query": "\"brown fox\"", "fields": ["title"]}}), vec!["1"]),
        (json!({"simple_query_string": {"query": "sle*", "fields": ["title"]}}), vec!["2"]),
        (
            json!({"simple_query_string": {"query": "quick", "fields": ["title"], "default_operator": "and"}}),
            vec!["1", "3"],
        ),
        (json!({"simple_query_string": {"query": "(unbalanced \"quote"}}), vec![]),
    ];
    for (query, want) in cases {
        let body = json!({"query": query, "size": 100});
        let req = SearchRequest::parse(Some(&body), Vec::<(String, String)>::new())
            .unwrap_or_else(|e| panic!("{query}: {e}"))
            .with_now(1_709_380_800_000); // 2024-03-02T12:00:00Z
        let resp = search_many(&[&index], &req).unwrap_or_else(|e| panic!("{query}: {e}"));
        let mut got: Vec<String> = resp.hits.iter().filter_map(|h| h.id.clone()).collect();
        got.sort();
        assert_eq!(got, want, "{query} (now = {now})");
        // `_count` agrees with the hits.
        let count = index.count(&Query::parse(&query).unwrap()).unwrap();
        if !query.to_string().contains("now") {
            assert_eq!(count as usize, want.len(), "count of {query}");
        }
    }
}

#[test]
fn bad_queries_are_refused_with_elasticsearch_types() {
    let index = fixture();
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"xyz": {}}), "parsing_exception", "unknown query [xyz]"),
        (
            json!({"match": {"title": {"query": "x", "bogus": 1}}}),
            "parsing_exception",
            "[match] query does not support [bogus]",
        ),
        (
            json!({"term": {"a": 1, "b": 1}}),
            "parsing_exception",
            "[term] query doesn't support multiple fields",
        ),
        (json!({"bool": {"must": [{"nope": {}}]}}), "parsing_exception", "unknown query [nope]"),
        (
            json!({"query_string": {"query": "title:(quick"}}),
            "query_shard_exception",
            "Failed to parse query [title:(quick]",
        ),
    ];
    for (query, ty, msg) in cases {
        let err = SearchRequest::parse(Some(&json!({ "query": query })), Vec::<(String, String)>::new())
            .unwrap_err();
        assert_eq!(err.error_type(), ty, "{query}");
        assert!(err.reason().contains(msg), "{query}: {}", err.reason());
        assert!(err.is_callers_fault());
    }
    // Well formed, but not applicable to the field's type: refused when run.
    let shard_cases: Vec<(Value, &str)> = vec![
        (json!({"term": {"views": "abc"}}), "failed to create query: For input string: \"abc\""),
        (json!({"range": {"views": {"gte": "abc"}}}), "failed to create query"),
        (json!({"range": {"date": {"gte": "yesterday"}}}), "failed to parse date field [yesterday]"),
        (json!({"term": {"published": "maybe"}}), "Can't parse boolean value [maybe]"),
        (json!({"prefix": {"views": "1"}}), "Can only use prefix queries on keyword and text fields"),
        (json!({"term": {"ip": "not-an-ip"}}), "is not an IP string literal"),
    ];
    for (query, msg) in shard_cases {
        let req =
            SearchRequest::parse(Some(&json!({ "query": query })), Vec::<(String, String)>::new()).unwrap();
        let err = search_many(&[&index], &req).unwrap_err();
        assert_eq!(err.error_type(), "query_shard_exception", "{query}");
        assert!(err.is_shard_failure());
        assert!(err.reason().contains(msg), "{query}: {}", err.reason());
    }
}

#[test]
fn lenient_multi_field_queries_skip_fields_that_do_not_fit() {
    let index = fixture();
    // "abc" is no number: `*` expands to `views` too, which is skipped rather than refused.
    assert_eq!(matching(&index, json!({"query_string": {"query": "abc"}})), Vec::<String>::new());
    assert_eq!(matching(&index, json!({"multi_match": {"query": "500"}})), vec!["3"]);
}

#[test]
fn scores_rank_better_matches_first() {
    let index = fixture();
    let resp = common::search(&[&index], json!({"query": {"match": {"title": "quick brown fox"}}}));
    let ids = common::hit_ids(&resp);
    assert_eq!(ids[0], "1", "all three terms beat one or two");
    assert!(resp.max_score.is_some());
    assert_eq!(resp.max_score, resp.hits[0].score);
    let scores: Vec<f32> = resp.hits.iter().map(|h| h.score.unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    // Boosting a clause reorders hits.
    let resp = common::search(
        &[&index],
        json!({"query": {"bool": {"should": [
            {"term": {"tags": {"value": "docs", "boost": 10}}},
            {"match": {"title": "quick"}}
        ]}}}),
    );
    assert_eq!(common::hit_ids(&resp)[0], "3");
}
