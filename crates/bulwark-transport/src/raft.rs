//! The store's RPCs over the transport: [`RaftClient`] sends them (it is the store's
//! [`RaftTransport`]), [`StoreService`] answers them.

use std::sync::Arc;
use std::time::Duration;

use bulwark_store::network::{BoxFuture, RpcResult};
use bulwark_store::{
    Command, ForwardError, Forwarded, NodeId, NodeInfo, RaftTransport, Store, StoreError, TypeConfig,
    VotersChange,
};
use bytes::Bytes;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{CallError, Client};
use crate::server::Failure;

/// The store's transport to other nodes, over [`Client`].
#[derive(Clone)]
pub struct RaftClient {
    client: Client,
}

impl RaftClient {
    /// Sends the store's messages with `client`.
    pub fn new(client: Client) -> Self {
        RaftClient { client }
    }

    fn rpc<Req, Resp, E>(
        &self,
        target: NodeId,
        node: &NodeInfo,
        method: &'static str,
        rpc: Req,
        ttl: Duration,
    ) -> BoxFuture<RpcResult<Resp, E>>
    where
        Req: Serialize,
        Resp: DeserializeOwned + Send + 'static,
        E: std::error::Error + DeserializeOwned + Send + 'static,
    {
        let (client, address) = (self.client.clone(), node.address.clone());
        let body = serde_json::to_vec(&rpc);
        Box::pin(async move {
            let body = body.map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
            match client.call(&address, method, body, ttl).await {
                Ok(bytes) => {
                    let answer: Result<Resp, RaftError<NodeId, E>> = serde_json::from_slice(&bytes)
                        .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
                    answer.map_err(|e| RPCError::RemoteError(RemoteError::new(target, e)))
                }
                Err(e @ CallError::Connect { .. }) => Err(RPCError::Unreachable(Unreachable::new(&e))),
                Err(e) => Err(RPCError::Network(NetworkError::new(&e))),
            }
        })
    }
}

fn forward_error(e: CallError) -> ForwardError {
    if e.is_retry_safe() { ForwardError::Retry(e.to_string()) } else { ForwardError::Failed(e.to_string()) }
}

impl RaftTransport for RaftClient {
    fn append_entries(
        &self,
        target: NodeId,
        node: &NodeInfo,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> BoxFuture<RpcResult<AppendEntriesResponse<NodeId>>> {
        self.rpc(target, node, "raft/append", rpc, option.hard_ttl())
    }

    fn vote(
        &self,
        target: NodeId,
        node: &NodeInfo,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> BoxFuture<RpcResult<VoteResponse<NodeId>>> {
        self.rpc(target, node, "raft/vote", rpc, option.hard_ttl())
    }

    fn install_snapshot(
        &self,
        target: NodeId,
        node: &NodeInfo,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> BoxFuture<RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError>> {
        self.rpc(target, node, "raft/snapshot", rpc, option.hard_ttl())
    }

    fn forward(
        &self,
        _target: NodeId,
        node: &NodeInfo,
        cmd: Command,
        timeout: Duration,
    ) -> BoxFuture<Result<Forwarded, ForwardError>> {
        let (client, address) = (self.client.clone(), node.address.clone());
        Box::pin(async move {
            let body = serde_json::to_vec(&cmd).map_err(|e| ForwardError::Failed(e.to_string()))?;
            let bytes = client.call(&address, "store/forward", body, timeout).await.map_err(forward_error)?;
            serde_json::from_slice(&bytes)
                .map_err(|e| ForwardError::Failed(format!("unreadable answer: {e}")))
        })
    }

    fn change_voters(
        &self,
        _target: NodeId,
        node: &NodeInfo,
        change: VotersChange,
        timeout: Duration,
    ) -> BoxFuture<Result<(), ForwardError>> {
        let (client, address) = (self.client.clone(), node.address.clone());
        Box::pin(async move {
            let body = serde_json::to_vec(&change).map_err(|e| ForwardError::Failed(e.to_string()))?;
            let bytes = client.call(&address, "store/voters", body, timeout).await.map_err(forward_error)?;
            let answer: Result<(), String> = serde_json::from_slice(&bytes)
                .map_err(|e| ForwardError::Failed(format!("unreadable answer: {e}")))?;
            answer.map_err(ForwardError::Refused)
        })
    }

    fn read_index(
        &self,
        _target: NodeId,
        node: &NodeInfo,
        timeout: Duration,
    ) -> BoxFuture<Result<u64, ForwardError>> {
        let (client, address) = (self.client.clone(), node.address.clone());
        Box::pin(async move {
            let bytes = client
                .call(&address, "store/read_index", Vec::new(), timeout)
                .await
                .map_err(forward_error)?;
            serde_json::from_slice(&bytes)
                .map_err(|e| ForwardError::Failed(format!("unreadable answer: {e}")))
        })
    }
}

/// Answers the store's RPCs with the local [`Store`].
#[derive(Clone)]
pub struct StoreService {
    store: Arc<Store>,
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| Failure::fatal(format!("malformed request: {e}")))
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec(v).map_err(|e| Failure::fatal(format!("cannot encode the answer: {e}")))
}

fn store_failure(e: StoreError) -> Failure {
    match e {
        StoreError::NotLeader { .. } => Failure::retry(e.to_string()),
        other => Failure::fatal(other.to_string()),
    }
}

impl StoreService {
    /// Serves `store`.
    pub fn new(store: Arc<Store>) -> Self {
        StoreService { store }
    }

    /// Answers `method` when it is one of the store's (`raft/*`, `store/*`); `None` otherwise.
    pub fn call(&self, method: &str, body: Bytes) -> Option<crate::BoxFuture<Result<Vec<u8>, Failure>>> {
        let store = self.store.clone();
        let fut: crate::BoxFuture<Result<Vec<u8>, Failure>> = match method {
            "raft/append" => Box::pin(async move {
                let rpc: AppendEntriesRequest<TypeConfig> = decode(&body)?;
                encode(&store.raft().append_entries(rpc).await)
            }),
            "raft/vote" => Box::pin(async move {
                let rpc: VoteRequest<NodeId> = decode(&body)?;
                encode(&store.raft().vote(rpc).await)
            }),
            "raft/snapshot" => Box::pin(async move {
                let rpc: InstallSnapshotRequest<TypeConfig> = decode(&body)?;
                encode(&store.raft().install_snapshot(rpc).await)
            }),
            "store/forward" => Box::pin(async move {
                let cmd: Command = decode(&body)?;
                encode(&store.write_as_leader(cmd).await.map_err(store_failure)?)
            }),
            "store/voters" => Box::pin(async move {
                let change: VotersChange = decode(&body)?;
                // A refusal is an answer (the caller's fault), not a failure of the call.
                let answer: Result<(), String> = match store.change_voters_as_leader(change).await {
                    Ok(()) => Ok(()),
                    Err(StoreError::Refused { reason }) => Err(reason),
                    Err(e) => return Err(store_failure(e)),
                };
                encode(&answer)
            }),
            "store/read_index" => {
                Box::pin(async move { encode(&store.read_index_as_leader().await.map_err(store_failure)?) })
            }
            _ => return None,
        };
        Some(fut)
    }
}
