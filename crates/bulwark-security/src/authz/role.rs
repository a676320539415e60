//! Roles: named sets of privileges.

use super::ClusterPrivilege;

/// A role with its cluster privileges (index privileges arrive with the data plane).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub cluster: Vec<ClusterPrivilege>,
}

/// The reserved roles known so far, with Elasticsearch's cluster privileges.
pub fn reserved_role(name: &str) -> Option<Role> {
    let cluster = match name {
        "superuser" => vec![ClusterPrivilege::All],
        "kibana_system"
        | "logstash_system"
        | "beats_system"
        | "apm_system"
        | "remote_monitoring_collector" => {
            vec![ClusterPrivilege::Monitor]
        }
        _ => return None,
    };
    Some(Role { name: name.to_owned(), cluster })
}
