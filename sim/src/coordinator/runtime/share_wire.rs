//! The share-state RPCs (InitializeShareGroupState 83, ReadShareGroupState 84, WriteShareGroupState 85,
//! DeleteShareGroupState 86, ReadShareGroupStateSummary 87) as the share coordinator service takes and
//! answers them: the `kafka-protocol` messages, flattened into per-partition operations and refilled
//! per partition as each completes.

use kafka_protocol::messages::{
    delete_share_group_state_response, initialize_share_group_state_response,
    read_share_group_state_response, read_share_group_state_summary_response,
    write_share_group_state_response, DeleteShareGroupStateRequest, DeleteShareGroupStateResponse,
    InitializeShareGroupStateRequest, InitializeShareGroupStateResponse,
    ReadShareGroupStateRequest, ReadShareGroupStateResponse, ReadShareGroupStateSummaryRequest,
    ReadShareGroupStateSummaryResponse, RequestKind, ResponseKind, WriteShareGroupStateRequest,
    WriteShareGroupStateResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::coordinator::share::{SharePartitionKey, ShareStateSummary, TopicId, TopicIdPartition};
use crate::net::share_state_v1;
use crate::share::{PersistedShareState, RecordState, StateBatch, WriteShareGroupState};
use crate::ResponseError;

/// A share-state request for the share coordinator.
#[derive(Clone, Debug, PartialEq)]
pub enum ShareStateRequest {
    /// ReadShareGroupState (84).
    Read(ReadShareGroupStateRequest),
    /// WriteShareGroupState (85).
    Write(WriteShareGroupStateRequest),
    /// InitializeShareGroupState (83).
    Initialize(InitializeShareGroupStateRequest),
    /// DeleteShareGroupState (86).
    Delete(DeleteShareGroupStateRequest),
    /// ReadShareGroupStateSummary (87).
    ReadSummary(ReadShareGroupStateSummaryRequest),
}

/// The answer to a [`ShareStateRequest`], same variant.
#[derive(Clone, Debug, PartialEq)]
pub enum ShareStateResponse {
    /// ReadShareGroupState.
    Read(ReadShareGroupStateResponse),
    /// WriteShareGroupState.
    Write(WriteShareGroupStateResponse),
    /// InitializeShareGroupState.
    Initialize(InitializeShareGroupStateResponse),
    /// DeleteShareGroupState.
    Delete(DeleteShareGroupStateResponse),
    /// ReadShareGroupStateSummary.
    ReadSummary(ReadShareGroupStateSummaryResponse),
}

impl ShareStateRequest {
    /// The share-state request inside a broker's request, `None` for any other API.
    pub fn from_request_kind(request: RequestKind) -> Option<ShareStateRequest> {
        Some(match request {
            RequestKind::InitializeShareGroupState(r) => ShareStateRequest::Initialize(r),
            RequestKind::ReadShareGroupState(r) => ShareStateRequest::Read(r),
            RequestKind::WriteShareGroupState(r) => ShareStateRequest::Write(r),
            RequestKind::DeleteShareGroupState(r) => ShareStateRequest::Delete(r),
            RequestKind::ReadShareGroupStateSummary(r) => ShareStateRequest::ReadSummary(r),
            _ => return None,
        })
    }

    /// As a request to send to a share coordinator.
    pub fn into_request_kind(self) -> RequestKind {
        match self {
            ShareStateRequest::Initialize(r) => RequestKind::InitializeShareGroupState(r),
            ShareStateRequest::Read(r) => RequestKind::ReadShareGroupState(r),
            ShareStateRequest::Write(r) => RequestKind::WriteShareGroupState(r),
            ShareStateRequest::Delete(r) => RequestKind::DeleteShareGroupState(r),
            ShareStateRequest::ReadSummary(r) => RequestKind::ReadShareGroupStateSummary(r),
        }
    }
}

impl ShareStateResponse {
    /// The share-state answer inside a response, `None` for any other API.
    pub fn from_response_kind(response: ResponseKind) -> Option<ShareStateResponse> {
        Some(match response {
            ResponseKind::InitializeShareGroupState(r) => ShareStateResponse::Initialize(r),
            ResponseKind::ReadShareGroupState(r) => ShareStateResponse::Read(r),
            ResponseKind::WriteShareGroupState(r) => ShareStateResponse::Write(r),
            ResponseKind::DeleteShareGroupState(r) => ShareStateResponse::Delete(r),
            ResponseKind::ReadShareGroupStateSummary(r) => ShareStateResponse::ReadSummary(r),
            _ => return None,
        })
    }

    /// As a response to send back.
    pub fn into_response_kind(self) -> ResponseKind {
        match self {
            ShareStateResponse::Read(r) => ResponseKind::ReadShareGroupState(r),
            ShareStateResponse::Write(r) => ResponseKind::WriteShareGroupState(r),
            ShareStateResponse::Initialize(r) => ResponseKind::InitializeShareGroupState(r),
            ShareStateResponse::Delete(r) => ResponseKind::DeleteShareGroupState(r),
            ShareStateResponse::ReadSummary(r) => ResponseKind::ReadShareGroupStateSummary(r),
        }
    }
}

/// One partition's operation, decoded from the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PartitionOp {
    Read {
        leader_epoch: i32,
    },
    Write(WriteShareGroupState),
    Initialize {
        state_epoch: i32,
        start_offset: i64,
    },
    Delete,
    ReadSummary,
    /// The partition entry itself is bad (a delivery state or count out of range).
    Invalid,
}

