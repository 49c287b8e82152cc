//! The engine's own invariants (spec 10, items 1-2 and the bookkeeping that backs them), checked after
//! every input in debug builds and callable by tests and checkers.

use std::collections::BTreeSet;

use super::in_flight_batch::BatchStates;
use super::SharePartition;
use crate::share::RecordState;

impl SharePartition {
    /// Checks the internal consistency of the partition; `Err` names the first violation found.
    ///
    /// * cached batches are well formed and never overlap (BATCH-WF);
    /// * ACQUIRED (idle) means an owner and an armed lock; idle non-ACQUIRED means neither; pending means
    ///   no owner (spec 10.2);
    /// * the timer table holds exactly the armed locks;
    /// * every pending transition names an outstanding write;
    /// * SPSO <= SPEO + 1, and the delivery-complete count matches the cache.
    pub fn verify_consistency(&self, now_ms: u64) -> Result<(), String> {
        let _ = now_ms;
        let mut previous_last: Option<i64> = None;
        let mut armed = BTreeSet::new();
        let mut terminal_at_or_after_start = 0i64;
        for (&key, batch) in &self.cache {
            if key != batch.first_offset || batch.first_offset > batch.last_offset {
                return Err(format!("malformed batch {key}: {batch:?}"));
            }
            if let Some(last) = previous_last {
                if batch.first_offset <= last {
                    return Err(format!(
                        "batch {key} overlaps the previous one ending at {last}"
                    ));
                }
            }
            previous_last = Some(batch.last_offset);
            if let BatchStates::PerOffset(states) = &batch.states {
                if states.len() as u64 != batch.offset_count() {
                    return Err(format!("batch {key} has {} offset states", states.len()));
                }
            }
            let mut unit_error = None;
            batch.for_each_unit_in(
                batch.first_offset,
                batch.last_offset,
                |first, last, state| {
                    if unit_error.is_some() {
                        return;
                    }
                    if let Some(lock) = state.lock.filter(|lock| lock.armed) {
                        armed.insert((lock.deadline_ms, first));
                    }
                    let idle = state.pending.is_none();
                    let error = if state.pending.is_some() && state.member.is_some() {
                        Some("pending transition keeps an owner")
                    } else if idle && state.state == RecordState::Acquired && state.member.is_none()
                    {
                        Some("ACQUIRED without an owner")
                    } else if idle
                        && state.state == RecordState::Acquired
                        && !state.lock.is_some_and(|lock| lock.armed)
                    {
                        Some("ACQUIRED without an armed lock")
                    } else if idle && state.state != RecordState::Acquired && state.member.is_some()
                    {
                        Some("owner on a record that is not ACQUIRED")
                    } else if idle && state.state != RecordState::Acquired && state.lock.is_some() {
                        Some("lock on a record that is not ACQUIRED")
                    } else if state
                        .pending
                        .as_ref()
                        .is_some_and(|pending| !self.writes.contains_key(&pending.write_id))
                    {
                        Some("pending transition without an outstanding write")
                    } else {
                        None
                    };
                    if let Some(error) = error {
                        unit_error = Some(format!("[{first}, {last}]: {error}: {state:?}"));
                    }
                },
            );
            if let Some(error) = unit_error {
                return Err(error);
            }
            if batch.last_offset >= self.start_offset {
                terminal_at_or_after_start +=
                    batch.terminal_count_in(self.start_offset, batch.last_offset);
            }
        }
        let timers: BTreeSet<(u64, i64)> = self.timers.iter().collect();
        if timers != armed {
            return Err(format!(
                "timer table {timers:?} differs from armed locks {armed:?}"
            ));
        }
        if !self.cache.is_empty() && self.start_offset > self.end_offset + 1 {
            return Err(format!(
                "SPSO {} is past SPEO {} + 1",
                self.start_offset, self.end_offset
            ));
        }
        if terminal_at_or_after_start != self.delivery_complete_count {
            return Err(format!(
                "delivery-complete count {} but {} terminal offsets at or after SPSO",
                self.delivery_complete_count, terminal_at_or_after_start
            ));
        }
        Ok(())
    }
}
