//! ShareFetch (78) and ShareAcknowledge (79) version 2 (Kafka 4.2; KIP-1206 and KIP-1222; spec 2.3), which
//! the `kafka-protocol` crate does not know (it stops at version 1).
//!
//! Kafka's published schema (`clients/src/main/resources/common/message/Share*.json`, 4.2) adds, all at
//! the top level and untagged:
//!
//! | message | v2 field | type | after |
//! |---|---|---|---|
//! | ShareFetchRequest | `ShareAcquireMode` (0 batch_optimized, 1 record_limit) | int8 | `BatchSize` |
//! | ShareFetchRequest | `IsRenewAck` | bool | `ShareAcquireMode` |
//! | ShareAcknowledgeRequest | `IsRenewAck` | bool | `ShareSessionEpoch` |
//! | ShareAcknowledgeResponse | `AcquisitionLockTimeoutMs` (ignorable) | int32 | `ErrorMessage` |
//!
//! ShareFetchResponse v2 is byte-for-byte v1. Every nested structure is unchanged, so a v2 body is the v1
//! body with the new fields spliced in at a fixed place after the leading fields; this module encodes and
//! decodes v2 by splicing around the crate's v1 codecs. (One interim trunk schema had a `255:Renew`
//! acquire mode instead of `IsRenewAck` in ShareFetch; 4.2 shipped `IsRenewAck`, which is what we follow.)
//!
//! **Carrying the fields.** The transport's currency is kafka-protocol's `RequestKind` / `ResponseKind`,
//! whose share structs have no v2 fields. The v2 values therefore ride in the struct's
//! `unknown_tagged_fields` map under *negative* keys, which no wire tag can produce (tags are unsigned
//! varints decoded as non-negative `i32`). This module is the only reader and writer of those keys: use
//! the `*_v2` accessors and setters below; the frame layer strips the keys before any encode.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ShareAcknowledgeRequest, ShareAcknowledgeResponse, ShareFetchRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, VersionRange};

/// The highest ShareFetch / ShareAcknowledge version sharesim speaks.
pub const SHARE_RPC_MAX_VERSION: i16 = 2;

/// Carrier key of `ShareAcquireMode` (ShareFetch request).
const KEY_ACQUIRE_MODE: i32 = -78_001;
/// Carrier key of `IsRenewAck` (ShareFetch and ShareAcknowledge requests).
const KEY_IS_RENEW_ACK: i32 = -78_002;
/// Carrier key of `AcquisitionLockTimeoutMs` (ShareAcknowledge response).
const KEY_LOCK_TIMEOUT_MS: i32 = -79_001;

/// The lowest ShareFetch / ShareAcknowledge version sharesim speaks: v0, Kafka 4.0's early-access version
/// (ShareFetch request v0 in [`super::share_v0`]; the other three v0 bodies are v1 on the wire).
pub const SHARE_RPC_MIN_VERSION: i16 = 0;

/// The version range the transport accepts for `api_key`: kafka-protocol's, widened to v0..v2 for
/// ShareFetch and ShareAcknowledge.
pub fn version_range(api_key: ApiKey) -> VersionRange {
    let range = api_key.valid_versions();
    if is_share_rpc(api_key) {
        VersionRange {
            min: SHARE_RPC_MIN_VERSION,
            max: SHARE_RPC_MAX_VERSION,
        }
    } else {
        range
    }
}

/// ShareFetch or ShareAcknowledge: the APIs this module extends.
pub fn is_share_rpc(api_key: ApiKey) -> bool {
    matches!(api_key, ApiKey::ShareFetch | ApiKey::ShareAcknowledge)
}

// ---- accessors -------------------------------------------------------------------------------------

/// `ShareAcquireMode` of a ShareFetch (0 when absent: v1, or not set).
pub fn share_acquire_mode(request: &ShareFetchRequest) -> i8 {
    read_i8(&request.unknown_tagged_fields, KEY_ACQUIRE_MODE)
}

/// Sets `ShareAcquireMode` (sent only at v2).
pub fn set_share_acquire_mode(request: &mut ShareFetchRequest, mode: i8) {
    write_i8(&mut request.unknown_tagged_fields, KEY_ACQUIRE_MODE, mode);
}

/// `IsRenewAck` of a ShareFetch (false when absent).
pub fn fetch_is_renew_ack(request: &ShareFetchRequest) -> bool {
    read_i8(&request.unknown_tagged_fields, KEY_IS_RENEW_ACK) != 0
}

/// Sets `IsRenewAck` of a ShareFetch (sent only at v2).
pub fn set_fetch_is_renew_ack(request: &mut ShareFetchRequest, renew: bool) {
    write_i8(
        &mut request.unknown_tagged_fields,
        KEY_IS_RENEW_ACK,
        i8::from(renew),
    );
}

