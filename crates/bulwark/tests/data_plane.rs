//! The data plane against the real node: bulk items fail and succeed one by one, bad input is a
//! 400 in Elasticsearch's shape (never a 5xx), index privileges filter what a user sees, and every
//! acknowledged write survives `kill -9`.

use std::time::Duration;

use bulwark_testkit::{Node, TestHome, start_fresh};
use serde_json::{Value, json};

/// A JSON-over-HTTPS client for one node, as `elastic` or another user.
struct Http {
    client: reqwest::blocking::Client,
    base: String,
    user: String,
    password: String,
}

impl Http {
    fn new(port: u16, ca: &[u8], user: &str, password: &str) -> Http {
        let cert = reqwest::Certificate::from_pem(ca).expect("CA PEM");
        let client = reqwest::blocking::Client::builder()
            .tls_certs_only([cert])
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        Http {
            client,
            base: format!("https://localhost:{port}"),
            user: user.into(),
            password: password.into(),
        }
    }

    fn as_user(&self, user: &str, password: &str) -> Http {
        Http {
            client: self.client.clone(),
            base: self.base.clone(),
            user: user.into(),
            password: password.into(),
        }
    }

    /// `method path` with a raw body and content type: (status, JSON body or null).
    fn raw(&self, method: &str, path: &str, body: &str, content_type: &str) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let resp = self
            .client
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.user, Some(&self.password))
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    fn json(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let text = if body.is_null() { String::new() } else { body.to_string() };
        self.raw(method, path, &text, "application/json")
    }

    fn bulk(&self, path: &str, lines: &[Value]) -> (u16, Value) {
        let mut body = String::new();
        for l in lines {
            body.push_str(&l.to_string());
            body.push('\n');
        }
        self.raw("POST", path, &body, "application/x-ndjson")
    }
}

/// Elasticsearch's error body with `ty` and a reason containing `reason`.
fn assert_error(resp: &(u16, Value), status: u16, ty: &str, reason: &str) {
    assert_eq!(resp.0, status, "{}", resp.1);
    assert_eq!(resp.1["status"], status, "{}", resp.1);
    assert_eq!(resp.1["error"]["type"], ty, "{}", resp.1);
    assert_eq!(resp.1["error"]["root_cause"][0]["type"], ty, "{}", resp.1);
    let r = resp.1["error"]["reason"].as_str().unwrap_or_default();
    assert!(r.contains(reason), "{r}");
}

fn hits_total(resp: &(u16, Value)) -> u64 {
    assert_eq!(resp.0, 200, "{}", resp.1);
    resp.1["hits"]["total"]["value"].as_u64().expect("hits.total.value")
}

