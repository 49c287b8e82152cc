//! What a coordinator service needs from the broker that hosts it: its internal-topic partition logs
//! (append as leader, read for replay, delete records) and its metadata. The broker implements
//! [`CoordinatorHost`]; unit tests use a fake. Leadership changes, high-watermark moves and time come in
//! as the services' `handle_*` inputs instead, so the trait has no callbacks.

use bytes::Bytes;

use crate::coordinator::share::TopicIdPartition;
use crate::ResponseError;

/// One record of an internal topic: key and value bytes. A `None` value is a tombstone.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LogRecord {
    /// The record key.
    pub key: Option<Bytes>,
    /// The record value; `None` deletes the key.
    pub value: Option<Bytes>,
}

/// The broker, as a coordinator service sees it.
pub trait CoordinatorHost {
    /// Appends `records` as one batch to `topic`-`partition`, which this broker must lead at
    /// `leader_epoch` (else NOT_LEADER_OR_FOLLOWER). Returns the offset of the first record; the others
    /// follow it. The append is local: the service answers its requests once the partition's high
    /// watermark passes the last record (reported through the service's `handle_high_watermark`).
    fn append(
        &mut self,
        topic: &'static str,
        partition: i32,
        leader_epoch: i32,
        records: Vec<LogRecord>,
    ) -> Result<i64, ResponseError>;

    /// Every record of `topic`-`partition` from its log start offset to its log end, with offsets, for
    /// replay when this broker becomes the coordinator.
    fn read_records(
        &self,
        topic: &'static str,
        partition: i32,
    ) -> Result<Vec<(i64, LogRecord)>, ResponseError>;

    /// The partition's high watermark: records below it are committed.
    fn high_watermark(&self, topic: &'static str, partition: i32) -> i64;

    /// Deletes the records below `offset` (DeleteRecords: the log start offset moves up).
    fn delete_records_before(&mut self, topic: &'static str, partition: i32, offset: i64);

    /// Whether the metadata image has this topic partition (UNKNOWN_TOPIC_OR_PARTITION otherwise).
    fn partition_exists(&self, topic_id_partition: TopicIdPartition) -> bool;
}

/// `CoordinatorRuntime`'s error normalization before a coordinator answers (Kafka's
/// `handleOperationException`): unavailable-ish errors become COORDINATOR_NOT_AVAILABLE, lost
/// leadership becomes NOT_COORDINATOR, size errors become UNKNOWN_SERVER_ERROR; the rest pass.
pub fn normalize_append_error(error: ResponseError) -> ResponseError {
    match error {
        ResponseError::UnknownTopicOrPartition
        | ResponseError::NotEnoughReplicas
        | ResponseError::RequestTimedOut => ResponseError::CoordinatorNotAvailable,
        ResponseError::NotLeaderOrFollower | ResponseError::KafkaStorageError => {
            ResponseError::NotCoordinator
        }
        ResponseError::MessageTooLarge
        | ResponseError::RecordListTooLarge
        | ResponseError::InvalidFetchSize => ResponseError::UnknownServerError,
        other => other,
    }
}
