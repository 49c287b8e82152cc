//! Handling the classic consumer's responses and failed requests (Kafka's `ConsumerCoordinator`,
//! `AbstractCoordinator` response handlers and the `Fetcher`'s completed fetches).

use std::collections::{BTreeMap, VecDeque};

use kafka_protocol::messages::{
    FetchResponse, FindCoordinatorResponse, HeartbeatResponse, JoinGroupResponse,
    ListOffsetsResponse, MetadataResponse, OffsetCommitResponse, OffsetFetchResponse, ResponseKind,
    SyncGroupResponse,
};

use super::consumer::{
    Buffered, ClassicConsumer, CommitPurpose, InFlight, MemberState, PartitionLeader,
};
use super::events::{ClassicConsumerEvent, ClassicRecord};
use super::protocol::decode_assignment;
use crate::client::share_consumer::{NodeId, RequestId};
use crate::log::{consume_fetched, ConsumedBatchKind};
use crate::trace::{ClassicTraceEvent, CommittedPosition, TopicPartitionName};
use crate::ResponseError;

fn error_of(code: i16) -> Option<ResponseError> {
    if code == 0 {
        None
    } else {
        Some(ResponseError::try_from_code(code).unwrap_or(ResponseError::UnknownServerError))
    }
}

fn is_coordinator_error(error: ResponseError) -> bool {
    matches!(
        error,
        ResponseError::NotCoordinator
            | ResponseError::CoordinatorNotAvailable
            | ResponseError::CoordinatorLoadInProgress
    )
}

impl ClassicConsumer {
    /// A response to `request_id`. A response of the wrong kind is bad input: treated as a failure.
    pub fn handle_response(&mut self, now_ms: u64, request_id: RequestId, response: ResponseKind) {
        self.advance(now_ms);
        let Some(what) = self.in_flight.remove(&request_id) else {
            return;
        };
        match (what, response) {
            (InFlight::FindCoordinator, ResponseKind::FindCoordinator(r)) => {
                self.on_find_coordinator(&r)
            }
            (InFlight::Metadata, ResponseKind::Metadata(r)) => self.on_metadata(&r),
            (InFlight::JoinGroup, ResponseKind::JoinGroup(r)) => self.on_join_group(&r),
            (InFlight::SyncGroup, ResponseKind::SyncGroup(r)) => self.on_sync_group(&r),
            (InFlight::Heartbeat, ResponseKind::Heartbeat(r)) => self.on_heartbeat(&r),
            (InFlight::LeaveGroup, ResponseKind::LeaveGroup(_)) => {}
            (InFlight::OffsetFetch, ResponseKind::OffsetFetch(r)) => self.on_offset_fetch(&r),
            (InFlight::ListOffsets(_), ResponseKind::ListOffsets(r)) => self.on_list_offsets(&r),
            (
                InFlight::Fetch {
                    assignment_epoch,
                    fetch_offsets,
                    ..
                },
                ResponseKind::Fetch(r),
            ) => {
                if assignment_epoch == self.assignment_epoch {
                    self.on_fetch(&fetch_offsets, &r);
                }
            }
            (
                InFlight::OffsetCommit {
                    purpose,
                    generation_id,
                    offsets,
                },
                ResponseKind::OffsetCommit(r),
            ) => self.on_offset_commit(purpose, generation_id, &offsets, commit_error(&r)),
            (what, _) => self.on_failure(what, ResponseError::UnknownServerError),
        }
        self.step();
    }

    /// `request_id` failed: no connection, a timeout, or a closed connection (NETWORK_EXCEPTION or
    /// REQUEST_TIMED_OUT for the application).
    pub fn handle_request_failed(
        &mut self,
        now_ms: u64,
        request_id: RequestId,
        error: ResponseError,
    ) {
        self.advance(now_ms);
        if let Some(what) = self.in_flight.remove(&request_id) {
            self.on_failure(what, error);
        }
        self.step();
    }

    fn on_failure(&mut self, what: InFlight, error: ResponseError) {
        match what {
            InFlight::FindCoordinator => self.coordinator_unknown(),
            InFlight::Metadata => self.metadata_needed = true,
            InFlight::JoinGroup | InFlight::SyncGroup => {
                self.coordinator_unknown();
                if !matches!(self.state, MemberState::Closing | MemberState::Closed) {
                    self.state = MemberState::Unjoined;
                }
                self.rejoin_needed = true;
            }
            InFlight::Heartbeat | InFlight::OffsetFetch => self.coordinator_unknown(),
            InFlight::LeaveGroup => {}
            InFlight::ListOffsets(_) => self.metadata_needed = true,
            InFlight::Fetch { fetch_offsets, .. } => {
                self.metadata_needed = true;
                for tp in fetch_offsets.keys() {
                    self.fetch_backoff_until_ms
                        .insert(tp.clone(), self.now_ms + self.config.retry_backoff_ms);
                }
            }
            InFlight::OffsetCommit {
                purpose,
                generation_id,
                offsets,
            } => {
                self.coordinator_unknown();
                self.on_offset_commit(purpose, generation_id, &offsets, Some(error));
            }
        }
    }

