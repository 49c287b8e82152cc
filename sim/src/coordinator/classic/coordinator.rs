//! The classic group coordinator engine (Kafka's `GroupMetadataManager` and `OffsetMetadataManager` for
//! classic groups): the struct, its getters, timers, replay and the shared rebalance steps. The request
//! handlers live in `membership.rs` (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and `offsets.rs`
//! (OffsetCommit, OffsetFetch), on the same type.

use std::collections::{BTreeMap, VecDeque};

use kafka_protocol::messages::{JoinGroupResponse, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::config::ClassicGroupConfig;
use super::effects::{ClassicEffect, ClassicResponse, RequestToken};
use super::records::{ClassicGroupMetadataValue, ClassicGroupRecord, ClassicMemberValue};
use super::state::{ClassicGroup, ClassicGroupState, ClassicMember, InitialDelay};
use crate::trace::ClassicTraceEvent;
use crate::ResponseError;

/// Why a member left the group, for the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RemovalCause {
    LeaveGroup,
    RebalanceTimeout,
    SessionTimeout,
}

impl RemovalCause {
    fn name(self) -> &'static str {
        match self {
            RemovalCause::LeaveGroup => "leave_group",
            RemovalCause::RebalanceTimeout => "rebalance_timeout",
            RemovalCause::SessionTimeout => "session_timeout",
        }
    }
}

/// The classic groups of one group coordinator.
///
/// Methods come in the quinn families:
/// * getters: [`group`](Self::group), [`groups`](Self::groups), [`config`](Self::config);
/// * inputs: `handle_join_group`, `handle_sync_group`, `handle_heartbeat`, `handle_leave_group`,
///   `handle_offset_commit`, `handle_offset_fetch` (each takes the real Kafka request and a
///   [`RequestContext`](super::RequestContext)), and [`handle_timeout`](Self::handle_timeout);
/// * outputs: [`poll_effect`](Self::poll_effect) (responses, records, trace) and
///   [`poll_timeout`](Self::poll_timeout) (the next session, join-barrier or initial-delay deadline).
///
/// Every request gets exactly one `Respond` effect, at once or when the join barrier or the leader's
/// SyncGroup releases it. Drain effects after every input; `now_ms` never goes backwards.
/// [`load`](Self::load) rebuilds the groups from the log after a coordinator failover.
#[derive(Clone, Debug)]
pub struct ClassicGroupCoordinator {
    pub(super) config: ClassicGroupConfig,
    pub(super) groups: BTreeMap<String, ClassicGroup>,
    effects: VecDeque<ClassicEffect>,
    pub(super) now_ms: u64,
}

impl ClassicGroupCoordinator {
    /// A coordinator with no groups.
    pub fn new(config: ClassicGroupConfig) -> ClassicGroupCoordinator {
        ClassicGroupCoordinator {
            config,
            groups: BTreeMap::new(),
            effects: VecDeque::new(),
            now_ms: 0,
        }
    }

