//! Every aggregation over seeded generated data, checked against a plain computation.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bulwark_index::{Index, Mapping, SearchRequest, search_many};
use common::Rng;
use serde_json::{Map, Value, json};

const N: usize = 3000;
const DAY: i64 = 86_400_000;
/// 2024-01-01T00:00:00Z.
const BASE: i64 = 1_704_067_200_000;
const MONTH_DAYS: [i64; 4] = [31, 29, 31, 30];
const CATS: &[&str] =
    &["books", "games", "music", "garden", "tools", "toys", "food", "home", "sport", "auto", "baby", "pets"];
const TAGS: &[&str] = &["a", "b", "c", "d", "e", "f", "g", "h"];

/// One generated document, as the test sees it.
#[derive(Debug, Clone)]
struct Doc {
    cat: Option<String>,
    tags: Vec<String>,
    price: Option<f64>,
    qty: i64,
    ts: i64,
    flag: bool,
    user: String,
}

fn month_of(day: i64) -> (u32, i64) {
    let mut d = day;
    for (i, len) in MONTH_DAYS.iter().enumerate() {
        if d < *len {
            return (i as u32 + 1, d + 1);
        }
        d -= len;
    }
    (4, 30)
}

fn generate() -> Vec<(String, Doc, Value)> {
    let mut rng = Rng::new(42);
    let total_days: i64 = MONTH_DAYS.iter().sum();
    (0..N)
        .map(|i| {
            // Skewed categories: lower indices are more frequent.
            let cat = (!rng.chance(5)).then(|| {
                let a = rng.below(CATS.len() as u64);
                let b = rng.below(CATS.len() as u64);
                CATS[a.min(b) as usize].to_string()
            });
            let tags: Vec<String> = (0..rng.below(4)).map(|_| rng.pick(TAGS).to_string()).collect();
            let price = (!rng.chance(10)).then(|| rng.below(100_000) as f64 / 100.0);
            let qty = rng.below(600) as i64 - 50;
            let day = rng.below(total_days as u64) as i64;
            let (h, m, s, ms) =
                (rng.below(24) as i64, rng.below(60) as i64, rng.below(60) as i64, rng.below(1000) as i64);
            let ts = BASE + day * DAY + h * 3_600_000 + m * 60_000 + s * 1000 + ms;
            let (month, dom) = month_of(day);
            let ts_json = if i % 2 == 0 {
                json!(format!("2024-{month:02}-{dom:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z"))
            } else {
                json!(ts)
            };
            let flag = rng.chance(30);
            let user = format!("user{}", rng.below(700));
            let mut src = json!({"tags": tags, "qty": qty, "ts": ts_json, "flag": flag, "user": user});
            if let Some(c) = &cat {
                src["cat"] = json!(c);
            }
            if let Some(p) = price {
                src["price"] = json!(p);
            }
            (i.to_string(), Doc { cat, tags, price, qty, ts, flag, user }, src)
        })
        .collect()
}

fn mapping() -> Value {
    json!({"properties": {
        "cat": {"type": "keyword"}, "tags": {"type": "keyword"}, "price": {"type": "double"},
        "qty": {"type": "long"}, "ts": {"type": "date"}, "flag": {"type": "boolean"}, "user": {"type": "keyword"}
    }})
}

/// Builds an index over `docs`, refreshing every 700 documents so it has several segments.
fn build(name: &str, docs: &[(String, Doc, Value)]) -> Index {
    let mut index = Index::create_in_ram(name, Mapping::from_json(&mapping()).unwrap()).unwrap();
    for (i, (id, _, src)) in docs.iter().enumerate() {
        index.apply(id, src).unwrap();
        if i % 700 == 699 {
            index.refresh().unwrap();
        }
    }
    index.refresh().unwrap();
    index
}

