//! Enrollment end to end on real nodes: the first start's console token, `bulwark
//! create-enrollment-token`, `_security/enroll/kibana`, CSR-based `_security/enroll/node` checked
//! with openssl, single use, expiry, refusals, and the pinning client library.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use bulwark_client::{ClientError, EnrollmentClient};
use bulwark_security::enrollment::EnrollmentToken;
use bulwark_testkit::{Client, Started, TestHome, command, free_port, run, start_fresh};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// `openssl x509 -fingerprint -sha256` of a PEM file, colons removed, lower case.
fn openssl_fingerprint(pem: &Path) -> String {
    let (code, out, err) =
        run(Command::new("openssl").args(["x509", "-noout", "-fingerprint", "-sha256", "-in"]).arg(pem));
    assert_eq!(code, 0, "{err}");
    out.trim().rsplit('=').next().unwrap().replace(':', "").to_lowercase()
}

fn sha256_hex(der: &[u8]) -> String {
    bulwark_pki::Fingerprint::of_der(der).to_string()
}

/// Calls with an `Authorization` header of their own, trusting the node's CA.
struct Raw(Client);

impl Raw {
    fn new(s: &Started) -> Raw {
        Raw(Client::new(s.port, Some(&s.ca)))
    }

    fn call(&self, method: &str, path: &str, authorization: &str, body: Option<Value>) -> (u16, Value) {
        let (status, _, body) =
            self.0.call_with(method, path, authorization, &[], body.as_ref()).expect("request");
        (status, body)
    }
}

fn api_key_header(t: &EnrollmentToken) -> String {
    format!("ApiKey {}", t.api_key_header().expose_secret())
}

