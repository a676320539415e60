//! The audit log's keyed chain. Every line is a JSON object ending in three fields:
//! `audit.sequence` (1, 2, 3, ... across rotated files), `audit.prev_mac` (the previous line's MAC,
//! 64 zeros for the first line ever) and `audit.mac`, the HMAC-SHA256 under the keystore's
//! [`AUDIT_CHAIN_KEY`](bulwark_settings::secure::AUDIT_CHAIN_KEY) of the line's bytes up to
//! `,"audit.mac"` with a closing `}`. Without the key nobody can recompute a MAC, so an edited line,
//! or a chain recomputed with a plain hash, fails verification.
//!
//! The tail anchor, `data/audit.anchor` (mode 0600, written atomically, MACed with the same key),
//! holds the last sequence number and MAC written, so truncating, emptying or deleting the log is
//! detected too.

use std::path::Path;

use aws_lc_rs::hmac;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The previous MAC of the first line ever.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The anchor file inside the data directory.
pub const ANCHOR_FILE: &str = "audit.anchor";
const MAC_FIELD: &str = ",\"audit.mac\":\"";

/// The chain key (from the keystore).
pub struct ChainKey(hmac::Key);

impl ChainKey {
    /// The key of HMAC-SHA256 over `bytes`.
    pub fn new(bytes: &[u8]) -> ChainKey {
        ChainKey(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    fn mac(&self, data: &[u8]) -> Mac {
        let mut hex = [0; 64];
        // 32 bytes always fill 64 hex digits.
        let _ = hex::encode_to_slice(hmac::sign(&self.0, data).as_ref(), &mut hex);
        Mac(hex)
    }

    fn verify(&self, data: &[u8], mac_hex: &str) -> bool {
        let Ok(tag) = hex::decode(mac_hex) else { return false };
        hmac::verify(&self.0, data, &tag).is_ok()
    }
}

/// A MAC in lowercase hex, as lines and the anchor carry it.
pub struct Mac([u8; 64]);

impl Mac {
    /// The 64 hex digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// One line's place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The line's number in the chain (from 1).
    pub sequence: u64,
    /// The MAC of the line before.
    pub prev_mac: String,
    /// This line's MAC (over the line and `prev_mac`).
    pub mac: String,
}

/// Seals `line` — a JSON object's opening brace and fields, not yet closed — as line
/// `sequence` after `prev_mac`: completes it with the chain's fields and returns its MAC.
pub fn seal(key: &ChainKey, line: &mut Vec<u8>, sequence: u64, prev_mac: &str) -> Mac {
    if line.len() > 1 {
        line.push(b',');
    }
    line.extend_from_slice(b"\"audit.sequence\":");
    let _ = serde_json::to_writer(&mut *line, &sequence);
    line.extend_from_slice(b",\"audit.prev_mac\":");
    // A MAC is hex: nothing to escape, but it is written as any string would be.
    let _ = serde_json::to_writer(&mut *line, prev_mac);
    line.push(b'}');
    let mac = key.mac(line);
    line.pop();
    line.extend_from_slice(MAC_FIELD.as_bytes());
    line.extend_from_slice(&mac.0);
    line.extend_from_slice(b"\"}");
    mac
}

/// Reads a line's link; with `key`, also checks its MAC. `Err` says what is wrong.
pub fn unseal(key: Option<&ChainKey>, line: &[u8]) -> Result<Link, String> {
    let at = line
        .windows(MAC_FIELD.len())
        .rposition(|w| w == MAC_FIELD.as_bytes())
        .ok_or("it carries no audit.mac: it is not a line the node wrote")?;
    let (body, tail) = line.split_at(at);
    let mac = std::str::from_utf8(&tail[MAC_FIELD.len()..])
        .ok()
        .and_then(|t| t.strip_suffix("\"}"))
        .filter(|m| m.len() == 64 && m.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or("its audit.mac is malformed")?
        .to_owned();
    let mut signed = body.to_vec();
    signed.push(b'}');
    if let Some(key) = key
        && !key.verify(&signed, &mac)
    {
        return Err(
            "its MAC does not match: the line was edited, or the chain recomputed without the key".into()
        );
    }
    let v: Value = serde_json::from_slice(&signed).map_err(|e| format!("it is not JSON: {e}"))?;
    let sequence = v.get("audit.sequence").and_then(Value::as_u64).ok_or("it has no audit.sequence")?;
    let prev_mac = v.get("audit.prev_mac").and_then(Value::as_str).ok_or("it has no audit.prev_mac")?;
    Ok(Link { sequence, prev_mac: prev_mac.to_owned(), mac })
}

/// The tail anchor: how far the chain got, kept outside the log files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// The last sequence number written (0: none yet).
    pub sequence: u64,
    /// Its MAC ([`GENESIS`] when none).
    pub mac: String,
    /// The file that held it when the anchor was written.
    pub file: String,
    /// The oldest sequence number retention keeps (older rotated files were deleted on purpose).
    pub first_sequence: u64,
    /// Set when the node found the log inconsistent with the anchor at a start; kept until the
    /// operator moves the log and the anchor aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken: Option<String>,
}

impl Anchor {
    /// The anchor of a chain with no line yet, in `file`.
    pub fn empty(file: &str) -> Anchor {
        Anchor { sequence: 0, mac: GENESIS.into(), file: file.into(), first_sequence: 1, broken: None }
    }

    /// Writes the anchor atomically (mode 0600), with its MAC.
    pub fn write(&self, path: &Path, key: &ChainKey) -> Result<(), String> {
        let body = serde_json::to_vec(self).map_err(|e| e.to_string())?;
        let file = serde_json::json!({ "anchor": self, "mac": key.mac(&body).as_str() });
        bulwark_pki::write_atomic(path, file.to_string().as_bytes(), 0o600).map_err(|e| e.to_string())
    }

    /// Reads the anchor: `Ok(None)` when there is none, `Err` when it is unreadable or altered.
    pub fn read(path: &Path, key: &ChainKey) -> Result<Option<Anchor>, String> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("[{}] cannot be read: {e}", path.display())),
        };
        let altered = || format!("[{}] was altered: its MAC does not match", path.display());
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| altered())?;
        let anchor: Anchor = serde_json::from_value(v["anchor"].clone()).map_err(|_| altered())?;
        let body = serde_json::to_vec(&anchor).map_err(|_| altered())?;
        match v["mac"].as_str() {
            Some(mac) if key.verify(&body, mac) => Ok(Some(anchor)),
            _ => Err(altered()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_lines_unseal_only_under_their_key() {
        let key = ChainKey::new(b"k1");
        let mut line = br#"{"user.name":"elastic""#.to_vec();
        let mac = seal(&key, &mut line, 7, GENESIS);
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["audit.sequence"], 7);
        assert_eq!(v["audit.mac"], mac.as_str());
        let link = Link { sequence: 7, prev_mac: GENESIS.into(), mac: mac.as_str().into() };
        assert_eq!(unseal(Some(&key), &line), Ok(link.clone()));
        assert!(unseal(Some(&ChainKey::new(b"k2")), &line).unwrap_err().contains("MAC does not match"));
        let edited = String::from_utf8(line).unwrap().replace("elastic", "someone");
        assert!(unseal(Some(&key), edited.as_bytes()).is_err());
        assert!(unseal(None, edited.as_bytes()).is_ok(), "without the key only the shape is read");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ANCHOR_FILE);
        let anchor = Anchor { sequence: 7, mac: link.mac, ..Anchor::empty("audit.json") };
        anchor.write(&path, &key).unwrap();
        assert_eq!(Anchor::read(&path, &key), Ok(Some(anchor)));
        let text = std::fs::read_to_string(&path).unwrap().replace("\"sequence\":7", "\"sequence\":3");
        std::fs::write(&path, text).unwrap();
        assert!(Anchor::read(&path, &key).unwrap_err().contains("altered"));
    }
}
