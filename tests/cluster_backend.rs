//! The scenario runner on the madsim cluster backend: scenarios run on simulated brokers with real
//! share-consumer nodes, the oracle judges the cluster's trace, a seed gives one trace hash, a broker
//! crash is survived with redeliveries, and a run whose consumers consume nothing cannot pass.

use std::path::Path;

use sharesim::oracle::Verdict;
use sharesim::runner::{
    run_scenario, Backend, BackendRun, ClusterBackend, RunError, RunOptions, RunOutcome,
};
use sharesim::scenario::expectations::METRICS;
use sharesim::scenario::{load_scenario, Scenario};
use sharesim_sim::broker::ClusterEvent;
use sharesim_sim::harness::accepted_offsets;
use sharesim_sim::share::partition::PartitionEvent;
use sharesim_sim::trace::{ShareConsumerEvent, Trace, TraceEvent};

fn scenario(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    load_scenario(&path).expect("a valid scenario").scenario
}

fn run(backend: &dyn Backend, scenario: &Scenario, seed: u64) -> RunOutcome {
    run_scenario(backend, scenario, seed, RunOptions::default()).expect("the run")
}

fn metric(outcome: &RunOutcome, name: &str) -> f64 {
    outcome.metrics.get(name).unwrap_or_default()
}

/// minimal.json on the cluster: the consumers join before the workload starts, so every one of the 100
/// records (share.auto.offset.reset=latest, Kafka's default) is delivered and accepted, and the run
/// passes the oracle and its expectations.
#[test]
fn minimal_on_the_cluster_accepts_every_record() {
    let outcome = run(&ClusterBackend, &scenario("minimal.json"), 1);
    assert_eq!(outcome.facts.backend, "cluster");
    assert_eq!(outcome.facts.records_produced(), 100);
    let accepted = accepted_offsets(&outcome.records);
    let accepted_count: usize = accepted.values().map(|offsets| offsets.len()).sum();
    assert_eq!(accepted_count, 100, "{accepted:?}");
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
    assert!(outcome.passed(), "{:#?}", outcome.expectations);
    assert!(outcome.facts.drained_at_ms.is_some());
}

/// Design principle 2 on the cluster: the same seed twice gives the same trace, byte for byte.
#[test]
fn a_seed_gives_one_trace_hash_on_the_cluster() {
    let minimal = scenario("minimal.json");
    let first = run(&ClusterBackend, &minimal, 7);
    let second = run(&ClusterBackend, &minimal, 7);
    assert_eq!(first.trace_hash, second.trace_hash);
    assert_eq!(first.trace_text, second.trace_text);
}

/// A broker leading some partitions (and the share coordinator) crashes mid-run and stays down past
/// its session timeout: leadership moves, the new leaders restore the persisted state, the records
/// acquired at the crash are delivered again, every record ends acknowledged, and the oracle's safety
/// and liveness invariants hold.
#[test]
fn a_broker_crash_is_survived_with_redeliveries() {
    let crash = scenario("cluster_broker_crash.json");
    // Seed 2: the crash takes records some consumer holds (at seed 1 none was in hand: the consumers
    // fetch no more while they work, as Kafka's).
    let outcome = run(&ClusterBackend, &crash, 2);
    assert!(
        outcome
            .facts
            .faults_applied
            .iter()
            .any(|f| f.kind == "broker_crash"),
        "{:?}",
        outcome.facts.faults_applied
    );
    // The producers are idempotent (Kafka's default): a batch retried after the crash is written once.
    let produced = outcome.facts.records_produced();
    assert_eq!(produced, 300);
    for code in [
        "NO-LOSS",
        "EXCLUSIVE",
        "TERMINAL-FINAL",
        "DC-LIMIT",
        "SPSO-SAFE",
        "LIVENESS",
        "OWNER",
        "DURABLE",
        "FENCING",
        "INFLIGHT-CAP",
        "BATCH-WF",
    ] {
        assert_eq!(
            outcome.oracle.verdict(code),
            Some(&Verdict::Pass),
            "{code}: {:#?}",
            outcome.violation_texts()
        );
    }
    assert!(
        metric(&outcome, "deliveries") > produced as f64,
        "{:?}",
        outcome.metrics
    );
    assert_eq!(
        metric(&outcome, "acknowledged"),
        produced as f64,
        "{:?}",
        outcome.metrics
    );
    assert!(outcome.facts.drained_at_ms.is_some());
}

