//! Fidelity of the cluster backend's consumers: `clock_skew` on a classic consumer (its client's timers,
//! heartbeats, poll and auto-commit, run on its own clock, as a Java consumer's read
//! `time.milliseconds()`, while the coordinator judges its session on the broker's clock), and the
//! scenario's share session timeout honoured by the brokers' group coordinator, and an offset reset of
//! an emptied group seen by the restarted consumers' first fetches.

use sharesim::runner::{run_scenario, ClusterBackend, RunOptions, RunOutcome};
use sharesim::scenario::parse_scenario;
use sharesim_sim::coordinator::group::{GroupTraceEvent, MemberRemovalCause};
use sharesim_sim::trace::{ClassicTraceEvent, ShareConsumerEvent, TraceEvent};

/// A classic group (beside an idle share group, which the cluster backend needs) whose member
/// heartbeats every 5.7 s against a 6 s session; `clock` is the member's `cluster.clocks` entry (none
/// for a perfect clock), `faults` the scenario's fault list.
fn run(clock: &str, faults: &str) -> RunOutcome {
    let scenario = parse_scenario(
        "classic_clock.json",
        &format!(
            r#"{{
              "duration_ms": 20000, "liveness_bound_ms": 60000,
              "cluster": {{"clocks": [{clock}]}},
              "topics": [{{"name": "orders", "partitions": 1}}],
              "groups": [
                {{"name": "idle", "type": "share"}},
                {{"name": "readers", "type": "classic",
                  "configs": {{"auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                               "heartbeat.interval.ms": 5700}}}}
              ],
              "producers": [{{"topic": "orders", "count": 40, "rate_per_sec": 10}}],
              "consumers": [{{"group": "readers", "processing": {{"kind": "fixed", "ms": 1}}}}],
              "faults": [{faults}]
            }}"#
        ),
    )
    .expect("a valid scenario");
    run_scenario(&ClusterBackend, &scenario, 1, RunOptions::default()).expect("the run")
}

fn session_timeouts(outcome: &RunOutcome) -> usize {
    outcome
        .records
        .iter()
        .filter(|record| {
            matches!(
                &record.event,
                TraceEvent::Classic {
                    event: ClassicTraceEvent::MemberRemoved { cause, .. },
                } if cause == "session_timeout"
            )
        })
        .count()
}

/// Classic protocol (heartbeats, `session.timeout.ms`): a member whose clock runs 10% slow sends its
/// 5.7 s heartbeats every 6.3 s of true time, so the coordinator, on its own clock, removes it after
/// its 6 s session; with a perfect clock the same member keeps its membership.
#[test]
fn a_slow_classic_consumer_clock_loses_the_session_a_perfect_one_keeps() {
    let perfect = run("", "");
    assert_eq!(session_timeouts(&perfect), 0, "a perfect clock keeps up");
    assert!(perfect.oracle.passed(), "{:#?}", perfect.violation_texts());

    let slow = run(
        r#"{"node": "consumer:0", "skew_ms": 0, "drift_ppm": -100000}"#,
        "",
    );
    assert!(
        slow.facts
            .faults_applied
            .iter()
            .any(|fact| fact.detail.contains("consumer:0")),
        "the clock was set: applied {:?} / skipped {:?}",
        slow.facts.faults_applied,
        slow.facts.faults_skipped
    );
    assert!(
        slow.facts.faults_skipped.is_empty(),
        "{:?}",
        slow.facts.faults_skipped
    );
    assert!(
        session_timeouts(&slow) >= 1,
        "the coordinator times the slow member's session out"
    );
}

/// Design "per-node clocks": a classic consumer's clock stepped a minute ahead mid-run (the
/// `clock_skew` fault) is pulled, not skipped; its trace stays stamped on the simulator's time, so
/// the `classic.*` latencies stay true (well under the minute), and every invariant holds.
#[test]
fn a_classic_consumer_clock_steps_ahead_mid_run_and_the_trace_stays_on_true_time() {
    let outcome = run(
        "",
        r#"{"at_ms": 1000, "kind": "clock_skew", "node": "consumer:0", "skew_ms": 60000,
            "drift_ppm": 2000}"#,
    );
    let pulled: Vec<&String> = outcome
        .facts
        .faults_applied
        .iter()
        .filter(|fact| fact.kind == "clock_skew")
        .map(|fact| &fact.detail)
        .collect();
    assert_eq!(
        pulled.len(),
        1,
        "applied {:?}",
        outcome.facts.faults_applied
    );
    assert!(
        outcome.facts.faults_skipped.is_empty(),
        "{:?}",
        outcome.facts.faults_skipped
    );
    let last_classic_ms = outcome
        .records
        .iter()
        .filter(|record| matches!(record.event, TraceEvent::Classic { .. }))
        .map(|record| record.at_ms)
        .max()
        .expect("classic events");
    assert!(
        last_classic_ms < 50_000,
        "stamped on true time: {last_classic_ms}"
    );
    let max_latency_ms = outcome
        .metrics
        .get("classic.max_latency_ms")
        .expect("classic latencies");
    assert!(max_latency_ms < 30_000.0, "{max_latency_ms}");
    assert_eq!(
        session_timeouts(&outcome),
        0,
        "heartbeats come sooner, not later"
    );
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
}

/// A share group of two consumers, one crashed at 3 s, with `configs` as `cluster.configs` and
/// `group_configs` as the group's configs; returns (crash time, time of each member fenced by its
/// session timeout).
fn share_crash(cluster_configs: &str, group_configs: &str) -> (u64, Vec<u64>) {
    let scenario = parse_scenario(
        "share_session_timeout.json",
        &format!(
            r#"{{
              "duration_ms": 60000, "liveness_bound_ms": 120000,
              "cluster": {{"configs": {{{cluster_configs}}}}},
              "topics": [{{"name": "orders", "partitions": 2}}],
              "groups": [{{"name": "workers",
                          "configs": {{"share.auto.offset.reset": "earliest"{group_configs}}}}}],
              "producers": [{{"topic": "orders", "count": 40, "rate_per_sec": 20}}],
              "consumers": [{{"group": "workers", "count": 2, "processing": {{"kind": "fixed", "ms": 1}}}}],
              "faults": [{{"at_ms": 3000, "kind": "consumer_crash", "consumer": "consumer:0/0"}}]
            }}"#
        ),
    )
    .expect("a valid scenario");
    let outcome =
        run_scenario(&ClusterBackend, &scenario, 1, RunOptions::default()).expect("the run");
    let crash_ms = outcome
        .facts
        .faults_applied
        .iter()
        .find(|fact| fact.kind == "consumer_crash")
        .map(|fact| fact.at_ms)
        .unwrap_or_else(|| panic!("crashed: {:?}", outcome.facts.faults_skipped));
    let fenced: Vec<u64> = outcome
        .records
        .iter()
        .filter(|record| {
            matches!(
                &record.event,
                TraceEvent::GroupCoordinator {
                    event: GroupTraceEvent::MemberRemoved {
                        cause: MemberRemovalCause::SessionTimeout,
                        ..
                    },
                }
            )
        })
        .map(|record| record.at_ms)
        .collect();
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
    (crash_ms, fenced)
}

