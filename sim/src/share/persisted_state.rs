//! The share-partition state as the share coordinator keeps it (spec 3.2–3.5): what a leader writes with
//! `WriteShareGroupState`, what `ReadShareGroupState` returns, and what the coordinator merges.
//!
//! These are the engine-level shapes; the wire messages of the `kafka-protocol` crate are translated to
//! and from them at the node boundary.

use serde::{Deserialize, Serialize};

use super::RecordState;

/// One persisted range of offsets sharing a state and delivery count (`StateBatches[]` entries).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StateBatch {
    /// First offset of the range, inclusive.
    pub first_offset: i64,
    /// Last offset of the range, inclusive.
    pub last_offset: i64,
    /// Never ACQUIRED: acquisitions are not persisted (spec 3.2).
    pub delivery_state: RecordState,
    /// Sent on the wire as int16.
    pub delivery_count: u16,
}

impl StateBatch {
    /// Number of offsets in the range.
    pub fn offset_count(&self) -> u64 {
        debug_assert!(self.first_offset <= self.last_offset);
        (self.last_offset - self.first_offset + 1) as u64
    }
}

/// The full persisted image of one share partition (a `ShareSnapshot`, or the answer to a read).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PersistedShareState {
    /// Set by the group coordinator's `InitializeShareGroupState` (the group epoch at that time).
    pub state_epoch: i32,
    /// Epoch of the last share-partition leader that read or wrote.
    pub leader_epoch: i32,
    /// SPSO as last persisted; -1 means "not yet decided", so `share.auto.offset.reset` applies.
    pub start_offset: i64,
    /// Terminal offsets at or after the start offset (KIP-1226, 4.2+); -1 when unknown.
    pub delivery_complete_count: i32,
    /// Sorted, non-overlapping ranges.
    pub state_batches: Vec<StateBatch>,
}

/// One `WriteShareGroupState` partition entry, as a share-partition leader emits it (spec 3.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WriteShareGroupState {
    /// The state epoch read at initialization.
    pub state_epoch: i32,
    /// This leader's epoch; the coordinator fences lower ones.
    pub leader_epoch: i32,
    /// The SPSO *before* this operation's advancement; an advance is persisted by the next write.
    pub start_offset: i64,
    /// Sent from 4.2 (request v1); -1 when the profile has no delivery-complete count.
    pub delivery_complete_count: i32,
    /// Only the ranges this operation changed, with their new state.
    pub state_batches: Vec<StateBatch>,
}
