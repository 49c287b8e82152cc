//! Translation between the share consumer engine's request/response descriptions
//! ([`crate::client::share_consumer`]'s `wire` structs) and the real Kafka messages of `kafka-protocol`
//! (plus the v2 fields of [`crate::net::share_v2`]), for the consumer node.

use std::net::{IpAddr, SocketAddr};

use kafka_protocol::messages::share_acknowledge_request::{
    AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch as AckWireBatch,
};
use kafka_protocol::messages::share_fetch_request::{
    AcknowledgementBatch as FetchWireBatch, FetchPartition, FetchTopic, ForgottenTopic,
};
use kafka_protocol::messages::{
    GroupId, MetadataResponse, RequestKind, ShareAcknowledgeRequest as KafkaAckRequest,
    ShareAcknowledgeResponse as KafkaAckResponse, ShareFetchRequest as KafkaFetchRequest,
    ShareFetchResponse as KafkaFetchResponse, ShareGroupHeartbeatRequest as KafkaHeartbeatRequest,
    ShareGroupHeartbeatResponse as KafkaHeartbeatResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::client::share_consumer::{
    AcknowledgementBatch, AcquiredRecords, AssignedTopic, NodeId, ShareAcknowledgeRequest,
    ShareAcknowledgeResponse, ShareAcknowledgeResponsePartition, ShareFetchRequest,
    ShareFetchResponse, ShareFetchResponsePartition, ShareGroupHeartbeatRequest,
    ShareGroupHeartbeatResponse, TopicMetadata,
};
use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::net::share_v2;
use crate::ResponseError;

/// ShareGroupHeartbeat version sent (the crate's only one).
pub const SHARE_GROUP_HEARTBEAT_VERSION: i16 = 1;
/// `PartitionMaxBytes` of a ShareFetch v0 (4.0 only): the 4.0 client's `max.partition.fetch.bytes`
/// default, 1 MiB. The simulated broker bounds its reads by `MaxBytes` alone.
const V0_PARTITION_MAX_BYTES: i32 = 1_048_576;

fn error_of(code: i16) -> Option<ResponseError> {
    (code != 0)
        .then(|| ResponseError::try_from_code(code).unwrap_or(ResponseError::UnknownServerError))
}

fn uuid(topic_id: TopicId) -> Uuid {
    Uuid::from_u128(topic_id.0)
}

fn topic_id(uuid: &Uuid) -> TopicId {
    TopicId(uuid.as_u128())
}

/// Topics in order of first appearance, each with its items.
fn group_by_topic<T>(items: impl IntoIterator<Item = (TopicId, T)>) -> Vec<(TopicId, Vec<T>)> {
    let mut topics: Vec<(TopicId, Vec<T>)> = Vec::new();
    for (topic, item) in items {
        match topics.iter_mut().find(|(id, _)| *id == topic) {
            Some((_, list)) => list.push(item),
            None => topics.push((topic, vec![item])),
        }
    }
    topics
}

fn fetch_batches(batches: &[AcknowledgementBatch]) -> Vec<FetchWireBatch> {
    batches
        .iter()
        .map(|batch| {
            FetchWireBatch::default()
                .with_first_offset(batch.first_offset)
                .with_last_offset(batch.last_offset)
                .with_acknowledge_types(batch.acknowledge_types.iter().map(|t| t.id()).collect())
        })
        .collect()
}

/// A ShareFetch as the Kafka message (its version is `request.version`).
pub fn share_fetch_request(request: &ShareFetchRequest) -> RequestKind {
    let topics = group_by_topic(request.partitions.iter().map(|partition| {
        let tp = partition.topic_id_partition;
        (
            tp.topic_id,
            FetchPartition::default()
                .with_partition_index(tp.partition)
                .with_partition_max_bytes(V0_PARTITION_MAX_BYTES)
                .with_acknowledgement_batches(fetch_batches(&partition.acknowledgement_batches)),
        )
    }))
    .into_iter()
    .map(|(topic, partitions)| {
        FetchTopic::default()
            .with_topic_id(uuid(topic))
            .with_partitions(partitions)
    })
    .collect();
    let forgotten = group_by_topic(
        request
            .forgotten_partitions
            .iter()
            .map(|tp| (tp.topic_id, tp.partition)),
    )
    .into_iter()
    .map(|(topic, partitions)| {
        ForgottenTopic::default()
            .with_topic_id(uuid(topic))
            .with_partitions(partitions)
    })
    .collect();
    let mut message = KafkaFetchRequest::default()
        .with_group_id(Some(GroupId(StrBytes::from_string(
            request.group_id.clone(),
        ))))
        .with_member_id(Some(StrBytes::from_string(request.member_id.clone())))
        .with_share_session_epoch(request.share_session_epoch)
        .with_max_wait_ms(request.max_wait_ms)
        .with_min_bytes(request.min_bytes)
        .with_max_bytes(request.max_bytes)
        .with_max_records(request.max_records)
        .with_batch_size(request.batch_size)
        .with_topics(topics)
        .with_forgotten_topics_data(forgotten);
    share_v2::set_share_acquire_mode(&mut message, request.share_acquire_mode);
    share_v2::set_fetch_is_renew_ack(&mut message, request.is_renew_ack);
    RequestKind::ShareFetch(message)
}

/// A ShareAcknowledge as the Kafka message.
pub fn share_acknowledge_request(request: &ShareAcknowledgeRequest) -> RequestKind {
    let topics = group_by_topic(request.partitions.iter().map(|partition| {
        let tp = partition.topic_id_partition;
        let batches = partition
            .acknowledgement_batches
            .iter()
            .map(|batch| {
                AckWireBatch::default()
                    .with_first_offset(batch.first_offset)
                    .with_last_offset(batch.last_offset)
                    .with_acknowledge_types(
                        batch.acknowledge_types.iter().map(|t| t.id()).collect(),
                    )
            })
            .collect();
        (
            tp.topic_id,
            AcknowledgePartition::default()
                .with_partition_index(tp.partition)
                .with_acknowledgement_batches(batches),
        )
    }))
    .into_iter()
    .map(|(topic, partitions)| {
        AcknowledgeTopic::default()
            .with_topic_id(uuid(topic))
            .with_partitions(partitions)
    })
    .collect();
    let mut message = KafkaAckRequest::default()
        .with_group_id(Some(GroupId(StrBytes::from_string(
            request.group_id.clone(),
        ))))
        .with_member_id(Some(StrBytes::from_string(request.member_id.clone())))
        .with_share_session_epoch(request.share_session_epoch)
        .with_topics(topics);
    share_v2::set_acknowledge_is_renew_ack(&mut message, request.is_renew_ack);
    RequestKind::ShareAcknowledge(message)
}

/// A ShareGroupHeartbeat as the Kafka message.
pub fn share_group_heartbeat_request(request: &ShareGroupHeartbeatRequest) -> RequestKind {
    RequestKind::ShareGroupHeartbeat(
        KafkaHeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(request.group_id.clone())))
            .with_member_id(StrBytes::from_string(request.member_id.clone()))
            .with_member_epoch(request.member_epoch)
            .with_rack_id(request.rack_id.clone().map(StrBytes::from_string))
            .with_subscribed_topic_names(request.subscribed_topic_names.as_ref().map(|names| {
                names
                    .iter()
                    .map(|name| TopicName(StrBytes::from_string(name.clone())))
                    .collect()
            })),
    )
}

