//! The log-data fault levers on the madsim cluster backend (spec 6, 7.6): the log start moving on the
//! partition leader (DeleteRecords, retention), the log cleaner on a compacted topic, and a batch
//! corrupted on the leader's disk. Each run shows the lever's effect in the trace and passes the oracle.

use sharesim::runner::{run_scenario, ClusterBackend, RunOptions, RunOutcome};
use sharesim::scenario::Scenario;
use sharesim_sim::share::partition::{PartitionEvent, StartOffsetMoveCause, TransitionCause};
use sharesim_sim::share::{AcknowledgeType, RecordState};
use sharesim_sim::trace::{ShareConsumerEvent, TraceEvent};

fn inline_scenario(name: &str, text: &str) -> Scenario {
    sharesim::scenario::parse_scenario(name, text).expect("a valid scenario")
}

fn run(scenario: &Scenario, seed: u64) -> RunOutcome {
    run_scenario(&ClusterBackend, scenario, seed, RunOptions::default()).expect("the run")
}

/// The virtual time the fault `kind` was pulled at; panics (with what was skipped) if it was not.
fn pulled_at_ms(outcome: &RunOutcome, kind: &str) -> u64 {
    outcome
        .facts
        .faults_applied
        .iter()
        .find(|fault| fault.kind == kind)
        .unwrap_or_else(|| {
            panic!(
                "{kind} not applied: {:?} / skipped {:?}",
                outcome.facts.faults_applied, outcome.facts.faults_skipped
            )
        })
        .at_ms
}

/// Every share-partition event with its virtual time.
fn partition_events(outcome: &RunOutcome) -> Vec<(u64, &PartitionEvent)> {
    outcome
        .records
        .iter()
        .filter_map(|record| match &record.event {
            TraceEvent::SharePartition { event, .. } => Some((record.at_ms, event)),
            _ => None,
        })
        .collect()
}

/// `(first, last)` of each transition with `cause` (the engine's cause, not the ack type).
fn transitions_by(outcome: &RunOutcome, wanted: TransitionCause) -> Vec<(i64, i64)> {
    partition_events(outcome)
        .into_iter()
        .filter_map(|(_, event)| match event {
            PartitionEvent::Transition {
                first_offset,
                last_offset,
                cause,
                ..
            } if *cause == wanted => Some((*first_offset, *last_offset)),
            _ => None,
        })
        .collect()
}

/// Offsets the consumers' applications received, with the time.
fn delivered(outcome: &RunOutcome) -> Vec<(u64, i64)> {
    outcome
        .records
        .iter()
        .filter_map(|record| match &record.event {
            TraceEvent::ShareConsumer {
                event: ShareConsumerEvent::RecordDelivered { offset, .. },
                ..
            } => Some((record.at_ms, *offset)),
            _ => None,
        })
        .collect()
}

/// Offsets a consumer acknowledged with `ack_type` (as sent).
fn acknowledged(outcome: &RunOutcome, ack_type: AcknowledgeType) -> Vec<i64> {
    outcome
        .records
        .iter()
        .filter_map(|record| match &record.event {
            TraceEvent::ShareConsumer {
                event:
                    ShareConsumerEvent::AcknowledgementsSent {
                        acknowledgements, ..
                    },
                ..
            } => Some(acknowledgements),
            _ => None,
        })
        .flatten()
        .filter(|(_, kind)| *kind == ack_type)
        .map(|(offset, _)| *offset)
        .collect()
}

