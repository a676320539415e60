use std::net::{IpAddr, Ipv4Addr};

use aws_lc_rs::digest;
use bulwark_security::audit::Origin;
use bulwark_settings::logs::AuditEventSettings;
use serde_json::Value;

use super::chain::GENESIS;
use super::verify::{Verdict, verify};
use super::*;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn event(i: usize) -> AuditEvent {
    AuditEvent::AuthenticationFailed {
        principal: format!("user{i}"),
        origin: Origin { address: IpAddr::V4(Ipv4Addr::LOCALHOST), method: "GET".into(), path: "/".into() },
    }
}

struct Home {
    _dir: tempfile::TempDir,
    logs: PathBuf,
    data: PathBuf,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let (logs, data) = (dir.path().join("logs"), dir.path().join("data"));
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::create_dir_all(&data).unwrap();
        Home { _dir: dir, logs, data }
    }

    /// Opens the log with a small size limit, writes `n` events, and closes it.
    fn write(&self, from: usize, n: usize, max_size: u64) {
        let rotation = RotationSettings { max_size, max_files: 3, ..RotationSettings::default() };
        let config = AuditConfig {
            logs: &self.logs,
            data: &self.data,
            key: KEY,
            rotation,
            filter: AuditFilter::new(&AuditEventSettings::default()),
        };
        let log = AuditLog::open(config).unwrap();
        for i in from..from + n {
            log.record(event(i));
        }
        log.sync();
    }

    fn verify(&self) -> Verdict {
        verify(&self.logs, &self.data, Some(KEY))
    }

    fn problems(&self) -> String {
        match self.verify() {
            Verdict::Broken(p) => p.join("\n"),
            other => panic!("not broken: {other:?}"),
        }
    }

    fn current(&self) -> PathBuf {
        current_file(&self.logs, AUDIT_STEM)
    }
}

#[test]
fn the_chain_verifies_continues_across_restarts_and_breaks_on_edits() {
    let home = Home::new();
    assert_eq!(verify(&home.logs, &home.data, None), Verdict::Absent);
    home.write(0, 3, 1 << 20);
    home.write(3, 1, 1 << 20);
    assert_eq!(home.verify(), Verdict::Intact { entries: 4, files: 1 });
    let text = std::fs::read_to_string(home.current()).unwrap();
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["event.action"], "authentication_failed");
    assert_eq!(first["audit.prev_mac"], GENESIS);
    assert_eq!(first["audit.sequence"], 1);

    std::fs::write(home.current(), text.replacen("user1", "userX", 1)).unwrap();
    assert!(home.problems().contains("audit.json] line 2: its MAC does not match"), "{}", home.problems());
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(home.current(), format!("{}\n{}\n{}\n", lines[0], lines[2], lines[3])).unwrap();
    assert!(home.problems().contains("line 2: entry 3 does not follow entry 1"), "{}", home.problems());
    assert!(matches!(verify(&home.logs, &home.data, Some(b"another key")), Verdict::Broken(_)));
    assert!(home_without_key_is_refused(&home));
}

#[test]
fn a_line_holds_every_field_in_order_escaped() {
    let home = Home::new();
    let config = AuditConfig {
        logs: &home.logs,
        data: &home.data,
        key: KEY,
        rotation: RotationSettings::default(),
        filter: AuditFilter::new(&AuditEventSettings::default()),
    };
    let log = AuditLog::open(config).unwrap();
    let origin = Origin {
        address: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
        method: "POST".into(),
        path: "/a\"b/\u{7}é".into(),
    };
    log.record(AuditEvent::AccessGranted {
        user: "quote\"d\nuser".into(),
        realm: "native".into(),
        roles: vec!["r1".into(), "r\\2".into()],
        auth_type: "api_key",
        action: "indices:data/write/bulk".into(),
        indices: vec!["logs".into()],
        origin,
    });
    log.record(AuditEvent::Lockout {
        user: "u".into(),
        address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        scope: "address",
        seconds: 60,
    });
    log.sync();
    assert_eq!(home.verify(), Verdict::Intact { entries: 2, files: 1 });
    let text = std::fs::read_to_string(home.current()).unwrap();
    let lines: Vec<serde_json::Map<String, Value>> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let keys: Vec<&str> = lines[0].keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "@timestamp",
            "event.action",
            "event.type",
            "origin.type",
            "origin.address",
            "request.method",
            "url.path",
            "authentication.type",
            "user.name",
            "user.realm",
            "user.roles",
            "action",
            "indices",
            "audit.sequence",
            "audit.prev_mac",
            "audit.mac"
        ]
    );
    let line = Value::Object(lines[0].clone());
    assert_eq!(line["url.path"], "/a\"b/\u{7}é");
    assert_eq!(line["user.name"], "quote\"d\nuser");
    assert_eq!(line["user.roles"], serde_json::json!(["r1", "r\\2"]));
    assert_eq!(line["authentication.type"], "API_KEY");
    assert_eq!(line["origin.address"], "127.0.0.2");
    assert_eq!(lines[1]["lockout.seconds"], 60);
    assert_eq!(lines[1]["audit.sequence"], 2);
    assert_eq!(lines[1]["audit.prev_mac"], lines[0]["audit.mac"]);
    assert!(!text.contains('\u{7}'), "control characters are escaped: {text}");
}

