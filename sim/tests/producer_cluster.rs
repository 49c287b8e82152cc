#![cfg(madsim)]
//! The producer client on the simulated cluster (issue 4): an idempotent producer across a leader
//! failover with lost responses writes every record once, in order; a transactional producer's
//! aborted records are skipped by read_committed and returned by read_uncommitted; a second producer
//! with the same `transactional.id` fences the first.

use std::sync::Arc;
use std::time::Duration;

use madsim::time::sleep;
use sharesim_sim::client::producer::{
    Producer, ProducerConfig, ProducerError, ProducerEvent, SendRecord,
};
use sharesim_sim::coordinator::placement::{InternalTopicsConfig, TRANSACTION_STATE_TOPIC_NAME};
use sharesim_sim::harness::{transaction_services, SimCluster, SimClusterConfig};
use sharesim_sim::log::{ConsumedBatchKind, ProducerRecord};
use sharesim_sim::net::{ApiKeySelector, FaultDirection, FaultRule};
use sharesim_sim::node::{spawn_producer, NodeClock, ProducerHandle};
use sharesim_sim::ResponseError;

const TOPIC: &str = "payments";
const PARTITIONS: i32 = 2;
/// Produce's API key.
const PRODUCE_KEY: i16 = 0;
/// Fetch isolation levels.
const READ_UNCOMMITTED: i8 = 0;
const READ_COMMITTED: i8 = 1;

fn internal_topics() -> InternalTopicsConfig {
    InternalTopicsConfig {
        transaction_state_topic_num_partitions: 3,
        ..InternalTopicsConfig::default()
    }
}

/// Three brokers with transaction coordinators, `__transaction_state` and the data topic.
async fn start_cluster() -> Arc<SimCluster> {
    let config = SimClusterConfig {
        services: transaction_services(internal_topics()),
        ..SimClusterConfig::default()
    };
    let cluster = Arc::new(SimCluster::start(config).await);
    cluster
        .create_internal_topic(&internal_topics(), TRANSACTION_STATE_TOPIC_NAME)
        .await
        .unwrap();
    cluster.create_topic(TOPIC, PARTITIONS, 3).await.unwrap();
    cluster
}

fn record(partition: i32, value: &str) -> SendRecord {
    SendRecord {
        topic: TOPIC.to_string(),
        partition: Some(partition),
        record: ProducerRecord::new(None, Some(value.as_bytes()), 0),
    }
}

fn start_producer(cluster: &SimCluster, config: ProducerConfig) -> ProducerHandle {
    let engine = Producer::new(config, 11);
    spawn_producer(
        engine,
        cluster.bootstrap(),
        NodeClock::new(),
        cluster.faults().clone(),
    )
}

