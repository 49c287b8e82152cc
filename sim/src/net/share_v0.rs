//! ShareFetch (78) request version 0 (Kafka 4.0 early access; spec 2.3, 2.6), which the `kafka-protocol`
//! crate does not know (it starts at version 1).
//!
//! Kafka 4.0's `ShareFetchRequest.json` (v0, removed in 4.1) differs from v1 in two places:
//!
//! | v0 | v1 |
//! |---|---|
//! | no `MaxRecords`, no `BatchSize` after `MaxBytes` | `MaxRecords` int32, `BatchSize` int32 |
//! | `PartitionMaxBytes` int32 after each `PartitionIndex` | (none) |
//!
//! Every other structure (acknowledgement batches, forgotten topics, tagged fields) is byte-for-byte v1,
//! and so are ShareFetchResponse v0 and ShareAcknowledge v0 (request and response), which the frame layer
//! therefore carries as v1 (see [`super::share_v2`]). This module writes and reads the v0 request body
//! field by field with the crate's primitive codecs, reusing the crate's v1 codecs for the unchanged
//! nested structures. A decoded v0 request has `max_records` and `batch_size` 0: the broker reads them as
//! absent (`ShareFetchService`, spec 2.6).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::share_fetch_request::{
    AcknowledgementBatch, FetchPartition, FetchTopic, ForgottenTopic,
};
use kafka_protocol::messages::{GroupId, ShareFetchRequest};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use super::share_v2::CodecError;

/// The crate version whose nested structures (acknowledgement batches, forgotten topics) are v0's too.
const NESTED_VERSION: i16 = 1;

/// Encodes a ShareFetch request body at version 0 (no `MaxRecords`/`BatchSize`; `PartitionMaxBytes` per
/// partition). Unknown tagged fields are not carried (v0 defines none).
pub fn encode_share_fetch_request_v0(
    request: &ShareFetchRequest,
    buf: &mut BytesMut,
) -> Result<(), CodecError> {
    put_compact_string(buf, request.group_id.as_ref().map(|id| id.0.as_str()));
    put_compact_string(buf, request.member_id.as_ref().map(|id| id.as_str()));
    buf.put_i32(request.share_session_epoch);
    buf.put_i32(request.max_wait_ms);
    buf.put_i32(request.min_bytes);
    buf.put_i32(request.max_bytes);
    put_length(buf, request.topics.len());
    for topic in &request.topics {
        buf.put_slice(topic.topic_id.as_bytes());
        put_length(buf, topic.partitions.len());
        for partition in &topic.partitions {
            buf.put_i32(partition.partition_index);
            buf.put_i32(partition.partition_max_bytes);
            put_nested(buf, &partition.acknowledgement_batches)?;
            put_no_tagged_fields(buf);
        }
        put_no_tagged_fields(buf);
    }
    put_nested(buf, &request.forgotten_topics_data)?;
    put_no_tagged_fields(buf);
    Ok(())
}

/// Decodes a ShareFetch request body at version 0; `None` when malformed. `max_records` and
/// `batch_size` are 0 (absent at v0).
pub fn decode_share_fetch_request_v0(buf: &mut Bytes) -> Option<ShareFetchRequest> {
    let group_id = get_compact_string(buf)?;
    let member_id = get_compact_string(buf)?;
    let share_session_epoch = get_i32(buf)?;
    let max_wait_ms = get_i32(buf)?;
    let min_bytes = get_i32(buf)?;
    let max_bytes = get_i32(buf)?;
    let topic_count = get_length(buf)?;
    let mut topics = Vec::with_capacity(topic_count.min(buf.remaining()));
    for _ in 0..topic_count {
        if buf.remaining() < 16 {
            return None;
        }
        let mut topic_id = [0u8; 16];
        buf.copy_to_slice(&mut topic_id);
        let partition_count = get_length(buf)?;
        let mut partitions = Vec::with_capacity(partition_count.min(buf.remaining()));
        for _ in 0..partition_count {
            let partition_index = get_i32(buf)?;
            let partition_max_bytes = get_i32(buf)?;
            let batches: Vec<AcknowledgementBatch> = get_nested(buf)?;
            skip_tagged_fields(buf)?;
            partitions.push(
                FetchPartition::default()
                    .with_partition_index(partition_index)
                    .with_partition_max_bytes(partition_max_bytes)
                    .with_acknowledgement_batches(batches),
            );
        }
        skip_tagged_fields(buf)?;
        topics.push(
            FetchTopic::default()
                .with_topic_id(uuid::Uuid::from_bytes(topic_id))
                .with_partitions(partitions),
        );
    }
    let forgotten: Vec<ForgottenTopic> = get_nested(buf)?;
    skip_tagged_fields(buf)?;
    Some(
        ShareFetchRequest::default()
            .with_group_id(group_id.map(GroupId))
            .with_member_id(member_id)
            .with_share_session_epoch(share_session_epoch)
            .with_max_wait_ms(max_wait_ms)
            .with_min_bytes(min_bytes)
            .with_max_bytes(max_bytes)
            .with_max_records(0)
            .with_batch_size(0)
            .with_topics(topics)
            .with_forgotten_topics_data(forgotten),
    )
}

