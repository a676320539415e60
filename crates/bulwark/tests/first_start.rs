//! The first start of a fresh home, end to end: the real binary, real TLS, real clients.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use bulwark_testkit::{Client, Node, TestHome, command, run, start_fresh};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Starts a fresh node without a terminal and returns it ready, with its password and CA.
fn fresh_node(home: &TestHome) -> (Node, Client, String, Vec<u8>) {
    let s = start_fresh(home, &[]);
    (s.node, s.client, s.password, s.ca)
}

#[test]
fn without_a_terminal_secrets_go_to_a_0600_file_and_never_to_the_log() {
    let home = TestHome::new();
    let (node, client, password, _ca) = fresh_node(&home);
    assert_eq!(password.len(), 20);
    assert!(password.bytes().all(|c| c.is_ascii_alphanumeric() || b"_*-+=".contains(&c)));
    assert_eq!(mode(&home.config("bootstrap-credentials")), 0o600);

    let (status, headers, body) = client.get("/", Some(("elastic", &password))).unwrap();
    assert_eq!(status, 200);
    assert_eq!(headers["x-elastic-product"], "Elasticsearch");
    assert_eq!(body["version"]["number"], "8.19.0");
    assert_eq!(body["tagline"], "You Know, for Search");

    let (status, headers, body) = client.get("/", Some(("elastic", "wrong-password"))).unwrap();
    assert_eq!(status, 401);
    assert!(headers.get_all("www-authenticate").iter().any(|v| v.to_str().unwrap().starts_with("Basic")));
    assert_eq!(body["error"]["type"], "security_exception");
    let (status, _, _) = client.get("/", None).unwrap();
    assert_eq!(status, 401);
    let (status, _, health) = client.get("/_cluster/health", Some(("elastic", &password))).unwrap();
    assert_eq!((status, health["status"].as_str()), (200, Some("green")));

    node.stop();
    let stdout = std::fs::read_to_string(home.stdout_file()).unwrap();
    assert!(stdout.contains("bootstrap-credentials"), "{stdout}");
    assert!(!stdout.contains(&password), "password on stdout");
    assert!(!home.log().contains(&password), "password in the log");
    assert!(home.log().contains("security auto-configuration done"));
}

