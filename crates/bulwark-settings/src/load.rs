//! Loading settings from a home: the file, then `-E` overrides.

use crate::raw::RawSettings;
use crate::{Home, Settings, SettingsError};

/// What was loaded, and whether `bulwark.yml` existed.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The settings, defaults filled in.
    pub settings: Settings,
    /// Whether `config/bulwark.yml` existed.
    pub file_exists: bool,
}

/// Reads `config/bulwark.yml` (absent = no settings), applies `-E` overrides and validates.
pub fn load(home: &Home, overrides: &[String], hostname: &str) -> Result<Loaded, SettingsError> {
    let path = home.settings_file();
    let (mut raw, file_exists) = match std::fs::read_to_string(&path) {
        Ok(text) => (RawSettings::from_yaml(&text, &path)?, true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (RawSettings::default(), false),
        Err(source) => return Err(SettingsError::Io { path, source }),
    };
    raw.apply_overrides(overrides)?;
    Ok(Loaded { settings: Settings::from_raw(raw, home, hostname)?, file_exists })
}

/// The commented default `bulwark.yml` written on the first start of a fresh home.
pub const DEFAULT_SETTINGS_FILE: &str = "\
# ======================== Bulwark configuration =========================
#
# Settings use Elasticsearch's names, so its documentation applies as written.
# Anything set here can also be given on the command line: bulwark start -E key=value
#
# ---------------------------------- Cluster -----------------------------------
#
#cluster.name: bulwark
#
# ------------------------------------ Node ------------------------------------
#
# Defaults to the host name:
#node.name: node-1
#
# ----------------------------------- Paths ------------------------------------
#
# Relative paths are resolved against the home directory:
#path.data: data
#path.logs: logs
#
# ---------------------------------- Network -----------------------------------
#
#network.host: 192.168.0.1
#http.port: 9200
#
# --------------------------------- Discovery ----------------------------------
#
#discovery.seed_hosts: [\"host1\", \"host2\"]
#
# ---------------------------------- Security ----------------------------------
#
# Security is configured automatically on the first start: TLS certificates, the
# keystore and the `elastic` password. The generated settings are appended below.
# Run `bulwark doctor` at any time to see the node's security state.
#
";
