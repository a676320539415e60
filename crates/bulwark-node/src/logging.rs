//! The node log: human-readable lines on standard output and JSON lines in `logs/bulwark.json`.
//! Nothing secret is ever passed to the logger.

use std::path::Path;

use bulwark_settings::logs::RotationSettings;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::NodeError;
use crate::rotate::{Rotating, RotatingWriter};

/// The JSON log file inside the logs directory.
pub const LOG_FILE: &str = "bulwark.json";
const LOG_STEM: &str = "bulwark";

/// The default filter: INFO, without the consensus library's lines: it dumps its state at every
/// start and logs an error at every heartbeat, vote and read barrier while a peer is down. The
/// store logs what an operator needs instead: each change of leader, an unreachable peer (once a
/// minute), and its own failures.
pub const DEFAULT_FILTER: &str = "info,openraft=off";

/// Installs the global logger. `RUST_LOG` replaces the filter (default [`DEFAULT_FILTER`]); the
/// file rotates by `logger.rotation.*`.
pub fn init(logs_dir: &Path, rotation: RotationSettings) -> Result<(), NodeError> {
    crate::files::create_dir(logs_dir, 0o750)?;
    let file = Rotating::open(logs_dir, LOG_STEM, rotation, 0o640)
        .map_err(NodeError::io("cannot open the log file", &logs_dir.join(LOG_FILE)))?;
    let file = RotatingWriter(file);
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
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
