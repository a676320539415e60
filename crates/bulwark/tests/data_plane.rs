//! The data plane against the real node: bulk items fail and succeed one by one, bad input is a
//! 400 in Elasticsearch's shape (never a 5xx), index privileges filter what a user sees, and every
//! acknowledged write survives `kill -9`, as do per-index settings the node enforces.

use std::rc::Rc;

use bulwark_testkit::{Client, Node, TestHome, start_fresh};
use serde_json::{Value, json};

/// A JSON-over-HTTPS client for one node, as `elastic` or another user.
struct Http {
    client: Rc<Client>,
    user: String,
    password: String,
}

impl Http {
    fn new(port: u16, ca: &[u8], user: &str, password: &str) -> Http {
        Http { client: Rc::new(Client::new(port, Some(ca))), user: user.into(), password: password.into() }
    }

    fn as_user(&self, user: &str, password: &str) -> Http {
        Http { client: Rc::clone(&self.client), user: user.into(), password: password.into() }
    }

    /// `method path` with a raw body and content type: (status, raw body).
    fn bytes(&self, method: &str, path: &str, body: &str, content_type: &str) -> (u16, Vec<u8>) {
        let auth = Some((self.user.as_str(), self.password.as_str()));
        let (status, _, body) = self
            .client
            .send(method, path, auth, Some(content_type), body.as_bytes().to_vec())
            .expect("request");
        (status, body)
    }

    /// `method path` with a raw body and content type: (status, JSON body or null).
    fn raw(&self, method: &str, path: &str, body: &str, content_type: &str) -> (u16, Value) {
        let (status, body) = self.bytes(method, path, body, content_type);
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
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

/// Creates a user with one role holding `indices` privileges.
fn user_with(es: &Http, name: &str, indices: Value) -> Http {
    let r = es.json("PUT", &format!("/_security/role/{name}_role"), json!({ "indices": indices }));
    assert_eq!(r.0, 200, "{}", r.1);
    let r = es.json(
        "PUT",
        &format!("/_security/user/{name}"),
        json!({"password": "a-long-enough-password", "roles": [format!("{name}_role")]}),
    );
    assert_eq!(r.0, 200, "{}", r.1);
    es.as_user(name, "a-long-enough-password")
}

#[test]
fn adding_an_alias_needs_alias_privileges_on_every_path() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let es = Http::new(s.port, &s.ca, "elastic", &s.password);
    let r = es.json("PUT", "/admin-data", json!({"aliases": {"myalias": {}}}));
    assert_eq!(r.0, 200, "{}", r.1);
    let logs = user_with(
        &es,
        "logger",
        json!([{"names": ["logs-*"], "privileges": ["create_index", "write", "read"]}]),
    );
    // The hijack of the issue: a new index taking over the admin's alias as its write index.
    let r = logs.json("PUT", "/logs-new", json!({"aliases": {"myalias": {"is_write_index": true}}}));
    assert_error(
        &r,
        403,
        "security_exception",
        "action [indices:admin/aliases] is unauthorized for user [logger]",
    );
    assert_eq!(es.json("HEAD", "/logs-new", Value::Null).0, 404, "nothing was created");
    let r = es.json("PUT", "/myalias/_doc/1?refresh=true", json!({"secret": "x"}));
    assert_eq!(r.1["_index"], "admin-data", "{}", r.1);
    // The other paths that add an alias.
    assert_eq!(logs.json("PUT", "/logs-a", Value::Null).0, 200);
    let add = json!({"actions": [{"add": {"index": "logs-a", "alias": "myalias", "is_write_index": true}}]});
    assert_error(&logs.json("POST", "/_aliases", add), 403, "security_exception", "indices:admin/aliases");
    assert_error(
        &logs.json("PUT", "/logs-a/_alias/myalias", json!({})),
        403,
        "security_exception",
        "indices:admin/aliases",
    );
    let r = es.json("GET", "/_alias/myalias", Value::Null);
    assert_eq!(r.1, json!({"admin-data": {"aliases": {"myalias": {}}}}));
    // With manage on the alias name, it may.
    let owner = user_with(
        &es,
        "owner",
        json!([{"names": ["logs-*"], "privileges": ["create_index", "write"]},
               {"names": ["logs-alias"], "privileges": ["manage"]}]),
    );
    let r = owner.json("PUT", "/logs-b", json!({"aliases": {"logs-alias": {}}}));
    assert_eq!(r.0, 200, "{}", r.1);
}

#[test]
fn index_blocks_stop_what_they_block_and_can_be_lifted() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let es = Http::new(s.port, &s.ca, "elastic", &s.password);
    assert_eq!(es.json("PUT", "/b/_doc/1?refresh=true", json!({"a": 1})).0, 201);
    let set = |k: &str, v: Value| {
        let r = es.json("PUT", "/b/_settings", json!({"index": {k: v}}));
        assert_eq!(r.0, 200, "{k}: {}", r.1);
    };
    let write_blocked = "index [b] blocked by: [FORBIDDEN/8/index write (api)];";
    set("blocks.write", json!(true));
    assert_error(
        &es.json("PUT", "/b/_doc/2", json!({"a": 2})),
        403,
        "cluster_block_exception",
        write_blocked,
    );
    assert_error(&es.json("DELETE", "/b/_doc/1", Value::Null), 403, "cluster_block_exception", write_blocked);
    assert_error(
        &es.json("POST", "/b/_update/1", json!({"doc": {"a": 3}})),
        403,
        "cluster_block_exception",
        write_blocked,
    );
    let r = es.bulk("/_bulk", &[json!({"index": {"_index": "b", "_id": "3"}}), json!({"a": 3})]);
    assert_eq!(r.1["items"][0]["index"]["status"], 403, "{}", r.1);
    assert_eq!(r.1["items"][0]["index"]["error"]["type"], "cluster_block_exception");
    assert_eq!(hits_total(&es.json("GET", "/b/_search", Value::Null)), 1, "reads still work");
    assert_eq!(
        es.json("GET", "/b/_settings", Value::Null).1["b"]["settings"]["index"]["blocks"]["write"],
        "true"
    );
    set("blocks.write", json!(false));
    assert_eq!(es.json("PUT", "/b/_doc/2?refresh=true", json!({"a": 2})).0, 201);

