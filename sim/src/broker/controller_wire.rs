//! The broker ⇄ controller messages, both sides, in one place: BrokerRegistration, BrokerHeartbeat,
//! AlterPartition, CreateTopics (forwarded by brokers, as Kafka 4 does) and the metadata pull.
//!
//! **How metadata reaches brokers.** KRaft brokers replicate the `__cluster_metadata` log from the
//! controller with Fetch; kafka-protocol has no metadata-record types and Kafka 4 removed
//! UpdateMetadata/LeaderAndIsr, so this simulation uses a pull with a real message: every heartbeat
//! carries the broker's metadata version in `current_metadata_offset`; when the controller answers
//! `is_caught_up = false`, the broker sends a **MetadataRequest v12 (all topics) to the controller**,
//! which answers with the whole image: live brokers, topics with ids, and per partition leader, leader
//! epoch, replicas and ISR. The two values Metadata has no field for travel as tagged fields (real
//! Kafka bytes; clients ignore unknown tags): the image version ([`TAG_METADATA_VERSION`], top level) and
//! each partition's partition epoch ([`TAG_PARTITION_EPOCH`], which AlterPartition needs). A broker also
//! pulls after forwarding CreateTopics and after an AlterPartition it lost to a newer partition epoch.

use bytes::Bytes;
use kafka_protocol::messages::alter_partition_request::{
    PartitionData as AlterPartitionData, TopicData as AlterTopicData,
};
use kafka_protocol::messages::alter_partition_response::{
    PartitionData as AlterPartitionResultData, TopicData as AlterTopicResult,
};
use kafka_protocol::messages::broker_registration_request::Listener;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    AlterPartitionRequest as AlterPartitionMessage, AlterPartitionResponse, ApiKey,
    BrokerHeartbeatRequest, BrokerHeartbeatResponse, BrokerRegistrationRequest,
    BrokerRegistrationResponse, CreateTopicsRequest, CreateTopicsResponse, MetadataRequest,
    MetadataResponse, RequestKind, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::config::BrokerConfig;
use crate::cluster::controller::{
    AlterPartitionRequest, BrokerHeartbeat, BrokerImage, BrokerRegistration, Controller,
    MetadataImage, PartitionImage, TopicImage,
};
use crate::cluster::BrokerId;
use crate::ResponseError;

/// BrokerRegistration version the broker sends.
pub const REGISTRATION_VERSION: i16 = 0;
/// BrokerHeartbeat version the broker sends.
pub const HEARTBEAT_VERSION: i16 = 0;
/// AlterPartition version the broker sends (topic ids, plain ISR).
pub const ALTER_PARTITION_VERSION: i16 = 2;
/// Metadata version of the pull (flexible, topic ids).
pub const METADATA_PULL_VERSION: i16 = 12;
/// Tagged field (top level of the pull's MetadataResponse): the image version, 8 bytes big-endian.
pub const TAG_METADATA_VERSION: i32 = 10_000;
/// Tagged field (per partition of the pull's MetadataResponse): the partition epoch, 4 bytes big-endian.
pub const TAG_PARTITION_EPOCH: i32 = 10_001;
/// Kafka's `num.partitions` default, for CreateTopics with -1 partitions.
pub const DEFAULT_NUM_PARTITIONS: i32 = 1;
/// Kafka's `default.replication.factor` default, for CreateTopics with -1.
pub const DEFAULT_REPLICATION_FACTOR: i16 = 1;

// ---- broker side ----

/// The broker's registration.
pub fn registration_request(config: &BrokerConfig) -> BrokerRegistrationRequest {
    let incarnation =
        (u128::from(config.broker_id as u32) << 64) | u128::from(config.incarnation_id);
    BrokerRegistrationRequest::default()
        .with_broker_id(config.broker_id.into())
        .with_cluster_id(StrBytes::from_string(config.cluster_id.clone()))
        .with_incarnation_id(Uuid::from_u128(incarnation))
        .with_listeners(vec![Listener::default()
            .with_name(StrBytes::from_static_str("PLAINTEXT"))
            .with_host(StrBytes::from_string(
                config.advertised_addr.ip().to_string(),
            ))
            .with_port(config.advertised_addr.port())])
        .with_rack(config.rack.clone().map(StrBytes::from_string))
}

