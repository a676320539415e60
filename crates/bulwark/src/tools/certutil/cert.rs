//! `bulwark certutil cert`: certificates and keys for instances, signed by a CA (or self-signed),
//! as PKCS#12 files or PEM files.

use std::path::PathBuf;
use std::process::ExitCode;

use bulwark_pki::{CertUsage, CertifiedKey, P12Entry};
use clap::Args;

use super::ca::CA_ALIAS;
use super::ca_source::{self, CaFlags};
use super::instances::{self, Instance};
use super::keys::KeyArgs;
use super::output::{self, Zip};
use super::passwords;
use super::progress::Progress;
use super::{failure, validity};
use crate::exit::{self, fail};

/// Default output of a zip (`--pem`, `--multiple`, `--in`).
const DEFAULT_ZIP: &str = "certificate-bundle.zip";
/// Default output of a single PKCS#12 file when `--name` is not given.
const DEFAULT_P12: &str = "elastic-certificates.p12";

/// Arguments of `certutil cert`: generate certificates and private keys for one or more instances
/// (nodes, clients, ...), signed by an existing CA or self-signed.
#[derive(Debug, Args)]
#[command(after_long_help = "\
One instance (from --name/--dns/--ip) gives a PKCS#12 file, elastic-certificates.p12 (or
<name>.p12 with --name): the entry named after the instance holds the private key and the
chain (certificate, then CA certificate), and the entry \"ca\" holds the CA certificate as
trusted. With --pem, --multiple or --in the output is a zip, certificate-bundle.zip, with one
folder per instance: <name>/<name>.p12, or with --pem <name>/<name>.crt and <name>/<name>.key
plus ca/ca.crt. Certificates allow TLS server and client authentication, so they serve both
xpack.security.http.ssl and xpack.security.transport.ssl.

Examples:
  bulwark certutil cert --ca elastic-stack-ca.p12 --ca-pass 'ca-secret' --name node1 \\
      --dns node1.example.com,localhost --ip 10.0.0.1,127.0.0.1 --pass 'node-secret'
  bulwark certutil cert --ca-cert ca.crt --ca-key ca.key --in instances.yml --pem
  bulwark certutil cert --self-signed --name test --dns localhost --ec

