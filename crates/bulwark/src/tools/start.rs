//! `bulwark start`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct StartArgs {}

pub fn run(_globals: &crate::Globals, _args: StartArgs) -> anyhow::Result<ExitCode> {
    Ok(ExitCode::SUCCESS)
}
