//! Security decisions: who is asking (authentication) and whether they may (authorization).
//!
//! This crate knows nothing of HTTP, storage or async runtimes. It defines the lookup traits it
//! needs; the node implements them over its store.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

pub mod audit;
pub mod authn;
pub mod authz;
pub mod enrollment;
mod error;

pub use error::SecurityError;
