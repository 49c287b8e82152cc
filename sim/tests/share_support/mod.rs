//! Shared set-up of the share-group end-to-end tests: a cluster with the share-group services, a
//! producer, consumers, and reads of the trace.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use madsim::time::{sleep, Instant};
use sharesim_sim::harness::{
    accepted_offsets, ShareGroupClusterConfig, SimCluster, SimClusterConfig,
};
use sharesim_sim::log::{encode_data_batch, ProducerIdentity, ProducerRecord};
use sharesim_sim::node::{ConsumerStats, Delivery, ShareConsumerSetup};
use sharesim_sim::share::partition::{AutoOffsetReset, SharePartitionConfig};
use sharesim_sim::trace::TraceRecord;

pub const TOPIC: &str = "orders";
pub const GROUP: &str = "g";

/// Three brokers with the share-group services (earliest offset reset, so records produced before
/// the group starts are delivered; `adjust` changes the brokers' share-partition configs), keeping
/// trace records, and `TOPIC` with `partitions` partitions, replication 3.
pub async fn start_cluster(
    partitions: i32,
    adjust: impl FnOnce(&mut SharePartitionConfig),
) -> Arc<SimCluster> {
    let mut config = ShareGroupClusterConfig {
        cluster: SimClusterConfig {
            keep_trace_records: true,
            ..SimClusterConfig::default()
        },
        ..ShareGroupClusterConfig::default()
    };
    config.services.share_partition.auto_offset_reset = AutoOffsetReset::Earliest;
    adjust(&mut config.services.share_partition);
    let cluster = Arc::new(SimCluster::start_share_groups(config).await);
    cluster.create_topic(TOPIC, partitions, 3).await.unwrap();
    cluster
}

/// Produces `count` records (values `v{n}`, or `values(n)`) in batches of `per_batch` to
/// `partition` with acks=all, one batch every `interval`.
pub async fn produce(
    cluster: &SimCluster,
    partition: i32,
    count: i64,
    per_batch: i64,
    interval: Duration,
    values: impl Fn(i64) -> String + Send + 'static,
) {
    let client = Arc::new(cluster.test_client("producer"));
    cluster
        .client_node("producer")
        .spawn(async move {
            let mut next = 0;
            while next < count {
                let end = (next + per_batch).min(count);
                let values: Vec<String> = (next..end).map(&values).collect();
                let records: Vec<ProducerRecord> = values
                    .iter()
                    .map(|v| ProducerRecord::new(None, Some(v.as_bytes()), 0))
                    .collect();
                let batch = encode_data_batch(ProducerIdentity::NONE, 0, false, &records).unwrap();
                client.produce(TOPIC, partition, batch, -1).await.unwrap();
                next = end;
                if !interval.is_zero() {
                    sleep(interval).await;
                }
            }
        })
        .await
        .unwrap();
}

/// The value of record `n`.
pub fn plain_value(n: i64) -> String {
    format!("v{n}")
}

/// A consumer of `GROUP` on `TOPIC` with the defaults; `adjust` changes its setup.
pub fn spawn_consumer(
    cluster: &SimCluster,
    name: &str,
    seed: u64,
    adjust: impl FnOnce(&mut ShareConsumerSetup),
) -> ConsumerStats {
    let mut setup = cluster.share_consumer_setup(name, GROUP, &[TOPIC], seed);
    adjust(&mut setup);
    cluster.spawn_share_consumer(setup).1
}

/// The trace's records so far.
pub fn trace_records(cluster: &SimCluster) -> Vec<TraceRecord> {
    cluster
        .trace()
        .with(|trace| trace.records().map(<[TraceRecord]>::to_vec))
        .expect("the trace keeps records")
}

/// Waits (virtual time, checking every 200 ms) until `done`, or panics after `limit`.
pub async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return;
        }
        sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Writes the trace (without deliveries) to `path` for debugging.
pub fn dump_trace(cluster: &SimCluster, path: &str) {
    use std::io::Write;
    let mut out = std::fs::File::create(path).unwrap();
    for r in trace_records(cluster) {
        let line = format!("{r:?}");
        if !line.contains("RecordDelivered") {
            let cut: String = line.chars().take(600).collect();
            writeln!(out, "{cut}").unwrap();
        }
    }
}