/// The broker's heartbeat.
pub fn heartbeat_request(
    broker_id: BrokerId,
    broker_epoch: i64,
    metadata_version: u64,
) -> BrokerHeartbeatRequest {
    BrokerHeartbeatRequest::default()
        .with_broker_id(broker_id.into())
        .with_broker_epoch(broker_epoch)
        .with_current_metadata_offset(metadata_version as i64)
}

/// The metadata pull.
pub fn metadata_pull_request() -> MetadataRequest {
    MetadataRequest::default().with_topics(None)
}

/// An AlterPartition message for the engine's request.
pub fn alter_partition_request(
    request: &AlterPartitionRequest,
    topic_id: u128,
) -> AlterPartitionMessage {
    AlterPartitionMessage::default()
        .with_broker_id(request.broker_id.into())
        .with_broker_epoch(request.broker_epoch)
        .with_topics(vec![AlterTopicData::default()
            .with_topic_id(Uuid::from_u128(topic_id))
            .with_partitions(vec![AlterPartitionData::default()
                .with_partition_index(request.partition)
                .with_leader_epoch(request.leader_epoch)
                .with_partition_epoch(request.partition_epoch)
                .with_new_isr(
                    request.new_isr.iter().map(|&b| b.into()).collect(),
                )])])
}

/// The controller's answer for one partition of our AlterPartition.
pub fn alter_partition_result(
    response: &AlterPartitionResponse,
    partition: i32,
    replicas: &[BrokerId],
) -> Result<PartitionImage, ResponseError> {
    check(response.error_code)?;
    let data = response
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == partition)
        .ok_or(ResponseError::UnknownServerError)?;
    check(data.error_code)?;
    Ok(PartitionImage {
        partition,
        replicas: replicas.to_vec(),
        isr: data.isr.iter().map(|b| b.0).collect(),
        leader: data.leader_id.0,
        leader_epoch: data.leader_epoch,
        partition_epoch: data.partition_epoch,
    })
}

/// The image in the pull's answer; `None` when it carries no version tag (not a controller's answer).
pub fn image_from_metadata(response: &MetadataResponse) -> Option<MetadataImage> {
    let version = tag_u64(response.unknown_tagged_fields.get(&TAG_METADATA_VERSION)?)?;
    let brokers = response
        .brokers
        .iter()
        .map(|b| {
            (
                b.node_id.0,
                BrokerImage {
                    broker_id: b.node_id.0,
                    host: b.host.to_string(),
                    port: b.port,
                    rack: b.rack.as_ref().map(|r| r.to_string()),
                    broker_epoch: -1,
                    fenced: false,
                },
            )
        })
        .collect();
    let mut topics = std::collections::BTreeMap::new();
    for topic in &response.topics {
        let Some(name) = topic.name.as_ref().map(|n| n.0.to_string()) else {
            continue;
        };
        let mut partitions: Vec<PartitionImage> = topic
            .partitions
            .iter()
            .map(|p| PartitionImage {
                partition: p.partition_index,
                replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                leader: p.leader_id.0,
                leader_epoch: p.leader_epoch,
                partition_epoch: p
                    .unknown_tagged_fields
                    .get(&TAG_PARTITION_EPOCH)
                    .and_then(tag_i32)
                    .unwrap_or(0),
            })
            .collect();
        partitions.sort_by_key(|p| p.partition);
        topics.insert(
            name.clone(),
            TopicImage {
                name,
                topic_id: topic.topic_id.as_u128(),
                partitions,
            },
        );
    }
    Some(MetadataImage {
        version,
        brokers,
        topics,
    })
}

// ---- controller side ----

