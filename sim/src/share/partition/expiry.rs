//! Acquisition-lock expiry (`SP.releaseAcquisitionLockOnTimeout`; spec 1.2 #5, 1.4): the lock's owner
//! took too long, so the records go back (or are archived at the limit or below SPSO). The transition
//! stands even if its write fails.

use super::effects::PartitionEffect;
use super::events::{PartitionState, TransitionCause, WritePurpose};
use super::in_flight_state::DeliveryCountOps;
use super::recorder::Recorder;
use super::two_phase::push_state_batch;
use super::SharePartition;
use crate::share::RecordState;

impl SharePartition {
    /// Fires every acquisition-lock timer due at `now_ms`. Each fired timer (one per cached unit) makes
    /// its own write, as Kafka's timer tasks do.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if self.partition_state == PartitionState::Active {
            while let Some((deadline_ms, unit_first)) = self.timers.pop_due(now_ms) {
                self.expire_lock(deadline_ms, unit_first);
            }
        }
        self.finish_handler(now_ms);
    }

    /// One timer fired for the unit starting at `unit_first`.
    fn expire_lock(&mut self, deadline_ms: u64, unit_first: i64) {
        let key = super::two_phase::floor_key(&self.cache, unit_first);
        let Some(batch) = self.cache.get_mut(&key) else {
            debug_assert!(
                false,
                "timer {deadline_ms} {unit_first} without a cached unit"
            );
            return;
        };
        let start_offset = self.start_offset;
        let unit_last = match batch.whole_state() {
            Some(_) => batch.last_offset,
            None => unit_first,
        };
        let straddles_start = batch
            .whole_state()
            .is_some_and(|state| state.is_acquired_idle())
            && batch.first_offset < start_offset
            && batch.last_offset >= start_offset;
        if straddles_start {
            // Spec 1.7: SPSO strictly inside; split so offsets below SPSO are archived. The split moves
            // the (re-inserted) batch timer to every offset, and this expiry handles them all at once.
            self.timers.arm(deadline_ms, unit_first);
            batch.split(&mut self.timers);
            for offset in batch.first_offset..=batch.last_offset {
                self.timers.disarm(deadline_ms, offset);
            }
        }
        // The timer fired: a pending unit keeps its lock, now expired, for a later rollback (spec 1.4).
        batch.for_each_unit_in_mut(unit_first, unit_last, |_, _, state| {
            if let Some(lock) = state
                .lock
                .as_mut()
                .filter(|lock| lock.deadline_ms == deadline_ms)
            {
                lock.armed = false;
            }
        });
        let limit = if self.mutation == Some(super::EngineMutation::ExpiryIgnoresDeliveryLimit) {
            u16::MAX
        } else {
            self.config.delivery_count_limit
        };
        let dlq_enabled = self.config.dlq_enabled;
        let mut recorder = Recorder {
            effects: &mut self.effects,
            delivery_complete_count: &mut self.delivery_complete_count,
            start_offset,
        };
        let timers = &mut self.timers;
        let mut state_batches = Vec::new();
        let mut find_next = false;
        batch.for_each_unit_in_mut(unit_first, unit_last, |first, last, state| {
            let expired_here = state
                .lock
                .is_some_and(|lock| lock.deadline_ms == deadline_ms);
            if !state.is_acquired_idle() || !expired_here {
                // Not ACQUIRED any more (a pending ack): skipped, as Kafka's handler does.
                return;
            }
            let target = if last < start_offset {
                RecordState::Archived
            } else {
                RecordState::Available
            };
            let updated = state
                .try_update_state(target, DeliveryCountOps::NoOp, limit, dlq_enabled, None)
                .expect("ACQUIRED may always go back");
            state.cancel_lock(first, timers);
            find_next |= updated.to == RecordState::Available;
            recorder.transition(
                first,
                last,
                updated,
                state.delivery_count,
                None,
                TransitionCause::LockExpiry,
            );
            push_state_batch(
                &mut state_batches,
                first,
                last,
                updated.to,
                state.delivery_count,
            );
        });
        self.find_next_fetch_offset |= find_next;
        if !state_batches.is_empty() {
            self.emit_write(WritePurpose::LockExpiry, None, state_batches);
        }
        self.effects.push_back(PartitionEffect::WakeDelayedFetches);
    }
}
