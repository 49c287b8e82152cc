//! ShareFetch / ShareAcknowledge version 2 (spec 2.3): v2 requests and responses round-trip through the
//! real framing, the new fields sit where Kafka's schema puts them, and v1 is unchanged.

use bytes::Bytes;
use kafka_protocol::messages::share_acknowledge_request::{
    AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch as AckBatch,
};
use kafka_protocol::messages::share_acknowledge_response::{
    PartitionData as AckPartitionData, ShareAcknowledgeTopicResponse,
};
use kafka_protocol::messages::share_fetch_request::{
    AcknowledgementBatch, FetchPartition, FetchTopic, ForgottenTopic,
};
use kafka_protocol::messages::share_fetch_response::{
    AcquiredRecords, PartitionData, ShareFetchableTopicResponse,
};
use kafka_protocol::messages::{
    ApiKey, GroupId, RequestHeader, RequestKind, ResponseKind, ShareAcknowledgeRequest,
    ShareAcknowledgeResponse, ShareFetchRequest, ShareFetchResponse,
};
use kafka_protocol::protocol::StrBytes;
use sharesim_sim::net::share_v2;
use sharesim_sim::net::{decode_request, decode_response, encode_request, encode_response};
use uuid::Uuid;

fn header(api_key: ApiKey, version: i16) -> RequestHeader {
    RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(42)
        .with_client_id(Some(StrBytes::from_static_str("consumer-1")))
}

fn topic() -> Uuid {
    Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210)
}

fn share_fetch() -> ShareFetchRequest {
    ShareFetchRequest::default()
        .with_group_id(Some(GroupId(StrBytes::from_static_str("g1"))))
        .with_member_id(Some(StrBytes::from_static_str("member-a")))
        .with_share_session_epoch(3)
        .with_max_wait_ms(500)
        .with_min_bytes(1)
        .with_max_records(500)
        .with_batch_size(500)
        .with_topics(vec![FetchTopic::default()
            .with_topic_id(topic())
            .with_partitions(vec![FetchPartition::default()
                .with_partition_index(1)
                .with_acknowledgement_batches(vec![
                    AcknowledgementBatch::default()
                        .with_first_offset(10)
                        .with_last_offset(12)
                        .with_acknowledge_types(vec![1, 2, 4]),
                ])])])
        .with_forgotten_topics_data(vec![ForgottenTopic::default()
            .with_topic_id(topic())
            .with_partitions(vec![0])])
}

fn share_acknowledge() -> ShareAcknowledgeRequest {
    ShareAcknowledgeRequest::default()
        .with_group_id(Some(GroupId(StrBytes::from_static_str("g1"))))
        .with_member_id(Some(StrBytes::from_static_str("member-a")))
        .with_share_session_epoch(-1)
        .with_topics(vec![AcknowledgeTopic::default()
            .with_topic_id(topic())
            .with_partitions(vec![AcknowledgePartition::default()
                .with_partition_index(0)
                .with_acknowledgement_batches(vec![AckBatch::default()
                    .with_first_offset(0)
                    .with_last_offset(4)
                    .with_acknowledge_types(vec![4])])])])
}

fn share_acknowledge_response() -> ShareAcknowledgeResponse {
    ShareAcknowledgeResponse::default()
        .with_error_message(Some(StrBytes::from_static_str("x")))
        .with_responses(vec![ShareAcknowledgeTopicResponse::default()
            .with_topic_id(topic())
            .with_partitions(vec![AckPartitionData::default()
                .with_partition_index(0)
                .with_error_code(121)])])
}

fn round_trip_request(request: RequestKind, api_key: ApiKey, version: i16) -> RequestKind {
    let frame = encode_request(&header(api_key, version), &request).unwrap();
    let decoded = decode_request(&frame).unwrap();
    assert_eq!(decoded.header.request_api_version, version);
    assert_eq!(decoded.header.correlation_id, 42);
    decoded.request
}

/// Spec 2.3: ShareFetch v2 carries ShareAcquireMode and IsRenewAck; everything else round-trips.
#[test]
fn share_fetch_v2_round_trips_with_acquire_mode_and_renew_flag() {
    for (mode, renew) in [(0, false), (1, false), (0, true), (1, true)] {
        let mut request = share_fetch();
        share_v2::set_share_acquire_mode(&mut request, mode);
        share_v2::set_fetch_is_renew_ack(&mut request, renew);
        let RequestKind::ShareFetch(decoded) = round_trip_request(
            RequestKind::ShareFetch(request.clone()),
            ApiKey::ShareFetch,
            2,
        ) else {
            panic!("not a ShareFetch");
        };
        assert_eq!(share_v2::share_acquire_mode(&decoded), mode);
        assert_eq!(share_v2::fetch_is_renew_ack(&decoded), renew);
        assert_eq!(decoded, request);
    }
}

/// Spec 2.3: v1 is unchanged: the v2 fields are not sent and the body equals the crate's own v1 encoding.
#[test]
fn share_fetch_v1_ignores_v2_fields() {
    let mut request = share_fetch();
    share_v2::set_share_acquire_mode(&mut request, 1);
    share_v2::set_fetch_is_renew_ack(&mut request, true);
    let RequestKind::ShareFetch(decoded) =
        round_trip_request(RequestKind::ShareFetch(request), ApiKey::ShareFetch, 1)
    else {
        panic!("not a ShareFetch");
    };
    assert_eq!(decoded, share_fetch());
    assert_eq!(share_v2::share_acquire_mode(&decoded), 0);
    assert!(!share_v2::fetch_is_renew_ack(&decoded));
}

