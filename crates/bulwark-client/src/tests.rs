//! The client against a tiny local HTTPS server that records every request it receives.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bulwark_pki::{CertRequest, CertUsage, CertifiedKey, KeyAlgorithm, TlsVersions, issue, new_ca};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// A server presenting `leaf + ca`; answers `/` with 401 and the enrollment paths with `answers`.
struct Server {
    addr: SocketAddr,
    /// Every request's head (request line and headers), in order.
    seen: Arc<Mutex<Vec<String>>>,
    /// TLS handshakes that failed.
    failed_handshakes: Arc<Mutex<usize>>,
}

fn ca_and_leaf() -> (CertifiedKey, CertifiedKey) {
    leaf_naming(true)
}

/// A CA and a server certificate for `localhost`, and for `127.0.0.1` when `ip`.
fn leaf_naming(ip: bool) -> (CertifiedKey, CertifiedKey) {
    let ca = new_ca("Pinned test CA", 5, KeyAlgorithm::EcdsaP256).unwrap();
    let mut req = CertRequest::new("localhost");
    req.ips = if ip { vec!["127.0.0.1".parse().unwrap()] } else { Vec::new() };
    req.dns = vec!["localhost".into()];
    let leaf = issue(&ca, &req, CertUsage::Server).unwrap();
    (ca, leaf)
}

