//! Existing certificate authorities: a PKCS#12 file (`--ca`, e.g. `elastic-stack-ca.p12`) or a
//! PEM certificate and key (`--ca-cert`, `--ca-key`), checked to be a CA whose key matches.

use std::path::{Path, PathBuf};

use bulwark_pki::CertifiedKey;
use clap::Args;

use super::passwords::{self, PassFlag};
use super::{ask, failure, validity};
use crate::exit::{self, fail};

/// Upper bound on the size of a CA file.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The flags that name an existing CA: `--ca` (PKCS#12) with `--ca-pass`, or `--ca-cert` with
/// `--ca-key` (PEM). Subcommands that also offer another signer declare the conflict on their own
/// flag (`--self-signed`, `--new-ca`).
#[derive(Debug, Args)]
pub struct CaFlags {
    /// The CA: a PKCS#12 file holding one key (e.g. elastic-stack-ca.p12).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["ca_cert", "ca_key"])]
    pub ca: Option<PathBuf>,
    /// Password of the --ca file; without a value it is asked on the terminal [default:
    /// $CERTUTIL_CA_PASSWORD, else tried empty, then asked on a terminal].
    #[arg(long = "ca-pass", value_name = "PASSWORD", num_args = 0..=1, requires = "ca")]
    pub ca_pass: Option<Option<String>>,
    /// The CA certificate (PEM), with --ca-key.
    #[arg(long = "ca-cert", value_name = "FILE", requires = "ca_key")]
    pub ca_cert: Option<PathBuf>,
    /// The CA's private key (PEM, unencrypted), with --ca-cert.
    #[arg(long = "ca-key", value_name = "FILE", requires = "ca_cert")]
    pub ca_key: Option<PathBuf>,
}

impl CaFlags {
    /// Whether a CA was named.
    pub fn given(&self) -> bool {
        self.ca.is_some() || self.ca_cert.is_some()
    }

    /// Loads the CA the flags name, if any.
    pub fn load(&self) -> anyhow::Result<Option<CertifiedKey>> {
        match (&self.ca, &self.ca_cert, &self.ca_key) {
            (Some(path), _, _) => from_p12(path, &self.ca_pass, "--ca-pass").map(Some),
            (None, Some(cert), Some(key)) => from_pem(cert, key).map(Some),
            _ => Ok(None),
        }
    }
}

/// Loads a CA from a PKCS#12 file holding exactly one key entry; the password comes from
/// `pass_flag_name` (or the empty password, or the terminal).
pub fn from_p12(path: &Path, pass: &PassFlag, pass_flag_name: &str) -> anyhow::Result<CertifiedKey> {
    let bytes = read(path)?;
    let what = format!("CA keystore [{}]", path.display());
    passwords::open_existing(pass, pass_flag_name, &what, |password| {
        bulwark_pki::load_ca_from_p12(&bytes, password, None)
    })
}

/// Loads a CA from a PEM certificate and an unencrypted PEM private key.
pub fn from_pem(cert: &Path, key: &Path) -> anyhow::Result<CertifiedKey> {
    let cert_bytes = read(cert)?;
    let key_bytes = zeroize::Zeroizing::new(read(key)?);
    bulwark_pki::load_ca_from_pem(&cert_bytes, &key_bytes).map_err(|e| {
        failure::pki(format!("cannot use the CA [{}] with key [{}]", cert.display(), key.display()), e)
    })
}

/// Asks on the terminal where the CA is (PKCS#12, or PEM certificate and key) and loads it.
pub fn ask_and_load() -> anyhow::Result<CertifiedKey> {
    ask::say("Give the path of the CA: a PKCS#12 file (.p12), or a PEM certificate or private key.");
    let path = ask_existing_path("Path to the CA")?;
    match sniff(&path)? {
        Kind::Pkcs12 => from_p12(&path, &None, "--ca-pass"),
        Kind::PemCert => {
            ask::say(&format!("{} holds a certificate; its private key is needed too.", path.display()));
            let key = ask_existing_path("Path to the CA's private key")?;
            from_pem(&path, &key)
        }
        Kind::PemKey => {
            ask::say(&format!("{} holds a private key; its certificate is needed too.", path.display()));
            let cert = ask_existing_path("Path to the CA certificate")?;
            from_pem(&cert, &path)
        }
    }
}

/// Warns when certificates valid for `days` would outlive the CA that signs them.
pub fn warn_if_outlived(ca: &CertifiedKey, days: u32) {
    if let Ok(info) = ca.info() {
        let now = std::time::SystemTime::now();
        let cert_end = now + std::time::Duration::from_secs(u64::from(days) * 86_400);
        let ca_end: std::time::SystemTime = info.not_after.into();
        if ca_end < cert_end {
            eprintln!(
                "WARNING: the CA [{}] expires before the new certificates ({}): clients will stop trusting \
                 them when the CA expires",
                info.subject_dn,
                validity::describe(days)
            );
        }
    }
}

enum Kind {
    Pkcs12,
    PemCert,
    PemKey,
}

/// What a CA file holds, by extension or content (as Elasticsearch's wizard guesses it).
fn sniff(path: &Path) -> anyhow::Result<Kind> {
    let lower = path.to_string_lossy().to_ascii_lowercase();
    if [".p12", ".pfx", ".pkcs12"].iter().any(|ext| lower.ends_with(ext)) {
        return Ok(Kind::Pkcs12);
    }
    let bytes = read(path)?;
    match bytes.get(..2) {
        Some([0x30, 0x82 | 0x56 | 0x65]) => return Ok(Kind::Pkcs12),
        Some([0xFE, 0xED]) => {
            return Err(fail(
                exit::DATA_ERROR,
                format!(
                    "{} is a Java keystore (JKS); convert it with `keytool -importkeystore -deststoretype PKCS12`",
                    path.display()
                ),
            ));
        }
        _ => {}
    }
    let text = String::from_utf8_lossy(&bytes);
    let certs = text.matches("-----BEGIN CERTIFICATE-----").count();
    let has_key = text.contains("PRIVATE KEY-----");
    match (certs, has_key) {
        (1, false) => Ok(Kind::PemCert),
        (0, true) => Ok(Kind::PemKey),
        (n, false) if n > 1 => Err(fail(
            exit::DATA_ERROR,
            format!(
                "{} holds a chain of {n} certificates; give the file of the CA certificate alone",
                path.display()
            ),
        )),
        _ => Err(fail(
            exit::DATA_ERROR,
            format!("{} is not a PKCS#12 file, a PEM certificate or a PEM private key", path.display()),
        )),
    }
}

fn ask_existing_path(prompt: &str) -> anyhow::Result<PathBuf> {
    loop {
        let answer = ask::text(prompt, None)?;
        if answer.is_empty() {
            continue;
        }
        let path = PathBuf::from(answer);
        if path.is_file() {
            return Ok(path);
        }
        ask::say(&format!("There is no file at {}.", path.display()));
    }
}

pub(super) fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    let shown = path.display();
    let meta =
        std::fs::metadata(path).map_err(|e| fail(exit::IO_ERROR, format!("cannot read [{shown}]: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(fail(exit::DATA_ERROR, format!("[{shown}] is too large to be a CA file")));
    }
    std::fs::read(path).map_err(|e| fail(exit::IO_ERROR, format!("cannot read [{shown}]: {e}")))
}
