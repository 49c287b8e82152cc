#![cfg(madsim)]
//! The `lock_timer_race` lever on the madsim cluster: a raw share client takes a record, then its
//! ShareAcknowledge reaches the leader exactly at the record's acquisition-lock deadline (the network's
//! latency is pinned to 1 ms, the ACK leaves 1 ms before). The switch decides who goes first: the
//! lock timer (the record is released, the ACK fails with INVALID_RECORD_STATE) or the handler (the
//! ACK wins). Set through the cluster's fault target, as the scheduler does.

use std::net::SocketAddr;
use std::time::Duration;

use kafka_protocol::messages::share_acknowledge_request::{
    AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch,
};
use kafka_protocol::messages::share_fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{
    GroupId, RequestKind, ResponseKind, ShareAcknowledgeRequest, ShareFetchRequest,
};
use kafka_protocol::protocol::StrBytes;
use madsim::runtime::Runtime;
use sharesim_sim::faults::{FaultStep, FaultTarget, LockTimerOrder};
use sharesim_sim::harness::{ShareGroupClusterConfig, SimCluster, SimClusterConfig};
use sharesim_sim::log::{encode_data_batch, ProducerIdentity, ProducerRecord};
use sharesim_sim::net::{Client, NetFaults};
use sharesim_sim::share::partition::{
    AutoOffsetReset, PartitionEvent, PartitionState, TransitionCause,
};
use sharesim_sim::share::RecordState;
use sharesim_sim::trace::{TraceEvent, TraceRecord};
use sharesim_sim::ResponseError;
use uuid::Uuid;

const TOPIC: &str = "orders";
const GROUP: &str = "g";
const MEMBER: &str = "raw-member";
const LOCK_MS: u64 = 5_000;
const TIMEOUT: Duration = Duration::from_secs(10);

/// What one run saw: the ACK's partition error code, the lock deadline, and the trace.
struct Raced {
    ack_error_code: i16,
    lock_deadline_ms: u64,
    records: Vec<TraceRecord>,
}

fn group() -> Option<GroupId> {
    Some(GroupId(StrBytes::from_static_str(GROUP)))
}

fn member() -> Option<StrBytes> {
    Some(StrBytes::from_static_str(MEMBER))
}

fn now_ms() -> u64 {
    madsim::time::TimeHandle::current().elapsed().as_millis() as u64
}

/// The raw member's acquisition of offset 0 (the crashed initializer's delayed fetch may have taken the
/// record first; it comes back when that lock expires).
fn lock_deadline(records: &[TraceRecord]) -> Option<u64> {
    records.iter().rev().find_map(|record| match &record.event {
        TraceEvent::SharePartition {
            event:
                PartitionEvent::Acquired {
                    member,
                    first_offset: 0,
                    lock_deadline_ms,
                    ..
                },
            ..
        } if member.as_str() == MEMBER => Some(*lock_deadline_ms),
        _ => None,
    })
}

fn trace_records(cluster: &SimCluster) -> Vec<TraceRecord> {
    cluster
        .trace()
        .with(|trace| trace.records().map(<[TraceRecord]>::to_vec))
        .expect("the trace keeps records")
}

/// Offset 0's transitions out of ACQUIRED after the raw member took it: (at, to, cause).
fn offset_zero_leaves_acquired(raced: &Raced) -> Vec<(u64, RecordState, TransitionCause)> {
    let acquired_at_ms = raced.lock_deadline_ms - LOCK_MS;
    raced
        .records
        .iter()
        .filter(|record| record.at_ms > acquired_at_ms)
        .filter_map(|record| match &record.event {
            TraceEvent::SharePartition {
                event:
                    PartitionEvent::Transition {
                        first_offset: 0,
                        from: RecordState::Acquired,
                        to,
                        cause,
                        ..
                    },
                ..
            } => Some((record.at_ms, *to, *cause)),
            _ => None,
        })
        .collect()
}

