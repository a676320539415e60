//! Crash test: a writer process is killed with SIGKILL at random moments; every write it had
//! acknowledged must be in the store when it is opened again, and the store must open.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bulwark_store::{EntryKind, Store};
use serde_json::json;

const ITERATIONS: usize = 20;
const DEFAULT_SEED: u64 = 0x5eed_b01d_0a7c_0001;

/// The example binary built next to this test (`cargo test` builds examples).
fn crash_writer() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let debug_dir = exe.parent().and_then(Path::parent).expect("target profile directory");
    let path = debug_dir.join("examples").join(format!("crash_writer{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo test -p bulwark-store` (it builds the examples)",
        path.display()
    );
    path
}

/// SplitMix64: a small seeded generator, so a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

/// One run of the writer: starts at `first`, is killed `delay` after its first ack. Returns the
/// cluster UUID it printed and the last n it acknowledged.
fn run_and_kill(writer: &Path, dir: &Path, first: u64, delay: Duration) -> (String, Option<u64>) {
    let mut child = Process::new(writer)
        .arg(dir)
        .arg(first.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start crash_writer");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let started = Instant::now();
    let mut uuid = None;
    // Wait for the first ack, then let it write for `delay` and kill it.
    let first_ack = loop {
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("crash_writer printed no ack within 30 s (started {:?} ago)", started.elapsed())
        });
        if let Some(u) = line.strip_prefix("uuid ") {
            uuid = Some(u.to_string());
        } else if let Some(n) = line.strip_prefix("ack ") {
            break n.parse::<u64>().expect("ack number");
        }
    };
    let mut last_ack = Some(first_ack);
    std::thread::sleep(delay);
    child.kill().expect("SIGKILL crash_writer");
    let status = child.wait().expect("reap crash_writer");
    assert!(!status.success(), "crash_writer was killed, not finished: {status:?}");
    // Everything it printed before dying is an acknowledged write.
    reader.join().expect("stdout reader");
    for line in rx.try_iter() {
        if let Some(n) = line.strip_prefix("ack ") {
            let n = n.parse::<u64>().expect("ack number");
            assert_eq!(Some(n), last_ack.map(|l| l + 1), "acks are in order");
            last_ack = Some(n);
        }
    }
    (uuid.expect("crash_writer printed its cluster UUID"), last_ack)
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let seed = std::env::var("BULWARK_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED);
    eprintln!("crash test seed: {seed} (set BULWARK_CRASH_SEED to repeat)");
    let mut rng = Rng(seed);
    let writer = crash_writer();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("data").join("store");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    let mut next = 0u64;
    let mut cluster_uuid: Option<String> = None;
    let mut total_acked = 0u64;
    for iteration in 0..ITERATIONS {
        let delay = Duration::from_millis(rng.between(20, 300));
        let (uuid, last_ack) = run_and_kill(&writer, &dir, next, delay);
        let last_ack = last_ack.expect("at least one ack");
        total_acked += last_ack + 1 - next;

        // The store opens, and every acknowledged entry is there.
        let (present_upto, reopened_uuid) = runtime.block_on(async {
            let store = Store::open(&dir, "crash-test", "127.0.0.1:9300").await.unwrap_or_else(|e| {
                panic!("iteration {iteration}: the store does not open after kill -9: {e}")
            });
            for n in 0..=last_ack {
                let id = format!("u{n:08}");
                let value = store.get_entry(EntryKind::User, &id).unwrap();
                assert_eq!(
                    value,
                    Some(json!({ "n": n })),
                    "iteration {iteration}: acknowledged entry {id} is lost"
                );
            }
            // Writes that were not acknowledged may or may not have made it; continue after them.
            let all = store.entries(EntryKind::User).unwrap();
            let upto = all.len() as u64;
            assert_eq!(
                all.last().map(|(id, _)| id.clone()),
                Some(format!("u{:08}", upto - 1)),
                "entries are contiguous"
            );
            let uuid = store.cluster_uuid().to_string();
            store.shutdown().await.unwrap();
            (upto, uuid)
        });
        assert_eq!(uuid, reopened_uuid);
        match &cluster_uuid {
            None => cluster_uuid = Some(uuid),
            Some(first) => assert_eq!(first, &uuid, "iteration {iteration}: the cluster UUID changed"),
        }
        next = present_upto;
    }
    eprintln!("{ITERATIONS} kills, {total_acked} acknowledged writes, {next} entries stored");
    assert!(next >= ITERATIONS as u64);
}
