//! The openraft type configuration and the node identity types built on it.

use serde::{Deserialize, Serialize};

use crate::command::{Command, CommandResponse};

/// A node's id in the cluster. The node that forms a cluster on first start is node 1.
pub type NodeId = u64;

/// What the cluster membership records about a node: its name and the address peers reach it at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's name (`node.name`).
    pub name: String,
    /// The node's transport address, `host:port`.
    pub address: String,
    /// A member that joined while the voting configuration was odd: it receives the log but does
    /// not vote until another node joins (see [`crate::Store::admit`]). Cleared when it votes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub standby: bool,
}

impl NodeInfo {
    /// Builds a node description.
    pub fn new(name: impl Into<String>, address: impl Into<String>) -> Self {
        Self { name: name.into(), address: address.into(), standby: false }
    }
}

openraft::declare_raft_types!(
    /// The type configuration of Bulwark's Raft group: typed commands in, typed responses out.
    pub TypeConfig:
        D = Command,
        R = CommandResponse,
        NodeId = NodeId,
        Node = NodeInfo,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = crate::snapshot_data::SnapshotData,
        AsyncRuntime = openraft::TokioRuntime,
);

/// The Raft handle of a Bulwark node.
pub type Raft = openraft::Raft<TypeConfig>;

/// One member of the cluster, as the current membership configuration lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The node id.
    pub id: NodeId,
    /// The node name.
    pub name: String,
    /// The node's transport address.
    pub address: String,
    /// Whether the node votes (false for a learner that is still catching up).
    pub voter: bool,
    /// A node that does not vote only to keep the voting configuration odd (not an exclusion).
    pub standby: bool,
}
