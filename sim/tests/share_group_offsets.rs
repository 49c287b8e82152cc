#![cfg(madsim)]
//! The share-group offset admin APIs end to end (spec 5.3):
//! - DescribeShareGroupOffsets v1 reports share-partition lag (KIP-1226): the share-partition leader
//!   counts delivery-complete offsets, the persister writes the count with WriteShareGroupState v1, the
//!   share coordinator keeps it in `__share_group_state` and returns it in ReadShareGroupStateSummary v1,
//!   and the group coordinator answers `lag = high watermark - start offset - delivery-complete count`,
//!   also after a share-coordinator failover;
//! - AlterShareGroupOffsets (a group offset reset) fences the live share-partition state on its leader.

mod share_support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use madsim::time::sleep;
use share_support::*;
use sharesim_sim::client::application::{AcknowledgePolicy, ProcessingTime};
use sharesim_sim::client::share_consumer::AcknowledgementMode;
use sharesim_sim::coordinator::placement::SHARE_GROUP_STATE_TOPIC_NAME;
use sharesim_sim::harness::SimCluster;
use sharesim_sim::share::AcknowledgeType;
use sharesim_sim::trace::TraceRecord;

const RECORDS: i64 = 20;

/// Records 3 and 11 fail processing and are rejected (ARCHIVED: delivery complete, not consumed).
fn values(n: i64) -> String {
    if n == 3 || n == 11 {
        format!("FAIL-{n}")
    } else {
        plain_value(n)
    }
}

/// Offsets of `partition` whose ACCEPT or REJECT succeeded: the terminal ones.
fn terminal_offsets(records: &[TraceRecord], partition: i32) -> BTreeSet<i64> {
    let kinds = [AcknowledgeType::Accept, AcknowledgeType::Reject];
    acknowledged_offsets(records, partition, &kinds)
        .into_keys()
        .collect()
}

/// ReadShareGroupStateSummary v1 of `GROUP`'s partition 0 of `TOPIC`, asked of its share coordinator
/// (FindCoordinator, key type SHARE): (start offset, delivery-complete count), or `None` when no
/// coordinator answered without an error.
async fn state_summary(cluster: &SimCluster) -> Option<(i64, i32)> {
    use kafka_protocol::messages::read_share_group_state_summary_request::{
        PartitionData, ReadStateSummaryData,
    };
    use kafka_protocol::messages::{
        FindCoordinatorRequest, ReadShareGroupStateSummaryRequest, RequestKind, ResponseKind,
    };
    use kafka_protocol::protocol::StrBytes;
    use sharesim_sim::coordinator::share::{SharePartitionKey, TopicId, TopicIdPartition};
    use sharesim_sim::net::{share_state_v1, Client, NetFaults};
    const TIMEOUT: Duration = Duration::from_secs(5);
    let probe = Arc::new(cluster.test_client("probe"));
    let bootstrap = cluster.bootstrap();
    cluster
        .client_node("probe")
        .spawn(async move {
            let metadata = probe.metadata(Some(&[TOPIC])).await.ok()?;
            let topic_id = metadata.topics[0].topic_id;
            let key = SharePartitionKey::new(
                GROUP,
                TopicIdPartition {
                    topic_id: TopicId(topic_id.as_u128()),
                    partition: 0,
                },
            );
            let key = format!(
                "{}:{}:{}",
                key.group_id,
                key.topic_id.to_kafka_string(),
                key.partition
            );
            let client = Client::new("probe-rpc", NetFaults::new());
            let find = RequestKind::FindCoordinator(
                FindCoordinatorRequest::default()
                    .with_key_type(2)
                    .with_coordinator_keys(vec![StrBytes::from_string(key)]),
            );
            let summary = RequestKind::ReadShareGroupStateSummary(
                ReadShareGroupStateSummaryRequest::default()
                    .with_group_id(StrBytes::from_static_str(GROUP))
                    .with_topics(vec![ReadStateSummaryData::default()
                        .with_topic_id(topic_id)
                        .with_partitions(vec![PartitionData::default()
                            .with_partition(0)
                            .with_leader_epoch(-1)])]),
            );
            for addr in &bootstrap {
                let Some(coordinator) = share_support::coordinator_via(&client, *addr, &find).await
                else {
                    continue;
                };
                let Ok(ResponseKind::ReadShareGroupStateSummary(response)) =
                    client.call(coordinator, 1, summary.clone(), TIMEOUT).await
                else {
                    continue;
                };
                let partition = &response.results[0].partitions[0];
                if partition.error_code == 0 {
                    return Some((
                        partition.start_offset,
                        share_state_v1::summary_delivery_complete_count(partition),
                    ));
                }
            }
            None
        })
        .await
        .unwrap()
}

/// KIP-1226's lag of partition 0 from the share coordinator's summary (`RECORDS` is the high
/// watermark), once it equals `expected`, or the last one after 30 tries, 500 ms apart.
async fn settled_summary_lag(cluster: &SimCluster, expected: i64) -> i64 {
    let mut lag = -1;
    for _ in 0..30 {
        if let Some((start_offset, count)) = state_summary(cluster).await {
            lag = RECORDS - start_offset - i64::from(count);
            if count >= 0 && lag == expected {
                break;
            }
        }
        sleep(Duration::from_millis(500)).await;
    }
    lag
}

