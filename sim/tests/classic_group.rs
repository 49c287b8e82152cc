#![cfg(madsim)]
//! Classic consumer groups on the simulated cluster (issue 4, the baseline share groups are compared
//! with): a slow record blocks every record behind it on its partition (head-of-line), consumers beyond
//! the partition count receive nothing, and a consumer leaving moves its partitions with their
//! committed offsets (no loss; duplicates only from uncommitted work).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use madsim::time::sleep;
use sharesim_sim::client::application::{slow_record_prefix, ApplicationConfig, ProcessingTime};
use sharesim_sim::client::classic_consumer::{
    ClassicConsumerConfig, ClassicRecord, OffsetResetStrategy,
};
use sharesim_sim::coordinator::classic::ClassicGroupConfig;
use sharesim_sim::coordinator::placement::{
    group_coordinator_partition, InternalTopicsConfig, GROUP_METADATA_TOPIC_NAME,
};
use sharesim_sim::harness::{classic_group_services, SimCluster, SimClusterConfig};
use sharesim_sim::log::{encode_data_batch, ProducerIdentity, ProducerRecord};
use sharesim_sim::node::{run_classic_consumer, ClassicConsumerSetup, NodeClock};
use sharesim_sim::trace::{ClassicTraceEvent, TraceEvent};

const TOPIC: &str = "orders";
const GROUP: &str = "baseline";
const OFFSETS_PARTITIONS: i32 = 3;

async fn start_cluster() -> Arc<SimCluster> {
    let internal = InternalTopicsConfig {
        offsets_topic_num_partitions: OFFSETS_PARTITIONS,
        ..InternalTopicsConfig::default()
    };
    let group_config = ClassicGroupConfig {
        initial_rebalance_delay_ms: 0,
        ..ClassicGroupConfig::default()
    };
    let config = SimClusterConfig {
        keep_trace_records: true,
        services: classic_group_services(group_config, internal.clone()),
        ..SimClusterConfig::default()
    };
    let cluster = Arc::new(SimCluster::start(config).await);
    cluster
        .create_internal_topic(&internal, GROUP_METADATA_TOPIC_NAME)
        .await
        .unwrap();
    cluster
}

/// Produces `count` records to `partition`, values `p{partition}-{i}` (a 5 s slow-record prefix where asked),
/// timestamped with the virtual time.
async fn produce(cluster: &SimCluster, partition: i32, count: usize, slow_index: Option<usize>) {
    let client = Arc::new(cluster.test_client("producer"));
    cluster
        .client_node("producer")
        .spawn(async move {
            for i in 0..count {
                let now_ms = madsim::time::TimeHandle::current().elapsed().as_millis() as i64;
                let prefix = if Some(i) == slow_index {
                    slow_record_prefix(5_000)
                } else {
                    String::new()
                };
                let value = format!("{prefix}p{partition}-{i}");
                let records = [ProducerRecord::new(None, Some(value.as_bytes()), now_ms)];
                let batch = encode_data_batch(ProducerIdentity::NONE, 0, false, &records).unwrap();
                client.produce(TOPIC, partition, batch, -1).await.unwrap();
            }
        })
        .await
        .unwrap();
}

struct Consumer {
    close: Arc<AtomicBool>,
    handle: madsim::task::JoinHandle<Vec<ClassicRecord>>,
}

fn spawn_consumer(cluster: &SimCluster, name: &str, application: ApplicationConfig) -> Consumer {
    let mut consumer = ClassicConsumerConfig::new(GROUP, name);
    consumer.auto_offset_reset = OffsetResetStrategy::Earliest;
    consumer.session_timeout_ms = 10_000;
    consumer.auto_commit_interval_ms = 1_000;
    let close = Arc::new(AtomicBool::new(false));
    let setup = ClassicConsumerSetup {
        node_name: name.to_string(),
        consumer,
        topics: vec![TOPIC.to_string()],
        application,
        seed: 7,
        bootstrap: cluster.bootstrap(),
        faults: cluster.faults().clone(),
        trace: cluster.trace().clone(),
        clock: NodeClock::new(),
        close: close.clone(),
    };
    let handle = cluster.client_node(name).spawn(run_classic_consumer(setup));
    Consumer { close, handle }
}

