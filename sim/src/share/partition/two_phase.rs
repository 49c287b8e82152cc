//! Two-phase persisted transitions (spec 3.2, 1.4 last bullet): writes are emitted as effects, and their
//! outcome commits or rolls back the in-memory transitions they carry. Lock-expiry and DLQ phase-2 writes
//! carry no rollback: their transitions stand whatever the outcome.

use super::effects::{AcknowledgeTicket, PartitionEffect, WriteId};
use super::events::{PartitionEvent, PartitionState, TransitionCause, WritePurpose};
use super::in_flight_state::{archive_target, Updated};
use super::recorder::Recorder;
use super::SharePartition;
use crate::share::{RecordState, StateBatch, WriteShareGroupState};
use crate::ResponseError;

/// A write emitted and not yet answered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PendingWrite {
    pub(crate) purpose: WritePurpose,
    /// The acknowledge request waiting for it.
    pub(crate) ticket: Option<AcknowledgeTicket>,
    /// The ranges it carries (its `StateBatches`).
    pub(crate) ranges: Vec<(i64, i64)>,
}

/// `SP.fetchPersisterError` (spec 2.2): the error an acknowledge or fetch reports for a persister error.
pub fn map_persister_error(error: ResponseError) -> ResponseError {
    match error {
        ResponseError::NotCoordinator
        | ResponseError::CoordinatorNotAvailable
        | ResponseError::CoordinatorLoadInProgress => ResponseError::CoordinatorNotAvailable,
        ResponseError::GroupIdNotFound => ResponseError::GroupIdNotFound,
        ResponseError::UnknownTopicOrPartition => ResponseError::UnknownTopicOrPartition,
        ResponseError::FencedLeaderEpoch | ResponseError::FencedStateEpoch => {
            ResponseError::NotLeaderOrFollower
        }
        _ => ResponseError::UnknownServerError,
    }
}

/// Mapped errors after which the broker drops the share partition (`SPM.fencedSharePartitionHandler`).
fn fences_partition(mapped: ResponseError) -> bool {
    matches!(
        mapped,
        ResponseError::NotLeaderOrFollower
            | ResponseError::GroupIdNotFound
            | ResponseError::UnknownTopicOrPartition
    )
}

/// Appends `[first, last]` to a write's `StateBatches`, joining it to the previous range when contiguous
/// with the same state and count (Kafka sends one entry per offset of a split batch; the coordinator's
/// merge coalesces such ranges, so the persisted image is the same).
pub(crate) fn push_state_batch(
    batches: &mut Vec<StateBatch>,
    first: i64,
    last: i64,
    state: RecordState,
    delivery_count: u16,
) {
    debug_assert!(
        state != RecordState::Acquired,
        "ACQUIRED is never persisted"
    );
    if let Some(previous) = batches.last_mut() {
        if previous.last_offset + 1 == first
            && previous.delivery_state == state
            && previous.delivery_count == delivery_count
        {
            previous.last_offset = last;
            return;
        }
    }
    batches.push(StateBatch {
        first_offset: first,
        last_offset: last,
        delivery_state: state,
        delivery_count,
    });
}

impl SharePartition {
    /// The id the next write will get (two-phase transitions record it before the write exists).
    pub(crate) fn peek_write_id(&self) -> WriteId {
        WriteId(self.next_write_id)
    }

    /// Emits a `WriteShareGroupState` carrying `state_batches` (spec 3.2): the current SPSO (before this
    /// operation's advancement) and the delivery-complete count when the profile has it.
    pub(crate) fn emit_write(
        &mut self,
        purpose: WritePurpose,
        ticket: Option<AcknowledgeTicket>,
        state_batches: Vec<StateBatch>,
    ) -> WriteId {
        debug_assert!(!state_batches.is_empty());
        let write_id = self.allocate_write_id();
        let delivery_complete_count = if self.semantics.delivery_complete_count {
            i32::try_from(self.delivery_complete_count).unwrap_or(i32::MAX)
        } else {
            -1
        };
        let request = WriteShareGroupState {
            state_epoch: self.state_epoch,
            leader_epoch: self.leader_epoch,
            start_offset: self.start_offset,
            delivery_complete_count,
            state_batches,
        };
        let ranges = request
            .state_batches
            .iter()
            .map(|batch| (batch.first_offset, batch.last_offset))
            .collect();
        self.writes.insert(
            write_id,
            PendingWrite {
                purpose,
                ticket,
                ranges,
            },
        );
        self.emit(PartitionEvent::WriteStarted {
            write_id,
            purpose,
            start_offset: request.start_offset,
            state_batch_count: request.state_batches.len() as u32,
        });
        self.effects
            .push_back(PartitionEffect::WriteState { write_id, request });
        write_id
    }

