//! Interoperability with the machine's `openssl` and `keytool` (both required; `scripts/test`
//! installs them): every file this crate writes must be readable by them, and files they write
//! must be readable here.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bulwark_pki::{
    CertRequest, CertUsage, CertifiedKey, ClientAuth, KeyAlgorithm, P12Entry, PkiError, Revocation,
    RevocationReason, RsaBits, SecretString, TlsVersions, cert_pem, certs_from_pem, crl_pem, inspect,
    inspect_csr, issue, issue_crl, key_from_pem, key_from_pem_with_passphrase, key_matches_cert,
    load_ca_from_p12, load_ca_from_pem, new_ca, new_csr, read_crl, read_p12, server_config, sign_csr,
    write_p12, write_private_file, write_public_file,
};

const PW: &str = "Interop-pw-1";

fn pw(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program).args(args).current_dir(dir).stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!(
            "could not run {program} (scripts/test installs it; Debian: openssl, default-jre-headless): {e}"
        )
    })
}

/// Runs a command that must succeed; returns stdout and stderr together.
fn ok(program: &str, args: &[&str], dir: &Path) -> String {
    let out = run(program, args, dir);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

fn openssl(args: &[&str], dir: &Path) -> String {
    ok("openssl", args, dir)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    write_public_file(&path, bytes).unwrap();
    path
}

fn leaf_request(key: KeyAlgorithm) -> CertRequest {
    CertRequest {
        subject_cn: "node-1".to_owned(),
        dns: vec!["localhost".to_owned(), "node-1.example.internal".to_owned()],
        ips: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
        validity_days: 60,
        key,
        crl_urls: vec!["https://node-1.example.internal:9200/_ssl/crl/http_ca.crl".to_owned()],
    }
}

const KEYS: [KeyAlgorithm; 2] = [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa(RsaBits::B2048)];

#[test]
fn fingerprint_equals_openssl() {
    let dir = tempfile::tempdir().unwrap();
    for key in KEYS {
        let ca = new_ca("Fingerprint CA", 10, key).unwrap();
        write(dir.path(), "ca.pem", ca.cert_pem().as_bytes());
        let out = openssl(&["x509", "-fingerprint", "-sha256", "-noout", "-in", "ca.pem"], dir.path());
        let (_, colon_hex) = out.trim().split_once('=').unwrap();
        assert_eq!(colon_hex, ca.fingerprint().colon_hex_upper());
        assert_eq!(colon_hex.replace(':', "").to_lowercase(), ca.fingerprint().to_string());
    }
}

#[test]
fn ca_and_leaf_pass_openssl_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for key in KEYS {
        let ca = new_ca("CN=Interop CA,O=Bulwark", 30, key).unwrap();
        let leaf = issue(&ca, &leaf_request(key), CertUsage::ServerAndClient).unwrap();
        let again = issue(&ca, &leaf_request(key), CertUsage::ServerAndClient).unwrap();
        write(d, "ca.pem", ca.cert_pem().as_bytes());
        write(d, "leaf.pem", leaf.cert_pem().as_bytes());
        write_private_file(&d.join("leaf.key"), leaf.key_pem().as_bytes()).unwrap();

        let out = openssl(&["verify", "-CAfile", "ca.pem", "leaf.pem"], d);
        assert!(out.contains("leaf.pem: OK"), "{out}");

        let text = openssl(&["x509", "-in", "leaf.pem", "-noout", "-text"], d);
        for needle in [
            "CA:FALSE",
            "DNS:localhost",
            "DNS:node-1.example.internal",
            "IP Address:127.0.0.1",
            "IP Address:0:0:0:0:0:0:0:1",
            "TLS Web Server Authentication",
            "TLS Web Client Authentication",
            "Digital Signature, Key Encipherment",
            "X509v3 Authority Key Identifier",
            "Issuer: CN = Interop CA, O = Bulwark",
        ] {
            assert!(text.contains(needle), "{key}: leaf text lacks {needle:?}:\n{text}");
        }
        let ca_text = openssl(&["x509", "-in", "ca.pem", "-noout", "-text"], d);
        for needle in ["CA:TRUE", "Certificate Sign, CRL Sign", "X509v3 Subject Key Identifier", "critical"] {
            assert!(ca_text.contains(needle), "{key}: CA text lacks {needle:?}:\n{ca_text}");
        }
        // The key file is a PKCS#8 key openssl reads, and it belongs to the certificate.
        let from_key = openssl(&["pkey", "-in", "leaf.key", "-pubout"], d);
        let from_cert = openssl(&["x509", "-in", "leaf.pem", "-noout", "-pubkey"], d);
        assert_eq!(from_key, from_cert);

        assert_ne!(
            inspect(leaf.cert_der()).unwrap().serial_hex,
            inspect(again.cert_der()).unwrap().serial_hex
        );
        let serial = openssl(&["x509", "-in", "leaf.pem", "-noout", "-serial"], d);
        assert_eq!(
            serial.trim().trim_start_matches("serial=").to_lowercase(),
            inspect(leaf.cert_der()).unwrap().serial_hex
        );

        // A leaf from another CA does not verify.
        let rogue_ca = new_ca("Rogue CA", 30, key).unwrap();
        let rogue = issue(&rogue_ca, &leaf_request(key), CertUsage::Server).unwrap();
        write(d, "rogue.pem", rogue.cert_pem().as_bytes());
        let out = run("openssl", &["verify", "-CAfile", "ca.pem", "rogue.pem"], d);
        assert!(!out.status.success());
    }
}

