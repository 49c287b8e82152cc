//! Acquisition-lock timers as data (spec 1.4): one timer per cached unit (a whole batch, or one offset of
//! a split batch), kept exactly (cancellation removes the entry), so that two engines with the same
//! records compare equal.
//!
//! A unit is named by its first offset: a whole batch by the batch's first offset, a split offset by
//! itself. At most one unit starts at an offset at any time, so `(deadline_ms, unit_first_offset)` is a
//! unique key.

use std::collections::BTreeSet;

/// The armed acquisition-lock timers, earliest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct LockTimers {
    entries: BTreeSet<(u64, i64)>,
}

impl LockTimers {
    /// Arms the timer of the unit starting at `unit_first_offset`.
    pub(crate) fn arm(&mut self, deadline_ms: u64, unit_first_offset: i64) {
        let inserted = self.entries.insert((deadline_ms, unit_first_offset));
        debug_assert!(
            inserted,
            "timer armed twice: {deadline_ms} {unit_first_offset}"
        );
    }

    /// Cancels an armed timer; returns whether it was armed.
    pub(crate) fn disarm(&mut self, deadline_ms: u64, unit_first_offset: i64) -> bool {
        self.entries.remove(&(deadline_ms, unit_first_offset))
    }

    /// The earliest deadline.
    pub(crate) fn earliest_deadline_ms(&self) -> Option<u64> {
        self.entries.first().map(|&(deadline_ms, _)| deadline_ms)
    }

    /// Removes and returns the earliest timer due at `now_ms`.
    pub(crate) fn pop_due(&mut self, now_ms: u64) -> Option<(u64, i64)> {
        let &(deadline_ms, unit) = self.entries.first()?;
        if deadline_ms > now_ms {
            return None;
        }
        self.entries.pop_first();
        Some((deadline_ms, unit))
    }

    /// Every armed timer, earliest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, i64)> + '_ {
        self.entries.iter().copied()
    }

    /// Number of armed timers.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drops every timer (the partition was fenced).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}
