//! The node log: human-readable lines on standard output and JSON lines in `logs/bulwark.json`.
//! Nothing secret is ever passed to the logger.

use std::path::Path;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::NodeError;

/// The JSON log file inside the logs directory.
pub const LOG_FILE: &str = "bulwark.json";

/// Installs the global logger. `RUST_LOG` adjusts the level (default `info`).
pub fn init(logs_dir: &Path) -> Result<(), NodeError> {
    crate::files::create_dir(logs_dir, 0o750)?;
    let path = logs_dir.join(LOG_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(NodeError::io("cannot open the log file", &path))?;
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
                .with_filter(filter()),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_writer(std::sync::Mutex::new(file))
                .with_filter(filter()),
        )
        .try_init();
    Ok(())
}

use tracing_subscriber::Layer as _;
