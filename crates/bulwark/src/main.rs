//! `bulwark`: the node and its tools in one binary.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

mod exit;
mod prompt;
mod root;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A search and document node that is secure from its very first start.
#[derive(Debug, Parser)]
#[command(name = "bulwark", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// The home directory (default: $BULWARK_HOME, else ./bulwark-home).
    #[arg(long, global = true, value_name = "DIR")]
    home: Option<PathBuf>,

    /// Override a setting, as in bulwark.yml (repeatable): -E http.port=9201
    #[arg(short = 'E', global = true, value_name = "KEY=VALUE")]
    setting: Vec<String>,

    /// Run even as root (for containers and CI); a warning is logged and `doctor` reports it.
    #[arg(long, global = true)]
    allow_root: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node (configures security automatically on the first start of a fresh home).
    Start(tools::start::StartArgs),
    /// Manage the encrypted keystore of secure settings.
    Keystore(tools::keystore::KeystoreArgs),
    /// Explain the node's security state and every problem, each with its fix.
    Doctor(tools::doctor::DoctorArgs),
    /// Make a certificate authority, certificates and certificate signing requests.
    Certutil(tools::certutil::CertutilArgs),
    /// Manage file-realm users (config/users, config/users_roles).
    Users(tools::users::UsersArgs),
    /// Manage service account tokens (config/service_tokens).
    ServiceTokens(tools::service_tokens::ServiceTokensArgs),
    /// Reset the password of a built-in or native user, on a running or a stopped node.
    ResetPassword(tools::reset_password::ResetPasswordArgs),
    /// Create an enrollment token for the console (-s kibana) or a new node (-s node).
    CreateEnrollmentToken(tools::create_enrollment_token::CreateEnrollmentTokenArgs),
    /// The web console (Kibana's role): start it, enroll it detached, or show its setup code.
    Console(tools::console::ConsoleArgs),
}

/// What every tool gets from the command line besides its own arguments.
#[derive(Debug, Clone)]
pub struct Globals {
    /// The node's home, resolved from `--home`, `BULWARK_HOME` or the default.
    pub home: bulwark_settings::Home,
    /// `--home` as given (the console resolves its own home from it).
    pub home_flag: Option<PathBuf>,
    /// `-E key=value` settings.
    pub overrides: Vec<String>,
    /// `--allow-root`: run as root anyway.
    pub allow_root: bool,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(exit::USAGE),
            };
        }
    };
    let globals = Globals {
        home: bulwark_settings::Home::resolve(cli.home.as_deref()),
        home_flag: cli.home.clone(),
        overrides: cli.setting,
        allow_root: cli.allow_root,
    };
    let result = root::check(globals.allow_root).and_then(|()| match cli.command {
        Command::Start(args) => tools::start::run(&globals, args),
        Command::Keystore(args) => tools::keystore::run(&globals, args),
        Command::Doctor(args) => tools::doctor::run(&globals, args),
        Command::Certutil(args) => tools::certutil::run(&globals, args),
        Command::Users(args) => tools::users::run(&globals, args),
        Command::ServiceTokens(args) => tools::service_tokens::run(&globals, args),
        Command::ResetPassword(args) => tools::reset_password::run(&globals, args),
        Command::CreateEnrollmentToken(args) => tools::create_enrollment_token::run(&globals, args),
        Command::Console(args) => tools::console::run(&globals, args),
    });
    match result {
        Ok(code) => code,
        Err(e) => exit::report(&e),
    }
}
