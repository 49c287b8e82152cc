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

mod admin;
mod assignor;
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
