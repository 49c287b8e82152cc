//! The classic group coordinator as a broker plug-in ([`crate::broker::BrokerService`]): one
//! [`ClassicGroupCoordinator`] per `__consumer_offsets` partition this broker leads (groups placed by
//! [`group_coordinator_partition`]), its records appended to that partition through the coordinator
//! runtime's [`BrokerHost`] and replayed from it when the broker becomes its leader. It serves JoinGroup,
//! SyncGroup, Heartbeat, LeaveGroup, OffsetCommit and OffsetFetch; FindCoordinator for GROUP keys is
//! [`crate::coordinator::find_coordinator_plugin::FindCoordinatorPlugin`]'s (or the share-group
//! plug-in's) business.
//!
//! As Kafka's `CoordinatorRuntime` does for write operations, a response goes out only once every
//! record written before it is committed (the partition's high watermark reached the end of the last
//! append); responses with nothing pending go out at once. The share-group coordinator appends to the
//! same partitions; each codec skips the other's record types on replay.
//!
//! Where sharesim is simpler than Kafka: a failed append (lost leadership, a timeout) fails the
//! responses waiting on the partition and reloads its groups from the log, instead of reverting only
//! the failed records in memory; the result is the same (the failed records are gone).

use std::collections::{BTreeMap, VecDeque};

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::OffsetFetchResponseGroup;
use kafka_protocol::messages::{
    ApiKey, HeartbeatResponse, JoinGroupResponse, LeaveGroupResponse, OffsetCommitResponse,
    OffsetFetchResponse, RequestHeader, RequestKind, ResponseKind, SyncGroupResponse,
};

use super::codec::{decode_classic_record, encode_classic_record};
use super::config::ClassicGroupConfig;
use super::coordinator::ClassicGroupCoordinator;
use super::effects::{ClassicEffect, ClassicResponse, RequestContext, RequestToken};
use super::records::ClassicGroupRecord;
use crate::broker::{BrokerService, LeadershipChange, LeadershipChangeKind, ServiceContext};
use crate::coordinator::find_coordinator_plugin::FindCoordinatorPlugin;
use crate::coordinator::placement::{
    group_coordinator_partition, CoordinatorType, InternalTopicsConfig, GROUP_METADATA_TOPIC_NAME,
};
use crate::coordinator::runtime::{
    normalize_append_error, BrokerHost, CoordinatorHost, EffectTokens,
};
use crate::log::{AppendInfo, TopicPartition};
use crate::net::{ConnectionId, TransportError};
use crate::trace::TraceEvent;
use crate::ResponseError;

/// The groups of one `__consumer_offsets` partition this broker leads.
struct Shard {
    coordinator: ClassicGroupCoordinator,
    leader_epoch: i32,
    high_watermark: i64,
    /// The end (exclusive) of the last append; responses decided after it wait for the high watermark.
    written_end_offset: i64,
    /// Responses waiting for their records to commit: (offset the high watermark must reach, token,
    /// response), in order.
    waiting: VecDeque<(i64, RequestToken, ClassicResponse)>,
}

/// The classic group coordinator service of one broker.
pub struct ClassicGroupService {
    config: ClassicGroupConfig,
    offsets_topic_num_partitions: i32,
    /// `__consumer_offsets` partition → its groups.
    shards: BTreeMap<i32, Shard>,
    /// Requests handed to a coordinator, until their response goes out.
    parked: BTreeMap<RequestToken, (ConnectionId, RequestHeader)>,
    next_token: u64,
    tokens: EffectTokens,
}

/// What one drain decided, applied once the host is released.
enum Outgoing {
    Respond(RequestToken, ClassicResponse),
    Trace(TraceEvent),
    AppendFailed(i32, ResponseError),
}

