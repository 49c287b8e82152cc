#![cfg(madsim)]
//! The simulated cluster under madsim: acks=all across a leader failover, a follower rejoining the ISR,
//! unflushed data lost in a crash with replicas truncating consistently, a corrupt batch detected by
//! the consumer.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use madsim::time::sleep;
use sharesim_sim::harness::{SimCluster, SimClusterConfig, TestClient};
use sharesim_sim::log::{
    check_fetched_records, encode_data_batch, ConsumedBatchKind, ProducerIdentity, ProducerRecord,
    TopicPartition,
};
use sharesim_sim::ResponseError;

const TOPIC: &str = "orders";

/// One idempotent single-record batch: producer 7, sequence `seq`, value `v{seq}`.
fn record_batch(seq: i32) -> Bytes {
    let identity = ProducerIdentity {
        producer_id: 7,
        producer_epoch: 0,
    };
    let value = format!("v{seq}");
    let records = [ProducerRecord::new(None, Some(value.as_bytes()), 0)];
    encode_data_batch(identity, seq, false, &records).unwrap()
}

/// Every data record's value from `offset` 0 up to the high watermark, read from the leader.
async fn consume_all(client: &TestClient) -> Vec<String> {
    let mut values = Vec::new();
    let mut offset = 0;
    for _ in 0..1_000 {
        let fetched = match client.fetch(TOPIC, 0, offset, 0, 100).await {
            Ok(fetched) => fetched,
            Err(_) => {
                sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let batches = fetched.consume().expect("batches parse");
        for batch in &batches {
            if let ConsumedBatchKind::Data(records) = &batch.kind {
                for r in records {
                    values.push(String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap());
                }
            }
            offset = batch.last_offset + 1;
        }
        if offset >= fetched.high_watermark {
            return values;
        }
    }
    panic!("did not reach the high watermark");
}

async fn current_leader(cluster: &SimCluster) -> i32 {
    let client = Arc::new(cluster.test_client("probe"));
    cluster
        .client_node("probe")
        .spawn(async move {
            let metadata = client.metadata(Some(&[TOPIC])).await.unwrap();
            metadata.topics[0].partitions[0].leader_id.0
        })
        .await
        .unwrap()
}

async fn isr(cluster: &SimCluster) -> Vec<i32> {
    let client = Arc::new(cluster.test_client("probe"));
    cluster
        .client_node("probe")
        .spawn(async move {
            let metadata = client.metadata(Some(&[TOPIC])).await.unwrap();
            metadata.topics[0].partitions[0]
                .isr_nodes
                .iter()
                .map(|b| b.0)
                .collect()
        })
        .await
        .unwrap()
}

fn log_end(cluster: &SimCluster, broker: i32) -> i64 {
    cluster
        .store(broker)
        .unwrap()
        .with_log(&TopicPartition::new(TOPIC, 0), |l| l.log_end_offset())
        .unwrap_or(-1)
}

/// acks=all: every acknowledged record survives the leader's crash, exactly once, in order.
#[madsim::test]
async fn acks_all_survives_leader_failover_without_loss_or_duplicates() {
    let cluster = Arc::new(SimCluster::start(SimClusterConfig::default()).await);
    cluster.create_topic(TOPIC, 1, 3).await.unwrap();
    let first_leader = current_leader(&cluster).await;
    let client = Arc::new(cluster.test_client("producer"));
    let producer = {
        let client = client.clone();
        cluster.client_node("producer").spawn(async move {
            let mut offsets = Vec::new();
            for seq in 0..60 {
                offsets.push(
                    client
                        .produce(TOPIC, 0, record_batch(seq), -1)
                        .await
                        .unwrap(),
                );
                sleep(Duration::from_millis(50)).await;
            }
            offsets
        })
    };
    sleep(Duration::from_millis(1_500)).await;
    cluster.kill_broker(first_leader, true);
    let offsets = producer.await.unwrap();
    assert_eq!(
        offsets,
        (0..60).collect::<Vec<i64>>(),
        "one offset per record, in order"
    );
    let new_leader = current_leader(&cluster).await;
    assert_ne!(new_leader, first_leader);
    let values = cluster
        .client_node("consumer")
        .spawn(async move { consume_all(&client).await })
        .await
        .unwrap();
    let expected: Vec<String> = (0..60).map(|i| format!("v{i}")).collect();
    assert_eq!(values, expected);
}

/// A killed follower is fenced out of the ISR, and after a restart catches up and rejoins it.
#[madsim::test]
async fn killed_follower_rejoins_the_isr() {
    let cluster = Arc::new(SimCluster::start(SimClusterConfig::default()).await);
    cluster.create_topic(TOPIC, 1, 3).await.unwrap();
    let leader = current_leader(&cluster).await;
    let follower = cluster
        .broker_ids()
        .into_iter()
        .find(|&b| b != leader)
        .unwrap();
    cluster.kill_broker(follower, true);
    sleep(Duration::from_secs(12)).await;
    assert!(
        !isr(&cluster).await.contains(&follower),
        "fenced out of the ISR"
    );
    let client = Arc::new(cluster.test_client("producer"));
    cluster
        .client_node("producer")
        .spawn(async move {
            for seq in 0..20 {
                client
                    .produce(TOPIC, 0, record_batch(seq), -1)
                    .await
                    .unwrap();
            }
        })
        .await
        .unwrap();
    cluster.restart_broker(follower);
    sleep(Duration::from_secs(10)).await;
    assert!(isr(&cluster).await.contains(&follower), "back in the ISR");
    assert_eq!(log_end(&cluster, follower), log_end(&cluster, leader));
    assert_eq!(log_end(&cluster, follower), 20);
}

/// A power loss of every broker: each loses what it had not flushed (their writeback timers differ),
/// and after the restart every replica converges on the new leader's log, batch for batch.
#[madsim::test]
async fn crash_loses_unflushed_data_and_replicas_truncate_consistently() {
    let config = SimClusterConfig {
        configure_broker: Arc::new(|c| {
            c.page_cache_flush_interval_ms = Some(700 * c.broker_id as u64 + 300);
        }),
        ..SimClusterConfig::default()
    };
    let cluster = Arc::new(SimCluster::start(config).await);
    cluster.create_topic(TOPIC, 1, 3).await.unwrap();
    let client = Arc::new(cluster.test_client("producer"));
    {
        let client = client.clone();
        cluster
            .client_node("producer")
            .spawn(async move {
                for seq in 0..80 {
                    client
                        .produce(TOPIC, 0, record_batch(seq), -1)
                        .await
                        .unwrap();
                    sleep(Duration::from_millis(37)).await;
                }
            })
            .await
            .unwrap();
    }
    let before: Vec<i64> = cluster
        .broker_ids()
        .iter()
        .map(|&b| log_end(&cluster, b))
        .collect();
    assert!(before.iter().all(|&end| end == 80));
    for id in cluster.broker_ids() {
        cluster.kill_broker(id, true);
    }
    sleep(Duration::from_secs(12)).await;
    for id in cluster.broker_ids() {
        cluster.restart_broker(id);
    }
    sleep(Duration::from_secs(20)).await;
    let tp = TopicPartition::new(TOPIC, 0);
    let logs: Vec<Vec<(i64, u32)>> = cluster
        .broker_ids()
        .iter()
        .map(|&b| {
            cluster
                .store(b)
                .unwrap()
                .with_log(&tp, |l| {
                    l.batches()
                        .iter()
                        .map(|s| (s.base_offset(), s.batch.header.crc))
                        .collect()
                })
                .unwrap()
        })
        .collect();
    assert!(logs[0].len() < 80, "the crash lost unflushed records");
    assert!(
        logs.iter().all(|l| l == &logs[0]),
        "replicas identical: {logs:?}"
    );
    let values = cluster
        .client_node("consumer")
        .spawn(async move { consume_all(&client).await })
        .await
        .unwrap();
    let expected: Vec<String> = (0..values.len()).map(|i| format!("v{i}")).collect();
    assert_eq!(values, expected, "a prefix of what was produced, no gaps");
}

/// A batch corrupted on the leader's disk is served as stored and fails the consumer's CRC check.
#[madsim::test]
async fn corrupt_batch_on_disk_fails_the_consumer_crc_check() {
    let cluster = Arc::new(SimCluster::start(SimClusterConfig::default()).await);
    cluster.create_topic(TOPIC, 1, 3).await.unwrap();
    let client = Arc::new(cluster.test_client("producer"));
    {
        let client = client.clone();
        cluster
            .client_node("producer")
            .spawn(async move {
                for seq in 0..3 {
                    client
                        .produce(TOPIC, 0, record_batch(seq), -1)
                        .await
                        .unwrap();
                }
            })
            .await
            .unwrap();
    }
    let leader = current_leader(&cluster).await;
    let corrupted = cluster
        .store(leader)
        .unwrap()
        .with_log(&TopicPartition::new(TOPIC, 0), |l| l.corrupt_batch(1, 70))
        .unwrap();
    assert!(corrupted);
    let fetched = cluster
        .client_node("consumer")
        .spawn(async move { client.fetch(TOPIC, 0, 0, 0, 0).await.unwrap() })
        .await
        .unwrap();
    assert_eq!(
        check_fetched_records(&fetched.records),
        Err((1, ResponseError::CorruptMessage))
    );
    let kinds: Vec<bool> = fetched
        .consume()
        .unwrap()
        .iter()
        .map(|b| b.kind == ConsumedBatchKind::Corrupt)
        .collect();
    assert_eq!(kinds, vec![false, true, false]);
}