/// Spec 6 (`delete_records` on the cluster): the leader's log start moves to 60 while the only consumer
/// stalls with records 0.. acquired and then expired (AVAILABLE). When it polls again the share
/// partition's read below the log start gets OFFSET_OUT_OF_RANGE: the AVAILABLE records below 60 are
/// archived (cause `log_start_offset_move`), SPSO jumps to 60, nothing below 60 is acquired afterwards,
/// every record from 60 is accepted, and the oracle passes.
#[test]
fn delete_records_moves_the_log_start_and_spso_on_the_cluster() {
    let scenario = inline_scenario(
        "delete_records.json",
        r#"{
          "duration_ms": 12000, "liveness_bound_ms": 60000,
          "cluster": {"brokers": 3, "configs": {"group.share.min.record.lock.duration.ms": 1000}},
          "topics": [{"name": "orders", "partitions": 1}],
          "groups": [{"name": "workers", "configs": {"share.auto.offset.reset": "earliest",
                      "share.record.lock.duration.ms": 2000}}],
          "producers": [{"topic": "orders", "count": 100, "rate_per_sec": 50}],
          "consumers": [{"group": "workers", "processing": {"kind": "fixed", "ms": 5},
                         "failure": {"stall_at_ms": 300, "stall_for_ms": 5000}}],
          "faults": [{"at_ms": 3500, "kind": "delete_records", "topic": "orders", "offset": 60}]
        }"#,
    );
    let outcome = run(&scenario, 1);
    let moved_at_ms = pulled_at_ms(&outcome, "delete_records");
    let archived = transitions_by(&outcome, TransitionCause::LogStartOffsetMove);
    assert!(!archived.is_empty(), "nothing archived below the log start");
    assert!(archived.iter().all(|(_, last)| *last < 60), "{archived:?}");
    let spso_moves: Vec<i64> = partition_events(&outcome)
        .into_iter()
        .filter_map(|(_, event)| match event {
            PartitionEvent::StartOffsetMoved {
                to,
                cause: StartOffsetMoveCause::LogStartOffsetMove,
                ..
            } => Some(*to),
            _ => None,
        })
        .collect();
    assert_eq!(spso_moves, vec![60]);
    // A record the consumer had buffered before its stall may still reach its application; the share
    // partition hands out nothing below the log start once it moved.
    let late_below: Vec<i64> = partition_events(&outcome)
        .into_iter()
        .filter_map(|(at_ms, event)| match event {
            PartitionEvent::Acquired { first_offset, .. }
                if at_ms > moved_at_ms && *first_offset < 60 =>
            {
                Some(*first_offset)
            }
            _ => None,
        })
        .collect();
    assert!(
        late_below.is_empty(),
        "acquired below the log start: {late_below:?}"
    );
    let accepted = sharesim_sim::harness::accepted_offsets(&outcome.records);
    let accepted = accepted.get(&0).cloned().unwrap_or_default();
    assert!(
        (60..100).all(|offset| accepted.contains(&offset)),
        "{accepted:?}"
    );
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
}

/// Spec 6 (compaction on the cluster): keyed records (5 keys) in batches of about ten; the consumer
/// stalls with records acquired and then expired, and the cleaner runs on every replica. Afterwards the
/// share partition skips the gaps: cached AVAILABLE batches that vanished are archived (cause
/// `compaction`) or offsets missing inside an acquired batch are acknowledged as GAP; fewer records than
/// produced are delivered after the cleaning, and the oracle passes.
#[test]
fn compaction_leaves_gaps_the_share_group_skips_on_the_cluster() {
    let scenario = inline_scenario(
        "compaction.json",
        r#"{
          "duration_ms": 14000, "liveness_bound_ms": 60000,
          "cluster": {"brokers": 3, "configs": {"group.share.min.record.lock.duration.ms": 1000}},
          "topics": [{"name": "prices", "partitions": 1, "configs": {"cleanup.policy": "compact"}}],
          "groups": [{"name": "workers", "configs": {"share.auto.offset.reset": "earliest",
                      "share.record.lock.duration.ms": 2000}}],
          "producers": [{"topic": "prices", "count": 100, "rate_per_sec": 50,
                         "keys": {"kind": "sequential", "cardinality": 5},
                         "configs": {"linger.ms": 200}}],
          "consumers": [{"group": "workers", "processing": {"kind": "fixed", "ms": 5},
                         "failure": {"stall_at_ms": 300, "stall_for_ms": 8000}}],
          "faults": [{"at_ms": 7500, "kind": "compaction", "topic": "prices"}]
        }"#,
    );
    let outcome = run(&scenario, 1);
    let compacted_at_ms = pulled_at_ms(&outcome, "compaction");
    let archived = transitions_by(&outcome, TransitionCause::Compaction);
    let gaps = acknowledged(&outcome, AcknowledgeType::Gap);
    assert!(
        !archived.is_empty() || !gaps.is_empty(),
        "no gap was skipped: the cleaner removed nothing the group read"
    );
    let late: Vec<i64> = delivered(&outcome)
        .into_iter()
        .filter(|(at_ms, _)| *at_ms > compacted_at_ms)
        .map(|(_, offset)| offset)
        .collect();
    assert!(!late.is_empty(), "nothing delivered after the cleaning");
    let unique: std::collections::BTreeSet<i64> = late.iter().copied().collect();
    assert!(
        unique.len() < 100,
        "every record survived the cleaning: {unique:?}"
    );
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
}

