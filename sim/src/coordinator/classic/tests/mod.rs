//! Tests of the classic group coordinator. `Harness` drives one coordinator with a virtual clock and
//! keeps what it emitted; each file covers one area and names the Kafka rule it checks.

mod membership;
mod offsets;
mod props;

use std::collections::BTreeMap;

use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::*;
use crate::trace::ClassicTraceEvent;
use crate::ResponseError;

pub(super) const GROUP: &str = "payments";
pub(super) const SESSION_MS: i32 = 10_000;
pub(super) const REBALANCE_MS: i32 = 30_000;

pub(super) fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

/// One coordinator, a clock, and everything it emitted.
pub(super) struct Harness {
    pub coordinator: ClassicGroupCoordinator,
    pub now_ms: u64,
    next_token: u64,
    pub responses: BTreeMap<RequestToken, ClassicResponse>,
    pub records: Vec<ClassicGroupRecord>,
    pub traces: Vec<ClassicTraceEvent>,
}

impl Harness {
    /// Kafka's defaults but no initial rebalance delay, unless a test sets one.
    pub fn new() -> Harness {
        Harness::with_config(ClassicGroupConfig {
            initial_rebalance_delay_ms: 0,
            ..ClassicGroupConfig::default()
        })
    }

    pub fn with_config(config: ClassicGroupConfig) -> Harness {
        Harness {
            coordinator: ClassicGroupCoordinator::new(config),
            now_ms: 1_000,
            next_token: 0,
            responses: BTreeMap::new(),
            records: Vec::new(),
            traces: Vec::new(),
        }
    }

    pub fn context(&mut self, api_version: i16) -> RequestContext {
        self.next_token += 1;
        RequestContext {
            token: RequestToken(self.next_token),
            api_version,
            client_id: "consumer".to_string(),
        }
    }

    pub fn drain(&mut self) {
        while let Some(effect) = self.coordinator.poll_effect() {
            match effect {
                ClassicEffect::AppendRecords { records } => self.records.extend(records),
                ClassicEffect::Respond { token, response } => {
                    assert!(
                        self.responses.insert(token, response).is_none(),
                        "one response per request"
                    );
                }
                ClassicEffect::Trace(event) => self.traces.push(event),
            }
        }
    }

    pub fn advance(&mut self, by_ms: u64) {
        self.now_ms += by_ms;
        self.coordinator.handle_timeout(self.now_ms);
        self.drain();
    }

    pub fn group(&self) -> &ClassicGroup {
        self.coordinator.group(GROUP).expect("group exists")
    }

    /// Sends JoinGroup v9; returns its token (the response may come later).
    pub fn join(&mut self, member_id: &str, protocols: &[(&str, &[u8])]) -> RequestToken {
        let context = self.context(9);
        let token = context.token;
        let request = join_request(member_id, protocols);
        self.coordinator
            .handle_join_group(self.now_ms, context, &request);
        self.drain();
        token
    }

    pub fn join_response(&self, token: RequestToken) -> Option<&JoinGroupResponse> {
        match self.responses.get(&token)? {
            ClassicResponse::JoinGroup(response) => Some(response),
            other => panic!("not a join response: {other:?}"),
        }
    }

    /// A new member: JoinGroup without id, MEMBER_ID_REQUIRED, JoinGroup with the id. Returns the id
    /// and the token of the second join.
    pub fn join_new(&mut self) -> (String, RequestToken) {
        let first = self.join("", &[("range", b"sub")]);
        let response = self.join_response(first).expect("answered at once");
        assert_eq!(response.error_code, ResponseError::MemberIdRequired.code());
        let member_id = response.member_id.to_string();
        let token = self.join(&member_id, &[("range", b"sub")]);
        (member_id, token)
    }

    pub fn sync(
        &mut self,
        member_id: &str,
        generation_id: i32,
        assignments: &[(&str, &[u8])],
    ) -> RequestToken {
        let context = self.context(5);
        let token = context.token;
        let request = SyncGroupRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_generation_id(generation_id)
            .with_member_id(s(member_id))
            .with_protocol_type(Some(s("consumer")))
            .with_assignments(
                assignments
                    .iter()
                    .map(|(id, bytes)| {
                        SyncGroupRequestAssignment::default()
                            .with_member_id(s(id))
                            .with_assignment(bytes.to_vec().into())
                    })
                    .collect(),
            );
        self.coordinator
            .handle_sync_group(self.now_ms, context, &request);
        self.drain();
        token
    }

