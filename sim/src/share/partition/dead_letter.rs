//! DLQ phase 2 (KIP-1191; spec 1.2 #10, 3.2): ARCHIVING records are copied to the dead-letter queue by
//! the host, then become ARCHIVED, which is persisted (a failed write leaves ARCHIVED in memory).

use super::effects::PartitionEffect;
use super::events::{TransitionCause, WritePurpose};
use super::in_flight_state::Updated;
use super::recorder::Recorder;
use super::two_phase::{floor_key, push_state_batch};
use super::SharePartition;
use crate::share::RecordState;

impl SharePartition {
    /// The dead-letter enqueue of `[first_offset, last_offset]` finished (successfully or not; Kafka
    /// archives either way): ARCHIVING records there become ARCHIVED and the change is written.
    pub fn handle_dead_letter_result(&mut self, now_ms: u64, first_offset: i64, last_offset: i64) {
        if first_offset > last_offset {
            return;
        }
        let from_key = floor_key(&self.cache, first_offset);
        let mut recorder = Recorder {
            effects: &mut self.effects,
            delivery_complete_count: &mut self.delivery_complete_count,
            start_offset: self.start_offset,
        };
        let mut state_batches = Vec::new();
        for batch in self
            .cache
            .range_mut(from_key..=last_offset)
            .map(|(_, batch)| batch)
        {
            batch.for_each_unit_in_mut(first_offset, last_offset, |first, last, state| {
                let partial = first < first_offset || last > last_offset;
                if state.state != RecordState::Archiving || state.pending.is_some() || partial {
                    return;
                }
                state.state = RecordState::Archived;
                let updated = Updated {
                    from: RecordState::Archiving,
                    to: RecordState::Archived,
                    limit_reached: false,
                };
                let cause = TransitionCause::DeadLetterCompleted;
                recorder.transition(first, last, updated, state.delivery_count, None, cause);
                push_state_batch(
                    &mut state_batches,
                    first,
                    last,
                    state.state,
                    state.delivery_count,
                );
            });
        }
        if !state_batches.is_empty() {
            self.emit_write(WritePurpose::DeadLetterArchive, None, state_batches);
        }
        self.finish_handler(now_ms);
    }

    /// Starts phase 2 for the idle ARCHIVING units inside `ranges`.
    pub(crate) fn enqueue_dead_letters_in(&mut self, ranges: &[(i64, i64)]) {
        let mut found: Vec<(i64, i64)> = Vec::new();
        for &(first, last) in ranges {
            let from_key = floor_key(&self.cache, first);
            for batch in self.cache.range(from_key..=last).map(|(_, batch)| batch) {
                batch.for_each_unit_in(first, last, |unit_first, unit_last, state| {
                    if state.state == RecordState::Archiving && state.pending.is_none() {
                        push_range(&mut found, unit_first, unit_last);
                    }
                });
            }
        }
        for (first_offset, last_offset) in found {
            self.effects.push_back(PartitionEffect::EnqueueDeadLetters {
                first_offset,
                last_offset,
            });
        }
    }
}

/// Appends `[first, last]`, joining it to a contiguous previous range.
pub(crate) fn push_range(ranges: &mut Vec<(i64, i64)>, first: i64, last: i64) {
    if let Some(previous) = ranges.last_mut() {
        if previous.1 + 1 == first {
            previous.1 = last;
            return;
        }
    }
    ranges.push((first, last));
}
