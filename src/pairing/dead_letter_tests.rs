//! The implementation model with the dead-letter queue (KIP-1191, `ShareModelCfg::dead_letter_queue`):
//! the engine runs with `dlq_enabled`, and the host's report of an `EnqueueDeadLetters` range is the
//! spec's phase-2 step `DeadLetterCompleted`.

use sharesim_model::check::{CheckOptions, CheckReport, Verdict};
use sharesim_model::share_partition::names;
use sharesim_model::state::{Member, PersistedState, RecordState};
use sharesim_model::{AckType, AcquireMode, ShareAction, ShareModelCfg};
use stateright::Model;

use super::{check_implementation, EngineMutation, ImplModel, ImplState, REFINEMENT};

const M0: Member = Member(0);
const ACQUIRE: ShareAction = ShareAction::Acquire {
    member: M0,
    mode: AcquireMode::BatchOptimized,
};
const COMMIT: ShareAction = ShareAction::WriteSucceeds { slot: 0 };

fn dlq_cfg() -> ShareModelCfg {
    ShareModelCfg {
        records: 2,
        members: 1,
        delivery_count_limit: 2,
        dead_letter_queue: true,
        ..ShareModelCfg::default()
    }
}

fn check(cfg: ShareModelCfg, mutation: Option<EngineMutation>) -> CheckReport<ImplModel> {
    check_implementation(cfg, mutation, &CheckOptions::default()).expect("valid bounds")
}

fn assert_all_hold(report: &CheckReport<ImplModel>) {
    for result in &report.results {
        if result.verdict == Verdict::Violated {
            if let Some(divergence) = result
                .path
                .as_ref()
                .and_then(|path| path.last_state().divergence.clone())
            {
                eprintln!("{divergence}");
            }
        }
        assert!(
            !result.verdict.is_failure(),
            "{}: {:?}",
            result.name,
            result.verdict
        );
    }
    assert!(report.complete);
    assert_eq!(
        report.result(REFINEMENT).map(|r| r.verdict),
        Some(Verdict::Holds)
    );
    assert_eq!(
        report.result(names::DEAD_LETTER).map(|r| r.verdict),
        Some(Verdict::Holds),
        "the DLQ's property is checked"
    );
}

fn violated(report: &CheckReport<ImplModel>) -> Vec<&'static str> {
    report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Violated)
        .map(|r| r.name)
        .collect()
}

/// Runs `actions` from the initial state; each must be enabled and refine the spec.
fn replay(model: &ImplModel, actions: &[ShareAction]) -> ImplState {
    let mut state = model.initial_state();
    for &action in actions {
        state = model
            .next_state(&state, action)
            .unwrap_or_else(|| panic!("{action:?} is not enabled"));
        if let Some(divergence) = &state.divergence {
            panic!("{divergence}");
        }
    }
    state
}

fn reject(offset: u8) -> ShareAction {
    ShareAction::Acknowledge {
        member: M0,
        offset,
        ack_type: AckType::Reject,
    }
}

fn dead_lettered(offset: u8, enqueued: bool, persisted: bool) -> ShareAction {
    ShareAction::DeadLetterCompleted {
        offset,
        enqueued,
        persisted,
    }
}

/// Spec 1.2 #10: a committed REJECT leaves the engine's record ARCHIVING (persisted as state 3) and
/// asks the host for the enqueue; the host's report archives it (either enqueue outcome), the
/// ARCHIVED write is applied and SPSO passes it.
#[test]
fn a_reject_goes_through_archiving_to_archived() {
    let model = ImplModel::new(dlq_cfg(), None).expect("valid");
    let committed = replay(&model, &[ShareAction::Produce, ACQUIRE, reject(0), COMMIT]);
    let record = committed.abstract_state.record(0);
    assert_eq!(record.state, RecordState::Archiving);
    assert_eq!(record.persisted.state, Some(PersistedState::Archiving));
    assert_eq!(committed.abstract_state.spso, 0, "SPSO stops at ARCHIVING");
    assert_eq!(committed.dead_letter_requests, vec![(0, 0)]);
    assert_eq!(committed.ghost.dead_lettered, 1);
    for enqueued in [true, false] {
        let archived = model
            .next_state(&committed, dead_lettered(0, enqueued, true))
            .expect("phase 2 enabled");
        assert!(archived.divergence.is_none());
        let record = archived.abstract_state.record(0);
        assert_eq!(record.state, RecordState::Archived);
        assert_eq!(archived.abstract_state.spso, 1);
        assert!(archived.dead_letter_requests.is_empty());
        assert_eq!(archived.ghost.dead_lettered, 0);
    }
}

