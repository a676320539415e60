//! A corpus of bad REST input (issue 14): malformed JSON, wrong JSON types per field, numbers
//! JSON parsers choke on, deep nesting, invalid UTF-8 in body, path, query and headers, odd and
//! oversized headers, odd content types and methods, over every route family. Every answer must
//! be below 500 and, when it is an error, in Elasticsearch's shape
//! (`{"error":{"type":..,"reason":..},"status":N}` with N the HTTP status); the node must stay up
//! and log no panic. Requests go as raw bytes over TLS, so nothing is cleaned up on the way.

use std::time::Duration;

use base64::Engine as _;
use bulwark_testkit::{TestHome, raw_https, start_fresh};

/// One request of the corpus.
struct Req {
    method: &'static str,
    /// Raw path and query (may hold bytes that are not UTF-8).
    target: Vec<u8>,
    content_type: Option<Vec<u8>>,
    body: Vec<u8>,
    /// More header lines, each without CRLF.
    headers: Vec<Vec<u8>>,
    /// `None`: `elastic`'s credentials; `Some(v)`: this Authorization value instead.
    authorization: Option<Vec<u8>>,
}

fn req(method: &'static str, target: impl AsRef<[u8]>, body: impl AsRef<[u8]>) -> Req {
    Req {
        method,
        target: target.as_ref().to_vec(),
        content_type: Some(b"application/json".to_vec()),
        body: body.as_ref().to_vec(),
        headers: Vec::new(),
        authorization: None,
    }
}

fn nested(depth: usize, open: &str, close: &str, inner: &str) -> Vec<u8> {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth)).into_bytes()
}

/// Bodies that are not valid JSON documents, or are JSON that strict parsers refuse.
fn malformed_bodies() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        "",
        " ",
        "{",
        "}",
        "[1,2",
        "nul",
        "tru",
        "{\"a\":}",
        "{\"a\" 1}",
        "{a:1}",
        "{'a':1}",
        "{\"a\":1,}",
        "[1,]",
        "{\"a\":1}{\"b\":2}",
        "{} trailing",
        "\"just a string\"",
        "42",
        "[]",
        "null",
        "{\"a\":1,\"a\":2}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\x41\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":+1}",
        "{\"a\":NaN}",
        "{\"a\":Infinity}",
        "{\"a\":1e400}",
        "{\"a\":-1e400}",
        "{\"a\":-0}",
        "{\"a\":18446744073709551616}",
        "{\"a\":-9223372036854775809}",
        "{\"a\":1e-400}",
        "/* comment */ {}",
        "{\"a\":\"tab\there\"}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    v.push(b"{\"a\":\"\xff\xfe\"}".to_vec());
    v.push(b"\xef\xbb\xbf{}".to_vec());
    v.push(b"{\"a\":\"\x00\"}".to_vec());
    v.push(b"\xc3\x28".to_vec());
    v.push(nested(10_000, "[", "]", ""));
    v.push(nested(10_000, "{\"a\":", "}", "1"));
    v.push(format!("{{\"{}\":1}}", "k".repeat(100_000)).into_bytes());
    v
}

/// Endpoints that take a JSON body; each gets every malformed body.
const JSON_ENDPOINTS: &[(&str, &str)] = &[
    ("PUT", "/bad/_doc/1"),
    ("POST", "/bad/_doc"),
    ("POST", "/bad/_update/1"),
    ("POST", "/_search"),
    ("POST", "/bad/_count"),
    ("POST", "/_mget"),
    ("PUT", "/bad-index"),
    ("PUT", "/bad/_mapping"),
    ("PUT", "/bad/_settings"),
    ("POST", "/_aliases"),
    ("PUT", "/_security/user/bad-user"),
    ("POST", "/_security/user/bad-user/_password"),
    ("PUT", "/_security/role/bad-role"),
    ("POST", "/_security/api_key"),
    ("POST", "/_security/api_key/grant"),
    ("POST", "/_security/api_key/_bulk_update"),
    ("POST", "/_security/_query/api_key"),
    ("POST", "/_security/_query/user"),
    ("POST", "/_security/_query/role"),
    ("PUT", "/_security/role_mapping/bad-mapping"),
    ("POST", "/_security/user/_has_privileges"),
    ("POST", "/_ssl/certificates/_revoke"),
];