/// Every record value of every partition up to the high watermark (read_uncommitted) or the last
/// stable offset (read_committed), per partition in offset order.
async fn read_all(cluster: &SimCluster, isolation: i8) -> Vec<Vec<String>> {
    let client = Arc::new(cluster.test_client("reader"));
    cluster
        .client_node("reader")
        .spawn(async move {
            let mut partitions = Vec::new();
            for partition in 0..PARTITIONS {
                let mut values = Vec::new();
                let mut offset = 0;
                for _ in 0..1_000 {
                    let Ok(fetched) = client.fetch(TOPIC, partition, offset, isolation, 100).await
                    else {
                        sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    let bound = if isolation == READ_COMMITTED {
                        fetched.last_stable_offset
                    } else {
                        fetched.high_watermark
                    };
                    for batch in fetched.consume().expect("batches parse") {
                        if let ConsumedBatchKind::Data(records) = &batch.kind {
                            for r in records {
                                let value = r.value.clone().unwrap_or_default();
                                values.push(String::from_utf8(value.to_vec()).unwrap());
                            }
                        }
                        offset = batch.last_offset + 1;
                    }
                    if offset >= bound {
                        break;
                    }
                }
                partitions.push(values);
            }
            partitions
        })
        .await
        .unwrap()
}

async fn leader_of(cluster: &SimCluster, partition: i32) -> i32 {
    let client = Arc::new(cluster.test_client("probe"));
    cluster
        .client_node("probe")
        .spawn(async move {
            let metadata = client.metadata(Some(&[TOPIC])).await.unwrap();
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

/// Idempotence (KIP-98): with a fifth of Produce responses lost (so batches already appended are
/// retried, some after later batches were acknowledged) and partition 0's leader killed mid-stream,
/// every record lands exactly once, in send order, and every offset a delivery report names is the
/// record's. Several seeds, since which responses are lost decides which retry paths run.
#[test]
fn idempotent_producer_survives_failover_without_duplicates_or_gaps() {
    for seed in 1..=6 {
        madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default())
            .block_on(idempotent_failover_run());
    }
}

async fn idempotent_failover_run() {
    const RECORDS: usize = 400;
    let cluster = start_cluster().await;
    cluster.faults().set_rule(
        ApiKeySelector::Key(PRODUCE_KEY),
        FaultRule {
            direction: FaultDirection::Responses,
            drop_probability: 0.2,
            ..FaultRule::default()
        },
    );
    let producer_cluster = cluster.clone();
    let producing = cluster.client_node("producer").spawn(async move {
        let config = ProducerConfig {
            client_id: "idempotent".to_string(),
            request_timeout_ms: 2_000,
            ..ProducerConfig::default()
        };
        let producer = start_producer(&producer_cluster, config);
        for i in 0..RECORDS {
            let partition = (i % PARTITIONS as usize) as i32;
            producer.send(record(partition, &format!("v{i}"))).unwrap();
            sleep(Duration::from_millis(10)).await;
        }
        producer.flush().await;
        producer.delivery_reports()
    });
    sleep(Duration::from_secs(2)).await;
    let leader = leader_of(&cluster, 0).await;
    cluster.kill_broker(leader, true);
    sleep(Duration::from_secs(10)).await;
    cluster.restart_broker(leader);
    let reports = producing.await.unwrap();
    cluster.faults().heal();

    assert_eq!(reports.len(), RECORDS);
    let partitions = read_all(&cluster, READ_UNCOMMITTED).await;
    for (partition, values) in partitions.iter().enumerate() {
        let expected: Vec<String> = (0..RECORDS)
            .filter(|i| i % PARTITIONS as usize == partition)
            .map(|i| format!("v{i}"))
            .collect();
        assert_eq!(
            values, &expected,
            "partition {partition}: once each, in order"
        );
    }
    let first_id = reports.iter().map(|r| r.record_id.0).min().unwrap();
    for report in &reports {
        assert_eq!(report.error, None, "{report:?}");
        // The i-th record sent is the (i / PARTITIONS)-th of its partition.
        let position = (report.record_id.0 - first_id) as i64 / i64::from(PARTITIONS);
        if let Some(offset) = report.offset {
            assert_eq!(offset, position, "{report:?}");
        }
    }
    let with_offsets = reports.iter().filter(|r| r.offset.is_some()).count();
    assert!(
        with_offsets * 2 > RECORDS,
        "most reports carry offsets: {with_offsets}"
    );
}

/// Transactions (KIP-98): an aborted transaction's records stay in the log (read_uncommitted returns
/// them) but read_committed skips them; committed ones are returned by both.
#[madsim::test]
async fn read_committed_skips_aborted_transactions() {
    let cluster = start_cluster().await;
    let producer_cluster = cluster.clone();
    cluster
        .client_node("txn-producer")
        .spawn(async move {
            let config = ProducerConfig {
                client_id: "txn".to_string(),
                transactional_id: Some("txn-1".to_string()),
                ..ProducerConfig::default()
            };
            let producer = start_producer(&producer_cluster, config);
            producer.init_transactions().await.unwrap();
            for (prefix, commit) in [("c1", true), ("a1", false), ("c2", true)] {
                producer.begin_transaction().unwrap();
                for i in 0..6 {
                    let partition = i % PARTITIONS;
                    producer
                        .send(record(partition, &format!("{prefix}-{i}")))
                        .unwrap();
                }
                if commit {
                    producer.commit_transaction().await.unwrap();
                } else {
                    producer.flush().await;
                    producer.abort_transaction().await.unwrap();
                }
            }
        })
        .await
        .unwrap();

    let values_of = |prefixes: &[&str], partition: i32| -> Vec<String> {
        prefixes
            .iter()
            .flat_map(|prefix| {
                (0..6)
                    .filter(move |i| i % PARTITIONS == partition)
                    .map(move |i| format!("{prefix}-{i}"))
            })
            .collect()
    };
    let committed = read_all(&cluster, READ_COMMITTED).await;
    let uncommitted = read_all(&cluster, READ_UNCOMMITTED).await;
    for partition in 0..PARTITIONS {
        let index = partition as usize;
        assert_eq!(committed[index], values_of(&["c1", "c2"], partition));
        assert_eq!(
            uncommitted[index],
            values_of(&["c1", "a1", "c2"], partition)
        );
    }
}

/// Zombie fencing (KIP-98): a second producer with the same `transactional.id` gets a higher epoch;
/// the first one's open transaction is aborted, and its next calls fail with PRODUCER_FENCED or
/// INVALID_PRODUCER_EPOCH.
#[madsim::test]
async fn second_producer_with_same_transactional_id_fences_the_first() {
    let cluster = start_cluster().await;
    let producer_cluster = cluster.clone();
    let (first_epoch, second_epoch, zombie_error) = cluster
        .client_node("producers")
        .spawn(async move {
            let config = |client_id: &str| ProducerConfig {
                client_id: client_id.to_string(),
                transactional_id: Some("shared-id".to_string()),
                ..ProducerConfig::default()
            };
            let epoch_of = |producer: &ProducerHandle| {
                producer
                    .events()
                    .iter()
                    .rev()
                    .find_map(|event| match event {
                        ProducerEvent::TransactionsInitialized { producer_epoch, .. } => {
                            Some(*producer_epoch)
                        }
                        _ => None,
                    })
            };
            let zombie = start_producer(&producer_cluster, config("zombie"));
            zombie.init_transactions().await.unwrap();
            zombie.begin_transaction().unwrap();
            for i in 0..4 {
                zombie
                    .send(record(i % PARTITIONS, &format!("zombie-{i}")))
                    .unwrap();
            }
            zombie.flush().await;

            let successor = start_producer(&producer_cluster, config("successor"));
            successor.init_transactions().await.unwrap();
            successor.begin_transaction().unwrap();
            for i in 0..4 {
                successor
                    .send(record(i % PARTITIONS, &format!("successor-{i}")))
                    .unwrap();
            }
            successor.commit_transaction().await.unwrap();

            // The zombie carries on: more records, then a commit.
            for i in 4..6 {
                let _ = zombie.send(record(i % PARTITIONS, &format!("zombie-{i}")));
            }
            let commit = zombie.commit_transaction().await;
            (epoch_of(&zombie), epoch_of(&successor), commit.err())
        })
        .await
        .unwrap();

    let (first_epoch, second_epoch) = (first_epoch.unwrap(), second_epoch.unwrap());
    assert!(
        second_epoch > first_epoch,
        "{first_epoch} -> {second_epoch}"
    );
    let fenced = |error: &ResponseError| {
        matches!(
            error,
            ResponseError::ProducerFenced | ResponseError::InvalidProducerEpoch
        )
    };
    match zombie_error {
        Some(ProducerError::Fatal(error))
        | Some(ProducerError::Broker(error))
        | Some(ProducerError::Abortable(error)) => assert!(fenced(&error), "{error:?}"),
        other => panic!("the zombie's commit must fail as fenced, got {other:?}"),
    }
    let committed = read_all(&cluster, READ_COMMITTED).await;
    let all: Vec<&String> = committed.iter().flatten().collect();
    assert_eq!(all.len(), 4, "only the successor's records: {all:?}");
    assert!(all.iter().all(|value| value.starts_with("successor-")));
}

/// Producer ids are unique across broker restarts (Kafka's controller keeps the next id block in the
/// metadata log): a producer started after every broker restarted gets a new id, so its sequence
/// numbers (0, 1, ...) are not taken for duplicates of an earlier producer's, and the records of both
/// land.
#[madsim::test]
async fn a_producer_after_broker_restarts_gets_a_new_id_and_its_records_land() {
    const RECORDS: usize = 5;
    let cluster = start_cluster().await;
    let produce = |name: &'static str| {
        let producer_cluster = cluster.clone();
        cluster.client_node(name).spawn(async move {
            let config = ProducerConfig {
                client_id: name.to_string(),
                ..ProducerConfig::default()
            };
            let producer = start_producer(&producer_cluster, config);
            for i in 0..RECORDS {
                producer.send(record(0, &format!("{name}-{i}"))).unwrap();
            }
            producer.flush().await;
            producer.delivery_reports()
        })
    };
    let first = produce("first").await.unwrap();
    for broker in cluster.broker_ids() {
        cluster.kill_broker(broker, false);
    }
    sleep(Duration::from_secs(1)).await;
    for broker in cluster.broker_ids() {
        cluster.restart_broker(broker);
    }
    sleep(Duration::from_secs(10)).await;
    let second = produce("second").await.unwrap();
    for report in first.iter().chain(&second) {
        assert_eq!(report.error, None, "{report:?}");
    }
    let expected: Vec<String> = ["first", "second"]
        .iter()
        .flat_map(|name| (0..RECORDS).map(move |i| format!("{name}-{i}")))
        .collect();
    assert_eq!(read_all(&cluster, READ_UNCOMMITTED).await[0], expected);
}
