//! The node's durable identity: the cluster it belongs to and its id in that cluster.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::types::NodeId;

/// Which cluster this node's data belongs to, and which member this node is. Written once, before
/// the node first joins or forms a cluster, and never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterIdentity {
    /// The cluster UUID (`cluster_uuid` in `GET /`).
    pub cluster_uuid: String,
    /// This node's id.
    pub node_id: NodeId,
}

/// A new cluster UUID: 15 random bytes from the operating system, URL-safe base64 (20 characters).
///
/// It is chosen by the node that forms the cluster, before anything is proposed, so it does not
/// make applying commands non-deterministic.
pub fn new_cluster_uuid() -> Result<String, StoreError> {
    let bytes = bulwark_random::bytes::<15>().map_err(|e| StoreError::Io {
        action: "read random bytes for the cluster UUID from",
        path: "the operating system".into(),
        source: e.into(),
    })?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_uuids_are_20_url_safe_characters_and_differ() {
        let a = new_cluster_uuid().unwrap();
        let b = new_cluster_uuid().unwrap();
        assert_eq!(a.len(), 20);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{a}");
        assert_ne!(a, b);
    }
}
