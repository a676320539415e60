//! The store's RPCs over the transport: [`RaftClient`] sends them (it is the store's
//! [`RaftTransport`]), [`StoreService`] answers them.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bulwark_store::network::{BoxFuture, RpcResult};
use bulwark_store::{
    Command, ForwardError, Forwarded, NodeId, NodeInfo, RaftTransport, Store, StoreError, TypeConfig,
    VotersChange,
};
use bytes::Bytes;
use openraft::error::{
    InstallSnapshotError, NetworkError, PayloadTooLarge, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{SnapshotMeta, Vote};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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
        self.send(target, node, method, serde_json::to_vec(&rpc), ttl)
    }

    /// Sends the encoded `body` of a `method` call to `target`.
    fn send<Resp, E>(
        &self,
        target: NodeId,
        node: &NodeInfo,
        method: &'static str,
        body: serde_json::Result<Vec<u8>>,
        ttl: Duration,
    ) -> BoxFuture<RpcResult<Resp, E>>
    where
        Resp: DeserializeOwned + Send + 'static,
        E: std::error::Error + DeserializeOwned + Send + 'static,
    {
        let (client, address) = (self.client.clone(), node.address.clone());
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

/// The most bytes of log entries one replication call carries (see the store's constant).
const MAX_APPEND_BYTES: usize = bulwark_store::REPLICATION_CALL_BYTES;

/// How many of `entries` entries to send instead, when their encoding takes `bytes` bytes, more
/// than [`MAX_APPEND_BYTES`]; `None` when the call may go as it is.
fn fewer_entries(entries: u64, bytes: usize) -> Option<u64> {
    (entries > 1 && bytes > MAX_APPEND_BYTES)
        .then(|| (entries * MAX_APPEND_BYTES as u64 / bytes as u64).clamp(1, entries - 1))
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
        let entries = rpc.entries.len() as u64;
        let body = serde_json::to_vec(&rpc);
        if let Some(hint) = body.as_ref().ok().and_then(|b| fewer_entries(entries, b.len())) {
            // openraft sends again at once, at most `hint` entries a call for its next ten.
            let too_large = RPCError::PayloadTooLarge(PayloadTooLarge::new_entries_hint(hint));
            return Box::pin(async move { Err(too_large) });
        }
        self.send(target, node, "raft/append", body, option.hard_ttl())
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
        let (client, address, ttl) = (self.client.clone(), node.address.clone(), option.hard_ttl());
        Box::pin(async move {
            // Chunks are megabytes: encoded off the executor, so heartbeats keep flowing.
            let body = tokio::task::spawn_blocking(move || serde_json::to_vec(&SnapshotChunk::from(rpc)))
                .await
                .map_err(|e| RPCError::Network(NetworkError::new(&e)))?
                .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
            match client.call(&address, "raft/snapshot", body, ttl).await {
                Ok(bytes) => {
                    let answer: Result<
                        InstallSnapshotResponse<NodeId>,
                        RaftError<NodeId, InstallSnapshotError>,
                    > = serde_json::from_slice(&bytes)
                        .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
                    answer.map_err(|e| RPCError::RemoteError(RemoteError::new(target, e)))
                }
                Err(e @ CallError::Connect { .. }) => Err(RPCError::Unreachable(Unreachable::new(&e))),
                Err(e) => Err(RPCError::Network(NetworkError::new(&e))),
            }
        })
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

    fn ping(
        &self,
        _target: NodeId,
        node: &NodeInfo,
        timeout: Duration,
    ) -> BoxFuture<Result<(), ForwardError>> {
        let (client, address) = (self.client.clone(), node.address.clone());
        Box::pin(async move {
            client.call(&address, "raft/ping", Vec::new(), timeout).await.map(|_| ()).map_err(forward_error)
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

/// One chunk of a snapshot as it travels: openraft's [`InstallSnapshotRequest`] with its bytes
/// in base64 (a JSON array of numbers would take four times the bytes and far more time to
/// encode and parse).
#[derive(Serialize, Deserialize)]
struct SnapshotChunk {
    vote: Vote<NodeId>,
    meta: SnapshotMeta<NodeId, NodeInfo>,
    offset: u64,
    data: String,
    done: bool,
}

impl From<InstallSnapshotRequest<TypeConfig>> for SnapshotChunk {
    fn from(r: InstallSnapshotRequest<TypeConfig>) -> Self {
        SnapshotChunk {
            vote: r.vote,
            meta: r.meta,
            offset: r.offset,
            data: BASE64.encode(&r.data),
            done: r.done,
        }
    }
}

impl SnapshotChunk {
    fn decode(body: &[u8]) -> Result<InstallSnapshotRequest<TypeConfig>, Failure> {
        let c: SnapshotChunk = decode(body)?;
        let data = BASE64
            .decode(c.data.as_bytes())
            .map_err(|e| Failure::fatal(format!("malformed snapshot chunk: its data is not base64: {e}")))?;
        Ok(InstallSnapshotRequest { vote: c.vote, meta: c.meta, offset: c.offset, data, done: c.done })
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
                let rpc = tokio::task::spawn_blocking(move || SnapshotChunk::decode(&body)).await.map_err(
                    |e| Failure::fatal(format!("decoding a snapshot chunk was interrupted: {e}")),
                )??;
                encode(&store.raft().install_snapshot(rpc).await)
            }),
            "raft/ping" => Box::pin(async { Ok(b"{}".to_vec()) }),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replication_call_carries_at_most_its_byte_budget_unless_it_is_one_entry() {
        assert_eq!(fewer_entries(300, MAX_APPEND_BYTES), None);
        assert_eq!(fewer_entries(1, 50 * MAX_APPEND_BYTES), None, "a single entry always goes");
        // Six 340 KB `_bulk` entries: one at a time.
        assert_eq!(fewer_entries(6, 6 * 340_000), Some(1));
        // Many small ones: as many as fit.
        assert_eq!(fewer_entries(300, 2 * MAX_APPEND_BYTES), Some(150));
        // Just over: one fewer, never all of them again.
        assert_eq!(fewer_entries(2, MAX_APPEND_BYTES + 1), Some(1));
    }
}
