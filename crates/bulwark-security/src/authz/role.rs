//! Roles: role descriptors as Elasticsearch writes them (JSON), compiled into typed roles.

use bulwark_pattern::{Syntax, matches};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::action::honours_dls_fls;
use super::document_query::check_query;
use super::field_security::{FieldRule, FieldSecurity};
use super::pattern::{IndexPattern, is_restricted};
use super::privilege::{ClusterGrant, IndexGrantPrivilege};

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// Index privileges of a role descriptor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicesPrivileges {
    /// `names`: index name patterns (one or a list).
    #[serde(deserialize_with = "one_or_many")]
    pub names: Vec<String>,
    /// `privileges`: named privileges or `indices:*` patterns.
    pub privileges: Vec<String>,
    /// Field-level security: the fields this grant shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_security: Option<FieldSecurity>,
    /// Document-level security: a query (object, JSON string or template) the documents this
    /// grant shows match; returned as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<Value>,
    /// Whether the patterns reach restricted (system) indices.
    #[serde(default)]
    pub allow_restricted_indices: bool,
}

/// Application privileges of a role descriptor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationPrivileges {
    /// The application (a name or a pattern).
    pub application: String,
    /// Privilege names or action patterns.
    pub privileges: Vec<String>,
    /// Resource patterns.
    pub resources: Vec<String>,
}

/// A role as defined through the API, in `roles.yml`, or by Elasticsearch (reserved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RoleDescriptor {
    /// Cluster privileges.
    #[serde(default)]
    pub cluster: Vec<String>,
    /// Index privileges: `indices`, or Elasticsearch's synonym `index`.
    #[serde(default, alias = "index")]
    pub indices: Vec<IndicesPrivileges>,
    /// Application privileges.
    #[serde(default)]
    pub applications: Vec<ApplicationPrivileges>,
    /// Users this role may act as (`es-security-runas-user`).
    #[serde(default)]
    pub run_as: Vec<String>,
    /// `metadata` as given (`_reserved` marks built-in roles).
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// `transient_metadata` (`enabled`: false when the role cannot be used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transient_metadata: Option<Value>,
    /// `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Remote-cluster grants and global privileges: only empty ones are accepted (there are no
    /// remote clusters, application-privilege or profile APIs here to grant on); see
    /// [`Role::compile`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_indices: Option<Value>,
    /// `remote_cluster`: only empty is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_cluster: Option<Value>,
    /// `global`: only empty is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<Value>,
}

impl RoleDescriptor {
    /// Parses a descriptor from a JSON body, with Elasticsearch-style messages.
    pub fn from_json(name: &str, v: &Value) -> Result<RoleDescriptor, String> {
        check_field_security(name, v)?;
        let d: RoleDescriptor =
            serde_json::from_value(v.clone()).map_err(|e| format!("failed to parse role [{name}]: {e}"))?;
        if d.metadata.keys().any(|k| k.starts_with('_')) {
            return Err(format!("role [{name}]: role descriptor metadata keys may not start with [_]"));
        }
        Role::compile(name, &d)?;
        Ok(d)
    }
}

/// Checks every `field_security` of a descriptor, so that a malformed one is reported by
/// role and field rather than by the deserializer.
fn check_field_security(role: &str, v: &Value) -> Result<(), String> {
    let Some(Value::Array(groups)) = v.get("indices").or_else(|| v.get("index")) else { return Ok(()) };
    for g in groups {
        let Some(fs) = g.get("field_security") else { continue };
        let Value::Object(fs) = fs else {
            return Err(format!("failed to parse role [{role}]: [field_security] must be an object"));
        };
        for (k, val) in fs {
            if k != "grant" && k != "except" {
                return Err(format!(
                    "failed to parse role [{role}]: [field_security] does not support [{k}] (only [grant] and [except])"
                ));
            }
            let strings = matches!(val, Value::Array(a) if a.iter().all(Value::is_string));
            if !strings && !val.is_null() {
                return Err(format!(
                    "failed to parse role [{role}]: [field_security.{k}] must be an array of field names"
                ));
            }
        }
    }
    Ok(())
}