/// Number of offsets of `partition` whose ACCEPT succeeded.
pub fn accepted_count(cluster: &SimCluster, partition: i32) -> usize {
    accepted_offsets(&trace_records(cluster))
        .get(&partition)
        .map_or(0, |offsets| offsets.len())
}

/// Every delivery of every consumer.
pub fn all_deliveries(stats: &[ConsumerStats]) -> Vec<Delivery> {
    stats.iter().flat_map(|s| s.deliveries()).collect()
}

/// The current leader of `topic`'s `partition`, from a metadata request.
pub async fn leader_of(cluster: &SimCluster, topic: &'static str, partition: i32) -> i32 {
    let client = Arc::new(cluster.test_client("probe"));
    cluster
        .client_node("probe")
        .spawn(async move {
            let metadata = client.metadata(Some(&[topic])).await.unwrap();
            metadata.topics[0].partitions[partition as usize]
                .leader_id
                .0
        })
        .await
        .unwrap()
}

/// Offsets of `partition` whose acknowledgement of one of `kinds` succeeded, each with the time its
/// consumer first heard so (the `AcknowledgementOutcome` trace events).
pub fn acknowledged_offsets(
    records: &[TraceRecord],
    partition: i32,
    kinds: &[sharesim_sim::share::AcknowledgeType],
) -> std::collections::BTreeMap<i64, u64> {
    use sharesim_sim::trace::{ShareConsumerEvent, TraceEvent};
    let mut acknowledged = std::collections::BTreeMap::new();
    for record in records {
        if let TraceEvent::ShareConsumer {
            event:
                ShareConsumerEvent::AcknowledgementOutcome {
                    partition: p,
                    acknowledgements,
                    error_code: 0,
                    ..
                },
            ..
        } = &record.event
        {
            if *p != partition {
                continue;
            }
            for (offset, kind) in acknowledgements {
                if kinds.contains(kind) {
                    acknowledged.entry(*offset).or_insert(record.at_ms);
                }
            }
        }
    }
    acknowledged
}

/// Offsets delivered again after a consumer saw their ACCEPT succeed (DURABLE / TERMINAL-FINAL
/// violations), as (offset, accepted at, delivered again at).
pub fn deliveries_after_acceptance(
    records: &[TraceRecord],
    deliveries: &[Delivery],
    partition: i32,
) -> Vec<(i64, u64, u64)> {
    use sharesim_sim::share::AcknowledgeType;
    let accepted_at = acknowledged_offsets(records, partition, &[AcknowledgeType::Accept]);
    deliveries
        .iter()
        .filter(|d| d.partition == partition)
        .filter_map(|d| {
            let at = *accepted_at.get(&d.offset)?;
            (d.at_ms > at).then_some((d.offset, at, d.at_ms))
        })
        .collect()
}

/// Like [`start_cluster`] (earliest offset reset, trace records kept, `TOPIC` with `partitions`
/// partitions), with the whole share-group cluster config adjustable (group configs, session limit).
pub async fn start_cluster_with(
    partitions: i32,
    adjust: impl FnOnce(&mut ShareGroupClusterConfig),
) -> Arc<SimCluster> {
    let mut config = ShareGroupClusterConfig {
        cluster: SimClusterConfig {
            keep_trace_records: true,
            ..SimClusterConfig::default()
        },
        ..ShareGroupClusterConfig::default()
    };
    config.services.share_partition.auto_offset_reset = AutoOffsetReset::Earliest;
    adjust(&mut config);
    let cluster = Arc::new(SimCluster::start_share_groups(config).await);
    cluster.create_topic(TOPIC, partitions, 3).await.unwrap();
    cluster
}

/// Virtual milliseconds since the simulation started (the clock brokers and consumers read).
pub fn virtual_now_ms() -> u64 {
    madsim::time::TimeHandle::current().elapsed().as_millis() as u64
}

/// Produces `count` records (values `v{n}`) to `partition`, one per batch, each stamped with the
/// virtual time it is sent at, one every `interval`; returns the timestamps.
pub async fn produce_timestamped(
    cluster: &SimCluster,
    partition: i32,
    count: i64,
    interval: Duration,
) -> Vec<i64> {
    let client = Arc::new(cluster.test_client("producer"));
    cluster
        .client_node("producer")
        .spawn(async move {
            let mut timestamps = Vec::new();
            for n in 0..count {
                let timestamp_ms = virtual_now_ms() as i64;
                let value = plain_value(n);
                let record = ProducerRecord::new(None, Some(value.as_bytes()), timestamp_ms);
                let batch = encode_data_batch(ProducerIdentity::NONE, 0, false, &[record]).unwrap();
                client.produce(TOPIC, partition, batch, -1).await.unwrap();
                timestamps.push(timestamp_ms);
                sleep(interval).await;
            }
            timestamps
        })
        .await
        .unwrap()
}

