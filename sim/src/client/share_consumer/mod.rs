//! The share consumer (spec 7; Kafka `KafkaShareConsumer` → `ShareConsumerImpl`) as a sans-IO engine:
//! [`ShareConsumer`] takes application commands and broker responses with the virtual time, and hands out
//! request descriptions, application events (commit callbacks, commitSync results) and trace events.

mod ack_batches;
mod completed_fetch;
mod config;
mod consumer;
mod deserializer;
mod events;
mod membership;
mod requests;
mod wire;

#[cfg(test)]
mod tests;

pub use ack_batches::acknowledgement_batches;
pub use completed_fetch::{
    CompletedFetch, ConsumerRecord, FetchItem, ACQUIRED_OFFSETS_PER_PARTITION_MAX,
};
pub use config::{
    AcknowledgementMode, AcquireMode, ConfigError, ShareConsumerConfig, KNOWN_CONFIGS,
    UNSUPPORTED_CONFIGS,
};
pub use consumer::{AcknowledgementModeState, ShareConsumer};
pub use deserializer::{RecordDeserializer, DEFAULT_POISON_MARKER};
pub use events::{ClientError, ClientTraceEvent, CommitId, ConsumerEvent};
pub use membership::{MemberState, JOIN_EPOCH, LEAVE_EPOCH};
pub use requests::RequestFailure;
pub use wire::{
    AcknowledgementBatch, AcquiredRecords, AssignedTopic, NodeId, RequestId,
    ShareAcknowledgePartition, ShareAcknowledgeRequest, ShareAcknowledgeResponse,
    ShareAcknowledgeResponsePartition, ShareFetchPartition, ShareFetchRequest, ShareFetchResponse,
    ShareFetchResponsePartition, ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse,
    TopicMetadata, Transmit,
};