async fn serve(ca: &CertifiedKey, leaf: &CertifiedKey, answers: Vec<(&'static str, u16, String)>) -> Server {
    let cfg = bulwark_pki::server_config(
        vec![leaf.cert_der().to_vec(), ca.cert_der().to_vec()],
        leaf.key_pkcs8_der(),
        bulwark_pki::ClientAuth::None,
        TlsVersions::default(),
        &[b"http/1.1"],
        &[],
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(Mutex::new(0));
    let (seen2, failed2) = (seen.clone(), failed.clone());
    let answers = Arc::new(answers);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (acceptor, seen, failed, answers) =
                (acceptor.clone(), seen2.clone(), failed2.clone(), answers.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    *failed.lock().unwrap() += 1;
                    return;
                };
                let mut buf = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let Ok(n) = tls.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    buf.drain(..end + 4 + len);
                    seen.lock().unwrap().push(head.clone());
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let (status, body) = answers
                        .iter()
                        .find(|(p, _, _)| *p == path)
                        .map(|(_, s, b)| (*s, b.clone()))
                        .unwrap_or((401, r#"{"error":{"type":"security_exception","reason":"missing authentication credentials"},"status":401}"#.into()));
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if tls.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Server { addr, seen, failed_handshakes: failed }
}

fn key() -> SecretString {
    SecretString::from("key-id:key-secret")
}

fn kibana_answer(ca: &CertifiedKey) -> (&'static str, u16, String) {
    let body = serde_json::json!({
        "token": { "name": "enroll-process-token-1", "value": "AAEAAWVsYXN0aWMva2liYW5hL3Q6cw" },
        "http_ca": STANDARD.encode(ca.cert_der()),
    });
    ("/_security/enroll/kibana", 200, body.to_string())
}

#[tokio::test]
async fn a_mismatched_pin_aborts_before_anything_is_sent() {
    let (ca, leaf) = ca_and_leaf();
    let server = serve(&ca, &leaf, vec![kibana_answer(&ca)]).await;
    let other = new_ca("Another CA", 5, KeyAlgorithm::EcdsaP256).unwrap();
    let err =
        EnrollmentClient::connect(&[server.addr.to_string()], other.fingerprint(), &key()).await.unwrap_err();
    match &err {
        ClientError::FingerprintMismatch { address, expected, .. } => {
            assert_eq!(address, &server.addr.to_string());
            assert_eq!(*expected, other.fingerprint());
        }
        e => panic!("{e}"),
    }
    let text = err.to_string();
    assert!(text.contains("does not present the CA certificate") && text.contains("not sent"), "{text}");
    assert!(server.seen.lock().unwrap().is_empty(), "no request may reach a server with another CA");
    // The server sees the handshake fail (the client's alert may take a moment to arrive).
    for _ in 0..200 {
        if *server.failed_handshakes.lock().unwrap() >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(*server.failed_handshakes.lock().unwrap() >= 1);
    assert!(server.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_key_goes_only_to_a_verified_server() {
    let (ca, leaf) = ca_and_leaf();
    let server = serve(&ca, &leaf, vec![kibana_answer(&ca)]).await;
    // A dead address first: it is skipped.
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let addresses = vec![dead.to_string(), server.addr.to_string()];
    let client = EnrollmentClient::connect(&addresses, ca.fingerprint(), &key()).await.unwrap();
    assert_eq!(client.address(), server.addr.to_string());
    let k = client.enroll_kibana().await.unwrap();
    assert_eq!(k.token_name, "enroll-process-token-1");
    assert_eq!(k.http_ca_der, ca.cert_der());
    assert!(!format!("{k:?}").contains("AAEAAW"), "the token is redacted");
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[0].starts_with("GET / "), "{}", seen[0]);
    assert!(!seen[0].to_ascii_lowercase().contains("authorization"), "the probe carries no credentials");
    assert!(seen[1].starts_with("GET /_security/enroll/kibana "), "{}", seen[1]);
    let auth = format!("authorization: ApiKey {}", STANDARD.encode("key-id:key-secret"));
    assert!(seen[1].lines().any(|l| l.eq_ignore_ascii_case(&auth)), "{}", seen[1]);
}

#[tokio::test]
async fn certificate_must_name_the_address_and_errors_name_each_address() {
    let (ca, leaf) = leaf_naming(false);
    let server = serve(&ca, &leaf, vec![]).await;
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    // The certificate names localhost, not the address 127.0.0.1.
    let unnamed = server.addr.to_string();
    let err = EnrollmentClient::connect(&[dead.to_string(), unnamed.clone()], ca.fingerprint(), &key())
        .await
        .unwrap_err();
    let ClientError::Unreachable { attempts } = &err else { panic!("{err}") };
    assert!(matches!(attempts[0].1, AttemptError::Unreachable(_)), "{attempts:?}");
    assert!(
        matches!(&attempts[1].1, AttemptError::CertificateInvalid(d) if d.contains("NotValidForName")),
        "{attempts:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&dead.to_string()) && text.contains(&unnamed), "{text}");
    assert!(server.seen.lock().unwrap().is_empty());
    assert!(matches!(
        EnrollmentClient::connect(&[], ca.fingerprint(), &key()).await,
        Err(ClientError::NoAddress)
    ));
    assert!(matches!(
        EnrollmentClient::connect(&["no port".into()], ca.fingerprint(), &key()).await,
        Err(ClientError::BadAddress(_))
    ));
}

#[tokio::test]
async fn server_refusals_map_to_token_errors() {
    let (ca, leaf) = ca_and_leaf();
    let error = |status: u16, reason: &str| {
        serde_json::json!({"error": {"type": "security_exception", "reason": reason}, "status": status})
            .to_string()
    };
    let other = new_ca("Another CA", 5, KeyAlgorithm::EcdsaP256).unwrap();
    let wrong_ca = serde_json::json!({"token": {"name": "n", "value": "v"}, "http_ca": STANDARD.encode(other.cert_der())});
    type Expect = fn(&ClientError) -> bool;
    let cases: Vec<(u16, String, Expect)> = vec![
        (401, error(401, "unable to authenticate: the enrollment token has expired (API key [x])"), |e| {
            matches!(e, ClientError::Expired(_))
        }),
        (401, error(401, "the enrollment token was already used (API key [x])"), |e| {
            matches!(e, ClientError::AlreadyUsed(_))
        }),
        (
            403,
            error(
                403,
                "the enrollment token is for [node] enrollment and cannot be used for [kibana] enrollment",
            ),
            |e| matches!(e, ClientError::WrongScope(_)),
        ),
        (
            403,
            error(403, "Enrollment mode is not enabled. Set [xpack.security.enrollment.enabled] to true"),
            |e| matches!(e, ClientError::Disabled(_)),
        ),
        (500, error(500, "boom"), |e| matches!(e, ClientError::Refused { status: 500, .. })),
        (
            200,
            wrong_ca.to_string(),
            |e| matches!(e, ClientError::BadResponse { detail, .. } if detail.contains("pinned fingerprint")),
        ),
        (200, "{}".into(), |e| matches!(e, ClientError::BadResponse { .. })),
    ];
    for (status, body, expected) in cases {
        let server = serve(&ca, &leaf, vec![("/_security/enroll/kibana", status, body.clone())]).await;
        let client =
            EnrollmentClient::connect(&[server.addr.to_string()], ca.fingerprint(), &key()).await.unwrap();
        let e = client.enroll_kibana().await.unwrap_err();
        assert!(expected(&e), "{status} {body}: {e:?}");
    }
}
