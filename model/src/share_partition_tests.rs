//! Unit tests of the step functions, each naming the spec section it checks.

use super::*;
use crate::config::{AcquireModes, Profile};

pub(super) const M0: Member = Member(0);
pub(super) const M1: Member = Member(1);

pub(super) fn model(change: impl FnOnce(&mut ShareModelCfg)) -> ShareModel {
    let mut cfg = ShareModelCfg {
        records: 3,
        members: 2,
        delivery_count_limit: 2,
        ..ShareModelCfg::default()
    };
    change(&mut cfg);
    cfg.into_model().expect("valid test bounds")
}

/// Takes steps that must all be accepted.
pub(super) fn run(model: &ShareModel, actions: &[ShareAction]) -> ShareState {
    let mut state = model.initial_state();
    for &action in actions {
        let (next, response) = model.step(&state, action);
        assert_eq!(response, Response::None, "{action:?} refused in {state:?}");
        state = next;
    }
    state
}

pub(super) fn produce_all(model: &ShareModel) -> Vec<ShareAction> {
    vec![ShareAction::Produce; model.cfg.records.div_ceil(model.cfg.log_batch_size) as usize]
}

pub(super) fn acquire(member: Member) -> ShareAction {
    ShareAction::Acquire {
        member,
        mode: AcquireMode::BatchOptimized,
    }
}

pub(super) fn ack(member: Member, offset: u8, ack_type: AckType) -> ShareAction {
    ShareAction::Acknowledge {
        member,
        offset,
        ack_type,
    }
}

pub(super) fn with(mut actions: Vec<ShareAction>, more: &[ShareAction]) -> Vec<ShareAction> {
    actions.extend_from_slice(more);
    actions
}

pub(super) const SUCCEED: ShareAction = ShareAction::WriteSucceeds { slot: 0 };
pub(super) const FAIL: ShareAction = ShareAction::WriteFails { slot: 0 };

/// Spec 1.2 transition 1: acquisition sets the owner, starts a lock and adds one delivery.
#[test]
fn acquire_takes_available_records_with_one_more_delivery() {
    let model = model(|c| c.max_records_per_acquire = 2);
    let state = run(&model, &with(produce_all(&model), &[acquire(M0)]));
    for offset in 0..2 {
        let record = state.record(offset);
        assert_eq!(record.state, RecordState::Acquired);
        assert_eq!(
            (record.owner, record.lock, record.delivery_count),
            (Some(M0), Lock::Held, 1)
        );
    }
    assert_eq!(state.record(2).state, RecordState::Available);
    assert_eq!(state.window_end, 2);
}

/// Spec 2.2: an ack from a member that does not own the record is INVALID_RECORD_STATE and changes
/// nothing.
#[test]
fn ack_from_another_member_is_refused() {
    let model = model(|_| {});
    let state = run(&model, &with(produce_all(&model), &[acquire(M0)]));
    for ack_type in [
        AckType::Accept,
        AckType::Release,
        AckType::Reject,
        AckType::Gap,
        AckType::Renew,
    ] {
        let (next, response) = model.step(&state, ack(M1, 0, ack_type));
        assert_eq!(response, Response::InvalidRecordState, "{ack_type:?}");
        assert_eq!(next, state);
    }
}

/// Spec 2.2: acks for a record that is not ACQUIRED, or has a transition in progress, are
/// INVALID_RECORD_STATE; acks past the last cached offset are INVALID_REQUEST.
#[test]
fn stale_duplicate_and_unacquired_acks_are_refused() {
    let model = model(|c| c.max_records_per_acquire = 1);
    let state = run(
        &model,
        &with(
            produce_all(&model),
            &[acquire(M0), ack(M0, 0, AckType::Accept)],
        ),
    );
    let (next, response) = model.step(&state, ack(M0, 0, AckType::Accept));
    assert_eq!(
        (response, &next),
        (Response::InvalidRecordState, &state),
        "duplicate while pending"
    );
    let (next, response) = model.step(&state, ack(M0, 2, AckType::Accept));
    assert_eq!(
        (response, &next),
        (Response::InvalidRequest, &state),
        "never acquired"
    );
    let expired = run(
        &model,
        &with(
            produce_all(&model),
            &[
                acquire(M0),
                ShareAction::LockExpiry {
                    offset: 0,
                    persisted: true,
                },
            ],
        ),
    );
    let (next, response) = model.step(&expired, ack(M0, 0, AckType::Accept));
    assert_eq!(
        (response, &next),
        (Response::InvalidRecordState, &expired),
        "lock expired"
    );
}

