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
    "autoconfig.write-probe",
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
    for leftover in [
        ".autoconfig-journal.json",
        "bulwark.yml.autoconfig-backup",
        "bulwark.keystore.autoconfig-backup",
        ".bulwark-write-probe",
    ] {
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

/// The last "search indices opened" line of the node log, as JSON.
fn last_open_report(home: &TestHome) -> serde_json::Value {
    let log = home.log();
    let line = log.lines().rev().find(|l| l.contains("search indices opened")).unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("no open report ({e}) in:\n{log}"))
}

/// How many store files the node said, so far, it checked page by page: `(all, because they were
/// not closed cleanly, because they changed after their clean close)`.
fn page_walks(home: &TestHome) -> (usize, usize, usize) {
    let log = home.log();
    let count = |why: &str| log.matches(&format!("checking every page of the store file{why}")).count();
    (count(""), count(" (it was not closed cleanly)"), count(" (it changed after it was closed cleanly)"))
}

/// The page walks of the start since `before` (see [`page_walks`]).
fn walks_since(home: &TestHome, before: (usize, usize, usize)) -> (usize, usize, usize) {
    let now = page_walks(home);
    (now.0 - before.0, now.1 - before.1, now.2 - before.2)
}

/// `(rebuilt indices, replayed documents)` of the last start.
fn replay_counts(home: &TestHome) -> (u64, u64) {
    let r = last_open_report(home);
    (r["rebuilt"].as_u64().unwrap_or(u64::MAX), r["replayed_documents"].as_u64().unwrap_or(u64::MAX))
}

/// What each start of the node logged about its search indices and the store's position, for a
/// failing assertion's message.
fn starts(home: &TestHome) -> String {
    let keep = ["search indices opened", "rebuilding the search index", "this node is the leader"];
    let log = home.log();
    let lines: Vec<&str> = log.lines().filter(|l| keep.iter().any(|k| l.contains(k))).collect();
    lines.join("\n")
}

/// Sends `_bulk` lines as `elastic`; the response, or the transport error.
fn bulk(
    client: &bulwark_testkit::Client,
    password: &str,
    lines: &[serde_json::Value],
) -> Result<serde_json::Value, String> {
    let mut body = String::new();
    for l in lines {
        body.push_str(&l.to_string());
        body.push('\n');
    }
    let (status, _, bytes) = client
        .send(
            "POST",
            "/_bulk?refresh=true",
            Some(("elastic", password)),
            Some("application/x-ndjson"),
            body.into_bytes(),
        )
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if status != 200 || v["errors"] != false {
        return Err(format!("{status}: {v}"));
    }
    Ok(v)
}

/// The ids of every document `path` (an index or alias) finds, sorted, duplicates kept.
fn searched_ids(client: &bulwark_testkit::Client, password: &str, path: &str) -> Vec<String> {
    let body = serde_json::json!({"size": 1000, "_source": false, "query": {"match_all": {}}});
    let (status, v) = client
        .call("POST", &format!("/{path}/_search?track_total_hits=true"), ("elastic", password), Some(&body))
        .expect("search");
    assert_eq!(status, 200, "{v}");
    let hits = v["hits"]["hits"].as_array().cloned().unwrap_or_default();
    assert_eq!(v["hits"]["total"]["value"].as_u64(), Some(hits.len() as u64), "{v}");
    let mut ids: Vec<String> = hits.iter().filter_map(|h| h["_id"].as_str().map(str::to_owned)).collect();
    ids.sort();
    ids
}

fn ids(prefix: &str, range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i:03}")).collect()
}

/// Everything a restart must find: `a` (also through the alias `al`) and `b` hold exactly the
/// expected ids, each once, and `rewritten` documents carry the value the killed batch wrote.
fn assert_searchable(
    client: &bulwark_testkit::Client,
    password: &str,
    (a, b, rewritten): (&[String], &[String], u64),
    when: &str,
) {
    let mut a = a.to_vec();
    a.sort();
    assert_eq!(searched_ids(client, password, "a"), a, "{when}: index a");
    assert_eq!(searched_ids(client, password, "al"), a, "{when}: alias al");
    assert_eq!(searched_ids(client, password, "b"), b, "{when}: index b");
    let body = serde_json::json!({"query": {"term": {"v": 2}}});
    let (status, v) = client.call("POST", "/a/_count", ("elastic", password), Some(&body)).expect("count");
    assert_eq!((status, v["count"].as_u64()), (200, Some(rewritten)), "{when}: rewritten documents: {v}");
}