fn put_unsigned_varint(buf: &mut BytesMut, mut value: u32) {
    while value >= 0x80 {
        buf.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

fn get_unsigned_varint(buf: &mut Bytes) -> Option<u32> {
    let mut value: u32 = 0;
    for index in 0..5 {
        if !buf.has_remaining() {
            return None;
        }
        let byte = buf.get_u8();
        value |= u32::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// A compact array's length: unsigned varint of length + 1.
fn put_length(buf: &mut BytesMut, length: usize) {
    put_unsigned_varint(buf, u32::try_from(length).unwrap_or(u32::MAX - 1) + 1);
}

/// A compact array's length; `None` for a null or malformed one (v0 arrays are not nullable).
fn get_length(buf: &mut Bytes) -> Option<usize> {
    get_unsigned_varint(buf)?
        .checked_sub(1)
        .map(|length| length as usize)
}

fn put_compact_string(buf: &mut BytesMut, value: Option<&str>) {
    match value {
        None => put_unsigned_varint(buf, 0),
        Some(text) => {
            put_length(buf, text.len());
            buf.put_slice(text.as_bytes());
        }
    }
}

fn get_compact_string(buf: &mut Bytes) -> Option<Option<StrBytes>> {
    let length_plus_one = get_unsigned_varint(buf)? as usize;
    let Some(length) = length_plus_one.checked_sub(1) else {
        return Some(None);
    };
    if buf.remaining() < length {
        return None;
    }
    let bytes = buf.split_to(length);
    StrBytes::from_utf8(bytes).ok().map(Some)
}

fn get_i32(buf: &mut Bytes) -> Option<i32> {
    (buf.remaining() >= 4).then(|| buf.get_i32())
}

/// A compact array of structures whose v0 layout is the crate's v1.
fn put_nested<T: Encodable>(buf: &mut BytesMut, items: &[T]) -> Result<(), CodecError> {
    put_length(buf, items.len());
    for item in items {
        item.encode(buf, NESTED_VERSION)
            .map_err(|error| error.to_string())?;
    }
    Ok(())
}

fn get_nested<T: Decodable>(buf: &mut Bytes) -> Option<Vec<T>> {
    let count = get_length(buf)?;
    let mut items = Vec::with_capacity(count.min(buf.remaining()));
    for _ in 0..count {
        items.push(T::decode(buf, NESTED_VERSION).ok()?);
    }
    Some(items)
}

fn put_no_tagged_fields(buf: &mut BytesMut) {
    put_unsigned_varint(buf, 0);
}

/// Skips a tagged-field section (v0 defines no tags, so any is unknown and dropped).
fn skip_tagged_fields(buf: &mut Bytes) -> Option<()> {
    let count = get_unsigned_varint(buf)?;
    for _ in 0..count {
        let _tag = get_unsigned_varint(buf)?;
        let size = get_unsigned_varint(buf)? as usize;
        if buf.remaining() < size {
            return None;
        }
        buf.advance(size);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ShareFetchRequest {
        let batch = AcknowledgementBatch::default()
            .with_first_offset(3)
            .with_last_offset(5)
            .with_acknowledge_types(vec![1, 2, 3]);
        ShareFetchRequest::default()
            .with_group_id(Some(GroupId(StrBytes::from_static_str("workers"))))
            .with_member_id(Some(StrBytes::from_static_str("member-1")))
            .with_share_session_epoch(4)
            .with_max_wait_ms(500)
            .with_min_bytes(1)
            .with_max_bytes(52_428_800)
            .with_topics(vec![FetchTopic::default()
                .with_topic_id(uuid::Uuid::from_u128(7))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition_index(2)
                    .with_partition_max_bytes(1_048_576)
                    .with_acknowledgement_batches(vec![batch])])])
            .with_forgotten_topics_data(vec![ForgottenTopic::default()
                .with_topic_id(uuid::Uuid::from_u128(8))
                .with_partitions(vec![0, 1])])
    }

    /// Spec 2.3/2.6: a v0 ShareFetch round-trips every v0 field; MaxRecords/BatchSize do not exist at v0.
    #[test]
    fn v0_request_round_trips_without_max_records() {
        let sent = request().with_max_records(100).with_batch_size(100);
        let mut buf = BytesMut::new();
        encode_share_fetch_request_v0(&sent, &mut buf).unwrap();
        let mut bytes = buf.freeze();
        let decoded = decode_share_fetch_request_v0(&mut bytes).unwrap();
        assert!(bytes.is_empty(), "the whole body is read");
        assert_eq!(decoded, request().with_max_records(0).with_batch_size(0));
    }

    /// Spec 2.3: v0 is 8 bytes shorter than v1 at the top (no MaxRecords/BatchSize) and 4 bytes longer
    /// per partition (PartitionMaxBytes).
    #[test]
    fn v0_layout_differs_from_v1_by_the_removed_and_added_fields() {
        let mut v0 = BytesMut::new();
        encode_share_fetch_request_v0(&request(), &mut v0).unwrap();
        let mut v1 = BytesMut::new();
        request().encode(&mut v1, 1).unwrap();
        assert_eq!(v0.len() + 8, v1.len() + 4);
    }

    /// A truncated v0 body is malformed, never a panic.
    #[test]
    fn truncated_v0_request_is_malformed() {
        let mut buf = BytesMut::new();
        encode_share_fetch_request_v0(&request(), &mut buf).unwrap();
        let full = buf.freeze();
        for cut in 0..full.len() {
            let mut truncated = full.slice(..cut);
            assert!(
                decode_share_fetch_request_v0(&mut truncated).is_none(),
                "cut at {cut}"
            );
        }
    }
}
