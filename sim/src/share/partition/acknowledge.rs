//! Acknowledgements (`SP.acknowledge`; spec 1.2 #2-4 and #7, 2.1, 2.2, 3.2). All batches of one request
//! for this partition are atomic: the first error undoes every in-memory change the request made here.
//! ACCEPT/RELEASE/REJECT/GAP start two-phase transitions carried by one write; RENEW only resets locks.

use std::collections::BTreeMap;

use super::ack_validation::{validate_acknowledgement_batches, AcknowledgementBatch};
use super::effects::{AcknowledgeTicket, PartitionEffect, WriteId};
use super::events::{PartitionEvent, PartitionState, TransitionCause, WritePurpose};
use super::in_flight_batch::InFlightBatch;
use super::in_flight_state::{archive_target, DeliveryCountOps, InFlightState};
use super::lock_timers::LockTimers;
use super::recorder::{push_transition, Recorder};
use super::two_phase::push_state_batch;
use super::SharePartition;
use crate::share::{AcknowledgeType, MemberId, RecordState, StateBatch};
use crate::ResponseError;

/// What one acknowledge request needs while it walks the cache.
struct AckScope<'a> {
    now_ms: u64,
    member: &'a MemberId,
    write_id: WriteId,
    lock_duration_ms: u64,
    delivery_count_limit: u16,
    dlq_enabled: bool,
    renew_enabled: bool,
    /// `EngineMutation::ReleaseFromNonOwner` (model-checker tests only).
    foreign_release_accepted: bool,
    timers: &'a mut LockTimers,
    recorder: Recorder<'a>,
    state_batches: Vec<StateBatch>,
    /// Batches as they were before this request touched them, for the undo.
    snapshots: Vec<InFlightBatch>,
}

impl SharePartition {
    /// An acknowledge request of `member` for this partition (piggybacked on ShareFetch or in
    /// ShareAcknowledge). Runs the request-level checks (INVALID_REQUEST), then the share-partition
    /// checks (INVALID_RECORD_STATE / INVALID_REQUEST; spec 2.2). On success the outcome arrives later as
    /// [`PartitionEffect::AcknowledgeCompleted`] for the returned ticket, once the write completed (at
    /// once when nothing needs persisting).
    pub fn handle_acknowledge(
        &mut self,
        now_ms: u64,
        member: &MemberId,
        batches: &[AcknowledgementBatch],
    ) -> Result<AcknowledgeTicket, ResponseError> {
        if matches!(
            self.partition_state,
            PartitionState::Failed | PartitionState::Fenced
        ) {
            // The broker removed the partition from its cache (spec 2.2, "other partition errors").
            return Err(ResponseError::UnknownTopicOrPartition);
        }
        // The engine accepts RENEW whenever the profile supports it (as if `IsRenewAck` were set); the node
        // checks the request's real IsRenewAck flag itself with `validate_acknowledgement_batches`.
        validate_acknowledgement_batches(
            batches,
            self.semantics.share_rpc_version,
            self.semantics.renew_supported,
        )?;
        let effects_mark = self.effects.len();
        let saved_find_next = self.find_next_fetch_offset;
        let saved_complete_count = self.delivery_complete_count;
        let write_id = self.peek_write_id();
        let mut scope = AckScope {
            now_ms,
            member,
            write_id,
            lock_duration_ms: self.config.record_lock_duration_ms,
            delivery_count_limit: self.config.delivery_count_limit,
            dlq_enabled: self.config.dlq_enabled,
            renew_enabled: self.config.renew_acknowledge_enable,
            foreign_release_accepted: self.mutation
                == Some(super::EngineMutation::ReleaseFromNonOwner),
            timers: &mut self.timers,
            recorder: Recorder {
                effects: &mut self.effects,
                delivery_complete_count: &mut self.delivery_complete_count,
                start_offset: self.start_offset,
            },
            state_batches: Vec::new(),
            snapshots: Vec::new(),
        };
        let mut outcome = Ok(());
        for batch in batches {
            outcome = acknowledge_one(&mut self.cache, self.start_offset, batch, &mut scope);
            if outcome.is_err() {
                break;
            }
        }
        let AckScope {
            state_batches,
            snapshots,
            ..
        } = scope;
        if let Err(error) = outcome {
            self.undo(snapshots);
            self.effects.truncate(effects_mark);
            self.find_next_fetch_offset = saved_find_next;
            self.delivery_complete_count = saved_complete_count;
            self.finish_handler(now_ms);
            return Err(error);
        }
        let ticket = AcknowledgeTicket(self.next_ticket);
        self.next_ticket += 1;
        if state_batches.is_empty() {
            self.effects
                .push_back(PartitionEffect::AcknowledgeCompleted {
                    ticket,
                    result: Ok(()),
                });
        } else {
            let emitted = self.emit_write(WritePurpose::Acknowledge, Some(ticket), state_batches);
            debug_assert_eq!(emitted, write_id);
            if self.mutation == Some(super::EngineMutation::SpsoPassesPendingWrite) {
                // Spec 1.6 waits for the write; the mutation moves SPSO while it is in flight.
                self.maybe_advance_start_offset();
            }
        }
        self.finish_handler(now_ms);
        Ok(ticket)
    }

