//! Certificate revocation: the CRL distribution point in auto-configured certificates, the
//! anonymous CRL endpoint, `POST /_ssl/certificates/_revoke`, and OpenSSL's verdict with the
//! published list.

use std::path::Path;
use std::process::{Command, Stdio};

use bulwark_testkit::{Started, TestHome, free_port, run, start_fresh};

/// `curl` against the node trusting its CA: (HTTP status, body).
fn curl(s: &Started, home: &TestHome, args: &[&str], path: &str) -> (u16, Vec<u8>) {
    let url = format!("https://localhost:{}{path}", s.port);
    let ca = home.config("certs/http_ca.crt");
    let out = Command::new("curl")
        .args(["-s", "--cacert"])
        .arg(&ca)
        .args(["-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("curl");
    let mut body = out.stdout;
    let split = body.iter().rposition(|b| *b == b'\n').expect("status line");
    let status = String::from_utf8_lossy(&body[split + 1..]).parse().expect("status");
    body.truncate(split);
    (status, body)
}

fn revoke(s: &Started, home: &TestHome, user: &str, password: &str, body: &str) -> (u16, serde_json::Value) {
    let auth = format!("{user}:{password}");
    let args = ["-u", &auth, "-X", "POST", "-H", "content-type: application/json", "-d", body];
    let (status, out) = curl(s, home, &args, "/_ssl/certificates/_revoke");
    (status, serde_json::from_slice(&out).expect("JSON"))
}

fn openssl(args: &[&str], dir: &Path) -> (i32, String) {
    let (code, out, err) = run(Command::new("openssl").args(args).current_dir(dir));
    (code, out + &err)
}

/// The node's HTTP certificate as PEM, from the handshake.
fn served_certificate(port: u16, dir: &Path) -> String {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost"])
        .stdin(Stdio::null())
        .output()
        .expect("openssl s_client");
    let text = String::from_utf8_lossy(&out.stdout);
    let (start, end) =
        (text.find("-----BEGIN CERTIFICATE-----").unwrap(), text.find("-----END CERTIFICATE-----").unwrap());
    std::fs::write(dir.join("leaf.pem"), &text[start..end + 25]).unwrap();
    let (code, serial) = openssl(&["x509", "-in", "leaf.pem", "-noout", "-serial"], dir);
    assert_eq!(code, 0);
    serial.trim().trim_start_matches("serial=").to_owned()
}

/// Fetches the HTTP CA's CRL without credentials and runs `openssl verify -crl_check` on the
/// served certificate with it: (exit code, output).
fn verify_with_published_crl(s: &Started, home: &TestHome, dir: &Path) -> (i32, String) {
    let (status, der) = curl(s, home, &[], "/_ssl/crl/http_ca.crl");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&der));
    std::fs::write(dir.join("http_ca.crl"), der).unwrap();
    let ca = home.config("certs/http_ca.crt").display().to_string();
    let (code, out) =
        openssl(&["crl", "-inform", "DER", "-in", "http_ca.crl", "-CAfile", &ca, "-noout"], dir);
    assert!(code == 0 && out.contains("verify OK"), "{out}");
    assert_eq!(
        openssl(&["crl", "-inform", "DER", "-in", "http_ca.crl", "-out", "http_ca.crl.pem"], dir).0,
        0
    );
    openssl(&["verify", "-crl_check", "-CAfile", &ca, "-CRLfile", "http_ca.crl.pem", "leaf.pem"], dir)
}

#[test]
fn revoked_certificates_are_published_in_the_cas_revocation_list() {
    let home = TestHome::new();
    let port = free_port();
    let s = start_fresh(&home, &["-E", &format!("http.port={port}")]);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();

    // The certificate names the list on this node's fixed port, by host name and localhost.
    let serial = served_certificate(port, dir);
    let (_, text) = openssl(&["x509", "-in", "leaf.pem", "-noout", "-text"], dir);
    assert!(text.contains(&format!("URI:https://localhost:{port}/_ssl/crl/http_ca.crl")), "{text}");

    // Published without credentials, signed by the CA, listing nothing yet.
    let (code, out) = verify_with_published_crl(&s, &home, dir);
    assert!(code == 0 && out.contains("leaf.pem: OK"), "{out}");
    let (status, _) = curl(&s, &home, &[], "/_ssl/crl/transport_ca.crl");
    assert_eq!(status, 200);
    let (status, body) = curl(&s, &home, &[], "/_ssl/crl/other_ca.crl");
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));

    // Revoking needs credentials and manage_security.
    let body =
        format!(r#"{{"authority": "http_ca", "serial_number": "{serial}", "reason": "key_compromise"}}"#);
    let (status, _) = curl(
        &s,
        &home,
        &["-X", "POST", "-H", "content-type: application/json", "-d", &body],
        "/_ssl/certificates/_revoke",
    );
    assert_eq!(status, 401);
    let user = r#"{"password": "viewer-password-1", "roles": ["viewer"]}"#;
    let auth = format!("elastic:{}", s.password);
    let (status, _) = curl(
        &s,
        &home,
        &["-u", &auth, "-X", "PUT", "-H", "content-type: application/json", "-d", user],
        "/_security/user/viewer1",
    );
    assert_eq!(status, 200);
    let (status, denied) = revoke(&s, &home, "viewer1", "viewer-password-1", &body);
    assert_eq!(status, 403, "{denied}");
    let (status, bad) =
        revoke(&s, &home, "elastic", &s.password, r#"{"authority": "http_ca", "serial_number": "xyz"}"#);
    assert_eq!(
        (status, bad["error"]["type"].as_str()),
        (400, Some("action_request_validation_exception")),
        "{bad}"
    );

    // Revoked (OpenSSL's colon-free upper-case spelling is accepted), once.
    let (status, done) = revoke(&s, &home, "elastic", &s.password, &body);
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["revoked"], true);
    assert_eq!(done["certificate"]["serial_number"], serial.to_lowercase().trim_start_matches('0'));
    assert_eq!(done["certificate"]["reason"], "key_compromise");
    assert_eq!(done["certificate"]["revoked_by"], "elastic");
    assert_eq!(done["in_use_by_this_node"], serde_json::json!(["certs/http.p12"]), "{done}");
    let (_, again) = revoke(&s, &home, "elastic", &s.password, &body);
    assert_eq!(again["revoked"], false);
    let (status, listed) = curl(&s, &home, &["-u", &auth], "/_ssl/certificates/_revoked");
    let listed: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    assert_eq!((status, listed["count"].as_u64()), (200, Some(1)), "{listed}");

    // The next list says so, and OpenSSL refuses the certificate with it.
    let (code, out) = verify_with_published_crl(&s, &home, dir);
    assert!(code != 0 && out.contains("certificate revoked"), "{out}");
    let audit = std::fs::read_to_string(home.path().join("logs/audit.json")).unwrap();
    assert!(audit.contains("revoke_certificate"), "the revocation is audited");
    assert!(home.log().contains("the certificate in [certs/http.p12] that this node serves was revoked"));
}