/// `IsRenewAck` of a ShareAcknowledge (false when absent).
pub fn acknowledge_is_renew_ack(request: &ShareAcknowledgeRequest) -> bool {
    read_i8(&request.unknown_tagged_fields, KEY_IS_RENEW_ACK) != 0
}

/// Sets `IsRenewAck` of a ShareAcknowledge (sent only at v2).
pub fn set_acknowledge_is_renew_ack(request: &mut ShareAcknowledgeRequest, renew: bool) {
    write_i8(
        &mut request.unknown_tagged_fields,
        KEY_IS_RENEW_ACK,
        i8::from(renew),
    );
}

/// `AcquisitionLockTimeoutMs` of a ShareAcknowledge response (`None` before v2 or when not set).
pub fn acknowledge_lock_timeout_ms(response: &ShareAcknowledgeResponse) -> Option<i32> {
    let value = response.unknown_tagged_fields.get(&KEY_LOCK_TIMEOUT_MS)?;
    let bytes: [u8; 4] = value.as_ref().try_into().ok()?;
    Some(i32::from_be_bytes(bytes))
}

/// Sets `AcquisitionLockTimeoutMs` of a ShareAcknowledge response (sent only at v2).
pub fn set_acknowledge_lock_timeout_ms(response: &mut ShareAcknowledgeResponse, timeout_ms: i32) {
    response.unknown_tagged_fields.insert(
        KEY_LOCK_TIMEOUT_MS,
        Bytes::copy_from_slice(&timeout_ms.to_be_bytes()),
    );
}

fn read_i8(fields: &std::collections::BTreeMap<i32, Bytes>, key: i32) -> i8 {
    fields
        .get(&key)
        .and_then(|value| value.first())
        .map_or(0, |byte| *byte as i8)
}

fn write_i8(fields: &mut std::collections::BTreeMap<i32, Bytes>, key: i32, value: i8) {
    fields.insert(key, Bytes::copy_from_slice(&[value as u8]));
}

/// Drops the carrier keys (they never go on the wire).
fn strip(fields: &mut std::collections::BTreeMap<i32, Bytes>) {
    fields.retain(|key, _| *key >= 0);
}

// ---- codecs ----------------------------------------------------------------------------------------

/// Why a share message could not be encoded.
pub type CodecError = String;

/// Encodes a ShareFetch request body at `version` (0, 1 or 2).
pub fn encode_share_fetch_request(
    request: &ShareFetchRequest,
    version: i16,
    buf: &mut BytesMut,
) -> Result<(), CodecError> {
    if version == 0 {
        return super::share_v0::encode_share_fetch_request_v0(request, buf);
    }
    let v1 = {
        let mut clean = request.clone();
        strip(&mut clean.unknown_tagged_fields);
        encode_v1(&clean)?
    };
    if version < 2 {
        buf.extend_from_slice(&v1);
        return Ok(());
    }
    // GroupId, MemberId (compact nullable strings), then six int32 up to BatchSize.
    let at = skip_compact_strings(&v1, 0, 2).ok_or("ShareFetch v1 prefix")? + 6 * 4;
    let renew = u8::from(fetch_is_renew_ack(request));
    splice_in(buf, &v1, at, &[share_acquire_mode(request) as u8, renew]);
    Ok(())
}

/// Decodes a ShareFetch request body at `version` (0, 1 or 2); `None` when malformed.
pub fn decode_share_fetch_request(buf: &mut Bytes, version: i16) -> Option<ShareFetchRequest> {
    if version == 0 {
        return super::share_v0::decode_share_fetch_request_v0(buf);
    }
    if version < 2 {
        return ShareFetchRequest::decode(buf, 1).ok();
    }
    let at = skip_compact_strings(buf, 0, 2)? + 6 * 4;
    let (mode, renew) = (*buf.get(at)? as i8, *buf.get(at + 1)?);
    if renew > 1 {
        return None;
    }
    let mut v1 = splice_out(buf, at, 2);
    let mut request = ShareFetchRequest::decode(&mut v1, 1).ok()?;
    set_share_acquire_mode(&mut request, mode);
    set_fetch_is_renew_ack(&mut request, renew == 1);
    *buf = v1;
    Some(request)
}