/// One compiled index grant.
#[derive(Debug, Clone)]
pub struct IndexGroup {
    /// Index name patterns.
    pub patterns: Vec<IndexPattern>,
    /// Privileges granted on them.
    pub privileges: Vec<IndexGrantPrivilege>,
    /// Whether the patterns reach restricted (system) indices.
    pub allow_restricted_indices: bool,
    /// Field-level security (`None`: every field).
    pub fields: Option<FieldRule>,
    /// Document-level security, as written (`None`: every document).
    pub query: Option<Value>,
}

impl IndexGroup {
    /// Whether this group covers `index` (restricted indices need `allow_restricted_indices`).
    pub fn covers(&self, index: &str) -> bool {
        (!is_restricted(index) || self.allow_restricted_indices)
            && self.patterns.iter().any(|p| p.matches(index))
    }

    /// Whether this group limits fields or documents.
    pub fn is_restricted(&self) -> bool {
        self.query.is_some() || self.fields.as_ref().is_some_and(|f| !f.is_total())
    }

    /// Whether this group's privileges grant `action`. A group limiting fields or documents
    /// grants only the actions that honour those limits (fail closed: it grants nothing on a
    /// path that would ignore them).
    pub fn grants(&self, action: &str) -> bool {
        self.privileges.iter().any(|p| p.grants(action)) && (!self.is_restricted() || honours_dls_fls(action))
    }
}

/// A role compiled for decisions.
#[derive(Debug, Clone)]
pub struct Role {
    /// The role's name.
    pub name: String,
    /// Cluster grants.
    pub cluster: Vec<ClusterGrant>,
    /// Index grants.
    pub indices: Vec<IndexGroup>,
    /// Users it may act as.
    pub run_as: Vec<String>,
    /// Application grants.
    pub applications: Vec<ApplicationPrivileges>,
}

impl Role {
    /// Compiles a descriptor; unknown privileges and bad patterns are errors.
    pub fn compile(name: &str, d: &RoleDescriptor) -> Result<Role, String> {
        for (key, v) in [
            ("global", &d.global),
            ("remote_indices", &d.remote_indices),
            ("remote_cluster", &d.remote_cluster),
        ] {
            let empty = match v {
                None | Some(Value::Null) => true,
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Object(o)) => o.is_empty(),
                Some(_) => false,
            };
            if !empty {
                return Err(format!(
                    "role [{name}]: [{key}] is not supported by this node (it has no remote clusters and no global privileges); remove it or leave it empty"
                ));
            }
        }
        let cluster = d.cluster.iter().map(|c| c.parse::<ClusterGrant>()).collect::<Result<_, _>>()?;
        for a in &d.applications {
            super::application::validate_grant(&a.application, &a.privileges, &a.resources)
                .map_err(|e| format!("role [{name}]: {e}"))?;
        }
        let mut indices = Vec::new();
        for i in &d.indices {
            if i.names.is_empty() {
                return Err(format!("role [{name}]: index privileges must name at least one index"));
            }
            if i.privileges.is_empty() {
                return Err(format!("role [{name}]: index privileges must name at least one privilege"));
            }
            let fields = i.field_security.as_ref().map(|f| f.compile(name)).transpose()?;
            if let Some(q) = &i.query {
                check_query(name, q)?;
            }
            indices.push(IndexGroup {
                patterns: i.names.iter().map(|n| n.parse()).collect::<Result<_, _>>()?,
                privileges: i.privileges.iter().map(|p| p.parse()).collect::<Result<_, _>>()?,
                allow_restricted_indices: i.allow_restricted_indices,
                fields,
                query: i.query.clone(),
            });
        }
        Ok(Role {
            name: name.to_owned(),
            cluster,
            indices,
            run_as: d.run_as.clone(),
            applications: d.applications.clone(),
        })
    }

    /// Whether this role grants a cluster action.
    pub fn grants_cluster(&self, action: &str) -> bool {
        self.cluster.iter().any(|g| g.grants(action))
    }

    /// Whether this role grants an index action on `index`.
    pub fn grants_index(&self, action: &str, index: &str) -> bool {
        self.indices.iter().any(|g| g.covers(index) && g.grants(action))
    }

    /// Whether one `applications` entry of this role, matching `application` and `resource`
    /// (wildcards), grants the privilege `privilege`, which resolved to the action patterns
    /// `requested` (see [`super::application`]); `stored` resolves the entry's own names. As in
    /// Elasticsearch, an entry whose actions include `*` grants every privilege of the application
    /// (known or not), an entry naming exactly `privilege` grants it, and otherwise the entry's
    /// actions must cover the requested ones (an unknown requested name is never covered).
    pub fn grants_application(
        &self,
        application: &str,
        privilege: &str,
        requested: &[String],
        resource: &str,
        stored: &[super::application::ApplicationPrivilegeDescriptor],
    ) -> bool {
        self.applications.iter().any(|g| {
            if !matches(&g.application, application, Syntax::GLOB)
                || !g.resources.iter().any(|r| matches(r, resource, Syntax::GLOB))
            {
                return false;
            }
            let granted = super::application::resolve(application, &g.privileges, stored);
            granted.iter().any(|p| p == "*")
                || (g.application == application && g.privileges.len() == 1 && g.privileges[0] == privilege)
                || super::application::covers(&granted, requested)
        })
    }

    /// Whether this role may run as `user`.
    pub fn may_run_as(&self, user: &str) -> bool {
        self.run_as.iter().any(|p| matches(p, user, Syntax::GLOB))
    }
}

