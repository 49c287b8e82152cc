//! The share consumer (spec 7; Kafka `KafkaShareConsumer` → `ShareConsumerImpl`) as a sans-IO engine:
//! [`ShareConsumer`] takes application commands and broker responses with the virtual time, and hands out
//! request descriptions, application events (commit callbacks, commitSync results) and trace events.
//!
//! Choices where the spec is silent or the model is simpler than Kafka (each also noted where made):
//! * Fetching: no prefetch. As Kafka 4.2 (`ShareConsumerImpl.collect` sends a ShareFetchEvent only when
//!   the current fetch and the buffer are empty; `ShareConsumeRequestManager` clears `fetchMoreRecords`
//!   once a ShareFetch response acquires records), the engine fetches only after a poll found nothing to
//!   hand out, and stops at the first response that acquires records. Every ShareFetch lists all
//!   fetchable partitions (an incremental request would list only added ones; the broker treats both
//!   alike); partitions that left the fetch set go in ForgottenTopicsData.
//! * One request per node at a time (ShareFetch or ShareAcknowledge): they share the session epoch.
//! * RENEW goes in a ShareAcknowledge with IsRenewAck (never a renew-only ShareFetch), together with the
//!   node's other pending acknowledgements.
//! * Any top-level ShareFetch error, and any failed request, restarts the node's session at epoch 0 (as
//!   Kafka's `ShareSessionHandler` does); the acknowledgements in it fail with that error
//!   (NETWORK_EXCEPTION for a disconnect, REQUEST_TIMED_OUT for a timeout).
//! * Retriable partition errors of a ShareAcknowledge (not NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH)
//!   are retried until the acknowledgement's deadline; piggybacked acknowledgements are not retried.
//! * `check.crcs=false` still finds corrupt batches: the log module's decoder verifies CRC-32C itself.
//! * A broker that re-acquires an offset whose earlier acknowledgement was never sent supersedes it: the
//!   older decision is reported as INVALID_RECORD_STATE, so it still gets exactly one outcome.
//! * A response that omits a partition whose acknowledgements it carried is bad input: those
//!   acknowledgements fail with UNKNOWN_SERVER_ERROR.

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