#[test]
fn bulk_items_fail_alone_and_bad_input_is_a_400() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let es = Http::new(s.port, &s.ca, "elastic", &s.password);
    let r = es.json("PUT", "/shop", json!({"mappings": {"properties": {"price": {"type": "long"}}}}));
    assert_eq!(r, (200, json!({"acknowledged": true, "shards_acknowledged": true, "index": "shop"})));

    let r = es.bulk(
        "/_bulk?refresh=true",
        &[
            json!({"index": {"_index": "shop", "_id": "1"}}),
            json!({"name": "pen", "price": 2}),
            json!({"index": {"_index": "shop", "_id": "2"}}),
            json!({"name": "bad", "price": "not a number"}),
            json!({"create": {"_index": "shop", "_id": "1"}}),
            json!({"name": "again"}),
            json!({"update": {"_index": "shop", "_id": "missing"}}),
            json!({"doc": {"x": 1}}),
            json!({"index": {"_index": "Bad-Name", "_id": "1"}}),
            json!({"a": 1}),
            json!({"create": {"_index": "auto-created"}}),
            json!({"a": 1}),
            json!({"delete": {"_index": "shop", "_id": "1"}}),
            json!({"delete": {"_index": "shop", "_id": "never"}}),
            json!({"index": {"_index": "shop", "_id": "3"}}),
            json!({"name": "cup", "price": 5}),
        ],
    );
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["errors"], true);
    let items = r.1["items"].as_array().unwrap();
    let status: Vec<u64> = items
        .iter()
        .map(|i| i.as_object().unwrap().values().next().unwrap()["status"].as_u64().unwrap())
        .collect();
    assert_eq!(status, [201, 400, 409, 404, 400, 201, 200, 404, 201], "{}", r.1);
    assert_eq!(items[0]["index"]["result"], "created");
    assert_eq!(items[0]["index"]["_seq_no"], 0);
    assert_eq!(items[0]["index"]["_version"], 1);
    assert_eq!(items[1]["index"]["error"]["type"], "mapper_parsing_exception");
    assert_eq!(items[2]["create"]["error"]["type"], "version_conflict_engine_exception");
    assert_eq!(
        items[2]["create"]["error"]["reason"],
        "[1]: version conflict, document already exists (current version [1])"
    );
    assert_eq!(items[3]["update"]["error"]["type"], "document_missing_exception");
    assert_eq!(items[4]["index"]["error"]["type"], "invalid_index_name_exception");
    assert_eq!(items[5]["create"]["_id"].as_str().map(str::len), Some(20));
    assert_eq!(items[6]["delete"]["result"], "deleted");
    assert_eq!(items[6]["delete"]["_version"], 2);
    assert_eq!(items[7]["delete"]["result"], "not_found");
    assert!(items[7]["delete"].get("error").is_none(), "a missing document is not an error");

    // The good items applied, the bad ones changed nothing.
    assert_eq!(es.json("GET", "/shop/_doc/3", Value::Null).1["_source"], json!({"name": "cup", "price": 5}));
    assert_eq!(es.json("GET", "/shop/_doc/1", Value::Null).0, 404);
    assert_eq!(
        es.json("GET", "/shop/_doc/2", Value::Null),
        (404, json!({"_index": "shop", "_id": "2", "found": false}))
    );
    assert_eq!(hits_total(&es.json("GET", "/shop/_search", Value::Null)), 1);
    assert_eq!(hits_total(&es.json("GET", "/auto-created/_search", Value::Null)), 1);
    assert_eq!(es.json("GET", "/bad-name", Value::Null).0, 404);

    // Versioning as Elasticsearch answers it.
    assert_eq!(es.json("PUT", "/shop/_doc/3", json!({"name": "mug"})).1["_version"], 2);
    assert_error(
        &es.json("PUT", "/shop/_doc/3?if_seq_no=0&if_primary_term=1", json!({"name": "x"})),
        409,
        "version_conflict_engine_exception",
        "required seqNo [0], primary term [1]. current document has seqNo [",
    );

    // Bad input: 400s with Elasticsearch's error shape.
    let bad = [
        (
            es.raw("PUT", "/shop/_doc/9", "{\"name\": ", "application/json"),
            "document_parsing_exception",
            "failed to parse",
        ),
        (
            es.raw("POST", "/_bulk", "{\"index\": {\"_index\": \"shop\"}\n{}\n", "application/x-ndjson"),
            "x_content_parse_exception",
            "Malformed action/metadata line",
        ),
        (
            es.raw("POST", "/_bulk", "{\"frobnicate\": {}}\n{}\n", "application/x-ndjson"),
            "illegal_argument_exception",
            "expected field [create], [delete], [index] or [update]",
        ),
        (
            es.raw("POST", "/_bulk", "{\"index\": {\"_index\": \"shop\"}}\n{}", "application/x-ndjson"),
            "illegal_argument_exception",
            "must be terminated by a newline",
        ),
        (
            es.raw("POST", "/_bulk", "\n", "application/x-ndjson"),
            "action_request_validation_exception",
            "no requests added",
        ),
        (
            es.json("POST", "/shop/_search", json!({"query": {"no_such_query": {}}})),
            "parsing_exception",
            "unknown query [no_such_query]",
        ),
        (
            es.raw("POST", "/shop/_search", "{\"query\": {", "application/json"),
            "x_content_parse_exception",
            "failed to parse",
        ),
        (
            es.json("POST", "/shop/_count", json!({"size": 1})),
            "parsing_exception",
            "request does not support [size]",
        ),
        (es.raw("POST", "/_msearch", "{}\n{\"query\": {\"nope\": {}}}\n", "application/x-ndjson"), "", ""),
        (
            es.json("PUT", "/shop2", json!({"mappings": {"properties": {"a": {"type": "no_such_type"}}}})),
            "mapper_parsing_exception",
            "no_such_type",
        ),
        (es.json("PUT", "/shop", Value::Null), "resource_already_exists_exception", "index [shop/"),
        (
            es.json("PUT", "/shop/_mapping", json!({"properties": {"price": {"type": "text"}}})),
            "illegal_argument_exception",
            "price",
        ),
    ];
    for (resp, ty, reason) in bad {
        if ty.is_empty() {
            // _msearch answers 200 with the failure inside.
            assert_eq!(resp.0, 200, "{}", resp.1);
            assert_eq!(resp.1["responses"][0]["error"]["type"], "parsing_exception", "{}", resp.1);
            assert_eq!(resp.1["responses"][0]["status"], 400);
            continue;
        }
        assert_error(&resp, 400, ty, reason);
    }
    assert_error(
        &es.json("GET", "/missing/_search", Value::Null),
        404,
        "index_not_found_exception",
        "no such index [missing]",
    );
    assert_eq!(hits_total(&es.json("GET", "/missing-*/_search", Value::Null)), 0);
    assert_eq!(
        es.json("GET", "/shop", Value::Null).1["shop"]["mappings"]["properties"]["price"]["type"],
        "long"
    );
}