fn aggs(indices: &[&Index], aggs: Value) -> Map<String, Value> {
    let body = json!({"size": 0, "aggs": aggs});
    let req = SearchRequest::parse(Some(&body), Vec::<(String, String)>::new()).unwrap();
    search_many(indices, &req).unwrap().aggregations.unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

fn bucket_counts(v: &Value) -> Vec<(Value, u64)> {
    v["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["key"].clone(), b["doc_count"].as_u64().unwrap()))
        .collect()
}

/// Top `size` of `counts` by count desc, key asc; and the rest's sum.
fn top<K: Ord + Clone>(counts: &HashMap<K, u64>, size: usize) -> (Vec<(K, u64)>, u64) {
    let mut v: Vec<(K, u64)> = counts.iter().map(|(k, c)| (k.clone(), *c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let other = v.iter().skip(size).map(|x| x.1).sum();
    v.truncate(size);
    (v, other)
}

#[test]
fn terms_counts_are_exact() {
    let data = generate();
    let index = build("shop", &data);
    let r = aggs(
        &[&index],
        json!({
            "cats": {"terms": {"field": "cat", "size": 5}},
            "tags": {"terms": {"field": "tags", "size": 100}},
            "qty": {"terms": {"field": "qty", "size": 10, "order": {"_key": "asc"}}},
            "flag": {"terms": {"field": "flag"}},
            "users": {"terms": {"field": "user", "size": 3, "min_doc_count": 7}}
        }),
    );

    let mut cats: HashMap<String, u64> = HashMap::new();
    let mut tags: HashMap<String, u64> = HashMap::new();
    let mut qty: BTreeMap<i64, u64> = BTreeMap::new();
    let mut flags: HashMap<bool, u64> = HashMap::new();
    let mut users: HashMap<String, u64> = HashMap::new();
    for (_, d, _) in &data {
        if let Some(c) = &d.cat {
            *cats.entry(c.clone()).or_default() += 1;
        }
        for t in d.tags.iter().collect::<BTreeSet<_>>() {
            *tags.entry(t.clone()).or_default() += 1;
        }
        *qty.entry(d.qty).or_default() += 1;
        *flags.entry(d.flag).or_default() += 1;
        *users.entry(d.user.clone()).or_default() += 1;
    }

    let (want, other) = top(&cats, 5);
    let want: Vec<(Value, u64)> = want.into_iter().map(|(k, c)| (json!(k), c)).collect();
    assert_eq!(bucket_counts(&r["cats"]), want);
    assert_eq!(r["cats"]["sum_other_doc_count"], json!(other));
    assert_eq!(r["cats"]["doc_count_error_upper_bound"], json!(0));

    let (want, other) = top(&tags, 100);
    let want: Vec<(Value, u64)> = want.into_iter().map(|(k, c)| (json!(k), c)).collect();
    assert_eq!(bucket_counts(&r["tags"]), want);
    assert_eq!(r["tags"]["sum_other_doc_count"], json!(other));

    let want: Vec<(Value, u64)> = qty.iter().take(10).map(|(k, c)| (json!(k), *c)).collect();
    assert_eq!(bucket_counts(&r["qty"]), want);
    assert_eq!(r["qty"]["sum_other_doc_count"], json!(qty.values().skip(10).sum::<u64>()));

    let flag_buckets = r["flag"]["buckets"].as_array().unwrap();
    let want_first = flags[&false] < flags[&true];
    assert_eq!(flag_buckets[0]["key_as_string"], json!(want_first.to_string()));
    assert_eq!(flag_buckets[0]["key"], json!(i64::from(want_first)));
    assert_eq!(flag_buckets[0]["doc_count"], json!(flags[&want_first]));

    let mut frequent: Vec<(String, u64)> =
        users.iter().filter(|(_, c)| **c >= 7).map(|(k, c)| (k.clone(), *c)).collect();
    frequent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let want: Vec<(Value, u64)> = frequent.iter().take(3).map(|(k, c)| (json!(k), *c)).collect();
    assert_eq!(bucket_counts(&r["users"]), want);
}

#[test]
fn metrics_and_cardinality_are_exact() {
    let data = generate();
    let index = build("shop", &data);
    let r = aggs(
        &[&index],
        json!({
            "min": {"min": {"field": "price"}}, "max": {"max": {"field": "price"}},
            "avg": {"avg": {"field": "price"}}, "sum": {"sum": {"field": "price"}},
            "stats": {"stats": {"field": "qty"}}, "count": {"value_count": {"field": "tags"}},
            "users": {"cardinality": {"field": "user"}}, "cats": {"cardinality": {"field": "cat"}},
            "first": {"min": {"field": "ts"}}, "no_price": {"missing": {"field": "price"}},
            "none": {"avg": {"field": "unmapped"}}
        }),
    );
    let prices: Vec<f64> = data.iter().filter_map(|(_, d, _)| d.price).collect();
    let min = prices.iter().copied().fold(f64::INFINITY, f64::min);
    let max = prices.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = prices.iter().sum();
    assert_eq!(r["min"]["value"].as_f64().unwrap(), min);
    assert_eq!(r["max"]["value"].as_f64().unwrap(), max);
    assert!(close(r["sum"]["value"].as_f64().unwrap(), sum));
    assert!(close(r["avg"]["value"].as_f64().unwrap(), sum / prices.len() as f64));

    let qty: Vec<i64> = data.iter().map(|(_, d, _)| d.qty).collect();
    let s = &r["stats"];
    assert_eq!(s["count"], json!(N));
    assert_eq!(s["min"].as_f64().unwrap(), *qty.iter().min().unwrap() as f64);
    assert_eq!(s["max"].as_f64().unwrap(), *qty.iter().max().unwrap() as f64);
    assert_eq!(s["sum"].as_f64().unwrap(), qty.iter().sum::<i64>() as f64);
    assert!(close(s["avg"].as_f64().unwrap(), qty.iter().sum::<i64>() as f64 / N as f64));

    let tag_values: usize = data.iter().map(|(_, d, _)| d.tags.len()).sum();
    assert_eq!(r["count"]["value"], json!(tag_values));
    let users: BTreeSet<&str> = data.iter().map(|(_, d, _)| d.user.as_str()).collect();
    assert_eq!(r["users"]["value"], json!(users.len()));
    let cats: BTreeSet<&str> = data.iter().filter_map(|(_, d, _)| d.cat.as_deref()).collect();
    assert_eq!(r["cats"]["value"], json!(cats.len()));

    let first = data.iter().map(|(_, d, _)| d.ts).min().unwrap();
    assert_eq!(r["first"]["value"].as_f64().unwrap(), first as f64);
    assert!(r["first"]["value_as_string"].as_str().unwrap().starts_with("2024-01-01T"));
    assert_eq!(r["no_price"]["doc_count"], json!(N - prices.len()));
    assert_eq!(r["none"]["value"], Value::Null);
}

#[test]
fn filters_and_ranges_are_exact() {
    let data = generate();
    let index = build("shop", &data);
    let r = aggs(
        &[&index],
        json!({
            "f": {"filters": {"other_bucket": true, "filters": {
                "cheap": {"range": {"price": {"lt": 100}}},
                "tagged_a": {"term": {"tags": "a"}}
            }}},
            "anon": {"filters": {"filters": [{"term": {"flag": true}}, {"match_all": {}}]}},
            "one": {"filter": {"term": {"cat": "books"}}, "aggs": {"q": {"sum": {"field": "qty"}}}},
            "prices": {"range": {"field": "price", "ranges": [{"to": 100}, {"from": 100, "to": 500}, {"from": 500}]}},
            "keyed": {"range": {"field": "qty", "keyed": true, "ranges": [{"key": "neg", "to": 0}, {"from": 0}]}},
            "when": {"date_range": {"field": "ts", "ranges": [{"to": "2024-02-01"}, {"from": "2024-02-01"}]}}
        }),
    );
    let cheap = data.iter().filter(|(_, d, _)| d.price.is_some_and(|p| p < 100.0)).count();
    let tagged = data.iter().filter(|(_, d, _)| d.tags.iter().any(|t| t == "a")).count();
    let neither = data
        .iter()
        .filter(|(_, d, _)| !d.price.is_some_and(|p| p < 100.0) && !d.tags.iter().any(|t| t == "a"))
        .count();
    assert_eq!(r["f"]["buckets"]["cheap"]["doc_count"], json!(cheap));
    assert_eq!(r["f"]["buckets"]["tagged_a"]["doc_count"], json!(tagged));
    assert_eq!(r["f"]["buckets"]["_other_"]["doc_count"], json!(neither));
    let flagged = data.iter().filter(|(_, d, _)| d.flag).count();
    assert_eq!(bucket_counts_anon(&r["anon"]), vec![flagged as u64, N as u64]);

    let books: Vec<&Doc> =
        data.iter().map(|(_, d, _)| d).filter(|d| d.cat.as_deref() == Some("books")).collect();
    assert_eq!(r["one"]["doc_count"], json!(books.len()));
    assert_eq!(r["one"]["q"]["value"].as_f64().unwrap(), books.iter().map(|d| d.qty).sum::<i64>() as f64);

    let count =
        |lo: f64, hi: f64| data.iter().filter(|(_, d, _)| d.price.is_some_and(|p| p >= lo && p < hi)).count();
    let b = r["prices"]["buckets"].as_array().unwrap();
    assert_eq!(b[0]["key"], json!("*-100.0"));
    assert_eq!(b[0]["to"], json!(100.0));
    assert_eq!(b[0]["doc_count"], json!(count(f64::NEG_INFINITY, 100.0)));
    assert_eq!(b[1]["key"], json!("100.0-500.0"));
    assert_eq!(b[1]["doc_count"], json!(count(100.0, 500.0)));
    assert_eq!(b[2]["key"], json!("500.0-*"));
    assert_eq!(b[2]["doc_count"], json!(count(500.0, f64::INFINITY)));

    let neg = data.iter().filter(|(_, d, _)| d.qty < 0).count();
    assert_eq!(r["keyed"]["buckets"]["neg"]["doc_count"], json!(neg));
    assert_eq!(r["keyed"]["buckets"]["*-*"], Value::Null);

    let feb = BASE + 31 * DAY;
    let before = data.iter().filter(|(_, d, _)| d.ts < feb).count();
    let w = r["when"]["buckets"].as_array().unwrap();
    assert_eq!(w[0]["doc_count"], json!(before));
    assert_eq!(w[1]["doc_count"], json!(N - before));
    assert_eq!(w[1]["from_as_string"], json!("2024-02-01T00:00:00.000Z"));
    assert_eq!(w[0]["key"], json!("*-2024-02-01T00:00:00.000Z"));
}

fn bucket_counts_anon(v: &Value) -> Vec<u64> {
    v["buckets"].as_array().unwrap().iter().map(|b| b["doc_count"].as_u64().unwrap()).collect()
}

#[test]
fn histograms_are_exact() {
    let data = generate();
    let index = build("shop", &data);
    let r = aggs(
        &[&index],
        json!({
            "qty": {"histogram": {"field": "qty", "interval": 50}},
            "sparse": {"histogram": {"field": "price", "interval": 100, "min_doc_count": 1}},
            "months": {"date_histogram": {"field": "ts", "calendar_interval": "month"}},
            "weeks": {"date_histogram": {"field": "ts", "calendar_interval": "1w"}},
            "days": {"date_histogram": {"field": "ts", "fixed_interval": "1d", "format": "yyyy-MM-dd"}},
            "hours": {"date_histogram": {"field": "ts", "fixed_interval": "6h", "min_doc_count": 1}}
        }),
    );
    let mut qty: BTreeMap<i64, u64> = BTreeMap::new();
    for (_, d, _) in &data {
        *qty.entry(d.qty.div_euclid(50) * 50).or_default() += 1;
    }
    let got = bucket_counts(&r["qty"]);
    let (lo, hi) = (*qty.keys().next().unwrap(), *qty.keys().last().unwrap());
    assert_eq!(got.len() as i64, (hi - lo) / 50 + 1, "gaps are filled with min_doc_count 0");
    for (key, count) in got {
        let k = key.as_f64().unwrap() as i64;
        assert_eq!(count, qty.get(&k).copied().unwrap_or(0), "bucket {k}");
    }

    let mut sparse: BTreeMap<i64, u64> = BTreeMap::new();
    for (_, d, _) in &data {
        if let Some(p) = d.price {
            *sparse.entry((p / 100.0).floor() as i64 * 100).or_default() += 1;
        }
    }
    let want: Vec<(Value, u64)> = sparse.iter().map(|(k, c)| (json!(*k as f64), *c)).collect();
    assert_eq!(bucket_counts(&r["sparse"]), want);

    let mut months = [0u64; 4];
    let mut weeks: BTreeMap<i64, u64> = BTreeMap::new();
    let mut days: BTreeMap<i64, u64> = BTreeMap::new();
    let mut hours: BTreeMap<i64, u64> = BTreeMap::new();
    for (_, d, _) in &data {
        let day = (d.ts - BASE) / DAY;
        months[(month_of(day).0 - 1) as usize] += 1;
        // 2024-01-01 is a Monday.
        *weeks.entry(BASE + day / 7 * 7 * DAY).or_default() += 1;
        *days.entry(BASE + day * DAY).or_default() += 1;
        *hours.entry(d.ts - d.ts.rem_euclid(6 * 3_600_000)).or_default() += 1;
    }
    let m = r["months"]["buckets"].as_array().unwrap();
    assert_eq!(m.len(), 4);
    let starts = [
        "2024-01-01T00:00:00.000Z",
        "2024-02-01T00:00:00.000Z",
        "2024-03-01T00:00:00.000Z",
        "2024-04-01T00:00:00.000Z",
    ];
    let mut start = BASE;
    for i in 0..4 {
        assert_eq!(m[i]["key_as_string"], json!(starts[i]));
        assert_eq!(m[i]["key"], json!(start));
        assert_eq!(m[i]["doc_count"], json!(months[i]));
        start += MONTH_DAYS[i] * DAY;
    }
    let want: Vec<(Value, u64)> = weeks.iter().map(|(k, c)| (json!(k), *c)).collect();
    assert_eq!(bucket_counts(&r["weeks"]), want);
    let d = r["days"]["buckets"].as_array().unwrap();
    assert_eq!(d.len() as i64, (days.keys().last().unwrap() - days.keys().next().unwrap()) / DAY + 1);
    assert_eq!(d[0]["key_as_string"], json!("2024-01-01"));
    for b in d {
        let k = b["key"].as_i64().unwrap();
        assert_eq!(b["doc_count"].as_u64().unwrap(), days.get(&k).copied().unwrap_or(0));
    }
    let want: Vec<(Value, u64)> = hours.iter().map(|(k, c)| (json!(k), *c)).collect();
    assert_eq!(bucket_counts(&r["hours"]), want);
}

#[test]
fn sub_aggregations_nest() {
    let data = generate();
    let index = build("shop", &data);
    let r = aggs(
        &[&index],
        json!({
            "months": {"date_histogram": {"field": "ts", "calendar_interval": "month"}, "aggs": {
                "cats": {"terms": {"field": "cat", "size": 3}, "aggs": {"qty": {"sum": {"field": "qty"}}}}
            }},
            "by_avg": {"terms": {"field": "cat", "size": 3, "order": {"avg_price": "desc"}}, "aggs": {
                "avg_price": {"avg": {"field": "price"}}
            }},
            "by_stat": {"terms": {"field": "cat", "size": 2, "order": {"s.max": "asc"}}, "aggs": {
                "s": {"stats": {"field": "qty"}}
            }}
        }),
    );
    // Month 2, top 3 categories, each with its qty sum.
    let feb: Vec<&Doc> =
        data.iter().map(|(_, d, _)| d).filter(|d| month_of((d.ts - BASE) / DAY).0 == 2).collect();
    let mut counts: HashMap<String, u64> = HashMap::new();
    for d in &feb {
        if let Some(c) = &d.cat {
            *counts.entry(c.clone()).or_default() += 1;
        }
    }
    let (want, _) = top(&counts, 3);
    let bucket = &r["months"]["buckets"][1];
    assert_eq!(bucket["doc_count"], json!(feb.len()));
    let cats = bucket["cats"]["buckets"].as_array().unwrap();
    for (i, (cat, count)) in want.iter().enumerate() {
        assert_eq!(cats[i]["key"], json!(cat));
        assert_eq!(cats[i]["doc_count"], json!(count));
        let qty: i64 = feb.iter().filter(|d| d.cat.as_deref() == Some(cat.as_str())).map(|d| d.qty).sum();
        assert_eq!(cats[i]["qty"]["value"].as_f64().unwrap(), qty as f64);
    }

    // Ordered by a metric sub-aggregation.
    let mut avg: Vec<(String, f64)> = CATS
        .iter()
        .filter_map(|c| {
            let p: Vec<f64> = data
                .iter()
                .filter(|(_, d, _)| d.cat.as_deref() == Some(*c))
                .filter_map(|(_, d, _)| d.price)
                .collect();
            (!p.is_empty()).then(|| (c.to_string(), p.iter().sum::<f64>() / p.len() as f64))
        })
        .collect();
    avg.sort_by(|a, b| b.1.total_cmp(&a.1));
    let got: Vec<&str> =
        r["by_avg"]["buckets"].as_array().unwrap().iter().map(|b| b["key"].as_str().unwrap()).collect();
    let want: Vec<&str> = avg.iter().take(3).map(|(c, _)| c.as_str()).collect();
    assert_eq!(got, want);
    assert!(close(r["by_avg"]["buckets"][0]["avg_price"]["value"].as_f64().unwrap(), avg[0].1));

    let mut maxes: Vec<(String, i64, u64)> = CATS
        .iter()
        .map(|c| {
            let q: Vec<i64> =
                data.iter().filter(|(_, d, _)| d.cat.as_deref() == Some(*c)).map(|(_, d, _)| d.qty).collect();
            (c.to_string(), *q.iter().max().unwrap(), q.len() as u64)
        })
        .collect();
    maxes.sort_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    let got: Vec<&str> =
        r["by_stat"]["buckets"].as_array().unwrap().iter().map(|b| b["key"].as_str().unwrap()).collect();
    assert_eq!(got, maxes.iter().take(2).map(|m| m.0.as_str()).collect::<Vec<_>>());
}

#[test]
fn aggregations_merge_across_indices() {
    let data = generate();
    let (left, right) = data.split_at(N / 3);
    let one = build("all", &data);
    let a = build("left", left);
    let b = build("right", right);
    let spec = json!({
        "cats": {"terms": {"field": "cat", "size": 4}, "aggs": {"p": {"max": {"field": "price"}}}},
        "days": {"date_histogram": {"field": "ts", "calendar_interval": "week"}},
        "users": {"cardinality": {"field": "user"}},
        "p": {"stats": {"field": "price"}},
        "r": {"range": {"field": "qty", "ranges": [{"to": 10}, {"from": 10}]}},
        "f": {"filters": {"filters": {"x": {"term": {"tags": "b"}}}}}
    });
    let merged = aggs(&[&a, &b], spec.clone());
    let single = aggs(&[&one], spec);
    for name in ["cats", "days", "users", "r", "f"] {
        assert_eq!(merged[name], single[name], "{name}");
    }
    assert_eq!(merged["p"]["count"], single["p"]["count"]);
    assert!(close(merged["p"]["sum"].as_f64().unwrap(), single["p"]["sum"].as_f64().unwrap()));

    // `_index` has one value per document: its index's name.
    let by_index = aggs(
        &[&a, &b],
        json!({"i": {"terms": {"field": "_index"}, "aggs": {"c": {"cardinality": {"field": "_index"}}}},
               "n": {"cardinality": {"field": "_index"}}}),
    );
    assert_eq!(
        bucket_counts(&by_index["i"]),
        vec![(json!("right"), (N - N / 3) as u64), (json!("left"), (N / 3) as u64)]
    );
    assert_eq!(by_index["i"]["buckets"][0]["c"]["value"], 1);
    assert_eq!(by_index["n"]["value"], 2);
}

#[test]
fn aggregation_errors() {
    let mapping =
        json!({"properties": {"t": {"type": "text"}, "k": {"type": "keyword"}, "d": {"type": "date"}}});
    let index = common::index_with("e", mapping, &[("1", json!({"t": "x", "k": "y", "d": "2024-01-01"}))]);
    let run = |aggs: Value| {
        let body = json!({"size": 0, "aggs": aggs});
        let req = SearchRequest::parse(Some(&body), Vec::<(String, String)>::new())?;
        search_many(&[&index], &req)
    };
    let err = run(json!({"a": {"terms": {"field": "t"}}})).unwrap_err();
    assert_eq!(err.error_type(), "illegal_argument_exception");
    assert!(err.reason().contains("Text fields are not optimised"));
    let err = run(json!({"a": {"avg": {"field": "_index"}}})).unwrap_err();
    assert!(err.reason().contains("Field [_index] of type [_index] is not supported for aggregation [avg]"));
    let err = run(json!({"a": {"avg": {"field": "k"}}})).unwrap_err();
    assert!(
        err.reason().contains("Field [k] of type [keyword] is not supported for aggregation [avg]"),
        "{}",
        err.reason()
    );
    let err = run(json!({"a": {"date_histogram": {"field": "d", "fixed_interval": "1ms", "extended_bounds": {"min": "2024-01-01", "max": "2025-01-01"}}}}))
        .unwrap_err();
    assert_eq!(err.error_type(), "too_many_buckets_exception");
    let err = run(json!({"a": {"histogram": {"field": "d", "interval": 1, "extended_bounds": {"min": 0, "max": 1e12}}}})).unwrap_err();
    assert_eq!(err.error_type(), "too_many_buckets_exception");
    // Unmapped fields give empty results, not errors.
    let r = run(json!({"a": {"terms": {"field": "nope"}}, "b": {"date_histogram": {"field": "nope", "calendar_interval": "day"}}})).unwrap();
    let aggs = r.aggregations.unwrap();
    assert_eq!(aggs["a"]["buckets"], json!([]));
    assert_eq!(aggs["b"]["buckets"], json!([]));
    // An index without documents renders empty aggregations.
    let empty = Index::create_in_ram(
        "empty",
        Mapping::from_json(&json!({"properties": {"k": {"type": "keyword"}}})).unwrap(),
    )
    .unwrap();
    let body = json!({"size": 0, "aggs": {"a": {"terms": {"field": "k"}}, "m": {"max": {"field": "k2"}}}});
    let req = SearchRequest::parse(Some(&body), Vec::<(String, String)>::new()).unwrap();
    let aggs = search_many(&[&empty], &req).unwrap().aggregations.unwrap();
    assert_eq!(aggs["a"]["buckets"], json!([]));
    assert_eq!(aggs["m"]["value"], Value::Null);
}
