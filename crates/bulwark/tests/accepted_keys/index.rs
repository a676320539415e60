//! Rows for index settings, mapping parameters and security settings.

use serde_json::{Value, json};

use super::{Check, Ctx, refused};

/// Creates index `name` with `body` as elastic (expecting success).
fn create(c: &Ctx, name: &str, body: Value) {
    c.admin("PUT", &format!("/{name}"), &body);
}

fn setting_kept(c: &Ctx, index: &str, key: &str, value: Value) {
    create(c, index, json!({"settings": {"index": {key: value.clone()}}}));
    let v = c.admin("GET", &format!("/{index}/_settings"), &Value::Null);
    let got = &v[index]["settings"]["index"][key];
    assert_eq!(got.as_str(), Some(value.to_string().trim_matches('"')), "{v}");
}

/// An index with `index.blocks.<block>: true` and one document (written before the block).
fn blocked(c: &Ctx, index: &str, block: &str) {
    create(c, index, json!({}));
    c.admin("PUT", &format!("/{index}/_doc/1?refresh=true"), &json!({"a": 1}));
    c.admin("PUT", &format!("/{index}/_settings"), &json!({"index": {format!("blocks.{block}"): true}}));
}

fn only(c: &Ctx, index: &str, key: &str, bad: Value) {
    refused(
        c.call(&c.elastic, "PUT", &format!("/{index}"), &json!({"settings": {"index": {key: bad}}})),
        key,
    );
}

/// A pipeline setting runs its pipeline on a write; an empty name is refused.
fn pipeline_setting(c: &Ctx, index: &str, key: &str) {
    let pipeline = format!("{index}_pl");
    c.admin(
        "PUT",
        &format!("/_ingest/pipeline/{pipeline}"),
        &json!({"processors": [{"set": {"field": "by", "value": key}}]}),
    );
    create(c, index, json!({"settings": {"index": {key: pipeline}}}));
    c.admin("PUT", &format!("/{index}/_doc/1"), &json!({"a": 1}));
    let doc = c.admin("GET", &format!("/{index}/_doc/1"), &Value::Null);
    assert_eq!(doc["_source"]["by"], json!(key), "{doc}");
    only(c, &format!("{index}_bad"), key, json!(""));
}