/// Valid JSON with the wrong type (or an impossible value) for a field each endpoint knows.
fn wrong_types() -> Vec<Req> {
    let cases: &[(&'static str, &str, &[&str])] = &[
        (
            "PUT",
            "/_security/user/u1",
            &[
                r#"{"password":123}"#,
                r#"{"password":"long-enough-pw","roles":"superuser"}"#,
                r#"{"password":"long-enough-pw","roles":[1]}"#,
                r#"{"password":"long-enough-pw","enabled":"yes"}"#,
                r#"{"password":"long-enough-pw","metadata":[]}"#,
                r#"{"password":"long-enough-pw","full_name":{}}"#,
                r#"{"password_hash":7}"#,
                r#"{"password":null}"#,
            ],
        ),
        (
            "PUT",
            "/_security/role/r1",
            &[
                r#"{"cluster":"all"}"#,
                r#"{"indices":{}}"#,
                r#"{"indices":[{"names":1,"privileges":["read"]}]}"#,
                r#"{"indices":[{"names":["a"],"privileges":"read"}]}"#,
                r#"{"run_as":{}}"#,
                r#"{"indices":[{"names":["a"],"privileges":["read"],"query":5}]}"#,
                r#"{"indices":[{"names":["a"],"privileges":["read"],"field_security":[]}]}"#,
                r#"{"applications":"x"}"#,
                r#"{"metadata":1}"#,
            ],
        ),
        (
            "POST",
            "/_security/api_key",
            &[
                r#"{"name":1}"#,
                r#"{"name":"k","expiration":5}"#,
                r#"{"name":"k","expiration":"1x"}"#,
                r#"{"name":"k","role_descriptors":[]}"#,
                r#"{"name":"k","role_descriptors":{"r":1}}"#,
                r#"{"name":"k","expiration":"99999999999999999999d"}"#,
                r#"{"name":"k","metadata":"m"}"#,
            ],
        ),
        (
            "PUT",
            "/_security/role_mapping/m1",
            &[
                r#"{"roles":1,"rules":{"field":{"username":"*"}}}"#,
                r#"{"roles":["r"],"rules":"x"}"#,
                r#"{"roles":["r"],"rules":{"field":{"username":"*"}},"enabled":"true"}"#,
                r#"{"roles":["r"],"rules":{"any":{}}}"#,
                r#"{"roles":["r"],"rules":{"all":[1]}}"#,
                r#"{"role_templates":[{"template":7}],"rules":{"field":{"username":"*"}}}"#,
            ],
        ),
        (
            "POST",
            "/_search",
            &[
                r#"{"size":"ten"}"#,
                r#"{"size":-1}"#,
                r#"{"size":1e400}"#,
                r#"{"from":18446744073709551616}"#,
                r#"{"size":100000000}"#,
                r#"{"query":[]}"#,
                r#"{"query":{"match":1}}"#,
                r#"{"query":{"bool":{"must":1}}}"#,
                r#"{"query":{"range":{"a":{"gte":{}}}}}"#,
                r#"{"sort":1}"#,
                r#"{"sort":[{"a":{"order":"up"}}]}"#,
                r#"{"aggs":{"a":{"terms":1}}}"#,
                r#"{"aggs":{"a":{"terms":{"field":"a","size":-5}}}}"#,
                r#"{"aggs":{"a":{"histogram":{"field":"a","interval":0}}}}"#,
                r#"{"query":{"unknown":{}}}"#,
                r#"{"track_total_hits":"x"}"#,
                r#"{"_source":1}"#,
                r#"{"query":{"term":{"a":{"value":[]}}}}"#,
                r#"{"query":{"match_all":{"boost":"x"}}}"#,
                r#"{"query":{"wildcard":{"a":{"value":1}}}}"#,
                r#"{"query":{"query_string":{"query":"a:(((("}}}"#,
                r#"{"query":{"regexp":{"a":"[[["}}}"#,
                r#"{"query":{"range":{"a":{"gte":"not-a-date","format":"yyyy"}}}}"#,
                r#"{"search_after":{}}"#,
                r#"{"from":-1}"#,
                r#"{"query":{"terms":{"a":{}}}}"#,
                r#"{"query":{"ids":{"values":"x"}}}"#,
            ],
        ),
        (
            "PUT",
            "/bad/_settings",
            &[
                r#"{"index":{"number_of_replicas":"x"}}"#,
                r#"{"index":{"refresh_interval":1e400}}"#,
                r#"{"index":{"number_of_replicas":-1}}"#,
                r#"{"index":{"blocks":{"write":"perhaps"}}}"#,
            ],
        ),
        (
            "PUT",
            "/typed-index",
            &[
                r#"{"mappings":{"properties":{"a":{"type":"no-such-type"}}}}"#,
                r#"{"mappings":[]}"#,
                r#"{"settings":{"number_of_shards":0}}"#,
                r#"{"mappings":{"properties":{"a":1}}}"#,
                r#"{"aliases":[]}"#,
            ],
        ),
        (
            "POST",
            "/_aliases",
            &[
                r#"{"actions":{}}"#,
                r#"{"actions":[{"add":{"index":1,"alias":"a"}}]}"#,
                r#"{"actions":[{"remove":{}}]}"#,
                r#"{"actions":[{"unknown":{}}]}"#,
                r#"{"actions":[1]}"#,
            ],
        ),
        (
            "POST",
            "/_mget",
            &[r#"{"docs":{}}"#, r#"{"ids":[1,2]}"#, r#"{"docs":[{"_id":{}}]}"#, r#"{"ids":"x"}"#],
        ),
        (
            "POST",
            "/_ssl/certificates/_revoke",
            &[r#"{"serial":1}"#, r#"{"serials":"x"}"#, r#"{"reason":[]}"#],
        ),
        ("POST", "/_security/user/_has_privileges", &[r#"{"cluster":"all"}"#, r#"{"index":[{"names":1}]}"#]),
        (
            "POST",
            "/_security/_query/api_key",
            &[
                r#"{"size":-1}"#,
                r#"{"query":{"wildcard":{"name":1}}}"#,
                r#"{"from":1e400}"#,
                r#"{"sort":{}}"#,
            ],
        ),
        ("PUT", "/bad/_doc/2", &[r#"{"a":1e400}"#, r#"{"_id":"x"}"#, r#"{"a":{"b":[[[[]]]]}}"#]),
        (
            "POST",
            "/bad/_update/1",
            &[r#"{"doc":1}"#, r#"{"doc":{},"doc_as_upsert":"x"}"#, r#"{"script":"x"}"#],
        ),
    ];
    let mut out = Vec::new();
    for (method, path, bodies) in cases {
        for b in bodies.iter() {
            out.push(req(method, path, b));
        }
    }
    out
}

fn ndjson(content: &[u8], path: &str) -> Req {
    let mut r = req("POST", path, content);
    r.content_type = Some(b"application/x-ndjson".to_vec());
    r
}

fn bulk_and_msearch() -> Vec<Req> {
    let bulks: Vec<Vec<u8>> = vec![
        b"{\"index\":{}}\n".to_vec(),
        b"{\"index\":{\"_index\":1}}\n{}\n".to_vec(),
        b"garbage\n".to_vec(),
        b"{\"delete\":{\"_index\":\"b\"}}\n".to_vec(),
        b"{\"index\":{\"_index\":\"b\"}}\n{\n".to_vec(),
        b"{\"unknown\":{}}\n{}\n".to_vec(),
        b"{\"index\":{\"_index\":\"b\"}}\n{}".to_vec(),
        b"\n\n\n".to_vec(),
        b"{\"index\":{\"_index\":\"b\"}}\n{\"a\":\"\xff\"}\n".to_vec(),
        b"{\"index\":{\"_index\":\"\xff\"}}\n{}\n".to_vec(),
        [b"{\"index\":{\"_index\":\"b\"}}\n".to_vec(), nested(10_000, "[", "]", ""), b"\n".to_vec()].concat(),
        b"{\"update\":{\"_index\":\"b\",\"_id\":\"1\"}}\n{\"doc\":1}\n".to_vec(),
        b"{\"index\":{\"_index\":\"b\",\"_id\":{}}}\n{}\n".to_vec(),
        b"{\"index\":{\"_index\":\"b\"},\"create\":{}}\n{}\n".to_vec(),
        b"{\"index\":{\"_index\":\"b\"}}\n{\"a\":18446744073709551616}\n".to_vec(),
        b"[]\n{}\n".to_vec(),
    ];
    let msearches: Vec<Vec<u8>> = vec![
        b"{}\n".to_vec(),
        b"{}\n{\"query\":1}\n".to_vec(),
        b"x\n{}\n".to_vec(),
        b"{\"index\":1}\n{}\n".to_vec(),
        b"{}\n{\"size\":1e400}\n".to_vec(),
        b"{}\n{\"a\":\"\xff\"}\n".to_vec(),
        [b"{}\n".to_vec(), nested(10_000, "{\"bool\":{\"must\":", "}}", "{}"), b"\n".to_vec()].concat(),
    ];
    let mut out: Vec<Req> = bulks.iter().map(|b| ndjson(b, "/_bulk")).collect();
    out.extend(bulks.iter().take(4).map(|b| ndjson(b, "/bad/_bulk")));
    out.extend(msearches.iter().map(|b| ndjson(b, "/_msearch")));
    out.push(ndjson(&msearches[1], "/bad/_msearch"));
    out
}

/// Bad paths and query strings, including bytes that are not UTF-8 (sent raw).
fn paths_and_queries() -> Vec<Req> {
    let targets: Vec<Vec<u8>> = vec![
        b"/%ff/_doc/1".to_vec(),
        b"/bad/_doc/%ff%fe".to_vec(),
        b"/bad/_doc/\xff".to_vec(),
        b"/%00".to_vec(),
        format!("/bad/_doc/{}", "i".repeat(600)).into_bytes(),
        format!("/{}/_doc/1", "x".repeat(300)).into_bytes(),
        b"/_security/user/%ff".to_vec(),
        b"/_security/role/%c3%28".to_vec(),
        b"/_security/api_key?id=%ff".to_vec(),
        b"//".to_vec(),
        b"/bad/_doc/1/extra/segments".to_vec(),
        b"/_search?size=1e400".to_vec(),
        b"/_search?size=18446744073709551616".to_vec(),
        b"/_search?from=-1".to_vec(),
        b"/_search?q=%ff".to_vec(),
        b"/_search?q=a:((((".to_vec(),
        b"/_search?pretty=maybe".to_vec(),
        b"/_search?filter_path=%ff".to_vec(),
        b"/_search?timeout=1e400ms".to_vec(),
        b"/_search?sort=a:sideways".to_vec(),
        b"/_search?%zz=1".to_vec(),
        b"/_search?a=1&a=2&&&=".to_vec(),
        b"/_cluster/health?timeout=xyz".to_vec(),
        b"/_cluster/health?wait_for_status=purple".to_vec(),
        b"/_cluster/health?level=1e400".to_vec(),
        b"/_cat/indices?format=xml".to_vec(),
        b"/_cat/indices?bytes=zz".to_vec(),
        b"/_nodes/stats/%ff".to_vec(),
        b"/_ssl/crl/..%2F..%2Fetc%2Fpasswd".to_vec(),
        b"/_ssl/crl/%ff".to_vec(),
        b"/_security/service/%ff/%fe/credential/token/%fd".to_vec(),
        b"/_security/service/elastic/fleet-server/credential/token/bad%20name".to_vec(),
        b"/bad/_doc/1?refresh=perhaps".to_vec(),
        b"/bad/_doc/1?version=-5&version_type=nope".to_vec(),
        b"/bad/_doc/1?if_seq_no=1e400&if_primary_term=x".to_vec(),
        b"/_security/user?usernames=%ff".to_vec(),
        b"/_alias/%ff".to_vec(),
        b"/_mapping?expand_wildcards=sideways".to_vec(),
        b"/*,-*,%ff/_search".to_vec(),
        b"/_all/_settings?flat_settings=2".to_vec(),
    ];
    targets.into_iter().map(|t| req("GET", t, "")).chain([req("PUT", b"/bad/_doc/\xff", "{}")]).collect()
}

/// Odd methods, content types, credentials and headers.
fn headers_and_methods() -> Vec<Req> {
    let mut out = Vec::new();
    for method in ["PATCH", "TRACE", "OPTIONS", "CONNECT", "FOO"] {
        out.push(req(method, "/", ""));
        out.push(req(method, "/bad/_doc/1", "{}"));
    }
    for ct in [
        &b"application/x-www-form-urlencoded"[..],
        b"text/plain",
        b"application/json; charset=latin1",
        b"application/vnd.elasticsearch+json;compatible-with=99",
        b"application/vnd.elasticsearch+json;compatible-with=x",
        b"application/cbor",
        b"application/smile",
        b"application/yaml",
        b"multipart/form-data; boundary=x",
        b"\xff\xfe",
        b"",
        b";;;",
    ] {
        let mut r = req("POST", "/_search", "{}");
        r.content_type = Some(ct.to_vec());
        out.push(r);
        let mut r = req("PUT", "/bad/_doc/3", "{\"a\":1}");
        r.content_type = Some(ct.to_vec());
        out.push(r);
    }
    let mut no_ct = req("POST", "/_security/api_key", "{\"name\":\"x\"}");
    no_ct.content_type = None;
    out.push(no_ct);
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let auths: Vec<Vec<u8>> = vec![
        b"Basic %%%".to_vec(),
        format!("Basic {}", b64(b"\xff\xfe:\xff")).into_bytes(),
        format!("Basic {}", b64(b"no-colon")).into_bytes(),
        b"Bearer garbage".to_vec(),
        b"ApiKey garbage".to_vec(),
        format!("ApiKey {}", b64(b"id:\xff")).into_bytes(),
        b"Basic".to_vec(),
        b"Basic \xff\xff".to_vec(),
        format!("Basic {}", "A".repeat(20_000)).into_bytes(),
        b"Negotiate abc".to_vec(),
    ];
    for a in auths {
        for (method, path) in
            [("GET", "/"), ("GET", "/_security/enroll/kibana"), ("GET", "/_security/enroll/node")]
        {
            let mut r = req(method, path, "");
            r.authorization = Some(a.clone());
            out.push(r);
        }
    }
    let headers: Vec<Vec<u8>> = vec![
        b"X-Opaque-Id: \xff\xfe".to_vec(),
        format!("X-Big: {}", "h".repeat(60_000)).into_bytes(),
        b"Accept: application/vnd.elasticsearch+json;compatible-with=3".to_vec(),
        b"Accept: \xff".to_vec(),
        b"Accept-Encoding: gzip;q=\xff".to_vec(),
        b"X-Elastic-Product-Origin: \x01".to_vec(),
        b"es-security-runas-user: \xff".to_vec(),
        b"es-security-runas-user: nobody-at-all".to_vec(),
        b"Content-Encoding: gzip".to_vec(),
        b"Expect: 100-continue-not".to_vec(),
    ];
    for h in headers {
        let mut r = req("POST", "/_search", "{}");
        r.headers.push(h);
        out.push(r);
    }
    let mut many = req("GET", "/", "");
    many.headers = (0..200).map(|i| format!("X-H-{i}: v").into_bytes()).collect();
    out.push(many);
    out
}

fn corpus() -> Vec<Req> {
    let mut all = Vec::new();
    for (method, path) in JSON_ENDPOINTS {
        for body in malformed_bodies() {
            all.push(req(method, path, body));
        }
    }
    all.extend(wrong_types());
    all.extend(bulk_and_msearch());
    all.extend(paths_and_queries());
    all.extend(headers_and_methods());
    all
}

fn encode(r: &Req, password: &str) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(r.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(&r.target);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    let auth = r.authorization.clone().unwrap_or_else(|| {
        let creds = base64::engine::general_purpose::STANDARD.encode(format!("elastic:{password}"));
        format!("Basic {creds}").into_bytes()
    });
    for line in [[&b"Authorization: "[..], &auth].concat()]
        .into_iter()
        .chain(r.content_type.iter().map(|ct| [&b"Content-Type: "[..], ct].concat()))
        .chain(r.headers.iter().cloned())
    {
        out.extend_from_slice(&line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", r.body.len()).as_bytes());
    out.extend_from_slice(&r.body);
    out
}

/// Whether a request is not HTTP at all (RFC 9112: a request target of raw bytes outside ASCII,
/// control characters in a field value). hyper refuses those while parsing, before any of our
/// code runs, with a bare 400 and a closed connection; that is all they may get.
fn not_http(r: &Req) -> bool {
    r.target.iter().any(|b| *b >= 0x80 || *b <= 0x20)
        || r.headers.iter().any(|h| h.iter().any(|b| *b < 0x20 && *b != b'\t'))
}

/// Why an answer breaks the rules, if it does.
fn judge(r: &Req, status: u16, body: &[u8]) -> Option<String> {
    let method = r.method;
    if status >= 500 {
        return Some(format!("status {status}"));
    }
    if not_http(r) && status == 400 && body.is_empty() {
        return None;
    }
    if status < 400 || method == "HEAD" {
        return None;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Some(format!("{status} with a body that is not JSON"));
    };
    // A document that does not exist, and a get of API keys by an id that matches none, answer
    // 404 with their usual body, as in Elasticsearch.
    if status == 404 && (v["found"] == false || v["api_keys"].as_array().is_some_and(Vec::is_empty)) {
        return None;
    }
    // Elasticsearch answers an unknown path (400) and a wrong method (405) with a string error.
    let plain = v["error"].as_str().is_some_and(|e| {
        (status == 400 && e.starts_with("no handler found for uri"))
            || (status == 405 && e.starts_with("Incorrect HTTP method for uri"))
    });
    let shaped = (plain || v["error"]["type"].is_string() && v["error"]["reason"].is_string())
        && v["status"] == status;
    (!shaped).then(|| format!("{status} not in Elasticsearch's error shape"))
}

#[test]
fn bad_input_never_gets_a_5xx_a_panic_or_a_non_elasticsearch_error() {
    let home = TestHome::new();
    let mut s = start_fresh(&home, &["-E", "xpack.security.authc.lockout.enabled=false"]);
    let corpus = corpus();
    assert!(corpus.len() >= 200, "only {} requests", corpus.len());
    let mut failures = Vec::new();
    for r in &corpus {
        let shown = format!(
            "{} {} [{}] body {:?}",
            r.method,
            String::from_utf8_lossy(&r.target).chars().take(80).collect::<String>(),
            r.content_type.as_deref().map(String::from_utf8_lossy).unwrap_or_default(),
            String::from_utf8_lossy(&r.body).chars().take(60).collect::<String>(),
        );
        match raw_https(s.port, &s.ca, &encode(r, &s.password)) {
            Ok((status, _, body)) => {
                if let Some(why) = judge(r, status, &body) {
                    let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
                    failures.push(format!("{shown}: {why}: {text}"));
                }
            }
            Err(e) => failures.push(format!("{shown}: no answer: {e}")),
        }
    }
    assert!(s.node.wait_exit(Duration::from_millis(100)).is_none(), "the node died");
    let (status, ..) = s.client.get("/", Some(("elastic", &s.password))).expect("node still answers");
    assert_eq!(status, 200);
    let output = std::fs::read_to_string(home.stdout_file()).unwrap_or_default();
    assert!(!home.log().contains("panicked") && !output.contains("panicked"), "a panic:\n{output}");
    println!("{} requests", corpus.len());
    assert!(
        failures.is_empty(),
        "{} of {} answers broke the rules:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
}
