//! Writes and reads in a cluster of several nodes: any node accepts a write and forwards it to
//! the leader over the transport; a read on a follower first catches up with the leader's commit
//! index (read-your-writes across nodes); a side without a majority refuses writes in bounded
//! time instead of hanging.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use openraft::ChangeMembers;
use openraft::error::{ClientWriteError, RaftError};
use serde::{Deserialize, Serialize};

use crate::command::{Command, CommandResponse};
use crate::error::StoreError;
use crate::network::{ForwardError, Forwarded};
use crate::store::{Store, raft_err};
use crate::types::{Member, NodeId, NodeInfo};

/// Pause between two attempts to reach a leader while one is being elected.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

fn no_leader(waited: Duration) -> StoreError {
    StoreError::Unavailable {
        reason: format!(
            "no cluster leader could be reached within {waited:?}: this node cannot reach a majority of the cluster's voting nodes (they are down, or this node is on the minority side of a network partition); the write was not carried out"
        ),
    }
}

fn no_quorum(waited: Duration) -> StoreError {
    StoreError::Unavailable {
        reason: format!(
            "the write was not acknowledged by a majority of the cluster's voting nodes within {waited:?}: they are down, or this node is on the minority side of a network partition; the write may still be carried out if they come back"
        ),
    }
}

impl Store {
    /// Proposes `cmd` and returns the state machine's response once the command is committed
    /// (durable on a majority) and applied on this node, so a read that follows sees it. On a
    /// follower the command is carried out by the leader (forwarded over the transport); while a
    /// leader is being elected the write waits, and it is refused with
    /// [`StoreError::Unavailable`] when no majority answers within the write timeout.
    pub async fn write(&self, cmd: Command) -> Result<CommandResponse, StoreError> {
        let deadline = Instant::now() + self.write_timeout;
        let done = self
            .on_leader(
                deadline,
                || self.write_as_leader(cmd.clone()),
                |leader, node, remaining| self.transport.forward(leader, &node, cmd.clone(), remaining),
            )
            .await?;
        // A forwarded write: read it back here too (at once on the leader itself).
        self.wait_applied(done.index, deadline).await?;
        Ok(done.response)
    }

    /// Carries out a request on the leader, before `deadline`: `here` when this node leads,
    /// `remote` (over the transport) when another one does. Waits while a leader is elected and
    /// retries while the request certainly did not run (no connection, or the target no longer
    /// leads).
    async fn on_leader<T, H, HF, R, RF>(&self, deadline: Instant, here: H, remote: R) -> Result<T, StoreError>
    where
        H: Fn() -> HF,
        HF: std::future::Future<Output = Result<T, StoreError>>,
        R: Fn(NodeId, NodeInfo, Duration) -> RF,
        RF: std::future::Future<Output = Result<T, ForwardError>>,
    {
        let waited = deadline.saturating_duration_since(Instant::now());
        loop {
            let Some(leader) = self.wait_for_leader(deadline).await else {
                return Err(no_leader(waited));
            };
            if leader.id == self.node_id() {
                match tokio::time::timeout_at(deadline.into(), here()).await {
                    Err(_) => return Err(no_quorum(waited)),
                    Ok(Err(StoreError::NotLeader { .. })) => {}
                    Ok(other) => return other,
                }
            } else {
                let remaining = deadline.saturating_duration_since(Instant::now());
                let node = NodeInfo::new(&leader.name, &leader.address);
                match remote(leader.id, node, remaining).await {
                    Ok(done) => return Ok(done),
                    Err(ForwardError::Unsupported) => {
                        return Err(StoreError::NotLeader { leader: Some(leader) });
                    }
                    Err(ForwardError::Failed(reason)) => return Err(StoreError::Unavailable { reason }),
                    Err(ForwardError::Refused(reason)) => return Err(StoreError::Refused { reason }),
                    Err(ForwardError::Retry(reason)) => {
                        tracing::debug!(
                            leader = leader.id,
                            "a request to the leader failed, retrying: {reason}"
                        );
                    }
                }
            }
            if Instant::now() + RETRY_PAUSE >= deadline {
                return Err(no_leader(waited));
            }
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }

    /// Writes `cmd` through this node's Raft, which must lead: the receiving side of a forwarded
    /// write. [`StoreError::NotLeader`] when it does not (the sender retries with the new
    /// leader).
    pub async fn write_as_leader(&self, cmd: Command) -> Result<Forwarded, StoreError> {
        let deadline = Instant::now() + self.write_timeout;
        match tokio::time::timeout_at(deadline.into(), self.raft.client_write(cmd)).await {
            Err(_) => Err(no_quorum(self.write_timeout)),
            Ok(Ok(resp)) => Ok(Forwarded { response: resp.data, index: resp.log_id.index }),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                let leader = f.leader_id.map(|id| {
                    let node = f.leader_node.unwrap_or_default();
                    Member { id, name: node.name, address: node.address, voter: true, standby: false }
                });
                Err(StoreError::NotLeader { leader })
            }
            Ok(Err(e)) => Err(raft_err("writing a command")(&e)),
        }
    }

