//! Mappings through an index: dynamic mapping, explicit mappings, conflicts, bad values.

mod common;

use bulwark_index::{FieldType, Index, Mapping};
use common::matching;
use serde_json::json;

#[test]
fn dynamic_mapping_infers_types_like_elasticsearch() {
    let mut index = Index::create_in_ram("dyn", Mapping::new()).unwrap();
    let update = index
        .apply(
            "1",
            &json!({"s": "hello world", "n": 42, "f": 1.5, "b": true, "d": "2024-05-06", "dt": "2024-05-06T07:08:09.123Z",
                    "nd": "2024-13-45", "o": {"x": 1, "y": {"z": "deep"}}, "arr": [1, 2], "empty": [], "nul": null}),
        )
        .unwrap()
        .expect("new fields are reported");
    assert_eq!(update.field_type("s"), Some(FieldType::Text));
    assert_eq!(
        index.mapping().to_json(),
        json!({"properties": {
            "arr": {"type": "long"},
            "b": {"type": "boolean"},
            "d": {"type": "date"},
            "dt": {"type": "date"},
            "f": {"type": "float"},
            "n": {"type": "long"},
            "nd": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
            "o": {"properties": {
                "x": {"type": "long"},
                "y": {"properties": {"z": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}}}
            }},
            "s": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
        }})
    );
    // The same fields again: no update.
    assert!(index.apply("2", &json!({"s": "again", "n": 7})).unwrap().is_none());
    // A new field later is reported alone.
    let update = index.apply("3", &json!({"s": "x", "extra": false})).unwrap().unwrap();
    assert_eq!(update.to_json(), json!({"properties": {"extra": {"type": "boolean"}}}));
    index.refresh().unwrap();

    assert_eq!(
        matching(&index, json!({"range": {"d": {"gte": "2024-05-01", "lt": "2024-06-01"}}})),
        vec!["1"]
    );
    assert_eq!(matching(&index, json!({"term": {"s.keyword": "hello world"}})), vec!["1"]);
    assert_eq!(matching(&index, json!({"match": {"s": "WORLD"}})), vec!["1"]);
    assert_eq!(matching(&index, json!({"term": {"o.y.z": "deep"}})), vec!["1"]);
    assert_eq!(matching(&index, json!({"range": {"n": {"gt": 10}}})), vec!["1"]);
    assert_eq!(matching(&index, json!({"term": {"arr": 2}})), vec!["1"]);
}

#[test]
fn dynamic_keyword_ignores_long_strings() {
    let long = "word ".repeat(60);
    let mut index = Index::create_in_ram("dyn", Mapping::new()).unwrap();
    index.apply("1", &json!({ "s": long.trim() })).unwrap();
    index.refresh().unwrap();
    assert_eq!(matching(&index, json!({"match": {"s": "word"}})), vec!["1"]);
    assert!(matching(&index, json!({"exists": {"field": "s.keyword"}})).is_empty());
    assert!(matching(&index, json!({"term": {"s.keyword": long.trim()}})).is_empty());
}

#[test]
fn explicit_mapping_is_honoured() {
    let mapping = Mapping::from_json(&json!({"properties": {
        "code": {"type": "keyword"}, "n": {"type": "integer"}, "body": {"type": "text"},
        "when": {"type": "date", "format": "epoch_second"}
    }}))
    .unwrap();
    let mut index = Index::create_in_ram("explicit", mapping).unwrap();
    assert!(
        index
            .apply("1", &json!({"code": 42, "n": "7", "body": "Some Text", "when": 86_400}))
            .unwrap()
            .is_none()
    );
    index.refresh().unwrap();
    assert_eq!(matching(&index, json!({"term": {"code": "42"}})), vec!["1"]);
    assert_eq!(matching(&index, json!({"range": {"n": {"gte": 7, "lte": 7}}})), vec!["1"]);
    assert_eq!(matching(&index, json!({"term": {"body": "some"}})), vec!["1"]);
    assert_eq!(matching(&index, json!({"term": {"when": "1970-01-02"}})), vec!["1"]);
    assert_eq!(index.mapping().field_type("code"), Some(FieldType::Keyword));
}