#[test]
fn p12_written_here_is_read_by_openssl_and_keytool() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = new_ca("P12 Interop CA", 30, KeyAlgorithm::Rsa(RsaBits::B2048)).unwrap();
    let leaf = issue(&ca, &leaf_request(KeyAlgorithm::EcdsaP256), CertUsage::Server).unwrap();
    let entries =
        [P12Entry::key_chain("node-1", &leaf, &[ca.cert_der()]), P12Entry::trusted("ca", ca.cert_der())];
    let bytes = write_p12(&entries, &pw(PW)).unwrap();
    write_private_file(&d.join("node.p12"), &bytes).unwrap();
    let pass = format!("pass:{PW}");

    let info = openssl(&["pkcs12", "-info", "-noout", "-in", "node.p12", "-passin", &pass], d);
    assert!(info.contains("MAC: sha256"), "{info}");
    assert!(info.contains("PBES2, PBKDF2, AES-256-CBC"), "{info}");
    assert!(!info.contains("RC2") && !info.contains("3DES") && !info.contains("TripleDES"), "{info}");

    let dump = openssl(&["pkcs12", "-in", "node.p12", "-passin", &pass, "-nodes"], d);
    let key = key_from_pem(dump.as_bytes()).unwrap();
    assert!(key_matches_cert(&key, leaf.cert_der()).unwrap());
    let certs = certs_from_pem(dump.as_bytes()).unwrap();
    assert!(certs.contains(&leaf.cert_der().to_vec()) && certs.contains(&ca.cert_der().to_vec()));

    let wrong = run("openssl", &["pkcs12", "-info", "-noout", "-in", "node.p12", "-passin", "pass:nope"], d);
    assert!(!wrong.status.success());
    assert!(matches!(read_p12(&bytes, &pw("nope")), Err(PkiError::WrongPassword)));

    let list =
        ok("keytool", &["-list", "-v", "-storetype", "PKCS12", "-storepass", PW, "-keystore", "node.p12"], d);
    assert!(list.contains("PrivateKeyEntry"), "{list}");
    assert!(list.contains("trustedCertEntry"), "{list}");
    assert!(list.contains("Certificate chain length: 2"), "{list}");
    assert!(list.contains(&ca.fingerprint().colon_hex_upper()), "{list}");
    // Java can decrypt the key: copy the keystore and read the copy back here.
    ok(
        "keytool",
        &[
            "-importkeystore",
            "-noprompt",
            "-srckeystore",
            "node.p12",
            "-srcstoretype",
            "PKCS12",
            "-srcstorepass",
            PW,
            "-destkeystore",
            "copy.p12",
            "-deststoretype",
            "PKCS12",
            "-deststorepass",
            "Copy-pw-2",
        ],
        d,
    );
    let copy = read_p12(&std::fs::read(d.join("copy.p12")).unwrap(), &pw("Copy-pw-2")).unwrap();
    let chain = copy.key_chain(Some("node-1")).unwrap();
    assert_eq!(chain.leaf_der(), Some(leaf.cert_der()));
    assert!(key_matches_cert(&chain.key_pkcs8_der, leaf.cert_der()).unwrap());
}

