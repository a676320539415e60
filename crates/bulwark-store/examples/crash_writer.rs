//! Test helper for the crash test (`tests/crash.rs`): opens the store in a directory and writes
//! `PutEntry` commands in a loop, printing `ack <n>` (flushed) after each acknowledged write.
//!
//! Usage: `crash_writer <store-dir> <first-n> [<count>]`. It prints `uuid <cluster-uuid>` once the
//! store is open, and stops by itself after `count` writes (default 100000).

use std::io::Write;
use std::path::PathBuf;

use bulwark_store::{Command, EntryKind, Store};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(first)) = (args.get(1), args.get(2).and_then(|s| s.parse::<u64>().ok())) else {
        eprintln!("usage: crash_writer <store-dir> <first-n> [<count>]");
        return std::process::ExitCode::from(64);
    };
    let count = args.get(3).and_then(|s| s.parse::<u64>().ok()).unwrap_or(100_000);
    let store = match Store::open(&PathBuf::from(dir), "crash-writer", "127.0.0.1:9300").await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("cannot open the store: {e}");
            return std::process::ExitCode::from(74);
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "uuid {}", store.cluster_uuid());
    let _ = out.flush();
    for n in first..first.saturating_add(count) {
        let cmd = Command::PutEntry {
            kind: EntryKind::User,
            id: entry_id(n),
            value: serde_json::json!({ "n": n }),
        };
        if let Err(e) = store.write(cmd).await {
            eprintln!("write {n} failed: {e}");
            return std::process::ExitCode::from(74);
        }
        if writeln!(out, "ack {n}").and_then(|()| out.flush()).is_err() {
            return std::process::ExitCode::from(74);
        }
    }
    let _ = store.shutdown().await;
    std::process::ExitCode::SUCCESS
}

/// The id of the `n`th entry; the crash test uses the same spelling.
fn entry_id(n: u64) -> String {
    format!("u{n:08}")
}
