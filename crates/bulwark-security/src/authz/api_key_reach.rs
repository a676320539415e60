//! Which API keys a caller reaches once a key-management action is authorised, and which keys
//! an API key may create: the rules Elasticsearch applies on top of the cluster privileges.
//!
//! A caller granted the action by any cluster privilege other than `manage_own_api_key`
//! (`manage_api_key`, `manage_security`, `all`, ...) reaches every key. A user holding only
//! `manage_own_api_key` reaches its own keys (others are filtered out of get, query and
//! invalidate rather than refused); an API key holding only `manage_own_api_key` reaches only
//! itself and may name nothing else.

use serde_json::{Map, Value};

use super::decision::{Authorizer, denied_subject};
use super::privilege::{ClusterGrant, ClusterPrivilege, cluster_privileges_granting};
use super::{Action, Role};
use crate::SecurityError;
use crate::authn::Authentication;

/// Which keys a caller reaches for one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyReach {
    /// Every key.
    All,
    /// The keys of the caller's owner (a user holding only `manage_own_api_key`).
    OwnKeys,
    /// Only the calling key itself, by id (Elasticsearch: a key owns no other key, not even its
    /// siblings).
    Itself(String),
}

/// Whether a role grants `action` through a privilege other than `manage_own_api_key`.
fn grants_beyond_own(role: &Role, action: Action) -> bool {
    role.cluster
        .iter()
        .any(|g| *g != ClusterGrant::Named(ClusterPrivilege::ManageOwnApiKey) && g.grants(action.name()))
}

impl Authorizer {
    /// The keys `authn` reaches for `action`: all of them when every limit it acts under grants
    /// the action beyond `manage_own_api_key`.
    pub fn api_key_reach(&self, authn: &Authentication, action: Action) -> KeyReach {
        if self.granted(authn, |r| grants_beyond_own(r, action)) {
            return KeyReach::All;
        }
        match &authn.api_key {
            Some(k) => KeyReach::Itself(k.id.clone()),
            None => KeyReach::OwnKeys,
        }
    }
}

/// A key that reaches only itself may name only itself, by id (`ids` empty or absent: a
/// request by name, user or realm); anything else is denied as Elasticsearch denies it.
pub fn check_only_itself(
    authn: &Authentication,
    action: Action,
    ids: Option<&[String]>,
) -> Result<(), SecurityError> {
    let Some(k) = &authn.api_key else { return Ok(()) };
    if ids.is_some_and(|ids| !ids.is_empty() && ids.iter().all(|i| *i == k.id)) {
        return Ok(());
    }
    Err(beyond_itself(authn, action))
}

/// Elasticsearch's refusal of a request by an API key that reaches only itself and asked for
/// more (other keys, its owner's keys, or the descriptors it is limited by).
pub fn beyond_itself(authn: &Authentication, action: Action) -> SecurityError {
    SecurityError::Forbidden(format!(
        "action [{}] is unauthorized for API key id [{}] of user [{}], this action is granted by the cluster privileges [{}]",
        action.name(),
        authn.api_key.as_ref().map_or("", |k| k.id.as_str()),
        authn.user.username,
        granting_beyond_own(action).join(",")
    ))
}

/// The cluster privileges that grant `action` on keys of others.
fn granting_beyond_own(action: Action) -> Vec<&'static str> {
    cluster_privileges_granting(action.name())
        .into_iter()
        .filter(|p| *p != ClusterPrivilege::ManageOwnApiKey.name())
        .collect()
}

/// Elasticsearch's refusal of a request `manage_own_api_key` does not cover (an invalidation
/// that neither sets `owner` nor names the caller's own user and realm): the privileges named
/// are those that would grant it.
pub fn beyond_own_keys(authn: &Authentication, action: Action) -> SecurityError {
    SecurityError::Forbidden(format!(
        "action [{}] is unauthorized for {}, this action is granted by the cluster privileges [{}]",
        action.name(),
        denied_subject(authn),
        granting_beyond_own(action).join(",")
    ))
}

/// Whether `authn` may create a key with these role descriptors: a user may; an API key may
/// create only keys with at least one descriptor, every one of them empty.
pub fn may_create_key(authn: &Authentication, role_descriptors: &Map<String, Value>) -> bool {
    authn.api_key.is_none()
        || (!role_descriptors.is_empty() && !role_descriptors.values().any(grants_anything))
}

