//! Applying auto-configuration to the home.

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;

use bulwark_keystore::{Keystore, crash_point};
use bulwark_pki::Fingerprint;
use bulwark_settings::{Home, Settings};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::block;
use super::generate::Material;
use super::journal::{self, Journal};
use crate::NodeError;

/// What a successful run produced.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The fingerprint of the HTTP CA made (for the banner and the console token).
    pub http_ca_fingerprint: Fingerprint,
}

/// Generates and writes everything, or leaves the home exactly as it was.
pub fn apply(
    home: &Home,
    settings: &Settings,
    keystore: Option<Keystore>,
    keystore_password: &SecretString,
    hostname: &str,
    addrs: &[IpAddr],
) -> Result<Applied, NodeError> {
    let mut addrs = addrs.to_vec();
    addrs.extend(configured_ips(settings));
    let material = Material::generate(&settings.node_name, hostname, &addrs, settings.http.port)?;
    let payload = Payload {
        files: material.files()?,
        entries: material.keystore_entries().iter().map(|(n, v)| (*n, (*v).clone())).collect(),
        block: block::render(settings, &stamp()),
    };
    let mut journal = journal::begin(home)?;
    crash_point("autoconfig.journal-written");
    match write_all(home, keystore, keystore_password, &payload, &mut journal) {
        Ok(()) => {
            crash_point("autoconfig.before-commit");
            journal::commit(home)?;
            Ok(Applied { http_ca_fingerprint: material.http_ca.fingerprint() })
        }
        Err((step, e)) => {
            let rollback = journal::rollback(home, &journal);
            let mut message = e.to_string();
            if let Err(r) = &rollback {
                message.push_str(&format!("; rolling back also failed: {r}"));
            }
            Err(NodeError::AutoConfig { step, message, restored: rollback.is_ok() })
        }
    }
}

/// The addresses the settings bind or publish to (`network.host`, `http.host`,
/// `transport.host`, and their `*.publish_host`), so the certificates name them; wildcards and
/// names that do not resolve add nothing (a publish host that does not resolve stops the start:
/// see `cluster::publish_address`).
pub fn configured_ips(settings: &Settings) -> Vec<IpAddr> {
    [
        settings.network_host.as_deref(),
        settings.http.host.as_deref(),
        settings.transport.host.as_deref(),
        settings.network_publish_host.as_deref(),
        settings.http.publish_host.as_deref(),
        settings.transport.publish_host.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter_map(|h| crate::server::resolve_host(h, 0).ok())
    .map(|a| a.ip())
    .filter(|ip| !ip.is_unspecified())
    .collect()
}

/// What a home receives: `config/certs` files, keystore entries, the settings block.
pub struct Payload {
    pub files: Vec<super::generate::CertFile>,
    pub entries: Vec<(&'static str, SecretString)>,
    pub block: String,
}

/// `dd-MM-yyyy HH:mm:ss` (UTC) now, as the block is dated.
pub fn stamp() -> String {
    let when = time::OffsetDateTime::now_utc();
    format!(
        "{:02}-{:02}-{} {:02}:{:02}:{:02}",
        when.day(),
        u8::from(when.month()),
        when.year(),
        when.hour(),
        when.minute(),
        when.second()
    )
}

/// Writes `payload` under a journal that stays open: the caller commits it once what depends on
/// the files worked (an enrolled node has joined), or rolls it back. On an error the home is
/// rolled back before this returns.
pub fn write_journaled(
    home: &Home,
    keystore: Option<Keystore>,
    keystore_password: &SecretString,
    payload: &Payload,
) -> Result<Journal, NodeError> {
    let mut journal = journal::begin(home)?;
    match write_all(home, keystore, keystore_password, payload, &mut journal) {
        Ok(()) => Ok(journal),
        Err((step, e)) => {
            let rollback = journal::rollback(home, &journal);
            Err(NodeError::AutoConfig { step, message: e.to_string(), restored: rollback.is_ok() })
        }
    }
}

fn write_all(
    home: &Home,
    keystore: Option<Keystore>,
    keystore_password: &SecretString,
    payload: &Payload,
    journal: &mut Journal,
) -> Result<(), (&'static str, NodeError)> {
    let step = |s: &'static str| move |e: NodeError| (s, e);
    // 1. Certificates into a temporary directory, then into place.
    let tmp = journal::certs_tmp(home);
    crate::files::create_dir(&tmp, 0o750).map_err(step("creating the certificates directory"))?;
    for f in &payload.files {
        let path = tmp.join(f.name);
        let r = if f.private {
            bulwark_pki::write_private_file(&path, &f.bytes)
        } else {
            bulwark_pki::write_public_file(&path, &f.bytes)
        };
        r.map_err(|e| ("writing certificates", e.into()))?;
    }
    crash_point("autoconfig.certs-written");
    let certs = home.certs_dir();
    if certs.exists() {
        let secs =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let moved = home.config_dir().join(format!("certs.{secs}.orig"));
        std::fs::rename(&certs, &moved)
            .map_err(|e| ("moving the old certificates aside", NodeError::io("cannot move", &certs)(e)))?;
        journal.moved_certs = Some(moved);
        journal::record(home, journal).map_err(step("recording progress"))?;
    }
    std::fs::rename(&tmp, &certs)
        .map_err(|e| ("installing certificates", NodeError::io("cannot rename", &tmp)(e)))?;
    crash_point("autoconfig.certs-installed");
    // 2. Passwords into the keystore.
    let mut ks = match keystore {
        Some(ks) => ks,
        None => Keystore::new().map_err(|e| ("creating the keystore", e.into()))?,
    };
    for (name, value) in &payload.entries {
        ks.set(name, Zeroizing::new(value.expose_secret().as_bytes().to_vec()))
            .map_err(|e| ("updating the keystore", e.into()))?;
    }
    ks.save(&home.keystore_file(), keystore_password).map_err(|e| ("saving the keystore", e.into()))?;
    crash_point("autoconfig.keystore-saved");
    // 3. The settings block, appended to the file as it was, byte for byte.
    let yml = home.settings_file();
    let mut text =
        std::fs::read(&yml).map_err(|e| ("reading settings", NodeError::io("cannot read", &yml)(e)))?;
    let mode = std::fs::metadata(&yml).map(|m| m.permissions().mode() & 0o777).unwrap_or(0o640);
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    text.push(b'\n');
    text.extend_from_slice(payload.block.as_bytes());
    bulwark_pki::write_atomic(&yml, &text, mode).map_err(|e| ("writing settings", e.into()))?;
    Ok(())
}
