//! The Raft log is compacted by size while documents are written, and a node killed after the
//! compaction comes back with every document, its search index replayed from the log it kept
//! (not rebuilt from the store).

use bulwark_testkit::{Client, Node, TestHome, start_fresh};
use serde_json::{Value, json};

const ROUNDS: usize = 150;
const PER_BULK: usize = 500;

fn request(
    client: &Client,
    password: &str,
    method: &str,
    path: &str,
    body: String,
    ct: &str,
) -> (u16, Value) {
    let (status, _, body) =
        client.send(method, path, Some(("elastic", password)), Some(ct), body.into_bytes()).expect("request");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[test]
fn the_log_is_compacted_by_size_and_a_killed_node_keeps_every_document() {
    let home = TestHome::new();
    let mut s = start_fresh(&home, &[]);
    let client = Client::new(s.port, Some(&s.ca));
    let filler = "lorem ipsum dolor sit amet ".repeat(20);
    let mut sent = 0usize;
    for round in 0..ROUNDS {
        let mut body = String::new();
        for i in 0..PER_BULK {
            let doc = json!({"round": round, "i": i, "text": format!("{filler} {round} {i}")}).to_string();
            sent += doc.len();
            body.push_str(&json!({"index": {"_index": "logs", "_id": format!("{round}-{i}")}}).to_string());
            body.push('\n');
            body.push_str(&doc);
            body.push('\n');
        }
        let r = request(&client, &s.password, "POST", "/_bulk", body, "application/x-ndjson");
        assert_eq!(r.0, 200, "{}", r.1);
        assert_eq!(r.1["errors"], false, "round {round}");
    }
    // About 43 MB of documents went through the log (each `_bulk` one entry of ~330 KB).
    // Compaction keeps at most about 8 MiB of entries (4 MiB kept, purged once 4 MiB more can go);
    // the file keeps its high-water mark (redb reuses freed pages and rounds large values up to
    // a power of two), measured at about 19 MB, and at 28 MB in CI on a loaded host (the purge
    // waits for the search index's commits and runs behind the writes). Without compaction it
    // would hold every entry: 150 values of ~330 KB, each in a 512 KiB page, over 75 MB.
    assert!(sent > 40_000_000, "{sent}");
    let log_file = home.path().join("data").join("store").join("raft-log.redb");
    let size = std::fs::metadata(&log_file).expect("the log file").len();
    assert!(size < 40_000_000, "raft-log.redb is {size} bytes after {sent} bytes of documents");

    s.node.kill9();
    let mut node = Node::spawn(&home, &[], &[]);
    node.wait_ready(&s.ca, "elastic", &s.password);
    let client = Client::new(node.port(), Some(&s.ca));
    let r = request(&client, &s.password, "GET", "/logs/_count", String::new(), "application/json");
    assert_eq!(r.1["count"], json!(ROUNDS * PER_BULK), "{}", r.1);
    let last = format!("/logs/_doc/{}-{}", ROUNDS - 1, PER_BULK - 1);
    let r = request(&client, &s.password, "GET", &last, String::new(), "application/json");
    assert_eq!(r.1["_source"]["round"], json!(ROUNDS - 1), "{}", r.1);
    let log = home.log();
    assert!(log.contains("search indices opened"), "{log}");
    assert!(!log.contains("rebuilding the search index"), "the index was rebuilt, not replayed: {log}");
    node.stop();
}
