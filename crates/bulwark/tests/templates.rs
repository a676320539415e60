//! Composable index templates, component templates and data streams against the real node:
//! what a new index gets from its template, Elasticsearch's refusals, and data streams created
//! by a first `create`, searched by name and authorized on the stream's name.

use bulwark_testkit::{Client, TestHome, start_fresh};
use serde_json::{Value, json};

#[path = "common/json_http.rs"]
mod json_http;

use json_http::{Http, error};

const PW: &str = "templates-pw-1";

#[test]
fn templates_apply_to_new_indices_and_refuse_what_elasticsearch_refuses() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let es = Http { client: Client::new(s.port, Some(&s.ca)), auth: ("elastic".into(), s.password.clone()) };

    es.ok("PUT", "/_component_template/base", json!({
        "template": {"settings": {"index": {"refresh_interval": "5s"}}, "mappings": {"properties": {"host": {"type": "keyword"}}}},
        "version": 2, "_meta": {"by": "test"}
    }));
    es.ok("PUT", "/_index_template/logs", json!({
        "index_patterns": ["logs-*"], "priority": 10, "composed_of": ["base"],
        "template": {"mappings": {"properties": {"bytes": {"type": "long"}}}, "aliases": {"all-logs": {}}},
        "_meta": {"beat": "x"}, "version": 3
    }));
    let got = es.ok("GET", "/_index_template/logs", Value::Null);
    let t = &got["index_templates"][0];
    assert_eq!(t["name"], "logs");
    assert_eq!(t["index_template"]["composed_of"], json!(["base"]));
    assert_eq!(t["index_template"]["priority"], 10);
    assert_eq!(t["index_template"]["_meta"]["beat"], "x");
    let comp = es.ok("GET", "/_component_template/base", Value::Null);
    assert_eq!(
        comp["component_templates"][0]["component_template"]["template"]["settings"]["index"]["refresh_interval"],
        "5s"
    );
    assert_eq!(es.call("HEAD", "/_index_template/logs", Value::Null).0, 200);
    assert_eq!(es.call("HEAD", "/_index_template/nope", Value::Null).0, 404);
    assert_eq!(es.call("HEAD", "/_component_template/base", Value::Null).0, 200);

    // A first write creates the index with the template's mapping, settings and aliases.
    es.ok("POST", "/logs-app/_doc?refresh=true", json!({"host": "h1", "bytes": 12, "extra": "x"}));
    let mapping = es.ok("GET", "/logs-app/_mapping", Value::Null);
    assert_eq!(mapping["logs-app"]["mappings"]["properties"]["host"]["type"], "keyword", "{mapping}");
    assert_eq!(mapping["logs-app"]["mappings"]["properties"]["bytes"]["type"], "long", "{mapping}");
    let settings = es.ok("GET", "/logs-app/_settings", Value::Null);
    assert_eq!(settings["logs-app"]["settings"]["index"]["refresh_interval"], "5s", "{settings}");
    assert_eq!(es.ok("GET", "/all-logs/_count", Value::Null)["count"], 1);
    // An explicit creation merges its own body over the template.
    es.ok("PUT", "/logs-web", json!({"mappings": {"properties": {"bytes": {"type": "integer"}}}, "settings": {"refresh_interval": "1s"}}));
    let mapping = es.ok("GET", "/logs-web/_mapping", Value::Null);
    assert_eq!(mapping["logs-web"]["mappings"]["properties"]["bytes"]["type"], "integer");
    assert_eq!(mapping["logs-web"]["mappings"]["properties"]["host"]["type"], "keyword");
    let sim = es.ok("POST", "/_index_template/_simulate_index/logs-next", Value::Null);
    assert_eq!(sim["template"]["mappings"]["properties"]["bytes"]["type"], "long", "{sim}");

    // Refusals.
    error(
        es.call("PUT", "/_index_template/same", json!({"index_patterns": ["logs-a*"], "priority": 10})),
        400,
        "illegal_argument_exception",
        "index template [same] has index patterns [logs-a*] matching patterns from existing templates [logs] with patterns (logs => [logs-*]) that have the same priority [10]",
    );
    es.ok("PUT", "/_index_template/other", json!({"index_patterns": ["logs-a*"], "priority": 11}));
    error(
        es.call("PUT", "/_index_template/c", json!({"index_patterns": ["c-*"], "composed_of": ["missing"]})),
        400,
        "invalid_index_template_exception",
        "index template [c] specifies component templates [missing] that do not exist",
    );
    error(
        es.call("PUT", "/_index_template/u", json!({"index_patterns": ["u-*"], "bogus": 1})),
        400,
        "x_content_parse_exception",
        "[index_template] unknown field [bogus]",
    );
    error(
        es.call("PUT", "/_index_template/u", json!({"priority": 1})),
        400,
        "action_request_validation_exception",
        "index patterns are missing",
    );
    error(
        es.call(
            "PUT",
            "/_index_template/u",
            json!({"index_patterns": ["u-*"], "template": {"settings": {"index.mapping.depth.limit": 50}}}),
        ),
        400,
        "illegal_argument_exception",
        "index.mapping.depth.limit",
    );
    error(
        es.call("PUT", "/_index_template/logs?create=true", json!({"index_patterns": ["zz-*"]})),
        400,
        "illegal_argument_exception",
        "index template [logs] already exists",
    );
    error(
        es.call("GET", "/_index_template/nope", Value::Null),
        404,
        "resource_not_found_exception",
        "index template matching [nope] not found",
    );
    error(
        es.call("DELETE", "/_index_template/nope", Value::Null),
        404,
        "index_template_missing_exception",
        "index_template [nope] missing",
    );
    error(
        es.call("DELETE", "/_component_template/base", Value::Null),
        400,
        "illegal_argument_exception",
        "component templates [base] cannot be removed as they are still in use by index templates [logs]",
    );
    es.ok("DELETE", "/_index_template/logs", Value::Null);
    es.ok("DELETE", "/_component_template/base", Value::Null);
    assert_eq!(es.ok("GET", "/_component_template", Value::Null)["component_templates"], json!([]));

    // Only a holder of manage_index_templates (or manage) may put templates.
    es.ok(
        "PUT",
        "/_security/role/reader",
        json!({"cluster": ["monitor"], "indices": [{"names": ["*"], "privileges": ["read"]}]}),
    );
    es.ok("PUT", "/_security/user/reader", json!({"password": PW, "roles": ["reader"]}));
    let reader = Http { client: Client::new(s.port, Some(&s.ca)), auth: ("reader".into(), PW.into()) };
    error(
        reader.call("PUT", "/_index_template/r", json!({"index_patterns": ["r-*"]})),
        403,
        "security_exception",
        "action [indices:admin/index_template/put] is unauthorized",
    );
    s.node.stop();
}

