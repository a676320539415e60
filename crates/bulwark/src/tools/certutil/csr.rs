//! `bulwark certutil csr`: certificate signing requests and their private keys, for a CA that
//! someone else runs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::instances;
use super::keys::KeyArgs;
use super::output::{self, Zip};
use super::passwords;
use super::progress::Progress;
use super::{failure, validity};

/// Default output.
const DEFAULT_ZIP: &str = "csr-bundle.zip";

/// Arguments of `certutil csr`: generate certificate signing requests (CSRs) and private keys, to have
/// certificates signed by a CA you do not control.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Writes csr-bundle.zip with one folder per instance: <name>/<name>.csr (PKCS#10, PEM, with the
DNS and IP names as subject alternative names) and <name>/<name>.key (PEM, unencrypted). Send
the .csr files to the CA; keep the .key files private.

Examples:
  bulwark certutil csr --name node1 --dns node1.example.com --ip 10.0.0.1
  bulwark certutil csr --in instances.yml --ec --out requests.zip

Then, for example: openssl x509 -req -in node1/node1.csr -CA ca.crt -CAkey ca.key -copy_extensions copy ...

Exit codes: 0 ok, 64 usage, 74 output file exists or cannot be written, 78 invalid instances file.")]
pub struct CsrArgs {
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
    #[command(flatten)]
    key: KeyArgs,
    /// Output file [default: csr-bundle.zip; asked on a terminal].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Not supported: the PEM keys are written unencrypted (only an empty value is accepted).
    #[arg(long, value_name = "PASSWORD", num_args = 0..=1, hide = true)]
    pass: Option<Option<String>>,
}

/// Runs `certutil csr`.
pub fn run(args: CsrArgs) -> anyhow::Result<ExitCode> {
    let key = args.key.algorithm()?;
    passwords::refuse_for_pem(&args.pass, "--pass", "the CSR keys")?;
    let instances =
        instances::choose(args.input.as_deref(), args.multiple, args.name.as_deref(), &args.dns, &args.ip)?;
    let out = output::choose(args.out.as_deref(), DEFAULT_ZIP)?;

    let progress = Progress::new(instances.len(), "keys and CSRs");
    let mut zip = Zip::new();
    for instance in &instances {
        let (csr, key_der) = bulwark_pki::new_csr(&instance.request(validity::DEFAULT_DAYS, key))
            .map_err(|e| failure::pki(format!("instance {:?}", instance.name), e))?;
        let f = &instance.filename;
        zip.file(&format!("{f}/{f}.csr"), csr.as_bytes())?;
        zip.file(&format!("{f}/{f}.key"), bulwark_pki::key_pem(&key_der).as_bytes())?;
        progress.inc();
    }
    progress.finish();
    output::write_new(&out, &zip.finish()?)?;
    println!(
        "Wrote {} certificate signing request{} ({key}) to {}",
        instances.len(),
        if instances.len() == 1 { "" } else { "s" },
        out.display()
    );
    println!("Send the .csr files to your CA; keep the .key files private (the zip holds them unencrypted).");
    Ok(ExitCode::SUCCESS)
}