/// Makes an OpenSSL CA (SEC1 EC key, PrintableString name attributes) and a leaf key + cert.
fn openssl_material(d: &Path) {
    openssl(&["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "ossl-ca.key"], d);
    openssl(
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ossl-ca.key",
            "-days",
            "30",
            "-subj",
            "/C=US/O=Example Org/CN=OpenSSL Root",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            "ossl-ca.pem",
        ],
        d,
    );
    openssl(
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ossl-leaf.key",
            "-subj",
            "/CN=ossl-leaf",
            "-out",
            "ossl-leaf.csr",
        ],
        d,
    );
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "ossl-leaf.csr",
            "-CA",
            "ossl-ca.pem",
            "-CAkey",
            "ossl-ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-out",
            "ossl-leaf.pem",
        ],
        d,
    );
}

#[test]
fn p12_written_by_openssl_is_read_here() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_material(d);
    let leaf_der = certs_from_pem(&std::fs::read(d.join("ossl-leaf.pem")).unwrap()).unwrap().remove(0);
    let ca_der = certs_from_pem(&std::fs::read(d.join("ossl-ca.pem")).unwrap()).unwrap().remove(0);
    let pass = format!("pass:{PW}");
    for (name, extra) in [("default.p12", None), ("legacy.p12", Some("-legacy"))] {
        let mut args = vec![
            "pkcs12",
            "-export",
            "-inkey",
            "ossl-leaf.key",
            "-in",
            "ossl-leaf.pem",
            "-certfile",
            "ossl-ca.pem",
            "-name",
            "ossl-node",
            "-passout",
            &pass,
            "-out",
            name,
        ];
        args.extend(extra);
        openssl(&args, d);
        let bytes = std::fs::read(d.join(name)).unwrap();
        let contents = read_p12(&bytes, &pw(PW)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(contents.key_chains.len(), 1, "{name}");
        let (alias, chain) = &contents.key_chains[0];
        assert_eq!(alias, "ossl-node");
        assert_eq!(chain.chain_der, vec![leaf_der.clone(), ca_der.clone()], "{name}");
        let certified = chain.to_certified_key().unwrap();
        assert_eq!(certified.cert_der(), &leaf_der[..]);
        assert_eq!(contents.ca_certs(), vec![ca_der.clone()]);
        assert!(matches!(read_p12(&bytes, &pw("wrong")), Err(PkiError::WrongPassword)), "{name}");
    }

    // A CA-only bundle (no keys, no Java trust attribute) still yields its certificate.
    openssl(
        &["pkcs12", "-export", "-nokeys", "-in", "ossl-ca.pem", "-passout", &pass, "-out", "bundle.p12"],
        d,
    );
    let bundle = read_p12(&std::fs::read(d.join("bundle.p12")).unwrap(), &pw(PW)).unwrap();
    assert!(bundle.key_chains.is_empty());
    assert_eq!(bundle.trusted.len(), 1);
    assert_eq!(bundle.trusted[0].1, ca_der);
    assert_eq!(bundle.ca_certs(), vec![ca_der]);
    assert!(matches!(bundle.key_chain(None), Err(PkiError::NoKeyInP12)));

    // Garbage is a parse error, not a password error.
    assert!(matches!(read_p12(b"\x30\x03\x02\x01\x03", &pw(PW)), Err(PkiError::P12Parse(_))));
}

