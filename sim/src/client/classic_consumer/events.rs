//! What the classic consumer engine hands out besides records: requests for its node to send, and
//! events for the application side.

use bytes::Bytes;
use kafka_protocol::messages::RequestKind;

use crate::client::share_consumer::{NodeId, RequestId};
use crate::trace::TopicPartitionName;
use crate::ResponseError;

/// Where a request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Any reachable broker (bootstrap): FindCoordinator and Metadata.
    AnyBroker,
    /// One broker by node id (its address is [`super::ClassicConsumer::broker_address`]).
    Node(NodeId),
}

/// A request the node must send, as the real Kafka message and the version to encode it at.
#[derive(Clone, Debug, PartialEq)]
pub struct Transmit {
    /// Matches the response or failure.
    pub request_id: RequestId,
    /// Where.
    pub destination: Destination,
    /// The API version.
    pub api_version: i16,
    /// The request.
    pub request: RequestKind,
}

/// A record returned by `poll`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassicRecord {
    /// The partition.
    pub topic_partition: TopicPartitionName,
    /// The offset.
    pub offset: i64,
    /// Record key.
    pub key: Option<Bytes>,
    /// Record value.
    pub value: Option<Bytes>,
    /// Record timestamp.
    pub timestamp_ms: i64,
}

/// Names one `commit_sync` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommitSyncId(pub u64);

/// Something the application side must see, drained with `poll_event`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassicConsumerEvent {
    /// A new generation's assignment (eager: it replaces the previous one entirely).
    AssignmentChanged {
        /// The generation.
        generation_id: i32,
        /// The assigned partitions.
        partitions: Vec<TopicPartitionName>,
    },
    /// A `commit_sync` finished (`None` on success; `CommitFailedException` is ILLEGAL_GENERATION or
    /// UNKNOWN_MEMBER_ID).
    CommitSyncCompleted {
        /// The call.
        commit_id: CommitSyncId,
        /// The error, if any.
        error: Option<ResponseError>,
    },
    /// `close()` finished.
    Closed,
    /// A fatal error: the group refused the member (e.g. INCONSISTENT_GROUP_PROTOCOL) or a fetched
    /// batch was corrupt (CORRUPT_MESSAGE; the consumer stays at that offset, as Java's does).
    Error(ResponseError),
}
