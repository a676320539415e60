//! First-start security auto-configuration (SPEC §3): decide whether it may run, generate the
//! TLS material and passwords, and apply everything to the home all-or-nothing.

mod apply;
mod block;
mod checks;
mod generate;
mod journal;

pub use apply::{Applied, apply};
pub use checks::{SkipReason, check};
pub use journal::recover;
