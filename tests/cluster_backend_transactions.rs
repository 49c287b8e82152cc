//! Transactions on the cluster backend (spec 6): producers with `transactions` run the simulator's
//! transactional producer client against the brokers' transaction coordinator, committing or aborting
//! each transaction; a share group with `share.isolation.level=read_committed` never delivers an aborted
//! record (its leader archives aborted batches on acquisition, cause `aborted_transaction`) and delivers
//! every committed one; with read_uncommitted (the default) the aborted records are delivered too.

use std::collections::BTreeSet;

use sharesim::runner::{run_scenario, ClusterBackend, RunOptions, RunOutcome};
use sharesim::scenario::Scenario;
use sharesim_sim::harness::accepted_offsets;
use sharesim_sim::share::partition::{PartitionEvent, TransitionCause};
use sharesim_sim::share::RecordState;
use sharesim_sim::trace::{ShareConsumerEvent, TraceEvent, TraceRecord};

/// Records the producer sends, in transactions of `RECORDS_PER_TRANSACTION`.
const RECORDS: i64 = 60;
const RECORDS_PER_TRANSACTION: i64 = 5;

/// One partition, one transactional producer aborting `abort_ratio` of its transactions, two consumers
/// of a share group at `isolation` (earliest reset: every record is due to the group).
fn transactional_scenario(isolation: &str, abort_ratio: f64) -> Scenario {
    let text = format!(
        r#"{{
          "duration_ms": 10000, "liveness_bound_ms": 60000,
          "topics": [{{"name": "orders", "partitions": 1}}],
          "groups": [{{"name": "workers", "configs": {{"share.auto.offset.reset": "earliest",
                       "share.isolation.level": "{isolation}"}}}}],
          "producers": [{{"topic": "orders", "count": {RECORDS}, "rate_per_sec": 20,
                          "transactions": {{"records_per_transaction": {RECORDS_PER_TRANSACTION},
                                            "abort_ratio": {abort_ratio}}}}}],
          "consumers": [{{"group": "workers", "count": 2, "processing": {{"kind": "fixed", "ms": 5}}}}]
        }}"#
    );
    sharesim::scenario::parse_scenario("transactions.json", &text).expect("a valid scenario")
}

fn run(scenario: &Scenario, seed: u64) -> RunOutcome {
    run_scenario(&ClusterBackend, scenario, seed, RunOptions::default()).expect("the run")
}

/// Offsets archived as aborted-transaction records (ACQUIRED -> ARCHIVED, cause aborted_transaction).
fn aborted_offsets(records: &[TraceRecord]) -> BTreeSet<i64> {
    let mut aborted = BTreeSet::new();
    for record in records {
        if let TraceEvent::SharePartition {
            event:
                PartitionEvent::Transition {
                    first_offset,
                    last_offset,
                    to: RecordState::Archived,
                    cause: TransitionCause::AbortedTransaction,
                    ..
                },
            ..
        } = &record.event
        {
            aborted.extend(*first_offset..=*last_offset);
        }
    }
    aborted
}

/// Offsets handed to an application (the consumers' `record_delivered` events).
fn delivered_offsets(records: &[TraceRecord]) -> BTreeSet<i64> {
    records
        .iter()
        .filter_map(|record| match &record.event {
            TraceEvent::ShareConsumer {
                event: ShareConsumerEvent::RecordDelivered { offset, .. },
                ..
            } => Some(*offset),
            _ => None,
        })
        .collect()
}

/// Spec 6: read_committed on the cluster: the aborted transactions' records are archived without being
/// delivered, every committed record is delivered and accepted, the run drains and every invariant
/// holds (the oracle sees the aborted records as ARCHIVED by cause aborted_transaction).
#[test]
fn read_committed_never_delivers_aborted_records_on_the_cluster() {
    let outcome = run(&transactional_scenario("read_committed", 0.35), 1);
    assert!(
        !outcome
            .facts
            .notes
            .iter()
            .any(|n| n.contains("transaction")),
        "transactions are carried out: {:?}",
        outcome.facts.notes
    );
    let aborted = aborted_offsets(&outcome.records);
    assert!(
        !aborted.is_empty() && aborted.len() as i64 % RECORDS_PER_TRANSACTION == 0,
        "whole transactions aborted: {aborted:?}"
    );
    let delivered = delivered_offsets(&outcome.records);
    assert!(
        delivered.is_disjoint(&aborted),
        "aborted records delivered: {:?}",
        delivered.intersection(&aborted).collect::<Vec<_>>()
    );
    let accepted: BTreeSet<i64> = accepted_offsets(&outcome.records)
        .remove(&0)
        .unwrap_or_default();
    assert_eq!(
        accepted.len() as i64 + aborted.len() as i64,
        RECORDS,
        "every committed record accepted: {accepted:?}"
    );
    assert!(outcome.facts.drained_at_ms.is_some(), "the run drained");
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
}

/// Spec 6: read_uncommitted (Kafka's default) on the cluster: the fetch reads up to the high watermark
/// and no record is archived as aborted, so the records of aborted transactions are delivered (here
/// every transaction is aborted, and every record is delivered and accepted).
#[test]
fn read_uncommitted_delivers_aborted_records_on_the_cluster() {
    let outcome = run(&transactional_scenario("read_uncommitted", 1.0), 1);
    assert!(aborted_offsets(&outcome.records).is_empty());
    let accepted: usize = accepted_offsets(&outcome.records)
        .values()
        .map(BTreeSet::len)
        .sum();
    assert_eq!(
        accepted as i64, RECORDS,
        "every record, though every one was aborted"
    );
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
}

/// Spec 6: every transaction aborted and the group reads committed: nothing is delivered, every record
/// is archived as aborted, and the run still drains (no record is left for the oracle's LIVENESS).
#[test]
fn read_committed_delivers_nothing_when_every_transaction_aborts() {
    let outcome = run(&transactional_scenario("read_committed", 1.0), 2);
    assert_eq!(aborted_offsets(&outcome.records).len() as i64, RECORDS);
    assert!(delivered_offsets(&outcome.records).is_empty());
    assert!(outcome.facts.drained_at_ms.is_some(), "the run drained");
    assert!(outcome.oracle.passed(), "{:#?}", outcome.violation_texts());
}
