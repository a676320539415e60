//! Errors from loading settings: each names the setting, the file and the line.

use std::path::PathBuf;

use crate::raw::Origin;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file [{}]: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("settings file [{}]{} is not valid YAML: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Yaml { path: PathBuf, line: Option<u64>, message: String },
    #[error("setting [{key}] is set twice: at {first} and at {second}; remove one of them")]
    Duplicate { key: String, first: Origin, second: Origin },
    #[error("-E expects key=value, got [{arg}]")]
    BadOverride { arg: String },
    #[error("unknown setting [{key}] at {origin}{}; remove it or fix its name", suggestion.as_ref().map(|s| format!(" (did you mean [{s}]?)")).unwrap_or_default())]
    Unknown { key: String, origin: Origin, suggestion: Option<String> },
    #[error("invalid value for setting [{key}] at {origin}: {message}")]
    Invalid { key: String, origin: Origin, message: String },
}
