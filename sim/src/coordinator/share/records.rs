//! The records the share coordinator appends to `__share_group_state` (spec 3.3,
//! `Share{Snapshot,Update}{Key,Value}.json`), as plain serde structs. The node encodes them; the shard only
//! produces and replays them.

use serde::{Deserialize, Serialize};

use super::SharePartitionKey;
use crate::share::StateBatch;

/// A full image of one share partition (key apiKey 0, `ShareSnapshotValue` v0).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShareSnapshotValue {
    /// Bumped by every snapshot of the key; updates carry the epoch of the snapshot they follow.
    pub snapshot_epoch: i32,
    /// The group epoch of the last `InitializeShareGroupState`.
    pub state_epoch: i32,
    /// The leader epoch of the last share-partition leader that read or wrote.
    pub leader_epoch: i32,
    /// The persisted SPSO; -1 means "not decided yet" (`share.auto.offset.reset` applies).
    pub start_offset: i64,
    /// Tagged field 0 (4.2+): terminal offsets at or after the start offset; -1 when unknown.
    pub delivery_complete_count: i32,
    /// When this snapshot was made (`CreateTimestamp`), in virtual milliseconds.
    pub create_timestamp_ms: i64,
    /// When the state was last written (`WriteTimestamp`), in virtual milliseconds.
    pub write_timestamp_ms: i64,
    /// Sorted, non-overlapping, coalesced.
    pub state_batches: Vec<StateBatch>,
}

/// A delta on top of the last snapshot (key apiKey 1, `ShareUpdateValue` v0). It has no state epoch.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShareUpdateValue {
    /// The epoch of the snapshot this update follows.
    pub snapshot_epoch: i32,
    /// The writer's leader epoch; -1 leaves the stored one unchanged.
    pub leader_epoch: i32,
    /// The new start offset; -1 leaves the stored one unchanged.
    pub start_offset: i64,
    /// Tagged (4.2+). sharesim always writes the complete value here, so replay takes it as it is
    /// (see [`super::ShareStateImage::apply_update`]).
    pub delivery_complete_count: i32,
    /// The changed ranges, merged into the image by the `PersisterStateBatchCombiner` rule.
    pub state_batches: Vec<StateBatch>,
}

/// The value of a `__share_group_state` record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ShareRecordValue {
    /// A full image (`ShareSnapshot`).
    Snapshot(ShareSnapshotValue),
    /// A delta (`ShareUpdate`).
    Update(ShareUpdateValue),
    /// A null value under a ShareSnapshot key: the key is deleted.
    Tombstone,
}

/// One record of `__share_group_state`: a key and its value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShareCoordinatorRecord {
    /// The share partition the record is about.
    pub key: SharePartitionKey,
    /// What happened to it.
    pub value: ShareRecordValue,
}

impl ShareCoordinatorRecord {
    /// Whether the record is a snapshot (including a tombstone, which uses the snapshot key).
    pub fn is_snapshot_key(&self) -> bool {
        !matches!(self.value, ShareRecordValue::Update(_))
    }
}
