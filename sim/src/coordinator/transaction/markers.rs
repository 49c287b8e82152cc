//! WriteTxnMarkers on the wire: the request the coordinator's broker sends to a partition leader, and
//! what the leader does with it (append a COMMIT/ABORT control batch per partition, Kafka
//! `KafkaApis.handleWriteTxnMarkersRequest`).

use std::collections::BTreeMap;

use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{
    ProducerId, TopicName, WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::coordinator::TxnMarkerWrite;
use crate::log::{ControlType, ProducerIdentity, TopicPartition};
use crate::ResponseError;

/// WriteTxnMarkers v1 (the only version).
pub const WRITE_TXN_MARKERS_VERSION: i16 = 1;

/// The WriteTxnMarkers request for marker writes bound for one leader (each write's partitions
/// should all be led by that broker).
pub fn write_txn_markers_request(writes: &[TxnMarkerWrite]) -> WriteTxnMarkersRequest {
    let markers = writes
        .iter()
        .map(|w| {
            let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for tp in &w.partitions {
                topics.entry(&tp.topic).or_default().push(tp.partition);
            }
            WritableTxnMarker::default()
                .with_producer_id(ProducerId(w.producer_id))
                .with_producer_epoch(w.producer_epoch)
                .with_transaction_result(w.committed)
                .with_coordinator_epoch(w.coordinator_epoch)
                .with_topics(
                    topics
                        .into_iter()
                        .map(|(name, partitions)| {
                            WritableTxnMarkerTopic::default()
                                .with_name(TopicName(StrBytes::from_string(name.to_string())))
                                .with_partition_indexes(partitions)
                        })
                        .collect(),
                )
        })
        .collect();
    WriteTxnMarkersRequest::default().with_markers(markers)
}

/// One marker a partition leader must append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerAppend {
    /// Where.
    pub topic_partition: TopicPartition,
    /// The transaction's producer.
    pub producer: ProducerIdentity,
    /// COMMIT or ABORT.
    pub control: ControlType,
    /// The coordinator's epoch.
    pub coordinator_epoch: i32,
}

/// Serves a WriteTxnMarkers on a partition leader: `append` writes one marker (typically
/// `PartitionLog::append_marker_as_leader`, or NOT_LEADER_OR_FOLLOWER when this broker does not lead
/// the partition) and its error goes into the response.
pub fn serve_write_txn_markers(
    request: &WriteTxnMarkersRequest,
    mut append: impl FnMut(&MarkerAppend) -> Result<(), ResponseError>,
) -> WriteTxnMarkersResponse {
    let markers = request
        .markers
        .iter()
        .map(|marker| {
            let control = if marker.transaction_result {
                ControlType::Commit
            } else {
                ControlType::Abort
            };
            let producer = ProducerIdentity {
                producer_id: marker.producer_id.0,
                producer_epoch: marker.producer_epoch,
            };
            let topics = marker
                .topics
                .iter()
                .map(|topic| {
                    let partitions = topic
                        .partition_indexes
                        .iter()
                        .map(|p| {
                            let result = append(&MarkerAppend {
                                topic_partition: TopicPartition::new(topic.name.0.to_string(), *p),
                                producer,
                                control,
                                coordinator_epoch: marker.coordinator_epoch,
                            });
                            WritableTxnMarkerPartitionResult::default()
                                .with_partition_index(*p)
                                .with_error_code(result.err().map_or(0, |e| e.code()))
                        })
                        .collect();
                    WritableTxnMarkerTopicResult::default()
                        .with_name(topic.name.clone())
                        .with_partitions(partitions)
                })
                .collect();
            WritableTxnMarkerResult::default()
                .with_producer_id(marker.producer_id)
                .with_topics(topics)
        })
        .collect();
    WriteTxnMarkersResponse::default().with_markers(markers)
}

/// The per-partition results of one transaction's markers in a WriteTxnMarkers response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerResults {
    /// The transaction's producer id.
    pub producer_id: i64,
    /// Each partition's error, `None` when the marker was written.
    pub partitions: Vec<(TopicPartition, Option<ResponseError>)>,
}

/// The results of a WriteTxnMarkers response, by producer id, for
/// [`super::TransactionCoordinator::handle_marker_results`].
pub fn marker_results(response: &WriteTxnMarkersResponse) -> Vec<MarkerResults> {
    response
        .markers
        .iter()
        .map(|m| {
            let results = m
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions.iter().map(|p| {
                        (
                            TopicPartition::new(t.name.0.to_string(), p.partition_index),
                            ResponseError::try_from_code(p.error_code),
                        )
                    })
                })
                .collect();
            MarkerResults {
                producer_id: m.producer_id.0,
                partitions: results,
            }
        })
        .collect()
}
