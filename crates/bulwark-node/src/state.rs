//! Node state kept in the data directory: what first-start auto-configuration did (for
//! `bulwark doctor`) in `data/_state/node.json`, and the built-in users' password hashes in the
//! replicated store. The cluster's identity and membership live in the store (`data/store`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bulwark_security::authn::{
    ApiKeyRecord, NativeUser, PasswordHash, ReservedUserLookup, SecurityLookup, ServiceTokenId, TokenRecord,
};
use bulwark_store::{Command, EntryKind, Store};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::NodeError;
use crate::files::{read_json, write_json};

/// The format of `node.json` this build writes; a newer one is refused.
pub const DATA_FORMAT: u32 = 1;

/// `data/_state/node.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeState {
    /// The file's format version.
    pub format: u32,
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

impl NodeState {
    fn path(data: &Path) -> PathBuf {
        data.join("_state").join("node.json")
    }

    /// Loads the state, or creates it on the first start with the given auto-configuration record.
    pub fn load_or_create(data: &Path, first_start: AutoconfigRecord) -> Result<NodeState, NodeError> {
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
            return Ok(state);
        }
        crate::files::create_dir(data, 0o700)?;
        crate::files::create_dir(&data.join("_state"), 0o700)?;
        let state = NodeState { format: DATA_FORMAT, autoconfiguration: first_start };
        write_json(&path, &state)?;
        Ok(state)
    }

    /// Reads the state without creating it (for `doctor`).
    pub fn read(data: &Path) -> Result<Option<NodeState>, NodeError> {
        read_json(&Self::path(data))
    }
}

/// Security entries of the replicated store, as the security crate looks them up.
pub struct SecurityEntries {
    store: Arc<Store>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ReservedEntry {
    password_hash: String,
    enabled: bool,
}

impl SecurityEntries {
    /// The security entries of `store`.
    pub fn new(store: Arc<Store>) -> SecurityEntries {
        SecurityEntries { store }
    }

    fn typed<T>(&self, kind: EntryKind, id: &str) -> Option<T>
    where
        T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    {
        self.store.get_entry_as(kind, id).ok()?
    }

    fn entry(&self, user: &str) -> Option<ReservedEntry> {
        self.typed(EntryKind::ReservedUser, user)
    }

    /// Whether `user` has a password.
    pub fn has_password(&self, user: &str) -> bool {
        self.entry(user).is_some()
    }

    /// Sets a user's password hash (keeping its enabled flag), through the replicated log.
    pub async fn set_password(&self, user: &str, hash: &PasswordHash) -> Result<(), NodeError> {
        let enabled = self.entry(user).is_none_or(|e| e.enabled);
        let value = json!({ "password_hash": hash.as_str(), "enabled": enabled });
        self.store
            .write(Command::PutEntry { kind: EntryKind::ReservedUser, id: user.to_owned(), value })
            .await
            .map_err(NodeError::store(format!("cannot store the password of [{user}]")))?;
        Ok(())
    }
}

impl ReservedUserLookup for SecurityEntries {
    fn reserved_user(&self, username: &str) -> Option<(PasswordHash, bool)> {
        self.entry(username).map(|e| (PasswordHash::from_stored(e.password_hash), e.enabled))
    }
}

/// A service-account token created through the API, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredServiceToken {
    /// The token's hash (never the token).
    pub hash: String,
    /// Epoch milliseconds.
    pub creation: i64,
}

impl bulwark_security::authz::RoleSource for SecurityEntries {
    fn role(&self, name: &str) -> Option<bulwark_security::authz::RoleDescriptor> {
        self.typed(EntryKind::Role, name)
    }

    fn application_privileges(
        &self,
        application: &str,
    ) -> Vec<bulwark_security::authz::ApplicationPrivilegeDescriptor> {
        let prefix = format!("{application}:");
        self.store
            .entries(EntryKind::ApplicationPrivilege)
            .unwrap_or_default()
            .into_iter()
            .filter(|(id, _)| id.starts_with(&prefix))
            .filter_map(|(_, v)| serde_json::from_value(v).ok())
            .collect()
    }
}

impl SecurityLookup for SecurityEntries {
    fn native_user(&self, username: &str) -> Option<NativeUser> {
        self.typed(EntryKind::User, username)
    }

    fn api_key(&self, id: &str) -> Option<ApiKeyRecord> {
        self.typed(EntryKind::ApiKey, id)
    }

    fn service_token(&self, id: &ServiceTokenId) -> Option<PasswordHash> {
        self.typed::<StoredServiceToken>(EntryKind::ServiceToken, &id.qualified_name())
            .map(|t| PasswordHash::from_stored(t.hash))
    }

    fn role_mappings(&self) -> Vec<(String, serde_json::Value)> {
        self.store.entries(EntryKind::RoleMapping).unwrap_or_default()
    }

    fn access_token(&self, id: &str) -> Option<TokenRecord> {
        self.typed(EntryKind::Token, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_stable_and_newer_format_refused() {
        let dir = tempfile::tempdir().unwrap();
        let rec = AutoconfigRecord { outcome: "configured".into(), reason: None };
        NodeState::load_or_create(dir.path(), rec.clone()).unwrap();
        let again =
            NodeState::load_or_create(dir.path(), AutoconfigRecord { outcome: "x".into(), reason: None })
                .unwrap();
        assert_eq!(again.autoconfiguration, rec);
        write_json(
            &NodeState::path(dir.path()),
            &NodeState { format: DATA_FORMAT + 1, autoconfiguration: rec.clone() },
        )
        .unwrap();
        let e = NodeState::load_or_create(dir.path(), rec).unwrap_err().to_string();
        assert!(
            e.contains(&format!("format {}", DATA_FORMAT + 1))
                && e.contains(&format!("format {DATA_FORMAT}")),
            "{e}"
        );
    }

    #[tokio::test]
    async fn reserved_passwords_live_in_the_store_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), "n1", "127.0.0.1:9300").await.unwrap());
        let users = SecurityEntries::new(store.clone());
        assert!(!users.has_password("elastic"));
        let pw = secrecy::SecretString::from("a-long-password");
        let hash =
            PasswordHash::create(&pw, bulwark_settings::values::PasswordHashing::Bcrypt { cost: 4 }).unwrap();
        users.set_password("elastic", &hash).await.unwrap();
        drop(users);
        let store = Arc::try_unwrap(store).ok().unwrap();
        store.shutdown().await.unwrap();
        let store = Arc::new(Store::open(dir.path(), "n1", "127.0.0.1:9300").await.unwrap());
        let (h, enabled) = SecurityEntries::new(store).reserved_user("elastic").unwrap();
        assert!(enabled && h.verify(&pw));
    }
}