    /// The outcome of write `write_id` (spec 3.2). Unknown ids (answered twice, or from before a restart)
    /// are ignored.
    pub fn handle_write_result(
        &mut self,
        now_ms: u64,
        write_id: WriteId,
        result: Result<(), ResponseError>,
    ) {
        let Some(write) = self.writes.remove(&write_id) else {
            return;
        };
        let two_phase = matches!(
            write.purpose,
            WritePurpose::Acknowledge | WritePurpose::SessionRelease
        );
        let mapped = result.map_err(map_persister_error);
        match (mapped, two_phase) {
            (Ok(()), _) => {
                if two_phase {
                    self.complete_pending(now_ms, write_id, &write.ranges, true);
                }
                self.emit(PartitionEvent::WriteCommitted { write_id });
            }
            (Err(error), _) => {
                if two_phase {
                    self.complete_pending(now_ms, write_id, &write.ranges, false);
                }
                self.emit(PartitionEvent::WriteFailed {
                    write_id,
                    error_code: error.code(),
                    rolled_back: two_phase,
                });
            }
        }
        if write.purpose == WritePurpose::LockExpiry {
            // Spec 1.4: with the DLQ, phase 2 starts for the ARCHIVING ranges once the write returns.
            self.enqueue_dead_letters_in(&write.ranges);
        }
        if mapped.is_ok() || !two_phase {
            self.maybe_advance_start_offset();
        }
        if let Some(ticket) = write.ticket {
            self.effects
                .push_back(PartitionEffect::AcknowledgeCompleted {
                    ticket,
                    result: mapped,
                });
        }
        self.effects.push_back(PartitionEffect::WakeDelayedFetches);
        if let Err(error) = mapped {
            if two_phase
                && fences_partition(error)
                && self.partition_state == PartitionState::Active
            {
                self.set_partition_state(PartitionState::Fenced, error.code());
                self.effects
                    .push_back(PartitionEffect::DropPartition { error });
            }
        }
        self.finish_handler(now_ms);
    }

    /// Commits (`completeStateTransition(true)` + lock cancel) or rolls back every unit in `ranges` whose
    /// pending transition belongs to `write_id`.
    fn complete_pending(
        &mut self,
        now_ms: u64,
        write_id: WriteId,
        ranges: &[(i64, i64)],
        commit: bool,
    ) {
        let limit = self.config.delivery_count_limit;
        let dlq_enabled = self.config.dlq_enabled;
        let start_offset = self.start_offset;
        let mut find_next = false;
        let mut dead_letters = Vec::new();
        let mut recorder = Recorder {
            effects: &mut self.effects,
            delivery_complete_count: &mut self.delivery_complete_count,
            start_offset,
        };
        let timers = &mut self.timers;
        for &(first, last) in ranges {
            let from_key = floor_key(&self.cache, first);
            for batch in self
                .cache
                .range_mut(from_key..=last)
                .map(|(_, batch)| batch)
            {
                batch.for_each_unit_in_mut(first, last, |unit_first, unit_last, state| {
                    let Some(pending) = state.pending.as_ref() else {
                        return;
                    };
                    if pending.write_id != write_id {
                        return;
                    }
                    let pending = state.pending.take().expect("checked above");
                    if commit || pending.archived_meanwhile {
                        state.cancel_lock(unit_first, timers);
                    } else {
                        let from = state.state;
                        let expired = state.lock.is_some_and(|lock| lock.deadline_ms <= now_ms);
                        let mut limit_reached = false;
                        if expired {
                            // Spec 1.4: the lock expired meanwhile, so never back to ACQUIRED; ARCHIVED
                            // (ARCHIVING with the DLQ) if the previous count reached the limit. Offsets
                            // that fell below SPSO are ARCHIVED, DLQ or not, as Kafka's expiry asks for
                            // ARCHIVED there (the rollback would otherwise leave an AVAILABLE record below
                            // SPSO); only the limit check dead-letters.
                            let below_spso = unit_last < start_offset;
                            limit_reached = !below_spso && pending.rollback_delivery_count >= limit;
                            state.state = if below_spso {
                                RecordState::Archived
                            } else if limit_reached {
                                archive_target(dlq_enabled)
                            } else {
                                RecordState::Available
                            };
                            state.member = None;
                            state.cancel_lock(unit_first, timers);
                        } else {
                            state.state = pending.rollback_state;
                            state.member = pending.rollback_member;
                        }
                        state.delivery_count = pending.rollback_delivery_count;
                        let updated = Updated {
                            from,
                            to: state.state,
                            limit_reached,
                        };
                        recorder.transition(
                            unit_first,
                            unit_last,
                            updated,
                            state.delivery_count,
                            None,
                            TransitionCause::Rollback,
                        );
                    }
                    find_next |= state.state == RecordState::Available;
                    if state.state == RecordState::Archiving {
                        super::dead_letter::push_range(&mut dead_letters, unit_first, unit_last);
                    }
                });
            }
        }
        self.find_next_fetch_offset |= find_next;
        for (first_offset, last_offset) in dead_letters {
            self.effects.push_back(PartitionEffect::EnqueueDeadLetters {
                first_offset,
                last_offset,
            });
        }
    }
}

/// The key of the batch holding `offset`, or `offset` itself when no batch holds it.
pub(crate) fn floor_key(
    cache: &std::collections::BTreeMap<i64, super::in_flight_batch::InFlightBatch>,
    offset: i64,
) -> i64 {
    match cache.range(..=offset).next_back() {
        Some((&key, batch)) if batch.last_offset >= offset => key,
        _ => offset,
    }
}