    /// The leader's read index: the commit index once this node confirmed with a majority that
    /// it still leads (the receiving side of a follower's read barrier).
    pub async fn read_index_as_leader(&self) -> Result<u64, StoreError> {
        let timeout = self.write_timeout;
        match tokio::time::timeout(timeout, self.raft.get_read_log_id()).await {
            Err(_) => Err(no_quorum(timeout)),
            Ok(Ok((read, _applied))) => Ok(read.map_or(0, |l| l.index)),
            Ok(Err(RaftError::APIError(e))) => Err(StoreError::NotLeader { leader: None })
                .inspect_err(|_| tracing::debug!("read index: {e}")),
            Ok(Err(e)) => Err(raft_err("confirming leadership")(&e)),
        }
    }

    /// Waits (at most `timeout`) until this node applied everything the leader had committed
    /// when it was asked, so that a read here sees every write acknowledged anywhere before.
    /// Without a reachable leader the read is served from the local state as it is (a minority
    /// side keeps serving reads); the error says why the barrier was skipped. Returns the log
    /// index applied up to (`None` when this node is alone: it made every write).
    pub async fn read_barrier(&self, timeout: Duration) -> Result<Option<u64>, StoreError> {
        let deadline = Instant::now() + timeout;
        self.barrier(deadline, deadline).await
    }

    /// Catches up with the leader before a restarted member serves clients: waits at most
    /// `find_leader` for a leader to be known (none: a full-cluster restart or a minority, the
    /// error says so), then until `within` has passed in all for this node to apply the leader's
    /// commit index, which a node far behind reaches by receiving a snapshot. Returns the index
    /// caught up to (`None` when this node is alone). A restarted member stands for
    /// election only from then on (see [`Store::open_with`]), whether it caught up or not: in a
    /// full-cluster restart no leader is found, and the members elect one after `find_leader`.
    pub async fn catch_up(&self, find_leader: Duration, within: Duration) -> Result<Option<u64>, StoreError> {
        let now = Instant::now();
        let result = self.barrier(now + find_leader, now + within.max(find_leader)).await;
        self.raft.runtime_config().elect(true);
        result
    }

    /// [`Store::read_barrier`] with a deadline to find a leader and one to have applied its
    /// read index.
    async fn barrier(&self, find_leader: Instant, deadline: Instant) -> Result<Option<u64>, StoreError> {
        let (leader, single) = {
            let m = self.raft.metrics();
            let m = m.borrow();
            let single = m.membership_config.membership().nodes().count() <= 1;
            (m.current_leader, single)
        };
        if single {
            return Ok(None);
        }
        let leader = match leader {
            Some(l) => l,
            // Just restarted, or an election is on: wait (briefly) for a leader to be known.
            None => match self.wait_for_leader(find_leader).await {
                Some(m) => m.id,
                None => return Err(StoreError::Unavailable { reason: "no leader is known".into() }),
            },
        };
        if leader == self.node_id() {
            // The leader may not have applied yet an entry it committed (a write acknowledged
            // by the follower that took it): its own read index, then its state machine.
            let remaining = deadline.saturating_duration_since(Instant::now());
            let index =
                tokio::time::timeout(remaining, self.read_index_as_leader()).await.map_err(|_| {
                    StoreError::Unavailable { reason: "no read index within the barrier's time".into() }
                })??;
            self.wait_applied(index, deadline).await?;
            return Ok(Some(index));
        }
        let Some(member) = self.members().into_iter().find(|m| m.id == leader) else {
            return Ok(None);
        };
        let node = NodeInfo::new(&member.name, &member.address);
        let remaining = deadline.saturating_duration_since(Instant::now());
        let index =
            self.transport.read_index(leader, &node, remaining).await.map_err(|e| {
                StoreError::Unavailable { reason: format!("no read index from the leader: {e}") }
            })?;
        self.wait_applied(index, deadline).await?;
        Ok(Some(index))
    }