/// Spec 1.2 #10, 3.2: a failed phase-2 write leaves ARCHIVED in memory (one write failure); with no
/// failure budget the step is not enabled, and without a request from the engine neither.
#[test]
fn a_failed_phase_two_write_leaves_archived_in_memory() {
    let cfg = ShareModelCfg {
        write_failures_max: 1,
        ..dlq_cfg()
    };
    let model = ImplModel::new(cfg, None).expect("valid");
    let committed = replay(&model, &[ShareAction::Produce, ACQUIRE, reject(0), COMMIT]);
    let failed = replay(
        &model,
        &[
            ShareAction::Produce,
            ACQUIRE,
            reject(0),
            COMMIT,
            dead_lettered(0, true, false),
        ],
    );
    assert_eq!(failed.abstract_state.record(0).state, RecordState::Archived);
    assert_eq!(failed.budgets.write_failures, 1);
    assert_eq!(failed.abstract_state.spso, 1);
    let strict = ImplModel::new(dlq_cfg(), None).expect("valid");
    let strict_committed = replay(&strict, &[ShareAction::Produce, ACQUIRE, reject(0), COMMIT]);
    assert!(strict
        .next_state(&strict_committed, dead_lettered(0, true, false))
        .is_none());
    // Offset 1 was never produced, let alone asked for.
    assert!(model
        .next_state(&committed, dead_lettered(1, true, true))
        .is_none());
}

/// Spec 7.6 with the DLQ: a corrupt batch REJECTs the whole log batch in one request; the engine asks
/// for one enqueue of [0, 1] and the host's one report is two spec phase-2 steps.
#[test]
fn one_enqueued_range_is_one_spec_step_per_offset() {
    let cfg = ShareModelCfg {
        log_batch_size: 2,
        corrupt_batches_max: 1,
        ..dlq_cfg()
    };
    let model = ImplModel::new(cfg, None).expect("valid");
    let corrupt = ShareAction::CorruptBatch {
        member: M0,
        log_batch: 0,
    };
    let committed = replay(&model, &[ShareAction::Produce, ACQUIRE, corrupt, COMMIT]);
    assert_eq!(committed.dead_letter_requests, vec![(0, 1)]);
    let archived = replay(
        &model,
        &[
            ShareAction::Produce,
            ACQUIRE,
            corrupt,
            COMMIT,
            dead_lettered(1, true, true),
        ],
    );
    for offset in 0..2 {
        assert_eq!(
            archived.abstract_state.record(offset).state,
            RecordState::Archived
        );
    }
    assert_eq!(archived.abstract_state.spso, 2);
}

/// Spec 1.2 #10, 3.5: a new leader restores ARCHIVING from the image and asks for the enqueue again.
#[test]
fn a_new_leader_resumes_phase_two() {
    let cfg = ShareModelCfg {
        failovers_max: 1,
        ..dlq_cfg()
    };
    let model = ImplModel::new(cfg, None).expect("valid");
    let restored = replay(
        &model,
        &[
            ShareAction::Produce,
            ACQUIRE,
            reject(0),
            COMMIT,
            ShareAction::LeaderFailover,
        ],
    );
    assert_eq!(
        restored.abstract_state.record(0).state,
        RecordState::Archiving
    );
    assert_eq!(restored.dead_letter_requests, vec![(0, 0)]);
    assert_eq!(restored.ghost.dead_lettered, 1);
    let archived = model
        .next_state(&restored, dead_lettered(0, true, true))
        .expect("phase 2 resumes");
    assert!(archived.divergence.is_none());
    assert_eq!(archived.abstract_state.spso, 1);
}

/// Spec 1.2 #10: with the DLQ on, the engine refines the spec and every spec property holds (DEAD-LETTER
/// and liveness included) at a small bound: REJECT and the delivery-count limit through ARCHIVING.
#[test]
fn the_dead_letter_queue_refines_the_spec() {
    assert_all_hold(&check(dlq_cfg(), None));
    let limit_one = ShareModelCfg {
        members: 2,
        delivery_count_limit: 1,
        ..dlq_cfg()
    };
    assert_all_hold(&check(limit_one, None));
}

