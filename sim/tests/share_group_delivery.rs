#![cfg(madsim)]
//! Share groups sharing work: many consumers on one partition lose nothing and never hold a record at
//! the same time; consumers beyond the partition count all receive work (the simple assignor shares
//! each partition among ceil(members / partitions) members).

mod share_support;

use std::collections::BTreeSet;
use std::time::Duration;

use share_support::*;
use sharesim_sim::client::application::ProcessingTime;
use sharesim_sim::harness::{accepted_offsets, exclusive_holding_violations};
use sharesim_sim::node::ConsumerStats;

/// Consumers with a small `max.poll.records` and some processing time, so work spreads.
fn spawn_consumers(cluster: &sharesim_sim::harness::SimCluster, count: u64) -> Vec<ConsumerStats> {
    (1..=count)
        .map(|i| {
            spawn_consumer(cluster, &format!("consumer-{i}"), i, |setup| {
                setup.config.max_poll_records = 10;
                setup.application.processing_time = ProcessingTime::Fixed { ms: 5 };
            })
        })
        .collect()
}

/// Spec 1.2, 2.5, 4.2: eight members on one partition; 1,000 records produced while they consume are
/// all accepted, none is held by two members at once, and the work is shared.
#[madsim::test]
async fn many_consumers_on_one_partition_lose_nothing_and_share_nothing() {
    let cluster = start_cluster(1, |_| {}).await;
    let stats = spawn_consumers(&cluster, 8);
    wait_until("every member joined", Duration::from_secs(30), || {
        stats.iter().all(|s| s.member_id().is_some())
    })
    .await;
    // Let every member receive its assignment (one heartbeat interval) before the records arrive.
    madsim::time::sleep(Duration::from_secs(12)).await;
    produce(&cluster, 0, 1_000, 5, Duration::from_millis(5), plain_value).await;
    wait_until("every record accepted", Duration::from_secs(120), || {
        accepted_count(&cluster, 0) >= 1_000
    })
    .await;
    let records = trace_records(&cluster);
    let accepted = accepted_offsets(&records);
    assert_eq!(
        accepted[&0].iter().copied().collect::<Vec<_>>(),
        (0..1_000).collect::<Vec<_>>(),
        "NO-LOSS: every offset accepted"
    );
    let violations = exclusive_holding_violations(&records);
    assert!(violations.is_empty(), "EXCLUSIVE: {violations:?}");
    let members_with_work = stats.iter().filter(|s| !s.deliveries().is_empty()).count();
    assert!(
        members_with_work >= 4,
        "work shared: {members_with_work} of 8 members got records"
    );
}

/// Spec 4.2: five members on two partitions: each partition is shared by ceil(5/2) = 3 members, so
/// every member is assigned a partition and receives records.
#[madsim::test]
async fn consumers_beyond_the_partition_count_all_receive_work() {
    let cluster = start_cluster(2, |_| {}).await;
    let stats = spawn_consumers(&cluster, 5);
    madsim::time::sleep(Duration::from_secs(15)).await;
    for partition in 0..2 {
        produce(
            &cluster,
            partition,
            500,
            5,
            Duration::from_millis(5),
            plain_value,
        )
        .await;
    }
    wait_until("every record accepted", Duration::from_secs(120), || {
        accepted_count(&cluster, 0) >= 500 && accepted_count(&cluster, 1) >= 500
    })
    .await;
    for (i, s) in stats.iter().enumerate() {
        let partitions: BTreeSet<i32> = s.deliveries().iter().map(|d| d.partition).collect();
        assert!(
            !partitions.is_empty(),
            "consumer-{} received no records",
            i + 1
        );
    }
    let violations = exclusive_holding_violations(&trace_records(&cluster));
    assert!(violations.is_empty(), "EXCLUSIVE: {violations:?}");
}