async fn stop(consumer: Consumer) -> Vec<ClassicRecord> {
    consumer.close.store(true, Ordering::Relaxed);
    consumer.handle.await.unwrap()
}

fn classic_events(cluster: &SimCluster) -> Vec<(u64, String, ClassicTraceEvent)> {
    cluster.trace().with(|trace| {
        trace
            .records()
            .unwrap_or_default()
            .iter()
            .filter_map(|r| match &r.event {
                TraceEvent::Classic { event } => Some((r.at_ms, r.node.clone(), event.clone())),
                _ => None,
            })
            .collect()
    })
}

fn fast() -> ApplicationConfig {
    ApplicationConfig {
        processing_time: ProcessingTime::Fixed { ms: 10 },
        ..ApplicationConfig::default()
    }
}

/// Head-of-line blocking: one 5 s record holds up every record behind it on its partition; the
/// records ahead of it are processed within milliseconds of being produced.
#[madsim::test]
async fn slow_record_blocks_the_records_behind_it() {
    let cluster = start_cluster().await;
    cluster.create_topic(TOPIC, 1, 3).await.unwrap();
    let consumer = spawn_consumer(&cluster, "classic-1", fast());
    sleep(Duration::from_secs(5)).await;
    produce(&cluster, 0, 20, Some(5)).await;
    sleep(Duration::from_secs(15)).await;
    let processed = stop(consumer).await;
    let offsets: Vec<i64> = processed.iter().map(|r| r.offset).collect();
    assert_eq!(
        offsets,
        (0..20).collect::<Vec<i64>>(),
        "in order, each once"
    );
    // Latency: processing end minus produce time, from the trace.
    let done_ms: BTreeMap<i64, u64> = classic_events(&cluster)
        .into_iter()
        .filter_map(|(at_ms, _, e)| match e {
            ClassicTraceEvent::RecordProcessed { offset, .. } => Some((offset, at_ms)),
            _ => None,
        })
        .collect();
    let latency_ms =
        |offset: i64| done_ms[&offset] as i64 - processed[offset as usize].timestamp_ms;
    for offset in 0..5 {
        assert!(
            latency_ms(offset) < 1_000,
            "ahead of the slow record: {}",
            latency_ms(offset)
        );
    }
    for offset in 6..20 {
        // Produced up to a few hundred milliseconds after the slow record, each waits for its 5 s.
        assert!(
            done_ms[&offset] > done_ms[&5],
            "processed after the slow record"
        );
        assert!(
            latency_ms(offset) >= 4_000,
            "behind the slow record: {}",
            latency_ms(offset)
        );
    }
}

/// The 1:1 limit: four consumers on two partitions: two get a partition each, two get nothing.
#[madsim::test]
async fn consumers_beyond_the_partition_count_stay_idle() {
    let cluster = start_cluster().await;
    cluster.create_topic(TOPIC, 2, 3).await.unwrap();
    let consumers: Vec<Consumer> = (1..=4)
        .map(|i| spawn_consumer(&cluster, &format!("classic-{i}"), fast()))
        .collect();
    sleep(Duration::from_secs(10)).await;
    produce(&cluster, 0, 10, None).await;
    produce(&cluster, 1, 10, None).await;
    sleep(Duration::from_secs(10)).await;
    let mut counts = Vec::new();
    for consumer in consumers {
        counts.push(stop(consumer).await.len());
    }
    counts.sort();
    assert_eq!(counts, vec![0, 0, 10, 10]);
}