#[test]
fn p12_written_by_keytool_is_read_here() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, extra) in [("java.p12", None), ("java-legacy.p12", Some("-J-Dkeystore.pkcs12.legacy"))] {
        let mut args = vec![
            "-genkeypair",
            "-storetype",
            "PKCS12",
            "-keyalg",
            "EC",
            "-groupname",
            "secp256r1",
            "-alias",
            "node",
            "-dname",
            "CN=java-node",
            "-validity",
            "30",
            "-keystore",
            name,
            "-storepass",
            PW,
        ];
        args.extend(extra);
        ok("keytool", &args, d);
        let contents = read_p12(&std::fs::read(d.join(name)).unwrap(), &pw(PW))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let chain = contents.key_chain(None).unwrap();
        assert_eq!(contents.key_chains[0].0, "node");
        let certified = chain.to_certified_key().unwrap();
        assert_eq!(inspect(certified.cert_der()).unwrap().subject_dn, "CN=java-node");
        assert!(matches!(
            read_p12(&std::fs::read(d.join(name)).unwrap(), &pw("wrong")),
            Err(PkiError::WrongPassword)
        ));
    }
}

#[test]
fn ca_p12_round_trip_signs() {
    let ca = new_ca("Stack CA", 30, KeyAlgorithm::EcdsaP256).unwrap();
    let bytes = write_p12(&[P12Entry::key_chain("ca", &ca, &[])], &pw(PW)).unwrap();
    let loaded = load_ca_from_p12(&bytes, &pw(PW), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let leaf = issue(&loaded, &leaf_request(KeyAlgorithm::EcdsaP256), CertUsage::Server).unwrap();
    write(dir.path(), "ca.pem", ca.cert_pem().as_bytes());
    write(dir.path(), "leaf.pem", leaf.cert_pem().as_bytes());
    assert!(openssl(&["verify", "-CAfile", "ca.pem", "leaf.pem"], dir.path()).contains("OK"));
}

#[test]
fn openssl_ca_loads_and_issues() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_material(d);
    let ca = load_ca_from_pem(
        &std::fs::read(d.join("ossl-ca.pem")).unwrap(),
        &std::fs::read(d.join("ossl-ca.key")).unwrap(), // SEC1 "EC PRIVATE KEY"
    )
    .unwrap();
    for key in KEYS {
        let leaf = issue(&ca, &leaf_request(key), CertUsage::Server).unwrap();
        write(d, "leaf.pem", leaf.cert_pem().as_bytes());
        let out = openssl(&["verify", "-CAfile", "ossl-ca.pem", "leaf.pem"], d);
        assert!(out.contains("leaf.pem: OK"), "{out}");
    }
    // An OpenSSL leaf is not a CA.
    let not_ca = load_ca_from_pem(
        &std::fs::read(d.join("ossl-leaf.pem")).unwrap(),
        &std::fs::read(d.join("ossl-leaf.key")).unwrap(),
    );
    assert!(matches!(not_ca, Err(PkiError::NotACa { .. })), "{not_ca:?}");
    // A key that is not the certificate's is refused.
    let mismatch = load_ca_from_pem(
        &std::fs::read(d.join("ossl-ca.pem")).unwrap(),
        &std::fs::read(d.join("ossl-leaf.key")).unwrap(),
    );
    assert!(matches!(mismatch, Err(PkiError::KeyMismatch { .. })), "{mismatch:?}");
}