impl ClassicGroupService {
    /// A service with `config`, placing groups over `offsets_topic_num_partitions` partitions
    /// (`offsets.topic.num.partitions`).
    pub fn new(
        config: ClassicGroupConfig,
        offsets_topic_num_partitions: i32,
    ) -> ClassicGroupService {
        ClassicGroupService {
            config,
            offsets_topic_num_partitions,
            shards: BTreeMap::new(),
            parked: BTreeMap::new(),
            next_token: 0,
            tokens: EffectTokens::default(),
        }
    }

    /// The coordinator of a `__consumer_offsets` partition this broker leads (for tests and reports).
    pub fn coordinator(&self, partition: i32) -> Option<&ClassicGroupCoordinator> {
        self.shards.get(&partition).map(|shard| &shard.coordinator)
    }

    /// Moves every effect of the coordinators of `partitions` out: appends through the host, responses
    /// at once or after their records commit, trace events.
    fn drain(&mut self, now_ms: u64, cx: &mut ServiceContext<'_>, partitions: &[i32]) {
        let mut outgoing = Vec::new();
        {
            let mut host = BrokerHost::new(now_ms, cx, &mut self.tokens);
            for partition in partitions {
                let Some(shard) = self.shards.get_mut(partition) else {
                    continue;
                };
                while let Some(effect) = shard.coordinator.poll_effect() {
                    match effect {
                        ClassicEffect::AppendRecords { records } => {
                            let count = records.len() as i64;
                            let records = records.iter().map(encode_classic_record).collect();
                            match host.append(
                                GROUP_METADATA_TOPIC_NAME,
                                *partition,
                                shard.leader_epoch,
                                records,
                            ) {
                                Ok(first_offset) => shard.written_end_offset = first_offset + count,
                                Err(error) => {
                                    outgoing.push(Outgoing::AppendFailed(*partition, error))
                                }
                            }
                        }
                        ClassicEffect::Respond { token, response } => {
                            if shard.high_watermark >= shard.written_end_offset {
                                outgoing.push(Outgoing::Respond(token, response));
                            } else {
                                let wait_offset = shard.written_end_offset;
                                shard.waiting.push_back((wait_offset, token, response));
                            }
                        }
                        ClassicEffect::Trace(event) => {
                            outgoing.push(Outgoing::Trace(TraceEvent::Classic { event }))
                        }
                    }
                }
            }
        }
        for out in outgoing {
            match out {
                Outgoing::Respond(token, response) => self.respond(cx, token, response),
                Outgoing::Trace(event) => cx.trace(event),
                Outgoing::AppendFailed(partition, error) => {
                    self.fail_partition(now_ms, cx, partition, error)
                }
            }
        }
    }

    fn respond(
        &mut self,
        cx: &mut ServiceContext<'_>,
        token: RequestToken,
        response: ClassicResponse,
    ) {
        if let Some((connection, header)) = self.parked.remove(&token) {
            cx.respond(connection, &header, to_response_kind(response));
        }
    }

    /// Sends the responses whose records are committed now.
    fn release_committed(&mut self, cx: &mut ServiceContext<'_>, partition: i32) {
        let mut ready = Vec::new();
        if let Some(shard) = self.shards.get_mut(&partition) {
            while shard
                .waiting
                .front()
                .is_some_and(|(wait_offset, _, _)| *wait_offset <= shard.high_watermark)
            {
                let (_, token, response) = shard.waiting.pop_front().expect("checked above");
                ready.push((token, response));
            }
        }
        for (token, response) in ready {
            self.respond(cx, token, response);
        }
    }

    /// A write of `partition` failed: the responses waiting on it fail with the runtime's error, and
    /// the groups are reloaded from the log if this broker still leads it (else dropped).
    fn fail_partition(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        partition: i32,
        error: ResponseError,
    ) {
        let error = normalize_append_error(error);
        let Some(shard) = self.shards.remove(&partition) else {
            return;
        };
        for (_, token, response) in shard.waiting {
            self.respond(cx, token, with_error(response, error));
        }
        let tp = TopicPartition::new(GROUP_METADATA_TOPIC_NAME, partition);
        if let Some(leader_epoch) = cx.view.leader_epoch(&tp) {
            self.load(now_ms, cx, partition, leader_epoch);
        }
        // Requests parked inside the dropped coordinator (JoinGroup/SyncGroup behind a barrier) time out
        // at the client, which finds the coordinator again, as with a dead broker.
    }

