//! First-start auto-configuration (SPEC §3) with the real binary: every skip check is logged with
//! its stable id and leaves the home alone, a failure half-way restores the home byte for byte,
//! an interrupted run is rolled back at the next start, and `bulwark doctor` explains the result.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bulwark_testkit::{Node, START_TIMEOUT, TestHome, command};

const SKIPPED: &str = "security auto-configuration skipped";
const DONE: &str = "security auto-configuration done";
const BEGIN: &str = "BEGIN SECURITY AUTO CONFIGURATION";
/// In every outcome's log line (skipped, done, failed): waiting for it fails fast on a wrong one.
const OUTCOME: &str = "security auto-configuration ";

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run command");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A home whose `config/bulwark.yml` holds exactly `yaml`.
fn home_with(yaml: &str) -> TestHome {
    let home = TestHome::new();
    home.write_settings(yaml);
    home
}

/// The JSON log lines (`logs/bulwark.json`) whose message contains `needle`.
fn log_events(home: &TestHome, needle: &str) -> Vec<serde_json::Value> {
    home.log()
        .lines()
        .filter(|l| l.contains(needle))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}")))
        .collect()
}

/// Starts the node on `home` and checks that auto-configuration was skipped by `check`, with a
/// message containing `why`, and that nothing in `config/` that auto-configuration owns changed.
#[track_caller]
fn assert_skipped(home: &TestHome, check: &str, why: &str) {
    let yml = std::fs::read(home.config("bulwark.yml")).expect("the test writes bulwark.yml");
    let keystore = std::fs::read(home.config("bulwark.keystore")).ok();
    let mut node = Node::spawn(home, &[], &[]);
    let logged = node.wait_for_log(OUTCOME) && home.log().contains(SKIPPED);
    let stdout = std::fs::read_to_string(home.stdout_file()).unwrap_or_default();
    assert!(logged, "no [{SKIPPED}] in the log:\n{}\nstdout:\n{stdout}", home.log());
    drop(node);

    let log = home.log();
    assert!(log.contains(check), "check id [{check}] missing from the log:\n{log}");
    let events = log_events(home, SKIPPED);
    assert_eq!(events.len(), 1, "one skip event expected:\n{log}");
    let event = &events[0];
    assert_eq!(event["check"], check, "{event}");
    assert_eq!(event["level"], "INFO", "{event}");
    let message = event["message"].as_str().expect("message");
    assert!(message.contains(why), "message lacks [{why}]: {message}");
    assert!(!log.contains(DONE), "auto-configuration ran anyway:\n{log}");

    assert!(!home.config("certs").exists(), "config/certs was created");
    assert_eq!(std::fs::read(home.config("bulwark.yml")).unwrap(), yml, "bulwark.yml changed");
    assert_eq!(
        std::fs::read(home.config("bulwark.keystore")).ok(),
        keystore,
        "the keystore was created or changed"
    );
    for leftover in ["certs.autoconfig-tmp", ".autoconfig-journal.json", "bulwark.yml.autoconfig-backup"] {
        assert!(!home.config(leftover).exists(), "{leftover} left behind");
    }
}

/// Starts the node on `home` and checks that auto-configuration ran and appended its block to
/// the file as it was.
#[track_caller]
fn assert_configured(home: &TestHome) {
    let yml = std::fs::read(home.config("bulwark.yml")).unwrap();
    let mut node = Node::spawn(home, &[], &[]);
    let logged = node.wait_for_log(OUTCOME) && home.log().contains(DONE);
    let stdout = std::fs::read_to_string(home.stdout_file()).unwrap_or_default();
    assert!(logged, "no [{DONE}] in the log:\n{}\nstdout:\n{stdout}", home.log());
    drop(node);
    assert!(!home.log().contains(SKIPPED), "{}", home.log());
    for f in ["certs/http.p12", "certs/transport.p12", "certs/http_ca.crt", "bulwark.keystore"] {
        assert!(home.config(f).is_file(), "config/{f} missing");
    }
    let after = std::fs::read(home.config("bulwark.yml")).unwrap();
    assert!(after.starts_with(&yml), "the original settings were not kept byte for byte");
    let text = String::from_utf8(after).unwrap();
    assert_eq!(text.matches(BEGIN).count(), 1, "{text}");
    assert!(text.lines().any(|l| l == "xpack.security.enabled: true"), "{text}");
}

#[test]
fn autoconfiguration_disabled_skips() {
    let home = home_with("cluster.name: c\nxpack.security.autoconfiguration.enabled: false\n");
    assert_skipped(&home, "autoconfiguration_disabled", "xpack.security.autoconfiguration.enabled is false");
}

