//! WriteShareGroupState (85), ReadShareGroupStateSummary (87) and DescribeShareGroupOffsets (90) version 1
//! (Kafka 4.2, KIP-1226: share-partition lag; spec 3.2, 5.3), which the `kafka-protocol` crate does not
//! know (it stops at version 0).
//!
//! Kafka's published schemas (`clients/src/main/resources/common/message/*.json`, 4.2) add one untagged
//! field each, inside the per-partition structure:
//!
//! | message | v1 field | type, default | after |
//! |---|---|---|---|
//! | WriteShareGroupStateRequest `PartitionData` | `DeliveryCompleteCount` | int32, -1 | `StartOffset` |
//! | ReadShareGroupStateSummaryResponse `PartitionResult` | `DeliveryCompleteCount` | int32, -1 | `StartOffset` |
//! | DescribeShareGroupOffsetsResponse `...ResponsePartition` | `Lag` | int64, -1 | `LeaderEpoch` |
//!
//! The other halves (WriteShareGroupStateResponse, ReadShareGroupStateSummaryRequest,
//! DescribeShareGroupOffsetsRequest) are byte-for-byte v0 at v1. A v1 body is therefore the crate's v0
//! body with the new field spliced into every partition entry. Each message's layout is written once
//! (`*_layout`, field by field after the schema) and walked both ways over the flexible-version bytes
//! (compact arrays, compact strings, tagged-field sections): inserting the field to encode, taking it
//! out to decode.
//!
//! **Carrying the fields** is done as in [`super::share_v2`]: the values ride in the partition structs'
//! `unknown_tagged_fields` under *negative* keys, which no wire tag can produce. Only this module reads
//! and writes those keys (the accessors below); the codecs strip them before the crate encodes.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::describe_share_group_offsets_response::DescribeShareGroupOffsetsResponsePartition;
use kafka_protocol::messages::read_share_group_state_summary_response::PartitionResult as SummaryPartition;
use kafka_protocol::messages::write_share_group_state_request::PartitionData as WritePartition;
use kafka_protocol::messages::{
    ApiKey, DescribeShareGroupOffsetsResponse, ReadShareGroupStateSummaryResponse, RequestKind,
    ResponseKind, WriteShareGroupStateRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, VersionRange};

use super::share_v2;

/// The highest version of the three APIs sharesim speaks.
pub const SHARE_STATE_V1_MAX_VERSION: i16 = 1;

/// Carrier key of `DeliveryCompleteCount` (WriteShareGroupState request partition).
const KEY_WRITE_DELIVERY_COMPLETE_COUNT: i32 = -85_001;
/// Carrier key of `DeliveryCompleteCount` (ReadShareGroupStateSummary response partition).
const KEY_SUMMARY_DELIVERY_COMPLETE_COUNT: i32 = -87_001;
/// Carrier key of `Lag` (DescribeShareGroupOffsets response partition).
const KEY_LAG: i32 = -90_001;

/// Why a message could not be encoded.
pub type CodecError = String;

/// The version range the transport accepts for `api_key`: [`share_v2::version_range`], widened to v1 for
/// the three APIs of this module.
pub fn version_range(api_key: ApiKey) -> VersionRange {
    let range = share_v2::version_range(api_key);
    if is_extended(api_key) {
        VersionRange {
            min: range.min,
            max: SHARE_STATE_V1_MAX_VERSION,
        }
    } else {
        range
    }
}

/// WriteShareGroupState, ReadShareGroupStateSummary or DescribeShareGroupOffsets.
pub fn is_extended(api_key: ApiKey) -> bool {
    matches!(
        api_key,
        ApiKey::WriteShareGroupState
            | ApiKey::ReadShareGroupStateSummary
            | ApiKey::DescribeShareGroupOffsets
    )
}

/// The WriteShareGroupState version to send an entry with: v1 when it carries a delivery-complete count
/// (the 4.2 profile; the engine sends -1 before 4.2), else v0 as 4.0 and 4.1 brokers do.
pub fn write_version_for(delivery_complete_count: i32) -> i16 {
    if delivery_complete_count >= 0 {
        1
    } else {
        0
    }
}

// ---- accessors -------------------------------------------------------------------------------------

/// `DeliveryCompleteCount` of a WriteShareGroupState partition (-1 when absent: v0, or not set).
pub fn write_delivery_complete_count(partition: &WritePartition) -> i32 {
    read_i32(
        &partition.unknown_tagged_fields,
        KEY_WRITE_DELIVERY_COMPLETE_COUNT,
    )
}