/// Spec 7.6 on the cluster (`corrupt_batch_on_disk`): a batch is corrupted on the leader's disk before
/// the group's only consumer starts; the broker serves it as stored, the consumer's CRC check fails and
/// it REJECTs every acquired offset of that batch (ARCHIVED, delivered to no application), every other
/// record is accepted, and the oracle passes.
#[test]
fn a_corrupt_batch_on_the_leader_is_rejected_whole_on_the_cluster() {
    let scenario = inline_scenario(
        "corrupt_batch.json",
        r#"{
          "duration_ms": 10000, "liveness_bound_ms": 60000,
          "cluster": {"brokers": 3},
          "topics": [{"name": "orders", "partitions": 1}],
          "groups": [{"name": "workers", "configs": {"share.auto.offset.reset": "earliest"}}],
          "producers": [{"topic": "orders", "count": 100, "rate_per_sec": 50,
                         "configs": {"linger.ms": 100}}],
          "consumers": [{"group": "workers", "start_ms": 3000, "processing": {"kind": "fixed", "ms": 5}}],
          "faults": [{"at_ms": 2500, "kind": "corrupt_batch_on_disk", "topic": "orders", "offset": 40}]
        }"#,
    );
    let outcome = run(&scenario, 1);
    pulled_at_ms(&outcome, "corrupt_batch_on_disk");
    let rejected = acknowledged(&outcome, AcknowledgeType::Reject);
    assert!(
        rejected.contains(&40),
        "offset 40 not rejected: {rejected:?}"
    );
    assert!(rejected.len() > 1, "one offset only: the whole batch goes");
    let archived: Vec<(i64, i64)> = partition_events(&outcome)
        .into_iter()
        .filter_map(|(_, event)| match event {
            PartitionEvent::Transition {
                first_offset,
                last_offset,
                to: RecordState::Archived,
                cause:
                    TransitionCause::Acknowledge {
                        ack_type: AcknowledgeType::Reject,
                    },
                ..
            } => Some((*first_offset, *last_offset)),
            _ => None,
        })
        .collect();
    assert!(
        archived
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&40)),
        "{archived:?}"
    );
    let seen: Vec<i64> = delivered(&outcome)
        .into_iter()
        .map(|(_, offset)| offset)
        .filter(|offset| rejected.contains(offset))
        .collect();
    assert!(
        seen.is_empty(),
        "corrupt records reached the application: {seen:?}"
    );
    let accepted = sharesim_sim::harness::accepted_offsets(&outcome.records);
    let accepted = accepted.get(&0).cloned().unwrap_or_default();
    assert_eq!(
        accepted.len() + rejected.len(),
        100,
        "{accepted:?} / {rejected:?}"
    );
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
}