/// Spec 2.1: RENEW exists from 4.2 only; it changes nothing in a model without time.
#[test]
fn renew_needs_kafka_4_2() {
    for (profile, expected) in [
        (Profile::Kafka4_1, Response::InvalidRequest),
        (Profile::Kafka4_2, Response::None),
    ] {
        let model = model(|c| c.profile = profile);
        let state = run(&model, &with(produce_all(&model), &[acquire(M0)]));
        let (next, response) = model.step(&state, ack(M0, 0, AckType::Renew));
        assert_eq!((response, next), (expected, state), "{profile}");
    }
}

/// Spec 3.2: an ACCEPT is two-phase: the target state shows at once with a rollback snapshot, and the
/// write's success commits it and advances SPSO (spec 1.6).
#[test]
fn accept_commits_after_the_write() {
    let model = model(|c| c.max_records_per_acquire = 1);
    let pending = run(
        &model,
        &with(
            produce_all(&model),
            &[acquire(M0), ack(M0, 0, AckType::Accept)],
        ),
    );
    let record = pending.record(0);
    assert_eq!(record.state, RecordState::Acknowledged);
    assert_eq!(
        record.pending,
        Some(Rollback {
            owner: M0,
            delivery_count: 1,
            archived_meanwhile: false,
        })
    );
    assert_eq!(pending.spso, 0, "SPSO waits for the write");
    let (done, _) = model.step(&pending, SUCCEED);
    assert_eq!(done.record(0).pending, None);
    assert_eq!(
        done.record(0).persisted.state,
        Some(PersistedState::Acknowledged)
    );
    assert_eq!(done.spso, 1);
    assert_eq!(done.ghost.confirmed_terminal, 1);
}

/// Spec 1.3: a RELEASE at the delivery-count limit archives the record instead.
#[test]
fn release_at_the_limit_archives() {
    let model = model(|c| {
        c.records = 1;
        c.delivery_count_limit = 2;
    });
    let once = [acquire(M0), ack(M0, 0, AckType::Release), SUCCEED];
    let state = run(&model, &with(produce_all(&model), &once));
    assert_eq!(state.record(0).state, RecordState::Available);
    let state = run(&model, &with(with(produce_all(&model), &once), &once));
    assert_eq!(state.record(0).state, RecordState::Archived);
}

/// Spec 1.2 transition 5: lock expiry returns the record to AVAILABLE, or ARCHIVED at the limit; the
/// state stands even when the lock-timeout write fails.
#[test]
fn lock_expiry_releases_or_archives_and_stands_on_write_failure() {
    let model = model(|c| {
        c.records = 1;
        c.delivery_count_limit = 1;
        c.write_failures_max = 1;
    });
    let expire_unpersisted = ShareAction::LockExpiry {
        offset: 0,
        persisted: false,
    };
    let state = run(
        &model,
        &with(produce_all(&model), &[acquire(M0), expire_unpersisted]),
    );
    assert_eq!(state.record(0).state, RecordState::Archived);
    assert_eq!(state.record(0).persisted.state, None, "the write failed");
    assert_eq!(state.spso, 1, "SPSO advances anyway");
}

/// Spec 1.4: if the lock expires while an ack write is pending and the write fails, the record goes
/// to AVAILABLE (or ARCHIVED at the limit), never back to ACQUIRED.
#[test]
fn rollback_after_lock_expiry_never_reacquires() {
    let model = model(|c| c.write_failures_max = 1);
    let expire = ShareAction::LockExpiry {
        offset: 0,
        persisted: true,
    };
    let state = run(
        &model,
        &with(
            produce_all(&model),
            &[acquire(M0), ack(M0, 0, AckType::Accept), expire],
        ),
    );
    assert_eq!(state.record(0).lock, Lock::ExpiredDuringWrite);
    let (rolled_back, _) = model.step(&state, FAIL);
    let record = rolled_back.record(0);
    assert_eq!(
        (record.state, record.owner, record.lock),
        (RecordState::Available, None, Lock::None)
    );
    // Without the expiry the rollback restores the acquisition.
    let state = run(
        &model,
        &with(
            produce_all(&model),
            &[acquire(M0), ack(M0, 0, AckType::Accept), FAIL],
        ),
    );
    assert_eq!(
        (state.record(0).state, state.record(0).owner),
        (RecordState::Acquired, Some(M0))
    );
}