    set("blocks.read", json!(true));
    let read_blocked = "index [b] blocked by: [FORBIDDEN/7/index read (api)];";
    assert_error(&es.json("GET", "/b/_search", Value::Null), 403, "cluster_block_exception", read_blocked);
    assert_error(&es.json("GET", "/b/_count", Value::Null), 403, "cluster_block_exception", read_blocked);
    assert_error(&es.json("GET", "/b/_doc/1", Value::Null), 403, "cluster_block_exception", read_blocked);
    let r = es.json("GET", "/_mget", json!({"docs": [{"_index": "b", "_id": "1"}]}));
    assert_eq!(r.1["docs"][0]["error"]["type"], "cluster_block_exception", "{}", r.1);
    assert_eq!(es.json("PUT", "/b/_doc/4", json!({"a": 4})).0, 201, "writes still work");
    set("blocks.read", Value::Null);
    assert_eq!(es.json("GET", "/b/_doc/1", Value::Null).0, 200);

    let r = es.json("PUT", "/b/_block/read_only", Value::Null);
    assert_eq!(
        r.1,
        json!({"acknowledged": true, "shards_acknowledged": true, "indices": [{"name": "b", "blocked": true}]})
    );
    let ro = "index [b] blocked by: [FORBIDDEN/5/index read-only (api)];";
    assert_error(&es.json("PUT", "/b/_doc/5", json!({"a": 5})), 403, "cluster_block_exception", ro);
    assert_error(
        &es.json("PUT", "/b/_mapping", json!({"properties": {"x": {"type": "keyword"}}})),
        403,
        "cluster_block_exception",
        ro,
    );
    assert_error(&es.json("PUT", "/b/_alias/ba", Value::Null), 403, "cluster_block_exception", ro);
    assert_error(
        &es.json("PUT", "/b/_settings", json!({"index.number_of_replicas": 0})),
        403,
        "cluster_block_exception",
        ro,
    );
    assert_error(&es.json("DELETE", "/b", Value::Null), 403, "cluster_block_exception", ro);
    assert_eq!(es.json("GET", "/b/_doc/1", Value::Null).0, 200, "reads still work");
    set("blocks.read_only", json!(false));

