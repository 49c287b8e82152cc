//! Trace events of the classic consumer group baseline (issue 4): the classic coordinator's rebalances
//! and commits, and what each classic consumer delivered, processed and committed. One enum for both
//! sides so the trace gains one variant. Externally tagged, no maps: the JSON stays stable.

use serde::{Deserialize, Serialize};

/// A topic partition by name, as classic groups name them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicPartitionName {
    /// The topic name.
    pub topic: String,
    /// The partition index.
    pub partition: i32,
}

/// One committed position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedPosition {
    /// The partition.
    pub topic_partition: TopicPartitionName,
    /// The offset of the next record to consume.
    pub offset: i64,
}

/// An event of a classic group (coordinator) or a classic consumer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassicTraceEvent {
    /// Coordinator: the group entered PreparingRebalance.
    RebalanceStarted {
        /// The group.
        group_id: String,
        /// The generation being left.
        generation_id: i32,
        /// Why (`member_joined`, `member_left`, `session_timeout`, `metadata_changed`, ...).
        reason: String,
    },
    /// Coordinator: the join barrier completed and a new generation began (or the group became empty).
    GenerationStarted {
        /// The group.
        group_id: String,
        /// The new generation.
        generation_id: i32,
        /// The selected protocol (assignor).
        protocol_name: Option<String>,
        /// The leader.
        leader_id: Option<String>,
        /// The members of the generation, sorted.
        members: Vec<String>,
    },
    /// Coordinator: the leader's assignment was stored; the group is Stable.
    GroupStable {
        /// The group.
        group_id: String,
        /// The generation.
        generation_id: i32,
    },
    /// Coordinator: a member was removed.
    MemberRemoved {
        /// The group.
        group_id: String,
        /// The member.
        member_id: String,
        /// `leave_group`, `session_timeout` or `rebalance_timeout`.
        cause: String,
    },
    /// Coordinator: an OffsetCommit was accepted.
    OffsetsCommitted {
        /// The group.
        group_id: String,
        /// The committing member (empty for a simple commit).
        member_id: String,
        /// The generation the commit carried.
        generation_id: i32,
        /// The committed positions.
        offsets: Vec<CommittedPosition>,
    },
    /// Consumer: the assignment of a new generation was received (eager: everything before is revoked).
    AssignmentReceived {
        /// The group.
        group_id: String,
        /// The member.
        member_id: String,
        /// The generation.
        generation_id: i32,
        /// The assigned partitions, sorted.
        partitions: Vec<TopicPartitionName>,
    },
    /// Consumer: every partition was revoked (a rebalance began, or the member left).
    PartitionsRevoked {
        /// The group.
        group_id: String,
        /// The member.
        member_id: String,
        /// The partitions revoked, sorted.
        partitions: Vec<TopicPartitionName>,
    },
    /// Consumer: a record was handed to the application.
    RecordDelivered {
        /// The group.
        group_id: String,
        /// The member.
        member_id: String,
        /// The partition.
        topic_partition: TopicPartitionName,
        /// The offset.
        offset: i64,
        /// The record's timestamp (produce time for CreateTime).
        timestamp_ms: i64,
    },
    /// Consumer: the application finished a record.
    RecordProcessed {
        /// The group.
        group_id: String,
        /// The member.
        member_id: String,
        /// The partition.
        topic_partition: TopicPartitionName,
        /// The offset.
        offset: i64,
        /// How long processing took.
        processing_ms: u64,
    },
    /// Consumer: the outcome of an OffsetCommit it sent.
    CommitCompleted {
        /// The group.
        group_id: String,
        /// The member.
        member_id: String,
        /// The generation the commit carried.
        generation_id: i32,
        /// The positions it carried.
        offsets: Vec<CommittedPosition>,
        /// 0 on success, else Kafka's error code.
        error_code: i16,
    },
    /// Consumer: it left the group (LeaveGroup sent) or lost its membership.
    MemberLeft {
        /// The group.
        group_id: String,
        /// The member.
        member_id: String,
        /// `close`, `max_poll_interval_exceeded`, or the error that fenced it.
        reason: String,
    },
}
