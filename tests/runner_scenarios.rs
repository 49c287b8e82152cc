//! The runner end to end on the engine backend: every checked-in scenario runs and meets its
//! expectations on its first seed, a seed gives one trace hash, a mutation switch is caught by the
//! oracle and by the conformance replay, and the reports are written.

use std::path::Path;

use sharesim::cli::backend_for;
use sharesim::runner::{run_scenario, EngineBackend, RunOptions};
use sharesim::scenario::{load_scenario, parse_scenario};

fn scenario_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
            .expect("scenarios/")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| {
                path.extension().is_some_and(|e| e == "json")
                    && !path
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().ends_with(".schema.json"))
            })
            .collect();
    files.sort();
    files
}

/// Every scenario file runs on its first seed and meets its expectations (README: "scenarios/*.json
/// all run").
#[test]
fn every_scenario_runs_and_meets_its_expectations() {
    let files = scenario_files();
    assert!(files.len() >= 4, "{files:?}");
    for path in files {
        let file = load_scenario(&path).expect("a valid scenario");
        let seed = file.scenario.seeds.to_vec()[0];
        // On the scenario's own backend, as `sharesim run` does.
        let backend = backend_for(None, &file.scenario);
        let outcome = run_scenario(
            backend.as_ref(),
            &file.scenario,
            seed,
            RunOptions::default(),
        )
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let unmet: Vec<_> = outcome.expectations.iter().filter(|r| !r.met).collect();
        assert!(
            outcome.passed(),
            "{}: {unmet:#?} {:?}",
            path.display(),
            outcome.conformance
        );
        assert!(outcome.metrics.get("records_consumed").unwrap_or(0.0) > 0.0);
    }
}

/// Principle 2: the same seed gives the same trace hash, another seed another.
#[test]
fn a_seed_names_one_trace() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.json");
    let scenario = load_scenario(&path).unwrap().scenario;
    let run = |seed| {
        run_scenario(&EngineBackend, &scenario, seed, RunOptions::default())
            .unwrap()
            .trace_hash
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

const STALLING: &str = r#"{
  "duration_ms": 20000, "liveness_bound_ms": 60000,
  "cluster": {"configs": {"group.share.min.record.lock.duration.ms": 1000}},
  "topics": [{"name": "t"}],
  "groups": [{"name": "g", "configs": {"share.auto.offset.reset": "earliest",
                                       "share.record.lock.duration.ms": 1000}}],
  "producers": [{"topic": "t", "count": 20, "rate_per_sec": 100}],
  "consumers": [{"group": "g", "count": 2, "processing": {"kind": "fixed", "ms": 1500},
                 "failure": {"processing_failure_ratio": 0.0}}]
}"#;

/// Spec 1.3: processing slower than the lock makes every delivery expire; at the limit the record is
/// archived, so healthy runs archive and never deliver more than the limit allows.
#[test]
fn slow_processing_hits_the_delivery_limit_and_archives() {
    let scenario = parse_scenario("stalling.json", STALLING).unwrap();
    let outcome = run_scenario(&EngineBackend, &scenario, 1, RunOptions::default()).unwrap();
    assert!(outcome.oracle.passed(), "{:?}", outcome.oracle.violations());
    assert!(outcome.conformance.as_ref().unwrap().conforms());
    assert!(outcome.metrics.get("lock_expiries").unwrap() > 0.0);
    assert!(outcome.metrics.get("archived").unwrap() > 0.0);
    assert!(outcome.metrics.get("max_delivery_count").unwrap() <= 5.0);
}

/// A `slow` poison record holds up the records behind it in its consumer's batch only: with one consumer
/// every later record waits for its 5 s, with four the others take them (engine backend).
#[test]
fn a_slow_record_delays_only_its_own_consumer() {
    let text = |consumers: u32| {
        format!(
            r#"{{"duration_ms": 20000,
                "topics": [{{"name": "jobs", "partitions": 1}}],
                "groups": [{{"name": "g", "type": "share",
                             "configs": {{"share.auto.offset.reset": "earliest"}}}}],
                "producers": [{{"topic": "jobs", "count": 300, "rate_per_sec": 50,
                  "poison": [{{"kind": "slow", "records": [50], "processing_ms": 5000}}]}}],
                "consumers": [{{"group": "g", "count": {consumers},
                                "processing": {{"kind": "fixed", "ms": 2}}}}]}}"#
        )
    };
    let p99 = |consumers: u32| {
        let scenario = parse_scenario("slow.json", &text(consumers)).unwrap();
        let outcome = run_scenario(&EngineBackend, &scenario, 1, RunOptions::default()).unwrap();
        assert!(outcome.oracle.passed(), "{:?}", outcome.oracle.violations());
        assert_eq!(outcome.metrics.get("acknowledged"), Some(300.0));
        assert!(outcome.metrics.get("max_latency_ms").unwrap() >= 5_000.0);
        outcome.metrics.get("p99_latency_ms").unwrap()
    };
    let (alone, shared) = (p99(1), p99(4));
    assert!(alone > 4_000.0, "one consumer: p99 {alone} ms");
    assert!(shared < 1_000.0, "four consumers: p99 {shared} ms");
}