/// One seeded run with `order` set before the record is taken.
fn race(seed: u64, order: LockTimerOrder) -> Raced {
    let mut config = madsim::Config::default();
    // Exactly 1 ms each way, so the ACK's arrival instant is known.
    config.net.send_latency = Duration::from_millis(1)..Duration::from_nanos(1_000_001);
    Runtime::with_seed_and_config(seed, config).block_on(async move {
        let mut cluster_config = ShareGroupClusterConfig {
            cluster: SimClusterConfig {
                keep_trace_records: true,
                ..SimClusterConfig::default()
            },
            ..ShareGroupClusterConfig::default()
        };
        let share_partition = &mut cluster_config.services.share_partition;
        share_partition.auto_offset_reset = AutoOffsetReset::Earliest;
        share_partition.record_lock_duration_ms = LOCK_MS;
        let mut cluster = SimCluster::start_share_groups(cluster_config).await;
        cluster.create_topic(TOPIC, 1, 3).await.unwrap();
        let step = FaultStep::SetLockTimerOrder { order: Some(order) };
        cluster.apply(&step).expect("the cluster pulls the lever");
        // A share consumer joins first, so the group coordinator initializes the group's share
        // partition (a share partition of a group never initialized fails to load); then it crashes,
        // before any record exists, leaving the record to the raw client.
        let setup = cluster.share_consumer_setup("initializer", GROUP, &[TOPIC], seed);
        let (initializer, _) = cluster.spawn_share_consumer(setup);
        for _ in 0..300 {
            if trace_records(&cluster).iter().any(|record| {
                matches!(
                    &record.event,
                    TraceEvent::SharePartition {
                        event: PartitionEvent::PartitionStateChanged {
                            to: PartitionState::Active,
                            ..
                        },
                        ..
                    }
                )
            }) {
                break;
            }
            madsim::time::sleep(Duration::from_millis(100)).await;
        }
        madsim::runtime::Handle::current().kill(initializer.id());
        let producer = cluster.test_client("producer");
        let trace = cluster.trace().clone();
        let ack_error_code = cluster
            .client_node("raw-share-client")
            .spawn(async move {
                let records = [ProducerRecord::new(None, Some(b"v0".as_slice()), 0)];
                let batch = encode_data_batch(ProducerIdentity::NONE, 0, false, &records).unwrap();
                producer.produce(TOPIC, 0, batch, -1).await.unwrap();
                let metadata = producer.metadata(Some(&[TOPIC])).await.unwrap();
                let topic_id: Uuid = metadata.topics[0].topic_id;
                let leader_id = metadata.topics[0].partitions[0].leader_id;
                let leader = metadata
                    .brokers
                    .iter()
                    .find(|broker| broker.node_id == leader_id)
                    .map(|broker| format!("{}:{}", broker.host, broker.port))
                    .and_then(|addr| addr.parse::<SocketAddr>().ok())
                    .expect("the leader's address");
                let client = Client::new("raw-share-client", NetFaults::new());
                let fetch = ShareFetchRequest::default()
                    .with_group_id(group())
                    .with_member_id(member())
                    .with_share_session_epoch(0)
                    .with_max_wait_ms(500)
                    .with_min_bytes(1)
                    .with_max_bytes(1 << 20)
                    .with_max_records(10)
                    .with_batch_size(10)
                    .with_topics(vec![FetchTopic::default()
                        .with_topic_id(topic_id)
                        .with_partitions(vec![
                            FetchPartition::default().with_partition_index(0)
                        ])]);
                let mut epoch = 0;
                let deadline_ms = loop {
                    assert!(epoch < 100, "no record acquired after {epoch} fetches");
                    let request = fetch.clone().with_share_session_epoch(epoch);
                    let response = client
                        .call(leader, 1, RequestKind::ShareFetch(request), TIMEOUT)
                        .await
                        .expect("ShareFetch answered");
                    let ResponseKind::ShareFetch(response) = response else {
                        panic!("not a ShareFetch answer");
                    };
                    assert_eq!(response.error_code, 0, "ShareFetch failed");
                    let partition = &response.responses[0].partitions[0];
                    assert_eq!(partition.error_code, 0, "ShareFetch failed: {partition:?}");
                    epoch += 1;
                    if partition.acquired_records.is_empty() {
                        continue;
                    }
                    break trace
                        .with(|t| lock_deadline(t.records().unwrap()))
                        .expect("the raw member's acquisition is traced");
                };
                // Leave 1 ms before the deadline (to the nanosecond): arrive exactly at it.
                let leave_at = Duration::from_millis(deadline_ms - 1);
                let elapsed = madsim::time::TimeHandle::current().elapsed();
                assert!(
                    elapsed < leave_at,
                    "the record was taken well before its deadline"
                );
                madsim::time::sleep(leave_at - elapsed).await;
                let ack = ShareAcknowledgeRequest::default()
                    .with_group_id(group())
                    .with_member_id(member())
                    .with_share_session_epoch(epoch)
                    .with_topics(vec![AcknowledgeTopic::default()
                        .with_topic_id(topic_id)
                        .with_partitions(vec![AcknowledgePartition::default()
                            .with_partition_index(0)
                            .with_acknowledgement_batches(vec![
                                AcknowledgementBatch::default()
                                    .with_first_offset(0)
                                    .with_last_offset(0)
                                    .with_acknowledge_types(vec![1]),
                            ])])]);
                let response = client
                    .call(leader, 1, RequestKind::ShareAcknowledge(ack), TIMEOUT)
                    .await
                    .expect("ShareAcknowledge answered");
                let ResponseKind::ShareAcknowledge(response) = response else {
                    panic!("not a ShareAcknowledge answer");
                };
                assert_eq!(response.error_code, 0, "the request itself is fine");
                response.responses[0].partitions[0].error_code
            })
            .await
            .unwrap();
        // Let the expiry (or the held timers) run before reading the trace.
        madsim::time::sleep(Duration::from_millis(100)).await;
        let records = trace_records(&cluster);
        let lock_deadline_ms = lock_deadline(&records).unwrap();
        assert!(now_ms() > lock_deadline_ms);
        Raced {
            ack_error_code,
            lock_deadline_ms,
            records,
        }
    })
}

