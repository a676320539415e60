//! The store facade: opening, writing through Raft, and reading the local state machine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::error::{InitializeError, RaftError};
use openraft::{ChangeMembers, LogId, ServerState, SnapshotPolicy};
use tokio::sync::broadcast;

use crate::command::EntryKind;
use crate::config::{Bootstrap, StoreConfig};
use crate::db;
use crate::document::StoredDoc;
use crate::error::StoreError;
use crate::event::AppliedEvent;
use crate::format;
use crate::identity::{ClusterIdentity, new_cluster_uuid};
use crate::log_store::{LOG_FILE, LogStore};
use crate::network::Network;
use crate::reader::StateReader;
use crate::state_machine::StateMachine;
use crate::tables::STATE_FILE;
use crate::types::{Member, NodeId, NodeInfo, Raft};

/// A node's replicated store: every change is a [`Command`] committed through Raft and applied to
/// a durable state machine; reads are served from the local state machine.
pub struct Store {
    pub(crate) raft: Raft,
    reader: StateReader,
    log: LogStore,
    events: broadcast::Sender<AppliedEvent>,
    identity: ClusterIdentity,
    dir: PathBuf,
    pub(crate) transport: Arc<dyn crate::network::RaftTransport>,
    pub(crate) write_timeout: Duration,
    log_floor: Option<crate::LogFloor>,
}

pub(crate) fn raft_err(context: &'static str) -> impl Fn(&dyn std::fmt::Display) -> StoreError {
    move |e| StoreError::Raft { context, detail: e.to_string() }
}

impl Store {
    /// Opens or creates the store in `dir` (e.g. `<data>/store`) as node 1 of a single-member
    /// cluster, formed on the first open, and waits until this node is the leader with the whole
    /// log applied.
    pub async fn open(dir: &Path, node_name: &str, address: &str) -> Result<Store, StoreError> {
        Store::open_with(dir, StoreConfig::new(node_name, address)).await
    }

    /// Opens or creates the store in `dir` with explicit options.
    pub async fn open_with(dir: &Path, config: StoreConfig) -> Result<Store, StoreError> {
        let owned_dir = dir.to_path_buf();
        let check = config.page_check;
        let (log, sm) = db::blocking("opening the store", move || {
            format::check_or_create(&owned_dir, &[LOG_FILE, STATE_FILE])?;
            let log = LogStore::open(&owned_dir.join(LOG_FILE), check)?;
            let sm = StateMachine::open(&owned_dir.join(STATE_FILE), check)?;
            Ok((log, sm))
        })
        .await?;

        let (applied, membership) = sm.reader().applied_state()?;
        let sm_voters = membership.membership().voter_ids().count();
        check_log_covers_state(&log, applied.as_ref(), dir)?;
        let identity = load_identity(&log, applied.is_some(), &config, dir).await?;

        let raft_config = openraft::Config {
            cluster_name: "bulwark".to_string(),
            // Compaction (snapshot and purge) is `compaction.rs`'s: by entries and by bytes, and
            // never past what the search indices still need.
            snapshot_policy: SnapshotPolicy::Never,
            max_in_snapshot_log_to_keep: u64::MAX,
            heartbeat_interval: config.heartbeat.as_millis() as u64,
            // A follower stands for election after the leader lease (openraft: the longest
            // election timeout) plus a random election timeout without hearing from the leader:
            // 30 to 40 heartbeats, 3 to 4 s at a node's 100 ms. With 15 to 20 (5 to 10 each),
            // followers of a leader taking large `_bulk`s on a loaded host went without a
            // message for that long and stood for election (docs/cluster.md, "Heartbeats under
            // load"); a leader's core also waits for every log write with its fsync.
            election_timeout_min: ELECTION_TIMEOUT_MIN_HEARTBEATS * config.heartbeat.as_millis() as u64,
            election_timeout_max: 2 * ELECTION_TIMEOUT_MIN_HEARTBEATS * config.heartbeat.as_millis() as u64,
            install_snapshot_timeout: 10_000,
            // Each chunk is one transport call: small enough to travel well within its deadline
            // on a loaded host.
            snapshot_max_chunk_size: 1 << 20,
            ..Default::default()
        }
        .validate()
        .map_err(|e| raft_err("checking the Raft configuration")(&e))?;

        let reader = sm.reader();
        let events = sm.events();
        let network = Network::new(config.transport.clone());
        let raft = Raft::new(identity.node_id, Arc::new(raft_config), network, log.applying(), sm)
            .await
            .map_err(|e| raft_err("starting Raft on the store")(&e))?;
        if config.bootstrap == Bootstrap::Existing && sm_voters > 1 {
            // A restarted member of a cluster of several waits to hear from the leader before it
            // stands for election ([`Store::catch_up`] allows it again): a node far behind gets
            // no heartbeat until the leader's snapshot is installed, and an election of its own
            // meanwhile (which it cannot win) would only make the leader step down.
            raft.runtime_config().elect(false);
        }
        spawn_leader_log(&raft);
        spawn_core_probe(&raft);
        crate::compaction::spawn(raft.clone(), log.clone(), config.compaction(), config.log_floor.clone());
        let store = Store {
            raft,
            reader,
            log,
            events,
            identity,
            dir: dir.to_path_buf(),
            transport: config.transport.clone(),
            write_timeout: config.write_timeout,
            log_floor: config.log_floor.clone(),
        };

        match store.start(&config).await {
            Ok(()) => Ok(store),
            Err(e) => {
                // Release the files before reporting.
                let _ = store.shutdown().await;
                Err(e)
            }
        }
    }