/// The mutation `expiry_ignores_delivery_limit` is caught by DC-LIMIT and by the conformance replay.
#[test]
fn a_mutation_is_caught_by_the_oracle_and_the_conformance_replay() {
    let text = STALLING.replacen(
        "\"duration_ms\"",
        "\"mutations\": [\"expiry_ignores_delivery_limit\"],\n  \"expectations\": {\"hold\": [\"EXCLUSIVE\", \"OWNER\"], \"violated\": [\"DC-LIMIT\"]},\n  \"duration_ms\"",
        1,
    );
    let scenario = parse_scenario("mutated.json", &text).unwrap();
    let outcome = run_scenario(&EngineBackend, &scenario, 1, RunOptions::default()).unwrap();
    assert!(outcome
        .oracle
        .verdict("DC-LIMIT")
        .is_some_and(|v| matches!(v, sharesim::oracle::Verdict::Fail(_))));
    let divergence = outcome
        .conformance
        .as_ref()
        .unwrap()
        .first_divergence
        .clone();
    assert!(divergence.is_some_and(|d| d.message.contains("1.3")));
    // Records are redelivered forever, so LIVENESS fails too; the scenario expects only what it names.
    let unmet: Vec<_> = outcome.expectations.iter().filter(|r| !r.met).collect();
    assert!(
        outcome.passed(),
        "the scenario expects the violation: {unmet:#?}"
    );
}

/// An unknown mutation is a clear error, not a panic.
#[test]
fn an_unknown_mutation_is_an_error() {
    let text = STALLING.replacen(
        "\"duration_ms\"",
        "\"mutations\": [\"skip_fencing_typo\"], \"duration_ms\"",
        1,
    );
    let scenario = parse_scenario("bad.json", &text).unwrap();
    let error = run_scenario(&EngineBackend, &scenario, 1, RunOptions::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("unknown mutation `skip_fencing_typo`"),
        "{error}"
    );
}

/// Spec 2.4, 8: a crashed consumer's connection closes. From 4.1 the broker releases the member's
/// records at once; in 4.0 a disconnect releases nothing and the records come back only when their
/// acquisition locks expire (engine backend, `Semantics::release_on_disconnect`).
#[test]
fn a_crashed_consumers_records_come_back_by_release_from_4_1_and_by_lock_expiry_in_4_0() {
    let run = |profile: &str| {
        let text = format!(
            r#"{{"duration_ms": 10000, "profile": "{profile}",
                "topics": [{{"name": "t", "partitions": 1}}],
                "groups": [{{"name": "g", "configs": {{"share.auto.offset.reset": "earliest",
                    "share.record.lock.duration.ms": 15000}}}}],
                "producers": [{{"topic": "t", "count": 300, "rate_per_sec": 1000}}],
                "consumers": [{{"group": "g", "count": 2, "configs": {{"max.poll.records": 50}},
                    "processing": {{"kind": "fixed", "ms": 50}}}}],
                "faults": [{{"at_ms": 1000, "kind": "consumer_crash", "consumer": "consumer:0/0"}}]}}"#
        );
        let scenario = parse_scenario("crash.json", &text).unwrap();
        let outcome = run_scenario(&EngineBackend, &scenario, 1, RunOptions::default()).unwrap();
        assert!(
            outcome.passed(),
            "{profile}: {:?}",
            outcome.violation_texts()
        );
        let metric = |name: &str| outcome.metrics.get(name).unwrap_or(0.0);
        (
            metric("oracle.redelivered.session_release"),
            metric("oracle.redelivered.lock_expiry"),
        )
    };
    let (released, expired) = run("kafka-4.2");
    assert!(
        released > 0.0 && expired == 0.0,
        "4.2: {released} {expired}"
    );
    let (released, expired) = run("kafka-4.0");
    assert!(
        released == 0.0 && expired > 0.0,
        "4.0: {released} {expired}"
    );
}
