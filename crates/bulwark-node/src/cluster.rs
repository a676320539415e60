//! The node in a cluster: the transport listener (`transport.host`:`transport.port`, mutual TLS
//! only), the calls it answers besides the store's own (`cluster/info`, `cluster/join`,
//! `nodes/stats`), and the client this node calls others with.
//!
//! A joining node calls `cluster/join` on any member; a member that does not lead passes the call
//! to the leader, which adds the node as a learner, waits until it has caught up with the log,
//! then makes it a voter; a node that does not get there in time is taken out again.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bulwark_rest::indices::{IndexService, NodeStats};
use bulwark_rest::{ErrorType, MemberFailure, MemberStatsFuture};
use bulwark_security::audit::AuditEvent;
use bulwark_settings::Settings;
use bulwark_store::{Bootstrap, LogFloor, NodeId, NodeInfo, Store, StoreConfig, StoreError};
use bulwark_transport::{
    BoxFuture, Bytes, CallError, Client, Failure, Handler, RaftClient, ServerTls, StoreService,
};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::NodeError;
use crate::reload::LayerTls;

/// How long a join may take (the learner catches up with the whole log first).
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the leader gives a joining node to catch up and become a voter before it takes the
/// node out of the membership again: less than [`JOIN_TIMEOUT`], so the joining node hears why
/// before it gives up itself.
const ADMIT_TIMEOUT: Duration = Duration::from_secs(100);
/// How long a short call (`cluster/info`) may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a node that has not found its cluster yet says so (Elasticsearch's
/// `discovery.cluster_formation_warning_timeout`).
const DISCOVERY_WARNING: Duration = Duration::from_secs(10);
/// How long a node waits between two rounds of asking its seeds.
const DISCOVERY_RETRY: Duration = Duration::from_secs(1);

/// The check a join fails when the leader cannot call the joining node back at the transport
/// address it gave (its publish address): the cluster could never replicate to it.
pub const UNREACHABLE: &str = "transport address not reachable from the cluster";

/// What `cluster/info` answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub cluster_uuid: String,
    pub node_name: String,
    pub leader: Option<NodeId>,
    /// The answering node's id (absent from nodes that did not send it).
    #[serde(default)]
    pub node_id: Option<NodeId>,
}

/// What `cluster/join` asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinRequest {
    pub cluster_uuid: String,
    pub id: NodeId,
    pub name: String,
    pub address: String,
}

/// The address the transport binds to: `transport.host`, else `network.host`, else loopback.
pub fn bind_address(settings: &Settings) -> Result<SocketAddr, NodeError> {
    let host = settings.transport.host.as_deref().or(settings.network_host.as_deref()).unwrap_or("_local_");
    crate::server::resolve_host(host, settings.transport.port)
}

/// The address other nodes reach this one at: `transport.publish_host` (else
/// `network.publish_host`) with the bound port; else the bound address, or for a wildcard bind
/// the first address other hosts can reach (loopback when there is none).
pub fn publish_address(settings: &Settings, bound: SocketAddr) -> Result<SocketAddr, NodeError> {
    let keys = [
        ("transport.publish_host", settings.transport.publish_host.as_deref()),
        ("network.publish_host", settings.network_publish_host.as_deref()),
    ];
    if let Some(addr) = crate::host::publish_host(&keys, bound.port())? {
        return Ok(addr);
    }
    if !bound.ip().is_unspecified() {
        return Ok(bound);
    }
    let ip = crate::host::interface_addresses()
        .into_iter()
        .find(|a| a.is_ipv4() && !a.is_loopback())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    Ok(SocketAddr::new(ip, bound.port()))
}

/// Binds the transport port. The default port (9300) stands, as in Elasticsearch, for the range
/// 9300-9399: the first free one is taken, so several nodes can share a host.
pub async fn bind(settings: &Settings) -> Result<(TcpListener, SocketAddr), NodeError> {
    let addr = bind_address(settings)?;
    let last = if addr.port() == 9300 { 9399 } else { addr.port() };
    let mut port = addr.port();
    let listener = loop {
        let at = SocketAddr::new(addr.ip(), port);
        match TcpListener::bind(at).await {
            Ok(l) => break l,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && port < last => port += 1,
            Err(source) => return Err(NodeError::Bind { what: "transport", addr: at.to_string(), source }),
        }
    };
    let bound = listener.local_addr().map_err(|source| NodeError::Bind {
        what: "transport",
        addr: addr.to_string(),
        source,
    })?;
    Ok((listener, bound))
}

