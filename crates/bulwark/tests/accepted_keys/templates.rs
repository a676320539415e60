//! Rows for index templates, component templates and lifecycle policies.

use serde_json::{Value, json};

use super::{Check, Ctx, refused};

fn put_template(c: &Ctx, name: &str, body: Value) {
    c.admin("PUT", &format!("/_index_template/{name}"), &body);
}

/// The type a first write into `index` mapped `field` with.
fn mapped_type(c: &Ctx, index: &str, field: &str) -> Value {
    c.admin("POST", &format!("/{index}/_doc"), &json!({field: "x", "@timestamp": "2026-01-01T00:00:00Z"}));
    let v = c.admin("GET", &format!("/{index}/_mapping"), &Value::Null);
    let (_, m) = v.as_object().and_then(|o| o.iter().next()).expect("one index");
    m["mappings"]["properties"][field]["type"].clone()
}

fn template_field(c: &Ctx, name: &str, key: &str) -> Value {
    let v = c.admin("GET", &format!("/_index_template/{name}"), &Value::Null);
    v["index_templates"][0]["index_template"][key].clone()
}

fn put_refused(c: &Ctx, path: &str, body: Value, key: &str) {
    refused(c.call(&c.elastic, "PUT", path, &body), key);
}

pub const INDEX_TEMPLATE: &[(&str, Check)] = &[
    ("index_patterns", |c| {
        put_template(
            c,
            "akt_pat",
            json!({"index_patterns": ["akt-pat-*"], "priority": 301, "template": {"mappings": {"properties": {"k": {"type": "keyword"}}}}}),
        );
        assert_eq!(mapped_type(c, "akt-pat-1", "k"), "keyword");
    }),
    ("template", |c| {
        put_template(
            c,
            "akt_tpl",
            json!({"index_patterns": ["akt-tpl-*"], "priority": 302, "template": {"mappings": {"properties": {"k": {"type": "keyword"}}}}}),
        );
        assert_eq!(mapped_type(c, "akt-tpl-1", "k"), "keyword");
        assert_eq!(mapped_type(c, "akt-other-1", "k"), "text");
    }),
    ("composed_of", |c| {
        c.admin(
            "PUT",
            "/_component_template/akt_comp",
            &json!({"template": {"mappings": {"properties": {"k": {"type": "keyword"}}}}}),
        );
        put_template(
            c,
            "akt_co",
            json!({"index_patterns": ["akt-co-*"], "priority": 303, "composed_of": ["akt_comp"]}),
        );
        assert_eq!(mapped_type(c, "akt-co-1", "k"), "keyword");
    }),
    ("priority", |c| {
        put_template(
            c,
            "akt_lo",
            json!({"index_patterns": ["akt-pr-*"], "priority": 304, "template": {"mappings": {"properties": {"k": {"type": "text"}}}}}),
        );
        put_template(
            c,
            "akt_hi",
            json!({"index_patterns": ["akt-pr-x*"], "priority": 305, "template": {"mappings": {"properties": {"k": {"type": "keyword"}}}}}),
        );
        assert_eq!(mapped_type(c, "akt-pr-x1", "k"), "keyword");
    }),
    ("version", |c| {
        put_template(c, "akt_ver", json!({"index_patterns": ["akt-ver-*"], "priority": 306, "version": 7}));
        assert_eq!(template_field(c, "akt_ver", "version"), 7);
    }),
    ("_meta", |c| {
        put_template(
            c,
            "akt_meta",
            json!({"index_patterns": ["akt-meta-*"], "priority": 307, "_meta": {"a": 1}}),
        );
        assert_eq!(template_field(c, "akt_meta", "_meta"), json!({"a": 1}));
    }),
    ("data_stream", |c| {
        put_template(
            c,
            "akt_ds",
            json!({"index_patterns": ["akt-ds-*"], "priority": 308, "data_stream": {}}),
        );
        let v = c.admin("POST", "/akt-ds-1/_doc", &json!({"@timestamp": "2026-01-01T00:00:00Z"}));
        assert!(v["_index"].as_str().unwrap_or_default().starts_with(".ds-akt-ds-1-"), "{v}");
    }),
    ("ignore_missing_component_templates", |c| {
        let body = json!({"index_patterns": ["akt-imc-*"], "priority": 309, "composed_of": ["akt_absent"]});
        assert_eq!(c.call(&c.elastic, "PUT", "/_index_template/akt_imc", &body).0, 400);
        let mut body = body;
        body["ignore_missing_component_templates"] = json!(["akt_absent"]);
        put_template(c, "akt_imc", body);
    }),
    ("allow_auto_create", |c| {
        put_refused(
            c,
            "/_index_template/akt_aac",
            json!({"index_patterns": ["akt-aac-*"], "allow_auto_create": true}),
            "allow_auto_create",
        )
    }),
    ("deprecated", |c| {
        put_refused(
            c,
            "/_index_template/akt_dep",
            json!({"index_patterns": ["akt-dep-*"], "deprecated": true}),
            "deprecated",
        )
    }),
];

