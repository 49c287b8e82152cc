//! The classic consumer's configs, with the Java client's names and defaults (Kafka 4.x).

use serde::{Deserialize, Serialize};

use super::assignor::Assignor;

/// `auto.offset.reset`: where a partition without a committed offset starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetResetStrategy {
    /// The log start offset.
    Earliest,
    /// The log end offset (the Java default).
    Latest,
}

impl OffsetResetStrategy {
    /// The ListOffsets timestamp that asks for this position (-2 earliest, -1 latest).
    pub fn list_offsets_timestamp(self) -> i64 {
        match self {
            OffsetResetStrategy::Earliest => -2,
            OffsetResetStrategy::Latest => -1,
        }
    }
}

/// The classic consumer's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicConsumerConfig {
    /// `group.id`.
    pub group_id: String,
    /// `client.id` (member ids start with it).
    pub client_id: String,
    /// `session.timeout.ms` (45 s).
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms` (3 s).
    pub heartbeat_interval_ms: u64,
    /// `max.poll.interval.ms` (5 min): also the rebalance timeout sent in JoinGroup.
    pub max_poll_interval_ms: u64,
    /// `max.poll.records` (500).
    pub max_poll_records: usize,
    /// `enable.auto.commit` (true).
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms` (5 s).
    pub auto_commit_interval_ms: u64,
    /// `auto.offset.reset` (latest).
    pub auto_offset_reset: OffsetResetStrategy,
    /// `partition.assignment.strategy`, in preference order (sharesim supports range and roundrobin;
    /// the Java default is [range, cooperative-sticky]).
    pub partition_assignment_strategy: Vec<Assignor>,
    /// `fetch.max.wait.ms` (500).
    pub fetch_max_wait_ms: u64,
    /// `fetch.min.bytes` (1).
    pub fetch_min_bytes: i32,
    /// `fetch.max.bytes` (50 MiB).
    pub fetch_max_bytes: i32,
    /// `max.partition.fetch.bytes` (1 MiB).
    pub max_partition_fetch_bytes: i32,
    /// `retry.backoff.ms` (100).
    pub retry_backoff_ms: u64,
    /// `metadata.max.age.ms` (5 min).
    pub metadata_max_age_ms: u64,
}

impl ClassicConsumerConfig {
    /// The Java client's defaults for `group_id` and `client_id`.
    pub fn new(group_id: &str, client_id: &str) -> ClassicConsumerConfig {
        ClassicConsumerConfig {
            group_id: group_id.to_string(),
            client_id: client_id.to_string(),
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            max_poll_interval_ms: 300_000,
            max_poll_records: 500,
            enable_auto_commit: true,
            auto_commit_interval_ms: 5_000,
            auto_offset_reset: OffsetResetStrategy::Latest,
            partition_assignment_strategy: vec![Assignor::Range],
            fetch_max_wait_ms: 500,
            fetch_min_bytes: 1,
            fetch_max_bytes: 52_428_800,
            max_partition_fetch_bytes: 1_048_576,
            retry_backoff_ms: 100,
            metadata_max_age_ms: 300_000,
        }
    }
}
