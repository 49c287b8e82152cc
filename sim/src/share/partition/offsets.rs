//! SPSO, SPEO and the next fetch offset (spec 1.5, 1.6, 3.5): how the in-flight window is measured, where
//! the next fetch starts, and how SPSO advances and batches are evicted.

use serde::{Deserialize, Serialize};

use super::events::StartOffsetMoveCause;
use super::in_flight_state::InFlightState;
use super::{EngineMutation, SharePartition};

/// `persisterReadResultGapWindow` (spec 3.5): after initialization, offsets in `[gap_start_offset,
/// end_offset]` that no persisted batch covers are fetched and acquired as new records, until acquisition
/// passes `end_offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GapWindow {
    /// SPEO at initialization.
    pub end_offset: i64,
    /// The first offset not yet examined by acquisition (the first hole at initialization).
    pub gap_start_offset: i64,
}

impl SharePartition {
    /// `numInFlightRecords`: `SPEO - SPSO + 1` when the cache is non-empty, else 0 (spec 1.5). It counts
    /// every offset in the window, terminal ones included.
    pub fn in_flight_count(&self) -> u64 {
        if self.cache.is_empty() {
            return 0;
        }
        (self.end_offset - self.start_offset + 1).max(0) as u64
    }

    /// `canAcquireRecords` (spec 1.5): records inside the window can be re-acquired, or the window has
    /// room.
    pub fn can_acquire_records(&self) -> bool {
        if self.next_fetch_offset() != self.end_offset + 1 {
            return true;
        }
        self.in_flight_count() < u64::from(self.config.max_record_locks)
    }

    /// `nextFetchOffset` (spec 1.5), including its quirk: without a pending scan it is SPEO itself when the
    /// cache is empty or SPSO is past the last cached offset, else SPEO + 1. With `findNextFetchOffset` it
    /// is the first AVAILABLE offset with no pending transition, honouring the initial-read gap window.
    ///
    /// Kafka's scan returns SPEO + 1 when it finds nothing (and clears the flag); sharesim returns the
    /// value of the unflagged rule instead, which differs only when the cache is empty or SPSO is past it,
    /// where SPEO + 1 would skip offset SPEO.
    pub fn next_fetch_offset(&self) -> i64 {
        if self.find_next_fetch_offset {
            if let Some(offset) = self.first_acquirable_offset() {
                return offset;
            }
        }
        let past_cache = self
            .cache
            .last_key_value()
            .is_none_or(|(_, batch)| self.start_offset > batch.last_offset);
        if past_cache {
            self.end_offset
        } else {
            self.end_offset + 1
        }
    }

    /// The scan of `nextFetchOffset`: the gap-window start if a batch lies past it, else the first
    /// acquirable offset.
    pub(crate) fn first_acquirable_offset(&self) -> Option<i64> {
        let gap_start = self.gap_window.map(|window| window.gap_start_offset);
        for batch in self.cache.values() {
            if let Some(gap_start) = gap_start {
                if batch.first_offset > gap_start {
                    return Some(gap_start);
                }
            }
            let mut found = None;
            batch.for_each_unit_in(batch.first_offset, batch.last_offset, |first, _, state| {
                if found.is_none() && state.is_acquirable() {
                    found = Some(first);
                }
            });
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// `maybeUpdatePersisterGapWindowStartOffset`: acquisition examined everything before `offset`.
    pub(crate) fn note_gap_window_progress(&mut self, offset: i64) {
        let Some(window) = self.gap_window.as_mut() else {
            return;
        };
        if offset > window.end_offset {
            self.gap_window = None;
        } else {
            window.gap_start_offset = window.gap_start_offset.max(offset);
        }
    }

    /// Whether SPSO may pass a unit: terminal with no write in flight (spec 1.6). The mutation
    /// `SpsoPassesPendingWrite` also passes a unit whose write is in flight, whatever its state.
    fn may_pass(&self, state: &InFlightState) -> bool {
        state.is_terminal_idle()
            || (self.mutation == Some(EngineMutation::SpsoPassesPendingWrite)
                && state.pending.is_some())
    }

    /// `canMoveStartOffset`: the unit at SPSO is cached, terminal and not pending (no gap sits at SPSO).
    fn can_move_start_offset(&self) -> bool {
        let Some((_, batch)) = self.cache.range(..=self.start_offset).next_back() else {
            return false;
        };
        batch.contains(self.start_offset) && self.may_pass(batch.state_at(self.start_offset))
    }

    /// `findLastOffsetAcknowledged`: the last offset of the contiguous run of terminal, non-pending units
    /// from the first cached batch, stopping at the gap window.
    fn last_offset_acknowledged(&self) -> Option<i64> {
        let gap_start = self.gap_window.map(|window| window.gap_start_offset);
        let mut last_acknowledged = None;
        for batch in self.cache.values() {
            if gap_start.is_some_and(|gap_start| batch.last_offset >= gap_start) {
                return last_acknowledged;
            }
            let mut stopped = false;
            batch.for_each_unit_in(batch.first_offset, batch.last_offset, |_, last, state| {
                if stopped {
                    return;
                }
                if self.may_pass(state) {
                    last_acknowledged = Some(last);
                } else {
                    stopped = true;
                }
            });
            if stopped {
                return last_acknowledged;
            }
        }
        last_acknowledged
    }

    /// `maybeUpdateCachedStateAndOffsets` (spec 1.6): advance SPSO over the terminal head and evict whole
    /// batches before it; clear the cache when everything is terminal.
    ///
    /// Kafka scans from the first cached batch, which after a log-start move may lie below SPSO; sharesim
    /// never lets that scan move SPSO backwards (Kafka would, in that corner).
    pub(crate) fn maybe_advance_start_offset(&mut self) {
        if !self.can_move_start_offset() {
            return;
        }
        let Some(last_acknowledged) = self.last_offset_acknowledged() else {
            return;
        };
        let last_cached = self
            .cache
            .last_key_value()
            .map(|(_, batch)| batch.last_offset)
            .expect("can_move_start_offset found a cached batch");
        let new_start = self.start_offset.max(last_acknowledged + 1);
        self.advance_start_offset_to(new_start, StartOffsetMoveCause::Advance);
        if self.mutation == Some(EngineMutation::SpsoPassesPendingWrite) {
            // A passed unit may still hold its lock (pending); its timer goes with the eviction.
            for batch in self.cache.values_mut() {
                if batch.last_offset <= last_acknowledged {
                    let (first, last) = (batch.first_offset, batch.last_offset);
                    batch.for_each_unit_in_mut(first, last, |unit_first, _, state| {
                        state.cancel_lock(unit_first, &mut self.timers);
                    });
                }
            }
        }
        if last_acknowledged == last_cached {
            self.cache.clear();
            self.delivery_complete_count = 0;
            self.set_end_offset(new_start);
            return;
        }
        while let Some(entry) = self.cache.first_entry() {
            if entry.get().last_offset > last_acknowledged {
                break;
            }
            entry.remove();
        }
    }
}