/// A consumer leaving (commit, LeaveGroup) triggers a rebalance; its partition moves to the other
/// consumer with its committed offset: nothing is lost, and duplicates (none after a clean close) come
/// only from uncommitted work.
#[madsim::test]
async fn leaving_consumer_hands_over_committed_partitions() {
    let cluster = start_cluster().await;
    cluster.create_topic(TOPIC, 2, 3).await.unwrap();
    let first = spawn_consumer(&cluster, "classic-1", fast());
    let second = spawn_consumer(&cluster, "classic-2", fast());
    sleep(Duration::from_secs(10)).await;
    produce(&cluster, 0, 10, None).await;
    produce(&cluster, 1, 10, None).await;
    sleep(Duration::from_secs(5)).await;
    let first_records = stop(first).await;
    produce(&cluster, 0, 10, None).await;
    produce(&cluster, 1, 10, None).await;
    sleep(Duration::from_secs(20)).await;
    let second_records = stop(second).await;
    let mut seen = BTreeSet::new();
    let mut duplicates = 0;
    for record in first_records.iter().chain(&second_records) {
        if !seen.insert((record.topic_partition.partition, record.offset)) {
            duplicates += 1;
        }
    }
    assert_eq!(seen.len(), 40, "no loss");
    assert_eq!(
        duplicates, 0,
        "a clean close commits everything it processed"
    );
    let revoked = classic_events(&cluster)
        .iter()
        .filter(|(_, node, e)| {
            node == "classic-2" && matches!(e, ClassicTraceEvent::PartitionsRevoked { .. })
        })
        .count();
    assert!(revoked >= 1, "the survivor went through an eager rebalance");
}

/// The broker leading the group's `__consumer_offsets` partition dies: the new leader replays the
/// group and its committed offsets from the log, the consumers find it (FindCoordinator) and carry on
/// from their committed positions: nothing lost, nothing delivered twice.
#[madsim::test]
async fn coordinator_failover_keeps_committed_offsets() {
    let cluster = start_cluster().await;
    cluster.create_topic(TOPIC, 2, 3).await.unwrap();
    let first = spawn_consumer(&cluster, "classic-1", fast());
    let second = spawn_consumer(&cluster, "classic-2", fast());
    sleep(Duration::from_secs(10)).await;
    produce(&cluster, 0, 10, None).await;
    produce(&cluster, 1, 10, None).await;
    // Auto-commit (every second) stores the positions before the coordinator dies.
    sleep(Duration::from_secs(5)).await;
    let coordinator = offsets_partition_leader(&cluster).await;
    let killed_at_ms = madsim::time::TimeHandle::current().elapsed().as_millis() as u64;
    cluster.kill_broker(coordinator, false);
    sleep(Duration::from_secs(15)).await;
    produce(&cluster, 0, 10, None).await;
    produce(&cluster, 1, 10, None).await;
    sleep(Duration::from_secs(60)).await;
    let mut records = stop(first).await;
    records.extend(stop(second).await);
    cluster.restart_broker(coordinator);
    let mut seen = BTreeSet::new();
    let mut duplicates = 0;
    for record in &records {
        if !seen.insert((record.topic_partition.partition, record.offset)) {
            duplicates += 1;
        }
    }
    assert_eq!(seen.len(), 40, "no loss");
    assert_eq!(
        duplicates, 0,
        "the committed positions survived the failover"
    );
    let old_coordinator = format!("broker-{coordinator}");
    let commits_after_failover = classic_events(&cluster)
        .iter()
        .filter(|(at_ms, node, e)| {
            *at_ms > killed_at_ms
                && *node != old_coordinator
                && matches!(e, ClassicTraceEvent::OffsetsCommitted { .. })
        })
        .count();
    assert!(
        commits_after_failover > 0,
        "the new coordinator stores commits"
    );
}

/// The leader of the group's `__consumer_offsets` partition (its coordinator).
async fn offsets_partition_leader(cluster: &SimCluster) -> i32 {
    let partition = group_coordinator_partition(GROUP, OFFSETS_PARTITIONS).unwrap();
    let client = Arc::new(cluster.test_client("probe"));
    cluster
        .client_node("probe")
        .spawn(async move {
            let metadata = client
                .metadata(Some(&[GROUP_METADATA_TOPIC_NAME]))
                .await
                .unwrap();
            metadata.topics[0]
                .partitions
                .iter()
                .find(|p| p.partition_index == partition)
                .map(|p| p.leader_id.0)
                .unwrap()
        })
        .await
        .unwrap()
}
