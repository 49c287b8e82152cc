//! Initialization from the share coordinator (`SP.maybeInitialize`; spec 3.5, 5.2): EMPTY → INITIALIZING
//! → ACTIVE | FAILED. The persisted image becomes the cache; ACQUIRED state never survives a failover.

use super::config::AutoOffsetReset;
use super::effects::PartitionEffect;
use super::events::{PartitionState, StartOffsetMoveCause};
use super::fetched_log::ResetOffsets;
use super::in_flight_batch::InFlightBatch;
use super::in_flight_state::InFlightState;
use super::offsets::GapWindow;
use super::two_phase::map_persister_error;
use super::SharePartition;
use crate::share::{PersistedShareState, RecordState};
use crate::ResponseError;

impl SharePartition {
    /// Starts initialization: EMPTY → INITIALIZING and a [`PartitionEffect::ReadState`]. Ignored in any
    /// other state.
    pub fn begin_initialize(&mut self, now_ms: u64) {
        if self.partition_state != PartitionState::Empty {
            return;
        }
        self.set_partition_state(PartitionState::Initializing, 0);
        self.effects.push_back(PartitionEffect::ReadState {
            leader_epoch: self.leader_epoch,
        });
        self.finish_handler(now_ms);
    }

    /// The ReadShareGroupState answer. `reset` supplies the log offsets `share.auto.offset.reset` needs
    /// when the persisted start offset is -1. Errors, and images that fail validation, make the partition
    /// FAILED with the mapped error (spec 3.5).
    pub fn handle_read_state_result(
        &mut self,
        now_ms: u64,
        result: Result<PersistedShareState, ResponseError>,
        reset: ResetOffsets,
    ) {
        if self.partition_state != PartitionState::Initializing {
            return;
        }
        let loaded = result
            .map_err(map_persister_error)
            .and_then(|image| self.load(image, reset));
        match loaded {
            Ok(()) => {
                self.maybe_advance_start_offset();
                self.set_partition_state(PartitionState::Active, 0);
                let archiving: Vec<(i64, i64)> = self
                    .cache
                    .values()
                    .map(|batch| (batch.first_offset, batch.last_offset))
                    .collect();
                // Spec 1.2 #10: phase 2 resumes for ARCHIVING batches found at initialization.
                self.enqueue_dead_letters_in(&archiving);
                self.effects.push_back(PartitionEffect::WakeDelayedFetches);
            }
            Err(error) => {
                self.cache.clear();
                self.timers.clear();
                self.delivery_complete_count = 0;
                self.gap_window = None;
                self.set_partition_state(PartitionState::Failed, error.code());
            }
        }
        self.finish_handler(now_ms);
    }

    /// The partition is no longer served here (leadership moved, partition deleted): FENCED. Locks are
    /// gone; later inputs are refused.
    pub fn handle_fenced(&mut self, now_ms: u64) {
        self.timers.clear();
        for batch in self.cache.values_mut() {
            batch.for_each_unit_in_mut(batch.first_offset, batch.last_offset, |_, _, state| {
                if let Some(lock) = state.lock.as_mut() {
                    lock.armed = false;
                }
            });
        }
        self.set_partition_state(
            PartitionState::Fenced,
            ResponseError::NotLeaderOrFollower.code(),
        );
        let _ = now_ms;
    }

    /// `startOffsetDuringInitialization` (spec 5.2).
    fn reset_start_offset(&self, reset: ResetOffsets) -> Result<i64, ResponseError> {
        match self.config.auto_offset_reset {
            AutoOffsetReset::Latest => Ok(reset.high_watermark),
            AutoOffsetReset::Earliest => Ok(reset.log_start_offset),
            // A failed lookup fails initialization (Kafka throws; the fetch sees UNKNOWN_SERVER_ERROR).
            AutoOffsetReset::ByDuration { .. } => reset
                .offset_by_duration
                .ok_or(ResponseError::UnknownServerError),
        }
    }

    /// Validates `image` and loads it into the cache. Kafka checks `first < startOffset` and
    /// `last < first`; sharesim also refuses overlapping or unsorted batches and persisted ACQUIRED
    /// states, which would break the cache's invariants (all IllegalStateException-like:
    /// UNKNOWN_SERVER_ERROR).
    fn load(
        &mut self,
        image: PersistedShareState,
        reset: ResetOffsets,
    ) -> Result<(), ResponseError> {
        let start_offset = if image.start_offset == -1 {
            self.reset_start_offset(reset)?
        } else {
            image.start_offset
        };
        if start_offset < 0 {
            return Err(ResponseError::UnknownServerError);
        }
        let mut previous_last = start_offset - 1;
        let mut gap_start = None;
        for batch in &image.state_batches {
            let malformed = batch.first_offset < start_offset
                || batch.last_offset < batch.first_offset
                || batch.first_offset <= previous_last
                || batch.delivery_state == RecordState::Acquired;
            if malformed {
                return Err(ResponseError::UnknownServerError);
            }
            if gap_start.is_none() && batch.first_offset > previous_last + 1 {
                gap_start = Some(previous_last + 1);
            }
            previous_last = batch.last_offset;
        }
        self.state_epoch = image.state_epoch;
        let previous_start = self.start_offset;
        self.start_offset = start_offset;
        self.emit(super::events::PartitionEvent::StartOffsetMoved {
            from: previous_start,
            to: start_offset,
            cause: StartOffsetMoveCause::Initialization,
        });
        for batch in &image.state_batches {
            let state = InFlightState::at_rest(batch.delivery_state, batch.delivery_count);
            if batch.delivery_state.is_terminal() {
                self.delivery_complete_count += batch.offset_count() as i64;
            }
            self.cache.insert(
                batch.first_offset,
                InFlightBatch::whole(batch.first_offset, batch.last_offset, state),
            );
        }
        match self
            .cache
            .last_key_value()
            .map(|(_, batch)| batch.last_offset)
        {
            Some(last) => {
                self.find_next_fetch_offset = true;
                self.set_end_offset(last);
                self.gap_window = gap_start.map(|gap_start_offset| GapWindow {
                    end_offset: last,
                    gap_start_offset,
                });
            }
            None => self.set_end_offset(start_offset),
        }
        Ok(())
    }
}
