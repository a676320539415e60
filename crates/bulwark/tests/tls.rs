//! TLS on the HTTP layer: protocol versions, `_ssl/certificates`, hot reload, mutual TLS.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bulwark_testkit::{TestHome, command, run, start_fresh};

fn keystore_value(home: &TestHome, name: &str) -> String {
    let (code, out, err) = run(command(&home.path()).args(["keystore", "show", name]));
    assert_eq!(code, 0, "{err}");
    out.trim_end().to_owned()
}

fn openssl(args: &[&str]) -> (i32, String, String) {
    run(Command::new("openssl").args(args))
}

/// `openssl s_client` against the node with extra flags: (exit code, output).
fn s_client(port: u16, extra: &[&str]) -> (i32, String) {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost"])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("openssl s_client");
    (
        out.status.code().unwrap_or(-1),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

/// Writes the auto-configured HTTP CA's private key (from `certs/http_ca.p12`, unlocked with the
/// keystore's password for it) to `out` as PEM, with openssl.
fn export_http_ca_key(home: &TestHome, out: &str) {
    let ca_pw = format!("pass:{}", keystore_value(home, "autoconfiguration.http_ca.secure_password"));
    let ca_p12 = home.config("certs/http_ca.p12").display().to_string();
    let (code, _, err) =
        openssl(&["pkcs12", "-in", &ca_p12, "-passin", &ca_pw, "-nocerts", "-nodes", "-out", out]);
    assert_eq!(code, 0, "openssl pkcs12: {err}");
}

/// `openssl x509 -req`: signs `csr` with the CA `ca_crt`/`ca_key` for `days`, adding the
/// extensions of the file `ext`, into `out`.
fn openssl_sign(csr: &str, ca_crt: &str, ca_key: &str, days: &str, ext: &str, out: &str) {
    let args =
        ["-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-days", days, "-extfile", ext];
    let (code, _, err) = openssl(&[&["x509", "-req"][..], &args, &["-out", out]].concat());
    assert_eq!(code, 0, "openssl x509 -req: {err}");
}

/// The serial number of the certificate the node presents now.
fn served_serial(port: u16) -> Option<String> {
    let (_, out) = s_client(port, &[]);
    let pem_start = out.find("-----BEGIN CERTIFICATE-----")?;
    let pem_end = out.find("-----END CERTIFICATE-----")? + "-----END CERTIFICATE-----".len();
    let mut child = Command::new("openssl")
        .args(["x509", "-noout", "-serial"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    use std::io::Write;
    child.stdin.take()?.write_all(&out.as_bytes()[pem_start..pem_end]).ok()?;
    let o = child.wait_with_output().ok()?;
    Some(String::from_utf8_lossy(&o.stdout).trim().trim_start_matches("serial=").to_uppercase())
}

/// Issues a new HTTP certificate from the node's own HTTP CA with openssl and packs it like
/// `http.p12` (same alias, same password). Returns (p12 path, serial).
fn new_http_p12(home: &TestHome, dir: &Path) -> (std::path::PathBuf, String) {
    let http_pw = keystore_value(home, "xpack.security.http.ssl.keystore.secure_password");
    let p = |n: &str| dir.join(n).display().to_string();
    export_http_ca_key(home, &p("ca.key"));
    std::fs::copy(home.config("certs/http_ca.crt"), p("ca.crt")).unwrap();
    let (code, _, err) = openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &p("new.key"),
        "-subj",
        "/CN=reloaded",
        "-out",
        &p("new.csr"),
    ]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl_sign(&p("new.csr"), &p("ca.crt"), &p("ca.key"), "30", &p("ext.cnf"), &p("new.crt"));
    let (code, _, err) = openssl(&[
        "pkcs12",
        "-export",
        "-inkey",
        &p("new.key"),
        "-in",
        &p("new.crt"),
        "-certfile",
        &p("ca.crt"),
        "-name",
        "http",
        "-passout",
        &format!("pass:{http_pw}"),
        "-out",
        &p("new.p12"),
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, serial, _) = openssl(&["x509", "-noout", "-serial", "-in", &p("new.crt")]);
    (dir.join("new.p12"), serial.trim().trim_start_matches("serial=").to_uppercase())
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn only_tls_1_2_and_1_3_are_accepted() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let (code, out) = s_client(s.port, &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]);
    assert_ne!(code, 0, "TLS 1.1 accepted: {out}");
    for v in ["-tls1_2", "-tls1_3"] {
        let (code, out) = s_client(s.port, &[v]);
        assert_eq!(code, 0, "{v} refused: {out}");
    }
    // The full chain is sent: the node certificate and its CA.
    let (_, out) = s_client(s.port, &["-showcerts"]);
    assert_eq!(out.matches("-----BEGIN CERTIFICATE-----").count(), 2, "{out}");
}

#[test]
fn ssl_certificates_lists_the_certificates_in_use() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let (status, _, body) = s.client.get("/_ssl/certificates", Some(("elastic", &s.password))).unwrap();
    assert_eq!(status, 200);
    let certs = body.as_array().expect("array");
    let leaf = certs.iter().find(|c| c["has_private_key"] == true).expect("node certificate");
    assert_eq!(leaf["path"], "certs/http.p12");
    assert_eq!(leaf["format"], "PKCS12");
    assert_eq!(leaf["alias"], "http");
    assert!(leaf["issuer"].as_str().unwrap().contains("Bulwark security auto-configuration HTTP CA"));
    let year: i32 = leaf["expiry"].as_str().unwrap()[..4].parse().unwrap();
    assert!(year >= 2027, "{leaf}");
    let served = served_serial(s.port).unwrap();
    assert_eq!(leaf["serial_number"].as_str().unwrap().to_uppercase(), served.trim_start_matches('0'));
    assert!(certs.iter().any(|c| c["subject_dn"].as_str().unwrap().contains("HTTP CA")), "CA listed too");
    let transport = certs.iter().find(|c| c["alias"] == "transport" && c["has_private_key"] == true);
    assert_eq!(transport.expect("transport certificate listed")["path"], "certs/transport.p12");
}

#[test]
fn broken_transport_material_stops_the_start_naming_setting_and_file() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    s.node.stop();
    std::fs::write(home.config("certs/transport.p12"), b"not a keystore").unwrap();
    let (code, _, err) = run(command(&home.path()).args(["start", "-E", "http.port=0"]));
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("[xpack.security.transport.ssl."), "{err}");
    assert!(err.contains("certs/transport.p12"), "{err}");
}

