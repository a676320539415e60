//! Random JSON shapes into every parser and through search: errors are fine, panics are not.

mod common;

use bulwark_index::{Index, Mapping, Query, SearchRequest, search_many};
use common::{Rng, index_with};
use serde_json::{Map, Value, json};

const QUERY_NAMES: &[&str] = &[
    "match_all",
    "match_none",
    "match",
    "match_phrase",
    "match_phrase_prefix",
    "multi_match",
    "term",
    "terms",
    "range",
    "exists",
    "prefix",
    "wildcard",
    "ids",
    "bool",
    "constant_score",
    "dis_max",
    "query_string",
    "simple_query_string",
    "nope",
];
const KEYS: &[&str] = &[
    "query",
    "field",
    "fields",
    "value",
    "values",
    "operator",
    "minimum_should_match",
    "boost",
    "slop",
    "type",
    "gt",
    "gte",
    "lt",
    "lte",
    "from",
    "to",
    "format",
    "time_zone",
    "must",
    "filter",
    "should",
    "must_not",
    "queries",
    "tie_breaker",
    "case_insensitive",
    "default_field",
    "default_operator",
    "wildcard",
    "zero_terms_query",
    "lenient",
    "include_lower",
    "include_upper",
    "_name",
    "analyzer",
];
const FIELDS: &[&str] =
    &["t", "k", "n", "f", "b", "d", "ip", "o", "o.x", "t.keyword", "_id", "_index", "*", "t*", "missing", ""];
const STRINGS: &[&str] = &[
    "",
    "a",
    "alpha",
    "Alpha beta",
    "*",
    "?",
    "a*b?",
    "\\",
    "\"",
    "(",
    ")",
    "title:(x",
    "k:a AND (n:[1 TO 5} OR NOT b:true)",
    "now-1d/d",
    "now+",
    "2024-01-01",
    "2024-13-01",
    "||",
    "||+1d",
    "1e309",
    "-5",
    "NaN",
    "abc",
    "::1",
    "10.0.0.300",
    "and",
    "or",
    "75%",
    "-25%",
    "3<90%",
    "_exists_:k",
    "+a -b | c",
    "~2",
    "^3",
    "\u{0}",
    "\u{1}x",
    "é*",
    "[a TO",
    "{*}",
    ">=",
    "t:>=x",
    "\"unterminated",
    "a\\*b",
    "/regex/",
    "x^",
    "x^-1",
    "x~",
    "((((((((((a))))))))))",
];
const AGG_TYPES: &[&str] = &[
    "terms",
    "filters",
    "filter",
    "range",
    "date_range",
    "histogram",
    "date_histogram",
    "min",
    "max",
    "avg",
    "sum",
    "stats",
    "value_count",
    "cardinality",
    "missing",
    "bogus",
];
const AGG_KEYS: &[&str] = &[
    "field",
    "size",
    "order",
    "min_doc_count",
    "missing",
    "interval",
    "calendar_interval",
    "fixed_interval",
    "offset",
    "time_zone",
    "ranges",
    "filters",
    "other_bucket",
    "keyed",
    "extended_bounds",
    "format",
    "aggs",
];

fn scalar(rng: &mut Rng) -> Value {
    match rng.below(7) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(rng.below(1000) as i64 - 500),
        3 => json!([0.5, -1e300, 1e300, 3.25, -0.0][rng.below(5) as usize]),
        4 => json!(i64::MAX - rng.below(3) as i64),
        _ => json!(rng.pick(STRINGS)),
    }
}

fn value(rng: &mut Rng, depth: u32) -> Value {
    if depth == 0 {
        return scalar(rng);
    }
    match rng.below(10) {
        0..=3 => scalar(rng),
        4 | 5 => Value::Array((0..rng.below(4)).map(|_| value(rng, depth - 1)).collect()),
        6 | 7 => query(rng, depth - 1),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(4) {
                let k =
                    if rng.chance(50) { rng.pick(KEYS).to_string() } else { rng.pick(FIELDS).to_string() };
                m.insert(k, value(rng, depth - 1));
            }
            Value::Object(m)
        }
    }
}