    /// Forms the cluster on a first start, then, when this node is the only voter, waits until it
    /// leads with the whole log applied and its membership entry names it as configured.
    async fn start(&self, config: &StoreConfig) -> Result<(), StoreError> {
        let id = self.identity.node_id;
        let me = NodeInfo::new(&config.node_name, &config.address);
        let initialized = self.raft.is_initialized().await.map_err(|e| raft_err("starting Raft")(&e))?;
        if !initialized {
            match &config.bootstrap {
                Bootstrap::FormCluster => {
                    let members = BTreeMap::from([(id, me.clone())]);
                    match self.raft.initialize(members).await {
                        Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
                        Err(e) => return Err(raft_err("forming a single-member cluster")(&e)),
                    }
                }
                Bootstrap::Join { .. } | Bootstrap::Existing => return Ok(()),
            }
        }

        // Ask the Raft core itself: the metrics channel may not have caught up yet.
        let membership = self
            .raft
            .with_raft_state(|st| st.membership_state.effective().membership().clone())
            .await
            .map_err(|e| raft_err("reading the membership")(&e))?;
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        if voters != BTreeSet::from([id]) {
            return Ok(());
        }
        let timeout = config.leader_timeout;
        let started = Instant::now();
        let metrics = self
            .raft
            .wait(Some(timeout))
            .metrics(|m| m.state == ServerState::Leader && m.current_leader == Some(id), "this node leads")
            .await
            .map_err(|_| StoreError::Timeout {
                what: "this node to become the leader of its single-member cluster".to_string(),
                waited: timeout,
            })?;
        let remaining = timeout.saturating_sub(started.elapsed()).max(Duration::from_millis(100));
        self.raft
            .wait(Some(remaining))
            .applied_index_at_least(metrics.last_log_index, "the log is applied")
            .await
            .map_err(|_| StoreError::Timeout {
                what: "the log to be applied".to_string(),
                waited: timeout,
            })?;

        if membership.get_node(&id) != Some(&me) {
            tracing::info!(node = id, name = %me.name, address = %me.address, "updating this node's name and address in the membership");
            self.raft
                .change_membership(ChangeMembers::SetNodes(BTreeMap::from([(id, me.clone())])), true)
                .await
                .map_err(|e| raft_err("updating this node's address in the membership")(&e))?;
        }
        // So that `members()` answers from the metrics channel with this node as configured.
        self.raft
            .wait(Some(remaining))
            .metrics(
                |m| m.membership_config.membership().get_node(&id) == Some(&me),
                "the membership is published",
            )
            .await
            .map_err(|_| StoreError::Timeout {
                what: "the membership to be published".to_string(),
                waited: timeout,
            })?;
        Ok(())
    }