/// The transport of a node that has one: its listener (served once the store is open), the
/// client, and the address it publishes.
pub struct Transport {
    pub listener: TcpListener,
    pub client: Client,
    pub publish: SocketAddr,
}

/// Opens the store as this node's place in the cluster says: forming a cluster (a first node),
/// joining `joining` (an enrolled node, first start), or an existing member (an enrolled node
/// with `discovery.seed_hosts`). Binds the transport first when transport TLS is on.
pub async fn open_store(
    settings: &Settings,
    tls: Option<&Arc<LayerTls>>,
    joining: Option<&str>,
) -> Result<(Arc<Store>, Option<Transport>), NodeError> {
    let store_dir = settings.path_data.join("store");
    let member = !settings.discovery.seed_hosts.is_empty();
    let mut config = StoreConfig::new(&settings.node_name, "");
    config.heartbeat = Duration::from_millis(100);
    // The search indices move it as they commit (`Indices::release_log`); until they opened,
    // the log keeps everything they may replay.
    config.log_floor = Some(LogFloor::new());
    let transport = match tls {
        Some(layer) => {
            let (listener, bound) = bind(settings).await?;
            let publish = publish_address(settings, bound)?;
            let client = client(layer, publish.ip())?;
            config.address = publish.to_string();
            config.transport = Arc::new(RaftClient::new(client.clone()));
            Some(Transport { listener, client, publish })
        }
        None if joining.is_some() || member => {
            return Err(NodeError::Config(
                "[discovery.seed_hosts] is set, so this node belongs to a cluster of several nodes, but transport TLS is off: nodes talk only over mutual TLS; set xpack.security.transport.ssl.enabled: true with the transport keystore".into(),
            ));
        }
        None => {
            config.address = bind_address(settings)?.to_string();
            None
        }
    };
    config.bootstrap = match joining {
        Some(uuid) => {
            let id = bulwark_random::bytes::<8>().map_err(NodeError::random("cannot make a node id"))?;
            config.node_id = u64::from_le_bytes(id).max(2);
            Bootstrap::Join { cluster_uuid: uuid.to_owned() }
        }
        None if member => Bootstrap::Existing,
        None => Bootstrap::FormCluster,
    };
    let store = Store::open_with(&store_dir, config)
        .await
        .map_err(NodeError::store(format!("cannot open the store in [{}]", store_dir.display())))?;
    Ok((Arc::new(store), transport))
}

/// The client this node calls others with, from its own transport address.
pub fn client(layer: &Arc<LayerTls>, local: IpAddr) -> Result<Client, NodeError> {
    let initial = layer.client_config().ok_or_else(|| {
        NodeError::Config(
            "the transport layer's certificate and key cannot be used to connect to other nodes (see the warning above); check xpack.security.transport.ssl.*".into(),
        )
    })?;
    let layer = layer.clone();
    Ok(Client::new(Arc::new(move || layer.client_config().unwrap_or_else(|| initial.clone())), Some(local)))
}

/// Answers the transport's calls on this node.
struct NodeService {
    store: Arc<Store>,
    raft: StoreService,
    client: Client,
    node_name: String,
    indices: Arc<dyn IndexService>,
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec(v).map_err(|e| Failure::fatal(e.to_string()))
}

