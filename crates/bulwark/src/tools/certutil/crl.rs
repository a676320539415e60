//! `bulwark certutil crl`: a certificate revocation list signed by a CA of yours, for the
//! certificates that name its URL (`certutil cert|http --crl-url`). Elasticsearch's certutil has
//! no such mode; auto-configured clusters publish their lists themselves (`/_ssl/crl/...`).

use std::path::PathBuf;
use std::process::ExitCode;

use bulwark_pki::{CrlInfo, Revocation, RevocationReason};
use clap::Args;
use time::{Duration, OffsetDateTime};

use super::ca_source::{self, CaFlags};
use super::{failure, output, validity};
use crate::exit::{self, fail};

/// Default output file.
const DEFAULT_OUT: &str = "ca.crl";
/// Default validity of a list (its next update): 30 days.
const DEFAULT_DAYS: u32 = 30;

/// Arguments of `certutil crl`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Writes a certificate revocation list (CRL) signed by the CA, listing the certificates given by
--revoke (serial numbers) and --revoke-cert (certificate files) and, with --in, every entry of
the current list. Publish the file at the URL the certificates name (certutil cert|http
--crl-url), and make a new list before the current one's next update (--days).

Examples:
  bulwark certutil crl --ca elastic-stack-ca.p12 --ca-pass 'ca-secret' --out ca.crl
  bulwark certutil crl --ca elastic-stack-ca.p12 --in ca.crl --revoke-cert node2.crt \\
      --reason key_compromise --out ca-2.crl && mv ca-2.crl ca.crl
  openssl verify -crl_check -CAfile ca.crt -CRLfile ca.crl.pem node1.crt

Exit codes: 0 ok, 64 usage, 65 unusable CA, list or certificate, 74 output file exists or cannot
be written.")]
pub struct CrlArgs {
    #[command(flatten)]
    ca: CaFlags,
    /// Serial numbers to revoke, hex as `openssl x509 -serial` or keytool print them,
    /// comma-separated (repeatable).
    #[arg(long, value_name = "SERIAL[,SERIAL...]", value_delimiter = ',')]
    revoke: Vec<String>,
    /// Certificates to revoke (PEM files issued by the CA; repeatable).
    #[arg(long = "revoke-cert", value_name = "FILE")]
    revoke_cert: Vec<PathBuf>,
    /// Why they are revoked: unspecified, key_compromise, ca_compromise, affiliation_changed,
    /// superseded, cessation_of_operation or privilege_withdrawn [default: unspecified].
    #[arg(long, value_name = "REASON")]
    reason: Option<String>,
    /// The current list of this CA (PEM or DER): its entries are kept and the new list gets the
    /// next number.
    #[arg(long = "in", id = "input", value_name = "FILE")]
    input: Option<PathBuf>,
    /// How long the list is valid: days or a period such as 7D or 1M [default: 30D].
    #[arg(long, value_name = "PERIOD")]
    days: Option<String>,
    /// Output file; never replaced [default: ca.crl].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write PEM (`X509 CRL`) instead of DER.
    #[arg(long)]
    pem: bool,
}

/// Runs `certutil crl`.
pub fn run(args: CrlArgs) -> anyhow::Result<ExitCode> {
    let reason = match args.reason.as_deref() {
        None => RevocationReason::Unspecified,
        Some(r) => RevocationReason::parse(r).ok_or_else(|| {
            let names: Vec<&str> = RevocationReason::ALL.iter().map(|r| r.name()).collect();
            fail(exit::USAGE, format!("invalid value {r:?} for --reason: use one of {}", names.join(", ")))
        })?,
    };
    let days = validity::from_flag("--days", args.days.as_deref(), DEFAULT_DAYS)?;
    let mut serials = Vec::new();
    for s in &args.revoke {
        serials.push(bulwark_pki::normalize_serial(s).map_err(|e| failure::pki("--revoke", e))?);
    }
    let out = output::choose(args.out.as_deref(), DEFAULT_OUT)?;
    output::ensure_new(&out)?;
    let ca = args.ca.load()?.ok_or_else(|| {
        fail(
            exit::USAGE,
            "crl needs the CA that signs the list: --ca FILE (PKCS#12, e.g. from `bulwark certutil ca`) \
             or --ca-cert FILE --ca-key FILE (PEM)",
        )
    })?;
    let ca_info = ca.info().map_err(|e| failure::pki("the CA certificate", e))?;
    for path in &args.revoke_cert {
        let bytes = ca_source::read(path)?;
        let der = bulwark_pki::certs_from_pem(&bytes)
            .ok()
            .and_then(|c| c.into_iter().next())
            .unwrap_or_else(|| bytes.clone());
        let info = bulwark_pki::inspect(&der)
            .map_err(|e| failure::pki(format!("--revoke-cert [{}]", path.display()), e))?;
        if bulwark_pki::verify_chain_at(&der, &[], ca.cert_der(), info.not_before + Duration::minutes(1))
            .is_err()
        {
            return Err(fail(
                exit::DATA_ERROR,
                format!(
                    "--revoke-cert [{}]: the certificate ({}) was not issued by the CA ({})",
                    path.display(),
                    info.subject_dn,
                    ca_info.subject_dn
                ),
            ));
        }
        serials.push(info.serial_hex);
    }

    let current = match &args.input {
        Some(path) => {
            let bytes = ca_source::read(path)?;
            bulwark_pki::read_crl(&bytes, ca.cert_der())
                .map_err(|e| failure::pki(format!("--in [{}]", path.display()), e))?
        }
        None => CrlInfo {
            issuer_dn: ca_info.subject_dn.clone(),
            number: 0,
            this_update: OffsetDateTime::UNIX_EPOCH,
            next_update: None,
            revoked: Vec::new(),
        },
    };
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut revoked = current.revoked.clone();
    let mut added = 0;
    for serial in serials {
        if !revoked.iter().any(|r| r.serial_hex == serial) {
            revoked.push(Revocation { serial_hex: serial, revoked_at: now, reason });
            added += 1;
        }
    }
    let number = current.number + 1;
    let der = bulwark_pki::issue_crl(&ca, number, &revoked, Duration::days(i64::from(days)))
        .map_err(|e| failure::pki("cannot sign the revocation list", e))?;
    let bytes = if args.pem { bulwark_pki::crl_pem(&der).into_bytes() } else { der };
    output::write_new(&out, &bytes)?;
    println!(
        "Wrote {} ({}): revocation list number {number} of {}, {} revoked certificate{} ({added} new), valid for {}",
        out.display(),
        if args.pem { "PEM" } else { "DER" },
        ca_info.subject_dn,
        revoked.len(),
        if revoked.len() == 1 { "" } else { "s" },
        validity::describe(days)
    );
    println!("Publish it at the URL your certificates name, and make a new one before it expires.");
    Ok(ExitCode::SUCCESS)
}