    /// The cluster UUID, stable across restarts.
    pub fn cluster_uuid(&self) -> &str {
        &self.identity.cluster_uuid
    }

    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.identity.node_id
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The members of the current membership configuration, by id.
    pub fn members(&self) -> Vec<Member> {
        let stored = self.raft.metrics().borrow().membership_config.clone();
        let membership = stored.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        membership
            .nodes()
            .map(|(id, node)| Member {
                id: *id,
                name: node.name.clone(),
                address: node.address.clone(),
                voter: voters.contains(id),
                standby: node.standby && !voters.contains(id),
            })
            .collect()
    }

    /// The current leader's id, if one is known.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    /// Adds node `id` to the cluster: first as a learner that receives the log (this waits until
    /// it has caught up), then as a voter. Must be called on the leader.
    pub async fn add_member(&self, id: NodeId, node: NodeInfo) -> Result<(), StoreError> {
        self.raft.add_learner(id, node, true).await.map_err(|e| raft_err("adding a learner")(&e))?;
        self.raft
            .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
            .await
            .map_err(|e| raft_err("promoting a learner to voter")(&e))?;
        Ok(())
    }

    /// Adds node `id` to the cluster, with at most `within` for all of it: first as a learner,
    /// which must have received the whole log as it was when it was added (openraft's own wait
    /// counts a learner within 5000 entries as caught up), then into the voting configuration —
    /// kept odd, as Elasticsearch keeps it: a node that would make the number of voters even
    /// stays a *standby* member (it receives the log, it does not vote) until the next node
    /// joins, and then both become voters. So a second node never makes a one-node cluster
    /// depend on it (two voters need both), and a node that dies right after it caught up
    /// leaves a cluster that still has its majority. A node that does not catch up or become a
    /// voter in time (it stopped answering, or cannot keep up) is taken out of the membership
    /// again, so a join that gave up leaves no learner behind that the cluster would replicate
    /// to for ever. Returns whether the node votes. Must be called on the leader; dropping the
    /// future skips the clean-up (run it in a task of its own).
    pub async fn admit(&self, id: NodeId, node: NodeInfo, within: Duration) -> Result<bool, StoreError> {
        let deadline = Instant::now() + within;
        let voters = self.members().iter().filter(|m| m.voter).count();
        let node = NodeInfo { standby: !voters.is_multiple_of(2), ..node };
        self.raft.add_learner(id, node, false).await.map_err(|e| raft_err("adding a learner")(&e))?;
        let target = self.raft.metrics().borrow().last_log_index;
        let caught_up = self
            .raft
            .wait(Some(deadline.saturating_duration_since(Instant::now())))
            .metrics(
                |m| {
                    let matched = m.replication.as_ref().and_then(|r| r.get(&id).cloned()).flatten();
                    matched.map(|l| l.index) >= target
                },
                "the new node to catch up with the log",
            )
            .await;
        if caught_up.is_err() {
            self.remove_member(id).await?;
            return Err(StoreError::Timeout {
                what: format!("node {id} to catch up with the log"),
                waited: within,
            });
        }
        let members = self.members();
        let voters = members.iter().filter(|m| m.voter).count();
        let promote = if voters.is_multiple_of(2) {
            BTreeSet::from([id])
        } else if let Some(standby) = members.iter().find(|m| m.standby && m.id != id) {
            BTreeSet::from([id, standby.id])
        } else {
            return Ok(false);
        };
        let promote = self.raft.change_membership(ChangeMembers::AddVoterIds(promote), false);
        let error = match tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), promote)
            .await
        {
            Ok(Ok(_)) => return Ok(true),
            Ok(Err(e)) => raft_err("promoting a learner to voter")(&e),
            Err(_) => StoreError::Timeout { what: format!("node {id} to become a voter"), waited: within },
        };
        if self.members().iter().any(|m| m.id == id) {
            self.remove_member(id).await?;
        }
        Err(error)
    }

    /// Takes node `id` out of the membership (a voter stops voting first). Must be called on the
    /// leader.
    pub async fn remove_member(&self, id: NodeId) -> Result<(), StoreError> {
        let ids = BTreeSet::from([id]);
        if self.members().iter().any(|m| m.id == id && m.voter) {
            self.raft
                .change_membership(ChangeMembers::RemoveVoters(ids.clone()), true)
                .await
                .map_err(|e| raft_err("removing a voter")(&e))?;
        }
        self.raft
            .change_membership(ChangeMembers::RemoveNodes(ids), false)
            .await
            .map_err(|e| raft_err("removing a node")(&e))?;
        Ok(())
    }

    /// The Raft handle, for the transport's receiving side (hand it incoming `append_entries`,
    /// `vote` and `install_snapshot` requests) and for metrics.
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    /// The security store entry `id` of `kind`.
    pub fn get_entry(&self, kind: EntryKind, id: &str) -> Result<Option<serde_json::Value>, StoreError> {
        self.reader.get_entry(kind, id)
    }

    /// The security store entry `id` of `kind` as a `T`, decoded once for as long as the state
    /// does not change (later calls clone it).
    pub fn get_entry_as<T>(&self, kind: EntryKind, id: &str) -> Result<Option<T>, StoreError>
    where
        T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    {
        self.reader.get_entry_as(kind, id)
    }

    /// Every entry of `kind`, ordered by id.
    pub fn entries(&self, kind: EntryKind) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        self.reader.entries(kind)
    }

    /// The metadata of index `name`.
    pub fn index(&self, name: &str) -> Result<Option<serde_json::Value>, StoreError> {
        self.reader.index(name)
    }

    /// Every index with its metadata, ordered by name.
    pub fn indices(&self) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        self.reader.indices()
    }

    /// The document `id` of `index`.
    pub fn document(&self, index: &str, id: &str) -> Result<Option<StoredDoc>, StoreError> {
        self.reader.document(index, id)
    }

    /// Every document of `index`, ordered by id (for rebuilding a search index).
    pub fn documents(&self, index: &str) -> Result<Vec<(String, StoredDoc)>, StoreError> {
        self.reader.documents(index)
    }

    /// The index of the last log entry the state machine applied (0 before the first).
    pub fn applied_index(&self) -> Result<u64, StoreError> {
        Ok(self.reader.applied_state()?.0.map_or(0, |id| id.index))
    }

    /// What the log entries after `after` up to and including `upto` may have changed, each with
    /// its log index, as [`AppliedEvent`]s (conditional writes that were refused are included):
    /// re-reading each named item brings derived state from `after` to `upto`. `None` when the
    /// log was compacted past `after` (then rebuild from the state instead).
    pub fn changes_between(
        &self,
        after: u64,
        upto: u64,
    ) -> Result<Option<Vec<(u64, AppliedEvent)>>, StoreError> {
        self.log.changes(after, upto)
    }

    /// A receiver of every change applied from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<AppliedEvent> {
        self.events.subscribe()
    }

    /// How many entries the Raft log holds now (it is compacted, see [`crate::CompactionPolicy`]).
    pub fn log_len(&self) -> Result<u64, StoreError> {
        self.log.len()
    }

    /// The bytes the Raft log's entries take (their stored encoding).
    pub fn log_bytes(&self) -> u64 {
        self.log.bytes()
    }

    /// The floor this store was opened with ([`StoreConfig::log_floor`]): whoever holds it moves
    /// it as it no longer needs the entries up to a position.
    pub fn log_floor(&self) -> Option<&crate::LogFloor> {
        self.log_floor.as_ref()
    }

    /// Stops Raft and closes the store files.
    pub async fn shutdown(self) -> Result<(), StoreError> {
        let Store { raft, reader, log, .. } = self;
        let result = raft
            .shutdown()
            .await
            .map_err(|e| StoreError::Task { context: "shutting Raft down", detail: e.to_string() });
        drop(raft);
        // Raft's tasks hold the other handles on the files; wait (briefly) for them to finish, so
        // that the directory can be opened again as soon as this returns.
        let deadline = Instant::now() + Duration::from_secs(5);
        while (reader.handles() > 1 || log.handles() > 1) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        result
    }
}

