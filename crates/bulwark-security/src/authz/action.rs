//! Every REST request maps to one Elasticsearch action name.

use std::fmt;

/// Whether an action is decided on the cluster or on the indices a request names (the
/// authorizer needs the indices of the second kind, and the router leaves their decision to the
/// handler, which resolves them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A cluster action (`cluster:*`).
    Cluster,
    /// An index action (`indices:*`), decided on the resolved indices.
    Indices,
}

macro_rules! actions {
    (
        cluster: { $( $(#[$cm:meta])* $cvariant:ident = $cname:literal ),+ $(,)? }
        indices: { $( $(#[$im:meta])* $ivariant:ident = $iname:literal ),+ $(,)? }
    ) => {
        /// An action, named as Elasticsearch names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Action {
            $( $(#[$cm])* #[doc = concat!("`", $cname, "`")] $cvariant, )+
            $( $(#[$im])* #[doc = concat!("`", $iname, "`")] $ivariant, )+
        }

        impl Action {
            /// Every action.
            pub const ALL: &'static [Action] = &[$(Action::$cvariant,)+ $(Action::$ivariant,)+];

            /// The action name, e.g. `cluster:monitor/main`.
            pub fn name(self) -> &'static str {
                match self { $(Action::$cvariant => $cname,)+ $(Action::$ivariant => $iname,)+ }
            }

            /// What the action is decided on.
            pub fn scope(self) -> Scope {
                match self { $(Action::$cvariant => Scope::Cluster,)+ $(Action::$ivariant => Scope::Indices,)+ }
            }
        }
    };
}

actions! {
    cluster: {
    /// `GET /`
    MonitorMain = "cluster:monitor/main",
    /// `GET /_cluster/health`, `_cat/health`
    MonitorHealth = "cluster:monitor/health",
    /// `GET /_security/_authenticate` (every authenticated user may call it)
    Authenticate = "cluster:admin/xpack/security/user/authenticate",
    /// `GET /_ssl/certificates`
    SslCertificates = "cluster:monitor/xpack/ssl/certificates/get",
    /// `POST /_ssl/certificates/_revoke` (ours: Elasticsearch has no revocation)
    SslRevoke = "cluster:admin/xpack/security/ssl/certificates/revoke",
    /// `GET /_ssl/certificates/_revoked` (ours)
    SslRevoked = "cluster:admin/xpack/security/ssl/certificates/revoked/get",
    /// `GET /_bulwark/audit` (ours: Elasticsearch has no API that reads its audit log). Under
    /// `cluster:admin/xpack/security/`, so `manage_security` (and `all`) grant it and
    /// `read_security` does not.
    AuditRead = "cluster:admin/xpack/security/audit/get",
    /// `GET /_cluster/state`
    ClusterState = "cluster:monitor/state",
    /// `POST /_cluster/voting_config_exclusions`
    AddVotingConfigExclusions = "cluster:admin/voting_config/add_exclusions",
    /// `DELETE /_cluster/voting_config_exclusions`
    ClearVotingConfigExclusions = "cluster:admin/voting_config/clear_exclusions",
    /// `GET /_cat/nodes`
    NodesInfo = "cluster:monitor/nodes/info",
    PutUser = "cluster:admin/xpack/security/user/put",
    GetUsers = "cluster:admin/xpack/security/user/get",
    DeleteUser = "cluster:admin/xpack/security/user/delete",
    /// Changing one's own password is always allowed (except with an API key).
    ChangePassword = "cluster:admin/xpack/security/user/change_password",
    SetEnabled = "cluster:admin/xpack/security/user/set_enabled",
    QueryUsers = "cluster:admin/xpack/security/user/query",
    ClearRealmCache = "cluster:admin/xpack/security/realm/cache/clear",
    CreateApiKey = "cluster:admin/xpack/security/api_key/create",
    GrantApiKey = "cluster:admin/xpack/security/api_key/grant",
    GetApiKey = "cluster:admin/xpack/security/api_key/get",
    QueryApiKey = "cluster:admin/xpack/security/api_key/query",
    UpdateApiKey = "cluster:admin/xpack/security/api_key/update",
    BulkUpdateApiKey = "cluster:admin/xpack/security/api_key/bulk_update",
    InvalidateApiKey = "cluster:admin/xpack/security/api_key/invalidate",
    ClearSecurityCache = "cluster:admin/xpack/security/cache/clear",
    GetServiceAccounts = "cluster:admin/xpack/security/service_account/get",
    CreateServiceToken = "cluster:admin/xpack/security/service_account/token/create",
    DeleteServiceToken = "cluster:admin/xpack/security/service_account/token/delete",
    GetServiceCredentials = "cluster:admin/xpack/security/service_account/credential/get",
    PutRole = "cluster:admin/xpack/security/role/put",
    GetRoles = "cluster:admin/xpack/security/role/get",
    DeleteRole = "cluster:admin/xpack/security/role/delete",
    QueryRoles = "cluster:admin/xpack/security/role/query",
    PutRoleMapping = "cluster:admin/xpack/security/role_mapping/put",
    GetRoleMappings = "cluster:admin/xpack/security/role_mapping/get",
    DeleteRoleMapping = "cluster:admin/xpack/security/role_mapping/delete",
    HasPrivileges = "cluster:admin/xpack/security/user/has_privileges",
    GetUserPrivileges = "cluster:admin/xpack/security/user/list_privileges",
    GetBuiltinPrivileges = "cluster:admin/xpack/security/privilege/builtin/get",
    PutPrivileges = "cluster:admin/xpack/security/privilege/put",
    GetPrivileges = "cluster:admin/xpack/security/privilege/get",
    DeletePrivileges = "cluster:admin/xpack/security/privilege/delete",
    ClearPrivilegesCache = "cluster:admin/xpack/security/privilege/cache/clear",
    /// `POST /_security/oauth2/token` (every grant type, `refresh_token` included)
    CreateToken = "cluster:admin/xpack/security/token/create",
    /// `DELETE /_security/oauth2/token`
    InvalidateToken = "cluster:admin/xpack/security/token/invalidate",
    EnrollKibana = "cluster:admin/xpack/security/enroll/kibana",
    EnrollNode = "cluster:admin/xpack/security/enroll/node",
    License = "cluster:monitor/xpack/license/get",
    NodesStats = "cluster:monitor/nodes/stats",
    FeaturesReset = "cluster:admin/features/reset",
    /// `GET /_xpack`
    XpackInfo = "cluster:monitor/xpack/info",
    /// `PUT|POST /_index_template/{name}` (a cluster action under an `indices:` name, as in
    /// Elasticsearch: cluster privileges grant it)
    PutIndexTemplate = "indices:admin/index_template/put",
    /// `GET|HEAD /_index_template[/{name}]`
    GetIndexTemplate = "indices:admin/index_template/get",
    /// `DELETE /_index_template/{name}`
    DeleteIndexTemplate = "indices:admin/index_template/delete",
    /// `POST /_index_template/_simulate_index/{name}`
    SimulateIndexTemplate = "indices:admin/index_template/simulate_index",
    /// `PUT|POST /_component_template/{name}`
    PutComponentTemplate = "cluster:admin/component_template/put",
    /// `GET|HEAD /_component_template[/{name}]`
    GetComponentTemplate = "cluster:admin/component_template/get",
    /// `DELETE /_component_template/{name}`
    DeleteComponentTemplate = "cluster:admin/component_template/delete",
    /// `PUT /_ilm/policy/{name}`
    PutLifecycle = "cluster:admin/ilm/put",
    /// `GET /_ilm/policy[/{name}]`
    GetLifecycle = "cluster:admin/ilm/get",
    /// `DELETE /_ilm/policy/{name}`
    DeleteLifecycle = "cluster:admin/ilm/delete",
    /// `PUT /_ingest/pipeline/{id}`
    PutPipeline = "cluster:admin/ingest/pipeline/put",
    /// `GET /_ingest/pipeline[/{id}]`
    GetPipeline = "cluster:admin/ingest/pipeline/get",
    /// `DELETE /_ingest/pipeline/{id}`
    DeletePipeline = "cluster:admin/ingest/pipeline/delete",
    /// `POST /_ingest/pipeline[/{id}]/_simulate`
    SimulatePipeline = "cluster:admin/ingest/pipeline/simulate",
    }
    indices: {
    IndicesGet = "indices:admin/get",
    CreateIndex = "indices:admin/create",
    AutoCreateIndex = "indices:admin/auto_create",
    DeleteIndex = "indices:admin/delete",
    RefreshIndex = "indices:admin/refresh",
    GetMapping = "indices:admin/mappings/get",
    PutMapping = "indices:admin/mapping/put",
    AutoPutMapping = "indices:admin/mapping/auto_put",
    UpdateAliases = "indices:admin/aliases",
    GetAliases = "indices:admin/aliases/get",
    CloseIndex = "indices:admin/close",
    GetSettings = "indices:monitor/settings/get",
    UpdateSettings = "indices:admin/settings/update",
    AddIndexBlock = "indices:admin/block/add",
    OpenIndex = "indices:admin/open",
    IndicesStats = "indices:monitor/stats",
    IndexDoc = "indices:data/write/index",
    CreateDoc = "indices:data/write/index:op_type/create",
    Bulk = "indices:data/write/bulk",
    DeleteDoc = "indices:data/write/delete",
    UpdateDoc = "indices:data/write/update",
    GetDoc = "indices:data/read/get",
    MultiGet = "indices:data/read/mget",
    Search = "indices:data/read/search",
    MultiSearch = "indices:data/read/msearch",
    Count = "indices:data/read/count",
    /// `PUT /_data_stream/{name}`
    CreateDataStream = "indices:admin/data_stream/create",
    /// `GET /_data_stream[/{name}]`
    GetDataStream = "indices:admin/data_stream/get",
    /// `DELETE /_data_stream/{name}`
    DeleteDataStream = "indices:admin/data_stream/delete",
    }
}

impl Action {
    /// Whether a request for this action honours field- and document-level security: reads
    /// that filter what they return, writes Elasticsearch allows under them (`update` is
    /// granted and then refused by its handler, as Elasticsearch refuses it), and index
    /// administration that shows no document or field.
    pub fn honours_dls_fls(self) -> bool {
        use Action::*;
        matches!(
            self,
            Search
                | MultiSearch
                | Count
                | GetDoc
                | MultiGet
                | IndexDoc
                | CreateDoc
                | Bulk
                | DeleteDoc
                | UpdateDoc
                | CreateIndex
                | AutoCreateIndex
                | DeleteIndex
                | RefreshIndex
                | PutMapping
                | AutoPutMapping
                | UpdateAliases
                | GetAliases
                | CloseIndex
                | OpenIndex
                | IndicesStats
        )
    }
}

/// [`Action::honours_dls_fls`] by action name (unknown names: no).
pub(crate) fn honours_dls_fls(name: &str) -> bool {
    Action::ALL.iter().any(|a| a.name() == name && a.honours_dls_fls())
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for a in Action::ALL {
            assert!(seen.insert(a.name()), "{a:?}");
            let ok = match a.scope() {
                // Elasticsearch decides index template actions on the cluster privileges.
                Scope::Cluster => {
                    a.name().starts_with("cluster:") || a.name().starts_with("indices:admin/index_template/")
                }
                Scope::Indices => a.name().starts_with("indices:"),
            };
            assert!(ok, "{a:?} is in the wrong part of the table");
        }
    }
}