/// Waits until `topic`'s `partition` is led by a broker other than `old` (the controller fences a dead
/// broker after its session timeout).
pub async fn wait_for_new_leader(cluster: &SimCluster, topic: &'static str, old: i32) {
    for _ in 0..60 {
        let leader = leader_of(cluster, topic, 0).await;
        if leader >= 0 && leader != old {
            return;
        }
        sleep(Duration::from_millis(500)).await;
    }
    panic!("leadership of {topic} never moved from broker {old}");
}

/// The coordinator that `addr` names for a FindCoordinator request `find` (v6, one key), or `None` when
/// the call fails or the broker answers with an error.
pub async fn coordinator_via(
    client: &sharesim_sim::net::Client,
    addr: std::net::SocketAddr,
    find: &kafka_protocol::messages::RequestKind,
) -> Option<std::net::SocketAddr> {
    found_coordinator(client, addr, find)
        .await
        .map(|(_, address)| address)
}

/// The coordinator's broker id and address that `addr` names for a FindCoordinator request `find` (v6,
/// one key), or `None` when the call fails or the broker answers with an error.
pub async fn found_coordinator(
    client: &sharesim_sim::net::Client,
    addr: std::net::SocketAddr,
    find: &kafka_protocol::messages::RequestKind,
) -> Option<(i32, std::net::SocketAddr)> {
    use kafka_protocol::messages::ResponseKind;
    let Ok(ResponseKind::FindCoordinator(found)) = client
        .call(addr, 6, find.clone(), Duration::from_secs(5))
        .await
    else {
        return None;
    };
    let found = found.coordinators.first()?;
    let host = found.host.as_str().parse().ok()?;
    (found.error_code == 0).then(|| {
        (
            found.node_id.0,
            std::net::SocketAddr::new(host, found.port as u16),
        )
    })
}

/// FindCoordinator for `GROUP`'s group coordinator (key type GROUP).
pub fn find_group_coordinator() -> kafka_protocol::messages::RequestKind {
    use kafka_protocol::messages::{FindCoordinatorRequest, RequestKind};
    use kafka_protocol::protocol::StrBytes;
    RequestKind::FindCoordinator(
        FindCoordinatorRequest::default()
            .with_key_type(0)
            .with_coordinator_keys(vec![StrBytes::from_static_str(GROUP)]),
    )
}

/// The broker id FindCoordinator names for `GROUP`, asked from a client node until a broker answers.
pub async fn group_coordinator_id(cluster: &SimCluster) -> i32 {
    use sharesim_sim::net::{Client, NetFaults};
    let bootstrap = cluster.bootstrap();
    cluster
        .client_node("probe")
        .spawn(async move {
            let client = Client::new("probe-find", NetFaults::new());
            let find = find_group_coordinator();
            for _ in 0..60 {
                for addr in &bootstrap {
                    if let Some((node_id, _)) = found_coordinator(&client, *addr, &find).await {
                        return node_id;
                    }
                }
                sleep(Duration::from_millis(500)).await;
            }
            panic!("no group coordinator for {GROUP}");
        })
        .await
        .unwrap()
}

