//! The authorization decision: which roles a request acts with, and whether they grant the
//! action on the indices it touches. Denials are worded as Elasticsearch words them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use super::privilege::{
    ClusterGrant, IndexGrantPrivilege, cluster_privileges_granting, covers, index_privileges_granting,
};
use super::role::{RoleDescriptor, reserved_role_descriptor};
use super::{Action, Role, Scope};
use crate::SecurityError;
use crate::authn::{Authentication, RealmRef, ServiceAccount};

/// Where roles defined outside the code come from (the native store); the node implements it.
pub trait RoleSource: Send + Sync {
    /// The stored role `name`, if any.
    fn role(&self, name: &str) -> Option<RoleDescriptor>;
    /// The stored application privileges of `application` (none by default: privilege names
    /// then stand for nothing and grant nothing).
    fn application_privileges(
        &self,
        _application: &str,
    ) -> Vec<super::application::ApplicationPrivilegeDescriptor> {
        Vec::new()
    }
}

/// Who a denial names, as Elasticsearch words it: a service account or an API key (with its
/// owner) by itself, a user with the roles it acted under.
pub fn denied_subject(authn: &Authentication) -> String {
    if let Some(k) = &authn.api_key {
        return format!("API key id [{}] of user [{}]", k.id, authn.user.username);
    }
    if authn.authentication_realm == RealmRef::SERVICE_ACCOUNT {
        return format!("service account [{}]", authn.user.username);
    }
    format!("user [{}] with effective roles [{}]", authn.user.username, effective_role_names(authn).join(","))
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

/// A user may change their own password without `manage_security` only when the user is the
/// reserved or native user of that name: the realm that looked the user up (the run-as target's
/// under run-as) is `reserved` or `native`, as Elasticsearch's `checkChangePasswordAction`
/// requires. A PKI, file or service-account user named `elastic` is not the reserved `elastic`;
/// nor is a request made with an API key or a token.
pub fn may_change_own_password(authn: &Authentication, target: &str) -> bool {
    authn.api_key.is_none()
        && authn.token.is_none()
        && authn.authentication_type != "token"
        && authn.user.username == target
        && matches!(authn.lookup_realm.realm_type, "reserved" | "native")
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
    /// Compiled roles of API keys (the owner's copied descriptors, then the key's own), by key
    /// id, with the descriptors they were compiled from (a key can be updated).
    key_cache: Mutex<HashMap<String, Arc<KeyRoles>>>,
}

/// The compiled roles an API key acts with.
struct KeyRoles {
    limited_by: Option<serde_json::Map<String, serde_json::Value>>,
    descriptors: serde_json::Map<String, serde_json::Value>,
    /// The owner's roles, from the descriptors copied at creation (`None`: named roles, as now).
    owner: Option<Vec<Arc<Role>>>,
    /// The key's own roles (empty: no further limit).
    own: Vec<Arc<Role>>,
}

/// Whether a descriptor is in force: Elasticsearch disables a role whose
/// `transient_metadata.enabled` is false (it grants nothing).
fn enabled(d: &RoleDescriptor) -> bool {
    d.transient_metadata.as_ref().and_then(|t| t.get("enabled")).and_then(serde_json::Value::as_bool)
        != Some(false)
}

/// Compiles stored descriptors (name to descriptor); a descriptor that no longer parses or is
/// disabled grants nothing.
fn compile_all(descriptors: &serde_json::Map<String, serde_json::Value>) -> Vec<Arc<Role>> {
    descriptors
        .iter()
        .filter_map(|(name, v)| {
            serde_json::from_value::<RoleDescriptor>(v.clone())
                .ok()
                .filter(enabled)
                .and_then(|d| Role::compile(name, &d).ok())
                .map(Arc::new)
        })
        .collect()
}

impl Authorizer {
    /// An authorizer resolving role names through `source` (after the built-in roles).
    pub fn new(source: Arc<dyn RoleSource>) -> Authorizer {
        Authorizer {
            source,
            file_roles: RwLock::new(BTreeMap::new()),
            cache: Mutex::new(HashMap::new()),
            key_cache: Mutex::new(HashMap::new()),
        }
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
        let role =
            self.descriptor(name).filter(enabled).and_then(|d| Role::compile(name, &d).ok()).map(Arc::new);
        if let Ok(mut c) = self.cache.lock() {
            c.insert(name.to_owned(), role.clone());
        }
        role
    }

    fn roles(&self, names: &[String]) -> Vec<Arc<Role>> {
        names.iter().filter_map(|n| self.role(n)).collect()
    }

    /// The descriptors of the named roles that exist, as stored JSON (what an API key copies
    /// of its owner's roles when it is created or updated).
    pub fn descriptors_of(&self, names: &[String]) -> serde_json::Map<String, serde_json::Value> {
        names
            .iter()
            .filter_map(|n| {
                let d = self.descriptor(n)?;
                serde_json::to_value(d).ok().map(|v| (n.clone(), v))
            })
            .collect()
    }

    /// An API key's compiled roles, cached by key id.
    fn key_roles(&self, key: &crate::authn::ApiKeyInfo) -> Arc<KeyRoles> {
        let cached = self.key_cache.lock().ok().and_then(|c| c.get(&key.id).cloned());
        if let Some(hit) =
            cached.filter(|h| h.limited_by == key.limited_by && h.descriptors == key.descriptors)
        {
            return hit;
        }
        let compiled = Arc::new(KeyRoles {
            limited_by: key.limited_by.clone(),
            descriptors: key.descriptors.clone(),
            owner: key.limited_by.as_ref().map(compile_all),
            own: compile_all(&key.descriptors),
        });
        if let Ok(mut c) = self.key_cache.lock() {
            if c.len() > 10_000 {
                c.clear();
            }
            c.insert(key.id.clone(), compiled.clone());
        }
        compiled
    }

    /// The roles that bound a request: the user's (for an API key, its owner's as copied at
    /// creation), and an API key's own roles when it has any (`None`: no further limit).
    pub(super) fn bounds(&self, authn: &Authentication) -> (Vec<Arc<Role>>, Option<Vec<Arc<Role>>>) {
        let Some(k) = &authn.api_key else { return (self.roles(&effective_role_names(authn)), None) };
        let roles = self.key_roles(k);
        let owner = roles.owner.clone().unwrap_or_else(|| self.roles(&k.roles));
        let own = (!k.descriptors.is_empty()).then(|| roles.own.clone());
        (owner, own)
    }

    /// Whether every limit the request acts under grants `test`.
    pub(super) fn granted(&self, authn: &Authentication, test: impl Fn(&Role) -> bool) -> bool {
        let (owner, own) = self.bounds(authn);
        owner.iter().any(|r| test(r)) && own.is_none_or(|own| own.iter().any(|r| test(r)))
    }

    /// Whether the caller holds application privilege `privilege` on `resource` of
    /// `application` (`_has_privileges`): every limit it acts under must grant it.
    pub fn has_application_privilege(
        &self,
        authn: &Authentication,
        application: &str,
        privilege: &str,
        resource: &str,
    ) -> bool {
        let stored = self.source.application_privileges(application);
        let requested = super::application::resolve(application, &[privilege.to_owned()], &stored);
        self.granted(authn, |r| r.grants_application(application, privilege, &requested, resource, &stored))
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
        let is_index = action.scope() == Scope::Indices;
        let ok = if is_index {
            !indices.is_empty() && indices.iter().all(|i| self.granted(authn, |r| r.grants_index(name, i)))
        } else {
            self.granted(authn, |r| r.grants_cluster(name))
        };
        if ok {
            return Ok(());
        }
        let who = denied_subject(authn);
        Err(SecurityError::Forbidden(if is_index {
            format!(
                "action [{name}] is unauthorized for {who} on indices [{}], this action is granted by the index privileges [{}]",
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
                "action [{name}] is unauthorized for {who}, this action is granted by the cluster privileges [{}]",
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

    /// The descriptors of the roles the caller acts with, in force (for
    /// `_security/user/_privileges`); for an API key, its owner's as copied at creation.
    pub fn roles_of(&self, authn: &Authentication) -> Vec<(String, RoleDescriptor)> {
        if let Some(copied) = authn.api_key.as_ref().and_then(|k| k.limited_by.as_ref()) {
            return copied
                .iter()
                .filter_map(|(n, v)| serde_json::from_value(v.clone()).ok().map(|d| (n.clone(), d)))
                .filter(|(_, d)| enabled(d))
                .collect();
        }
        effective_role_names(authn)
            .into_iter()
            .filter_map(|n| self.descriptor(&n).filter(enabled).map(|d| (n, d)))
            .collect()
    }

    /// Whether `authn` may run as `user` (the `es-security-runas-user` header).
    pub fn may_run_as(&self, authn: &Authentication, user: &str) -> bool {
        authn.api_key.is_none() && self.roles(&effective_role_names(authn)).iter().any(|r| r.may_run_as(user))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn own_password_changes_need_the_reserved_or_native_realm() {
        let named = |name: &str, realm: RealmRef| {
            let u = User {
                username: name.into(),
                roles: Vec::new(),
                full_name: None,
                email: None,
                enabled: true,
            };
            Authentication::realm(u, realm)
        };
        let pki = RealmRef { name: "pki1", realm_type: "pki" };
        assert!(may_change_own_password(&named("elastic", RealmRef::RESERVED), "elastic"));
        assert!(may_change_own_password(&named("alice", RealmRef::NATIVE), "alice"));
        assert!(!may_change_own_password(&named("alice", RealmRef::NATIVE), "bob"));
        assert!(!may_change_own_password(&named("elastic", pki.clone()), "elastic"));
        assert!(!may_change_own_password(&named("bob", RealmRef::FILE), "bob"));
        assert!(!may_change_own_password(
            &named("elastic/kibana", RealmRef::SERVICE_ACCOUNT),
            "elastic/kibana"
        ));
        // Run as a native user: the looked-up realm decides.
        let mut run_as = named("alice", RealmRef::NATIVE);
        run_as.authentication_realm = pki;
        assert!(may_change_own_password(&run_as, "alice"));
    }

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
        // A service account and an API key are named as such, without roles.
        let mut sa = user(&[]);
        sa.user.username = "elastic/fleet-server".into();
        sa.authentication_realm = RealmRef::SERVICE_ACCOUNT;
        assert_eq!(denied_subject(&sa), "service account [elastic/fleet-server]");
        let mut key = user(&["reader"]);
        key.api_key = Some(ApiKeyInfo {
            id: "kid".into(),
            name: "k".into(),
            roles: vec!["reader".into()],
            limited_by: None,
            descriptors: serde_json::Map::new(),
        });
        let e = a.authorize(&key, Action::PutUser, &[]).unwrap_err().to_string();
        assert!(e.starts_with("action [cluster:admin/xpack/security/user/put] is unauthorized for API key id [kid] of user [u], this action"), "{e}");
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
            limited_by: None,
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
