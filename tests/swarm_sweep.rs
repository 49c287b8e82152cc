//! Issue 6: a seed sweep in swarm mode (every seed draws its own faults) passes every invariant, and
//! each seed names one trace. The default size keeps `cargo test` fast; the ignored test is the long
//! sweep (`cargo test --release --test swarm_sweep -- --ignored`).

use std::path::Path;

use sharesim::runner::{run_scenario, EngineBackend, RunOptions};
use sharesim::scenario::{load_scenario, Scenario};

fn swarm() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/swarm.json");
    load_scenario(&path).expect("swarm scenario").scenario
}

/// Every seed passes its expectations (every invariant holds, the trace conforms to the spec).
fn sweep(seeds: std::ops::RangeInclusive<u64>) {
    let scenario = swarm();
    let mut failures = Vec::new();
    for seed in seeds {
        let outcome =
            run_scenario(&EngineBackend, &scenario, seed, RunOptions::default()).expect("runs");
        if !outcome.passed() {
            let violations: Vec<String> = outcome
                .oracle
                .violations()
                .iter()
                .map(|v| v.to_string())
                .collect();
            failures.push(format!(
                "seed {seed}: {violations:?} conformance {:?}",
                outcome.conformance.and_then(|c| c.first_divergence)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A swarm sweep of a few hundred seeds under `cargo test` (a few seconds).
#[test]
fn swarm_seeds_1_to_300_pass_every_invariant() {
    sweep(1..=300);
}

/// The same seed twice gives the same trace hash, over swarm seeds.
#[test]
fn swarm_seeds_name_one_trace_each() {
    let scenario = swarm();
    for seed in [1, 7, 23] {
        let first = run_scenario(&EngineBackend, &scenario, seed, RunOptions::default()).unwrap();
        let again = run_scenario(&EngineBackend, &scenario, seed, RunOptions::default()).unwrap();
        assert_eq!(first.trace_hash, again.trace_hash, "seed {seed}");
        assert_eq!(first.trace_text, again.trace_text, "seed {seed}");
    }
}

/// The long sweep: 5,000 swarm seeds.
#[test]
#[ignore = "long: 5,000 seeds; run with --release -- --ignored"]
fn swarm_seeds_1_to_5000_pass_every_invariant() {
    sweep(1..=5_000);
}
