//! The classic consumer group coordinator (Kafka's `GroupCoordinator` for the classic protocol, eager
//! rebalancing) as a sans-IO engine: the baseline share groups are compared with (issue 4).
//!
//! * [`ClassicGroupCoordinator`]: the engine. Inputs are the real Kafka requests (JoinGroup, SyncGroup,
//!   Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch) with a [`RequestContext`]; outputs are
//!   [`ClassicEffect`]s: responses (released when the join barrier or the leader's SyncGroup allows),
//!   records for the `__consumer_offsets`-like log, and trace events.
//! * [`ClassicGroupRecord`]: the records appended and replayed ([`ClassicGroupCoordinator::load`]).
//! * [`ClassicGroupConfig`]: `group.min.session.timeout.ms` and friends.
//! * [`ClassicGroupService`]: the engine inside a broker, one per `__consumer_offsets` partition it
//!   leads; [`classic_group_plugins`] adds FindCoordinator for GROUP keys.
//!
//! The rebalance: a join (new member, changed protocols, the leader rejoining), a leave or an expired
//! session moves the group to PreparingRebalance; every member must send JoinGroup within the rebalance
//! timeout (the largest `max.poll.interval.ms`), those that do not are removed; the generation goes up,
//! the leader gets every member's subscription and sends the assignment in its SyncGroup; the others'
//! SyncGroups wait for it. Members learn of a rebalance from REBALANCE_IN_PROGRESS on Heartbeat.
//!
//! **Where sharesim differs from Kafka, and why:**
//! * Dynamic members only: static membership (`group.instance.id`) is not modelled.
//! * New member ids are `<client id>-<counter rendered as a UUID>` (Kafka: a random UUID).
//! * Protocol votes that tie go to the preference of the longest-standing member (Kafka: hash order).
//! * `group.new.member.join.timeout`, the pending-sync timeout (members that never send SyncGroup) and
//!   offset retention/expiry are not modelled; groups are never deleted (no Dead transitions).
//! * Offsets are keyed by topic name (OffsetCommit up to v9); v10's topic ids are not used.

mod codec;
mod config;
mod coordinator;
mod effects;
mod membership;
mod offsets;
mod records;
mod service;
mod state;

pub use codec::{
    decode_classic_record, encode_classic_record, GROUP_METADATA_RECORD_TYPE,
    OFFSET_COMMIT_RECORD_TYPE,
};
pub use config::ClassicGroupConfig;
pub use coordinator::ClassicGroupCoordinator;
pub use effects::{ClassicEffect, ClassicResponse, RequestContext, RequestToken};
pub use membership::JOIN_GROUP_KNOWN_MEMBER_ID_VERSION;
pub use offsets::OFFSET_COMMIT_GROUP_ID_NOT_FOUND_VERSION;
pub use records::{
    ClassicGroupMetadataValue, ClassicGroupRecord, ClassicMemberValue, OffsetCommitValue,
};
pub use service::{classic_group_plugins, ClassicGroupService};
pub use state::{ClassicGroup, ClassicGroupState, ClassicMember, InitialDelay};

#[cfg(test)]
mod tests;