    /// Rebuilds a coordinator from its log (a failover). Groups with members come back Stable in the
    /// generation last stored, with every session timer restarted at `now_ms` (Kafka's `onLoaded`).
    pub fn load<'a>(
        config: ClassicGroupConfig,
        now_ms: u64,
        records: impl IntoIterator<Item = &'a ClassicGroupRecord>,
    ) -> ClassicGroupCoordinator {
        let mut coordinator = ClassicGroupCoordinator::new(config);
        coordinator.now_ms = now_ms;
        for record in records {
            coordinator.replay(record);
        }
        coordinator
    }

    /// The configuration.
    pub fn config(&self) -> &ClassicGroupConfig {
        &self.config
    }

    /// One group.
    pub fn group(&self, group_id: &str) -> Option<&ClassicGroup> {
        self.groups.get(group_id)
    }

    /// Every group.
    pub fn groups(&self) -> &BTreeMap<String, ClassicGroup> {
        &self.groups
    }

    /// The next effect, in order.
    pub fn poll_effect(&mut self) -> Option<ClassicEffect> {
        self.effects.pop_front()
    }

    /// The earliest deadline: a session, a pending member id, a join barrier or an initial delay.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.groups.values().filter_map(group_deadline_ms).min()
    }

    /// Fires every deadline that has passed: expired sessions and pending member ids remove members,
    /// an ended initial delay or join barrier completes the join.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.advance(now_ms);
        let group_ids: Vec<String> = self.groups.keys().cloned().collect();
        for group_id in group_ids {
            self.expire_sessions(&group_id);
            self.expire_join_barrier(&group_id);
            self.check_invariants(&group_id);
        }
    }

    pub(super) fn advance(&mut self, now_ms: u64) {
        debug_assert!(now_ms >= self.now_ms, "time went backwards");
        self.now_ms = self.now_ms.max(now_ms);
    }

    pub(super) fn push(&mut self, effect: ClassicEffect) {
        self.effects.push_back(effect);
    }

    pub(super) fn trace(&mut self, event: ClassicTraceEvent) {
        self.push(ClassicEffect::Trace(event));
    }

    pub(super) fn respond(&mut self, token: RequestToken, response: ClassicResponse) {
        self.push(ClassicEffect::Respond { token, response });
    }

    pub(super) fn append(&mut self, records: Vec<ClassicGroupRecord>) {
        if !records.is_empty() {
            self.push(ClassicEffect::AppendRecords { records });
        }
    }

    fn expire_sessions(&mut self, group_id: &str) {
        let now_ms = self.now_ms;
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        let expired_pending: Vec<String> = group
            .pending_members
            .iter()
            .filter(|(_, deadline_ms)| **deadline_ms <= now_ms)
            .map(|(id, _)| id.clone())
            .collect();
        for member_id in &expired_pending {
            group.pending_members.remove(member_id);
        }
        // Parked JoinGroup/SyncGroup requests keep a member alive (Kafka's `shouldKeepAlive`): the join
        // barrier and the leader's SyncGroup bound them instead.
        let expired: Vec<String> = group
            .members
            .values()
            .filter(|m| m.session_deadline_ms <= now_ms)
            .filter(|m| m.awaiting_join.is_none() && m.awaiting_sync.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for member_id in expired {
            self.remove_member(group_id, &member_id, RemovalCause::SessionTimeout);
        }
        if !expired_pending.is_empty() {
            self.try_complete_join(group_id);
        }
    }

    fn expire_join_barrier(&mut self, group_id: &str) {
        let now_ms = self.now_ms;
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        if group.state != ClassicGroupState::PreparingRebalance {
            return;
        }
        if let Some(delay) = group.initial_delay {
            if delay.until_ms > now_ms {
                return;
            }
            if delay.new_member_added && delay.remaining_ms > 0 {
                let step_ms = self
                    .config
                    .initial_rebalance_delay_ms
                    .min(delay.remaining_ms);
                group.initial_delay = Some(InitialDelay {
                    until_ms: now_ms + step_ms,
                    remaining_ms: delay.remaining_ms - step_ms,
                    new_member_added: false,
                });
                return;
            }
            group.initial_delay = None;
            self.complete_join(group_id);
            return;
        }
        if group.rebalance_deadline_ms.is_some_and(|d| d <= now_ms) {
            self.complete_join(group_id);
        } else {
            self.try_complete_join(group_id);
        }
    }

    /// Starts a rebalance (Kafka's `prepareRebalance`): parked SyncGroups fail with
    /// REBALANCE_IN_PROGRESS, assignments are cleared, and the join barrier starts.
    pub(super) fn prepare_rebalance(&mut self, group_id: &str, reason: &str) {
        let now_ms = self.now_ms;
        let initial_delay_ms = self.config.initial_rebalance_delay_ms;
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        debug_assert!(matches!(
            group.state,
            ClassicGroupState::Empty
                | ClassicGroupState::Stable
                | ClassicGroupState::CompletingRebalance
        ));
        let mut failed_syncs = Vec::new();
        if group.state == ClassicGroupState::CompletingRebalance {
            for member in group.members.values_mut() {
                member.assignment.clear();
                failed_syncs.extend(member.awaiting_sync.take());
            }
        }
        let rebalance_timeout_ms = group.max_rebalance_timeout_ms();
        if group.state == ClassicGroupState::Empty && initial_delay_ms > 0 {
            let first_ms = initial_delay_ms.min(rebalance_timeout_ms.max(1));
            group.initial_delay = Some(InitialDelay {
                until_ms: now_ms + first_ms,
                remaining_ms: rebalance_timeout_ms.saturating_sub(first_ms),
                new_member_added: false,
            });
        }
        group.rebalance_deadline_ms = Some(now_ms + rebalance_timeout_ms);
        group.state = ClassicGroupState::PreparingRebalance;
        group.state_timestamp_ms = now_ms;
        let generation_id = group.generation_id;
        for token in failed_syncs {
            self.respond(
                token,
                ClassicResponse::SyncGroup(
                    SyncGroupResponse::default()
                        .with_error_code(ResponseError::RebalanceInProgress.code()),
                ),
            );
        }
        self.trace(ClassicTraceEvent::RebalanceStarted {
            group_id: group_id.to_string(),
            generation_id,
            reason: reason.to_string(),
        });
        self.try_complete_join(group_id);
    }

    /// Starts a rebalance if the state allows one (Kafka's `maybePrepareRebalance`), else checks the
    /// join barrier.
    pub(super) fn maybe_prepare_rebalance(&mut self, group_id: &str, reason: &str) {
        let Some(group) = self.groups.get(group_id) else {
            return;
        };
        match group.state {
            ClassicGroupState::Empty
            | ClassicGroupState::Stable
            | ClassicGroupState::CompletingRebalance => self.prepare_rebalance(group_id, reason),
            ClassicGroupState::PreparingRebalance => self.try_complete_join(group_id),
            ClassicGroupState::Dead => {}
        }
    }

    /// Completes the join barrier early once every member rejoined (not during an initial delay).
    pub(super) fn try_complete_join(&mut self, group_id: &str) {
        let Some(group) = self.groups.get(group_id) else {
            return;
        };
        if group.state == ClassicGroupState::PreparingRebalance
            && group.initial_delay.is_none()
            && group.has_all_members_joined()
        {
            self.complete_join(group_id);
        }
    }

    /// Ends the join barrier (Kafka's `completeClassicGroupJoin`): members that did not rejoin are
    /// removed; an empty group moves to Empty with a new generation; otherwise a new generation starts,
    /// the protocol is selected, and every parked JoinGroup is answered (the leader gets the members).
    pub(super) fn complete_join(&mut self, group_id: &str) {
        let now_ms = self.now_ms;
        let not_rejoined: Vec<String> = match self.groups.get(group_id) {
            Some(group) => group
                .members
                .values()
                .filter(|m| m.awaiting_join.is_none())
                .map(|m| m.member_id.clone())
                .collect(),
            None => return,
        };
        for member_id in not_rejoined {
            self.remove_member_quietly(group_id, &member_id, RemovalCause::RebalanceTimeout);
        }
        let group = self.groups.get_mut(group_id).expect("checked above");
        debug_assert_eq!(group.state, ClassicGroupState::PreparingRebalance);
        group.generation_id += 1;
        group.rebalance_deadline_ms = None;
        group.initial_delay = None;
        group.state_timestamp_ms = now_ms;
        if group.members.is_empty() {
            group.state = ClassicGroupState::Empty;
            group.protocol_name = None;
            group.leader_id = None;
            let record = group_metadata_record(group);
            let generation_id = group.generation_id;
            self.append(vec![record]);
            self.trace(ClassicTraceEvent::GenerationStarted {
                group_id: group_id.to_string(),
                generation_id,
                protocol_name: None,
                leader_id: None,
                members: Vec::new(),
            });
            return;
        }
        group.state = ClassicGroupState::CompletingRebalance;
        group.protocol_name = group.select_protocol();
        if !group
            .leader_id
            .as_ref()
            .is_some_and(|id| group.members.contains_key(id))
        {
            group.leader_id = group
                .members_in_join_order()
                .first()
                .map(|m| m.member_id.clone());
        }
        let mut responses = Vec::new();
        let member_ids: Vec<String> = group.members.keys().cloned().collect();
        for member_id in &member_ids {
            let response = join_response(group, member_id);
            let member = group.members.get_mut(member_id).expect("listed above");
            member.session_deadline_ms = now_ms + member.session_timeout_ms;
            let token = member.awaiting_join.take().expect("every member rejoined");
            responses.push((token, response));
        }
        let event = ClassicTraceEvent::GenerationStarted {
            group_id: group_id.to_string(),
            generation_id: group.generation_id,
            protocol_name: group.protocol_name.clone(),
            leader_id: group.leader_id.clone(),
            members: member_ids,
        };
        for (token, response) in responses {
            self.respond(token, ClassicResponse::JoinGroup(response));
        }
        self.trace(event);
    }

    /// Removes a member and moves the group on (Kafka's `removeMemberAndUpdateClassicGroup`).
    pub(super) fn remove_member(&mut self, group_id: &str, member_id: &str, cause: RemovalCause) {
        self.remove_member_quietly(group_id, member_id, cause);
        let Some(group) = self.groups.get(group_id) else {
            return;
        };
        match group.state {
            ClassicGroupState::Stable | ClassicGroupState::CompletingRebalance => {
                self.prepare_rebalance(group_id, cause.name());
            }
            ClassicGroupState::PreparingRebalance => self.try_complete_join(group_id),
            ClassicGroupState::Empty | ClassicGroupState::Dead => {}
        }
    }

    /// Removes a member without touching the group state; its parked requests fail with
    /// UNKNOWN_MEMBER_ID.
    fn remove_member_quietly(&mut self, group_id: &str, member_id: &str, cause: RemovalCause) {
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        let Some(member) = group.members.remove(member_id) else {
            return;
        };
        if group.leader_id.as_deref() == Some(member_id) {
            group.leader_id = group
                .members_in_join_order()
                .first()
                .map(|m| m.member_id.clone());
        }
        if group.members.is_empty() {
            group.protocol_type = None;
        }
        let unknown = ResponseError::UnknownMemberId.code();
        if let Some(token) = member.awaiting_join {
            let response = JoinGroupResponse::default()
                .with_error_code(unknown)
                .with_generation_id(-1)
                .with_member_id(StrBytes::from_string(member_id.to_string()));
            self.respond(token, ClassicResponse::JoinGroup(response));
        }
        if let Some(token) = member.awaiting_sync {
            let response = SyncGroupResponse::default().with_error_code(unknown);
            self.respond(token, ClassicResponse::SyncGroup(response));
        }
        self.trace(ClassicTraceEvent::MemberRemoved {
            group_id: group_id.to_string(),
            member_id: member_id.to_string(),
            cause: cause.name().to_string(),
        });
    }

    fn replay(&mut self, record: &ClassicGroupRecord) {
        let now_ms = self.now_ms;
        match record {
            ClassicGroupRecord::GroupMetadata { group_id, value } => match value {
                None => {
                    self.groups.remove(group_id);
                }
                Some(value) => {
                    let group = self
                        .groups
                        .entry(group_id.clone())
                        .or_insert_with(|| ClassicGroup::new(group_id, now_ms));
                    load_group_metadata(group, value, now_ms);
                }
            },
            ClassicGroupRecord::OffsetCommit {
                group_id,
                topic,
                partition,
                value,
            } => {
                let group = self
                    .groups
                    .entry(group_id.clone())
                    .or_insert_with(|| ClassicGroup::new(group_id, now_ms));
                match value {
                    Some(value) => {
                        group
                            .offsets
                            .insert((topic.clone(), *partition), value.clone());
                    }
                    None => {
                        group.offsets.remove(&(topic.clone(), *partition));
                    }
                }
            }
        }
    }

    /// Our own invariants, checked after every input.
    pub(super) fn check_invariants(&self, group_id: &str) {
        let Some(group) = self.groups.get(group_id) else {
            return;
        };
        if group.members.is_empty() {
            debug_assert!(matches!(
                group.state,
                ClassicGroupState::Empty
                    | ClassicGroupState::PreparingRebalance
                    | ClassicGroupState::Dead
            ));
        } else {
            debug_assert!(group
                .leader_id
                .as_ref()
                .is_some_and(|l| group.members.contains_key(l)));
        }
        for member in group.members.values() {
            if member.awaiting_join.is_some() {
                debug_assert_eq!(group.state, ClassicGroupState::PreparingRebalance);
            }
            if member.awaiting_sync.is_some() {
                debug_assert_eq!(group.state, ClassicGroupState::CompletingRebalance);
            }
        }
        if group.state == ClassicGroupState::PreparingRebalance {
            debug_assert!(group.rebalance_deadline_ms.is_some());
        }
    }
}

