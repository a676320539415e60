//! Named privileges and the action patterns they grant, as Elasticsearch defines them
//! (`ClusterPrivilegeResolver`, `IndexPrivilege`). A pattern ending in `*` matches any suffix;
//! implication between privileges follows from their patterns.

use std::fmt;
use std::str::FromStr;

/// Whether an action-name pattern (exact, or a prefix ending in `*`) matches `name`.
pub fn action_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

macro_rules! privileges {
    ($(#[$m:meta])* $ty:ident, $kind:literal { $( $variant:ident = $name:literal : [$($allow:literal),*] $(- [$($deny:literal),*])? ),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $ty { $(#[doc = concat!("`", $name, "`")] $variant),+ }

        impl $ty {
            /// Every named privilege, in Elasticsearch's documentation order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The name, as Elasticsearch spells it.
            pub fn name(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            /// Granted action patterns, and excluded ones.
            pub fn patterns(self) -> (&'static [&'static str], &'static [&'static str]) {
                match self { $($ty::$variant => (&[$($allow),*], &[$($($deny),*)?])),+ }
            }

            /// Whether this privilege grants the action named `action`.
            pub fn grants_name(self, action: &str) -> bool {
                let (allow, deny) = self.patterns();
                allow.iter().any(|p| action_matches(p, action)) && !deny.iter().any(|p| action_matches(p, action))
            }
        }

        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let l = s.to_ascii_lowercase();
                $ty::ALL.iter().copied().find(|p| p.name() == l).ok_or_else(|| format!(
                    "unknown {} privilege [{s}]. a privilege must be either one of the predefined {} privilege names [{}] or a pattern over one of the available {} actions",
                    $kind, $kind, $ty::ALL.iter().map(|p| p.name()).collect::<Vec<_>>().join(","), $kind
                ))
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

privileges!(
    /// A named cluster privilege.
    ClusterPrivilege, "cluster" {
        None = "none": [],
        All = "all": ["cluster:*", "indices:admin/template/*", "indices:admin/index_template/*"],
        Monitor = "monitor": ["cluster:monitor/*", "indices:admin/template/get", "cluster:admin/component_template/get", "indices:admin/index_template/get"],
        MonitorMl = "monitor_ml": ["cluster:monitor/xpack/ml/*"],
        MonitorTransform = "monitor_transform": ["cluster:monitor/data_frame/*", "cluster:monitor/transform/*"],
        MonitorWatcher = "monitor_watcher": ["cluster:monitor/xpack/watcher/*"],
        MonitorRollup = "monitor_rollup": ["cluster:monitor/xpack/rollup/*"],
        MonitorEnrich = "monitor_enrich": ["cluster:monitor/xpack/enrich/*", "cluster:admin/xpack/enrich/get"],
        MonitorTextStructure = "monitor_text_structure": ["cluster:monitor/text_structure/*"],
        MonitorInference = "monitor_inference": ["cluster:monitor/xpack/inference*"],
        MonitorSnapshot = "monitor_snapshot": ["cluster:admin/snapshot/status*", "cluster:admin/snapshot/get", "cluster:admin/repository/get"],
        Manage = "manage": ["cluster:*", "indices:admin/template/*", "indices:admin/index_template/*"] - ["cluster:admin/xpack/security/*"],
        ManageMl = "manage_ml": ["cluster:admin/xpack/ml/*", "cluster:monitor/xpack/ml/*"],
        ManageTransform = "manage_transform": ["cluster:admin/data_frame/*", "cluster:monitor/data_frame/*", "cluster:monitor/transform/*", "cluster:admin/transform/*"],
        ManageWatcher = "manage_watcher": ["cluster:admin/xpack/watcher/*", "cluster:monitor/xpack/watcher/*"],
        ManageRollup = "manage_rollup": ["cluster:admin/xpack/rollup/*", "cluster:monitor/xpack/rollup/*"],
        ManageIndexTemplates = "manage_index_templates": ["indices:admin/template/*", "indices:admin/index_template/*", "cluster:admin/component_template/*"],
        ManageIngestPipelines = "manage_ingest_pipelines": ["cluster:admin/ingest/pipeline/*"],
        ManagePipeline = "manage_pipeline": ["cluster:admin/ingest/pipeline/*"],
        ReadPipeline = "read_pipeline": ["cluster:admin/ingest/pipeline/get", "cluster:admin/ingest/pipeline/simulate"],
        TransportClient = "transport_client": ["cluster:monitor/nodes/liveness", "cluster:monitor/state"],
        ManageSecurity = "manage_security": ["cluster:admin/xpack/security/*"] - ["cluster:admin/xpack/security/delegate_pki"],
        ReadSecurity = "read_security": [
            "cluster:admin/xpack/security/api_key/get", "cluster:admin/xpack/security/api_key/query",
            "cluster:admin/xpack/security/privilege/builtin/get", "cluster:admin/xpack/security/privilege/get",
            "cluster:admin/xpack/security/profile/get", "cluster:admin/xpack/security/profile/has_privileges",
            "cluster:admin/xpack/security/profile/suggest", "cluster:admin/xpack/security/role/get",
            "cluster:admin/xpack/security/role/query", "cluster:admin/xpack/security/role_mapping/get",
            "cluster:admin/xpack/security/service_account/get", "cluster:admin/xpack/security/service_account/credential/get",
            "cluster:admin/xpack/security/user/get", "cluster:admin/xpack/security/user/query",
            "cluster:admin/xpack/security/user/list_privileges", "cluster:admin/xpack/security/user/has_privileges",
            "cluster:admin/xpack/security/settings/get"
        ],
        ManageSaml = "manage_saml": ["cluster:admin/xpack/security/saml/*", "cluster:admin/xpack/security/token/invalidate", "cluster:admin/xpack/security/token/refresh", "cluster:monitor/xpack/security/saml/metadata"],
        ManageOidc = "manage_oidc": ["cluster:admin/xpack/security/oidc/*"],
        ManageToken = "manage_token": ["cluster:admin/xpack/security/token/*"],
        ManageApiKey = "manage_api_key": ["cluster:admin/xpack/security/api_key/*"],
        ManageOwnApiKey = "manage_own_api_key": ["cluster:admin/xpack/security/api_key/*"] - ["cluster:admin/xpack/security/api_key/grant*"],
        GrantApiKey = "grant_api_key": ["cluster:admin/xpack/security/api_key/grant*"],
        ManageServiceAccount = "manage_service_account": ["cluster:admin/xpack/security/service_account/*"],
        ManageUserProfile = "manage_user_profile": ["cluster:admin/xpack/security/profile/*"],
        DelegatePki = "delegate_pki": ["cluster:admin/xpack/security/delegate_pki", "cluster:admin/xpack/security/token/invalidate"],
        ManageAutoscaling = "manage_autoscaling": ["cluster:admin/autoscaling/*"],
        ManageCcr = "manage_ccr": ["cluster:admin/xpack/ccr/*", "cluster:monitor/state", "cluster:admin/xpack/security/user/has_privileges"],
        ReadCcr = "read_ccr": ["cluster:monitor/state", "cluster:admin/xpack/security/user/has_privileges"],
        CreateSnapshot = "create_snapshot": ["cluster:admin/snapshot/create", "cluster:admin/snapshot/status*", "cluster:admin/snapshot/get", "cluster:admin/repository/get"],
        ManageIlm = "manage_ilm": ["cluster:admin/ilm/*"],
        ReadIlm = "read_ilm": ["cluster:admin/ilm/get", "cluster:admin/ilm/operation_mode/get"],
        ManageSlm = "manage_slm": ["cluster:admin/slm/*", "cluster:admin/ilm/start", "cluster:admin/ilm/stop", "cluster:admin/ilm/operation_mode/get"],
        ReadSlm = "read_slm": ["cluster:admin/slm/status", "cluster:admin/slm/get", "cluster:admin/ilm/operation_mode/get"],
        ManageEnrich = "manage_enrich": ["cluster:admin/xpack/enrich/*", "cluster:monitor/xpack/enrich/*"],
        ManageLogstashPipelines = "manage_logstash_pipelines": ["cluster:admin/logstash/pipeline/*"],
        CancelTask = "cancel_task": ["cluster:admin/tasks/cancel*"],
        ManageSearchApplication = "manage_search_application": ["cluster:admin/xpack/application/search_application/*"],
        ManageBehavioralAnalytics = "manage_behavioral_analytics": ["cluster:admin/xpack/application/analytics/*"],
        ManageSearchQueryRules = "manage_search_query_rules": ["cluster:admin/xpack/query_rules/*"],
        ManageSearchSynonyms = "manage_search_synonyms": ["cluster:admin/synonyms/*", "cluster:admin/synonyms_sets/*", "cluster:admin/synonym_rules/*"],
        ManageConnector = "manage_connector": ["cluster:admin/xpack/connector/*"] - ["cluster:admin/xpack/connector/secret/*"],
    }
);

privileges!(
    /// A named index privilege.
    IndexPrivilege, "index" {
        None = "none": [],
        All = "all": ["indices:*", "internal:transport/proxy/indices:*"],
        Read = "read": ["indices:data/read/*", "indices:admin/resolve/index", "indices:admin/resolve/cluster"],
        ReadCrossCluster = "read_cross_cluster": ["internal:transport/proxy/indices:data/read/*", "indices:admin/shards/search_shards", "indices:admin/resolve/cluster"],
        Write = "write": ["indices:data/write/*", "indices:admin/mapping/auto_put"],
        Index = "index": ["indices:data/write/index*", "indices:data/write/bulk*", "indices:data/write/update*", "indices:data/write/simulate/bulk*"],
        Create = "create": ["indices:data/write/index*", "indices:data/write/bulk*", "indices:data/write/simulate/bulk*"],
        CreateDoc = "create_doc": ["indices:data/write/index", "indices:data/write/index[*", "indices:data/write/index:op_type/create", "indices:data/write/bulk*", "indices:data/write/simulate/bulk*"],
        Delete = "delete": ["indices:data/write/delete*", "indices:data/write/bulk*"],
        Monitor = "monitor": ["indices:monitor/*"],
        Manage = "manage": ["indices:monitor/*", "indices:admin/*", "indices:data/read/field_caps*"],
        CreateIndex = "create_index": ["indices:admin/create", "indices:admin/auto_create", "indices:admin/data_stream/create"],
        DeleteIndex = "delete_index": ["indices:admin/delete", "indices:admin/data_stream/delete"],
        ViewIndexMetadata = "view_index_metadata": [
            "indices:admin/aliases/get", "indices:admin/get", "indices:admin/mappings/fields/get*", "indices:admin/mappings/get",
            "indices:admin/shards/search_shards", "indices:admin/validate/query*", "indices:monitor/settings/get",
            "indices:admin/ilm/explain", "indices:admin/data_stream/lifecycle/get", "indices:admin/data_stream/lifecycle/explain",
            "indices:admin/data_stream/get", "indices:admin/resolve/index", "indices:admin/resolve/cluster", "indices:data/read/field_caps*"
        ],
        Maintenance = "maintenance": ["indices:admin/refresh*", "indices:admin/flush*", "indices:admin/synced_flush", "indices:admin/forcemerge*"],
        AutoConfigure = "auto_configure": ["indices:admin/mapping/auto_put", "indices:admin/auto_create"],
        ManageIlm = "manage_ilm": ["indices:admin/ilm/*"],
        ManageDataStreamLifecycle = "manage_data_stream_lifecycle": ["indices:admin/data_stream/lifecycle/*"],
        ManageFollowIndex = "manage_follow_index": ["indices:admin/xpack/ccr/put_follow", "indices:admin/xpack/ccr/unfollow", "indices:admin/close*", "indices:admin/data_stream/promote", "indices:admin/rollover"],
        ManageLeaderIndex = "manage_leader_index": ["indices:admin/xpack/ccr/forget_follower*"],
    }
);

/// A cluster privilege as written in a role: a named privilege or a raw action pattern
/// (`cluster:admin/xpack/security/enroll/kibana`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClusterGrant {
    /// A named privilege (`monitor`, `manage`, …).
    Named(ClusterPrivilege),
    /// An action pattern.
    Pattern(String),
}

/// An index privilege as written in a role: named, or a raw `indices:*` pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IndexGrantPrivilege {
    /// A named privilege (`read`, `write`, …).
    Named(IndexPrivilege),
    /// An `indices:*` action pattern.
    Pattern(String),
}