/// Sends `request` at `version` to `GROUP`'s group coordinator (found with FindCoordinator), from a
/// client node, until the answer's error (`error_of`) is not a coordinator error, as admin clients do.
pub async fn call_group_coordinator(
    cluster: &SimCluster,
    version: i16,
    request: kafka_protocol::messages::RequestKind,
    error_of: fn(&kafka_protocol::messages::ResponseKind) -> i16,
) -> kafka_protocol::messages::ResponseKind {
    use sharesim_sim::net::{Client, NetFaults};
    use sharesim_sim::ResponseError;
    const TIMEOUT: Duration = Duration::from_secs(5);
    let bootstrap = cluster.bootstrap();
    cluster
        .client_node("admin")
        .spawn(async move {
            let client = Client::new("admin", NetFaults::new());
            let find = find_group_coordinator();
            let retriable = [
                ResponseError::NotCoordinator.code(),
                ResponseError::CoordinatorNotAvailable.code(),
                ResponseError::CoordinatorLoadInProgress.code(),
            ];
            for _ in 0..100 {
                for addr in &bootstrap {
                    let Some(coordinator) = coordinator_via(&client, *addr, &find).await else {
                        continue;
                    };
                    let Ok(response) = client
                        .call(coordinator, version, request.clone(), TIMEOUT)
                        .await
                    else {
                        continue;
                    };
                    if !retriable.contains(&error_of(&response)) {
                        return response;
                    }
                }
                sleep(Duration::from_millis(500)).await;
            }
            panic!("no group coordinator answered");
        })
        .await
        .unwrap()
}

/// DescribeShareGroupOffsets of `GROUP` at `version`: (partition, start offset, lag) of every described
/// partition of `TOPIC`; the lag is -1 when absent (v0) or unknown.
pub async fn describe_share_group_offsets(
    cluster: &SimCluster,
    version: i16,
) -> Vec<(i32, i64, i64)> {
    use kafka_protocol::messages::describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup;
    use kafka_protocol::messages::{
        DescribeShareGroupOffsetsRequest, GroupId, RequestKind, ResponseKind,
    };
    use kafka_protocol::protocol::StrBytes;
    use sharesim_sim::net::share_state_v1;
    let describe = RequestKind::DescribeShareGroupOffsets(
        DescribeShareGroupOffsetsRequest::default().with_groups(vec![
            DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(GroupId(StrBytes::from_static_str(GROUP)))
                // Null: every initialized partition (the default is an empty list).
                .with_topics(None),
        ]),
    );
    let error_of = |response: &ResponseKind| match response {
        ResponseKind::DescribeShareGroupOffsets(r) => r.groups[0].error_code,
        _ => -1,
    };
    let ResponseKind::DescribeShareGroupOffsets(response) =
        call_group_coordinator(cluster, version, describe, error_of).await
    else {
        panic!("not a DescribeShareGroupOffsets answer");
    };
    let group = &response.groups[0];
    assert_eq!(group.error_code, 0, "DescribeShareGroupOffsets failed");
    group
        .topics
        .iter()
        .filter(|topic| topic.topic_name.0.as_str() == TOPIC)
        .flat_map(|topic| topic.partitions.iter())
        .map(|p| {
            (
                p.partition_index,
                p.start_offset,
                share_state_v1::describe_lag(p),
            )
        })
        .collect()
}

/// AlterShareGroupOffsets of `GROUP`: `TOPIC`'s `partition` to `start_offset`; returns the top-level
/// and the partition's error codes.
pub async fn alter_share_group_offsets(
    cluster: &SimCluster,
    partition: i32,
    start_offset: i64,
) -> (i16, i16) {
    use kafka_protocol::messages::alter_share_group_offsets_request::{
        AlterShareGroupOffsetsRequestPartition, AlterShareGroupOffsetsRequestTopic,
    };
    use kafka_protocol::messages::{
        AlterShareGroupOffsetsRequest, GroupId, RequestKind, ResponseKind, TopicName,
    };
    use kafka_protocol::protocol::StrBytes;
    let alter = RequestKind::AlterShareGroupOffsets(
        AlterShareGroupOffsetsRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str(GROUP)))
            .with_topics(vec![AlterShareGroupOffsetsRequestTopic::default()
                .with_topic_name(TopicName(StrBytes::from_static_str(TOPIC)))
                .with_partitions(vec![
                    AlterShareGroupOffsetsRequestPartition::default()
                        .with_partition_index(partition)
                        .with_start_offset(start_offset),
                ])]),
    );
    let error_of = |response: &ResponseKind| match response {
        ResponseKind::AlterShareGroupOffsets(r) => r.error_code,
        _ => -1,
    };
    let ResponseKind::AlterShareGroupOffsets(response) =
        call_group_coordinator(cluster, 0, alter, error_of).await
    else {
        panic!("not an AlterShareGroupOffsets answer");
    };
    let partition_error = response
        .responses
        .first()
        .and_then(|topic| topic.partitions.first())
        .map_or(-1, |p| p.error_code);
    (response.error_code, partition_error)
}
