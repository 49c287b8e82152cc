//! Wire round trips of the v1 fields (spec 3.2, 5.3; KIP-1226): through the real framing, at the schema's
//! positions, and absent (-1) at v0.

use bytes::Bytes;
use kafka_protocol::messages::describe_share_group_offsets_response::{
    DescribeShareGroupOffsetsResponseGroup, DescribeShareGroupOffsetsResponsePartition,
    DescribeShareGroupOffsetsResponseTopic,
};
use kafka_protocol::messages::read_share_group_state_summary_response::{
    PartitionResult, ReadStateSummaryResult,
};
use kafka_protocol::messages::write_share_group_state_request::{
    PartitionData, StateBatch, WriteStateData,
};
use kafka_protocol::messages::{
    ApiKey, DescribeShareGroupOffsetsResponse, GroupId, ReadShareGroupStateSummaryResponse,
    RequestHeader, RequestKind, ResponseKind, TopicName, WriteShareGroupStateRequest,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::*;
use crate::net::{decode_request, decode_response, encode_request, encode_response};

fn topic() -> Uuid {
    Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210)
}

fn header(api_key: ApiKey, version: i16) -> RequestHeader {
    RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("broker-1")))
}

/// Two topics, the first with two partitions (the second with state batches and a tagged field), so the
/// walker's per-partition splicing is exercised past the first entry.
fn write_request(counts: [i32; 3]) -> WriteShareGroupStateRequest {
    let partition = |index: i32, count: i32| {
        let mut p = PartitionData::default()
            .with_partition(index)
            .with_state_epoch(2)
            .with_leader_epoch(5)
            .with_start_offset(10 + i64::from(index))
            .with_state_batches(vec![
                StateBatch::default()
                    .with_first_offset(10)
                    .with_last_offset(12)
                    .with_delivery_state(2)
                    .with_delivery_count(1),
                StateBatch::default()
                    .with_first_offset(13)
                    .with_last_offset(13)
                    .with_delivery_state(0)
                    .with_delivery_count(3),
            ]);
        set_write_delivery_complete_count(&mut p, count);
        p
    };
    let mut second = partition(1, counts[1]);
    second
        .unknown_tagged_fields
        .insert(3, Bytes::from_static(b"xy"));
    WriteShareGroupStateRequest::default()
        .with_group_id(StrBytes::from_static_str("g1"))
        .with_topics(vec![
            WriteStateData::default()
                .with_topic_id(topic())
                .with_partitions(vec![partition(0, counts[0]), second]),
            WriteStateData::default()
                .with_topic_id(Uuid::from_u128(9))
                .with_partitions(vec![partition(4, counts[2])]),
        ])
}

fn round_trip_request(request: &RequestKind, api_key: ApiKey, version: i16) -> RequestKind {
    let frame = encode_request(&header(api_key, version), request).unwrap();
    let decoded = decode_request(&frame).unwrap();
    assert_eq!(decoded.header.request_api_version, version);
    decoded.request
}

/// Spec 3.2: WriteShareGroupState v1 carries each partition's DeliveryCompleteCount; v0 drops it (-1).
#[test]
fn write_request_v1_round_trips_the_delivery_complete_count() {
    let request = write_request([5, 0, 17]);
    let RequestKind::WriteShareGroupState(decoded) = round_trip_request(
        &RequestKind::WriteShareGroupState(request.clone()),
        ApiKey::WriteShareGroupState,
        1,
    ) else {
        panic!("not a WriteShareGroupState");
    };
    assert_eq!(decoded, request);
    let counts: Vec<i32> = decoded
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .map(write_delivery_complete_count)
        .collect();
    assert_eq!(counts, vec![5, 0, 17]);

    let RequestKind::WriteShareGroupState(decoded) = round_trip_request(
        &RequestKind::WriteShareGroupState(request),
        ApiKey::WriteShareGroupState,
        0,
    ) else {
        panic!("not a WriteShareGroupState");
    };
    assert!(decoded
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .all(|p| write_delivery_complete_count(p) == -1));
}