/// Refuses a state file that is behind what log compaction removed: it was lost or replaced.
fn check_log_covers_state(
    log: &LogStore,
    applied: Option<&LogId<NodeId>>,
    dir: &Path,
) -> Result<(), StoreError> {
    match log.last_purged()? {
        Some(purged) if applied.is_none_or(|a| a.index < purged.index) => Err(StoreError::Corrupt {
            path: dir.join(STATE_FILE),
            detail: format!(
                "it holds state up to log index {}, but the log was compacted up to index {}: the file \
                 was lost, emptied or replaced by an older copy",
                applied.map_or_else(|| "none".to_string(), |a| a.index.to_string()),
                purged.index
            ),
        }),
        _ => Ok(()),
    }
}

/// The node's saved identity or, on a first open, a new one saved before anything else happens.
async fn load_identity(
    log: &LogStore,
    state_applied: bool,
    config: &StoreConfig,
    dir: &Path,
) -> Result<ClusterIdentity, StoreError> {
    if let Some(identity) = log.identity()? {
        if let Bootstrap::Join { cluster_uuid } = &config.bootstrap
            && cluster_uuid != &identity.cluster_uuid
        {
            return Err(StoreError::ClusterMismatch {
                path: dir.to_path_buf(),
                stored: identity.cluster_uuid,
                requested: cluster_uuid.clone(),
            });
        }
        return Ok(identity);
    }
    if state_applied {
        // The state machine applied entries of a log that is not there: the log file was
        // emptied, replaced or deleted. Forming a new cluster would hide that.
        return Err(StoreError::Corrupt {
            path: log.path().to_path_buf(),
            detail: format!(
                "it is empty or was replaced, but {} holds state applied from an earlier log",
                dir.join(STATE_FILE).display()
            ),
        });
    }
    let cluster_uuid = match &config.bootstrap {
        Bootstrap::FormCluster => new_cluster_uuid()?,
        Bootstrap::Join { cluster_uuid } => cluster_uuid.clone(),
        Bootstrap::Existing => {
            return Err(StoreError::Unavailable {
                reason: format!(
                    "this node was enrolled into a cluster, but its store in {} holds no cluster identity: it never finished joining; empty its data directory and enroll it again",
                    dir.display()
                ),
            });
        }
    };
    let identity = ClusterIdentity { cluster_uuid, node_id: config.node_id };
    let (log, saved) = (log.clone(), identity.clone());
    db::blocking("saving the cluster identity", move || log.save_identity(&saved)).await?;
    Ok(identity)
}

