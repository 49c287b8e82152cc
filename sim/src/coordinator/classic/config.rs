//! The broker configs of the classic group coordinator, with Kafka's names and defaults.

use serde::{Deserialize, Serialize};

/// The classic-group settings of one group coordinator (Kafka's broker configs of the same names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicGroupConfig {
    /// `group.min.session.timeout.ms`: the smallest session timeout a member may ask for.
    pub min_session_timeout_ms: u64,
    /// `group.max.session.timeout.ms`: the largest session timeout a member may ask for.
    pub max_session_timeout_ms: u64,
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty group waits for more
    /// members (extended by the same delay for each one, bounded by the rebalance timeout).
    pub initial_rebalance_delay_ms: u64,
    /// `group.max.size`: members (and pending members) a group may hold.
    pub max_size: usize,
    /// `offset.metadata.max.bytes`: the largest metadata string an offset commit may carry.
    pub offset_metadata_max_bytes: usize,
}

impl Default for ClassicGroupConfig {
    fn default() -> Self {
        ClassicGroupConfig {
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            initial_rebalance_delay_ms: 3_000,
            max_size: i32::MAX as usize,
            offset_metadata_max_bytes: 4_096,
        }
    }
}
