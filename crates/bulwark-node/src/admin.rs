//! Administration of a stopped node's home: the tools change what the node keeps in its store
//! while no node runs, so that `bulwark reset-password` works on a stopped node too.
//!
//! [`OfflineSecurity::open`] takes the store's lock (the files a running node holds): it fails
//! with [`AdminError::Running`] when a node runs from the home, which is how the tool tells the
//! two cases apart without racing a node that starts or stops. Changes are written exactly as the
//! REST API writes them, through the store's log, and are seen by the node at its next start.

use std::path::{Path, PathBuf};

use bulwark_security::authn::{PasswordHash, RESERVED_USERS, is_reserved_username};
use bulwark_settings::Settings;
use bulwark_store::{Command, EntryKind, Store, StoreError};
use serde_json::{Value, json};

/// What an offline change can run into.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A node holds the store: the change has to go through its API.
    #[error("a node is running from this home (its store [{}] is in use)", path.display())]
    Running {
        /// The store directory.
        path: PathBuf,
    },
    /// No node ever started from this home: there is no store to change.
    #[error(
        "no node has been started from this home yet (there is no store in [{}]); start the node \
         once (`bulwark start`): the first start sets the elastic user's password and shows it",
        path.display()
    )]
    NeverStarted {
        /// The store directory.
        path: PathBuf,
    },
    /// The store belongs to a cluster of several nodes and this one cannot decide alone.
    #[error(
        "this node's store belongs to a cluster of {members} nodes, so it cannot be changed while \
         the node is stopped; start the cluster and run the command again while it runs"
    )]
    NotSingleNode {
        /// Members of its cluster.
        members: usize,
    },
    /// Neither a built-in user nor a native user of that name exists.
    #[error("user [{0}] does not exist: it is neither a built-in user nor a native user")]
    UnknownUser(String),
    /// An internal user: it has no password that anyone could use.
    #[error("user [{0}] is internal and has no password")]
    InternalUser(String),
    /// The store failed (damaged, unreadable...).
    #[error("the store in [{}] failed: {detail}", path.display())]
    Store {
        /// The store directory.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
}

/// The kind of user a name designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserKind {
    /// A built-in user (`elastic`, `kibana_system`, ...); it exists whether or not a password was
    /// ever stored for it.
    BuiltIn,
    /// A user created through the user API.
    Native,
}

/// A stopped node's store, opened (and locked) for changes. Close it with [`close`](Self::close).
pub struct OfflineSecurity {
    runtime: tokio::runtime::Runtime,
    store: Option<Store>,
    dir: PathBuf,
}

/// Whether `username` is a built-in user (one whose password can be reset).
pub fn is_builtin_user(username: &str) -> bool {
    RESERVED_USERS.iter().any(|(u, _)| *u == username)
}

/// `<path.data>/store`.
pub fn store_dir(settings: &Settings) -> PathBuf {
    settings.path_data.join("store")
}

/// The name and transport address the node records in the store's membership, computed as the
/// node does, so that opening the store does not change them.
fn member(settings: &Settings) -> (String, String) {
    let host = settings.transport.host.as_deref().or(settings.network_host.as_deref()).unwrap_or("127.0.0.1");
    (settings.node_name.clone(), format!("{host}:{}", settings.transport.port))
}

fn has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

impl OfflineSecurity {
    /// Opens the store of the node the settings describe. Fails with [`AdminError::Running`]
    /// when a node holds it and with [`AdminError::NeverStarted`] when there is none yet (a
    /// store is never created here: that would make the first start skip auto-configuration).
    pub fn open(settings: &Settings) -> Result<OfflineSecurity, AdminError> {
        let dir = store_dir(settings);
        if !has_files(&dir) {
            return Err(AdminError::NeverStarted { path: dir });
        }
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(
                |e| AdminError::Store { path: dir.clone(), detail: format!("cannot start a runtime: {e}") },
            )?;
        let (name, address) = member(settings);
        let opened = runtime.block_on(Store::open(&dir, &name, &address));
        let store = match opened {
            Ok(store) => store,
            Err(StoreError::Locked { .. }) => return Err(AdminError::Running { path: dir }),
            Err(e) => return Err(AdminError::Store { path: dir, detail: e.to_string() }),
        };
        let this = OfflineSecurity { runtime, store: Some(store), dir };
        let store = this.store();
        if store.leader() != Some(store.node_id()) {
            let members = store.members().len();
            this.close()?;
            return Err(AdminError::NotSingleNode { members });
        }
        Ok(this)
    }

    #[allow(clippy::expect_used, reason = "the store is taken only by close(), which consumes self")]
    fn store(&self) -> &Store {
        self.store.as_ref().expect("the store is open until closed")
    }

    fn failed(&self, e: impl std::fmt::Display) -> AdminError {
        AdminError::Store { path: self.dir.clone(), detail: e.to_string() }
    }

    /// Which kind of user `username` is; unknown and internal users are errors.
    pub fn user_kind(&self, username: &str) -> Result<UserKind, AdminError> {
        if is_builtin_user(username) {
            return Ok(UserKind::BuiltIn);
        }
        if is_reserved_username(username) {
            return Err(AdminError::InternalUser(username.to_owned()));
        }
        match self.store().get_entry(EntryKind::User, username).map_err(|e| self.failed(e))? {
            Some(_) => Ok(UserKind::Native),
            None => Err(AdminError::UnknownUser(username.to_owned())),
        }
    }

