//! The authorization decision for one request.

use super::{Action, reserved_role};
use crate::SecurityError;
use crate::authn::Authentication;

/// Allows `action` when one of the user's roles grants it; otherwise a denial worded as
/// Elasticsearch words it.
pub fn authorize(authn: &Authentication, action: Action) -> Result<(), SecurityError> {
    if action == Action::Authenticate {
        return Ok(());
    }
    let roles: Vec<_> = authn.user.roles.iter().filter_map(|r| reserved_role(r)).collect();
    if roles.iter().any(|r| r.cluster.iter().any(|p| p.grants(action))) {
        return Ok(());
    }
    Err(SecurityError::Forbidden(format!(
        "action [{}] is unauthorized for user [{}] with effective roles [{}], this action is granted by the cluster privileges [{}]",
        action,
        authn.user.username,
        authn.user.roles.join(","),
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
