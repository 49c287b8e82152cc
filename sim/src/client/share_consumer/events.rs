//! What the engine tells the application (errors from calls, callback and commit completions) and what it
//! records in the trace (deliveries, acknowledgements sent, their outcomes, poll errors, membership).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::wire::NodeId;
use crate::coordinator::share::TopicIdPartition;
use crate::share::AcknowledgeType;
use crate::ResponseError;

/// An exception a consumer call throws, with Kafka's exception names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// `IllegalStateException`: the call is not allowed now.
    IllegalState(String),
    /// `IllegalArgumentException`: a bad argument.
    IllegalArgument(String),
    /// `RecordDeserializationException` (spec 7.5).
    RecordDeserialization {
        /// The partition.
        topic_id_partition: TopicIdPartition,
        /// The failing record's offset.
        offset: i64,
        /// Why it failed.
        message: String,
    },
    /// `CorruptRecordException` (spec 7.6).
    CorruptRecord {
        /// The partition.
        topic_id_partition: TopicIdPartition,
        /// Base offset of the corrupt batch.
        base_offset: i64,
    },
    /// A `KafkaException` carrying a broker error (e.g. a fatal heartbeat error, CORRUPT_MESSAGE).
    Kafka(ResponseError),
}

impl ClientError {
    /// A short stable name for traces.
    pub fn name(&self) -> &'static str {
        match self {
            ClientError::IllegalState(_) => "IllegalStateException",
            ClientError::IllegalArgument(_) => "IllegalArgumentException",
            ClientError::RecordDeserialization { .. } => "RecordDeserializationException",
            ClientError::CorruptRecord { .. } => "CorruptRecordException",
            ClientError::Kafka(_) => "KafkaException",
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::IllegalState(why) => write!(f, "IllegalStateException: {why}"),
            ClientError::IllegalArgument(why) => write!(f, "IllegalArgumentException: {why}"),
            ClientError::RecordDeserialization {
                topic_id_partition,
                offset,
                message,
            } => write!(
                f,
                "RecordDeserializationException at {topic_id_partition:?} offset {offset}: {message}"
            ),
            ClientError::CorruptRecord {
                topic_id_partition,
                base_offset,
            } => write!(
                f,
                "CorruptRecordException: batch at {base_offset} of {topic_id_partition:?}"
            ),
            ClientError::Kafka(error) => write!(f, "KafkaException: {error}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Names one `commitSync` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CommitId(pub u64);

/// Something the application side must see, drained with `poll_event`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerEvent {
    /// `AcknowledgementCommitCallback.onComplete` for one partition of one commit: a single-entry map.
    /// `error` is `None` on success. Kafka catches what the callback throws, so nothing flows back.
    AcknowledgementCommitCallback {
        /// The partition (the single map key).
        topic_id_partition: TopicIdPartition,
        /// The acknowledged offsets.
        offsets: Vec<i64>,
        /// The exception, as Kafka's error code (`NetworkException` stands for DisconnectException).
        error: Option<ResponseError>,
    },
    /// A `commitSync` finished: its per-partition results (`None` = success).
    CommitSyncCompleted {
        /// The call.
        commit_id: CommitId,
        /// Result per partition; `RequestTimedOut` for partitions the timeout cut off.
        results: BTreeMap<TopicIdPartition, Option<ResponseError>>,
    },
    /// `close()` finished (every FINAL acknowledgement and the leave heartbeat done or timed out).
    Closed,
    /// The engine needs fresh metadata (a leader moved or is unknown).
    MetadataUpdateNeeded,
    /// The group coordinator moved or did not answer: find it again (`handle_group_coordinator`).
    CoordinatorLookupNeeded,
}

/// A client-side trace event; serialized with a stable field order (declaration order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ClientTraceEvent {
    /// A record handed to the application by `poll`.
    RecordDelivered {
        /// Virtual time.
        at_ms: u64,
        /// The member.
        member_id: String,
        /// The partition.
        topic_id_partition: TopicIdPartition,
        /// The offset.
        offset: i64,
        /// The broker's delivery count.
        delivery_count: i16,
    },
    /// Acknowledgements put on the wire.
    AcknowledgementsSent {
        /// Virtual time.
        at_ms: u64,
        /// The member.
        member_id: String,
        /// The destination.
        node: NodeId,
        /// The partition.
        topic_id_partition: TopicIdPartition,
        /// `share_fetch` or `share_acknowledge`.
        request: &'static str,
        /// The session epoch of the request.
        share_session_epoch: i32,
        /// Every (offset, type) in the request for this partition.
        acknowledgements: Vec<(i64, AcknowledgeType)>,
    },
    /// The one outcome of a set of acknowledgements (ACK-OUTCOME), as reported to the application.
    AcknowledgementOutcome {
        /// Virtual time.
        at_ms: u64,
        /// The member.
        member_id: String,
        /// The partition.
        topic_id_partition: TopicIdPartition,
        /// Every (offset, type) this outcome covers.
        acknowledgements: Vec<(i64, AcknowledgeType)>,
        /// 0 on success, else Kafka's error code.
        error_code: i16,
        /// The offsets among `acknowledgements` that never went on the wire: the client failed them
        /// itself (no share session with their node, spec 2.3; their deadline passed while queued; a
        /// newer acquisition superseded them).
        unsent_offsets: Vec<i64>,
    },
    /// `poll` threw.
    PollError {
        /// Virtual time.
        at_ms: u64,
        /// The member.
        member_id: String,
        /// Kafka's exception name.
        error: &'static str,
        /// The exception's partition and offset when it has them.
        topic_id_partition: Option<TopicIdPartition>,
        /// The offset (record or batch base) when it has one.
        offset: Option<i64>,
    },
    /// The member epoch or assignment changed.
    Membership {
        /// Virtual time.
        at_ms: u64,
        /// The member.
        member_id: String,
        /// The new member epoch.
        member_epoch: i32,
        /// The assigned partitions.
        assignment: Vec<TopicIdPartition>,
    },
    /// A share session restarts at epoch 0.
    ShareSessionReset {
        /// Virtual time.
        at_ms: u64,
        /// The member.
        member_id: String,
        /// The broker.
        node: NodeId,
        /// Kafka's error code that caused it (0 when it was a transport failure).
        error_code: i16,
    },
}

/// Error code for traces: 0 for success.
pub fn error_code(error: Option<ResponseError>) -> i16 {
    error.map_or(0, |e| e.code())
}
