//! The in-memory image of one share group, changed only by replaying [`GroupCoordinatorRecord`]s (Kafka's
//! `ShareGroup` and `ShareGroupMember`, built by `GroupMetadataManager.replay`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::records::{GroupCoordinatorRecord, ShareGroupStatePartitionMetadataValue};
use crate::coordinator::share::TopicIdPartition;
use crate::share::MemberId;

/// One member as the coordinator knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareGroupMember {
    /// The client-generated id.
    pub member_id: MemberId,
    /// The rack, if sent.
    pub rack_id: Option<String>,
    /// The subscribed topic names.
    pub subscribed_topic_names: BTreeSet<String>,
    /// The member epoch (0 until the first reconciliation).
    pub member_epoch: i32,
    /// The member epoch before the last bump.
    pub previous_member_epoch: i32,
    /// The partitions the member was given (its target, filtered to its subscription).
    pub assigned_partitions: BTreeSet<TopicIdPartition>,
}

/// `ShareGroupState` as ShareGroupDescribe reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ShareGroupState {
    /// No members.
    Empty,
    /// At least one member (share members are always reconciled at once).
    Stable,
}

impl ShareGroupState {
    /// Kafka's name for the state (`Empty`, `Stable`).
    pub fn name(self) -> &'static str {
        match self {
            ShareGroupState::Empty => "Empty",
            ShareGroupState::Stable => "Stable",
        }
    }
}

/// One share group: epochs, members, target assignment, and the share partitions' initialization state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareGroup {
    /// The group id.
    pub group_id: String,
    /// The group epoch: bumped by every change that needs a new target assignment.
    pub group_epoch: i32,
    /// Hash of the subscribed topics' metadata at the last epoch bump.
    pub metadata_hash: u64,
    /// The group epoch the target assignment was computed for.
    pub assignment_epoch: i32,
    /// The members by id.
    pub members: BTreeMap<MemberId, ShareGroupMember>,
    /// Each member's target partitions.
    pub target_assignment: BTreeMap<MemberId, BTreeSet<TopicIdPartition>>,
    /// Initializing, initialized and deleting share partitions (spec 5.1, 5.3).
    pub partition_metadata: ShareGroupStatePartitionMetadataValue,
}

impl ShareGroup {
    /// An empty group at epoch 0, as a replayed record or a join creates it.
    pub fn new(group_id: impl Into<String>) -> ShareGroup {
        ShareGroup {
            group_id: group_id.into(),
            group_epoch: 0,
            metadata_hash: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            target_assignment: BTreeMap::new(),
            partition_metadata: ShareGroupStatePartitionMetadataValue::default(),
        }
    }

    /// Empty or Stable.
    pub fn state(&self) -> ShareGroupState {
        if self.members.is_empty() {
            ShareGroupState::Empty
        } else {
            ShareGroupState::Stable
        }
    }

    /// Every subscribed topic name of every member.
    pub fn subscribed_topic_names(&self) -> BTreeSet<String> {
        self.members
            .values()
            .flat_map(|member| member.subscribed_topic_names.iter().cloned())
            .collect()
    }

    /// Whether `tp` is initialized for the group (assignable).
    pub fn is_initialized(&self, tp: TopicIdPartition) -> bool {
        self.partition_metadata
            .initialized_topics
            .get(&tp.topic_id)
            .is_some_and(|info| info.partitions.contains(&tp.partition))
    }

    /// Whether `tp` is initializing (InitializeShareGroupState sent, not answered).
    pub fn is_initializing(&self, tp: TopicIdPartition) -> bool {
        self.partition_metadata
            .initializing_topics
            .get(&tp.topic_id)
            .is_some_and(|info| info.partitions.contains_key(&tp.partition))
    }

    /// Every initialized partition.
    pub fn initialized_partitions(&self) -> BTreeSet<TopicIdPartition> {
        let mut partitions = BTreeSet::new();
        for (topic_id, info) in &self.partition_metadata.initialized_topics {
            for partition in &info.partitions {
                partitions.insert(TopicIdPartition {
                    topic_id: *topic_id,
                    partition: *partition,
                });
            }
        }
        partitions
    }
}

/// Applies one record to `groups` (`GroupMetadataManager.replay`). Records for a group that does not
/// exist create it; a group-metadata tombstone deletes it.
pub fn replay_record(groups: &mut BTreeMap<String, ShareGroup>, record: &GroupCoordinatorRecord) {
    let group_id = record.group_id();
    if let GroupCoordinatorRecord::GroupMetadata { value: None, .. } = record {
        groups.remove(group_id);
        return;
    }
    let group = groups
        .entry(group_id.to_string())
        .or_insert_with(|| ShareGroup::new(group_id));
    match record {
        GroupCoordinatorRecord::GroupMetadata { value, .. } => {
            let value = value.as_ref().expect("tombstones returned above");
            group.group_epoch = value.epoch;
            group.metadata_hash = value.metadata_hash;
        }
        GroupCoordinatorRecord::MemberMetadata {
            member_id, value, ..
        } => {
            match value {
                Some(value) => {
                    let member = group.members.entry(member_id.clone()).or_insert_with(|| {
                        ShareGroupMember {
                            member_id: member_id.clone(),
                            rack_id: None,
                            subscribed_topic_names: BTreeSet::new(),
                            member_epoch: 0,
                            previous_member_epoch: 0,
                            assigned_partitions: BTreeSet::new(),
                        }
                    });
                    member.rack_id = value.rack_id.clone();
                    member.subscribed_topic_names = value.subscribed_topic_names.clone();
                }
                None => {
                    group.members.remove(member_id);
                }
            }
        }
        GroupCoordinatorRecord::TargetAssignmentMetadata {
            assignment_epoch, ..
        } => {
            group.assignment_epoch = assignment_epoch.unwrap_or(0);
        }
        GroupCoordinatorRecord::TargetAssignmentMember {
            member_id, value, ..
        } => match value {
            Some(value) => {
                group
                    .target_assignment
                    .insert(member_id.clone(), value.partitions.clone());
            }
            None => {
                group.target_assignment.remove(member_id);
            }
        },
        GroupCoordinatorRecord::CurrentMemberAssignment {
            member_id, value, ..
        } => {
            // Kafka writes the member metadata first; a current assignment for a member whose metadata
            // was deleted is ignored, as there is nobody to attach it to.
            if let (Some(value), Some(member)) = (value, group.members.get_mut(member_id)) {
                member.member_epoch = value.member_epoch;
                member.previous_member_epoch = value.previous_member_epoch;
                member.assigned_partitions = value.assigned_partitions.clone();
            }
        }
        GroupCoordinatorRecord::StatePartitionMetadata { value, .. } => {
            group.partition_metadata = value.clone().unwrap_or_default();
        }
    }
}