fn reason(v: &Value) -> String {
    v["error"]["reason"].as_str().unwrap_or_default().to_owned()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn connect(t: &EnrollmentToken) -> Result<EnrollmentClient, ClientError> {
    runtime().block_on(EnrollmentClient::connect(&t.adr, t.fgr, &t.api_key()))
}

/// `bulwark create-enrollment-token` with `args`: (exit code, stdout, stderr).
fn create_token(home: &TestHome, args: &[&str]) -> (i32, String, String) {
    run(command(&home.path()).arg("create-enrollment-token").args(args).stdin(Stdio::null()))
}

#[track_caller]
fn created(home: &TestHome, args: &[&str]) -> EnrollmentToken {
    let (code, out, err) = create_token(home, args);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert_eq!(out.lines().count(), 1, "only the token is printed: {out}");
    assert!(
        !home.config("users").exists()
            || !std::fs::read_to_string(home.config("users")).unwrap().contains("bulwark_enroll_")
    );
    EnrollmentToken::decode(out.trim()).expect("a valid token")
}

#[test]
fn the_first_start_token_enrolls_the_console_and_nothing_else() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let creds = home.bootstrap_credentials().unwrap();
    let text = &creds["ENROLLMENT_TOKEN"];
    // Exactly SPEC §7: URL-safe base64 with padding of compact {ver, adr, fgr, key}.
    let json = base64::engine::general_purpose::URL_SAFE.decode(text).expect("URL-safe base64 with padding");
    let v: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["ver", "adr", "fgr", "key"]);
    assert!(!String::from_utf8(json.clone()).unwrap().contains(' '), "compact JSON");
    let t = EnrollmentToken::decode(text).unwrap();
    assert_eq!(t.ver, "8.19.0");
    assert!(!t.adr.is_empty());
    for a in &t.adr {
        assert!(a.ends_with(&format!(":{}", s.port)), "{a}");
        assert!(!a.starts_with("0.0.0.0") && !a.starts_with("[::]"), "no wildcard: {a}");
    }
    assert_eq!(t.fgr.to_string(), openssl_fingerprint(&home.config("certs/http_ca.crt")));
    assert_eq!(t.fgr.to_string(), creds["HTTP_CA_FINGERPRINT"]);
    let key_name_prefix = "enrollment_token_API_key_";

    // The key may enroll the console, and only that.
    let raw = Raw::new(&s);
    let auth = api_key_header(&t);
    for path in ["/", "/_security/user", "/_cluster/health", "/_security/api_key", "/_cat/nodes"] {
        let (status, body) = raw.call("GET", path, &auth, None);
        assert_eq!(status, 403, "{path}: {body}");
    }
    let (status, me) = raw.call("GET", "/_security/_authenticate", &auth, None);
    assert_eq!(status, 200, "{me}");
    assert!(me["api_key"]["name"].as_str().unwrap().starts_with(key_name_prefix), "{me}");
    let (status, body) = raw.call("POST", "/_security/enroll/node", &auth, Some(serde_json::json!({})));
    assert_eq!(status, 403, "{body}");
    assert!(reason(&body).contains("is for [kibana] enrollment"), "{body}");

    // Through the pinning client, at the token's own addresses.
    let client = connect(&t).expect("connects to an address of the token");
    assert!(t.adr.contains(&client.address().to_owned()));
    let k = runtime().block_on(client.enroll_kibana()).unwrap();
    assert!(k.token_name.starts_with("enroll-process-token-"), "{}", k.token_name);
    assert_eq!(sha256_hex(&k.http_ca_der), t.fgr.to_string());
    let bearer = format!("Bearer {}", k.token_value.expose_secret());
    let (status, me) = raw.call("GET", "/_security/_authenticate", &bearer, None);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["username"], "elastic/kibana");
    assert_eq!(me["token"]["name"], k.token_name.as_str());
    // The console token is reusable while it is valid.
    let (status, body) = raw.call("GET", "/_security/enroll/kibana", &auth, None);
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["token"]["name"], k.token_name.as_str());

    // A tampered fingerprint: the client gives up in the TLS handshake; no request reaches the
    // node (its audit log, which records every request, does not grow).
    let audit = home.path().join("logs/audit.json");
    let other = bulwark_pki::new_ca("Some other CA", 1, bulwark_pki::KeyAlgorithm::EcdsaP256).unwrap();
    let tampered = EnrollmentToken::new(
        t.ver.clone(),
        vec![format!("localhost:{}", s.port)],
        other.fingerprint(),
        t.api_key_id(),
        t.api_key_secret().clone(),
    )
    .unwrap();
    let tampered = EnrollmentToken::decode(tampered.encode().expose_secret()).unwrap();
    // The audit writer keeps order: once a marker request's line is in the file, every earlier
    // event is too. Markers before and after the tampered attempt bracket what it caused.
    let elastic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("elastic:{}", s.password))
    );
    let marker = |name: &str| -> String {
        raw.call("GET", &format!("/{name}/_count"), &elastic, None);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&audit).unwrap();
            if text.lines().any(|l| l.contains(&format!("\"/{name}/_count\""))) {
                return text;
            }
            assert!(Instant::now() < deadline, "the marker [{name}] never reached the audit log");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let before = marker("marker-before");
    match connect(&tampered) {
        Err(e @ ClientError::FingerprintMismatch { .. }) => {
            assert!(e.to_string().contains("the API key was not sent"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let after = marker("marker-after");
    // A marker request makes several events (authentication, then access): the later ones of
    // the first marker may land after `before` was read.
    let caused: Vec<&str> = after[before.len()..]
        .lines()
        .filter(|l| !l.contains("/marker-after/_count") && !l.contains("/marker-before/_count"))
        .collect();
    assert!(caused.is_empty(), "nothing reached the node: {caused:#?}");

    // Neither the token nor the service token is ever logged.
    s.node.stop();
    for log in [home.log(), std::fs::read_to_string(&audit).unwrap()] {
        assert!(!log.contains(t.api_key_secret().expose_secret()));
        assert!(!log.contains(k.token_value.expose_secret()));
        assert!(!log.contains(text.as_str()));
    }
    let stdout = std::fs::read_to_string(home.stdout_file()).unwrap();
    assert!(!stdout.contains(text.as_str()), "the token goes to the 0600 file, not to stdout");
}

/// A CSR and key made by `openssl req`, with the given SANs.
fn openssl_csr(dir: &Path, name: &str, san: &str) -> String {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let (code, _, err) = run(Command::new("openssl")
        .args(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&csr)
        .args(["-subj", &format!("/CN={name}"), "-addext", &format!("subjectAltName={san}")]));
    assert_eq!(code, 0, "{err}");
    std::fs::read_to_string(csr).unwrap()
}

fn write_pem(dir: &Path, name: &str, der: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bulwark_pki::cert_pem(der)).unwrap();
    p
}

#[track_caller]
fn openssl_verify(ca: &Path, cert: &Path) {
    let (code, out, err) = run(Command::new("openssl").arg("verify").arg("-CAfile").arg(ca).arg(cert));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(": OK"), "{out}");
}

#[test]
fn a_node_token_signs_openssl_csrs_once() {
    let home = TestHome::new();
    // A fixed port: the signed certificates name this node's revocation lists on it.
    let s = start_fresh(&home, &["-E", &format!("http.port={}", free_port())]);
    // Transport is bound to loopback (auto-configuration leaves transport.host commented out):
    // without --url, no node token.
    let (code, out, err) = create_token(&home, &["-s", "node"]);
    assert_eq!(code, 78, "{out}{err}");
    assert!(err.contains("transport.host") && err.contains("--url"), "{err}");
    assert!(out.is_empty());

    let url = format!("https://localhost:{}", s.port);
    let t = created(&home, &["-s", "node", "--url", &url]);
    assert_eq!(t.adr, [format!("localhost:{}", s.port)]);
    assert_eq!(t.fgr.to_string(), openssl_fingerprint(&home.config("certs/http_ca.crt")));
    let raw = Raw::new(&s);
    let auth = api_key_header(&t);
    let (status, _) = raw.call("GET", "/", &auth, None);
    assert_eq!(status, 403);
    let (status, body) = raw.call("GET", "/_security/enroll/kibana", &auth, None);
    assert_eq!(status, 403);
    assert!(reason(&body).contains("is for [node] enrollment"), "{body}");
    // Elasticsearch's key-shipping GET is refused, pointing to the CSR flow.
    let (status, body) = raw.call("GET", "/_security/enroll/node", &auth, None);
    assert_eq!(status, 400, "{body}");
    assert!(reason(&body).contains("POST /_security/enroll/node") && reason(&body).contains("CSR"), "{body}");

    let dir = tempfile::tempdir().unwrap();
    let http_csr = openssl_csr(dir.path(), "node-2-http", "DNS:node-2,IP:10.0.0.2");
    let transport_csr = openssl_csr(dir.path(), "node-2-transport", "DNS:node-2");
    let client = connect(&t).unwrap();
    let got = runtime().block_on(client.enroll_node(&http_csr, &transport_csr)).expect("enrolls");
    let http_ca = write_pem(dir.path(), "http_ca.pem", &got.http_ca_cert);
    let transport_ca = write_pem(dir.path(), "transport_ca.pem", &got.transport_ca_cert);
    let http_cert = write_pem(dir.path(), "http.pem", &got.http_cert);
    let transport_cert = write_pem(dir.path(), "transport.pem", &got.transport_cert);
    openssl_verify(&http_ca, &http_cert);
    openssl_verify(&transport_ca, &transport_cert);
    for (cert, list) in [(&http_cert, "http_ca.crl"), (&transport_cert, "transport_ca.crl")] {
        let (_, text, _) = run(Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(cert));
        let url = format!(":{}/_ssl/crl/{list}", s.port);
        assert!(text.contains("CRL Distribution Points") && text.contains(&url), "{url}: {text}");
        assert!(
            !text.contains("URI:https://localhost:"),
            "a joining node's localhost is not this node: {text}"
        );
    }
    assert_eq!(sha256_hex(&got.http_ca_cert), t.fgr.to_string());
    assert_ne!(got.http_ca_cert, got.transport_ca_cert);
    let info = bulwark_pki::inspect(&got.http_cert).unwrap();
    assert_eq!(info.dns_sans, ["node-2"]);
    assert_eq!(info.ip_sans, ["10.0.0.2".parse::<std::net::IpAddr>().unwrap()]);
    assert!(!info.is_ca);
    assert!(!got.nodes_addresses.is_empty());
    // The certificates belong to the keys openssl made.
    let (code, modulus_cert, _) =
        run(Command::new("openssl").args(["x509", "-noout", "-pubkey", "-in"]).arg(&http_cert));
    assert_eq!(code, 0);
    let (_, modulus_key, _) =
        run(Command::new("openssl").args(["pkey", "-pubout", "-in"]).arg(dir.path().join("node-2-http.key")));
    assert_eq!(modulus_cert, modulus_key);

    // Single use.
    match runtime().block_on(client.enroll_node(&http_csr, &transport_csr)) {
        Err(ClientError::AlreadyUsed(why)) => assert!(why.contains("single-use"), "{why}"),
        other => panic!("{other:?}"),
    }
    let body = serde_json::json!({ "http_csr": http_csr, "transport_csr": transport_csr });
    let (status, answer) = raw.call("POST", "/_security/enroll/node", &auth, Some(body));
    assert_eq!(status, 401, "{answer}");
    assert!(reason(&answer).contains("already used"), "{answer}");
    assert!(connect(&t).is_ok(), "connecting sends no key, so it still works");
    s.node.stop();
}

#[test]
fn an_expired_token_is_refused_saying_so_and_refusals_name_the_setting() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let t = created(&home, &["-s", "kibana", "--ttl", "1s"]);
    // Auto-configuration binds HTTP to 0.0.0.0: the token holds this host's covered addresses.
    assert!(t.adr.iter().all(|a| !a.starts_with("127.") && !a.starts_with("0.0.0.0")), "{:?}", t.adr);
    // Expiry is a point in time: nothing to poll for.
    std::thread::sleep(Duration::from_millis(1500));
    let client = connect(&t).unwrap();
    match runtime().block_on(client.enroll_kibana()) {
        Err(ClientError::Expired(why)) => assert!(why.contains("has expired"), "{why}"),
        other => panic!("{other:?}"),
    }
    let (status, body) = Raw::new(&s).call("GET", "/_security/enroll/kibana", &api_key_header(&t), None);
    assert_eq!(status, 401, "{body}");
    assert!(reason(&body).contains("the enrollment token has expired"), "{body}");

    // Refusals, each naming what to change.
    let (code, _, err) = create_token(&home, &["-s", "kibana", "-E", "http.host=127.0.0.1"]);
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("loopback only") && err.contains("http.host") && err.contains("--url"), "{err}");
    let (code, _, err) =
        create_token(&home, &["-s", "kibana", "-E", "xpack.security.enrollment.enabled=false"]);
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("[xpack.security.enrollment.enabled]"), "{err}");
    let (code, _, err) = create_token(&home, &["-s", "fleet"]);
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("[kibana, node]"), "{err}");
    let (code, _, err) = create_token(&home, &["-s", "kibana", "--ttl", "2h"]);
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("at most 30 minutes"), "{err}");
    let (code, _, err) = create_token(&home, &["-s", "kibana", "--url", "http://localhost:1"]);
    assert_eq!(code, 64, "{err}");

    // doctor reports enrollment.
    let (_, out, err) = run(command(&home.path()).args(["doctor", "--json"]).stdin(Stdio::null()));
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let f =
        report["findings"].as_array().unwrap().iter().find(|f| f["check"] == "enrollment").expect("finding");
    assert_eq!(f["severity"], "info", "{f}");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("enrollment is on") && msg.contains("reachable from other hosts"), "{msg}");
    let (_, out, _) = run(command(&home.path())
        .args(["doctor", "--json", "-E", "http.host=127.0.0.1"])
        .stdin(Stdio::null()));
    let report: Value = serde_json::from_str(&out).unwrap();
    let f = report["findings"].as_array().unwrap().iter().find(|f| f["check"] == "enrollment").unwrap();
    assert!(f["message"].as_str().unwrap().contains("loopback only"), "{f}");
    assert!(f["fix"].as_str().unwrap().contains("http.host"), "{f}");
    s.node.stop();
}