#[test]
fn pkcs1_and_sec1_keys_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(&["genrsa", "-traditional", "-out", "rsa1.key", "2048"], d);
    openssl(
        &["req", "-x509", "-new", "-key", "rsa1.key", "-subj", "/CN=rsa1", "-days", "2", "-out", "rsa1.pem"],
        d,
    );
    let pem = std::fs::read(d.join("rsa1.key")).unwrap();
    assert!(String::from_utf8_lossy(&pem).contains("BEGIN RSA PRIVATE KEY"));
    let key = key_from_pem(&pem).unwrap();
    let cert = certs_from_pem(&std::fs::read(d.join("rsa1.pem")).unwrap()).unwrap().remove(0);
    assert!(key_matches_cert(&key, &cert).unwrap());
    let certified = CertifiedKey::from_der(cert.clone(), &key).unwrap();
    assert_eq!(certified.key_pkcs8_der(), &key[..]);
    // The PKCS#8 re-encoding is what openssl produces for the same key.
    write_private_file(&d.join("rsa1.pk8"), certified.key_pem().as_bytes()).unwrap();
    let a = openssl(&["pkey", "-in", "rsa1.key", "-pubout"], d);
    let b = openssl(&["pkey", "-in", "rsa1.pk8", "-pubout"], d);
    assert_eq!(a, b);

    openssl(&["ecparam", "-genkey", "-name", "prime256v1", "-out", "ec1.key"], d);
    let pem = std::fs::read(d.join("ec1.key")).unwrap();
    assert!(String::from_utf8_lossy(&pem).contains("BEGIN EC PARAMETERS"));
    assert!(key_from_pem(&pem).is_ok());

    openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-aes-256-cbc",
            "-pass",
            "pass:x",
            "-out",
            "enc.key",
        ],
        d,
    );
    let enc = std::fs::read(d.join("enc.key")).unwrap();
    assert!(matches!(key_from_pem(&enc), Err(PkiError::EncryptedKey)));
    // With the passphrase it decrypts to the same key openssl decrypts.
    let key = key_from_pem_with_passphrase(&enc, Some(&pw("x"))).unwrap();
    openssl(&["pkey", "-in", "enc.key", "-passin", "pass:x", "-out", "dec.key"], d);
    assert_eq!(key, key_from_pem(&std::fs::read(d.join("dec.key")).unwrap()).unwrap());
    assert!(matches!(key_from_pem_with_passphrase(&enc, Some(&pw("y"))), Err(PkiError::WrongPassphrase)));
    // PKCS#8 with scrypt (`openssl pkcs8 -scrypt`) and RSA keys too; the legacy format is refused
    // with the command that converts it.
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "r.key"], d);
    openssl(&["pkcs8", "-topk8", "-scrypt", "-in", "r.key", "-passout", "pass:s3", "-out", "r.p8"], d);
    let r = key_from_pem_with_passphrase(&std::fs::read(d.join("r.p8")).unwrap(), Some(&pw("s3"))).unwrap();
    assert_eq!(r, key_from_pem(&std::fs::read(d.join("r.key")).unwrap()).unwrap());
    openssl(
        &["pkey", "-in", "r.key", "-traditional", "-aes256", "-passout", "pass:l", "-out", "legacy.key"],
        d,
    );
    let legacy = std::fs::read(d.join("legacy.key")).unwrap();
    assert!(String::from_utf8_lossy(&legacy).contains("Proc-Type: 4,ENCRYPTED"));
    let err = key_from_pem_with_passphrase(&legacy, Some(&pw("l"))).unwrap_err();
    assert!(matches!(err, PkiError::LegacyEncryptedKey) && err.to_string().contains("openssl pkcs8 -topk8"));
}

#[test]
fn csr_made_here_passes_openssl_req_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for key in KEYS {
        let (csr, key_der) = new_csr(&leaf_request(key)).unwrap();
        write(d, "node.csr", csr.as_bytes());
        let out = openssl(&["req", "-in", "node.csr", "-noout", "-verify", "-text"], d);
        assert!(out.contains("verify OK"), "{out}");
        assert!(out.contains("DNS:localhost") && out.contains("IP Address:127.0.0.1"), "{out}");
        write_private_file(&d.join("node.key"), bulwark_pki::key_pem(&key_der).as_bytes()).unwrap();
        openssl(&["pkey", "-in", "node.key", "-noout"], d);
    }
}