    /// Rebuilds the groups of `partition` from its log (this broker just became its leader).
    fn load(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        partition: i32,
        leader_epoch: i32,
    ) {
        let tp = TopicPartition::new(GROUP_METADATA_TOPIC_NAME, partition);
        let log_end_offset = cx.view.offsets(&tp).map_or(0, |o| o.log_end_offset);
        let host = BrokerHost::new(now_ms, cx, &mut self.tokens);
        let records: Vec<ClassicGroupRecord> = host
            .read_records(GROUP_METADATA_TOPIC_NAME, partition)
            .unwrap_or_default()
            .iter()
            // Share-group records decode to `None`; a classic record that does not decode is skipped
            // (Kafka fails the load; a corrupt internal record is outside the scenarios).
            .filter_map(|(_, record)| decode_classic_record(record).ok().flatten())
            .collect();
        let high_watermark = host.high_watermark(GROUP_METADATA_TOPIC_NAME, partition);
        let coordinator = ClassicGroupCoordinator::load(self.config.clone(), now_ms, &records);
        let shard = Shard {
            coordinator,
            leader_epoch,
            high_watermark,
            written_end_offset: log_end_offset,
            waiting: VecDeque::new(),
        };
        self.shards.insert(partition, shard);
    }
}

fn to_response_kind(response: ClassicResponse) -> ResponseKind {
    match response {
        ClassicResponse::JoinGroup(r) => ResponseKind::JoinGroup(r),
        ClassicResponse::SyncGroup(r) => ResponseKind::SyncGroup(r),
        ClassicResponse::Heartbeat(r) => ResponseKind::Heartbeat(r),
        ClassicResponse::LeaveGroup(r) => ResponseKind::LeaveGroup(r),
        ClassicResponse::OffsetCommit(r) => ResponseKind::OffsetCommit(r),
        ClassicResponse::OffsetFetch(r) => ResponseKind::OffsetFetch(r),
    }
}

/// `response` with `error` in place of its outcome (every partition of an OffsetCommit, every group of
/// an OffsetFetch).
fn with_error(response: ClassicResponse, error: ResponseError) -> ClassicResponse {
    let code = error.code();
    match response {
        ClassicResponse::JoinGroup(r) => {
            ClassicResponse::JoinGroup(r.with_error_code(code).with_generation_id(-1))
        }
        ClassicResponse::SyncGroup(r) => ClassicResponse::SyncGroup(r.with_error_code(code)),
        ClassicResponse::Heartbeat(r) => ClassicResponse::Heartbeat(r.with_error_code(code)),
        ClassicResponse::LeaveGroup(r) => ClassicResponse::LeaveGroup(r.with_error_code(code)),
        ClassicResponse::OffsetCommit(mut r) => {
            for topic in &mut r.topics {
                for partition in &mut topic.partitions {
                    partition.error_code = code;
                }
            }
            ClassicResponse::OffsetCommit(r)
        }
        ClassicResponse::OffsetFetch(mut r) => {
            r.error_code = code;
            for group in &mut r.groups {
                group.error_code = code;
            }
            ClassicResponse::OffsetFetch(r)
        }
    }
}

/// The group a request is about; `None` for requests this service does not take.
fn group_of(request: &RequestKind) -> Option<String> {
    let group = match request {
        RequestKind::JoinGroup(r) => &r.group_id,
        RequestKind::SyncGroup(r) => &r.group_id,
        RequestKind::Heartbeat(r) => &r.group_id,
        RequestKind::LeaveGroup(r) => &r.group_id,
        RequestKind::OffsetCommit(r) => &r.group_id,
        // v8+ batches groups; the consumer sends one. The first group routes the request.
        RequestKind::OffsetFetch(r) => match r.groups.first() {
            Some(group) => &group.group_id,
            None => &r.group_id,
        },
        _ => return None,
    };
    Some(group.0.to_string())
}

