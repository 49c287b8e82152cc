//! The in-memory image of one share partition at the share coordinator (`ShareGroupOffset`), and how a
//! replayed record changes it (spec 3.3, `SCS.handleShareSnapshot/handleShareUpdate`).

use serde::{Deserialize, Serialize};

use super::combine_state_batches;
use super::records::{ShareSnapshotValue, ShareUpdateValue};
use crate::share::{PersistedShareState, StateBatch};

/// What the coordinator knows about one share partition after replaying its records.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShareStateImage {
    /// The epoch of the last snapshot.
    pub snapshot_epoch: i32,
    /// The group epoch of the last `InitializeShareGroupState`.
    pub state_epoch: i32,
    /// The leader epoch of the last record (not the maximum: Initialize resets it to 0).
    pub leader_epoch: i32,
    /// The persisted SPSO, or -1.
    pub start_offset: i64,
    /// Terminal offsets at or after the start offset, or -1.
    pub delivery_complete_count: i32,
    /// Of the last snapshot.
    pub create_timestamp_ms: i64,
    /// Of the last snapshot (updates carry no timestamps).
    pub write_timestamp_ms: i64,
    /// Sorted, non-overlapping, coalesced, at or after the start offset.
    pub state_batches: Vec<StateBatch>,
}

impl ShareStateImage {
    /// A snapshot replaces the image.
    pub fn from_snapshot(snapshot: &ShareSnapshotValue) -> ShareStateImage {
        ShareStateImage {
            snapshot_epoch: snapshot.snapshot_epoch,
            state_epoch: snapshot.state_epoch,
            leader_epoch: snapshot.leader_epoch,
            start_offset: snapshot.start_offset,
            delivery_complete_count: snapshot.delivery_complete_count,
            create_timestamp_ms: snapshot.create_timestamp_ms,
            write_timestamp_ms: snapshot.write_timestamp_ms,
            state_batches: snapshot.state_batches.clone(),
        }
    }

    /// An update with no snapshot before it (only a log pruned by someone else could hold one). Like Kafka,
    /// the update becomes the image; the state epoch is unknown and taken as 0.
    pub fn from_orphan_update(update: &ShareUpdateValue) -> ShareStateImage {
        let mut image = ShareStateImage {
            snapshot_epoch: update.snapshot_epoch,
            state_epoch: 0,
            leader_epoch: update.leader_epoch,
            start_offset: update.start_offset,
            delivery_complete_count: update.delivery_complete_count,
            create_timestamp_ms: 0,
            write_timestamp_ms: 0,
            state_batches: Vec::new(),
        };
        image.state_batches = combine_state_batches(&[], &update.state_batches, image.start_offset);
        image
    }

    /// An update is merged: the start offset and leader epoch are taken unless -1, the batches go through
    /// the `PersisterStateBatchCombiner` rule clipped at the new start offset. The snapshot epoch, state
    /// epoch and timestamps stay.
    ///
    /// The delivery-complete count is taken as it is, -1 included: sharesim's write path always puts the
    /// complete value in the update (spec 3.3 rule), so replay needs no rule of its own and "unknown" stays
    /// representable. Kafka's own replay is not specified by the spec here.
    pub fn apply_update(&mut self, update: &ShareUpdateValue) {
        if update.start_offset != -1 {
            self.start_offset = update.start_offset;
        }
        if update.leader_epoch != -1 {
            self.leader_epoch = update.leader_epoch;
        }
        self.delivery_complete_count = update.delivery_complete_count;
        self.state_batches = combine_state_batches(
            &self.state_batches,
            &update.state_batches,
            self.start_offset,
        );
    }

    /// The image as a full snapshot record value.
    pub fn to_snapshot_value(&self) -> ShareSnapshotValue {
        ShareSnapshotValue {
            snapshot_epoch: self.snapshot_epoch,
            state_epoch: self.state_epoch,
            leader_epoch: self.leader_epoch,
            start_offset: self.start_offset,
            delivery_complete_count: self.delivery_complete_count,
            create_timestamp_ms: self.create_timestamp_ms,
            write_timestamp_ms: self.write_timestamp_ms,
            state_batches: self.state_batches.clone(),
        }
    }

    /// The image as `ReadShareGroupState` answers it.
    pub fn to_persisted(&self) -> PersistedShareState {
        PersistedShareState {
            state_epoch: self.state_epoch,
            leader_epoch: self.leader_epoch,
            start_offset: self.start_offset,
            delivery_complete_count: self.delivery_complete_count,
            state_batches: self.state_batches.clone(),
        }
    }
}
