//! Read-only views of cached records, for hosts, checkers and reports.

use serde::{Deserialize, Serialize};

use super::in_flight_batch::InFlightBatch;
use super::in_flight_state::InFlightState;
use crate::share::{MemberId, RecordState};

/// The state of one cached offset.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordView {
    /// Its record state (the new one while a write is pending).
    pub state: RecordState,
    /// Its delivery count.
    pub delivery_count: u16,
    /// The owner while ACQUIRED.
    pub member: Option<MemberId>,
    /// The acquisition-lock deadline while a lock is attached (ACQUIRED, or pending until commit).
    pub lock_deadline_ms: Option<u64>,
    /// Whether the lock timer is still armed (false once it fired during a pending write).
    pub lock_armed: bool,
    /// A two-phase transition is waiting for its write.
    pub pending: bool,
}

impl RecordView {
    pub(crate) fn of(state: &InFlightState) -> RecordView {
        RecordView {
            state: state.state,
            delivery_count: state.delivery_count,
            member: state.member.clone(),
            lock_deadline_ms: state.lock.map(|lock| lock.deadline_ms),
            lock_armed: state.lock.is_some_and(|lock| lock.armed),
            pending: state.pending.is_some(),
        }
    }

    /// ACQUIRED with a lock that has not expired at `now_ms`.
    pub fn is_held_at(&self, now_ms: u64) -> bool {
        self.state == RecordState::Acquired
            && self
                .lock_deadline_ms
                .is_some_and(|deadline| deadline > now_ms)
    }
}

/// One cached batch.
#[derive(Clone, Copy, Debug)]
pub struct CachedBatchView<'a> {
    batch: &'a InFlightBatch,
}

impl<'a> CachedBatchView<'a> {
    pub(crate) fn new(batch: &'a InFlightBatch) -> Self {
        CachedBatchView { batch }
    }

    /// First offset.
    pub fn first_offset(&self) -> i64 {
        self.batch.first_offset
    }

    /// Last offset (inclusive).
    pub fn last_offset(&self) -> i64 {
        self.batch.last_offset
    }

    /// Kept per offset.
    pub fn is_split(&self) -> bool {
        self.batch.is_split()
    }

    /// `(offset, state)` for every offset, ascending.
    pub fn records(&self) -> impl Iterator<Item = (i64, RecordView)> + 'a {
        let batch = self.batch;
        (batch.first_offset..=batch.last_offset)
            .map(move |offset| (offset, RecordView::of(batch.state_at(offset))))
    }

    /// `(first, last, state)` per unit (one for a whole batch, one per offset when split).
    pub fn units(&self) -> Vec<(i64, i64, RecordView)> {
        let mut units = Vec::new();
        self.batch.for_each_unit_in(
            self.batch.first_offset,
            self.batch.last_offset,
            |first, last, state| units.push((first, last, RecordView::of(state))),
        );
        units
    }
}