impl Handler for NodeService {
    fn call(&self, method: &str, body: Bytes) -> BoxFuture<Result<Vec<u8>, Failure>> {
        if let Some(f) = self.raft.call(method, body.clone()) {
            return f;
        }
        let (store, client) = (self.store.clone(), self.client.clone());
        match method {
            "cluster/info" => {
                let info = ClusterInfo {
                    cluster_uuid: store.cluster_uuid().to_owned(),
                    node_name: self.node_name.clone(),
                    leader: store.leader(),
                    node_id: Some(store.node_id()),
                };
                Box::pin(async move { encode(&info) })
            }
            "nodes/stats" => {
                let indices = self.indices.clone();
                Box::pin(async move {
                    let stats = tokio::task::spawn_blocking(move || indices.node_stats())
                        .await
                        .map_err(|e| Failure::fatal(format!("gathering this node's stats failed: {e}")))?;
                    encode(&stats)
                })
            }
            "cluster/join" => Box::pin(async move {
                let req: JoinRequest = serde_json::from_slice(&body)
                    .map_err(|e| Failure::fatal(format!("malformed join: {e}")))?;
                join_here(&store, &client, req, body).await
            }),
            other => {
                let m = format!("no transport method [{other}]");
                Box::pin(async move { Err(Failure::fatal(m)) })
            }
        }
    }
}

/// Carries out a join on the leader, or passes it to the leader.
async fn join_here(
    store: &Arc<Store>,
    client: &Client,
    req: JoinRequest,
    body: Bytes,
) -> Result<Vec<u8>, Failure> {
    if req.cluster_uuid != store.cluster_uuid() {
        return Err(Failure::fatal(format!(
            "the joining node belongs to cluster [{}], this node to cluster [{}]",
            req.cluster_uuid,
            store.cluster_uuid()
        )));
    }
    let Some(leader) = store.leader() else { return Err(Failure::retry("no leader is known yet")) };
    if leader != store.node_id() {
        let member = store.members().into_iter().find(|m| m.id == leader);
        let Some(member) = member else {
            return Err(Failure::retry("the leader is not in the membership yet"));
        };
        return client.call(&member.address, "cluster/join", body.to_vec(), JOIN_TIMEOUT).await.map_err(
            |e| Failure { retry: e.is_retry_safe(), message: format!("passing the join to the leader: {e}") },
        );
    }
    if store.members().iter().any(|m| m.id == req.id && (m.voter || m.standby)) {
        return Ok(b"{}".to_vec());
    }
    call_back(client, &req).await?;
    tracing::info!(node = req.id, name = %req.name, address = %req.address, "a node joins the cluster");
    // In a task of its own: when the joining node gives up and drops the call, the addition
    // still finishes or is undone, rather than leaving a learner behind.
    let (admitting, id, name) = (store.clone(), req.id, req.name.clone());
    let node = NodeInfo::new(&req.name, &req.address);
    let admitted = tokio::spawn(async move { admitting.admit(id, node, ADMIT_TIMEOUT).await })
        .await
        .map_err(|e| Failure::fatal(format!("adding the node failed: {e}")))?;
    let voter = admitted.map_err(|e| match e {
        StoreError::NotLeader { .. } => Failure::retry(e.to_string()),
        other => {
            tracing::warn!(node = id, %name, "refused a join: adding the node failed ({other}); it is not a member");
            Failure::fatal(format!(
                "adding the node failed: {other}; it was taken out of the membership again, so start it again to retry"
            ))
        }
    })?;
    if voter {
        tracing::info!(node = req.id, name = %req.name, "the node joined the cluster as a voter");
    } else {
        tracing::info!(
            node = req.id,
            name = %req.name,
            "the node joined the cluster as a standby member: it receives everything but does not vote until another node joins, so that the voting configuration stays odd (as Elasticsearch keeps it)"
        );
    }
    Ok(b"{}".to_vec())
}

/// How long a restarted member waits for a leader before it serves clients from its own state
/// (a full-cluster restart, or this node is on a minority side).
const CATCH_UP_FIND_LEADER: Duration = Duration::from_secs(5);
/// How long a restarted member gives itself to catch up with the leader (from the log, or by
/// receiving a snapshot) before it serves clients anyway.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(30);

