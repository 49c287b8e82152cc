//! The share-group admin APIs (spec 5.3): AlterShareGroupOffsets, DeleteShareGroupOffsets,
//! DescribeShareGroupOffsets, DeleteShareGroups and ShareGroupDescribe.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::coordinator::ShareGroupCoordinator;
use super::effects::{EpochBumpCause, GroupEffect, InitializePartition};
use super::records::{GroupCoordinatorRecord, InitializingTopicInfo};
use super::state::{ShareGroupMember, ShareGroupState};
use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::ResponseError;

/// One topic of an AlterShareGroupOffsets request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlterOffsetsTopic {
    /// The topic name.
    pub topic_name: String,
    /// (partition, new start offset).
    pub partitions: Vec<(i32, i64)>,
}

/// The per-partition outcome of an admin request on one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicPartitionsResult {
    /// The topic name.
    pub topic_name: String,
    /// (partition, `None` on success).
    pub partitions: Vec<(i32, Option<ResponseError>)>,
}

/// The per-topic outcome of DeleteShareGroupOffsets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteOffsetsTopicResult {
    /// The topic name.
    pub topic_name: String,
    /// `None` when the topic's offsets are being deleted.
    pub error: Option<ResponseError>,
}

/// What the share coordinator and the log say about one partition, for DescribeShareGroupOffsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartitionOffsetSummary {
    /// ReadShareGroupStateSummary's start offset (-1 when not decided yet).
    pub start_offset: i64,
    /// ReadShareGroupStateSummary's delivery-complete count (-1 when unknown).
    pub delivery_complete_count: i32,
    /// The partition's end offset (high watermark), if known.
    pub partition_end_offset: Option<i64>,
}

/// One partition of a DescribeShareGroupOffsets answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescribedPartitionOffset {
    /// The topic name.
    pub topic_name: String,
    /// The partition.
    pub partition: i32,
    /// The start offset, -1 when the partition is not initialized for the group.
    pub start_offset: i64,
    /// `partitionEndOffset - startOffset - deliveryCompleteCount`, -1 when unknown.
    pub lag: i64,
    /// Per-partition error (an unknown topic or partition).
    pub error: Option<ResponseError>,
}

/// One member in a ShareGroupDescribe answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescribedMember {
    /// The member as the coordinator keeps it.
    pub member: ShareGroupMember,
    /// Its assignment by topic id.
    pub assignment: BTreeMap<TopicId, BTreeSet<i32>>,
}

/// A ShareGroupDescribe answer for one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareGroupDescription {
    /// The group id.
    pub group_id: String,
    /// Empty or Stable.
    pub state: ShareGroupState,
    /// The group epoch.
    pub group_epoch: i32,
    /// The target assignment epoch.
    pub assignment_epoch: i32,
    /// Always "simple".
    pub assignor_name: &'static str,
    /// The members, by id.
    pub members: Vec<DescribedMember>,
}

impl ShareGroupCoordinator {
    /// AlterShareGroupOffsets (spec 5.3): the group must be empty (NON_EMPTY_GROUP) and is created if
    /// missing; the group epoch is bumped; known partitions become initializing and an
    /// InitializeShareGroupState with the new epoch and the requested start offsets is asked for; unknown
    /// topics or partitions get UNKNOWN_TOPIC_OR_PARTITION.
    pub fn handle_alter_offsets(
        &mut self,
        now_ms: u64,
        group_id: &str,
        topics: &[AlterOffsetsTopic],
    ) -> Result<Vec<TopicPartitionsResult>, ResponseError> {
        self.advance(now_ms);
        if group_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        if self
            .groups
            .get(group_id)
            .is_some_and(|group| !group.members.is_empty())
        {
            return Err(ResponseError::NonEmptyGroup);
        }
        let mut records = Vec::new();
        self.bump_group_epoch(&mut records, group_id, EpochBumpCause::AlterOffsets);
        let state_epoch = self.groups[group_id].group_epoch;
        let mut metadata = self.groups[group_id].partition_metadata.clone();
        let mut results = Vec::new();
        let mut wanted = Vec::new();
        for topic in topics {
            let known = self.topics.get(&topic.topic_name).copied();
            let mut partitions = Vec::new();
            for &(partition, start_offset) in &topic.partitions {
                let Some(known) = known.filter(|t| (0..t.partition_count).contains(&partition))
                else {
                    partitions.push((partition, Some(ResponseError::UnknownTopicOrPartition)));
                    continue;
                };
                let tp = TopicIdPartition {
                    topic_id: known.topic_id,
                    partition,
                };
                if let Some(info) = metadata.initialized_topics.get_mut(&tp.topic_id) {
                    info.partitions.remove(&partition);
                    if info.partitions.is_empty() {
                        metadata.initialized_topics.remove(&tp.topic_id);
                    }
                }
                metadata
                    .initializing_topics
                    .entry(tp.topic_id)
                    .or_insert_with(|| InitializingTopicInfo {
                        topic_name: topic.topic_name.clone(),
                        partitions: BTreeMap::new(),
                    })
                    .partitions
                    .insert(partition, self.now_ms());
                wanted.push(InitializePartition {
                    topic_id_partition: tp,
                    start_offset,
                });
                partitions.push((partition, None));
            }
            results.push(TopicPartitionsResult {
                topic_name: topic.topic_name.clone(),
                partitions,
            });
        }
        self.append(
            &mut records,
            GroupCoordinatorRecord::StatePartitionMetadata {
                group_id: group_id.to_string(),
                value: Some(metadata),
            },
        );
        self.flush_records(records);
        if !wanted.is_empty() {
            self.push_effect(GroupEffect::InitializeShareGroupState {
                group_id: group_id.to_string(),
                state_epoch,
                partitions: wanted,
            });
        }
        Ok(results)
    }

