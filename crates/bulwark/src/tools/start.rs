//! `bulwark start`: run a node.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;

use crate::{Globals, exit};

#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Join the cluster that made this node enrollment token (`bulwark create-enrollment-token
    /// -s node` on a member): certificates are signed by the cluster, the node joins as a voter.
    /// Fresh homes only; on any failure the home is left as it was.
    #[arg(long, value_name = "TOKEN")]
    enrollment_token: Option<String>,
}

pub fn run(globals: &Globals, args: StartArgs) -> anyhow::Result<ExitCode> {
    let keystore_password = crate::tools::keystore_password(&globals.home)?;
    let opts = bulwark_node::StartOptions {
        home: globals.home.clone(),
        overrides: globals.overrides.clone(),
        keystore_password,
        running_as_root: crate::root::is_root(),
        terminal: std::io::stdout().is_terminal(),
        enrollment_token: args.enrollment_token.map(bulwark_node::SecretToken::from),
    };
    bulwark_node::run(opts)
        .map_err(|e| {
            let code = match e {
                bulwark_node::NodeError::Settings(_) | bulwark_node::NodeError::Config(_) => exit::CONFIG,
                bulwark_node::NodeError::Keystore(_)
                | bulwark_node::NodeError::Store { .. }
                | bulwark_node::NodeError::Index { .. } => exit::DATA_ERROR,
                bulwark_node::NodeError::Random { .. } => exit::IO_ERROR,
                bulwark_node::NodeError::Io { .. } => exit::IO_ERROR,
                bulwark_node::NodeError::Bind { .. } => exit::UNAVAILABLE,
                _ => 1,
            };
            exit::fail(code, e.to_string())
        })
        .context("the node could not start")?;
    Ok(ExitCode::SUCCESS)
}
