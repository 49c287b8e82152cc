//! Exhaustive checks of the share-partition spec model at small bounds: pinned state counts, BFS/DFS
//! and reduced/unreduced agreement, every mutation caught, every `sometimes` reached, and the
//! counterexample JSON.

use std::collections::BTreeSet;

use sharesim_model::check::{check_spec, run_check, CheckOptions, CheckReport, Strategy, Verdict};
use sharesim_model::counterexample::{counterexample, Counterexample};
use sharesim_model::share_partition::names;
use sharesim_model::{Profile, ShareModel, ShareModelCfg, SpecMutation};

fn check(cfg: ShareModelCfg, strategy: Strategy, symmetry: bool) -> CheckReport<ShareModel> {
    let options = CheckOptions {
        strategy,
        symmetry,
        ..CheckOptions::default()
    };
    check_spec(cfg, &options).expect("valid bounds")
}

fn verdicts(report: &CheckReport<ShareModel>) -> Vec<(&'static str, Verdict)> {
    report.results.iter().map(|r| (r.name, r.verdict)).collect()
}

fn assert_all_pass(report: &CheckReport<ShareModel>) {
    let failures: Vec<_> = report.failures().map(|r| (r.name, r.verdict)).collect();
    assert!(failures.is_empty(), "failing properties: {failures:?}");
}

/// Two records, two members, limit 2, no faults.
fn small() -> ShareModelCfg {
    ShareModelCfg::default()
}

/// One of everything at two records.
fn faulty() -> ShareModelCfg {
    ShareModelCfg {
        failovers_max: 1,
        write_failures_max: 1,
        pending_writes_max: 1,
        ..ShareModelCfg::default()
    }
}

#[test]
fn can_model_share_partition() {
    let bfs = check(small(), Strategy::Bfs, false);
    assert_all_pass(&bfs);
    assert_eq!(bfs.unique_states, UNIQUE_SMALL);
    let dfs = check(small(), Strategy::Dfs, false);
    assert_all_pass(&dfs);
    assert_eq!(dfs.unique_states, UNIQUE_SMALL);
}

const UNIQUE_SMALL: usize = 5591;
const UNIQUE_FAULTY: usize = 45886;
const UNIQUE_FAULTY_SYMMETRIC: usize = 23327;

#[test]
fn can_model_share_partition_with_faults() {
    let bfs = check(faulty(), Strategy::Bfs, false);
    assert_all_pass(&bfs);
    assert_eq!(bfs.unique_states, UNIQUE_FAULTY);
    // Every fault-dependent `sometimes` is part of this configuration.
    for name in [
        names::ROLLED_BACK,
        names::WRITE_FENCED,
        names::DELIVERIES_EXCEED_LIMIT,
    ] {
        assert_eq!(
            bfs.result(name).map(|r| r.verdict),
            Some(Verdict::Reached),
            "{name}"
        );
    }
}

#[test]
fn symmetry_reduction_agrees_with_the_full_space() {
    let full = check(faulty(), Strategy::Bfs, false);
    let reduced_bfs = check(faulty(), Strategy::Bfs, true);
    let reduced_dfs = check(faulty(), Strategy::Dfs, true);
    assert_eq!(verdicts(&full), verdicts(&reduced_bfs));
    assert_eq!(verdicts(&full), verdicts(&reduced_dfs));
    // The model's own canonicalization (BFS) and stateright's (DFS) count the same classes.
    assert_eq!(reduced_bfs.unique_states, UNIQUE_FAULTY_SYMMETRIC);
    assert_eq!(reduced_dfs.unique_states, UNIQUE_FAULTY_SYMMETRIC);
    assert!(reduced_bfs.unique_states < full.unique_states);
}

#[test]
fn symmetry_agrees_under_every_mutation() {
    for mutation in [
        SpecMutation::ReleaseFromNonOwner,
        SpecMutation::SessionReleasesOthers,
    ] {
        let cfg = ShareModelCfg {
            mutation: Some(mutation),
            ..small()
        };
        let full = check(cfg.clone(), Strategy::Bfs, false);
        let reduced = check(cfg, Strategy::Bfs, true);
        assert_eq!(verdicts(&full), verdicts(&reduced), "{mutation}");
    }
}