    /// Waits until this node applied log index `index`.
    async fn wait_applied(&self, index: u64, deadline: Instant) -> Result<(), StoreError> {
        let remaining = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
        self.raft
            .wait(Some(remaining))
            .applied_index_at_least(Some(index), "the write is applied")
            .await
            .map_err(|_| StoreError::Timeout {
                what: format!("log index {index} to be applied on this node"),
                waited: remaining,
            })?;
        Ok(())
    }

    /// The current leader, waiting for one until `deadline`.
    async fn wait_for_leader(&self, deadline: Instant) -> Option<Member> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let metrics =
            self.raft.wait(Some(remaining)).metrics(|m| m.current_leader.is_some(), "a leader").await.ok()?;
        let id = metrics.current_leader?;
        let node = metrics.membership_config.membership().get_node(&id).cloned().unwrap_or_default();
        Some(Member { id, name: node.name, address: node.address, voter: true, standby: false })
    }

    /// Changes the voting configuration, on the leader (forwarded to it from a follower), as
    /// `POST` and `DELETE /_cluster/voting_config_exclusions` do; waits (until `timeout`) for the
    /// change to be committed.
    pub async fn change_voters(&self, change: VotersChange, timeout: Duration) -> Result<(), StoreError> {
        let deadline = Instant::now() + timeout;
        self.on_leader(
            deadline,
            || self.change_voters_as_leader(change.clone()),
            |leader, node, remaining| self.transport.change_voters(leader, &node, change.clone(), remaining),
        )
        .await
    }

    /// Carries out `change` through this node's Raft, which must lead: the receiving side of a
    /// forwarded change. [`StoreError::NotLeader`] when it does not.
    pub async fn change_voters_as_leader(&self, change: VotersChange) -> Result<(), StoreError> {
        let members = self.members();
        let change = match change {
            VotersChange::Exclude(ids) => {
                if let Some(id) = ids.iter().find(|id| !members.iter().any(|m| m.id == **id)) {
                    return Err(StoreError::Refused {
                        reason: format!("node {id} is not a member of the cluster"),
                    });
                }
                let voters = members.iter().filter(|m| m.voter && !ids.contains(&m.id)).count();
                if voters == 0 {
                    return Err(StoreError::Refused {
                        reason: "excluding these nodes would leave the cluster without a voting node".into(),
                    });
                }
                // An excluded node is no standby (it was excluded on purpose): clear the mark a
                // node keeps from its join.
                let marked: BTreeMap<NodeId, NodeInfo> = self
                    .raft
                    .metrics()
                    .borrow()
                    .membership_config
                    .membership()
                    .nodes()
                    .filter(|(id, n)| ids.contains(id) && n.standby)
                    .map(|(id, n)| (*id, NodeInfo { standby: false, ..n.clone() }))
                    .collect();
                if !marked.is_empty() {
                    self.change_membership(ChangeMembers::SetNodes(marked)).await?;
                }
                // Removed voters stay learners: they keep receiving the log.
                ChangeMembers::RemoveVoters(ids)
            }
            VotersChange::Readmit => {
                let mut learners: Vec<&Member> = members.iter().filter(|m| !m.voter).collect();
                // Excluded nodes first; the voting configuration stays odd (a standby waits).
                learners.sort_by_key(|m| m.standby);
                let voters = members.len() - learners.len();
                if (voters + learners.len()).is_multiple_of(2) {
                    learners.pop();
                }
                if learners.is_empty() {
                    return Ok(());
                }
                ChangeMembers::AddVoterIds(learners.iter().map(|m| m.id).collect())
            }
        };
        self.change_membership(change).await
    }

    async fn change_membership(&self, change: ChangeMembers<NodeId, NodeInfo>) -> Result<(), StoreError> {
        let retain = matches!(change, ChangeMembers::RemoveVoters(_));
        match self.raft.change_membership(change, retain).await {
            Ok(_) => Ok(()),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => {
                Err(StoreError::NotLeader { leader: None })
            }
            Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => {
                Err(StoreError::Refused { reason: e.to_string() })
            }
            Err(e) => Err(raft_err("changing the voting configuration")(&e)),
        }
    }
}

/// A change of the voting configuration (see [`Store::change_voters`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VotersChange {
    /// Takes these nodes out of the voting configuration; they stay members that receive the
    /// log (learners) until readmitted.
    Exclude(BTreeSet<NodeId>),
    /// Makes every member that does not vote a voter again.
    Readmit,
}
