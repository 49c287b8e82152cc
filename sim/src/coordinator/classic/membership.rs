//! JoinGroup, SyncGroup, Heartbeat and LeaveGroup for classic groups (Kafka's
//! `GroupMetadataManager.classicGroupJoin/Sync/Heartbeat/Leave`), eager protocol, dynamic members only.

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::coordinator::{
    group_metadata_record, join_response, ClassicGroupCoordinator, RemovalCause,
};
use super::effects::{ClassicResponse, RequestContext};
use super::state::{ClassicGroup, ClassicGroupState, ClassicMember};
use crate::trace::ClassicTraceEvent;
use crate::ResponseError;

/// JoinGroup v4 and later make a new member rejoin with the id the coordinator gives it (KIP-394).
pub const JOIN_GROUP_KNOWN_MEMBER_ID_VERSION: i16 = 4;

fn join_error(error: ResponseError, member_id: &str) -> ClassicResponse {
    ClassicResponse::JoinGroup(
        JoinGroupResponse::default()
            .with_error_code(error.code())
            .with_generation_id(-1)
            .with_member_id(StrBytes::from_string(member_id.to_string())),
    )
}

fn sync_error(error: ResponseError) -> ClassicResponse {
    ClassicResponse::SyncGroup(SyncGroupResponse::default().with_error_code(error.code()))
}

fn heartbeat_response(error: Option<ResponseError>) -> ClassicResponse {
    let code = error.map_or(0, |e| e.code());
    ClassicResponse::Heartbeat(HeartbeatResponse::default().with_error_code(code))
}

impl ClassicGroupCoordinator {
    /// JoinGroup (11). A new member (empty member id) gets an id; from v4 it is answered
    /// MEMBER_ID_REQUIRED with that id and must rejoin with it. A known member's join either parks until
    /// the join barrier completes or, when nothing changed in a Stable or CompletingRebalance group, is
    /// answered at once with the current generation.
    pub fn handle_join_group(
        &mut self,
        now_ms: u64,
        context: RequestContext,
        request: &JoinGroupRequest,
    ) {
        self.advance(now_ms);
        let group_id = request.group_id.0.to_string();
        let member_id = request.member_id.to_string();
        if let Some(error) = self.validate_join(&group_id, &member_id, request) {
            self.respond(context.token, join_error(error, &member_id));
            return;
        }
        let now_ms = self.now_ms;
        self.groups
            .entry(group_id.clone())
            .or_insert_with(|| ClassicGroup::new(&group_id, now_ms));
        if member_id.is_empty() {
            self.join_unknown_member(&group_id, context, request);
        } else {
            self.join_known_member(&group_id, &member_id, context, request);
        }
        self.check_invariants(&group_id);
    }

    fn validate_join(
        &self,
        group_id: &str,
        member_id: &str,
        request: &JoinGroupRequest,
    ) -> Option<ResponseError> {
        if group_id.is_empty() {
            return Some(ResponseError::InvalidGroupId);
        }
        let session_timeout_ms = u64::try_from(request.session_timeout_ms).unwrap_or(0);
        if session_timeout_ms < self.config.min_session_timeout_ms
            || session_timeout_ms > self.config.max_session_timeout_ms
        {
            return Some(ResponseError::InvalidSessionTimeout);
        }
        let protocols = protocols_of(request);
        if request.protocol_type.is_empty() || protocols.is_empty() {
            return Some(ResponseError::InconsistentGroupProtocol);
        }
        match self.groups.get(group_id) {
            None if !member_id.is_empty() => Some(ResponseError::UnknownMemberId),
            None => None,
            Some(group) if group.state == ClassicGroupState::Dead => {
                Some(ResponseError::CoordinatorNotAvailable)
            }
            Some(group) if !group.supports_protocols(&request.protocol_type, &protocols) => {
                Some(ResponseError::InconsistentGroupProtocol)
            }
            Some(_) => None,
        }
    }

    fn join_unknown_member(
        &mut self,
        group_id: &str,
        context: RequestContext,
        request: &JoinGroupRequest,
    ) {
        let now_ms = self.now_ms;
        let max_size = self.config.max_size;
        let group = self
            .groups
            .get_mut(group_id)
            .expect("created by the caller");
        if group.members.len() + group.pending_members.len() >= max_size {
            self.respond(
                context.token,
                join_error(ResponseError::GroupMaxSizeReached, ""),
            );
            return;
        }
        let member_id = new_member_id(group, &context.client_id);
        if context.api_version >= JOIN_GROUP_KNOWN_MEMBER_ID_VERSION {
            let session_timeout_ms = u64::try_from(request.session_timeout_ms).unwrap_or(0);
            group
                .pending_members
                .insert(member_id.clone(), now_ms + session_timeout_ms);
            self.respond(
                context.token,
                join_error(ResponseError::MemberIdRequired, &member_id),
            );
            return;
        }
        self.add_member_and_rebalance(group_id, &member_id, context, request);
    }

