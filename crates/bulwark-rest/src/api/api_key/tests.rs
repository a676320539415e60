use std::cmp::Ordering;

use bulwark_security::authn::{RealmRef, User};

use super::super::api_key_query::{Field, compare, matches, sort_keys};
use super::*;

fn record(user: &str, realm: &str, name: &str) -> ApiKeyRecord {
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

fn user(roles: &[&str]) -> Authentication {
    Authentication::realm(
        User {
            username: "u".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            full_name: None,
            email: None,
            enabled: true,
        },
        RealmRef::FILE,
    )
}

#[test]
fn only_manage_own_api_key_is_bounded_to_own_keys() {
    let role = |cluster: &[&str]| {
        let d = RoleDescriptor {
            cluster: cluster.iter().map(|c| (*c).to_owned()).collect(),
            ..Default::default()
        };
        Role::compile("r", &d).unwrap()
    };
    for full in
        [&["all"][..], &["manage_security"], &["manage_api_key"], &["manage_own_api_key", "manage_api_key"]]
    {
        assert!(grants_beyond_own(&role(full), Action::GetApiKey), "{full:?}");
    }
    assert!(!grants_beyond_own(&role(&["manage_own_api_key"]), Action::InvalidateApiKey));
    assert!(!grants_beyond_own(&role(&["monitor"]), Action::GetApiKey));
    assert!(user(&["superuser"]).api_key.is_none());
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
fn query_subset() {
    let k = record("elastic", "reserved", "my-key");
    let t = |q: Value| matches(&q, "abc", &k).unwrap();
    assert!(t(json!({ "match_all": {} })));
    assert!(t(json!({ "term": { "name": "my-key" } })));
    assert!(t(json!({ "term": { "name": { "value": "MY-KEY", "case_insensitive": true } } })));
    assert!(!t(json!({ "term": { "name": "other" } })));
    assert!(t(json!({ "terms": { "username": ["x", "elastic"] } })));
    assert!(t(json!({ "prefix": { "realm_name": "res" } })));
    assert!(t(json!({ "wildcard": { "name": "my-*" } })));
    assert!(t(json!({ "wildcard": { "name": "m?-k*" } })));
    assert!(t(json!({ "wildcard": { "name": "my\\-k*" } })));
    assert!(!t(json!({ "wildcard": { "name": "my\\*" } })));
    assert!(t(json!({ "wildcard": { "name": { "wildcard": "MY-*", "case_insensitive": true } } })));
    assert!(!t(json!({ "wildcard": { "name": "MY-*" } })));
    assert!(t(json!({ "term": { "invalidated": false } })));
    assert!(t(json!({ "term": { "metadata.env": "prod" } })));
    assert!(t(json!({ "term": { "metadata.tier.level": "2" } })));
    assert!(t(json!({ "ids": { "values": ["abc"] } })));
    assert!(!t(json!({ "exists": { "field": "expiration" } })));
    assert!(t(json!({ "range": { "creation": { "gte": 5, "lt": "now" } } })));
    assert!(t(
        json!({ "bool": { "must": [{ "term": { "id": "abc" } }], "must_not": { "term": { "name": "x" } } } })
    ));
    assert!(t(
        json!({ "bool": { "should": [{ "term": { "name": "x" } }, { "term": { "name": "my-key" } }] } })
    ));
    assert!(!t(json!({ "bool": { "filter": [{ "term": { "name": "x" } }] } })));
    let e = matches(&json!({ "term": { "api_key_hash": "x" } }), "abc", &k).unwrap_err();
    assert_eq!(e.reason, "Field [api_key_hash] is not allowed for querying or aggregation");
    assert!(matches(&json!({ "script": {} }), "abc", &k).is_err());
}

#[test]
fn sort_specs() {
    let keys =
        sort_keys(Some(&json!(["name", { "creation": { "order": "desc" } }, { "nope": "asc" }, "_score"])));
    assert_eq!(keys, vec![(Field::Name, false), (Field::Creation, true)]);
    assert_eq!(compare(&json!(1), &Value::Null), Ordering::Less);
    assert_eq!(compare(&json!(10), &json!(9)), Ordering::Greater);
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
    assert!(!grants_anything(&json!({})));
    assert!(!grants_anything(&json!({ "cluster": [], "indices": [] })));
    assert!(grants_anything(&json!({ "cluster": ["all"] })));
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