fn home_without_key_is_refused(home: &Home) -> bool {
    matches!(verify(&home.logs, &home.data, None), Verdict::Broken(p) if p[0].contains("secure_chain_key"))
}

#[test]
fn truncating_emptying_deleting_and_rechaining_are_caught() {
    let home = Home::new();
    home.write(0, 5, 1 << 20);
    let text = std::fs::read_to_string(home.current()).unwrap();
    let lines: Vec<&str> = text.lines().collect();

    std::fs::write(home.current(), format!("{}\n", lines[..3].join("\n"))).unwrap();
    assert!(
        home.problems().contains("audit.json] was truncated: the audit log ends at entry 3 but 5"),
        "{}",
        home.problems()
    );
    std::fs::write(home.current(), "").unwrap();
    assert!(home.problems().contains("audit.json] was emptied"), "{}", home.problems());
    std::fs::remove_file(home.current()).unwrap();
    assert!(home.problems().contains("audit.json] was deleted"), "{}", home.problems());
    std::fs::remove_file(home.data.join(ANCHOR_FILE)).unwrap();
    assert!(home.problems().contains("are missing although the chain key exists"), "{}", home.problems());

    // A forger without the key edits line 2 and recomputes the chain with plain SHA-256.
    let home = Home::new();
    home.write(0, 5, 1 << 20);
    let text = std::fs::read_to_string(home.current()).unwrap();
    let mut prev = GENESIS.to_owned();
    let mut forged = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut v: serde_json::Map<String, Value> = serde_json::from_str(line).unwrap();
        v.remove("audit.mac");
        if i == 1 {
            v.insert("user.name".into(), Value::from("nobody"));
        }
        v.insert("audit.prev_mac".into(), Value::from(prev.clone()));
        let body = serde_json::to_vec(&v).unwrap();
        prev = digest::digest(&digest::SHA256, &body).as_ref().iter().map(|b| format!("{b:02x}")).collect();
        v.insert("audit.mac".into(), Value::from(prev.clone()));
        forged.push_str(&serde_json::to_string(&v).unwrap());
        forged.push('\n');
    }
    std::fs::write(home.current(), forged).unwrap();
    let p = home.problems();
    assert!(p.contains("audit.json] line 1: its MAC does not match"), "{p}");
    assert!(p.contains("recomputed without the key"), "{p}");
}

