//! Catch-up by snapshot between real `bulwark` processes (127.0.0.72-74): a follower is killed,
//! the others write enough that the leader compacts its Raft log past it, and the restarted
//! follower catches up through install-snapshot over the transport — it answers `_count` and
//! `_search` as the others do and authenticates a user created while it was down.

use std::time::{Duration, Instant};

#[path = "cluster/member.rs"]
mod member;

use member::*;
use serde_json::{Value, json};

/// `_bulk` requests written while the follower is down, and documents in each: about 10 MB of
/// JSON, more than the 4 MiB the log keeps plus the 4 MiB that must be purgeable before a
/// compaction runs.
const BULKS: usize = 30;
const PER_BULK: usize = 500;

/// The last lines of each member's log, for a failure message.
fn tails(m: &[Member]) -> String {
    let mut out = String::new();
    for x in m {
        let log = x.home.log();
        let lines: Vec<&str> = log.lines().collect();
        out.push_str(&format!(
            "--- {} ---\n{}\n",
            x.name,
            lines[lines.len().saturating_sub(25)..].join("\n")
        ));
    }
    out
}

/// One `_bulk` of `PER_BULK` documents through `m`. It is retried (same ids, so idempotent) while
/// the cluster answers 503: a loaded host may hold an election meanwhile, which is not what this
/// test is about (bounded).
fn bulk(all: &[Member], m: &Member, round: usize) {
    let filler = "lorem ipsum dolor sit amet ".repeat(20);
    let mut body = String::new();
    for i in 0..PER_BULK {
        body.push_str(&json!({"index": {"_index": "logs", "_id": format!("{round}-{i}")}}).to_string());
        body.push('\n');
        body.push_str(&json!({"round": round, "i": i, "text": format!("{filler} {round} {i}")}).to_string());
        body.push('\n');
    }
    let deadline = Instant::now() + ROUND_TIMEOUT;
    loop {
        let (s, _, b) = m
            .client()
            .send(
                "POST",
                "/_bulk",
                Some(("elastic", PASSWORD)),
                Some("application/x-ndjson"),
                body.clone().into_bytes(),
            )
            .expect("_bulk");
        let b: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
        if s == 200 && b["errors"] == json!(false) {
            return;
        }
        let unavailable = b["items"].as_array().is_some_and(|items| {
            items.iter().all(|i| i["index"]["status"].as_u64().is_some_and(|s| s < 300 || s == 503))
        });
        assert!(
            unavailable && Instant::now() < deadline,
            "round {round}: {s} {}\n{}",
            b["items"][0],
            tails(all)
        );
    }
}

/// `path` on `m` after a refresh, once it answers 200 with `field` equal to `want` (bounded).
fn settles(m: &Member, path: &str, field: &[&str], want: &Value) -> Value {
    let deadline = Instant::now() + ROUND_TIMEOUT;
    loop {
        m.call("POST", "/logs/_refresh", None);
        let (s, b) = m.call("GET", path, None);
        let got = field.iter().fold(&b, |v, k| &v[*k]);
        if s == 200 && got == want {
            return b;
        }
        assert!(Instant::now() < deadline, "{} {path}: {s} {b}, want {want}", m.name);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_node_behind_the_compacted_log_catches_up_by_snapshot() {
    let mut m = form(70);
    let leader_name = (0..3).find_map(|i| leader(&m[i])).expect("a leader");
    let li = m.iter().position(|x| x.name == leader_name).unwrap();
    let down = (li + 1) % 3;
    let (s, b) = m[li].call("PUT", "/logs/_doc/before", Some(json!({"round": -1})));
    assert_eq!(s, 201, "{b}");
    m[down].kill9();

    for round in 0..BULKS {
        bulk(&m, &m[li], round);
    }
    let (s, b) = m[li].call(
        "PUT",
        "/_security/user/dora",
        Some(json!({"password": "dora-password-1", "roles": ["superuser"]})),
    );
    assert_eq!(s, 200, "{b}");
    // The leader compacts its log past everything the stopped node has (bounded).
    let deadline = Instant::now() + ROUND_TIMEOUT;
    while !m[li].home.log().contains("compacted the store's Raft log up to index") {
        assert!(Instant::now() < deadline, "the leader never compacted its log: {}", m[li].home.log());
        std::thread::sleep(Duration::from_millis(100));
    }

    let started = Instant::now();
    m[down].start(None);
    let (s, b) = m[down].call_as(("dora", "dora-password-1"), "GET", "/_security/_authenticate", None);
    assert_eq!(
        (s, &b["username"]),
        (200, &json!("dora")),
        "a user made while it was down: {b}\n{}",
        m[down].home.log()
    );
    let total = json!(BULKS * PER_BULK + 1);
    let others: Vec<Value> =
        (0..3).filter(|i| *i != down).map(|i| settles(&m[i], "/logs/_count", &["count"], &total)).collect();
    let count = settles(&m[down], "/logs/_count", &["count"], &total);
    assert_eq!(count["count"], others[0]["count"]);
    let query = format!("/logs/_search?q=round:{}&size=0", BULKS - 1);
    let want = json!(PER_BULK);
    let hits: Vec<Value> = (0..3)
        .map(|i| settles(&m[i], &query, &["hits", "total", "value"], &want)["hits"]["total"].clone())
        .collect();
    assert!(hits.iter().all(|h| *h == hits[0]), "{hits:?}");
    eprintln!("caught up by snapshot in {:?}", started.elapsed());

    // The catch-up really went through a snapshot: the node says so, with the index.
    let log = m[down].home.log();
    assert!(log.contains("installed a store snapshot from the leader at log index"), "{log}");
    // The follower keeps replicating from the log afterwards.
    let (s, b) = m[down].call("PUT", "/logs/_doc/after", Some(json!({"round": BULKS})));
    assert_eq!(s, 201, "{b}");
    let (s, b) = m[li].call("GET", "/logs/_doc/after", None);
    assert_eq!((s, &b["_source"]["round"]), (200, &json!(BULKS)), "{b}");
}
