//! `bulwark certutil`: certificate authorities, certificates and certificate signing requests, as
//! `elasticsearch-certutil` makes them (same subcommands, flags, file names and zip layouts),
//! plus a flag for every question of the `http` wizard.
//!
//! Every file is written with mode 0600 and never replaces an existing file; zips hold 0700
//! folders and 0600 files. PKCS#12 files use PBES2/AES-256 with an HMAC-SHA256 MAC, which
//! OpenSSL 3, keytool and Python read.

mod ask;
mod ca;
mod ca_source;
mod cert;
mod crl;
mod csr;
mod failure;
mod http;
mod http_files;
mod http_nodes;
mod instances;
mod keys;
mod output;
mod passwords;
mod progress;
mod validity;

use std::process::ExitCode;

use clap::{Args, Subcommand};

/// Make a certificate authority, certificates and certificate signing requests for TLS.
///
/// All outputs are readable by openssl and keytool. Files are created with mode 0600 and an
/// existing file is never overwritten. Keys are RSA 2048 unless --keysize or --ec says otherwise;
/// validity is 3 years unless --days says otherwise (days, or periods such as 90D, 6M, 3Y).
#[derive(Debug, Args)]
pub struct CertutilArgs {
    // Boxed: the arguments are large and would bloat the top-level command enum.
    #[command(subcommand)]
    command: Box<CertutilCommand>,
}

#[derive(Debug, Subcommand)]
enum CertutilCommand {
    /// Generate a new certificate authority (elastic-stack-ca.p12).
    Ca(ca::CaArgs),
    /// Generate certificates and keys signed by a CA, or self-signed (elastic-certificates.p12).
    Cert(cert::CertArgs),
    /// Generate certificate signing requests and keys (csr-bundle.zip).
    Csr(csr::CsrArgs),
    /// Wizard for HTTPS certificates with instructions for Bulwark and Kibana
    /// (elasticsearch-ssl-http.zip).
    Http(http::HttpArgs),
    /// Generate a certificate revocation list signed by a CA (ca.crl).
    Crl(crl::CrlArgs),
}

/// Runs `bulwark certutil <command>`.
pub fn run(globals: &crate::Globals, args: CertutilArgs) -> anyhow::Result<ExitCode> {
    match *args.command {
        CertutilCommand::Ca(a) => ca::run(a),
        CertutilCommand::Cert(a) => cert::run(a),
        CertutilCommand::Csr(a) => csr::run(a),
        CertutilCommand::Http(a) => http::run(globals, a),
        CertutilCommand::Crl(a) => crl::run(a),
    }
}