#[test]
fn lifecycle_policies_are_stored_checked_and_returned() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let es = Http { client: Client::new(s.port, Some(&s.ca)), auth: ("elastic".into(), s.password.clone()) };
    let policy = json!({"policy": {"phases": {"hot": {"actions": {"rollover": {"max_age": "30d", "max_primary_shard_size": "50gb"}}}}, "_meta": {"by": "test"}}});
    es.ok("PUT", "/_ilm/policy/beat", policy.clone());
    es.ok("PUT", "/_ilm/policy/beat", policy.clone());
    let got = es.ok("GET", "/_ilm/policy/beat", Value::Null);
    assert_eq!(got["beat"]["version"], 2, "{got}");
    assert_eq!(got["beat"]["policy"], policy["policy"]);
    assert!(es.ok("GET", "/_ilm/policy", Value::Null).get("beat").is_some());
    error(
        es.call("PUT", "/_ilm/policy/x", json!({"policy": {"phases": {"lukewarm": {}}}})),
        400,
        "illegal_argument_exception",
        "Timeseries lifecycle does not support phase [lukewarm]",
    );
    error(
        es.call(
            "PUT",
            "/_ilm/policy/x",
            json!({"policy": {"phases": {"delete": {"actions": {"rollover": {}}}}}}),
        ),
        400,
        "illegal_argument_exception",
        "invalid action [rollover] defined in phase [delete]",
    );
    error(
        es.call("PUT", "/_ilm/policy/x", json!({"policy": {"phases": {}, "bogus": 1}})),
        400,
        "x_content_parse_exception",
        "unknown field [bogus]",
    );
    error(
        es.call("GET", "/_ilm/policy/nope", Value::Null),
        404,
        "resource_not_found_exception",
        "Lifecycle policy not found: [nope]",
    );
    es.ok("PUT", "/uses-beat", json!({"settings": {"index.lifecycle.name": "beat"}}));
    error(
        es.call("DELETE", "/_ilm/policy/beat", Value::Null),
        400,
        "illegal_argument_exception",
        "Cannot delete policy [beat]. It is in use by one or more indices: [uses-beat]",
    );
    es.ok("DELETE", "/uses-beat", Value::Null);
    es.ok("DELETE", "/_ilm/policy/beat", Value::Null);
    error(
        es.call("DELETE", "/_ilm/policy/beat", Value::Null),
        404,
        "resource_not_found_exception",
        "Lifecycle policy not found: beat",
    );
    let xpack = es.ok("GET", "/_xpack", Value::Null);
    assert_eq!(xpack["features"]["ilm"]["available"], true, "{xpack}");
    assert_eq!(xpack["license"]["type"], "basic", "{xpack}");
    error(
        es.call("GET", "/_xpack?categories=nope", Value::Null),
        400,
        "illegal_argument_exception",
        "Unknown info category [nope]",
    );
    s.node.stop();
}