impl FromStr for ClusterGrant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.starts_with("cluster:")
            || s.starts_with("indices:admin/template/")
            || s.starts_with("indices:admin/index_template/")
        {
            let p = if s.ends_with('*') { s.to_owned() } else { format!("{s}*") };
            return Ok(ClusterGrant::Pattern(p));
        }
        s.parse().map(ClusterGrant::Named)
    }
}

impl FromStr for IndexGrantPrivilege {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.starts_with("indices:") || s.starts_with("internal:transport/proxy/indices:") {
            let p = if s.ends_with('*') { s.to_owned() } else { format!("{s}*") };
            return Ok(IndexGrantPrivilege::Pattern(p));
        }
        s.parse().map(IndexGrantPrivilege::Named)
    }
}

impl ClusterGrant {
    /// The action patterns this grant allows.
    pub fn allowed(&self) -> Vec<&str> {
        match self {
            ClusterGrant::Named(p) => p.patterns().0.to_vec(),
            ClusterGrant::Pattern(p) => vec![p.as_str()],
        }
    }

    /// Whether this grant allows `action`.
    pub fn grants(&self, action: &str) -> bool {
        match self {
            ClusterGrant::Named(p) => p.grants_name(action),
            ClusterGrant::Pattern(p) => action_matches(p, action),
        }
    }
}

