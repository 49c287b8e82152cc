//! Topic-level log settings, named and defaulted as Kafka's topic configs.

/// `cleanup.policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum CleanupPolicy {
    /// `delete` (default): retention and DeleteRecords move the log start offset.
    #[default]
    Delete,
    /// `compact`: the cleaner keeps the latest record per key; records need a key.
    Compact,
}

/// `message.timestamp.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MessageTimestampType {
    /// `CreateTime` (default): the producer's timestamps are kept.
    #[default]
    CreateTime,
    /// `LogAppendTime`: the leader stamps the append time (and recomputes the CRC).
    LogAppendTime,
}

/// The per-topic settings a partition log consults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LogConfig {
    /// `max.message.bytes` (default 1048588): the largest batch a produce may append.
    pub max_message_bytes: usize,
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
    /// `message.timestamp.type`.
    pub message_timestamp_type: MessageTimestampType,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            max_message_bytes: 1_048_588,
            cleanup_policy: CleanupPolicy::Delete,
            message_timestamp_type: MessageTimestampType::CreateTime,
        }
    }
}