#[test]
fn security_enabled_true_skips() {
    let home = home_with("xpack.security.enabled: true\n");
    assert_skipped(&home, "security_enabled_set", "xpack.security.enabled is set (true)");
}

#[test]
fn security_enabled_false_skips() {
    let home = home_with("xpack.security.enabled: false\n");
    assert_skipped(&home, "security_enabled_set", "xpack.security.enabled is set (false)");
}

#[test]
fn an_http_ssl_setting_in_the_file_skips() {
    let home = home_with("cluster.name: c\nxpack.security.http.ssl.enabled: false\n");
    assert_skipped(&home, "tls_configured", "[xpack.security.http.ssl.enabled] is set at");
}

#[test]
fn a_transport_ssl_setting_in_the_file_skips() {
    let home = home_with("xpack.security.transport.ssl.verification_mode: certificate\n");
    assert_skipped(&home, "tls_configured", "[xpack.security.transport.ssl.verification_mode]");
}

#[test]
fn a_tls_password_in_the_keystore_skips() {
    let home = home_with("cluster.name: c\n");
    let (code, _, err) = run(command(&home.path()).args(["keystore", "create"]).stdin(Stdio::null()));
    assert_eq!(code, 0, "keystore create: {err}");
    let name = "xpack.security.transport.ssl.keystore.secure_password";
    let mut child = command(&home.path())
        .args(["keystore", "add", "-x", name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keystore add");
    child.stdin.take().unwrap().write_all(b"a-transport-password\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "keystore add: {}", String::from_utf8_lossy(&out.stderr));
    let (code, listed, err) = run(command(&home.path()).args(["keystore", "list"]).stdin(Stdio::null()));
    assert_eq!(code, 0, "keystore list: {err}");
    assert!(listed.lines().any(|l| l == name), "{listed}");
    assert_skipped(&home, "tls_in_keystore", &format!("the keystore already holds [{name}]"));
}

#[test]
fn seed_hosts_skip_without_contacting_anyone() {
    let home = home_with("discovery.seed_hosts: [\"10.0.0.1:9300\"]\n");
    assert_skipped(&home, "not_initial_node", "discovery.seed_hosts is set (10.0.0.1:9300)");
}

#[test]
fn a_multi_node_discovery_type_skips() {
    let home = home_with("discovery.type: multi-node\n");
    assert_skipped(&home, "not_initial_node", "discovery.type is [multi-node]");
}

#[test]
fn initial_master_nodes_naming_another_node_skips() {
    let home = home_with("node.name: me\ncluster.initial_master_nodes: [\"other-node\"]\n");
    assert_skipped(&home, "not_initial_node", "cluster.initial_master_nodes (other-node)");
}

#[test]
fn initial_master_nodes_naming_only_this_node_configures() {
    let home = home_with("node.name: me\ncluster.initial_master_nodes: [\"me\"]\n");
    assert_configured(&home);
}

#[test]
fn a_data_only_node_skips() {
    let home = home_with("node.roles: [data]\n");
    assert_skipped(&home, "not_master_eligible", "master-eligible");
}

#[test]
fn a_master_only_node_skips() {
    let home = home_with("node.roles: [master]\n");
    assert_skipped(&home, "no_data_role", "hold data");
}

#[test]
fn a_master_and_data_node_configures() {
    let home = home_with("node.roles: [master, data]\n");
    assert_configured(&home);
}

#[test]
fn a_non_empty_data_directory_skips() {
    let home = home_with("cluster.name: c\n");
    std::fs::create_dir_all(home.path().join("data")).unwrap();
    std::fs::write(home.path().join("data").join("something"), b"not a fresh node").unwrap();
    assert_skipped(&home, "data_not_empty", "is not empty");
    assert_eq!(std::fs::read(home.path().join("data/something")).unwrap(), b"not a fresh node");
}

/// Makes a file immutable (`chattr +i`) and mutable again when dropped, even if the test fails.
struct Immutable<'a> {
    path: &'a Path,
}

impl<'a> Immutable<'a> {
    /// Fails the test, naming what is missing, when `chattr` is not installed (Debian package
    /// `e2fsprogs`; `scripts/test` installs it) or the file system refuses the flag.
    fn set(path: &'a Path) -> Immutable<'a> {
        let status = Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status()
            .unwrap_or_else(|e| panic!("this test needs chattr (Debian package e2fsprogs): {e}"));
        assert!(status.success(), "chattr +i {} failed: the file system must support it", path.display());
        let guard = Immutable { path };
        // Root ignores permissions but not the immutable flag: prove that it took effect.
        assert!(
            std::fs::OpenOptions::new().append(true).open(path).is_err(),
            "chattr +i did not make {} immutable",
            path.display()
        );
        guard
    }
}

impl Drop for Immutable<'_> {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(self.path).status();
    }
}

#[test]
fn a_failure_midway_leaves_the_config_byte_identical() {
    let home = home_with("# my settings\ncluster.name: midway\n");
    let yml_path = home.config("bulwark.yml");
    let guard = Immutable::set(&yml_path);
    let before = home.snapshot("config");
    assert_eq!(before.len(), 1, "{before:?}");

    let mut node = Node::spawn(&home, &[], &[]);
    node.expect_error("security auto-configuration failed while writing settings");
    let status = node.wait_exit(START_TIMEOUT).expect("the node must exit when auto-configuration fails");
    drop(node);
    drop(guard);

    assert!(!status.success(), "exit status {status}");
    let output = std::fs::read_to_string(home.stdout_file()).unwrap();
    let log = home.log();
    let both = format!("{output}\n{log}");
    assert!(both.contains("auto-configuration failed"), "{both}");
    assert!(both.contains("restored"), "{both}");
    assert!(both.contains("writing settings"), "the failed step is named: {both}");
    assert!(!both.contains("rolling back also failed"), "the rollback itself failed:\n{both}");
    assert!(!log.contains(DONE), "{log}");

    let after = home.snapshot("config");
    let names =
        |s: &std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>| s.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&after), names(&before), "files were left behind or removed in config/");
    assert_eq!(after, before, "config/ is not byte-identical");
    assert!(!home.path().join("data").exists(), "data/ was created");
}

