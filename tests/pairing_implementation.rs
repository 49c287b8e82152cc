//! The implementation model (the real engine and coordinator shard under stateright) checked against
//! the spec model's properties and the refinement check, at small bounds.

use sharesim::pairing::{
    check_implementation, impl_counterexample, EngineMutation, ImplModel, REFINEMENT,
};
use sharesim_model::check::{CheckOptions, CheckReport, Verdict};
use sharesim_model::share_partition::names;
use sharesim_model::ShareModelCfg;

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
    let report = check(small_cfg(), None);
    assert_all_hold(&report);
    assert_eq!(report.unique_states, 183_927, "pinned state count");
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
    let report = check(cfg, Some(EngineMutation::ExpiryIgnoresDeliveryLimit));
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
    let report = check(cfg.clone(), Some(EngineMutation::ReleaseFromNonOwner));
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

/// Pairing covers what it can: unpaired fault budgets are refused with the flag's name.
#[test]
fn unpaired_faults_are_refused() {
    let cfg = ShareModelCfg {
        failovers_max: 1,
        ..small_cfg()
    };
    let error = ImplModel::new(cfg, None).expect_err("failover is not paired yet");
    assert!(error.contains("--failovers"), "{error}");
}