    /// DeleteShareGroupOffsets (spec 5.3): the group must exist (GROUP_ID_NOT_FOUND) and be empty
    /// (NON_EMPTY_GROUP); topics initialized or already deleting move to deleting and a
    /// DeleteShareGroupState is asked for; other topics get UNKNOWN_TOPIC_OR_PARTITION.
    pub fn handle_delete_offsets(
        &mut self,
        now_ms: u64,
        group_id: &str,
        topic_names: &[String],
    ) -> Result<Vec<DeleteOffsetsTopicResult>, ResponseError> {
        self.advance(now_ms);
        let Some(group) = self.groups.get(group_id) else {
            return Err(ResponseError::GroupIdNotFound);
        };
        if !group.members.is_empty() {
            return Err(ResponseError::NonEmptyGroup);
        }
        let mut metadata = group.partition_metadata.clone();
        let mut results = Vec::new();
        let mut partitions = BTreeSet::new();
        for topic_name in topic_names {
            let initialized = metadata
                .initialized_topics
                .iter()
                .find(|(_, info)| &info.topic_name == topic_name)
                .map(|(topic_id, _)| *topic_id);
            let deleting = metadata
                .deleting_topics
                .iter()
                .find(|(_, name)| *name == topic_name)
                .map(|(topic_id, _)| *topic_id);
            let Some(topic_id) = initialized.or(deleting) else {
                results.push(DeleteOffsetsTopicResult {
                    topic_name: topic_name.clone(),
                    error: Some(ResponseError::UnknownTopicOrPartition),
                });
                continue;
            };
            if let Some(info) = metadata.initialized_topics.remove(&topic_id) {
                partitions.extend(info.partitions.iter().map(|p| TopicIdPartition {
                    topic_id,
                    partition: *p,
                }));
            }
            if let Some(info) = metadata.initializing_topics.remove(&topic_id) {
                partitions.extend(info.partitions.keys().map(|p| TopicIdPartition {
                    topic_id,
                    partition: *p,
                }));
            }
            // A topic already deleting is asked again for all of its partitions.
            if let Some(topic) = self
                .topics
                .values()
                .find(|topic| topic.topic_id == topic_id)
            {
                if deleting.is_some() {
                    partitions.extend((0..topic.partition_count).map(|p| TopicIdPartition {
                        topic_id,
                        partition: p,
                    }));
                }
            }
            metadata
                .deleting_topics
                .insert(topic_id, topic_name.clone());
            results.push(DeleteOffsetsTopicResult {
                topic_name: topic_name.clone(),
                error: None,
            });
        }
        if metadata != group.partition_metadata {
            let mut records = Vec::new();
            self.append(
                &mut records,
                GroupCoordinatorRecord::StatePartitionMetadata {
                    group_id: group_id.to_string(),
                    value: Some(metadata),
                },
            );
            self.flush_records(records);
        }
        if !partitions.is_empty() {
            self.push_effect(GroupEffect::DeleteShareGroupState {
                group_id: group_id.to_string(),
                partitions,
            });
        }
        Ok(results)
    }

    /// The answer to a DeleteShareGroupState: on success the topics leave the deleting set, so the next
    /// subscription initializes them again with -1 (spec 5.3). On failure they stay deleting.
    pub fn handle_delete_state_result(
        &mut self,
        now_ms: u64,
        group_id: &str,
        topic_ids: &BTreeSet<TopicId>,
        result: Result<(), ResponseError>,
    ) {
        self.advance(now_ms);
        if result.is_err() {
            return;
        }
        let Some(group) = self.groups.get(group_id) else {
            return;
        };
        let mut metadata = group.partition_metadata.clone();
        metadata
            .deleting_topics
            .retain(|topic_id, _| !topic_ids.contains(topic_id));
        if metadata != group.partition_metadata {
            let mut records = Vec::new();
            self.append(
                &mut records,
                GroupCoordinatorRecord::StatePartitionMetadata {
                    group_id: group_id.to_string(),
                    value: Some(metadata),
                },
            );
            self.flush_records(records);
        }
    }