    fn on_find_coordinator(&mut self, response: &FindCoordinatorResponse) {
        let found = response.coordinators.first();
        match found {
            Some(c) if c.error_code == 0 && c.node_id.0 >= 0 => {
                let node = NodeId(c.node_id.0);
                self.brokers.insert(node, (c.host.to_string(), c.port));
                self.coordinator = Some(node);
            }
            _ => self.coordinator_unknown(),
        }
    }

    fn on_metadata(&mut self, response: &MetadataResponse) {
        for broker in &response.brokers {
            self.brokers.insert(
                NodeId(broker.node_id.0),
                (broker.host.to_string(), broker.port),
            );
        }
        for topic in &response.topics {
            let Some(name) = topic.name.as_ref().map(|n| n.0.to_string()) else {
                continue;
            };
            if topic.error_code != 0 {
                self.metadata_needed = true;
                continue;
            }
            self.topic_ids
                .insert(name.clone(), topic.topic_id.as_u128());
            let count = topic.partitions.len() as i32;
            if self.partition_counts.insert(name.clone(), count) != Some(count) && self.is_member()
            {
                // Kafka's leader watches partition counts: a change means a new assignment.
                self.rejoin_needed = true;
            }
            for partition in &topic.partitions {
                let leader = (partition.leader_id.0 >= 0).then_some(NodeId(partition.leader_id.0));
                let tp = TopicPartitionName {
                    topic: name.clone(),
                    partition: partition.partition_index,
                };
                self.leaders.insert(
                    tp,
                    PartitionLeader {
                        leader,
                        leader_epoch: partition.leader_epoch,
                    },
                );
            }
        }
    }

    fn on_join_group(&mut self, response: &JoinGroupResponse) {
        if self.state != MemberState::Joining {
            return;
        }
        match error_of(response.error_code) {
            None => {
                self.member_id = response.member_id.to_string();
                self.generation_id = response.generation_id;
                self.protocol_name = response.protocol_name.as_ref().map(|p| p.to_string());
                let members: Vec<(String, Vec<u8>)> = if response.leader == response.member_id {
                    response
                        .members
                        .iter()
                        .map(|m| (m.member_id.to_string(), m.metadata.to_vec()))
                        .collect()
                } else {
                    Vec::new()
                };
                self.send_sync_group(&members);
            }
            Some(ResponseError::MemberIdRequired) => {
                self.member_id = response.member_id.to_string();
                self.send_join_group();
            }
            Some(ResponseError::UnknownMemberId | ResponseError::IllegalGeneration) => {
                self.reset_membership(true);
                self.send_join_group();
            }
            Some(ResponseError::RebalanceInProgress) => self.send_join_group(),
            Some(error) if is_coordinator_error(error) => {
                self.coordinator_unknown();
                self.state = MemberState::Unjoined;
            }
            Some(error) => {
                // INCONSISTENT_GROUP_PROTOCOL, INVALID_SESSION_TIMEOUT, GROUP_MAX_SIZE_REACHED, ...:
                // fatal for this consumer, as the Java client throws them from poll.
                self.fatal = true;
                self.reset_membership(true);
                self.events.push_back(ClassicConsumerEvent::Error(error));
            }
        }
    }

    fn on_sync_group(&mut self, response: &SyncGroupResponse) {
        if self.state != MemberState::Syncing {
            return;
        }
        match error_of(response.error_code) {
            None => {
                let Some(partitions) = decode_assignment(&response.assignment) else {
                    self.events.push_back(ClassicConsumerEvent::Error(
                        ResponseError::InconsistentGroupProtocol,
                    ));
                    self.state = MemberState::Unjoined;
                    self.join_retry_at_ms = self.now_ms + self.config.retry_backoff_ms;
                    return;
                };
                self.install_assignment(partitions);
            }
            Some(ResponseError::RebalanceInProgress) => {
                self.state = MemberState::Unjoined;
                self.send_join_group();
            }
            Some(ResponseError::UnknownMemberId | ResponseError::IllegalGeneration) => {
                self.reset_membership(true);
                self.send_join_group();
            }
            Some(error) if is_coordinator_error(error) => {
                self.coordinator_unknown();
                self.state = MemberState::Unjoined;
            }
            Some(error) => {
                self.state = MemberState::Unjoined;
                self.join_retry_at_ms = self.now_ms + self.config.retry_backoff_ms;
                self.events.push_back(ClassicConsumerEvent::Error(error));
            }
        }
    }

