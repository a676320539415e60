//! Every REST request maps to one Elasticsearch action name.

use std::fmt;

/// An action, named as Elasticsearch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `GET /`
    MonitorMain,
    /// `GET /_cluster/health`
    MonitorHealth,
    /// `GET /_security/_authenticate` (every authenticated user may call it)
    Authenticate,
    /// `GET /_ssl/certificates`
    SslCertificates,
    /// `GET /_cat/nodes`
    NodesInfo,
}

impl Action {
    /// The action name, e.g. `cluster:monitor/main`.
    pub fn name(self) -> &'static str {
        match self {
            Action::MonitorMain => "cluster:monitor/main",
            Action::MonitorHealth => "cluster:monitor/health",
            Action::Authenticate => "cluster:admin/xpack/security/user/authenticate",
            Action::SslCertificates => "cluster:monitor/xpack/ssl/certificates/get",
            Action::NodesInfo => "cluster:monitor/nodes/info",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
