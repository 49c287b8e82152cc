//! The group coordinator's share-group RPCs on the wire (ShareGroupHeartbeat 76, ShareGroupDescribe 77,
//! AlterShareGroupOffsets 91, DeleteShareGroupOffsets 92, DescribeShareGroupOffsets 90) and their
//! translation to and from the [`crate::coordinator::group`] engine's shapes.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::{
    initialize_share_group_state_request, read_share_group_state_summary_request,
    share_group_describe_response, share_group_heartbeat_response, AlterShareGroupOffsetsRequest,
    AlterShareGroupOffsetsResponse, DeleteShareGroupOffsetsRequest,
    DeleteShareGroupOffsetsResponse, DescribeShareGroupOffsetsRequest,
    DescribeShareGroupOffsetsResponse, GroupId, InitializeShareGroupStateRequest,
    ReadShareGroupStateSummaryRequest, ShareGroupDescribeRequest, ShareGroupDescribeResponse,
    ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::coordinator::group::{
    InitializePartition, ShareGroupDescription, ShareGroupHeartbeatRequest as EngineHeartbeat,
    ShareGroupHeartbeatResponse as EngineHeartbeatResponse, TopicMetadata,
};
use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::ResponseError;

/// A request for the group coordinator's share-group side.
#[derive(Clone, Debug, PartialEq)]
pub enum GroupRequest {
    /// ShareGroupHeartbeat (76).
    Heartbeat(ShareGroupHeartbeatRequest),
    /// ShareGroupDescribe (77).
    Describe(ShareGroupDescribeRequest),
    /// AlterShareGroupOffsets (91).
    AlterOffsets(AlterShareGroupOffsetsRequest),
    /// DeleteShareGroupOffsets (92).
    DeleteOffsets(DeleteShareGroupOffsetsRequest),
    /// DescribeShareGroupOffsets (90).
    DescribeOffsets(DescribeShareGroupOffsetsRequest),
}

/// The answer to a [`GroupRequest`], same variant.
#[derive(Clone, Debug, PartialEq)]
pub enum GroupResponse {
    /// ShareGroupHeartbeat.
    Heartbeat(ShareGroupHeartbeatResponse),
    /// ShareGroupDescribe.
    Describe(ShareGroupDescribeResponse),
    /// AlterShareGroupOffsets.
    AlterOffsets(AlterShareGroupOffsetsResponse),
    /// DeleteShareGroupOffsets.
    DeleteOffsets(DeleteShareGroupOffsetsResponse),
    /// DescribeShareGroupOffsets.
    DescribeOffsets(DescribeShareGroupOffsetsResponse),
}

pub(crate) fn wire_uuid(topic_id: TopicId) -> uuid::Uuid {
    uuid::Uuid::from_u128(topic_id.0)
}

pub(crate) fn engine_topic_id(uuid: &uuid::Uuid) -> TopicId {
    TopicId(uuid.as_u128())
}

pub(crate) fn message(error: ResponseError) -> Option<StrBytes> {
    Some(StrBytes::from_string(error.to_string()))
}

/// The engine's heartbeat request.
pub(crate) fn engine_heartbeat(request: &ShareGroupHeartbeatRequest) -> EngineHeartbeat {
    EngineHeartbeat {
        group_id: request.group_id.0.to_string(),
        member_id: request.member_id.to_string(),
        member_epoch: request.member_epoch,
        rack_id: request.rack_id.as_ref().map(|rack| rack.to_string()),
        subscribed_topic_names: request
            .subscribed_topic_names
            .as_ref()
            .map(|names| names.iter().map(|name| name.0.to_string()).collect()),
    }
}

