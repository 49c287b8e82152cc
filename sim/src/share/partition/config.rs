//! Configuration of one share partition: the group and broker configs the KIP-932 record-state machine
//! reads (spec 1.3, 1.4, 1.5, 5.2, 6), and the per-fetch acquisition parameters (spec 2.6).
//!
//! Kafka reads most of these dynamically at every use; [`super::SharePartition::update_config`] models a
//! dynamic config change.

use serde::{Deserialize, Serialize};

use crate::semantics::Semantics;

/// `share.isolation.level` (group config, 4.1+; spec 6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IsolationLevel {
    /// Aborted records are delivered like any other.
    #[default]
    ReadUncommitted,
    /// Aborted batches are archived at acquisition and never handed out.
    ReadCommitted,
}

/// `share.auto.offset.reset` (group config; spec 5.2). Applied only when the persisted start offset is -1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoOffsetReset {
    /// The log start offset.
    Earliest,
    /// The high watermark (ListOffsets LATEST, read_uncommitted). Kafka's default.
    #[default]
    Latest,
    /// `by_duration:<ISO-8601>`: the first offset whose timestamp is at or after `now - duration_ms`.
    ByDuration {
        /// The parsed duration.
        duration_ms: u64,
    },
}

/// `ShareAcquireMode` of ShareFetch v2 (`share.acquire.mode`, KIP-1206; spec 2.6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcquireMode {
    /// Whole log batches, `max_records` is a soft limit. The default.
    #[default]
    BatchOptimized,
    /// At most `max_records` offsets; cached batches are split per offset as needed.
    RecordLimit,
}

/// What one ShareFetch asks of one partition (spec 2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AcquireParams {
    /// `MaxRecords`: the consumer sends `max.poll.records` (default 500).
    pub max_records: u32,
    /// `BatchSize`: preferred size of the acquired-record groups; the consumer sends `max.poll.records`.
    pub batch_size: u32,
    /// `ShareAcquireMode`. Profiles without record_limit support fall back to batch_optimized (the field
    /// does not exist in their request versions).
    pub mode: AcquireMode,
}

impl Default for AcquireParams {
    /// The consumer defaults: `max.poll.records` = 500 for both, batch_optimized.
    fn default() -> Self {
        AcquireParams {
            max_records: 500,
            batch_size: 500,
            mode: AcquireMode::BatchOptimized,
        }
    }
}

/// The configs one share partition obeys. Defaults are Kafka's broker defaults (spec 9).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SharePartitionConfig {
    /// `group.share.record.lock.duration.ms` (group override `share.record.lock.duration.ms`), default
    /// 30000: the acquisition lock duration, read at every acquisition and renew.
    pub record_lock_duration_ms: u64,
    /// `group.share.delivery.count.limit` (group override `share.delivery.count.limit`, 4.3+), default 5:
    /// the effective limit L, read at every check.
    pub delivery_count_limit: u16,
    /// `group.share.partition.max.record.locks` (group override `share.partition.max.record.locks`),
    /// 2000 from 4.1, 200 in 4.0: the in-flight limit of spec 1.5.
    pub max_record_locks: u32,
    /// `share.renew.acknowledge.enable` (group config, 4.3+; default true): RENEW acks are accepted.
    pub renew_acknowledge_enable: bool,
    /// `share.isolation.level`.
    pub isolation_level: IsolationLevel,
    /// `share.auto.offset.reset`.
    pub auto_offset_reset: AutoOffsetReset,
    /// The dead-letter queue of KIP-1191 is configured for the group (`errors.deadletterqueue.topic.name`
    /// non-empty, `share.version=2`): REJECT and the delivery-count limit go through ARCHIVING.
    pub dlq_enabled: bool,
}

impl SharePartitionConfig {
    /// Kafka's defaults under one release profile (the in-flight limit default differs by release).
    pub fn for_semantics(semantics: &Semantics) -> SharePartitionConfig {
        SharePartitionConfig {
            record_lock_duration_ms: 30_000,
            delivery_count_limit: 5,
            max_record_locks: semantics.default_max_record_locks,
            renew_acknowledge_enable: true,
            isolation_level: IsolationLevel::ReadUncommitted,
            auto_offset_reset: AutoOffsetReset::Latest,
            dlq_enabled: false,
        }
    }
}

impl Default for SharePartitionConfig {
    /// The defaults of the default profile (Kafka 4.2).
    fn default() -> Self {
        SharePartitionConfig::for_semantics(&Semantics::default())
    }
}
