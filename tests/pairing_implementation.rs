//! The implementation model (the real engine and coordinator shard under stateright) checked against
//! the spec model's properties and the refinement check, at small bounds.

use sharesim::pairing::{
    check_implementation, impl_counterexample, EngineMutation, ImplModel, REFINEMENT,
};
use sharesim_model::check::{CheckOptions, CheckReport, Verdict};
use sharesim_model::share_partition::names;
use sharesim_model::state::{Member, RecordState};
use sharesim_model::{AckType, AcquireMode, Profile, ShareAction, ShareModelCfg};

fn small_cfg() -> ShareModelCfg {
    ShareModelCfg {
        records: 2,
        members: 2,
        delivery_count_limit: 2,
        pending_writes_max: 2,
        ..ShareModelCfg::default()
    }
}

fn check(cfg: ShareModelCfg, mutation: Option<EngineMutation>) -> CheckReport<ImplModel> {
    check_implementation(cfg, mutation, &CheckOptions::default()).expect("valid bounds")
}

/// A broken engine can cycle for ever (its clock grows with every acquisition): its violations are
/// shallow, so the search stops at depth 12.
fn check_shallow(cfg: ShareModelCfg, mutation: Option<EngineMutation>) -> CheckReport<ImplModel> {
    let options = CheckOptions {
        target_max_depth: Some(12),
        ..CheckOptions::default()
    };
    check_implementation(cfg, mutation, &options).expect("valid bounds")
}