#[test]
fn files_have_safe_modes_and_the_settings_block_is_appended() {
    let home = TestHome::new();
    let (node, ..) = fresh_node(&home);
    node.stop();
    for f in [
        "certs/http.p12",
        "certs/transport.p12",
        "certs/http_ca.p12",
        "certs/transport_ca.p12",
        "bulwark.keystore",
    ] {
        assert_eq!(mode(&home.config(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&home.config("certs")), 0o750);
    let yml = std::fs::read_to_string(home.config("bulwark.yml")).unwrap();
    assert!(yml.starts_with("# ======================== Bulwark configuration"), "default file first");
    assert_eq!(yml.matches("BEGIN SECURITY AUTO CONFIGURATION").count(), 1);
    for line in [
        "xpack.security.enabled: true",
        "xpack.security.enrollment.enabled: true",
        "  keystore.path: certs/http.p12",
        "  verification_mode: full",
        "  client_authentication: required",
        "  truststore.path: certs/transport.p12",
        "http.host: 0.0.0.0",
        "#transport.host: 0.0.0.0",
    ] {
        assert!(yml.lines().any(|l| l == line), "missing [{line}] in\n{yml}");
    }
}

#[test]
fn a_restart_reuses_everything() {
    let home = TestHome::new();
    let (node, _, password, ca) = fresh_node(&home);
    node.stop();
    let yml = std::fs::read(home.config("bulwark.yml")).unwrap();
    let mut node = Node::spawn(&home, &[], &[]);
    let client = node.wait_ready(&ca, "elastic", &password);
    let (_, _, info1) = client.get("/", Some(("elastic", &password))).unwrap();
    node.stop();
    assert_eq!(std::fs::read(home.config("bulwark.yml")).unwrap(), yml, "settings rewritten on restart");
    assert_eq!(std::fs::read(home.config("certs/http_ca.crt")).unwrap(), ca, "CA regenerated on restart");
    assert!(home.log().contains("data_not_empty"));
    let mut node = Node::spawn(&home, &[], &[]);
    let client = node.wait_ready(&ca, "elastic", &password);
    let (_, _, info2) = client.get("/", Some(("elastic", &password))).unwrap();
    assert_eq!(info1["cluster_uuid"], info2["cluster_uuid"]);
    assert_eq!(info1["cluster_uuid"].as_str().unwrap().len(), 20);
    let (status, _, nodes) =
        client.get("/_cat/nodes?format=json&h=name,master", Some(("elastic", &password))).unwrap();
    assert_eq!(status, 200);
    assert_eq!(nodes.as_array().unwrap().len(), 1);
    assert_eq!(nodes[0]["name"], info2["name"]);
    assert_eq!(nodes[0]["master"], "*");
    let (_, _, health) = client.get("/_cluster/health", Some(("elastic", &password))).unwrap();
    assert_eq!(health["number_of_nodes"], 1);
}

#[test]
fn a_killed_node_restarts_with_its_password_and_identity() {
    let home = TestHome::new();
    let (mut node, client, password, ca) = fresh_node(&home);
    let (_, _, before) = client.get("/", Some(("elastic", &password))).unwrap();
    node.kill9();
    let mut node = Node::spawn(&home, &[], &[]);
    let client = node.wait_ready(&ca, "elastic", &password);
    let (_, _, after) = client.get("/", Some(("elastic", &password))).unwrap();
    assert_eq!(before["cluster_uuid"], after["cluster_uuid"]);
}

#[test]
fn on_a_terminal_the_banner_shows_the_password_once() {
    let home = TestHome::new();
    // `script` gives the node a pseudo-terminal as its standard output.
    let cmdline = format!(
        "{} --home {} --allow-root start -E http.port=0 -E node.portsfile=true",
        bulwark_testkit::binary().display(),
        home.path().display()
    );
    let out = std::fs::File::create(home.stdout_file()).unwrap();
    let mut child = Command::new("script")
        .args(["-qfec", &cmdline, "/dev/null"])
        .env("RUST_BACKTRACE", "0")
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .spawn()
        .expect("script(1) from util-linux");
    let deadline = std::time::Instant::now() + bulwark_testkit::START_TIMEOUT;
    let (password, fingerprint) = loop {
        let text = std::fs::read_to_string(home.stdout_file()).unwrap_or_default();
        let after = |marker: &str| {
            text.split(marker)
                .nth(1)
                .and_then(|rest| rest.lines().nth(1))
                .map(|l| l.trim().trim_start_matches("\u{1b}[1m").trim_end_matches("\u{1b}[22m").to_owned())
        };
        if let (Some(p), Some(f)) = (after("Password for the elastic user"), after("fingerprint:"))
            && text.contains("Try it")
        {
            break (p, f);
        }
        assert!(std::time::Instant::now() < deadline, "no banner in:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(password.len(), 20, "{password:?}");
    assert!(!home.config("bootstrap-credentials").exists(), "a terminal needs no credentials file");
    let port: u16 = std::fs::read_to_string(home.path().join("logs/http.ports"))
        .unwrap()
        .trim()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let ca = home.config("certs/http_ca.crt");
    let curl = |pw: &str| {
        run(Command::new("curl").args(["-s", "--cacert"]).arg(&ca).args([
            "-u",
            &format!("elastic:{pw}"),
            &format!("https://localhost:{port}/"),
        ]))
    };
    let (code, body, _) = curl(&password);
    assert_eq!(code, 0);
    let info: serde_json::Value = serde_json::from_str(&body).expect(&body);
    assert_eq!(info["version"]["build_flavor"], "default");
    let (_, body, _) = curl("not-the-password");
    assert!(body.contains("security_exception"), "{body}");
    let (_, fp_out, _) =
        run(Command::new("openssl").args(["x509", "-noout", "-fingerprint", "-sha256", "-in"]).arg(&ca));
    let openssl_fp = fp_out.trim().rsplit('=').next().unwrap().replace(':', "").to_lowercase();
    assert_eq!(fingerprint, openssl_fp);
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = Command::new("pkill").args(["-f", &home.path().display().to_string()]).status();
    let _ = child.wait();
    assert!(!home.log().contains(&password));
}

#[test]
fn pkcs12_files_open_with_openssl_and_keytool_using_the_keystore_passwords() {
    let home = TestHome::new();
    let (node, ..) = fresh_node(&home);
    node.stop();
    let show = |name: &str| {
        let (code, out, err) = run(command(&home.path()).args(["keystore", "show", name]));
        assert_eq!(code, 0, "{err}");
        out.trim_end().to_owned()
    };
    for (file, setting) in [
        ("http.p12", "xpack.security.http.ssl.keystore.secure_password"),
        ("transport.p12", "xpack.security.transport.ssl.keystore.secure_password"),
        ("http_ca.p12", "autoconfiguration.http_ca.secure_password"),
        ("transport_ca.p12", "autoconfiguration.transport_ca.secure_password"),
    ] {
        let pw = show(setting);
        assert_eq!(pw.len(), 22, "{setting}");
        let path = home.config(&format!("certs/{file}"));
        let (code, _, err) = run(Command::new("openssl")
            .args(["pkcs12", "-info", "-noout", "-passin", &format!("pass:{pw}"), "-in"])
            .arg(&path));
        assert_eq!(code, 0, "openssl {file}: {err}");
        assert!(err.contains("MAC: sha256") && err.contains("AES-256-CBC"), "{file}: {err}");
        let (code, out, err) = run(Command::new("keytool")
            .args(["-list", "-storetype", "PKCS12", "-storepass", &pw, "-keystore"])
            .arg(&path));
        assert_eq!(code, 0, "keytool {file}: {out}{err}");
        assert!(out.contains("PrivateKeyEntry"), "{file}: {out}");
        let (code, _, err) = run(Command::new("openssl")
            .args(["pkcs12", "-info", "-noout", "-passin", "pass:wrong", "-in"])
            .arg(&path));
        assert_ne!(code, 0, "wrong password accepted: {err}");
    }
    // The node certificate verifies against the HTTP CA and carries the expected names.
    let pw = show("xpack.security.http.ssl.keystore.secure_password");
    let leaf = home.path().join("leaf.pem");
    let (code, _, err) = run(Command::new("openssl")
        .args(["pkcs12", "-nokeys", "-clcerts", "-passin", &format!("pass:{pw}"), "-in"])
        .arg(home.config("certs/http.p12"))
        .arg("-out")
        .arg(&leaf));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(home.config("certs/http_ca.crt"))
        .arg(&leaf));
    assert_eq!(code, 0, "{out}{err}");
    let (_, text, _) = run(Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(&leaf));
    for san in ["DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1"] {
        assert!(text.contains(san), "{san} missing:\n{text}");
    }
    assert!(text.contains("ASN1 OID: prime256v1"), "ECDSA P-256 expected");
    let (_, ca_text, _) = run(Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-enddate", "-in"])
        .arg(home.config("certs/http_ca.crt")));
    assert!(ca_text.contains("Bulwark security auto-configuration HTTP CA"), "{ca_text}");
}

#[test]
fn an_elastic_password_from_the_environment_is_used_and_not_written_anywhere() {
    let home = TestHome::new();
    let pw = "a-chosen-password-123";
    let mut node = Node::spawn(&home, &[], &[("ELASTIC_PASSWORD", pw)]);
    node.port();
    let deadline = std::time::Instant::now() + bulwark_testkit::START_TIMEOUT;
    while !home.config("certs/http_ca.crt").exists() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let ca = std::fs::read(home.config("certs/http_ca.crt")).unwrap();
    node.wait_ready(&ca, "elastic", pw);
    node.stop();
    assert!(!home.config("bootstrap-credentials").exists());
    assert!(!home.log().contains(pw));
    assert!(!std::fs::read_to_string(home.stdout_file()).unwrap().contains(pw));
}

#[test]
fn refuses_to_run_as_root_without_allow_root() {
    if !rustix_is_root() {
        return;
    }
    let home = TestHome::new();
    let (code, _, err) = run(Command::new(bulwark_testkit::binary())
        .env("RUST_BACKTRACE", "0")
        .arg("--home")
        .arg(home.path())
        .arg("start"));
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("must not run as root") && err.contains("--allow-root"), "{err}");
    assert!(!home.path().exists(), "nothing may be created");
}

fn rustix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

#[test]
fn an_unknown_security_setting_stops_the_node_naming_file_and_line() {
    let home = TestHome::new();
    home.write_settings("cluster.name: c\nxpack.security.http.ssl.enabeld: true\n");
    let (code, _, err) = run(command(&home.path()).args(["start", "-E", "http.port=0"]));
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("[xpack.security.http.ssl.enabeld]"), "{err}");
    assert!(err.contains("bulwark.yml:2"), "{err}");
    assert!(err.contains("did you mean [xpack.security.http.ssl.enabled]"), "{err}");
}

#[test]
fn security_off_is_loud_loopback_only_and_plain_http() {
    let home = TestHome::new();
    home.write_settings("xpack.security.enabled: false\n");
    let mut node = Node::spawn(&home, &[], &[]);
    let port = node.port();
    let bound = std::fs::read_to_string(home.path().join("logs/http.ports")).unwrap();
    assert!(bound.starts_with("127.0.0.1:"), "{bound}");
    let client = Client::new(port, None);
    let (status, headers, body) = client.get("/", None).unwrap();
    assert_eq!(status, 200);
    assert_eq!(headers["x-elastic-product"], "Elasticsearch");
    assert_eq!(body["tagline"], "You Know, for Search");
    assert!(node.wait_for_log("security is disabled"));
    assert!(!home.config("certs").exists());
    let (_, out, _) = run(command(&home.path()).args(["doctor", "--json"]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["status"], "critical");
}

#[test]
fn a_transport_other_hosts_can_reach_needs_transport_tls() {
    let home = TestHome::new();
    home.write_settings("xpack.security.enabled: true\nxpack.security.transport.ssl.enabled: false\n");
    for (setting, value) in [("transport.host", "0.0.0.0"), ("network.host", "0.0.0.0")] {
        let (code, _, err) = run(command(&home.path()).args([
            "start",
            "-E",
            "http.port=0",
            "-E",
            &format!("{setting}={value}"),
        ]));
        assert_eq!(code, 78, "{err}");
        assert!(err.contains(&format!("[{setting}] is [{value}]")), "{err}");
        assert!(err.contains("[xpack.security.transport.ssl.enabled: true]"), "{err}");
    }
    // On loopback the same settings start.
    let mut node = Node::spawn(&home, &["-E", "transport.host=127.0.0.1"], &[]);
    // The refused starts above logged why they stopped, into the same logs/.
    node.expect_error(
        "so other hosts can reach this node's transport port, but transport TLS is not configured",
    );
    node.port();
}
