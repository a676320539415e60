//! Settings for a Bulwark node and its tools, in Elasticsearch's spelling.
//!
//! Raw YAML and `-E` overrides are flattened to dotted keys with their origin ([`raw`]), then
//! turned into one typed tree ([`Settings`]) in a single validating step. An unknown key or a value
//! of the wrong type is an error naming the setting, the file and the line.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

pub mod console;
mod error;
mod home;
mod load;
pub mod logs;
pub mod network;
pub mod raw;
mod reader;
pub mod secure;
mod settings;
pub mod values;

pub use error::SettingsError;
pub use home::Home;
pub use load::{DEFAULT_SETTINGS_FILE, Loaded, load};
pub use settings::*;

#[cfg(test)]
mod tests;