    /// Puts back the batches a failed request changed, with their timers.
    fn undo(&mut self, snapshots: Vec<InFlightBatch>) {
        for snapshot in snapshots {
            let key = snapshot.first_offset;
            if let Some(current) = self.cache.get(&key) {
                current.for_each_unit_in(
                    current.first_offset,
                    current.last_offset,
                    |first, _, state| {
                        if let Some(lock) = state.lock.filter(|lock| lock.armed) {
                            self.timers.disarm(lock.deadline_ms, first);
                        }
                    },
                );
            }
            snapshot.for_each_unit_in(
                snapshot.first_offset,
                snapshot.last_offset,
                |first, _, state| {
                    if let Some(lock) = state.lock.filter(|lock| lock.armed) {
                        self.timers.arm(lock.deadline_ms, first);
                    }
                },
            );
            self.cache.insert(key, snapshot);
        }
    }
}

/// The wire id as a type; ids were validated, but a bad one is still INVALID_REQUEST, never a panic.
fn ack_type_at(
    batch: &AcknowledgementBatch,
    offset: i64,
) -> Result<AcknowledgeType, ResponseError> {
    AcknowledgeType::from_id(batch.type_id_at(offset)).ok_or(ResponseError::InvalidRequest)
}

/// One acknowledgement batch: `fetchSubMapForAcknowledgementBatch` + `acknowledgeBatchRecords`.
fn acknowledge_one(
    cache: &mut BTreeMap<i64, InFlightBatch>,
    start_offset: i64,
    batch: &AcknowledgementBatch,
    scope: &mut AckScope<'_>,
) -> Result<(), ResponseError> {
    ack_type_at(batch, batch.first_offset)?;
    if batch.last_offset < start_offset {
        // Spec 2.2: entirely below SPSO, silently skipped.
        return Ok(());
    }
    let floor_key = match cache.range(..=batch.first_offset).next_back() {
        Some((&key, _)) => key,
        None if batch.first_offset < start_offset && batch.last_offset >= start_offset => {
            // SPSO moved inside the request range: look from SPSO.
            match cache.range(..=start_offset).next_back() {
                Some((&key, _)) => key,
                None => return Err(ResponseError::InvalidRecordState),
            }
        }
        None => return Err(ResponseError::InvalidRecordState),
    };
    let keys: Vec<i64> = cache
        .range(floor_key..=batch.last_offset)
        .map(|(&key, _)| key)
        .collect();
    let last_in_range = keys
        .last()
        .and_then(|key| cache.get(key))
        .map(|cached| cached.last_offset);
    if last_in_range.is_none_or(|last| last < batch.first_offset) {
        // Spec 2.2: the first offset is past the acquired records.
        return Err(ResponseError::InvalidRequest);
    }
    let last_cached = cache.last_key_value().map(|(_, cached)| cached.last_offset);
    if last_cached.is_none_or(|last| batch.last_offset > last) {
        // Spec 2.2: the last offset is past the last acquired offset.
        return Err(ResponseError::InvalidRequest);
    }
    for key in keys {
        let cached = cache.get_mut(&key).expect("key collected above");
        if cached.last_offset < start_offset {
            continue;
        }
        let full_match =
            cached.first_offset >= batch.first_offset && cached.last_offset <= batch.last_offset;
        let per_offset_types = batch.acknowledge_types.len() > 1;
        let start_inside = cached.first_offset < start_offset && cached.last_offset >= start_offset;
        if scope.snapshots.last().map(|s| s.first_offset) != Some(key) {
            scope.snapshots.push(cached.clone());
        }
        if !full_match || cached.is_split() || per_offset_types || start_inside {
            if let Some(whole) = cached.whole_state() {
                if whole.state != RecordState::Acquired {
                    // Spec 1.7: a subset ack of a batch not ACQUIRED does not split it.
                    return Err(ResponseError::InvalidRecordState);
                }
                cached.split(scope.timers);
            }
            acknowledge_per_offset(cached, start_offset, batch, scope)?;
        } else {
            let (first, last) = (cached.first_offset, cached.last_offset);
            let ack_type = ack_type_at(batch, batch.first_offset)?;
            let super::in_flight_batch::BatchStates::Whole(state) = &mut cached.states else {
                unreachable!("not split: checked above");
            };
            acknowledge_unit(state, first, last, ack_type, scope)?;
        }
    }
    Ok(())
}

