//! Partition logs, sans-IO: real Kafka v2 record batches (CRC-32C) stored by offset, with the log start
//! offset, log end offset, high watermark, last stable offset, producer state (idempotence and
//! transactions), the aborted-transaction index, retention, DeleteRecords, compaction, truncation with a
//! leader-epoch cache, and a durability model. Spec 6 (transactions, compaction gaps, log-start movement)
//! and 7.6 (corrupt batches) rely on it.
//!
//! # Durability model
//!
//! madsim keeps every file on a kill, so the log models the page cache itself. A [`PartitionLog`] holds
//! every appended batch in memory plus a *flushed offset* (Kafka's recovery point). Its *disk image*
//! ([`PartitionLog::disk_image`]) is exactly the batches below the flushed offset plus the checkpoints that
//! Kafka writes synchronously or at flush time: the log start offset (segment deletion is durable when it
//! happens), the leader-epoch checkpoint (flushed on every change) and the high-watermark checkpoint
//! (taken at each [`PartitionLog::flush`]). Truncation, retention, DeleteRecords and compaction act on the
//! disk too (compaction only cleans flushed batches: inactive segments are flushed when rolled).
//!
//! A crash is [`PartitionLog::crash`] (or [`PartitionLog::recover`] from a saved image): the unflushed
//! suffix is lost, the high watermark comes back from its checkpoint capped by the log end, the epoch cache
//! is truncated to the log end, and producer state, open transactions and the aborted index are rebuilt by
//! replaying the surviving batches, as Kafka's log recovery does. A broker node keeps its logs in a
//! [`LogStore`] that outlives the node's memory (created outside the madsim node) and calls
//! [`LogStore::recover_all`] when it restarts after a kill; a clean shutdown flushes first.
//!
//! The disk image does not re-validate CRCs on recovery: below the recovery point Kafka does not either, so
//! a batch corrupted on disk ([`PartitionLog::corrupt_batch`]) is served as stored and detected by the
//! consumer ([`RawBatch::verify_crc`], [`consume_fetched`]).

mod batch;
mod builder;
mod compaction;
mod config;
mod consume;
mod epoch_cache;
mod partition_log;
mod producer_state;
mod store;
mod time_index;

pub use batch::{
    check_fetched_records, compute_crc, increment_sequence, BatchError, BatchHeader, RawBatch,
    BATCH_HEADER_BYTES, CRC_COVERED_FROM, LOG_OVERHEAD_BYTES, MAGIC_V2,
};
pub use builder::{
    control_type, encode_control_batch, encode_data_batch, ControlType, ProducerIdentity,
    ProducerRecord,
};
pub use compaction::CompactionStats;
pub use config::{CleanupPolicy, LogConfig, MessageTimestampType};
pub use consume::{consume_fetched, ConsumedBatch, ConsumedBatchKind};
pub use epoch_cache::{EpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET};
pub use partition_log::{
    AppendInfo, DiskImage, FetchIsolation, PartitionLog, ReadResult, StoredBatch,
};
pub use producer_state::{
    AbortedTxn, BatchMetadata, ProducerEntry, ProducerStateTable, SequenceCheck,
    PRODUCER_BATCHES_RETAINED_MAX,
};
pub use store::{LogStore, TopicPartition};
pub use time_index::{offset_for_timestamp, TimeIndex, TimestampAndOffset};

#[cfg(test)]
mod tests;
