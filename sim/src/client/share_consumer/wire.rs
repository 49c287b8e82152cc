//! Request and response descriptions the engine exchanges with its node: plain structs close to the
//! ShareFetch (78), ShareAcknowledge (79) and ShareGroupHeartbeat (76) wire fields. A later step maps them
//! to `kafka-protocol` messages; the engine never sees bytes other than fetched record batches.

use bytes::Bytes;

use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::share::AcknowledgeType;
use crate::ResponseError;

/// A broker, by its node id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct NodeId(pub i32);

/// Names one request the engine emitted, so that its response or failure can be matched to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// One `AcknowledgementBatches` entry: `acknowledge_types` has one entry for the whole range or one per
/// offset (spec 2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcknowledgementBatch {
    /// First offset of the range.
    pub first_offset: i64,
    /// Last offset of the range (inclusive).
    pub last_offset: i64,
    /// One type for the whole range, or one per offset.
    pub acknowledge_types: Vec<AcknowledgeType>,
}

/// One partition of a ShareFetch request: what to fetch and the piggybacked acknowledgements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareFetchPartition {
    /// The partition.
    pub topic_id_partition: TopicIdPartition,
    /// Acknowledgements, ordered by offset.
    pub acknowledgement_batches: Vec<AcknowledgementBatch>,
}

/// A ShareFetch request (API 78).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareFetchRequest {
    /// Request version (0 on 4.0, 1 on 4.1, 2 on 4.2).
    pub version: i16,
    /// GroupId.
    pub group_id: String,
    /// MemberId.
    pub member_id: String,
    /// ShareSessionEpoch: 0 opens, -1 closes.
    pub share_session_epoch: i32,
    /// MaxWaitMs.
    pub max_wait_ms: i32,
    /// MinBytes.
    pub min_bytes: i32,
    /// MaxBytes.
    pub max_bytes: i32,
    /// MaxRecords (v1+).
    pub max_records: i32,
    /// BatchSize (v1+).
    pub batch_size: i32,
    /// ShareAcquireMode (v2).
    pub share_acquire_mode: i8,
    /// IsRenewAck (v2): the fetch part is skipped and every size above is 0.
    pub is_renew_ack: bool,
    /// Topics to fetch (and acknowledge), by partition.
    pub partitions: Vec<ShareFetchPartition>,
    /// ForgottenTopicsData: partitions removed from the session.
    pub forgotten_partitions: Vec<TopicIdPartition>,
}

/// One partition of a ShareAcknowledge request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareAcknowledgePartition {
    /// The partition.
    pub topic_id_partition: TopicIdPartition,
    /// Acknowledgements, ordered by offset.
    pub acknowledgement_batches: Vec<AcknowledgementBatch>,
}

/// A ShareAcknowledge request (API 79).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareAcknowledgeRequest {
    /// Request version.
    pub version: i16,
    /// GroupId.
    pub group_id: String,
    /// MemberId.
    pub member_id: String,
    /// ShareSessionEpoch: -1 closes the session.
    pub share_session_epoch: i32,
    /// IsRenewAck (v2).
    pub is_renew_ack: bool,
    /// The acknowledgements, by partition.
    pub partitions: Vec<ShareAcknowledgePartition>,
}

/// A ShareGroupHeartbeat request (API 76).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareGroupHeartbeatRequest {
    /// GroupId.
    pub group_id: String,
    /// MemberId (client-generated).
    pub member_id: String,
    /// MemberEpoch: 0 joins, -1 leaves.
    pub member_epoch: i32,
    /// RackId; `None` = unchanged.
    pub rack_id: Option<String>,
    /// SubscribedTopicNames; `None` = unchanged. Required when the epoch is 0.
    pub subscribed_topic_names: Option<Vec<String>>,
}