#[test]
fn data_streams_are_created_by_a_first_create_and_authorized_on_their_name() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let es = Http { client: Client::new(s.port, Some(&s.ca)), auth: ("elastic".into(), s.password.clone()) };
    es.ok(
        "PUT",
        "/_index_template/ds",
        json!({
            "index_patterns": ["metrics-*"], "priority": 100, "data_stream": {},
            "template": {"mappings": {"properties": {"cpu": {"type": "double"}}}}
        }),
    );
    for (role, privileges) in [
        ("writer", json!(["create_doc", "auto_configure"])),
        ("reader", json!(["read", "view_index_metadata"])),
    ] {
        es.ok(
            "PUT",
            &format!("/_security/role/{role}"),
            json!({"indices": [{"names": ["metrics-*"], "privileges": privileges}]}),
        );
        es.ok("PUT", &format!("/_security/user/{role}"), json!({"password": PW, "roles": [role]}));
    }
    es.ok("PUT", "/_security/role/other", json!({"indices": [{"names": ["logs-*"], "privileges": ["all"]}]}));
    es.ok("PUT", "/_security/user/other", json!({"password": PW, "roles": ["other"]}));
    let as_user = |u: &str| Http { client: Client::new(s.port, Some(&s.ca)), auth: (u.into(), PW.into()) };
    let (writer, reader, other) = (as_user("writer"), as_user("reader"), as_user("other"));

    // Only `create` is accepted, and `@timestamp` is required.
    error(
        writer.call("PUT", "/metrics-a/_doc/1", json!({"@timestamp": "2026-01-01T00:00:00Z"})),
        400,
        "illegal_argument_exception",
        "only write ops with an op_type of create are allowed in data streams",
    );
    error(
        writer.call("POST", "/metrics-a/_doc", json!({"cpu": 1.0})),
        400,
        "document_parsing_exception",
        "data stream timestamp field [@timestamp] is missing",
    );
    let (status, v) = writer.bulk(
        "/_bulk?refresh=true",
        &[
            json!({"create": {"_index": "metrics-a"}}),
            json!({"@timestamp": "2026-01-01T00:00:00Z", "cpu": 0.5}),
            json!({"create": {"_index": "metrics-a"}}),
            json!({"@timestamp": "2026-01-01T00:00:01Z", "cpu": 0.7}),
            json!({"index": {"_index": "metrics-a"}}),
            json!({"@timestamp": "2026-01-01T00:00:02Z"}),
            json!({"create": {"_index": "metrics-a"}}),
            json!({"cpu": 0.9}),
        ],
    );
    assert_eq!(status, 200, "{v}");
    let items = v["items"].as_array().expect("items");
    let backing = items[0]["create"]["_index"].as_str().expect("backing index").to_owned();
    assert!(backing.starts_with(".ds-metrics-a-") && backing.ends_with("-000001"), "{backing}");
    assert_eq!(items[1]["create"]["status"], 201, "{v}");
    assert_eq!(items[2]["index"]["status"], 400, "{v}");
    assert_eq!(items[3]["create"]["error"]["type"], "document_parsing_exception", "{v}");

    let streams = reader.call("GET", "/_data_stream/metrics-a", Value::Null);
    assert_eq!(streams.0, 200, "{}", streams.1);
    let ds = &streams.1["data_streams"][0];
    assert_eq!(ds["name"], "metrics-a");
    assert_eq!(ds["timestamp_field"]["name"], "@timestamp");
    assert_eq!(ds["indices"][0]["index_name"], backing.as_str());
    assert_eq!(ds["template"], "ds");
    assert_eq!(ds["generation"], 1);

    // Searching the stream's name searches its backing index; hits name the backing index.
    let hits = reader.ok("GET", "/metrics-a/_search", Value::Null);
    assert_eq!(hits["hits"]["total"]["value"], 2, "{hits}");
    assert_eq!(hits["hits"]["hits"][0]["_index"], backing.as_str());
    assert_eq!(reader.ok("GET", "/metrics-*/_count", Value::Null)["count"], 2);
    let mapping = es.ok("GET", &format!("/{backing}/_mapping"), Value::Null);
    assert_eq!(mapping[&backing]["mappings"]["properties"]["@timestamp"]["type"], "date", "{mapping}");
    assert_eq!(mapping[&backing]["mappings"]["properties"]["cpu"]["type"], "double", "{mapping}");

    // A user without privileges on the stream's name is refused, and sees nothing by wildcard.
    error(other.call("GET", "/metrics-a/_search", Value::Null), 403, "security_exception", "is unauthorized");
    assert_eq!(other.ok("GET", "/_data_stream", Value::Null)["data_streams"], json!([]));
    error(
        writer.call("DELETE", "/_data_stream/metrics-a", Value::Null),
        403,
        "security_exception",
        "indices:admin/data_stream/delete",
    );

    // Explicit creation: refused for an index matching a stream template, allowed for streams.
    error(
        es.call("PUT", "/metrics-b", Value::Null),
        400,
        "illegal_argument_exception",
        "that creates data streams only, use create data stream api instead",
    );
    es.ok("PUT", "/_data_stream/metrics-b", Value::Null);
    error(
        es.call("PUT", "/_data_stream/metrics-b", Value::Null),
        400,
        "resource_already_exists_exception",
        "data_stream [metrics-b] already exists",
    );
    error(
        es.call("PUT", "/_data_stream/nomatch", Value::Null),
        400,
        "illegal_argument_exception",
        "no matching index template found for data stream [nomatch]",
    );
    error(
        es.call("DELETE", "/_index_template/ds", Value::Null),
        400,
        "illegal_argument_exception",
        "unable to remove composable templates [ds] as they are in use by a data streams [metrics-a, metrics-b]",
    );
    error(
        es.call("DELETE", "/metrics-a", Value::Null),
        400,
        "illegal_argument_exception",
        "matches a data stream",
    );
    error(
        es.call("DELETE", &format!("/{backing}"), Value::Null),
        400,
        "illegal_argument_exception",
        &format!("index [{backing}] is the write index for data stream [metrics-a] and cannot be deleted"),
    );
    es.ok("DELETE", "/_data_stream/metrics-a,metrics-b", Value::Null);
    error(
        es.call("GET", "/_data_stream/metrics-a", Value::Null),
        404,
        "index_not_found_exception",
        "no such index [metrics-a]",
    );
    assert_eq!(es.call("GET", &format!("/{backing}"), Value::Null).0, 404);
    es.ok("DELETE", "/_index_template/ds", Value::Null);
    s.node.stop();
}
