//! Issue 6: every mutation switch is caught by the oracle through the runner, on the default swarm
//! scenario, within 100 seeds; and with every switch off the same seeds pass (see `swarm_sweep.rs`).

use std::path::Path;

use sharesim::runner::{sweep_mutation, EngineBackend, MUTATION_SWITCHES};
use sharesim::scenario::load_scenario;

/// Design "Oracle": each switch breaks one invariant on purpose; the sweep must report that
/// invariant violated (the catching seed and its violation are printed with `--nocapture`).
#[test]
fn every_mutation_switch_is_caught_within_100_swarm_seeds() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/swarm.json");
    let scenario = load_scenario(&path).expect("swarm scenario").scenario;
    let seeds: Vec<u64> = (1..=100).collect();
    for switch in MUTATION_SWITCHES {
        let catch = sweep_mutation(&EngineBackend, &scenario, switch, &seeds).expect("runs");
        println!(
            "{}: caught by {} at seed {:?} ({:?})",
            switch.name, switch.breaks, catch.caught_at_seed, catch.violation
        );
        assert!(
            catch.caught_at_seed.is_some(),
            "`{}` was not caught by {} in 100 seeds",
            switch.name,
            switch.breaks
        );
        assert!(catch.noticed_by.iter().any(|code| code == switch.breaks));
    }
}
