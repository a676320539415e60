//! The public surface: thread safety, `_count` requests, error shapes.

mod common;

use bulwark_index::{
    Index, IndexError, Mapping, Query, SearchRequest, SearchResponse, SourceDoc, search_many,
};
use serde_json::json;

fn send_sync<T: Send + Sync>() {}

#[test]
fn public_types_cross_threads() {
    send_sync::<Index>();
    send_sync::<SearchRequest>();
    send_sync::<SearchResponse>();
    send_sync::<Query>();
    send_sync::<Mapping>();
    send_sync::<IndexError>();
}

#[test]
fn count_requests() {
    let index = common::index_with(
        "c",
        json!({"properties": {"k": {"type": "keyword"}, "t": {"type": "text"}}}),
        &[("1", json!({"k": "a", "t": "hello world"})), ("2", json!({"k": "b", "t": "hello"}))],
    );
    let count = |body: Option<serde_json::Value>, params: &[(&str, &str)]| {
        Query::from_count_request(body.as_ref(), params.iter().copied()).and_then(|q| index.count(&q))
    };
    assert_eq!(count(None, &[]).unwrap(), 2);
    assert_eq!(count(Some(json!({"query": {"term": {"k": "a"}}})), &[]).unwrap(), 1);
    assert_eq!(count(None, &[("q", "t:world")]).unwrap(), 1);
    assert_eq!(count(None, &[("q", "hello"), ("df", "t")]).unwrap(), 2);
    let err = count(Some(json!({"size": 1})), &[]).unwrap_err();
    assert_eq!(err.error_type(), "parsing_exception");
    assert_eq!(err.reason(), "request does not support [size]");
    let err = count(Some(json!({"query": {"bogus": {}}})), &[]).unwrap_err();
    assert_eq!(err.reason(), "unknown query [bogus]");
}

#[test]
fn rebuild_keeps_sequence_numbers() {
    let mut index = Index::create_in_ram("s", Mapping::new()).unwrap();
    let docs = vec![("a".to_string(), json!({"x": 1}), 10u64), ("b".to_string(), json!({"x": 2}), 11u64)];
    index.rebuild_from(docs).unwrap();
    index
        .rebuild_from(vec![SourceDoc { id: "c".into(), source: json!({"x": 3}), seq_no: Some(12) }])
        .unwrap();
    let req =
        SearchRequest::parse(Some(&json!({"seq_no_primary_term": true})), Vec::<(String, String)>::new())
            .unwrap();
    let resp = search_many(&[&index], &req).unwrap();
    assert_eq!(resp.hits.len(), 1);
    assert_eq!(resp.hits[0].seq_no, Some(12));
}

#[test]
fn errors_map_to_elasticsearch_types_and_statuses() {
    let cases: Vec<(IndexError, &str, u16)> = vec![
        (IndexError::Parsing("x".into()), "parsing_exception", 400),
        (IndexError::XContentParse("x".into()), "x_content_parse_exception", 400),
        (IndexError::IllegalArgument("x".into()), "illegal_argument_exception", 400),
        (IndexError::MapperParsing("x".into()), "mapper_parsing_exception", 400),
        (IndexError::StrictDynamicMapping("x".into()), "strict_dynamic_mapping_exception", 400),
        (IndexError::QueryShard("x".into()), "query_shard_exception", 400),
        (IndexError::TooManyBuckets("x".into()), "too_many_buckets_exception", 400),
        (IndexError::AlreadyExists { path: "p".into() }, "resource_already_exists_exception", 400),
        (IndexError::Engine { context: "c", detail: "d".into() }, "engine_exception", 500),
        (IndexError::Corrupt { path: "p".into(), detail: "d".into() }, "corrupt_index_exception", 500),
    ];
    for (err, ty, status) in cases {
        assert_eq!(err.error_type(), ty);
        assert_eq!(err.is_callers_fault(), status == 400, "{ty}");
        assert!(!err.reason().is_empty());
    }
}