/// Spec 3.2: the v1 count sits right after StartOffset: the body is v0's plus 4 bytes per partition.
#[test]
fn write_request_v1_field_follows_start_offset() {
    let request = write_request([0x0102_0304, 0, 0]);
    let mut v0 = BytesMut::new();
    encode_write_request(&request, 0, &mut v0).unwrap();
    let mut v1 = BytesMut::new();
    encode_write_request(&request, 1, &mut v1).unwrap();
    assert_eq!(v1.len(), v0.len() + 3 * 4);
    // GroupId "g1" (1 + 2), topics count (1), TopicId (16), partitions count (1), then Partition,
    // StateEpoch, LeaderEpoch (3 x 4) and StartOffset (8).
    let at = 3 + 1 + 16 + 1 + 12 + 8;
    assert_eq!(&v1[..at], &v0[..at]);
    assert_eq!(&v1[at..at + 4], &[1, 2, 3, 4]);
    assert_eq!(&v1[at + 4..at + 8], &v0[at..at + 4]);
}

/// Spec 5.3: the summary's DeliveryCompleteCount round-trips at v1; v0 answers -1; an unset count is -1.
#[test]
fn summary_response_v1_round_trips_the_delivery_complete_count() {
    let partition = |index: i32, count: Option<i32>, message: Option<&'static str>| {
        let mut p = PartitionResult::default()
            .with_partition(index)
            .with_error_message(message.map(StrBytes::from_static_str))
            .with_state_epoch(3)
            .with_leader_epoch(4)
            .with_start_offset(100);
        if let Some(count) = count {
            set_summary_delivery_complete_count(&mut p, count);
        }
        p
    };
    let response = ReadShareGroupStateSummaryResponse::default().with_results(vec![
        ReadStateSummaryResult::default()
            .with_topic_id(topic())
            .with_partitions(vec![
                partition(0, Some(42), None),
                partition(1, None, Some("boom")),
            ]),
    ]);
    let frame = encode_response(
        1,
        7,
        &ResponseKind::ReadShareGroupStateSummary(response.clone()),
    )
    .unwrap();
    let (_, decoded) = decode_response(&frame, ApiKey::ReadShareGroupStateSummary, 1).unwrap();
    let ResponseKind::ReadShareGroupStateSummary(decoded) = decoded else {
        panic!("not a summary");
    };
    let partitions = &decoded.results[0].partitions;
    assert_eq!(summary_delivery_complete_count(&partitions[0]), 42);
    assert_eq!(summary_delivery_complete_count(&partitions[1]), -1);
    assert_eq!(partitions[1].error_message.as_deref(), Some("boom"));
    assert_eq!(partitions[0].start_offset, 100);

    let frame = encode_response(0, 7, &ResponseKind::ReadShareGroupStateSummary(response)).unwrap();
    let (_, decoded) = decode_response(&frame, ApiKey::ReadShareGroupStateSummary, 0).unwrap();
    let ResponseKind::ReadShareGroupStateSummary(decoded) = decoded else {
        panic!("not a summary");
    };
    assert_eq!(
        summary_delivery_complete_count(&decoded.results[0].partitions[0]),
        -1
    );
}

fn describe_response(lags: [i64; 2]) -> DescribeShareGroupOffsetsResponse {
    let partition = |index: i32, lag: i64| {
        let mut p = DescribeShareGroupOffsetsResponsePartition::default()
            .with_partition_index(index)
            .with_start_offset(5)
            .with_leader_epoch(1);
        set_describe_lag(&mut p, lag);
        p
    };
    DescribeShareGroupOffsetsResponse::default().with_groups(vec![
        DescribeShareGroupOffsetsResponseGroup::default()
            .with_group_id(GroupId(StrBytes::from_static_str("g1")))
            .with_topics(vec![DescribeShareGroupOffsetsResponseTopic::default()
                .with_topic_name(TopicName(StrBytes::from_static_str("orders")))
                .with_topic_id(topic())
                .with_partitions(vec![partition(0, lags[0]), partition(1, lags[1])])]),
        DescribeShareGroupOffsetsResponseGroup::default()
            .with_group_id(GroupId(StrBytes::from_static_str("gone")))
            .with_error_code(69)
            .with_error_message(Some(StrBytes::from_static_str("no such group"))),
    ])
}