/// Spec 1.2 transition 6: a session release keeps the count and archives at the limit in 4.0 and
/// 4.2, and decrements it without archiving in 4.1.
#[test]
fn session_release_follows_the_profile() {
    for (profile, state_after, count_after) in [
        (Profile::Kafka4_0, RecordState::Archived, 1),
        (Profile::Kafka4_1, RecordState::Available, 0),
        (Profile::Kafka4_2, RecordState::Archived, 1),
    ] {
        let model = model(|c| {
            c.profile = profile;
            c.records = 1;
            c.delivery_count_limit = 1;
        });
        let close = ShareAction::SessionClose { member: M0 };
        let state = run(
            &model,
            &with(produce_all(&model), &[acquire(M0), close, SUCCEED]),
        );
        let record = state.record(0);
        assert_eq!(record.state, state_after, "{profile}");
        if record.state == RecordState::Available {
            assert_eq!(record.delivery_count, count_after, "{profile}");
        }
    }
}

/// Spec 2.5: a session release touches only the member's own records.
#[test]
fn session_release_leaves_other_members_records() {
    let model = model(|c| c.max_records_per_acquire = 1);
    let close = ShareAction::SessionClose { member: M1 };
    let state = run(
        &model,
        &with(produce_all(&model), &[acquire(M0), acquire(M1), close]),
    );
    assert_eq!(state.record(0).owner, Some(M0));
    assert!(state.record(1).pending.is_some());
}

/// Spec 3.5: failover loses ACQUIRED state and pending transitions; the new leader restores the
/// persisted image, and the old leader's late write is fenced (spec 3.4).
#[test]
fn failover_restores_the_persisted_image_and_fences_the_old_leader() {
    let model = model(|c| {
        c.failovers_max = 1;
        c.max_records_per_acquire = 1;
    });
    let state = run(
        &model,
        &with(
            produce_all(&model),
            &[
                acquire(M0),
                ack(M0, 0, AckType::Release),
                SUCCEED,
                acquire(M0),
                ack(M0, 0, AckType::Accept),
                ShareAction::LeaderFailover,
            ],
        ),
    );
    let record = state.record(0);
    assert_eq!(
        (record.state, record.delivery_count),
        (RecordState::Available, 1),
        "persisted release"
    );
    assert!(record.attempt_lost, "the second delivery is not counted");
    assert_eq!(state.leader_epoch, 1);
    let (fenced, _) = model.step(&state, SUCCEED);
    assert_eq!(
        fenced.record(0).persisted.state,
        Some(PersistedState::Available),
        "late write fenced"
    );
    assert_eq!(fenced.ghost.violations, 0);
}

/// Spec 3.3: the coordinator keeps the larger start offset.
#[test]
fn persisted_start_offset_never_regresses() {
    let model = model(|c| {
        c.pending_writes_max = 2;
        c.max_records_per_acquire = 3;
    });
    let state = run(
        &model,
        &with(
            produce_all(&model),
            &[
                acquire(M0),
                ack(M0, 1, AckType::Accept),
                ack(M0, 0, AckType::Accept),
            ],
        ),
    );
    // Complete the write of offset 0 first (SPSO moves to 2), then offset 2's write (start 2), then 1's.
    let slot_of = |state: &ShareState, offset: u8| {
        state
            .writes
            .iter()
            .position(|w| w.is_some_and(|w| w.offsets == 1 << offset))
            .unwrap() as u8
    };
    let (state, _) = model.step(
        &state,
        ShareAction::WriteSucceeds {
            slot: slot_of(&state, 0),
        },
    );
    assert_eq!(state.spso, 1, "offset 1's write is still pending");
    let (state, _) = model.step(
        &state,
        ShareAction::WriteSucceeds {
            slot: slot_of(&state, 1),
        },
    );
    assert_eq!(state.spso, 2);
    assert_eq!(
        state.coordinator.start_offset, 0,
        "start offsets are persisted by the next write"
    );
    let state = run_from(&model, state, &[ack(M0, 2, AckType::Accept), SUCCEED]);
    assert_eq!(state.coordinator.start_offset, 2);
}

