//! What the producer engine hands out (requests to send, application events) and the identifiers
//! that tie responses and delivery reports back to their requests and records.

use kafka_protocol::messages::RequestKind;

use crate::ResponseError;

/// Identifies one request the engine asked to send; the node passes it back with the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// Identifies one record given to [`super::Producer::send`]; its delivery report carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub u64);

/// A broker as metadata describes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerAddress {
    /// Broker id.
    pub node_id: i32,
    /// Host as the broker advertises it.
    pub host: String,
    /// Port.
    pub port: i32,
}

/// Where a request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Any bootstrap broker (nothing is known about the cluster yet).
    Bootstrap,
    /// This broker.
    Broker(BrokerAddress),
}

/// One request for the node to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Transmit {
    /// Passed back to [`super::Producer::handle_response`].
    pub request_id: RequestId,
    /// Where to send it.
    pub destination: Destination,
    /// The API version to encode it with.
    pub api_version: i16,
    /// The Kafka request.
    pub request: RequestKind,
    /// `request.timeout.ms`: the node reports [`RequestFailure::TimedOut`] after this long.
    pub timeout_ms: u64,
    /// False for `acks=0` produce requests: the broker sends nothing back and the engine already
    /// completed the batches; the node must not report anything for it.
    pub expects_response: bool,
}

/// Why a request got no response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestFailure {
    /// The connection failed or closed before the response (Kafka `NetworkException`).
    Disconnected,
    /// No response within `request.timeout.ms`.
    TimedOut,
}

impl RequestFailure {
    /// The error Kafka's client reports for it.
    pub fn to_response_error(self) -> ResponseError {
        match self {
            RequestFailure::Disconnected => ResponseError::NetworkException,
            RequestFailure::TimedOut => ResponseError::RequestTimedOut,
        }
    }
}

/// Why a record or a transaction failed.
#[derive(Clone, Debug, PartialEq)]
pub enum ProducerError {
    /// A broker's error code.
    Broker(ResponseError),
    /// `delivery.timeout.ms` passed before the record was acknowledged (Kafka `TimeoutException`).
    DeliveryTimeout,
    /// The topic's metadata did not arrive within `max.block.ms`.
    MetadataTimeout,
    /// The transaction was aborted before the record was sent (Kafka `TransactionAbortedException`).
    TransactionAborted,
    /// The record is larger than `max.request.size` (Kafka `RecordTooLargeException`).
    RecordTooLarge,
    /// The partition does not exist in the topic.
    UnknownPartition,
    /// The call is not allowed in the producer's state (Kafka `IllegalStateException`).
    IllegalState(&'static str),
    /// The producer hit a fatal error earlier (fenced, ...) and can only be closed.
    Fatal(ResponseError),
    /// The transaction hit an error; it can only be aborted (Kafka `TransactionAbortableException`).
    Abortable(ResponseError),
}

/// Something the application learns.
#[derive(Clone, Debug, PartialEq)]
pub enum ProducerEvent {
    /// The outcome of one record (the `Callback` of `send`).
    Delivery(DeliveryReport),
    /// `initTransactions` finished: the producer holds this id and epoch.
    TransactionsInitialized {
        /// Producer id.
        producer_id: i64,
        /// Producer epoch.
        producer_epoch: i16,
    },
    /// `commitTransaction` finished.
    TransactionCommitted,
    /// `abortTransaction` finished.
    TransactionAborted,
    /// `commitTransaction` or `abortTransaction` failed.
    TransactionFailed(ProducerError),
    /// The idempotent producer bumped its epoch after a failed batch (KIP-360) and restarted its
    /// sequence numbers.
    EpochBumped {
        /// Producer id.
        producer_id: i64,
        /// The new epoch.
        producer_epoch: i16,
    },
}

/// The outcome of one record.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryReport {
    /// The record, as `send` returned it.
    pub record_id: RecordId,
    /// Topic.
    pub topic: String,
    /// Partition (-1 when no partition was chosen).
    pub partition: i32,
    /// The record's offset; `None` when unknown (acks=0, a duplicate older than the broker's
    /// window) or on error.
    pub offset: Option<i64>,
    /// `None` on success.
    pub error: Option<ProducerError>,
}
