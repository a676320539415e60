//! Several stores in one process, connected by the in-process `LocalNetwork`: proves the network
//! boundary carries replication, snapshots and elections.

use std::sync::Arc;
use std::time::Duration;

use bulwark_store::{
    AppliedEvent, Bootstrap, Command, EntryKind, LocalNetwork, NodeId, NodeInfo, Store, StoreConfig,
    StoreError,
};
use serde_json::json;
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(10);

fn address(id: NodeId) -> String {
    format!("127.0.0.1:{}", 9300 + id)
}

fn config(net: &LocalNetwork, id: NodeId, bootstrap: Bootstrap) -> StoreConfig {
    let mut config = StoreConfig::new(format!("node-{id}"), address(id));
    config.node_id = id;
    config.bootstrap = bootstrap;
    config.transport = Arc::new(net.clone());
    config
}

/// Opens node `id` (node 1 forms the cluster, the others join it) and makes it reachable.
async fn start(
    net: &LocalNetwork,
    dirs: &[TempDir],
    id: NodeId,
    uuid: Option<&str>,
    tweak: impl Fn(&mut StoreConfig),
) -> Store {
    let bootstrap = match uuid {
        None => Bootstrap::FormCluster,
        Some(u) => Bootstrap::Join { cluster_uuid: u.to_string() },
    };
    let mut config = config(net, id, bootstrap);
    tweak(&mut config);
    let store = Store::open_with(dirs[(id - 1) as usize].path(), config).await.unwrap();
    net.register(id, store.raft().clone());
    store
}

/// Waits until `store` has applied at least log index `index`.
async fn caught_up(store: &Store, index: u64) {
    store.raft().wait(Some(WAIT)).applied_index_at_least(Some(index), "caught up").await.unwrap();
}

/// Writes `cmd` through the leader's Raft and returns the log index it was given.
async fn write(store: &Store, cmd: Command) -> u64 {
    store.raft().client_write(cmd).await.unwrap().log_id.index
}

