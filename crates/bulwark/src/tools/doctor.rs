//! `bulwark doctor`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {}

pub fn run(_globals: &crate::Globals, _args: DoctorArgs) -> anyhow::Result<ExitCode> {
    Ok(ExitCode::SUCCESS)
}
