//! Errors from loading settings: each names the setting, the file and the line.

use std::path::PathBuf;

use crate::raw::Origin;

/// What is wrong with the settings, with the file and line (or `-E`) it comes from.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The settings file cannot be read.
    #[error("cannot read settings file [{}]: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The settings file is not YAML.
    #[error("settings file [{}]{} is not valid YAML: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The line of the error, when known.
        line: Option<u64>,
        /// The parser's message.
        message: String,
    },
    /// One key is given twice.
    #[error("setting [{key}] is set twice: at {first} and at {second}; remove one of them")]
    Duplicate {
        /// The key.
        key: String,
        /// Where it is first set.
        first: Origin,
        /// Where it is set again.
        second: Origin,
    },
    /// A `-E` argument is not `key=value`.
    #[error("-E expects key=value, got [{arg}]")]
    BadOverride {
        /// The argument as given.
        arg: String,
    },
    /// A key no part of Bulwark reads.
    #[error("unknown setting [{key}] at {origin}{}; remove it or fix its name", suggestion.as_ref().map(|s| format!(" (did you mean [{s}]?)")).unwrap_or_default())]
    Unknown {
        /// The key.
        key: String,
        /// Where it is set.
        origin: Origin,
        /// A known key with a similar name.
        suggestion: Option<String>,
    },
    /// A value the setting does not take.
    #[error("invalid value for setting [{key}] at {origin}: {message}")]
    Invalid {
        /// The key.
        key: String,
        /// Where it is set.
        origin: Origin,
        /// What is wrong and what is allowed.
        message: String,
    },
}
