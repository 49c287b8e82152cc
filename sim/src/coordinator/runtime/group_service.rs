//! The group coordinator service's share-group side on one broker (Kafka's `GroupCoordinatorService` over
//! the `CoordinatorRuntime`): one [`ShareGroupCoordinator`] per `__consumer_offsets` partition this
//! broker leads, requests routed by group id (spec 4, 5), records appended to the replicated partition,
//! answers sent once those records are committed, and the share-state calls the engine asks for sent
//! out through the persister.
//!
//! Sans-IO, like [`super::ShareCoordinatorService`]. Extra output: [`poll_persister_call`]
//! (GroupCoordinatorService::poll_persister_call) gives InitializeShareGroupState,
//! DeleteShareGroupState and ReadShareGroupStateSummary requests for the persister, whose answers come
//! back through [`handle_persister_reply`](GroupCoordinatorService::handle_persister_reply), and
//! [`poll_end_offsets_call`] gives the data partitions whose end offsets DescribeShareGroupOffsets needs,
//! answered through [`handle_end_offsets_reply`](GroupCoordinatorService::handle_end_offsets_reply).
//!
//! [`poll_end_offsets_call`]: GroupCoordinatorService::poll_end_offsets_call
//!
//! Choices where Kafka's runtime differs in mechanism:
//! * Kafka reverts in-memory state when an append fails; the engine has already replayed its records,
//!   so the service reloads the shard from the log instead (same result: the failed records are gone).
//! * ShareGroupDescribe answers from the current state without waiting for commit.
//! * DescribeShareGroupOffsets asks for the end offsets of the partitions whose summary has a start
//!   offset and a delivery-complete count through [`poll_end_offsets_call`] (Kafka's
//!   `PartitionMetadataClient.listLatestOffsets`: ListOffsets to each partition's leader, see
//!   [`super::LatestOffsetsClient`]); a partition whose end offset is unknown reports lag -1.
//! * AlterShareGroupOffsets and DeleteShareGroupOffsets answer once their records committed and the
//!   persister answered, with its per-partition errors (as Kafka does).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use kafka_protocol::messages::{
    alter_share_group_offsets_response, delete_share_group_offsets_response,
    describe_share_group_offsets_response, AlterShareGroupOffsetsResponse,
    DeleteShareGroupOffsetsResponse, DescribeShareGroupOffsetsResponse, ShareGroupDescribeResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::codec::{decode_group_record, encode_group_record};
use super::group_wire::{
    alter_error, alter_topics, delete_offsets_error, delete_request, delete_topic_names,
    describe_topics, described_group, engine_heartbeat, engine_topic_id, heartbeat_error,
    initialize_request, message, summary_request, wire_heartbeat_response, wire_uuid, GroupRequest,
    GroupResponse,
};
use super::host::{normalize_append_error, CoordinatorHost};
use super::latest_offsets::{EndOffsetReply, EndOffsetsCallToken};
use super::share_service::{RequestToken, LOAD_RETRY_INTERVAL_MS};
use super::share_wire::{ShareStateRequest, ShareStateResponse};
use crate::coordinator::group::{
    GroupCoordinatorConfig, GroupEffect, GroupTraceEvent, PartitionOffsetSummary, ShareGroupConfig,
    ShareGroupCoordinator, TopicMetadata,
};
use crate::coordinator::placement::{group_coordinator_partition, GROUP_METADATA_TOPIC_NAME};
use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::net::share_state_v1;
use crate::ResponseError;

/// Identifies one call to the persister.
pub type PersisterCallToken = u64;

/// A share-state call for the persister (it routes each key to its share coordinator).
pub type PersisterCall = ShareStateRequest;

/// The persister's answer: the merged response, or an error for the whole call.
pub type PersisterReply = Result<ShareStateResponse, ResponseError>;

/// The group coordinator's broker configs this service needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupCoordinatorServiceConfig {
    /// `offsets.topic.num.partitions` (default 50).
    pub offsets_topic_num_partitions: i32,
    /// `offsets.commit.timeout.ms` (default 5000): the runtime's write timeout.
    pub write_timeout_ms: u64,
    /// The share-group settings.
    pub share: GroupCoordinatorConfig,
}

impl Default for GroupCoordinatorServiceConfig {
    fn default() -> Self {
        GroupCoordinatorServiceConfig {
            offsets_topic_num_partitions: 50,
            write_timeout_ms: 5000,
            share: GroupCoordinatorConfig::new(&crate::semantics::Semantics::default()),
        }
    }
}

/// A response waiting for its commit (and maybe a persister answer).
#[derive(Clone, Debug)]
struct PendingAnswer {
    token: RequestToken,
    wait_offset: i64,
    deadline_ms: u64,
    awaiting_call: Option<PersisterCallToken>,
    response: GroupResponse,
}

#[derive(Clone, Debug)]
struct HostedGroups {
    leader_epoch: i32,
    coordinator: ShareGroupCoordinator,
    high_watermark: i64,
    /// One past the last offset appended or replayed.
    next_offset: i64,
    pending: Vec<PendingAnswer>,
}

#[derive(Clone, Debug)]
enum Slot {
    Loading { leader_epoch: i32, retry_at_ms: u64 },
    Active(Box<HostedGroups>),
}

