//! Damaged store files: a truncated or corrupted file is repaired or refused with an error that
//! names it, never a panic, and never a silently different cluster.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use bulwark_store::{Command, EntryKind, LOG_FILE, STATE_FILE, Store, StoreConfig, StoreError};
use serde_json::json;

const ENTRIES: u64 = 40;

async fn open(dir: &Path) -> Result<Store, StoreError> {
    Store::open(dir, "node-a", "127.0.0.1:9300").await
}

/// A store with `ENTRIES` users, closed cleanly; returns its cluster UUID.
///
/// A clean close leaves a record of each file that lets the next open trust it without checking
/// every page (`PageCheck::WhenChanged`, the default) — unless the file changed since, as every
/// damage below does.
async fn populate(dir: &Path) -> String {
    let store = open(dir).await.unwrap();
    for n in 0..ENTRIES {
        let cmd = Command::PutEntry { kind: EntryKind::User, id: format!("u{n:03}"), value: json!({"n": n}) };
        store.write(cmd).await.unwrap();
    }
    let uuid = store.cluster_uuid().to_string();
    store.shutdown().await.unwrap();
    for file in [LOG_FILE, STATE_FILE] {
        assert!(dir.join(format!("{file}.closed")).exists(), "no record of {file}'s clean close");
    }
    uuid
}

fn set_len(path: &Path, len: u64) {
    OpenOptions::new().write(true).open(path).unwrap().set_len(len).unwrap();
}

fn overwrite(path: &Path, offset: u64, bytes: &[u8]) {
    let mut f = OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
}

/// Opening after damage either works, with every entry and the same cluster, or fails with an
/// error that names the damaged file and is not a panic.
async fn recovered_or_reported(dir: &Path, file: &str, uuid: &str, what: &str) -> &'static str {
    match open(dir).await {
        Ok(store) => {
            assert_eq!(store.cluster_uuid(), uuid, "{what}: opened as a different cluster");
            assert_eq!(store.entries(EntryKind::User).unwrap().len() as u64, ENTRIES, "{what}: entries lost");
            store.shutdown().await.unwrap();
            "recovered"
        }
        Err(e) => {
            let msg = e.to_string();
            eprintln!("{what}: {msg}");
            assert!(msg.contains(file), "{what}: the error does not name {file}: {msg}");
            assert!(!msg.to_lowercase().contains("panick"), "{what}: a panic surfaced as the error: {msg}");
            "reported"
        }
    }
}

#[tokio::test]
async fn a_truncated_log_file_is_recovered_or_reported() {
    let mut outcomes = Vec::new();
    for keep in [0.97, 0.75, 0.5, 0.1, 0.0] {
        let dir = tempfile::tempdir().unwrap();
        let uuid = populate(dir.path()).await;
        let path = dir.path().join(LOG_FILE);
        let len = std::fs::metadata(&path).unwrap().len();
        set_len(&path, (len as f64 * keep) as u64);
        let what = format!("log truncated to {keep} of {len} bytes");
        outcomes.push((what.clone(), recovered_or_reported(dir.path(), LOG_FILE, &uuid, &what).await));
    }
    eprintln!("{outcomes:#?}");
}

#[tokio::test]
async fn a_truncated_state_file_is_recovered_or_reported() {
    let mut outcomes = Vec::new();
    for keep in [0.97, 0.75, 0.5, 0.1, 0.0] {
        let dir = tempfile::tempdir().unwrap();
        let uuid = populate(dir.path()).await;
        let path = dir.path().join(STATE_FILE);
        let len = std::fs::metadata(&path).unwrap().len();
        set_len(&path, (len as f64 * keep) as u64);
        let what = format!("state truncated to {keep} of {len} bytes");
        outcomes.push((what.clone(), recovered_or_reported(dir.path(), STATE_FILE, &uuid, &what).await));
    }
    eprintln!("{outcomes:#?}");
}

#[tokio::test]
async fn corrupted_pages_are_recovered_or_reported() {
    let garbage = [0xA5u8; 512];
    let mut outcomes = Vec::new();
    for file in [LOG_FILE, STATE_FILE] {
        for at in [0.0, 0.05, 0.3, 0.6, 0.9] {
            let dir = tempfile::tempdir().unwrap();
            let uuid = populate(dir.path()).await;
            let path = dir.path().join(file);
            let len = std::fs::metadata(&path).unwrap().len();
            let offset = ((len as f64 * at) as u64).min(len.saturating_sub(garbage.len() as u64));
            overwrite(&path, offset, &garbage);
            let what = format!("{file} overwritten at {offset} of {len}");
            outcomes.push((what.clone(), recovered_or_reported(dir.path(), file, &uuid, &what).await));
        }
    }
    eprintln!("{outcomes:#?}");
}

#[tokio::test]
async fn a_deleted_log_file_is_reported_not_replaced_by_a_new_cluster() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path()).await;
    std::fs::remove_file(dir.path().join(LOG_FILE)).unwrap();
    let err = open(dir.path()).await.err().expect("refused");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains(LOG_FILE), "{err}");
}

#[tokio::test]
async fn a_deleted_state_file_is_rebuilt_from_the_log_or_reported() {
    // Without compaction the whole log is there, and re-applying it rebuilds the state.
    let dir = tempfile::tempdir().unwrap();
    let uuid = populate(dir.path()).await;
    std::fs::remove_file(dir.path().join(STATE_FILE)).unwrap();
    let store = open(dir.path()).await.unwrap();
    assert_eq!(store.cluster_uuid(), uuid);
    assert_eq!(store.entries(EntryKind::User).unwrap().len() as u64, ENTRIES);
    store.shutdown().await.unwrap();

    // After compaction the log no longer holds the beginning: that must be reported.
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new("node-a", "127.0.0.1:9300");
    config.snapshot_every = 10;
    config.logs_to_keep = 2;
    let store = Store::open_with(dir.path(), config.clone()).await.unwrap();
    for n in 0..30 {
        let cmd = Command::PutEntry { kind: EntryKind::Role, id: format!("r{n}"), value: json!(n) };
        store.write(cmd).await.unwrap();
    }
    store.shutdown().await.unwrap();
    std::fs::remove_file(dir.path().join(STATE_FILE)).unwrap();
    match Store::open_with(dir.path(), config).await {
        Ok(store) => {
            // Acceptable only if nothing was lost.
            assert_eq!(store.entries(EntryKind::Role).unwrap().len(), 30);
            store.shutdown().await.unwrap();
        }
        Err(e) => {
            assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
            let msg = e.to_string();
            assert!(msg.contains(STATE_FILE) && msg.contains("compacted"), "{msg}");
        }
    }
}
