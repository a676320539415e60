//! The voting configuration stays odd, as Elasticsearch keeps it (real `bulwark` processes on
//! 127.0.0.82-84): a second node joins a one-node cluster as a standby member (it receives
//! everything, it does not vote), so its death leaves the first node taking writes; a third
//! node makes both of them voters, even while the second is down.

use std::time::{Duration, Instant};

#[path = "cluster/member.rs"]
mod member;

use member::*;
use serde_json::{Value, json};

/// The voting configuration as `_cluster/state` on `m` shows it: the voters' ids and the
/// excluded nodes' names.
fn voting(m: &Member) -> (Vec<String>, Vec<String>) {
    let (s, v) = m.call("GET", "/_cluster/state/metadata", None);
    assert_eq!(s, 200, "{v}");
    let c = &v["metadata"]["cluster_coordination"];
    let strings = |v: &Value, key: Option<&str>| -> Vec<String> {
        let list = v.as_array().unwrap_or_else(|| panic!("not a list: {v}"));
        list.iter().filter_map(|x| key.map_or(x, |k| &x[k]).as_str().map(str::to_owned)).collect()
    };
    (strings(&c["last_committed_config"], None), strings(&c["voting_config_exclusions"], Some("node_name")))
}

#[test]
fn a_second_node_stands_by_and_a_third_makes_both_voters() {
    let mut m: Vec<Member> = (80..83).map(Member::new).collect();
    m[0].start(None);
    let t = token(&m[0]);
    m[1].start(Some(&t));
    let (voters, excluded) = voting(&m[0]);
    assert_eq!((voters.len(), excluded.len()), (1, 0), "one voter, no exclusion: {voters:?} {excluded:?}");
    let (s, h) = m[1].call("GET", "/_cluster/health", None);
    assert_eq!((s, h["number_of_nodes"].as_u64()), (200, Some(2)), "{h}");
    assert!(m[0].home.log().contains("joined the cluster as a standby member"), "{}", m[0].home.log());
    let (s, b) = m[0].call("PUT", "/logs/_doc/first", Some(json!({"n": 0})));
    assert_eq!(s, 201, "{b}");
    // A new index reaches another node's search indices a moment after its store (see
    // docs/cluster.md, Open): until then a write there is a 404 (bounded).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, b) = m[1].call("PUT", "/logs/_doc/via-standby", Some(json!({"n": 1})));
        if s == 201 {
            break;
        }
        assert!(s == 404 && Instant::now() < deadline, "a standby forwards writes: {s} {b}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The standby dies: the first node does not depend on it.
    m[1].kill9();
    let t0 = Instant::now();
    let (s, b) = m[0].call("PUT", "/logs/_doc/alone", Some(json!({"n": 2})));
    assert_eq!(s, 201, "{b}");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());

    // A third node joins while the standby is down: both become voters (two of three commit).
    let t = token(&m[0]);
    m[2].start(Some(&t));
    let (voters, excluded) = voting(&m[0]);
    assert_eq!((voters.len(), excluded.len()), (3, 0), "{voters:?} {excluded:?}");
    let (s, b) = m[2].call("PUT", "/logs/_doc/three", Some(json!({"n": 3})));
    assert_eq!(s, 201, "n1 and n3 are a majority of three: {b}");

    // The second node comes back as a voter and catches up.
    m[1].start(None);
    let (s, b) = m[1].call("GET", "/logs/_doc/three", None);
    assert_eq!((s, &b["_source"]["n"]), (200, &json!(3)), "{b}");
    assert_eq!(voting(&m[1]).0.len(), 3);
}