    /// DescribeShareGroupOffsets (spec 5.3). `topics` = `None` describes every initialized partition.
    /// `summaries` holds what ReadShareGroupStateSummary and ListOffsets said; lag is -1 when anything
    /// is unknown, and an uninitialized partition reports start offset -1.
    pub fn describe_offsets(
        &self,
        group_id: &str,
        topics: Option<&[(String, Vec<i32>)]>,
        summaries: &BTreeMap<TopicIdPartition, PartitionOffsetSummary>,
    ) -> Result<Vec<DescribedPartitionOffset>, ResponseError> {
        let Some(group) = self.groups.get(group_id) else {
            return Err(ResponseError::GroupIdNotFound);
        };
        let requested: Vec<(String, Vec<i32>)> = match topics {
            Some(topics) => topics.to_vec(),
            None => group
                .partition_metadata
                .initialized_topics
                .values()
                .map(|info| {
                    (
                        info.topic_name.clone(),
                        info.partitions.iter().copied().collect(),
                    )
                })
                .collect(),
        };
        let mut described = Vec::new();
        for (topic_name, partitions) in requested {
            for partition in partitions {
                let known = self
                    .topics
                    .get(&topic_name)
                    .filter(|topic| (0..topic.partition_count).contains(&partition));
                let Some(topic) = known else {
                    described.push(DescribedPartitionOffset {
                        topic_name: topic_name.clone(),
                        partition,
                        start_offset: -1,
                        lag: -1,
                        error: Some(ResponseError::UnknownTopicOrPartition),
                    });
                    continue;
                };
                let tp = TopicIdPartition {
                    topic_id: topic.topic_id,
                    partition,
                };
                let summary = summaries.get(&tp).filter(|_| group.is_initialized(tp));
                let (start_offset, lag) = match summary {
                    Some(summary) => (summary.start_offset, lag(summary)),
                    None => (-1, -1),
                };
                described.push(DescribedPartitionOffset {
                    topic_name: topic_name.clone(),
                    partition,
                    start_offset,
                    lag,
                    error: None,
                });
            }
        }
        Ok(described)
    }

    /// DeleteShareGroups (spec 5.3): per group, GROUP_ID_NOT_FOUND or NON_EMPTY_GROUP, else the group's
    /// share state is deleted through the persister and its records are tombstoned.
    pub fn handle_delete_groups(
        &mut self,
        now_ms: u64,
        group_ids: &[String],
    ) -> Vec<(String, Option<ResponseError>)> {
        self.advance(now_ms);
        let mut results = Vec::new();
        for group_id in group_ids {
            let Some(group) = self.groups.get(group_id) else {
                results.push((group_id.clone(), Some(ResponseError::GroupIdNotFound)));
                continue;
            };
            if !group.members.is_empty() {
                results.push((group_id.clone(), Some(ResponseError::NonEmptyGroup)));
                continue;
            }
            let mut partitions = group.initialized_partitions();
            for (topic_id, info) in &group.partition_metadata.initializing_topics {
                partitions.extend(info.partitions.keys().map(|p| TopicIdPartition {
                    topic_id: *topic_id,
                    partition: *p,
                }));
            }
            let mut records = Vec::new();
            for record in [
                GroupCoordinatorRecord::TargetAssignmentMetadata {
                    group_id: group_id.clone(),
                    assignment_epoch: None,
                },
                GroupCoordinatorRecord::StatePartitionMetadata {
                    group_id: group_id.clone(),
                    value: None,
                },
                GroupCoordinatorRecord::GroupMetadata {
                    group_id: group_id.clone(),
                    value: None,
                },
            ] {
                self.append(&mut records, record);
            }
            self.flush_records(records);
            if !partitions.is_empty() {
                self.push_effect(GroupEffect::DeleteShareGroupState {
                    group_id: group_id.clone(),
                    partitions,
                });
            }
            self.initialize_retry_not_before_ms
                .retain(|(g, _), _| g != group_id);
            results.push((group_id.clone(), None));
        }
        results
    }

    /// ShareGroupDescribe: per group, the description or GROUP_ID_NOT_FOUND.
    pub fn describe_groups(
        &self,
        group_ids: &[String],
    ) -> Vec<Result<ShareGroupDescription, ResponseError>> {
        group_ids
            .iter()
            .map(|group_id| {
                let group = self
                    .groups
                    .get(group_id)
                    .ok_or(ResponseError::GroupIdNotFound)?;
                Ok(ShareGroupDescription {
                    group_id: group.group_id.clone(),
                    state: group.state(),
                    group_epoch: group.group_epoch,
                    assignment_epoch: group.assignment_epoch,
                    assignor_name: "simple",
                    members: group
                        .members
                        .values()
                        .map(|member| DescribedMember {
                            member: member.clone(),
                            assignment: super::heartbeat::assignment_by_topic(
                                &member.assigned_partitions,
                            ),
                        })
                        .collect(),
                })
            })
            .collect()
    }
}

/// `partitionEndOffset - startOffset - deliveryCompleteCount` (KIP-1226), -1 when any part is unknown.
fn lag(summary: &PartitionOffsetSummary) -> i64 {
    match summary.partition_end_offset {
        Some(end_offset) if summary.start_offset >= 0 && summary.delivery_complete_count >= 0 => {
            end_offset - summary.start_offset - i64::from(summary.delivery_complete_count)
        }
        _ => -1,
    }
}