/// The whole oracle over a broker crash on the cluster, ACK-OUTCOME included: the acknowledgements the
/// share consumer fails without sending them (spec 2.3: no share session with the crashed leader,
/// NETWORK_EXCEPTION) are traced as failed unsent, not as the outcome of an acknowledgement sent.
#[test]
fn a_broker_crash_passes_every_invariant() {
    let outcome = run(&ClusterBackend, &scenario("cluster_broker_crash.json"), 1);
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
    assert!(outcome.passed(), "{:#?}", outcome.expectations);
    assert_eq!(outcome.oracle.verdict("ACK-OUTCOME"), Some(&Verdict::Pass));
}

/// A broker crashes and comes back 2 s later, before the controller fences it
/// (`broker.session.timeout.ms` 9 s): its re-registration is refused until the old session expires,
/// leadership moves, and the consumers go on: every record ends acknowledged, the run drains and
/// every invariant holds. Regression (seed 1 stalled with 136 of 300 acknowledged): the restarted,
/// unregistered broker answered the consumer's metadata request without the partition, the consumer
/// dropped the partition's leader and never asked again, so the partition was never fetched from its
/// new leader.
#[test]
fn a_broker_restarted_before_it_is_fenced_does_not_stall_the_consumers() {
    let mut crash = scenario("cluster_broker_crash.json");
    let mut json = serde_json::to_value(&crash.faults).expect("faults serialize");
    json[0]["restart_after_ms"] = serde_json::json!(2_000);
    crash.faults = serde_json::from_value(json).expect("faults deserialize");
    let outcome = run(&ClusterBackend, &crash, 1);
    let kinds: Vec<&str> = outcome
        .facts
        .faults_applied
        .iter()
        .map(|f| f.kind.as_str())
        .collect();
    assert!(kinds.contains(&"broker_crash"), "{kinds:?}");
    // Idempotent producers: a retried batch is written once.
    let produced = outcome.facts.records_produced();
    assert_eq!(produced, 300);
    assert!(
        outcome.facts.drained_at_ms.is_some(),
        "{:?}",
        outcome.metrics
    );
    assert_eq!(
        metric(&outcome, "acknowledged"),
        produced as f64,
        "{:?}",
        outcome.metrics
    );
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
}

/// The cluster backend with every share-partition and share-consumer event removed from its trace: what
/// the first draft's runs looked like (the consumers consumed nothing).
struct ConsumingNothing;

impl Backend for ConsumingNothing {
    fn name(&self) -> &'static str {
        "consuming-nothing"
    }

    fn run(&self, scenario: &Scenario, seed: u64) -> Result<BackendRun, RunError> {
        let run = ClusterBackend.run(scenario, seed)?;
        let mut trace = Trace::keeping_records_and_text();
        for record in run.trace.records().expect("kept") {
            if !matches!(
                record.event,
                TraceEvent::SharePartition { .. } | TraceEvent::ShareConsumer { .. }
            ) {
                trace.record(record.at_ms, &record.node, record.event.clone());
            }
        }
        Ok(BackendRun {
            trace,
            facts: run.facts,
        })
    }
}

/// Regression (the first draft reported PASSED with 0 of 100 records consumed): a run whose produced
/// records are never delivered fails NO-LOSS, because the oracle is told what was committed.
#[test]
fn a_run_that_consumes_nothing_fails_no_loss() {
    let outcome = run(&ConsumingNothing, &scenario("minimal.json"), 1);
    assert_eq!(outcome.facts.records_produced(), 100);
    assert_eq!(metric(&outcome, "records_consumed"), 0.0);
    let failures = outcome.violation_texts();
    assert!(
        failures.iter().any(|f| f.starts_with("NO-LOSS")),
        "{failures:#?}"
    );
    assert!(!outcome.passed());
}

