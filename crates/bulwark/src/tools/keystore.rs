//! `bulwark keystore`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct KeystoreArgs {}

pub fn run(_globals: &crate::Globals, _args: KeystoreArgs) -> anyhow::Result<ExitCode> {
    Ok(ExitCode::SUCCESS)
}
