//! `bulwark certutil` run as a real process, with every file it writes checked by the tools users
//! have: `openssl`, `keytool` and the zip format. Runs without a terminal (stdin is empty, stderr a
//! pipe), except the wizard and progress-bar tests, which run on a pseudo-terminal.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

const DAY: f64 = 86_400.0;

/// A temporary working directory (the tools' cwd) with a home inside it.
struct Dir {
    tmp: tempfile::TempDir,
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Output {
    #[track_caller]
    fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }

    #[track_caller]
    fn fails(&self, code: i32, message: &str) -> &Self {
        assert_eq!(self.code, code, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert!(self.stderr.contains(message), "stderr lacks {message:?}: {}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }
}

impl Dir {
    fn new() -> Dir {
        Dir { tmp: tempfile::Builder::new().prefix("bulwark-certutil-").tempdir().unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    /// `bulwark certutil ARGS` in this directory, without a terminal.
    fn certutil(&self, args: &[&str]) -> Output {
        self.certutil_env(args, &[])
    }

    /// [`Dir::certutil`] with more environment variables.
    fn certutil_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let out = bulwark_testkit::command(&self.home())
            .arg("certutil")
            .args(args)
            .envs(env.iter().copied())
            .current_dir(self.tmp.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Names in the directory (not recursive), sorted.
    fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Unpacks the entries of a zip under `dest` (a folder in this directory), returning the
    /// folder.
    fn unpack(&self, zip: &Zip, dest: &str) -> PathBuf {
        let root = self.path(dest);
        for (name, entry) in &zip.entries {
            let p = root.join(name);
            if name.ends_with('/') {
                std::fs::create_dir_all(&p).unwrap();
            } else {
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, &entry.bytes).unwrap();
            }
        }
        root
    }

    /// `certutil ca --pass capw` into `name`; returns the CA certificate as a PEM file next to it.
    fn ca(&self, name: &str, extra: &[&str]) -> PathBuf {
        let mut args = vec!["ca", "--pass", "capw", "--out", name];
        args.extend_from_slice(extra);
        self.certutil(&args).ok();
        let pem = self.path(&format!("{name}.crt"));
        let text = openssl(&["pkcs12", "-in", s(&self.path(name)), "-nokeys", "-passin", "pass:capw"]);
        std::fs::write(&pem, text).unwrap();
        pem
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Runs an external tool; returns (exit code, stdout + stderr).
fn run_tool(program: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[track_caller]
fn openssl(args: &[&str]) -> String {
    let (code, text) = run_tool("openssl", args);
    assert_eq!(code, 0, "openssl {args:?} failed:\n{text}");
    text
}

/// `keytool -list -v` of a PKCS#12 file; fails the test when keytool cannot open it.
#[track_caller]
fn keytool_list(p12: &Path, password: &str) -> String {
    let (code, text) = run_tool(
        "keytool",
        &["-list", "-v", "-storetype", "PKCS12", "-storepass", password, "-keystore", s(p12)],
    );
    assert_eq!(code, 0, "keytool cannot list {}:\n{text}", p12.display());
    text
}

/// Checks a PKCS#12 file with keytool and openssl; returns keytool's listing.
#[track_caller]
fn check_p12(p12: &Path, password: &str) -> String {
    let listing = keytool_list(p12, password);
    let info = openssl(&["pkcs12", "-info", "-noout", "-in", s(p12), "-passin", &format!("pass:{password}")]);
    assert!(info.contains("AES-256-CBC"), "{info}");
    let (code, text) = run_tool(
        "openssl",
        &["pkcs12", "-info", "-noout", "-in", s(p12), "-passin", &format!("pass:{password}-wrong")],
    );
    assert_ne!(code, 0, "a wrong password opened {}: {text}", p12.display());
    listing
}

/// The end-entity certificate of a PKCS#12 file, as PEM in a file next to it.
fn p12_leaf(p12: &Path, password: &str) -> PathBuf {
    let pem =
        openssl(&["pkcs12", "-in", s(p12), "-nokeys", "-clcerts", "-passin", &format!("pass:{password}")]);
    let out = p12.with_extension("leaf.pem");
    std::fs::write(&out, pem).unwrap();
    out
}

fn cert_text(pem: &Path) -> String {
    openssl(&["x509", "-in", s(pem), "-noout", "-text"])
}

#[track_caller]
fn verify(ca: &Path, cert: &Path) {
    let out = openssl(&["verify", "-CAfile", s(ca), s(cert)]);
    assert!(out.contains(": OK"), "{out}");
}

/// Days from now until the certificate's notAfter, read with `openssl x509 -enddate`.
fn days_left(pem: &Path) -> f64 {
    let out = openssl(&["x509", "-in", s(pem), "-noout", "-enddate"]);
    let date = out.trim().strip_prefix("notAfter=").unwrap().to_owned();
    let (code, secs) =
        run_tool("python3", &["-c", "import ssl,sys; print(ssl.cert_time_to_seconds(sys.argv[1]))", &date]);
    assert_eq!(code, 0, "{secs}");
    let end: f64 = secs.trim().parse().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    (end - now) / DAY
}

#[track_caller]
fn assert_days(pem: &Path, days: f64) {
    let left = days_left(pem);
    assert!((left - days).abs() < 0.1, "{} expires in {left} days, expected {days}", pem.display());
}

fn sha256(pem: &Path) -> String {
    openssl(&["x509", "-in", s(pem), "-noout", "-fingerprint", "-sha256"])
}

/// The public key of a certificate, a CSR or a private key, as PEM.
fn public_key(kind: &str, file: &Path) -> String {
    match kind {
        "cert" => openssl(&["x509", "-in", s(file), "-noout", "-pubkey"]),
        "csr" => openssl(&["req", "-in", s(file), "-noout", "-pubkey"]),
        _ => openssl(&["pkey", "-in", s(file), "-pubout"]),
    }
}

struct ZipEntry {
    mode: u32,
    bytes: Vec<u8>,
}

struct Zip {
    /// Entries in archive order.
    entries: Vec<(String, ZipEntry)>,
}

impl Zip {
    fn open(path: &Path) -> Zip {
        let file = std::fs::File::open(path).unwrap();
        let mut archive = zip::ZipArchive::new(file).unwrap();
        let mut entries = Vec::new();
        for i in 0..archive.len() {
            let mut f = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            entries.push((
                f.name().unwrap().into_owned(),
                ZipEntry { mode: f.unix_mode().unwrap_or(0) & 0o777, bytes },
            ));
        }
        Zip { entries }
    }

    fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn get(&self, name: &str) -> &[u8] {
        &self.entries.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no {name} in zip")).1.bytes
    }

    fn text(&self, name: &str) -> String {
        String::from_utf8(self.get(name).to_vec()).unwrap()
    }

    /// Folders are 0700 and files 0600.
    #[track_caller]
    fn assert_modes(&self) {
        for (name, entry) in &self.entries {
            let want = if name.ends_with('/') { 0o700 } else { 0o600 };
            assert_eq!(entry.mode, want, "{name} has mode {:o}", entry.mode);
        }
    }
}

const INSTANCES_YML: &str = "\
instances:
  - name: node1
    dns: [node1.example.com, localhost]
    ip: [10.0.0.1, 127.0.0.1]
  - name: \"CN=node2,O=Example\"
    filename: node2
    dns: node2.example.com
    ip: 10.0.0.2
  - name: client
";

#[test]
fn help_for_every_subcommand() {
    let dir = Dir::new();
    let top = dir.certutil(&["--help"]);
    top.ok();
    for sub in ["ca", "cert", "csr", "http", "crl"] {
        assert!(top.stdout.contains(sub), "{}", top.stdout);
    }
    for (sub, flags) in [
        ("ca", &["--out", "--pass", "--days", "--keysize", "--ec", "--dn", "--pem"][..]),
        (
            "cert",
            &[
                "--ca ",
                "--ca-pass",
                "--ca-cert",
                "--ca-key",
                "--self-signed",
                "--name",
                "--dns",
                "--ip",
                "--days",
                "--keysize",
                "--ec",
                "--pass",
                "--out",
                "--pem",
                "--in ",
                "--multiple",
                "--crl-url",
            ][..],
        ),
        ("csr", &["--in ", "--name", "--dns", "--ip", "--out", "--keysize", "--ec"][..]),
        (
            "http",
            &[
                "--csr",
                "--ca ",
                "--ca-pass",
                "--days",
                "--in ",
                "--name",
                "--dns",
                "--ip",
                "--pass",
                "--out",
                "--crl-url",
            ][..],
        ),
        (
            "crl",
            &[
                "--ca ",
                "--ca-pass",
                "--ca-cert",
                "--revoke ",
                "--revoke-cert",
                "--reason",
                "--in ",
                "--days",
                "--out",
                "--pem",
            ][..],
        ),
    ] {
        let help = dir.certutil(&[sub, "--help"]);
        help.ok();
        for flag in flags {
            assert!(help.stdout.contains(flag), "`certutil {sub} --help` lacks {flag}:\n{}", help.stdout);
        }
    }
    assert!(dir.listing() == Vec::<String>::new(), "{:?}", dir.listing());
}

#[test]
fn ca_as_pkcs12_and_as_pem_zip() {
    let dir = Dir::new();
    let out = dir.certutil(&["ca", "--pass", "capw"]);
    out.ok();
    assert!(out.stdout.contains("fingerprint"), "{}", out.stdout);
    let p12 = dir.path("elastic-stack-ca.p12");
    assert_eq!(mode(&p12), 0o600);
    let listing = check_p12(&p12, "capw");
    assert!(listing.contains("Alias name: ca") && listing.contains("PrivateKeyEntry"), "{listing}");
    let ca = p12_leaf(&p12, "capw");
    let text = cert_text(&ca);
    assert!(text.contains("CN = Elastic Certificate Tool Autogenerated CA"), "{text}");
    assert!(text.contains("CA:TRUE") && text.contains("Certificate Sign"), "{text}");
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
    assert_days(&ca, 3.0 * 365.0);
    verify(&ca, &ca);

    let out = dir.certutil(&["ca", "--pem", "--ec", "--days", "2Y", "--dn", "CN=Test CA,O=Example"]);
    out.ok();
    let zip_path = dir.path("elastic-stack-ca.zip");
    assert_eq!(mode(&zip_path), 0o600);
    let zip = Zip::open(&zip_path);
    assert_eq!(zip.names(), ["ca/", "ca/ca.crt", "ca/ca.key"]);
    zip.assert_modes();
    let root = dir.unpack(&zip, "pem-ca");
    let (crt, key) = (root.join("ca/ca.crt"), root.join("ca/ca.key"));
    let text = cert_text(&crt);
    assert!(text.contains("CN = Test CA") && text.contains("O = Example"), "{text}");
    assert!(text.contains("id-ecPublicKey") && text.contains("prime256v1"), "{text}");
    assert_days(&crt, 730.0);
    verify(&crt, &crt);
    assert_eq!(public_key("cert", &crt), public_key("key", &key));
}

#[test]
fn cert_single_pkcs12_rsa_3072_with_sans_and_validity() {
    let dir = Dir::new();
    let ca = dir.ca("elastic-stack-ca.p12", &[]);
    dir.certutil(&[
        "cert",
        "--ca",
        "elastic-stack-ca.p12",
        "--ca-pass",
        "capw",
        "--name",
        "node1",
        "--dns",
        "node1.example.com,localhost",
        "--ip",
        "10.0.0.1",
        "--ip",
        "::1",
        "--keysize",
        "3072",
        "--days",
        "90D",
        "--pass",
        "nodepw",
    ])
    .ok();
    // With --name the file is named after the instance, as Elasticsearch does.
    let p12 = dir.path("node1.p12");
    assert_eq!(mode(&p12), 0o600);
    let listing = check_p12(&p12, "nodepw");
    assert!(listing.contains("Alias name: node1"), "{listing}");
    assert!(listing.contains("Certificate chain length: 2"), "{listing}");
    assert!(listing.contains("Alias name: ca") && listing.contains("trustedCertEntry"), "{listing}");
    let leaf = p12_leaf(&p12, "nodepw");
    let text = cert_text(&leaf);
    for want in [
        "DNS:node1.example.com",
        "DNS:localhost",
        "IP Address:10.0.0.1",
        "IP Address:0:0:0:0:0:0:0:1",
        "Public-Key: (3072 bit)",
        "CA:FALSE",
        "TLS Web Server Authentication",
        "TLS Web Client Authentication",
        "Subject: CN = node1",
    ] {
        assert!(text.contains(want), "lacks {want}:\n{text}");
    }
    assert_days(&leaf, 90.0);
    verify(&ca, &leaf);

    // Without --name: elastic-certificates.p12, entry "instance".
    dir.certutil(&["cert", "--ca", "elastic-stack-ca.p12", "--ca-pass", "capw", "--pass", "x", "--ec"]).ok();
    let listing = check_p12(&dir.path("elastic-certificates.p12"), "x");
    assert!(listing.contains("Alias name: instance"), "{listing}");
    let leaf = p12_leaf(&dir.path("elastic-certificates.p12"), "x");
    assert!(cert_text(&leaf).contains("id-ecPublicKey"));
    assert_days(&leaf, 3.0 * 365.0);
    verify(&ca, &leaf);

    // An empty --pass is a valid (empty) password.
    dir.certutil(&[
        "cert",
        "--ca",
        "elastic-stack-ca.p12",
        "--ca-pass",
        "capw",
        "--pass",
        "",
        "--out",
        "e.p12",
    ])
    .ok();
    check_p12(&dir.path("e.p12"), "");
}

#[test]
fn cert_pem_zip_from_a_pem_ca_and_self_signed() {
    let dir = Dir::new();
    dir.certutil(&["ca", "--pem", "--out", "ca.zip"]).ok();
    let root = dir.unpack(&Zip::open(&dir.path("ca.zip")), "ca-files");
    let (ca_crt, ca_key) = (root.join("ca/ca.crt"), root.join("ca/ca.key"));
    dir.certutil(&[
        "cert",
        "--ca-cert",
        s(&ca_crt),
        "--ca-key",
        s(&ca_key),
        "--pem",
        "--ec",
        "--name",
        "n1",
        "--dns",
        "n1.example",
        "--ip",
        "192.0.2.1",
    ])
    .ok();
    let zip = Zip::open(&dir.path("certificate-bundle.zip"));
    assert_eq!(zip.names(), ["ca/", "ca/ca.crt", "n1/", "n1/n1.crt", "n1/n1.key"]);
    zip.assert_modes();
    assert_eq!(zip.get("ca/ca.crt"), std::fs::read(&ca_crt).unwrap().as_slice());
    let out = dir.unpack(&zip, "n1-files");
    let (crt, key) = (out.join("n1/n1.crt"), out.join("n1/n1.key"));
    verify(&ca_crt, &crt);
    assert_eq!(public_key("cert", &crt), public_key("key", &key));
    let text = cert_text(&crt);
    assert!(text.contains("DNS:n1.example") && text.contains("IP Address:192.0.2.1"), "{text}");

    // Self-signed: no CA entry, the certificate is its own issuer.
    dir.certutil(&["cert", "--self-signed", "--name", "solo", "--dns", "solo.example", "--pass", "pw"]).ok();
    let p12 = dir.path("solo.p12");
    let listing = check_p12(&p12, "pw");
    assert!(listing.contains("Alias name: solo") && !listing.contains("Alias name: ca"), "{listing}");
    let leaf = p12_leaf(&p12, "pw");
    let text = cert_text(&leaf);
    assert!(text.contains("Issuer: CN = solo") && text.contains("Subject: CN = solo"), "{text}");
    assert!(text.contains("DNS:solo.example") && text.contains("CA:FALSE"), "{text}");
    let out = openssl(&["verify", "-partial_chain", "-CAfile", s(&leaf), s(&leaf)]);
    assert!(out.contains(": OK"), "{out}");
}

#[test]
fn cert_from_instances_file_gives_one_folder_per_instance() {
    let dir = Dir::new();
    let ca = dir.ca("ca.p12", &[]);
    dir.write("instances.yml", INSTANCES_YML);
    dir.certutil(&[
        "cert",
        "--ca",
        "ca.p12",
        "--ca-pass",
        "capw",
        "--in",
        "instances.yml",
        "--multiple",
        "--pass",
        "pw",
    ])
    .ok();
    let zip_path = dir.path("certificate-bundle.zip");
    assert_eq!(mode(&zip_path), 0o600);
    let zip = Zip::open(&zip_path);
    assert_eq!(
        zip.names(),
        ["node1/", "node1/node1.p12", "node2/", "node2/node2.p12", "client/", "client/client.p12"]
    );
    zip.assert_modes();
    let root = dir.unpack(&zip, "bundle");
    for (folder, alias, sans) in [
        (
            "node1",
            "node1",
            &["DNS:node1.example.com", "DNS:localhost", "IP Address:10.0.0.1", "IP Address:127.0.0.1"][..],
        ),
        ("node2", "CN=node2,O=Example", &["DNS:node2.example.com", "IP Address:10.0.0.2"][..]),
        ("client", "client", &[][..]),
    ] {
        let p12 = root.join(format!("{folder}/{folder}.p12"));
        let listing = check_p12(&p12, "pw");
        assert!(listing.contains(&format!("Alias name: {}", alias.to_lowercase())), "{listing}");
        let leaf = p12_leaf(&p12, "pw");
        let text = cert_text(&leaf);
        for san in sans {
            assert!(text.contains(san), "{folder} lacks {san}:\n{text}");
        }
        verify(&ca, &leaf);
    }
    let text = cert_text(&p12_leaf(&root.join("node2/node2.p12"), "pw"));
    assert!(text.contains("Subject: CN = node2, O = Example"), "{text}");

    // The same file in PEM.
    dir.certutil(&[
        "cert",
        "--ca",
        "ca.p12",
        "--ca-pass",
        "capw",
        "--in",
        "instances.yml",
        "--pem",
        "--out",
        "pem.zip",
    ])
    .ok();
    let zip = Zip::open(&dir.path("pem.zip"));
    assert_eq!(zip.names()[..2], ["ca/", "ca/ca.crt"]);
    assert!(zip.names().contains(&"node2/node2.key"));
    zip.assert_modes();
    let root = dir.unpack(&zip, "pem");
    for f in ["node1", "node2", "client"] {
        verify(&root.join("ca/ca.crt"), &root.join(format!("{f}/{f}.crt")));
    }
}

#[test]
fn csr_bundle_verifies_and_openssl_can_sign_it() {
    let dir = Dir::new();
    dir.certutil(&["ca", "--pem", "--out", "ca.zip"]).ok();
    let ca_root = dir.unpack(&Zip::open(&dir.path("ca.zip")), "ca-files");
    let (ca_crt, ca_key) = (ca_root.join("ca/ca.crt"), ca_root.join("ca/ca.key"));
    dir.write("instances.yml", INSTANCES_YML);
    for (args, out, names, key_bits) in [
        (
            vec!["csr", "--in", "instances.yml"],
            "csr-bundle.zip",
            vec!["node1", "node2", "client"],
            "2048 bit",
        ),
        (
            vec![
                "csr",
                "--name",
                "rsa",
                "--dns",
                "rsa.example",
                "--ip",
                "10.1.1.1",
                "--keysize",
                "3072",
                "--out",
                "rsa.zip",
            ],
            "rsa.zip",
            vec!["rsa"],
            "3072 bit",
        ),
        (
            vec!["csr", "--name", "ec", "--dns", "ec.example", "--ec", "--out", "ec.zip"],
            "ec.zip",
            vec!["ec"],
            "256 bit",
        ),
    ] {
        dir.certutil(&args).ok();
        let zip_path = dir.path(out);
        assert_eq!(mode(&zip_path), 0o600);
        let zip = Zip::open(&zip_path);
        let want: Vec<String> = names
            .iter()
            .flat_map(|n| [format!("{n}/"), format!("{n}/{n}.csr"), format!("{n}/{n}.key")])
            .collect();
        assert_eq!(zip.names(), want);
        zip.assert_modes();
        let root = dir.unpack(&zip, &format!("{out}.d"));
        for n in &names {
            let csr = root.join(format!("{n}/{n}.csr"));
            let key = root.join(format!("{n}/{n}.key"));
            let checked = openssl(&["req", "-in", s(&csr), "-noout", "-verify"]);
            assert!(checked.contains("verify OK"), "{checked}");
            let text = openssl(&["req", "-in", s(&csr), "-noout", "-text"]);
            assert!(text.contains(key_bits), "{text}");
            assert_eq!(public_key("csr", &csr), public_key("key", &key));
            // The CA signs it with openssl and the result verifies.
            let crt = root.join(format!("{n}/{n}.crt"));
            openssl(&[
                "x509",
                "-req",
                "-in",
                s(&csr),
                "-CA",
                s(&ca_crt),
                "-CAkey",
                s(&ca_key),
                "-CAcreateserial",
                "-days",
                "30",
                "-copy_extensions",
                "copy",
                "-out",
                s(&crt),
            ]);
            verify(&ca_crt, &crt);
            assert_eq!(public_key("cert", &crt), public_key("key", &key));
            if *n == "rsa" {
                let text = cert_text(&crt);
                assert!(text.contains("DNS:rsa.example") && text.contains("IP Address:10.1.1.1"), "{text}");
            }
        }
    }
    let text = openssl(&["req", "-in", s(&dir.path("csr-bundle.zip.d/node1/node1.csr")), "-noout", "-text"]);
    assert!(text.contains("DNS:node1.example.com") && text.contains("IP Address:10.0.0.1"), "{text}");
}

/// The layout of `certutil http` with two nodes and an existing CA.
const TWO_NODE_LAYOUT: [&str; 13] = [
    "elasticsearch/",
    "elasticsearch/node1/",
    "elasticsearch/node1/README.txt",
    "elasticsearch/node1/http.p12",
    "elasticsearch/node1/sample-elasticsearch.yml",
    "elasticsearch/node2/",
    "elasticsearch/node2/README.txt",
    "elasticsearch/node2/http.p12",
    "elasticsearch/node2/sample-elasticsearch.yml",
    "kibana/",
    "kibana/README.txt",
    "kibana/elasticsearch-ca.pem",
    "kibana/sample-kibana.yml",
];

/// Checks the zip of two nodes made with the CA whose certificate is `ca` and key password keypw.
fn check_two_node_zip(dir: &Dir, zip_path: &Path, ca: &Path, days: f64) {
    assert_eq!(mode(zip_path), 0o600);
    let zip = Zip::open(zip_path);
    assert_eq!(zip.names(), TWO_NODE_LAYOUT);
    zip.assert_modes();
    let root = dir.unpack(&zip, &format!("{}.d", zip_path.file_name().unwrap().to_string_lossy()));
    for (node, dns, ip) in [("node1", "node1.example", "10.0.0.1"), ("node2", "node2.example", "10.0.0.2")] {
        let p12 = root.join(format!("elasticsearch/{node}/http.p12"));
        let listing = check_p12(&p12, "keypw");
        assert!(listing.contains("Alias name: http") && listing.contains("Alias name: ca"), "{listing}");
        assert!(listing.contains("Certificate chain length: 2"), "{listing}");
        let leaf = p12_leaf(&p12, "keypw");
        let text = cert_text(&leaf);
        assert!(text.contains(&format!("DNS:{dns}")) && text.contains(&format!("IP Address:{ip}")), "{text}");
        assert!(text.contains(&format!("Subject: CN = {node}")), "{text}");
        assert!(text.contains("TLS Web Server Authentication"), "{text}");
        assert_days(&leaf, days);
        verify(ca, &leaf);
        let sample = zip.text(&format!("elasticsearch/{node}/sample-elasticsearch.yml"));
        assert!(sample.contains("xpack.security.http.ssl.enabled: true"), "{sample}");
        assert!(sample.contains("xpack.security.http.ssl.keystore.path: certs/http.p12"), "{sample}");
        let readme = zip.text(&format!("elasticsearch/{node}/README.txt"));
        assert!(
            readme.contains("bulwark keystore add xpack.security.http.ssl.keystore.secure_password"),
            "{readme}"
        );
    }
    let pem = root.join("kibana/elasticsearch-ca.pem");
    assert_eq!(sha256(&pem), sha256(ca), "kibana/elasticsearch-ca.pem is not the CA certificate");
    let kibana = zip.text("kibana/sample-kibana.yml");
    assert!(
        kibana.contains("elasticsearch.ssl.certificateAuthorities: [ \"config/elasticsearch-ca.pem\" ]"),
        "{kibana}"
    );
    assert!(kibana.contains("https://node1.example:9200"), "{kibana}");
}

#[test]
fn http_wizard_driven_by_flags() {
    let dir = Dir::new();
    let ca = dir.ca("elastic-stack-ca.p12", &[]);
    dir.certutil(&[
        "http",
        "--ca",
        "elastic-stack-ca.p12",
        "--ca-pass",
        "capw",
        "--days",
        "90D",
        "--name",
        "node1",
        "--dns",
        "node1.example",
        "--ip",
        "10.0.0.1",
        "--name",
        "node2",
        "--dns",
        "node2.example",
        "--ip",
        "10.0.0.2",
        "--pass",
        "keypw",
        "--out",
        "x.zip",
    ])
    .ok();
    check_two_node_zip(&dir, &dir.path("x.zip"), &ca, 90.0);
}

#[test]
fn http_new_ca_shared_certificate_and_csr_mode() {
    let dir = Dir::new();
    // One certificate for all nodes, signed by a new CA that lands in the zip.
    dir.certutil(&[
        "http",
        "--dns",
        "*.es.example,es.example",
        "--ip",
        "10.0.0.9",
        "--pass",
        "keypw",
        "--ec",
    ])
    .ok();
    let zip = Zip::open(&dir.path("elasticsearch-ssl-http.zip"));
    assert_eq!(
        zip.names(),
        [
            "elasticsearch/",
            "elasticsearch/README.txt",
            "elasticsearch/http.p12",
            "elasticsearch/sample-elasticsearch.yml",
            "ca/",
            "ca/README.txt",
            "ca/ca.p12",
            "kibana/",
            "kibana/README.txt",
            "kibana/elasticsearch-ca.pem",
            "kibana/sample-kibana.yml",
        ]
    );
    zip.assert_modes();
    let root = dir.unpack(&zip, "shared");
    let ca_p12 = root.join("ca/ca.p12");
    let listing = check_p12(&ca_p12, "keypw");
    assert!(listing.contains("Alias name: ca") && listing.contains("PrivateKeyEntry"), "{listing}");
    let ca = p12_leaf(&ca_p12, "keypw");
    assert!(cert_text(&ca).contains("CN = Elasticsearch HTTP CA"));
    assert_eq!(sha256(&ca), sha256(&root.join("kibana/elasticsearch-ca.pem")));
    let leaf = p12_leaf(&root.join("elasticsearch/http.p12"), "keypw");
    check_p12(&root.join("elasticsearch/http.p12"), "keypw");
    let text = cert_text(&leaf);
    assert!(text.contains("DNS:*.es.example") && text.contains("IP Address:10.0.0.9"), "{text}");
    assert!(text.contains("Subject: CN = es.example"), "{text}");
    assert_days(&leaf, 3.0 * 365.0);
    verify(&ca, &leaf);

    // CSR mode: requests and keys, no CA anywhere.
    dir.write(
        "nodes.yml",
        "instances:\n  - name: a\n    dns: [a.example]\n  - name: b\n    ip: [10.0.0.2]\n",
    );
    dir.certutil(&["http", "--csr", "--in", "nodes.yml", "--out", "csr.zip"]).ok();
    let zip = Zip::open(&dir.path("csr.zip"));
    assert_eq!(
        zip.names(),
        [
            "elasticsearch/",
            "elasticsearch/a/",
            "elasticsearch/a/README.txt",
            "elasticsearch/a/http-a.csr",
            "elasticsearch/a/http-a.key",
            "elasticsearch/a/sample-elasticsearch.yml",
            "elasticsearch/b/",
            "elasticsearch/b/README.txt",
            "elasticsearch/b/http-b.csr",
            "elasticsearch/b/http-b.key",
            "elasticsearch/b/sample-elasticsearch.yml",
            "kibana/",
            "kibana/README.txt",
            "kibana/sample-kibana.yml",
        ]
    );
    zip.assert_modes();
    let root = dir.unpack(&zip, "csr");
    for n in ["a", "b"] {
        let csr = root.join(format!("elasticsearch/{n}/http-{n}.csr"));
        assert!(openssl(&["req", "-in", s(&csr), "-noout", "-verify"]).contains("verify OK"));
        assert_eq!(
            public_key("csr", &csr),
            public_key("key", &root.join(format!("elasticsearch/{n}/http-{n}.key")))
        );
    }
    let sample = zip.text("elasticsearch/a/sample-elasticsearch.yml");
    assert!(sample.contains("xpack.security.http.ssl.key: certs/http-a.key"), "{sample}");
}

#[test]
fn missing_answers_without_a_terminal_are_usage_errors() {
    let dir = Dir::new();
    dir.ca("ca.p12", &[]);
    let before = dir.listing();
    for (args, flag) in [
        (&["http", "--pass", "x"][..], "--name"),
        (&["http", "--ca", "ca.p12", "--name", "n"][..], "--ca-pass"),
        (&["http", "--dns", "a", "--name", "n"][..], "--name"),
        (&["http", "--name", "n", "--days", "soon"][..], "--days"),
        (&["http", "--name", "n", "--ca-pass", "x"][..], "--ca"),
        (&["http", "--csr", "--name", "n", "--pass", "secret"][..], "--pass"),
        (&["cert", "--name", "n"][..], "--ca"),
        (&["cert", "--ca", "ca.p12", "--ca-pass", "capw", "--multiple"][..], "--in"),
        (&["cert", "--ca", "ca.p12", "--ca-pass", "capw", "--keysize", "1024"][..], "--keysize"),
        (&["cert", "--ca", "ca.p12", "--ca-pass", "capw", "--pem", "--pass", "x"][..], "--pass"),
        (&["cert", "--ca", "ca.p12", "--ca-pass", "capw", "--ip", "10.0.0.300"][..], "10.0.0.300"),
        (&["ca", "--pass"][..], "--pass"),
        (&["ca", "--days", "0"][..], "--days"),
        (&["csr", "--multiple"][..], "--in"),
    ] {
        let out = dir.certutil(args);
        out.fails(64, flag);
        assert!(
            out.stderr.starts_with("ERROR: ") || out.stderr.starts_with("error: "),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert_eq!(dir.listing(), before, "a failed command wrote something");
    // A wrong CA password is a data error.
    dir.certutil(&["cert", "--ca", "ca.p12", "--ca-pass", "nope"]).fails(65, "wrong password");
    assert_eq!(dir.listing(), before);
}

#[test]
fn existing_output_files_are_refused_and_left_untouched() {
    let dir = Dir::new();
    dir.ca("ca.p12", &[]);
    let ca_bytes = std::fs::read(dir.path("ca.p12")).unwrap();
    dir.write("x.zip", "keep me");
    dir.write("elastic-stack-ca.p12", "keep me too");
    let attempts: [&[&str]; 5] = [
        &["http", "--ca", "ca.p12", "--ca-pass", "capw", "--name", "n", "--pass", "p", "--out", "x.zip"],
        &["ca", "--pass", "p"],
        &["ca", "--pass", "p", "--out", "ca.p12"],
        &["cert", "--ca", "ca.p12", "--ca-pass", "capw", "--pass", "p", "--out", "x.zip"],
        &["csr", "--out", "x.zip"],
    ];
    for args in attempts {
        dir.certutil(args).fails(74, "already exists");
    }
    assert_eq!(std::fs::read_to_string(dir.path("x.zip")).unwrap(), "keep me");
    assert_eq!(std::fs::read_to_string(dir.path("elastic-stack-ca.p12")).unwrap(), "keep me too");
    assert_eq!(std::fs::read(dir.path("ca.p12")).unwrap(), ca_bytes);
}

#[test]
fn bad_instances_files() {
    let dir = Dir::new();
    dir.ca("ca.p12", &[]);
    dir.write(
        "bad-ip.yml",
        "instances:\n  - name: a\n    ip: [10.0.0.300]\n  - name: b\n    dns: [\"no spaces\"]\n",
    );
    let out =
        dir.certutil(&["cert", "--ca", "ca.p12", "--ca-pass", "capw", "--in", "bad-ip.yml", "--pass", "p"]);
    out.fails(78, "10.0.0.300");
    assert!(out.stderr.contains("no spaces"), "{}", out.stderr);
    dir.write("broken.yml", "instances: [\n");
    dir.certutil(&["csr", "--in", "broken.yml"]).fails(65, "broken.yml");
    dir.write("typo.yml", "instances:\n  - name: a\n    dsn: [a.example]\n");
    dir.certutil(&["http", "--csr", "--in", "typo.yml"]).fails(65, "dsn");
    assert!(!dir.path("certificate-bundle.zip").exists() && !dir.path("csr-bundle.zip").exists());
}

/// Runs `bulwark ARGS` in `dir` on a terminal, answering `(prompt, answer)` in order; returns the
/// exit code and the transcript.
fn on_terminal(dir: &Dir, args: &[&str], dialogue: &[(&str, &str)]) -> (i32, String) {
    let steps = serde_json::to_string(dialogue).unwrap();
    let out = Command::new("python3")
        .arg("-c")
        .arg(bulwark_testkit::PTY_DRIVER)
        .arg(steps)
        .arg(bulwark_testkit::binary())
        .arg("--home")
        .arg(dir.home())
        .arg("--allow-root")
        .args(args)
        .current_dir(dir.tmp.path())
        .env_remove("BULWARK_HOME")
        .stdin(Stdio::null())
        .output()
        .expect("python3 runs the terminal driver");
    let transcript = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "terminal driver failed ({:?}):\n{transcript}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let code = transcript
        .rsplit_once("__EXIT=")
        .and_then(|(_, rest)| rest.split_once("__"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no exit code in:\n{transcript}"));
    (code, transcript)
}

#[test]
fn http_wizard_on_a_terminal() {
    let dir = Dir::new();
    let ca = dir.ca("elastic-stack-ca.p12", &[]);
    let mut dialogue = vec![
        ("Generate a CSR? [y/N]", "n"),
        ("Use an existing CA? [y/N]", "y"),
        ("Path to the CA:", "elastic-stack-ca.p12"),
        ("Enter password for CA keystore [elastic-stack-ca.p12]:", "capw"),
        ("Validity [3Y]:", "90D"),
        ("Generate a certificate per node? [y/N]", "y"),
    ];
    for (n, node, dns, ip) in
        [(1, "node1", "node1.example", "10.0.0.1"), (2, "node2", "node2.example", "10.0.0.2")]
    {
        let name_prompt: &'static str = if n == 1 { "Name of node #1:" } else { "Name of node #2:" };
        dialogue.extend([
            (name_prompt, node),
            ("Hostname:", dns),
            ("Hostname:", ""),
            ("IP address:", ip),
            ("IP address:", ""),
            ("Is this correct? [Y/n]", "y"),
            ("Add another node? [y/N]", if n == 1 { "y" } else { "n" }),
        ]);
    }
    dialogue.extend([
        ("Enter password for http.p12 (empty for none):", "keypw"),
        ("Repeat the password:", "keypw"),
        ("Output file [elasticsearch-ssl-http.zip]:", "wizard.zip"),
    ]);
    let (code, screen) = on_terminal(&dir, &["certutil", "http"], &dialogue);
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Wrote HTTPS certificates for 2 nodes to wizard.zip"), "{screen}");
    assert!(!screen.contains("keypw") && !screen.contains("capw"), "a password was echoed:\n{screen}");
    check_two_node_zip(&dir, &dir.path("wizard.zip"), &ca, 90.0);
}

#[test]
fn progress_bar_on_a_terminal_for_many_certificates() {
    let dir = Dir::new();
    let ca = dir.ca("ca.p12", &[]);
    let yml: String = std::iter::once("instances:\n".to_owned())
        .chain((1..=4).map(|i| format!("  - name: node{i}\n    dns: [node{i}.example]\n")))
        .collect();
    dir.write("four.yml", &yml);
    let (code, screen) = on_terminal(
        &dir,
        &[
            "certutil",
            "cert",
            "--ca",
            "ca.p12",
            "--ca-pass",
            "capw",
            "--in",
            "four.yml",
            "--pass",
            "pw",
            "--out",
            "four.zip",
        ],
        &[],
    );
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("Generating certificates") && screen.contains("4/4"),
        "no progress bar:\n{screen}"
    );
    let zip = Zip::open(&dir.path("four.zip"));
    let root = dir.unpack(&zip, "four");
    for i in 1..=4 {
        let p12 = root.join(format!("node{i}/node{i}.p12"));
        check_p12(&p12, "pw");
        verify(&ca, &p12_leaf(&p12, "pw"));
    }
    // Without a terminal there is no bar.
    let out =
        dir.certutil(&["cert", "--ca", "ca.p12", "--ca-pass", "capw", "--in", "four.yml", "--pass", "pw"]);
    out.ok();
    assert!(!out.stderr.contains("Generating"), "{}", out.stderr);
}

#[test]
fn zip_entries_unpack_with_python() {
    // An independent reader of the zip format: Python's zipfile sees the same names and modes.
    let dir = Dir::new();
    dir.certutil(&["http", "--name", "n", "--dns", "n.example", "--pass", "pw", "--ec"]).ok();
    let (code, text) = run_tool(
        "python3",
        &[
            "-c",
            "import sys, zipfile\nfor i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, oct(i.external_attr >> 16))",
            s(&dir.path("elasticsearch-ssl-http.zip")),
        ],
    );
    assert_eq!(code, 0, "{text}");
    let modes: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once(' ')).collect();
    assert_eq!(modes["elasticsearch/"], "0o40700");
    assert_eq!(modes["elasticsearch/http.p12"], "0o100600");
    assert_eq!(modes["ca/ca.p12"], "0o100600");
    assert_eq!(modes.len(), 11, "{text}");
}

#[test]
fn cert_multiple_asks_for_instances_on_a_terminal() {
    let dir = Dir::new();
    let ca = dir.ca("ca.p12", &[]);
    let dialogue = [
        ("Instance name:", "alpha"),
        ("DNS names (comma-separated, empty for none):", "alpha.example, alpha"),
        ("IP addresses (comma-separated, empty for none):", "10.0.0.5"),
        ("Add another instance? [y/N]", "y"),
        ("Instance name:", "beta"),
        ("DNS names (comma-separated, empty for none):", ""),
        ("IP addresses (comma-separated, empty for none):", "not-an-ip"),
        ("Add another instance? [y/N]", "y"),
        ("Instance name:", "gamma"),
        ("DNS names (comma-separated, empty for none):", "gamma.example"),
        ("IP addresses (comma-separated, empty for none):", ""),
        ("Add another instance? [y/N]", ""),
    ];
    let (code, screen) = on_terminal(
        &dir,
        &[
            "certutil",
            "cert",
            "--ca",
            "ca.p12",
            "--ca-pass",
            "capw",
            "--multiple",
            "--pass",
            "pw",
            "--out",
            "m.zip",
        ],
        &dialogue,
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("\"not-an-ip\" is not a valid IP address"), "{screen}");
    let zip = Zip::open(&dir.path("m.zip"));
    // The invalid instance was skipped, as the screen said.
    assert_eq!(zip.names(), ["alpha/", "alpha/alpha.p12", "gamma/", "gamma/gamma.p12"]);
    zip.assert_modes();
    let root = dir.unpack(&zip, "m");
    let leaf = p12_leaf(&root.join("alpha/alpha.p12"), "pw");
    let text = cert_text(&leaf);
    assert!(text.contains("DNS:alpha.example, DNS:alpha, IP Address:10.0.0.5"), "{text}");
    verify(&ca, &leaf);
    check_p12(&root.join("gamma/gamma.p12"), "pw");
}

/// The manual path of the security guide, as a user follows it: make a CA, run the HTTP wizard,
/// unzip, configure `xpack.security.http.ssl.*`, put the key password in the keystore, start, and
/// reach the node with curl trusting the CA from the wizard's `kibana/` folder.
#[test]
fn manual_tls_setup_with_certutil_serves_https() {
    let dir = Dir::new();
    dir.ca("elastic-stack-ca.p12", &[]);
    dir.certutil(&[
        "http",
        "--ca",
        "elastic-stack-ca.p12",
        "--ca-pass",
        "capw",
        "--days",
        "90D",
        "--name",
        "node1",
        "--dns",
        "localhost,node1.example",
        "--ip",
        "127.0.0.1,10.0.0.1",
        "--name",
        "node2",
        "--dns",
        "node2.example",
        "--ip",
        "10.0.0.2",
        "--pass",
        "keypw",
        "--out",
        "elasticsearch-ssl-http.zip",
    ])
    .ok();
    let root = dir.unpack(&Zip::open(&dir.path("elasticsearch-ssl-http.zip")), "unzipped");
    let home = dir.home();
    std::fs::create_dir_all(home.join("config/certs")).unwrap();
    std::fs::copy(root.join("elasticsearch/node1/http.p12"), home.join("config/certs/http.p12")).unwrap();
    std::fs::write(
        home.join("config/bulwark.yml"),
        "xpack.security.http.ssl.enabled: true\nxpack.security.http.ssl.keystore.path: certs/http.p12\n",
    )
    .unwrap();
    let keystore = |args: &[&str], stdin: &str| {
        let mut child = bulwark_testkit::command(&home)
            .arg("keystore")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    keystore(&["create"], "");
    keystore(&["add", "-x", "xpack.security.http.ssl.keystore.secure_password"], "keypw\n");

    let mut node = bulwark_testkit::Node::spawn_home(&home, dir.path("node.out"), &[], &[]);
    let port = node.port();
    let creds = home.join("config/bootstrap-credentials");
    let deadline = std::time::Instant::now() + bulwark_testkit::START_TIMEOUT;
    let password = loop {
        if let Some(pw) = std::fs::read_to_string(&creds)
            .ok()
            .and_then(|t| t.lines().find_map(|l| l.strip_prefix("ELASTIC_PASSWORD=").map(str::to_owned)))
        {
            break pw;
        }
        assert!(std::time::Instant::now() < deadline, "no credentials file");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let ca_pem = root.join("kibana/elasticsearch-ca.pem");
    node.wait_ready(&std::fs::read(&ca_pem).unwrap(), "elastic", &password);
    let (code, body) = run_tool(
        "curl",
        &[
            "-s",
            "--cacert",
            s(&ca_pem),
            "-u",
            &format!("elastic:{password}"),
            &format!("https://localhost:{port}/"),
        ],
    );
    assert_eq!(code, 0, "{body}");
    let info: serde_json::Value = serde_json::from_str(&body).expect(&body);
    assert_eq!(info["tagline"], "You Know, for Search");
    // The served certificate is node1's, valid 90 days, with the names given.
    let leaf = p12_leaf(&home.join("config/certs/http.p12"), "keypw");
    assert_days(&leaf, 90.0);
    let text = cert_text(&leaf);
    for san in ["DNS:localhost", "DNS:node1.example", "IP Address:127.0.0.1", "IP Address:10.0.0.1"] {
        assert!(text.contains(san), "{san} missing:\n{text}");
    }
    assert!(!home.join("config/certs/http_ca.crt").exists(), "auto-configuration must not run");
}

#[test]
fn crl_revokes_certificates_as_openssl_checks_them() {
    let dir = Dir::new();
    let ca = dir.ca("ca.p12", &[]);
    let url = "http://pki.example.internal/ca.crl";
    dir.certutil(&[
        "cert",
        "--ca",
        "ca.p12",
        "--ca-pass",
        "capw",
        "--name",
        "n1",
        "--pass",
        "pw",
        "--crl-url",
        url,
    ])
    .ok();
    dir.certutil(&["cert", "--ca", "ca.p12", "--ca-pass", "capw", "--name", "n2", "--pass", "pw"]).ok();
    let (n1, n2) = (p12_leaf(&dir.path("n1.p12"), "pw"), p12_leaf(&dir.path("n2.p12"), "pw"));
    let text = cert_text(&n1);
    assert!(
        text.contains("X509v3 CRL Distribution Points") && text.contains(&format!("URI:{url}")),
        "{text}"
    );
    assert!(!cert_text(&n2).contains("CRL Distribution Points"));

    // An empty first list, DER, verified by openssl against the CA.
    let out = dir.certutil(&["crl", "--ca", "ca.p12", "--ca-pass", "capw"]);
    out.ok();
    assert!(
        out.stdout.contains("revocation list number 1") && out.stdout.contains("valid for 30 days"),
        "{}",
        out.stdout
    );
    let crl = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        s(&dir.path("ca.crl")),
        "-CAfile",
        s(&ca),
        "-noout",
        "-text",
    ]);
    assert!(crl.contains("verify OK") && crl.contains("No Revoked Certificates"), "{crl}");

    // The next list keeps nothing but adds n1 (by file) and a serial (keytool's spelling).
    let out = dir.certutil(&[
        "crl",
        "--ca",
        "ca.p12",
        "--ca-pass",
        "capw",
        "--in",
        "ca.crl",
        "--revoke-cert",
        s(&n1),
        "--revoke",
        "0a:bc",
        "--reason",
        "key_compromise",
        "--days",
        "7D",
        "--pem",
        "--out",
        "ca-2.crl",
    ]);
    out.ok();
    assert!(
        out.stdout.contains("number 2") && out.stdout.contains("2 revoked certificates (2 new)"),
        "{}",
        out.stdout
    );
    let crl = openssl(&["crl", "-in", s(&dir.path("ca-2.crl")), "-CAfile", s(&ca), "-noout", "-text"]);
    assert!(
        crl.contains("verify OK") && crl.contains("Serial Number: 0ABC") && crl.contains("Key Compromise"),
        "{crl}"
    );
    let check = |leaf: &Path| {
        run_tool(
            "openssl",
            &["verify", "-crl_check", "-CAfile", s(&ca), "-CRLfile", s(&dir.path("ca-2.crl")), s(leaf)],
        )
    };
    let (code, text) = check(&n1);
    assert!(code != 0 && text.contains("certificate revoked"), "{text}");
    let (code, text) = check(&n2);
    assert!(code == 0 && text.contains(": OK"), "{text}");

    // Refusals: another CA's list or certificate, a bad reason or serial, an existing output.
    dir.ca("other.p12", &["--dn", "CN=Other CA"]);
    dir.certutil(&[
        "cert",
        "--ca",
        "other.p12",
        "--ca-pass",
        "capw",
        "--name",
        "x",
        "--pass",
        "pw",
        "--out",
        "x.p12",
    ])
    .ok();
    let x = p12_leaf(&dir.path("x.p12"), "pw");
    let ca_args = ["crl", "--ca", "ca.p12", "--ca-pass", "capw", "--out", "never.crl"];
    dir.certutil(&[&ca_args[..], &["--revoke-cert", s(&x)]].concat()).fails(65, "was not issued by the CA");
    dir.certutil(&["crl", "--ca", "other.p12", "--ca-pass", "capw", "--in", "ca.crl", "--out", "never.crl"])
        .fails(65, "issued by [CN=Elastic Certificate Tool Autogenerated CA]");
    dir.certutil(&[&ca_args[..], &["--reason", "certificateHold"]].concat()).fails(64, "--reason");
    dir.certutil(&[&ca_args[..], &["--revoke", "xyz"]].concat()).fails(64, "not a certificate serial number");
    dir.certutil(&["crl", "--ca", "ca.p12", "--ca-pass", "capw", "--out", "ca.crl"]).fails(74, "ca.crl");
    assert!(!dir.path("never.crl").exists());
}

#[test]
fn passwords_from_the_environment_instead_of_flags() {
    let dir = Dir::new();
    let out = dir.certutil_env(&["ca", "--out", "env-ca.p12"], &[("CERTUTIL_PASSWORD", "ca-from-env")]);
    out.ok();
    assert!(!out.stderr.contains("WARNING"), "{}", out.stderr);
    check_p12(&dir.path("env-ca.p12"), "ca-from-env");
    let env = [("CERTUTIL_CA_PASSWORD", "ca-from-env"), ("CERTUTIL_PASSWORD", "leaf-from-env")];
    dir.certutil_env(&["cert", "--ca", "env-ca.p12", "--name", "n1", "--dns", "n1", "--out", "n1.p12"], &env)
        .ok();
    check_p12(&dir.path("n1.p12"), "leaf-from-env");
    // A flag's value wins over the environment.
    dir.certutil_env(
        &["cert", "--ca", "env-ca.p12", "--name", "n2", "--pass", "flag", "--out", "n2.p12"],
        &env,
    )
    .ok();
    check_p12(&dir.path("n2.p12"), "flag");
    dir.certutil_env(
        &["cert", "--ca", "env-ca.p12", "--name", "n3", "--out", "n3.p12"],
        &[("CERTUTIL_CA_PASSWORD", "nope")],
    )
    .fails(65, "CERTUTIL_CA_PASSWORD");
    assert!(!dir.path("n3.p12").exists());
}