/// What a persister call was for.
#[derive(Clone, Debug)]
enum CallPurpose {
    Initialize {
        partition: i32,
        group_id: String,
        asked: Vec<TopicIdPartition>,
    },
    Delete {
        partition: i32,
        group_id: String,
        topic_ids: BTreeSet<TopicId>,
    },
    Summary {
        token: RequestToken,
        group_index: usize,
    },
}

/// The (topic, partitions) a DescribeShareGroupOffsets group asks about; `None` = every initialized one.
type DescribeTopics = Option<Vec<(String, Vec<i32>)>>;

/// A DescribeShareGroupOffsets group whose summary came back, waiting for partition end offsets.
#[derive(Clone, Debug)]
struct WaitingForEndOffsets {
    token: RequestToken,
    group_index: usize,
    /// Per partition: (leader epoch, summary without the end offset yet).
    summaries: BTreeMap<TopicIdPartition, (i32, PartitionOffsetSummary)>,
}

#[derive(Clone, Debug)]
struct OpenDescribeOffsets {
    response: DescribeShareGroupOffsetsResponse,
    /// Per group index waiting for its summary: what to describe.
    waiting: BTreeMap<usize, (String, DescribeTopics)>,
}

/// The share-group side of one broker's group coordinator.
#[derive(Clone, Debug)]
pub struct GroupCoordinatorService {
    config: GroupCoordinatorServiceConfig,
    slots: BTreeMap<i32, Slot>,
    topics: BTreeMap<String, TopicMetadata>,
    group_configs: BTreeMap<String, ShareGroupConfig>,
    calls: BTreeMap<PersisterCallToken, CallPurpose>,
    next_call_token: PersisterCallToken,
    outgoing_calls: VecDeque<(PersisterCallToken, PersisterCall)>,
    describe_offsets: BTreeMap<RequestToken, OpenDescribeOffsets>,
    end_offsets_calls: BTreeMap<EndOffsetsCallToken, WaitingForEndOffsets>,
    next_end_offsets_call: EndOffsetsCallToken,
    outgoing_end_offsets_calls: VecDeque<(EndOffsetsCallToken, Vec<TopicIdPartition>)>,
    responses: VecDeque<(RequestToken, GroupResponse)>,
    traces: VecDeque<GroupTraceEvent>,
    now_ms: u64,
}

impl GroupCoordinatorService {
    /// A service leading no partition yet.
    pub fn new(config: GroupCoordinatorServiceConfig) -> GroupCoordinatorService {
        GroupCoordinatorService {
            config,
            slots: BTreeMap::new(),
            topics: BTreeMap::new(),
            group_configs: BTreeMap::new(),
            calls: BTreeMap::new(),
            next_call_token: 0,
            outgoing_calls: VecDeque::new(),
            describe_offsets: BTreeMap::new(),
            end_offsets_calls: BTreeMap::new(),
            next_end_offsets_call: 0,
            outgoing_end_offsets_calls: VecDeque::new(),
            responses: VecDeque::new(),
            traces: VecDeque::new(),
            now_ms: 0,
        }
    }

    // ---- getters -------------------------------------------------------------------------------------

    /// The engine of a `__consumer_offsets` partition, when it is loaded here.
    pub fn coordinator(&self, partition: i32) -> Option<&ShareGroupCoordinator> {
        match self.slots.get(&partition) {
            Some(Slot::Active(hosted)) => Some(&hosted.coordinator),
            _ => None,
        }
    }

    /// The engine that owns `group_id`, when it is loaded here.
    pub fn coordinator_for_group(&self, group_id: &str) -> Option<&ShareGroupCoordinator> {
        self.coordinator(self.partition_for(group_id)?)
    }

    /// The `__consumer_offsets` partition of a group.
    pub fn partition_for(&self, group_id: &str) -> Option<i32> {
        group_coordinator_partition(group_id, self.config.offsets_topic_num_partitions)
    }

    /// The partitions this broker coordinates, with their leader epochs.
    pub fn hosted_partitions(&self) -> BTreeMap<i32, i32> {
        self.slots
            .iter()
            .map(|(partition, slot)| {
                let epoch = match slot {
                    Slot::Loading { leader_epoch, .. } => *leader_epoch,
                    Slot::Active(hosted) => hosted.leader_epoch,
                };
                (*partition, epoch)
            })
            .collect()
    }

    // ---- inputs --------------------------------------------------------------------------------------

    /// The cluster's topics changed (a full image of the non-internal topics).
    pub fn handle_metadata_update(&mut self, now_ms: u64, topics: BTreeMap<String, TopicMetadata>) {
        self.advance(now_ms);
        for slot in self.slots.values_mut() {
            if let Slot::Active(hosted) = slot {
                hosted
                    .coordinator
                    .handle_metadata_update(now_ms, topics.clone());
            }
        }
        self.topics = topics;
    }

    /// Sets a group's config overrides (already checked by [`ShareGroupConfig::set`]).
    pub fn set_group_config(&mut self, group_id: &str, config: ShareGroupConfig) {
        if let Some(partition) = self.partition_for(group_id) {
            if let Some(Slot::Active(hosted)) = self.slots.get_mut(&partition) {
                hosted
                    .coordinator
                    .set_group_config(group_id, config.clone());
            }
        }
        self.group_configs.insert(group_id.to_string(), config);
    }

