//! Kafka framing: `[INT32 size][request or response header][body]`, with the header version each API
//! version requires (kafka-protocol's `request_header_version` / `response_header_version`).
//!
//! What a broker answers to a frame it cannot serve (Kafka 4.x `SocketServer` / `RequestContext`):
//! - ApiVersions at a version above the highest supported: an ApiVersionsResponse encoded at v0 with
//!   UNSUPPORTED_VERSION and the supported ranges, so the client can retry lower (KIP-511). Response
//!   headers of ApiVersions are always v0.
//! - Anything else that cannot be parsed: an unknown API key, another API at an unsupported version, a
//!   header or body that does not decode, a size field that does not match: Kafka throws
//!   `InvalidRequestException` while parsing and **closes the connection** without a response. The
//!   decoder reports that as [`RejectionAnswer::CloseConnection`] with the error Kafka logs
//!   (UNSUPPORTED_VERSION for versions, INVALID_REQUEST otherwise); the transport closes the connection
//!   and the client sees its in-flight calls fail with "connection closed".
//! - A size above `socket.request.max.bytes` (104857600) also closes the connection.
//!
//! Bytes after a decoded body are ignored, as Kafka's parser does not check for them.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, RequestHeader, RequestKind, ResponseHeader, ResponseKind,
};
use kafka_protocol::protocol::{Decodable, Encodable};

use super::api_dispatch::{
    decode_request_body, decode_response_body, request_api_key, response_api_key,
};
use super::{share_state_v1, share_v2};

use crate::ResponseError;

/// Kafka's `socket.request.max.bytes` default.
pub const SOCKET_REQUEST_MAX_BYTES: usize = 104_857_600;

/// Why a message could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The header's API key does not match the message, or is unknown.
    ApiKeyMismatch,
    /// The version is outside the message's valid range.
    UnsupportedVersion {
        /// API key.
        api_key: i16,
        /// The version asked for.
        version: i16,
    },
    /// kafka-protocol refused the message at this version (a field the version cannot carry).
    Unencodable(String),
}

/// How the broker answers a frame it refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RejectionAnswer {
    /// Send this response frame (only the ApiVersions UNSUPPORTED_VERSION case).
    Respond(Bytes),
    /// Close the connection without a response.
    CloseConnection,
}

/// A refused request frame: what Kafka would do and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRejection {
    /// The API key, when the frame got that far.
    pub api_key: Option<i16>,
    /// The API version, when the frame got that far.
    pub api_version: Option<i16>,
    /// The correlation id, when the frame got that far.
    pub correlation_id: Option<i32>,
    /// The error Kafka reports (in the response, or in its log before closing).
    pub error: ResponseError,
    /// A one-line reason for the trace.
    pub reason: &'static str,
    /// What goes back to the client.
    pub answer: RejectionAnswer,
}

/// A decoded request frame.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedRequest {
    /// The request header (API key, version, correlation id, client id).
    pub header: RequestHeader,
    /// The request body.
    pub request: RequestKind,
}

/// The API key of a request message.
pub fn api_key_of_request(request: &RequestKind) -> Option<ApiKey> {
    request_api_key(request)
}

/// The API key of a response message.
pub fn api_key_of_response(response: &ResponseKind) -> Option<ApiKey> {
    response_api_key(response)
}

/// Encodes a request with its header as one size-prefixed frame.
pub fn encode_request(header: &RequestHeader, request: &RequestKind) -> Result<Bytes, EncodeError> {
    let api_key = request_api_key(request).ok_or(EncodeError::ApiKeyMismatch)?;
    if header.request_api_key != api_key as i16 {
        return Err(EncodeError::ApiKeyMismatch);
    }
    let version = header.request_api_version;
    check_version(api_key, version)?;
    let mut buf = BytesMut::with_capacity(FRAME_OVERHEAD_BYTES + request_records_bytes(request));
    buf.put_i32(0);
    header
        .encode(&mut buf, api_key.request_header_version(version))
        .map_err(|e| EncodeError::Unencodable(e.to_string()))?;
    match request {
        RequestKind::ShareFetch(body) => {
            share_v2::encode_share_fetch_request(body, version, &mut buf)
        }
        RequestKind::ShareAcknowledge(body) => {
            share_v2::encode_share_acknowledge_request(body, version, &mut buf)
        }
        other => share_state_v1::encode_request_body(other, version, &mut buf)
            .unwrap_or_else(|| other.encode(&mut buf, version).map_err(|e| e.to_string())),
    }
    .map_err(EncodeError::Unencodable)?;
    Ok(seal(buf))
}