/// The smallest bounds that expose each mutation, and the property expected to catch it.
fn mutation_case(mutation: SpecMutation) -> (ShareModelCfg, &'static str) {
    let one = ShareModelCfg {
        records: 1,
        members: 1,
        delivery_count_limit: 1,
        ..ShareModelCfg::default()
    };
    let cfg = |change: fn(&mut ShareModelCfg)| {
        let mut cfg = ShareModelCfg {
            mutation: Some(mutation),
            ..one.clone()
        };
        change(&mut cfg);
        cfg
    };
    match mutation {
        SpecMutation::ExpiryIgnoresDeliveryLimit => (cfg(|_| {}), names::DC_LIMIT),
        SpecMutation::ReleaseFromNonOwner => (cfg(|c| c.members = 2), names::OWNER),
        SpecMutation::FailoverKeepsAcquired => (cfg(|c| c.failovers_max = 1), names::EXCLUSIVE),
        SpecMutation::SpsoPassesPendingWrite => (cfg(|c| c.records = 2), names::SPSO_SAFE),
        SpecMutation::FencingSkipped => (cfg(|c| c.failovers_max = 1), names::FENCING),
        SpecMutation::SessionReleasesOthers => (cfg(|c| c.members = 2), names::OWNER),
        SpecMutation::PersistedStartRegresses => (cfg(|c| c.records = 3), names::DURABLE),
        SpecMutation::TerminalMadeAvailable => (
            cfg(|c| {
                c.records = 2;
                c.failovers_max = 1;
            }),
            names::TERMINAL_FINAL,
        ),
        SpecMutation::InFlightLimitIgnored => (
            cfg(|c| {
                c.records = 2;
                c.max_in_flight_records = 1;
            }),
            names::INFLIGHT_CAP,
        ),
        SpecMutation::EarlyAckResponse => (cfg(|_| {}), names::ACK_OUTCOME),
        SpecMutation::DeadLetterFailureRedelivers => {
            (cfg(|c| c.dead_letter_queue = true), names::DEAD_LETTER)
        }
        SpecMutation::SpsoPassesArchiving => {
            (cfg(|c| c.dead_letter_queue = true), names::SPSO_SAFE)
        }
    }
}

#[test]
fn every_mutation_is_caught_and_every_always_property_catches_one() {
    let mut catching = BTreeSet::new();
    for mutation in SpecMutation::ALL {
        let (cfg, expected) = mutation_case(mutation);
        let report = check(cfg, Strategy::Bfs, false);
        let violated: Vec<&str> = report
            .results
            .iter()
            .filter(|r| r.verdict == Verdict::Violated)
            .map(|r| r.name)
            .collect();
        assert!(
            violated.contains(&expected),
            "{mutation}: expected {expected}, violated {violated:?}"
        );
        catching.extend(violated);
    }
    for name in names::ALWAYS {
        assert!(catching.contains(name), "no mutation violates {name}");
    }
}

#[test]
fn the_unmutated_mutation_bounds_pass() {
    for mutation in SpecMutation::ALL {
        let (cfg, _) = mutation_case(mutation);
        let report = check(
            ShareModelCfg {
                mutation: None,
                ..cfg
            },
            Strategy::Bfs,
            false,
        );
        let violated: Vec<_> = report
            .failures()
            .filter(|r| r.verdict == Verdict::Violated)
            .map(|r| r.name)
            .collect();
        assert!(
            violated.is_empty(),
            "{mutation} bounds without the mutation: {violated:?}"
        );
    }
}

#[test]
fn every_sometimes_is_reached_with_every_fault() {
    let cfg = ShareModelCfg {
        records: 2,
        members: 1,
        failovers_max: 1,
        write_failures_max: 1,
        log_start_moves_max: 1,
        corrupt_batches_max: 1,
        deserialization_errors_max: 1,
        offset_resets_max: 1,
        pending_writes_max: 1,
        ..ShareModelCfg::default()
    };
    let report = check(cfg, Strategy::Bfs, false);
    assert_all_pass(&report);
    let sometimes = report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Reached)
        .count();
    assert_eq!(sometimes, 6, "every sometimes property is reached");
}