    /// This broker became the leader of `__consumer_offsets`-`partition`: its share groups are rebuilt by
    /// replay (members keep their epochs; their session timers restart now, as in Kafka's `onLoaded`).
    pub fn handle_become_leader(
        &mut self,
        now_ms: u64,
        host: &mut impl CoordinatorHost,
        partition: i32,
        leader_epoch: i32,
    ) {
        self.advance(now_ms);
        if let Some(Slot::Active(hosted)) = self.slots.get(&partition) {
            if hosted.leader_epoch == leader_epoch {
                return;
            }
        }
        self.drop_slot(partition);
        self.load(host, partition, leader_epoch);
    }

    /// This broker no longer leads `__consumer_offsets`-`partition`: pending answers fail with
    /// NOT_COORDINATOR.
    pub fn handle_resign(&mut self, now_ms: u64, partition: i32) {
        self.advance(now_ms);
        self.drop_slot(partition);
    }

    /// The high watermark of `__consumer_offsets`-`partition` moved.
    pub fn handle_high_watermark(&mut self, now_ms: u64, partition: i32, high_watermark: i64) {
        self.advance(now_ms);
        let Some(Slot::Active(hosted)) = self.slots.get_mut(&partition) else {
            return;
        };
        hosted.high_watermark = hosted.high_watermark.max(high_watermark);
        self.release_ready(partition);
    }

    /// An append the service made did not land where the host said (reported later by an asynchronous
    /// broker): answers waiting on offsets from `first_offset` fail with `error` (normalized), and the
    /// engine is reloaded from the log, which undoes the records it had replayed.
    pub fn handle_append_failed(
        &mut self,
        now_ms: u64,
        host: &mut impl CoordinatorHost,
        partition: i32,
        first_offset: i64,
        error: ResponseError,
    ) {
        self.advance(now_ms);
        let Some(Slot::Active(hosted)) = self.slots.get_mut(&partition) else {
            return;
        };
        let leader_epoch = hosted.leader_epoch;
        let (failed, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut hosted.pending)
            .into_iter()
            .partition(|answer| answer.wait_offset >= first_offset);
        for answer in failed {
            let response = with_error(answer.response, normalize_append_error(error));
            self.respond(answer.token, response);
        }
        self.slots.remove(&partition);
        self.load(host, partition, leader_epoch);
        match self.slots.get_mut(&partition) {
            Some(Slot::Active(hosted)) => hosted.pending = kept,
            _ => {
                for answer in kept {
                    let response =
                        with_error(answer.response, ResponseError::CoordinatorLoadInProgress);
                    self.respond(answer.token, response);
                }
            }
        }
    }

