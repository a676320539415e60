//! The authorization decision for one request.

use super::{Action, ClusterPrivilege, Role, reserved_role};
use crate::SecurityError;
use crate::authn::{Authentication, RealmRef, ServiceAccount};

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

fn resolve(name: &str) -> Option<Role> {
    if let Some(r) = reserved_role(name) {
        return Some(r);
    }
    let account = ServiceAccount::find(name)?;
    if let Some(same) = account.role.same_as_reserved_role {
        return reserved_role(same).map(|r| Role { name: name.to_owned(), ..r });
    }
    let cluster = account.role.cluster.iter().filter_map(|p| p.parse::<ClusterPrivilege>().ok()).collect();
    Some(Role { name: name.to_owned(), cluster })
}

/// Every user may change their own password (not through an API key, and not for a service
/// account), as Elasticsearch allows.
pub fn may_change_own_password(authn: &Authentication, target: &str) -> bool {
    authn.api_key.is_none() && authn.token.is_none() && authn.user.username == target
}

/// Allows `action` when one of the user's roles grants it; otherwise a denial worded as
/// Elasticsearch words it.
pub fn authorize(authn: &Authentication, action: Action) -> Result<(), SecurityError> {
    if action == Action::Authenticate {
        return Ok(());
    }
    let names = effective_role_names(authn);
    let roles: Vec<_> = names.iter().filter_map(|r| resolve(r)).collect();
    if roles.iter().any(|r| r.cluster.iter().any(|p| p.grants(action))) {
        return Ok(());
    }
    Err(SecurityError::Forbidden(format!(
        "action [{}] is unauthorized for user [{}] with effective roles [{}], this action is granted by the cluster privileges [{}]",
        action,
        authn.user.username,
        names.join(","),
        granting(action).join(","),
    )))
}

/// The privileges that would grant `action`, for the denial message.
fn granting(action: Action) -> Vec<&'static str> {
    use super::ClusterPrivilege as P;
    [(P::Monitor, "monitor"), (P::ManageSecurity, "manage_security"), (P::Manage, "manage"), (P::All, "all")]
        .into_iter()
        .filter(|(p, _)| p.grants(action))
        .map(|(_, n)| n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authn::{RealmRef, User};

    fn user(roles: &[&str]) -> Authentication {
        Authentication {
            user: User {
                username: "u".into(),
                roles: roles.iter().map(|s| (*s).to_owned()).collect(),
                full_name: None,
                email: None,
                enabled: true,
            },
            authentication_realm: RealmRef::RESERVED,
            lookup_realm: RealmRef::RESERVED,
            authentication_type: "realm",
            token: None,
            api_key: None,
        }
    }

    #[test]
    fn superuser_may_everything_others_are_refused_with_es_wording() {
        assert!(authorize(&user(&["superuser"]), Action::MonitorHealth).is_ok());
        assert!(authorize(&user(&["kibana_system"]), Action::MonitorHealth).is_ok());
        assert!(authorize(&user(&[]), Action::Authenticate).is_ok());
        let e = authorize(&user(&["nothing"]), Action::MonitorMain).unwrap_err().to_string();
        assert_eq!(
            e,
            "action [cluster:monitor/main] is unauthorized for user [u] with effective roles [nothing], this action is granted by the cluster privileges [monitor,manage,all]"
        );
    }
}