fn run_from(model: &ShareModel, mut state: ShareState, actions: &[ShareAction]) -> ShareState {
    for &action in actions {
        let (next, response) = model.step(&state, action);
        assert_eq!(response, Response::None, "{action:?}");
        state = next;
    }
    state
}

/// Spec 1.6: the log start moving past SPSO archives AVAILABLE records and leaves ACQUIRED ones,
/// which are archived when their lock expires.
#[test]
fn log_start_move_archives_available_and_leaves_acquired() {
    let model = model(|c| {
        c.log_start_moves_max = 1;
        c.max_records_per_acquire = 1;
    });
    let state = run(
        &model,
        &with(
            produce_all(&model),
            &[acquire(M0), ShareAction::LogStartMove { log_start: 2 }],
        ),
    );
    assert_eq!(state.spso, 2);
    assert_eq!(state.record(0).state, RecordState::Acquired);
    assert_eq!(state.record(1).state, RecordState::Archived);
    let (next, response) = model.step(&state, ack(M0, 0, AckType::Release));
    assert_eq!(
        (response, next.record(0).state),
        (Response::None, RecordState::Acquired),
        "ack skipped"
    );
    let state = run_from(
        &model,
        state,
        &[ShareAction::LockExpiry {
            offset: 0,
            persisted: true,
        }],
    );
    assert_eq!(state.record(0).state, RecordState::Archived);
}

/// Spec 1.6: SPSO stops at a record whose write is pending.
#[test]
fn spso_stops_at_a_pending_write() {
    let model = model(|c| {
        c.max_records_per_acquire = 2;
        c.delivery_count_limit = 1;
    });
    let state = run(
        &model,
        &with(
            produce_all(&model),
            &[
                acquire(M0),
                ack(M0, 1, AckType::Accept),
                ShareAction::LockExpiry {
                    offset: 0,
                    persisted: true,
                },
            ],
        ),
    );
    assert_eq!(state.record(0).state, RecordState::Archived);
    assert_eq!(state.spso, 1, "offset 1 is pending");
}

/// Spec 1.5: with the window full and nothing AVAILABLE inside it, nothing more is acquired.
#[test]
fn in_flight_limit_blocks_new_records() {
    let model = model(|c| {
        c.max_in_flight_records = 1;
        c.max_records_per_acquire = 3;
    });
    let state = run(&model, &with(produce_all(&model), &[acquire(M0)]));
    assert_eq!(state.window_end, 1);
    let (_, response) = model.step(&state, acquire(M1));
    assert_eq!(response, Response::NotEnabled);
}

/// Spec 2.6: batch_optimized takes whole log batches past the record budget; record_limit does not.
#[test]
fn acquire_modes_differ_on_log_batches() {
    let model = model(|c| {
        c.records = 4;
        c.log_batch_size = 2;
        c.max_records_per_acquire = 1;
        c.acquire_modes = AcquireModes::Both;
    });
    let batch = run(&model, &with(produce_all(&model), &[acquire(M0)]));
    assert_eq!(batch.window_end, 2, "the whole first log batch");
    let limit = ShareAction::Acquire {
        member: M0,
        mode: AcquireMode::RecordLimit,
    };
    let record = run(&model, &with(produce_all(&model), &[limit]));
    assert_eq!(record.window_end, 1, "one record");
}

/// Spec 7.6: a corrupt batch REJECTs every offset of the log batch the member acquired, in one write.
#[test]
fn corrupt_batch_rejects_the_whole_log_batch() {
    let model = model(|c| {
        c.records = 2;
        c.log_batch_size = 2;
        c.corrupt_batches_max = 1;
    });
    let corrupt = ShareAction::CorruptBatch {
        member: M0,
        log_batch: 0,
    };
    let state = run(
        &model,
        &with(produce_all(&model), &[acquire(M0), corrupt, SUCCEED]),
    );
    assert_eq!(state.record(0).state, RecordState::Archived);
    assert_eq!(state.record(1).state, RecordState::Archived);
    assert_eq!(state.spso, 2);
}

