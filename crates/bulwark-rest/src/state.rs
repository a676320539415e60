//! What handlers can reach.

use std::sync::Arc;

use bulwark_security::authn::Authenticator;

/// Facts about this node that `GET /` reports.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub node_name: String,
    pub cluster_name: String,
    pub cluster_uuid: String,
}

/// The cluster as this node sees it (membership, health); implemented by the node.
pub trait ClusterView: Send + Sync {
    /// Members of the cluster.
    fn number_of_nodes(&self) -> usize;
    /// Members that hold data.
    fn number_of_data_nodes(&self) -> usize;
}

/// Shared state of the REST layer.
#[derive(Clone)]
pub struct RestState {
    pub info: Arc<NodeInfo>,
    pub authenticator: Arc<Authenticator>,
    pub cluster: Arc<dyn ClusterView>,
    /// When false (`xpack.security.enabled: false`), requests are not authenticated.
    pub security_enabled: bool,
    /// `http.max_content_length`.
    pub max_content_length: usize,
}