/// Before a restarted member serves HTTP: waits until it applied what the leader had committed,
/// so that its first answers already hold every write acknowledged while it was down (a node
/// behind the leader's compacted log receives a snapshot first, which can take longer than a
/// request's read barrier waits). Without a leader, or when that takes too long, it serves from
/// its own state, as a node on the minority side does, and says so.
pub async fn catch_up(store: &Store) {
    let started = Instant::now();
    match store.catch_up(CATCH_UP_FIND_LEADER, CATCH_UP_TIMEOUT).await {
        Ok(Some(index)) => tracing::info!(
            log_index = index,
            millis = started.elapsed().as_millis() as u64,
            "caught up with the cluster's leader at log index {index} in {} ms",
            started.elapsed().as_millis()
        ),
        Ok(None) => {}
        Err(e) => tracing::warn!(
            "not caught up with the cluster before serving ({e}): until a leader is reachable this node answers reads from its own state, which may miss recent writes, and refuses writes"
        ),
    }
}

/// Calls a joining node back at the address it gave, before it becomes a member: when the
/// cluster cannot reach it there, adding it would leave a member that never receives the log
/// (as Elasticsearch's master validates a join by connecting back to the node).
async fn call_back(client: &Client, req: &JoinRequest) -> Result<(), Failure> {
    let failed = |why: String| {
        tracing::warn!(node = req.id, name = %req.name, "refused a join: {UNREACHABLE}: [{}] {why}", req.address);
        Failure::fatal(format!(
            "{UNREACHABLE}: the leader called the joining node back at [{}] and {why}; set transport.publish_host (or transport.host) to an address of the joining node that the cluster's nodes can reach",
            req.address
        ))
    };
    let body = client
        .call(&req.address, "cluster/info", Vec::new(), CALL_TIMEOUT)
        .await
        .map_err(|e| failed(format!("got no answer ({e})")))?;
    let info: ClusterInfo =
        serde_json::from_slice(&body).map_err(|e| failed(format!("got a malformed answer ({e})")))?;
    if info.node_id != Some(req.id) {
        return Err(failed(format!("another node answered there ([{}])", info.node_name)));
    }
    Ok(())
}

/// What the transport answers with on this node.
pub struct Local {
    pub store: Arc<Store>,
    pub client: Client,
    pub node_name: String,
    /// Its search indices (`nodes/stats`).
    pub indices: Arc<dyn IndexService>,
}

/// Serves the transport on `listener` until the process ends.
pub fn serve(
    listener: TcpListener,
    layer: &Arc<LayerTls>,
    full_verification: bool,
    node: Local,
    audit: impl Fn(AuditEvent) + Send + Sync + 'static,
) {
    let Local { store, client, node_name, indices } = node;
    let tls_layer = layer.clone();
    let tls =
        ServerTls { config: Arc::new(move || tls_layer.config()), check_peer_address: full_verification };
    let service = NodeService { raft: StoreService::new(store.clone()), store, client, node_name, indices };
    let denied = Arc::new(move |peer: SocketAddr, why: &str| {
        audit(AuditEvent::ConnectionDenied { address: peer.ip(), reason: why.to_owned() });
    });
    bulwark_transport::serve(listener, tls, Arc::new(service), denied);
}

/// Another member's `_nodes/stats` numbers, asked at `address` with `timeout` to answer; a
/// failure says why in Elasticsearch's terms.
pub fn member_stats(client: &Client, address: &str, timeout: Duration) -> MemberStatsFuture {
    let (client, address) = (client.clone(), address.to_owned());
    Box::pin(async move {
        let failure = |kind, reason: String| MemberFailure { kind, reason };
        match client.call(&address, "nodes/stats", Vec::new(), timeout).await {
            Ok(b) => serde_json::from_slice::<NodeStats>(&b)
                .map_err(|e| failure(ErrorType::Transport, format!("unreadable answer: {e}"))),
            Err(CallError::Connect { reason, .. }) => Err(failure(ErrorType::ConnectTransport, reason)),
            Err(CallError::TimedOut { after, .. }) => Err(failure(
                ErrorType::ReceiveTimeoutTransport,
                format!("timed out after [{}ms]", after.as_millis()),
            )),
            Err(CallError::Lost { reason, .. }) => Err(failure(ErrorType::NodeDisconnected, reason)),
            Err(CallError::Remote { message, .. }) => Err(failure(ErrorType::RemoteTransport, message)),
        }
    })
}