/// Spec 5.3 and 3.4: an offset reset bumps the state epoch; the live leader's next write is fenced
/// and it re-initializes from the new start offset.
#[test]
fn offset_reset_fences_the_live_leader() {
    let model = model(|c| {
        c.offset_resets_max = 1;
        c.max_records_per_acquire = 1;
    });
    let state = run(
        &model,
        &with(
            produce_all(&model),
            &[
                acquire(M0),
                ack(M0, 0, AckType::Accept),
                SUCCEED,
                ShareAction::OffsetReset { start_offset: 0 },
                acquire(M0),
                ack(M0, 1, AckType::Accept),
                SUCCEED,
            ],
        ),
    );
    assert_eq!(state.state_epoch, 1);
    assert_eq!(
        (state.spso, state.record(0).state),
        (0, RecordState::Available),
        "redelivered"
    );
    assert_eq!(state.ghost.violations, 0);
}

/// Spec 1.5 (`lastOffsetAndMaxRecordsToAcquire`): the record budget min(MaxRecords, limit - inFlight)
/// also counts records re-acquired inside the window. Regression: after a multi-lock expiry with three
/// of four record locks in flight, a fetch re-acquires only offset 0 (budget 1), as the engine does.
#[test]
fn reacquisition_inside_the_window_counts_against_the_in_flight_room() {
    let model = model(|c| {
        c.max_in_flight_records = 4;
        c.max_records_per_acquire = 2;
    });
    let expire = |offset| ShareAction::LockExpiry {
        offset,
        persisted: true,
    };
    let state = run(
        &model,
        &[
            ShareAction::Produce,
            acquire(M0),
            ShareAction::Produce,
            ShareAction::Produce,
            acquire(M1),
            expire(0),
            expire(1),
            expire(2),
        ],
    );
    assert_eq!(state.in_flight(), 3);
    let state = run_from(&model, state, &[acquire(M0)]);
    let held: Vec<u8> = (0..3)
        .filter(|&o| state.record(o).state == RecordState::Acquired)
        .collect();
    assert_eq!(held, vec![0], "budget min(2, 4 - 3) = 1");
    // With room for two, both are re-acquired.
    let roomy = model_with_room(5);
    let state = run(
        &roomy,
        &[
            ShareAction::Produce,
            acquire(M0),
            ShareAction::Produce,
            ShareAction::Produce,
            acquire(M1),
            expire(0),
            expire(1),
            expire(2),
            acquire(M0),
        ],
    );
    let held: Vec<u8> = (0..3)
        .filter(|&o| state.record(o).state == RecordState::Acquired)
        .collect();
    assert_eq!(held, vec![0, 1], "budget min(2, 5 - 3) = 2");
}

fn model_with_room(max_in_flight_records: u8) -> ShareModel {
    model(|c| {
        c.max_in_flight_records = max_in_flight_records;
        c.max_records_per_acquire = 2;
    })
}

/// Spec 1.5: with the window full, a fetch inside it gets min(MaxRecords, SPEO - first + 1) and never
/// grows the window.
#[test]
fn full_window_reacquires_only_inside_it() {
    let model = model(|c| {
        c.max_in_flight_records = 2;
        c.max_records_per_acquire = 2;
    });
    let state = run(
        &model,
        &with(
            produce_all(&model),
            &[
                acquire(M0),
                ShareAction::LockExpiry {
                    offset: 1,
                    persisted: true,
                },
                acquire(M1),
            ],
        ),
    );
    assert_eq!(state.record(1).owner, Some(M1));
    assert_eq!(state.record(2).state, RecordState::Available);
    assert_eq!(state.window_end, 2, "SPEO stays put");
}

/// Spec 3.5: without the cross-failover witness, a lost attempt restarts DC-LIMIT's delivery ghost
/// from the restored count instead of setting the sticky `attempt_lost` bit.
#[test]
fn lost_attempt_restarts_the_delivery_ghost_without_witnesses() {
    let model = model(|c| {
        c.failovers_max = 1;
        c.max_records_per_acquire = 1;
        c.witnesses = false;
    });
    let state = run(
        &model,
        &with(
            produce_all(&model),
            &[
                acquire(M0),
                ack(M0, 0, AckType::Release),
                SUCCEED,
                acquire(M0),
                ShareAction::LeaderFailover,
            ],
        ),
    );
    let record = state.record(0);
    assert_eq!(record.delivery_count, 1, "persisted release");
    assert!(!record.attempt_lost);
    assert_eq!(
        record.deliveries, 1,
        "counted again from the restored count"
    );
}