/// Names of every reserved role.
pub const RESERVED_ROLES: &[&str] = &[
    "superuser",
    "kibana_system",
    "kibana_admin",
    "kibana_user",
    "ingest_admin",
    "monitoring_user",
    "remote_monitoring_collector",
    "remote_monitoring_agent",
    "beats_admin",
    "beats_system",
    "logstash_system",
    "logstash_admin",
    "apm_system",
    "viewer",
    "editor",
    "snapshot_user",
    "transport_client",
];

/// Elasticsearch's reserved role descriptors (the subset of privileges this node enforces).
pub fn reserved_role_descriptor(name: &str) -> Option<RoleDescriptor> {
    let v = match name {
        "superuser" => json!({
            "cluster": ["all"],
            "indices": [
                {"names": ["*"], "privileges": ["all"], "allow_restricted_indices": false},
                {"names": ["*"], "privileges": ["monitor", "read", "view_index_metadata", "read_cross_cluster"], "allow_restricted_indices": true}
            ],
            "applications": [{"application": "*", "privileges": ["*"], "resources": ["*"]}],
            "run_as": ["*"]
        }),
        "kibana_system" => json!({
            "cluster": ["monitor", "manage_index_templates", "cluster:admin/xpack/monitoring/bulk", "manage_saml", "manage_token",
                        "manage_oidc", "manage_pipeline", "manage_ilm", "manage_transform", "cluster:admin/xpack/security/api_key/invalidate",
                        "grant_api_key", "manage_own_api_key", "cluster:admin/xpack/security/privilege/builtin/get", "delegate_pki",
                        "manage_ml", "cluster:admin/analyze", "monitor_text_structure", "cancel_task"],
            "indices": [
                {"names": [".kibana*", ".reporting-*"], "privileges": ["all"], "allow_restricted_indices": true},
                {"names": [".monitoring-*"], "privileges": ["read", "read_cross_cluster"]},
                {"names": [".management-beats"], "privileges": ["create_index", "read", "write"]},
                {"names": [".ml-anomalies*", ".ml-stats-*"], "privileges": ["read"]},
                {"names": [".ml-annotations*", ".ml-notifications*"], "privileges": ["read", "write"]},
                {"names": [".apm-agent-configuration", ".apm-custom-link", ".apm-source-map"], "privileges": ["all"], "allow_restricted_indices": true},
                {"names": ["apm-*", "logs-apm.*", "metrics-apm.*", "traces-apm.*", "traces-apm-*"], "privileges": ["read", "read_cross_cluster"]},
                {"names": ["*"], "privileges": ["view_index_metadata", "monitor"]},
                {"names": [".fleet-secrets*"], "privileges": ["write", "delete", "create_index"], "allow_restricted_indices": true},
                {"names": [".fleet*"], "privileges": ["all"], "allow_restricted_indices": true},
                {"names": [".siem-signals*", ".lists-*", ".items-*", ".internal.alerts*", ".alerts*", ".preview.alerts*", ".internal.preview.alerts*", "risk-score.risk-*"], "privileges": ["all"]}
            ],
            "applications": [{"application": "kibana-*", "privileges": ["*"], "resources": ["*"]}]
        }),
        "kibana_admin" | "kibana_user" => json!({
            "applications": [{"application": "kibana-.kibana", "privileges": ["all"], "resources": ["*"]}]
        }),
        "ingest_admin" => json!({"cluster": ["manage_index_templates", "manage_pipeline"]}),
        "monitoring_user" => json!({
            "cluster": ["cluster:monitor/main", "cluster:monitor/xpack/info", "cluster:monitor/remote/info"],
            "indices": [{"names": [".monitoring-*", "/metrics-(beats|elasticsearch|enterprisesearch|kibana|logstash).*/", "metricbeat-*"], "privileges": ["read", "read_cross_cluster"]}],
            "applications": [{"application": "kibana-*", "privileges": ["reserved_monitoring"], "resources": ["*"]}]
        }),
        "remote_monitoring_collector" => json!({
            "cluster": ["monitor"],
            "indices": [
                {"names": ["*"], "privileges": ["monitor"], "allow_restricted_indices": true},
                {"names": [".kibana*"], "privileges": ["read"], "allow_restricted_indices": true}
            ]
        }),
        "remote_monitoring_agent" => json!({
            "cluster": ["manage_index_templates", "manage_ingest_pipelines", "monitor", "cluster:admin/ilm/get", "cluster:admin/ilm/put",
                        "cluster:monitor/xpack/watcher/watch/get", "cluster:admin/xpack/watcher/watch/put", "cluster:admin/xpack/watcher/watch/delete"],
            "indices": [
                {"names": [".monitoring-*"], "privileges": ["all"]},
                {"names": ["metricbeat-*"], "privileges": ["index", "create_index", "view_index_metadata", "indices:admin/aliases", "indices:admin/rollover"]}
            ]
        }),
        "beats_admin" => json!({"indices": [{"names": [".management-beats"], "privileges": ["all"]}]}),
        "beats_system" => json!({
            "cluster": ["monitor", "cluster:admin/xpack/monitoring/bulk"],
            "indices": [{"names": [".monitoring-beats-*"], "privileges": ["create_index", "create"]}]
        }),
        "apm_system" => json!({
            "cluster": ["monitor", "cluster:admin/xpack/monitoring/bulk"],
            "indices": [{"names": [".monitoring-beats-*"], "privileges": ["create_index", "create_doc"]}]
        }),
        "logstash_system" => json!({"cluster": ["monitor", "cluster:admin/xpack/monitoring/bulk"]}),
        "logstash_admin" => json!({
            "cluster": ["manage_logstash_pipelines"],
            "indices": [{"names": [".logstash*"], "privileges": ["create", "delete", "index", "manage", "read"], "allow_restricted_indices": true}]
        }),
        "viewer" => json!({
            "indices": [
                {"names": ["/~(([.]|ilm-history-).*)/"], "privileges": ["read", "view_index_metadata"]},
                {"names": [".siem-signals*", ".lists-*", ".items-*"], "privileges": ["read", "view_index_metadata"]},
                {"names": [".alerts*", ".preview.alerts*"], "privileges": ["read", "view_index_metadata"]}
            ],
            "applications": [{"application": "kibana-.kibana", "privileges": ["read"], "resources": ["*"]}]
        }),
        "editor" => json!({
            "indices": [
                {"names": ["/~(([.]|ilm-history-).*)/"], "privileges": ["read", "view_index_metadata"]},
                {"names": ["observability-annotations"], "privileges": ["read", "view_index_metadata", "write"]},
                {"names": [".siem-signals*", ".lists-*", ".items-*"], "privileges": ["read", "view_index_metadata", "write", "maintenance"]},
                {"names": [".internal.alerts*", ".alerts*", ".internal.preview.alerts*", ".preview.alerts*"], "privileges": ["read", "view_index_metadata", "write", "maintenance"]}
            ],
            "applications": [{"application": "kibana-.kibana", "privileges": ["all"], "resources": ["*"]}]
        }),
        "snapshot_user" => json!({
            "cluster": ["create_snapshot", "monitor_snapshot"],
            "indices": [{"names": ["*"], "privileges": ["view_index_metadata"], "allow_restricted_indices": true}]
        }),
        "transport_client" => json!({"cluster": ["transport_client"]}),
        _ => return None,
    };
    let mut d: RoleDescriptor = serde_json::from_value(v).ok()?;
    d.metadata.insert("_reserved".into(), Value::Bool(true));
    d.transient_metadata = Some(json!({"enabled": true}));
    Some(d)
}