/// Logs each change of leader as this node sees it (one INFO line per change): the consensus
/// library's own lines are filtered out of the node log (see `bulwark-node`'s logging).
fn spawn_leader_log(raft: &Raft) {
    let mut metrics = raft.metrics();
    let me = raft_id(raft);
    tokio::spawn(async move {
        let mut last: Option<Option<NodeId>> = None;
        loop {
            let (leader, term) = {
                let m = metrics.borrow_and_update();
                (m.current_leader, m.current_term)
            };
            if last != Some(leader) {
                match leader {
                    Some(l) if l == me => tracing::info!(term, "this node is the leader"),
                    Some(l) => tracing::info!(term, leader = l, "following the leader"),
                    None if last.is_some() => tracing::info!(term, "no leader: an election is under way"),
                    None => {}
                }
                last = Some(leader);
            }
            if metrics.changed().await.is_err() {
                return;
            }
        }
    });
}

/// The shortest election timeout, in heartbeats (the longest is twice as long).
const ELECTION_TIMEOUT_MIN_HEARTBEATS: u64 = 10;

/// How often [`spawn_core_probe`] asks the Raft core a question.
const CORE_PROBE_INTERVAL: Duration = Duration::from_millis(500);

/// A Raft core that takes longer than this to answer is logged at WARN: it sends no heartbeat
/// meanwhile, and the other nodes elect another leader after 30 to 40 heartbeats without one.
const CORE_SLOW: Duration = Duration::from_millis(500);

/// Times, every [`CORE_PROBE_INTERVAL`], how long the Raft core takes to answer a question that
/// waits behind what it is doing (log writes, queued requests): at DEBUG always, at WARN past
/// [`CORE_SLOW`]. Ends when Raft shuts down.
fn spawn_core_probe(raft: &Raft) {
    let raft = raft.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(CORE_PROBE_INTERVAL).await;
            let started = Instant::now();
            if raft.with_raft_state(|_| ()).await.is_err() {
                return;
            }
            let took = started.elapsed();
            let took_ms = took.as_millis() as u64;
            if took > CORE_SLOW {
                tracing::warn!(
                    took_ms,
                    "the Raft core took {took_ms} ms to answer (it sends no heartbeat while busy): the host or the disk holding path.data is overloaded"
                );
            } else {
                tracing::debug!(took_ms, "the Raft core answered");
            }
        }
    });
}

fn raft_id(raft: &Raft) -> NodeId {
    raft.metrics().borrow().id
}
