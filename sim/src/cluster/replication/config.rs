//! Replication settings, with Kafka's names and defaults.

/// Leader-side replication configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReplicationConfig {
    /// `replica.lag.time.max.ms` (default 30000): a follower that has not caught up for this long leaves
    /// the ISR.
    pub replica_lag_time_max_ms: u64,
    /// `min.insync.replicas` (default 1): the ISR size acks=all produce requests need.
    pub min_insync_replicas: usize,
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        ReplicationConfig {
            replica_lag_time_max_ms: 30_000,
            min_insync_replicas: 1,
        }
    }
}

impl ReplicationConfig {
    /// Kafka schedules the ISR expiration check every `replica.lag.time.max.ms / 2`.
    pub fn isr_check_interval_ms(&self) -> u64 {
        (self.replica_lag_time_max_ms / 2).max(1)
    }
}
