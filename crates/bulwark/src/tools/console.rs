//! `bulwark console start|setup|verification-code`: the web console (Kibana's role) with its own
//! home (`--home`, `$BULWARK_CONSOLE_HOME`, `./bulwark-console-home`).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use bulwark_console::{ConsoleError, ConsoleHome, TokenDecoder, TokenParts};
use bulwark_security::enrollment::EnrollmentToken;

use crate::{Globals, exit};

#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    #[command(subcommand)]
    command: ConsoleCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ConsoleCommand {
    /// Run the console (unconfigured, it prints a setup link with a verification code).
    Start,
    /// Connect the console to a cluster with an enrollment token, without a browser.
    Setup {
        /// The token from `bulwark create-enrollment-token -s kibana` or the node's first start.
        #[arg(long = "enrollment-token", short = 't', value_name = "TOKEN")]
        enrollment_token: String,
    },
    /// Print the verification code of a running, unconfigured console.
    VerificationCode,
}

/// The security crate's one token codec, handed to the console (which does not depend on it).
fn decoder() -> TokenDecoder {
    Arc::new(|text: &str| {
        let t = EnrollmentToken::decode(text).map_err(|e| e.to_string())?;
        Ok(TokenParts { addresses: t.adr.clone(), fingerprint: t.fgr, api_key: t.api_key() })
    })
}

fn code_of(e: &ConsoleError) -> u8 {
    match e {
        ConsoleError::Config(_) | ConsoleError::AlreadyConfigured(_) => exit::CONFIG,
        ConsoleError::Keystore(_) => exit::DATA_ERROR,
        ConsoleError::Io { .. } => exit::IO_ERROR,
        ConsoleError::Bind { .. } | ConsoleError::Enrollment(_) => exit::UNAVAILABLE,
    }
}

pub fn run(globals: &Globals, args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    let home = ConsoleHome::resolve(globals.home_flag.as_deref());
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")
    };
    match args.command {
        ConsoleCommand::Start => {
            bulwark_console::init_logging();
            let opts = bulwark_console::StartOptions {
                home,
                overrides: globals.overrides.clone(),
                decoder: decoder(),
            };
            runtime()?
                .block_on(bulwark_console::start(opts))
                .map_err(|e| exit::fail(code_of(&e), e.to_string()))
                .context("the console could not start")?;
            Ok(ExitCode::SUCCESS)
        }
        ConsoleCommand::Setup { enrollment_token } => {
            let enrolled = runtime()?
                .block_on(bulwark_console::setup(&home, &globals.overrides, &decoder(), &enrollment_token))
                .map_err(|e| exit::fail(code_of(&e), e.to_string()))?;
            println!(
                "The console is connected to {} and configured in [{}]. Start it with `bulwark console start`.",
                enrolled.host,
                home.settings_file().display()
            );
            Ok(ExitCode::SUCCESS)
        }
        ConsoleCommand::VerificationCode => match bulwark_console::verification_code(&home) {
            Some(code) => {
                println!("Your verification code is: {} {}", &code[..3], &code[3..]);
                Ok(ExitCode::SUCCESS)
            }
            None => Err(exit::fail(
                exit::UNAVAILABLE,
                format!(
                    "no verification code: the console at [{}] is not running, or is already configured",
                    home.root().display()
                ),
            )),
        },
    }
}
