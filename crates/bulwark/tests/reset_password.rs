//! `bulwark reset-password` against real nodes: running (through the API, with a temporary
//! file-realm superuser) and stopped (written to the store), with and without a terminal.

use std::process::{Command, Stdio};
use std::time::Duration;

use bulwark_testkit::{Client, Node, TestHome, start_fresh};
use serde_json::{Value, json};

/// The password every test's native user starts with.
const ALICE: &str = "violet-tangent-orbit-42";

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Output {
    #[track_caller]
    fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success; stdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert!(!self.stderr.contains("WARNING"), "{}", self.stderr);
        self
    }

    #[track_caller]
    fn fails(&self, code: i32, message: &str) -> &Self {
        assert_eq!(self.code, code, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert!(self.stderr.contains(message), "stderr lacks {message:?}: {}", self.stderr);
        assert!(self.stderr.starts_with("ERROR: "), "{}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        assert!(self.stdout.is_empty(), "{}", self.stdout);
        self
    }

    /// The password of `Password for the [user] user successfully reset.\nNew value: <pw>\n`.
    #[track_caller]
    fn new_value(&self, user: &str) -> String {
        let head = format!("Password for the [{user}] user successfully reset.\nNew value: ");
        let pw = self.stdout.strip_prefix(&head).and_then(|r| r.strip_suffix('\n'));
        let pw = pw.unwrap_or_else(|| panic!("unexpected output: {:?}", self.stdout)).to_owned();
        assert_generated(&pw);
        pw
    }

    /// The password printed alone with `-s`.
    #[track_caller]
    fn silent_value(&self) -> String {
        let pw = self.stdout.strip_suffix('\n').unwrap_or_else(|| panic!("{:?}", self.stdout)).to_owned();
        assert_generated(&pw);
        pw
    }
}

#[track_caller]
fn assert_generated(pw: &str) {
    assert_eq!(pw.len(), 20, "{pw:?}");
    assert!(pw.bytes().all(|c| c.is_ascii_alphanumeric() || b"_*-+=".contains(&c)), "{pw:?}");
}

fn reset(home: &TestHome, args: &[&str]) -> Output {
    let out = bulwark_testkit::command(&home.path())
        .arg("reset-password")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run bulwark");
    Output {
        code: out.status.code().expect("killed by a signal"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// What the tests ask of the node: a status, a JSON body, a `PUT`.
struct Api(Client);

impl Api {
    fn new(port: u16, ca: &[u8]) -> Api {
        Api(Client::new(port, Some(ca)))
    }

    fn status(&self, path: &str, user: &str, password: &str) -> u16 {
        self.0.get(path, Some((user, password))).expect("request").0
    }

    fn get(&self, path: &str, user: &str, password: &str) -> Value {
        self.0.get(path, Some((user, password))).expect("request").2
    }

    fn put(&self, path: &str, user: &str, password: &str, body: Value) -> u16 {
        self.0.call("PUT", path, (user, password), Some(&body)).expect("request").0
    }
}

/// The realm files as they are now (`None`: absent).
fn realm_files(home: &TestHome) -> (Option<String>, Option<String>) {
    (
        std::fs::read_to_string(home.config("users")).ok(),
        std::fs::read_to_string(home.config("users_roles")).ok(),
    )
}

#[test]
fn on_a_running_node_through_the_api() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let api = Api::new(s.port, &s.ca);
    let config_before = home.snapshot("config");
    // The node listens on a port chosen at start (`http.port=0`); without the ports file the tool
    // finds it by what the node records in its home at every start (`data/listening.json`).
    std::fs::remove_file(home.path().join("logs/http.ports")).expect("the ports file");

    let out = reset(&home, &["-u", "elastic", "-b", "-a"]);
    out.ok();
    let pw = out.new_value("elastic");
    assert_eq!(api.status("/", "elastic", &pw), 200, "the new password works at once");
    assert_eq!(api.status("/", "elastic", &s.password), 401, "the old password no longer works");
    assert_eq!(home.snapshot("config"), config_before, "the temporary user is gone, nothing else changed");
    let (users, roles) = realm_files(&home);
    assert!(!users.unwrap_or_default().contains("bulwark_reset_"));
    assert!(!roles.unwrap_or_default().contains("bulwark_reset_"));

    // -s prints exactly the password.
    let out = reset(&home, &["-u", "elastic", "-b", "-s"]);
    out.ok();
    let pw2 = out.silent_value();
    assert_ne!(pw2, pw);
    assert_eq!(api.status("/", "elastic", &pw2), 200);
    assert_eq!(api.status("/", "elastic", &pw), 401);

    // Another built-in user, which never had a password, and a native user keeping its record.
    let out = reset(&home, &["-u", "kibana_system", "-b", "-s"]);
    out.ok();
    let kibana = out.silent_value();
    assert_eq!(api.get("/_security/_authenticate", "kibana_system", &kibana)["username"], "kibana_system");
    let alice = json!({ "password": ALICE, "roles": ["viewer"], "full_name": "Alice A", "metadata": { "team": "x" } });
    assert_eq!(api.put("/_security/user/alice", "elastic", &pw2, alice), 200);
    let out = reset(&home, &["-u", "alice", "-b", "-s"]);
    out.ok();
    let alice_pw = out.silent_value();
    assert_eq!(api.status("/_security/_authenticate", "alice", &alice_pw), 200);
    assert_eq!(api.status("/_security/_authenticate", "alice", ALICE), 401);
    let record = &api.get("/_security/user/alice", "elastic", &pw2)["alice"];
    assert_eq!(
        (record["full_name"].as_str(), record["metadata"]["team"].as_str()),
        (Some("Alice A"), Some("x"))
    );
    assert_eq!(record["roles"], json!(["viewer"]));

    // An unknown user changes nothing.
    reset(&home, &["-u", "nosuchuser", "-b"]).fails(67, "user [nosuchuser] does not exist");
    assert_eq!(home.snapshot("config"), config_before);
    assert_eq!(api.status("/", "elastic", &pw2), 200);
    // Internal users have no password.
    reset(&home, &["-u", "_system", "-b"]).fails(67, "internal");

    // Interrupted while it waits for the node to accept the temporary user: the user goes.
    let child = bulwark_testkit::command(&home.path())
        .args(["reset-password", "-u", "elastic", "-b"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !realm_files(&home).0.is_some_and(|u| u.contains("bulwark_reset_")) {
        assert!(std::time::Instant::now() < deadline, "the temporary user never appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
    Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    assert_eq!(home.snapshot("config"), config_before, "no credential left behind");
    assert_eq!(api.status("/", "elastic", &pw2), 200);

    // Nothing secret reached the node's log or audit trail.
    let logs = home.snapshot("logs");
    for secret in [&pw, &pw2, &kibana, &alice_pw] {
        assert!(logs.values().all(|bytes| !String::from_utf8_lossy(bytes).contains(secret.as_str())));
    }
    s.node.stop();
}

#[test]
fn on_a_stopped_node_into_the_store() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let api = Api::new(s.port, &s.ca);
    let alice = json!({ "password": ALICE, "roles": ["viewer"], "full_name": "Alice A" });
    assert_eq!(api.put("/_security/user/alice", "elastic", &s.password, alice), 200);
    assert_eq!(api.put("/_security/user/alice/_disable", "elastic", &s.password, json!({})), 200);
    assert_eq!(api.put("/_security/user/alice/_enable", "elastic", &s.password, json!({})), 200);
    s.node.stop();
    let config_before = home.snapshot("config");

    let out = reset(&home, &["-u", "elastic", "-b"]);
    out.ok();
    let elastic = out.new_value("elastic");
    assert!(out.stderr.contains("next start"), "{}", out.stderr);
    let out = reset(&home, &["-u", "alice", "-b", "-s"]);
    out.ok();
    let alice_pw = out.silent_value();
    assert!(out.stderr.is_empty(), "-s prints nothing else: {}", out.stderr);
    reset(&home, &["-u", "nosuchuser", "-b"]).fails(67, "user [nosuchuser] does not exist");
    reset(&home, &["-u", "elastic", "-b", "--url", "https://localhost:1"]).fails(69, "cannot reach the node");
    reset(&home, &["-u", "elastic"]).fails(64, "pass -b");
    reset(&home, &["-u", "elastic", "-i", "-b"]).fails(64, "terminal");
    let both = reset(&home, &["-u", "elastic", "-i", "-a", "-b"]);
    assert_eq!(both.code, 64, "{}", both.stderr);
    assert!(both.stderr.contains("cannot be used with"), "{}", both.stderr);
    assert_eq!(home.snapshot("config"), config_before, "the stopped path does not touch config/");

    let mut node = Node::spawn(&home, &[], &[]);
    node.wait_ready(&s.ca, "elastic", &elastic);
    let api = Api::new(node.port(), &s.ca);
    assert_eq!(api.status("/", "elastic", &s.password), 401, "the old password no longer works");
    assert_eq!(api.status("/_security/_authenticate", "alice", &alice_pw), 200);
    assert_eq!(api.status("/_security/_authenticate", "alice", ALICE), 401);
    let record = &api.get("/_security/user/alice", "elastic", &elastic)["alice"];
    assert_eq!((record["full_name"].as_str(), record["enabled"].as_bool()), (Some("Alice A"), Some(true)));
    assert_eq!(record["roles"], json!(["viewer"]));
    node.stop();
}

#[test]
fn never_started_home_is_refused_without_creating_anything() {
    let home = TestHome::new();
    reset(&home, &["-u", "elastic", "-b"]).fails(69, "no node has been started from this home");
    assert!(!home.path().join("data").exists());
}

/// Runs `bulwark reset-password ARGS` on a terminal, answering `(prompt, answer)` in order;
/// returns the exit code and the transcript.
fn on_terminal(home: &TestHome, args: &[&str], dialogue: &[(&str, &str)]) -> (i32, String) {
    let steps = serde_json::to_string(dialogue).unwrap();
    let out = Command::new("python3")
        .arg("-c")
        .arg(bulwark_testkit::PTY_DRIVER)
        .arg(steps)
        .arg(bulwark_testkit::binary())
        .arg("--home")
        .arg(home.path())
        .arg("--allow-root")
        .arg("reset-password")
        .args(args)
        .env_remove("BULWARK_HOME")
        .stdin(Stdio::null())
        .output()
        .expect("python3 runs the terminal driver");
    let transcript = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "terminal driver failed ({:?}):\n{transcript}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let code = transcript
        .rsplit_once("__EXIT=")
        .and_then(|(_, rest)| rest.split_once("__"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no exit code in:\n{transcript}"));
    (code, transcript)
}

const CONFIRM: &str = "Please confirm that you would like to continue [y/N]";

#[test]
fn on_a_terminal_confirms_and_asks_twice() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let api = Api::new(s.port, &s.ca);

    // Declining changes nothing.
    let (code, transcript) = on_terminal(&home, &["-u", "elastic"], &[(CONFIRM, "n")]);
    assert_eq!(code, 0, "{transcript}");
    assert!(transcript.contains("to an autogenerated value"), "{transcript}");
    assert!(transcript.contains("User cancelled operation"), "{transcript}");
    assert_eq!(api.status("/", "elastic", &s.password), 200);

    // -i on the running node: a refused password, a mismatch, then the same password twice.
    let chosen = "crimson-lattice-harbor-91";
    let (code, transcript) = on_terminal(
        &home,
        &["-u", "elastic", "-i"],
        &[
            (CONFIRM, "y"),
            ("Enter password for [elastic]:", "short"),
            ("Enter password for [elastic]:", chosen),
            ("Re-enter password for [elastic]:", "something-else-entirely"),
            ("Enter password for [elastic]:", chosen),
            ("Re-enter password for [elastic]:", chosen),
        ],
    );
    assert_eq!(code, 0, "{transcript}");
    assert!(transcript.contains("You will be prompted to enter the password."), "{transcript}");
    assert!(transcript.contains("passwords must be at least [12] characters long"), "{transcript}");
    assert!(transcript.contains("Passwords do not match."), "{transcript}");
    assert!(transcript.contains("Password for the [elastic] user successfully reset."), "{transcript}");
    assert!(!transcript.contains("New value"), "{transcript}");
    assert!(!transcript.contains(chosen), "typed passwords are not echoed: {transcript}");
    assert_eq!(api.status("/", "elastic", chosen), 200);
    assert_eq!(api.status("/", "elastic", &s.password), 401);
    s.node.stop();

    // -i on the stopped node, confirmed too.
    let again = "amber-quartz-meadow-58";
    let (code, transcript) = on_terminal(
        &home,
        &["-u", "elastic", "-i"],
        &[
            (CONFIRM, "y"),
            ("Enter password for [elastic]:", again),
            ("Re-enter password for [elastic]:", again),
        ],
    );
    assert_eq!(code, 0, "{transcript}");
    let mut node = Node::spawn(&home, &[], &[]);
    node.wait_ready(&s.ca, "elastic", again);
    node.stop();
}