/// What a partition's operation answers on success.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PartitionAnswer {
    Done,
    State(PersistedShareState),
    Summary(ShareStateSummary),
}

/// One partition of a request, with where its answer goes in the response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PartitionEntry {
    pub key: SharePartitionKey,
    pub op: PartitionOp,
    pub topic_index: usize,
    pub partition_index: usize,
}

fn entry(
    group_id: &StrBytes,
    topic_id: TopicId,
    partition: i32,
    op: PartitionOp,
    indexes: (usize, usize),
) -> PartitionEntry {
    PartitionEntry {
        key: SharePartitionKey::new(
            group_id.as_str(),
            TopicIdPartition {
                topic_id,
                partition,
            },
        ),
        op,
        topic_index: indexes.0,
        partition_index: indexes.1,
    }
}

fn state_batches(
    batches: &[kafka_protocol::messages::write_share_group_state_request::StateBatch],
) -> Option<Vec<StateBatch>> {
    batches
        .iter()
        .map(|batch| {
            Some(StateBatch {
                first_offset: batch.first_offset,
                last_offset: batch.last_offset,
                delivery_state: RecordState::from_id(batch.delivery_state)?,
                delivery_count: u16::try_from(batch.delivery_count).ok()?,
            })
            .filter(|b| b.first_offset <= b.last_offset)
        })
        .collect()
}

/// The per-partition operations of a request, and a response skeleton with one entry per partition
/// (every entry UNKNOWN_SERVER_ERROR until filled).
pub(crate) fn flatten(request: &ShareStateRequest) -> (Vec<PartitionEntry>, ShareStateResponse) {
    let unfilled = ResponseError::UnknownServerError.code();
    let mut entries = Vec::new();
    let response = match request {
        ShareStateRequest::Read(request) => {
            let mut results = Vec::new();
            for (t, topic) in request.topics.iter().enumerate() {
                let mut partitions = Vec::new();
                for (p, data) in topic.partitions.iter().enumerate() {
                    let op = PartitionOp::Read {
                        leader_epoch: data.leader_epoch,
                    };
                    entries.push(entry(
                        &request.group_id,
                        TopicId(topic.topic_id.as_u128()),
                        data.partition,
                        op,
                        (t, p),
                    ));
                    partitions.push(
                        read_share_group_state_response::PartitionResult::default()
                            .with_partition(data.partition)
                            .with_error_code(unfilled),
                    );
                }
                results.push(
                    read_share_group_state_response::ReadStateResult::default()
                        .with_topic_id(topic.topic_id)
                        .with_partitions(partitions),
                );
            }
            ShareStateResponse::Read(ReadShareGroupStateResponse::default().with_results(results))
        }
        ShareStateRequest::Write(request) => {
            let mut results = Vec::new();
            for (t, topic) in request.topics.iter().enumerate() {
                let mut partitions = Vec::new();
                for (p, data) in topic.partitions.iter().enumerate() {
                    // WriteShareGroupState v1 (KIP-1226); a v0 request carries -1, "unknown".
                    let op = match state_batches(&data.state_batches) {
                        Some(state_batches) => PartitionOp::Write(WriteShareGroupState {
                            state_epoch: data.state_epoch,
                            leader_epoch: data.leader_epoch,
                            start_offset: data.start_offset,
                            delivery_complete_count: share_state_v1::write_delivery_complete_count(
                                data,
                            ),
                            state_batches,
                        }),
                        None => PartitionOp::Invalid,
                    };
                    entries.push(entry(
                        &request.group_id,
                        TopicId(topic.topic_id.as_u128()),
                        data.partition,
                        op,
                        (t, p),
                    ));
                    partitions.push(
                        write_share_group_state_response::PartitionResult::default()
                            .with_partition(data.partition)
                            .with_error_code(unfilled),
                    );
                }
                results.push(
                    write_share_group_state_response::WriteStateResult::default()
                        .with_topic_id(topic.topic_id)
                        .with_partitions(partitions),
                );
            }
            ShareStateResponse::Write(WriteShareGroupStateResponse::default().with_results(results))
        }
        ShareStateRequest::Initialize(request) => {
            let mut results = Vec::new();
            for (t, topic) in request.topics.iter().enumerate() {
                let mut partitions = Vec::new();
                for (p, data) in topic.partitions.iter().enumerate() {
                    let op = PartitionOp::Initialize {
                        state_epoch: data.state_epoch,
                        start_offset: data.start_offset,
                    };
                    entries.push(entry(
                        &request.group_id,
                        TopicId(topic.topic_id.as_u128()),
                        data.partition,
                        op,
                        (t, p),
                    ));
                    partitions.push(
                        initialize_share_group_state_response::PartitionResult::default()
                            .with_partition(data.partition)
                            .with_error_code(unfilled),
                    );
                }
                results.push(
                    initialize_share_group_state_response::InitializeStateResult::default()
                        .with_topic_id(topic.topic_id)
                        .with_partitions(partitions),
                );
            }
            ShareStateResponse::Initialize(
                InitializeShareGroupStateResponse::default().with_results(results),
            )
        }
        ShareStateRequest::Delete(request) => {
            let mut results = Vec::new();
            for (t, topic) in request.topics.iter().enumerate() {
                let mut partitions = Vec::new();
                for (p, data) in topic.partitions.iter().enumerate() {
                    let op = PartitionOp::Delete;
                    entries.push(entry(
                        &request.group_id,
                        TopicId(topic.topic_id.as_u128()),
                        data.partition,
                        op,
                        (t, p),
                    ));
                    partitions.push(
                        delete_share_group_state_response::PartitionResult::default()
                            .with_partition(data.partition)
                            .with_error_code(unfilled),
                    );
                }
                results.push(
                    delete_share_group_state_response::DeleteStateResult::default()
                        .with_topic_id(topic.topic_id)
                        .with_partitions(partitions),
                );
            }
            ShareStateResponse::Delete(
                DeleteShareGroupStateResponse::default().with_results(results),
            )
        }
        ShareStateRequest::ReadSummary(request) => {
            let mut results = Vec::new();
            for (t, topic) in request.topics.iter().enumerate() {
                let mut partitions = Vec::new();
                for (p, data) in topic.partitions.iter().enumerate() {
                    let op = PartitionOp::ReadSummary;
                    entries.push(entry(
                        &request.group_id,
                        TopicId(topic.topic_id.as_u128()),
                        data.partition,
                        op,
                        (t, p),
                    ));
                    partitions.push(
                        read_share_group_state_summary_response::PartitionResult::default()
                            .with_partition(data.partition)
                            .with_error_code(unfilled),
                    );
                }
                results.push(
                    read_share_group_state_summary_response::ReadStateSummaryResult::default()
                        .with_topic_id(topic.topic_id)
                        .with_partitions(partitions),
                );
            }
            ShareStateResponse::ReadSummary(
                ReadShareGroupStateSummaryResponse::default().with_results(results),
            )
        }
    };
    (entries, response)
}