/// Spec 5.3: DescribeShareGroupOffsets v1 carries Lag (after LeaderEpoch); v0 decodes it as -1.
#[test]
fn describe_offsets_response_v1_round_trips_the_lag() {
    let response = describe_response([1_000_000_000_007, -1]);
    let frame = encode_response(
        1,
        7,
        &ResponseKind::DescribeShareGroupOffsets(response.clone()),
    )
    .unwrap();
    let (_, decoded) = decode_response(&frame, ApiKey::DescribeShareGroupOffsets, 1).unwrap();
    let ResponseKind::DescribeShareGroupOffsets(decoded) = decoded else {
        panic!("not a DescribeShareGroupOffsets response");
    };
    assert_eq!(decoded, response);
    let lags: Vec<i64> = decoded.groups[0].topics[0]
        .partitions
        .iter()
        .map(describe_lag)
        .collect();
    assert_eq!(lags, vec![1_000_000_000_007, -1]);
    assert_eq!(decoded.groups[1].error_code, 69);

    let mut v0 = BytesMut::new();
    encode_describe_offsets_response(&response, 0, &mut v0).unwrap();
    let mut v1 = BytesMut::new();
    encode_describe_offsets_response(&response, 1, &mut v1).unwrap();
    assert_eq!(v1.len(), v0.len() + 2 * 8);
    let mut v0 = v0.freeze();
    let decoded = decode_describe_offsets_response(&mut v0, 0).unwrap();
    assert_eq!(describe_lag(&decoded.groups[0].topics[0].partitions[0]), -1);
}

/// Spec 5.3: the request halves are unchanged at v1, and the v1 ranges are what the transport accepts.
#[test]
fn v1_requests_of_the_read_side_are_v0_bytes() {
    use kafka_protocol::messages::{
        DescribeShareGroupOffsetsRequest, ReadShareGroupStateSummaryRequest,
    };
    for key in [
        ApiKey::WriteShareGroupState,
        ApiKey::ReadShareGroupStateSummary,
        ApiKey::DescribeShareGroupOffsets,
    ] {
        assert_eq!(version_range(key).max, 1);
    }
    assert_eq!(version_range(ApiKey::ReadShareGroupState).max, 0);
    let summary = RequestKind::ReadShareGroupStateSummary(
        ReadShareGroupStateSummaryRequest::default().with_group_id(StrBytes::from_static_str("g1")),
    );
    assert_eq!(
        round_trip_request(&summary, ApiKey::ReadShareGroupStateSummary, 1),
        summary
    );
    let describe =
        RequestKind::DescribeShareGroupOffsets(DescribeShareGroupOffsetsRequest::default());
    assert_eq!(
        round_trip_request(&describe, ApiKey::DescribeShareGroupOffsets, 1),
        describe
    );
}

/// Bad input: a truncated v1 body is refused (no panic).
#[test]
fn truncated_v1_bodies_are_refused() {
    let mut v1 = BytesMut::new();
    encode_write_request(&write_request([1, 2, 3]), 1, &mut v1).unwrap();
    for cut in [0, 5, 30, v1.len() - 1] {
        let mut body = Bytes::copy_from_slice(&v1[..cut]);
        assert!(decode_write_request(&mut body, 1).is_none(), "cut at {cut}");
    }
    let mut v1 = BytesMut::new();
    encode_describe_offsets_response(&describe_response([3, 4]), 1, &mut v1).unwrap();
    let mut body = Bytes::copy_from_slice(&v1[..v1.len() - 3]);
    assert!(decode_describe_offsets_response(&mut body, 1).is_none());
}