fn leader_of(leader_id: i32) -> Option<NodeId> {
    (leader_id >= 0).then_some(NodeId(leader_id))
}

/// A ShareFetch response for the engine.
pub fn share_fetch_response(response: &KafkaFetchResponse) -> ShareFetchResponse {
    let partitions = response
        .responses
        .iter()
        .flat_map(|topic| {
            topic
                .partitions
                .iter()
                .map(|partition| ShareFetchResponsePartition {
                    topic_id_partition: TopicIdPartition {
                        topic_id: topic_id(&topic.topic_id),
                        partition: partition.partition_index,
                    },
                    error: error_of(partition.error_code),
                    acknowledge_error: error_of(partition.acknowledge_error_code),
                    current_leader: leader_of(partition.current_leader.leader_id),
                    records: partition.records.clone().unwrap_or_default(),
                    acquired_records: partition
                        .acquired_records
                        .iter()
                        .map(|range| AcquiredRecords {
                            first_offset: range.first_offset,
                            last_offset: range.last_offset,
                            delivery_count: range.delivery_count,
                        })
                        .collect(),
                })
        })
        .collect();
    ShareFetchResponse {
        error: error_of(response.error_code),
        acquisition_lock_timeout_ms: response.acquisition_lock_timeout_ms,
        partitions,
    }
}

/// A ShareAcknowledge response for the engine.
pub fn share_acknowledge_response(response: &KafkaAckResponse) -> ShareAcknowledgeResponse {
    let partitions = response
        .responses
        .iter()
        .flat_map(|topic| {
            topic
                .partitions
                .iter()
                .map(|partition| ShareAcknowledgeResponsePartition {
                    topic_id_partition: TopicIdPartition {
                        topic_id: topic_id(&topic.topic_id),
                        partition: partition.partition_index,
                    },
                    error: error_of(partition.error_code),
                    current_leader: leader_of(partition.current_leader.leader_id),
                })
        })
        .collect();
    ShareAcknowledgeResponse {
        error: error_of(response.error_code),
        acquisition_lock_timeout_ms: share_v2::acknowledge_lock_timeout_ms(response),
        partitions,
    }
}

/// A ShareGroupHeartbeat response for the engine.
pub fn share_group_heartbeat_response(
    response: &KafkaHeartbeatResponse,
) -> ShareGroupHeartbeatResponse {
    ShareGroupHeartbeatResponse {
        error: error_of(response.error_code),
        member_epoch: response.member_epoch,
        heartbeat_interval_ms: response.heartbeat_interval_ms,
        assignment: response.assignment.as_ref().map(|assignment| {
            assignment
                .topic_partitions
                .iter()
                .map(|topic| AssignedTopic {
                    topic_id: topic_id(&topic.topic_id),
                    partitions: topic.partitions.clone(),
                })
                .collect()
        }),
    }
}

/// What a Metadata response says: topics (name, id, leaders) and broker addresses.
pub fn metadata_response(
    response: &MetadataResponse,
) -> (Vec<TopicMetadata>, Vec<(i32, SocketAddr)>) {
    let topics = response
        .topics
        .iter()
        .filter(|topic| topic.error_code == 0)
        .filter_map(|topic| {
            let name = topic.name.as_ref()?.0.to_string();
            Some(TopicMetadata {
                name,
                topic_id: topic_id(&topic.topic_id),
                partition_leaders: topic
                    .partitions
                    .iter()
                    .map(|p| (p.partition_index, leader_of(p.leader_id.0)))
                    .collect(),
            })
        })
        .collect();
    let brokers = response
        .brokers
        .iter()
        .filter_map(|broker| {
            let ip: IpAddr = broker.host.as_str().parse().ok()?;
            let port = u16::try_from(broker.port).ok()?;
            Some((broker.node_id.0, SocketAddr::new(ip, port)))
        })
        .collect();
    (topics, brokers)
}