/// `acknowledgePerOffsetBatchRecords`.
fn acknowledge_per_offset(
    cached: &mut InFlightBatch,
    start_offset: i64,
    batch: &AcknowledgementBatch,
    scope: &mut AckScope<'_>,
) -> Result<(), ResponseError> {
    let from = batch
        .first_offset
        .max(cached.first_offset)
        .max(start_offset);
    let to = batch.last_offset.min(cached.last_offset);
    let super::in_flight_batch::BatchStates::PerOffset(states) = &mut cached.states else {
        unreachable!("split by the caller");
    };
    for offset in from..=to {
        let state = &mut states[(offset - cached.first_offset) as usize];
        let ack_type = ack_type_at(batch, offset)?;
        acknowledge_unit(state, offset, offset, ack_type, scope)?;
    }
    Ok(())
}

/// Acknowledges one unit: ownership and state checks, then RENEW or a two-phase transition.
fn acknowledge_unit(
    state: &mut InFlightState,
    first: i64,
    last: i64,
    ack_type: AcknowledgeType,
    scope: &mut AckScope<'_>,
) -> Result<(), ResponseError> {
    if state.state != RecordState::Acquired || state.pending.is_some() {
        // Not acquired: already acknowledged, released, expired, never acquired, or a write is pending.
        return Err(ResponseError::InvalidRecordState);
    }
    let foreign_release = scope.foreign_release_accepted && ack_type == AcknowledgeType::Release;
    if state.member.as_ref() != Some(scope.member) && !foreign_release {
        return Err(ResponseError::InvalidRecordState);
    }
    let target = match ack_type {
        AcknowledgeType::Renew => {
            if !scope.renew_enabled {
                return Err(ResponseError::InvalidRecordState);
            }
            let deadline_ms = scope.now_ms + scope.lock_duration_ms;
            state.set_lock(deadline_ms, first, scope.timers);
            push_transition(
                scope.recorder.effects,
                PartitionEvent::LockRenewed {
                    member: scope.member.clone(),
                    first_offset: first,
                    last_offset: last,
                    lock_deadline_ms: deadline_ms,
                },
            );
            return Ok(());
        }
        AcknowledgeType::Gap => RecordState::Archived,
        AcknowledgeType::Accept => RecordState::Acknowledged,
        AcknowledgeType::Release => RecordState::Available,
        AcknowledgeType::Reject => archive_target(scope.dlq_enabled),
    };
    let updated = state
        .start_transition(
            scope.write_id,
            target,
            DeliveryCountOps::NoOp,
            scope.delivery_count_limit,
            scope.dlq_enabled,
        )
        .ok_or(ResponseError::InvalidRecordState)?;
    scope.recorder.transition(
        first,
        last,
        updated,
        state.delivery_count,
        Some(scope.member),
        TransitionCause::Acknowledge { ack_type },
    );
    push_state_batch(
        &mut scope.state_batches,
        first,
        last,
        updated.to,
        state.delivery_count,
    );
    Ok(())
}