fn group_deadline_ms(group: &ClassicGroup) -> Option<u64> {
    let sessions = group
        .members
        .values()
        .filter(|m| m.awaiting_join.is_none() && m.awaiting_sync.is_none())
        .map(|m| m.session_deadline_ms);
    let pending = group.pending_members.values().copied();
    let barrier = match group.initial_delay {
        Some(delay) => Some(delay.until_ms),
        None => group.rebalance_deadline_ms,
    };
    sessions.chain(pending).chain(barrier).min()
}

/// The JoinGroup response for `member_id` in the group's current generation; the leader also gets every
/// member's metadata for the selected protocol.
pub(super) fn join_response(group: &ClassicGroup, member_id: &str) -> JoinGroupResponse {
    let protocol = group.protocol_name.clone().unwrap_or_default();
    let is_leader = group.leader_id.as_deref() == Some(member_id);
    let members = if is_leader {
        group
            .members_in_join_order()
            .into_iter()
            .map(|m| {
                kafka_protocol::messages::join_group_response::JoinGroupResponseMember::default()
                    .with_member_id(StrBytes::from_string(m.member_id.clone()))
                    .with_metadata(m.metadata(&protocol).unwrap_or_default().to_vec().into())
            })
            .collect()
    } else {
        Vec::new()
    };
    JoinGroupResponse::default()
        .with_generation_id(group.generation_id)
        .with_protocol_type(group.protocol_type.clone().map(StrBytes::from_string))
        .with_protocol_name(group.protocol_name.clone().map(StrBytes::from_string))
        .with_leader(StrBytes::from_string(
            group.leader_id.clone().unwrap_or_default(),
        ))
        .with_member_id(StrBytes::from_string(member_id.to_string()))
        .with_members(members)
}