    /// A share-group request. Group-scoped requests go to the engine owning the group:
    /// NOT_COORDINATOR when this broker does not lead its `__consumer_offsets` partition,
    /// COORDINATOR_LOAD_IN_PROGRESS while it loads.
    pub fn handle_request(
        &mut self,
        now_ms: u64,
        host: &mut impl CoordinatorHost,
        token: RequestToken,
        request: &GroupRequest,
    ) {
        self.advance(now_ms);
        match request {
            GroupRequest::Heartbeat(heartbeat) => {
                let engine_request = engine_heartbeat(heartbeat);
                let group_id = engine_request.group_id.clone();
                let partition = match self.active_partition(&group_id) {
                    Ok(partition) => partition,
                    Err(error) => {
                        return self
                            .respond(token, GroupResponse::Heartbeat(heartbeat_error(error)))
                    }
                };
                let response = self
                    .hosted_mut(partition)
                    .coordinator
                    .handle_heartbeat(now_ms, &engine_request);
                let response = GroupResponse::Heartbeat(wire_heartbeat_response(&response));
                self.after_write(host, partition, token, response);
            }
            GroupRequest::Describe(describe) => {
                let groups = describe
                    .group_ids
                    .iter()
                    .map(|group_id| {
                        let group_id = group_id.0.to_string();
                        let description = match self.active_partition(&group_id) {
                            Ok(partition) => self
                                .hosted_mut(partition)
                                .coordinator
                                .describe_groups(std::slice::from_ref(&group_id))
                                .remove(0),
                            Err(error) => Err(error),
                        };
                        described_group(&group_id, description, &self.topics)
                    })
                    .collect();
                let response = ShareGroupDescribeResponse::default().with_groups(groups);
                self.respond(token, GroupResponse::Describe(response));
            }
            GroupRequest::AlterOffsets(alter) => {
                let group_id = alter.group_id.0.to_string();
                let partition = match self.active_partition(&group_id) {
                    Ok(partition) => partition,
                    Err(error) => {
                        return self.respond(token, GroupResponse::AlterOffsets(alter_error(error)))
                    }
                };
                let topics = alter_topics(alter);
                let result = self
                    .hosted_mut(partition)
                    .coordinator
                    .handle_alter_offsets(now_ms, &group_id, &topics);
                let response = match result {
                    Err(error) => alter_error(error),
                    Ok(results) => AlterShareGroupOffsetsResponse::default().with_responses(
                        results
                            .iter()
                            .map(|topic| {
                                let topic_id = self.topics.get(&topic.topic_name).map(|t| t.topic_id);
                                alter_share_group_offsets_response::AlterShareGroupOffsetsResponseTopic::default()
                                    .with_topic_name(TopicName(StrBytes::from_string(topic.topic_name.clone())))
                                    .with_topic_id(wire_uuid(topic_id.unwrap_or(TopicId::NULL)))
                                    .with_partitions(
                                        topic
                                            .partitions
                                            .iter()
                                            .map(|(partition, error)| {
                                                alter_share_group_offsets_response::AlterShareGroupOffsetsResponsePartition::default()
                                                    .with_partition_index(*partition)
                                                    .with_error_code(error.map_or(0, |e| e.code()))
                                                    .with_error_message(error.and_then(message))
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    ),
                };
                self.after_write(
                    host,
                    partition,
                    token,
                    GroupResponse::AlterOffsets(response),
                );
            }
            GroupRequest::DeleteOffsets(delete) => {
                let group_id = delete.group_id.0.to_string();
                let partition = match self.active_partition(&group_id) {
                    Ok(partition) => partition,
                    Err(error) => {
                        return self.respond(
                            token,
                            GroupResponse::DeleteOffsets(delete_offsets_error(error)),
                        )
                    }
                };
                let names = delete_topic_names(delete);
                let result = self
                    .hosted_mut(partition)
                    .coordinator
                    .handle_delete_offsets(now_ms, &group_id, &names);
                let response = match result {
                    Err(error) => delete_offsets_error(error),
                    Ok(results) => DeleteShareGroupOffsetsResponse::default().with_responses(
                        results
                            .iter()
                            .map(|topic| {
                                let topic_id = self.topics.get(&topic.topic_name).map(|t| t.topic_id);
                                delete_share_group_offsets_response::DeleteShareGroupOffsetsResponseTopic::default()
                                    .with_topic_name(TopicName(StrBytes::from_string(topic.topic_name.clone())))
                                    .with_topic_id(wire_uuid(topic_id.unwrap_or(TopicId::NULL)))
                                    .with_error_code(topic.error.map_or(0, |e| e.code()))
                                    .with_error_message(topic.error.and_then(message))
                            })
                            .collect(),
                    ),
                };
                self.after_write(
                    host,
                    partition,
                    token,
                    GroupResponse::DeleteOffsets(response),
                );
            }
            GroupRequest::DescribeOffsets(describe) => {
                self.describe_offsets_request(token, describe);
            }
        }
    }

    /// The persister's answer to a call this service made.
    pub fn handle_persister_reply(
        &mut self,
        now_ms: u64,
        host: &mut impl CoordinatorHost,
        call: PersisterCallToken,
        reply: PersisterReply,
    ) {
        self.advance(now_ms);
        let Some(purpose) = self.calls.remove(&call) else {
            return;
        };
        match purpose {
            CallPurpose::Initialize {
                partition,
                group_id,
                asked,
            } => {
                let results = initialize_results(&reply, &asked);
                if let Some(Slot::Active(hosted)) = self.slots.get_mut(&partition) {
                    hosted
                        .coordinator
                        .handle_initialize_result(now_ms, &group_id, &results);
                    self.drain_effects(host, partition);
                    self.attach_persister_errors(partition, call, &results);
                }
            }
            CallPurpose::Delete {
                partition,
                group_id,
                topic_ids,
            } => {
                let results = delete_results(&reply);
                let failed = results.iter().find_map(|(_, error)| *error);
                if let Some(Slot::Active(hosted)) = self.slots.get_mut(&partition) {
                    hosted.coordinator.handle_delete_state_result(
                        now_ms,
                        &group_id,
                        &topic_ids,
                        failed.map_or(Ok(()), Err),
                    );
                    self.drain_effects(host, partition);
                    self.attach_persister_errors(partition, call, &results);
                }
            }
            CallPurpose::Summary { token, group_index } => {
                self.handle_summary_reply(token, group_index, &reply);
            }
        }
    }

    /// The end offsets asked for by `call` ([`poll_end_offsets_call`](Self::poll_end_offsets_call)):
    /// one answer per partition asked; a missing or failed one leaves that partition's lag -1.
    pub fn handle_end_offsets_reply(
        &mut self,
        now_ms: u64,
        call: EndOffsetsCallToken,
        replies: &BTreeMap<TopicIdPartition, EndOffsetReply>,
    ) {
        self.advance(now_ms);
        let Some(waiting) = self.end_offsets_calls.remove(&call) else {
            return;
        };
        let mut summaries = waiting.summaries;
        for (tp, (_, summary)) in summaries.iter_mut() {
            summary.partition_end_offset = replies.get(tp).and_then(|reply| reply.ok());
        }
        self.finish_describe_group(waiting.token, waiting.group_index, Ok(summaries));
    }

    /// Session timeouts, write timeouts and load retries whose time came.
    pub fn handle_timeout(&mut self, now_ms: u64, host: &mut impl CoordinatorHost) {
        self.advance(now_ms);
        let partitions: Vec<i32> = self.slots.keys().copied().collect();
        for partition in partitions {
            match self.slots.get_mut(&partition) {
                Some(Slot::Loading {
                    leader_epoch,
                    retry_at_ms,
                }) if *retry_at_ms <= now_ms => {
                    let leader_epoch = *leader_epoch;
                    self.load(host, partition, leader_epoch);
                }
                Some(Slot::Active(hosted)) => {
                    if hosted
                        .coordinator
                        .poll_timeout()
                        .is_some_and(|at| at <= now_ms)
                    {
                        hosted.coordinator.handle_timeout(now_ms);
                        self.drain_effects(host, partition);
                    }
                    let Some(Slot::Active(hosted)) = self.slots.get_mut(&partition) else {
                        continue;
                    };
                    let (expired, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut hosted.pending)
                        .into_iter()
                        .partition(|answer| answer.deadline_ms <= now_ms);
                    hosted.pending = kept;
                    for answer in expired {
                        let error = normalize_append_error(ResponseError::RequestTimedOut);
                        self.respond(answer.token, with_error(answer.response, error));
                    }
                }
                _ => {}
            }
        }
    }

    // ---- outputs -------------------------------------------------------------------------------------

    /// The next finished response.
    pub fn poll_response(&mut self) -> Option<(RequestToken, GroupResponse)> {
        self.responses.pop_front()
    }

    /// The next call for the persister.
    pub fn poll_persister_call(&mut self) -> Option<(PersisterCallToken, PersisterCall)> {
        self.outgoing_calls.pop_front()
    }

    /// The next end-offsets lookup DescribeShareGroupOffsets needs: the data partitions whose latest
    /// offset (high watermark) to ask their leaders for.
    pub fn poll_end_offsets_call(
        &mut self,
    ) -> Option<(EndOffsetsCallToken, Vec<TopicIdPartition>)> {
        self.outgoing_end_offsets_calls.pop_front()
    }

    /// The next membership event for the trace.
    pub fn poll_trace(&mut self) -> Option<GroupTraceEvent> {
        self.traces.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) has work next.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.slots
            .values()
            .filter_map(|slot| match slot {
                Slot::Loading { retry_at_ms, .. } => Some(*retry_at_ms),
                Slot::Active(hosted) => {
                    let pending = hosted.pending.iter().map(|a| a.deadline_ms).min();
                    match (pending, hosted.coordinator.poll_timeout()) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    }
                }
            })
            .min()
    }

    // ---- internals -----------------------------------------------------------------------------------

    fn active_partition(&self, group_id: &str) -> Result<i32, ResponseError> {
        if group_id.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        let partition = self
            .partition_for(group_id)
            .ok_or(ResponseError::CoordinatorNotAvailable)?;
        match self.slots.get(&partition) {
            None => Err(ResponseError::NotCoordinator),
            Some(Slot::Loading { .. }) => Err(ResponseError::CoordinatorLoadInProgress),
            Some(Slot::Active(_)) => Ok(partition),
        }
    }

    fn hosted_mut(&mut self, partition: i32) -> &mut HostedGroups {
        match self.slots.get_mut(&partition) {
            Some(Slot::Active(hosted)) => hosted,
            _ => unreachable!("checked by active_partition"),
        }
    }

    /// Drains the engine's effects after a write, then holds `response` until the records are committed
    /// and, for admin requests, until the persister answered.
    fn after_write(
        &mut self,
        host: &mut impl CoordinatorHost,
        partition: i32,
        token: RequestToken,
        response: GroupResponse,
    ) {
        let outcome = self.drain_effects(host, partition);
        if let Err(error) = outcome.append {
            return self.respond(token, with_error(response, error));
        }
        let is_admin = matches!(
            response,
            GroupResponse::AlterOffsets(_) | GroupResponse::DeleteOffsets(_)
        );
        let awaiting_call = if is_admin {
            outcome.calls.first().copied()
        } else {
            None
        };
        let deadline_ms = self.now_ms.saturating_add(self.config.write_timeout_ms);
        let Some(Slot::Active(hosted)) = self.slots.get_mut(&partition) else {
            return self.respond(token, with_error(response, ResponseError::NotCoordinator));
        };
        hosted.pending.push(PendingAnswer {
            token,
            wait_offset: hosted.next_offset - 1,
            deadline_ms,
            awaiting_call,
            response,
        });
        self.release_ready(partition);
    }

    /// Applies the engine's queued effects: appends, persister calls, traces. An append failure reloads
    /// the shard from the log (undoing the records the engine replayed).
    fn drain_effects(&mut self, host: &mut impl CoordinatorHost, partition: i32) -> DrainOutcome {
        let mut outcome = DrainOutcome {
            append: Ok(()),
            calls: Vec::new(),
        };
        while let Some(Slot::Active(hosted)) = self.slots.get_mut(&partition) {
            let Some(effect) = hosted.coordinator.poll_effect() else {
                break;
            };
            match effect {
                GroupEffect::AppendRecords { records } => {
                    if outcome.append.is_err() {
                        continue;
                    }
                    let encoded = records.iter().map(encode_group_record).collect::<Vec<_>>();
                    let count = encoded.len() as i64;
                    match host.append(
                        GROUP_METADATA_TOPIC_NAME,
                        partition,
                        hosted.leader_epoch,
                        encoded,
                    ) {
                        Ok(first_offset) => hosted.next_offset = first_offset + count,
                        Err(error) => outcome.append = Err(normalize_append_error(error)),
                    }
                }
                GroupEffect::InitializeShareGroupState {
                    group_id,
                    state_epoch,
                    partitions,
                } => {
                    let request = initialize_request(&group_id, state_epoch, &partitions);
                    let asked = partitions.iter().map(|p| p.topic_id_partition).collect();
                    let call = self.call(
                        CallPurpose::Initialize {
                            partition,
                            group_id,
                            asked,
                        },
                        ShareStateRequest::Initialize(request),
                    );
                    outcome.calls.push(call);
                }
                GroupEffect::DeleteShareGroupState {
                    group_id,
                    partitions,
                } => {
                    let request = delete_request(&group_id, &partitions);
                    let topic_ids = partitions.iter().map(|tp| tp.topic_id).collect();
                    let call = self.call(
                        CallPurpose::Delete {
                            partition,
                            group_id,
                            topic_ids,
                        },
                        ShareStateRequest::Delete(request),
                    );
                    outcome.calls.push(call);
                }
                GroupEffect::Trace(event) => self.traces.push_back(event),
            }
        }
        if outcome.append.is_err() {
            // Kafka reverts the uncommitted state; reloading from the log does the same here.
            if let Some(leader_epoch) = self.hosted_partitions().get(&partition).copied() {
                let pending = match self.slots.remove(&partition) {
                    Some(Slot::Active(hosted)) => hosted.pending,
                    _ => Vec::new(),
                };
                self.load(host, partition, leader_epoch);
                match self.slots.get_mut(&partition) {
                    Some(Slot::Active(hosted)) => hosted.pending = pending,
                    _ => {
                        for answer in pending {
                            let response =
                                with_error(answer.response, ResponseError::NotCoordinator);
                            self.respond(answer.token, response);
                        }
                    }
                }
            }
        }
        outcome
    }

    fn call(&mut self, purpose: CallPurpose, request: ShareStateRequest) -> PersisterCallToken {
        let token = self.next_call_token;
        self.next_call_token += 1;
        self.calls.insert(token, purpose);
        self.outgoing_calls.push_back((token, request));
        token
    }

    /// Copies the persister's per-partition errors into the admin response waiting for `call`, and lets
    /// it go once committed.
    fn attach_persister_errors(
        &mut self,
        partition: i32,
        call: PersisterCallToken,
        results: &[(TopicIdPartition, Option<ResponseError>)],
    ) {
        let Some(Slot::Active(hosted)) = self.slots.get_mut(&partition) else {
            return;
        };
        for answer in hosted.pending.iter_mut() {
            if answer.awaiting_call != Some(call) {
                continue;
            }
            answer.awaiting_call = None;
            match &mut answer.response {
                GroupResponse::AlterOffsets(response) => {
                    for topic in response.responses.iter_mut() {
                        let topic_id = engine_topic_id(&topic.topic_id);
                        for p in topic.partitions.iter_mut() {
                            let tp = TopicIdPartition {
                                topic_id,
                                partition: p.partition_index,
                            };
                            if let Some((_, Some(error))) = results.iter().find(|(t, _)| *t == tp) {
                                p.error_code = error.code();
                                p.error_message = message(*error);
                            }
                        }
                    }
                }
                GroupResponse::DeleteOffsets(response) => {
                    for topic in response.responses.iter_mut() {
                        let topic_id = engine_topic_id(&topic.topic_id);
                        let error = results
                            .iter()
                            .find(|(tp, error)| tp.topic_id == topic_id && error.is_some())
                            .and_then(|(_, error)| *error);
                        if let Some(error) = error {
                            topic.error_code = error.code();
                            topic.error_message = message(error);
                        }
                    }
                }
                _ => {}
            }
        }
        self.release_ready(partition);
    }

    fn release_ready(&mut self, partition: i32) {
        let Some(Slot::Active(hosted)) = self.slots.get_mut(&partition) else {
            return;
        };
        let high_watermark = hosted.high_watermark;
        let (ready, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut hosted.pending)
            .into_iter()
            .partition(|answer| {
                answer.wait_offset < high_watermark && answer.awaiting_call.is_none()
            });
        hosted.pending = kept;
        for answer in ready {
            self.respond(answer.token, answer.response);
        }
    }

    fn describe_offsets_request(
        &mut self,
        token: RequestToken,
        request: &kafka_protocol::messages::DescribeShareGroupOffsetsRequest,
    ) {
        let mut response = DescribeShareGroupOffsetsResponse::default();
        let mut waiting = BTreeMap::new();
        let mut calls = Vec::new();
        for (index, group) in request.groups.iter().enumerate() {
            let group_id = group.group_id.0.to_string();
            let mut entry = describe_share_group_offsets_response::DescribeShareGroupOffsetsResponseGroup::default()
                .with_group_id(group.group_id.clone());
            let known = self.active_partition(&group_id).and_then(|partition| {
                self.coordinator(partition)
                    .and_then(|c| c.group(&group_id))
                    .map(|g| g.initialized_partitions())
                    .ok_or(ResponseError::GroupIdNotFound)
            });
            match known {
                Err(error) => {
                    entry = entry
                        .with_error_code(error.code())
                        .with_error_message(message(error));
                }
                Ok(initialized) => {
                    waiting.insert(index, (group_id.clone(), describe_topics(request, index)));
                    calls.push((index, group_id, initialized));
                }
            }
            response.groups.push(entry);
        }
        self.describe_offsets
            .insert(token, OpenDescribeOffsets { response, waiting });
        for (group_index, group_id, initialized) in calls {
            let summary = summary_request(&group_id, &initialized);
            self.call(
                CallPurpose::Summary { token, group_index },
                ShareStateRequest::ReadSummary(summary),
            );
        }
        self.maybe_finish_describe(token);
    }

    /// A DescribeShareGroupOffsets group's summary came back: the partitions with a start offset and a
    /// delivery-complete count need their end offsets for lag (Kafka's `shouldComputeSharePartitionLag`);
    /// without any, the group is answered now.
    fn handle_summary_reply(
        &mut self,
        token: RequestToken,
        group_index: usize,
        reply: &PersisterReply,
    ) {
        let summary = match reply {
            Err(error) => return self.finish_describe_group(token, group_index, Err(*error)),
            Ok(ShareStateResponse::ReadSummary(summary)) => Some(summary),
            Ok(_) => None,
        };
        let mut summaries = BTreeMap::new();
        for topic in summary.iter().flat_map(|s| s.results.iter()) {
            for p in &topic.partitions {
                if p.error_code != 0 {
                    continue;
                }
                let tp = TopicIdPartition {
                    topic_id: engine_topic_id(&topic.topic_id),
                    partition: p.partition,
                };
                let summary = PartitionOffsetSummary {
                    start_offset: p.start_offset,
                    // ReadShareGroupStateSummary v1 (KIP-1226); -1 when unknown.
                    delivery_complete_count: share_state_v1::summary_delivery_complete_count(p),
                    partition_end_offset: None,
                };
                summaries.insert(tp, (p.leader_epoch, summary));
            }
        }
        let needing: Vec<TopicIdPartition> = summaries
            .iter()
            .filter(|(_, (_, s))| s.start_offset != -1 && s.delivery_complete_count != -1)
            .map(|(tp, _)| *tp)
            .collect();
        if needing.is_empty() {
            return self.finish_describe_group(token, group_index, Ok(summaries));
        }
        let call = self.next_end_offsets_call;
        self.next_end_offsets_call += 1;
        self.end_offsets_calls.insert(
            call,
            WaitingForEndOffsets {
                token,
                group_index,
                summaries,
            },
        );
        self.outgoing_end_offsets_calls.push_back((call, needing));
    }

    /// Answers one group of a DescribeShareGroupOffsets from its summaries (with end offsets where
    /// known) or the summary call's error.
    fn finish_describe_group(
        &mut self,
        token: RequestToken,
        group_index: usize,
        summaries: Result<BTreeMap<TopicIdPartition, (i32, PartitionOffsetSummary)>, ResponseError>,
    ) {
        let Some(open) = self.describe_offsets.get_mut(&token) else {
            return;
        };
        let Some((group_id, topics)) = open.waiting.remove(&group_index) else {
            return;
        };
        let reply_error = summaries.as_ref().err().copied();
        let summaries = summaries.unwrap_or_default();
        let engine_summaries: BTreeMap<TopicIdPartition, PartitionOffsetSummary> =
            summaries.iter().map(|(tp, (_, s))| (*tp, *s)).collect();
        let described = self
            .coordinator_for_group(&group_id)
            .map(|c| c.describe_offsets(&group_id, topics.as_deref(), &engine_summaries))
            .unwrap_or(Err(ResponseError::NotCoordinator));
        let open = self
            .describe_offsets
            .get_mut(&token)
            .expect("looked up above");
        let entry = &mut open.response.groups[group_index];
        let described = match reply_error {
            Some(error) => Err(error),
            None => described,
        };
        match described {
            Err(error) => {
                entry.error_code = error.code();
                entry.error_message = message(error);
            }
            Ok(partitions) => {
                let mut by_topic: BTreeMap<String, Vec<_>> = BTreeMap::new();
                for described in partitions {
                    let topic_id = self.topics.get(&described.topic_name).map(|t| t.topic_id);
                    let leader_epoch = topic_id
                        .and_then(|topic_id| {
                            summaries.get(&TopicIdPartition {
                                topic_id,
                                partition: described.partition,
                            })
                        })
                        .map_or(-1, |(epoch, _)| *epoch);
                    let mut partition = describe_share_group_offsets_response::DescribeShareGroupOffsetsResponsePartition::default()
                        .with_partition_index(described.partition)
                        .with_start_offset(described.start_offset)
                        .with_leader_epoch(leader_epoch)
                        .with_error_code(described.error.map_or(0, |e| e.code()))
                        .with_error_message(described.error.and_then(message));
                    // Sent at v1 only (KIP-1226).
                    share_state_v1::set_describe_lag(&mut partition, described.lag);
                    by_topic
                        .entry(described.topic_name.clone())
                        .or_default()
                        .push(partition);
                }
                entry.topics = by_topic
                    .into_iter()
                    .map(|(name, partitions)| {
                        let topic_id = self.topics.get(&name).map_or(TopicId::NULL, |t| t.topic_id);
                        describe_share_group_offsets_response::DescribeShareGroupOffsetsResponseTopic::default()
                            .with_topic_name(TopicName(StrBytes::from_string(name)))
                            .with_topic_id(wire_uuid(topic_id))
                            .with_partitions(partitions)
                    })
                    .collect();
            }
        }
        self.maybe_finish_describe(token);
    }

    fn maybe_finish_describe(&mut self, token: RequestToken) {
        if self
            .describe_offsets
            .get(&token)
            .is_some_and(|open| open.waiting.is_empty())
        {
            let open = self.describe_offsets.remove(&token).expect("checked above");
            self.respond(token, GroupResponse::DescribeOffsets(open.response));
        }
    }

    fn load(&mut self, host: &mut impl CoordinatorHost, partition: i32, leader_epoch: i32) {
        let log = match host.read_records(GROUP_METADATA_TOPIC_NAME, partition) {
            Ok(log) => log,
            Err(_) => {
                let retry_at_ms = self.now_ms.saturating_add(LOAD_RETRY_INTERVAL_MS);
                self.slots.insert(
                    partition,
                    Slot::Loading {
                        leader_epoch,
                        retry_at_ms,
                    },
                );
                return;
            }
        };
        let next_offset = log.last().map_or(0, |(offset, _)| offset + 1);
        // Records of other group kinds (classic groups) and undecodable ones are skipped.
        let records: Vec<_> = log
            .iter()
            .filter_map(|(_, record)| decode_group_record(record).ok().flatten())
            .collect();
        let mut coordinator =
            ShareGroupCoordinator::load(self.now_ms, self.config.share.clone(), records.iter());
        coordinator.handle_metadata_update(self.now_ms, self.topics.clone());
        for (group_id, config) in &self.group_configs {
            if self.partition_for(group_id) == Some(partition) {
                coordinator.set_group_config(group_id, config.clone());
            }
        }
        let high_watermark = host.high_watermark(GROUP_METADATA_TOPIC_NAME, partition);
        self.slots.insert(
            partition,
            Slot::Active(Box::new(HostedGroups {
                leader_epoch,
                coordinator,
                high_watermark,
                next_offset,
                pending: Vec::new(),
            })),
        );
    }

    fn drop_slot(&mut self, partition: i32) {
        if let Some(Slot::Active(hosted)) = self.slots.remove(&partition) {
            for answer in hosted.pending {
                let response = with_error(answer.response, ResponseError::NotCoordinator);
                self.respond(answer.token, response);
            }
        }
        // Calls in flight for this partition are forgotten: the next coordinator asks again.
        self.calls.retain(|_, purpose| match purpose {
            CallPurpose::Initialize { partition: p, .. }
            | CallPurpose::Delete { partition: p, .. } => *p != partition,
            CallPurpose::Summary { .. } => true,
        });
    }

    fn respond(&mut self, token: RequestToken, response: GroupResponse) {
        self.responses.push_back((token, response));
    }

    fn advance(&mut self, now_ms: u64) {
        debug_assert!(now_ms >= self.now_ms, "time went backwards");
        self.now_ms = self.now_ms.max(now_ms);
    }
}

struct DrainOutcome {
    append: Result<(), ResponseError>,
    calls: Vec<PersisterCallToken>,
}

/// The response turned into an error answer (write failed, timed out, coordinator moved).
fn with_error(response: GroupResponse, error: ResponseError) -> GroupResponse {
    match response {
        GroupResponse::Heartbeat(_) => GroupResponse::Heartbeat(heartbeat_error(error)),
        GroupResponse::AlterOffsets(_) => GroupResponse::AlterOffsets(alter_error(error)),
        GroupResponse::DeleteOffsets(_) => {
            GroupResponse::DeleteOffsets(delete_offsets_error(error))
        }
        other => other,
    }
}

/// Per-partition outcomes of an InitializeShareGroupState call (every partition fails with the call's
/// error when the call itself failed).
fn initialize_results(
    reply: &PersisterReply,
    asked: &[TopicIdPartition],
) -> Vec<(TopicIdPartition, Option<ResponseError>)> {
    let mut results = Vec::new();
    if let Err(error) = reply {
        return asked.iter().map(|tp| (*tp, Some(*error))).collect();
    }
    if let Ok(ShareStateResponse::Initialize(response)) = reply {
        for topic in &response.results {
            for p in &topic.partitions {
                results.push((
                    TopicIdPartition {
                        topic_id: engine_topic_id(&topic.topic_id),
                        partition: p.partition,
                    },
                    error_of(p.error_code),
                ));
            }
        }
    }
    results
}

/// Per-partition outcomes of a DeleteShareGroupState call.
fn delete_results(reply: &PersisterReply) -> Vec<(TopicIdPartition, Option<ResponseError>)> {
    let mut results = Vec::new();
    match reply {
        Ok(ShareStateResponse::Delete(response)) => {
            for topic in &response.results {
                for p in &topic.partitions {
                    results.push((
                        TopicIdPartition {
                            topic_id: engine_topic_id(&topic.topic_id),
                            partition: p.partition,
                        },
                        error_of(p.error_code),
                    ));
                }
            }
        }
        Err(error) => results.push((
            TopicIdPartition {
                topic_id: TopicId::NULL,
                partition: -1,
            },
            Some(*error),
        )),
        Ok(_) => {}
    }
    results
}

fn error_of(code: i16) -> Option<ResponseError> {
    ResponseError::try_from_code(code)
}