    fn install_assignment(&mut self, partitions: Vec<TopicPartitionName>) {
        debug_assert!(
            self.positions.is_empty(),
            "eager: everything was revoked before joining"
        );
        let owned: Vec<TopicPartitionName> = partitions
            .into_iter()
            .filter(|tp| self.subscription.contains(&tp.topic))
            .collect();
        self.assignment = owned.clone();
        self.assignment_epoch += 1;
        self.state = MemberState::Stable;
        self.rejoin_needed = false;
        self.next_heartbeat_ms = self.now_ms + self.config.heartbeat_interval_ms;
        self.next_auto_commit_ms = self.now_ms + self.config.auto_commit_interval_ms;
        self.traces
            .push_back(ClassicTraceEvent::AssignmentReceived {
                group_id: self.config.group_id.clone(),
                member_id: self.member_id.clone(),
                generation_id: self.generation_id,
                partitions: owned.clone(),
            });
        self.events
            .push_back(ClassicConsumerEvent::AssignmentChanged {
                generation_id: self.generation_id,
                partitions: owned,
            });
    }

    fn on_heartbeat(&mut self, response: &HeartbeatResponse) {
        if !self.is_member() {
            return;
        }
        match error_of(response.error_code) {
            None => {}
            Some(ResponseError::RebalanceInProgress) => self.rejoin_needed = true,
            Some(ResponseError::IllegalGeneration) => self.fenced(false, "illegal_generation"),
            Some(ResponseError::UnknownMemberId) => self.fenced(true, "unknown_member_id"),
            Some(error) if is_coordinator_error(error) => self.coordinator_unknown(),
            Some(_) => self.rejoin_needed = true,
        }
    }

    /// The member lost its generation: its partitions are lost (no commit), and it rejoins at `poll`.
    fn fenced(&mut self, forget_member_id: bool, reason: &str) {
        self.traces.push_back(ClassicTraceEvent::MemberLeft {
            group_id: self.config.group_id.clone(),
            member_id: self.member_id.clone(),
            reason: reason.to_string(),
        });
        self.revoke_all();
        self.reset_membership(forget_member_id);
        self.rejoin_needed = true;
    }

    fn on_offset_fetch(&mut self, response: &OffsetFetchResponse) {
        let Some(group) = response.groups.first() else {
            return;
        };
        if let Some(error) = error_of(group.error_code) {
            if is_coordinator_error(error) {
                self.coordinator_unknown();
            }
            return;
        }
        for topic in &group.topics {
            for partition in &topic.partitions {
                let tp = TopicPartitionName {
                    topic: topic.name.0.to_string(),
                    partition: partition.partition_index,
                };
                if !self.assignment.contains(&tp) || self.positions.contains_key(&tp) {
                    continue;
                }
                if partition.error_code != 0 {
                    continue;
                }
                if partition.committed_offset >= 0 {
                    self.positions
                        .insert(tp.clone(), partition.committed_offset);
                    self.committed.insert(tp, partition.committed_offset);
                } else {
                    self.awaiting_reset.insert(tp);
                }
            }
        }
    }

    fn on_list_offsets(&mut self, response: &ListOffsetsResponse) {
        for topic in &response.topics {
            for partition in &topic.partitions {
                let tp = TopicPartitionName {
                    topic: topic.name.0.to_string(),
                    partition: partition.partition_index,
                };
                if !self.awaiting_reset.contains(&tp) {
                    continue;
                }
                if partition.error_code == 0 && partition.offset >= 0 {
                    self.awaiting_reset.remove(&tp);
                    self.positions.insert(tp, partition.offset);
                } else {
                    self.metadata_needed = true;
                }
            }
        }
    }

