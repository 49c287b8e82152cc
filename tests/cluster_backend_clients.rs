//! The cluster backend's clients against Kafka's: the share consumer does not fetch ahead of its
//! application (lock_renew.json), producers are idempotent by default, and classic consumers are fault
//! targets with their group coordinator's settings taken from the scenario.

use std::path::Path;

use sharesim::runner::{run_scenario, ClusterBackend, RunOptions, RunOutcome};
use sharesim::scenario::{load_scenario, Scenario};

fn scenario(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    load_scenario(&path).expect("a valid scenario").scenario
}

fn run(scenario: &Scenario, seed: u64) -> RunOutcome {
    run_scenario(&ClusterBackend, scenario, seed, RunOptions::default()).expect("the run")
}

fn metric(outcome: &RunOutcome, name: &str) -> f64 {
    outcome.metrics.get(name).unwrap_or_default()
}

/// Spec 7, 7.8 on the cluster: Kafka's share consumer fetches nothing while its application holds the
/// records of the last poll (`ShareConsumeRequestManager` clears `fetchMoreRecords` once a ShareFetch
/// acquired records; `ShareConsumerImpl.collect` asks for more only when nothing is left to hand out),
/// so with max.poll.records=1 and RENEW every 10 s of a 15 s lock no lock expires and no record is
/// handed out twice; a renewed record coming back in a poll is the same delivery. Seed 1 gave 11 lock
/// expiries and 39 duplicates while the consumer node fetched ahead.
#[test]
fn lock_renew_on_the_cluster_expires_no_lock_and_delivers_each_record_once() {
    let outcome = run(&scenario("library/lock_renew.json"), 1);
    assert_eq!(outcome.facts.records_produced(), 200);
    assert_eq!(
        metric(&outcome, "lock_expiries"),
        0.0,
        "{:?}",
        outcome.metrics
    );
    assert_eq!(metric(&outcome, "duplicates"), 0.0, "{:?}", outcome.metrics);
    assert_eq!(
        metric(&outcome, "deliveries"),
        200.0,
        "{:?}",
        outcome.metrics
    );
    assert_eq!(
        metric(&outcome, "acknowledged"),
        200.0,
        "{:?}",
        outcome.metrics
    );
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
    assert!(outcome.passed(), "{:#?}", outcome.expectations);
}

fn inline_scenario(name: &str, text: &str) -> Scenario {
    sharesim::scenario::parse_scenario(name, text).expect("a valid scenario")
}

/// Kafka's producer is idempotent by default (enable.idempotence=true since 3.0): a batch whose
/// response a leader crash lost is retried with its sequence number and the new leader answers
/// DUPLICATE_SEQUENCE_NUMBER instead of writing it again, so cluster_broker_crash.json's log holds
/// exactly the 300 records sent (seed 1 held 301 with the non-idempotent producer).
#[test]
fn an_idempotent_producer_writes_each_record_once_over_a_broker_crash() {
    let outcome = run(&scenario("cluster_broker_crash.json"), 1);
    assert!(
        outcome
            .facts
            .faults_applied
            .iter()
            .any(|f| f.kind == "broker_crash"),
        "{:?}",
        outcome.facts.faults_applied
    );
    assert_eq!(outcome.facts.records_produced(), 300);
    assert_eq!(
        metric(&outcome, "acknowledged"),
        300.0,
        "{:?}",
        outcome.metrics
    );
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
}

/// A 2,000-record burst (ingress_spike.json, 2 consumers) from the idempotent producer client: every
/// one of the 3,000 records is written once and consumed.
#[test]
fn an_idempotent_burst_writes_every_record_once() {
    let mut spike = scenario("library/ingress_spike.json");
    spike.sweep = Default::default();
    let outcome = run(&spike, 1);
    assert_eq!(outcome.facts.records_produced(), 3000);
    assert_eq!(
        metric(&outcome, "records_consumed"),
        3000.0,
        "{:?}",
        outcome.metrics
    );
    assert!(outcome.facts.drained_at_ms.is_some());
}

/// `enable.idempotence=false` (Kafka's name) is honoured: the brokers then need no producer ids, and
/// the records still arrive (no fault here, so no retry can duplicate them).
#[test]
fn a_producer_may_turn_idempotence_off() {
    let plain = inline_scenario(
        "non_idempotent.json",
        r#"{
          "duration_ms": 5000, "liveness_bound_ms": 60000,
          "topics": [{"name": "orders", "partitions": 2}],
          "groups": [{"name": "workers", "configs": {"share.auto.offset.reset": "earliest"}}],
          "producers": [{"topic": "orders", "count": 100, "rate_per_sec": 50,
                         "configs": {"enable.idempotence": "false", "acks": "all"}}],
          "consumers": [{"group": "workers", "processing": {"kind": "fixed", "ms": 1}}]
        }"#,
    );
    let outcome = run(&plain, 1);
    assert_eq!(outcome.facts.records_produced(), 100);
    assert_eq!(
        metric(&outcome, "acknowledged"),
        100.0,
        "{:?}",
        outcome.metrics
    );
}