/// Whether a stored role descriptor grants anything.
fn grants_anything(d: &Value) -> bool {
    ["cluster", "indices", "applications", "run_as", "remote_indices", "remote_cluster"]
        .iter()
        .any(|f| d.get(*f).and_then(Value::as_array).is_some_and(|a| !a.is_empty()))
        || d.get("global").is_some_and(|g| g.as_object().is_some_and(|o| !o.is_empty()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::authn::{ApiKeyInfo, RealmRef, User};
    use crate::authz::{RoleDescriptor, RoleSource};

    struct Roles;
    impl RoleSource for Roles {
        fn role(&self, name: &str) -> Option<RoleDescriptor> {
            let cluster: &[&str] = match name {
                "own" => &["manage_own_api_key"],
                "keys" => &["manage_api_key"],
                "both" => &["manage_own_api_key", "manage_api_key"],
                "monitor" => &["monitor"],
                _ => return None,
            };
            Some(RoleDescriptor {
                cluster: cluster.iter().map(|c| (*c).to_owned()).collect(),
                ..Default::default()
            })
        }
    }

    fn user(roles: &[&str]) -> Authentication {
        let user = User {
            username: "u".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            full_name: None,
            email: None,
            enabled: true,
        };
        Authentication::realm(user, RealmRef::FILE)
    }

    fn key(roles: &[&str], descriptors: Value) -> Authentication {
        let mut a = user(&[]);
        a.api_key = Some(ApiKeyInfo {
            id: "kid".into(),
            name: "k".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            descriptors: descriptors.as_object().cloned().unwrap_or_default(),
            limited_by: None,
        });
        a
    }

    #[test]
    fn only_manage_own_api_key_is_bounded() {
        let authz = Authorizer::new(Arc::new(Roles));
        for roles in [&["superuser"][..], &["keys"], &["both"], &["own", "keys"]] {
            assert_eq!(authz.api_key_reach(&user(roles), Action::GetApiKey), KeyReach::All, "{roles:?}");
        }
        assert_eq!(authz.api_key_reach(&user(&["own"]), Action::InvalidateApiKey), KeyReach::OwnKeys);
        assert_eq!(authz.api_key_reach(&user(&["monitor"]), Action::GetApiKey), KeyReach::OwnKeys);
        assert_eq!(authz.api_key_reach(&key(&["keys"], json!({})), Action::GetApiKey), KeyReach::All);
        assert_eq!(
            authz.api_key_reach(&key(&["own"], json!({})), Action::GetApiKey),
            KeyReach::Itself("kid".into())
        );
        // The key's own descriptors bound its owner's roles.
        let narrowed = key(&["keys"], json!({ "r": { "cluster": ["manage_own_api_key"] } }));
        assert_eq!(authz.api_key_reach(&narrowed, Action::QueryApiKey), KeyReach::Itself("kid".into()));
    }

    #[test]
    fn a_key_names_only_itself() {
        let k = key(&["own"], json!({}));
        let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(check_only_itself(&k, Action::GetApiKey, Some(&ids(&["kid"]))).is_ok());
        assert!(check_only_itself(&k, Action::GetApiKey, Some(&ids(&["kid", "other"]))).is_err());
        assert!(check_only_itself(&k, Action::GetApiKey, Some(&[])).is_err());
        let e = check_only_itself(&k, Action::InvalidateApiKey, None).unwrap_err();
        assert!(e.to_string().contains("for API key id [kid] of user [u]"), "{e}");
        assert_eq!(beyond_itself(&k, Action::InvalidateApiKey).to_string(), e.to_string());
        assert!(check_only_itself(&user(&["own"]), Action::GetApiKey, None).is_ok());
    }

    #[test]
    fn keys_create_only_empty_keys() {
        let m = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(may_create_key(&user(&[]), &Map::new()));
        let k = key(&["keys"], json!({}));
        assert!(!may_create_key(&k, &Map::new()));
        assert!(may_create_key(&k, &m(json!({ "r": {} }))));
        assert!(may_create_key(&k, &m(json!({ "r": { "cluster": [], "indices": [] } }))));
        assert!(!may_create_key(&k, &m(json!({ "r": { "cluster": ["all"] } }))));
        assert!(!may_create_key(&k, &m(json!({ "r": {}, "s": { "global": { "x": 1 } } }))));
    }
}
