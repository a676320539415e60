//! The audit log's keyed chain, its anchor and rotation, the audit event filters, and a quiet
//! node log, against the real node and `bulwark doctor`.

use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use bulwark_testkit::{TestHome, command, run, start_fresh};
use serde_json::{Map, Value};

/// The doctor's `audit` finding.
fn doctor(home: &Path) -> Value {
    let (_, out, err) = run(command(home).args(["doctor", "--json"]));
    let v: Value = serde_json::from_str(&out).expect(&err);
    v["findings"].as_array().unwrap().iter().find(|f| f["check"] == "audit").cloned().expect("audit finding")
}

fn audit_files(logs: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(logs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("audit-"))
        .collect();
    files.sort();
    files
}

/// Applies `tamper` to a copy of the home's logs and anchor, expects doctor to name `needles`,
/// then puts the originals back.
fn expect_caught(home: &Path, what: &str, tamper: impl FnOnce(&Path), needles: &[&str]) {
    let (logs, anchor) = (home.join("logs"), home.join("data/audit.anchor"));
    let saved: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&logs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .chain([anchor])
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    tamper(&logs);
    let f = doctor(home);
    assert_eq!(f["severity"], "critical", "{what}: {f}");
    for n in needles {
        assert!(f["message"].as_str().unwrap().contains(n), "{what}: [{n}] not in {f}");
    }
    for (p, bytes) in saved {
        std::fs::write(p, bytes).unwrap();
    }
    assert_eq!(doctor(home)["severity"], "ok", "restored after {what}");
}

/// Re-chains `file` with plain SHA-256 after editing its first line, as a forger without the key
/// would.
fn rechain_with_sha256(file: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut prev: Option<String> = None;
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut v: Map<String, Value> = serde_json::from_str(line).unwrap();
        v.remove("audit.mac");
        if i == 0 {
            v.insert("user.name".into(), Value::from("nobody"));
        }
        if let Some(p) = &prev {
            v.insert("audit.prev_mac".into(), Value::from(p.clone()));
        }
        let hash = digest::digest(&digest::SHA256, &serde_json::to_vec(&v).unwrap());
        let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        v.insert("audit.mac".into(), Value::from(hex.clone()));
        prev = Some(hex);
        out.push_str(&serde_json::to_string(&v).unwrap());
        out.push('\n');
    }
    std::fs::write(file, out).unwrap();
}

#[test]
fn rotated_audit_files_chain_and_doctor_catches_every_cut() {
    let home = TestHome::new();
    let s = start_fresh(&home, &["-E", "logger.rotation.max_size=4kb", "-E", "logger.rotation.max_files=3"]);
    // Each request writes two lines of about 450 bytes: many rotations.
    for _ in 0..40 {
        assert_eq!(s.client.get("/", Some(("elastic", &s.password))).unwrap().0, 200);
    }
    // No credentials at all: anonymous_access_denied, not authentication_failed.
    assert_eq!(s.client.get("/_cluster/health", None).unwrap().0, 401);
    s.node.stop();

    let (root, logs) = (home.path(), home.path().join("logs"));
    let rotated = audit_files(&logs);
    assert_eq!(rotated.len(), 3, "logger.rotation.max_files rotated files kept: {rotated:?}");
    for f in &rotated {
        let len = std::fs::metadata(f).unwrap().len();
        assert!(len <= 4096 && len > 0, "[{}] is {len} bytes", f.display());
    }
    let current = std::fs::read_to_string(logs.join("audit.json")).unwrap();
    let last: Value = serde_json::from_str(current.lines().last().unwrap()).unwrap();
    assert_eq!(last["event.action"], "anonymous_access_denied", "{last}");
    assert_eq!(last["url.path"], "/_cluster/health");
    let f = doctor(&root);
    assert_eq!(f["severity"], "ok", "{f}");
    assert!(f["message"].as_str().unwrap().contains("in 4 files"), "{f}");

    let middle = rotated[1].clone();
    let middle_name = middle.file_name().unwrap().to_string_lossy().into_owned();
    expect_caught(
        &root,
        "a deleted rotated file",
        |_| std::fs::remove_file(&middle).unwrap(),
        &[&format!("{middle_name}] is missing"), "are missing between", "a rotated audit file was deleted"],
    );
    expect_caught(
        &root,
        "truncation",
        |logs| {
            let keep: Vec<&str> = current.lines().collect();
            std::fs::write(logs.join("audit.json"), format!("{}\n", keep[..keep.len() - 2].join("\n")))
                .unwrap();
        },
        &["audit.json] was truncated"],
    );
    expect_caught(
        &root,
        "emptying",
        |logs| std::fs::write(logs.join("audit.json"), "").unwrap(),
        &["audit.json] was emptied"],
    );
    expect_caught(
        &root,
        "deleting",
        |logs| std::fs::remove_file(logs.join("audit.json")).unwrap(),
        &["audit.json] was deleted"],
    );
    expect_caught(
        &root,
        "a plain SHA-256 re-chain",
        |_| rechain_with_sha256(&middle),
        &[&format!("{middle_name}] line 1: its MAC does not match"), "recomputed without the key"],
    );
    // Removing the key from the keystore leaves nothing to verify with.
    let (code, _, err) =
        run(command(&root).args(["keystore", "remove", "xpack.security.audit.logfile.secure_chain_key"]));
    assert_eq!(code, 0, "{err}");
    let f = doctor(&root);
    assert_eq!(f["severity"], "critical");
    assert!(f["message"].as_str().unwrap().contains("secure_chain_key"), "{f}");
}

#[test]
fn the_node_log_is_quiet_and_audit_event_filters_apply() {
    let home = TestHome::new();
    let s = start_fresh(
        &home,
        &[
            "-E",
            "xpack.security.audit.logfile.events.exclude=authentication_success",
            "-E",
            "xpack.security.audit.logfile.events.ignore_filters.health.actions=cluster:monitor/health*",
        ],
    );
    assert_eq!(s.client.get("/_cluster/health", Some(("elastic", &s.password))).unwrap().0, 200);
    assert_eq!(s.client.get("/", Some(("elastic", &s.password))).unwrap().0, 200);
    s.node.stop();
    let audit = std::fs::read_to_string(home.path().join("logs/audit.json")).unwrap();
    let lines: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.iter().all(|l| l["event.action"] != "authentication_success"), "{audit}");
    let granted: Vec<&Value> = lines.iter().filter(|l| l["event.action"] == "access_granted").collect();
    assert!(!granted.is_empty(), "{audit}");
    assert!(granted.iter().all(|l| l["action"] != "cluster:monitor/health"), "ignore_filters: {audit}");
    assert_eq!(doctor(&home.path())["severity"], "ok");

    // The consensus library's INFO lines stay out of a fresh start's log.
    let log = home.log();
    let openraft_info: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"target\":\"openraft") && l.contains("\"level\":\"INFO\""))
        .collect();
    assert!(openraft_info.is_empty(), "{openraft_info:#?}");
    assert!(log.contains("started; serving HTTPS"), "{log}");
    assert!(
        !log.contains("reloaded TLS certificates"),
        "adding the chain key must not look like a TLS change: {log}"
    );

    // An unknown event name stops the node, naming the setting.
    let (code, out, err) = run(command(&home.path()).args([
        "start",
        "-E",
        "xpack.security.audit.logfile.events.include=access_granted,authentication_sucess",
    ]));
    assert_ne!(code, 0);
    let both = format!("{out}{err}");
    assert!(
        both.contains("xpack.security.audit.logfile.events.include")
            && both.contains("authentication_sucess"),
        "{both}"
    );
}