/// Spec 4.1 (`share.session.timeout.ms`, bounded by `group.share.{min,max}.session.timeout.ms`): the
/// cluster's group coordinator fences a crashed share member after the group's 10 s session timeout,
/// not Kafka's default 45 s; with the defaults it takes 45 s.
#[test]
fn a_crashed_share_member_is_fenced_after_the_scenarios_session_timeout() {
    let lowered_bounds = r#""group.share.min.session.timeout.ms": 6000,
                             "group.share.min.heartbeat.interval.ms": 1000"#;
    let group = r#", "share.session.timeout.ms": 10000, "share.heartbeat.interval.ms": 2000"#;
    let (crash_ms, fenced) = share_crash(lowered_bounds, group);
    assert_eq!(fenced.len(), 1, "one member fenced: {fenced:?}");
    let after_ms = fenced[0] - crash_ms;
    // The last heartbeat came at most one interval (2 s) before the crash.
    assert!(
        (8_000..=11_000).contains(&after_ms),
        "fenced {after_ms} ms after the crash"
    );

    let (crash_ms, fenced) = share_crash("", "");
    assert_eq!(fenced.len(), 1, "one member fenced: {fenced:?}");
    let after_ms = fenced[0] - crash_ms;
    assert!(
        (40_000..=46_000).contains(&after_ms),
        "fenced {after_ms} ms after the crash with Kafka's defaults"
    );
}

