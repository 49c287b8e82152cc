//! Records that vanished from the log (spec 1.2 #8, 1.6, 6): the log start offset moving past SPSO
//! (retention, DeleteRecords) and compaction removing whole cached batches. Both archive AVAILABLE
//! records in memory only; later writes carry the new SPSO.

use super::events::{PartitionState, StartOffsetMoveCause, TransitionCause};
use super::in_flight_state::Updated;
use super::recorder::Recorder;
use super::SharePartition;
use crate::share::RecordState;

impl SharePartition {
    /// `updateCacheAndOffsets(logStartOffset)`: the log start offset is now `log_start_offset` (the node
    /// learns it from an OFFSET_OUT_OF_RANGE fetch). Ignored unless it is past SPSO. AVAILABLE records
    /// below it are archived; ACQUIRED ones are left alone until their lock expires or they are released.
    pub fn handle_log_start_offset(&mut self, now_ms: u64, log_start_offset: i64) {
        if self.partition_state != PartitionState::Active || log_start_offset <= self.start_offset {
            return;
        }
        let archive_to = if log_start_offset > self.end_offset {
            self.end_offset
        } else {
            log_start_offset - 1
        };
        let archived = self.archive_range(
            self.start_offset,
            archive_to,
            RecordState::Available,
            TransitionCause::LogStartOffsetMove,
        );
        self.find_next_fetch_offset |= archived;
        self.advance_start_offset_to(log_start_offset, StartOffsetMoveCause::LogStartOffsetMove);
        if log_start_offset > self.end_offset {
            self.set_end_offset(log_start_offset);
        }
        // The gap window's holes below the new start no longer exist (a choice: Kafka 4.2 leaves the
        // window, whose start then lies below SPSO and stops SPSO advancement until acquisition passes
        // it).
        if let Some(window) = self.gap_window.as_mut() {
            window.gap_start_offset = window.gap_start_offset.max(log_start_offset);
        }
        self.note_gap_window_progress(log_start_offset);
        self.finish_handler(now_ms);
    }

    /// `maybeArchiveStaleBatches`: a read from `fetch_offset` whose first batch starts at `base_offset >
    /// fetch_offset` shows that compaction removed `[fetch_offset, base_offset)`; AVAILABLE cached
    /// records there are archived.
    pub(crate) fn maybe_archive_stale_batches(&mut self, fetch_offset: i64, base_offset: i64) {
        if self.cache.is_empty() || fetch_offset >= base_offset {
            return;
        }
        let archived = self.archive_range(
            fetch_offset,
            base_offset - 1,
            RecordState::Available,
            TransitionCause::Compaction,
        );
        self.find_next_fetch_offset |= archived;
    }

    /// `archiveRecords`: archives the offsets of `[from, to]` whose state is `only_state`, splitting
    /// batches it covers partly. Never persisted, never rolled back. Returns whether anything changed.
    pub(crate) fn archive_range(
        &mut self,
        from: i64,
        to: i64,
        only_state: RecordState,
        cause: TransitionCause,
    ) -> bool {
        if from > to {
            return false;
        }
        let from_key = super::two_phase::floor_key(&self.cache, from);
        let mut recorder = Recorder {
            effects: &mut self.effects,
            delivery_complete_count: &mut self.delivery_complete_count,
            start_offset: self.start_offset,
        };
        let timers = &mut self.timers;
        let mut archived = false;
        for batch in self.cache.range_mut(from_key..=to).map(|(_, batch)| batch) {
            let covered = from <= batch.first_offset && batch.last_offset <= to;
            let matching = batch
                .whole_state()
                .is_none_or(|state| state.state == only_state);
            if !matching {
                continue;
            }
            if !covered {
                batch.split(timers);
            }
            batch.for_each_unit_in_mut(from, to, |first, last, state| {
                if state.state != only_state {
                    return;
                }
                let previous = state.archive(first, timers);
                archived = true;
                let updated = Updated {
                    from: previous,
                    to: RecordState::Archived,
                    limit_reached: false,
                };
                recorder.transition(first, last, updated, state.delivery_count, None, cause);
            });
        }
        archived
    }
}
