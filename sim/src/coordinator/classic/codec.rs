//! Classic-group records as `__consumer_offsets` records, beside the share-group ones of
//! [`crate::coordinator::runtime::codec`]: the same layout (2-byte big-endian record type, JSON key,
//! JSON value or none for a tombstone) with Kafka's record types for classic groups, OffsetCommit (1)
//! and GroupMetadata (2). The share-group codec skips these types, and this one skips theirs, so both
//! coordinators replay the same partition.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use super::records::{ClassicGroupMetadataValue, ClassicGroupRecord, OffsetCommitValue};
use crate::coordinator::runtime::LogRecord;

/// `OffsetCommitKey` (version 1).
pub const OFFSET_COMMIT_RECORD_TYPE: u16 = 1;
/// `GroupMetadataKey` (version 2).
pub const GROUP_METADATA_RECORD_TYPE: u16 = 2;

#[derive(Serialize, Deserialize)]
struct ClassicKey {
    group_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    partition: Option<i32>,
}

fn key_bytes(record_type: u16, key: &ClassicKey) -> Bytes {
    let json = serde_json::to_vec(key).expect("classic keys serialize");
    let mut bytes = BytesMut::with_capacity(2 + json.len());
    bytes.put_u16(record_type);
    bytes.put_slice(&json);
    bytes.freeze()
}

/// A classic-group record as an internal-topic record.
pub fn encode_classic_record(record: &ClassicGroupRecord) -> LogRecord {
    let (record_type, key, value) = match record {
        ClassicGroupRecord::GroupMetadata { group_id, value } => (
            GROUP_METADATA_RECORD_TYPE,
            ClassicKey {
                group_id: group_id.clone(),
                topic: None,
                partition: None,
            },
            value
                .as_ref()
                .map(|v| serde_json::to_vec(v).expect("values serialize")),
        ),
        ClassicGroupRecord::OffsetCommit {
            group_id,
            topic,
            partition,
            value,
        } => (
            OFFSET_COMMIT_RECORD_TYPE,
            ClassicKey {
                group_id: group_id.clone(),
                topic: Some(topic.clone()),
                partition: Some(*partition),
            },
            value
                .as_ref()
                .map(|v| serde_json::to_vec(v).expect("values serialize")),
        ),
    };
    LogRecord {
        key: Some(key_bytes(record_type, &key)),
        value: value.map(Bytes::from),
    }
}

/// An internal-topic record as a classic-group record: `Ok(None)` for other record types (share
/// groups), `Err` for a classic record that does not decode.
pub fn decode_classic_record(record: &LogRecord) -> Result<Option<ClassicGroupRecord>, String> {
    let Some(key) = record.key.as_deref() else {
        return Err("a record without a key".to_string());
    };
    if key.len() < 2 {
        return Err("a key shorter than its type".to_string());
    }
    let record_type = u16::from_be_bytes([key[0], key[1]]);
    if record_type != OFFSET_COMMIT_RECORD_TYPE && record_type != GROUP_METADATA_RECORD_TYPE {
        return Ok(None);
    }
    let parsed: ClassicKey = serde_json::from_slice(&key[2..]).map_err(|e| e.to_string())?;
    let value = record.value.as_deref();
    if record_type == GROUP_METADATA_RECORD_TYPE {
        let value: Option<ClassicGroupMetadataValue> = value
            .map(serde_json::from_slice)
            .transpose()
            .map_err(|e| e.to_string())?;
        return Ok(Some(ClassicGroupRecord::GroupMetadata {
            group_id: parsed.group_id,
            value,
        }));
    }
    let (Some(topic), Some(partition)) = (parsed.topic, parsed.partition) else {
        return Err("an offset commit key without its partition".to_string());
    };
    let value: Option<OffsetCommitValue> = value
        .map(serde_json::from_slice)
        .transpose()
        .map_err(|e| e.to_string())?;
    Ok(Some(ClassicGroupRecord::OffsetCommit {
        group_id: parsed.group_id,
        topic,
        partition,
        value,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::classic::ClassicMemberValue;

    /// Records round-trip; share-group record types are skipped.
    #[test]
    fn round_trips_and_skips_foreign_types() {
        let records = [
            ClassicGroupRecord::GroupMetadata {
                group_id: "g".into(),
                value: Some(ClassicGroupMetadataValue {
                    protocol_type: Some("consumer".into()),
                    generation_id: 3,
                    protocol_name: Some("range".into()),
                    leader_id: Some("m".into()),
                    current_state_timestamp_ms: 5,
                    members: vec![ClassicMemberValue {
                        member_id: "m".into(),
                        client_id: "c".into(),
                        session_timeout_ms: 10,
                        rebalance_timeout_ms: 20,
                        subscription: vec![1, 2],
                        assignment: vec![3],
                    }],
                }),
            },
            ClassicGroupRecord::OffsetCommit {
                group_id: "g".into(),
                topic: "orders".into(),
                partition: 2,
                value: None,
            },
        ];
        for record in &records {
            assert_eq!(
                decode_classic_record(&encode_classic_record(record)),
                Ok(Some(record.clone()))
            );
        }
        let foreign = LogRecord {
            key: Some(Bytes::from_static(&[0, 11, b'{', b'}'])),
            value: None,
        };
        assert_eq!(decode_classic_record(&foreign), Ok(None));
    }
}
