#![cfg(madsim)]
//! The share consumer's acknowledgement API end to end (spec 7): commitSync with per-partition results
//! and commitAsync, the commit callback once per partition per commit, RENEW of long tasks,
//! deserialization errors, and max.poll.records in both acquire modes.

mod share_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use share_support::*;
use sharesim_sim::client::application::ProcessingTime;
use sharesim_sim::client::share_consumer::{AcknowledgementMode, AcquireMode, RecordDeserializer};
use sharesim_sim::harness::{accepted_offsets, transitions_of};
use sharesim_sim::node::{
    CommitCallback, CommitStyle, ConsumerStats, Delivery, ShareConsumerSetup,
};
use sharesim_sim::share::RecordState;

/// Offsets of every successful callback, checking that no offset is reported twice.
fn callback_offsets(callbacks: &[CommitCallback]) -> BTreeMap<i32, BTreeSet<i64>> {
    let mut seen: BTreeMap<i32, BTreeSet<i64>> = BTreeMap::new();
    for callback in callbacks {
        assert_eq!(callback.error_code, 0, "callback failed: {callback:?}");
        for offset in &callback.offsets {
            let fresh = seen.entry(callback.partition).or_default().insert(*offset);
            assert!(fresh, "offset {offset} reported by two callbacks");
        }
    }
    seen
}

/// Spec 7.3: with commitSync after every poll (explicit mode, two partitions), every commitSync returns
/// a result for each partition it committed, all successful, and the callback runs exactly once per
/// partition per commit, covering every delivered offset once.
#[madsim::test]
async fn commit_sync_returns_per_partition_results_and_one_callback_per_partition() {
    let cluster = start_cluster(2, |_| {}).await;
    let stats = spawn_consumer(&cluster, "consumer", 1, |setup| {
        setup.config.acknowledgement_mode = AcknowledgementMode::Explicit;
        setup.commit = CommitStyle::Sync;
    });
    produce(&cluster, 0, 12, 3, Duration::ZERO, plain_value).await;
    produce(&cluster, 1, 12, 3, Duration::ZERO, plain_value).await;
    wait_until(
        "both partitions are acknowledged",
        Duration::from_secs(60),
        || {
            let offsets = callback_offsets(&stats.commit_callbacks());
            offsets.get(&0).map_or(0, BTreeSet::len) == 12
                && offsets.get(&1).map_or(0, BTreeSet::len) == 12
        },
    )
    .await;
    let results = stats.commit_sync_results();
    assert!(!results.is_empty());
    assert!(
        results.iter().all(|r| r.values().all(|code| *code == 0)),
        "every partition committed: {results:?}"
    );
    let partitions: BTreeSet<i32> = results.iter().flat_map(|r| r.keys().copied()).collect();
    assert_eq!(
        partitions,
        BTreeSet::from([0, 1]),
        "results are per partition"
    );
    let callbacks = stats.commit_callbacks();
    let per_commit: usize = results.iter().map(BTreeMap::len).sum();
    assert_eq!(
        callbacks.len(),
        per_commit,
        "one callback per partition per commit"
    );
    let accepted = accepted_offsets(&trace_records(&cluster));
    assert_eq!(accepted[&0].len() + accepted[&1].len(), 24);
}