fn query(rng: &mut Rng, depth: u32) -> Value {
    let name = rng.pick(QUERY_NAMES).to_string();
    let body = match rng.below(4) {
        0 => value(rng, depth),
        1 => {
            // Field form: {"field": scalar-or-object}
            let mut m = Map::new();
            m.insert(
                rng.pick(FIELDS).to_string(),
                if rng.chance(50) { scalar(rng) } else { value(rng, depth) },
            );
            Value::Object(m)
        }
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(5) {
                m.insert(
                    rng.pick(KEYS).to_string(),
                    if depth > 0 { value(rng, depth - 1) } else { scalar(rng) },
                );
            }
            if rng.chance(50) {
                m.insert("field".into(), json!(rng.pick(FIELDS)));
            }
            if rng.chance(40) {
                m.insert("query".into(), json!(rng.pick(STRINGS)));
            }
            Value::Object(m)
        }
    };
    let mut q = Map::new();
    q.insert(name, body);
    Value::Object(q)
}

fn aggs(rng: &mut Rng, depth: u32) -> Value {
    let mut m = Map::new();
    for i in 0..rng.below(3) + 1 {
        let mut body = Map::new();
        // Half the bodies name only a field, so that many aggregations are valid and run.
        let keys = if rng.chance(50) { 0 } else { rng.below(5) };
        if keys == 0 {
            body.insert("field".into(), json!(rng.pick(FIELDS)));
        }
        for _ in 0..keys {
            let k = rng.pick(AGG_KEYS).to_string();
            let v = match k.as_str() {
                "field" => json!(rng.pick(FIELDS)),
                "aggs" if depth > 0 => aggs(rng, depth - 1),
                "filters" => json!({"x": query(rng, 1)}),
                "ranges" => {
                    json!([{"from": scalar(rng), "to": scalar(rng)}, {"key": "k", "to": scalar(rng)}])
                }
                "calendar_interval" => {
                    json!(["day", "1M", "week", "5d", "quarter", "year", "minute"][rng.below(7) as usize])
                }
                "fixed_interval" => json!(["1ms", "1h", "30m", "0d", "x"][rng.below(5) as usize]),
                "order" => {
                    json!({["_count", "_key", "x", "x.max"][rng.below(4) as usize]: if rng.chance(50) {"asc"} else {"desc"}})
                }
                _ => {
                    if rng.chance(70) {
                        scalar(rng)
                    } else {
                        value(rng, 1)
                    }
                }
            };
            body.insert(k, v);
        }
        let mut def = Map::new();
        def.insert(rng.pick(AGG_TYPES).to_string(), Value::Object(body));
        if depth > 0 && rng.chance(30) {
            def.insert("aggs".into(), aggs(rng, depth - 1));
        }
        m.insert(format!("a{i}"), Value::Object(def));
    }
    Value::Object(m)
}

fn fixture() -> Index {
    let mapping = json!({"properties": {
        "t": {"type": "text", "fields": {"keyword": {"type": "keyword"}}}, "k": {"type": "keyword"}, "n": {"type": "long"},
        "f": {"type": "double"}, "b": {"type": "boolean"}, "d": {"type": "date"}, "ip": {"type": "ip"},
        "o": {"properties": {"x": {"type": "integer"}}}
    }});
    index_with(
        "fuzz",
        mapping,
        &[
            (
                "1",
                json!({"t": "alpha beta", "k": "a", "n": 1, "f": 0.5, "b": true, "d": "2024-01-01", "ip": "::1", "o": {"x": 3}}),
            ),
            (
                "2",
                json!({"t": "gamma", "k": ["a", "b"], "n": -7, "f": 1e300, "b": false, "d": 0, "ip": "10.0.0.1"}),
            ),
            ("3", json!({"t": "é*", "k": "", "n": i64::MAX, "f": -0.0})),
        ],
    )
}

#[test]
fn random_queries_never_panic() {
    let index = fixture();
    let mut rng = Rng::new(7);
    let (mut parsed, mut ran) = (0, 0);
    for _ in 0..4000 {
        let q = query(&mut rng, 3);
        if let Ok(query) = Query::parse(&q) {
            parsed += 1;
            if index.count(&query).is_ok() {
                ran += 1;
            }
        }
        let body = json!({"query": q, "sort": if rng.chance(30) { json!([{"n": "desc"}, "_score"]) } else { json!([]) }, "size": 3});
        if let Ok(req) = SearchRequest::parse(Some(&body), Vec::<(String, String)>::new()) {
            let _ = search_many(&[&index], &req);
        }
    }
    assert!(parsed > 250, "the generator reaches valid queries ({parsed})");
    assert!(ran > 150, "and some run ({ran})");
}