    set("blocks.metadata", json!(true));
    let md = "index [b] blocked by: [FORBIDDEN/9/index metadata (api)];";
    assert_error(&es.json("GET", "/b/_mapping", Value::Null), 403, "cluster_block_exception", md);
    assert_error(&es.json("GET", "/b", Value::Null), 403, "cluster_block_exception", md);
    assert_error(
        &es.json("PUT", "/b/_mapping", json!({"properties": {"x": {"type": "keyword"}}})),
        403,
        "cluster_block_exception",
        md,
    );
    assert_eq!(es.json("PUT", "/b/_doc/6", json!({"a": 6})).0, 201, "documents are not metadata");
    set("blocks.metadata", json!(false));
    assert_eq!(es.json("GET", "/b/_mapping", Value::Null).0, 200);

    set("blocks.read_only_allow_delete", json!(true));
    let r = es.json("PUT", "/b/_doc/7", json!({"a": 7}));
    assert_error(
        &r,
        429,
        "cluster_block_exception",
        "TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark",
    );
    assert_eq!(es.json("DELETE", "/b", Value::Null).0, 200, "the index may still be deleted");
}

#[test]
fn settings_and_mappings_that_would_be_ignored_are_refused() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let es = Http::new(s.port, &s.ca, "elastic", &s.password);
    for (settings, named) in [
        (json!({"index.default_pipeline": ""}), "index.default_pipeline"),
        // `index.lifecycle.name` is accepted: it is kept and shown by `GET _ilm/policy`, whose
        // policies are stored and not executed (docs/architecture.md; tests/templates.rs).
        (json!({"lifecycle.rollover_alias": "a"}), "index.lifecycle.rollover_alias"),
        (json!({"analysis": {"analyzer": {"a": {"type": "custom"}}}}), "index.analysis.analyzer.a.type"),
        (json!({"max_result_window": 50}), "index.max_result_window"),
        (json!({"refresh_interval": "often"}), "index.refresh_interval"),
    ] {
        let r = es.json("PUT", "/x", json!({ "settings": settings }));
        assert_eq!(r.0, 400, "{settings}: {}", r.1);
        assert!(r.1["error"]["reason"].as_str().unwrap().contains(named), "{}", r.1);
    }
    let r = es.json(
        "PUT",
        "/x",
        json!({"settings": {"default_pipeline": "_none", "number_of_shards": 1, "refresh_interval": "5s"}}),
    );
    assert_eq!(r.0, 200, "{}", r.1);
    let r = es.json("PUT", "/x/_settings", json!({"index.default_pipeline": " "}));
    assert_error(&r, 400, "illegal_argument_exception", "index.default_pipeline");
    let r = es.json("PUT", "/x/_settings", json!({"index.number_of_shards": 2}));
    assert_error(
        &r,
        400,
        "illegal_argument_exception",
        "Can't update non dynamic settings [[index.number_of_shards]]",
    );
    assert_error(
        &es.json("PUT", "/x/_doc/1?pipeline=p", json!({})),
        400,
        "illegal_argument_exception",
        "pipeline with id [p] does not exist",
    );
    for source in [json!({"excludes": ["secret"]}), json!({"includes": ["a"]}), json!({"enabled": false})] {
        let r = es.json("PUT", "/y", json!({"mappings": {"_source": source}}));
        assert_eq!(r.0, 400, "{}", r.1);
        assert!(r.1["error"]["reason"].as_str().unwrap().contains("[_source."), "{}", r.1);
        let r = es.json("PUT", "/x/_mapping", json!({"_source": source}));
        assert_eq!(r.0, 400, "{}", r.1);
    }
    assert_eq!(es.json("PUT", "/y", json!({"mappings": {"_source": {"enabled": true}}})).0, 200);
}