/// Spec 7.3: commitAsync after every poll sends the acknowledgements without a commitSync result; the
/// callback still runs once per partition per commit and every offset is reported exactly once.
#[madsim::test]
async fn commit_async_reports_each_partition_once_through_the_callback() {
    let cluster = start_cluster(2, |_| {}).await;
    let stats = spawn_consumer(&cluster, "consumer", 2, |setup| {
        setup.config.acknowledgement_mode = AcknowledgementMode::Explicit;
        setup.commit = CommitStyle::Async;
    });
    produce(&cluster, 0, 10, 2, Duration::ZERO, plain_value).await;
    produce(&cluster, 1, 10, 2, Duration::ZERO, plain_value).await;
    wait_until(
        "both partitions are acknowledged",
        Duration::from_secs(60),
        || {
            let offsets = callback_offsets(&stats.commit_callbacks());
            offsets.get(&0).map_or(0, BTreeSet::len) == 10
                && offsets.get(&1).map_or(0, BTreeSet::len) == 10
        },
    )
    .await;
    assert!(stats.commit_sync_results().is_empty(), "no commitSync ran");
    // Each callback is one partition's share of one commit: its offsets all come from one poll.
    let deliveries = stats.deliveries();
    for callback in stats.commit_callbacks() {
        let polls: BTreeSet<u64> = deliveries
            .iter()
            .filter(|d| d.partition == callback.partition && callback.offsets.contains(&d.offset))
            .map(|d| d.at_ms)
            .collect();
        assert_eq!(
            polls.len(),
            1,
            "callback {callback:?} spans polls {polls:?}"
        );
    }
}

/// A one-record consumer working 40 s per record with a 15 s acquisition lock.
fn slow_worker(renew_after_ms: Option<u64>) -> impl FnOnce(&mut ShareConsumerSetup) {
    move |setup| {
        setup.config.acknowledgement_mode = AcknowledgementMode::Explicit;
        setup.config.max_poll_records = 1;
        setup.config.acquire_mode = AcquireMode::RecordLimit;
        setup.application.processing_time = ProcessingTime::Fixed { ms: 40_000 };
        setup.application.renew_after_ms = renew_after_ms;
    }
}

/// Spec 7.8, 2.1 (RENEW, 4.2): a task that takes 40 s renews its 15 s lock every 5 s; the record is
/// delivered once, comes back from each confirmed renewal, and is accepted at the end.
#[madsim::test]
async fn a_long_task_that_renews_its_lock_is_not_redelivered() {
    let cluster = start_cluster(1, |config| config.record_lock_duration_ms = 15_000).await;
    let stats = spawn_consumer(&cluster, "worker", 3, slow_worker(Some(5_000)));
    produce(&cluster, 0, 1, 1, Duration::ZERO, plain_value).await;
    wait_until("the record is accepted", Duration::from_secs(120), || {
        accepted_count(&cluster, 0) == 1
    })
    .await;
    let deliveries: Vec<Delivery> = stats.deliveries();
    assert_eq!(deliveries.len(), 1, "delivered once: {deliveries:?}");
    assert_eq!(deliveries[0].delivery_count, 1);
    assert!(
        stats.renewals() >= 5,
        "renewed while working: {}",
        stats.renewals()
    );
    let expired = transitions_of(&trace_records(&cluster), 0, 0)
        .iter()
        .any(|t| t.from == RecordState::Acquired && t.to == RecordState::Available);
    assert!(!expired, "the lock never expired");
}

/// Spec 1.4: the same 40 s task without RENEW loses its 15 s lock; the record is delivered again with
/// its delivery count raised, and the late ACCEPT of the first delivery fails.
#[madsim::test]
async fn the_same_task_without_renew_is_redelivered() {
    let cluster = start_cluster(1, |config| config.record_lock_duration_ms = 15_000).await;
    let stats = spawn_consumer(&cluster, "worker", 3, slow_worker(None));
    produce(&cluster, 0, 1, 1, Duration::ZERO, plain_value).await;
    wait_until(
        "the record is redelivered",
        Duration::from_secs(120),
        || stats.deliveries().iter().any(|d| d.delivery_count == 2),
    )
    .await;
    assert_eq!(stats.renewals(), 0);
    let first = stats.deliveries()[0].clone();
    let again = stats.deliveries()[1].clone();
    assert_eq!((first.offset, again.offset), (0, 0));
    assert!(
        again.at_ms >= first.at_ms + 15_000,
        "only after the lock expired"
    );
}

