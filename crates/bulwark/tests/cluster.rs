//! A three-node cluster of real `bulwark` processes on 127.0.0.2-4, formed by
//! `create-enrollment-token -s node` and `start --enrollment-token`: what is created on one node
//! is used on the others in the very next request, the leader is killed with SIGKILL round after
//! round without losing an acknowledged write, a restarted node catches up, and a node left
//! alone refuses writes with Elasticsearch's 503 while it keeps serving reads.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[path = "cluster/member.rs"]
mod member;

use bulwark_testkit::{Client, Node, TestHome, command, run};
use member::*;
use serde_json::{Value, json};

#[test]
fn three_nodes_formed_by_enrollment_share_everything_and_survive_losing_the_leader() {
    let mut m = form(0);
    for x in &m {
        let (s, h) = x.call("GET", "/_cluster/health", None);
        assert_eq!((s, h["number_of_nodes"].as_u64()), (200, Some(3)), "{} {h}", x.name);
        // The joined nodes' certificates name their own addresses (verified by this client).
        let (s, nodes) = x.call("GET", "/_cat/nodes?format=json", None);
        assert_eq!(s, 200);
        let ips: Vec<&str> = nodes.as_array().unwrap().iter().filter_map(|n| n["ip"].as_str()).collect();
        assert_eq!(ips.len(), 3, "{nodes}");
    }

    // Made on n1, used on n2 and n3 in the very next request.
    let (s, b) = m[0].call(
        "PUT",
        "/_security/role/logs_reader",
        Some(json!({"indices": [{"names": ["logs"], "privileges": ["read"]}]})),
    );
    assert_eq!(s, 200, "{b}");
    let (s, b) = m[0].call(
        "PUT",
        "/_security/user/carol",
        Some(json!({"password": "carol-password-1", "roles": ["logs_reader"]})),
    );
    assert_eq!(s, 200, "{b}");
    let (s, b) = m[2].call_as(("carol", "carol-password-1"), "GET", "/_security/_authenticate", None);
    assert_eq!((s, b["username"].as_str()), (200, Some("carol")), "{b}");
    let (s, b) = m[0].call("PUT", "/logs/_doc/first", Some(json!({"msg": "made on n1"})));
    assert_eq!(s, 201, "{b}");
    let (s, b) = m[1].call_as(("carol", "carol-password-1"), "GET", "/logs/_doc/first", None);
    assert_eq!((s, &b["_source"]["msg"]), (200, &json!("made on n1")), "{b}");
    let (s, _) = m[1].call_as(("carol", "carol-password-1"), "PUT", "/logs/_doc/nope", Some(json!({})));
    assert_eq!(s, 403, "the role made on n1 limits carol on n2");
    let (s, key) = m[1].call("POST", "/_security/api_key", Some(json!({"name": "k"})));
    assert_eq!(s, 200, "{key}");
    let encoded = key["encoded"].as_str().unwrap().to_owned();
    let (s, _, _) = m[2]
        .client()
        .call_with("GET", "/_security/_authenticate", &format!("ApiKey {encoded}"), &[], None)
        .unwrap();
    assert_eq!(s, 200, "an API key made on n2 authenticates on n3");
    // An index made through one node is there on the others in the very next request: a write
    // through a second node and a search (after a refresh there) through a third find it.
    for i in 0..12usize {
        let name = format!("fresh-{i}");
        let (s, b) = m[i % 3].call(
            "PUT",
            &format!("/{name}"),
            Some(json!({"mappings": {"properties": {"n": {"type": "long"}}}})),
        );
        assert_eq!(s, 200, "{b}");
        let (s, b) = m[(i + 1) % 3].call("PUT", &format!("/{name}/_doc/1"), Some(json!({"n": i})));
        assert_eq!(s, 201, "{name} written through {} right after its creation: {b}", m[(i + 1) % 3].name);
        let (s, b) = m[(i + 2) % 3].call("POST", &format!("/{name}/_refresh"), None);
        assert_eq!(s, 200, "{b}");
        let (s, b) = m[(i + 2) % 3].call("GET", &format!("/{name}/_search?q=n:{i}"), None);
        assert_eq!(
            (s, &b["hits"]["total"]["value"]),
            (200, &json!(1)),
            "{name} on {}: {b}",
            m[(i + 2) % 3].name
        );
    }

    // A `_bulk` of about 1.3 MB through a follower is written as several log entries (each
    // within a replication call's budget), in order: an id written early and changed again at the
    // end of the request ends as the last item left it, on every node.
    let filler = "lorem ipsum dolor sit amet ".repeat(14);
    let mut body = String::new();
    for i in 0..3_000 {
        body.push_str(&format!(
            "{}\n{}\n",
            json!({"index": {"_index": "big", "_id": format!("big-{i}")}}),
            json!({"i": i, "text": filler})
        ));
    }
    body.push_str(&format!("{}\n", json!({"delete": {"_index": "big", "_id": "big-0"}})));
    body.push_str(&format!(
        "{}\n{}\n",
        json!({"index": {"_index": "big", "_id": "big-1"}}),
        json!({"i": -1, "text": "last"})
    ));
    assert!(body.len() > 1_200_000, "{}", body.len());
    let via = (0..3).find(|i| leader(&m[*i]).as_deref() != Some(m[*i].name.as_str())).unwrap();
    let (s, _, b) = m[via]
        .client()
        .send("POST", "/_bulk", Some(("elastic", PASSWORD)), Some("application/x-ndjson"), body.into_bytes())
        .expect("_bulk");
    let b: Value = serde_json::from_slice(&b).unwrap();
    let failed =
        b["items"].as_array().and_then(|i| i.iter().find(|i| i.to_string().contains("\"error\""))).cloned();
    assert_eq!((s, &b["errors"]), (200, &json!(false)), "{failed:?}");
    assert_eq!(b["items"].as_array().map(Vec::len), Some(3_002));
    let other = &m[(via + 1) % 3];
    let (s, _) = other.call("POST", "/big/_refresh", None);
    assert_eq!(s, 200);
    let (s, c) = other.call("GET", "/big/_count", None);
    assert_eq!((s, &c["count"]), (200, &json!(2_999)), "{c}");
    let (s, d) = other.call("GET", "/big/_doc/big-1", None);
    assert_eq!((s, &d["_source"]["text"], &d["_version"]), (200, &json!("last"), &json!(2)), "{d}");
    assert_eq!(other.call("GET", "/big/_doc/big-0", None).0, 404);

    // Search on another node answers the same once its index caught up (bounded).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, b) = m[2].call("GET", "/logs/_search?q=msg:n1", None);
        if s == 200 && b["hits"]["total"]["value"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "n3 never found the document: {b}");
        m[2].call("POST", "/logs/_refresh", None);
        std::thread::sleep(Duration::from_millis(100));
    }

    // Ten rounds: kill -9 the leader, write through a survivor until it is acknowledged, read
    // every acknowledged write back on every live node, restart the killed node.
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    let started = Instant::now();
    for round in 0..10u64 {
        let name = (0..3).find_map(|i| m[i].node.as_ref().and(leader(&m[i]))).expect("a leader");
        let li = m.iter().position(|x| x.name == name).unwrap();
        m[li].kill9();
        let via = (li + 1) % 3;
        let id = format!("round-{round}");
        let deadline = Instant::now() + ROUND_TIMEOUT;
        loop {
            let (s, b) = m[via].call("PUT", &format!("/logs/_doc/{id}"), Some(json!({"round": round})));
            if s == 200 || s == 201 {
                break;
            }
            assert!(Instant::now() < deadline, "round {round}: writes did not resume: {s} {b}");
            assert!(s == 503 || s == 0, "round {round}: unexpected {s} {b}");
        }
        acked.insert(id, round);
        for x in m.iter().filter(|x| x.node.is_some()) {
            for (id, r) in &acked {
                let (s, b) = x.call("GET", &format!("/logs/_doc/{id}"), None);
                assert_eq!(
                    (s, &b["_source"]["round"]),
                    (200, &json!(r)),
                    "round {round}: {} lost {id}",
                    x.name
                );
            }
        }
        m[li].start(None);
        // The restarted node catches up: it serves every acknowledged write (bounded).
        let last = format!("round-{round}");
        let deadline = Instant::now() + ROUND_TIMEOUT;
        loop {
            let (s, b) = m[li].call("GET", &format!("/logs/_doc/{last}"), None);
            if s == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: restarted {} did not catch up: {b}",
                m[li].name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    eprintln!("10 leader kills in {:?}", started.elapsed());

    // A node left alone refuses writes with a 503 in bounded time, and still serves reads.
    m[0].kill9();
    m[1].kill9();
    let t = Instant::now();
    let (s, b) = m[2].call("PUT", "/logs/_doc/alone", Some(json!({})));
    assert_eq!(s, 503, "{b}");
    assert_eq!(b["error"]["type"], "cluster_block_exception", "{b}");
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    let (s, _) = m[2].call("GET", "/logs/_doc/first", None);
    assert_eq!(s, 200);

    // Full-cluster restart: every member comes back with its membership.
    m[2].kill9();
    for x in m.iter_mut() {
        x.start(None);
    }
    let deadline = Instant::now() + ROUND_TIMEOUT;
    loop {
        let (s, b) = m[1].call("PUT", "/logs/_doc/after-restart", Some(json!({})));
        if s == 201 {
            break;
        }
        assert!(Instant::now() < deadline, "the restarted cluster takes no writes: {s} {b}");
    }
    let (s, h) = m[2].call("GET", "/_cluster/health", None);
    assert_eq!((s, h["number_of_nodes"].as_u64()), (200, Some(3)), "{h}");
}

/// `POST /_cluster/voting_config_exclusions` takes two nodes out of the voting configuration
/// (asked on a follower, carried out by the leader), so the leader alone still takes writes
/// when both are killed; `DELETE` readmits them, after which the two outvote the old leader.
/// Also `_nodes/stats` across the members, with all up and with two that cannot answer.
#[test]
fn voting_config_exclusions_remove_and_readmit_voters() {
    let mut m = form(30);
    every_member_answers_nodes_stats(&m);
    let (s, b) = m[0].call("POST", "/_cluster/voting_config_exclusions", None);
    assert_eq!((s, &b["error"]["type"]), (400, &json!("illegal_argument_exception")), "{b}");
    assert!(
        b["error"]["reason"].as_str().unwrap().contains("One and only one of [node_names] and [node_ids]")
    );
    let (s, b) = m[0].call("POST", "/_cluster/voting_config_exclusions?node_names=n31&node_ids=x", None);
    assert_eq!(s, 400, "both names and ids: {b}");
    let (s, b) = m[0].call("POST", "/_cluster/voting_config_exclusions?node_names=nobody", None);
    assert_eq!(s, 400, "an unknown node: {b}");
    let (s, b) = m[0].call("DELETE", "/_cluster/voting_config_exclusions?wait_for_removal=maybe", None);
    assert_eq!(s, 400, "{b}");

    let name = (0..3).find_map(|i| leader(&m[i])).expect("a leader");
    let li = m.iter().position(|x| x.name == name).unwrap();
    let others: Vec<usize> = (0..3).filter(|i| *i != li).collect();
    assert_eq!(voting(&m[li]).0.len(), 3);
    // Asked on a follower, by the ids `_cluster/state` reports.
    let (s, st) = m[others[0]].call("GET", "/_cluster/state/nodes", None);
    assert_eq!(s, 200, "{st}");
    let ids: Vec<String> = others
        .iter()
        .map(|i| {
            let nodes = st["nodes"].as_object().unwrap();
            nodes.iter().find(|(_, n)| n["name"] == json!(m[*i].name)).expect("listed").0.clone()
        })
        .collect();
    let url = format!("/_cluster/voting_config_exclusions?node_ids={}&timeout=20s", ids.join(","));
    let (s, b) = m[others[0]].call("POST", &url, None);
    assert_eq!((s, &b), (200, &Value::Null), "an empty 200");
    let mut excluded: Vec<String> = others.iter().map(|i| m[*i].name.clone()).collect();
    excluded.sort();
    for x in &m {
        let (voters, ex) = voting(x);
        assert_eq!(voters.len(), 1, "{}: {voters:?}", x.name);
        assert_eq!(ex, excluded, "{}", x.name);
    }
    // The leader is the only voter: it takes writes with both others down.
    for i in &others {
        m[*i].kill9();
    }
    let (s, b) = m[li].call("PUT", "/logs/_doc/alone", Some(json!({"n": 1})));
    assert_eq!(s, 201, "{b}");

    // Back up (as learners, catching up), then readmitted through a follower.
    for i in &others {
        m[*i].start(None);
    }
    let (s, b) = m[others[1]].call("DELETE", "/_cluster/voting_config_exclusions", None);
    assert_eq!((s, &b), (200, &Value::Null), "an empty 200");
    for x in &m {
        let (voters, ex) = voting(x);
        assert_eq!((voters.len(), ex.len()), (3, 0), "{}: {voters:?} {ex:?}", x.name);
    }
    // The two readmitted voters are a majority without the old leader.
    m[li].kill9();
    let deadline = Instant::now() + ROUND_TIMEOUT;
    loop {
        let (s, b) = m[others[0]].call("PUT", "/logs/_doc/after", Some(json!({"n": 2})));
        if s == 201 {
            break;
        }
        assert!(Instant::now() < deadline, "the readmitted voters take no writes: {s} {b}");
        assert!(s == 503 || s == 0, "unexpected {s} {b}");
    }
    let (s, b) = m[others[1]].call("GET", "/logs/_doc/alone", None);
    assert_eq!((s, &b["_source"]["n"]), (200, &json!(1)), "{b}");

    // `_nodes/stats` on the last survivor: the killed leader is refused at once, a member that
    // stopped answering (SIGSTOP) is reported failed once `timeout` passed, not waited for.
    let stopped = m[others[1]].node.as_ref().unwrap().pid().to_string();
    let (code, out, err) = run(std::process::Command::new("kill").args(["-STOP", &stopped]));
    assert_eq!(code, 0, "{out}{err}");
    let started = Instant::now();
    let (s, st) = m[others[0]].call("GET", "/_nodes/stats?timeout=2s", None);
    let took = started.elapsed();
    let (code, out, err) = run(std::process::Command::new("kill").args(["-CONT", &stopped]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(s, 200, "{st}");
    assert!(took < Duration::from_secs(8), "waited {took:?} for members that cannot answer: {st}");
    assert_eq!(
        (&st["_nodes"]["total"], &st["_nodes"]["successful"], &st["_nodes"]["failed"]),
        (&json!(3), &json!(1), &json!(2)),
        "{st}"
    );
    let nodes = st["nodes"].as_object().unwrap();
    assert_eq!(
        nodes.values().map(|n| n["name"].clone()).collect::<Vec<_>>(),
        [json!(m[others[0]].name)],
        "{st}"
    );
    let mut causes: Vec<(String, String)> = st["_nodes"]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["type"], "failed_node_exception", "{f}");
            assert_eq!(
                f["reason"],
                json!(format!("Failed node [{}]", f["node_id"].as_str().unwrap())),
                "{f}"
            );
            (
                f["caused_by"]["type"].as_str().unwrap().to_owned(),
                f["caused_by"]["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    causes.sort();
    assert_eq!(causes[0].0, "connect_transport_exception", "the killed one: {st}");
    assert!(causes[0].1.starts_with(&format!("[{}][{}:", m[li].name, m[li].ip)), "{st}");
    assert_eq!(causes[1].0, "receive_timeout_transport_exception", "the stopped one: {st}");
    assert!(causes[1].1.contains("timed out after [2000ms]"), "{st}");
}

/// `_nodes/stats` asked on any member answers for every member, each with its own numbers
/// (gathered over the transport), and honours the node filters and metrics.
fn every_member_answers_nodes_stats(m: &[Member]) {
    let (s, info) = m[2].call("GET", "/_nodes", None);
    assert_eq!(s, 200, "{info}");
    let ids: BTreeMap<String, String> = info["nodes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, n)| (n["name"].as_str().unwrap().to_owned(), id.clone()))
        .collect();
    let (s, st) = m[2].call("GET", "/_nodes/stats", None);
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["_nodes"], json!({"total": 3, "successful": 3, "failed": 0}), "{st}");
    let nodes = st["nodes"].as_object().unwrap();
    let mut uptime = Vec::new();
    for x in m {
        let n = &nodes[&ids[&x.name]];
        assert_eq!(n["name"], json!(x.name), "{st}");
        assert_eq!(n["ip"], json!(x.ip), "{st}");
        assert!(n["process"]["mem"]["resident_in_bytes"].as_u64().unwrap() > 0, "{st}");
        uptime.push(n["jvm"]["uptime_in_millis"].as_u64().unwrap());
    }
    // Each node's own numbers: they were started one after the other, so uptimes are ordered.
    assert!(uptime[0] > uptime[1] && uptime[1] > uptime[2], "{uptime:?}: {st}");
    let (s, one) = m[0].call("GET", &format!("/_nodes/{}/stats/process", m[1].name), None);
    assert_eq!((s, &one["_nodes"]["total"]), (200, &json!(1)), "{one}");
    let n = &one["nodes"][&ids[&m[1].name]];
    assert!(n["process"]["open_file_descriptors"].as_u64().unwrap() > 0, "{one}");
    assert!(n.get("indices").is_none(), "only the metric asked for: {one}");
    let (s, local) = m[1].call("GET", "/_nodes/_local/stats", None);
    assert_eq!(s, 200, "{local}");
    assert_eq!(local["nodes"].as_object().unwrap().keys().collect::<Vec<_>>(), [&ids[&m[1].name]], "{local}");
}

/// `*.publish_host`: auto-configuration puts them in the certificates' SANs, the node
/// advertises `transport.publish_host` to its cluster, and a wildcard publish host stops the
/// start naming the setting.
#[test]
fn publish_hosts_are_named_by_the_certificates_and_advertised() {
    let mut m = Member::new(40);
    for (k, v) in [
        ("http.publish_host", "127.0.0.43"),
        ("transport.publish_host", "127.0.0.44"),
        ("network.publish_host", "127.0.0.45"),
    ] {
        m.extra.extend(["-E".to_owned(), format!("{k}={v}")]);
    }
    m.start(None);
    let script = format!(
        "openssl s_client -connect {}:{} </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName",
        m.ip, m.port
    );
    let (code, out, err) = run(std::process::Command::new("sh").args(["-c", &script]));
    assert_eq!(code, 0, "{err}");
    for ip in [&m.ip, "127.0.0.43", "127.0.0.44", "127.0.0.45"] {
        assert!(out.contains(&format!("IP Address:{ip}")), "{ip} missing from the HTTP certificate: {out}");
    }
    let (s, nodes) = m.call("GET", "/_cat/nodes?format=json", None);
    assert_eq!((s, &nodes[0]["ip"]), (200, &json!("127.0.0.44")), "{nodes}");
    let (s, st) = m.call("GET", "/_cluster/state/nodes", None);
    assert_eq!(s, 200, "{st}");
    let addresses: Vec<&str> =
        st["nodes"].as_object().unwrap().values().filter_map(|n| n["transport_address"].as_str()).collect();
    assert!(addresses.len() == 1 && addresses[0].starts_with("127.0.0.44:"), "{st}");

    let home = TestHome::new();
    let mut a = args("127.0.0.46", "wild");
    a.extend(["-E".to_owned(), "transport.publish_host=0.0.0.0".to_owned()]);
    let (code, out, err) = run(command(&home.path()).arg("start").args(&a));
    assert_ne!(code, 0);
    assert!(
        format!("{out}{err}").contains("[transport.publish_host] is [0.0.0.0], a wildcard"),
        "{out}{err}"
    );
}

/// Rogue nodes, each a real `bulwark start` with `discovery.seed_hosts` pointing at the
/// cluster and a transport certificate made by hand: one from another CA, one from the
/// cluster's CA but revoked, one from the cluster's CA naming another address. The cluster
/// refuses each at the transport (logged once per address and audited as `connection_denied`);
/// each keeps retrying discovery as an Elasticsearch node does, warning every 10 seconds, and
/// none holds anything of the cluster's. The control, a certificate from the cluster's CA naming
/// the node's own address, first advertises an address where it does not listen (the join fails
/// naming the check and its store is emptied again), then joins and serves the cluster's data.
#[test]
fn rogue_nodes_are_refused_at_the_transport_and_never_see_data() {
    let mut first = Member::new(50);
    first.start(None);
    let (s, b) = first.call("PUT", "/secret/_doc/1", Some(json!({"msg": "the cluster's data"})));
    assert_eq!(s, 201, "{b}");
    let (s, st) = first.call("GET", "/_cluster/state/nodes", None);
    assert_eq!(s, 200, "{st}");
    let seed = st["nodes"].as_object().unwrap().values().next().unwrap()["transport_address"]
        .as_str()
        .unwrap()
        .to_owned();

    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (code, ca_pass, err) = run(command(&first.home.path()).args([
        "keystore",
        "show",
        "autoconfiguration.transport_ca.secure_password",
    ]));
    assert_eq!(code, 0, "{err}");
    let ca = first.home.config("certs/transport_ca.p12").display().to_string();
    let ca_args = ["--ca", ca.as_str(), "--ca-pass", ca_pass.trim()];
    certutil(&first.home, dir, &["ca", "--pem", "--out", "other-ca.zip"]);
    let other_ca = ["--ca-cert", "ca/ca.crt", "--ca-key", "ca/ca.key"];
    let make = |name: &str, ip: &str, signer: &[&str]| {
        let zip = format!("{name}.zip");
        let mut a = vec!["cert", "--pem", "--name", name, "--ip", ip, "--out", zip.as_str()];
        a.extend(signer);
        certutil(&first.home, dir, &a);
    };
    make("other", "127.0.0.53", &other_ca);
    // The other CA's files move aside before the cluster's CA certificate lands in ca/.
    std::fs::rename(dir.join("ca"), dir.join("other-ca")).unwrap();
    make("revoked", "127.0.0.54", &ca_args);
    make("misnamed", "127.0.0.99", &ca_args);
    make("valid", "127.0.0.56,127.0.0.57", &ca_args);

    // Revoke one certificate, and wait (bounded) until the transport refuses it.
    let (_, serial, _) = run(std::process::Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in", "revoked/revoked.crt"])
        .current_dir(dir));
    let serial = serial.trim().trim_start_matches("serial=").to_owned();
    let (s, b) = first.call(
        "POST",
        "/_ssl/certificates/_revoke",
        Some(json!({"authority": "transport_ca", "serial_number": serial})),
    );
    assert_eq!(s, 200, "{b}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !first.home.log().contains("revocation list of [transport_ca] (1 revoked)") {
        assert!(
            Instant::now() < deadline,
            "the revocation never reached the transport: {}",
            first.home.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Each rogue starts and, like an Elasticsearch node that cannot join, keeps asking its seed,
    // saying why at WARN every 10 seconds; it never opens a store.
    let rogues = [
        ("other", "127.0.0.53", "UnknownIssuer"),
        ("revoked", "127.0.0.54", "Revoked"),
        ("misnamed", "127.0.0.55", "does not name the address it connects from"),
    ];
    let mut running = Vec::new();
    for (name, ip, _) in rogues {
        let home = hand_made_home(dir, name, &seed);
        let a = args(ip, name);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let node = Node::spawn(&home, &a, &[]);
        running.push((home, node));
    }
    for ((name, ip, why), (home, node)) in rogues.iter().zip(running.iter_mut()) {
        assert!(node.wait_for_log("cluster not discovered yet"), "{name}: {}", home.log());
        assert!(node.wait_exit(Duration::ZERO).is_none(), "{name} stopped: {}", home.log());
        assert!(home.log().contains("admitted it over the transport"), "{name}: {}", home.log());

        // The cluster logged the refusal once, with the reason, and audited it.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = first.home.log();
            let lines: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("refused a connection") && l.contains(&format!("{ip}:")))
                .collect();
            let audit = std::fs::read_to_string(first.home.path().join("logs").join("audit.json"))
                .unwrap_or_default();
            let audited = audit.lines().any(|l| {
                l.contains("\"connection_denied\"") && l.contains(&format!("\"origin.address\":\"{ip}\""))
            });
            if lines.len() == 1 && audited {
                assert!(lines[0].contains(why), "{name}: {}", lines[0]);
                break;
            }
            assert!(Instant::now() < deadline, "{name}: logged {lines:?}, audited {audited}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // Still asking 10 s later (bounded), and still holding nothing.
    let deadline = Instant::now() + Duration::from_secs(30);
    while running[0].0.log().matches("cluster not discovered yet").count() < 2 {
        assert!(Instant::now() < deadline, "no second warning: {}", running[0].0.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    for ((name, _, _), (home, node)) in rogues.iter().zip(running.iter_mut()) {
        node.kill9();
        let store = home.path().join("data").join("store");
        let held = std::fs::read_dir(&store).map(|d| d.count()).unwrap_or(0);
        assert_eq!(held, 0, "{name} keeps a store");
    }
    let (s, h) = first.call("GET", "/_cluster/health", None);
    assert_eq!((s, h["number_of_nodes"].as_u64()), (200, Some(1)), "{h}");

    // The control, first advertising a transport address where it does not listen: the
    // cluster admits it but cannot call it back, so the join fails naming that, and the
    // node's store is emptied again. Started right, it then joins, and serves the cluster's data.
    let home = hand_made_home(dir, "valid", &seed);
    let mut a = args("127.0.0.56", "valid");
    a.extend(["-E", "transport.publish_host=127.0.0.57", "-E", "http.port=0"].map(String::from));
    let (code, out, err) = run(command(&home.path()).arg("start").args(&a));
    let text = format!("{out}{err}");
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains(
            "joining the cluster of [discovery.seed_hosts] failed (transport address not reachable from the cluster)"
        ) && text.contains("127.0.0.57:"),
        "{text}"
    );
    let store = home.path().join("data").join("store");
    assert_eq!(std::fs::read_dir(&store).map(|d| d.count()).unwrap_or(0), 0, "a store was kept");
    let (s, nodes) = first.call("GET", "/_cat/nodes?format=json", None);
    assert_eq!((s, nodes.as_array().map(Vec::len)), (200, Some(1)), "{nodes}");
    let a = args("127.0.0.56", "valid");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let mut node = Node::spawn(&home, &a, &[]);
    node.secret(PASSWORD).expect_error("node stopped: joining the cluster of [discovery.seed_hosts] failed");
    let port = node.port();
    let (s, b) = first.call("GET", "/_cluster/health?wait_for_nodes=2&timeout=30s", None);
    assert_eq!((s, b["number_of_nodes"].as_u64()), (200, Some(2)), "{b}");
    let (s, _) = Client::at(&format!("http://127.0.0.56:{port}"), None)
        .call("GET", "/secret/_doc/1", ("elastic", PASSWORD), None)
        .unwrap();
    assert_eq!(s, 200, "the joined node serves the cluster's data");
}

/// The bad-token cases of `start --enrollment-token`: each names the failed check and leaves
/// the home as it was.
#[test]
fn a_bad_enrollment_token_is_refused_and_leaves_the_home_untouched() {
    let mut first = Member::new(10);
    first.start(None);
    let good = token(&first);
    let expired = token_with(&first, &["-s", "node", "--ttl", "1s"]);
    let cases: Vec<(String, &str)> = vec![
        ("not-a-token".into(), "token"),
        // Another cluster's fingerprint: nothing is sent.
        (tamper_fingerprint(&good), "fingerprint mismatch"),
        // A console's token does not enroll a node.
        (token_with(&first, &["-s", "kibana"]), "wrong token scope"),
        // Nothing listens at the token's address.
        (tamper(&good, "adr", json!(["127.0.0.22:1"])), "cluster unreachable"),
        (expired, "token expired"),
    ];
    // Expiry is a point in time (the token was made with a TTL of one second): nothing to poll.
    std::thread::sleep(Duration::from_millis(1200));
    for (t, check) in cases {
        let home = TestHome::new();
        let mut a = args("127.0.0.20", "bad");
        a.extend(["--enrollment-token".to_owned(), t]);
        let (code, out, err) = run(command(&home.path()).arg("start").args(&a));
        assert_ne!(code, 0);
        let text = format!("{out}{err}");
        assert!(text.contains(&format!("enrollment failed ({check})")), "{check}: {text}");
        assert!(!home.config("certs").exists(), "{check}: certificates were left behind");
        assert!(!home.path().join("data").join("store").exists(), "{check}: a store was left behind");
        assert!(!home.config("bulwark.keystore").exists(), "{check}: a keystore was left behind");
    }
    // A used token: the first join consumes it.
    let mut joiner = Member::new(11);
    joiner.start(Some(&good));
    let home = TestHome::new();
    let mut a = args("127.0.0.21", "again");
    a.extend(["--enrollment-token".to_owned(), good]);
    let (code, out, err) = run(command(&home.path()).arg("start").args(&a));
    assert_ne!(code, 0);
    assert!(format!("{out}{err}").contains("enrollment failed (token already used)"), "{out}{err}");
}

fn tamper_fingerprint(token: &str) -> String {
    tamper(token, "fgr", json!("00".repeat(32)))
}

/// `token` with its field `key` set to `value`.
fn tamper(token: &str, key: &str, value: Value) -> String {
    use base64::Engine;
    let e = base64::engine::general_purpose::STANDARD;
    let mut v: Value = serde_json::from_slice(&e.decode(token).unwrap()).unwrap();
    v[key] = value;
    e.encode(serde_json::to_vec(&v).unwrap())
}