fn error_fields(error: ResponseError) -> (i16, Option<StrBytes>) {
    (error.code(), Some(StrBytes::from_string(error.to_string())))
}

/// Writes one partition's outcome into the response.
pub(crate) fn fill(
    response: &mut ShareStateResponse,
    topic_index: usize,
    partition_index: usize,
    outcome: Result<PartitionAnswer, ResponseError>,
) {
    let (error_code, error_message) = match &outcome {
        Ok(_) => (0, None),
        Err(error) => error_fields(*error),
    };
    match response {
        ShareStateResponse::Read(response) => {
            let slot = &mut response.results[topic_index].partitions[partition_index];
            slot.error_code = error_code;
            slot.error_message = error_message;
            if let Ok(PartitionAnswer::State(state)) = outcome {
                slot.state_epoch = state.state_epoch;
                slot.start_offset = state.start_offset;
                slot.state_batches = state
                    .state_batches
                    .iter()
                    .map(|batch| {
                        read_share_group_state_response::StateBatch::default()
                            .with_first_offset(batch.first_offset)
                            .with_last_offset(batch.last_offset)
                            .with_delivery_state(batch.delivery_state.id())
                            .with_delivery_count(
                                i16::try_from(batch.delivery_count).unwrap_or(i16::MAX),
                            )
                    })
                    .collect();
            }
        }
        ShareStateResponse::Write(response) => {
            let slot = &mut response.results[topic_index].partitions[partition_index];
            slot.error_code = error_code;
            slot.error_message = error_message;
        }
        ShareStateResponse::Initialize(response) => {
            let slot = &mut response.results[topic_index].partitions[partition_index];
            slot.error_code = error_code;
            slot.error_message = error_message;
        }
        ShareStateResponse::Delete(response) => {
            let slot = &mut response.results[topic_index].partitions[partition_index];
            slot.error_code = error_code;
            slot.error_message = error_message;
        }
        ShareStateResponse::ReadSummary(response) => {
            let slot = &mut response.results[topic_index].partitions[partition_index];
            slot.error_code = error_code;
            slot.error_message = error_message;
            if let Ok(PartitionAnswer::Summary(summary)) = outcome {
                slot.state_epoch = summary.state_epoch;
                slot.leader_epoch = summary.leader_epoch;
                slot.start_offset = summary.start_offset;
                // Sent at v1 only (KIP-1226).
                share_state_v1::set_summary_delivery_complete_count(
                    slot,
                    summary.delivery_complete_count,
                );
            }
        }
    }
}