pub const COMPONENT_TEMPLATE: &[(&str, Check)] = &[
    ("template", |c| {
        c.admin(
            "PUT",
            "/_component_template/akt_c_tpl",
            &json!({"template": {"mappings": {"properties": {"k": {"type": "keyword"}}}}}),
        );
        put_template(
            c,
            "akt_c_tpl",
            json!({"index_patterns": ["akt-ctpl-*"], "priority": 310, "composed_of": ["akt_c_tpl"]}),
        );
        assert_eq!(mapped_type(c, "akt-ctpl-1", "k"), "keyword");
    }),
    ("version", |c| {
        c.admin("PUT", "/_component_template/akt_c_ver", &json!({"template": {}, "version": 4}));
        let v = c.admin("GET", "/_component_template/akt_c_ver", &Value::Null);
        assert_eq!(v["component_templates"][0]["component_template"]["version"], 4);
    }),
    ("_meta", |c| {
        c.admin("PUT", "/_component_template/akt_c_meta", &json!({"template": {}, "_meta": {"b": 2}}));
        let v = c.admin("GET", "/_component_template/akt_c_meta", &Value::Null);
        assert_eq!(v["component_templates"][0]["component_template"]["_meta"], json!({"b": 2}));
    }),
    ("deprecated", |c| {
        put_refused(
            c,
            "/_component_template/akt_c_dep",
            json!({"template": {}, "deprecated": true}),
            "deprecated",
        )
    }),
];

pub const TEMPLATE_PART: &[(&str, Check)] = &[
    ("settings", |c| {
        put_template(
            c,
            "akt_p_set",
            json!({"index_patterns": ["akt-pset-*"], "priority": 311, "template": {"settings": {"index": {"refresh_interval": "7s"}}}}),
        );
        c.admin("PUT", "/akt-pset-1", &Value::Null);
        let v = c.admin("GET", "/akt-pset-1/_settings", &Value::Null);
        assert_eq!(v["akt-pset-1"]["settings"]["index"]["refresh_interval"], "7s", "{v}");
    }),
    ("mappings", |c| {
        put_template(
            c,
            "akt_p_map",
            json!({"index_patterns": ["akt-pmap-*"], "priority": 312, "template": {"mappings": {"properties": {"k": {"type": "keyword"}}}}}),
        );
        assert_eq!(mapped_type(c, "akt-pmap-1", "k"), "keyword");
    }),
    ("aliases", |c| {
        put_template(
            c,
            "akt_p_al",
            json!({"index_patterns": ["akt-pal-*"], "priority": 313, "template": {"aliases": {"akt-pal-alias": {}}}}),
        );
        c.admin("PUT", "/akt-pal-1", &Value::Null);
        let v = c.admin("GET", "/akt-pal-1/_alias", &Value::Null);
        assert!(v["akt-pal-1"]["aliases"].get("akt-pal-alias").is_some(), "{v}");
    }),
    ("lifecycle", |c| {
        put_refused(
            c,
            "/_index_template/akt_p_lc",
            json!({"index_patterns": ["akt-plc-*"], "template": {"lifecycle": {}}}),
            "lifecycle",
        )
    }),
    ("data_stream_options", |c| {
        let body = json!({"index_patterns": ["akt-pdso-*"], "template": {"data_stream_options": {}}});
        put_refused(c, "/_index_template/akt_p_dso", body, "data_stream_options")
    }),
];

pub const DATA_STREAM_TEMPLATE: &[(&str, Check)] = &[
    ("hidden", |c| {
        put_template(
            c,
            "akt_dsh",
            json!({"index_patterns": ["akt-dsh-*"], "priority": 314, "data_stream": {"hidden": true}}),
        );
        c.admin("PUT", "/_data_stream/akt-dsh-1", &Value::Null);
        let v = c.admin("GET", "/_data_stream/akt-dsh-1", &Value::Null);
        assert_eq!(v["data_streams"][0]["hidden"], true, "{v}");
    }),
    ("allow_custom_routing", |c| {
        let body = json!({"index_patterns": ["akt-dsr-*"], "data_stream": {"allow_custom_routing": true}});
        put_refused(c, "/_index_template/akt_dsr", body, "allow_custom_routing")
    }),
];

fn policy(c: &Ctx, name: &str, policy: Value) -> Value {
    c.admin("PUT", &format!("/_ilm/policy/{name}"), &json!({"policy": policy}));
    c.admin("GET", &format!("/_ilm/policy/{name}"), &Value::Null)[name]["policy"].clone()
}

pub const LIFECYCLE_REQUEST: &[(&str, Check)] = &[("policy", |c| {
    let p = json!({"phases": {"delete": {"min_age": "30d", "actions": {"delete": {}}}}});
    assert_eq!(policy(c, "akt_lc_req", p.clone()), p);
})];

pub const LIFECYCLE_POLICY: &[(&str, Check)] = &[
    ("phases", |c| {
        refused(
            c.call(&c.elastic, "PUT", "/_ilm/policy/akt_ph", &json!({"policy": {"phases": {"tepid": {}}}})),
            "tepid",
        )
    }),
    ("_meta", |c| {
        assert_eq!(
            policy(c, "akt_lc_meta", json!({"phases": {}, "_meta": {"m": 1}}))["_meta"],
            json!({"m": 1})
        )
    }),
];

pub const LIFECYCLE_PHASE: &[(&str, Check)] = &[
    ("min_age", |c| {
        let body = json!({"policy": {"phases": {"hot": {"min_age": "soon", "actions": {}}}}});
        refused(c.call(&c.elastic, "PUT", "/_ilm/policy/akt_age", &body), "min_age")
    }),
    ("actions", |c| {
        let body = json!({"policy": {"phases": {"frozen": {"actions": {"rollover": {}}}}}});
        refused(c.call(&c.elastic, "PUT", "/_ilm/policy/akt_act", &body), "rollover")
    }),
];