/// Spec 5.3 (KIP-1226): after a consumer accepted some records and rejected the poisoned ones, the
/// share coordinator's summary (v1) carries the delivery-complete count the share-partition leader wrote
/// (WriteShareGroupState v1), so `high watermark - start offset - count` is the number of records not
/// yet delivery-complete; DescribeShareGroupOffsets v1 reports that lag (v0 carries none: -1); once a
/// second consumer finished the partition the lag is 0; a share-coordinator failover keeps the start
/// offset and count (replayed from `__share_group_state`). The group coordinator asks the data
/// partition's leader for its end offset (ListOffsets), whichever broker that is.
#[madsim::test]
async fn describe_offsets_reports_lag_across_a_share_coordinator_failover() {
    let cluster = start_cluster(1, |_| {}).await;
    produce(&cluster, 0, RECORDS, 5, Duration::ZERO, values).await;
    let close_at_ms = virtual_now_ms() + 8_000;
    let first = spawn_consumer(&cluster, "first", 1, |setup| {
        setup.config.acknowledgement_mode = AcknowledgementMode::Explicit;
        setup.config.max_poll_records = 1;
        setup.application.policy = AcknowledgePolicy::RejectOnFailure;
        setup.application.processing_time = ProcessingTime::Fixed { ms: 500 };
        setup.close_at_ms = Some(close_at_ms);
    });
    wait_until("the first consumer closed", Duration::from_secs(60), || {
        first.is_closed()
    })
    .await;
    let terminal = terminal_offsets(&trace_records(&cluster), 0);
    assert!(terminal.contains(&3), "the poison record was rejected");
    let expected = RECORDS - terminal.len() as i64;
    assert!(
        expected > 0 && expected < RECORDS - 2,
        "some records consumed, some not: {terminal:?}"
    );
    let (start_offset, count) = state_summary(&cluster).await.expect("a summary");
    assert!(
        count >= 0,
        "4.2 writes and keeps the delivery-complete count"
    );
    assert_eq!(RECORDS - start_offset - i64::from(count), expected);

    let described = describe_share_group_offsets(&cluster, 1).await;
    assert_eq!(described.len(), 1);
    let (partition, described_start, lag) = described[0];
    assert_eq!((partition, described_start), (0, start_offset));
    assert_eq!(lag, expected);
    let v0 = describe_share_group_offsets(&cluster, 0).await;
    assert_eq!(v0[0].2, -1, "v0 carries no lag");

    let second = spawn_consumer(&cluster, "second", 2, |_| {});
    wait_until(
        "every record is delivery-complete",
        Duration::from_secs(120),
        || terminal_offsets(&trace_records(&cluster), 0).len() as i64 == RECORDS,
    )
    .await;
    assert_eq!(
        settled_summary_lag(&cluster, 0).await,
        0,
        "nothing left to deliver"
    );
    let before = state_summary(&cluster).await.expect("a summary");

    let coordinator = leader_of(&cluster, SHARE_GROUP_STATE_TOPIC_NAME, 0).await;
    cluster.kill_broker(coordinator, true);
    wait_for_new_leader(&cluster, SHARE_GROUP_STATE_TOPIC_NAME, coordinator).await;
    let mut after = None;
    for _ in 0..30 {
        after = state_summary(&cluster).await;
        if after.is_some() {
            break;
        }
        sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        after,
        Some(before),
        "the start offset and count survive the failover"
    );
    assert!(!second.deliveries().is_empty());
}

/// Spec 5.3, 3.4: a group offset reset fences live state. A consumer accepted every record and left; the
/// share partition is still live on its leader (SPSO at the end). AlterShareGroupOffsets to offset 3
/// re-initializes the state with a new state epoch; the live share partition's next write is fenced
/// (FENCED_STATE_EPOCH), it is dropped and re-read, and the next consumer gets offsets 3.. again (none
/// below 3).
#[madsim::test]
async fn group_offset_reset_fences_the_live_share_partition() {
    let cluster = start_cluster(1, |_| {}).await;
    produce(&cluster, 0, 10, 5, Duration::ZERO, plain_value).await;
    let close_at_ms = virtual_now_ms() + 20_000;
    let first = spawn_consumer(&cluster, "first", 1, |setup| {
        setup.close_at_ms = Some(close_at_ms);
    });
    wait_until("all ten accepted", Duration::from_secs(15), || {
        accepted_count(&cluster, 0) == 10
    })
    .await;
    let live = alter_share_group_offsets(&cluster, 0, 3).await;
    assert_eq!(
        live.0,
        sharesim_sim::ResponseError::NonEmptyGroup.code(),
        "a live group cannot be reset"
    );
    wait_until("the first consumer left", Duration::from_secs(60), || {
        first.is_closed()
    })
    .await;
    let mut altered = (-1, -1);
    for _ in 0..120 {
        altered = alter_share_group_offsets(&cluster, 0, 3).await;
        if altered.0 != sharesim_sim::ResponseError::NonEmptyGroup.code() {
            break;
        }
        sleep(Duration::from_millis(1_000)).await;
    }
    assert_eq!(altered, (0, 0));
    let reset_ms = virtual_now_ms();
    produce(&cluster, 0, 2, 2, Duration::ZERO, plain_value).await;
    let second = spawn_consumer(&cluster, "second", 2, |_| {});
    wait_until(
        "offsets 3..=11 delivered again after the reset",
        Duration::from_secs(120),
        || {
            let again: BTreeSet<i64> = second
                .deliveries()
                .iter()
                .filter(|d| d.at_ms >= reset_ms)
                .map(|d| d.offset)
                .collect();
            (3..12).all(|offset| again.contains(&offset))
        },
    )
    .await;
    assert!(
        second.deliveries().iter().all(|d| d.offset >= 3),
        "nothing below the reset offset"
    );
}