/// Spec 7.5: a record that fails to deserialize is never handed to the application; poll throws
/// RecordDeserializationException, the automatic RELEASE redelivers it up to the delivery-count limit (5),
/// and then it is ARCHIVED while the other records are accepted.
#[madsim::test]
async fn deserialization_errors_are_released_surfaced_and_archived_at_the_limit() {
    let cluster = start_cluster(1, |_| {}).await;
    let stats = spawn_consumer(&cluster, "consumer", 4, |setup| {
        setup.deserializer = RecordDeserializer::poison_marker();
    });
    let poison_offset = 3;
    produce(&cluster, 0, 8, 1, Duration::ZERO, move |n| {
        if n == poison_offset {
            "POISON-record".to_string()
        } else {
            plain_value(n)
        }
    })
    .await;
    wait_until(
        "the poison record is archived",
        Duration::from_secs(120),
        || {
            transitions_of(&trace_records(&cluster), 0, poison_offset)
                .iter()
                .any(|t| t.to == RecordState::Archived)
        },
    )
    .await;
    wait_until("the rest is accepted", Duration::from_secs(60), || {
        accepted_count(&cluster, 0) == 7
    })
    .await;
    let thrown = stats
        .poll_errors()
        .iter()
        .filter(|e| *e == "RecordDeserializationException")
        .count();
    assert_eq!(
        thrown,
        5,
        "surfaced once per delivery: {:?}",
        stats.poll_errors()
    );
    assert!(
        stats.deliveries().iter().all(|d| d.offset != poison_offset),
        "never handed to the application"
    );
    let records = trace_records(&cluster);
    let last = transitions_of(&records, 0, poison_offset).pop().unwrap();
    assert_eq!(
        (last.from, last.to, last.delivery_count),
        (RecordState::Acquired, RecordState::Archived, 5)
    );
    assert!(last.limit_reached, "archived by the delivery-count limit");
}

/// The records each poll returned, by poll time.
fn poll_sizes(stats: &ConsumerStats) -> Vec<usize> {
    let mut sizes: BTreeMap<u64, usize> = BTreeMap::new();
    for delivery in stats.deliveries() {
        *sizes.entry(delivery.at_ms).or_default() += 1;
    }
    sizes.into_values().collect()
}

/// Spec 7.4, 2.6: in batch_optimized mode max.poll.records is soft: ten records produced in one batch
/// with max.poll.records=5 come back from one poll.
#[madsim::test]
async fn max_poll_records_is_soft_in_batch_optimized_mode() {
    let cluster = start_cluster(1, |_| {}).await;
    let stats = spawn_consumer(&cluster, "consumer", 5, |setup| {
        setup.config.max_poll_records = 5;
        setup.config.acquire_mode = AcquireMode::BatchOptimized;
    });
    produce(&cluster, 0, 10, 10, Duration::ZERO, plain_value).await;
    wait_until("all ten are delivered", Duration::from_secs(60), || {
        stats.deliveries().len() >= 10
    })
    .await;
    assert_eq!(
        poll_sizes(&stats),
        vec![10],
        "the whole log batch in one poll"
    );
}

/// Spec 7.4, 2.6: in record_limit mode max.poll.records is strict: the same ten records come back
/// five at a time, never more.
#[madsim::test]
async fn max_poll_records_is_strict_in_record_limit_mode() {
    let cluster = start_cluster(1, |_| {}).await;
    let stats = spawn_consumer(&cluster, "consumer", 5, |setup| {
        setup.config.max_poll_records = 5;
        setup.config.acquire_mode = AcquireMode::RecordLimit;
    });
    produce(&cluster, 0, 10, 10, Duration::ZERO, plain_value).await;
    wait_until("all ten are delivered", Duration::from_secs(60), || {
        stats.deliveries().len() >= 10
    })
    .await;
    let sizes = poll_sizes(&stats);
    assert!(sizes.iter().all(|n| *n <= 5), "strict limit: {sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), 10);
    let offsets: BTreeSet<i64> = stats.deliveries().iter().map(|d| d.offset).collect();
    assert_eq!(offsets, (0..10).collect());
}
