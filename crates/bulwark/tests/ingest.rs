//! Ingest pipelines against the real node: stored, listed, simulated and deleted as in
//! Elasticsearch, refused at `PUT` when they ask for something this node does not run, and
//! applied to index and `_bulk` writes through `?pipeline=`, `index.default_pipeline` and
//! `index.final_pipeline` (also from a template).

use bulwark_testkit::{Client, TestHome, start_fresh};
use serde_json::{Value, json};

#[path = "common/json_http.rs"]
mod json_http;

use json_http::{Http, error};

#[test]
fn pipelines_are_stored_listed_simulated_deleted_and_refused_as_in_elasticsearch() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let es = Http { client: Client::new(s.port, Some(&s.ca)), auth: ("elastic".into(), s.password.clone()) };

    let body = json!({"description": "tidy", "version": 3, "processors": [
        {"lowercase": {"field": "level", "tag": "low"}},
        {"date": {"field": "ts", "formats": ["dd/MM/yyyy HH:mm:ss", "UNIX_MS"], "timezone": "+02:00"}},
        {"rename": {"field": "msg", "target_field": "message", "ignore_missing": true}}
    ]});
    assert_eq!(es.ok("PUT", "/_ingest/pipeline/tidy", body.clone()), json!({"acknowledged": true}));
    es.ok("PUT", "/_ingest/pipeline/other", json!({"processors": []}));
    assert_eq!(es.ok("GET", "/_ingest/pipeline/tidy", Value::Null), json!({"tidy": body}));
    let all = es.ok("GET", "/_ingest/pipeline", Value::Null);
    assert!(all.get("tidy").is_some() && all.get("other").is_some(), "{all}");
    let some = es.ok("GET", "/_ingest/pipeline/ti*,nothing", Value::Null);
    assert_eq!(some.as_object().map(|m| m.len()), Some(1), "{some}");
    assert_eq!(es.call("GET", "/_ingest/pipeline/nothing*", Value::Null), (404, json!({})));

    let sim = es.ok(
        "POST",
        "/_ingest/pipeline/tidy/_simulate",
        json!({"docs": [
            {"_index": "i", "_id": "1", "_source": {"level": "WARN", "ts": "12/06/2016 10:11:12", "msg": "m"}},
            {"_source": {"level": 5}}
        ]}),
    );
    let doc = &sim["docs"][0]["doc"];
    assert_eq!(
        doc["_source"],
        json!({"level": "warn", "ts": "12/06/2016 10:11:12", "@timestamp": "2016-06-12T10:11:12.000+02:00", "message": "m"})
    );
    assert_eq!((doc["_index"].as_str(), doc["_id"].as_str()), (Some("i"), Some("1")));
    assert!(doc["_ingest"]["timestamp"].is_string(), "{sim}");
    assert_eq!(sim["docs"][1]["error"]["type"], "illegal_argument_exception", "{sim}");
    assert_eq!(
        sim["docs"][1]["error"]["reason"],
        "field [level] of type [java.lang.Integer] cannot be cast to [java.lang.String]"
    );
    let inline = es.ok(
        "POST",
        "/_ingest/pipeline/_simulate",
        json!({"pipeline": {"processors": [{"pipeline": {"name": "tidy"}}, {"drop": {}}]}, "docs": [{"_source": {"level": "A", "ts": "0"}}]}),
    );
    assert_eq!(inline["docs"], json!([null]), "a dropped document: {inline}");

    // Refused when stored, naming what is refused.
    for (body, ty, reason) in [
        (
            json!({"processors": [{"grok": {"field": "m", "patterns": ["%{WORD}"]}}]}),
            "parse_exception",
            "No processor type exists with name [grok]",
        ),
        (
            json!({"processors": [{"set": {"tag": "t"}}]}),
            "parse_exception",
            "[field] required property is missing",
        ),
        (
            json!({"processors": [{"set": {"field": "a", "value": 1, "bogus": true}}]}),
            "parse_exception",
            "processor [set] doesn't support one or more provided configuration parameters [bogus]",
        ),
        (
            json!({"processors": [{"set": {"field": "a", "value": 1, "if": "ctx.a != null"}}]}),
            "parse_exception",
            "[if]",
        ),
        (
            json!({"processors": [{"date": {"field": "a", "formats": ["ISO8601"], "timezone": "Europe/Berlin"}}]}),
            "parse_exception",
            "[timezone]",
        ),
        (
            json!({"processors": [{"date": {"field": "a", "formats": ["TAI64N"]}}]}),
            "parse_exception",
            "[formats]",
        ),
        (
            json!({"description": "no processors"}),
            "parse_exception",
            "[processors] required property is missing",
        ),
        (
            json!({"processors": [], "on_failure": []}),
            "parse_exception",
            "cannot have an empty on_failure option defined",
        ),
        (json!({"processors": [], "priority": 1}), "parse_exception", "[priority]"),
    ] {
        error(es.call("PUT", "/_ingest/pipeline/bad", body.clone()), 400, ty, reason);
        error(
            es.call(
                "POST",
                "/_ingest/pipeline/_simulate",
                json!({"pipeline": body, "docs": [{"_source": {}}]}),
            ),
            400,
            ty,
            reason,
        );
    }
    assert_eq!(es.call("GET", "/_ingest/pipeline/bad", Value::Null).0, 404, "nothing was stored");
    error(
        es.call("POST", "/_ingest/pipeline/_simulate", json!({"docs": [{"_source": {}}]})),
        400,
        "parse_exception",
        "[pipeline] required property is missing",
    );
    error(
        es.call(
            "POST",
            "/_ingest/pipeline/_simulate?verbose=true",
            json!({"pipeline": {"processors": []}, "docs": [{"_source": {}}]}),
        ),
        400,
        "illegal_argument_exception",
        "[verbose]",
    );
    error(
        es.call("POST", "/_ingest/pipeline/missing/_simulate", json!({"docs": [{"_source": {}}]})),
        400,
        "illegal_argument_exception",
        "pipeline [missing] does not exist",
    );

    // In use as an index's default pipeline: not deleted.
    es.ok("PUT", "/uses-tidy", json!({"settings": {"index.default_pipeline": "tidy"}}));
    error(
        es.call("DELETE", "/_ingest/pipeline/tidy", Value::Null),
        400,
        "illegal_argument_exception",
        "cannot be deleted because it is the default pipeline for 1 index(es) including [uses-tidy]",
    );
    es.ok("DELETE", "/uses-tidy", Value::Null);
    es.ok("DELETE", "/_ingest/pipeline/t*", Value::Null);
    error(
        es.call("DELETE", "/_ingest/pipeline/t*", Value::Null),
        404,
        "resource_not_found_exception",
        "pipeline [t*] is missing",
    );
    assert!(es.ok("GET", "/_ingest/pipeline", Value::Null).get("other").is_some());
    s.node.stop();
}