/// Consumers that start after the records were committed, with `share.auto.offset.reset=latest`,
/// legitimately skip them (spec 5.2): NO-LOSS does not ask for what the reset skipped, only for the
/// records committed after they started.
#[test]
fn latest_reset_skips_only_what_came_before_the_consumers() {
    let mut late = scenario("minimal.json");
    late.consumers[0].start_ms = 5_000;
    late.producers.push(late.producers[0].clone());
    late.producers[1].start_ms = 15_000;
    let outcome = run(&ClusterBackend, &late, 1);
    assert_eq!(outcome.facts.records_produced(), 200);
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
    let accepted = accepted_offsets(&outcome.records);
    let accepted_count: usize = accepted.values().map(|offsets| offsets.len()).sum();
    assert_eq!(accepted_count, 100, "{accepted:?}");
}

/// Head-of-line blocking on the cluster (issue 8): head_of_line.json runs its share group (four
/// consumers) and its classic group (one consumer of the one partition) side by side on the same
/// records. The classic consumer processes in offset order, so the records behind a slow one wait for
/// it; the share group's other consumers keep taking the records behind it. The classic group's tail
/// latency is the larger (seed 1: p99 490 ms against 303 ms), and both groups got every record.
#[test]
fn head_of_line_classic_records_wait_behind_the_slow_one_share_records_do_not() {
    let outcome = run(&ClusterBackend, &scenario("head_of_line.json"), 1);
    assert_eq!(outcome.facts.records_produced(), 500);
    assert_eq!(
        metric(&outcome, "acknowledged"),
        500.0,
        "{:?}",
        outcome.metrics
    );
    assert_eq!(
        metric(&outcome, "classic.records_processed"),
        500.0,
        "{:?}",
        outcome.metrics
    );
    let share_p99 = metric(&outcome, "p99_latency_ms");
    let classic_p99 = metric(&outcome, "classic.p99_latency_ms");
    assert!(
        classic_p99 > share_p99,
        "classic p99 {classic_p99} ms, share p99 {share_p99} ms: {:?}",
        outcome.metrics
    );
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
    // Expectations and study claims can name every metric the run reports, the classic ones too.
    let unnamed: Vec<&String> = outcome
        .metrics
        .0
        .keys()
        .filter(|name| !METRICS.contains(&name.as_str()))
        .collect();
    assert!(unnamed.is_empty(), "not in METRICS: {unnamed:?}");
    assert!(
        !outcome
            .facts
            .notes
            .iter()
            .any(|note| note.contains("classic groups are not run")),
        "{:?}",
        outcome.facts.notes
    );
}

/// A scenario written inline (`name` for error messages).
fn inline_scenario(name: &str, text: &str) -> Scenario {
    sharesim::scenario::parse_scenario(name, text).expect("a valid scenario")
}