/// Sets `DeliveryCompleteCount` of a WriteShareGroupState partition (sent only at v1).
pub fn set_write_delivery_complete_count(partition: &mut WritePartition, count: i32) {
    write_i32(
        &mut partition.unknown_tagged_fields,
        KEY_WRITE_DELIVERY_COMPLETE_COUNT,
        count,
    );
}

/// `DeliveryCompleteCount` of a ReadShareGroupStateSummary partition (-1 when absent).
pub fn summary_delivery_complete_count(partition: &SummaryPartition) -> i32 {
    read_i32(
        &partition.unknown_tagged_fields,
        KEY_SUMMARY_DELIVERY_COMPLETE_COUNT,
    )
}

/// Sets `DeliveryCompleteCount` of a ReadShareGroupStateSummary partition (sent only at v1).
pub fn set_summary_delivery_complete_count(partition: &mut SummaryPartition, count: i32) {
    write_i32(
        &mut partition.unknown_tagged_fields,
        KEY_SUMMARY_DELIVERY_COMPLETE_COUNT,
        count,
    );
}

/// `Lag` of a DescribeShareGroupOffsets partition (-1 when absent: v0, or unknown).
pub fn describe_lag(partition: &DescribeShareGroupOffsetsResponsePartition) -> i64 {
    partition
        .unknown_tagged_fields
        .get(&KEY_LAG)
        .and_then(|value| <[u8; 8]>::try_from(value.as_ref()).ok())
        .map_or(-1, i64::from_be_bytes)
}

/// Sets `Lag` of a DescribeShareGroupOffsets partition (sent only at v1).
pub fn set_describe_lag(partition: &mut DescribeShareGroupOffsetsResponsePartition, lag: i64) {
    partition
        .unknown_tagged_fields
        .insert(KEY_LAG, Bytes::copy_from_slice(&lag.to_be_bytes()));
}

fn read_i32(fields: &BTreeMap<i32, Bytes>, key: i32) -> i32 {
    fields
        .get(&key)
        .and_then(|value| <[u8; 4]>::try_from(value.as_ref()).ok())
        .map_or(-1, i32::from_be_bytes)
}

fn write_i32(fields: &mut BTreeMap<i32, Bytes>, key: i32, value: i32) {
    fields.insert(key, Bytes::copy_from_slice(&value.to_be_bytes()));
}

/// Drops the carrier keys (they never go on the wire).
fn strip(fields: &mut BTreeMap<i32, Bytes>) {
    fields.retain(|key, _| *key >= 0);
}

// ---- frame hooks -----------------------------------------------------------------------------------

/// Encodes `request`'s body at `version` if it is one of this module's APIs (`None` otherwise).
pub fn encode_request_body(
    request: &RequestKind,
    version: i16,
    buf: &mut BytesMut,
) -> Option<Result<(), CodecError>> {
    Some(match request {
        RequestKind::WriteShareGroupState(body) => encode_write_request(body, version, buf),
        // v1 requests are v0 on the wire.
        RequestKind::ReadShareGroupStateSummary(body) => encode_at(body, 0, buf),
        RequestKind::DescribeShareGroupOffsets(body) => encode_at(body, 0, buf),
        _ => return None,
    })
}

/// Decodes a request body of `api_key` at `version` if it is one of this module's APIs (`None`
/// otherwise; `Some(None)` when malformed).
pub fn decode_request_body(
    api_key: ApiKey,
    buf: &mut Bytes,
    version: i16,
) -> Option<Option<RequestKind>> {
    Some(match api_key {
        ApiKey::WriteShareGroupState => {
            decode_write_request(buf, version).map(RequestKind::WriteShareGroupState)
        }
        ApiKey::ReadShareGroupStateSummary | ApiKey::DescribeShareGroupOffsets => {
            super::api_dispatch::decode_request_body(api_key, buf, 0)
        }
        _ => return None,
    })
}

/// Encodes `response`'s body at `version` if it is one of this module's APIs (`None` otherwise).
pub fn encode_response_body(
    response: &ResponseKind,
    version: i16,
    buf: &mut BytesMut,
) -> Option<Result<(), CodecError>> {
    Some(match response {
        ResponseKind::ReadShareGroupStateSummary(body) => {
            encode_summary_response(body, version, buf)
        }
        ResponseKind::DescribeShareGroupOffsets(body) => {
            encode_describe_offsets_response(body, version, buf)
        }
        // v1 is v0 on the wire.
        ResponseKind::WriteShareGroupState(body) => encode_at(body, 0, buf),
        _ => return None,
    })
}