impl IndexGrantPrivilege {
    /// The action patterns this grant allows.
    pub fn allowed(&self) -> Vec<&str> {
        match self {
            IndexGrantPrivilege::Named(p) => p.patterns().0.to_vec(),
            IndexGrantPrivilege::Pattern(p) => vec![p.as_str()],
        }
    }

    /// Whether this grant allows `action`.
    pub fn grants(&self, action: &str) -> bool {
        match self {
            IndexGrantPrivilege::Named(p) => p.grants_name(action),
            IndexGrantPrivilege::Pattern(p) => action_matches(p, action),
        }
    }
}

impl fmt::Display for ClusterGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterGrant::Named(p) => p.fmt(f),
            ClusterGrant::Pattern(p) => f.write_str(p.strip_suffix('*').unwrap_or(p)),
        }
    }
}

impl fmt::Display for IndexGrantPrivilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexGrantPrivilege::Named(p) => p.fmt(f),
            IndexGrantPrivilege::Pattern(p) => f.write_str(p.strip_suffix('*').unwrap_or(p)),
        }
    }
}

/// Whether every action pattern in `inner` is also matched by `outer`'s patterns.
pub fn covers(outer: &[&str], inner: &[&str]) -> bool {
    inner.iter().all(|q| {
        outer.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => q.starts_with(prefix),
            None => p == q,
        })
    })
}

