//! The share coordinator's broker configs (`ShareCoordinatorConfig`, spec 3.3 and 9) and the one
//! release difference it consults.

use serde::{Deserialize, Serialize};

use crate::semantics::Semantics;

/// Settings of one share coordinator shard. Build with [`ShareCoordinatorConfig::new`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShareCoordinatorConfig {
    /// `share.coordinator.snapshot.update.records.per.snapshot` (default 500): once a key has had this
    /// many ShareUpdates since its last snapshot, the next write emits a ShareSnapshot instead.
    pub snapshot_update_records_per_snapshot: u32,
    /// `share.coordinator.cold.partition.snapshot.interval.ms` (default 300000).
    pub cold_partition_snapshot_interval_ms: u64,
    /// `share.coordinator.state.topic.prune.interval.ms` (default 300000).
    pub state_topic_prune_interval_ms: u64,
    /// From [`Semantics::delivery_complete_count`]: KIP-1226 (4.2+). Without it every record carries -1.
    pub delivery_complete_count: bool,
    /// Mutation switch `skip_leader_epoch_fencing` (issue 6; never set by a scenario's configs): writes
    /// with a leader epoch below the newest seen are taken instead of fenced, so a zombie leader's
    /// writes land. Exists only to show the FENCING checker catches it; `false` in every real use.
    #[serde(default)]
    pub skip_leader_epoch_fencing: bool,
}

impl ShareCoordinatorConfig {
    /// Kafka's defaults, for the release `semantics` describes.
    pub fn new(semantics: &Semantics) -> ShareCoordinatorConfig {
        ShareCoordinatorConfig {
            snapshot_update_records_per_snapshot: 500,
            cold_partition_snapshot_interval_ms: 300_000,
            state_topic_prune_interval_ms: 300_000,
            delivery_complete_count: semantics.delivery_complete_count,
            skip_leader_epoch_fencing: false,
        }
    }
}

impl Default for ShareCoordinatorConfig {
    /// Kafka 4.2's defaults.
    fn default() -> Self {
        ShareCoordinatorConfig::new(&Semantics::default())
    }
}
