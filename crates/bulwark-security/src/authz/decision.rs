//! The authorization decision: which roles a request acts with, and whether they grant the
//! action on the indices it touches. Denials are worded as Elasticsearch words them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use super::privilege::{
    ClusterGrant, IndexGrantPrivilege, cluster_privileges_granting, covers, index_privileges_granting,
};
use super::role::{RoleDescriptor, reserved_role_descriptor};
use super::{Action, Role};
use crate::SecurityError;
use crate::authn::{Authentication, RealmRef, ServiceAccount};

/// Where roles defined outside the code come from (the native store); the node implements it.
pub trait RoleSource: Send + Sync {
    fn role(&self, name: &str) -> Option<RoleDescriptor>;
}

/// The role names a request acts with: an API key's (its owner's roles when it was made), a
/// service account's own role, or the user's roles.
pub fn effective_role_names(authn: &Authentication) -> Vec<String> {
    if let Some(k) = &authn.api_key {
        return k.roles.clone();
    }
    if authn.authentication_realm == RealmRef::SERVICE_ACCOUNT {
        return vec![authn.user.username.clone()];
    }
    authn.user.roles.clone()
}

/// Every user may change their own password (not through an API key, and not for a service
/// account), as Elasticsearch allows.
pub fn may_change_own_password(authn: &Authentication, target: &str) -> bool {
    authn.api_key.is_none() && authn.token.is_none() && authn.user.username == target
}

/// The descriptor of a service account's role.
fn service_account_descriptor(name: &str) -> Option<RoleDescriptor> {
    let account = ServiceAccount::find(name)?;
    if let Some(same) = account.role.same_as_reserved_role {
        return reserved_role_descriptor(same);
    }
    let v = serde_json::json!({
        "cluster": account.role.cluster,
        "indices": account.role.indices.iter().map(|g| serde_json::json!({
            "names": g.names, "privileges": g.privileges, "allow_restricted_indices": g.allow_restricted_indices,
        })).collect::<Vec<_>>(),
    });
    serde_json::from_value(v).ok()
}

/// Resolves roles (reserved, then `roles.yml`, then native) and decides.
pub struct Authorizer {
    source: Arc<dyn RoleSource>,
    file_roles: RwLock<BTreeMap<String, RoleDescriptor>>,
    cache: Mutex<HashMap<String, Option<Arc<Role>>>>,
}

impl Authorizer {
    pub fn new(source: Arc<dyn RoleSource>) -> Authorizer {
        Authorizer { source, file_roles: RwLock::new(BTreeMap::new()), cache: Mutex::new(HashMap::new()) }
    }

    /// Replaces the roles of `config/roles.yml`.
    pub fn set_file_roles(&self, roles: BTreeMap<String, RoleDescriptor>) {
        if let Ok(mut f) = self.file_roles.write() {
            *f = roles;
        }
        self.clear_cache();
    }

    /// Forgets compiled roles (after a role changed).
    pub fn clear_cache(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
    }

    /// A role's descriptor, wherever it is defined.
    pub fn descriptor(&self, name: &str) -> Option<RoleDescriptor> {
        reserved_role_descriptor(name)
            .or_else(|| self.file_roles.read().ok().and_then(|f| f.get(name).cloned()))
            .or_else(|| self.source.role(name))
            .or_else(|| service_account_descriptor(name))
    }