/// The answer to a request whose group this broker does not coordinate (NOT_COORDINATOR: the client
/// finds its coordinator again).
fn error_for_request(request: &RequestKind, error: ResponseError) -> Option<ResponseKind> {
    let code = error.code();
    let response = match request {
        RequestKind::JoinGroup(_) => ResponseKind::JoinGroup(
            JoinGroupResponse::default()
                .with_error_code(code)
                .with_generation_id(-1),
        ),
        RequestKind::SyncGroup(_) => {
            ResponseKind::SyncGroup(SyncGroupResponse::default().with_error_code(code))
        }
        RequestKind::Heartbeat(_) => {
            ResponseKind::Heartbeat(HeartbeatResponse::default().with_error_code(code))
        }
        RequestKind::LeaveGroup(_) => {
            ResponseKind::LeaveGroup(LeaveGroupResponse::default().with_error_code(code))
        }
        RequestKind::OffsetCommit(r) => {
            let topics = r
                .topics
                .iter()
                .map(|topic| {
                    let partitions = topic
                        .partitions
                        .iter()
                        .map(|p| {
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(code)
                        })
                        .collect();
                    OffsetCommitResponseTopic::default()
                        .with_name(topic.name.clone())
                        .with_partitions(partitions)
                })
                .collect();
            ResponseKind::OffsetCommit(OffsetCommitResponse::default().with_topics(topics))
        }
        RequestKind::OffsetFetch(r) => {
            let groups = r
                .groups
                .iter()
                .map(|group| {
                    OffsetFetchResponseGroup::default()
                        .with_group_id(group.group_id.clone())
                        .with_error_code(code)
                })
                .collect();
            ResponseKind::OffsetFetch(
                OffsetFetchResponse::default()
                    .with_error_code(code)
                    .with_groups(groups),
            )
        }
        _ => return None,
    };
    Some(response)
}

