//! The cluster backend under the kafka-4.0 profile (ShareFetch / ShareAcknowledge v0 on the wire): runs
//! finish with every invariant holding, and their release differences show in kind as on the engine
//! backend. And the run limits: a cluster run over its limits fails with the limit's text, and normal
//! runs stay under them.

use sharesim::runner::{
    run_scenario, Backend, ClusterBackend, ClusterBackendWithLimits, EngineBackend, RunOptions,
    RunOutcome,
};
use sharesim::scenario::{parse_scenario, Scenario};
use sharesim_sim::harness::RunLimits;

/// The share consumers of [`scenario`]: how many, `max.poll.records`, and ms of processing a record.
struct Consumers(u32, u32, u32);

/// One partition, `count` records at 1,000 a second, a share group of `consumers` (15 s locks), and
/// `faults` (a JSON array).
fn scenario(profile: &str, count: u32, consumers: Consumers, faults: &str) -> Scenario {
    let Consumers(consumers, max_poll_records, processing_ms) = consumers;
    let text = format!(
        r#"{{"duration_ms": 10000, "profile": "{profile}", "liveness_bound_ms": 60000,
            "topics": [{{"name": "t", "partitions": 1}}],
            "groups": [{{"name": "g", "configs": {{"share.auto.offset.reset": "earliest",
                "share.record.lock.duration.ms": 15000}}}}],
            "producers": [{{"topic": "t", "count": {count}, "rate_per_sec": 1000}}],
            "consumers": [{{"group": "g", "count": {consumers}, "configs": {{"max.poll.records": {max_poll_records}}},
                "processing": {{"kind": "fixed", "ms": {processing_ms}}}}}],
            "faults": {faults}}}"#
    );
    parse_scenario("kafka_4_0.json", &text).expect("a valid scenario")
}

fn run(backend: &dyn Backend, scenario: &Scenario) -> RunOutcome {
    run_scenario(backend, scenario, 1, RunOptions::default()).expect("the run")
}

fn metric(outcome: &RunOutcome, name: &str) -> f64 {
    outcome.metrics.get(name).unwrap_or_default()
}

/// Spec 2.3, 8: under kafka-4.0 the clients speak ShareFetch/ShareAcknowledge v0, which the transport
/// carries; the run consumes every record and every invariant holds (it used to spin at one virtual
/// millisecond, the transport refusing v0, until memory ran out).
#[test]
fn a_kafka_4_0_cluster_run_consumes_every_record_with_every_invariant_holding() {
    let outcome = run(
        &ClusterBackend,
        &scenario("kafka-4.0", 300, Consumers(2, 50, 5), "[]"),
    );
    assert!(outcome.passed(), "{:?}", outcome.violation_texts());
    assert_eq!(metric(&outcome, "records_consumed"), 300.0);
    assert!(outcome.violation_texts().is_empty());
}

/// Spec 1.5, 8: 4.0's in-flight limit (`group.share.partition.max.record.locks` 200, 2,000 from 4.1)
/// throttles acquisition: eight consumers that keep up with 1,000 records a second under 4.2 share 200
/// locks under 4.0 and fall behind, on the cluster as on the engine backend.
#[test]
fn kafka_4_0_in_flight_limit_delays_records_on_both_backends() {
    for backend in [&ClusterBackend as &dyn Backend, &EngineBackend] {
        let p50 = |profile| {
            metric(
                &run(
                    backend,
                    &scenario(profile, 2000, Consumers(8, 100, 5), "[]"),
                ),
                "p50_latency_ms",
            )
        };
        let (old, new) = (p50("kafka-4.0"), p50("kafka-4.2"));
        assert!(
            old > new,
            "{}: p50 4.0 {old} ms, 4.2 {new} ms",
            backend.name()
        );
    }
}

/// Spec 2.5, 8: a crashed consumer's records come back by lock expiry in 4.0 (no release on
/// disconnect) and by session release from 4.1, on the cluster as on the engine backend.
#[test]
fn kafka_4_0_releases_nothing_on_disconnect_on_both_backends() {
    let crash = r#"[{"at_ms": 1000, "kind": "consumer_crash", "consumer": "consumer:0/0"}]"#;
    for backend in [&ClusterBackend as &dyn Backend, &EngineBackend] {
        let redelivered = |profile| {
            let outcome = run(
                backend,
                &scenario(profile, 300, Consumers(2, 50, 50), crash),
            );
            assert!(
                outcome.passed(),
                "{profile}: {:?}",
                outcome.violation_texts()
            );
            (
                metric(&outcome, "oracle.redelivered.session_release"),
                metric(&outcome, "oracle.redelivered.lock_expiry"),
            )
        };
        let name = backend.name();
        let (released, expired) = redelivered("kafka-4.0");
        assert!(
            released == 0.0 && expired > 0.0,
            "{name} 4.0: {released} {expired}"
        );
        let (released, _) = redelivered("kafka-4.2");
        assert!(released > 0.0, "{name} 4.2: {released}");
    }
}

/// A cluster run over MAX_NODE_STEPS_PER_STEP_WINDOW (here lowered so a healthy run crosses it) fails
/// with a run error naming the limit, the virtual time and the spinning node, instead of spinning.
#[test]
fn a_cluster_run_over_its_step_limit_fails_with_the_limit_named() {
    let backend = ClusterBackendWithLimits(RunLimits::new(1, u64::MAX));
    let Err(error) = run_scenario(
        &backend,
        &scenario("kafka-4.2", 50, Consumers(1, 50, 5), "[]"),
        1,
        RunOptions::default(),
    ) else {
        panic!("the run fails");
    };
    let text = error.to_string();
    assert!(text.contains("MAX_NODE_STEPS_PER_STEP_WINDOW"), "{text}");
    assert!(text.contains("virtual time"), "{text}");
    assert!(text.contains("spinning: "), "{text}");
}

/// A cluster run over MAX_TRACE_RECORDS_PER_RUN (lowered) fails with a run error naming the limit.
#[test]
fn a_cluster_run_over_its_trace_limit_fails_with_the_limit_named() {
    let backend = ClusterBackendWithLimits(RunLimits::new(u64::MAX, 100));
    let Err(error) = run_scenario(
        &backend,
        &scenario("kafka-4.2", 50, Consumers(1, 50, 5), "[]"),
        1,
        RunOptions::default(),
    ) else {
        panic!("the run fails");
    };
    assert!(
        error.to_string().contains("MAX_TRACE_RECORDS_PER_RUN"),
        "{error}"
    );
}