/// Spec 3.2 on the cluster (`persister_fail` lever): while the brokers' WriteShareGroupState calls fail
/// with UNKNOWN_SERVER_ERROR (not retried by the persister), acknowledgements roll back and their
/// outcome is an error; the records come back when their locks expire and are accepted later, and
/// every invariant holds.
#[test]
fn persister_write_failures_roll_acknowledgements_back_on_the_cluster() {
    let failing = inline_scenario(
        "persister_fail.json",
        r#"{
          "duration_ms": 15000, "liveness_bound_ms": 60000,
          "cluster": {"configs": {"group.share.min.record.lock.duration.ms": 1000}},
          "topics": [{"name": "orders", "partitions": 1}],
          "groups": [{"name": "workers", "configs": {"share.auto.offset.reset": "earliest",
                      "share.record.lock.duration.ms": 2000}}],
          "producers": [{"topic": "orders", "count": 100, "rate_per_sec": 50}],
          "consumers": [{"group": "workers", "processing": {"kind": "fixed", "ms": 5}}],
          "faults": [{"at_ms": 300, "kind": "persister_fail", "error": "UNKNOWN_SERVER_ERROR",
                      "probability": 0.5, "duration_ms": 1500}]
        }"#,
    );
    let outcome = run(&ClusterBackend, &failing, 1);
    let pulled = &outcome.facts.faults_applied;
    assert!(
        pulled.iter().any(|f| f.kind == "persister_fail"),
        "{pulled:?} / skipped {:?}",
        outcome.facts.faults_skipped
    );
    let failed_writes = outcome
        .records
        .iter()
        .filter(|record| {
            matches!(
                &record.event,
                TraceEvent::SharePartition {
                    event: PartitionEvent::WriteFailed { .. },
                    ..
                }
            )
        })
        .count();
    assert!(failed_writes > 0, "no write failed");
    let failed_acks = outcome
        .records
        .iter()
        .filter(|record| {
            matches!(
                &record.event,
                TraceEvent::ShareConsumer {
                    event: ShareConsumerEvent::AcknowledgementOutcome { error_code, .. },
                    ..
                } if *error_code != 0
            )
        })
        .count();
    assert!(failed_acks > 0, "no acknowledgement failed");
    let accepted = accepted_offsets(&outcome.records);
    let accepted_count: usize = accepted.values().map(|offsets| offsets.len()).sum();
    assert_eq!(accepted_count, 100, "{accepted:?}");
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
}

/// The `share_coordinator_failover` lever on the cluster (spec 3.1, 3.5): the broker leading
/// `__share_group_state`-0 loses the controller, is fenced, and another broker becomes the share
/// coordinator (loading the state by replay); every record is still accepted and the safety invariants
/// hold.
#[test]
fn share_coordinator_failover_moves_the_coordinator_on_the_cluster() {
    let failover = inline_scenario(
        "share_coordinator_failover.json",
        r#"{
          "duration_ms": 20000, "liveness_bound_ms": 60000,
          "cluster": {"brokers": 3},
          "topics": [{"name": "orders", "partitions": 1}],
          "groups": [{"name": "workers", "configs": {"share.auto.offset.reset": "earliest"}}],
          "producers": [{"topic": "orders", "count": 100, "rate_per_sec": 10}],
          "consumers": [{"group": "workers", "processing": {"kind": "fixed", "ms": 5}}],
          "faults": [{"at_ms": 2000, "kind": "share_coordinator_failover"}]
        }"#,
    );
    let outcome = run(&ClusterBackend, &failover, 1);
    assert!(
        outcome
            .facts
            .faults_applied
            .iter()
            .any(|f| f.kind == "share_coordinator_failover"),
        "{:?} / skipped {:?}",
        outcome.facts.faults_applied,
        outcome.facts.faults_skipped
    );
    let state_leaders: std::collections::BTreeSet<&str> = outcome
        .records
        .iter()
        .filter(|record| {
            matches!(
                &record.event,
                TraceEvent::Cluster {
                    event: ClusterEvent::BecameLeader { topic, .. },
                } if topic == "__share_group_state"
            )
        })
        .map(|record| record.node.as_str())
        .collect();
    assert!(
        state_leaders.len() >= 2,
        "one coordinator only: {state_leaders:?}"
    );
    let accepted = accepted_offsets(&outcome.records);
    let accepted_count: usize = accepted.values().map(|offsets| offsets.len()).sum();
    assert_eq!(accepted_count, 100, "{accepted:?}");
    for code in [
        "NO-LOSS",
        "EXCLUSIVE",
        "TERMINAL-FINAL",
        "DC-LIMIT",
        "SPSO-SAFE",
        "DURABLE",
    ] {
        assert_eq!(
            outcome.oracle.verdict(code),
            Some(&Verdict::Pass),
            "{code}: {:#?}",
            outcome.violation_texts()
        );
    }
}

