//! Exit codes as Elasticsearch's tools use them, and the one place errors are printed.

use std::fmt;
use std::process::ExitCode;

pub const USAGE: u8 = 64;
pub const DATA_ERROR: u8 = 65;
/// The named user does not exist.
pub const NO_USER: u8 = 67;
pub const UNAVAILABLE: u8 = 69;
pub const IO_ERROR: u8 = 74;
pub const CONFIG: u8 = 78;

/// An error that ends a tool with a specific exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// An error that exits with `code`.
pub fn fail(code: u8, message: impl Into<String>) -> anyhow::Error {
    Failure { code, message: message.into() }.into()
}

/// The system random number generator failed: nothing was made, exit 74.
pub fn random_failure(e: bulwark_random::RandomError) -> anyhow::Error {
    fail(IO_ERROR, format!("cannot make a secret, key or serial number: {e}"))
}

/// Prints `ERROR: <message>` (one line per context level) and picks the exit code: the code of
/// the first [`Failure`] in the chain, else 1.
pub fn report(e: &anyhow::Error) -> ExitCode {
    let code = e.chain().find_map(|c| c.downcast_ref::<Failure>()).map_or(1, |f| f.code);
    eprintln!("ERROR: {e:#}");
    ExitCode::from(code)
}
