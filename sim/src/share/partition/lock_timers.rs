//! Acquisition-lock timers as data (spec 1.4): one timer per cached unit (a whole batch, or one offset of
//! a split batch), kept exactly (cancellation removes the timer), so that two engines with the same
//! records compare equal.
//!
//! A unit is named by its first offset: a whole batch by the batch's first offset, a split offset by
//! itself. At most one unit starts at an offset at any time, so `(deadline_ms, unit_first_offset)` is a
//! unique key.
//!
//! Why not a `BTreeSet`: with one lock duration per group, deadlines are armed in increasing order and
//! expire or are cancelled mostly from the oldest end, so a sorted ring buffer makes arming and popping
//! O(1) and cancelling a binary search over contiguous memory. That keeps the engine's cost per record
//! flat as the in-flight window grows to 10,000 (the partition_engine bench). Cancelled entries stay as
//! tombstones until they reach an end of the buffer or outnumber the armed ones (then the buffer is
//! compacted), so a cancel never shifts the buffer.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

/// One slot of the buffer: a timer, armed or cancelled (a tombstone).
#[derive(Clone, Copy, Debug)]
struct Slot {
    deadline_ms: u64,
    unit_first_offset: i64,
    armed: bool,
}

impl Slot {
    fn key(&self) -> (u64, i64) {
        (self.deadline_ms, self.unit_first_offset)
    }
}

/// The armed acquisition-lock timers, earliest first.
#[derive(Clone, Debug, Default)]
pub(crate) struct LockTimers {
    /// Sorted by `(deadline_ms, unit_first_offset)`, keys unique; the first and last slots are armed.
    slots: VecDeque<Slot>,
    /// Number of armed slots.
    armed_count: usize,
}

impl LockTimers {
    /// Arms the timer of the unit starting at `unit_first_offset`.
    pub(crate) fn arm(&mut self, deadline_ms: u64, unit_first_offset: i64) {
        let key = (deadline_ms, unit_first_offset);
        let slot = Slot {
            deadline_ms,
            unit_first_offset,
            armed: true,
        };
        self.armed_count += 1;
        // The common case: a fresh acquisition has the latest deadline.
        if self.slots.back().is_none_or(|last| last.key() < key) {
            self.slots.push_back(slot);
            return;
        }
        match self.slots.binary_search_by(|probe| probe.key().cmp(&key)) {
            Ok(index) => {
                debug_assert!(
                    !self.slots[index].armed,
                    "timer armed twice: {deadline_ms} {unit_first_offset}"
                );
                self.slots[index].armed = true;
            }
            Err(index) => self.slots.insert(index, slot),
        }
    }

    /// Cancels an armed timer; returns whether it was armed.
    pub(crate) fn disarm(&mut self, deadline_ms: u64, unit_first_offset: i64) -> bool {
        let key = (deadline_ms, unit_first_offset);
        // The common case: the oldest lock is acknowledged first.
        let index = if self.slots.front().is_some_and(|first| first.key() == key) {
            0
        } else {
            match self.slots.binary_search_by(|probe| probe.key().cmp(&key)) {
                Ok(index) => index,
                Err(_) => return false,
            }
        };
        if !self.slots[index].armed {
            return false;
        }
        self.slots[index].armed = false;
        self.armed_count -= 1;
        self.trim();
        if self.slots.len() > 2 * self.armed_count + 64 {
            self.slots.retain(|slot| slot.armed);
        }
        true
    }

    /// The earliest deadline.
    pub(crate) fn earliest_deadline_ms(&self) -> Option<u64> {
        self.slots.front().map(|slot| slot.deadline_ms)
    }

    /// Removes and returns the earliest timer due at `now_ms`.
    pub(crate) fn pop_due(&mut self, now_ms: u64) -> Option<(u64, i64)> {
        let first = *self.slots.front()?;
        if first.deadline_ms > now_ms {
            return None;
        }
        self.slots.pop_front();
        self.armed_count -= 1;
        self.trim();
        Some(first.key())
    }

    /// Every armed timer, earliest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, i64)> + '_ {
        self.slots
            .iter()
            .filter(|slot| slot.armed)
            .map(|slot| slot.key())
    }

    /// Number of armed timers.
    pub(crate) fn len(&self) -> usize {
        self.armed_count
    }

    /// Drops every timer (the partition was fenced).
    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        self.armed_count = 0;
    }

    /// Drops tombstones at both ends, so that the first and last slots are armed.
    fn trim(&mut self) {
        while self.slots.front().is_some_and(|slot| !slot.armed) {
            self.slots.pop_front();
        }
        while self.slots.back().is_some_and(|slot| !slot.armed) {
            self.slots.pop_back();
        }
    }
}

/// Two timer sets are equal when the same timers are armed, whatever tombstones they hold.
impl PartialEq for LockTimers {
    fn eq(&self, other: &Self) -> bool {
        self.armed_count == other.armed_count && self.iter().eq(other.iter())
    }
}

impl Eq for LockTimers {}

impl Hash for LockTimers {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.armed_count.hash(state);
        for key in self.iter() {
            key.hash(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::LockTimers;

    #[derive(Clone, Debug)]
    enum Op {
        Arm(u64, i64),
        Disarm(u64, i64),
        PopDue(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u64..40, 0i64..20).prop_map(|(d, o)| Op::Arm(d, o)),
            (0u64..40, 0i64..20).prop_map(|(d, o)| Op::Disarm(d, o)),
            (0u64..40).prop_map(Op::PopDue),
        ]
    }

    proptest! {
        /// Spec 1.4: the ring buffer behaves exactly as an ordered set of (deadline, unit) timers.
        #[test]
        fn behaves_as_an_ordered_set(ops in proptest::collection::vec(op(), 0..200)) {
            let mut timers = LockTimers::default();
            let mut reference = BTreeSet::new();
            for op in ops {
                match op {
                    Op::Arm(deadline_ms, unit) => {
                        if reference.insert((deadline_ms, unit)) {
                            timers.arm(deadline_ms, unit);
                        }
                    }
                    Op::Disarm(deadline_ms, unit) => {
                        let expected = reference.remove(&(deadline_ms, unit));
                        prop_assert_eq!(timers.disarm(deadline_ms, unit), expected);
                    }
                    Op::PopDue(now_ms) => {
                        let expected = reference
                            .first()
                            .copied()
                            .filter(|&(deadline_ms, _)| deadline_ms <= now_ms);
                        if let Some(key) = expected {
                            reference.remove(&key);
                        }
                        prop_assert_eq!(timers.pop_due(now_ms), expected);
                    }
                }
                prop_assert_eq!(timers.len(), reference.len());
                prop_assert_eq!(
                    timers.earliest_deadline_ms(),
                    reference.first().map(|&(deadline_ms, _)| deadline_ms)
                );
                prop_assert!(timers.iter().eq(reference.iter().copied()));
            }
        }
    }

    /// Tombstones do not make equal timer sets compare unequal.
    #[test]
    fn equality_ignores_tombstones() {
        let mut with_tombstone = LockTimers::default();
        with_tombstone.arm(10, 1);
        with_tombstone.arm(20, 2);
        with_tombstone.arm(30, 3);
        assert!(with_tombstone.disarm(20, 2));
        let mut plain = LockTimers::default();
        plain.arm(10, 1);
        plain.arm(30, 3);
        assert_eq!(with_tombstone, plain);
    }
}
