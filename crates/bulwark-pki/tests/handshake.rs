//! In-memory TLS handshakes between the server and client configurations this crate builds.

use std::io::{Read, Write};
use std::sync::Arc;

use bulwark_pki::{
    CertRequest, CertUsage, CertifiedKey, ClientAuth, ClientTrust, Fingerprint, KeyAlgorithm, PkiError,
    Revocation, RevocationReason, RsaBits, TlsVersions, client_config_mtls, client_config_pinned,
    client_config_trusting, issue, issue_crl, new_ca, server_config,
};
use rustls::pki_types::ServerName;
use rustls::{
    ClientConfig, ClientConnection, ProtocolVersion, RootCertStore, ServerConfig, ServerConnection,
};

struct Pki {
    ca: CertifiedKey,
    server: CertifiedKey,
}

fn pki(key: KeyAlgorithm) -> Pki {
    let ca = new_ca("Handshake CA", 30, key).unwrap();
    let mut req = CertRequest::new("node-1");
    req.dns = vec!["localhost".to_owned()];
    req.ips = vec!["127.0.0.1".parse().unwrap()];
    req.key = key;
    let server = issue(&ca, &req, CertUsage::ServerAndClient).unwrap();
    Pki { ca, server }
}

fn full_chain(p: &Pki) -> Vec<Vec<u8>> {
    vec![p.server.cert_der().to_vec(), p.ca.cert_der().to_vec()]
}

fn server(p: &Pki, chain: Vec<Vec<u8>>, auth: ClientAuth, versions: TlsVersions) -> ServerConfig {
    server_config(chain, p.server.key_pkcs8_der(), auth, versions, &[b"h2", b"http/1.1"], &[]).unwrap()
}

/// Pumps TLS records between the two sides until both finish the handshake and a line of
/// application data has crossed; returns the first error either side reports.
fn connect(
    client_cfg: ClientConfig,
    server_cfg: ServerConfig,
    name: &str,
) -> Result<(ClientConnection, ServerConnection), String> {
    let name = ServerName::try_from(name.to_owned()).map_err(|e| e.to_string())?;
    let mut client = ClientConnection::new(Arc::new(client_cfg), name).map_err(|e| e.to_string())?;
    let mut server = ServerConnection::new(Arc::new(server_cfg)).map_err(|e| e.to_string())?;
    client.writer().write_all(b"ping\n").map_err(|e| e.to_string())?;
    for _ in 0..32 {
        let mut buf = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut buf).map_err(|e| e.to_string())?;
        }
        if !buf.is_empty() {
            let mut rd = &buf[..];
            while !rd.is_empty() {
                server.read_tls(&mut rd).map_err(|e| e.to_string())?;
            }
            server.process_new_packets().map_err(|e| format!("server: {e}"))?;
        }
        let mut buf = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut buf).map_err(|e| e.to_string())?;
        }
        if !buf.is_empty() {
            let mut rd = &buf[..];
            while !rd.is_empty() {
                client.read_tls(&mut rd).map_err(|e| e.to_string())?;
            }
            client.process_new_packets().map_err(|e| format!("client: {e}"))?;
        }
        if !client.is_handshaking() && !server.is_handshaking() && !client.wants_write() {
            let mut got = [0u8; 5];
            if server.reader().read_exact(&mut got).is_ok() {
                assert_eq!(&got, b"ping\n");
                return Ok((client, server));
            }
        }
    }
    Err("the handshake made no progress".to_owned())
}

fn tls12_only_client(ca: &CertifiedKey) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert_der().to_vec().into()).unwrap();
    ClientConfig::builder_with_provider(bulwark_pki::provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[test]
fn pinned_client_accepts_the_right_ca() {
    for key in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa(RsaBits::B2048)] {
        let p = pki(key);
        let pin: Fingerprint = p.ca.fingerprint().colon_hex_upper().parse().unwrap();
        for name in ["localhost", "127.0.0.1"] {
            let cfg = server(&p, full_chain(&p), ClientAuth::None, TlsVersions::Tls12And13);
            let (client, _server) = connect(client_config_pinned(pin).unwrap(), cfg, name)
                .unwrap_or_else(|e| panic!("{key} {name}: {e}"));
            assert_eq!(client.protocol_version(), Some(ProtocolVersion::TLSv1_3));
            assert_eq!(client.alpn_protocol(), None, "the client offered no ALPN");
            let sent = client.peer_certificates().unwrap();
            assert_eq!(sent.len(), 2, "the server sends leaf and CA");
        }
    }
}

