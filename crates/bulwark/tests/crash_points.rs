//! Auto-configuration and keystore writes killed with SIGKILL at every named step and at random
//! moments (issue 14): the next start always ends fully configured, never half-configured, and a
//! keystore always opens with its password.
//!
//! Named steps use the debug-build hook `BULWARK_TEST_CRASH_AT` (see `bulwark_keystore::crash_point`);
//! random moments use a seeded delay (`CRASH_SEED=<n>` replays a run).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bulwark_testkit::{Node, SeededRng, TestHome, command, run};

/// Every step of a first start that writes state, in order.
const FIRST_START_STEPS: &[&str] = &[
    "autoconfig.journal-written",
    "keystore.temp-created",
    "keystore.half-written",
    "keystore.before-rename",
    "keystore.renamed",
    "autoconfig.certs-written",
    "autoconfig.certs-installed",
    "autoconfig.keystore-saved",
    "autoconfig.before-commit",
    "autoconfig.journal-removed",
    "autoconfig.done",
    "bootstrap.password-stored",
];
const STARTED: &str = "started; serving";
/// Rounds run side by side (the machine is small; more would only stretch every start).
const PARALLEL: usize = 4;

/// Runs `round(i)` for `0..n`, `PARALLEL` at a time, and lists every failure at once.
fn in_batches(n: usize, round: impl Fn(usize) -> Result<(), String> + Sync) {
    let failures: Vec<String> = (0..n)
        .collect::<Vec<_>>()
        .chunks(PARALLEL)
        .flat_map(|chunk| {
            std::thread::scope(|s| {
                let round = &round;
                let handles: Vec<_> = chunk.iter().map(|&i| s.spawn(move || round(i))).collect();
                handles
                    .into_iter()
                    .filter_map(|h| h.join().unwrap_or_else(|_| Err("panicked".into())).err())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    assert!(failures.is_empty(), "{} failed round(s):\n{}", failures.len(), failures.join("\n\n"));
}

/// Starts the node again on `home` and checks it ends configured: ready for `elastic` with the
/// delivered password over TLS that verifies against the generated CA, a keystore that opens,
/// one settings block, no journal or backups left.
fn assert_ends_configured(home: &TestHome) -> Result<(), String> {
    let before = home.log().matches(STARTED).count();
    let mut node = Node::spawn(home, &[], &[]);
    let deadline = Instant::now() + Duration::from_secs(240);
    while home.log().matches(STARTED).count() <= before {
        if let Some(status) = node.wait_exit(Duration::from_millis(20)) {
            return Err(format!("the next start exited with {status}:\n{}", home.log()));
        }
        if Instant::now() > deadline {
            return Err(format!("the next start never served:\n{}", home.log()));
        }
    }
    let creds = home.bootstrap_credentials().ok_or("no bootstrap-credentials")?;
    let password = creds.get("ELASTIC_PASSWORD").ok_or("no ELASTIC_PASSWORD")?;
    if !creds.contains_key("HTTP_CA_FINGERPRINT") {
        return Err(format!("no HTTP_CA_FINGERPRINT in the credentials: {:?}", creds.keys()));
    }
    let ca = std::fs::read(home.config("certs/http_ca.crt")).map_err(|e| format!("http_ca.crt: {e}"))?;
    // Ready means a TLS handshake that verified the node's certificate against the CA, then 200.
    let client = node.wait_ready(&ca, "elastic", password);
    let (status, ..) =
        client.get("/_security/_authenticate", Some(("elastic", password))).map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("_authenticate: {status}"));
    }
    node.stop();
    check_home_files(home)
}

fn check_home_files(home: &TestHome) -> Result<(), String> {
    let yml = std::fs::read_to_string(home.config("bulwark.yml")).map_err(|e| e.to_string())?;
    if yml.matches("BEGIN SECURITY AUTO CONFIGURATION").count() != 1 {
        return Err(format!("not exactly one security block:\n{yml}"));
    }
    for leftover in
        [".autoconfig-journal.json", "bulwark.yml.autoconfig-backup", "bulwark.keystore.autoconfig-backup"]
    {
        if home.config(leftover).exists() {
            return Err(format!("{leftover} left behind"));
        }
    }
    if home.config("certs.autoconfig-tmp").exists() {
        return Err("certs.autoconfig-tmp left behind".into());
    }
    let (code, out, err) = run(command(&home.path()).args(["keystore", "list"]).stdin(Stdio::null()));
    if code != 0 || !out.contains("xpack.security.http.ssl.keystore.secure_password") {
        return Err(format!("keystore list: {code}\n{out}{err}"));
    }
    Ok(())
}

#[test]
fn first_start_killed_at_each_named_step_ends_configured_next_time() {
    in_batches(FIRST_START_STEPS.len(), |i| {
        let step = FIRST_START_STEPS[i];
        let home = TestHome::new();
        let mut node = Node::spawn(&home, &[], &[("BULWARK_TEST_CRASH_AT", step)]);
        match node.wait_exit(Duration::from_secs(60)) {
            Some(status) if status.to_string().contains("signal: 9") => {}
            other => return Err(format!("[{step}] the crash hook was not hit: {other:?}\n{}", home.log())),
        }
        drop(node);
        assert_ends_configured(&home).map_err(|e| format!("[{step}] {e}"))
    });
}

#[test]
fn first_start_killed_at_random_moments_ends_configured_next_time() {
    // How long an undisturbed first start takes here, to spread the kills over it.
    let home = TestHome::new();
    let started = Instant::now();
    let mut node = Node::spawn(&home, &[], &[]);
    assert!(node.wait_for_log(STARTED), "{}", home.log());
    let span = started.elapsed().as_millis().clamp(200, 3_000) as u64;
    drop(node);
    println!("an undisturbed first start took {span} ms");

    let rng = std::sync::Mutex::new(SeededRng::from_env("CRASH_SEED"));
    let rounds = 50 - FIRST_START_STEPS.len();
    in_batches(rounds, |i| {
        let delay = rng.lock().unwrap().below(span);
        let home = TestHome::new();
        let mut node = Node::spawn(&home, &[], &[]);
        std::thread::sleep(Duration::from_millis(delay));
        node.kill9();
        drop(node);
        assert_ends_configured(&home).map_err(|e| format!("round {i}, killed after {delay} ms: {e}"))
    });
}

/// Secure settings the keystore accepts (it refuses names bulwark never reads).
const NAMES: &[&str] = &[
    "bootstrap.password",
    "xpack.security.http.ssl.keystore.secure_password",
    "xpack.security.http.ssl.truststore.secure_password",
    "xpack.security.transport.ssl.keystore.secure_password",
    "xpack.security.transport.ssl.truststore.secure_password",
];

/// `bulwark keystore add -x -f NAME` on `home` with `value` on standard input, not waited for.
fn spawn_add(home: &TestHome, name: &str, value: &str, env: &[(&str, &str)]) -> std::process::Child {
    let mut c: Command = command(&home.path());
    c.args(["keystore", "add", "-x", "-f", name]).env("KEYSTORE_PASSWORD", "right horse");
    c.envs(env.iter().copied()).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = c.spawn().expect("spawn keystore add");
    let _ = child.stdin.take().expect("stdin").write_all(format!("{value}\n").as_bytes());
    child
}

/// The names in the keystore, or why it did not open with its password.
fn keystore_names(home: &TestHome) -> Result<Vec<String>, String> {
    let mut c = command(&home.path());
    c.args(["keystore", "list"]).env("KEYSTORE_PASSWORD", "right horse").stdin(Stdio::null());
    let (code, out, err) = run(&mut c);
    if code != 0 {
        return Err(format!("the keystore does not open: exit {code}\n{out}{err}"));
    }
    Ok(out.lines().map(str::to_owned).collect())
}

fn keystore_value(home: &TestHome, name: &str) -> String {
    let mut c = command(&home.path());
    c.args(["keystore", "show", name]).env("KEYSTORE_PASSWORD", "right horse").stdin(Stdio::null());
    run(&mut c).1.trim().to_owned()
}

#[test]
fn keystore_add_killed_anywhere_leaves_a_keystore_that_opens() {
    let home = TestHome::new();
    let mut c = command(&home.path());
    c.args(["keystore", "create", "-p"]).env("KEYSTORE_PASSWORD", "right horse").stdin(Stdio::null());
    let (code, out, err) = run(&mut c);
    assert_eq!(code, 0, "{out}{err}");

    // Named steps first: each must have killed the command, and the keystore is old or new.
    let steps =
        ["keystore.temp-created", "keystore.half-written", "keystore.before-rename", "keystore.renamed"];
    assert!(spawn_add(&home, NAMES[0], "old", &[]).wait().unwrap().success());
    for step in steps {
        let before = keystore_names(&home).unwrap();
        let status = spawn_add(&home, NAMES[0], step, &[("BULWARK_TEST_CRASH_AT", step)]).wait().unwrap();
        assert!(status.to_string().contains("signal: 9"), "[{step}] not killed: {status}");
        let after = keystore_names(&home).unwrap_or_else(|e| panic!("[{step}] {e}"));
        assert_eq!(before, after, "[{step}]");
        let value = keystore_value(&home, NAMES[0]);
        let want = if step == "keystore.renamed" { step } else { "old" };
        assert_eq!(value, want, "[{step}] the keystore holds neither the old nor the new file");
        assert!(spawn_add(&home, NAMES[0], "old", &[]).wait().unwrap().success());
    }

    // How long one add takes, to spread the kills over it.
    let started = Instant::now();
    assert!(spawn_add(&home, NAMES[1], "timing", &[]).wait().unwrap().success());
    let span = started.elapsed().as_millis().clamp(50, 3_000) as u64;
    println!("one keystore add took {span} ms");
    let mut rng = SeededRng::from_env("CRASH_SEED");
    let deadline = Instant::now() + Duration::from_secs(240);
    for i in 0..26 {
        assert!(Instant::now() < deadline, "the rounds took too long");
        let before = keystore_names(&home).unwrap();
        let delay = rng.below(span);
        let mut child = spawn_add(&home, NAMES[i % NAMES.len()], &format!("value {i}"), &[]);
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let after =
            keystore_names(&home).unwrap_or_else(|e| panic!("round {i}, killed after {delay} ms: {e}"));
        assert!(before.iter().all(|n| after.contains(n)), "round {i}: lost entries");
    }
}
