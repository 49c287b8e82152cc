//! The abstraction function α: engine + shard image + writes in flight + ghosts → the spec's
//! [`ShareState`].
//!
//! - A cached offset maps its view (state, delivery count, owner, pending flag, lock). An ACQUIRED
//!   record with an armed lock is `Lock::Held`; a pending record keeps its lock as `Held` while armed
//!   and `ExpiredDuringWrite` once its timer fired. The rollback snapshot comes from the ghost recorded
//!   when the transition began (the engine does not expose it).
//! - An offset not cached is ARCHIVED below SPSO (passed) and FRESH at or above it.
//! - The persisted record is the image's state batch covering the offset.
//! - SPEO + 1 is the window end while some cached batch reaches SPSO, else SPSO.
//! - Finally the spec's `forget_irrelevant_history` runs, as after every spec step.

use sharesim_model::state::{
    Coordinator, Ghost, Lock, OffsetMask, PendingWrite, PersistedRecord, PersistedState, Record,
    RecordState, ShareState, PENDING_WRITES_MAX, RECORDS_MAX,
};
use sharesim_sim::share::partition::{RecordView, SharePartition};
use sharesim_sim::share::{RecordState as EngineState, StateBatch};

use super::model::{member_of, partition_key, ImplModel, ImplState, InFlightWrite};

fn small(value: i64) -> u8 {
    value.clamp(0, i64::from(u8::MAX)) as u8
}

fn persisted_state(state: EngineState) -> Option<PersistedState> {
    match state {
        EngineState::Available => Some(PersistedState::Available),
        EngineState::Acknowledged => Some(PersistedState::Acknowledged),
        EngineState::Archived => Some(PersistedState::Archived),
        EngineState::Archiving => Some(PersistedState::Archiving),
        EngineState::Acquired => None,
    }
}

fn persisted_at(batches: &[StateBatch], offset: i64) -> PersistedRecord {
    batches
        .iter()
        .find(|b| b.first_offset <= offset && offset <= b.last_offset)
        .map(|b| PersistedRecord {
            state: persisted_state(b.delivery_state),
            delivery_count: small(i64::from(b.delivery_count)),
        })
        .unwrap_or_default()
}

fn record_state(state: EngineState) -> RecordState {
    match state {
        EngineState::Available => RecordState::Available,
        EngineState::Acquired => RecordState::Acquired,
        EngineState::Acknowledged => RecordState::Acknowledged,
        // Only with the DLQ (`ShareModelCfg::dead_letter_queue`).
        EngineState::Archiving => RecordState::Archiving,
        EngineState::Archived => RecordState::Archived,
    }
}

fn lock_of(view: &RecordView) -> Lock {
    match (
        view.state == EngineState::Acquired || view.pending,
        view.lock_deadline_ms,
    ) {
        (true, Some(_)) if view.lock_armed => Lock::Held,
        (true, Some(_)) if view.pending => Lock::ExpiredDuringWrite,
        _ => Lock::None,
    }
}

fn pending_write(write: &InFlightWrite) -> PendingWrite {
    let mut offsets = 0u8;
    let mut entries = [PersistedRecord::default(); RECORDS_MAX];
    for batch in &write.request.state_batches {
        for offset in batch.first_offset.max(0)..=batch.last_offset.min(RECORDS_MAX as i64 - 1) {
            offsets |= 1 << offset;
            entries[offset as usize] = PersistedRecord {
                state: persisted_state(batch.delivery_state),
                delivery_count: small(i64::from(batch.delivery_count)),
            };
        }
    }
    PendingWrite {
        kind: write.kind,
        offsets,
        entries,
        start_offset: small(write.request.start_offset),
        leader_epoch: small(i64::from(write.request.leader_epoch)),
        state_epoch: small(i64::from(write.request.state_epoch)),
        answered: write.answered,
    }
}

/// The engine's cached-batch starts in `[spso, window_end)`, with the holes between cached batches
/// (acquired as new records, so their log batches count, beginning where the hole begins).
fn cached_batch_starts(
    model: &ImplModel,
    engine: &SharePartition,
    spso: i64,
    window_end: i64,
) -> OffsetMask {
    let cached: Vec<(i64, i64)> = engine
        .cached_batches()
        .map(|batch| (batch.first_offset(), batch.last_offset()))
        .collect();
    let batch_of = |offset: i64| {
        cached
            .iter()
            .find(|(first, last)| *first <= offset && offset <= *last)
    };
    let log_batch_size = i64::from(model.cfg.log_batch_size);
    let mut starts: OffsetMask = 0;
    for offset in spso.max(0)..window_end.min(RECORDS_MAX as i64) {
        let start = match batch_of(offset) {
            Some((first, _)) => *first == offset,
            None => {
                offset == spso || offset % log_batch_size == 0 || batch_of(offset - 1).is_some()
            }
        };
        if start {
            starts |= 1 << offset;
        }
    }
    starts
}

/// α(state).
pub fn abstract_state(model: &ImplModel, state: &ImplState) -> ShareState {
    let engine = &state.engine;
    let spso = engine.start_offset();
    let key = partition_key();
    let image = state.shard.image(&key);
    let batches = image.map_or(&[][..], |image| &image.state_batches[..]);
    let mut records = [Record::FRESH; RECORDS_MAX];
    for offset in 0..model.cfg.records {
        let at = i64::from(offset);
        let mut record = Record {
            persisted: persisted_at(batches, at),
            deliveries: state.ghost.deliveries[offset as usize],
            attempt_lost: state.ghost.attempt_lost & (1 << offset) != 0,
            ..Record::FRESH
        };
        match engine.record(at) {
            Some(view) => {
                record.state = record_state(view.state);
                record.delivery_count = small(i64::from(view.delivery_count));
                record.owner = view.member.as_ref().and_then(member_of);
                record.lock = lock_of(&view);
                record.pending = if view.pending {
                    state.ghost.rollbacks[offset as usize]
                } else {
                    None
                };
            }
            None if at < spso => record.state = RecordState::Archived,
            None => {}
        }
        records[offset as usize] = record;
    }
    let window_end = if engine.cached_batches().any(|b| b.last_offset() >= spso) {
        engine.end_offset() + 1
    } else {
        spso
    };
    let cached_batch_starts = cached_batch_starts(model, engine, spso, window_end);
    let mut writes = [None; PENDING_WRITES_MAX];
    for (slot, write) in writes.iter_mut().zip(&state.writes) {
        *slot = Some(pending_write(write));
    }
    let (leader_epoch_max, _) = state.shard.epochs_max(&key).unwrap_or((0, 0));
    let mut abstracted = ShareState {
        records,
        members: state.members,
        writes,
        produced: state.produced,
        log_start: state.log_start,
        spso: small(spso),
        window_end: small(window_end.max(spso)),
        cached_batch_starts,
        leader_epoch: small(i64::from(engine.leader_epoch())),
        state_epoch: small(i64::from(engine.state_epoch())),
        coordinator: Coordinator {
            start_offset: image.map_or(0, |image| small(image.start_offset)),
            state_epoch: image.map_or(0, |image| small(i64::from(image.state_epoch))),
            leader_epoch: small(i64::from(leader_epoch_max)),
        },
        budgets: state.budgets,
        ghost: Ghost {
            terminal: state.ghost.terminal,
            confirmed_terminal: state.ghost.confirmed_terminal,
            violations: state.ghost.violations,
            events: 0,
            dead_lettered: state.ghost.dead_lettered,
        },
    };
    abstracted.normalize_writes();
    model.spec.forget_irrelevant_history(&mut abstracted);
    abstracted
}