pub const INDEX_SETTINGS: &[(&str, Check)] = &[
    // Accepted with a stated reason (`bulwark-rest/src/api/settings.rs`): kept and returned.
    ("number_of_shards", |c| setting_kept(c, "s_shards", "number_of_shards", json!("3"))),
    ("number_of_replicas", |c| setting_kept(c, "s_replicas", "number_of_replicas", json!("2"))),
    ("auto_expand_replicas", |c| setting_kept(c, "s_auto", "auto_expand_replicas", json!("0-all"))),
    ("priority", |c| setting_kept(c, "s_prio", "priority", json!("5"))),
    ("refresh_interval", |c| {
        setting_kept(c, "s_refresh", "refresh_interval", json!("30s"));
        only(c, "s_refresh_bad", "refresh_interval", json!("soon"));
    }),
    ("hidden", |c| {
        create(c, "s_hidden", json!({"settings": {"index": {"hidden": true}}}));
        c.admin("PUT", "/s_hidden/_doc/1?refresh=true", &json!({"a": 1}));
        assert_eq!(c.admin("GET", "/s_hidden/_count", &Value::Null)["count"], 1);
        assert_eq!(c.admin("GET", "/s_hid*/_count", &Value::Null)["count"], 0);
    }),
    ("blocks.read", |c| {
        blocked(c, "s_b_read", "read");
        assert_eq!(c.call(&c.elastic, "GET", "/s_b_read/_search", &Value::Null).0, 403);
    }),
    ("blocks.write", |c| {
        blocked(c, "s_b_write", "write");
        assert_eq!(c.call(&c.elastic, "PUT", "/s_b_write/_doc/2", &json!({"a": 2})).0, 403);
    }),
    ("blocks.read_only", |c| {
        blocked(c, "s_b_ro", "read_only");
        assert_eq!(c.call(&c.elastic, "PUT", "/s_b_ro/_doc/2", &json!({"a": 2})).0, 403);
    }),
    ("blocks.read_only_allow_delete", |c| {
        blocked(c, "s_b_rad", "read_only_allow_delete");
        // Elasticsearch answers this block with 429.
        assert_eq!(c.call(&c.elastic, "PUT", "/s_b_rad/_doc/2", &json!({"a": 2})).0, 429);
    }),
    ("blocks.metadata", |c| {
        blocked(c, "s_b_md", "metadata");
        assert_eq!(c.call(&c.elastic, "GET", "/s_b_md/_settings", &Value::Null).0, 403);
    }),
    ("max_result_window", |c| only(c, "s_mrw", "max_result_window", json!(50))),
    ("mapping.total_fields.limit", |c| {
        let refused_with = |answer: (u16, Value), reason: &str| {
            let (status, v) = answer;
            assert_eq!(status, 400, "{v}");
            assert_eq!(v["error"]["type"], "illegal_argument_exception", "{v}");
            assert_eq!(v["error"]["reason"], reason, "{v}");
        };
        let two = json!({"properties": {"a": {"type": "keyword"}, "b": {"type": "keyword"}}});
        create(c, "s_tfl", json!({"settings": {"index.mapping.total_fields.limit": 3}, "mappings": two}));
        c.admin("PUT", "/s_tfl/_doc/1", &json!({"c": 1}));
        refused_with(
            c.call(&c.elastic, "PUT", "/s_tfl/_doc/2", &json!({"d": 1})),
            "Limit of total fields [3] has been exceeded while adding new fields [1]",
        );
        refused_with(
            c.call(&c.elastic, "PUT", "/s_tfl/_mapping", &json!({"properties": {"e": {"type": "long"}}})),
            "Limit of total fields [3] has been exceeded",
        );
        refused_with(
            c.call(
                &c.elastic,
                "PUT",
                "/s_tfl_new",
                &json!({"settings": {"index.mapping.total_fields.limit": 1}, "mappings": two}),
            ),
            "Limit of total fields [1] has been exceeded",
        );
        // Dynamic: a higher limit takes the field.
        c.admin("PUT", "/s_tfl/_settings", &json!({"index.mapping.total_fields.limit": 4}));
        c.admin("PUT", "/s_tfl/_doc/2", &json!({"d": 1}));
        // From a template, above the default of 1000.
        let many: serde_json::Map<String, Value> =
            (0..1500).map(|i| (format!("f{i}"), json!({"type": "keyword"}))).collect();
        let template = json!({"index_patterns": ["s_tfl_t*"], "template": {
            "settings": {"index": {"mapping": {"total_fields": {"limit": 2000}}}}, "mappings": {"properties": many}}});
        c.admin("PUT", "/_index_template/s_tfl_t", &template);
        c.admin("PUT", "/s_tfl_t1/_doc/1", &json!({"f0": "x", "g": 1}));
        let v = c.admin("GET", "/s_tfl_t1/_settings", &Value::Null);
        assert_eq!(v["s_tfl_t1"]["settings"]["index"]["mapping"]["total_fields"]["limit"], "2000", "{v}");
        only(c, "s_tfl_bad", "mapping.total_fields.limit", json!(-1));
    }),
    ("mapping.depth.limit", |c| only(c, "s_mdl", "mapping.depth.limit", json!(2))),
    ("max_docvalue_fields_search", |c| {
        create(
            c,
            "s_mdv",
            json!({"settings": {"index": {"max_docvalue_fields_search": 1}},
                   "mappings": {"properties": {"a": {"type": "keyword"}, "b": {"type": "long"}}}}),
        );
        c.admin("PUT", "/s_mdv/_doc/1?refresh=true", &json!({"a": "x", "b": 2}));
        let one = c.admin("POST", "/s_mdv/_search", &json!({"docvalue_fields": ["a", "unmapped"]}));
        assert_eq!(one["hits"]["hits"][0]["fields"]["a"], json!(["x"]), "{one}");
        // A pattern counts the fields it expands to.
        for asked in [json!(["a", "b"]), json!(["*"])] {
            let (status, v) =
                c.call(&c.elastic, "POST", "/s_mdv/_search", &json!({"docvalue_fields": asked}));
            assert_eq!(status, 400, "{v}");
            assert_eq!(v["error"]["root_cause"][0]["type"], "illegal_argument_exception", "{v}");
            assert_eq!(
                v["error"]["root_cause"][0]["reason"],
                "Trying to retrieve too many docvalue_fields. Must be less than or equal to: [1] but was [2]. \
                 This limit can be set by changing the [index.max_docvalue_fields_search] index level setting.",
                "{v}"
            );
        }
        // The setting is dynamic; the default is 100.
        c.admin("PUT", "/s_mdv/_settings", &json!({"index": {"max_docvalue_fields_search": null}}));
        c.admin("POST", "/s_mdv/_search", &json!({"docvalue_fields": ["a", "b"]}));
        let props: serde_json::Map<String, Value> =
            (0..101).map(|i| (format!("f{i}"), json!({"type": "keyword"}))).collect();
        create(c, "s_mdv_default", json!({"mappings": {"properties": props}}));
        let (status, v) =
            c.call(&c.elastic, "POST", "/s_mdv_default/_search", &json!({"docvalue_fields": ["f*"]}));
        assert_eq!(status, 400, "{v}");
        let reason = v["error"]["root_cause"][0]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("[100] but was [101]"), "{v}");
        only(c, "s_mdv_bad", "max_docvalue_fields_search", json!(-1));
    }),
    ("query.default_field", |c| {
        let mappings = json!({"properties": {"title": {"type": "text"}, "body": {"type": "text"}, "n": {"type": "long"}}});
        create(
            c,
            "s_qdf",
            json!({"settings": {"index": {"query.default_field": ["title", "n"]}}, "mappings": mappings}),
        );
        create(c, "s_qdf_all", json!({"mappings": mappings}));
        for index in ["s_qdf", "s_qdf_all"] {
            c.admin("PUT", &format!("/{index}/_doc/1"), &json!({"title": "quick", "body": "slow", "n": 1}));
            c.admin(
                "PUT",
                &format!("/{index}/_doc/2?refresh=true"),
                &json!({"title": "slow", "body": "quick", "n": 2}),
            );
        }
        let hits = |path: &str, body: Value| -> Vec<String> {
            let v = c.admin("POST", path, &body);
            let mut ids: Vec<String> = v["hits"]["hits"]
                .as_array()
                .expect("hits")
                .iter()
                .map(|h| {
                    format!("{}/{}", h["_index"].as_str().unwrap_or(""), h["_id"].as_str().unwrap_or(""))
                })
                .collect();
            ids.sort();
            ids
        };
        // Only `title` (a text query skips the number field, as a pattern would), per index.
        for query in [
            json!({"query_string": {"query": "quick"}}),
            json!({"simple_query_string": {"query": "quick"}}),
            json!({"multi_match": {"query": "quick"}}),
        ] {
            assert_eq!(hits("/s_qdf/_search", json!({"query": query})), ["s_qdf/1"], "{query}");
            assert_eq!(
                hits("/s_qdf,s_qdf_all/_search", json!({"query": query})),
                ["s_qdf/1", "s_qdf_all/1", "s_qdf_all/2"],
                "{query}"
            );
        }
        assert_eq!(hits("/s_qdf/_search?q=quick", Value::Null), ["s_qdf/1"]);
        assert_eq!(hits("/s_qdf/_search?q=quick&df=body", Value::Null), ["s_qdf/2"]);
        assert_eq!(hits("/s_qdf/_search?q=2", Value::Null), ["s_qdf/2"]);
        assert_eq!(c.admin("GET", "/s_qdf/_count?q=quick", &Value::Null)["count"], 1);
        let v = c.admin("GET", "/s_qdf/_settings", &Value::Null);
        assert_eq!(v["s_qdf"]["settings"]["index"]["query"]["default_field"], json!(["title", "n"]), "{v}");
        // Dynamic; a single name is a list of one.
        c.admin("PUT", "/s_qdf/_settings", &json!({"index.query.default_field": "body"}));
        assert_eq!(hits("/s_qdf/_search?q=quick", Value::Null), ["s_qdf/2"]);
        only(c, "s_qdf_bad", "query.default_field", json!([""]));
        only(c, "s_qdf_bad", "query.default_field", json!("title^x"));
    }),
    ("codec", |c| {
        // Kept and shown; the bytes on disk do not change (docs/architecture.md).
        setting_kept(c, "s_codec", "codec", json!("best_compression"));
        only(c, "s_codec_bad", "codec", json!("zstd"));
    }),
    ("default_pipeline", |c| pipeline_setting(c, "s_dp", "default_pipeline")),
    ("final_pipeline", |c| pipeline_setting(c, "s_fp", "final_pipeline")),
    ("lifecycle.name", |c| {
        // Kept and shown: the policy lists the index as using it (policies are not executed).
        c.admin("PUT", "/_ilm/policy/s_lc_policy", &json!({"policy": {"phases": {"hot": {"actions": {}}}}}));
        create(c, "s_lc", json!({"settings": {"index": {"lifecycle": {"name": "s_lc_policy"}}}}));
        let v = c.admin("GET", "/_ilm/policy/s_lc_policy", &Value::Null);
        assert_eq!(v["s_lc_policy"]["in_use_by"]["indices"], json!(["s_lc"]), "{v}");
        only(c, "s_lc_bad", "lifecycle.name", json!(""));
    }),
];

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A fresh index name.
fn fresh() -> String {
    format!("m_{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// An index whose field `f` is mapped as `def`, holding `docs`; its name.
fn with_field(c: &Ctx, def: Value, docs: &[Value]) -> String {
    let name = fresh();
    create(c, &name, json!({"mappings": {"properties": {"f": def}}}));
    for (i, d) in docs.iter().enumerate() {
        c.admin("PUT", &format!("/{name}/_doc/{i}?refresh=true"), d);
    }
    name
}

fn count(c: &Ctx, index: &str, query: Value) -> u64 {
    let v = c.admin("POST", &format!("/{index}/_count"), &json!({ "query": query }));
    v["count"].as_u64().expect("count")
}

/// The parameter is refused with `bad` and the mapping is created with `good`.
fn fixed(c: &Ctx, param: &str, ty: &str, good: Option<Value>, bad: Value) {
    let def = |v: Value| {
        let mut d = json!({"type": ty});
        d[param] = v;
        if ty == "scaled_float" {
            d["scaling_factor"] = json!(10);
        }
        d
    };
    let answer = c.call(
        &c.elastic,
        "PUT",
        &format!("/{}", fresh()),
        &json!({"mappings": {"properties": {"f": def(bad)}}}),
    );
    refused(answer, param);
    if let Some(good) = good {
        with_field(c, def(good), &[]);
    }
}

/// Kept and returned by `GET _mapping` as given (no answer depends on it).
fn kept(c: &Ctx, param: &str, ty: &str, value: Value) {
    let mut def = json!({"type": ty});
    def[param] = value.clone();
    let index = with_field(c, def, &[]);
    let v = c.admin("GET", &format!("/{index}/_mapping"), &Value::Null);
    assert_eq!(v[&index]["mappings"]["properties"]["f"][param], value, "{v}");
}

pub const MAPPING_LEAF: &[(&str, Check)] = &[
    ("type", |c| {
        let i = with_field(c, json!({"type": "keyword"}), &[json!({"f": "Hello World"})]);
        assert_eq!(count(c, &i, json!({"term": {"f": "Hello World"}})), 1);
        let t = with_field(c, json!({"type": "text"}), &[json!({"f": "Hello World"})]);
        assert_eq!(count(c, &t, json!({"term": {"f": "Hello World"}})), 0);
    }),
    ("fields", |c| {
        let i = with_field(
            c,
            json!({"type": "text", "fields": {"raw": {"type": "keyword"}}}),
            &[json!({"f": "Hello World"})],
        );
        assert_eq!(count(c, &i, json!({"term": {"f.raw": "Hello World"}})), 1);
    }),
    ("coerce", |c| {
        let i = with_field(c, json!({"type": "long", "coerce": false}), &[]);
        assert_eq!(c.call(&c.elastic, "PUT", &format!("/{i}/_doc/1"), &json!({"f": "5"})).0, 400);
        let j = with_field(c, json!({"type": "long"}), &[json!({"f": "5"})]);
        assert_eq!(count(c, &j, json!({"term": {"f": 5}})), 1);
    }),
    ("format", |c| {
        let i = with_field(c, json!({"type": "date", "format": "epoch_second"}), &[json!({"f": 86400})]);
        assert_eq!(
            count(
                c,
                &i,
                json!({"range": {"f": {"gte": "1970-01-02T00:00:00Z", "lte": "1970-01-02T00:00:00Z"}}})
            ),
            1
        );
    }),
    ("ignore_above", |c| {
        let i = with_field(c, json!({"type": "keyword", "ignore_above": 3}), &[json!({"f": "long value"})]);
        assert_eq!(count(c, &i, json!({"term": {"f": "long value"}})), 0);
    }),
    ("ignore_malformed", |c| {
        let i =
            with_field(c, json!({"type": "long", "ignore_malformed": true}), &[json!({"f": "not a number"})]);
        assert_eq!(count(c, &i, json!({"match_all": {}})), 1);
    }),
    ("index", |c| {
        let i = with_field(c, json!({"type": "text", "index": false}), &[json!({"f": "hello"})]);
        assert_eq!(
            c.call(&c.elastic, "POST", &format!("/{i}/_count"), &json!({"query": {"match": {"f": "hello"}}}))
                .1["count"]
                .as_u64()
                .unwrap_or(0),
            0
        );
    }),
    ("null_value", |c| {
        let i = with_field(c, json!({"type": "keyword", "null_value": "NULL"}), &[json!({"f": null})]);
        assert_eq!(count(c, &i, json!({"term": {"f": "NULL"}})), 1);
    }),
    ("scaling_factor", |c| {
        let i = with_field(c, json!({"type": "scaled_float", "scaling_factor": 10}), &[json!({"f": 1.234})]);
        assert_eq!(count(c, &i, json!({"range": {"f": {"gte": 1.2, "lte": 1.2}}})), 1);
        refused(
            c.call(
                &c.elastic,
                "PUT",
                &format!("/{}", fresh()),
                &json!({"mappings": {"properties": {"f": {"type": "scaled_float"}}}}),
            ),
            "scaling_factor",
        );
    }),
    ("meta", |c| kept(c, "meta", "keyword", json!({"unit": "ms"}))),
    ("eager_global_ordinals", |c| kept(c, "eager_global_ordinals", "keyword", json!(true))),
    ("index_phrases", |c| kept(c, "index_phrases", "text", json!(true))),
    ("index_prefixes", |c| kept(c, "index_prefixes", "text", json!({"min_chars": 2, "max_chars": 5}))),
    ("analyzer", |c| fixed(c, "analyzer", "text", Some(json!("standard")), json!("english"))),
    ("search_analyzer", |c| fixed(c, "search_analyzer", "text", Some(json!("standard")), json!("english"))),
    ("search_quote_analyzer", |c| {
        fixed(c, "search_quote_analyzer", "text", Some(json!("standard")), json!("english"))
    }),
    ("normalizer", |c| fixed(c, "normalizer", "keyword", None, json!("lowercase"))),
    ("boost", |c| fixed(c, "boost", "keyword", Some(json!(1.0)), json!(2))),
    ("copy_to", |c| fixed(c, "copy_to", "keyword", None, json!("other"))),
    ("doc_values", |c| fixed(c, "doc_values", "keyword", Some(json!(true)), json!(false))),
    ("store", |c| fixed(c, "store", "keyword", Some(json!(false)), json!(true))),
    ("norms", |c| {
        fixed(c, "norms", "text", Some(json!(true)), json!(false));
        fixed(c, "norms", "keyword", Some(json!(false)), json!(true));
    }),
    ("index_options", |c| fixed(c, "index_options", "text", Some(json!("positions")), json!("docs"))),
    ("similarity", |c| fixed(c, "similarity", "text", Some(json!("BM25")), json!("boolean"))),
    ("term_vector", |c| fixed(c, "term_vector", "text", Some(json!("no")), json!("yes"))),
    ("position_increment_gap", |c| fixed(c, "position_increment_gap", "text", Some(json!(100)), json!(0))),
    ("fielddata", |c| fixed(c, "fielddata", "text", Some(json!(false)), json!(true))),
    ("fielddata_frequency_filter", |c| {
        fixed(c, "fielddata_frequency_filter", "text", None, json!({"min": 0.1}))
    }),
    ("split_queries_on_whitespace", |c| {
        fixed(c, "split_queries_on_whitespace", "keyword", Some(json!(false)), json!(true))
    }),
    ("locale", |c| fixed(c, "locale", "date", None, json!("de"))),
    ("script", |c| fixed(c, "script", "long", None, json!({"source": "emit(1)"}))),
    ("on_script_error", |c| fixed(c, "on_script_error", "long", None, json!("continue"))),
    ("time_series_dimension", |c| {
        fixed(c, "time_series_dimension", "keyword", Some(json!(false)), json!(true))
    }),
    ("time_series_metric", |c| fixed(c, "time_series_metric", "long", None, json!("gauge"))),
    ("value", |c| fixed(c, "value", "constant_keyword", None, json!("v"))),
];

/// The object parameter is refused with `bad` and accepted with `good`.
fn object_fixed(c: &Ctx, param: &str, good: Value, bad: Value) {
    let def = |v: Value| json!({"properties": {"o": {"properties": {"x": {"type": "keyword"}}, param: v}}});
    refused(c.call(&c.elastic, "PUT", &format!("/{}", fresh()), &json!({"mappings": def(bad)})), param);
    create(c, &fresh(), json!({"mappings": def(good)}));
}

pub const MAPPING_OBJECT: &[(&str, Check)] = &[
    ("type", |c| {
        let answer = c.call(
            &c.elastic,
            "PUT",
            &format!("/{}", fresh()),
            &json!({"mappings": {"properties": {"o": {"type": "object", "fields": {}}}}}),
        );
        refused(answer, "fields");
    }),
    ("properties", |c| {
        let i = with_field(
            c,
            json!({"properties": {"x": {"type": "keyword"}}}),
            &[json!({"f": {"x": "Some Value"}})],
        );
        assert_eq!(count(c, &i, json!({"term": {"f.x": "Some Value"}})), 1);
    }),
    ("dynamic", |c| {
        let i = with_field(c, json!({"dynamic": "strict", "properties": {"x": {"type": "keyword"}}}), &[]);
        assert_eq!(c.call(&c.elastic, "PUT", &format!("/{i}/_doc/1"), &json!({"f": {"y": 1}})).0, 400);
    }),
    ("enabled", |c| {
        let i = with_field(c, json!({"type": "object", "enabled": false}), &[json!({"f": {"x": "v"}})]);
        assert_eq!(count(c, &i, json!({"term": {"f.x": "v"}})), 0);
        assert_eq!(count(c, &i, json!({"match_all": {}})), 1);
    }),
    ("subobjects", |c| object_fixed(c, "subobjects", json!(true), json!(false))),
    ("include_in_parent", |c| object_fixed(c, "include_in_parent", json!(true), json!(false))),
    ("include_in_root", |c| object_fixed(c, "include_in_root", json!(true), json!(false))),
];

fn root(c: &Ctx, mappings: Value) -> (u16, Value, String) {
    let name = fresh();
    let (status, v) = c.call(&c.elastic, "PUT", &format!("/{name}"), &json!({ "mappings": mappings }));
    (status, v, name)
}

fn root_fixed(c: &Ctx, param: &str, good: Value, bad: Value) {
    let (status, v, _) = root(c, json!({ param: bad }));
    refused((status, v), param);
    let (status, v, _) = root(c, json!({ param: good }));
    assert_eq!(status, 200, "{v}");
}

fn dynamic_type(c: &Ctx, mappings: Value, value: Value) -> Value {
    let (status, v, name) = root(c, mappings);
    assert_eq!(status, 200, "{v}");
    c.admin("PUT", &format!("/{name}/_doc/1?refresh=true"), &json!({ "d": value }));
    let m = c.admin("GET", &format!("/{name}/_mapping"), &Value::Null);
    m[&name]["mappings"]["properties"]["d"]["type"].clone()
}

pub const MAPPING_ROOT: &[(&str, Check)] = &[
    ("properties", |c| {
        let (status, _, name) = root(c, json!({"properties": {"k": {"type": "keyword"}}}));
        assert_eq!(status, 200);
        c.admin("PUT", &format!("/{name}/_doc/1?refresh=true"), &json!({"k": "A B"}));
        assert_eq!(count(c, &name, json!({"term": {"k": "A B"}})), 1);
    }),
    ("dynamic", |c| {
        let (_, _, name) = root(c, json!({"dynamic": "strict"}));
        assert_eq!(c.call(&c.elastic, "PUT", &format!("/{name}/_doc/1"), &json!({"new": 1})).0, 400);
    }),
    ("date_detection", |c| {
        assert_eq!(dynamic_type(c, json!({}), json!("2020-01-01")), "date");
        assert_eq!(dynamic_type(c, json!({"date_detection": false}), json!("2020-01-01")), "text");
    }),
    ("numeric_detection", |c| {
        assert_eq!(dynamic_type(c, json!({"numeric_detection": true}), json!("5")), "long")
    }),
    ("_source", |c| refused(root(c, json!({"_source": {"excludes": ["a"]}})).into_pair(), "_source")),
    ("_meta", |c| {
        let (_, _, name) = root(c, json!({"_meta": {"owner": "me"}}));
        let m = c.admin("GET", &format!("/{name}/_mapping"), &Value::Null);
        assert_eq!(m[&name]["mappings"]["_meta"]["owner"], "me", "{m}");
    }),
    ("_routing", |c| root_fixed(c, "_routing", json!({"required": false}), json!({"required": true}))),
    ("dynamic_date_formats", |c| {
        refused(root(c, json!({"dynamic_date_formats": ["yyyy"]})).into_pair(), "dynamic_date_formats")
    }),
    ("dynamic_templates", |c| {
        // A matching template decides the type of a new field; one this node cannot run is refused.
        let t = json!({"dynamic_templates": [
            {"labels": {"path_match": "labels.*", "match_mapping_type": "string", "mapping": {"type": "keyword"}}}
        ]});
        let (status, v, name) = root(c, t);
        assert_eq!(status, 200, "{v}");
        c.admin("PUT", &format!("/{name}/_doc/1"), &json!({"labels": {"env": "prod"}, "other": "x"}));
        let m = c.admin("GET", &format!("/{name}/_mapping"), &Value::Null);
        let props = &m[&name]["mappings"]["properties"];
        assert_eq!(props["labels"]["properties"]["env"]["type"], "keyword", "{m}");
        assert_eq!(props["other"]["type"], "text", "{m}");
        let bad = json!([{"r": {"match_pattern": "regex", "match": "^a", "mapping": {"type": "keyword"}}}]);
        refused(root(c, json!({"dynamic_templates": bad})).into_pair(), "match_pattern");
    }),
    ("_data_stream_timestamp", |c| {
        refused(
            root(c, json!({"_data_stream_timestamp": {"enabled": true}})).into_pair(),
            "_data_stream_timestamp",
        )
    }),
    ("subobjects", |c| root_fixed(c, "subobjects", json!(true), json!(false))),
];

trait IntoPair {
    fn into_pair(self) -> (u16, Value);
}

impl IntoPair for (u16, Value, String) {
    fn into_pair(self) -> (u16, Value) {
        (self.0, self.1)
    }
}

/// Security settings: each row names the test file that shows the setting enforced (or
/// refused) on the real node; the row checks that file exists and names the setting.
fn enforced_in(key: &str, file: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let tail = ["<name>.", "ssl.", "xpack.security."]
        .iter()
        .find_map(|p| key.rsplit_once(p).map(|(_, t)| t))
        .unwrap_or(key);
    assert!(
        text.contains(tail)
            || text.contains(&tail.replace('.', "_"))
            || tail.strip_prefix("files.").is_some_and(|t| text.contains(&format!("{t}_file"))),
        "{file} does not name [{key}]"
    );
}

macro_rules! setting_rows {
    ($($key:literal => $file:literal),* $(,)?) => {
        &[$(($key, |_| enforced_in($key, $file))),*]
    };
}

/// A node of its own with `max_failures: 2` and `duration`: two wrong passwords lock `elastic`
/// out (the right password is refused); after `wait`, whether it is allowed again.
fn lockout(duration: &str, wait: std::time::Duration) -> bool {
    let home = bulwark_testkit::TestHome::new();
    let s = bulwark_testkit::start_fresh(
        &home,
        &[
            "-E",
            "xpack.security.authc.lockout.max_failures=2",
            "-E",
            &format!("xpack.security.authc.lockout.duration={duration}"),
        ],
    );
    for _ in 0..2 {
        let (status, _, _) = s.client.get("/", Some(("elastic", "wrong-password-123"))).expect("request");
        assert_eq!(status, 401);
    }
    let (status, _, _) = s.client.get("/", Some(("elastic", &s.password))).expect("request");
    assert_ne!(status, 200, "locked out after max_failures");
    std::thread::sleep(wait);
    let (status, _, _) = s.client.get("/", Some(("elastic", &s.password))).expect("request");
    s.node.stop();
    status == 200
}

/// Settings checked on a node of their own.
pub const LOCKOUT_SETTINGS: &[(&str, Check)] = &[
    ("xpack.security.authc.lockout.max_failures", |_| {
        assert!(!lockout("1h", std::time::Duration::ZERO));
    }),
    ("xpack.security.authc.lockout.duration", |_| {
        assert!(lockout("1s", std::time::Duration::from_millis(1300)), "the lock ends after [duration]");
    }),
];

pub const SETTINGS: &[(&str, Check)] = setting_rows![
    "xpack.security.enabled" => "crates/bulwark/tests/tls.rs",
    "xpack.security.autoconfiguration.enabled" => "crates/bulwark/tests/autoconfig.rs",
    "xpack.security.enrollment.enabled" => "crates/bulwark/tests/enrollment.rs",
    "xpack.security.http.ssl.enabled" => "crates/bulwark/tests/autoconfig.rs",
    "xpack.security.http.ssl.keystore.path" => "crates/bulwark/tests/certutil.rs",
    "xpack.security.http.ssl.truststore.path" => "crates/bulwark-node/src/tls.rs",
    "xpack.security.http.ssl.certificate" => "crates/bulwark/tests/tls.rs",
    "xpack.security.http.ssl.key" => "crates/bulwark/tests/tls.rs",
    "xpack.security.http.ssl.certificate_authorities" => "crates/bulwark/tests/tls.rs",
    "xpack.security.http.ssl.verification_mode" => "crates/bulwark/tests/autoconfig.rs",
    "xpack.security.http.ssl.client_authentication" => "crates/bulwark/tests/tls.rs",
    "xpack.security.http.ssl.supported_protocols" => "crates/bulwark-node/src/tls.rs",
    "xpack.security.http.ssl.cipher_suites" => "crates/bulwark/tests/tls.rs",
    "xpack.security.transport.ssl.enabled" => "crates/bulwark/tests/autoconfig.rs",
    "xpack.security.transport.ssl.keystore.path" => "crates/bulwark/tests/certutil.rs",
    "xpack.security.transport.ssl.truststore.path" => "crates/bulwark-node/src/tls.rs",
    "xpack.security.transport.ssl.certificate" => "crates/bulwark-node/src/tls.rs",
    "xpack.security.transport.ssl.key" => "crates/bulwark-node/src/tls.rs",
    "xpack.security.transport.ssl.certificate_authorities" => "crates/bulwark-node/src/tls.rs",
    "xpack.security.transport.ssl.verification_mode" => "crates/bulwark/tests/autoconfig.rs",
    "xpack.security.transport.ssl.client_authentication" => "crates/bulwark-node/src/tls.rs",
    "xpack.security.transport.ssl.supported_protocols" => "crates/bulwark-node/src/tls.rs",
    "xpack.security.transport.ssl.cipher_suites" => "crates/bulwark-node/src/tls.rs",
    "xpack.security.authc.password_hashing.algorithm" => "crates/bulwark/tests/users_cli.rs",
    "xpack.security.authc.service_token_hashing.algorithm" => "crates/bulwark/tests/users_cli.rs",
    "xpack.security.authc.api_key.enabled" => "crates/bulwark/tests/fail_closed.rs",
    "xpack.security.authc.token.enabled" => "crates/bulwark/tests/tokens.rs",
    "xpack.security.authc.token.timeout" => "crates/bulwark/tests/tokens.rs",
    "xpack.security.audit.enabled" => "crates/bulwark-node/src/start.rs",
    "xpack.security.audit.logfile.events.include" => "crates/bulwark/tests/audit_chain.rs",
    "xpack.security.audit.logfile.events.exclude" => "crates/bulwark/tests/audit_chain.rs",
    "xpack.security.authc.lockout.enabled" => "crates/bulwark/tests/hardening.rs",
    "xpack.security.authc.password_policy.min_length" => "crates/bulwark/tests/users_cli.rs",
    "xpack.security.authc.password_policy.reject_common" => "crates/bulwark/tests/users_cli.rs",
    "xpack.security.authc.realms.pki.<name>.delegation.enabled" => "crates/bulwark/tests/tls.rs",
    "xpack.security.authc.realms.pki.<name>.order" => "crates/bulwark/tests/tls.rs",
    "xpack.security.authc.realms.pki.<name>.username_pattern" => "crates/bulwark/tests/tls.rs",
    "xpack.security.authc.realms.pki.<name>.enabled" => "crates/bulwark/tests/tls.rs",
    "xpack.security.authc.realms.pki.<name>.certificate_authorities" => "crates/bulwark/tests/tls.rs",
    "xpack.security.authc.realms.pki.<name>.files.role_mapping" => "crates/bulwark-security/src/authn/pki.rs",
];
