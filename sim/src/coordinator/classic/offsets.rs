//! OffsetCommit and OffsetFetch for classic groups (Kafka's `OffsetMetadataManager` with
//! `ClassicGroup.validateOffsetCommit/validateOffsetFetch`): a commit is accepted from a member of the
//! current generation (also during PreparingRebalance, so that an eager consumer can commit before it
//! rejoins), or with generation -1 into an empty group (a "simple" group, created if needed).

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartitions, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::coordinator::ClassicGroupCoordinator;
use super::effects::{ClassicResponse, RequestContext};
use super::records::{ClassicGroupRecord, OffsetCommitValue};
use super::state::{ClassicGroup, ClassicGroupState};
use crate::trace::{ClassicTraceEvent, CommittedPosition, TopicPartitionName};
use crate::ResponseError;

/// OffsetCommit v9 and later answer GROUP_ID_NOT_FOUND for a missing group; older ones
/// ILLEGAL_GENERATION.
pub const OFFSET_COMMIT_GROUP_ID_NOT_FOUND_VERSION: i16 = 9;

impl ClassicGroupCoordinator {
    /// OffsetCommit (8): validates the member and generation, then writes one `OffsetCommit` record per
    /// partition. Errors apply to every partition of the request.
    pub fn handle_offset_commit(
        &mut self,
        now_ms: u64,
        context: RequestContext,
        request: &OffsetCommitRequest,
    ) {
        self.advance(now_ms);
        let group_id = request.group_id.0.to_string();
        let error = self.validate_offset_commit(&group_id, context.api_version, request);
        let mut records = Vec::new();
        let mut committed = Vec::new();
        let mut topics = Vec::new();
        for topic in &request.topics {
            let mut partitions = Vec::new();
            for partition in &topic.partitions {
                let metadata = partition.committed_metadata.as_deref().unwrap_or("");
                let partition_error = if error.is_some() {
                    error
                } else if metadata.len() > self.config.offset_metadata_max_bytes {
                    Some(ResponseError::OffsetMetadataTooLarge)
                } else {
                    None
                };
                if partition_error.is_none() {
                    records.push(ClassicGroupRecord::OffsetCommit {
                        group_id: group_id.clone(),
                        topic: topic.name.0.to_string(),
                        partition: partition.partition_index,
                        value: Some(OffsetCommitValue {
                            committed_offset: partition.committed_offset,
                            committed_leader_epoch: partition.committed_leader_epoch,
                            metadata: metadata.to_string(),
                            commit_timestamp_ms: self.now_ms,
                        }),
                    });
                    committed.push(CommittedPosition {
                        topic_partition: TopicPartitionName {
                            topic: topic.name.0.to_string(),
                            partition: partition.partition_index,
                        },
                        offset: partition.committed_offset,
                    });
                }
                partitions.push(
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(partition.partition_index)
                        .with_error_code(partition_error.map_or(0, |e| e.code())),
                );
            }
            topics.push(
                OffsetCommitResponseTopic::default()
                    .with_name(topic.name.clone())
                    .with_topic_id(topic.topic_id)
                    .with_partitions(partitions),
            );
        }
        if error.is_none() {
            self.apply_offset_records(&group_id, request, &records, committed);
        }
        let response = OffsetCommitResponse::default().with_topics(topics);
        self.respond(context.token, ClassicResponse::OffsetCommit(response));
        self.check_invariants(&group_id);
    }

    fn apply_offset_records(
        &mut self,
        group_id: &str,
        request: &OffsetCommitRequest,
        records: &[ClassicGroupRecord],
        committed: Vec<CommittedPosition>,
    ) {
        let now_ms = self.now_ms;
        let group = self
            .groups
            .entry(group_id.to_string())
            .or_insert_with(|| ClassicGroup::new(group_id, now_ms));
        for record in records {
            if let ClassicGroupRecord::OffsetCommit {
                topic,
                partition,
                value: Some(value),
                ..
            } = record
            {
                group
                    .offsets
                    .insert((topic.clone(), *partition), value.clone());
            }
        }
        // A commit from a member proves it alive, as a heartbeat does.
        if let Some(member) = group.members.get_mut(request.member_id.as_str()) {
            member.session_deadline_ms = now_ms + member.session_timeout_ms;
        }
        self.append(records.to_vec());
        if !committed.is_empty() {
            self.trace(ClassicTraceEvent::OffsetsCommitted {
                group_id: group_id.to_string(),
                member_id: request.member_id.to_string(),
                generation_id: request.generation_id_or_member_epoch,
                offsets: committed,
            });
        }
    }