#[test]
fn an_interrupted_run_is_rolled_back_at_the_next_start() {
    let original = "# my settings\ncluster.name: interrupted\n";
    let home = home_with(original);
    // What a run killed half-way leaves: the journal, the backup, some certificates and a
    // settings file with a partial block.
    std::fs::write(
        home.config(".autoconfig-journal.json"),
        br#"{"keystore_existed": false, "moved_certs": null}"#,
    )
    .unwrap();
    std::fs::create_dir(home.config("certs")).unwrap();
    std::fs::write(home.config("certs/junk.p12"), b"half-written").unwrap();
    std::fs::write(home.config("bulwark.yml.autoconfig-backup"), original).unwrap();
    let garbage = "# garbage-from-the-interrupted-run";
    let mut f = std::fs::OpenOptions::new().append(true).open(home.config("bulwark.yml")).unwrap();
    write!(f, "\n#----------------------- {BEGIN} -----------------------\n{garbage}\n").unwrap();
    drop(f);

    let mut node = Node::spawn(&home, &[], &[]);
    let deadline = Instant::now() + START_TIMEOUT;
    let creds = loop {
        if let Some(c) = home.bootstrap_credentials().filter(|c| c.contains_key("HTTP_CA_FINGERPRINT")) {
            break c;
        }
        let stdout = std::fs::read_to_string(home.stdout_file()).unwrap_or_default();
        assert!(Instant::now() < deadline, "no bootstrap-credentials file; log:\n{}\n{stdout}", home.log());
        std::thread::sleep(Duration::from_millis(20));
    };
    let ca = std::fs::read(home.config("certs/http_ca.crt")).unwrap();
    let client = node.wait_ready(&ca, "elastic", &creds["ELASTIC_PASSWORD"]);
    let (status, _, body) = client.get("/", Some(("elastic", &creds["ELASTIC_PASSWORD"]))).unwrap();
    assert_eq!(status, 200, "{body}");
    node.stop();

    let log = home.log();
    assert!(log.contains(DONE), "{log}");
    let rolled = log_events(&home, "rolled back");
    assert_eq!(rolled.len(), 1, "{log}");
    assert_eq!(rolled[0]["level"], "WARN");
    assert!(home.config("certs/http.p12").is_file());
    assert!(!home.config("certs/junk.p12").exists(), "the interrupted run's files survived");
    for leftover in [".autoconfig-journal.json", "bulwark.yml.autoconfig-backup", "certs.autoconfig-tmp"] {
        assert!(!home.config(leftover).exists(), "{leftover} left behind");
    }
    let yml = std::fs::read_to_string(home.config("bulwark.yml")).unwrap();
    assert!(yml.starts_with(original), "the original settings were not restored first:\n{yml}");
    assert_eq!(yml.matches(BEGIN).count(), 1, "{yml}");
    assert!(!yml.contains(garbage), "{yml}");
}

/// `bulwark doctor --json`: (exit code, findings).
fn doctor_json(home: &TestHome) -> (i32, Vec<serde_json::Value>) {
    let (code, out, err) = run(command(&home.path()).args(["doctor", "--json"]).stdin(Stdio::null()));
    let report: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("doctor --json output ({e}): {out}\n{err}"));
    let findings = report["findings"].as_array().expect("findings").clone();
    (code, findings)
}