fn assert_all_hold(report: &CheckReport<ImplModel>) {
    for result in &report.results {
        if let Some(path) = result
            .path
            .clone()
            .filter(|_| result.verdict == Verdict::Violated)
        {
            if let Some(divergence) = path.last_state().divergence.as_ref() {
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
}

/// Spec 1-3: the engine satisfies every spec property and refines the spec at a small bound.
#[test]
fn can_model_the_engine_at_a_small_bound() {
    let cfg = ShareModelCfg {
        members: 1,
        ..small_cfg()
    };
    let report = check(cfg, None);
    assert_all_hold(&report);
    assert_eq!(report.unique_states, 39_676, "pinned state count");
}

/// Spec 3.2: failed writes roll transitions back in the engine exactly as in the spec.
#[test]
fn write_failures_roll_back_as_the_spec_says() {
    let cfg = ShareModelCfg {
        records: 1,
        write_failures_max: 1,
        ..small_cfg()
    };
    assert_all_hold(&check(cfg, None));
}

fn violated(report: &CheckReport<ImplModel>) -> Vec<&'static str> {
    report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Violated)
        .map(|r| r.name)
        .collect()
}

/// Spec 1.3: an engine whose lock expiry forgets the delivery-count limit is caught.
#[test]
fn expiry_that_forgets_the_delivery_limit_is_caught() {
    let cfg = ShareModelCfg {
        records: 1,
        members: 1,
        delivery_count_limit: 1,
        // The broken engine redelivers forever; bound the expiries to keep the space finite.
        lock_expiries_max: Some(2),
        ..small_cfg()
    };
    let report = check_shallow(cfg, Some(EngineMutation::ExpiryIgnoresDeliveryLimit));
    let violated = violated(&report);
    assert!(violated.contains(&REFINEMENT), "{violated:?}");
    assert!(violated.contains(&names::DC_LIMIT), "{violated:?}");
}

/// Spec 2.2: an engine that accepts a RELEASE from a member not holding the record is caught, and the
/// counterexample comes out in the spec's JSON format.
#[test]
fn release_from_a_non_owner_is_caught() {
    let cfg = ShareModelCfg {
        records: 1,
        ..small_cfg()
    };
    let report = check_shallow(cfg.clone(), Some(EngineMutation::ReleaseFromNonOwner));
    let violated = violated(&report);
    assert!(violated.contains(&REFINEMENT), "{violated:?}");
    assert!(violated.contains(&names::OWNER), "{violated:?}");
    let model = ImplModel::new(cfg, Some(EngineMutation::ReleaseFromNonOwner)).expect("valid");
    let path = report
        .result(names::OWNER)
        .and_then(|r| r.path.clone())
        .expect("a counterexample");
    let example = impl_counterexample(&model, names::OWNER, path);
    let json = serde_json::to_value(&example).expect("serializes");
    assert_eq!(json["model"], "implementation");
    let actions: Vec<&str> = json["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|step| step["action"].as_str().expect("named"))
        .collect();
    assert_eq!(actions.first(), Some(&"produce"));
    assert!(actions.contains(&"acquire"), "{actions:?}");
    assert_eq!(actions.last(), Some(&"acknowledge"), "{actions:?}");
}

/// Spec 3.4-3.5: leader failover (a new engine incarnation from the shard's image, the old leader's
/// late writes fenced) refines the spec, and every property holds.
#[test]
fn leader_failover_refines_the_spec() {
    let cfg = ShareModelCfg {
        records: 1,
        members: 1,
        failovers_max: 1,
        ..small_cfg()
    };
    assert_all_hold(&check(cfg, None));
}

/// Spec 5.3, 3.4: a group offset reset (Initialize at the next state epoch) fences the live leader,
/// which re-reads the image; refinement and every property hold.
#[test]
fn offset_reset_refines_the_spec() {
    let cfg = ShareModelCfg {
        records: 1,
        members: 1,
        offset_resets_max: 1,
        ..small_cfg()
    };
    assert_all_hold(&check(cfg, None));
}

/// Spec 1.6, 6: log-start movement (SPSO jumps, AVAILABLE records below are archived, ACQUIRED ones
/// wait for their release or expiry) refines the spec, also across a failover.
///
/// A record whose RELEASE write is pending (in memory AVAILABLE with an ongoing transition) is
/// archived too, for good: Kafka 4.2's `archiveRecords` marks it terminal so a failed write's rollback
/// keeps it ARCHIVED. The engine always did this; the spec model kept such a record until this was
/// settled in its favour (spec 1.6 archives "AVAILABLE records" without exception).
#[test]
fn log_start_movement_refines_the_spec() {
    let cfg = ShareModelCfg {
        records: 1,
        members: 1,
        log_start_moves_max: 1,
        failovers_max: 1,
        ..small_cfg()
    };
    assert_all_hold(&check(cfg, None));
}

/// Spec 1.6 with a failed write: the rollback of a RELEASE whose record a log-start move archived
/// keeps it ARCHIVED in both models.
#[test]
fn log_start_movement_with_a_failed_write_refines_the_spec() {
    let cfg = ShareModelCfg {
        records: 1,
        members: 1,
        log_start_moves_max: 1,
        write_failures_max: 1,
        ..small_cfg()
    };
    assert_all_hold(&check(cfg, None));
}

/// Spec 7.5, 7.6: a corrupt log batch (REJECT of every offset of it the member holds) and a
/// deserialization error (RELEASE) refine the spec.
#[test]
fn corrupt_batches_and_deserialization_errors_refine_the_spec() {
    let cfg = ShareModelCfg {
        records: 2,
        log_batch_size: 2,
        members: 1,
        corrupt_batches_max: 1,
        deserialization_errors_max: 1,
        ..small_cfg()
    };
    assert_all_hold(&check(cfg, None));
}

/// Spec 1.2 transition 7, 2.2: RENEW moves the engine's lock deadline and nothing the spec sees; the
/// wrong member's and stale RENEWs are refused with the spec's codes (4.2). Before 4.2 every RENEW is
/// INVALID_REQUEST in both.
#[test]
fn renew_refines_the_spec_in_every_profile() {
    for profile in [Profile::Kafka4_1, Profile::Kafka4_2] {
        let cfg = ShareModelCfg {
            profile,
            records: 2,
            max_records_per_acquire: 1,
            ..small_cfg()
        };
        let model = ImplModel::new(cfg.clone(), None).expect("valid bounds");
        let acquire = |member| ShareAction::Acquire {
            member: Member(member),
            mode: AcquireMode::BatchOptimized,
        };
        // Offset 0 locked at 1 ms, offset 1 at 2 ms: a RENEW of offset 0 now moves its deadline.
        let state = replay(
            &model,
            &[
                ShareAction::Produce,
                acquire(0),
                ShareAction::Produce,
                acquire(1),
            ],
        );
        let renew = |member| ShareAction::Acknowledge {
            member: Member(member),
            offset: 0,
            ack_type: AckType::Renew,
        };
        use stateright::Model;
        match model.next_state(&state, renew(0)) {
            Some(renewed) => {
                assert_eq!(profile, Profile::Kafka4_2);
                assert!(renewed.divergence.is_none());
                let deadline = |s: &sharesim::pairing::ImplState| {
                    s.engine.record(0).and_then(|view| view.lock_deadline_ms)
                };
                assert!(
                    deadline(&renewed) > deadline(&state),
                    "the lock was renewed"
                );
            }
            None => assert_eq!(profile, Profile::Kafka4_1, "refused before 4.2"),
        }
        // The wrong member's RENEW is refused like the spec refuses it (no divergence recorded).
        assert!(model
            .next_state(&state, renew(1))
            .is_none_or(|next| next.divergence.is_none()));
    }
    let cfg = ShareModelCfg {
        records: 1,
        ..small_cfg()
    };
    assert_all_hold(&check(cfg, None));
}

/// Spec 1.2 transition 6 per profile: the engine refines the spec in every profile. 4.1's session
/// release decrements the count, so acquire/close cycles for ever and the engine's clock (one ms per
/// acquisition) would make that space infinite: the implementation model bounds the acquisitions
/// there (`CYCLIC_ACQUISITIONS_MAX`), and the check is exhaustive within the bound.
#[test]
fn every_profile_refines_the_spec() {
    for profile in Profile::ALL {
        let cfg = ShareModelCfg {
            profile,
            records: 1,
            ..small_cfg()
        };
        let model = ImplModel::new(cfg.clone(), None).expect("valid bounds");
        assert_eq!(
            model.acquisitions_max.is_some(),
            profile == Profile::Kafka4_1,
            "{profile}"
        );
        let report = check(cfg, None);
        assert_all_hold(&report);
    }
}

/// Applies `actions` to the implementation model, each one enabled, and returns the last state.
fn replay(model: &ImplModel, actions: &[ShareAction]) -> sharesim::pairing::ImplState {
    replay_from(model, model.initial_state(), actions)
}

/// Spec 1.5 regression: after a multi-lock expiry with three of four record locks in flight, the
/// engine re-acquires only offset 0 (min(MaxRecords 2, room 1)); the spec agrees.
#[test]
fn reacquisition_after_multi_lock_expiry_refines_the_spec() {
    let cfg = ShareModelCfg {
        records: 3,
        max_in_flight_records: 4,
        max_records_per_acquire: 2,
        ..small_cfg()
    };
    let model = ImplModel::new(cfg, None).expect("valid bounds");
    let acquire = |member| ShareAction::Acquire {
        member: Member(member),
        mode: AcquireMode::BatchOptimized,
    };
    let state = replay(
        &model,
        &[
            ShareAction::Produce,
            acquire(0),
            ShareAction::Produce,
            ShareAction::Produce,
            acquire(1),
            ShareAction::LockExpiry {
                offset: 2,
                persisted: true,
            },
            acquire(0),
        ],
    );
    let held: Vec<u8> = (0..3)
        .filter(|&o| state.abstract_state.record(o).state == RecordState::Acquired)
        .collect();
    assert_eq!(held, vec![0]);
}

/// Spec 1.2 transition 5, 1.4: a lock expiry whose write fails stands in memory; the image keeps the
/// old state. One time advance that fires two held locks is two spec expiries with failed writes (two
/// write failures); with one failure left the engine step is not taken.
#[test]
fn failed_lock_expiry_writes_refine_the_spec() {
    let cfg = ShareModelCfg {
        records: 2,
        members: 1,
        max_records_per_acquire: 1,
        write_failures_max: 2,
        ..small_cfg()
    };
    let model = ImplModel::new(cfg.clone(), None).expect("valid bounds");
    let acquire = ShareAction::Acquire {
        member: Member(0),
        mode: AcquireMode::BatchOptimized,
    };
    let state = replay(
        &model,
        &[ShareAction::Produce, ShareAction::Produce, acquire, acquire],
    );
    // Offset 1's deadline is later: its expiry fires offset 0's lock too.
    let expired = replay_from(
        &model,
        state.clone(),
        &[ShareAction::LockExpiry {
            offset: 1,
            persisted: false,
        }],
    );
    let spec = &expired.abstract_state;
    assert_eq!(spec.budgets.write_failures, 2);
    for offset in 0..2 {
        assert_eq!(spec.record(offset).state, RecordState::Available);
        assert_eq!(
            spec.record(offset).persisted.state,
            None,
            "nothing persisted"
        );
    }
    let one_left = ImplModel::new(
        ShareModelCfg {
            write_failures_max: 1,
            ..cfg.clone()
        },
        None,
    )
    .expect("valid bounds");
    use stateright::Model;
    let both = ShareAction::LockExpiry {
        offset: 1,
        persisted: false,
    };
    assert!(
        one_left.next_state(&state, both).is_none(),
        "two failures needed"
    );
    assert_all_hold(&check(ShareModelCfg { records: 1, ..cfg }, None));
}

fn replay_from(
    model: &ImplModel,
    mut state: sharesim::pairing::ImplState,
    actions: &[ShareAction],
) -> sharesim::pairing::ImplState {
    use stateright::Model;
    for &action in actions {
        state = model
            .next_state(&state, action)
            .unwrap_or_else(|| panic!("{action:?} not enabled"));
        if let Some(divergence) = &state.divergence {
            panic!("{divergence}");
        }
    }
    state
}

/// Spec 1.7, 2.6, 3.3: after a failover the engine's cached batches are the persisted state batches,
/// which the coordinator coalesces across log batches (equal state and count); a batch_optimized fetch
/// checks its record budget only between cached batches, so it takes a restored batch whole even past
/// MaxRecords. The spec model keeps the cached-batch starts and agrees.
#[test]
fn cached_batches_after_failover_are_the_persisted_state_batches() {
    let cfg = ShareModelCfg {
        records: 2,
        members: 1,
        max_records_per_acquire: 1,
        delivery_count_limit: 3,
        failovers_max: 1,
        ..small_cfg()
    };
    let model = ImplModel::new(cfg, None).expect("valid bounds");
    let acquire = ShareAction::Acquire {
        member: Member(0),
        mode: AcquireMode::BatchOptimized,
    };
    let release = |offset| ShareAction::Acknowledge {
        member: Member(0),
        offset,
        ack_type: AckType::Release,
    };
    let succeed = ShareAction::WriteSucceeds { slot: 0 };
    let state = replay(
        &model,
        &[
            ShareAction::Produce,
            ShareAction::Produce,
            acquire,
            acquire,
            release(0),
            succeed,
            release(1),
            succeed,
            ShareAction::LeaderFailover,
            acquire,
        ],
    );
    let spec = &state.abstract_state;
    assert_eq!(spec.record(0).state, RecordState::Acquired);
    assert_eq!(
        spec.record(1).state,
        RecordState::Acquired,
        "the restored batch [0, 1] is taken whole"
    );
}

/// The same exhaustively at two records (minutes in a debug build).
#[test]
#[ignore = "long: run with --ignored"]
fn cached_batches_after_failover_refine_the_spec_exhaustively() {
    let cfg = ShareModelCfg {
        records: 2,
        members: 1,
        max_records_per_acquire: 1,
        delivery_count_limit: 3,
        failovers_max: 1,
        ..small_cfg()
    };
    assert_all_hold(&check(cfg, None));
}