/// Spec 1.4 (`lock_timer_race`, timer first): the ACK reaching the leader at the lock deadline finds
/// the lock already expired; the record went back to AVAILABLE at that instant and the ACK fails with
/// INVALID_RECORD_STATE.
#[test]
fn timer_first_expires_the_lock_before_an_ack_arriving_at_the_deadline() {
    for seed in [1, 2, 3] {
        let raced = race(seed, LockTimerOrder::TimerFirst);
        assert_eq!(
            raced.ack_error_code,
            ResponseError::InvalidRecordState.code(),
            "seed {seed}: the timer won"
        );
        assert_eq!(
            offset_zero_leaves_acquired(&raced),
            vec![(
                raced.lock_deadline_ms,
                RecordState::Available,
                TransitionCause::LockExpiry
            )],
            "seed {seed}"
        );
    }
}

/// Spec 1.4 (`lock_timer_race`, handler first): the ACK reaching the leader at the lock deadline is
/// handled before the due timer; the record is ACKNOWLEDGED at that instant and never expires.
#[test]
fn handler_first_lets_an_ack_arriving_at_the_deadline_win() {
    for seed in [1, 2, 3] {
        let raced = race(seed, LockTimerOrder::HandlerFirst);
        assert_eq!(raced.ack_error_code, 0, "seed {seed}: the ACK won");
        let left = offset_zero_leaves_acquired(&raced);
        assert_eq!(left.len(), 1, "seed {seed}: {left:?}");
        assert_eq!(left[0].0, raced.lock_deadline_ms, "seed {seed}");
        assert_eq!(left[0].1, RecordState::Acknowledged, "seed {seed}");
    }
}

/// Spec 1.4 (`lock_timer_race`, random): the order is drawn from madsim's seeded RNG, so a seed
/// always gives the same winner, and over a few seeds both orders occur.
#[test]
fn random_order_is_seeded_and_both_winners_occur() {
    let winners: Vec<i16> = (1..=8)
        .map(|seed| race(seed, LockTimerOrder::Random).ack_error_code)
        .collect();
    assert_eq!(race(3, LockTimerOrder::Random).ack_error_code, winners[2]);
    assert!(winners.contains(&0), "{winners:?}");
    assert!(
        winners.contains(&ResponseError::InvalidRecordState.code()),
        "{winners:?}"
    );
}