/// Spec 1.2 transition 6 (4.1 decrements): no property reads the delivery ghosts, so they stay clear.
#[test]
fn kafka_4_1_keeps_no_delivery_ghost() {
    let model = model(|c| c.profile = Profile::Kafka4_1);
    let state = run(&model, &with(produce_all(&model), &[acquire(M0)]));
    assert_eq!(state.record(0).deliveries, 0);
}

/// Symmetry: of interchangeable members only the first acts; a member holding records is distinct.
#[test]
fn only_one_of_interchangeable_members_acts() {
    let model = model(|c| {
        c.members = 3;
        c.symmetry = true;
    });
    let members = [M0, M1, Member(2)];
    let initial = model.initial_state();
    assert_eq!(
        crate::symmetry::distinct_roles(&initial, &members).as_slice(),
        [M0]
    );
    let (held, _) = model.step(&run(&model, &produce_all(&model)), acquire(M0));
    assert_eq!(
        crate::symmetry::distinct_roles(&held, &members).as_slice(),
        [M0, M1]
    );
    let mut actions = Vec::new();
    model.actions(&initial, &mut actions);
    let acquirers: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            ShareAction::Acquire { member, .. } => Some(*member),
            _ => None,
        })
        .collect();
    assert_eq!(acquirers, vec![M0]);
}

/// Spec 1.6 (Kafka 4.2 `archiveRecords`): the log start moving past a record whose RELEASE write is
/// pending archives it too; a failed write's rollback keeps it ARCHIVED, and a commit does not count
/// the RELEASE as a confirmed terminal ack.
#[test]
fn log_start_move_archives_a_pending_release_for_good() {
    let model = model(|c| {
        c.log_start_moves_max = 1;
        c.write_failures_max = 1;
        c.max_records_per_acquire = 1;
    });
    let pending = run(
        &model,
        &with(
            produce_all(&model),
            &[
                acquire(M0),
                ack(M0, 0, AckType::Release),
                ShareAction::LogStartMove { log_start: 1 },
            ],
        ),
    );
    let record = pending.record(0);
    assert_eq!(record.state, RecordState::Archived);
    assert!(record.pending.is_some_and(|r| r.archived_meanwhile));
    assert_eq!(record.lock, Lock::None, "the timer is cancelled");
    let rolled_back = run_from(
        &model,
        pending.clone(),
        &[ShareAction::WriteFails { slot: 0 }],
    );
    assert_eq!(rolled_back.record(0).state, RecordState::Archived);
    assert_eq!(rolled_back.record(0).pending, None);
    let committed = run_from(&model, pending, &[SUCCEED]);
    assert_eq!(committed.record(0).state, RecordState::Archived);
    assert_eq!(
        committed.ghost.confirmed_terminal, 0,
        "a RELEASE is not a terminal ack"
    );
}

/// Spec 1.4, 1.6: a failed write whose record's lock expired meanwhile and which a log-start move
/// passed rolls back to ARCHIVED, not to an AVAILABLE record below SPSO.
#[test]
fn rollback_after_expiry_below_spso_archives() {
    let model = model(|c| {
        c.log_start_moves_max = 1;
        c.write_failures_max = 1;
        c.max_records_per_acquire = 1;
    });
    let state = run(
        &model,
        &with(
            produce_all(&model),
            &[
                acquire(M0),
                ack(M0, 0, AckType::Reject),
                ShareAction::LockExpiry {
                    offset: 0,
                    persisted: true,
                },
                ShareAction::LogStartMove { log_start: 1 },
                ShareAction::WriteFails { slot: 0 },
            ],
        ),
    );
    assert_eq!(state.record(0).state, RecordState::Archived);
    assert_eq!(state.record(0).pending, None);
}