/// Decodes a response body of `api_key` at `version` if it is one of this module's APIs (`None`
/// otherwise; `Some(None)` when malformed).
pub fn decode_response_body(
    api_key: ApiKey,
    buf: &mut Bytes,
    version: i16,
) -> Option<Option<ResponseKind>> {
    Some(match api_key {
        ApiKey::ReadShareGroupStateSummary => {
            decode_summary_response(buf, version).map(ResponseKind::ReadShareGroupStateSummary)
        }
        ApiKey::DescribeShareGroupOffsets => decode_describe_offsets_response(buf, version)
            .map(ResponseKind::DescribeShareGroupOffsets),
        ApiKey::WriteShareGroupState => super::api_dispatch::decode_response_body(api_key, buf, 0),
        _ => return None,
    })
}

// ---- codecs ----------------------------------------------------------------------------------------

/// Encodes a WriteShareGroupState request body at `version` (0 or 1).
pub fn encode_write_request(
    request: &WriteShareGroupStateRequest,
    version: i16,
    buf: &mut BytesMut,
) -> Result<(), CodecError> {
    let mut clean = request.clone();
    let mut counts = Vec::new();
    for partition in clean
        .topics
        .iter_mut()
        .flat_map(|t| t.partitions.iter_mut())
    {
        counts.push(
            write_delivery_complete_count(partition)
                .to_be_bytes()
                .to_vec(),
        );
        strip(&mut partition.unknown_tagged_fields);
    }
    encode_spliced(&clean, version, counts, write_request_layout, buf)
}

/// Decodes a WriteShareGroupState request body at `version` (0 or 1); `None` when malformed.
pub fn decode_write_request(buf: &mut Bytes, version: i16) -> Option<WriteShareGroupStateRequest> {
    let (mut request, counts) =
        decode_spliced::<WriteShareGroupStateRequest>(buf, version, write_request_layout)?;
    let partitions = request
        .topics
        .iter_mut()
        .flat_map(|t| t.partitions.iter_mut());
    for (partition, count) in partitions.zip(counts) {
        set_write_delivery_complete_count(partition, i32::from_be_bytes(count.try_into().ok()?));
    }
    Some(request)
}

/// Encodes a ReadShareGroupStateSummary response body at `version` (0 or 1). At v1 a partition without
/// a count carries -1.
pub fn encode_summary_response(
    response: &ReadShareGroupStateSummaryResponse,
    version: i16,
    buf: &mut BytesMut,
) -> Result<(), CodecError> {
    let mut clean = response.clone();
    let mut counts = Vec::new();
    for partition in clean
        .results
        .iter_mut()
        .flat_map(|r| r.partitions.iter_mut())
    {
        counts.push(
            summary_delivery_complete_count(partition)
                .to_be_bytes()
                .to_vec(),
        );
        strip(&mut partition.unknown_tagged_fields);
    }
    encode_spliced(&clean, version, counts, summary_response_layout, buf)
}

/// Decodes a ReadShareGroupStateSummary response body at `version` (0 or 1); `None` when malformed.
pub fn decode_summary_response(
    buf: &mut Bytes,
    version: i16,
) -> Option<ReadShareGroupStateSummaryResponse> {
    let (mut response, counts) = decode_spliced::<ReadShareGroupStateSummaryResponse>(
        buf,
        version,
        summary_response_layout,
    )?;
    let partitions = response
        .results
        .iter_mut()
        .flat_map(|r| r.partitions.iter_mut());
    for (partition, count) in partitions.zip(counts) {
        set_summary_delivery_complete_count(partition, i32::from_be_bytes(count.try_into().ok()?));
    }
    Some(response)
}

/// Encodes a DescribeShareGroupOffsets response body at `version` (0 or 1). At v1 a partition without a
/// lag carries -1 (unknown).
pub fn encode_describe_offsets_response(
    response: &DescribeShareGroupOffsetsResponse,
    version: i16,
    buf: &mut BytesMut,
) -> Result<(), CodecError> {
    let mut clean = response.clone();
    let mut lags = Vec::new();
    let partitions = clean
        .groups
        .iter_mut()
        .flat_map(|g| g.topics.iter_mut())
        .flat_map(|t| t.partitions.iter_mut());
    for partition in partitions {
        lags.push(describe_lag(partition).to_be_bytes().to_vec());
        strip(&mut partition.unknown_tagged_fields);
    }
    encode_spliced(&clean, version, lags, describe_response_layout, buf)
}