#[test]
fn a_node_bound_to_loopback_prints_a_local_console_token_on_its_terminal() {
    let home = TestHome::new();
    // `script` gives the node a pseudo-terminal as its standard output.
    let cmdline = format!(
        "{} --home {} --allow-root start -E http.port=0 -E node.portsfile=true -E http.host=127.0.0.1",
        bulwark_testkit::binary().display(),
        home.path().display()
    );
    let out = std::fs::File::create(home.stdout_file()).unwrap();
    let mut child = Command::new("script")
        .args(["-qfec", &cmdline, "/dev/null"])
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(out)
        .spawn()
        .expect("script(1) from util-linux");
    let deadline = Instant::now() + bulwark_testkit::START_TIMEOUT;
    let (token, text) = loop {
        let text = std::fs::read_to_string(home.stdout_file()).unwrap_or_default();
        let token = text
            .split("Configure the console")
            .nth(1)
            .and_then(|rest| rest.lines().find(|l| l.contains("\u{1b}[1m")))
            .map(|l| l.trim().trim_start_matches("\u{1b}[1m").trim_end_matches("\u{1b}[22m").to_owned());
        if let Some(t) = token
            && text.contains("Enroll other nodes")
        {
            break (t, text);
        }
        assert!(Instant::now() < deadline, "no console section in:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let t = EnrollmentToken::decode(&token).unwrap();
    let port: u16 = std::fs::read_to_string(home.path().join("logs/http.ports"))
        .unwrap()
        .trim()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(t.adr, [format!("127.0.0.1:{port}")], "loopback only, for a local console");
    assert!(text.contains("valid for the next 30 minutes"), "{text}");
    assert!(text.contains("a console on this host can use it"), "{text}");
    assert!(text.contains("bulwark create-enrollment-token -s node"), "{text}");
    assert!(!home.config("bootstrap-credentials").exists());
    // A local console can use it.
    let client = connect(&t).unwrap();
    let k = runtime().block_on(client.enroll_kibana()).unwrap();
    assert_eq!(sha256_hex(&k.http_ca_der), t.fgr.to_string());
    assert!(!home.log().contains(&token));
    // Stop the node (a grandchild under `script`) by its own pid, then `script`.
    let home_arg = home.path().display().to_string();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd);
        if cmd.contains(&home_arg) && cmd.contains("start") && pid != child.id() && !cmd.starts_with("script")
        {
            let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        }
    }
    let _ = child.wait();
}

#[test]
fn tokens_of_this_tool_decode_with_the_shared_decoder_only_when_intact() {
    // A token cut short, or with its JSON altered, is refused as malformed before any connection.
    let t = EnrollmentToken::new(
        "8.19.0",
        vec!["127.0.0.1:9200".into()],
        bulwark_pki::Fingerprint::of_der(b"x"),
        "id",
        SecretString::from("secret"),
    )
    .unwrap();
    let text = t.encode().expose_secret().to_owned();
    for bad in [&text[..text.len() / 2], "", "%%%"] {
        let e = EnrollmentToken::decode(bad).unwrap_err();
        assert!(e.to_string().starts_with("malformed enrollment token"), "{e}");
    }
}