/// Spec 1.2 #10, 3.2-3.5 with the DLQ: failed writes (phase 1 rolled back, phase 2's left ARCHIVED),
/// a failover and a corrupt batch refine the spec.
#[test]
fn the_dead_letter_queue_with_faults_refines_the_spec() {
    let cfg = ShareModelCfg {
        records: 1,
        delivery_count_limit: 1,
        write_failures_max: 1,
        failovers_max: 1,
        ..dlq_cfg()
    };
    assert_all_hold(&check(cfg, None));
    // Not with a write failure too: at log batch size 2 that space has unbounded depth with or
    // without the DLQ (the engine's clock grows along a cycle; see the report of session 7).
    let corrupt = ShareModelCfg {
        log_batch_size: 2,
        corrupt_batches_max: 1,
        ..dlq_cfg()
    };
    assert_all_hold(&check(corrupt, None));
}

/// Spec 1.3 with the DLQ: an engine whose lock expiry forgets the delivery-count limit skips the
/// dead-letter queue (AVAILABLE where the spec says ARCHIVING); refinement catches the step.
#[test]
fn expiry_that_skips_the_dead_letter_queue_is_caught() {
    let cfg = ShareModelCfg {
        records: 1,
        delivery_count_limit: 1,
        lock_expiries_max: Some(2),
        ..dlq_cfg()
    };
    let options = CheckOptions {
        target_max_depth: Some(12),
        ..CheckOptions::default()
    };
    let mutation = Some(EngineMutation::ExpiryIgnoresDeliveryLimit);
    let report = check_implementation(cfg, mutation, &options).expect("valid bounds");
    let violated = violated(&report);
    assert!(violated.contains(&REFINEMENT), "{violated:?}");
    assert!(violated.contains(&names::DC_LIMIT), "{violated:?}");
    let divergence = report
        .result(REFINEMENT)
        .and_then(|r| r.path.as_ref())
        .and_then(|path| path.last_state().divergence.clone())
        .expect("the divergence");
    assert!(matches!(
        divergence.action,
        ShareAction::LockExpiry { offset: 0, .. }
    ));
    let spec_after = divergence.spec_after.expect("the spec allows the expiry");
    assert_eq!(spec_after.record(0).state, RecordState::Archiving);
    assert_eq!(
        divergence.engine_after.record(0).state,
        RecordState::Available
    );
}

/// Spec 1.6 with the DLQ: an engine whose SPSO passes a record whose write is in flight is caught by
/// refinement; at a REJECT (to ARCHIVING, not terminal) the spec keeps SPSO at the record.
#[test]
fn spso_passing_a_pending_reject_is_caught() {
    let cfg = ShareModelCfg {
        records: 1,
        ..dlq_cfg()
    };
    let options = CheckOptions {
        target_max_depth: Some(12),
        ..CheckOptions::default()
    };
    let mutation = Some(EngineMutation::SpsoPassesPendingWrite);
    let report = check_implementation(cfg.clone(), mutation, &options).expect("valid bounds");
    let violated = violated(&report);
    assert!(violated.contains(&REFINEMENT), "{violated:?}");
    let model = ImplModel::new(cfg, mutation).expect("valid");
    let acquired = replay(&model, &[ShareAction::Produce, ACQUIRE]);
    let rejected = model
        .next_state(&acquired, reject(0))
        .expect("the engine takes the REJECT");
    let divergence = rejected.divergence.expect("refinement fails at the REJECT");
    assert_eq!(divergence.action, reject(0));
    assert_eq!(divergence.engine_after.spso, 1);
    let spec_after = divergence.spec_after.expect("the spec allows the REJECT");
    assert_eq!(spec_after.spso, 0);
    assert_eq!(spec_after.record(0).state, RecordState::Archiving);
}

/// The CLI's default bounds (`sharesim check --model implementation --dead-letter-queue`: 690,090
/// unique states, half a minute; adding a write failure and a failover is millions of states).
#[test]
#[ignore = "long: run with --ignored"]
fn the_dead_letter_queue_refines_the_spec_at_the_default_bounds() {
    let cfg = ShareModelCfg {
        dead_letter_queue: true,
        ..ShareModelCfg::default()
    };
    let report = check(cfg, None);
    assert_all_hold(&report);
    assert_eq!(report.unique_states, 690_090, "pinned state count");
}