#[test]
fn openssl_csrs_are_signed_safely() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = new_ca("CSR Signing CA", 30, KeyAlgorithm::EcdsaP256).unwrap();
    write(d, "ca.pem", ca.cert_pem().as_bytes());
    let cases: [(&str, &[&str]); 2] = [
        ("ec.csr", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
        ("rsa.csr", &["-newkey", "rsa:2048"]),
    ];
    for (name, key_args) in cases {
        let key_file = format!("{name}.key");
        let mut args = vec!["req", "-new"];
        args.extend_from_slice(key_args);
        args.extend([
            "-nodes",
            "-keyout",
            &key_file,
            "-subj",
            "/CN=ext-node/O=External",
            "-addext",
            "subjectAltName=DNS:x,IP:1.2.3.4",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "subjectKeyIdentifier=hash",
            "-out",
            name,
        ]);
        openssl(&args, d);
        let csr = std::fs::read(d.join(name)).unwrap();
        let info = inspect_csr(&csr).unwrap();
        assert!(info.requests_ca);
        assert_eq!(info.dns_sans, vec!["x"]);

        let der = sign_csr(&ca, &csr, 10, CertUsage::ServerAndClient, &[]).unwrap();
        write(d, "signed.pem", cert_pem(&der).as_bytes());
        let out = openssl(&["verify", "-CAfile", "ca.pem", "signed.pem"], d);
        assert!(out.contains("signed.pem: OK"), "{name}: {out}");
        let text = openssl(&["x509", "-in", "signed.pem", "-noout", "-text"], d);
        for needle in ["CA:FALSE", "DNS:x", "IP Address:1.2.3.4", "Subject: CN = ext-node, O = External"] {
            assert!(text.contains(needle), "{name}: lacks {needle:?}:\n{text}");
        }
        assert!(!text.contains("CA:TRUE"), "{name}: {text}");
        let key = key_from_pem(&std::fs::read(d.join(&key_file)).unwrap()).unwrap();
        assert!(key_matches_cert(&key, &der).unwrap());
    }

    // A weak RSA key is refused.
    openssl(
        &[
            "req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", "weak.key", "-subj", "/CN=weak",
            "-out", "weak.csr",
        ],
        d,
    );
    let weak = sign_csr(&ca, &std::fs::read(d.join("weak.csr")).unwrap(), 10, CertUsage::Server, &[]);
    assert!(matches!(weak, Err(PkiError::CsrRefused(_))), "{weak:?}");
}

#[test]
fn openssl_s_client_talks_to_our_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = new_ca("Loopback CA", 30, KeyAlgorithm::EcdsaP256).unwrap();
    let leaf = issue(&ca, &leaf_request(KeyAlgorithm::EcdsaP256), CertUsage::Server).unwrap();
    write(d, "ca.pem", ca.cert_pem().as_bytes());
    for (versions, client_flag, should_work) in [
        (TlsVersions::Tls12And13, "-tls1_3", true),
        (TlsVersions::Tls12And13, "-tls1_2", true),
        (TlsVersions::Tls13Only, "-tls1_2", false),
    ] {
        let cfg = server_config(
            vec![leaf.cert_der().to_vec(), ca.cert_der().to_vec()],
            leaf.key_pkcs8_der(),
            ClientAuth::None,
            versions,
            &[b"http/1.1"],
            &[],
        )
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut conn = rustls::ServerConnection::new(Arc::new(cfg)).unwrap();
            let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
            let mut buf = [0u8; 5];
            if tls.read_exact(&mut buf).is_ok() {
                let _ = tls.write_all(b"pong\n");
                let _ = tls.flush();
            }
            conn.send_close_notify();
            let _ = conn.complete_io(&mut tcp);
        });
        let connect = format!("127.0.0.1:{port}");
        let mut child = Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &connect,
                "-CAfile",
                "ca.pem",
                "-verify_return_error",
                "-verify_hostname",
                "localhost",
                "-showcerts",
                client_flag,
            ])
            .current_dir(d)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Keep stdin open while s_client runs: it exits by itself when the server closes the
        // connection (after answering) or when the handshake fails.
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"ping\n");
        let out = child.wait_with_output().unwrap();
        drop(stdin);
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let _ = server.join();
        if should_work {
            assert!(text.contains("Verify return code: 0 (ok)"), "{versions:?} {client_flag}:\n{text}");
            assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 2, "the server sends leaf + CA");
            assert!(text.contains("pong"), "{text}");
        } else {
            assert!(!text.contains("Verify return code: 0 (ok)") || !out.status.success(), "{text}");
            assert!(!text.contains("pong"), "{text}");
        }
    }
}

