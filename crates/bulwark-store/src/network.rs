//! The boundary between Raft and whatever carries its messages between nodes.
//!
//! openraft's network traits are generic and use associated types; the store hides them behind
//! one object-safe trait, [`RaftTransport`], so that the node can plug in the mutual-TLS transport
//! (in another crate) as an `Arc<dyn RaftTransport>` and tests can plug in [`LocalNetwork`], which
//! routes messages to other [`Raft`] instances in the same process. Nothing else in the store knows
//! how messages travel.
//!
//! The receiving side of a transport hands each request to the target node's `Raft`
//! (`append_entries`, `vote`, `install_snapshot`): see [`crate::Store::raft`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use openraft::error::{
    Fatal, Infallible, InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError,
    ReplicationClosed, StreamingError, Unreachable,
};
use openraft::network::RPCOption;
use openraft::network::snapshot_transport::{Chunked, SnapshotTransport};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::{OptionalSend, RaftNetwork, RaftNetworkFactory, Snapshot, Vote};

use serde::{Deserialize, Serialize};

use crate::command::{Command, CommandResponse};
use crate::types::{NodeId, NodeInfo, Raft, TypeConfig};

/// A boxed, sendable future, as returned by [`RaftTransport`] methods.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The result of one RPC: the remote node's answer, or why there is none.
pub type RpcResult<T, E = Infallible> = Result<T, RPCError<NodeId, NodeInfo, RaftError<NodeId, E>>>;

/// A client write carried out by the leader for another node: the state machine's answer and the
/// log index the write was committed at (the forwarding node waits until it applied that index,
/// so that it reads its own write).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forwarded {
    /// The state machine's answer.
    pub response: CommandResponse,
    /// The log index of the write.
    pub index: u64,
}

/// Why a request to the leader (a forwarded write, a read index) got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    /// The transport carries Raft messages only (the in-process test network).
    #[error("this transport does not forward requests to the leader")]
    Unsupported,
    /// The request certainly did not reach a leader that acted on it (no connection could be
    /// made, or the target said it is not the leader): trying again is safe.
    #[error("{0}")]
    Retry(String),
    /// The request may or may not have been carried out (a timeout, a connection lost mid-way, a
    /// failure on the leader): not retried.
    #[error("{0}")]
    Failed(String),
    /// The leader refused the request as the caller's fault (see [`crate::StoreError::Refused`]).
    #[error("{0}")]
    Refused(String),
}