/// Issue 18: a `_bulk` killed after the store committed it and before the search index did
/// (`indices.store-committed`) is replayed from the store's log at the next start: every
/// acknowledged document — and the unacknowledged batch, which the store holds — is searchable
/// exactly once, deletes and rewrites included. A clean restart replays nothing and rebuilds
/// nothing; a missing or unreadable index directory is rebuilt from the store.
#[test]
fn a_write_killed_between_the_store_and_the_search_index_is_replayed_once() {
    use serde_json::json;
    let home = TestHome::new();
    let s = bulwark_testkit::start_fresh(&home, &[]);
    let (ca, password) = (s.ca.clone(), s.password.clone());
    let mut lines = Vec::new();
    for id in ids("a", 0..300) {
        lines.push(json!({"index": {"_index": "a", "_id": id}}));
        lines.push(json!({"v": 1, "text": format!("document {id}")}));
    }
    for id in ids("b", 0..100) {
        lines.push(json!({"index": {"_index": "b", "_id": id}}));
        lines.push(json!({"v": 1}));
    }
    bulk(&s.client, &password, &lines).expect("first bulk");
    let deletes: Vec<_> =
        ids("a", 0..10).into_iter().map(|id| json!({"delete": {"_index": "a", "_id": id}})).collect();
    bulk(&s.client, &password, &deletes).expect("deletes");
    let alias = json!({"actions": [{"add": {"index": "a", "alias": "al"}}]});
    let (status, v) =
        s.client.call("POST", "/_aliases", ("elastic", &password), Some(&alias)).expect("alias");
    assert_eq!(status, 200, "{v}");
    let mut expected_a = ids("a", 10..300);
    let expected_b = ids("b", 0..100);
    assert_searchable(&s.client, &password, (&expected_a, &expected_b, 0), "before any restart");
    s.node.stop();
    let store = home.path().join("data").join("store");
    for file in ["raft-log.redb", "state.redb"] {
        assert!(store.join(format!("{file}.closed")).exists(), "a stop records {file}'s clean close");
    }
    let store_copy = home.path().join("store-copy");
    copy_dir(&store, &store_copy);

    // Killed after the store committed the next bulk, before the search index saw it.
    let walks = page_walks(&home);
    let mut node = Node::spawn(&home, &[], &[("BULWARK_TEST_CRASH_AT", "indices.store-committed")]);
    let client = node.wait_ready(&ca, "elastic", &password);
    assert_eq!(
        walks_since(&home, walks),
        (0, 0, 0),
        "files closed cleanly are not walked again:\n{}",
        home.log()
    );
    assert_eq!(
        replay_counts(&home),
        (0, 0),
        "a clean restart replays and rebuilds nothing:\n{}",
        starts(&home)
    );
    let mut lines = Vec::new();
    for id in ids("a", 300..400) {
        lines.push(json!({"index": {"_index": "a", "_id": id}}));
        lines.push(json!({"v": 1}));
    }
    for id in ids("a", 10..20) {
        lines.push(json!({"delete": {"_index": "a", "_id": id}}));
    }
    for id in ids("a", 20..30) {
        lines.push(json!({"index": {"_index": "a", "_id": id}}));
        lines.push(json!({"v": 2}));
    }
    let crashed = bulk(&client, &password, &lines);
    assert!(crashed.is_err(), "the node answered instead of dying: {crashed:?}");
    let status = node.wait_exit(Duration::from_secs(30)).expect("the node died at the crash point");
    assert!(!status.success(), "{status}");
    drop(node);
    // The store committed the batch: it is there after the restart, once.
    expected_a.retain(|id| !ids("a", 10..20).contains(id));
    expected_a.extend(ids("a", 300..400));

    let walks = page_walks(&home);
    let mut node = Node::spawn(&home, &[], &[]);
    let client = node.wait_ready(&ca, "elastic", &password);
    assert_eq!(
        walks_since(&home, walks),
        (2, 2, 0),
        "both files are checked after the kill:\n{}",
        home.log()
    );
    assert_eq!(
        replay_counts(&home),
        (0, 120),
        "the killed batch is replayed, nothing else:\n{}",
        starts(&home)
    );
    assert_searchable(&client, &password, (&expected_a, &expected_b, 10), "after the crash");
    node.stop();

    let mut node = Node::spawn(&home, &[], &[]);
    let client = node.wait_ready(&ca, "elastic", &password);
    assert_eq!(replay_counts(&home), (0, 0), "the replay was committed:\n{}", starts(&home));
    assert_searchable(&client, &password, (&expected_a, &expected_b, 10), "after a clean restart");
    node.stop();

    // Missing, then unreadable: rebuilt from the store, saying so.
    let indices = home.path().join("data").join("indices");
    std::fs::remove_dir_all(&indices).expect("remove indices/");
    let mut node = Node::spawn(&home, &[], &[]);
    let client = node.wait_ready(&ca, "elastic", &password);
    assert_eq!(replay_counts(&home).0, 2, "{}", starts(&home));
    assert!(home.log().contains("there is no search index on disk"), "{}", home.log());
    assert_searchable(&client, &password, (&expected_a, &expected_b, 10), "after losing the index directory");
    node.stop();
    for dir in std::fs::read_dir(&indices).expect("indices/").flatten() {
        std::fs::write(dir.path().join("meta.json"), b"{not json").expect("damage meta.json");
    }
    let mut node = Node::spawn(&home, &[], &[]);
    let client = node.wait_ready(&ca, "elastic", &password);
    assert_eq!(replay_counts(&home).0, 2, "{}", starts(&home));
    assert!(home.log().contains("cannot be opened"), "{}", home.log());
    assert_searchable(
        &client,
        &password,
        (&expected_a, &expected_b, 10),
        "after damaging the index directory",
    );
    node.stop();

    // The store put back as it was before the killed batch: the indices are ahead of it and are
    // rebuilt to what it holds.
    std::fs::remove_dir_all(&store).expect("remove the store");
    copy_dir(&store_copy, &store);
    let walks = page_walks(&home);
    let mut node = Node::spawn(&home, &[], &[]);
    let client = node.wait_ready(&ca, "elastic", &password);
    assert_eq!(
        walks_since(&home, walks),
        (2, 0, 2),
        "files put back from a copy are checked page by page, whatever their records say:\n{}",
        home.log()
    );
    assert_eq!(replay_counts(&home).0, 2, "{}", starts(&home));
    assert!(home.log().contains("ahead of the store"), "{}", home.log());
    assert_searchable(&client, &password, (&ids("a", 10..300), &expected_b, 0), "after restoring the store");
    node.stop();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the directory").flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy a file");
    }
}