#[test]
fn a_logs_reader_writes_nothing_and_sees_only_logs() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let es = Http::new(s.port, &s.ca, "elastic", &s.password);
    let r = es.json(
        "PUT",
        "/_security/role/logs_reader",
        json!({"indices": [{"names": ["logs-*"], "privileges": ["read", "monitor"]}]}),
    );
    assert_eq!(r.0, 200, "{}", r.1);
    let r = es.json(
        "PUT",
        "/_security/user/reader",
        json!({"password": "a-long-enough-password", "roles": ["logs_reader"]}),
    );
    assert_eq!(r.0, 200, "{}", r.1);
    let r = es.bulk(
        "/_bulk?refresh=true",
        &[
            json!({"index": {"_index": "logs-app", "_id": "1"}}),
            json!({"msg": "started"}),
            json!({"index": {"_index": "logs-web", "_id": "1"}}),
            json!({"msg": "GET /"}),
            json!({"index": {"_index": "secrets", "_id": "1"}}),
            json!({"msg": "hunter2"}),
        ],
    );
    assert_eq!(r.1["errors"], false, "{}", r.1);

    let reader = es.as_user("reader", "a-long-enough-password");
    // Wildcards skip what the user may not read, silently.
    for path in ["/_search", "/*/_search", "/_all/_search", "/logs-*,secrets*/_search"] {
        let r = reader.json("POST", path, json!({"size": 10}));
        assert_eq!(hits_total(&r), 2, "{path}: {}", r.1);
        assert!(r.1["hits"]["hits"].as_array().unwrap().iter().all(|h| h["_index"] != "secrets"));
    }
    assert_eq!(reader.json("GET", "/_count", Value::Null).1["count"], 2);
    let cat = reader.json("GET", "/_cat/indices?format=json&h=index", Value::Null);
    assert_eq!(cat.1, json!([{"index": "logs-app"}, {"index": "logs-web"}]));
    // An explicit index it may not read is a 403, as is any write.
    let denied = reader.json("GET", "/secrets/_search", Value::Null);
    assert_error(
        &denied,
        403,
        "security_exception",
        "action [indices:data/read/search] is unauthorized for user [reader]",
    );
    assert_error(
        &reader.json("GET", "/logs-app,secrets/_search", Value::Null),
        403,
        "security_exception",
        "on indices [secrets]",
    );
    assert_error(
        &reader.json("GET", "/secrets/_doc/1", Value::Null),
        403,
        "security_exception",
        "indices:data/read/get",
    );
    assert_error(
        &reader.json("PUT", "/logs-app/_doc/2", json!({"msg": "x"})),
        403,
        "security_exception",
        "indices:data/write/index",
    );
    assert_error(
        &reader.json("DELETE", "/logs-app/_doc/1", Value::Null),
        403,
        "security_exception",
        "indices:data/write/delete",
    );
    assert_error(
        &reader.json("PUT", "/logs-new", Value::Null),
        403,
        "security_exception",
        "indices:admin/create",
    );
    let r = reader.bulk("/_bulk", &[json!({"index": {"_index": "logs-app"}}), json!({"msg": "x"})]);
    assert_eq!(r.1["errors"], true, "{}", r.1);
    assert_eq!(r.1["items"][0]["index"]["status"], 403);
    assert_eq!(r.1["items"][0]["index"]["error"]["type"], "security_exception");
    // What it may read, it reads.
    assert_eq!(reader.json("GET", "/logs-app/_doc/1", Value::Null).1["_source"]["msg"], "started");
    assert_eq!(es.json("GET", "/logs-app/_count", Value::Null).1["count"], 1, "nothing was written");
}

#[test]
fn acknowledged_bulk_writes_survive_kill_9() {
    let home = TestHome::new();
    let mut s = start_fresh(&home, &[]);
    let mut es = Http::new(s.port, &s.ca, "elastic", &s.password);
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..10 {
        let mut lines = Vec::new();
        for i in 0..200 {
            lines.push(json!({"index": {"_index": "crash", "_id": format!("{round}-{i}")}}));
            lines.push(json!({"round": round, "i": i, "text": format!("document {i} of round {round}")}));
        }
        let r = es.bulk("/_bulk", &lines);
        assert_eq!(r.0, 200, "{}", r.1);
        assert_eq!(r.1["errors"], false, "{}", r.1);
        acknowledged.extend((0..200).map(|i| format!("{round}-{i}")));
        s.node.kill9();

        let mut node = Node::spawn(&home, &[], &[]);
        node.wait_ready(&s.ca, "elastic", &s.password);
        let port = node.port();
        s.node = node;
        es = Http::new(port, &s.ca, "elastic", &s.password);
        let docs: Vec<Value> = acknowledged.iter().map(|id| json!({"_index": "crash", "_id": id})).collect();
        let r = es.json("POST", "/_mget", json!({ "docs": docs }));
        assert_eq!(r.0, 200, "{}", r.1);
        let missing: Vec<&Value> =
            r.1["docs"].as_array().unwrap().iter().filter(|d| d["found"] != true).collect();
        assert!(missing.is_empty(), "round {round}: lost {} documents, e.g. {}", missing.len(), missing[0]);
        let r = es.json("POST", "/crash/_search?track_total_hits=true", json!({"size": 0}));
        assert_eq!(hits_total(&r), acknowledged.len() as u64, "round {round}: search after restart");
        let r = es.json("POST", "/crash/_search", json!({"query": {"term": {"round": round}}, "size": 0}));
        assert_eq!(hits_total(&r), 200);
    }
}