instances.yml (Elasticsearch's format):
  instances:
    - name: node1
      dns: [node1.example.com, localhost]
      ip: [10.0.0.1]
    - name: 'CN=node2,O=Example'
      filename: node2
      dns: node2.example.com

Exit codes: 0 ok, 64 usage, 65 unusable or wrong-password CA, 74 output file exists or cannot be
written, 78 invalid instances file.")]
pub struct CertArgs {
    #[command(flatten)]
    ca: CaFlags,
    /// Make self-signed certificates instead of signing with a CA.
    #[arg(long = "self-signed", conflicts_with_all = ["ca", "ca_cert"])]
    self_signed: bool,
    /// Name of the single instance: a common name or a DN [default: instance].
    #[arg(long, value_name = "NAME", conflicts_with_all = ["input", "multiple"])]
    name: Option<String>,
    /// DNS names of the single instance, comma-separated (repeatable).
    #[arg(long, value_name = "HOST[,HOST...]", value_delimiter = ',', conflicts_with_all = ["input", "multiple"])]
    dns: Vec<String>,
    /// IP addresses of the single instance, comma-separated (repeatable).
    #[arg(long, value_name = "IP[,IP...]", value_delimiter = ',', conflicts_with_all = ["input", "multiple"])]
    ip: Vec<String>,
    /// Read the instances from a YAML file (Elasticsearch's instances.yml format).
    #[arg(long = "in", id = "input", value_name = "FILE")]
    input: Option<PathBuf>,
    /// Ask on the terminal for several instances (with --in, the file lists them instead).
    #[arg(long)]
    multiple: bool,
    /// Validity: days (1095) or a period such as 90D, 6M, 3Y [default: 3Y].
    #[arg(long, value_name = "PERIOD")]
    days: Option<String>,
    #[command(flatten)]
    key: KeyArgs,
    /// Password of the PKCS#12 files (plain ASCII; may be empty). Without a value it is asked on
    /// the terminal [default: $CERTUTIL_PASSWORD (unlike a flag, not shown to other users in the
    /// process list), else asked on a terminal].
    #[arg(long, value_name = "PASSWORD", num_args = 0..=1)]
    pass: Option<Option<String>>,
    /// Output file [default: elastic-certificates.p12, <name>.p12 with --name, or
    /// certificate-bundle.zip; asked on a terminal].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write PEM files (certificate, unencrypted key, CA certificate) in a zip instead of PKCS#12.
    #[arg(long)]
    pem: bool,
    /// Where clients fetch the CA's revocation list (`certutil crl`): an http(s):// URL put in
    /// every certificate's CRL distribution point (repeatable, alternatives).
    #[arg(long = "crl-url", value_name = "URL", conflicts_with = "self_signed")]
    crl_url: Vec<String>,
}

/// Who signs the certificates.
enum Signer {
    Ca(CertifiedKey),
    SelfSigned,
}

/// Runs `certutil cert`.
pub fn run(args: CertArgs) -> anyhow::Result<ExitCode> {
    if !args.ca.given() && !args.self_signed {
        return Err(fail(
            exit::USAGE,
            "cert needs a CA to sign with: --ca FILE (PKCS#12, e.g. from `bulwark certutil ca`), \
             --ca-cert FILE --ca-key FILE (PEM), or --self-signed",
        ));
    }
    let key = args.key.algorithm()?;
    let days = validity::from_flag("--days", args.days.as_deref(), validity::DEFAULT_DAYS)?;
    if args.pem {
        passwords::refuse_for_pem(&args.pass, "--pass", "the instance keys")?;
    }
    let instances =
        instances::choose(args.input.as_deref(), args.multiple, args.name.as_deref(), &args.dns, &args.ip)?;
    let zip = args.pem || args.multiple || args.input.is_some();
    let default_out = match (&args.name, instances.first()) {
        _ if zip => DEFAULT_ZIP.to_owned(),
        (Some(_), Some(first)) => format!("{}.p12", first.filename),
        _ => DEFAULT_P12.to_owned(),
    };
    let out = output::choose(args.out.as_deref(), &default_out)?;

    let signer = match args.ca.load()? {
        Some(ca) => Signer::Ca(ca),
        None => Signer::SelfSigned,
    };
    if let Signer::Ca(ca) = &signer {
        ca_source::warn_if_outlived(ca, days);
    }
    let password = if args.pem {
        None
    } else {
        let file = if zip { "the PKCS#12 files".to_owned() } else { out.display().to_string() };
        Some(passwords::for_new_p12(&args.pass, "--pass", &file)?)
    };

    let progress = Progress::new(instances.len(), "certificates");
    let mut issued: Vec<(&Instance, CertifiedKey)> = Vec::with_capacity(instances.len());
    for instance in &instances {
        let mut req = instance.request(days, key);
        req.crl_urls.clone_from(&args.crl_url);
        let leaf = match &signer {
            Signer::Ca(ca) => bulwark_pki::issue(ca, &req, CertUsage::ServerAndClient)
                .map_err(|e| failure::pki(format!("instance {:?}", instance.name), e))?,
            Signer::SelfSigned => bulwark_pki::issue_self_signed(&req, CertUsage::ServerAndClient)
                .map_err(|e| failure::pki(format!("instance {:?}", instance.name), e))?,
        };
        issued.push((instance, leaf));
        progress.inc();
    }
    progress.finish();

    let ca_der = match &signer {
        Signer::Ca(ca) => Some(ca.cert_der()),
        Signer::SelfSigned => None,
    };
    let p12 = |instance: &Instance, leaf: &CertifiedKey, password| {
        let mut entries = vec![P12Entry::key_chain(instance.name.clone(), leaf, ca_der.as_slice())];
        if let Some(ca) = ca_der {
            entries.push(P12Entry::trusted(CA_ALIAS, ca));
        }
        bulwark_pki::write_p12(&entries, password)
            .map(zeroize::Zeroizing::new)
            .map_err(|e| failure::pki(format!("cannot write the PKCS#12 file of {:?}", instance.name), e))
    };
    let bytes = match (&password, zip) {
        (Some(password), false) => {
            let (instance, leaf) = issued.first().ok_or_else(|| fail(1, "no certificate was made"))?;
            p12(instance, leaf, password)?
        }
        (Some(password), true) => {
            let mut zip = Zip::new();
            for (instance, leaf) in &issued {
                let f = &instance.filename;
                zip.file(&format!("{f}/{f}.p12"), &p12(instance, leaf, password)?)?;
            }
            zip.finish()?
        }
        (None, _) => {
            let mut zip = Zip::new();
            if let Signer::Ca(ca) = &signer {
                zip.file("ca/ca.crt", ca.cert_pem().as_bytes())?;
            }
            for (instance, leaf) in &issued {
                let f = &instance.filename;
                zip.file(&format!("{f}/{f}.crt"), leaf.cert_pem().as_bytes())?;
                zip.file(&format!("{f}/{f}.key"), leaf.key_pem().as_bytes())?;
            }
            zip.finish()?
        }
    };
    output::write_new(&out, &bytes)?;
    let what =
        if issued.len() == 1 { "1 certificate".to_owned() } else { format!("{} certificates", issued.len()) };
    println!("Wrote {what} ({key}, valid for {}) to {}", validity::describe(days), out.display());
    println!(
        "Keep this file private: it holds the private key{}. Copy each instance's files to that \
         instance's config directory (for example config/certs/).",
        if issued.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}