#[test]
fn bulk_require_alias_and_url_parameters() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let es = Http::new(s.port, &s.ca, "elastic", &s.password);
    assert_eq!(es.json("PUT", "/real", json!({"aliases": {"al": {}}})).0, 200);
    let r = es.bulk(
        "/_bulk?require_alias=true&refresh=true",
        &[
            json!({"index": {"_index": "missing", "_id": "1"}}),
            json!({"a": 1}),
            json!({"index": {"_index": "al", "_id": "1"}}),
            json!({"a": 1}),
            json!({"create": {"_index": "other", "_id": "1", "require_alias": false}}),
            json!({"a": 1}),
        ],
    );
    let items = &r.1["items"];
    assert_eq!(items[0]["index"]["status"], 404, "{}", r.1);
    assert_eq!(items[0]["index"]["error"]["type"], "index_not_found_exception");
    assert_eq!(
        items[0]["index"]["error"]["reason"],
        "no such index [missing] and [require_alias] request flag is [true] and [missing] is not an alias"
    );
    assert_eq!(items[1]["index"]["status"], 201, "{}", r.1);
    assert_eq!(items[2]["create"]["status"], 201, "{}", r.1);
    assert_eq!(es.json("HEAD", "/missing", Value::Null).0, 404, "not created");
    let r = es
        .bulk("/_bulk", &[json!({"index": {"_index": "missing2", "require_alias": true}}), json!({"a": 1})]);
    assert_eq!(r.1["items"][0]["index"]["status"], 404, "{}", r.1);
    assert_eq!(es.json("HEAD", "/missing2", Value::Null).0, 404, "not created");

    // Unknown parameters are Elasticsearch's 400, with a suggestion when one is close.
    assert_error(
        &es.json("GET", "/real/_search?sise=1", Value::Null),
        400,
        "illegal_argument_exception",
        "request [/real/_search] contains unrecognized parameter: [sise] -> did you mean [size]?",
    );
    assert_error(
        &es.json("GET", "/_security/user?bogus=1", Value::Null),
        400,
        "illegal_argument_exception",
        "contains unrecognized parameter: [bogus]",
    );
    assert_error(&es.json("PUT", "/z?timeout=soon", Value::Null), 400, "parse_exception", "timeout");
    assert_error(
        &es.json("PUT", "/z?wait_for_active_shards=-2", Value::Null),
        400,
        "illegal_argument_exception",
        "negative",
    );
    assert_eq!(
        es.json("PUT", "/z?timeout=30s&master_timeout=1m&wait_for_active_shards=all", Value::Null).0,
        200
    );

    // filter_path, with wildcards and exclusions.
    let r = es.json("GET", "/real/_search?filter_path=hits.hits._id", Value::Null);
    assert_eq!(r.1, json!({"hits": {"hits": [{"_id": "1"}]}}));
    let r = es.json("GET", "/real/_search?filter_path=**._source", Value::Null);
    assert_eq!(r.1, json!({"hits": {"hits": [{"_source": {"a": 1}}]}}));
    let r = es.json("GET", "/real/_search?filter_path=-hits,-_shards,-took", Value::Null);
    assert_eq!(r.1, json!({"timed_out": false}));
    let r = es.json("GET", "/real/_doc/1?filter_path=_source.a,found", Value::Null);
    assert_eq!(r.1, json!({"found": true, "_source": {"a": 1}}));
    // pretty, and the body in the URL.
    let (status, text) = es.bytes("GET", "/real/_count?pretty", "", "application/json");
    let text = String::from_utf8(text).expect("text");
    assert_eq!(status, 200);
    assert!(text.starts_with("{\n  \"count\" : 1,") || text.starts_with("{\n  \"count\": 1,"), "{text}");
    let r = es.json(
        "GET",
        "/real/_count?source=%7B%22query%22%3A%7B%22term%22%3A%7B%22a%22%3A2%7D%7D%7D&source_content_type=application/json",
        Value::Null,
    );
    assert_eq!(r.1["count"], 0, "{}", r.1);
}

#[test]
fn per_index_field_limits_and_default_fields_hold_across_a_restart() {
    let home = TestHome::new();
    let mut s = start_fresh(&home, &[]);
    let es = Http::new(s.port, &s.ca, "elastic", &s.password);
    let small = json!({"settings": {"index.mapping.total_fields.limit": 3, "index.query.default_field": "b"},
                       "mappings": {"properties": {"a": {"type": "text"}}}});
    assert_eq!(es.json("PUT", "/small", small).0, 200);
    // More fields than the default limit, under the index's own.
    let many: serde_json::Map<String, Value> =
        (0..1200).map(|i| (format!("f{i}"), json!({"type": "keyword"}))).collect();
    let big =
        json!({"settings": {"index.mapping.total_fields.limit": 1300}, "mappings": {"properties": many}});
    assert_eq!(es.json("PUT", "/big", big).0, 200);
    // `b` comes as `text` with a `keyword` multi-field: 3 fields, the limit.
    assert_eq!(es.json("PUT", "/small/_doc/1?refresh=true", json!({"a": "x", "b": "y"})).0, 201);

    s.node.kill9();
    let mut node = Node::spawn(&home, &[], &[]);
    node.wait_ready(&s.ca, "elastic", &s.password);
    let es = Http::new(node.port(), &s.ca, "elastic", &s.password);
    s.node = node;

    assert_error(
        &es.json("PUT", "/small/_doc/2", json!({"c": 1})),
        400,
        "illegal_argument_exception",
        "Limit of total fields [3] has been exceeded while adding new fields [1]",
    );
    let r = es.json("PUT", "/big/_doc/1?refresh=true", json!({"f0": "x", "g": 1}));
    assert_eq!(r.0, 201, "{}", r.1);
    // `q` without `df` searches the index's default field `b` only.
    assert_eq!(hits_total(&es.json("GET", "/small/_search?q=y", Value::Null)), 1);
    assert_eq!(hits_total(&es.json("GET", "/small/_search?q=x", Value::Null)), 0);
}