    fn validate_offset_commit(
        &self,
        group_id: &str,
        api_version: i16,
        request: &OffsetCommitRequest,
    ) -> Option<ResponseError> {
        let generation_id = request.generation_id_or_member_epoch;
        let member_id = request.member_id.as_str();
        if group_id.is_empty() {
            return Some(ResponseError::InvalidGroupId);
        }
        let Some(group) = self.groups.get(group_id) else {
            return if generation_id < 0 {
                None
            } else if api_version >= OFFSET_COMMIT_GROUP_ID_NOT_FOUND_VERSION {
                Some(ResponseError::GroupIdNotFound)
            } else {
                Some(ResponseError::IllegalGeneration)
            };
        };
        if group.state == ClassicGroupState::Dead {
            return Some(ResponseError::CoordinatorNotAvailable);
        }
        if generation_id < 0 && group.state == ClassicGroupState::Empty {
            return None;
        }
        if generation_id >= 0 || !member_id.is_empty() {
            if !group.members.contains_key(member_id) {
                return Some(ResponseError::UnknownMemberId);
            }
            if generation_id != group.generation_id {
                return Some(ResponseError::IllegalGeneration);
            }
        } else if group.state != ClassicGroupState::Empty {
            return Some(ResponseError::UnknownMemberId);
        }
        if group.state == ClassicGroupState::CompletingRebalance {
            return Some(ResponseError::RebalanceInProgress);
        }
        None
    }

    /// OffsetFetch (9), v8+ (a list of groups): the committed offset of each asked partition, -1 for
    /// none; with no topic list, every committed offset of the group. A missing group has no offsets.
    pub fn handle_offset_fetch(
        &mut self,
        now_ms: u64,
        context: RequestContext,
        request: &OffsetFetchRequest,
    ) {
        self.advance(now_ms);
        let mut groups = Vec::new();
        for asked in &request.groups {
            let group = self.groups.get(asked.group_id.0.as_str());
            let asked_partitions: Vec<(String, i32)> = match &asked.topics {
                Some(topics) => topics
                    .iter()
                    .flat_map(|t| {
                        t.partition_indexes
                            .iter()
                            .map(|p| (t.name.0.to_string(), *p))
                    })
                    .collect(),
                None => group
                    .map(|g| g.offsets.keys().cloned().collect())
                    .unwrap_or_default(),
            };
            let mut topics: Vec<OffsetFetchResponseTopics> = Vec::new();
            for (topic, partition) in asked_partitions {
                let value = group.and_then(|g| g.offsets.get(&(topic.clone(), partition)));
                let entry = OffsetFetchResponsePartitions::default()
                    .with_partition_index(partition)
                    .with_committed_offset(value.map_or(-1, |v| v.committed_offset))
                    .with_committed_leader_epoch(value.map_or(-1, |v| v.committed_leader_epoch))
                    .with_metadata(Some(StrBytes::from_string(
                        value.map(|v| v.metadata.clone()).unwrap_or_default(),
                    )));
                match topics.iter_mut().find(|t| t.name.0.as_str() == topic) {
                    Some(existing) => existing.partitions.push(entry),
                    None => topics.push(
                        OffsetFetchResponseTopics::default()
                            .with_name(TopicName(StrBytes::from_string(topic)))
                            .with_partitions(vec![entry]),
                    ),
                }
            }
            groups.push(
                OffsetFetchResponseGroup::default()
                    .with_group_id(asked.group_id.clone())
                    .with_topics(topics),
            );
        }
        let response = OffsetFetchResponse::default().with_groups(groups);
        self.respond(context.token, ClassicResponse::OffsetFetch(response));
    }
}