#[test]
fn rotation_keeps_the_chain_across_files_and_retention_is_not_a_gap() {
    let home = Home::new();
    // About 300 bytes a line: three lines a file.
    home.write(0, 30, 1024);
    let rotated = rotated_files(&home.logs, AUDIT_STEM);
    assert_eq!(rotated.len(), 3, "max_files rotated files are kept: {rotated:?}");
    let Verdict::Intact { entries, files } = home.verify() else { panic!("{}", home.problems()) };
    assert_eq!(files, 4);
    assert!(entries < 30, "the oldest files were deleted by retention");
    // The first line of each file continues the previous file's chain.
    let first = first_link(&rotated[1].1).unwrap();
    let text = std::fs::read_to_string(&rotated[0].1).unwrap();
    let last = unseal(Some(&ChainKey::new(KEY)), text.lines().last().unwrap().as_bytes()).unwrap();
    assert_eq!(first.prev_mac, last.mac);
    // A restart continues where the chain left off, in the same files.
    home.write(30, 2, 1024);
    assert!(matches!(home.verify(), Verdict::Intact { .. }));

    let middle = &rotated_files(&home.logs, AUDIT_STEM)[1].1;
    let saved = std::fs::read(middle).unwrap();
    std::fs::remove_file(middle).unwrap();
    let p = home.problems();
    assert!(p.contains("are missing between [") && p.contains("a rotated audit file was deleted"), "{p}");
    assert!(p.contains(&format!("[{}] is missing", middle.display())), "{p}");
    std::fs::write(middle, "").unwrap();
    assert!(home.problems().contains(&format!("[{}] is empty", middle.display())));
    std::fs::write(middle, saved).unwrap();
    let oldest = &rotated_files(&home.logs, AUDIT_STEM)[0].1;
    std::fs::remove_file(oldest).unwrap();
    assert!(home.problems().contains("the oldest audit file(s) were deleted"), "{}", home.problems());
}

#[test]
fn a_start_after_truncation_keeps_the_finding() {
    let home = Home::new();
    home.write(0, 5, 1 << 20);
    let text = std::fs::read_to_string(home.current()).unwrap();
    std::fs::write(home.current(), format!("{}\n", text.lines().next().unwrap())).unwrap();
    home.write(5, 3, 1 << 20);
    let p = home.problems();
    assert!(p.contains("at a start the node found that the audit log was truncated"), "{p}");
}

#[test]
fn a_start_reads_the_log_back_only_to_its_anchor() {
    let home = written(20, 1 << 20);
    let sequences = |down_to| {
        let (links, file) = tail(&home.logs, down_to).unwrap();
        assert_eq!(file, "audit.json");
        links.iter().map(|l| l.sequence).collect::<Vec<_>>()
    };
    assert_eq!(sequences(15), [20, 19, 18, 17, 16, 15]);
    assert_eq!(sequences(0), [20]);
    assert_eq!(sequences(25), [20]);
    let first = first_link(&home.current()).unwrap();
    assert_eq!((first.sequence, first.prev_mac.as_str()), (1, GENESIS));
}

#[test]
fn filtered_events_are_not_written() {
    let home = Home::new();
    let settings = AuditEventSettings { exclude: vec!["authentication_failed".into()], ..Default::default() };
    let config = AuditConfig {
        logs: &home.logs,
        data: &home.data,
        key: KEY,
        rotation: RotationSettings::default(),
        filter: AuditFilter::new(&settings),
    };
    let log = AuditLog::open(config).unwrap();
    log.record(event(1));
    log.sync();
    assert_eq!(std::fs::read_to_string(home.current()).unwrap(), "");
    assert_eq!(home.verify(), Verdict::Intact { entries: 0, files: 1 });
}

/// `n` events (user0, user1, …) written with rotation at `max_size`, every rotated file kept.
fn written(n: usize, max_size: u64) -> Home {
    let home = Home::new();
    let rotation = RotationSettings { max_size, max_files: 1000, ..RotationSettings::default() };
    let filter = AuditFilter::new(&AuditEventSettings::default());
    let config = AuditConfig { logs: &home.logs, data: &home.data, key: KEY, rotation, filter };
    let log = AuditLog::open(config).unwrap();
    for i in 0..n {
        log.record(event(i));
    }
    log.sync();
    home
}

fn query(size: usize, before: Option<u64>, user: Option<&str>) -> bulwark_rest::AuditQuery {
    bulwark_rest::AuditQuery { size, before, events: Vec::new(), user: user.map(str::to_owned) }
}

fn seqs(page: &bulwark_rest::AuditPage) -> Vec<u64> {
    page.events.iter().map(|e| e["audit.sequence"].as_u64().unwrap()).collect()
}