    /// Sets the password hash of a built-in user (keeping its enabled flag; a user without a
    /// stored entry gets one, enabled) or of a native user (keeping the rest of its record), as
    /// the `_password` API does.
    pub fn set_password(&self, username: &str, hash: &PasswordHash) -> Result<(), AdminError> {
        let store = self.store();
        let (kind, value) = match self.user_kind(username)? {
            UserKind::BuiltIn => {
                let enabled = store
                    .get_entry(EntryKind::ReservedUser, username)
                    .map_err(|e| self.failed(e))?
                    .and_then(|v| v.get("enabled").and_then(Value::as_bool))
                    .unwrap_or(true);
                (EntryKind::ReservedUser, json!({ "password_hash": hash.as_str(), "enabled": enabled }))
            }
            UserKind::Native => {
                let mut record = store
                    .get_entry(EntryKind::User, username)
                    .map_err(|e| self.failed(e))?
                    .ok_or_else(|| AdminError::UnknownUser(username.to_owned()))?;
                let Some(fields) = record.as_object_mut() else {
                    return Err(self.failed(format!("the record of user [{username}] is not an object")));
                };
                fields.insert("password_hash".to_owned(), Value::String(hash.as_str().to_owned()));
                (EntryKind::User, record)
            }
        };
        let cmd = Command::PutEntry { kind, id: username.to_owned(), value };
        self.runtime.block_on(store.write(cmd)).map_err(|e| self.failed(e))?;
        Ok(())
    }

    /// Shuts the store down and releases its files.
    #[allow(clippy::expect_used, reason = "the store is taken only here, once")]
    pub fn close(mut self) -> Result<(), AdminError> {
        let store = self.store.take().expect("the store is open until closed");
        let result = self.runtime.block_on(store.shutdown());
        result.map_err(|e| self.failed(e))
    }
}

impl Drop for OfflineSecurity {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            let _ = self.runtime.block_on(store.shutdown());
        }
    }
}

/// Opens the store, sets `username`'s password hash and closes the store.
pub fn set_password_offline(
    settings: &Settings,
    username: &str,
    hash: &PasswordHash,
) -> Result<(), AdminError> {
    let offline = OfflineSecurity::open(settings)?;
    let result = offline.set_password(username, hash);
    let closed = offline.close();
    result.and(closed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_settings::values::PasswordHashing;
    use secrecy::SecretString;

    fn settings(home: &Path) -> Settings {
        let home = bulwark_settings::Home::resolve_with(Some(home), None, None);
        bulwark_settings::load(&home, &["node.name=n1".to_owned()], "host").unwrap().settings
    }

    #[test]
    fn changes_a_stopped_store_and_refuses_a_held_one() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path());
        assert!(matches!(OfflineSecurity::open(&s), Err(AdminError::NeverStarted { .. })));
        assert!(!store_dir(&s).exists(), "no store is created");

        let rt = tokio::runtime::Runtime::new().unwrap();
        let (name, address) = member(&s);
        let store = rt.block_on(Store::open(&store_dir(&s), &name, &address)).unwrap();
        let user =
            json!({ "password_hash": "x", "roles": ["r"], "full_name": "F", "enabled": false, "extra": 1 });
        rt.block_on(store.write(Command::PutEntry { kind: EntryKind::User, id: "bob".into(), value: user }))
            .unwrap();
        let off = json!({ "password_hash": "y", "enabled": false });
        rt.block_on(store.write(Command::PutEntry {
            kind: EntryKind::ReservedUser,
            id: "kibana_system".into(),
            value: off,
        }))
        .unwrap();
        assert!(matches!(OfflineSecurity::open(&s), Err(AdminError::Running { .. })));
        rt.block_on(store.shutdown()).unwrap();

        let pw = SecretString::from("a-new-long-password");
        let hash = PasswordHash::create(&pw, PasswordHashing::Bcrypt { cost: 4 }).unwrap();
        let off = OfflineSecurity::open(&s).unwrap();
        assert_eq!(off.user_kind("elastic").unwrap(), UserKind::BuiltIn);
        assert_eq!(off.user_kind("bob").unwrap(), UserKind::Native);
        assert!(matches!(off.user_kind("nobody"), Err(AdminError::UnknownUser(_))));
        assert!(matches!(off.user_kind("_system"), Err(AdminError::InternalUser(_))));
        assert!(matches!(off.set_password("nobody", &hash), Err(AdminError::UnknownUser(_))));
        off.close().unwrap();
        for user in ["elastic", "kibana_system", "bob"] {
            set_password_offline(&s, user, &hash).unwrap();
        }

        let store = rt.block_on(Store::open(&store_dir(&s), &name, &address)).unwrap();
        let elastic = store.get_entry(EntryKind::ReservedUser, "elastic").unwrap().unwrap();
        assert_eq!(elastic, json!({ "password_hash": hash.as_str(), "enabled": true }));
        let kibana = store.get_entry(EntryKind::ReservedUser, "kibana_system").unwrap().unwrap();
        assert_eq!(kibana, json!({ "password_hash": hash.as_str(), "enabled": false }));
        let bob = store.get_entry(EntryKind::User, "bob").unwrap().unwrap();
        assert_eq!(
            bob,
            json!({ "password_hash": hash.as_str(), "roles": ["r"], "full_name": "F", "enabled": false, "extra": 1 })
        );
        assert!(store.get_entry(EntryKind::User, "nobody").unwrap().is_none());
        rt.block_on(store.shutdown()).unwrap();
    }
}