/// Spec 2.3: a v2 body is the v1 body with [mode, renew] right after BatchSize (schema order).
#[test]
fn share_fetch_v2_fields_follow_batch_size_on_the_wire() {
    let mut request = share_fetch();
    share_v2::set_share_acquire_mode(&mut request, 1);
    share_v2::set_fetch_is_renew_ack(&mut request, true);
    let v1 = encode_request(
        &header(ApiKey::ShareFetch, 1),
        &RequestKind::ShareFetch(request.clone()),
    );
    let v2 = encode_request(
        &header(ApiKey::ShareFetch, 2),
        &RequestKind::ShareFetch(request),
    );
    let (v1, v2) = (v1.unwrap(), v2.unwrap());
    assert_eq!(v2.len(), v1.len() + 2);
    // Size(4) + header v2: key(2) version(2) correlation(4) client id (2 + 10) tags(1) = 25; then the
    // body: group "g1" (1 + 2), member "member-a" (1 + 8), six int32.
    let at = 25 + 3 + 9 + 24;
    assert_eq!(&v2[at..at + 2], &[1, 1]);
    assert_eq!(&v2[at + 2..], &v1[at..]);
}

/// Spec 2.3: ShareAcknowledge v2 carries IsRenewAck after ShareSessionEpoch; v1 does not.
#[test]
fn share_acknowledge_request_v2_round_trips_and_v1_still_works() {
    let mut request = share_acknowledge();
    share_v2::set_acknowledge_is_renew_ack(&mut request, true);
    let RequestKind::ShareAcknowledge(decoded) = round_trip_request(
        RequestKind::ShareAcknowledge(request.clone()),
        ApiKey::ShareAcknowledge,
        2,
    ) else {
        panic!("not a ShareAcknowledge");
    };
    assert!(share_v2::acknowledge_is_renew_ack(&decoded));
    assert_eq!(decoded, request);
    let RequestKind::ShareAcknowledge(decoded) = round_trip_request(
        RequestKind::ShareAcknowledge(request),
        ApiKey::ShareAcknowledge,
        1,
    ) else {
        panic!("not a ShareAcknowledge");
    };
    assert_eq!(decoded, share_acknowledge());
}

/// Spec 1.4: the ShareAcknowledge response carries AcquisitionLockTimeoutMs from v2 only.
#[test]
fn share_acknowledge_response_v2_carries_lock_timeout() {
    let mut response = share_acknowledge_response();
    share_v2::set_acknowledge_lock_timeout_ms(&mut response, 30_000);
    let frame = encode_response(2, 9, &ResponseKind::ShareAcknowledge(response.clone())).unwrap();
    let (header, decoded) = decode_response(&frame, ApiKey::ShareAcknowledge, 2).unwrap();
    assert_eq!(header.correlation_id, 9);
    let ResponseKind::ShareAcknowledge(decoded) = decoded else {
        panic!("not a ShareAcknowledge response");
    };
    assert_eq!(
        share_v2::acknowledge_lock_timeout_ms(&decoded),
        Some(30_000)
    );
    assert_eq!(decoded, response);

    let frame = encode_response(1, 9, &ResponseKind::ShareAcknowledge(response)).unwrap();
    let (_, decoded) = decode_response(&frame, ApiKey::ShareAcknowledge, 1).unwrap();
    let ResponseKind::ShareAcknowledge(decoded) = decoded else {
        panic!("not a ShareAcknowledge response");
    };
    assert_eq!(share_v2::acknowledge_lock_timeout_ms(&decoded), None);
    assert_eq!(decoded, share_acknowledge_response());
}

/// Spec 2.3: ShareFetchResponse v2 is v1 on the wire and round-trips at both versions.
#[test]
fn share_fetch_response_round_trips_at_v1_and_v2() {
    let response = ShareFetchResponse::default()
        .with_acquisition_lock_timeout_ms(30_000)
        .with_responses(vec![ShareFetchableTopicResponse::default()
            .with_topic_id(topic())
            .with_partitions(vec![PartitionData::default()
                .with_partition_index(0)
                .with_records(Some(Bytes::from_static(b"not really a batch")))
                .with_acquired_records(vec![AcquiredRecords::default()
                    .with_first_offset(0)
                    .with_last_offset(9)
                    .with_delivery_count(2)])])]);
    for version in 1..=2 {
        let frame =
            encode_response(version, 5, &ResponseKind::ShareFetch(response.clone())).unwrap();
        let (_, decoded) = decode_response(&frame, ApiKey::ShareFetch, version).unwrap();
        assert_eq!(
            decoded,
            ResponseKind::ShareFetch(response.clone()),
            "v{version}"
        );
    }
}

/// Bad input: v3 is refused, and a v2 body with a non-boolean IsRenewAck closes the connection.
#[test]
fn share_rpcs_refuse_v3_and_malformed_v2() {
    assert!(encode_request(
        &header(ApiKey::ShareFetch, 3),
        &RequestKind::ShareFetch(share_fetch())
    )
    .is_err());
    let mut request = share_acknowledge();
    share_v2::set_acknowledge_is_renew_ack(&mut request, true);
    let frame = encode_request(
        &header(ApiKey::ShareAcknowledge, 2),
        &RequestKind::ShareAcknowledge(request),
    )
    .unwrap();
    let mut bytes = frame.to_vec();
    // Header: 4 + 2 + 2 + 4 + 12 + 1 = 25; group (3), member (9), epoch (4): IsRenewAck at 41.
    assert_eq!(bytes[41], 1);
    bytes[41] = 7;
    assert!(decode_request(&Bytes::from(bytes)).is_err());
    for cut in 0..frame.len() {
        let _ = decode_request(&frame.slice(..cut));
    }
}
