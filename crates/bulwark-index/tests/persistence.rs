//! Indices on disk: reopening after a commit, and rebuilding from the source of truth.

mod common;

use bulwark_index::{Index, Mapping, Query};
use common::matching;
use serde_json::json;

#[test]
fn a_reopened_index_finds_committed_documents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idx");
    let mapping = Mapping::from_json(&json!({"properties": {"k": {"type": "keyword"}}})).unwrap();
    let mut index = Index::create("logs", &path, mapping).unwrap();
    for i in 0..50 {
        index
            .apply_with_seq_no(
                &i.to_string(),
                &json!({"k": format!("v{}", i % 5), "n": i, "msg": "hello there"}),
                i,
            )
            .unwrap();
    }
    index.delete("3").unwrap();
    index.apply("4", &json!({"k": "replaced", "n": 4})).unwrap();
    index.refresh().unwrap();
    // Written but never committed: lost on reopen, as the store replays it.
    index.apply("pending", &json!({"k": "v0"})).unwrap();
    let mapping_before = index.mapping().clone();
    index.close().unwrap();

    let index = Index::open("logs", &path).unwrap();
    assert_eq!(index.name(), "logs");
    assert_eq!(index.doc_count(), 49);
    assert_eq!(index.mapping(), &mapping_before);
    assert_eq!(matching(&index, json!({"term": {"k": "replaced"}})), vec!["4"]);
    assert_eq!(matching(&index, json!({"ids": {"values": ["3", "pending"]}})), Vec::<String>::new());
    assert_eq!(index.count(&Query::parse(&json!({"match": {"msg": "hello"}})).unwrap()).unwrap(), 48);
    assert_eq!(index.count(&Query::parse(&json!({"range": {"n": {"gte": 45}}})).unwrap()).unwrap(), 5);
    index.close().unwrap();

    // Writable again after reopening.
    let mut index = Index::open("logs", &path).unwrap();
    index.apply("new", &json!({"k": "fresh", "extra": 1})).unwrap();
    index.refresh().unwrap();
    index.close().unwrap();
    let index = Index::open("logs", &path).unwrap();
    assert_eq!(index.doc_count(), 50);
    assert_eq!(matching(&index, json!({"term": {"extra": 1}})), vec!["new"]);
}

#[test]
fn unreadable_directories_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = Index::open("x", &dir.path().join("missing")).unwrap_err();
    assert_eq!(err.error_type(), "corrupt_index_exception");
    std::fs::write(dir.path().join("meta.json"), b"{not json").unwrap();
    let err = Index::open("x", dir.path()).unwrap_err();
    assert_eq!(err.error_type(), "corrupt_index_exception");
    assert!(!err.is_callers_fault());
    let path = dir.path().join("twice");
    Index::create("x", &path, Mapping::new()).unwrap().close().unwrap();
    let err = Index::create("x", &path, Mapping::new()).unwrap_err();
    assert_eq!(err.error_type(), "resource_already_exists_exception");
}

#[test]
fn rebuild_from_recreates_a_usable_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idx");
    let mapping = Mapping::from_json(&json!({"properties": {"n": {"type": "long"}}})).unwrap();
    let mut index = Index::create("r", &path, mapping).unwrap();
    for i in 0..10 {
        index.apply(&format!("old{i}"), &json!({ "n": i })).unwrap();
    }
    index.refresh().unwrap();
    assert_eq!(index.doc_count(), 10);

    let truth =
        (0..25).map(|i| (format!("doc{i}"), json!({"n": i, "tag": if i % 2 == 0 { "even" } else { "odd" }})));
    let bad = std::iter::once(("bad".to_string(), json!({"n": "not a number"})));
    let rebuilt = index.rebuild_from(truth.chain(bad)).unwrap();
    assert_eq!(rebuilt.indexed, 25);
    assert_eq!(rebuilt.rejected.len(), 1);
    assert_eq!(rebuilt.rejected[0].0, "bad");
    assert_eq!(rebuilt.rejected[0].1.error_type(), "mapper_parsing_exception");
    assert_eq!(index.doc_count(), 25);
    assert!(matching(&index, json!({"prefix": {"_id": "old"}})).is_empty());
    assert_eq!(
        matching(
            &index,
            json!({"bool": {"filter": [{"term": {"tag": "even"}}, {"range": {"n": {"lt": 6}}}]}})
        ),
        vec!["doc0", "doc2", "doc4"]
    );
    index.close().unwrap();

    let index = Index::open("r", &path).unwrap();
    assert_eq!(index.doc_count(), 25);
    // A fresh in-memory index rebuilt from the same documents answers the same.
    let mut fresh = Index::create_in_ram("r", index.mapping().clone()).unwrap();
    let docs =
        (0..25).map(|i| (format!("doc{i}"), json!({"n": i, "tag": if i % 2 == 0 { "even" } else { "odd" }})));
    assert_eq!(fresh.rebuild_from(docs).unwrap().indexed, 25);
    let q = json!({"range": {"n": {"gte": 20}}});
    assert_eq!(matching(&fresh, q.clone()), matching(&index, q));
}