#[test]
fn every_profile_passes() {
    for profile in Profile::ALL {
        let cfg = ShareModelCfg {
            profile,
            failovers_max: 1,
            pending_writes_max: 1,
            ..small()
        };
        let report = check(cfg, Strategy::Bfs, false);
        assert_all_pass(&report);
        // 4.1's session release decrements the count: cycles, so no liveness check there.
        let liveness = report.result(names::EVERY_RECORD_TERMINAL).is_some();
        assert_eq!(liveness, profile != Profile::Kafka4_1, "{profile}");
    }
}

#[test]
fn acquire_modes_and_log_batches_pass() {
    let cfg = ShareModelCfg {
        records: 3,
        log_batch_size: 2,
        members: 2,
        max_in_flight_records: 2,
        max_records_per_acquire: 1,
        acquire_modes: sharesim_model::AcquireModes::Both,
        pending_writes_max: 1,
        ..ShareModelCfg::default()
    };
    assert_all_pass(&check(cfg, Strategy::Bfs, true));
}

fn dc_limit_counterexample() -> Counterexample {
    let (cfg, name) = mutation_case(SpecMutation::ExpiryIgnoresDeliveryLimit);
    let model = cfg.clone().into_model().expect("valid");
    let report = run_check(model.clone(), &CheckOptions::default(), None);
    let path = report
        .result(name)
        .and_then(|r| r.path.clone())
        .expect("a counterexample");
    counterexample(&model, name, path)
}

#[test]
fn counterexample_json_round_trips() {
    let example = dc_limit_counterexample();
    let json = serde_json::to_string(&example).expect("serializes");
    let back: Counterexample = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, example);
}