/// Decodes a DescribeShareGroupOffsets response body at `version` (0 or 1); `None` when malformed.
pub fn decode_describe_offsets_response(
    buf: &mut Bytes,
    version: i16,
) -> Option<DescribeShareGroupOffsetsResponse> {
    let (mut response, lags) = decode_spliced::<DescribeShareGroupOffsetsResponse>(
        buf,
        version,
        describe_response_layout,
    )?;
    let partitions = response
        .groups
        .iter_mut()
        .flat_map(|g| g.topics.iter_mut())
        .flat_map(|t| t.partitions.iter_mut());
    for (partition, lag) in partitions.zip(lags) {
        set_describe_lag(partition, i64::from_be_bytes(lag.try_into().ok()?));
    }
    Some(response)
}

// ---- the v1 layouts (Kafka's schemas, field by field; `walk.v1_field` is the added field) ----------

/// WriteShareGroupStateRequest: GroupId, Topics[TopicId, Partitions[Partition, StateEpoch, LeaderEpoch,
/// StartOffset, *DeliveryCompleteCount*, StateBatches[FirstOffset, LastOffset, DeliveryState,
/// DeliveryCount]]].
fn write_request_layout(walk: &mut Walk<'_>) -> Option<()> {
    walk.copy_compact_string()?;
    walk.array(|walk| {
        walk.copy(16)?;
        walk.array(|walk| {
            walk.copy(4 + 4 + 4 + 8)?;
            walk.v1_field(4)?;
            walk.array(|walk| {
                walk.copy(8 + 8 + 1 + 2)?;
                walk.copy_tagged_fields()
            })?;
            walk.copy_tagged_fields()
        })?;
        walk.copy_tagged_fields()
    })?;
    walk.copy_tagged_fields()
}

/// ReadShareGroupStateSummaryResponse: Results[TopicId, Partitions[Partition, ErrorCode, ErrorMessage,
/// StateEpoch, LeaderEpoch, StartOffset, *DeliveryCompleteCount*]].
fn summary_response_layout(walk: &mut Walk<'_>) -> Option<()> {
    walk.array(|walk| {
        walk.copy(16)?;
        walk.array(|walk| {
            walk.copy(4 + 2)?;
            walk.copy_compact_string()?;
            walk.copy(4 + 4 + 8)?;
            walk.v1_field(4)?;
            walk.copy_tagged_fields()
        })?;
        walk.copy_tagged_fields()
    })?;
    walk.copy_tagged_fields()
}

/// DescribeShareGroupOffsetsResponse: ThrottleTimeMs, Groups[GroupId, Topics[TopicName, TopicId,
/// Partitions[PartitionIndex, StartOffset, LeaderEpoch, *Lag*, ErrorCode, ErrorMessage]], ErrorCode,
/// ErrorMessage].
fn describe_response_layout(walk: &mut Walk<'_>) -> Option<()> {
    walk.copy(4)?;
    walk.array(|walk| {
        walk.copy_compact_string()?;
        walk.array(|walk| {
            walk.copy_compact_string()?;
            walk.copy(16)?;
            walk.array(|walk| {
                walk.copy(4 + 8 + 4)?;
                walk.v1_field(8)?;
                walk.copy(2)?;
                walk.copy_compact_string()?;
                walk.copy_tagged_fields()
            })?;
            walk.copy_tagged_fields()
        })?;
        walk.copy(2)?;
        walk.copy_compact_string()?;
        walk.copy_tagged_fields()
    })?;
    walk.copy_tagged_fields()
}