/// The `leadership_bounce` lever on the cluster (design "Fault levers", spec 3.5): the controller moves
/// `orders`-0 to the next ISR replica with a bumped leader epoch and 4 s later moves it back. The old
/// leader loses leadership (its share partition is fenced and dropped), the consumer follows the
/// partition through NOT_LEADER_OR_FOLLOWER and Metadata, the share partition is initialized again at
/// each new leader epoch, every record is accepted and every invariant holds.
#[test]
fn leadership_bounce_moves_the_partition_away_and_back_on_the_cluster() {
    let bounce = inline_scenario(
        "leadership_bounce.json",
        r#"{
          "duration_ms": 15000, "liveness_bound_ms": 60000,
          "cluster": {"brokers": 3},
          "topics": [{"name": "orders", "partitions": 1, "replication_factor": 3}],
          "groups": [{"name": "workers", "configs": {"share.auto.offset.reset": "earliest"}}],
          "producers": [{"topic": "orders", "count": 150, "rate_per_sec": 20}],
          "consumers": [{"group": "workers", "processing": {"kind": "fixed", "ms": 5}}],
          "faults": [{"at_ms": 2000, "kind": "leadership_bounce", "topic": "orders",
                      "back_after_ms": 4000}]
        }"#,
    );
    let outcome = run(&ClusterBackend, &bounce, 1);
    let details: Vec<&str> = outcome
        .facts
        .faults_applied
        .iter()
        .filter(|f| f.kind == "leadership_bounce")
        .map(|f| f.detail.as_str())
        .collect();
    assert_eq!(
        details.len(),
        2,
        "{details:?} / {:?}",
        outcome.facts.faults_skipped
    );
    assert_eq!(details[0], "pull: move leader orders-0 to next ISR replica");
    assert!(
        details[1].starts_with("release: move leader orders-0 to broker:"),
        "{details:?}"
    );
    let lost: Vec<(&str, i32)> = outcome
        .records
        .iter()
        .filter_map(|record| match &record.event {
            TraceEvent::Cluster {
                event:
                    ClusterEvent::LostLeadership {
                        topic,
                        leader_epoch,
                        ..
                    },
            } if topic == "orders" => Some((record.node.as_str(), *leader_epoch)),
            _ => None,
        })
        .collect();
    assert_eq!(lost.len(), 2, "away and back: {lost:?}");
    assert_ne!(lost[0].0, lost[1].0, "{lost:?}");
    // The share partition came up again at each new leader epoch.
    let active_epochs: std::collections::BTreeSet<i32> = outcome
        .records
        .iter()
        .filter_map(|record| match &record.event {
            TraceEvent::SharePartition {
                leader_epoch,
                event:
                    PartitionEvent::PartitionStateChanged {
                        to: sharesim_sim::share::partition::PartitionState::Active,
                        ..
                    },
                ..
            } => Some(*leader_epoch),
            _ => None,
        })
        .collect();
    assert!(active_epochs.len() >= 2, "{active_epochs:?}");
    let accepted = accepted_offsets(&outcome.records);
    let accepted_count: usize = accepted.values().map(|offsets| offsets.len()).sum();
    assert_eq!(accepted_count, 150, "{accepted:?}");
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
}

/// The zombie-leader scenario of the FENCING tests: `orders`-0's leader turns zombie at 1 s for 12 s
/// while the first consumer holds ten records for 10 s; a second consumer starts at 4 s, reaches the
/// new leader (the next ISR replica, the first bootstrap broker) and initializes the share partition
/// there, which fences the old leader epoch at the share coordinator; the first consumer's
/// acknowledgements then reach the zombie, whose write carries the old epoch.
fn zombie_scenario(mutations: &str) -> Scenario {
    let text = r#"{
          "duration_ms": 20000, "liveness_bound_ms": 90000,
          "cluster": {"brokers": 3},
          "topics": [{"name": "orders", "partitions": 1, "replication_factor": 3}],
          "groups": [{"name": "workers", "configs": {"share.auto.offset.reset": "earliest"}}],
          "producers": [{"topic": "orders", "count": 60, "rate_per_sec": 50}],
          "consumers": [
            {"group": "workers", "configs": {"max.poll.records": 10},
             "processing": {"kind": "fixed", "ms": 1000}},
            {"group": "workers", "start_ms": 4000, "processing": {"kind": "fixed", "ms": 5}}
          ],
          "faults": [{"at_ms": 1000, "kind": "zombie_leader", "topic": "orders", "duration_ms": 12000}],
          "mutations": MUTATIONS
        }"#;
    inline_scenario("zombie_leader.json", &text.replace("MUTATIONS", mutations))
}