/// Orders privileges from the narrowest to the widest: by how many of the others each implies.
fn narrowest_first<P: Copy>(granting: Vec<P>, allow: impl Fn(P) -> &'static [&'static str]) -> Vec<P> {
    let mut ranked: Vec<(usize, usize, P)> = granting
        .iter()
        .enumerate()
        .map(|(i, p)| (granting.iter().filter(|o| covers(allow(*p), allow(**o))).count(), i, *p))
        .collect();
    ranked.sort_by_key(|(n, i, _)| (*n, *i));
    ranked.into_iter().map(|(_, _, p)| p).collect()
}

/// The named index privileges that grant `action`, narrowest first (for denial messages).
pub fn index_privileges_granting(action: &str) -> Vec<&'static str> {
    let v: Vec<IndexPrivilege> =
        IndexPrivilege::ALL.iter().copied().filter(|p| p.grants_name(action)).collect();
    narrowest_first(v, |p| p.patterns().0).into_iter().map(IndexPrivilege::name).collect()
}

/// The named cluster privileges that grant `action`, narrowest first.
pub fn cluster_privileges_granting(action: &str) -> Vec<&'static str> {
    let v: Vec<ClusterPrivilege> =
        ClusterPrivilege::ALL.iter().copied().filter(|p| p.grants_name(action)).collect();
    narrowest_first(v, |p| p.patterns().0).into_iter().map(ClusterPrivilege::name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implications_follow_elasticsearch() {
        use IndexPrivilege as I;
        let table: &[(I, &str, bool)] = &[
            (I::All, "indices:data/read/search", true),
            (I::Read, "indices:data/read/search", true),
            (I::Read, "indices:data/read/get", true),
            (I::Read, "indices:data/write/index", false),
            (I::Write, "indices:data/write/index", true),
            (I::Write, "indices:data/write/delete", true),
            (I::Write, "indices:data/write/update", true),
            (I::Write, "indices:data/write/bulk", true),
            (I::Index, "indices:data/write/update", true),
            (I::Index, "indices:data/write/delete", false),
            (I::Create, "indices:data/write/index", true),
            (I::Create, "indices:data/write/update", false),
            (I::CreateDoc, "indices:data/write/index:op_type/create", true),
            (I::CreateDoc, "indices:data/write/bulk", true),
            (I::CreateDoc, "indices:data/write/delete", false),
            (I::Delete, "indices:data/write/delete", true),
            (I::Delete, "indices:data/write/index", false),
            (I::Manage, "indices:monitor/stats", true),
            (I::Manage, "indices:admin/create", true),
            (I::Manage, "indices:data/read/search", false),
            (I::CreateIndex, "indices:admin/create", true),
            (I::CreateIndex, "indices:admin/auto_create", true),
            (I::CreateIndex, "indices:admin/delete", false),
            (I::DeleteIndex, "indices:admin/delete", true),
            (I::ViewIndexMetadata, "indices:admin/mappings/get", true),
            (I::ViewIndexMetadata, "indices:data/read/search", false),
            (I::Maintenance, "indices:admin/refresh", true),
            (I::AutoConfigure, "indices:admin/auto_create", true),
            (I::Monitor, "indices:monitor/stats", true),
            (I::None, "indices:data/read/search", false),
        ];
        for (p, a, want) in table {
            assert_eq!(p.grants_name(a), *want, "{p} {a}");
        }
        use ClusterPrivilege as C;
        let table: &[(C, &str, bool)] = &[
            (C::All, "cluster:monitor/main", true),
            (C::All, "cluster:admin/xpack/security/user/put", true),
            (C::Manage, "cluster:monitor/health", true),
            (C::Manage, "cluster:admin/xpack/security/user/put", false),
            (C::Monitor, "cluster:monitor/health", true),
            (C::Monitor, "cluster:admin/ilm/put", false),
            (C::ManageSecurity, "cluster:admin/xpack/security/user/put", true),
            (C::ManageSecurity, "cluster:admin/xpack/security/delegate_pki", false),
            (C::ManageIlm, "cluster:admin/ilm/put", true),
            (C::ReadIlm, "cluster:admin/ilm/get", true),
            (C::ReadIlm, "cluster:admin/ilm/put", false),
            (C::ManageApiKey, "cluster:admin/xpack/security/api_key/create", true),
            (C::ReadSecurity, "cluster:admin/xpack/security/user/get", true),
            (C::ReadSecurity, "cluster:admin/xpack/security/user/put", false),
            (C::None, "cluster:monitor/main", false),
        ];
        for (p, a, want) in table {
            assert_eq!(p.grants_name(a), *want, "{p} {a}");
        }
    }

    #[test]
    fn names_round_trip_and_patterns_parse() {
        for p in ClusterPrivilege::ALL {
            assert_eq!(p.name().parse::<ClusterPrivilege>().unwrap(), *p);
        }
        for p in IndexPrivilege::ALL {
            assert_eq!(p.name().parse::<IndexPrivilege>().unwrap(), *p);
        }
        assert!("MONITOR".parse::<ClusterPrivilege>().is_ok());
        assert!("monitr".parse::<ClusterPrivilege>().is_err());
        let g: ClusterGrant = "cluster:admin/xpack/security/enroll/kibana".parse().unwrap();
        assert!(g.grants("cluster:admin/xpack/security/enroll/kibana"));
        assert!(!g.grants("cluster:admin/xpack/security/enroll/node"));
        assert_eq!(
            index_privileges_granting("indices:data/write/index:op_type/create")[..3],
            ["create_doc", "create", "index"]
        );
        assert_eq!(*index_privileges_granting("indices:data/write/index").last().unwrap(), "all");
    }
}