/// A classic group beside an idle share group: two consumers of a 2-partition topic with the
/// scenario's `session.timeout.ms` (10 s) and `heartbeat.interval.ms`, one crashed at 3 s (`consumer_crash`
/// naming the classic entry), given as `fault` (a fault object, or nothing).
fn classic_crash_scenario(session_timeout_ms: u64, fault: &str) -> Scenario {
    inline_scenario(
        "classic_crash.json",
        &format!(
            r#"{{
          "duration_ms": 10000, "liveness_bound_ms": 120000,
          "cluster": {{"brokers": 3, "configs": {{"group.min.session.timeout.ms": 2000}}}},
          "topics": [{{"name": "jobs", "partitions": 2}}],
          "groups": [
            {{"name": "idle", "type": "share"}},
            {{"name": "cg", "type": "classic", "configs": {{"auto.offset.reset": "earliest",
              "session.timeout.ms": {session_timeout_ms}, "heartbeat.interval.ms": 1000}}}}
          ],
          "producers": [{{"topic": "jobs", "count": 400, "rate_per_sec": 40}}],
          "consumers": [{{"group": "cg", "count": 2, "processing": {{"kind": "fixed", "ms": 2}}}}],
          "faults": [{fault}]
        }}"#
        ),
    )
}

/// When the coordinator removed a member of group `cg` for `cause`, with the member id.
fn classic_removals(outcome: &RunOutcome, cause: &str) -> Vec<(u64, String)> {
    use sharesim_sim::trace::{ClassicTraceEvent, TraceEvent};
    outcome
        .records
        .iter()
        .filter_map(|record| match &record.event {
            TraceEvent::Classic {
                event:
                    ClassicTraceEvent::MemberRemoved {
                        member_id,
                        cause: c,
                        ..
                    },
            } if c == cause => Some((record.at_ms, member_id.clone())),
            _ => None,
        })
        .collect()
}

/// `consumer_crash` on a classic consumer of the cluster: its node dies without LeaveGroup, the classic
/// group coordinator removes it once the scenario's `session.timeout.ms` passed without a heartbeat
/// (not before; Kafka's classic protocol), the survivor takes both partitions from the last committed
/// offsets, and every record is processed. With 10 s the removal comes about 10 s after the crash;
/// with 30 s about 30 s after it.
#[test]
fn a_crashed_classic_consumer_is_removed_after_its_session_timeout() {
    let crash = r#"{"at_ms": 3000, "kind": "consumer_crash", "consumer": "consumer:0/1"}"#;
    for session_timeout_ms in [10_000u64, 30_000] {
        let outcome = run(&classic_crash_scenario(session_timeout_ms, crash), 1);
        let applied = &outcome.facts.faults_applied;
        let crashed = applied
            .iter()
            .find(|f| f.kind == "consumer_crash")
            .unwrap_or_else(|| panic!("{applied:?} / {:?}", outcome.facts.faults_skipped));
        let removals = classic_removals(&outcome, "session_timeout");
        assert_eq!(removals.len(), 1, "{removals:?}");
        let (removed_at_ms, member_id) = &removals[0];
        assert!(member_id.starts_with("classic-0-1"), "{member_id}");
        let after_ms = removed_at_ms - crashed.at_ms;
        assert!(
            (session_timeout_ms - 1_000..=session_timeout_ms + 3_000).contains(&after_ms),
            "removed {after_ms} ms after the crash with session.timeout.ms {session_timeout_ms}"
        );
        assert_eq!(
            metric(&outcome, "classic.records_processed"),
            400.0,
            "{:?}",
            outcome.metrics
        );
        assert!(outcome.facts.drained_at_ms.is_some());
    }
}

/// `consumer_stall` on a classic consumer: a stall (heartbeats included) longer than
/// `session.timeout.ms` costs the membership, one shorter does not; either way every record is
/// processed.
#[test]
fn a_stalled_classic_consumer_loses_its_membership_only_past_its_session_timeout() {
    let stall = |duration_ms: u64| {
        format!(
            r#"{{"at_ms": 3000, "kind": "consumer_stall", "consumer": "consumer:0/0",
                 "stall_ms": {duration_ms}}}"#
        )
    };
    let long = run(&classic_crash_scenario(6_000, &stall(12_000)), 1);
    assert!(
        long.facts
            .faults_applied
            .iter()
            .any(|f| f.kind == "consumer_stall"),
        "{:?} / {:?}",
        long.facts.faults_applied,
        long.facts.faults_skipped
    );
    let removed = classic_removals(&long, "session_timeout");
    assert!(
        removed
            .iter()
            .any(|(_, member)| member.starts_with("classic-0-0")),
        "{removed:?}"
    );
    assert_eq!(
        metric(&long, "classic.records_processed"),
        400.0,
        "{:?}",
        long.metrics
    );
    let short = run(&classic_crash_scenario(30_000, &stall(5_000)), 1);
    assert!(classic_removals(&short, "session_timeout").is_empty());
    assert_eq!(
        metric(&short, "classic.records_processed"),
        400.0,
        "{:?}",
        short.metrics
    );
}

/// The classic group coordinator takes `group.min.session.timeout.ms` from `cluster.configs` (Kafka's
/// broker name): a consumer asking for less is refused (INVALID_SESSION_TIMEOUT) and never processes a
/// record, where Kafka's default minimum (6 s) would have let it join.
#[test]
fn the_classic_coordinator_takes_its_session_bounds_from_the_scenario() {
    let mut refused = classic_crash_scenario(3_000, "");
    refused.cluster.configs.insert(
        "group.min.session.timeout.ms".to_string(),
        sharesim::scenario::ConfigValue("5000".to_string()),
    );
    refused.liveness_bound_ms = 20_000;
    let outcome = run(&refused, 1);
    assert_eq!(
        metric(&outcome, "classic.records_processed"),
        0.0,
        "{:?}",
        outcome.metrics
    );
    let allowed = run(&classic_crash_scenario(3_000, ""), 1);
    assert_eq!(
        metric(&allowed, "classic.records_processed"),
        400.0,
        "{:?}",
        allowed.metrics
    );
}