#[test]
fn the_position_is_saved_with_the_commit_that_holds_the_documents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idx");
    let mut index = Index::create("p", &path, Mapping::new()).unwrap();
    assert_eq!(index.committed_position(), None);
    index.apply("1", &json!({"n": 1})).unwrap();
    index.set_position(7);
    // Not committed yet: the committed position is still the old one.
    assert_eq!(index.committed_position(), None);
    index.refresh().unwrap();
    assert_eq!(index.committed_position(), Some(7));
    // A later write without a new position keeps it; a position alone makes a commit.
    index.apply("2", &json!({"n": 2})).unwrap();
    index.set_position(9);
    index.apply("lost", &json!({"n": 3})).unwrap();
    index.commit().unwrap();
    index.set_position(12);
    assert!(index.needs_refresh());
    index.commit().unwrap();
    index.apply("uncommitted", &json!({"n": 4})).unwrap();
    index.set_position(20);
    index.close().unwrap();

    let mut index = Index::open("p", &path).unwrap();
    assert_eq!(index.committed_position(), Some(12));
    assert_eq!(index.doc_count(), 3);
    index.set_mapping(Mapping::from_json(&json!({"properties": {"k": {"type": "keyword"}}})).unwrap());
    index.commit().unwrap();
    index.close().unwrap();
    let index = Index::open("p", &path).unwrap();
    assert_eq!(index.committed_position(), Some(12));
    assert!(index.mapping().to_json().to_string().contains("keyword"), "{}", index.mapping().to_json());
}

/// Stored fields (`_id`, `_source`) are written in zstd blocks (docs/architecture.md, "Where the
/// bytes are"): about half of LZ4's size for small log lines, read back as written.
#[test]
fn stored_sources_are_zstd_compressed_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idx");
    let mut index = Index::create("logs", &path, Mapping::new()).unwrap();
    let line = |i: u64| {
        json!({"@timestamp": format!("2026-12-07T10:{:02}:{:02}Z", i / 60 % 60, i % 60),
               "user": format!("user{}", i * 7919 % 1000), "message": format!("GET /shop/item/{i} 200")})
    };
    let mut sent = 0;
    for i in 0..20_000 {
        sent += serde_json::to_vec(&line(i)).unwrap().len();
        index.apply_with_seq_no(&i.to_string(), &line(i), i).unwrap();
    }
    index.refresh().unwrap();
    index.close().unwrap();
    let meta = std::fs::read_to_string(path.join("meta.json")).unwrap();
    assert!(meta.contains(r#""docstore_compression": "zstd(compression_level=1)""#), "{meta}");
    let stored: u64 = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "store"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(stored * 3 < sent as u64, "{stored} bytes of stored fields for {sent} bytes of sources");
    let index = Index::open("logs", &path).unwrap();
    let resp = common::search(&[&index], json!({"query": {"ids": {"values": ["12345"]}}}));
    assert_eq!(resp.hits[0].source.as_ref(), Some(&line(12_345)));
}