type Layout = fn(&mut Walk<'_>) -> Option<()>;

/// The crate's v0 body of `message`, with `values` (one per v1 field, in wire order) spliced in at v1.
fn encode_spliced<T: Encodable>(
    message: &T,
    version: i16,
    values: Vec<Vec<u8>>,
    layout: Layout,
    buf: &mut BytesMut,
) -> Result<(), CodecError> {
    let mut v0 = BytesMut::new();
    message
        .encode(&mut v0, 0)
        .map_err(|error| error.to_string())?;
    if version < 1 {
        buf.extend_from_slice(&v0);
        return Ok(());
    }
    let mut walk = Walk::new(&v0, Splice::Insert(values.into()));
    let walked = layout(&mut walk);
    let (v1, _) = walk
        .finish(walked)
        .ok_or_else(|| "the v0 body does not follow the schema".to_string())?;
    buf.extend_from_slice(&v1);
    Ok(())
}

/// Decodes a body at `version`: at v1 the v1 fields are taken out (returned in wire order) and the rest
/// decoded as v0.
fn decode_spliced<T: Decodable>(
    buf: &mut Bytes,
    version: i16,
    layout: Layout,
) -> Option<(T, Vec<Vec<u8>>)> {
    if version < 1 {
        return Some((T::decode(buf, 0).ok()?, Vec::new()));
    }
    let mut walk = Walk::new(buf, Splice::Extract(Vec::new()));
    let walked = layout(&mut walk);
    let (mut v0, values) = walk.finish(walked)?;
    let message = T::decode(&mut v0, 0).ok()?;
    *buf = v0;
    Some((message, values))
}

fn encode_at<T: Encodable>(
    message: &T,
    version: i16,
    buf: &mut BytesMut,
) -> Result<(), CodecError> {
    message
        .encode(buf, version)
        .map_err(|error| error.to_string())
}

// ---- the byte walker -------------------------------------------------------------------------------

/// What a walk does at each v1 field.
enum Splice {
    /// Encoding: insert the next value (v0 → v1).
    Insert(std::collections::VecDeque<Vec<u8>>),
    /// Decoding: take the field out and keep it (v1 → v0).
    Extract(Vec<Vec<u8>>),
}

/// Copies a flexible-version body from `input` to `out` field by field along a layout, inserting or
/// extracting the v1 fields. Every step returns `None` on truncated or inconsistent input.
struct Walk<'a> {
    input: &'a [u8],
    at: usize,
    out: BytesMut,
    splice: Splice,
}

impl<'a> Walk<'a> {
    fn new(input: &'a [u8], splice: Splice) -> Walk<'a> {
        Walk {
            input,
            at: 0,
            out: BytesMut::with_capacity(input.len() + 64),
            splice,
        }
    }

    fn take(&mut self, width: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(width)?;
        let bytes = self.input.get(self.at..end)?;
        self.at = end;
        Some(bytes)
    }

    fn copy(&mut self, width: usize) -> Option<()> {
        let bytes = self.take(width)?;
        self.out.extend_from_slice(bytes);
        Some(())
    }

    /// The added field, `width` bytes wide.
    fn v1_field(&mut self, width: usize) -> Option<()> {
        if let Splice::Insert(values) = &mut self.splice {
            let value = values.pop_front()?;
            if value.len() != width {
                return None;
            }
            self.out.extend_from_slice(&value);
            return Some(());
        }
        let bytes = self.take(width)?.to_vec();
        if let Splice::Extract(values) = &mut self.splice {
            values.push(bytes);
        }
        Some(())
    }

    fn copy_unsigned_varint(&mut self) -> Option<u32> {
        let mut value: u32 = 0;
        for index in 0..5 {
            let byte = *self.take(1)?.first()?;
            self.out.extend_from_slice(&[byte]);
            value |= u32::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// A compact (nullable) string: unsigned varint length + 1 (0 is null), then the bytes.
    fn copy_compact_string(&mut self) -> Option<()> {
        let length_plus_one = self.copy_unsigned_varint()?;
        self.copy(length_plus_one.saturating_sub(1) as usize)
    }

    /// A compact array: unsigned varint length + 1 (0 is null), then `element` per entry.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        let length_plus_one = self.copy_unsigned_varint()?;
        for _ in 1..length_plus_one {
            element(self)?;
        }
        Some(())
    }

    /// A tagged-field section: count, then (tag, size, bytes) per field.
    fn copy_tagged_fields(&mut self) -> Option<()> {
        let count = self.copy_unsigned_varint()?;
        for _ in 0..count {
            self.copy_unsigned_varint()?;
            let size = self.copy_unsigned_varint()?;
            self.copy(size as usize)?;
        }
        Some(())
    }

    /// The walked bytes and the extracted fields, if the walk succeeded, consumed the whole input and
    /// used every value to insert.
    fn finish(self, walked: Option<()>) -> Option<(Bytes, Vec<Vec<u8>>)> {
        walked?;
        if self.at != self.input.len() {
            return None;
        }
        let values = match self.splice {
            Splice::Insert(left) => left.is_empty().then(Vec::new)?,
            Splice::Extract(values) => values,
        };
        Some((self.out.freeze(), values))
    }
}

#[cfg(test)]
mod tests;
