//! The producer client (Kafka `KafkaProducer`) as a sans-IO engine: [`Producer`] takes application
//! calls and broker responses with the virtual time, and hands out Kafka requests ([`Transmit`]),
//! application events (delivery reports, transaction outcomes) and its next wake-up time.
//!
//! It batches per partition (`linger.ms`, `batch.size`), partitions as Kafka does (murmur2 of the key,
//! sticky partition for records without one), learns leaders from Metadata and refreshes them on
//! NOT_LEADER_OR_FOLLOWER and friends, caps requests in flight per broker, retries with backoff until
//! `delivery.timeout.ms`, and supports `acks` all/1/0, idempotence (producer id, epoch, per-partition
//! sequences) and transactions (FindCoordinator, InitProducerId, AddPartitionsToTxn, EndTxn).
//!
//! Choices where this engine is simpler than Kafka (each also noted where made):
//! * Request timeouts are the node's job: it fails a call after [`Transmit::timeout_ms`] and reports
//!   [`RequestFailure::TimedOut`]. Batches in flight therefore never expire on their own; they expire
//!   through that failure (delivery.timeout.ms >= linger.ms + request.timeout.ms, as Kafka requires).
//! * Retry backoff is exponential (`retry.backoff.ms` doubling up to `retry.backoff.max.ms`) without
//!   Kafka's 20% jitter, to keep runs byte-deterministic without a random source.
//! * Metadata, InitProducerId and FindCoordinator go to known brokers in rotation (Kafka picks the
//!   least loaded node).
//! * Transaction protocol 1 (EndTxn v4): the epoch is bumped only by InitProducerId. An abortable error
//!   leaves the epoch as it is (Kafka 2.5+ with KIP-360 may bump it during the abort).
//! * A record too large for `batch.size` still gets its own batch; batches are never split on
//!   MESSAGE_TOO_LARGE (Kafka splits and retries them).

mod accumulator;
mod config;
mod engine;
mod events;
mod metadata;
mod partitioner;
mod sequences;
mod transactions;

#[cfg(test)]
mod tests;

pub use accumulator::{record_size_estimate, ProducerBatch, RecordAccumulator};
pub use config::{Acks, ConfigError, ProducerConfig, KNOWN_CONFIGS};
pub use engine::{api_versions, Producer, SendRecord, COORDINATOR_TYPE_TRANSACTION};
pub use events::{
    BrokerAddress, DeliveryReport, Destination, ProducerError, ProducerEvent, RecordId,
    RequestFailure, RequestId, Transmit,
};
pub use metadata::{ClientMetadata, PartitionLeader, TopicInfo};
pub use partitioner::{
    murmur2, partition_for_key, to_positive, StickyPartition, StickyPartitioner,
};
pub use sequences::PartitionSequences;
pub use transactions::{TransactionManager, TransactionState, TxnRequestKind};
