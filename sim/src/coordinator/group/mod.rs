//! The group coordinator's share groups (spec 4 and 5) as a sans-IO engine: ShareGroupHeartbeat with
//! client-generated member ids and member/group epochs, session timeouts, the `simple` assignor,
//! share-partition initialization through InitializeShareGroupState, the group configs with their broker
//! bounds, the offset admin APIs, and the coordinator's own records with replay.
//!
//! * [`ShareGroupCoordinator`]: the engine (inputs `handle_*`, outputs `poll_effect`/`poll_timeout`);
//! * [`assign`]: the simple assignor;
//! * [`ShareGroupConfig`], [`GroupCoordinatorConfig`]: configs and their parser;
//! * [`GroupCoordinatorRecord`]: the records appended and replayed;
//! * [`GroupEffect`]: what the node must do.
//!
//! **Driving it.** The node converts ShareGroupHeartbeat and the admin requests into the `handle_*`
//! inputs, feeds cluster metadata with `handle_metadata_update`, and drains `poll_effect` after every
//! input: `AppendRecords` goes to the coordinator's log (send the response once it commits),
//! `InitializeShareGroupState`/`DeleteShareGroupState` go to the persister and come back through
//! `handle_initialize_result`/`handle_delete_state_result`, and `Trace` goes to the trace. It sleeps until
//! `poll_timeout` and calls `handle_timeout`. After a coordinator failover, `ShareGroupCoordinator::load`
//! replays the log. AlterShareGroupOffsets answers per partition at once; as in Kafka, the node should hold
//! the admin response until the InitializeShareGroupState result and report its errors.
//!
//! **Where sharesim differs from Kafka, and why** (everything else follows spec 4 and 5):
//! * The assignor always reaches Kafka's targets exactly (see `assignor.rs`), with sorted-id
//!   tie-breaking instead of Java hash-set order, so determinism does not depend on hashing.
//! * The target assignment is computed synchronously on the heartbeat that finds the group epoch ahead
//!   of it (Kafka 4.2 behaviour); 4.3's `group.share.assignment.interval.ms` rate limit is not modelled.
//! * The metadata hash is FNV-1a over (name, id, partition count) of the subscribed topics, computed on
//!   every heartbeat; Kafka uses its own topic hash and a refresh deadline. Only equality matters.
//! * Initializing partitions keep one timestamp each (Kafka keeps them per record). The back-off after a
//!   failed InitializeShareGroupState is kept in memory, so after a failover it is retried at once.
//! * Group configs are an input (`set_group_config`), not records: Kafka keeps them in the controller's
//!   metadata log, not in `__consumer_offsets`.
//! * DeleteShareGroups tombstones the group at once and asks for DeleteShareGroupState in parallel; Kafka
//!   deletes the share state first and fails the group deletion if that fails.
//! * Topics deleted from the cluster stay in the partition metadata record; they are simply not
//!   assignable any more (Kafka cleans them up).

mod admin;
mod assignor;
mod broker_config;
mod config;
mod coordinator;
mod duration;
mod effects;
mod heartbeat;
mod records;
mod state;

pub use admin::{
    AlterOffsetsTopic, DeleteOffsetsTopicResult, DescribedMember, DescribedPartitionOffset,
    PartitionOffsetSummary, ShareGroupDescription, TopicPartitionsResult,
};
pub use assignor::{assign, balance, desired_sharing, AssignorMember};
pub use broker_config::GROUP_COORDINATOR_CONFIG_NAMES;
pub use config::{
    nearest_config_name, AutoOffsetReset, ConfigRange, GroupConfigError, GroupCoordinatorConfig,
    IsolationLevel, ShareGroupConfig, SHARE_GROUP_CONFIG_NAMES,
};
pub use coordinator::{ShareGroupCoordinator, TopicMetadata};
pub use duration::parse_iso8601_duration_ms;
pub use effects::{
    EpochBumpCause, GroupEffect, GroupTraceEvent, InitializePartition, MemberRemovalCause,
};
pub use heartbeat::{
    assignment_by_topic, validate_heartbeat, ShareGroupHeartbeatRequest,
    ShareGroupHeartbeatResponse, LEAVE_GROUP_MEMBER_EPOCH,
};
pub use records::{
    GroupCoordinatorRecord, InitializingTopicInfo, ShareGroupCurrentMemberAssignmentValue,
    ShareGroupMemberMetadataValue, ShareGroupMetadataValue, ShareGroupStatePartitionMetadataValue,
    ShareGroupTargetAssignmentMemberValue, TopicPartitionsInfo,
};
pub use state::{ShareGroup, ShareGroupMember, ShareGroupState};

#[cfg(test)]
mod tests;