/// Every page of `q` from the newest, following `next_before`: the sequences and how many pages.
fn all_pages(home: &Home, q: &bulwark_rest::AuditQuery, limits: read::Limits) -> (Vec<u64>, usize) {
    let (files, key) = (read::files_newest_first(&home.logs), ChainKey::new(KEY));
    let (mut got, mut q) = (Vec::new(), q.clone());
    for pages in 1..=1000 {
        let (page, read) = read::page(&files, &key, &q, limits).unwrap();
        assert!(read <= limits.budget + (128 << 10), "{read} bytes for one page");
        assert!(page.events.iter().all(|e| e["audit.verified"] == true));
        got.extend(seqs(&page));
        match page.next_before {
            Some(b) => q.before = Some(b),
            None => return (got, pages),
        }
    }
    panic!("paging never ended");
}

#[test]
fn reading_back_pages_backwards_within_a_budget() {
    let home = written(300, 8 << 10);
    assert!(rotated_files(&home.logs, AUDIT_STEM).len() > 5, "several files");
    let unlimited = read::Limits::DEFAULT;
    let (every, pages) = all_pages(&home, &query(1000, None, None), unlimited);
    assert_eq!(every, (1..=300).rev().collect::<Vec<u64>>());
    assert_eq!(pages, 1);
    let (paged, pages) = all_pages(&home, &query(7, None, None), unlimited);
    assert_eq!((paged, pages), (every.clone(), 43));
    // A filter that matches one entry: a small budget reads the log in many short steps (each a
    // partial page with a cursor), and finds it all the same.
    let small = read::Limits { budget: 6 << 10, max_line: 1 << 20 };
    let (files, key) = (read::files_newest_first(&home.logs), ChainKey::new(KEY));
    let (first, _) = read::page(&files, &key, &query(10, None, Some("user5")), small).unwrap();
    assert!(first.partial && first.events.is_empty() && first.next_before.is_some(), "{first:?}");
    let (found, pages) = all_pages(&home, &query(10, None, Some("user5")), small);
    assert_eq!(found, vec![6]);
    assert!(pages > 10, "{pages} pages");
    let (paged, _) = all_pages(&home, &query(9, None, None), small);
    assert_eq!(paged, every, "nothing skipped or returned twice");
}

#[test]
fn the_cursor_is_found_by_bisection_and_overlong_lines_are_skipped() {
    let home = written(2000, 64 << 20);
    let len = std::fs::metadata(home.current()).unwrap().len();
    assert!(len > 512 << 10, "one large file: {len}");
    let (files, key) = (read::files_newest_first(&home.logs), ChainKey::new(KEY));
    // The oldest entries of a large file, within a budget far below its size.
    let small = read::Limits { budget: 64 << 10, max_line: 1 << 20 };
    let (page, read) = read::page(&files, &key, &query(100, Some(10), None), small).unwrap();
    assert_eq!(seqs(&page), (1..10).rev().collect::<Vec<u64>>(), "{page:?}");
    assert!(read < 128 << 10, "{read} bytes read of {len}");
    assert!(!page.partial && page.next_before.is_none());
    let (page, read) = read::page(&files, &key, &query(3, Some(1500), None), small).unwrap();
    assert_eq!((seqs(&page), page.next_before), (vec![1499, 1498, 1497], Some(1497)));
    assert!(read < 128 << 10, "{read} bytes read of {len}");
    // Without a cursor a filter that matches nothing stops at the budget, with a cursor.
    let (page, read) = read::page(&files, &key, &query(3, None, Some("nobody")), small).unwrap();
    assert!(page.partial && page.events.is_empty() && page.next_before.is_some(), "{page:?}");
    assert!(read < 128 << 10, "{read} bytes read of {len}");
    // A line longer than a line may be is counted, not kept; the others are read around it.
    let text = std::fs::read_to_string(home.current()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let long = format!("{{\"junk\": \"{}\"}}", "x".repeat(300 << 10));
    let edited = [&lines[..1000], &[long.as_str()], &lines[1000..]].concat().join("\n") + "\n";
    std::fs::write(home.current(), edited).unwrap();
    let tight = read::Limits { budget: 16 << 20, max_line: 64 << 10 };
    let (page, _) = read::page(&files, &key, &query(1000, Some(1010), None), tight).unwrap();
    assert_eq!(seqs(&page), (10..1010).rev().collect::<Vec<u64>>());
    assert_eq!(page.unreadable_lines, 1);
}
