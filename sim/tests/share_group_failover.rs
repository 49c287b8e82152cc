#![cfg(madsim)]
//! Failovers under a consuming share group: the data partition's leader dies mid-flight (its ACQUIRED
//! state is lost, nothing acknowledged is), and the share coordinator's broker dies mid-flight (every
//! acknowledged state survives the reload).

mod share_support;

use std::time::Duration;

use share_support::*;
use sharesim_sim::client::application::ProcessingTime;
use sharesim_sim::coordinator::placement::SHARE_GROUP_STATE_TOPIC_NAME;
use sharesim_sim::harness::{archived_offsets, share_partition_start_offset, SimCluster};
use sharesim_sim::node::ConsumerStats;
use sharesim_sim::trace::TraceEvent;

const RECORDS: i64 = 1_000;

/// Three consumers working through `RECORDS` records produced up front; returns their stats once
/// `RECORDS / 3` are accepted.
async fn consume_a_third(cluster: &SimCluster) -> Vec<ConsumerStats> {
    produce(cluster, 0, RECORDS, 10, Duration::ZERO, plain_value).await;
    let stats: Vec<ConsumerStats> = (1..=3)
        .map(|i| {
            spawn_consumer(cluster, &format!("consumer-{i}"), i, |setup| {
                setup.config.max_poll_records = 50;
                setup.application.processing_time = ProcessingTime::Fixed { ms: 2 };
            })
        })
        .collect();
    wait_until("a third accepted", Duration::from_secs(60), || {
        accepted_count(cluster, 0) as i64 >= RECORDS / 3
    })
    .await;
    stats
}

/// After the kill: every record ends acknowledged (SPSO passes them all, none archived; a record
/// whose acknowledgement committed just before the crash counts even though its client saw the
/// request fail), and nothing a client saw accepted is delivered again.
async fn assert_all_acknowledged_none_redelivered(cluster: &SimCluster, stats: &[ConsumerStats]) {
    wait_until("SPSO passes every record", Duration::from_secs(300), || {
        share_partition_start_offset(&trace_records(cluster), 0).unwrap_or(0) >= RECORDS
    })
    .await;
    let records = trace_records(cluster);
    assert!(
        archived_offsets(&records, 0).is_empty(),
        "NO-LOSS: nothing archived"
    );
    let again = deliveries_after_acceptance(&records, &all_deliveries(stats), 0);
    assert!(
        again.is_empty(),
        "DURABLE: accepted records delivered again: {again:?}"
    );
}

/// Spec 3.5: the data partition's leader crashes while members hold records. The new leader
/// initializes from the share coordinator: records that were only ACQUIRED are delivered again, no
/// acknowledged record is, and every record ends accepted.
#[madsim::test]
async fn leader_failover_loses_acquired_state_but_no_acknowledged_record() {
    let cluster = start_cluster(1, |_| {}).await;
    let stats = consume_a_third(&cluster).await;
    let old_leader = leader_of(&cluster, TOPIC, 0).await;
    cluster.kill_broker(old_leader, false);
    assert_all_acknowledged_none_redelivered(&cluster, &stats).await;
    let new_leader = leader_of(&cluster, TOPIC, 0).await;
    assert_ne!(new_leader, old_leader, "leadership moved");
    let records = trace_records(&cluster);
    let new_leader_node = format!("broker-{new_leader}");
    assert!(
        records
            .iter()
            .any(|r| r.node == new_leader_node
                && matches!(r.event, TraceEvent::SharePartition { .. })),
        "the new leader runs the share partition"
    );
    let delivered = all_deliveries(&stats).len() as i64;
    assert!(
        delivered > RECORDS,
        "the lost ACQUIRED records were delivered again ({delivered})"
    );
}

/// Spec 3.3-3.5: the broker leading `__share_group_state` crashes mid-flight. The share coordinator
/// reloads on the new leader by replay; every acknowledged state survives, so nothing accepted is
/// delivered again and every record ends accepted.
#[madsim::test]
async fn share_coordinator_failover_mid_flight_keeps_every_acknowledged_state() {
    let cluster = start_cluster(1, |_| {}).await;
    let stats = consume_a_third(&cluster).await;
    let coordinator = leader_of(&cluster, SHARE_GROUP_STATE_TOPIC_NAME, 0).await;
    cluster.kill_broker(coordinator, false);
    assert_all_acknowledged_none_redelivered(&cluster, &stats).await;
    assert_ne!(
        leader_of(&cluster, SHARE_GROUP_STATE_TOPIC_NAME, 0).await,
        coordinator
    );
}
