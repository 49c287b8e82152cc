//! The records the classic group coordinator appends to its `__consumer_offsets`-like log (Kafka's
//! `GroupMetadataKey/Value` and `OffsetCommitKey/Value`), as plain serde structs. As in Kafka, a group's
//! membership is written when a generation's assignment is stored (the leader's SyncGroup) and when the
//! group becomes empty; offsets are written on every commit. Replaying them rebuilds the coordinator.

use serde::{Deserialize, Serialize};

/// One member inside `GroupMetadataValue`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClassicMemberValue {
    /// The member id.
    pub member_id: String,
    /// The client id of its JoinGroup.
    pub client_id: String,
    /// `session.timeout.ms` of its JoinGroup.
    pub session_timeout_ms: u64,
    /// `max.poll.interval.ms` (the rebalance timeout) of its JoinGroup.
    pub rebalance_timeout_ms: u64,
    /// Its metadata for the group's protocol (for consumers: the `ConsumerProtocolSubscription` bytes).
    pub subscription: Vec<u8>,
    /// The assignment the leader gave it (for consumers: the `ConsumerProtocolAssignment` bytes).
    pub assignment: Vec<u8>,
}

/// `GroupMetadataValue`: one generation of a classic group.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClassicGroupMetadataValue {
    /// The protocol type (`consumer`), or `None` for a group that only stores offsets.
    pub protocol_type: Option<String>,
    /// The generation.
    pub generation_id: i32,
    /// The selected protocol (the assignor name for consumers).
    pub protocol_name: Option<String>,
    /// The leader.
    pub leader_id: Option<String>,
    /// When the group entered its state.
    pub current_state_timestamp_ms: u64,
    /// The members, in join order.
    pub members: Vec<ClassicMemberValue>,
}

/// `OffsetCommitValue`: a committed offset.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetCommitValue {
    /// The offset of the next record to consume.
    pub committed_offset: i64,
    /// The leader epoch of the last consumed record, -1 when unknown.
    pub committed_leader_epoch: i32,
    /// Free-form metadata from the client.
    pub metadata: String,
    /// When it was committed.
    pub commit_timestamp_ms: u64,
}

/// One record of the classic coordinator's log. `None` values are tombstones.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClassicGroupRecord {
    /// The group's generation and members.
    GroupMetadata {
        /// The group.
        group_id: String,
        /// The value, or `None` (the group is deleted).
        value: Option<ClassicGroupMetadataValue>,
    },
    /// One partition's committed offset.
    OffsetCommit {
        /// The group.
        group_id: String,
        /// The topic name.
        topic: String,
        /// The partition index.
        partition: i32,
        /// The value, or `None` (the offset is deleted).
        value: Option<OffsetCommitValue>,
    },
}

impl ClassicGroupRecord {
    /// The group the record is about.
    pub fn group_id(&self) -> &str {
        match self {
            ClassicGroupRecord::GroupMetadata { group_id, .. }
            | ClassicGroupRecord::OffsetCommit { group_id, .. } => group_id,
        }
    }
}
