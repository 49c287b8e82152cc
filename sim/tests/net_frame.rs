//! Kafka framing: real messages round-trip with their header versions; bad frames get Kafka's answer and
//! never a panic (random, truncated and bit-flipped bytes).

use bytes::Bytes;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, RequestHeader, RequestKind,
    ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use proptest::prelude::*;
use sharesim_sim::net::{
    decode_request, decode_response, encode_request, encode_response, RejectionAnswer,
};
use sharesim_sim::ResponseError;

fn header(api_key: ApiKey, version: i16, correlation_id: i32) -> RequestHeader {
    RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("producer-1")))
}

fn metadata_request() -> RequestKind {
    RequestKind::Metadata(MetadataRequest::default().with_topics(Some(
        vec![MetadataRequestTopic::default().with_name(Some(
            TopicName(StrBytes::from_static_str("orders")),
        ))],
    )))
}

/// Every Metadata version round-trips, with the header version kafka-protocol assigns to it.
#[test]
fn metadata_round_trips_at_every_version() {
    for version in 1..=12 {
        let frame =
            encode_request(&header(ApiKey::Metadata, version, 7), &metadata_request()).unwrap();
        let decoded = decode_request(&frame).unwrap();
        assert_eq!(decoded.header.correlation_id, 7);
        assert_eq!(decoded.header.client_id.as_deref(), Some("producer-1"));
        assert_eq!(decoded.request, metadata_request(), "v{version}");
    }
}

/// Responses round-trip; ApiVersions responses always use header v0.
#[test]
fn api_versions_response_round_trips() {
    for version in 0..=4 {
        // v0 has no throttle time.
        let throttle_time_ms = if version == 0 { 0 } else { 3 };
        let response = ResponseKind::ApiVersions(
            ApiVersionsResponse::default().with_throttle_time_ms(throttle_time_ms),
        );
        let frame = encode_response(version, 11, &response).unwrap();
        let (header, decoded) = decode_response(&frame, ApiKey::ApiVersions, version).unwrap();
        assert_eq!(header.correlation_id, 11);
        assert_eq!(decoded, response);
    }
}

/// Encoding refuses a version outside the API's range and a header naming another API.
#[test]
fn encode_refuses_bad_versions() {
    let request = RequestKind::ApiVersions(ApiVersionsRequest::default());
    assert!(encode_request(&header(ApiKey::ApiVersions, 9, 1), &request).is_err());
    assert!(encode_request(&header(ApiKey::Metadata, 4, 1), &request).is_err());
}

/// Kafka (KIP-511): ApiVersions above the highest version is answered with an ApiVersionsResponse v0
/// carrying UNSUPPORTED_VERSION and the supported ranges.
#[test]
fn too_new_api_versions_gets_unsupported_version_response() {
    let frame = raw_frame(ApiKey::ApiVersions as i16, 99, 5, &[]);
    let rejection = decode_request(&frame).unwrap_err();
    assert_eq!(rejection.error, ResponseError::UnsupportedVersion);
    let RejectionAnswer::Respond(answer) = rejection.answer else {
        panic!("expected a response");
    };
    let (header, response) = decode_response(&answer, ApiKey::ApiVersions, 99).unwrap();
    assert_eq!(header.correlation_id, 5);
    let ResponseKind::ApiVersions(response) = response else {
        panic!("expected ApiVersions");
    };
    assert_eq!(
        response.error_code,
        ResponseError::UnsupportedVersion.code()
    );
    let own = response
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::ApiVersions as i16)
        .unwrap();
    assert_eq!((own.min_version, own.max_version), (0, 4));
}

/// Kafka: an unknown API key, an unsupported version of another API and a malformed body close the
/// connection (InvalidRequestException while parsing), with no response.
#[test]
fn unparseable_requests_close_the_connection() {
    let cases = [
        (raw_frame(999, 0, 1, &[]), ResponseError::InvalidRequest),
        (
            raw_frame(ApiKey::Metadata as i16, 99, 1, &[]),
            ResponseError::UnsupportedVersion,
        ),
        (
            raw_frame(ApiKey::Produce as i16, -1, 1, &[]),
            ResponseError::UnsupportedVersion,
        ),
        (
            raw_frame(ApiKey::Metadata as i16, 4, 1, &[0, 0]),
            ResponseError::InvalidRequest,
        ),
    ];
    for (frame, error) in cases {
        let rejection = decode_request(&frame).unwrap_err();
        assert_eq!(rejection.error, error);
        assert_eq!(rejection.answer, RejectionAnswer::CloseConnection);
    }
}

