//! Session release (`SP.releaseAcquiredRecords(memberId)`; spec 1.2 #6, 2.5): a member's share session
//! closed, so every record it holds here goes back (two-phase, like an acknowledgement).

use super::events::{PartitionState, TransitionCause, WritePurpose};
use super::in_flight_state::DeliveryCountOps;
use super::recorder::Recorder;
use super::two_phase::push_state_batch;
use super::SharePartition;
use crate::semantics::SessionReleaseDeliveryCount;
use crate::share::{MemberId, RecordState};

impl SharePartition {
    /// Releases every record `member` holds: below SPSO to ARCHIVED, otherwise to AVAILABLE (or ARCHIVED
    /// at the limit). The delivery count follows the profile: 4.0 and 4.2 keep it (and archive at the
    /// limit), 4.1 decrements it and never archives at the limit.
    pub fn handle_release_session(&mut self, now_ms: u64, member: &MemberId) {
        if self.partition_state != PartitionState::Active {
            return;
        }
        let ops = match self.semantics.session_release_delivery_count {
            SessionReleaseDeliveryCount::Keep => DeliveryCountOps::NoOp,
            SessionReleaseDeliveryCount::Decrement => DeliveryCountOps::Decrease,
        };
        let write_id = self.peek_write_id();
        let limit = self.config.delivery_count_limit;
        let dlq_enabled = self.config.dlq_enabled;
        let start_offset = self.start_offset;
        let mut recorder = Recorder {
            effects: &mut self.effects,
            delivery_complete_count: &mut self.delivery_complete_count,
            start_offset,
        };
        let timers = &mut self.timers;
        let mut state_batches = Vec::new();
        for batch in self.cache.values_mut() {
            let owned_whole = batch.whole_state().is_some_and(|state| {
                state.is_acquired_idle() && state.member.as_ref() == Some(member)
            });
            if owned_whole && batch.first_offset < start_offset && batch.last_offset >= start_offset
            {
                // Spec 1.7: SPSO strictly inside the batch; offsets below it are archived.
                batch.split(timers);
            }
            batch.for_each_unit_in_mut(
                batch.first_offset,
                batch.last_offset,
                |first, last, state| {
                    if !state.is_acquired_idle() || state.member.as_ref() != Some(member) {
                        return;
                    }
                    let target = if last < start_offset {
                        RecordState::Archived
                    } else {
                        RecordState::Available
                    };
                    let Some(updated) =
                        state.start_transition(write_id, target, ops, limit, dlq_enabled)
                    else {
                        return;
                    };
                    recorder.transition(
                        first,
                        last,
                        updated,
                        state.delivery_count,
                        Some(member),
                        TransitionCause::SessionRelease,
                    );
                    push_state_batch(
                        &mut state_batches,
                        first,
                        last,
                        updated.to,
                        state.delivery_count,
                    );
                },
            );
        }
        // The AVAILABLE records become fetchable when the write commits; Kafka sets the scan flag then.
        if !state_batches.is_empty() {
            self.emit_write(WritePurpose::SessionRelease, None, state_batches);
        }
        self.finish_handler(now_ms);
    }
}
