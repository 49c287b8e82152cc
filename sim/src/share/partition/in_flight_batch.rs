//! A cached batch (`InFlightBatch`; spec 1.7): a fixed `[first_offset, last_offset]` with either one state
//! shared by the whole range or one state per offset. A batch is split on demand and never merged back.

use super::in_flight_state::InFlightState;
use super::lock_timers::LockTimers;

/// The state(s) of a cached batch.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum BatchStates {
    /// `batchState`: one state for every offset.
    Whole(InFlightState),
    /// `offsetState`: index `i` is offset `first_offset + i`.
    PerOffset(Vec<InFlightState>),
}

/// One cached batch.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct InFlightBatch {
    pub(crate) first_offset: i64,
    pub(crate) last_offset: i64,
    pub(crate) states: BatchStates,
}

impl InFlightBatch {
    /// A batch with one shared state.
    pub(crate) fn whole(
        first_offset: i64,
        last_offset: i64,
        state: InFlightState,
    ) -> InFlightBatch {
        debug_assert!(first_offset <= last_offset);
        InFlightBatch {
            first_offset,
            last_offset,
            states: BatchStates::Whole(state),
        }
    }

    /// Number of offsets.
    pub(crate) fn offset_count(&self) -> u64 {
        (self.last_offset - self.first_offset + 1) as u64
    }

    /// Kept per offset.
    pub(crate) fn is_split(&self) -> bool {
        matches!(self.states, BatchStates::PerOffset(_))
    }

    /// Whether `offset` lies in the batch.
    pub(crate) fn contains(&self, offset: i64) -> bool {
        self.first_offset <= offset && offset <= self.last_offset
    }

    /// The whole-batch state, if not split.
    pub(crate) fn whole_state(&self) -> Option<&InFlightState> {
        match &self.states {
            BatchStates::Whole(state) => Some(state),
            BatchStates::PerOffset(_) => None,
        }
    }

    /// The state of `offset`, which must lie in the batch.
    pub(crate) fn state_at(&self, offset: i64) -> &InFlightState {
        debug_assert!(self.contains(offset));
        match &self.states {
            BatchStates::Whole(state) => state,
            BatchStates::PerOffset(states) => &states[(offset - self.first_offset) as usize],
        }
    }

    /// `maybeInitializeOffsetStateUpdate`: keep the state per offset from now on. An armed batch lock
    /// becomes one armed lock per offset with the same deadline, i.e. the remaining time (spec 1.4).
    pub(crate) fn split(&mut self, timers: &mut LockTimers) {
        let BatchStates::Whole(state) = &self.states else {
            return;
        };
        let state = state.clone();
        if let Some(lock) = state.lock.filter(|lock| lock.armed) {
            let was_armed = timers.disarm(lock.deadline_ms, self.first_offset);
            debug_assert!(was_armed);
            for offset in self.first_offset..=self.last_offset {
                timers.arm(lock.deadline_ms, offset);
            }
        }
        let states = vec![state; self.offset_count() as usize];
        self.states = BatchStates::PerOffset(states);
    }

    /// Visits every unit overlapping `[from, to]` as `(unit_first, unit_last, state)`.
    pub(crate) fn for_each_unit_in(
        &self,
        from: i64,
        to: i64,
        mut visit: impl FnMut(i64, i64, &InFlightState),
    ) {
        match &self.states {
            BatchStates::Whole(state) => {
                if from <= self.last_offset && to >= self.first_offset {
                    visit(self.first_offset, self.last_offset, state);
                }
            }
            BatchStates::PerOffset(states) => {
                let start = from.max(self.first_offset);
                let end = to.min(self.last_offset);
                for offset in start..=end {
                    visit(
                        offset,
                        offset,
                        &states[(offset - self.first_offset) as usize],
                    );
                }
            }
        }
    }

    /// Mutable [`Self::for_each_unit_in`].
    pub(crate) fn for_each_unit_in_mut(
        &mut self,
        from: i64,
        to: i64,
        mut visit: impl FnMut(i64, i64, &mut InFlightState),
    ) {
        let (first, last) = (self.first_offset, self.last_offset);
        match &mut self.states {
            BatchStates::Whole(state) => {
                if from <= last && to >= first {
                    visit(first, last, state);
                }
            }
            BatchStates::PerOffset(states) => {
                let start = from.max(first);
                let end = to.min(last);
                for offset in start..=end {
                    visit(offset, offset, &mut states[(offset - first) as usize]);
                }
            }
        }
    }

    /// Number of terminal offsets in `[from, to]`.
    pub(crate) fn terminal_count_in(&self, from: i64, to: i64) -> i64 {
        let mut count = 0;
        self.for_each_unit_in(from, to, |unit_first, unit_last, state| {
            if state.state.is_terminal() {
                count += unit_last.min(to) - unit_first.max(from) + 1;
            }
        });
        count
    }
}