/// The wire heartbeat response.
pub(crate) fn wire_heartbeat_response(
    response: &EngineHeartbeatResponse,
) -> ShareGroupHeartbeatResponse {
    let assignment = response.assignment.as_ref().map(|by_topic| {
        share_group_heartbeat_response::Assignment::default().with_topic_partitions(
            by_topic
                .iter()
                .map(|(topic_id, partitions)| {
                    share_group_heartbeat_response::TopicPartitions::default()
                        .with_topic_id(wire_uuid(*topic_id))
                        .with_partitions(partitions.iter().copied().collect())
                })
                .collect(),
        )
    });
    ShareGroupHeartbeatResponse::default()
        .with_error_code(response.error.map_or(0, |error| error.code()))
        .with_error_message(response.error_message.clone().map(StrBytes::from_string))
        .with_member_id(
            response
                .member_id
                .as_ref()
                .map(|member_id| StrBytes::from_string(member_id.as_str().to_string())),
        )
        .with_member_epoch(response.member_epoch)
        .with_heartbeat_interval_ms(response.heartbeat_interval_ms)
        .with_assignment(assignment)
}

/// A heartbeat error response.
pub(crate) fn heartbeat_error(error: ResponseError) -> ShareGroupHeartbeatResponse {
    ShareGroupHeartbeatResponse::default()
        .with_error_code(error.code())
        .with_error_message(message(error))
}

/// One ShareGroupDescribe group.
pub(crate) fn described_group(
    group_id: &str,
    description: Result<ShareGroupDescription, ResponseError>,
    topics: &BTreeMap<String, TopicMetadata>,
) -> share_group_describe_response::DescribedGroup {
    let group = share_group_describe_response::DescribedGroup::default()
        .with_group_id(GroupId(StrBytes::from_string(group_id.to_string())));
    let description = match description {
        Ok(description) => description,
        Err(error) => {
            return group
                .with_error_code(error.code())
                .with_error_message(message(error))
                .with_group_state(StrBytes::from_static_str("Dead"))
        }
    };
    let name_of = |topic_id: TopicId| {
        topics
            .iter()
            .find(|(_, topic)| topic.topic_id == topic_id)
            .map(|(name, _)| name.clone())
            .unwrap_or_default()
    };
    let members = description
        .members
        .iter()
        .map(|described| {
            let assignment = share_group_describe_response::Assignment::default()
                .with_topic_partitions(
                    described
                        .assignment
                        .iter()
                        .map(|(topic_id, partitions)| {
                            share_group_describe_response::TopicPartitions::default()
                                .with_topic_id(wire_uuid(*topic_id))
                                .with_topic_name(TopicName(StrBytes::from_string(name_of(
                                    *topic_id,
                                ))))
                                .with_partitions(partitions.iter().copied().collect())
                        })
                        .collect(),
                );
            share_group_describe_response::Member::default()
                .with_member_id(StrBytes::from_string(
                    described.member.member_id.as_str().to_string(),
                ))
                .with_rack_id(described.member.rack_id.clone().map(StrBytes::from_string))
                .with_member_epoch(described.member.member_epoch)
                .with_subscribed_topic_names(
                    described
                        .member
                        .subscribed_topic_names
                        .iter()
                        .map(|name| TopicName(StrBytes::from_string(name.clone())))
                        .collect(),
                )
                .with_assignment(assignment)
        })
        .collect();
    group
        .with_group_state(StrBytes::from_static_str(description.state.name()))
        .with_group_epoch(description.group_epoch)
        .with_assignment_epoch(description.assignment_epoch)
        .with_assignor_name(StrBytes::from_static_str(description.assignor_name))
        .with_members(members)
}

/// InitializeShareGroupState for the persister, partitions grouped by topic.
pub(crate) fn initialize_request(
    group_id: &str,
    state_epoch: i32,
    partitions: &[InitializePartition],
) -> InitializeShareGroupStateRequest {
    let mut by_topic: BTreeMap<TopicId, Vec<(i32, i64)>> = BTreeMap::new();
    for partition in partitions {
        let tp = partition.topic_id_partition;
        by_topic
            .entry(tp.topic_id)
            .or_default()
            .push((tp.partition, partition.start_offset));
    }
    InitializeShareGroupStateRequest::default()
        .with_group_id(StrBytes::from_string(group_id.to_string()))
        .with_topics(
            by_topic
                .into_iter()
                .map(|(topic_id, partitions)| {
                    initialize_share_group_state_request::InitializeStateData::default()
                        .with_topic_id(wire_uuid(topic_id))
                        .with_partitions(
                            partitions
                                .into_iter()
                                .map(|(partition, start_offset)| {
                                    initialize_share_group_state_request::PartitionData::default()
                                        .with_partition(partition)
                                        .with_state_epoch(state_epoch)
                                        .with_start_offset(start_offset)
                                })
                                .collect(),
                        )
                })
                .collect(),
        )
}

