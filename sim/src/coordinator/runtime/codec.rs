//! How coordinator records become internal-topic records and back.
//!
//! A key is a 2-byte big-endian record type followed by a JSON key; a value is JSON, or absent for a
//! tombstone. The record types are Kafka's (`CoordinatorRecordType` in `__consumer_offsets`; the key
//! apiKeys 0 = ShareSnapshot and 1 = ShareUpdate in `__share_group_state`, spec 3.3), so compaction keys
//! and tombstones behave as in Kafka. The bodies are JSON rather than Kafka's binary schemas: only
//! sharesim reads these topics, and JSON keeps them legible in traces.
//!
//! Decoding a `__consumer_offsets` record of a type this module does not know (classic-group records)
//! gives `Ok(None)`, so replay can share the partition with other coordinators.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use super::host::LogRecord;
use crate::coordinator::group::GroupCoordinatorRecord;
use crate::coordinator::share::{
    ShareCoordinatorRecord, SharePartitionKey, ShareRecordValue, ShareSnapshotValue,
    ShareUpdateValue,
};
use crate::share::MemberId;

/// `ShareSnapshotKey` (apiKey 0).
pub const SHARE_SNAPSHOT_RECORD_TYPE: u16 = 0;
/// `ShareUpdateKey` (apiKey 1).
pub const SHARE_UPDATE_RECORD_TYPE: u16 = 1;
/// `ShareGroupMemberMetadata`.
pub const SHARE_GROUP_MEMBER_METADATA_RECORD_TYPE: u16 = 10;
/// `ShareGroupMetadata`.
pub const SHARE_GROUP_METADATA_RECORD_TYPE: u16 = 11;
/// `ShareGroupTargetAssignmentMetadata`.
pub const SHARE_GROUP_TARGET_ASSIGNMENT_METADATA_RECORD_TYPE: u16 = 12;
/// `ShareGroupTargetAssignmentMember`.
pub const SHARE_GROUP_TARGET_ASSIGNMENT_MEMBER_RECORD_TYPE: u16 = 13;
/// `ShareGroupCurrentMemberAssignment`.
pub const SHARE_GROUP_CURRENT_MEMBER_ASSIGNMENT_RECORD_TYPE: u16 = 14;
/// `ShareGroupStatePartitionMetadata`.
pub const SHARE_GROUP_STATE_PARTITION_METADATA_RECORD_TYPE: u16 = 15;

/// A record that does not decode: a corrupt or foreign internal-topic record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecError(pub String);

#[derive(Serialize, Deserialize)]
struct GroupKey {
    group_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member_id: Option<MemberId>,
}

fn key_bytes(record_type: u16, key: &impl Serialize) -> Bytes {
    let json = serde_json::to_vec(key).expect("coordinator keys serialize");
    let mut bytes = BytesMut::with_capacity(2 + json.len());
    bytes.put_u16(record_type);
    bytes.put_slice(&json);
    bytes.freeze()
}

fn value_bytes(value: Option<&impl Serialize>) -> Option<Bytes> {
    value.map(|value| Bytes::from(serde_json::to_vec(value).expect("coordinator values serialize")))
}

fn split_key(record: &LogRecord) -> Result<(u16, &[u8]), CodecError> {
    let key = record
        .key
        .as_deref()
        .ok_or_else(|| CodecError("a coordinator record without a key".to_string()))?;
    if key.len() < 2 {
        return Err(CodecError(
            "a coordinator key shorter than its type".to_string(),
        ));
    }
    Ok((u16::from_be_bytes([key[0], key[1]]), &key[2..]))
}

fn json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, CodecError> {
    serde_json::from_slice(bytes).map_err(|error| CodecError(error.to_string()))
}

fn optional_json<'a, T: Deserialize<'a>>(bytes: Option<&'a [u8]>) -> Result<Option<T>, CodecError> {
    bytes.map(json).transpose()
}

/// A share-coordinator record as an internal-topic record.
pub fn encode_share_record(record: &ShareCoordinatorRecord) -> LogRecord {
    let (record_type, value) = match &record.value {
        ShareRecordValue::Snapshot(snapshot) => {
            (SHARE_SNAPSHOT_RECORD_TYPE, value_bytes(Some(snapshot)))
        }
        ShareRecordValue::Update(update) => (SHARE_UPDATE_RECORD_TYPE, value_bytes(Some(update))),
        ShareRecordValue::Tombstone => (SHARE_SNAPSHOT_RECORD_TYPE, None),
    };
    LogRecord {
        key: Some(key_bytes(record_type, &record.key)),
        value,
    }
}