    fn join_known_member(
        &mut self,
        group_id: &str,
        member_id: &str,
        context: RequestContext,
        request: &JoinGroupRequest,
    ) {
        let group = self
            .groups
            .get_mut(group_id)
            .expect("created by the caller");
        if group.pending_members.remove(member_id).is_some() {
            self.add_member_and_rebalance(group_id, member_id, context, request);
            return;
        }
        let Some(member) = group.members.get(member_id) else {
            self.respond(
                context.token,
                join_error(ResponseError::UnknownMemberId, member_id),
            );
            return;
        };
        let protocols = protocols_of(request);
        let unchanged = member.protocols == protocols;
        let is_leader = group.leader_id.as_deref() == Some(member_id);
        match group.state {
            ClassicGroupState::PreparingRebalance => {
                self.update_member_and_rebalance(group_id, member_id, context, request);
            }
            ClassicGroupState::CompletingRebalance if unchanged => {
                let response = join_response(group, member_id);
                self.touch_session(group_id, member_id);
                self.respond(context.token, ClassicResponse::JoinGroup(response));
            }
            ClassicGroupState::Stable if unchanged && !is_leader => {
                let response = join_response(group, member_id);
                self.touch_session(group_id, member_id);
                self.respond(context.token, ClassicResponse::JoinGroup(response));
            }
            ClassicGroupState::CompletingRebalance | ClassicGroupState::Stable => {
                self.update_member_and_rebalance(group_id, member_id, context, request);
            }
            ClassicGroupState::Empty | ClassicGroupState::Dead => {
                self.respond(
                    context.token,
                    join_error(ResponseError::UnknownMemberId, member_id),
                );
            }
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        group_id: &str,
        member_id: &str,
        context: RequestContext,
        request: &JoinGroupRequest,
    ) {
        let now_ms = self.now_ms;
        let group = self
            .groups
            .get_mut(group_id)
            .expect("created by the caller");
        let session_timeout_ms = u64::try_from(request.session_timeout_ms).unwrap_or(0);
        let member = ClassicMember {
            member_id: member_id.to_string(),
            client_id: context.client_id.clone(),
            session_timeout_ms,
            rebalance_timeout_ms: rebalance_timeout_ms(request),
            protocol_type: request.protocol_type.to_string(),
            protocols: protocols_of(request),
            assignment: Vec::new(),
            join_sequence: group.next_join_sequence,
            awaiting_join: Some(context.token),
            awaiting_sync: None,
            session_deadline_ms: now_ms + session_timeout_ms,
        };
        group.next_join_sequence += 1;
        if group.members.is_empty() {
            group.protocol_type = Some(member.protocol_type.clone());
        }
        if group.leader_id.is_none() {
            group.leader_id = Some(member_id.to_string());
        }
        group.members.insert(member_id.to_string(), member);
        if let Some(delay) = group.initial_delay.as_mut() {
            delay.new_member_added = true;
        }
        self.maybe_prepare_rebalance(group_id, "member_joined");
    }

    fn update_member_and_rebalance(
        &mut self,
        group_id: &str,
        member_id: &str,
        context: RequestContext,
        request: &JoinGroupRequest,
    ) {
        let group = self
            .groups
            .get_mut(group_id)
            .expect("created by the caller");
        let member = group
            .members
            .get_mut(member_id)
            .expect("checked by the caller");
        member.protocols = protocols_of(request);
        member.rebalance_timeout_ms = rebalance_timeout_ms(request);
        member.session_timeout_ms = u64::try_from(request.session_timeout_ms).unwrap_or(0);
        // A second JoinGroup from the same member replaces the first; the first is answered so that no
        // request is left without a response.
        let superseded = member.awaiting_join.replace(context.token);
        if let Some(token) = superseded {
            self.respond(
                token,
                join_error(ResponseError::RebalanceInProgress, member_id),
            );
        }
        self.maybe_prepare_rebalance(group_id, "member_rejoined");
    }

    fn touch_session(&mut self, group_id: &str, member_id: &str) {
        let now_ms = self.now_ms;
        if let Some(member) = self
            .groups
            .get_mut(group_id)
            .and_then(|g| g.members.get_mut(member_id))
        {
            member.session_deadline_ms = now_ms + member.session_timeout_ms;
        }
    }

    /// SyncGroup (14). In CompletingRebalance every member's SyncGroup parks until the leader's, which
    /// stores the assignment (a `GroupMetadata` record) and releases them all; in Stable the member gets
    /// its assignment at once; in PreparingRebalance it gets REBALANCE_IN_PROGRESS.
    pub fn handle_sync_group(
        &mut self,
        now_ms: u64,
        context: RequestContext,
        request: &SyncGroupRequest,
    ) {
        self.advance(now_ms);
        let group_id = request.group_id.0.to_string();
        let member_id = request.member_id.to_string();
        let Some(group) = self.groups.get(&group_id) else {
            self.respond(context.token, sync_error(ResponseError::UnknownMemberId));
            return;
        };
        let error = if !group.members.contains_key(&member_id) {
            Some(ResponseError::UnknownMemberId)
        } else if request.generation_id != group.generation_id {
            Some(ResponseError::IllegalGeneration)
        } else if !matches_if_present(&request.protocol_type, &group.protocol_type)
            || !matches_if_present(&request.protocol_name, &group.protocol_name)
        {
            Some(ResponseError::InconsistentGroupProtocol)
        } else {
            None
        };
        if let Some(error) = error {
            self.respond(context.token, sync_error(error));
            return;
        }
        match group.state {
            ClassicGroupState::Empty | ClassicGroupState::Dead => {
                self.respond(context.token, sync_error(ResponseError::UnknownMemberId));
            }
            ClassicGroupState::PreparingRebalance => {
                self.respond(
                    context.token,
                    sync_error(ResponseError::RebalanceInProgress),
                );
            }
            ClassicGroupState::Stable => {
                let response = sync_success(group, &member_id);
                self.touch_session(&group_id, &member_id);
                self.respond(context.token, response);
            }
            ClassicGroupState::CompletingRebalance => {
                let is_leader = group.leader_id.as_deref() == Some(member_id.as_str());
                self.touch_session(&group_id, &member_id);
                let group = self.groups.get_mut(&group_id).expect("checked above");
                let member = group.members.get_mut(&member_id).expect("checked above");
                if let Some(old) = member.awaiting_sync.replace(context.token) {
                    self.respond(old, sync_error(ResponseError::RebalanceInProgress));
                }
                if is_leader {
                    self.store_assignment(&group_id, request);
                }
            }
        }
        self.check_invariants(&group_id);
    }

    /// The leader's SyncGroup: every member gets its assignment (empty when the leader left it out).
    fn store_assignment(&mut self, group_id: &str, request: &SyncGroupRequest) {
        let now_ms = self.now_ms;
        let group = self
            .groups
            .get_mut(group_id)
            .expect("checked by the caller");
        for member in group.members.values_mut() {
            member.assignment = request
                .assignments
                .iter()
                .find(|a| a.member_id.as_str() == member.member_id)
                .map(|a| a.assignment.to_vec())
                .unwrap_or_default();
        }
        group.state = ClassicGroupState::Stable;
        group.state_timestamp_ms = now_ms;
        let record = group_metadata_record(group);
        let mut responses = Vec::new();
        let member_ids: Vec<String> = group.members.keys().cloned().collect();
        for member_id in &member_ids {
            let response = sync_success(group, member_id);
            if let Some(token) = group
                .members
                .get_mut(member_id)
                .and_then(|m| m.awaiting_sync.take())
            {
                responses.push((token, response));
            }
        }
        let generation_id = group.generation_id;
        self.append(vec![record]);
        for (token, response) in responses {
            self.respond(token, response);
        }
        self.trace(ClassicTraceEvent::GroupStable {
            group_id: group_id.to_string(),
            generation_id,
        });
    }

    /// Heartbeat (12): keeps the session alive; REBALANCE_IN_PROGRESS tells the member to rejoin.
    pub fn handle_heartbeat(
        &mut self,
        now_ms: u64,
        context: RequestContext,
        request: &HeartbeatRequest,
    ) {
        self.advance(now_ms);
        let group_id = request.group_id.0.to_string();
        let member_id = request.member_id.to_string();
        let error = match self.groups.get(&group_id) {
            None => Some(ResponseError::UnknownMemberId),
            Some(group) => match group.state {
                ClassicGroupState::Dead => Some(ResponseError::CoordinatorNotAvailable),
                ClassicGroupState::Empty => Some(ResponseError::UnknownMemberId),
                _ if !group.members.contains_key(&member_id) => {
                    Some(ResponseError::UnknownMemberId)
                }
                _ if request.generation_id != group.generation_id => {
                    Some(ResponseError::IllegalGeneration)
                }
                ClassicGroupState::PreparingRebalance => Some(ResponseError::RebalanceInProgress),
                ClassicGroupState::CompletingRebalance | ClassicGroupState::Stable => None,
            },
        };
        let known = !matches!(
            error,
            Some(ResponseError::UnknownMemberId | ResponseError::CoordinatorNotAvailable)
        );
        if known {
            self.touch_session(&group_id, &member_id);
        }
        self.respond(context.token, heartbeat_response(error));
        self.check_invariants(&group_id);
    }

    /// LeaveGroup (13), batched (v3+): each listed member leaves; a member id that is unknown gets
    /// UNKNOWN_MEMBER_ID in its entry. Leaving starts a rebalance.
    pub fn handle_leave_group(
        &mut self,
        now_ms: u64,
        context: RequestContext,
        request: &LeaveGroupRequest,
    ) {
        self.advance(now_ms);
        let group_id = request.group_id.0.to_string();
        let mut member_ids: Vec<String> = request
            .members
            .iter()
            .map(|m| m.member_id.to_string())
            .collect();
        if member_ids.is_empty() && !request.member_id.is_empty() {
            member_ids.push(request.member_id.to_string());
        }
        let mut results = Vec::new();
        for member_id in member_ids {
            let error = self.leave_one(&group_id, &member_id);
            results.push(
                MemberResponse::default()
                    .with_member_id(StrBytes::from_string(member_id))
                    .with_error_code(error.map_or(0, |e| e.code())),
            );
        }
        let top_error = if self.groups.contains_key(&group_id) {
            0
        } else {
            ResponseError::UnknownMemberId.code()
        };
        let response = LeaveGroupResponse::default()
            .with_error_code(top_error)
            .with_members(results);
        self.respond(context.token, ClassicResponse::LeaveGroup(response));
        self.check_invariants(&group_id);
    }

    fn leave_one(&mut self, group_id: &str, member_id: &str) -> Option<ResponseError> {
        let group = self.groups.get_mut(group_id)?;
        if group.pending_members.remove(member_id).is_some() {
            self.try_complete_join(group_id);
            return None;
        }
        if !group.members.contains_key(member_id) {
            return Some(ResponseError::UnknownMemberId);
        }
        self.remove_member(group_id, member_id, RemovalCause::LeaveGroup);
        None
    }
}

fn protocols_of(request: &JoinGroupRequest) -> Vec<(String, Vec<u8>)> {
    request
        .protocols
        .iter()
        .map(|p| (p.name.to_string(), p.metadata.to_vec()))
        .collect()
}

/// JoinGroup v0 had no rebalance timeout: the session timeout stood for it.
fn rebalance_timeout_ms(request: &JoinGroupRequest) -> u64 {
    let timeout = if request.rebalance_timeout_ms > 0 {
        request.rebalance_timeout_ms
    } else {
        request.session_timeout_ms
    };
    u64::try_from(timeout).unwrap_or(0)
}

fn matches_if_present(requested: &Option<StrBytes>, actual: &Option<String>) -> bool {
    match requested {
        None => true,
        Some(name) => actual.as_deref() == Some(name.as_str()),
    }
}

fn sync_success(group: &ClassicGroup, member_id: &str) -> ClassicResponse {
    let assignment = group
        .members
        .get(member_id)
        .map(|m| m.assignment.clone())
        .unwrap_or_default();
    ClassicResponse::SyncGroup(
        SyncGroupResponse::default()
            .with_protocol_type(group.protocol_type.clone().map(StrBytes::from_string))
            .with_protocol_name(group.protocol_name.clone().map(StrBytes::from_string))
            .with_assignment(assignment.into()),
    )
}

/// A member id as Kafka makes them, `<client id>-<unique suffix>`; Kafka's suffix is a random UUID,
/// sharesim's a counter rendered like one, skipping ids the group already holds.
fn new_member_id(group: &mut ClassicGroup, client_id: &str) -> String {
    loop {
        let sequence = group.next_join_sequence;
        group.next_join_sequence += 1;
        let id = format!(
            "{client_id}-{:08x}-0000-4000-8000-{:012x}",
            group.generation_id, sequence
        );
        if !group.members.contains_key(&id) && !group.pending_members.contains_key(&id) {
            return id;
        }
    }
}