/// The cluster's identity, from the first of `addresses` that answers.
pub async fn info(client: &Client, addresses: &[String]) -> Result<ClusterInfo, String> {
    let mut errors = Vec::new();
    for a in addresses {
        match client.call(a, "cluster/info", Vec::new(), CALL_TIMEOUT).await {
            Ok(b) => return serde_json::from_slice(&b).map_err(|e| format!("[{a}] answered nonsense: {e}")),
            Err(e) => errors.push(e.to_string()),
        }
    }
    Err(errors.join("; "))
}

/// `discovery.seed_hosts` as transport addresses (a host alone means port 9300).
pub fn seed_addresses(settings: &Settings) -> Vec<String> {
    settings
        .discovery
        .seed_hosts
        .iter()
        .map(|h| {
            let bare_v6 = h.parse::<std::net::Ipv6Addr>().is_ok();
            if bare_v6 {
                format!("[{h}]:9300")
            } else if h.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
                h.clone()
            } else {
                format!("{h}:9300")
            }
        })
        .collect()
}

/// The cluster a node with `discovery.seed_hosts` and an empty store joins (its transport
/// certificate made from the cluster's transport CA by hand, as Elasticsearch allows): its UUID
/// and the seeds' addresses. The seeds' transport admits only a certificate signed by that CA,
/// not revoked and naming this node's address. Like Elasticsearch's discovery, this keeps asking
/// until a seed admits the node (the seeds may not be up yet, or their trust may be fixed), and
/// says why at WARN every 10 seconds; nothing is written to the store meanwhile.
pub async fn discover(
    settings: &Settings,
    tls: Option<&Arc<LayerTls>>,
) -> Result<(String, Vec<String>), NodeError> {
    let Some(layer) = tls else {
        return Err(NodeError::Config(
            "[discovery.seed_hosts] is set, so this node joins a cluster, but transport TLS is off: nodes talk only over mutual TLS; set xpack.security.transport.ssl.enabled: true with the transport certificate".into(),
        ));
    };
    let local = publish_address(settings, bind_address(settings)?)?;
    let client = client(layer, local.ip())?;
    let seeds = seed_addresses(settings);
    let started = Instant::now();
    let mut warned: Option<Instant> = None;
    loop {
        match info(&client, &seeds).await {
            Ok(found) => return Ok((found.cluster_uuid, seeds)),
            Err(e) => {
                if warned.is_none_or(|t| t.elapsed() >= DISCOVERY_WARNING) {
                    warned = Some(Instant::now());
                    tracing::warn!(
                        "cluster not discovered yet after {}s: this node holds no cluster state, so it joins the cluster of [discovery.seed_hosts], but none of {seeds:?} admitted it over the transport ({e}); its transport certificate must be signed by the cluster's transport CA, name this node's address [{}] and not be revoked (or start it with `bulwark start --enrollment-token`); discovery continues",
                        started.elapsed().as_secs(),
                        local.ip()
                    );
                }
                tokio::time::sleep(DISCOVERY_RETRY).await;
            }
        }
    }
}

/// Asks the cluster (any of `addresses`) to add this node, retrying while a leader is elected.
pub async fn join(client: &Client, addresses: &[String], req: &JoinRequest) -> Result<(), String> {
    let body = serde_json::to_vec(req).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + JOIN_TIMEOUT;
    let mut last = String::from("no address to join");
    while Instant::now() < deadline {
        for a in addresses {
            match client.call(a, "cluster/join", body.clone(), JOIN_TIMEOUT).await {
                Ok(_) => return Ok(()),
                Err(e) if e.is_retry_safe() => last = e.to_string(),
                Err(e) => return Err(e.to_string()),
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last)
}

/// The check a failed join names: [`UNREACHABLE`] when the leader could not call the node back,
/// else `join`.
pub fn join_check(error: &str) -> &'static str {
    if error.contains(UNREACHABLE) { UNREACHABLE } else { "join" }
}

/// Removes everything in `dir` (a node's data written by a join that failed), and `dir` itself
/// unless it existed before (`keep`).
pub fn empty_dir(dir: &std::path::Path, keep: bool) -> std::io::Result<()> {
    if !keep {
        return match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() { std::fs::remove_dir_all(&path)? } else { std::fs::remove_file(&path)? }
    }
    Ok(())
}
