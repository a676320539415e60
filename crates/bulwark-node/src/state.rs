//! Node state kept in the data directory: the cluster's identity, what first-start
//! auto-configuration did, and (until the replicated store lands) the built-in users' hashes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use bulwark_security::authn::{PasswordHash, ReservedUserLookup};
use serde::{Deserialize, Serialize};

use crate::NodeError;
use crate::files::{read_json, write_json};

/// The data format this build writes; a newer one is refused.
pub const DATA_FORMAT: u32 = 1;

/// `data/_state/node.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeState {
    pub format: u32,
    pub cluster_uuid: String,
    pub node_id: String,
    /// What auto-configuration decided on the first start.
    pub autoconfiguration: AutoconfigRecord,
}

/// The outcome of first-start auto-configuration, for `bulwark doctor`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AutoconfigRecord {
    /// `configured` or `skipped`.
    pub outcome: String,
    /// Why it was skipped.
    pub reason: Option<String>,
}

fn random_id() -> String {
    use base64::Engine;
    let mut b = [0u8; 15];
    let _ = aws_lc_rs::rand::fill(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

impl NodeState {
    fn path(data: &Path) -> PathBuf {
        data.join("_state").join("node.json")
    }

    /// Loads the state, or creates it on the first start with the given auto-configuration record.
    pub fn load_or_create(
        data: &Path,
        first_start: AutoconfigRecord,
    ) -> Result<(NodeState, bool), NodeError> {
        let path = Self::path(data);
        if let Some(state) = read_json::<NodeState>(&path)? {
            if state.format > DATA_FORMAT {
                return Err(NodeError::Config(format!(
                    "the data directory [{}] was written by a newer Bulwark (data format {}); this build reads format {} and older. Start it with the newer version",
                    data.display(),
                    state.format,
                    DATA_FORMAT
                )));
            }
            return Ok((state, false));
        }
        crate::files::create_dir(data, 0o750)?;
        crate::files::create_dir(&data.join("_state"), 0o750)?;
        let state = NodeState {
            format: DATA_FORMAT,
            cluster_uuid: random_id(),
            node_id: random_id(),
            autoconfiguration: first_start,
        };
        write_json(&path, &state)?;
        Ok((state, true))
    }

    /// Reads the state without creating it (for `doctor`).
    pub fn read(data: &Path) -> Result<Option<NodeState>, NodeError> {
        read_json(&Self::path(data))
    }
}

/// A built-in user's stored password.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ReservedEntry {
    password_hash: String,
    enabled: bool,
}

/// Built-in users' password hashes in `data/security/reserved_users.json`.
pub struct ReservedUsers {
    path: PathBuf,
    users: RwLock<BTreeMap<String, ReservedEntry>>,
}

impl ReservedUsers {
    /// Opens (or starts) the file under `data`.
    pub fn open(data: &Path) -> Result<ReservedUsers, NodeError> {
        let dir = data.join("security");
        crate::files::create_dir(&dir, 0o700)?;
        let path = dir.join("reserved_users.json");
        let users = read_json(&path)?.unwrap_or_default();
        Ok(ReservedUsers { path, users: RwLock::new(users) })
    }

    /// Whether `user` has a password.
    pub fn has_password(&self, user: &str) -> bool {
        self.users.read().map(|u| u.contains_key(user)).unwrap_or(false)
    }

    /// Sets a user's password hash (enabled), durably.
    pub fn set_password(&self, user: &str, hash: &PasswordHash) -> Result<(), NodeError> {
        let mut users =
            self.users.write().map_err(|_| NodeError::Config("user table lock poisoned".into()))?;
        let enabled = users.get(user).is_none_or(|e| e.enabled);
        let mut next = users.clone();
        next.insert(user.to_owned(), ReservedEntry { password_hash: hash.as_str().to_owned(), enabled });
        write_json(&self.path, &next)?;
        *users = next;
        Ok(())
    }
}

impl ReservedUserLookup for ReservedUsers {
    fn reserved_user(&self, username: &str) -> Option<(PasswordHash, bool)> {
        let users = self.users.read().ok()?;
        users.get(username).map(|e| (PasswordHash::from_stored(e.password_hash.clone()), e.enabled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_urlsafe_and_distinct() {
        let a = random_id();
        assert_eq!(a.len(), 20);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, random_id());
    }

    #[test]
    fn state_is_stable_and_newer_format_refused() {
        let dir = tempfile::tempdir().unwrap();
        let rec = AutoconfigRecord { outcome: "configured".into(), reason: None };
        let (s1, created) = NodeState::load_or_create(dir.path(), rec.clone()).unwrap();
        assert!(created);
        let (s2, created) = NodeState::load_or_create(dir.path(), rec.clone()).unwrap();
        assert!(!created);
        assert_eq!(s1.cluster_uuid, s2.cluster_uuid);
        let mut newer = s2.clone();
        newer.format = DATA_FORMAT + 1;
        write_json(&NodeState::path(dir.path()), &newer).unwrap();
        let e = NodeState::load_or_create(dir.path(), rec).unwrap_err().to_string();
        assert!(
            e.contains(&format!("format {}", DATA_FORMAT + 1))
                && e.contains(&format!("format {DATA_FORMAT}")),
            "{e}"
        );
    }
}