/// OpenSSL reads our CRLs, checks their signature against the CA, and with `-crl_check` refuses
/// exactly the revoked certificate; our reader reads a CRL OpenSSL signed.
#[test]
fn crls_work_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for key in KEYS {
        let ca = new_ca("CN=CRL CA", 30, key).unwrap();
        let good = issue(&ca, &leaf_request(key), CertUsage::Server).unwrap();
        let bad = issue(&ca, &leaf_request(key), CertUsage::Server).unwrap();
        write(d, "ca.pem", ca.cert_pem().as_bytes());
        write(d, "good.pem", good.cert_pem().as_bytes());
        write(d, "bad.pem", bad.cert_pem().as_bytes());
        let text = openssl(&["x509", "-in", "good.pem", "-noout", "-text"], d);
        assert!(text.contains("X509v3 CRL Distribution Points"), "{text}");
        assert!(text.contains("URI:https://node-1.example.internal:9200/_ssl/crl/http_ca.crl"), "{text}");

        let revoked = Revocation {
            serial_hex: bad.info().unwrap().serial_hex,
            revoked_at: time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
            reason: RevocationReason::KeyCompromise,
        };
        let der = issue_crl(&ca, 3, std::slice::from_ref(&revoked), time::Duration::days(7)).unwrap();
        write(d, "ca.crl", &der);
        write(d, "ca.crl.pem", crl_pem(&der).as_bytes());
        let out =
            openssl(&["crl", "-inform", "DER", "-in", "ca.crl", "-CAfile", "ca.pem", "-noout", "-text"], d);
        assert!(out.contains("verify OK"), "{key:?}: {out}");
        assert!(out.contains("X509v3 CRL Number: \n                3"), "{key:?}: {out}");
        assert!(out.contains(&revoked.serial_hex.to_uppercase()), "{key:?}: {out}");
        assert!(out.contains("Key Compromise"), "{key:?}: {out}");

        let check = |leaf: &str| {
            run("openssl", &["verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "ca.crl.pem", leaf], d)
        };
        assert!(check("good.pem").status.success(), "{key:?}: the unrevoked certificate must verify");
        let refused = check("bad.pem");
        let text =
            String::from_utf8_lossy(&refused.stdout).to_string() + &String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success() && text.contains("certificate revoked"), "{key:?}: {text}");
    }

    // A CRL made by `openssl ca` for a CA of ours reads back with its entry.
    let ca = new_ca("CN=OpenSSL CRL CA", 30, KeyAlgorithm::EcdsaP256).unwrap();
    let leaf = issue(&ca, &leaf_request(KeyAlgorithm::EcdsaP256), CertUsage::Server).unwrap();
    write(d, "oca.pem", ca.cert_pem().as_bytes());
    write_private_file(&d.join("oca.key"), ca.key_pem().as_bytes()).unwrap();
    write(d, "leaf.pem", leaf.cert_pem().as_bytes());
    let serial = leaf.info().unwrap().serial_hex;
    write(
        d,
        "index.txt",
        format!(
            "R\t301231235959Z\t251122000000Z,superseded\t{}\tunknown\t/CN=node-1\n",
            serial.to_uppercase()
        )
        .as_bytes(),
    );
    write(d, "crlnumber", b"2a\n");
    write(
        d,
        "ca.cnf",
        b"[ca]\ndefault_ca = c\n[c]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 5\n",
    );
    openssl(
        &["ca", "-config", "ca.cnf", "-gencrl", "-cert", "oca.pem", "-keyfile", "oca.key", "-out", "o.crl"],
        d,
    );
    let info = read_crl(&std::fs::read(d.join("o.crl")).unwrap(), ca.cert_der()).unwrap();
    assert_eq!(info.number, 0x2a);
    assert!(info.is_revoked(&serial), "{info:?}");
    assert_eq!(info.revoked[0].reason, RevocationReason::Superseded);
}