#[test]
fn a_replaced_certificate_is_served_without_restart_and_garbage_is_refused() {
    let home = TestHome::new();
    let mut s = start_fresh(&home, &[]);
    let before = served_serial(s.port).unwrap();
    let work = tempfile::tempdir().unwrap();
    let (p12, serial) = new_http_p12(&home, work.path());
    assert_ne!(before, serial);
    // Replace atomically, as an operator's `mv` would.
    let staged = home.config("certs/http.p12.new");
    std::fs::copy(&p12, &staged).unwrap();
    std::fs::rename(&staged, home.config("certs/http.p12")).unwrap();
    wait_until("the new certificate is served", || served_serial(s.port).as_deref() == Some(serial.as_str()));
    let (status, ..) = s.client.get("/", Some(("elastic", &s.password))).unwrap();
    assert_eq!(status, 200);
    assert!(s.node.wait_for_log("reloaded TLS certificates for the http layer"));

    std::fs::write(home.config("certs/http.p12"), b"this is not a PKCS#12 file").unwrap();
    assert!(s.node.wait_for_log("refused new TLS material for the http layer"));
    assert_eq!(
        served_serial(s.port).as_deref(),
        Some(serial.as_str()),
        "the last good certificate keeps serving"
    );
}

#[test]
fn required_client_certificates_refuse_clients_without_one_and_revoked_ones() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let password = s.password.clone();
    s.node.stop();
    // Issue a client certificate from the HTTP CA with openssl.
    let work = tempfile::tempdir().unwrap();
    let p = |n: &str| work.path().join(n).display().to_string();
    export_http_ca_key(&home, &p("ca.key"));
    let ca_crt = home.config("certs/http_ca.crt").display().to_string();
    std::fs::write(work.path().join("ext.cnf"), "extendedKeyUsage=clientAuth\n").unwrap();
    // Issues `<name>.crt`/`<name>.key` for CN=<name>; returns the serial (OpenSSL's spelling).
    let issue_client = |name: &str| {
        let (key, csr, crt) =
            (p(&format!("{name}.key")), p(&format!("{name}.csr")), p(&format!("{name}.crt")));
        let subject = format!("/CN={name}");
        let req = ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        let (code, _, err) =
            openssl(&[&req[..], &["-keyout", &key, "-subj", &subject, "-out", &csr]].concat());
        assert_eq!(code, 0, "{err}");
        openssl_sign(&csr, &ca_crt, &p("ca.key"), "2", &p("ext.cnf"), &crt);
        let (_, serial, _) = openssl(&["x509", "-in", &crt, "-noout", "-serial"]);
        serial.trim().trim_start_matches("serial=").to_owned()
    };
    issue_client("client");
    let revoked_serial = issue_client("stolen");

    let mut yml = std::fs::read_to_string(home.config("bulwark.yml")).unwrap();
    yml.push_str("xpack.security.http.ssl.client_authentication: required\nxpack.security.http.ssl.certificate_authorities: [certs/http_ca.crt]\nxpack.security.authc.realms.pki.pki1.order: 0\n");
    std::fs::write(home.config("bulwark.yml"), yml).unwrap();
    let mut node = bulwark_testkit::Node::spawn(&home, &[], &[]);
    let port = node.port();
    let url = format!("https://localhost:{port}/");
    let curl_as = |cert: Option<&str>| {
        let mut c = Command::new("curl");
        c.args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
            &ca_crt,
            "-u",
            &format!("elastic:{password}"),
        ]);
        if let Some(name) = cert {
            c.args(["--cert", &p(&format!("{name}.crt")), "--key", &p(&format!("{name}.key"))]);
        }
        run(c.arg(&url))
    };
    let curl = |cert: bool| curl_as(cert.then_some("client"));
    wait_until("the node accepts a client with a certificate", || curl(true).1 == "200");
    let (code, status, _) = curl(false);
    assert!(code != 0 || status == "000", "a client without a certificate got through: {code} {status}");
    // The certificate alone authenticates, through the PKI realm.
    let client_cert = ["-s", "--cacert", &ca_crt, "--cert", &p("client.crt"), "--key", &p("client.key")];
    let as_client = |extra: &[&str], path: &str| {
        run(Command::new("curl").args(client_cert).args(extra).arg(format!("https://localhost:{port}{path}")))
    };
    let (code, out, err) = as_client(&[], "/_security/_authenticate");
    assert_eq!(code, 0, "{err}");
    let me: serde_json::Value = serde_json::from_str(&out).expect(&out);
    assert_eq!(me["username"], "client", "{me}");
    assert_eq!(me["authentication_realm"]["name"], "pki1");
    assert_eq!(me["authentication_realm"]["type"], "pki");

    // A revoked client certificate is refused at the handshake within seconds; others still pass.
    assert_eq!(curl_as(Some("stolen")).1, "200");
    let body = format!(r#"{{"authority": "http_ca", "serial_number": "{revoked_serial}"}}"#);
    let auth = format!("elastic:{password}");
    let (code, out, err) = as_client(
        &["-u", &auth, "-H", "content-type: application/json", "-d", &body],
        "/_ssl/certificates/_revoke",
    );
    assert!(code == 0 && out.contains(r#""revoked":true"#), "{out}{err}");
    wait_until("the revoked certificate is refused", || {
        let (code, status, _) = curl_as(Some("stolen"));
        code != 0 || status == "000"
    });
    assert_eq!(curl(true).1, "200");
    assert!(node.wait_for_log(
        "client certificates are checked against the revocation list of [http_ca] (1 revoked)"
    ));
    node.stop();
}

/// `openssl s_client` as the client that offers only `suite` (TLS 1.3 names use -ciphersuites).
fn handshake_with(port: u16, suite: &str) -> bool {
    let args: Vec<&str> = if suite.starts_with("TLS_") {
        vec!["-tls1_3", "-ciphersuites", suite]
    } else {
        vec!["-tls1_2", "-cipher", suite]
    };
    let (code, out) = s_client(port, &args);
    code == 0 && out.contains("Cipher is")
}

#[test]
fn pem_material_with_an_encrypted_key_and_chosen_cipher_suites() {
    let home = TestHome::new();
    let certs = home.path().join("config/certs");
    std::fs::create_dir_all(&certs).unwrap();
    let p = |n: &str| certs.join(n).display().to_string();
    let ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
    let ok = |args: &[&str]| {
        let (code, _, err) = openssl(args);
        assert_eq!(code, 0, "openssl {args:?}: {err}");
    };
    ok(&[&["genpkey"][..], &ec, &["-out", &p("ca.key")]].concat());
    ok(&[
        "req",
        "-x509",
        "-new",
        "-key",
        &p("ca.key"),
        "-subj",
        "/CN=PEM CA",
        "-days",
        "5",
        "-out",
        &p("ca.crt"),
    ]);
    ok(&[&["genpkey"][..], &ec, &["-aes-256-cbc", "-pass", "pass:key-secret", "-out", &p("node.key")]]
        .concat());
    ok(&[
        "req",
        "-new",
        "-key",
        &p("node.key"),
        "-passin",
        "pass:key-secret",
        "-subj",
        "/CN=node",
        "-out",
        &p("node.csr"),
    ]);
    std::fs::write(certs.join("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    openssl_sign(&p("node.csr"), &p("ca.crt"), &p("ca.key"), "5", &p("ext.cnf"), &p("node.crt"));
    let settings = |suites: &str| {
        home.write_settings(&format!(
            "xpack.security.enabled: true\nxpack.security.http.ssl:\n  enabled: true\n  certificate: certs/node.crt\n  key: certs/node.key\n  certificate_authorities: [certs/ca.crt]\n  cipher_suites: [{suites}]\n"
        ))
    };
    settings("TLS_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
    let start = || run(command(&home.path()).args(["start", "-E", "http.port=0"]));
    let add_passphrase = |value: &str| {
        let mut c = command(&home.path());
        c.args(["keystore", "add", "--force", "--stdin", "xpack.security.http.ssl.secure_key_passphrase"]);
        let mut child = c.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(format!("{value}\n").as_bytes()).unwrap();
        assert!(child.wait().unwrap().success());
    };

    // Without the passphrase, and with a wrong one, the start stops naming the setting to fix.
    let (code, _, err) = start();
    assert_eq!(code, 78, "{err}");
    assert!(
        err.contains("[xpack.security.http.ssl.key]")
            && err.contains("bulwark keystore add xpack.security.http.ssl.secure_key_passphrase"),
        "{err}"
    );
    add_passphrase("not-it-at-all");
    let (code, _, err) = start();
    assert!(code == 78 && err.contains("does not decrypt the private key"), "{err}");
    assert!(!err.contains("not-it-at-all"), "the passphrase was echoed: {err}");

    // With it, the node serves exactly the configured suites.
    add_passphrase("key-secret");
    let mut node = bulwark_testkit::Node::spawn(&home, &[], &[]);
    // The two refused starts above logged why they stopped, into the same logs/.
    node.expect_error("the private key is encrypted").expect_error("does not decrypt the private key");
    node.secret("key-secret").secret("not-it-at-all");
    let port = node.port();
    wait_until("the node answers TLS", || handshake_with(port, "TLS_AES_256_GCM_SHA384"));
    assert!(!handshake_with(port, "TLS_AES_128_GCM_SHA256"));
    assert!(handshake_with(port, "ECDHE-ECDSA-AES256-GCM-SHA384"));
    assert!(!handshake_with(port, "ECDHE-ECDSA-AES128-GCM-SHA256"));
    node.stop();

    // A suite this build does not offer stops the start, naming the setting.
    settings("TLS_RSA_WITH_AES_128_CBC_SHA");
    let (code, _, err) = start();
    assert_eq!(code, 78, "{err}");
    assert!(
        err.contains("[xpack.security.http.ssl.cipher_suites]")
            && err.contains("TLS_RSA_WITH_AES_128_CBC_SHA"),
        "{err}"
    );
}

/// A client certificate with CN=elastic signed by the HTTP CA, issued by openssl.
struct ClientCerts {
    work: tempfile::TempDir,
    ca_crt: String,
}

impl ClientCerts {
    fn new(home: &TestHome) -> ClientCerts {
        let work = tempfile::tempdir().unwrap();
        export_http_ca_key(home, &work.path().join("ca.key").display().to_string());
        std::fs::write(work.path().join("ext.cnf"), "extendedKeyUsage=clientAuth\n").unwrap();
        ClientCerts { work, ca_crt: home.config("certs/http_ca.crt").display().to_string() }
    }

    fn p(&self, n: &str) -> String {
        self.work.path().join(n).display().to_string()
    }

    /// Issues `<file>.crt`/`<file>.key` with the subject `subject` (openssl's `/A=b/C=d` form).
    fn issue(&self, file: &str, subject: &str) {
        let (key, csr, crt) =
            (self.p(&format!("{file}.key")), self.p(&format!("{file}.csr")), self.p(&format!("{file}.crt")));
        let req = ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        let (code, _, err) =
            openssl(&[&req[..], &["-keyout", &key, "-subj", subject, "-out", &csr]].concat());
        assert_eq!(code, 0, "{err}");
        openssl_sign(&csr, &self.ca_crt, &self.p("ca.key"), "2", &self.p("ext.cnf"), &crt);
    }

    /// curl against the node: (HTTP status, body). `who` is (`cert`, `basic`): `cert` names an
    /// issued certificate file, `basic` is `user:password`.
    fn call(
        &self,
        port: u16,
        (cert, basic): (Option<&str>, Option<&str>),
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[&str],
    ) -> (u16, serde_json::Value) {
        let mut c = Command::new("curl");
        c.args(["-s", "-X", method, "-w", "\n%{http_code}", "--cacert", &self.ca_crt]);
        if let Some(f) = cert {
            c.args(["--cert", &self.p(&format!("{f}.crt")), "--key", &self.p(&format!("{f}.key"))]);
        }
        if let Some(b) = basic {
            c.args(["-u", b]);
        }
        if let Some(b) = body {
            c.args(["-H", "content-type: application/json", "-d", b]);
        }
        for h in headers {
            c.args(["-H", h]);
        }
        let (code, out, err) = run(c.arg(format!("https://localhost:{port}{path}")));
        assert_eq!(code, 0, "curl {path}: {err}");
        let (body, status) = out.rsplit_once('\n').unwrap_or(("", &out));
        (status.trim().parse().unwrap_or(0), serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
    }
}

fn set_settings(home: &TestHome, base: &str, extra: &str) {
    std::fs::write(home.config("bulwark.yml"), format!("{base}{extra}")).unwrap();
}

#[test]
fn client_certificates_authenticate_only_through_a_configured_pki_realm_with_mapped_roles() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let elastic = format!("elastic:{}", s.password);
    s.node.stop();
    let certs = ClientCerts::new(&home);
    certs.issue("elastic", "/O=Example/CN=elastic");
    certs.issue("alice", "/O=Example/CN=alice");
    certs.issue("bob", "/O=Example/OU=bob/CN=elastic");
    let base = std::fs::read_to_string(home.config("bulwark.yml")).unwrap()
        + "xpack.security.http.ssl.client_authentication: optional\nxpack.security.http.ssl.certificate_authorities: [certs/http_ca.crt]\n";

    // No PKI realm configured: a certificate CN=elastic from the HTTP CA authenticates nobody.
    set_settings(&home, &base, "");
    let mut node = bulwark_testkit::Node::spawn(&home, &[], &[]);
    let port = node.port();
    wait_until("the node answers", || {
        certs.call(port, (None, Some(&elastic)), "GET", "/", None, &[]).0 == 200
    });
    let (status, body) =
        certs.call(port, (Some("elastic"), None), "GET", "/_security/_authenticate", None, &[]);
    assert_eq!(status, 401, "{body}");
    let change = r#"{"password": "a-new-strong-password-1"}"#;
    let (status, _) = certs.call(
        port,
        (Some("elastic"), None),
        "POST",
        "/_security/user/elastic/_password",
        Some(change),
        &[],
    );
    assert_eq!(status, 401);
    node.stop();

    // A PKI realm: the certificate is the PKI user `elastic`, not the reserved one.
    set_settings(&home, &base, "xpack.security.authc.realms.pki.certs.order: 1\n");
    let mut node = bulwark_testkit::Node::spawn(&home, &[], &[]);
    let port = node.port();
    wait_until("the node answers", || {
        certs.call(port, (None, Some(&elastic)), "GET", "/", None, &[]).0 == 200
    });
    let (status, me) =
        certs.call(port, (Some("elastic"), None), "GET", "/_security/_authenticate", None, &[]);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["username"], "elastic");
    assert_eq!(me["authentication_realm"], serde_json::json!({"name": "certs", "type": "pki"}));
    assert_eq!(me["roles"], serde_json::json!([]));
    assert_eq!(me["metadata"]["pki_dn"], "CN=elastic, O=Example");
    let (status, body) = certs.call(
        port,
        (Some("elastic"), None),
        "POST",
        "/_security/user/elastic/_password",
        Some(change),
        &[],
    );
    assert_eq!(status, 403, "the PKI user changed the reserved elastic's password: {body}");
    assert_eq!(certs.call(port, (None, Some(&elastic)), "GET", "/_security/_authenticate", None, &[]).0, 200);

    // Role mappings: validated, and applied to PKI users (disabled ones grant nothing).
    let call = |m: &str, path: &str, body: Option<&str>| {
        certs.call(port, (None, Some(&elastic)), m, path, body, &[])
    };
    let (status, e) = call(
        "PUT",
        "/_security/role_mapping/bad",
        Some(r#"{"roles":["viewer"],"rules":"garbage","enabled":true}"#),
    );
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["error"]["type"], "parse_exception", "{e}");
    let (status, e) = call(
        "PUT",
        "/_security/role_mapping/bad",
        Some(r#"{"roles":["viewer"],"rules":{"feild":{"username":"x"}},"enabled":true}"#),
    );
    assert_eq!(status, 400, "{e}");
    assert_eq!(call("GET", "/_security/role_mapping/bad", None).0, 404);
    assert_eq!(call("PUT", "/docs/_doc/1?refresh=true", Some(r#"{"a":1}"#)).0, 201);
    let (status, e) = call(
        "PUT",
        "/_security/role_mapping/alice_views",
        Some(r#"{"roles":["viewer"],"rules":{"field":{"username":"alice"}},"enabled":true}"#),
    );
    assert_eq!(status, 200, "{e}");
    let (status, e) = call(
        "PUT",
        "/_security/role_mapping/alice_edits",
        Some(r#"{"roles":["editor"],"rules":{"field":{"dn":"*,o=example"}},"enabled":false}"#),
    );
    assert_eq!(status, 200, "{e}");
    let alice = |m: &str, path: &str, body: Option<&str>, h: &[&str]| {
        certs.call(port, (Some("alice"), None), m, path, body, h)
    };
    let (_, me) = alice("GET", "/_security/_authenticate", None, &[]);
    assert_eq!(me["roles"], serde_json::json!(["viewer"]), "{me}");
    let (status, found) = alice("GET", "/docs/_search", None, &[]);
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["hits"]["total"]["value"], 1);
    assert_eq!(alice("PUT", "/docs/_doc/2", Some(r#"{"a":2}"#), &[]).0, 403);
    // Run-as applies to certificate logins: refused without the run_as privilege ...
    assert_eq!(alice("GET", "/_security/_authenticate", None, &["es-security-runas-user: carol"]).0, 403);
    // ... and applied with it.
    assert_eq!(call("POST", "/_security/role/runner", Some(r#"{"run_as":["carol"]}"#)).0, 200);
    assert_eq!(
        call(
            "POST",
            "/_security/user/carol",
            Some(r#"{"password":"carol-strong-password-1","roles":["editor"]}"#)
        )
        .0,
        200
    );
    assert_eq!(call("PUT", "/_security/role_mapping/runner", Some(r#"{"roles":["runner"],"rules":{"all":[{"field":{"realm.name":"certs"}},{"except":{"field":{"username":"alice"}}}]},"enabled":true}"#)).0, 200);
    let (status, me) = certs.call(
        port,
        (Some("elastic"), None),
        "GET",
        "/_security/_authenticate",
        None,
        &["es-security-runas-user: carol"],
    );
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["username"], "carol", "{me}");
    assert_eq!(me["roles"], serde_json::json!(["editor"]), "{me}");
    assert_eq!(me["lookup_realm"]["type"], "native", "{me}");
    assert_eq!(me["authentication_realm"]["name"], "certs", "{me}");
    node.stop();

    // A custom username_pattern: the OU names the user, the CN does not matter.
    set_settings(
        &home,
        &base,
        "xpack.security.authc.realms.pki.certs.order: 1\nxpack.security.authc.realms.pki.certs.username_pattern: \"OU=(.*?),\"\n",
    );
    let mut node = bulwark_testkit::Node::spawn(&home, &[], &[]);
    let port = node.port();
    wait_until("the node answers", || {
        certs.call(port, (None, Some(&elastic)), "GET", "/", None, &[]).0 == 200
    });
    let (status, me) = certs.call(port, (Some("bob"), None), "GET", "/_security/_authenticate", None, &[]);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["username"], "bob");
    assert_eq!(
        certs.call(port, (Some("elastic"), None), "GET", "/_security/_authenticate", None, &[]).0,
        401
    );
    node.stop();

    // Settings that would change who is trusted, and are not built, stop the start.
    set_settings(
        &home,
        &base,
        "xpack.security.authc.realms.pki.certs.order: 1\nxpack.security.authc.realms.pki.certs.delegation.enabled: true\n",
    );
    let (code, out, err) =
        run(command(&home.path()).args(["start", "-E", "http.port=0"]).stdin(Stdio::null()));
    assert_ne!(code, 0);
    assert!(
        format!("{out}{err}").contains("xpack.security.authc.realms.pki.certs.delegation.enabled"),
        "{out}{err}"
    );
}
