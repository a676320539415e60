//! Unit tests of the API key request parsing and rendering.

use super::*;

pub(super) fn record(user: &str, realm: &str, name: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        name: name.into(),
        secret_hash: String::new(),
        creation: 5,
        expiration: None,
        invalidated: false,
        invalidation: None,
        username: user.into(),
        realm: realm.into(),
        realm_type: realm.into(),
        metadata: serde_json::from_value(json!({ "env": "prod", "tier": { "level": 2 } })).unwrap(),
        role_descriptors: Map::new(),
        limited_by_roles: vec!["superuser".into()],
        limited_by: None,
        key_type: "rest".into(),
    }
}

#[test]
fn owners_are_user_and_realm() {
    let me = Owner { username: "u".into(), realm: "default_file".into(), realm_type: "file".into() };
    assert!(me.owns(&record("u", "default_file", "k")));
    assert!(!me.owns(&record("u", "default_native", "k")));
    assert!(!me.owns(&record("v", "default_file", "k")));
}

#[test]
fn name_filters_are_prefix_or_exact() {
    assert!(name_filter("*").matches("anything"));
    assert!(name_filter("key-*").matches("key-1"));
    assert!(!name_filter("key-*").matches("other"));
    assert!(name_filter("exact").matches("exact"));
    assert!(!name_filter("k?y").matches("key"));
    assert!(name_filter("a*b*").matches("a*b-1") && !name_filter("a*b*").matches("axb"));
}

#[test]
fn key_requests_are_validated_like_elasticsearch() {
    let m = |v: Value| v.as_object().unwrap().clone();
    assert!(
        key_request(&m(json!({ "name": "k", "expiration": "1d" })), "r").unwrap().expiration
            == Some(86_400_000)
    );
    let e = key_request(&m(json!({})), "r").err().unwrap();
    assert_eq!(e.reason, "Validation Failed: 1: api key name is required;");
    let e = key_request(&m(json!({ "name": "_k", "metadata": { "_x": 1 } })), "r").err().unwrap();
    assert_eq!(
        e.reason,
        "Validation Failed: 1: api key name may not begin with an underscore;2: API key metadata keys may not start with [_];"
    );
    assert!(key_request(&m(json!({ "name": "k", "expiration": "soon" })), "r").is_err());
    assert!(key_request(&m(json!({ "name": "k", "bogus": 1 })), "r").is_err());
    let e = key_request(&m(json!({ "name": "k", "role_descriptors": { "r": { "clusterz": [] } } })), "r")
        .err()
        .unwrap();
    assert!(e.reason.starts_with("failed to parse role [r]"), "{}", e.reason);
    let e = key_request(&m(json!({ "name": "k", "role_descriptors": { "r": { "cluster": ["fly"] } } })), "r")
        .err()
        .unwrap();
    assert!(e.reason.contains("unknown cluster privilege [fly]"), "{}", e.reason);
}

#[test]
fn rendering_never_shows_the_hash_and_fills_descriptors() {
    let mut k = record("elastic", "reserved", "k");
    k.secret_hash = "SECRET-HASH".into();
    k.role_descriptors = serde_json::from_value(
        json!({ "r": { "indices": [{ "names": "logs-*", "privileges": ["read"] }] } }),
    )
    .unwrap();
    let v = render("id1", &k, Some(json!([{ "superuser": { "cluster": ["all"] } }])));
    assert!(!v.to_string().contains("SECRET-HASH"));
    assert_eq!(v["role_descriptors"]["r"]["indices"][0]["names"], json!(["logs-*"]));
    assert_eq!(v["role_descriptors"]["r"]["indices"][0]["allow_restricted_indices"], json!(false));
    assert_eq!(v["role_descriptors"]["r"]["transient_metadata"], json!({ "enabled": true }));
    assert_eq!(v["limited_by"][0]["superuser"]["cluster"], json!(["all"]));
    assert!(v.get("expiration").is_none());
}