#[test]
fn pinned_client_still_checks_the_host_name() {
    let p = pki(KeyAlgorithm::EcdsaP256);
    let cfg = server(&p, full_chain(&p), ClientAuth::None, TlsVersions::Tls12And13);
    let err =
        connect(client_config_pinned(p.ca.fingerprint()).unwrap(), cfg, "elsewhere.example").unwrap_err();
    assert!(err.contains("client:") && err.contains("not valid for name"), "{err}");
}

#[test]
fn wrong_pin_fails() {
    let p = pki(KeyAlgorithm::EcdsaP256);
    let other = new_ca("Some other CA", 30, KeyAlgorithm::EcdsaP256).unwrap();
    let cfg = server(&p, full_chain(&p), ClientAuth::None, TlsVersions::Tls12And13);
    let err = connect(client_config_pinned(other.fingerprint()).unwrap(), cfg, "localhost").unwrap_err();
    assert!(err.contains("client:") && err.contains("UnknownIssuer"), "{err}");
}

#[test]
fn pin_of_a_ca_the_server_does_not_send_fails() {
    let p = pki(KeyAlgorithm::EcdsaP256);
    let leaf_only = vec![p.server.cert_der().to_vec()];
    let cfg = server(&p, leaf_only, ClientAuth::None, TlsVersions::Tls12And13);
    let err = connect(client_config_pinned(p.ca.fingerprint()).unwrap(), cfg, "localhost").unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
}

#[test]
fn trusting_client_and_alpn() {
    let p = pki(KeyAlgorithm::EcdsaP256);
    let cfg = server(&p, full_chain(&p), ClientAuth::None, TlsVersions::Tls12And13);
    let mut client_cfg = client_config_trusting(&[p.ca.cert_der()]).unwrap();
    client_cfg.alpn_protocols = vec![b"http/1.1".to_vec(), b"h2".to_vec()];
    let (client, _) = connect(client_cfg, cfg, "localhost").unwrap();
    // The server's preference (h2 first) wins.
    assert_eq!(client.alpn_protocol(), Some(&b"h2"[..]));
    let other = new_ca("Other", 30, KeyAlgorithm::EcdsaP256).unwrap();
    let cfg = server(&p, full_chain(&p), ClientAuth::None, TlsVersions::Tls12And13);
    let err = connect(client_config_trusting(&[other.cert_der()]).unwrap(), cfg, "localhost").unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
}

#[test]
fn tls13_only_refuses_a_tls12_only_client() {
    for key in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa(RsaBits::B2048)] {
        let p = pki(key);
        // Control: the same client works against a 1.2+1.3 server, and gets TLS 1.2.
        let cfg = server(&p, full_chain(&p), ClientAuth::None, TlsVersions::Tls12And13);
        let (client, _) = connect(tls12_only_client(&p.ca), cfg, "localhost").unwrap();
        assert_eq!(client.protocol_version(), Some(ProtocolVersion::TLSv1_2));
        let suite = format!("{:?}", client.negotiated_cipher_suite().unwrap().suite());
        assert!(suite.starts_with("TLS_ECDHE_"), "{suite}");

        let cfg = server(&p, full_chain(&p), ClientAuth::None, TlsVersions::Tls13Only);
        let err = connect(tls12_only_client(&p.ca), cfg, "localhost").unwrap_err();
        assert!(err.contains("server:"), "{err}");
    }
}