/// Writes of `orders`' share partition as (leader epoch, error code) of the failed ones.
fn failed_writes(outcome: &RunOutcome) -> Vec<(i32, i16)> {
    outcome
        .records
        .iter()
        .filter_map(|record| match &record.event {
            TraceEvent::SharePartition {
                leader_epoch,
                event: PartitionEvent::WriteFailed { error_code, .. },
                ..
            } => Some((*leader_epoch, *error_code)),
            _ => None,
        })
        .collect()
}

/// The `zombie_leader` lever on the cluster (spec 3.4, 3.5), seed 1: the old leader keeps serving the
/// first consumer with its old leader epoch after the controller moved the partition; once the new
/// leader has read the state, the zombie's write is fenced (FENCED_LEADER_EPOCH, which the share
/// partition maps to NOT_LEADER_OR_FOLLOWER and drops itself); the records come back, every record is
/// accepted and every invariant, FENCING included, holds.
#[test]
fn a_zombie_leaders_write_is_fenced_on_the_cluster() {
    let outcome = run(&ClusterBackend, &zombie_scenario("[]"), 1);
    let details: Vec<&str> = outcome
        .facts
        .faults_applied
        .iter()
        .filter(|f| f.kind == "zombie_leader")
        .map(|f| f.detail.as_str())
        .collect();
    assert_eq!(
        details,
        [
            "pull: zombie leader orders-0",
            "release: zombie leader orders-0 stops"
        ],
        "skipped: {:?}",
        outcome.facts.faults_skipped
    );
    let fenced = failed_writes(&outcome);
    assert!(
        fenced.iter().any(|&(epoch, code)| epoch == 0
            && code == sharesim_sim::ResponseError::NotLeaderOrFollower.code()),
        "the zombie's write (leader epoch 0) is fenced: {fenced:?}"
    );
    let accepted = accepted_offsets(&outcome.records);
    let accepted_count: usize = accepted.values().map(|offsets| offsets.len()).sum();
    assert_eq!(accepted_count, 60, "{accepted:?}");
    assert_eq!(outcome.oracle.verdict("FENCING"), Some(&Verdict::Pass));
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
}