fn findings_for<'a>(findings: &'a [serde_json::Value], check: &str) -> Vec<&'a serde_json::Value> {
    findings.iter().filter(|f| f["check"] == check).collect()
}

#[track_caller]
fn one<'a>(findings: &'a [serde_json::Value], check: &str) -> &'a serde_json::Value {
    let found = findings_for(findings, check);
    assert_eq!(found.len(), 1, "one [{check}] finding expected in {findings:#?}");
    found[0]
}

#[test]
fn doctor_reports_the_state_with_fixes() {
    let home = TestHome::new();
    let mut node = Node::spawn(&home, &[], &[]);
    node.port();
    let deadline = Instant::now() + START_TIMEOUT;
    let creds = loop {
        if let Some(c) = home.bootstrap_credentials().filter(|c| c.contains_key("HTTP_CA_FINGERPRINT")) {
            break c;
        }
        assert!(Instant::now() < deadline, "no bootstrap-credentials file");
        std::thread::sleep(Duration::from_millis(20));
    };
    let ca = std::fs::read(home.config("certs/http_ca.crt")).unwrap();
    node.wait_ready(&ca, "elastic", &creds["ELASTIC_PASSWORD"]);
    node.stop();

    let (code, findings) = doctor_json(&home);
    assert_eq!(code, 1, "a warning means exit status 1: {findings:#?}");
    assert_eq!(one(&findings, "autoconfiguration")["severity"], "ok");
    assert_eq!(one(&findings, "tls.http")["severity"], "ok");
    assert_eq!(one(&findings, "tls.transport")["severity"], "ok");
    let creds_file = home.config("bootstrap-credentials");
    let bc = one(&findings, "bootstrap_credentials");
    assert_eq!(bc["severity"], "warning");
    let fix = bc["fix"].as_str().expect("a fix");
    assert!(fix.contains(&format!("rm {}", creds_file.display())), "{fix}");
    assert!(findings_for(&findings, "permissions").is_empty(), "{findings:#?}");
    assert!(findings_for(&findings, "security.enabled").is_empty(), "{findings:#?}");
    let password = &creds["ELASTIC_PASSWORD"];
    assert!(!serde_json::to_string(&findings).unwrap().contains(password.as_str()), "password in the report");

    std::fs::remove_file(&creds_file).unwrap();
    let (_, findings) = doctor_json(&home);
    assert!(findings_for(&findings, "bootstrap_credentials").is_empty(), "{findings:#?}");

    let p12 = home.config("certs/http.p12");
    let (code, _, err) = run(Command::new("chmod").arg("644").arg(&p12));
    assert_eq!(code, 0, "{err}");
    let (code, findings) = doctor_json(&home);
    assert_eq!(code, 1);
    let perms = one(&findings, "permissions");
    assert_eq!(perms["severity"], "warning");
    assert_eq!(perms["fix"], format!("chmod 600 {}", p12.display()));
    assert!(perms["message"].as_str().unwrap().contains("644"), "{perms}");

    // Text mode says the same, with its fixes.
    let (code, out, err) = run(command(&home.path()).arg("doctor").stdin(Stdio::null()));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.lines().any(|l| l.starts_with("[WARNING] permissions:")), "{out}");
    let fix_line = format!("    fix: chmod 600 {}", p12.display());
    assert!(out.lines().any(|l| l == fix_line), "no [{fix_line}] in:\n{out}");
    assert!(out.lines().any(|l| l.starts_with("[OK] tls.http:")), "{out}");
    assert!(out.lines().any(|l| l == "Overall: WARNING"), "{out}");
}

#[test]
fn doctor_calls_disabled_security_critical() {
    let home = home_with("xpack.security.enabled: false\n");
    let (code, findings) = doctor_json(&home);
    assert_eq!(code, 1);
    let f = one(&findings, "security.enabled");
    assert_eq!(f["severity"], "critical");
    assert!(f["fix"].as_str().unwrap().contains("xpack.security.enabled"), "{f}");
    // Before the first start, doctor predicts the skip and names the check.
    let ac = one(&findings, "autoconfiguration");
    assert_eq!(ac["severity"], "warning");
    assert!(ac["message"].as_str().unwrap().contains("security_enabled_set"), "{ac}");
    assert!(findings_for(&findings, "tls.http").is_empty(), "{findings:#?}");

    let (code, out, err) = run(command(&home.path()).arg("doctor").stdin(Stdio::null()));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.lines().any(|l| l.starts_with("[CRITICAL] security.enabled:")), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("    fix: remove xpack.security.enabled: false")),
        "no fix line in:\n{out}"
    );
    assert!(out.lines().any(|l| l == "Overall: CRITICAL"), "{out}");
}
