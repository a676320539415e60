//! `bulwark console`: the web console of a Bulwark cluster, in Kibana's position — its own home
//! and HTTPS server, enrolled with a token, and a *client* of the node's REST API.
//!
//! Everything the console shows or changes is asked of the node as the logged-in user (with the
//! access token the node's token service issued at login); the service-account token from
//! enrollment is used only to create, refresh and invalidate those tokens and to sample
//! `_nodes/stats`. It never reaches into the
//! node's store or security crates (see docs/architecture.md).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

mod app;
pub mod code;
mod csrf;
pub mod enroll;
pub mod home;
mod monitor;
mod pages;
mod server;
pub mod session;
mod tls;
mod tokens;

use std::path::Path;

pub use enroll::{Enrolled, TokenDecoder, TokenParts};
pub use home::ConsoleHome;
pub use server::{StartOptions, start};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// A setting, file or secret is wrong or missing.
    #[error("{0}")]
    Config(String),
    /// The console keystore could not be read or written.
    #[error("console keystore: {0}")]
    Keystore(String),
    /// A file could not be read or written.
    #[error("cannot access [{path}]: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// Enrollment was refused or failed; the message says which check.
    #[error("enrollment failed: {0}")]
    Enrollment(String),
    /// Enrollment when the console already knows its node.
    #[error("the console is already configured ({0}); enrollment runs only on an unconfigured console")]
    AlreadyConfigured(String),
    /// The listener could not be opened.
    #[error("cannot listen on [{addr}]: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// What the system said.
        source: std::io::Error,
    },
}

impl ConsoleError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> ConsoleError {
        ConsoleError::Io { path: path.display().to_string(), source }
    }
}

impl From<bulwark_settings::SettingsError> for ConsoleError {
    fn from(e: bulwark_settings::SettingsError) -> Self {
        ConsoleError::Config(e.to_string())
    }
}

/// Loads the console's settings from its home with `-E` overrides.
pub fn load_settings(
    home: &ConsoleHome,
    overrides: &[String],
) -> Result<bulwark_settings::console::ConsoleSettings, ConsoleError> {
    Ok(bulwark_settings::console::ConsoleSettings::load(
        &home.settings_file(),
        &home.config_dir(),
        overrides,
    )?)
}

/// `bulwark console setup --enrollment-token T`: enrollment without a browser.
pub async fn setup(
    home: &ConsoleHome,
    overrides: &[String],
    decode: &TokenDecoder,
    token: &str,
) -> Result<Enrolled, ConsoleError> {
    let settings = load_settings(home, overrides)?;
    if settings.has_node() {
        return Err(ConsoleError::AlreadyConfigured(format!(
            "[elasticsearch.hosts] is set in [{}]",
            home.settings_file().display()
        )));
    }
    home.create_dirs()?;
    let enrolled = enroll::enroll(home, decode, token).await?;
    let _ = std::fs::remove_file(home.code_file());
    Ok(enrolled)
}

/// `bulwark console verification-code`: the pending code of an unconfigured, running console.
pub fn verification_code(home: &ConsoleHome) -> Option<String> {
    code::read_pending(&home.code_file())
}

/// Console log lines to standard error (`RUST_LOG` filters; default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