/// The controller's answer to one request, or `None` for an API the controller does not serve (the
/// node closes the connection, as Kafka does for an API not enabled on the listener).
pub fn handle_controller_request(
    controller: &mut Controller,
    now_ms: u64,
    request: RequestKind,
) -> Option<ResponseKind> {
    Some(match request {
        RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(
            kafka_protocol::messages::ApiVersionsResponse::default().with_api_keys(
                [
                    ApiKey::ApiVersions,
                    ApiKey::BrokerRegistration,
                    ApiKey::BrokerHeartbeat,
                    ApiKey::AlterPartition,
                    ApiKey::CreateTopics,
                    ApiKey::Metadata,
                ]
                .iter()
                .map(|&key| super::api_versions::api_version_entry(key))
                .collect(),
            ),
        ),
        RequestKind::BrokerRegistration(r) => {
            let host = r
                .listeners
                .first()
                .map(|l| l.host.to_string())
                .unwrap_or_default();
            let port = r.listeners.first().map_or(0, |l| i32::from(l.port));
            let result = controller.handle_register_broker(
                now_ms,
                BrokerRegistration {
                    broker_id: r.broker_id.0,
                    incarnation_id: r.incarnation_id.as_u128() as u64,
                    host,
                    port,
                    rack: r.rack.map(|s| s.to_string()),
                },
            );
            let response = match result {
                Ok(epoch) => BrokerRegistrationResponse::default().with_broker_epoch(epoch),
                Err(e) => BrokerRegistrationResponse::default()
                    .with_error_code(e.code())
                    .with_broker_epoch(-1),
            };
            ResponseKind::BrokerRegistration(response)
        }
        RequestKind::BrokerHeartbeat(r) => {
            let result = controller.handle_heartbeat(
                now_ms,
                BrokerHeartbeat {
                    broker_id: r.broker_id.0,
                    broker_epoch: r.broker_epoch,
                    want_fence: r.want_fence,
                },
            );
            let response = match result {
                Ok(reply) => BrokerHeartbeatResponse::default()
                    .with_is_fenced(reply.is_fenced)
                    .with_is_caught_up(r.current_metadata_offset >= reply.metadata_version as i64),
                Err(e) => BrokerHeartbeatResponse::default()
                    .with_error_code(e.code())
                    .with_is_fenced(true),
            };
            ResponseKind::BrokerHeartbeat(response)
        }
        RequestKind::AlterPartition(r) => {
            ResponseKind::AlterPartition(alter_partition(controller, now_ms, &r))
        }
        RequestKind::CreateTopics(r) => {
            ResponseKind::CreateTopics(create_topics(controller, now_ms, &r))
        }
        RequestKind::Metadata(_) => ResponseKind::Metadata(image_to_metadata(controller.image())),
        _ => return None,
    })
}

fn alter_partition(
    controller: &mut Controller,
    now_ms: u64,
    request: &AlterPartitionMessage,
) -> AlterPartitionResponse {
    let mut topics = Vec::new();
    for topic in &request.topics {
        let topic_id = topic.topic_id.as_u128();
        let name = controller
            .image()
            .topics
            .values()
            .find(|t| t.topic_id == topic_id)
            .map(|t| t.name.clone());
        let mut results = Vec::new();
        for p in &topic.partitions {
            let result = match &name {
                None => Err(ResponseError::UnknownTopicId),
                Some(name) => controller.handle_alter_partition(
                    now_ms,
                    &AlterPartitionRequest {
                        broker_id: request.broker_id.0,
                        broker_epoch: request.broker_epoch,
                        topic: name.clone(),
                        partition: p.partition_index,
                        leader_epoch: p.leader_epoch,
                        partition_epoch: p.partition_epoch,
                        new_isr: p.new_isr.iter().map(|b| b.0).collect(),
                    },
                ),
            };
            let data = AlterPartitionResultData::default().with_partition_index(p.partition_index);
            results.push(match result {
                Ok(state) => data
                    .with_leader_id(state.leader.into())
                    .with_leader_epoch(state.leader_epoch)
                    .with_isr(state.isr.iter().map(|&b| b.into()).collect())
                    .with_partition_epoch(state.partition_epoch),
                Err(e) => data.with_error_code(e.code()),
            });
        }
        topics.push(
            AlterTopicResult::default()
                .with_topic_id(topic.topic_id)
                .with_partitions(results),
        );
    }
    AlterPartitionResponse::default().with_topics(topics)
}