/// Encodes a ShareAcknowledge request body at `version` (1 or 2).
pub fn encode_share_acknowledge_request(
    request: &ShareAcknowledgeRequest,
    version: i16,
    buf: &mut BytesMut,
) -> Result<(), CodecError> {
    let v1 = {
        let mut clean = request.clone();
        strip(&mut clean.unknown_tagged_fields);
        encode_v1(&clean)?
    };
    if version < 2 {
        buf.extend_from_slice(&v1);
        return Ok(());
    }
    // GroupId, MemberId, then ShareSessionEpoch.
    let at = skip_compact_strings(&v1, 0, 2).ok_or("ShareAcknowledge v1 prefix")? + 4;
    let renew = u8::from(acknowledge_is_renew_ack(request));
    splice_in(buf, &v1, at, &[renew]);
    Ok(())
}

/// Decodes a ShareAcknowledge request body at `version` (1 or 2); `None` when malformed.
pub fn decode_share_acknowledge_request(
    buf: &mut Bytes,
    version: i16,
) -> Option<ShareAcknowledgeRequest> {
    if version < 2 {
        // v0 (4.0) is v1 on the wire.
        return ShareAcknowledgeRequest::decode(buf, 1).ok();
    }
    let at = skip_compact_strings(buf, 0, 2)? + 4;
    let renew = *buf.get(at)?;
    if renew > 1 {
        return None;
    }
    let mut v1 = splice_out(buf, at, 1);
    let mut request = ShareAcknowledgeRequest::decode(&mut v1, 1).ok()?;
    set_acknowledge_is_renew_ack(&mut request, renew == 1);
    *buf = v1;
    Some(request)
}

/// Encodes a ShareAcknowledge response body at `version` (1 or 2). At v2 a response without a lock
/// timeout carries 0.
pub fn encode_share_acknowledge_response(
    response: &ShareAcknowledgeResponse,
    version: i16,
    buf: &mut BytesMut,
) -> Result<(), CodecError> {
    let v1 = {
        let mut clean = response.clone();
        strip(&mut clean.unknown_tagged_fields);
        encode_v1(&clean)?
    };
    if version < 2 {
        buf.extend_from_slice(&v1);
        return Ok(());
    }
    // ThrottleTimeMs, ErrorCode, then ErrorMessage (compact nullable string).
    let at = skip_compact_strings(&v1, 6, 1).ok_or("ShareAcknowledge response v1 prefix")?;
    let timeout_ms = acknowledge_lock_timeout_ms(response).unwrap_or(0);
    splice_in(buf, &v1, at, &timeout_ms.to_be_bytes());
    Ok(())
}

/// Decodes a ShareAcknowledge response body at `version` (1 or 2); `None` when malformed.
pub fn decode_share_acknowledge_response(
    buf: &mut Bytes,
    version: i16,
) -> Option<ShareAcknowledgeResponse> {
    if version < 2 {
        // v0 (4.0) is v1 on the wire.
        return ShareAcknowledgeResponse::decode(buf, 1).ok();
    }
    let at = skip_compact_strings(buf, 6, 1)?;
    let timeout: [u8; 4] = buf.get(at..at + 4)?.try_into().ok()?;
    let mut v1 = splice_out(buf, at, 4);
    let mut response = ShareAcknowledgeResponse::decode(&mut v1, 1).ok()?;
    set_acknowledge_lock_timeout_ms(&mut response, i32::from_be_bytes(timeout));
    *buf = v1;
    Some(response)
}

/// The v1 encoding of a message whose carrier keys were stripped.
fn encode_v1<T: Encodable>(message: &T) -> Result<BytesMut, CodecError> {
    let mut out = BytesMut::new();
    message
        .encode(&mut out, 1)
        .map_err(|error| error.to_string())?;
    Ok(out)
}

/// The position after `count` compact nullable strings starting at `start` (unsigned varint length + 1,
/// then the bytes; 0 is null).
fn skip_compact_strings(bytes: &[u8], start: usize, count: usize) -> Option<usize> {
    let mut at = start;
    for _ in 0..count {
        let (length_plus_one, width) = read_unsigned_varint(bytes.get(at..)?)?;
        at += width;
        at = at.checked_add(length_plus_one.saturating_sub(1) as usize)?;
        if at > bytes.len() {
            return None;
        }
    }
    Some(at)
}

fn read_unsigned_varint(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u32 = 0;
    for (index, byte) in bytes.iter().enumerate().take(5) {
        value |= u32::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Some((value, index + 1));
        }
    }
    None
}

fn splice_in(buf: &mut BytesMut, v1: &[u8], at: usize, inserted: &[u8]) {
    buf.extend_from_slice(&v1[..at]);
    buf.extend_from_slice(inserted);
    buf.extend_from_slice(&v1[at..]);
}

fn splice_out(bytes: &Bytes, at: usize, width: usize) -> Bytes {
    let mut out = BytesMut::with_capacity(bytes.len() - width);
    out.extend_from_slice(&bytes[..at]);
    out.extend_from_slice(&bytes[at + width..]);
    out.freeze()
}