/// The `skip_leader_epoch_fencing` mutation switch on the cluster (issue 6): the share coordinator
/// takes the zombie's write of the old leader epoch after the new leader read the state, and FENCING
/// says so.
#[test]
fn skipping_leader_epoch_fencing_fails_fencing_on_the_cluster() {
    let outcome = run(
        &ClusterBackend,
        &zombie_scenario(r#"["skip_leader_epoch_fencing"]"#),
        1,
    );
    assert!(
        matches!(outcome.oracle.verdict("FENCING"), Some(Verdict::Fail(_))),
        "{:#?}",
        outcome.violation_texts()
    );
}

/// The `assignor_skips_a_member` mutation switch (issue 6, cluster only; spec 4.2 inverted): the
/// simple assignor leaves the last of three members out, so the converged loads of three partitions
/// are 2, 1, 0 and MEMBERSHIP says so; with the switch off the same run keeps MEMBERSHIP.
#[test]
fn an_assignor_skipping_a_member_fails_membership_on_the_cluster() {
    let assignor_scenario = |mutations: &str| {
        let text = r#"{
              "duration_ms": 10000, "liveness_bound_ms": 90000,
              "cluster": {"brokers": 3},
              "topics": [{"name": "events", "partitions": 3, "replication_factor": 3}],
              "groups": [{"name": "g", "configs": {"share.auto.offset.reset": "earliest"}}],
              "producers": [{"topic": "events", "count": 30, "rate_per_sec": 10}],
              "consumers": [{"group": "g", "count": 3, "processing": {"kind": "fixed", "ms": 5}}],
              "mutations": MUTATIONS
            }"#;
        inline_scenario("assignor.json", &text.replace("MUTATIONS", mutations))
    };
    let outcome = run(
        &ClusterBackend,
        &assignor_scenario(r#"["assignor_skips_a_member"]"#),
        1,
    );
    let Some(Verdict::Fail(violation)) = outcome.oracle.verdict("MEMBERSHIP") else {
        panic!("MEMBERSHIP holds: {:#?}", outcome.violation_texts());
    };
    assert!(
        violation
            .to_string()
            .contains("member loads range from 0 to 2 partitions"),
        "{violation}"
    );
    let outcome = run(&ClusterBackend, &assignor_scenario("[]"), 1);
    assert_eq!(outcome.oracle.verdict("MEMBERSHIP"), Some(&Verdict::Pass));
}

/// A mutation switch the cluster does not carry is refused with the ones it does.
#[test]
fn the_cluster_refuses_mutation_switches_it_does_not_carry() {
    let Err(error) = run_scenario(
        &ClusterBackend,
        &zombie_scenario(r#"["skip_lock_timers"]"#),
        1,
        RunOptions::default(),
    ) else {
        panic!("the cluster ran a switch it does not carry");
    };
    assert!(error.0.contains("skip_leader_epoch_fencing"), "{error:?}");
}

/// The `consumer_reconnect_late_close` lever on the cluster (spec 2.5), seed 1: at 1.5 s the consumer
/// drops its connections and starts its share sessions over on new ones, while the old connections'
/// closes reach the brokers 3 s late. The new session (epoch 0) replaces the old one, so the late close
/// finds its session gone and releases nothing the new session acquired. Every record is acknowledged
/// and every invariant holds.
#[test]
fn a_late_close_of_the_old_connection_releases_nothing_of_the_new_session() {
    let reconnect = inline_scenario(
        "reconnect_late_close.json",
        r#"{
          "duration_ms": 15000, "liveness_bound_ms": 60000,
          "cluster": {"brokers": 3},
          "topics": [{"name": "orders", "partitions": 1, "replication_factor": 3}],
          "groups": [{"name": "workers", "configs": {"share.auto.offset.reset": "earliest"}}],
          "producers": [{"topic": "orders", "count": 100, "rate_per_sec": 20}],
          "consumers": [{"group": "workers", "configs": {"max.poll.records": 5},
                         "processing": {"kind": "fixed", "ms": 20}}],
          "faults": [{"at_ms": 1500, "kind": "consumer_reconnect_late_close",
                      "consumer": "consumer:0/0", "close_delay_ms": 3000}]
        }"#,
    );
    let outcome = run(&ClusterBackend, &reconnect, 1);
    let pulled: Vec<_> = outcome
        .facts
        .faults_applied
        .iter()
        .filter(|f| f.kind == "consumer_reconnect_late_close")
        .collect();
    assert_eq!(
        pulled.len(),
        1,
        "skipped: {:?}",
        outcome.facts.faults_skipped
    );
    assert_eq!(
        pulled[0].detail,
        "pull: reconnect consumer:0/0, old close 3000ms late"
    );
    let late_close_ms = pulled[0].at_ms + 3_000;
    let releases: Vec<u64> = outcome
        .records
        .iter()
        .filter(|record| {
            matches!(
                &record.event,
                TraceEvent::SharePartition {
                    event: PartitionEvent::Transition {
                        cause: sharesim_sim::share::partition::TransitionCause::SessionRelease,
                        ..
                    },
                    ..
                }
            )
        })
        .map(|record| record.at_ms)
        .collect();
    assert!(
        releases.iter().all(|&at_ms| at_ms < late_close_ms),
        "a session release at or after the late close ({late_close_ms} ms): {releases:?}"
    );
    // The record whose acknowledgement the reconnect cut off comes back when its lock expires (30 s):
    // the broker acknowledges every record, the last one just before the run ends.
    assert_eq!(
        metric(&outcome, "acknowledged"),
        100.0,
        "{:?}",
        outcome.metrics
    );
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
}