fn create_topics(
    controller: &mut Controller,
    now_ms: u64,
    request: &CreateTopicsRequest,
) -> CreateTopicsResponse {
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let partitions = if t.num_partitions == -1 {
                DEFAULT_NUM_PARTITIONS
            } else {
                t.num_partitions
            };
            let replication_factor = if t.replication_factor == -1 {
                DEFAULT_REPLICATION_FACTOR
            } else {
                t.replication_factor
            };
            let result = CreatableTopicResult::default()
                .with_name(t.name.clone())
                .with_num_partitions(partitions)
                .with_replication_factor(replication_factor);
            if request.validate_only || !t.assignments.is_empty() {
                // Not modelled: validation-only requests and manual replica assignments.
                return result
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(StrBytes::from_static_str(
                        "validate_only and manual assignments are not supported",
                    )));
            }
            match controller.handle_create_topic(now_ms, &t.name.0, partitions, replication_factor)
            {
                Ok(topic_id) => result.with_topic_id(Uuid::from_u128(topic_id)),
                Err(e) => result.with_error_code(e.code()),
            }
        })
        .collect();
    CreateTopicsResponse::default().with_topics(topics)
}

/// The whole image as the pull's MetadataResponse (see the module doc).
pub fn image_to_metadata(image: &MetadataImage) -> MetadataResponse {
    let brokers = image
        .live_brokers()
        .into_iter()
        .map(|b| {
            MetadataResponseBroker::default()
                .with_node_id(b.broker_id.into())
                .with_host(StrBytes::from_string(b.host.clone()))
                .with_port(b.port)
                .with_rack(b.rack.clone().map(StrBytes::from_string))
        })
        .collect();
    let topics = image
        .topics
        .values()
        .map(|t| {
            MetadataResponseTopic::default()
                .with_name(Some(StrBytes::from_string(t.name.clone()).into()))
                .with_topic_id(Uuid::from_u128(t.topic_id))
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            let mut partition = MetadataResponsePartition::default()
                                .with_partition_index(p.partition)
                                .with_leader_id(p.leader.into())
                                .with_leader_epoch(p.leader_epoch)
                                .with_replica_nodes(p.replicas.iter().map(|&b| b.into()).collect())
                                .with_isr_nodes(p.isr.iter().map(|&b| b.into()).collect());
                            partition.unknown_tagged_fields.insert(
                                TAG_PARTITION_EPOCH,
                                Bytes::copy_from_slice(&p.partition_epoch.to_be_bytes()),
                            );
                            partition
                        })
                        .collect(),
                )
        })
        .collect();
    let mut response = MetadataResponse::default()
        .with_brokers(brokers)
        .with_topics(topics);
    response.unknown_tagged_fields.insert(
        TAG_METADATA_VERSION,
        Bytes::copy_from_slice(&image.version.to_be_bytes()),
    );
    response
}

/// Ok for code 0, else the error (an unknown code is UNKNOWN_SERVER_ERROR).
pub fn check(code: i16) -> Result<(), ResponseError> {
    if code == 0 {
        return Ok(());
    }
    Err(ResponseError::try_from_code(code).unwrap_or(ResponseError::UnknownServerError))
}

fn tag_u64(bytes: &Bytes) -> Option<u64> {
    let array: [u8; 8] = bytes.as_ref().try_into().ok()?;
    Some(u64::from_be_bytes(array))
}

fn tag_i32(bytes: &Bytes) -> Option<i32> {
    let array: [u8; 4] = bytes.as_ref().try_into().ok()?;
    Some(i32::from_be_bytes(array))
}
