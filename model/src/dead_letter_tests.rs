//! Unit tests of the dead-letter queue's steps (KIP-1191, [`ShareModelCfg::dead_letter_queue`]),
//! each naming the spec section it checks.

use super::tests::{ack, acquire, model, produce_all, run, with, FAIL, M0, M1, SUCCEED};
use super::*;

fn dlq_model(change: impl FnOnce(&mut ShareModelCfg)) -> ShareModel {
    model(|cfg| {
        cfg.records = 1;
        cfg.dead_letter_queue = true;
        cfg.write_failures_max = 1;
        cfg.failovers_max = 1;
        change(cfg);
    })
}

const DEAD_LETTERED: ShareAction = ShareAction::DeadLetterCompleted {
    offset: 0,
    enqueued: true,
    persisted: true,
};

/// A REJECT of offset 0 by M0, committed: the record is in the DLQ's phase 2.
fn rejected(model: &ShareModel) -> ShareState {
    let steps = [acquire(M0), ack(M0, 0, AckType::Reject), SUCCEED];
    run(model, &with(produce_all(model), &steps))
}

/// Spec 1.2 #4, 2.1: with the DLQ a REJECT goes to ARCHIVING (two-phase, persisted as state 3), and
/// SPSO does not pass it (spec 1.1, 1.6: not terminal); GAP still goes to ARCHIVED.
#[test]
fn reject_goes_to_archiving_and_spso_waits() {
    let model = dlq_model(|_| {});
    let pending = run(
        &model,
        &with(
            produce_all(&model),
            &[acquire(M0), ack(M0, 0, AckType::Reject)],
        ),
    );
    assert_eq!(pending.record(0).state, RecordState::Archiving);
    assert!(pending.record(0).pending.is_some());
    let committed = model.step(&pending, SUCCEED).0;
    let record = committed.record(0);
    assert_eq!(
        (record.state, record.pending),
        (RecordState::Archiving, None)
    );
    assert_eq!(record.persisted.state, Some(PersistedState::Archiving));
    assert_eq!(committed.spso, 0, "SPSO stops at ARCHIVING");
    assert_eq!(committed.ghost.dead_lettered, 1);
    let gap = run(
        &model,
        &with(
            produce_all(&model),
            &[acquire(M0), ack(M0, 0, AckType::Gap)],
        ),
    );
    assert_eq!(gap.record(0).state, RecordState::Archived);
}

/// Spec 1.2 #10: phase 2 archives the record whether the enqueue succeeded or failed, persists
/// ARCHIVED, and SPSO advances past it (spec 1.6).
#[test]
fn phase_two_archives_and_spso_advances() {
    let model = dlq_model(|_| {});
    let state = rejected(&model);
    for enqueued in [true, false] {
        let action = ShareAction::DeadLetterCompleted {
            offset: 0,
            enqueued,
            persisted: true,
        };
        let (next, response) = model.step(&state, action);
        assert_eq!(response, Response::None);
        assert_eq!(next.record(0).state, RecordState::Archived);
        assert_eq!(next.spso, 1, "enqueued: {enqueued}");
        assert_eq!(next.ghost.dead_lettered, 0);
        assert!(model.always_holds(names::DEAD_LETTER, &next));
    }
}

/// Spec 3.2 (table, DLQ row): a failed phase-2 write leaves ARCHIVED in memory; the failure uses
/// the write-failure budget.
#[test]
fn failed_phase_two_write_leaves_archived() {
    let model = dlq_model(|_| {});
    let state = rejected(&model);
    let action = ShareAction::DeadLetterCompleted {
        offset: 0,
        enqueued: true,
        persisted: false,
    };
    let (next, _) = model.step(&state, action);
    assert_eq!(next.record(0).state, RecordState::Archived);
    assert_eq!(next.budgets.write_failures, 1);
    assert_eq!(next.spso, 1);
}

/// Spec 1.1, 2.2: an ARCHIVING record is never acquired and acks of it are INVALID_RECORD_STATE.
#[test]
fn archiving_is_neither_acquired_nor_acknowledged() {
    let model = dlq_model(|cfg| cfg.members = 2);
    let state = rejected(&model);
    for member in [M0, M1] {
        assert_eq!(model.step(&state, acquire(member)).1, Response::NotEnabled);
        for ack_type in [AckType::Accept, AckType::Release, AckType::Reject] {
            let response = model.step(&state, ack(member, 0, ack_type)).1;
            assert_eq!(response, Response::InvalidRecordState, "{ack_type:?}");
        }
    }
}

/// Spec 1.2 #10, 3.2: phase 2 starts only once phase 1 is written: while the REJECT's write is
/// pending there is no phase 2, and a failed write rolls the record back to ACQUIRED (live lock).
#[test]
fn phase_two_waits_for_phase_one_and_a_failed_write_rolls_back() {
    let model = dlq_model(|_| {});
    let pending = run(
        &model,
        &with(
            produce_all(&model),
            &[acquire(M0), ack(M0, 0, AckType::Reject)],
        ),
    );
    assert_eq!(model.step(&pending, DEAD_LETTERED).1, Response::NotEnabled);
    let rolled_back = model.step(&pending, FAIL).0;
    assert_eq!(rolled_back.record(0).state, RecordState::Acquired);
    assert_eq!(rolled_back.record(0).owner, Some(M0));
}