/// Spec 1.7, 2.6, 3.3: a new leader caches the persisted state batches, coalesced across log batches,
/// so a batch_optimized fetch takes a restored batch whole past MaxRecords; before the failover the
/// log batches count.
#[test]
fn restored_state_batches_are_taken_whole() {
    let model = model(|c| {
        c.records = 3;
        c.delivery_count_limit = 3;
        c.failovers_max = 1;
        c.max_records_per_acquire = 1;
    });
    let acquired = |state: &ShareState| {
        (0..3)
            .filter(|&o| state.record(o).state == RecordState::Acquired)
            .count()
    };
    let released = run(
        &model,
        &with(
            produce_all(&model),
            &[
                acquire(M0),
                acquire(M0),
                ack(M0, 0, AckType::Release),
                SUCCEED,
                ack(M0, 1, AckType::Release),
                SUCCEED,
            ],
        ),
    );
    let (again, _) = model.step(&released, acquire(M0));
    assert_eq!(acquired(&again), 1, "log batches: one record per fetch");
    let restored = run_from(&model, released, &[ShareAction::LeaderFailover]);
    assert_eq!(restored.window_end, 2);
    let (whole, _) = model.step(&restored, acquire(M0));
    assert_eq!(
        acquired(&whole),
        2,
        "the coalesced state batch [0, 1] whole"
    );
    assert_eq!(whole.record(2).state, RecordState::Available);
}

/// Spec 1.2 transition 9: under read_committed an acquisition archives the offsets of aborted
/// transactions at once (counted as delivered, not persisted); the others are handed out. A new leader
/// finds no persisted state for them and acquires (and archives) them again.
#[test]
fn aborted_transaction_offsets_are_archived_at_acquisition() {
    let model = model(|c| {
        c.aborted_offsets = 0b010;
        c.max_records_per_acquire = 3;
        c.failovers_max = 1;
    });
    let state = run(&model, &with(produce_all(&model), &[acquire(M0)]));
    let aborted = state.record(1);
    assert_eq!(
        (
            aborted.state,
            aborted.owner,
            aborted.lock,
            aborted.delivery_count
        ),
        (RecordState::Archived, None, Lock::None, 1)
    );
    assert_eq!(aborted.persisted.state, None);
    assert_eq!(state.record(0).state, RecordState::Acquired);
    assert_eq!(state.record(2).state, RecordState::Acquired);
    let state = run(
        &model,
        &with(
            produce_all(&model),
            &[acquire(M0), ShareAction::LeaderFailover, acquire(M1)],
        ),
    );
    assert_eq!(state.record(1).state, RecordState::Archived);
    assert_eq!(state.record(1).delivery_count, 1);
    assert_eq!(state.record(0).owner, Some(M1));
}

/// Spec 1.2 transition 9: the aborted offsets must lie inside the log.
#[test]
fn aborted_offsets_past_the_log_are_rejected() {
    let cfg = ShareModelCfg {
        records: 2,
        aborted_offsets: 0b100,
        ..ShareModelCfg::default()
    };
    assert!(cfg.validate().unwrap_err().contains("aborted offsets"));
}

/// Spec 1.6 and 1.4 as the invariants a trace replay asks: SPSO moved back breaks SPSO-SAFE, an
/// acquired record without a live lock breaks EXCLUSIVE; a name that is no `always` property holds.
#[test]
fn always_holds_judges_a_state_by_the_named_invariant() {
    let model = model(|_| {});
    let acquired = run(&model, &with(produce_all(&model), &[acquire(M0)]));
    assert!(names::ALWAYS
        .iter()
        .all(|name| model.always_holds(name, &acquired)));
    let mut moved_back = acquired.clone();
    moved_back.record_mut(0).state = RecordState::Archived;
    moved_back.record_mut(0).owner = None;
    moved_back.record_mut(0).lock = Lock::None;
    model.set_spso(&mut moved_back, 1);
    assert!(model.always_holds(names::SPSO_SAFE, &moved_back));
    model.set_spso(&mut moved_back, 0);
    assert!(!model.always_holds(names::SPSO_SAFE, &moved_back));
    let mut lockless = acquired.clone();
    lockless.record_mut(0).lock = Lock::None;
    assert!(!model.always_holds(names::EXCLUSIVE, &lockless));
    assert!(model.always_holds(names::SPSO_PAST_EVERYTHING, &lockless));
}