    fn on_fetch(
        &mut self,
        fetch_offsets: &BTreeMap<TopicPartitionName, i64>,
        response: &FetchResponse,
    ) {
        if response.error_code != 0 {
            self.metadata_needed = true;
            return;
        }
        for topic in &response.responses {
            let name = if topic.topic.0.is_empty() {
                let id = topic.topic_id.as_u128();
                self.topic_ids
                    .iter()
                    .find(|(_, topic_id)| **topic_id == id)
                    .map(|(name, _)| name.clone())
                    .unwrap_or_default()
            } else {
                topic.topic.0.to_string()
            };
            for partition in &topic.partitions {
                let tp = TopicPartitionName {
                    topic: name.clone(),
                    partition: partition.partition_index,
                };
                let Some(fetch_offset) = fetch_offsets.get(&tp).copied() else {
                    continue;
                };
                if self.positions.get(&tp) != Some(&fetch_offset) {
                    continue;
                }
                match error_of(partition.error_code) {
                    None => self.buffer_fetched(&tp, fetch_offset, partition.records.as_ref()),
                    Some(ResponseError::OffsetOutOfRange) => {
                        self.positions.remove(&tp);
                        self.awaiting_reset.insert(tp);
                    }
                    Some(_) => {
                        // NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION, ...
                        self.metadata_needed = true;
                        self.fetch_backoff_until_ms
                            .insert(tp, self.now_ms + self.config.retry_backoff_ms);
                    }
                }
            }
        }
    }

    fn buffer_fetched(
        &mut self,
        tp: &TopicPartitionName,
        fetch_offset: i64,
        records: Option<&bytes::Bytes>,
    ) {
        let Some(records) = records.filter(|r| !r.is_empty()) else {
            return;
        };
        let Ok(batches) = consume_fetched(records, fetch_offset, None) else {
            self.corrupt(tp);
            return;
        };
        let mut queue = VecDeque::new();
        for batch in batches {
            if batch.last_offset < fetch_offset {
                continue;
            }
            match batch.kind {
                ConsumedBatchKind::Data(data) => {
                    for record in data {
                        queue.push_back(Buffered::Record(ClassicRecord {
                            topic_partition: tp.clone(),
                            offset: record.offset,
                            key: record.key.clone(),
                            value: record.value.clone(),
                            timestamp_ms: record.timestamp,
                        }));
                    }
                    queue.push_back(Buffered::Skip {
                        next_offset: batch.last_offset + 1,
                    });
                }
                ConsumedBatchKind::Control | ConsumedBatchKind::Aborted => {
                    queue.push_back(Buffered::Skip {
                        next_offset: batch.last_offset + 1,
                    });
                }
                ConsumedBatchKind::Corrupt => {
                    // Java throws CorruptRecordException from poll and stays at the offset.
                    if queue.is_empty() {
                        self.corrupt(tp);
                        return;
                    }
                    break;
                }
            }
        }
        if !queue.is_empty() {
            self.buffered.insert(tp.clone(), queue);
        }
    }

    fn corrupt(&mut self, tp: &TopicPartitionName) {
        self.events
            .push_back(ClassicConsumerEvent::Error(ResponseError::CorruptMessage));
        self.fetch_backoff_until_ms
            .insert(tp.clone(), self.now_ms + self.config.retry_backoff_ms);
    }

    fn on_offset_commit(
        &mut self,
        purpose: CommitPurpose,
        generation_id: i32,
        offsets: &BTreeMap<TopicPartitionName, i64>,
        error: Option<ResponseError>,
    ) {
        if error.is_none() {
            for (tp, offset) in offsets {
                self.committed.insert(tp.clone(), *offset);
            }
        }
        self.traces.push_back(ClassicTraceEvent::CommitCompleted {
            group_id: self.config.group_id.clone(),
            member_id: self.member_id.clone(),
            generation_id,
            offsets: offsets
                .iter()
                .map(|(tp, offset)| CommittedPosition {
                    topic_partition: tp.clone(),
                    offset: *offset,
                })
                .collect(),
            error_code: error.map_or(0, |e| e.code()),
        });
        match error {
            Some(ResponseError::RebalanceInProgress) => self.rejoin_needed = true,
            Some(ResponseError::IllegalGeneration) if self.is_member() => {
                self.fenced(false, "illegal_generation")
            }
            Some(ResponseError::UnknownMemberId) if self.is_member() => {
                self.fenced(true, "unknown_member_id")
            }
            _ => {}
        }
        match purpose {
            CommitPurpose::Auto => {}
            CommitPurpose::Sync(commit_id) => {
                self.events
                    .push_back(ClassicConsumerEvent::CommitSyncCompleted { commit_id, error });
            }
            CommitPurpose::BeforeRejoin => {
                if self.state == MemberState::PreparingRejoin {
                    self.revoke_all();
                    self.state = MemberState::Unjoined;
                    self.send_join_group();
                }
            }
            CommitPurpose::Close => self.finish_close(),
        }
    }
}

/// The first partition error of an OffsetCommit response (they all carry the same one here).
fn commit_error(response: &OffsetCommitResponse) -> Option<ResponseError> {
    response
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .find_map(|p| error_of(p.error_code))
}
