//! Log compaction by bytes as well as by entries, held back by a floor, and a store restarted
//! after compaction still holding every document.

use std::time::{Duration, Instant};

use bulwark_store::{Command, DocOp, LogFloor, STATE_FILE, Store, StoreConfig};
use serde_json::json;

fn index_doc(id: &str, n: usize) -> Command {
    Command::IndexDocument {
        index: "i".to_string(),
        id: id.to_string(),
        // About 4 KB of JSON per entry.
        source: json!({"n": n, "text": "x".repeat(4000)}).into(),
        op: DocOp::Index,
        if_seq_no: None,
        if_primary_term: None,
    }
}

/// Compaction by bytes only: the entry limits are far away.
fn by_bytes(floor: Option<LogFloor>) -> StoreConfig {
    let mut config = StoreConfig::new("node-a", "127.0.0.1:9300");
    config.snapshot_every = 1_000_000;
    config.logs_to_keep = 1_000_000;
    config.snapshot_bytes = 32 << 10;
    config.log_bytes_to_keep = 32 << 10;
    config.log_floor = floor;
    config
}

/// Waits (bounded) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_purged_once_its_entries_pass_a_size_and_a_restart_keeps_every_document() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), by_bytes(None)).await.unwrap();
    store.write(Command::CreateIndex { name: "i".into(), metadata: json!({}) }).await.unwrap();
    for n in 0..200 {
        store.write(index_doc(&format!("d{n}"), n)).await.unwrap();
    }
    // 200 entries of ~4 KB (800 KB) were written; 32 KB are kept and compaction starts once 32
    // KB more can go: the log holds about 64 KB once the compactor caught up.
    until("the log to be compacted", || store.log_bytes() <= 80 << 10).await;
    let len = store.log_len().unwrap();
    assert!(len < 30, "the log still holds {len} entries");
    let metrics = store.raft().metrics().borrow().clone();
    assert!(metrics.purged.is_some(), "{metrics:?}");
    store.shutdown().await.unwrap();

    // The state file is the snapshot: no second copy of the documents was written into it.
    let state = std::fs::metadata(dir.path().join(STATE_FILE)).unwrap().len();
    assert!(state < 3 << 20, "state.redb is {state} bytes for 800 KB of documents");

    let store = Store::open_with(dir.path(), by_bytes(None)).await.unwrap();
    let docs = store.documents("i").unwrap();
    assert_eq!(docs.len(), 200);
    assert_eq!(store.document("i", "d199").unwrap().unwrap().source["n"], json!(199));
    assert!(store.log_len().unwrap() < 30);
    store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_floor_keeps_the_entries_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let floor = LogFloor::new();
    let store = Store::open_with(dir.path(), by_bytes(Some(floor.clone()))).await.unwrap();
    store.write(Command::CreateIndex { name: "i".into(), metadata: json!({}) }).await.unwrap();
    for n in 0..100 {
        store.write(index_doc(&format!("d{n}"), n)).await.unwrap();
    }
    let applied = store.applied_index().unwrap();
    // A floor at 0 holds everything: whatever the compactor does meanwhile, it purges nothing.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(store.raft().metrics().borrow().purged.is_none());
    assert_eq!(store.changes_between(0, applied).unwrap().map(|c| c.len()), Some(101));

    // Entries up to the floor may go; those after it stay readable.
    let keep_after = applied - 40;
    floor.set(keep_after);
    until("the log to be compacted up to the floor", || {
        store.raft().metrics().borrow().purged.is_some_and(|p| p.index == keep_after)
    })
    .await;
    let changes = store.changes_between(keep_after, applied).unwrap().expect("the log reaches the floor");
    assert_eq!(changes.len(), 40);
    assert_eq!(store.changes_between(keep_after - 1, applied).unwrap(), None);

    // Moved to the end, the floor lets the log shrink to what the policy keeps.
    floor.set(u64::MAX);
    until("the log to be compacted", || store.log_bytes() <= 80 << 10).await;
    store.shutdown().await.unwrap();
}