/// Spec 5.3 with Kafka 4.1+'s `onGroupEmpty` (KAFKA-19116, apache/kafka#19666): both consumers of a
/// share group crash, their connections close, and the leader, left with no share session of the
/// group, drops its share partitions; once the group coordinator has fenced them (6 s sessions), the
/// admin resets the emptied group forward to offset 150, and the consumers restart. Their first fetches
/// re-read the partition's state from the share coordinator, so nothing below 150 is delivered after
/// the reset (before, the leader served them from its old in-memory state until a write was fenced),
/// and every record from 150 on is.
#[test]
fn consumers_restarted_after_a_reset_of_an_emptied_group_fetch_from_the_reset_state() {
    let scenario = parse_scenario(
        "reset_empty_group.json",
        r#"{
          "duration_ms": 20000, "liveness_bound_ms": 60000,
          "cluster": {"brokers": 3, "configs": {"group.share.min.session.timeout.ms": 6000,
                                                "group.share.min.heartbeat.interval.ms": 1000}},
          "topics": [{"name": "orders", "partitions": 1}],
          "groups": [{"name": "workers", "configs": {"share.auto.offset.reset": "earliest",
                      "share.session.timeout.ms": 6000, "share.heartbeat.interval.ms": 2000}}],
          "producers": [{"topic": "orders", "count": 200, "rate_per_sec": 100}],
          "consumers": [{"group": "workers", "count": 2, "configs": {"max.poll.records": 10},
                         "processing": {"kind": "fixed", "ms": 5}}],
          "faults": [
            {"at_ms": 1000, "kind": "consumer_crash", "consumer": "consumer:0", "restart_after_ms": 11000},
            {"at_ms": 11000, "kind": "offset_reset", "group": "workers", "topic": "orders",
             "start_offset": 150}
          ]
        }"#,
    )
    .expect("a valid scenario");
    let outcome =
        run_scenario(&ClusterBackend, &scenario, 1, RunOptions::default()).expect("the run");
    let reset_ms = outcome
        .records
        .iter()
        .find_map(|record| match &record.event {
            TraceEvent::Fault { lever, detail }
                if lever == "offset_reset" && detail.starts_with("answer: ") =>
            {
                assert!(
                    detail.ends_with(": NONE"),
                    "the reset was refused: {detail}"
                );
                Some(record.at_ms)
            }
            _ => None,
        })
        .expect("the reset was answered");
    let delivered_after: Vec<i64> = outcome
        .records
        .iter()
        .filter(|record| record.at_ms > reset_ms)
        .filter_map(|record| match &record.event {
            TraceEvent::ShareConsumer {
                event: ShareConsumerEvent::RecordDelivered { offset, .. },
                ..
            } => Some(*offset),
            _ => None,
        })
        .collect();
    assert!(
        delivered_after.iter().all(|offset| *offset >= 150),
        "delivered below the reset: {:?}",
        delivered_after
            .iter()
            .filter(|o| **o < 150)
            .collect::<Vec<_>>()
    );
    for offset in 150..200 {
        assert!(delivered_after.contains(&offset), "{offset} not delivered");
    }
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
}