/// An index's documents past its first 64 KB are stored compressed against a dictionary made
/// from the first ones (docs/architecture.md, "Where the bytes are"): every way of reading them
/// back gives what was written, before and after a `kill -9`, and a re-created index starts
/// afresh.
#[test]
fn documents_read_back_as_written_once_their_index_compresses_them() {
    let home = TestHome::new();
    let mut s = start_fresh(&home, &[]);
    let mut es = Http::new(s.port, &s.ca, "elastic", &s.password);
    let doc = |i: usize| {
        json!({"@timestamp": format!("2026-12-07T10:{:02}:{:02}Z", i / 60 % 60, i % 60), "n": i, "ratio": 0.5,
               "user": {"name": format!("user{}", i % 17), "tags": ["a", "ü", "\u{1F600}"]},
               "message": format!("GET /shop/item/{i} HTTP/1.1 200 \"quoted\" \\ line\nbreak")})
    };
    let mut lines = Vec::new();
    for i in 0..2_000 {
        lines.push(json!({"index": {"_index": "packed", "_id": i.to_string()}}));
        lines.push(doc(i));
    }
    let r = es.bulk("/_bulk?refresh=true", &lines);
    assert_eq!((r.0, &r.1["errors"]), (200, &json!(false)), "{}", r.1);
    let check = |es: &Http, when: &str| {
        for i in [0, 1, 999, 1_997] {
            let r = es.json("GET", &format!("/packed/_doc/{i}"), Value::Null);
            assert_eq!((r.0, &r.1["_source"]), (200, &doc(i)), "{when}: GET {i}");
        }
        let r = es.json("GET", "/packed/_source/1500", Value::Null);
        assert_eq!((r.0, &r.1), (200, &doc(1_500)), "{when}: _source");
        let ids: Vec<String> = (1_900..1_910).map(|i| i.to_string()).collect();
        let r = es.json("POST", "/packed/_mget", json!({ "ids": ids }));
        for (i, d) in (1_900..).zip(r.1["docs"].as_array().expect("docs")) {
            assert_eq!(d["_source"], doc(i), "{when}: _mget {i}");
        }
        let r = es.json("POST", "/packed/_search", json!({"query": {"term": {"n": 1_777}}}));
        assert_eq!(r.1["hits"]["hits"][0]["_source"], doc(1_777), "{when}: search hit");
    };
    check(&es, "written");
    let r = es.json("POST", "/packed/_update/1998?refresh=true", json!({"doc": {"ratio": 2}}));
    assert_eq!((r.0, r.1["_version"].as_u64()), (200, Some(2)), "{}", r.1);
    let mut updated = doc(1_998);
    updated["ratio"] = json!(2);
    assert_eq!(es.json("GET", "/packed/_doc/1998", Value::Null).1["_source"], updated);
    let r = es.json("PUT", "/packed/_doc/1999?if_seq_no=1999&if_primary_term=1", json!({"x": 1}));
    assert_eq!(r.0, 200, "a conditional write sees the compressed record's version: {}", r.1);

    s.node.kill9();
    let mut node = Node::spawn(&home, &[], &[]);
    node.wait_ready(&s.ca, "elastic", &s.password);
    es = Http::new(node.port(), &s.ca, "elastic", &s.password);
    s.node = node;
    check(&es, "after kill -9");
    assert_eq!(es.json("GET", "/packed/_doc/1998", Value::Null).1["_source"], updated);
    assert_eq!(es.json("GET", "/packed/_doc/1999", Value::Null).1["_source"], json!({"x": 1}));

    assert_eq!(es.json("DELETE", "/packed", Value::Null).0, 200);
    let r = es.json("PUT", "/packed/_doc/1?refresh=true", json!({"other": "shape"}));
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(es.json("GET", "/packed/_doc/1", Value::Null).1["_source"], json!({"other": "shape"}));
}