/// Spec 1.2 #5, 1.3: with the DLQ a lock expiry at the limit goes to ARCHIVING (committed at once,
/// so phase 2 may start), also when its write fails (spec 1.4).
#[test]
fn lock_expiry_at_the_limit_goes_to_archiving() {
    let model = dlq_model(|cfg| cfg.delivery_count_limit = 1);
    for persisted in [true, false] {
        let expiry = ShareAction::LockExpiry {
            offset: 0,
            persisted,
        };
        let state = run(&model, &with(produce_all(&model), &[acquire(M0), expiry]));
        assert_eq!(state.record(0).state, RecordState::Archiving);
        assert_eq!(state.record(0).lock, Lock::None);
        assert_eq!(model.step(&state, DEAD_LETTERED).1, Response::None);
    }
}

/// Spec 1.2 #3, #6, 1.3: RELEASE and a session release at the limit go to ARCHIVING too.
#[test]
fn release_and_session_release_at_the_limit_go_to_archiving() {
    let model = dlq_model(|cfg| cfg.delivery_count_limit = 1);
    let released = run(
        &model,
        &with(
            produce_all(&model),
            &[acquire(M0), ack(M0, 0, AckType::Release)],
        ),
    );
    assert_eq!(released.record(0).state, RecordState::Archiving);
    let closed = run(
        &model,
        &with(
            produce_all(&model),
            &[acquire(M0), ShareAction::SessionClose { member: M0 }],
        ),
    );
    assert_eq!(closed.record(0).state, RecordState::Archiving);
}

/// Spec 1.4, 3.2: a failed write whose record's lock expired meanwhile rolls back to ARCHIVING when
/// the previous count reached the limit (with the DLQ; ARCHIVED without).
#[test]
fn rollback_after_expiry_at_the_limit_goes_to_archiving() {
    let model = dlq_model(|cfg| cfg.delivery_count_limit = 1);
    let expiry = ShareAction::LockExpiry {
        offset: 0,
        persisted: true,
    };
    let steps = [acquire(M0), ack(M0, 0, AckType::Accept), expiry, FAIL];
    let state = run(&model, &with(produce_all(&model), &steps));
    assert_eq!(state.record(0).state, RecordState::Archiving);
    assert_eq!(state.record(0).pending, None);
    assert_eq!(state.ghost.dead_lettered, 1);
}

/// Spec 1.2 #10, 3.5: a new leader restores a persisted ARCHIVING record as ARCHIVING and phase 2
/// resumes; an ARCHIVING never written (its REJECT write pending) is lost with the old leader.
#[test]
fn failover_restores_persisted_archiving() {
    let model = dlq_model(|_| {});
    let restored = model.step(&rejected(&model), ShareAction::LeaderFailover).0;
    assert_eq!(restored.record(0).state, RecordState::Archiving);
    assert_eq!(restored.ghost.dead_lettered, 1);
    assert_eq!(model.step(&restored, DEAD_LETTERED).1, Response::None);
    let pending = run(
        &model,
        &with(
            produce_all(&model),
            &[acquire(M0), ack(M0, 0, AckType::Reject)],
        ),
    );
    let lost = model.step(&pending, ShareAction::LeaderFailover).0;
    assert_eq!(lost.record(0).state, RecordState::Available);
}

/// Spec 3.3: the coordinator's merge ranks ARCHIVED (4) above ARCHIVING (3) at equal counts.
#[test]
fn archiving_has_state_id_three() {
    assert_eq!(RecordState::Archiving.id(), 3);
    assert!(!RecordState::Archiving.is_terminal());
    assert_eq!(
        PersistedState::of(RecordState::Archiving).map(PersistedState::restored),
        Some(RecordState::Archiving)
    );
}

/// The DLQ's mutations break DEAD-LETTER and SPSO-SAFE at the first step that shows them.
#[test]
fn dead_letter_mutations_break_their_properties() {
    let redelivers =
        dlq_model(|cfg| cfg.mutation = Some(SpecMutation::DeadLetterFailureRedelivers));
    let failed_enqueue = ShareAction::DeadLetterCompleted {
        offset: 0,
        enqueued: false,
        persisted: true,
    };
    let next = redelivers.step(&rejected(&redelivers), failed_enqueue).0;
    assert_eq!(next.record(0).state, RecordState::Available);
    assert!(!redelivers.always_holds(names::DEAD_LETTER, &next));
    let passes = dlq_model(|cfg| cfg.mutation = Some(SpecMutation::SpsoPassesArchiving));
    let state = rejected(&passes);
    assert_eq!(state.spso, 1);
    assert!(!passes.always_holds(names::SPSO_SAFE, &state));
}
