//! A classic group's in-memory state (Kafka's `ClassicGroup` and `ClassicGroupMember`): the group state
//! machine Empty → PreparingRebalance → CompletingRebalance → Stable (→ PreparingRebalance ...), the
//! generation, the leader, the selected protocol, the members with their parked JoinGroup/SyncGroup
//! requests, and the committed offsets.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::effects::RequestToken;
use super::records::OffsetCommitValue;

/// The classic group states (Kafka's `ClassicGroupState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClassicGroupState {
    /// Members have been told a new generation; the leader's SyncGroup is awaited.
    CompletingRebalance,
    /// The group is being deleted (not reachable in sharesim: groups are never deleted).
    Dead,
    /// No members (the group may still hold offsets).
    Empty,
    /// The join barrier: every member must rejoin before the rebalance timeout.
    PreparingRebalance,
    /// Every member has its assignment.
    Stable,
}

/// The initial rebalance delay of a group that was empty (Kafka's `InitialDelayedJoin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitialDelay {
    /// When the current delay ends.
    pub until_ms: u64,
    /// What is left of the rebalance timeout for further extensions.
    pub remaining_ms: u64,
    /// A new member joined during the current delay: wait once more.
    pub new_member_added: bool,
}

/// One member of a classic group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassicMember {
    /// The member id the coordinator gave it.
    pub member_id: String,
    /// The client id of its JoinGroup.
    pub client_id: String,
    /// The session timeout it asked for.
    pub session_timeout_ms: u64,
    /// The rebalance timeout it asked for (`max.poll.interval.ms` for consumers).
    pub rebalance_timeout_ms: u64,
    /// The protocol type (`consumer`).
    pub protocol_type: String,
    /// Its protocols in preference order: (name, metadata).
    pub protocols: Vec<(String, Vec<u8>)>,
    /// Its assignment in the current generation (empty until the leader's SyncGroup).
    pub assignment: Vec<u8>,
    /// Join order, for choosing a leader.
    pub join_sequence: u64,
    /// Its parked JoinGroup, during PreparingRebalance.
    pub awaiting_join: Option<RequestToken>,
    /// Its parked SyncGroup, during CompletingRebalance.
    pub awaiting_sync: Option<RequestToken>,
    /// When its session expires unless it heartbeats.
    pub session_deadline_ms: u64,
}

impl ClassicMember {
    /// Its metadata for `protocol`, if it supports it.
    pub fn metadata(&self, protocol: &str) -> Option<&[u8]> {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, metadata)| metadata.as_slice())
    }
}

/// One classic group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassicGroup {
    /// The group id.
    pub group_id: String,
    /// Its state.
    pub state: ClassicGroupState,
    /// When it entered the state.
    pub state_timestamp_ms: u64,
    /// The generation: bumped each time the join barrier completes.
    pub generation_id: i32,
    /// The protocol type of its members (`None` for a group that only stores offsets).
    pub protocol_type: Option<String>,
    /// The selected protocol of the current generation.
    pub protocol_name: Option<String>,
    /// The leader of the current generation.
    pub leader_id: Option<String>,
    /// The members by id.
    pub members: BTreeMap<String, ClassicMember>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, not yet rejoined: id → expiry (session timeout).
    pub pending_members: BTreeMap<String, u64>,
    /// The end of the join barrier, during PreparingRebalance.
    pub rebalance_deadline_ms: Option<u64>,
    /// The initial delay of a rebalance that started from Empty.
    pub initial_delay: Option<InitialDelay>,
    /// Committed offsets by (topic, partition).
    pub offsets: BTreeMap<(String, i32), OffsetCommitValue>,
    /// The next join sequence number.
    pub next_join_sequence: u64,
}

impl ClassicGroup {
    /// A new empty group.
    pub fn new(group_id: &str, now_ms: u64) -> ClassicGroup {
        ClassicGroup {
            group_id: group_id.to_string(),
            state: ClassicGroupState::Empty,
            state_timestamp_ms: now_ms,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader_id: None,
            members: BTreeMap::new(),
            pending_members: BTreeMap::new(),
            rebalance_deadline_ms: None,
            initial_delay: None,
            offsets: BTreeMap::new(),
            next_join_sequence: 0,
        }
    }

    /// Protocols every member supports (Kafka's `candidateProtocols`), for a group with members.
    pub fn candidate_protocols(&self) -> BTreeSet<String> {
        let mut members = self.members.values();
        let Some(first) = members.next() else {
            return BTreeSet::new();
        };
        let mut candidates: BTreeSet<String> = first
            .protocols
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        for member in members {
            candidates.retain(|name| member.metadata(name).is_some());
        }
        candidates
    }

    /// Whether a joining member with these protocols fits the group (Kafka's `supportsProtocols`).
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Vec<u8>)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        let candidates = self.candidate_protocols();
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|(name, _)| candidates.contains(name))
    }

    /// Selects the protocol by vote (Kafka's `selectProtocol`): each member votes for its most preferred
    /// candidate; the most votes win. Ties go to the candidate the longest-standing member prefers most
    /// (Kafka breaks them by hash-set order; sharesim needs a deterministic rule).
    pub fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for member in self.members.values() {
            if let Some((name, _)) = member
                .protocols
                .iter()
                .find(|(n, _)| candidates.contains(n))
            {
                *votes.entry(name.as_str()).or_default() += 1;
            }
        }
        let most = votes.values().copied().max()?;
        let first_member = self.members.values().min_by_key(|m| m.join_sequence)?;
        first_member
            .protocols
            .iter()
            .map(|(name, _)| name.as_str())
            .find(|name| votes.get(name) == Some(&most))
            .map(str::to_string)
    }

    /// The largest rebalance timeout of the members (the join barrier's length).
    pub fn max_rebalance_timeout_ms(&self) -> u64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// True when every member is waiting in JoinGroup and nobody holds a pending member id.
    pub fn has_all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    /// Members in join order.
    pub fn members_in_join_order(&self) -> Vec<&ClassicMember> {
        let mut members: Vec<&ClassicMember> = self.members.values().collect();
        members.sort_by_key(|m| m.join_sequence);
        members
    }
}