#[test]
fn counterexample_steps_are_stable() {
    // Spec 1.3 broken by the mutation: the lock expiry at the limit leaves the record AVAILABLE.
    let steps: Vec<String> = dc_limit_counterexample()
        .steps
        .iter()
        .map(|step| serde_json::to_string(step).expect("serializes"))
        .collect();
    #[rustfmt::skip]
    let expected = [
        r#"{"action":"produce","offsets":[0]}"#,
        r#"{"action":"acquire","member":0,"mode":"batch_optimized","offsets":[0],"delivery_counts":[1]}"#,
        concat!(r#"{"action":"lock_expiry","offset":0,"owner":0,"new_state":"AVAILABLE","#,
                r#""during_write":false,"persisted":true}"#),
        r#"{"action":"acquire","member":0,"mode":"batch_optimized","offsets":[0],"delivery_counts":[2]}"#,
    ];
    assert_eq!(steps, expected);
}

#[test]
fn counterexamples_replay_through_symmetry() {
    // A BFS with the model's own canonicalization renames members between steps; the named steps
    // must still form one real trace of the unreduced model.
    let cfg = ShareModelCfg {
        mutation: Some(SpecMutation::SessionReleasesOthers),
        symmetry: true,
        ..small()
    };
    let model = cfg.clone().into_model().expect("valid");
    let report = run_check(model.clone(), &CheckOptions::default(), None);
    let path = report
        .result(names::OWNER)
        .and_then(|r| r.path.clone())
        .expect("a counterexample");
    let example = counterexample(&model, names::OWNER, path);
    assert!(!example.steps.is_empty());
    assert!(!example.config.symmetry);
}

/// Without witnesses the model drops history only `sometimes` properties read (events, the sticky
/// lost-attempt ghost): fewer states, the same `always` verdicts, every mutation still caught, and
/// the reduced (symmetry, BFS and DFS) and unreduced checks still agree.
#[test]
fn without_witnesses_every_always_verdict_stands() {
    let cfg = ShareModelCfg {
        witnesses: false,
        ..faulty()
    };
    let full = check(cfg.clone(), Strategy::Bfs, false);
    assert_all_pass(&full);
    assert!(full.unique_states < UNIQUE_FAULTY);
    assert_eq!(
        verdicts(&full),
        verdicts(&check(cfg.clone(), Strategy::Bfs, true))
    );
    assert_eq!(verdicts(&full), verdicts(&check(cfg, Strategy::Dfs, true)));
    for mutation in SpecMutation::ALL {
        let (cfg, expected) = mutation_case(mutation);
        let cfg = ShareModelCfg {
            witnesses: false,
            ..cfg
        };
        let report = check(cfg, Strategy::Bfs, true);
        assert_eq!(
            report.result(expected).map(|r| r.verdict),
            Some(Verdict::Violated),
            "{mutation}"
        );
    }
}

/// One of everything at two records, with the dead-letter queue (KIP-1191).
fn faulty_dlq() -> ShareModelCfg {
    ShareModelCfg {
        dead_letter_queue: true,
        ..faulty()
    }
}

/// Spec 1.1, 1.2 #10: with the DLQ every property holds (DEAD-LETTER and liveness included: an
/// ARCHIVING record is eventually ARCHIVED), phase 2 is reached, and the reduced and unreduced checks
/// agree. The counts are pinned; without the DLQ they are the ones above, unchanged.
#[test]
fn dead_letter_queue_passes() {
    let small_dlq = ShareModelCfg {
        dead_letter_queue: true,
        ..small()
    };
    let report = check(small_dlq, Strategy::Bfs, false);
    assert_all_pass(&report);
    assert_eq!(report.unique_states, UNIQUE_SMALL_DLQ);
    let full = check(faulty_dlq(), Strategy::Bfs, false);
    assert_all_pass(&full);
    assert_eq!(full.unique_states, UNIQUE_FAULTY_DLQ);
    for name in [
        names::DEAD_LETTER,
        names::DEAD_LETTERED,
        names::EVERY_RECORD_TERMINAL,
    ] {
        assert!(full.result(name).is_some(), "{name} is checked");
    }
    assert_eq!(
        verdicts(&full),
        verdicts(&check(faulty_dlq(), Strategy::Bfs, true))
    );
    assert_eq!(
        verdicts(&full),
        verdicts(&check(faulty_dlq(), Strategy::Dfs, true))
    );
}

const UNIQUE_SMALL_DLQ: usize = 8754;
const UNIQUE_FAULTY_DLQ: usize = 77719;

/// Without the DLQ its property and event are not part of the check (so reports are unchanged).
#[test]
fn without_the_dead_letter_queue_its_properties_are_absent() {
    let report = check(small(), Strategy::Bfs, false);
    assert!(report.result(names::DEAD_LETTER).is_none());
    assert!(report.result(names::DEAD_LETTERED).is_none());
}

/// With the DLQ every profile passes, and every fault's interplay with ARCHIVING (log-start moves,
/// corrupt batches, offset resets) keeps every property.
#[test]
fn dead_letter_queue_passes_with_every_profile_and_fault() {
    for profile in Profile::ALL {
        let cfg = ShareModelCfg {
            profile,
            ..faulty_dlq()
        };
        assert_all_pass(&check(cfg, Strategy::Bfs, true));
    }
    let cfg = ShareModelCfg {
        records: 2,
        members: 1,
        log_start_moves_max: 1,
        corrupt_batches_max: 1,
        offset_resets_max: 1,
        dead_letter_queue: true,
        ..faulty()
    };
    assert_all_pass(&check(cfg, Strategy::Bfs, false));
}

/// Spec 1.2 #10 broken by the mutation: the counterexample names the DLQ's phase 2 with its failed
/// enqueue, and its JSON (config with the DLQ on) round-trips.
#[test]
fn dead_letter_counterexample_names_phase_two() {
    let (cfg, name) = mutation_case(SpecMutation::DeadLetterFailureRedelivers);
    let model = cfg.into_model().expect("valid");
    let report = run_check(model.clone(), &CheckOptions::default(), None);
    let path = report
        .result(name)
        .and_then(|r| r.path.clone())
        .expect("a counterexample");
    let example = counterexample(&model, name, path);
    assert!(example.config.dead_letter_queue);
    let last = serde_json::to_string(example.steps.last().expect("steps")).expect("serializes");
    assert_eq!(
        last,
        concat!(
            r#"{"action":"dead_letter_completed","offset":0,"enqueued":false,"#,
            r#""new_state":"AVAILABLE","persisted":true}"#
        )
    );
    let json = serde_json::to_string(&example).expect("serializes");
    assert!(json.contains(r#""dead_letter_queue":true"#), "{json}");
    let back: Counterexample = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, example);
}