fn user(n: u64) -> Command {
    Command::PutEntry { kind: EntryKind::User, id: format!("u{n}"), value: json!({"n": n}) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_replicate_every_write_and_survive_the_loss_of_the_leader() {
    let net = LocalNetwork::new();
    let dirs: Vec<TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let n1 = start(&net, &dirs, 1, None, |_| {}).await;
    let uuid = n1.cluster_uuid().to_string();
    let n2 = start(&net, &dirs, 2, Some(&uuid), |_| {}).await;
    let n3 = start(&net, &dirs, 3, Some(&uuid), |_| {}).await;
    n1.add_member(2, NodeInfo::new("node-2", address(2))).await.unwrap();
    n1.add_member(3, NodeInfo::new("node-3", address(3))).await.unwrap();

    let mut follower_events = n3.subscribe();
    write(&n1, user(1)).await;
    let index = write(&n1, Command::CreateIndex { name: "logs".into(), metadata: json!({}) }).await;
    for node in [&n1, &n2, &n3] {
        caught_up(node, index).await;
        assert_eq!(
            node.get_entry(EntryKind::User, "u1").unwrap(),
            Some(json!({"n": 1})),
            "node {}",
            node.node_id()
        );
        assert!(node.index("logs").unwrap().is_some());
        assert_eq!(node.cluster_uuid(), uuid);
        let members = node.members();
        assert_eq!(
            members.iter().map(|m| (m.id, m.voter)).collect::<Vec<_>>(),
            [(1, true), (2, true), (3, true)]
        );
        assert_eq!(members[1].address, address(2));
    }
    assert_eq!(
        next_change(&mut follower_events).await,
        AppliedEvent::Entry { kind: EntryKind::User, id: "u1".into() }
    );

    // A follower refuses writes and names the leader.
    let err = n2.write(user(2)).await.unwrap_err();
    let StoreError::NotLeader { leader: Some(leader) } = &err else { panic!("{err:?}") };
    assert_eq!((leader.id, leader.address.as_str()), (1, address(1).as_str()));

    // The leader goes away; the other two elect one of themselves and go on.
    net.unregister(1);
    n1.shutdown().await.unwrap();
    let metrics = n2
        .raft()
        .wait(Some(WAIT))
        .metrics(|m| matches!(m.current_leader, Some(2) | Some(3)), "a new leader")
        .await
        .unwrap();
    let (leader, other) = if metrics.current_leader == Some(2) { (&n2, &n3) } else { (&n3, &n2) };
    let index = write(leader, user(3)).await;
    caught_up(other, index).await;
    assert_eq!(other.get_entry(EntryKind::User, "u3").unwrap(), Some(json!({"n": 3})));
    assert_eq!(other.get_entry(EntryKind::User, "u1").unwrap(), Some(json!({"n": 1})));
    n2.shutdown().await.unwrap();
    n3.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_joins_after_compaction_gets_a_snapshot() {
    let net = LocalNetwork::new();
    let dirs: Vec<TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let small_log = |c: &mut StoreConfig| {
        c.snapshot_every = 10;
        c.logs_to_keep = 0;
    };
    let n1 = start(&net, &dirs, 1, None, small_log).await;
    let mut last = 0;
    n1.write(Command::CreateIndex { name: "i".into(), metadata: json!({"m": 1}) }).await.unwrap();
    for n in 0..30 {
        n1.write(user(n)).await.unwrap();
        let doc = Command::IndexDocument {
            index: "i".into(),
            id: format!("{}", n % 7),
            source: json!({"n": n}).into(),
            op: bulwark_store::DocOp::Index,
            if_seq_no: None,
            if_primary_term: None,
        };
        last = write(&n1, doc).await;
    }
    n1.raft().wait(Some(WAIT)).metrics(|m| m.purged.is_some(), "the log is compacted").await.unwrap();

    let uuid = n1.cluster_uuid().to_string();
    let n2 = start(&net, &dirs, 2, Some(&uuid), small_log).await;
    let mut events = n2.subscribe();
    n1.add_member(2, NodeInfo::new("node-2", address(2))).await.unwrap();
    caught_up(&n2, last).await;
    assert_eq!(
        next_change(&mut events).await,
        AppliedEvent::Reset,
        "the follower was brought up by a snapshot"
    );
    assert_eq!(n2.entries(EntryKind::User).unwrap(), n1.entries(EntryKind::User).unwrap());
    assert_eq!(n2.entries(EntryKind::User).unwrap().len(), 30);
    assert_eq!(n2.documents("i").unwrap(), n1.documents("i").unwrap());
    assert_eq!(n2.index("i").unwrap(), Some(json!({"m": 1})));

    // The follower's copy survives its restart; it cannot be made to join another cluster.
    net.unregister(2);
    n2.shutdown().await.unwrap();
    let other = config(&net, 2, Bootstrap::Join { cluster_uuid: "another-cluster-uuid0".into() });
    let err = Store::open_with(dirs[1].path(), other).await.err().expect("refused");
    assert!(matches!(err, StoreError::ClusterMismatch { .. }), "{err:?}");
    let n2 = start(&net, &dirs, 2, Some(&uuid), small_log).await;
    assert_eq!(n2.entries(EntryKind::User).unwrap().len(), 30);
    assert_eq!(n2.cluster_uuid(), uuid);
    n2.shutdown().await.unwrap();
    n1.shutdown().await.unwrap();
}

/// The next event that is not a position marker.
async fn next_change(rx: &mut tokio::sync::broadcast::Receiver<AppliedEvent>) -> AppliedEvent {
    loop {
        match rx.recv().await.unwrap() {
            AppliedEvent::Through { .. } => {}
            e => return e,
        }
    }
}

/// A node added as a learner that never catches up (it is gone) is taken out of the membership
/// again once the deadline passed, and the cluster then admits a real node as before (as a
/// standby member: two voters would need both).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_that_never_catches_up_is_removed_again() {
    let net = LocalNetwork::new();
    let dirs: Vec<TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let n1 = start(&net, &dirs, 1, None, |_| {}).await;
    write(&n1, user(1)).await;
    let started = std::time::Instant::now();
    let err = n1.admit(9, NodeInfo::new("gone", address(9)), Duration::from_secs(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < WAIT, "the deadline held: {:?}", started.elapsed());
    let ids: Vec<NodeId> = n1.members().iter().map(|m| m.id).collect();
    assert_eq!(ids, [1], "the learner was removed");
    write(&n1, user(2)).await;

    let uuid = n1.cluster_uuid().to_string();
    let _n2 = start(&net, &dirs, 2, Some(&uuid), |_| {}).await;
    let voter = n1.admit(2, NodeInfo::new("node-2", address(2)), WAIT).await.unwrap();
    assert!(!voter, "a second voter would make the voting configuration even");
    let members: Vec<(NodeId, bool, bool)> =
        n1.members().iter().map(|m| (m.id, m.voter, m.standby)).collect();
    assert_eq!(members, [(1, true, false), (2, false, true)], "node 2 stands by");
}

/// Every node's current Raft term.
fn terms(nodes: &[&Store]) -> Vec<u64> {
    nodes.iter().map(|n| n.raft().metrics().borrow().current_term).collect()
}

/// A node's heartbeat interval (`bulwark-node`'s `cluster.rs`).
const NODE_HEARTBEAT: Duration = Duration::from_millis(100);

/// How long the leader's Raft core is held up below: longer than the 1.5 to 2 s a follower used
/// to wait for a heartbeat at [`NODE_HEARTBEAT`] (leader lease plus election timeout, 5 to 10
/// heartbeats each), within the 3 to 4 s it waits now (10 to 20 heartbeats each).
const STALL: Duration = Duration::from_millis(2500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_held_up_by_slow_storage_keeps_its_leadership() {
    let net = LocalNetwork::new();
    let dirs: Vec<TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let as_a_node = |c: &mut StoreConfig| c.heartbeat = NODE_HEARTBEAT;
    let n1 = start(&net, &dirs, 1, None, as_a_node).await;
    let uuid = n1.cluster_uuid().to_string();
    let n2 = start(&net, &dirs, 2, Some(&uuid), as_a_node).await;
    let n3 = start(&net, &dirs, 3, Some(&uuid), as_a_node).await;
    n1.add_member(2, NodeInfo::new("node-2", address(2))).await.unwrap();
    n1.add_member(3, NodeInfo::new("node-3", address(3))).await.unwrap();
    let index = write(&n1, user(1)).await;
    for node in [&n1, &n2, &n3] {
        caught_up(node, index).await;
    }
    let before = terms(&[&n1, &n2, &n3]);

    // The core runs this closure itself, as it awaits a slow log write: no heartbeat leaves it.
    n1.raft().with_raft_state(|_| std::thread::sleep(STALL)).await.unwrap();

    // A write through it still commits, and no node started an election meanwhile (an election
    // raises the candidate's term, whoever wins it).
    let index = match n1.raft().client_write(user(2)).await {
        Ok(r) => r.log_id.index,
        Err(e) => panic!("the leader lost its leadership while its core was held up for {STALL:?}: {e}"),
    };
    for node in [&n1, &n2, &n3] {
        caught_up(node, index).await;
    }
    assert_eq!(
        terms(&[&n1, &n2, &n3]),
        before,
        "an election was held while the leader was held up for {STALL:?}"
    );
    for node in [n1, n2, n3] {
        node.shutdown().await.unwrap();
    }
}
