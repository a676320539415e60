//! The transport's mutual TLS: a peer with a certificate of the transport CA that names its
//! address is served; another CA, a revoked certificate, an expired one, a certificate for
//! another address and no certificate are refused (and reported once), and a server whose certificate does not name the
//! address dialled is refused by the client.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bulwark_pki::{
    CertRequest, CertUsage, CertifiedKey, ClientAuth, ClientTrust, KeyAlgorithm, Revocation,
    RevocationReason, TlsVersions,
};
use bulwark_transport::Bytes;
use bulwark_transport::{BoxFuture, CallError, Client, Failure, Handler, ServerTls};
use tokio::net::TcpListener;

const T: Duration = Duration::from_secs(5);

struct Echo;
impl Handler for Echo {
    fn call(&self, method: &str, body: Bytes) -> BoxFuture<Result<Vec<u8>, Failure>> {
        let m = method.to_owned();
        Box::pin(async move {
            match m.as_str() {
                "echo" => Ok(body.to_vec()),
                "busy" => Err(Failure::retry("not the leader")),
                _ => Err(Failure::fatal(format!("no method [{m}]"))),
            }
        })
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ca(name: &str) -> CertifiedKey {
    bulwark_pki::new_ca(name, 30, KeyAlgorithm::EcdsaP256).unwrap()
}

fn node_cert(ca: &CertifiedKey, name: &str, addr: &str) -> CertifiedKey {
    let mut req = CertRequest::new(name);
    req.ips = vec![ip(addr)];
    req.validity_days = 30;
    bulwark_pki::issue(ca, &req, CertUsage::ServerAndClient).unwrap()
}

type Denied = Arc<Mutex<Vec<(SocketAddr, String)>>>;

/// A server on `addr` presenting `cert`, trusting `ca` (with `crls`).
async fn server(
    addr: &str,
    ca: &CertifiedKey,
    cert: &CertifiedKey,
    crls: Vec<Vec<u8>>,
) -> (SocketAddr, Denied) {
    let trust = ClientTrust { roots: vec![ca.cert_der().to_vec()], crls };
    let config = bulwark_pki::server_config(
        vec![cert.cert_der().to_vec(), ca.cert_der().to_vec()],
        cert.key_pkcs8_der(),
        ClientAuth::Required(trust),
        TlsVersions::Tls12And13,
        &[bulwark_transport::ALPN],
        &[],
    )
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind(SocketAddr::new(ip(addr), 0)).await.unwrap();
    let bound = listener.local_addr().unwrap();
    let denied: Denied = Arc::default();
    let d = denied.clone();
    let tls = ServerTls { config: Arc::new(move || config.clone()), check_peer_address: true };
    bulwark_transport::serve(
        listener,
        tls,
        Arc::new(Echo),
        Arc::new(move |a, why| d.lock().unwrap().push((a, why.to_owned()))),
    );
    (bound, denied)
}

fn client(ca: &CertifiedKey, cert: Option<&CertifiedKey>, from: &str) -> Client {
    let config = match cert {
        Some(c) => bulwark_pki::client_config_mtls(
            &[ca.cert_der()],
            vec![c.cert_der().to_vec(), ca.cert_der().to_vec()],
            c.key_pkcs8_der(),
        ),
        None => bulwark_pki::client_config_trusting(&[ca.cert_der()]),
    }
    .unwrap();
    let config = Arc::new(config);
    Client::new(Arc::new(move || config.clone()), Some(ip(from)))
}

async fn refused(c: &Client, at: SocketAddr, denied: &Denied, why: &str) {
    let r = c.call(&at.to_string(), "echo", b"secret".to_vec(), T).await;
    assert!(r.is_err(), "a refused peer got an answer: {r:?}");
    // The server reports the refusal (its side of the handshake may finish after the client's).
    for _ in 0..100 {
        if !denied.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = denied.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].1.contains(why), "expected [{why}] in {got:?}");
    // A second attempt from the same address is refused again but not reported again.
    assert!(c.call(&at.to_string(), "echo", vec![], T).await.is_err());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(denied.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_node_of_the_same_ca_that_names_its_address_is_served() {
    let ca = ca("transport CA");
    let (at, denied) = server("127.0.0.2", &ca, &node_cert(&ca, "n1", "127.0.0.2"), vec![]).await;
    let c = client(&ca, Some(&node_cert(&ca, "n2", "127.0.0.3")), "127.0.0.3");
    assert_eq!(c.call(&at.to_string(), "echo", b"hello".to_vec(), T).await.unwrap(), b"hello");
    // The connection is reused, and failures carry whether a retry is safe.
    let err = c.call(&at.to_string(), "busy", vec![], T).await.unwrap_err();
    assert!(err.is_retry_safe(), "{err:?}");
    let err = c.call(&at.to_string(), "nope", vec![], T).await.unwrap_err();
    assert!(
        matches!(&err, CallError::Remote { retry: false, message, .. } if message.contains("nope")),
        "{err:?}"
    );
    assert!(denied.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_certificate_of_another_ca_is_refused() {
    let ca = ca("transport CA");
    let rogue_ca = ca_other();
    let (at, denied) = server("127.0.0.4", &ca, &node_cert(&ca, "n1", "127.0.0.4"), vec![]).await;
    // The rogue trusts the real CA (it knows the public certificate) but its own is another CA's.
    let rogue = node_cert(&rogue_ca, "rogue", "127.0.0.5");
    let config = bulwark_pki::client_config_mtls(
        &[ca.cert_der()],
        vec![rogue.cert_der().to_vec()],
        rogue.key_pkcs8_der(),
    )
    .unwrap();
    let config = Arc::new(config);
    let c = Client::new(Arc::new(move || config.clone()), Some(ip("127.0.0.5")));
    refused(&c, at, &denied, "TLS handshake failed").await;
}

fn ca_other() -> CertifiedKey {
    ca("rogue CA")
}

#[tokio::test]
async fn a_valid_certificate_for_another_address_is_refused() {
    let ca = ca("transport CA");
    let (at, denied) = server("127.0.0.6", &ca, &node_cert(&ca, "n1", "127.0.0.6"), vec![]).await;
    // Issued by the right CA for 127.0.0.8, presented from 127.0.0.7.
    let c = client(&ca, Some(&node_cert(&ca, "n3", "127.0.0.8")), "127.0.0.7");
    refused(&c, at, &denied, "does not name the address it connects from").await;
}

#[tokio::test]
async fn a_peer_without_a_certificate_is_refused() {
    let ca = ca("transport CA");
    let (at, denied) = server("127.0.0.9", &ca, &node_cert(&ca, "n1", "127.0.0.9"), vec![]).await;
    let c = client(&ca, None, "127.0.0.10");
    refused(&c, at, &denied, "TLS handshake failed").await;
}

#[tokio::test]
async fn a_revoked_certificate_is_refused() {
    let ca = ca("transport CA");
    let revoked = node_cert(&ca, "gone", "127.0.0.12");
    let serial = bulwark_pki::inspect(revoked.cert_der()).unwrap().serial_hex;
    let crl = bulwark_pki::issue_crl(
        &ca,
        1,
        &[Revocation { serial_hex: serial, revoked_at: time_now(), reason: RevocationReason::KeyCompromise }],
        time::Duration::hours(1),
    )
    .unwrap();
    let (at, denied) = server("127.0.0.11", &ca, &node_cert(&ca, "n1", "127.0.0.11"), vec![crl]).await;
    let c = client(&ca, Some(&revoked), "127.0.0.12");
    refused(&c, at, &denied, "TLS handshake failed").await;
}

#[tokio::test]
async fn an_expired_certificate_is_refused() {
    let ca = ca("transport CA");
    // Issued by the right CA for the right address, valid until yesterday (made with rcgen, as
    // the node's own issuing refuses a validity in the past).
    let ca_key = rcgen::KeyPair::try_from(ca.key_pkcs8_der()).unwrap();
    let ca_der = rustls::pki_types::CertificateDer::from(ca.cert_der().to_vec());
    let issuer = rcgen::Issuer::from_ca_cert_der(&ca_der, ca_key).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.subject_alt_names = vec![rcgen::SanType::IpAddress(ip("127.0.0.16"))];
    params.extended_key_usages =
        vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth, rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = time_now() - time::Duration::days(2);
    params.not_after = time_now() - time::Duration::days(1);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let config = bulwark_pki::client_config_mtls(
        &[ca.cert_der()],
        vec![cert.der().to_vec(), ca.cert_der().to_vec()],
        &key.serialize_der(),
    )
    .unwrap();
    let config = Arc::new(config);
    let c = Client::new(Arc::new(move || config.clone()), Some(ip("127.0.0.16")));
    let (at, denied) = server("127.0.0.15", &ca, &node_cert(&ca, "n1", "127.0.0.15"), vec![]).await;
    refused(&c, at, &denied, "certificate expired").await;
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

#[tokio::test]
async fn a_server_whose_certificate_names_another_address_is_refused_by_the_client() {
    let ca = ca("transport CA");
    let (at, _denied) = server("127.0.0.13", &ca, &node_cert(&ca, "n1", "127.0.0.99"), vec![]).await;
    let c = client(&ca, Some(&node_cert(&ca, "n2", "127.0.0.14")), "127.0.0.14");
    let err = c.call(&at.to_string(), "echo", b"secret".to_vec(), T).await.unwrap_err();
    assert!(matches!(&err, CallError::Connect { reason, .. } if reason.contains("TLS")), "{err:?}");
}
