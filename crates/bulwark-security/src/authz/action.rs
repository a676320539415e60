//! Every REST request maps to one Elasticsearch action name.

use std::fmt;

macro_rules! actions {
    ($( $(#[$m:meta])* $variant:ident = $name:literal ),+ $(,)?) => {
        /// An action, named as Elasticsearch names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action { $( $(#[$m])* $variant ),+ }

        impl Action {
            /// Every action.
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];

            /// The action name, e.g. `cluster:monitor/main`.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),+ }
            }
        }
    };
}

actions! {
    /// `GET /`
    MonitorMain = "cluster:monitor/main",
    /// `GET /_cluster/health`, `_cat/health`
    MonitorHealth = "cluster:monitor/health",
    /// `GET /_security/_authenticate` (every authenticated user may call it)
    Authenticate = "cluster:admin/xpack/security/user/authenticate",
    /// `GET /_ssl/certificates`
    SslCertificates = "cluster:monitor/xpack/ssl/certificates/get",
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
            assert!(a.name().starts_with("cluster:") || a.name().starts_with("indices:"));
        }
    }
}