#[test]
fn random_query_strings_never_panic() {
    let index = fixture();
    let mut rng = Rng::new(11);
    let (mut parsed, mut searched) = (0, 0);
    for _ in 0..3000 {
        let mut s = String::new();
        for _ in 0..rng.below(6) {
            let piece: &&str = rng.pick(STRINGS);
            s.push_str(piece);
            s.push_str([" ", "", ":", " AND ", " OR ", "^2 ", "~"][rng.below(7) as usize]);
        }
        for name in ["query_string", "simple_query_string"] {
            let q =
                json!({ name: {"query": s, "default_operator": if rng.chance(50) { "and" } else { "or" }} });
            if let Ok(query) = Query::parse(&q) {
                parsed += 1;
                let _ = index.count(&query);
            }
        }
        if let Ok(req) =
            SearchRequest::parse(None, [("q", s.as_str()), ("sort", s.as_str()), ("_source", s.as_str())])
        {
            searched += 1;
            let _ = search_many(&[&index], &req);
        }
    }
    assert!(parsed > 1000, "the generator reaches valid query strings ({parsed})");
    assert!(searched > 100, "and valid search requests ({searched})");
}

#[test]
fn random_aggregations_and_bodies_never_panic() {
    let index = fixture();
    let mut rng = Rng::new(3);
    let (mut aggregations, mut bodies) = (0, 0);
    for _ in 0..2000 {
        let body = json!({"size": rng.below(3), "aggs": aggs(&mut rng, 2)});
        if let Ok(req) = SearchRequest::parse(Some(&body), Vec::<(String, String)>::new()) {
            aggregations += 1;
            let _ = search_many(&[&index], &req);
        }
        let mut b = Map::new();
        for _ in 0..rng.below(4) {
            let k = [
                "query",
                "from",
                "size",
                "sort",
                "_source",
                "track_total_hits",
                "search_after",
                "post_filter",
                "min_score",
                "x",
            ][rng.below(10) as usize];
            b.insert(k.to_string(), value(&mut rng, 2));
        }
        if let Ok(req) = SearchRequest::parse(Some(&Value::Object(b)), Vec::<(String, String)>::new()) {
            bodies += 1;
            let _ = search_many(&[&index], &req);
        }
    }
    assert!(aggregations > 150, "the generator reaches valid aggregations ({aggregations})");
    assert!(bodies > 200, "and valid search bodies ({bodies})");
}

#[test]
fn random_documents_and_mappings_never_panic() {
    let mut rng = Rng::new(5);
    let mut index = fixture();
    let mut dynamic = Index::create_in_ram("dyn", Mapping::new()).unwrap();
    let (mut indexed, mut mappings) = (0, 0);
    for i in 0..1500 {
        let mut doc = Map::new();
        for _ in 0..rng.below(5) {
            let k = if rng.chance(60) { rng.pick(FIELDS).to_string() } else { rng.pick(STRINGS).to_string() };
            doc.insert(k, value(&mut rng, 3));
        }
        let doc = Value::Object(doc);
        indexed += usize::from(index.apply(&i.to_string(), &doc).is_ok());
        let _ = dynamic.apply(&i.to_string(), &doc);
        mappings += usize::from(Mapping::from_json(&json!({"properties": value(&mut rng, 3)})).is_ok());
        let _ = Mapping::from_json(&value(&mut rng, 3));
    }
    assert!(indexed > 200, "the generator reaches valid documents ({indexed})");
    assert!(mappings > 50, "and valid mappings ({mappings})");
    index.refresh().unwrap();
    dynamic.refresh().unwrap();
    // Both still answer searches and aggregations over whatever was accepted.
    let body = json!({"aggs": {"k": {"terms": {"field": "k"}}}, "sort": [{"n": {"order": "asc", "unmapped_type": "long"}}]});
    let req = SearchRequest::parse(Some(&body), Vec::<(String, String)>::new()).unwrap();
    assert!(search_many(&[&index], &req).is_ok());
    assert!(search_many(&[&dynamic], &SearchRequest::new()).is_ok());
    // Deeply nested input is refused, not a stack overflow.
    let mut deep = json!(1);
    for _ in 0..500 {
        deep = json!({ "a": deep });
    }
    assert!(dynamic.apply("deep", &deep).is_err());
    let mut deep_q = json!({"match_all": {}});
    for _ in 0..500 {
        deep_q = json!({"bool": {"must": deep_q}});
    }
    let _ = Query::parse(&deep_q);
}
