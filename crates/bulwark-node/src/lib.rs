//! The node: settings, first-start auto-configuration, TLS, the HTTP server, shutdown.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

mod accept;
pub mod admin;
pub mod audit;
pub mod autoconfig;
mod bootstrap;
mod cluster;
mod connection;
mod crl;
pub mod doctor;
pub mod enroll;
pub mod enrollment;
mod error;
pub mod files;
pub mod host;
pub mod indices;
pub mod listening;
pub mod logging;
mod memory;
pub mod reload;
mod rotate;
mod server;
mod start;
pub mod state;
mod timestamp;
mod tls;
mod watched;

pub use error::NodeError;
pub use start::{StartOptions, run};
/// The secret string type of [`StartOptions::enrollment_token`].
pub type SecretToken = secrecy::SecretString;