/// An internal-topic record as a share-coordinator record.
pub fn decode_share_record(record: &LogRecord) -> Result<ShareCoordinatorRecord, CodecError> {
    let (record_type, key) = split_key(record)?;
    let key: SharePartitionKey = json(key)?;
    let value = match (record_type, record.value.as_deref()) {
        (SHARE_SNAPSHOT_RECORD_TYPE, None) => ShareRecordValue::Tombstone,
        (SHARE_SNAPSHOT_RECORD_TYPE, Some(value)) => {
            ShareRecordValue::Snapshot(json::<ShareSnapshotValue>(value)?)
        }
        (SHARE_UPDATE_RECORD_TYPE, Some(value)) => {
            ShareRecordValue::Update(json::<ShareUpdateValue>(value)?)
        }
        (record_type, _) => {
            return Err(CodecError(format!(
                "record type {record_type} in __share_group_state"
            )))
        }
    };
    Ok(ShareCoordinatorRecord { key, value })
}

/// A group-coordinator share-group record as an internal-topic record.
pub fn encode_group_record(record: &GroupCoordinatorRecord) -> LogRecord {
    let group_id = record.group_id().to_string();
    let (record_type, member_id, value) = match record {
        GroupCoordinatorRecord::GroupMetadata { value, .. } => (
            SHARE_GROUP_METADATA_RECORD_TYPE,
            None,
            value_bytes(value.as_ref()),
        ),
        GroupCoordinatorRecord::MemberMetadata {
            member_id, value, ..
        } => (
            SHARE_GROUP_MEMBER_METADATA_RECORD_TYPE,
            Some(member_id.clone()),
            value_bytes(value.as_ref()),
        ),
        GroupCoordinatorRecord::TargetAssignmentMetadata {
            assignment_epoch, ..
        } => (
            SHARE_GROUP_TARGET_ASSIGNMENT_METADATA_RECORD_TYPE,
            None,
            value_bytes(assignment_epoch.as_ref()),
        ),
        GroupCoordinatorRecord::TargetAssignmentMember {
            member_id, value, ..
        } => (
            SHARE_GROUP_TARGET_ASSIGNMENT_MEMBER_RECORD_TYPE,
            Some(member_id.clone()),
            value_bytes(value.as_ref()),
        ),
        GroupCoordinatorRecord::CurrentMemberAssignment {
            member_id, value, ..
        } => (
            SHARE_GROUP_CURRENT_MEMBER_ASSIGNMENT_RECORD_TYPE,
            Some(member_id.clone()),
            value_bytes(value.as_ref()),
        ),
        GroupCoordinatorRecord::StatePartitionMetadata { value, .. } => (
            SHARE_GROUP_STATE_PARTITION_METADATA_RECORD_TYPE,
            None,
            value_bytes(value.as_ref()),
        ),
    };
    LogRecord {
        key: Some(key_bytes(
            record_type,
            &GroupKey {
                group_id,
                member_id,
            },
        )),
        value,
    }
}