/// Decodes a size-prefixed request frame, or says how Kafka refuses it. Never panics.
pub fn decode_request(frame: &Bytes) -> Result<DecodedRequest, FrameRejection> {
    let close = |error, reason| FrameRejection {
        api_key: None,
        api_version: None,
        correlation_id: None,
        error,
        reason,
        answer: RejectionAnswer::CloseConnection,
    };
    let body = unseal(frame).map_err(|reason| close(ResponseError::InvalidRequest, reason))?;
    if body.len() < 8 {
        return Err(close(
            ResponseError::InvalidRequest,
            "header shorter than 8 bytes",
        ));
    }
    let raw_key = i16::from_be_bytes([body[0], body[1]]);
    let version = i16::from_be_bytes([body[2], body[3]]);
    let correlation_id = i32::from_be_bytes([body[4], body[5], body[6], body[7]]);
    let close = |error, reason| FrameRejection {
        api_key: Some(raw_key),
        api_version: Some(version),
        correlation_id: Some(correlation_id),
        error,
        reason,
        answer: RejectionAnswer::CloseConnection,
    };
    let Ok(api_key) = ApiKey::try_from(raw_key) else {
        return Err(close(ResponseError::InvalidRequest, "unknown API key"));
    };
    let range = share_state_v1::version_range(api_key);
    if version > range.max && api_key == ApiKey::ApiVersions {
        return Err(FrameRejection {
            answer: RejectionAnswer::Respond(unsupported_api_versions_response(correlation_id)),
            ..close(
                ResponseError::UnsupportedVersion,
                "ApiVersions version above the highest supported",
            )
        });
    }
    if version < range.min || version > range.max {
        return Err(close(
            ResponseError::UnsupportedVersion,
            "unsupported API version",
        ));
    }
    let mut buf = body;
    let header = RequestHeader::decode(&mut buf, api_key.request_header_version(version))
        .map_err(|_| close(ResponseError::InvalidRequest, "malformed request header"))?;
    let request = match api_key {
        ApiKey::ShareFetch => {
            share_v2::decode_share_fetch_request(&mut buf, version).map(RequestKind::ShareFetch)
        }
        ApiKey::ShareAcknowledge => share_v2::decode_share_acknowledge_request(&mut buf, version)
            .map(RequestKind::ShareAcknowledge),
        _ => share_state_v1::decode_request_body(api_key, &mut buf, version)
            .unwrap_or_else(|| decode_request_body(api_key, &mut buf, version)),
    }
    .ok_or_else(|| close(ResponseError::InvalidRequest, "malformed request body"))?;
    Ok(DecodedRequest { header, request })
}

/// Encodes a response to a request of `api_version` as one size-prefixed frame.
pub fn encode_response(
    api_version: i16,
    correlation_id: i32,
    response: &ResponseKind,
) -> Result<Bytes, EncodeError> {
    let api_key = response_api_key(response).ok_or(EncodeError::ApiKeyMismatch)?;
    check_version(api_key, api_version)?;
    let mut buf = BytesMut::with_capacity(FRAME_OVERHEAD_BYTES + response_records_bytes(response));
    buf.put_i32(0);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, api_key.response_header_version(api_version))
        .map_err(|e| EncodeError::Unencodable(e.to_string()))?;
    match response {
        ResponseKind::ShareAcknowledge(body) => {
            share_v2::encode_share_acknowledge_response(body, api_version, &mut buf)
        }
        // ShareFetchResponse v0 (4.0) and v2 are v1 on the wire.
        ResponseKind::ShareFetch(body) => body.encode(&mut buf, 1).map_err(|e| e.to_string()),
        other => share_state_v1::encode_response_body(other, api_version, &mut buf).unwrap_or_else(
            || {
                other
                    .encode(&mut buf, api_version)
                    .map_err(|e| e.to_string())
            },
        ),
    }
    .map_err(EncodeError::Unencodable)?;
    Ok(seal(buf))
}

/// The correlation id of a response frame, read without decoding the rest (every response header version
/// starts with it).
pub fn peek_response_correlation_id(frame: &Bytes) -> Option<i32> {
    let body = unseal(frame).ok()?;
    (body.len() >= 4).then(|| i32::from_be_bytes([body[0], body[1], body[2], body[3]]))
}