/// Carries Raft messages to other nodes. Implementations must be cheap to call concurrently: one
/// call per message, each with its own deadline (`option.hard_ttl()`).
pub trait RaftTransport: Send + Sync + 'static {
    /// Sends log entries (or a heartbeat) to `target`.
    fn append_entries(
        &self,
        target: NodeId,
        node: &NodeInfo,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> BoxFuture<RpcResult<AppendEntriesResponse<NodeId>>>;

    /// Asks `target` for its vote.
    fn vote(
        &self,
        target: NodeId,
        node: &NodeInfo,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> BoxFuture<RpcResult<VoteResponse<NodeId>>>;

    /// Sends one chunk of a snapshot to `target`.
    fn install_snapshot(
        &self,
        target: NodeId,
        node: &NodeInfo,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> BoxFuture<RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError>>;

    /// Asks the leader `target` to write `cmd` (see [`crate::Store::write_as_leader`]).
    fn forward(
        &self,
        _target: NodeId,
        _node: &NodeInfo,
        _cmd: Command,
        _timeout: std::time::Duration,
    ) -> BoxFuture<Result<Forwarded, ForwardError>> {
        Box::pin(async { Err(ForwardError::Unsupported) })
    }

    /// Asks the leader `target` to change the voting configuration (see
    /// [`crate::Store::change_voters_as_leader`]).
    fn change_voters(
        &self,
        _target: NodeId,
        _node: &NodeInfo,
        _change: crate::VotersChange,
        _timeout: std::time::Duration,
    ) -> BoxFuture<Result<(), ForwardError>> {
        Box::pin(async { Err(ForwardError::Unsupported) })
    }

    /// Asks the leader `target` for its read index (see [`crate::Store::read_index_as_leader`]).
    fn read_index(
        &self,
        _target: NodeId,
        _node: &NodeInfo,
        _timeout: std::time::Duration,
    ) -> BoxFuture<Result<u64, ForwardError>> {
        Box::pin(async { Err(ForwardError::Unsupported) })
    }

    /// Checks that `target` answers at all, before a snapshot is serialized for it (a whole copy
    /// of the state: not worth making for a node that is down). Answers `Ok` by default.
    fn ping(
        &self,
        _target: NodeId,
        _node: &NodeInfo,
        _timeout: std::time::Duration,
    ) -> BoxFuture<Result<(), ForwardError>> {
        Box::pin(async { Ok(()) })
    }
}

/// How long a peer has to answer the ping sent before a snapshot is serialized for it.
const PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A peer that cannot be reached is logged at most once per this interval (openraft retries
/// every heartbeat and would log each failure; its replication errors are filtered out).
const UNREACHABLE_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// openraft's network factory over a [`RaftTransport`].
#[derive(Clone)]
pub struct Network {
    transport: Arc<dyn RaftTransport>,
    /// When each peer's failure was last logged.
    logged: Arc<std::sync::Mutex<std::collections::HashMap<NodeId, std::time::Instant>>>,
}

impl Network {
    /// Wraps a transport.
    pub fn new(transport: Arc<dyn RaftTransport>) -> Self {
        Self { transport, logged: Arc::default() }
    }
}

/// A connection to one peer: the target and the shared transport.
pub struct Connection {
    target: NodeId,
    node: NodeInfo,
    transport: Arc<dyn RaftTransport>,
    logged: Arc<std::sync::Mutex<std::collections::HashMap<NodeId, std::time::Instant>>>,
}

impl Connection {
    /// Logs a failed call to the peer, at most once per peer and [`UNREACHABLE_LOG_INTERVAL`].
    fn note<T, E: std::fmt::Display>(&self, what: &str, result: Result<T, E>) -> Result<T, E> {
        if let Err(e) = &result {
            let now = std::time::Instant::now();
            let mut logged = self.logged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let due =
                logged.get(&self.target).is_none_or(|at| now.duration_since(*at) >= UNREACHABLE_LOG_INTERVAL);
            if due {
                logged.insert(self.target, now);
                tracing::warn!(node = self.target, address = %self.node.address, "{what} to another node failed (logged once a minute while it lasts): {e}");
            }
        }
        result
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, node: &NodeInfo) -> Connection {
        Connection {
            target,
            node: node.clone(),
            transport: self.transport.clone(),
            logged: self.logged.clone(),
        }
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        let result = self.transport.append_entries(self.target, &self.node, rpc, option).await;
        if matches!(result, Err(RPCError::PayloadTooLarge(_))) {
            // Not a failure: openraft sends fewer entries at once.
            return result;
        }
        self.note("replication", result)
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        let result = self.transport.install_snapshot(self.target, &self.node, rpc, option).await;
        self.note("sending a snapshot", result)
    }

    async fn vote(&mut self, rpc: VoteRequest<NodeId>, option: RPCOption) -> RpcResult<VoteResponse<NodeId>> {
        let result = self.transport.vote(self.target, &self.node, rpc, option).await;
        self.note("a vote request", result)
    }

    /// Serializes the snapshot (a view of the state machine) off the executor, then sends it in
    /// chunks with [`RaftNetwork::install_snapshot`]. A snapshot that cannot be serialized is a
    /// failed send, tried again later.
    async fn full_snapshot(
        &mut self,
        vote: Vote<NodeId>,
        mut snapshot: Snapshot<TypeConfig>,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<NodeId>, StreamingError<TypeConfig, Fatal<NodeId>>> {
        if let Err(e) = self.transport.ping(self.target, &self.node, PING_TIMEOUT).await {
            let e = PeerUnreachableNow {
                target: self.target,
                address: self.node.address.clone(),
                reason: e.to_string(),
            };
            let why = StreamingError::Unreachable(Unreachable::new(&e));
            let _ = self.note("sending a snapshot", Err::<(), _>(&why));
            return Err(why);
        }
        if let Err(e) = snapshot.snapshot.prepare().await {
            tracing::warn!(
                target = self.target,
                "cannot serialize the snapshot for node {}: {e}",
                self.target
            );
            return Err(StreamingError::Network(NetworkError::new(&e)));
        }
        Chunked::send_snapshot(self, vote, snapshot, cancel, option).await
    }
}

/// Why a peer did not answer the ping before a snapshot.
#[derive(Debug, thiserror::Error)]
#[error("node {target} ({address}) does not answer, so no snapshot was made for it: {reason}")]
struct PeerUnreachableNow {
    target: NodeId,
    address: String,
    reason: String,
}

/// Why a peer could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("node {target} ({address}) is not reachable: {reason}")]
pub struct PeerUnreachable {
    /// The peer.
    pub target: NodeId,
    /// Its address.
    pub address: String,
    /// Why.
    pub reason: &'static str,
}

// The error type is openraft's, as its `RaftNetwork` trait dictates.
#[allow(clippy::result_large_err)]
fn unreachable<T, E: std::error::Error>(
    target: NodeId,
    node: &NodeInfo,
    reason: &'static str,
) -> RpcResult<T, E> {
    let e = PeerUnreachable { target, address: node.address.clone(), reason };
    Err(RPCError::Unreachable(Unreachable::new(&e)))
}

/// The transport of a node that has no peers: every peer is unreachable. A single-member cluster
/// never sends a message, so this is all it needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTransport;

impl RaftTransport for NoTransport {
    fn append_entries(
        &self,
        target: NodeId,
        node: &NodeInfo,
        _rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> BoxFuture<RpcResult<AppendEntriesResponse<NodeId>>> {
        let r = unreachable(target, node, "this node has no transport");
        Box::pin(async move { r })
    }

    fn vote(
        &self,
        target: NodeId,
        node: &NodeInfo,
        _rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> BoxFuture<RpcResult<VoteResponse<NodeId>>> {
        let r = unreachable(target, node, "this node has no transport");
        Box::pin(async move { r })
    }

    fn install_snapshot(
        &self,
        target: NodeId,
        node: &NodeInfo,
        _rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> BoxFuture<RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError>> {
        let r = unreachable(target, node, "this node has no transport");
        Box::pin(async move { r })
    }
}

/// An in-process network for tests: routes every message straight to the target's [`Raft`],
/// registered under its node id. A node that is not registered (or was removed, to simulate a
/// partition or a crash) is unreachable.
#[derive(Clone, Default)]
pub struct LocalNetwork {
    nodes: Arc<RwLock<HashMap<NodeId, Raft>>>,
}

impl LocalNetwork {
    /// An empty network.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `raft` reachable as node `id`.
    pub fn register(&self, id: NodeId, raft: Raft) {
        self.nodes.write().unwrap_or_else(|p| p.into_inner()).insert(id, raft);
    }

    /// Makes node `id` unreachable.
    pub fn unregister(&self, id: NodeId) {
        self.nodes.write().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    fn target(&self, id: NodeId) -> Option<Raft> {
        self.nodes.read().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
    }
}

impl RaftTransport for LocalNetwork {
    fn append_entries(
        &self,
        target: NodeId,
        node: &NodeInfo,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> BoxFuture<RpcResult<AppendEntriesResponse<NodeId>>> {
        let Some(raft) = self.target(target) else {
            let r = unreachable(target, node, "not registered in the local network");
            return Box::pin(async move { r });
        };
        Box::pin(
            async move { raft.append_entries(rpc).await.map_err(|e| RemoteError::new(target, e).into()) },
        )
    }

    fn vote(
        &self,
        target: NodeId,
        node: &NodeInfo,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> BoxFuture<RpcResult<VoteResponse<NodeId>>> {
        let Some(raft) = self.target(target) else {
            let r = unreachable(target, node, "not registered in the local network");
            return Box::pin(async move { r });
        };
        Box::pin(async move { raft.vote(rpc).await.map_err(|e| RemoteError::new(target, e).into()) })
    }

    fn install_snapshot(
        &self,
        target: NodeId,
        node: &NodeInfo,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> BoxFuture<RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError>> {
        let Some(raft) = self.target(target) else {
            let r = unreachable(target, node, "not registered in the local network");
            return Box::pin(async move { r });
        };
        Box::pin(
            async move { raft.install_snapshot(rpc).await.map_err(|e| RemoteError::new(target, e).into()) },
        )
    }
}