impl BrokerService for ClassicGroupService {
    fn name(&self) -> &'static str {
        "classic-group-coordinator"
    }

    fn api_keys(&self) -> Vec<ApiKey> {
        vec![
            ApiKey::JoinGroup,
            ApiKey::SyncGroup,
            ApiKey::Heartbeat,
            ApiKey::LeaveGroup,
            ApiKey::OffsetCommit,
            ApiKey::OffsetFetch,
        ]
    }

    fn handle_request(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        connection: ConnectionId,
        header: RequestHeader,
        request: RequestKind,
    ) {
        let Some(group_id) = group_of(&request) else {
            return;
        };
        let partition = group_coordinator_partition(&group_id, self.offsets_topic_num_partitions)
            .filter(|partition| self.shards.contains_key(partition));
        let Some(partition) = partition else {
            if let Some(response) = error_for_request(&request, ResponseError::NotCoordinator) {
                cx.respond(connection, &header, response);
            }
            return;
        };
        self.next_token += 1;
        let token = RequestToken(self.next_token);
        let context = RequestContext {
            token,
            api_version: header.request_api_version,
            client_id: header
                .client_id
                .as_ref()
                .map(|client_id| client_id.to_string())
                .unwrap_or_default(),
        };
        self.parked.insert(token, (connection, header));
        let Some(shard) = self.shards.get_mut(&partition) else {
            return;
        };
        let coordinator = &mut shard.coordinator;
        match &request {
            RequestKind::JoinGroup(r) => coordinator.handle_join_group(now_ms, context, r),
            RequestKind::SyncGroup(r) => coordinator.handle_sync_group(now_ms, context, r),
            RequestKind::Heartbeat(r) => coordinator.handle_heartbeat(now_ms, context, r),
            RequestKind::LeaveGroup(r) => coordinator.handle_leave_group(now_ms, context, r),
            RequestKind::OffsetCommit(r) => coordinator.handle_offset_commit(now_ms, context, r),
            RequestKind::OffsetFetch(r) => coordinator.handle_offset_fetch(now_ms, context, r),
            _ => {}
        }
        self.drain(now_ms, cx, &[partition]);
    }

    fn handle_call_result(
        &mut self,
        _now_ms: u64,
        _cx: &mut ServiceContext<'_>,
        token: u64,
        _result: Result<ResponseKind, TransportError>,
    ) {
        // The host's DeleteRecords calls (not used by classic groups, which never prune).
        self.tokens.take_delete(token);
    }

    fn handle_append_result(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        token: u64,
        result: Result<AppendInfo, ResponseError>,
    ) {
        if let Some((partition, _, error)) = self.tokens.append_failure(token, result) {
            self.fail_partition(now_ms, cx, partition, error);
        }
    }

    fn handle_leadership_change(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        change: &LeadershipChange,
    ) {
        if change.partition.topic != GROUP_METADATA_TOPIC_NAME {
            return;
        }
        let partition = change.partition.partition;
        match change.kind {
            LeadershipChangeKind::BecameLeader { leader_epoch } => {
                self.load(now_ms, cx, partition, leader_epoch)
            }
            LeadershipChangeKind::LostLeadership { .. } => {
                if let Some(shard) = self.shards.remove(&partition) {
                    for (_, token, response) in shard.waiting {
                        self.respond(
                            cx,
                            token,
                            with_error(response, ResponseError::NotCoordinator),
                        );
                    }
                }
            }
        }
    }

    fn handle_high_watermark(
        &mut self,
        _now_ms: u64,
        cx: &mut ServiceContext<'_>,
        partition: &TopicPartition,
        high_watermark: i64,
    ) {
        if partition.topic != GROUP_METADATA_TOPIC_NAME {
            return;
        }
        let Some(shard) = self.shards.get_mut(&partition.partition) else {
            return;
        };
        shard.high_watermark = shard.high_watermark.max(high_watermark);
        self.release_committed(cx, partition.partition);
    }

    fn handle_connection_closed(
        &mut self,
        _now_ms: u64,
        _cx: &mut ServiceContext<'_>,
        connection: ConnectionId,
    ) {
        // Their responses would go nowhere; the coordinator still completes the requests.
        self.parked
            .retain(|_, (parked_on, _)| *parked_on != connection);
    }

    fn handle_timeout(&mut self, now_ms: u64, cx: &mut ServiceContext<'_>) {
        let due: Vec<i32> = self
            .shards
            .iter_mut()
            .filter(|(_, shard)| {
                shard
                    .coordinator
                    .poll_timeout()
                    .is_some_and(|at| at <= now_ms)
            })
            .map(|(partition, shard)| {
                shard.coordinator.handle_timeout(now_ms);
                *partition
            })
            .collect();
        self.drain(now_ms, cx, &due);
    }

    fn poll_timeout(&self) -> Option<u64> {
        self.shards
            .values()
            .filter_map(|shard| shard.coordinator.poll_timeout())
            .min()
    }
}

/// The plug-ins a broker needs for classic groups: this service and FindCoordinator for GROUP keys
/// (declining other key types, so it composes with the share-group and transaction plug-ins).
pub fn classic_group_plugins(
    config: ClassicGroupConfig,
    internal_topics: &InternalTopicsConfig,
) -> Vec<Box<dyn BrokerService>> {
    vec![
        Box::new(ClassicGroupService::new(
            config,
            internal_topics.offsets_topic_num_partitions,
        )),
        Box::new(FindCoordinatorPlugin::new(
            &[CoordinatorType::Group],
            internal_topics.clone(),
        )),
    ]
}
