//! First-start security auto-configuration (SPEC §3): decide whether it may run, generate the
//! TLS material and passwords, and apply everything to the home all-or-nothing.

mod apply;
pub(crate) mod block;
mod checks;
pub(crate) mod generate;
pub(crate) mod journal;

pub use apply::{Applied, apply, configured_ips};
pub(crate) use apply::{Payload, stamp, write_journaled};
pub use checks::{SkipReason, check};
pub use journal::recover;

/// The SHA-256 fingerprint of `config/certs/http_ca.crt` when `bulwark.yml` holds the
/// auto-configuration block (the CA is then the one auto-configuration made).
pub fn ca_fingerprint(home: &bulwark_settings::Home) -> Option<bulwark_pki::Fingerprint> {
    let yml = std::fs::read_to_string(home.settings_file()).ok()?;
    if !yml.contains(block::BEGIN) {
        return None;
    }
    let pem = std::fs::read(home.certs_dir().join("http_ca.crt")).ok()?;
    let der = bulwark_pki::certs_from_pem(&pem).ok()?.into_iter().next()?;
    Some(bulwark_pki::Fingerprint::of_der(&der))
}