/// Decodes a response frame to a request the caller sent as `api_key` v`api_version`. An ApiVersions
/// response that does not decode at the sent version is retried at v0 (the UNSUPPORTED_VERSION answer),
/// as Kafka clients do.
pub fn decode_response(
    frame: &Bytes,
    api_key: ApiKey,
    api_version: i16,
) -> Result<(ResponseHeader, ResponseKind), ResponseError> {
    let body = unseal(frame).map_err(|_| ResponseError::CorruptMessage)?;
    let mut buf = body.clone();
    let header = ResponseHeader::decode(&mut buf, api_key.response_header_version(api_version))
        .map_err(|_| ResponseError::CorruptMessage)?;
    let decoded = match api_key {
        ApiKey::ShareAcknowledge => {
            share_v2::decode_share_acknowledge_response(&mut buf, api_version)
                .map(ResponseKind::ShareAcknowledge)
        }
        // ShareFetchResponse v0 (4.0) and v2 are v1 on the wire.
        ApiKey::ShareFetch => decode_response_body(api_key, &mut buf, 1),
        _ => share_state_v1::decode_response_body(api_key, &mut buf, api_version)
            .unwrap_or_else(|| decode_response_body(api_key, &mut buf, api_version)),
    };
    if let Some(response) = decoded {
        return Ok((header, response));
    }
    if api_key == ApiKey::ApiVersions && api_version != 0 {
        let mut buf = body;
        let header =
            ResponseHeader::decode(&mut buf, 0).map_err(|_| ResponseError::CorruptMessage)?;
        if let Some(response) = decode_response_body(api_key, &mut buf, 0) {
            return Ok((header, response));
        }
    }
    Err(ResponseError::CorruptMessage)
}

/// Every API key kafka-protocol knows, with its version range (the ranges this transport can carry).
pub fn supported_api_versions() -> Vec<ApiVersion> {
    ApiKey::iter()
        .map(|key| {
            let range = share_state_v1::version_range(key);
            ApiVersion::default()
                .with_api_key(key as i16)
                .with_min_version(range.min)
                .with_max_version(range.max)
        })
        .collect()
}

/// The ApiVersionsResponse v0 with UNSUPPORTED_VERSION that answers a too-new ApiVersions request.
pub fn unsupported_api_versions_response(correlation_id: i32) -> Bytes {
    let response = ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(supported_api_versions());
    // v0 can carry every field set above; encoding an in-memory message cannot fail.
    encode_response(0, correlation_id, &ResponseKind::ApiVersions(response))
        .expect("ApiVersionsResponse v0 encodes")
}

fn check_version(api_key: ApiKey, version: i16) -> Result<(), EncodeError> {
    let range = share_state_v1::version_range(api_key);
    if version < range.min || version > range.max {
        return Err(EncodeError::UnsupportedVersion {
            api_key: api_key as i16,
            version,
        });
    }
    Ok(())
}

/// Room for a frame's size, header and fields besides record data (a buffer that grows copies what it
/// holds each time; record data dominates Produce requests and Fetch responses).
const FRAME_OVERHEAD_BYTES: usize = 1_024;

/// The record bytes a Produce request carries.
fn request_records_bytes(request: &RequestKind) -> usize {
    match request {
        RequestKind::Produce(body) => body
            .topic_data
            .iter()
            .flat_map(|topic| &topic.partition_data)
            .map(|partition| partition.records.as_ref().map_or(0, |r| r.len() + 64))
            .sum(),
        _ => 0,
    }
}

/// The record bytes a Fetch response carries.
fn response_records_bytes(response: &ResponseKind) -> usize {
    match response {
        ResponseKind::Fetch(body) => body
            .responses
            .iter()
            .flat_map(|topic| &topic.partitions)
            .map(|partition| partition.records.as_ref().map_or(0, |r| r.len() + 128))
            .sum(),
        _ => 0,
    }
}

fn seal(mut buf: BytesMut) -> Bytes {
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.freeze()
}

fn unseal(frame: &Bytes) -> Result<Bytes, &'static str> {
    if frame.len() < 4 {
        return Err("frame shorter than its size field");
    }
    let size = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
    if size < 0 || size as usize > SOCKET_REQUEST_MAX_BYTES {
        return Err("size field out of range");
    }
    if size as usize != frame.len() - 4 {
        return Err("size field does not match the frame");
    }
    Ok(frame.slice(4..))
}