    pub fn sync_response(&self, token: RequestToken) -> Option<&SyncGroupResponse> {
        match self.responses.get(&token)? {
            ClassicResponse::SyncGroup(response) => Some(response),
            other => panic!("not a sync response: {other:?}"),
        }
    }

    pub fn heartbeat(&mut self, member_id: &str, generation_id: i32) -> i16 {
        let context = self.context(4);
        let token = context.token;
        let request = HeartbeatRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_generation_id(generation_id)
            .with_member_id(s(member_id));
        self.coordinator
            .handle_heartbeat(self.now_ms, context, &request);
        self.drain();
        match &self.responses[&token] {
            ClassicResponse::Heartbeat(response) => response.error_code,
            other => panic!("not a heartbeat response: {other:?}"),
        }
    }

    pub fn leave(&mut self, member_id: &str) -> LeaveGroupResponse {
        let context = self.context(5);
        let token = context.token;
        let request = LeaveGroupRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_members(vec![MemberIdentity::default().with_member_id(s(member_id))]);
        self.coordinator
            .handle_leave_group(self.now_ms, context, &request);
        self.drain();
        match &self.responses[&token] {
            ClassicResponse::LeaveGroup(response) => response.clone(),
            other => panic!("not a leave response: {other:?}"),
        }
    }

    /// OffsetCommit v9 of `orders` partitions; returns each partition's error code.
    pub fn commit(
        &mut self,
        member_id: &str,
        generation_id: i32,
        offsets: &[(i32, i64)],
    ) -> Vec<i16> {
        self.commit_version(9, member_id, generation_id, offsets)
    }

    pub fn commit_version(
        &mut self,
        api_version: i16,
        member_id: &str,
        generation_id: i32,
        offsets: &[(i32, i64)],
    ) -> Vec<i16> {
        let context = self.context(api_version);
        let token = context.token;
        let partitions = offsets
            .iter()
            .map(|(partition, offset)| {
                OffsetCommitRequestPartition::default()
                    .with_partition_index(*partition)
                    .with_committed_offset(*offset)
                    .with_committed_leader_epoch(-1)
            })
            .collect();
        let request = OffsetCommitRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_generation_id_or_member_epoch(generation_id)
            .with_member_id(s(member_id))
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(TopicName(s("orders")))
                .with_partitions(partitions)]);
        self.coordinator
            .handle_offset_commit(self.now_ms, context, &request);
        self.drain();
        match &self.responses[&token] {
            ClassicResponse::OffsetCommit(response) => response.topics[0]
                .partitions
                .iter()
                .map(|p| p.error_code)
                .collect(),
            other => panic!("not a commit response: {other:?}"),
        }
    }

    /// OffsetFetch v9 of `orders` partitions: committed offsets (-1 for none).
    pub fn fetch_offsets(&mut self, partitions: &[i32]) -> Vec<i64> {
        let context = self.context(9);
        let token = context.token;
        let request =
            OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(s(GROUP)))
                .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                    .with_name(TopicName(s("orders")))
                    .with_partition_indexes(partitions.to_vec())]))]);
        self.coordinator
            .handle_offset_fetch(self.now_ms, context, &request);
        self.drain();
        match &self.responses[&token] {
            ClassicResponse::OffsetFetch(response) => response.groups[0].topics[0]
                .partitions
                .iter()
                .map(|p| p.committed_offset)
                .collect(),
            other => panic!("not a fetch response: {other:?}"),
        }
    }
}

pub(super) fn join_request(member_id: &str, protocols: &[(&str, &[u8])]) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_session_timeout_ms(SESSION_MS)
        .with_rebalance_timeout_ms(REBALANCE_MS)
        .with_member_id(s(member_id))
        .with_protocol_type(s("consumer"))
        .with_protocols(
            protocols
                .iter()
                .map(|(name, metadata)| {
                    JoinGroupRequestProtocol::default()
                        .with_name(s(name))
                        .with_metadata(metadata.to_vec().into())
                })
                .collect(),
        )
}