/// An internal-topic record as a share-group record; `Ok(None)` for record types of other group kinds.
pub fn decode_group_record(
    record: &LogRecord,
) -> Result<Option<GroupCoordinatorRecord>, CodecError> {
    let (record_type, key) = split_key(record)?;
    if !(SHARE_GROUP_MEMBER_METADATA_RECORD_TYPE..=SHARE_GROUP_STATE_PARTITION_METADATA_RECORD_TYPE)
        .contains(&record_type)
    {
        return Ok(None);
    }
    let key: GroupKey = json(key)?;
    let value = record.value.as_deref();
    let member_id = || {
        key.member_id
            .clone()
            .ok_or_else(|| CodecError(format!("record type {record_type} without a member id")))
    };
    let group_id = key.group_id.clone();
    let decoded = match record_type {
        SHARE_GROUP_METADATA_RECORD_TYPE => GroupCoordinatorRecord::GroupMetadata {
            group_id,
            value: optional_json(value)?,
        },
        SHARE_GROUP_MEMBER_METADATA_RECORD_TYPE => GroupCoordinatorRecord::MemberMetadata {
            group_id,
            member_id: member_id()?,
            value: optional_json(value)?,
        },
        SHARE_GROUP_TARGET_ASSIGNMENT_METADATA_RECORD_TYPE => {
            GroupCoordinatorRecord::TargetAssignmentMetadata {
                group_id,
                assignment_epoch: optional_json(value)?,
            }
        }
        SHARE_GROUP_TARGET_ASSIGNMENT_MEMBER_RECORD_TYPE => {
            GroupCoordinatorRecord::TargetAssignmentMember {
                group_id,
                member_id: member_id()?,
                value: optional_json(value)?,
            }
        }
        SHARE_GROUP_CURRENT_MEMBER_ASSIGNMENT_RECORD_TYPE => {
            GroupCoordinatorRecord::CurrentMemberAssignment {
                group_id,
                member_id: member_id()?,
                value: optional_json(value)?,
            }
        }
        _ => GroupCoordinatorRecord::StatePartitionMetadata {
            group_id,
            value: optional_json(value)?,
        },
    };
    Ok(Some(decoded))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::coordinator::group::{
        ShareGroupCurrentMemberAssignmentValue, ShareGroupMemberMetadataValue,
        ShareGroupMetadataValue, ShareGroupStatePartitionMetadataValue,
        ShareGroupTargetAssignmentMemberValue, TopicPartitionsInfo,
    };
    use crate::coordinator::share::{TopicId, TopicIdPartition};
    use crate::share::{RecordState, StateBatch};

    fn key() -> SharePartitionKey {
        SharePartitionKey::new(
            "g",
            TopicIdPartition {
                topic_id: TopicId(7),
                partition: 3,
            },
        )
    }

    /// Spec 3.3: snapshots, updates and tombstones survive the trip through the log.
    #[test]
    fn share_records_round_trip() {
        let snapshot = ShareSnapshotValue {
            snapshot_epoch: 1,
            state_epoch: 2,
            leader_epoch: 3,
            start_offset: 10,
            delivery_complete_count: 1,
            create_timestamp_ms: 5,
            write_timestamp_ms: 6,
            state_batches: vec![StateBatch {
                first_offset: 10,
                last_offset: 12,
                delivery_state: RecordState::Acknowledged,
                delivery_count: 1,
            }],
        };
        let update = ShareUpdateValue {
            snapshot_epoch: 1,
            leader_epoch: -1,
            start_offset: -1,
            delivery_complete_count: -1,
            state_batches: vec![],
        };
        for value in [
            ShareRecordValue::Snapshot(snapshot),
            ShareRecordValue::Update(update),
            ShareRecordValue::Tombstone,
        ] {
            let record = ShareCoordinatorRecord { key: key(), value };
            let encoded = encode_share_record(&record);
            assert_eq!(decode_share_record(&encoded), Ok(record));
        }
        let tombstone = encode_share_record(&ShareCoordinatorRecord {
            key: key(),
            value: ShareRecordValue::Tombstone,
        });
        assert!(tombstone.value.is_none(), "a tombstone has a null value");
        assert!(decode_share_record(&LogRecord {
            key: Some(Bytes::from_static(b"\x00")),
            value: None
        })
        .is_err());
    }

    /// Spec 4 and 5: every share-group record kind, values and tombstones, survives the log; other
    /// record types are skipped.
    #[test]
    fn group_records_round_trip() {
        let member_id = MemberId::new("m1");
        let tp = TopicIdPartition {
            topic_id: TopicId(9),
            partition: 0,
        };
        let records = vec![
            GroupCoordinatorRecord::GroupMetadata {
                group_id: "g".into(),
                value: Some(ShareGroupMetadataValue {
                    epoch: 4,
                    metadata_hash: u64::MAX,
                }),
            },
            GroupCoordinatorRecord::GroupMetadata {
                group_id: "g".into(),
                value: None,
            },
            GroupCoordinatorRecord::MemberMetadata {
                group_id: "g".into(),
                member_id: member_id.clone(),
                value: Some(ShareGroupMemberMetadataValue {
                    rack_id: None,
                    subscribed_topic_names: BTreeSet::from(["t".to_string()]),
                }),
            },
            GroupCoordinatorRecord::TargetAssignmentMetadata {
                group_id: "g".into(),
                assignment_epoch: Some(4),
            },
            GroupCoordinatorRecord::TargetAssignmentMember {
                group_id: "g".into(),
                member_id: member_id.clone(),
                value: Some(ShareGroupTargetAssignmentMemberValue {
                    partitions: BTreeSet::from([tp]),
                }),
            },
            GroupCoordinatorRecord::CurrentMemberAssignment {
                group_id: "g".into(),
                member_id: member_id.clone(),
                value: Some(ShareGroupCurrentMemberAssignmentValue {
                    member_epoch: 4,
                    previous_member_epoch: 3,
                    assigned_partitions: BTreeSet::from([tp]),
                }),
            },
            GroupCoordinatorRecord::CurrentMemberAssignment {
                group_id: "g".into(),
                member_id,
                value: None,
            },
            GroupCoordinatorRecord::StatePartitionMetadata {
                group_id: "g".into(),
                value: Some(ShareGroupStatePartitionMetadataValue {
                    initializing_topics: BTreeMap::new(),
                    initialized_topics: BTreeMap::from([(
                        TopicId(9),
                        TopicPartitionsInfo {
                            topic_name: "t".into(),
                            partitions: BTreeSet::from([0]),
                        },
                    )]),
                    deleting_topics: BTreeMap::new(),
                }),
            },
        ];
        for record in records {
            let encoded = encode_group_record(&record);
            assert_eq!(decode_group_record(&encoded), Ok(Some(record)));
        }
        let classic = LogRecord {
            key: Some(Bytes::from_static(b"\x00\x02{}")),
            value: None,
        };
        assert_eq!(decode_group_record(&classic), Ok(None));
    }
}
