//! Issue 6: every mutation switch is caught by the oracle through the runner, on the default swarm
//! scenario, within 100 seeds; and with every switch off the same seeds pass (see `swarm_sweep.rs`).

use std::collections::BTreeSet;
use std::path::Path;

use sharesim::oracle::{Oracle, OracleConfig};
use sharesim::runner::{
    sweep_mutation, EngineBackend, CLUSTER_ONLY_MUTATION_SWITCHES, MUTATION_SWITCHES,
};
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

/// Issue 6: every invariant family of the design's table that the engine backend can break has a
/// switch. MEMBERSHIP is the exception: the engine backend has no group coordinator (its consumers are
/// assigned every partition up front), so no switch there could be seen; the cluster backend judges it
/// and carries its switch (`CLUSTER_ONLY_MUTATION_SWITCHES`, tested in `cluster_backend.rs`).
#[test]
fn every_invariant_family_but_membership_has_a_switch() {
    let report = Oracle::new(&OracleConfig::default()).finish();
    let families: BTreeSet<&str> = report.verdicts.iter().map(|(code, _)| *code).collect();
    let switched: BTreeSet<&str> = MUTATION_SWITCHES
        .iter()
        .map(|switch| switch.breaks)
        .collect();
    let missing: Vec<&str> = families.difference(&switched).copied().collect();
    assert_eq!(missing, ["MEMBERSHIP"]);
    let cluster_only: Vec<&str> = CLUSTER_ONLY_MUTATION_SWITCHES
        .iter()
        .map(|switch| switch.breaks)
        .collect();
    assert_eq!(cluster_only, ["MEMBERSHIP"]);
    let names: BTreeSet<&str> = MUTATION_SWITCHES.iter().map(|switch| switch.name).collect();
    assert_eq!(
        names.len(),
        MUTATION_SWITCHES.len(),
        "switch names are unique"
    );
}

/// `sharesim mutations` without `--only` sweeps the switches the backend carries: every engine switch on
/// the engine backend (none of the cluster-only ones), and on the cluster exactly the two the cluster's
/// engines carry, so the default cluster sweep no longer stops at the first switch the cluster refuses.
#[test]
fn each_backend_carries_its_own_switches() {
    use sharesim::runner::{Backend, ClusterBackend};
    let every = || {
        MUTATION_SWITCHES
            .iter()
            .chain(CLUSTER_ONLY_MUTATION_SWITCHES)
    };
    let engine: Vec<&str> = every()
        .filter(|s| EngineBackend.carries_mutation(s.name))
        .map(|s| s.name)
        .collect();
    let engine_list: Vec<&str> = MUTATION_SWITCHES.iter().map(|s| s.name).collect();
    assert_eq!(engine, engine_list);
    let cluster: Vec<&str> = every()
        .filter(|s| ClusterBackend.carries_mutation(s.name))
        .map(|s| s.name)
        .collect();
    assert_eq!(
        cluster,
        ["skip_leader_epoch_fencing", "assignor_skips_a_member"]
    );
}