/// The `GroupMetadata` record of the group's current generation.
pub(super) fn group_metadata_record(group: &ClassicGroup) -> ClassicGroupRecord {
    let protocol = group.protocol_name.clone().unwrap_or_default();
    let members = group
        .members_in_join_order()
        .into_iter()
        .map(|m| ClassicMemberValue {
            member_id: m.member_id.clone(),
            client_id: m.client_id.clone(),
            session_timeout_ms: m.session_timeout_ms,
            rebalance_timeout_ms: m.rebalance_timeout_ms,
            subscription: m.metadata(&protocol).unwrap_or_default().to_vec(),
            assignment: m.assignment.clone(),
        })
        .collect();
    ClassicGroupRecord::GroupMetadata {
        group_id: group.group_id.clone(),
        value: Some(ClassicGroupMetadataValue {
            protocol_type: group.protocol_type.clone(),
            generation_id: group.generation_id,
            protocol_name: group.protocol_name.clone(),
            leader_id: group.leader_id.clone(),
            current_state_timestamp_ms: group.state_timestamp_ms,
            members,
        }),
    }
}

fn load_group_metadata(group: &mut ClassicGroup, value: &ClassicGroupMetadataValue, now_ms: u64) {
    group.generation_id = value.generation_id;
    group.protocol_type = value.protocol_type.clone();
    group.protocol_name = value.protocol_name.clone();
    group.leader_id = value.leader_id.clone();
    group.state_timestamp_ms = value.current_state_timestamp_ms;
    group.pending_members.clear();
    group.rebalance_deadline_ms = None;
    group.initial_delay = None;
    group.members.clear();
    let protocol = value.protocol_name.clone().unwrap_or_default();
    for (sequence, m) in value.members.iter().enumerate() {
        group.members.insert(
            m.member_id.clone(),
            ClassicMember {
                member_id: m.member_id.clone(),
                client_id: m.client_id.clone(),
                session_timeout_ms: m.session_timeout_ms,
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                protocol_type: value.protocol_type.clone().unwrap_or_default(),
                protocols: vec![(protocol.clone(), m.subscription.clone())],
                assignment: m.assignment.clone(),
                join_sequence: sequence as u64,
                awaiting_join: None,
                awaiting_sync: None,
                session_deadline_ms: now_ms + m.session_timeout_ms,
            },
        );
    }
    group.next_join_sequence = value.members.len() as u64;
    group.state = if group.members.is_empty() {
        ClassicGroupState::Empty
    } else {
        ClassicGroupState::Stable
    };
}
