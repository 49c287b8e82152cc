//! What the engine asks its node to do, as data drained with `poll_effect` (records to append, persister
//! requests to send, trace events). Serde-serializable with a stable field order (declaration order).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::records::GroupCoordinatorRecord;
use crate::coordinator::share::TopicIdPartition;
use crate::share::MemberId;

/// One partition of an `InitializeShareGroupState` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InitializePartition {
    /// The share partition.
    pub topic_id_partition: TopicIdPartition,
    /// -1 lets `share.auto.offset.reset` decide; otherwise the offset AlterShareGroupOffsets asked for.
    pub start_offset: i64,
}

/// An effect for the node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GroupEffect {
    /// Append these records, in order, to the group coordinator's log (already replayed in memory, as
    /// Kafka's coordinator runtime does before the append commits; responses may go out after it).
    AppendRecords {
        /// The records.
        records: Vec<GroupCoordinatorRecord>,
    },
    /// Send `InitializeShareGroupState` through the persister; answer with `handle_initialize_result`.
    InitializeShareGroupState {
        /// The group.
        group_id: String,
        /// The state epoch: the group epoch when the request was made (spec 3.4).
        state_epoch: i32,
        /// The partitions and their start offsets.
        partitions: Vec<InitializePartition>,
    },
    /// Send `DeleteShareGroupState` through the persister; answer with `handle_delete_state_result`.
    DeleteShareGroupState {
        /// The group.
        group_id: String,
        /// The partitions whose state is deleted.
        partitions: BTreeSet<TopicIdPartition>,
    },
    /// Something for the trace.
    Trace(GroupTraceEvent),
}

/// Why a member was removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MemberRemovalCause {
    /// It sent a heartbeat with epoch -1.
    Leave,
    /// Its session timed out.
    SessionTimeout,
}

/// Why the group epoch was bumped (spec 4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EpochBumpCause {
    /// AlterShareGroupOffsets.
    AlterOffsets,
    /// Newly initialized share partitions became assignable.
    PartitionsInitialized,
    /// A member left or was fenced.
    MemberRemoved,
    /// The subscribed topics' metadata changed.
    MetadataChanged,
    /// A member joined or changed its subscription.
    SubscriptionChanged,
}

/// A membership event for the trace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GroupTraceEvent {
    /// A new member joined.
    MemberJoined {
        /// Virtual time.
        at_ms: u64,
        /// The group.
        group_id: String,
        /// The member.
        member_id: MemberId,
    },
    /// A member left or was fenced.
    MemberRemoved {
        /// Virtual time.
        at_ms: u64,
        /// The group.
        group_id: String,
        /// The member.
        member_id: MemberId,
        /// Leave or session timeout.
        cause: MemberRemovalCause,
    },
    /// The group epoch went up.
    GroupEpochBumped {
        /// Virtual time.
        at_ms: u64,
        /// The group.
        group_id: String,
        /// The new group epoch.
        group_epoch: i32,
        /// Why.
        cause: EpochBumpCause,
    },
    /// A member's assignment (or member epoch) changed by reconciliation.
    AssignmentChanged {
        /// Virtual time.
        at_ms: u64,
        /// The group.
        group_id: String,
        /// The member.
        member_id: MemberId,
        /// The new member epoch.
        member_epoch: i32,
        /// The new assignment.
        partitions: BTreeSet<TopicIdPartition>,
    },
}