/// What the engine asks its node to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// A ShareFetch to a partition leader.
    ShareFetch {
        /// Matches the response.
        request_id: RequestId,
        /// The destination broker.
        node: NodeId,
        /// The request.
        request: ShareFetchRequest,
    },
    /// A ShareAcknowledge to a partition leader.
    ShareAcknowledge {
        /// Matches the response.
        request_id: RequestId,
        /// The destination broker.
        node: NodeId,
        /// The request.
        request: ShareAcknowledgeRequest,
    },
    /// A ShareGroupHeartbeat to the group coordinator.
    ShareGroupHeartbeat {
        /// Matches the response.
        request_id: RequestId,
        /// The group coordinator.
        node: NodeId,
        /// The request.
        request: ShareGroupHeartbeatRequest,
    },
}

impl Transmit {
    /// The request id.
    pub fn request_id(&self) -> RequestId {
        match self {
            Transmit::ShareFetch { request_id, .. }
            | Transmit::ShareAcknowledge { request_id, .. }
            | Transmit::ShareGroupHeartbeat { request_id, .. } => *request_id,
        }
    }
}

/// One `AcquiredRecords` entry of a ShareFetch response partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcquiredRecords {
    /// First acquired offset.
    pub first_offset: i64,
    /// Last acquired offset (inclusive).
    pub last_offset: i64,
    /// The delivery count of every offset in the range.
    pub delivery_count: i16,
}

/// One partition of a ShareFetch response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareFetchResponsePartition {
    /// The partition.
    pub topic_id_partition: TopicIdPartition,
    /// The fetch ErrorCode (`None` = NONE).
    pub error: Option<ResponseError>,
    /// AcknowledgeErrorCode for the piggybacked acknowledgements.
    pub acknowledge_error: Option<ResponseError>,
    /// CurrentLeader, when the broker is not the leader.
    pub current_leader: Option<NodeId>,
    /// Records: the fetched v2 batches.
    pub records: Bytes,
    /// AcquiredRecords.
    pub acquired_records: Vec<AcquiredRecords>,
}

/// A ShareFetch response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareFetchResponse {
    /// Top-level ErrorCode.
    pub error: Option<ResponseError>,
    /// AcquisitionLockTimeoutMs.
    pub acquisition_lock_timeout_ms: i32,
    /// Responses per partition.
    pub partitions: Vec<ShareFetchResponsePartition>,
}

/// One partition of a ShareAcknowledge response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareAcknowledgeResponsePartition {
    /// The partition.
    pub topic_id_partition: TopicIdPartition,
    /// ErrorCode for this partition's acknowledgements.
    pub error: Option<ResponseError>,
    /// CurrentLeader, when the broker is not the leader.
    pub current_leader: Option<NodeId>,
}

/// A ShareAcknowledge response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareAcknowledgeResponse {
    /// Top-level ErrorCode.
    pub error: Option<ResponseError>,
    /// AcquisitionLockTimeoutMs (v2; `None` before).
    pub acquisition_lock_timeout_ms: Option<i32>,
    /// Responses per partition.
    pub partitions: Vec<ShareAcknowledgeResponsePartition>,
}

/// One topic of a heartbeat assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssignedTopic {
    /// TopicId.
    pub topic_id: TopicId,
    /// Partitions.
    pub partitions: Vec<i32>,
}

/// A ShareGroupHeartbeat response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareGroupHeartbeatResponse {
    /// ErrorCode.
    pub error: Option<ResponseError>,
    /// MemberEpoch.
    pub member_epoch: i32,
    /// HeartbeatIntervalMs.
    pub heartbeat_interval_ms: i32,
    /// Assignment; `None` = unchanged.
    pub assignment: Option<Vec<AssignedTopic>>,
}

/// What metadata says about one topic: its name, id and partition leaders (leader discovery input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicMetadata {
    /// Topic name.
    pub name: String,
    /// Topic id.
    pub topic_id: TopicId,
    /// Leader of each partition; `None` = no leader now.
    pub partition_leaders: Vec<(i32, Option<NodeId>)>,
}