#[test]
fn writes_run_the_request_default_and_final_pipelines() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let es = Http { client: Client::new(s.port, Some(&s.ca)), auth: ("elastic".into(), s.password.clone()) };

    es.ok("PUT", "/_ingest/pipeline/enrich", json!({"processors": [
        {"set": {"field": "env", "value": "prod-{{host}}"}},
        {"convert": {"field": "bytes", "type": "long", "ignore_missing": true}},
        {"append": {"field": "tags", "value": ["seen"]}},
        {"fail": {"message": "bad bytes", "tag": "f", "ignore_failure": false,
                  "on_failure": [{"set": {"field": "failed_at", "value": "{{_ingest.on_failure_processor_tag}}"}}]}},
        {"uppercase": {"field": "absent", "ignore_failure": true}}
    ]}));
    es.ok(
        "PUT",
        "/_ingest/pipeline/mark",
        json!({"processors": [{"set": {"field": "marked", "value": true}}]}),
    );
    es.ok(
        "PUT",
        "/_ingest/pipeline/last",
        json!({"processors": [{"set": {"field": "final", "value": "{{_ingest.pipeline}}"}}]}),
    );
    es.ok("PUT", "/_ingest/pipeline/dropper", json!({"processors": [{"drop": {}}]}));
    es.ok(
        "PUT",
        "/_ingest/pipeline/failing",
        json!({"processors": [{"rename": {"field": "nope", "target_field": "x"}}]}),
    );
    es.ok(
        "PUT",
        "/_ingest/pipeline/stop",
        json!({"processors": [{"fail": {"message": "stopped {{host}}"}}]}),
    );

    // ?pipeline= on a single write.
    es.ok("PUT", "/plain/_doc/1?pipeline=mark", json!({"a": 1}));
    assert_eq!(es.source("plain", "1"), json!({"a": 1, "marked": true}));
    // A dropped document: a noop, nothing written.
    let r = es.call("PUT", "/plain/_doc/2?pipeline=dropper", json!({"a": 2}));
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!((r.1["result"].as_str(), r.1["_version"].as_i64()), (Some("noop"), Some(-3)), "{}", r.1);
    assert_eq!(es.call("GET", "/plain/_doc/2", Value::Null).0, 404);
    // Failures: the processor's error, and the fail processor's message.
    error(
        es.call("PUT", "/plain/_doc/3?pipeline=failing", json!({})),
        400,
        "illegal_argument_exception",
        "field [nope] doesn't exist",
    );
    error(
        es.call("PUT", "/plain/_doc/3?pipeline=stop", json!({"host": "h1"})),
        500,
        "fail_processor_exception",
        "stopped h1",
    );
    error(
        es.call("PUT", "/plain/_doc/3?pipeline=missing", json!({})),
        400,
        "illegal_argument_exception",
        "pipeline with id [missing] does not exist",
    );
    assert_eq!(es.call("GET", "/plain/_doc/3", Value::Null).0, 404);

    // Default and final pipelines from a template; `_none` skips the default, never the final.
    es.ok("PUT", "/_index_template/piped", json!({"index_patterns": ["piped-*"], "template": {"settings": {"index.default_pipeline": "enrich", "index.final_pipeline": "last"}}}));
    es.ok("PUT", "/piped-a/_doc/1", json!({"host": "h1", "bytes": "42"}));
    assert_eq!(
        es.source("piped-a", "1"),
        json!({"host": "h1", "bytes": 42, "env": "prod-h1", "tags": ["seen"], "failed_at": "f", "final": "last"})
    );
    es.ok("PUT", "/piped-a/_doc/2?pipeline=_none", json!({"host": "h2"}));
    assert_eq!(es.source("piped-a", "2"), json!({"host": "h2", "final": "last"}));
    es.ok("PUT", "/piped-a/_doc/3?pipeline=mark", json!({"host": "h3"}));
    assert_eq!(es.source("piped-a", "3"), json!({"host": "h3", "marked": true, "final": "last"}));

    // _bulk: the request's pipeline, an item's own, drops and failures item by item.
    let (status, v) = es.bulk(
        "/_bulk?pipeline=mark&refresh=true",
        &[
            json!({"index": {"_index": "bulked", "_id": "1"}}),
            json!({"n": 1}),
            json!({"create": {"_index": "bulked", "_id": "2", "pipeline": "dropper"}}),
            json!({"n": 2}),
            json!({"index": {"_index": "bulked", "_id": "3", "pipeline": "failing"}}),
            json!({"n": 3}),
            json!({"index": {"_index": "bulked", "_id": "4", "pipeline": "_none"}}),
            json!({"n": 4}),
            json!({"update": {"_index": "bulked", "_id": "1", "pipeline": "mark"}}),
            json!({"doc": {"n": 5}}),
        ],
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["errors"], true);
    let items = v["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items[0]["index"]["status"], 201, "{v}");
    assert_eq!(
        (items[1]["create"]["result"].as_str(), items[1]["create"]["status"].as_u64()),
        (Some("noop"), Some(200))
    );
    assert_eq!(items[2]["index"]["error"]["reason"], "field [nope] doesn't exist");
    assert_eq!(items[3]["index"]["status"], 201);
    assert!(items[4]["update"]["error"]["reason"].as_str().unwrap_or_default().contains("[pipeline]"), "{v}");
    assert_eq!(es.source("bulked", "1"), json!({"n": 1, "marked": true}));
    assert_eq!(es.source("bulked", "4"), json!({"n": 4}));
    assert_eq!(es.call("GET", "/bulked/_doc/2", Value::Null).0, 404);
    let count = es.ok("GET", "/bulked/_count", Value::Null);
    assert_eq!(count["count"], 2, "{count}");

    // A default pipeline set on an existing index, and one that does not exist.
    es.ok("PUT", "/plain/_settings", json!({"index.default_pipeline": "mark"}));
    es.ok("PUT", "/plain/_doc/5", json!({"b": 1}));
    assert_eq!(es.source("plain", "5"), json!({"b": 1, "marked": true}));
    es.ok("PUT", "/plain/_settings", json!({"index.default_pipeline": "ghost"}));
    error(
        es.call("PUT", "/plain/_doc/6", json!({})),
        400,
        "illegal_argument_exception",
        "pipeline with id [ghost] does not exist",
    );
    s.node.stop();
}