/// DeleteShareGroupState for the persister.
pub(crate) fn delete_request(
    group_id: &str,
    partitions: &BTreeSet<TopicIdPartition>,
) -> kafka_protocol::messages::DeleteShareGroupStateRequest {
    use kafka_protocol::messages::delete_share_group_state_request as wire;
    let mut by_topic: BTreeMap<TopicId, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        by_topic.entry(tp.topic_id).or_default().push(tp.partition);
    }
    kafka_protocol::messages::DeleteShareGroupStateRequest::default()
        .with_group_id(StrBytes::from_string(group_id.to_string()))
        .with_topics(
            by_topic
                .into_iter()
                .map(|(topic_id, partitions)| {
                    wire::DeleteStateData::default()
                        .with_topic_id(wire_uuid(topic_id))
                        .with_partitions(
                            partitions
                                .into_iter()
                                .map(|p| wire::PartitionData::default().with_partition(p))
                                .collect(),
                        )
                })
                .collect(),
        )
}

/// ReadShareGroupStateSummary for the persister (leader epoch -1: the group coordinator knows none).
pub(crate) fn summary_request(
    group_id: &str,
    partitions: &BTreeSet<TopicIdPartition>,
) -> ReadShareGroupStateSummaryRequest {
    let mut by_topic: BTreeMap<TopicId, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        by_topic.entry(tp.topic_id).or_default().push(tp.partition);
    }
    ReadShareGroupStateSummaryRequest::default()
        .with_group_id(StrBytes::from_string(group_id.to_string()))
        .with_topics(
            by_topic
                .into_iter()
                .map(|(topic_id, partitions)| {
                    read_share_group_state_summary_request::ReadStateSummaryData::default()
                        .with_topic_id(wire_uuid(topic_id))
                        .with_partitions(
                            partitions
                                .into_iter()
                                .map(|p| {
                                    read_share_group_state_summary_request::PartitionData::default()
                                        .with_partition(p)
                                        .with_leader_epoch(-1)
                                })
                                .collect(),
                        )
                })
                .collect(),
        )
}

/// Error-only responses for each admin request kind.
pub(crate) fn alter_error(error: ResponseError) -> AlterShareGroupOffsetsResponse {
    AlterShareGroupOffsetsResponse::default()
        .with_error_code(error.code())
        .with_error_message(message(error))
}

/// See [`alter_error`].
pub(crate) fn delete_offsets_error(error: ResponseError) -> DeleteShareGroupOffsetsResponse {
    DeleteShareGroupOffsetsResponse::default()
        .with_error_code(error.code())
        .with_error_message(message(error))
}

/// The engine's view of an AlterShareGroupOffsets request.
pub(crate) fn alter_topics(
    request: &AlterShareGroupOffsetsRequest,
) -> Vec<crate::coordinator::group::AlterOffsetsTopic> {
    request
        .topics
        .iter()
        .map(|topic| crate::coordinator::group::AlterOffsetsTopic {
            topic_name: topic.topic_name.0.to_string(),
            partitions: topic
                .partitions
                .iter()
                .map(|p| (p.partition_index, p.start_offset))
                .collect(),
        })
        .collect()
}

/// The topic names of a DeleteShareGroupOffsets request.
pub(crate) fn delete_topic_names(request: &DeleteShareGroupOffsetsRequest) -> Vec<String> {
    request
        .topics
        .iter()
        .map(|topic| topic.topic_name.0.to_string())
        .collect()
}

/// The requested (topic, partitions) of one DescribeShareGroupOffsets group; `None` = all.
pub(crate) fn describe_topics(
    request: &DescribeShareGroupOffsetsRequest,
    group_index: usize,
) -> Option<Vec<(String, Vec<i32>)>> {
    request.groups[group_index].topics.as_ref().map(|topics| {
        topics
            .iter()
            .map(|topic| (topic.topic_name.0.to_string(), topic.partitions.clone()))
            .collect()
    })
}
