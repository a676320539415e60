//! Joining a cluster by enrollment when the node's addresses are set by hand: a join the cluster
//! cannot call back fails naming that check and leaves the home as it was, so that the next
//! `start --enrollment-token` on the same home joins; the certificates it then gets name the
//! addresses of `network.host`, `http.host`, `transport.host` and `http.publish_host`, and
//! `verification_mode: full` holds between the nodes because of them.

#[path = "cluster/member.rs"]
mod member;

use bulwark_testkit::{command, run};
use member::*;
use serde_json::{Value, json};

/// The subject alternative names of the first certificate that `script` prints.
fn sans(script: &str) -> String {
    let (code, out, err) = run(std::process::Command::new("sh")
        .args(["-c", &format!("{script} | openssl x509 -noout -ext subjectAltName")]));
    assert_eq!(code, 0, "{script}: {err}");
    out
}

#[test]
fn a_join_the_cluster_cannot_call_back_rolls_back_and_a_retry_with_set_addresses_joins() {
    let mut first = Member::new(60); // 127.0.0.62
    first.start(None);

    // The joiner binds its transport to 127.0.0.63 but advertises 127.0.0.64, where nothing
    // listens: its certificates are signed and the cluster answers it, but the leader cannot
    // call it back.
    let mut joiner = Member::new(61); // 127.0.0.63
    let mut a = args(&joiner.bind, "joiner");
    a.extend(
        ["-E", "transport.publish_host=127.0.0.64", "-E", "http.port=0", "--enrollment-token"]
            .map(String::from),
    );
    a.push(token(&first));
    let (code, out, err) = run(command(&joiner.home.path()).arg("start").args(&a));
    let text = format!("{out}{err}");
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("enrollment failed (transport address not reachable from the cluster)")
            && text.contains("127.0.0.64:")
            && text.contains("the home was left as it was"),
        "{text}"
    );
    // The home is as it was: no certificates, keystore, security block or data.
    assert!(!joiner.home.config("certs").exists(), "certificates were left behind");
    assert!(!joiner.home.config("bulwark.keystore").exists(), "a keystore was left behind");
    let settings = std::fs::read_to_string(joiner.home.config("bulwark.yml")).unwrap_or_default();
    assert!(!settings.contains("BEGIN SECURITY AUTO CONFIGURATION"), "{settings}");
    let data = joiner.home.path().join("data");
    assert_eq!(std::fs::read_dir(&data).map(|d| d.count()).unwrap_or(0), 0, "data was left behind");
    // And the cluster did not keep a member it cannot reach.
    let (s, nodes) = first.call("GET", "/_cat/nodes?format=json", None);
    assert_eq!((s, nodes.as_array().map(Vec::len)), (200, Some(1)), "{nodes}");

    // The retry on the same home, with a new token, HTTP on 127.0.0.66 and the transport on
    // 127.0.0.67 (neither is network.host), and tokens advertising 127.0.0.68.
    joiner.bind = "127.0.0.65".into();
    joiner.ip = "127.0.0.66".into();
    joiner.name = "joiner".into();
    joiner.extra = ["http.host=127.0.0.66", "transport.host=127.0.0.67", "http.publish_host=127.0.0.68"]
        .iter()
        .flat_map(|s| ["-E".to_owned(), (*s).to_owned()])
        .collect();
    let t = token(&first);
    // Ready means HTTPS on 127.0.0.66 verified against the cluster's CA by name.
    joiner.start(Some(&t));
    joiner.node.as_mut().unwrap().expect_error("node stopped: enrollment failed");

    let (s, h) = first.call("GET", "/_cluster/health?wait_for_nodes=2&timeout=30s", None);
    assert_eq!((s, h["number_of_nodes"].as_u64()), (200, Some(2)), "{h}");
    // The health and node APIs report the real members, on either node.
    for (m, transport) in [(&first, "127.0.0.62:"), (&joiner, "127.0.0.67:")] {
        let (s, h) = m.call("GET", "/_cluster/health?wait_for_nodes=3&timeout=1s", None);
        assert_eq!((s, &h["timed_out"], &h["number_of_nodes"]), (408, &json!(true), &json!(2)), "{h}");
        let (s, h) = m.call("GET", "/_cat/health?format=json", None);
        assert_eq!((s, &h[0]["node.total"]), (200, &json!("2")), "{h}");
        let (s, n) = m.call("GET", "/_nodes", None);
        assert_eq!((s, &n["_nodes"]["total"]), (200, &json!(2)), "{n}");
        let mut names: Vec<&str> =
            n["nodes"].as_object().unwrap().values().filter_map(|x| x["name"].as_str()).collect();
        names.sort();
        assert_eq!(names, ["joiner", "n61"], "{n}");
        let (s, n) = m.call("GET", "/_nodes/_local/transport", None);
        let local: Vec<&Value> = n["nodes"].as_object().unwrap().values().collect();
        assert_eq!((s, local.len(), &local[0]["name"]), (200, 1, &json!(m.name)), "{n}");
        assert!(local[0]["transport"]["publish_address"].as_str().unwrap().starts_with(transport), "{n}");
        let (s, n) = m.call("GET", "/_nodes/os", None);
        assert_eq!(s, 400, "a metric this node does not report is refused: {n}");
        assert!(n["error"]["reason"].as_str().unwrap().contains("[os]"), "{n}");
    }
    let (s, st) = first.call("GET", "/_cluster/state/nodes", None);
    assert_eq!(s, 200, "{st}");
    let transport = st["nodes"]
        .as_object()
        .unwrap()
        .values()
        .find(|n| n["name"] == "joiner")
        .and_then(|n| n["transport_address"].as_str())
        .unwrap_or_else(|| panic!("joiner not listed: {st}"))
        .to_owned();
    assert!(transport.starts_with("127.0.0.67:"), "{transport}");

    // Both certificates name every configured address (parsed by openssl).
    let http = sans(&format!("openssl s_client -connect 127.0.0.66:{} </dev/null 2>/dev/null", joiner.port));
    let (code, pw, err) = run(command(&joiner.home.path()).args([
        "keystore",
        "show",
        "xpack.security.transport.ssl.keystore.secure_password",
    ]));
    assert_eq!(code, 0, "{err}");
    let p12 = joiner.home.config("certs/transport.p12");
    let transport_sans =
        sans(&format!("openssl pkcs12 -in {} -nokeys -clcerts -passin pass:{}", p12.display(), pw.trim()));
    for ip in ["127.0.0.65", "127.0.0.66", "127.0.0.67", "127.0.0.68"] {
        assert!(http.contains(&format!("IP Address:{ip}")), "{ip} missing from the HTTP certificate: {http}");
        assert!(
            transport_sans.contains(&format!("IP Address:{ip}")),
            "{ip} missing from the transport certificate: {transport_sans}"
        );
    }

    // Full verification holds both ways: a user made on the joiner (forwarded to the leader over
    // the transport) authenticates on the first node, and the reverse.
    let (s, b) =
        joiner.call("PUT", "/_security/user/dave", Some(json!({"password": "dave-password-1", "roles": []})));
    assert_eq!(s, 200, "{b}");
    let (s, b) = first.call_as(("dave", "dave-password-1"), "GET", "/_security/_authenticate", None);
    assert_eq!((s, b["username"].as_str()), (200, Some("dave")), "{b}");
    // Application privileges are replicated like the rest of the security state.
    let (s, b) = joiner.call(
        "PUT",
        "/_security/privilege",
        Some(json!({"myapp": {"read": {"actions": ["data:read/*"]}}})),
    );
    assert_eq!(s, 200, "{b}");
    let (s, b) = first.call("GET", "/_security/privilege/myapp/read", None);
    assert_eq!((s, &b["myapp"]["read"]["actions"]), (200, &json!(["data:read/*"])), "{b}");
    let (s, b) = first.call("PUT", "/notes/_doc/1", Some(json!({"n": 1})));
    assert_eq!(s, 201, "{b}");
    let (s, b) = joiner.call("GET", "/notes/_doc/1", None);
    assert_eq!((s, &b["_source"]["n"]), (200, &json!(1)), "{b}");
    // The joined node's settings block names the cluster it joined.
    let settings = std::fs::read_to_string(joiner.home.config("bulwark.yml")).unwrap();
    assert!(settings.contains("discovery.seed_hosts: [\"127.0.0.62:"), "{settings}");
}