/// A count far beyond the frame (2^31 topics) is refused before kafka-protocol would allocate for it.
#[test]
fn huge_collection_count_is_refused() {
    // Metadata v4: header v1 (client id -1), then topics: INT32 count.
    let mut body = vec![0xFF, 0xFF];
    body.extend_from_slice(&i32::MAX.to_be_bytes());
    let rejection = decode_request(&raw_frame(ApiKey::Metadata as i16, 4, 1, &body)).unwrap_err();
    assert_eq!(rejection.error, ResponseError::InvalidRequest);
}

/// A size field that does not match the bytes is refused.
#[test]
fn size_mismatch_is_refused() {
    let frame = encode_request(&header(ApiKey::Metadata, 12, 1), &metadata_request()).unwrap();
    let mut longer = frame.to_vec();
    longer.push(0);
    assert!(decode_request(&Bytes::from(longer)).is_err());
    assert!(decode_request(&frame.slice(..frame.len() - 1)).is_err());
    assert!(decode_request(&Bytes::from_static(&[0, 0])).is_err());
}

fn raw_frame(api_key: i16, version: i16, correlation_id: i32, rest: &[u8]) -> Bytes {
    let mut body = Vec::new();
    body.extend_from_slice(&api_key.to_be_bytes());
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(&correlation_id.to_be_bytes());
    body.extend_from_slice(rest);
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    Bytes::from(frame)
}

fn sealed(body: &[u8]) -> Bytes {
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    Bytes::from(frame)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Random bytes never panic the decoder.
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_request(&Bytes::from(bytes.clone()));
        let _ = decode_request(&sealed(&bytes));
        let _ = decode_response(&sealed(&bytes), ApiKey::Metadata, 12);
    }

    /// Random bodies behind a valid API key and version never panic (the deep path through
    /// kafka-protocol's decoders), for every API key and version.
    #[test]
    fn random_bodies_never_panic(
        key_index in 0usize..87,
        version_pick in any::<u16>(),
        rest in prop::collection::vec(any::<u8>(), 0..160),
    ) {
        let keys: Vec<ApiKey> = ApiKey::iter().collect();
        let key = keys[key_index % keys.len()];
        let range = key.valid_versions();
        let version = range.min + (version_pick % (range.max - range.min + 1) as u16) as i16;
        let _ = decode_request(&raw_frame(key as i16, version, 1, &rest));
        let _ = decode_response(&sealed(&rest), key, version);
    }

    /// Every truncation of a valid frame is refused (closing the connection), never a panic.
    #[test]
    fn truncated_frames_are_refused(cut in 0usize..1_000, version in 1i16..=12) {
        let frame = encode_request(&header(ApiKey::Metadata, version, 1), &metadata_request()).unwrap();
        let cut = cut % frame.len();
        let rejection = decode_request(&frame.slice(..cut)).unwrap_err();
        prop_assert_eq!(rejection.answer, RejectionAnswer::CloseConnection);
    }

    /// Flipping any byte of a valid frame never panics the decoder.
    #[test]
    fn flipped_bytes_never_panic(at in 0usize..1_000, mask in 1u8..=255, version in 1i16..=12) {
        let frame = encode_request(&header(ApiKey::Metadata, version, 1), &metadata_request()).unwrap();
        let mut bytes = frame.to_vec();
        let at = at % bytes.len();
        bytes[at] ^= mask;
        let _ = decode_request(&Bytes::from(bytes));
    }
}

/// An INT32 value larger than the rest of the frame is not a collection count: a ShareFetch with the
/// schema's default `MaxBytes` (0x7fffffff) and a large `MaxWaitMs` decodes unchanged.
#[test]
fn large_int32_values_are_not_mistaken_for_counts() {
    use kafka_protocol::messages::ShareFetchRequest;
    let request = ShareFetchRequest::default()
        .with_member_id(Some(StrBytes::from_static_str("member-1")))
        .with_max_bytes(0x7fff_ffff)
        .with_max_wait_ms(0x7fff_0000)
        .with_max_records(500)
        .with_batch_size(500);
    let frame = encode_request(
        &header(ApiKey::ShareFetch, 1, 7),
        &RequestKind::ShareFetch(request.clone()),
    )
    .unwrap();
    let decoded = decode_request(&frame).unwrap();
    assert_eq!(decoded.request, RequestKind::ShareFetch(request));
}

/// A forged count in a compact array (flexible versions) is refused too, with no huge reservation.
#[test]
fn huge_compact_count_is_refused() {
    // Metadata v12 (flexible): header v2 = client id (-1) + empty tagged fields, then topics as a compact
    // array whose unsigned-varint count claims 2^31 elements.
    let mut body = vec![0xFF, 0xFF, 0x00];
    body.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x08]);
    let rejection = decode_request(&raw_frame(ApiKey::Metadata as i16, 12, 1, &body)).unwrap_err();
    assert_eq!(rejection.error, ResponseError::InvalidRequest);
}