#[test]
fn conflicting_mapping_is_refused() {
    let mut index = Index::create_in_ram(
        "c",
        Mapping::from_json(&json!({"properties": {"f": {"type": "long"}}})).unwrap(),
    )
    .unwrap();
    let before = index.mapping().clone();
    let err = index
        .put_mapping(&Mapping::from_json(&json!({"properties": {"f": {"type": "text"}}})).unwrap())
        .unwrap_err();
    assert_eq!(err.error_type(), "illegal_argument_exception");
    assert_eq!(err.reason(), "mapper [f] cannot be changed from type [long] to [text]");
    assert!(err.is_callers_fault());
    assert_eq!(index.mapping(), &before);
    index
        .put_mapping(&Mapping::from_json(&json!({"properties": {"g": {"type": "keyword"}}})).unwrap())
        .unwrap();
    assert_eq!(index.mapping().field_type("g"), Some(FieldType::Keyword));
}

#[test]
fn unparseable_values_are_refused_and_change_nothing() {
    let mut index = Index::create_in_ram(
        "u",
        Mapping::from_json(&json!({"properties": {"f": {"type": "long"}}})).unwrap(),
    )
    .unwrap();
    index.apply("ok", &json!({"f": 1})).unwrap();
    let err = index.apply("x", &json!({"brand_new": "field", "f": "abc"})).unwrap_err();
    assert_eq!(err.error_type(), "mapper_parsing_exception");
    assert_eq!(
        err.reason(),
        "failed to parse field [f] of type [long] in document with id 'x'. Preview of field's value: 'abc' (For input string: \"abc\")"
    );
    assert_eq!(index.mapping().field_type("brand_new"), None, "a refused document adds no field");
    assert!(index.check("x", &json!({"f": "abc"})).is_err());
    assert!(index.check("x", &json!({"f": 3, "g": 1})).unwrap().is_some());
    index.refresh().unwrap();
    assert_eq!(index.doc_count(), 1);
}

#[test]
fn strict_and_disabled_dynamic_mapping() {
    let mut strict = Index::create_in_ram(
        "s",
        Mapping::from_json(&json!({"dynamic": "strict", "properties": {"a": {"type": "keyword"}, "o": {"dynamic": true, "properties": {}}}}))
            .unwrap(),
    )
    .unwrap();
    let err = strict.apply("1", &json!({"a": "x", "b": 1})).unwrap_err();
    assert_eq!(err.error_type(), "strict_dynamic_mapping_exception");
    // An object may loosen its parent's setting.
    assert!(strict.apply("2", &json!({"a": "x", "o": {"new": 1}})).unwrap().is_some());

    let mut off = Index::create_in_ram("f", Mapping::from_json(&json!({"dynamic": false})).unwrap()).unwrap();
    assert!(off.apply("1", &json!({"kept": "in source"})).unwrap().is_none());
    off.refresh().unwrap();
    assert!(matching(&off, json!({"match": {"kept": "source"}})).is_empty());
    let resp = common::search(&[&off], json!({}));
    assert_eq!(resp.hits[0].source, Some(json!({"kept": "in source"})));
}

#[test]
fn float_fields_holding_whole_numbers() {
    let index = common::index_with(
        "w",
        json!({"properties": {"p": {"type": "double"}}}),
        &[("1", json!({"p": 1})), ("2", json!({"p": 2.0})), ("3", json!({"p": 3}))],
    );
    assert_eq!(matching(&index, json!({"range": {"p": {"gt": 1.5}}})), vec!["2", "3"]);
    assert_eq!(matching(&index, json!({"range": {"p": {"lte": 2.5, "gte": -1e300}}})), vec!["1", "2"]);
    assert_eq!(matching(&index, json!({"term": {"p": 2}})), vec!["2"]);
    let resp = common::search(
        &[&index],
        json!({"size": 0, "aggs": {"p": {"terms": {"field": "p", "order": {"_key": "asc"}}}}}),
    );
    let keys: Vec<f64> = resp.aggregations.unwrap()["p"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["key"].as_f64().unwrap())
        .collect();
    assert_eq!(keys, vec![1.0, 2.0, 3.0]);
}
