//! Issue 6 and 7: cluster-backend swarm seeds whose traces once failed the conformance replay with
//! "acquired from Acknowledged". In each an old leader's acknowledgement write was never answered
//! (the share coordinator crashed, or the leader was fenced) and a later leader, sometimes after a
//! leader that was fenced while initializing, restored the image without it: the record was never
//! durably acknowledged, so handing it out again is allowed (spec 3.2, 3.5). The replay now agrees,
//! and so does the oracle's DURABLE.

use std::path::Path;

use sharesim::runner::{run_scenario, ClusterBackend, RunOptions};
use sharesim::scenario::load_scenario;

/// Spec 3.2, 3.5: seeds 38 (restore after a leader fenced while initializing), 54 (several writes in
/// flight, one of them landed), 150 (both) and 171 (an ACCEPT's write answered with a failure after
/// the persister's retries, and rolled back, yet restored ACKNOWLEDGED by the next leader: an
/// earlier attempt had landed) conform, and DURABLE holds.
#[test]
fn cluster_swarm_seeds_with_unanswered_writes_conform() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/swarm.json");
    let scenario = load_scenario(&path).expect("swarm scenario").scenario;
    for seed in [38, 54, 150, 171] {
        let outcome =
            run_scenario(&ClusterBackend, &scenario, seed, RunOptions::default()).expect("runs");
        let conformance = outcome.conformance.as_ref().expect("replayed");
        assert!(
            conformance.conforms(),
            "seed {seed}: {:?}",
            conformance.first_divergence
        );
        assert!(
            conformance.steps > 200,
            "seed {seed}: {}",
            conformance.steps
        );
        let durable: Vec<String> = outcome
            .violation_texts()
            .into_iter()
            .filter(|text| text.contains("DURABLE"))
            .collect();
        assert!(durable.is_empty(), "seed {seed}: {durable:?}");
    }
}
