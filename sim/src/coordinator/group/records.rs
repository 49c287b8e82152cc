//! The records the group coordinator appends to its `__consumer_offsets`-like log for share groups
//! (Kafka's `ShareGroup*Key`/`*Value` coordinator records), as plain serde structs. Every state change is
//! one of these; the in-memory state changes only when they are replayed, and replaying a partition's
//! records from the start rebuilds it after a coordinator failover.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::share::MemberId;

/// `ShareGroupMetadataValue`: the group epoch and the hash of the subscribed topics' metadata.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShareGroupMetadataValue {
    /// The group epoch.
    pub epoch: i32,
    /// Hash of the subscribed topics' (name, id, partition count) when the epoch was set.
    pub metadata_hash: u64,
}

/// `ShareGroupMemberMetadataValue`: what the member told us.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShareGroupMemberMetadataValue {
    /// The rack, if the client sent one.
    pub rack_id: Option<String>,
    /// The subscribed topic names, sorted.
    pub subscribed_topic_names: BTreeSet<String>,
}

/// `ShareGroupTargetAssignmentMemberValue`: one member's target partitions.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShareGroupTargetAssignmentMemberValue {
    /// The target partitions.
    pub partitions: BTreeSet<TopicIdPartition>,
}

/// `ShareGroupCurrentMemberAssignmentValue`: the member's reconciled epoch and partitions. Share members
/// are always STABLE (reconciliation is immediate), so no state field is kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShareGroupCurrentMemberAssignmentValue {
    /// The member epoch.
    pub member_epoch: i32,
    /// The epoch before the last bump (accepted once more to cover a lost response).
    pub previous_member_epoch: i32,
    /// The partitions the member was told about.
    pub assigned_partitions: BTreeSet<TopicIdPartition>,
}

/// One topic's entry in the partition metadata record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TopicPartitionsInfo {
    /// The topic name when the entry was made.
    pub topic_name: String,
    /// The partitions.
    pub partitions: BTreeSet<i32>,
}

/// An initializing topic: its partitions and when InitializeShareGroupState was asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InitializingTopicInfo {
    /// The topic name when the entry was made.
    pub topic_name: String,
    /// Partition → the virtual time its initialization was requested. Kafka keeps one timestamp per
    /// record; sharesim keeps one per partition so a retry of some partitions does not hide others.
    pub partitions: BTreeMap<i32, u64>,
}

/// `ShareGroupStatePartitionMetadataValue`: the share partitions' initialization state (spec 5.1, 5.3).
/// A full image each time, like Kafka's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShareGroupStatePartitionMetadataValue {
    /// InitializeShareGroupState sent, not yet answered.
    pub initializing_topics: BTreeMap<TopicId, InitializingTopicInfo>,
    /// Initialized: assignable.
    pub initialized_topics: BTreeMap<TopicId, TopicPartitionsInfo>,
    /// DeleteShareGroupState sent, not yet answered (topic → name).
    pub deleting_topics: BTreeMap<TopicId, String>,
}

/// One record of the group coordinator's log, about one share group. `None` values are tombstones.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GroupCoordinatorRecord {
    /// The group epoch (`ShareGroupMetadata`); a tombstone deletes the group.
    GroupMetadata {
        /// The group.
        group_id: String,
        /// The value, or `None` (tombstone).
        value: Option<ShareGroupMetadataValue>,
    },
    /// A member's subscription (`ShareGroupMemberMetadata`).
    MemberMetadata {
        /// The group.
        group_id: String,
        /// The member.
        member_id: MemberId,
        /// The value, or `None` (tombstone).
        value: Option<ShareGroupMemberMetadataValue>,
    },
    /// The epoch of the target assignment (`ShareGroupTargetAssignmentMetadata`).
    TargetAssignmentMetadata {
        /// The group.
        group_id: String,
        /// The assignment epoch, or `None` (tombstone).
        assignment_epoch: Option<i32>,
    },
    /// One member's target (`ShareGroupTargetAssignmentMember`).
    TargetAssignmentMember {
        /// The group.
        group_id: String,
        /// The member.
        member_id: MemberId,
        /// The value, or `None` (tombstone).
        value: Option<ShareGroupTargetAssignmentMemberValue>,
    },
    /// One member's reconciled state (`ShareGroupCurrentMemberAssignment`).
    CurrentMemberAssignment {
        /// The group.
        group_id: String,
        /// The member.
        member_id: MemberId,
        /// The value, or `None` (tombstone).
        value: Option<ShareGroupCurrentMemberAssignmentValue>,
    },
    /// The share partitions' initialization state (`ShareGroupStatePartitionMetadata`).
    StatePartitionMetadata {
        /// The group.
        group_id: String,
        /// The value, or `None` (tombstone).
        value: Option<ShareGroupStatePartitionMetadataValue>,
    },
}

impl GroupCoordinatorRecord {
    /// The group the record is about.
    pub fn group_id(&self) -> &str {
        match self {
            GroupCoordinatorRecord::GroupMetadata { group_id, .. }
            | GroupCoordinatorRecord::MemberMetadata { group_id, .. }
            | GroupCoordinatorRecord::TargetAssignmentMetadata { group_id, .. }
            | GroupCoordinatorRecord::TargetAssignmentMember { group_id, .. }
            | GroupCoordinatorRecord::CurrentMemberAssignment { group_id, .. }
            | GroupCoordinatorRecord::StatePartitionMetadata { group_id, .. } => group_id,
        }
    }
}