/// A compiled reserved role.
pub fn reserved_role(name: &str) -> Option<Role> {
    reserved_role_descriptor(name).and_then(|d| Role::compile(name, &d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reserved_role_compiles_and_is_marked() {
        for r in RESERVED_ROLES {
            let d = reserved_role_descriptor(r).unwrap_or_else(|| panic!("{r}"));
            assert_eq!(d.metadata["_reserved"], true);
            Role::compile(r, &d).unwrap_or_else(|e| panic!("{r}: {e}"));
        }
        assert!(reserved_role("nope").is_none());
    }

    #[test]
    fn descriptors_parse_and_refuse_unknowns() {
        let d = RoleDescriptor::from_json(
            "r",
            &json!({"cluster": ["monitor", "manage_ilm"], "indices": [{"names": "metricbeat-*", "privileges": ["manage", "write"], "field_security": {"grant": ["a"]}, "query": "{\"match_all\":{}}"}]}),
        )
        .unwrap();
        assert_eq!(d.indices[0].names, vec!["metricbeat-*"]);
        assert!(d.indices[0].field_security.is_some());
        assert!(
            RoleDescriptor::from_json("r", &json!({"cluster": ["monitr"]}))
                .unwrap_err()
                .contains("unknown cluster privilege [monitr]")
        );
        assert!(
            RoleDescriptor::from_json("r", &json!({"indices": [{"names": ["a"], "privileges": ["reed"]}]}))
                .is_err()
        );
        assert!(RoleDescriptor::from_json("r", &json!({"nonsense": 1})).is_err());
        for key in ["global", "remote_indices", "remote_cluster"] {
            let granting = if key == "global" {
                json!({"application": {"manage": {"applications": ["*"]}}})
            } else {
                json!([{"clusters": ["*"], "names": ["*"], "privileges": ["read"]}])
            };
            let e = RoleDescriptor::from_json("r", &json!({ key: granting })).unwrap_err();
            assert!(e.contains(&format!("[{key}]")), "{e}");
            RoleDescriptor::from_json(
                "r",
                &json!({ key: if key == "global" { json!({}) } else { json!([]) } }),
            )
            .unwrap();
        }
    }

    #[test]
    fn superuser_and_restricted_indices() {
        let su = reserved_role("superuser").unwrap();
        assert!(su.grants_index("indices:data/write/index", "logs"));
        assert!(!su.grants_index("indices:data/write/index", ".security-7"));
        assert!(su.grants_index("indices:data/read/search", ".security-7"));
        let all = Role::compile(
            "r",
            &serde_json::from_value(json!({"indices": [{"names": ["*"], "privileges": ["all"]}]})).unwrap(),
        )
        .unwrap();
        assert!(!all.grants_index("indices:data/read/search", ".security"));
        assert!(all.grants_index("indices:data/read/search", ".kibana"));
    }
}