#[test]
fn required_client_auth() {
    let p = pki(KeyAlgorithm::EcdsaP256);
    let roots = vec![p.ca.cert_der().to_vec()];
    let client_cert = issue(&p.ca, &CertRequest::new("client"), CertUsage::Client).unwrap();
    let mtls = |c: &CertifiedKey| {
        client_config_mtls(
            &[p.ca.cert_der()],
            vec![c.cert_der().to_vec(), p.ca.cert_der().to_vec()],
            c.key_pkcs8_der(),
        )
        .unwrap()
    };

    let cfg = server(&p, full_chain(&p), ClientAuth::Required(roots.clone().into()), TlsVersions::Tls12And13);
    let (_, srv) = connect(mtls(&client_cert), cfg, "localhost").unwrap();
    let presented = srv.peer_certificates().unwrap();
    assert_eq!(presented[0].as_ref(), client_cert.cert_der());

    let cfg = server(&p, full_chain(&p), ClientAuth::Required(roots.clone().into()), TlsVersions::Tls12And13);
    let err = connect(client_config_trusting(&[p.ca.cert_der()]).unwrap(), cfg, "localhost").unwrap_err();
    assert!(err.contains("server:"), "{err}");

    let rogue_ca = new_ca("Rogue", 30, KeyAlgorithm::EcdsaP256).unwrap();
    let rogue = issue(&rogue_ca, &CertRequest::new("client"), CertUsage::Client).unwrap();
    let cfg = server(&p, full_chain(&p), ClientAuth::Required(roots.clone().into()), TlsVersions::Tls12And13);
    let err = connect(mtls(&rogue), cfg, "localhost").unwrap_err();
    assert!(err.contains("server:") && err.contains("UnknownIssuer"), "{err}");

    // Optional: a client without a certificate gets in, and the server sees no identity.
    let cfg = server(&p, full_chain(&p), ClientAuth::Optional(roots.clone().into()), TlsVersions::Tls12And13);
    let (_, srv) = connect(client_config_trusting(&[p.ca.cert_der()]).unwrap(), cfg, "localhost").unwrap();
    assert!(srv.peer_certificates().is_none());

    // A certificate on the CA's revocation list is refused, required or optional; others pass.
    let revoked = issue(&p.ca, &CertRequest::new("revoked"), CertUsage::Client).unwrap();
    let entry = Revocation {
        serial_hex: revoked.info().unwrap().serial_hex,
        revoked_at: time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
        reason: RevocationReason::KeyCompromise,
    };
    let crl = issue_crl(&p.ca, 1, &[entry], time::Duration::days(1)).unwrap();
    let trust = ClientTrust { roots: roots.clone(), crls: vec![crl] };
    for auth in [ClientAuth::Required(trust.clone()), ClientAuth::Optional(trust)] {
        let cfg = server(&p, full_chain(&p), auth.clone(), TlsVersions::Tls12And13);
        let err = connect(mtls(&revoked), cfg, "localhost").unwrap_err();
        assert!(err.contains("server:") && err.contains("Revoked"), "{err}");
        let cfg = server(&p, full_chain(&p), auth, TlsVersions::Tls12And13);
        assert!(connect(mtls(&client_cert), cfg, "localhost").is_ok());
    }
    // A client of a CA without a list here is not refused for it.
    let other_ca = new_ca("Other", 30, KeyAlgorithm::EcdsaP256).unwrap();
    let other = issue(&other_ca, &CertRequest::new("other"), CertUsage::Client).unwrap();
    let trust = ClientTrust {
        roots: vec![p.ca.cert_der().to_vec(), other_ca.cert_der().to_vec()],
        crls: vec![issue_crl(&p.ca, 2, &[], time::Duration::days(1)).unwrap()],
    };
    let cfg = server(&p, full_chain(&p), ClientAuth::Required(trust), TlsVersions::Tls12And13);
    let other_client = client_config_mtls(
        &[p.ca.cert_der()],
        vec![other.cert_der().to_vec(), other_ca.cert_der().to_vec()],
        other.key_pkcs8_der(),
    )
    .unwrap();
    assert!(connect(other_client, cfg, "localhost").is_ok());
}

#[test]
fn server_config_refuses_bad_material() {
    let p = pki(KeyAlgorithm::EcdsaP256);
    let other = new_ca("Other", 30, KeyAlgorithm::EcdsaP256).unwrap();
    let err = server_config(
        full_chain(&p),
        other.key_pkcs8_der(),
        ClientAuth::None,
        TlsVersions::Tls12And13,
        &[],
        &[],
    )
    .unwrap_err();
    assert!(matches!(err, PkiError::KeyMismatch { .. }), "{err}");
    let err =
        server_config(vec![], p.server.key_pkcs8_der(), ClientAuth::None, TlsVersions::Tls12And13, &[], &[])
            .unwrap_err();
    assert!(matches!(err, PkiError::CertParse(_)), "{err}");
    let err = server_config(
        full_chain(&p),
        p.server.key_pkcs8_der(),
        ClientAuth::Required(vec![].into()),
        TlsVersions::Tls12And13,
        &[],
        &[],
    )
    .unwrap_err();
    assert!(matches!(err, PkiError::ClientVerifier(_)), "{err}");
}