    /// A compiled role, cached.
    pub fn role(&self, name: &str) -> Option<Arc<Role>> {
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(name).cloned()) {
            return hit;
        }
        let role = self.descriptor(name).and_then(|d| Role::compile(name, &d).ok()).map(Arc::new);
        if let Ok(mut c) = self.cache.lock() {
            c.insert(name.to_owned(), role.clone());
        }
        role
    }

    fn roles(&self, names: &[String]) -> Vec<Arc<Role>> {
        names.iter().filter_map(|n| self.role(n)).collect()
    }

    /// The roles a request acts with (an API key's owner's, for a key).
    pub(super) fn owner_roles(&self, authn: &Authentication) -> Vec<Arc<Role>> {
        self.roles(&effective_role_names(authn))
    }

    /// An API key's own roles (empty: the key adds no limit).
    pub(super) fn key_roles(authn: &Authentication) -> Vec<Role> {
        let Some(k) = &authn.api_key else { return Vec::new() };
        k.descriptors
            .iter()
            .filter_map(|(name, v)| {
                serde_json::from_value::<RoleDescriptor>(v.clone())
                    .ok()
                    .and_then(|d| Role::compile(name, &d).ok())
            })
            .collect()
    }

    /// Whether every limit the request acts under grants `test`.
    fn granted(&self, authn: &Authentication, test: impl Fn(&Role) -> bool) -> bool {
        let owner = self.roles(&effective_role_names(authn));
        if !owner.iter().any(|r| test(r)) {
            return false;
        }
        let limited = Self::key_roles(authn);
        authn.api_key.as_ref().is_none_or(|k| k.descriptors.is_empty()) || limited.iter().any(test)
    }

    /// Allows `action` when the caller's roles grant it, on every one of `indices` for an index
    /// action; otherwise a 403 worded as Elasticsearch words it.
    pub fn authorize(
        &self,
        authn: &Authentication,
        action: Action,
        indices: &[String],
    ) -> Result<(), SecurityError> {
        if action == Action::Authenticate {
            return Ok(());
        }
        let name = action.name();
        let is_index = name.starts_with("indices:");
        let ok = if is_index {
            !indices.is_empty() && indices.iter().all(|i| self.granted(authn, |r| r.grants_index(name, i)))
        } else {
            self.granted(authn, |r| r.grants_cluster(name))
        };
        if ok {
            return Ok(());
        }
        let roles = effective_role_names(authn).join(",");
        let user = &authn.user.username;
        Err(SecurityError::Forbidden(if is_index {
            format!(
                "action [{name}] is unauthorized for user [{user}] with effective roles [{roles}] on indices [{}], this action is granted by the index privileges [{}]",
                indices
                    .iter()
                    .filter(|i| !self.granted(authn, |r| r.grants_index(name, i)))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(","),
                index_privileges_granting(name).join(",")
            )
        } else {
            format!(
                "action [{name}] is unauthorized for user [{user}] with effective roles [{roles}], this action is granted by the cluster privileges [{}]",
                cluster_privileges_granting(name).join(",")
            )
        }))
    }

    /// Whether the caller may perform an index action on one index.
    pub fn allows_index(&self, authn: &Authentication, action: Action, index: &str) -> bool {
        self.granted(authn, |r| r.grants_index(action.name(), index))
    }

    /// The candidates the caller may perform `action` on (wildcard expressions skip the rest
    /// silently, as Elasticsearch does).
    pub fn allowed_indices(
        &self,
        authn: &Authentication,
        action: Action,
        candidates: Vec<String>,
    ) -> Vec<String> {
        candidates.into_iter().filter(|i| self.allows_index(authn, action, i)).collect()
    }

    /// Whether the caller holds a cluster privilege (named, or an action pattern): every action
    /// it covers is granted by one of the caller's cluster grants.
    pub fn has_cluster_privilege(&self, authn: &Authentication, privilege: &str) -> Result<bool, String> {
        let wanted: ClusterGrant = privilege.parse()?;
        let wanted = wanted.allowed();
        let holds = |r: &Role| r.cluster.iter().any(|g| covers(&g.allowed(), &wanted));
        Ok(self.granted(authn, holds))
    }

    /// Whether the caller holds an index privilege on an index name (or pattern, taken literally).
    pub fn has_index_privilege(
        &self,
        authn: &Authentication,
        index: &str,
        privilege: &str,
    ) -> Result<bool, String> {
        let wanted: IndexGrantPrivilege = privilege.parse()?;
        let wanted = wanted.allowed();
        let holds = |r: &Role| {
            r.indices.iter().any(|g| {
                g.covers(index)
                    && covers(&g.privileges.iter().flat_map(|p| p.allowed()).collect::<Vec<_>>(), &wanted)
            })
        };
        Ok(self.granted(authn, holds))
    }

    /// The caller's roles, compiled (for `_security/user/_privileges`).
    pub fn roles_of(&self, authn: &Authentication) -> Vec<(String, RoleDescriptor)> {
        effective_role_names(authn).into_iter().filter_map(|n| self.descriptor(&n).map(|d| (n, d))).collect()
    }

    /// Whether `authn` may run as `user` (the `es-security-runas-user` header).
    pub fn may_run_as(&self, authn: &Authentication, user: &str) -> bool {
        authn.api_key.is_none() && self.roles(&effective_role_names(authn)).iter().any(|r| r.may_run_as(user))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::authn::{ApiKeyInfo, User};

    struct Native(BTreeMap<String, RoleDescriptor>);
    impl RoleSource for Native {
        fn role(&self, name: &str) -> Option<RoleDescriptor> {
            self.0.get(name).cloned()
        }
    }

    fn user(roles: &[&str]) -> Authentication {
        Authentication::realm(
            User {
                username: "u".into(),
                roles: roles.iter().map(|s| (*s).to_owned()).collect(),
                full_name: None,
                email: None,
                enabled: true,
            },
            RealmRef::NATIVE,
        )
    }

    fn authorizer() -> Authorizer {
        let mut roles = BTreeMap::new();
        roles.insert(
            "metricbeat_writer".to_owned(),
            serde_json::from_value(json!({"cluster": ["monitor", "read_ilm"], "indices": [{"names": ["metricbeat-*"], "privileges": ["create_doc", "create_index", "view_index_metadata"]}]})).unwrap(),
        );
        roles.insert(
            "reader".to_owned(),
            serde_json::from_value(json!({"indices": [{"names": ["metricbeat-*"], "privileges": ["read"]}]}))
                .unwrap(),
        );
        Authorizer::new(Arc::new(Native(roles)))
    }

    #[test]
    fn index_actions_and_wording() {
        let a = authorizer();
        let w = user(&["metricbeat_writer"]);
        let idx = |s: &str| vec![s.to_owned()];
        assert!(a.authorize(&w, Action::IndexDoc, &idx("metricbeat-2026.11.22")).is_ok());
        let e = a.authorize(&w, Action::DeleteDoc, &idx("metricbeat-2026.11.22")).unwrap_err().to_string();
        assert_eq!(
            e,
            "action [indices:data/write/delete] is unauthorized for user [u] with effective roles [metricbeat_writer] on indices [metricbeat-2026.11.22], this action is granted by the index privileges [delete,write,all]"
        );
        assert!(a.authorize(&w, Action::IndexDoc, &idx("other-index")).is_err());
        assert!(a.authorize(&w, Action::MonitorHealth, &[]).is_ok());
        let e = a.authorize(&w, Action::PutUser, &[]).unwrap_err().to_string();
        assert!(e.contains("this action is granted by the cluster privileges [manage_security,all]"), "{e}");
    }

    #[test]
    fn superuser_restricted_and_api_key_limits() {
        let a = authorizer();
        let su = user(&["superuser"]);
        assert!(a.authorize(&su, Action::Search, &[".security-7".into()]).is_ok());
        assert!(a.authorize(&su, Action::IndexDoc, &[".security-7".into()]).is_err());
        let mut key = user(&[]);
        key.api_key = Some(ApiKeyInfo {
            id: "k".into(),
            name: "k".into(),
            roles: vec!["reader".into()],
            descriptors: serde_json::from_value(
                json!({"w": {"indices": [{"names": ["*"], "privileges": ["write"]}]}}),
            )
            .unwrap(),
        });
        assert!(
            a.authorize(&key, Action::IndexDoc, &["metricbeat-1".into()]).is_err(),
            "the owner cannot write"
        );
        assert!(a.authorize(&key, Action::Search, &["metricbeat-1".into()]).is_err(), "the key cannot read");
        key.api_key.as_mut().unwrap().descriptors.clear();
        assert!(a.authorize(&key, Action::Search, &["metricbeat-1".into()]).is_ok());
        assert_eq!(
            a.allowed_indices(
                &user(&["reader"]),
                Action::Search,
                vec!["metricbeat-1".into(), "secret".into()]
            ),
            vec!["metricbeat-1".to_owned()]
        );
    }
}
