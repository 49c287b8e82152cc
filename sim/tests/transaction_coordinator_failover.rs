#![cfg(madsim)]
//! Transaction coordinator failover (KIP-98, Kafka `TransactionStateManager`): the coordinator writes
//! every state change to `__transaction_state` before answering, so when it is killed between
//! AddPartitionsToTxn and EndTxn the broker that takes its partition over replays the log, knows the
//! open transaction and completes the producer's commit, or abort, with the right markers.

use std::sync::Arc;
use std::time::Duration;

use madsim::time::sleep;
use sharesim_sim::client::producer::{Producer, ProducerConfig, SendRecord};
use sharesim_sim::coordinator::placement::{
    coordinator_partition, CoordinatorType, InternalTopicsConfig, TRANSACTION_STATE_TOPIC_NAME,
};
use sharesim_sim::harness::{transaction_services, SimCluster, SimClusterConfig};
use sharesim_sim::log::{ConsumedBatchKind, ProducerRecord};
use sharesim_sim::node::{spawn_producer, NodeClock};

const TOPIC: &str = "orders";
const PARTITIONS: i32 = 2;
const TRANSACTIONAL_ID: &str = "txn-failover";
const READ_UNCOMMITTED: i8 = 0;
const READ_COMMITTED: i8 = 1;

fn internal_topics() -> InternalTopicsConfig {
    InternalTopicsConfig {
        transaction_state_topic_num_partitions: 3,
        ..InternalTopicsConfig::default()
    }
}

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

/// The broker leading the transactional id's `__transaction_state` partition (its coordinator).
async fn coordinator_of(cluster: &SimCluster) -> i32 {
    let partition = coordinator_partition(
        CoordinatorType::Transaction,
        TRANSACTIONAL_ID,
        &internal_topics(),
    )
    .unwrap()
    .partition;
    let client = Arc::new(cluster.test_client("probe"));
    cluster
        .client_node("probe")
        .spawn(async move {
            for _ in 0..100 {
                if let Ok(metadata) = client.metadata(Some(&[TRANSACTION_STATE_TOPIC_NAME])).await {
                    let leader = metadata.topics[0]
                        .partitions
                        .iter()
                        .find(|p| p.partition_index == partition)
                        .map(|p| p.leader_id.0);
                    if let Some(leader) = leader.filter(|leader| *leader >= 0) {
                        return leader;
                    }
                }
                sleep(Duration::from_millis(500)).await;
            }
            panic!("no coordinator for {TRANSACTIONAL_ID}");
        })
        .await
        .unwrap()
}

/// Every record value of every partition up to the last stable offset (read_committed) or the high
/// watermark (read_uncommitted), with whether the bound reached the high watermark (no transaction
/// left open).
async fn read_all(cluster: &SimCluster, isolation: i8) -> (Vec<String>, bool) {
    let client = Arc::new(cluster.test_client("reader"));
    cluster
        .client_node("reader")
        .spawn(async move {
            let mut values = Vec::new();
            let mut settled = true;
            for partition in 0..PARTITIONS {
                let mut offset = 0;
                loop {
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
                        settled &= fetched.last_stable_offset == fetched.high_watermark;
                        break;
                    }
                }
            }
            values.sort();
            (values, settled)
        })
        .await
        .unwrap()
}

/// Opens a transaction with records on both partitions (AddPartitionsToTxn done, records appended),
/// kills its coordinator, then commits (or aborts) through whichever broker took the coordinator's
/// partition over. Returns the killed and the new coordinator.
async fn kill_coordinator_mid_transaction(cluster: &Arc<SimCluster>, commit: bool) -> (i32, i32) {
    let old_coordinator = coordinator_of(cluster).await;
    let producer_cluster = cluster.clone();
    let (killed_tx, killed_rx) = async_channel::bounded::<()>(1);
    let (ready_tx, ready_rx) = async_channel::bounded::<()>(1);
    let producer = cluster.client_node("txn-producer").spawn(async move {
        let config = ProducerConfig {
            client_id: "txn".to_string(),
            transactional_id: Some(TRANSACTIONAL_ID.to_string()),
            ..ProducerConfig::default()
        };
        let producer = spawn_producer(
            Producer::new(config, 5),
            producer_cluster.bootstrap(),
            NodeClock::new(),
            producer_cluster.faults().clone(),
        );
        producer.init_transactions().await.unwrap();
        producer.begin_transaction().unwrap();
        for i in 0..6 {
            producer
                .send(SendRecord {
                    topic: TOPIC.to_string(),
                    partition: Some(i % PARTITIONS),
                    record: ProducerRecord::new(None, Some(format!("v-{i}").as_bytes()), 0),
                })
                .unwrap();
        }
        producer.flush().await;
        ready_tx.send(()).await.unwrap();
        killed_rx.recv().await.unwrap();
        if commit {
            producer.commit_transaction().await
        } else {
            producer.abort_transaction().await
        }
    });
    ready_rx.recv().await.unwrap();
    cluster.kill_broker(old_coordinator, true);
    killed_tx.send(()).await.unwrap();
    let outcome = producer.await.unwrap();
    assert!(
        outcome.is_ok(),
        "the new coordinator ends the transaction: {outcome:?}"
    );
    let new_coordinator = coordinator_of(cluster).await;
    (old_coordinator, new_coordinator)
}

/// KIP-98 coordinator failover: the commit requested after the coordinator died is completed by its
/// successor, which learned the open transaction (and its partitions) from `__transaction_state`:
/// read_committed returns every record and no transaction is left open.
#[madsim::test]
async fn new_coordinator_commits_the_transaction_it_replayed() {
    let cluster = start_cluster().await;
    let (old, new) = kill_coordinator_mid_transaction(&cluster, true).await;
    assert_ne!(old, new, "another broker coordinates now");
    let expected: Vec<String> = (0..6).map(|i| format!("v-{i}")).collect();
    let (committed, settled) = read_all(&cluster, READ_COMMITTED).await;
    assert_eq!(committed, expected);
    assert!(settled, "COMMIT markers on every partition: LSO = HW");
}

/// KIP-98 coordinator failover: an abort requested after the coordinator died is completed by its
/// successor with ABORT markers on both partitions: read_committed skips the records, which stay in
/// the log for read_uncommitted, and the last stable offset is not held back.
#[madsim::test]
async fn new_coordinator_aborts_the_transaction_it_replayed() {
    let cluster = start_cluster().await;
    let (old, new) = kill_coordinator_mid_transaction(&cluster, false).await;
    assert_ne!(old, new, "another broker coordinates now");
    let (committed, settled) = read_all(&cluster, READ_COMMITTED).await;
    assert!(
        committed.is_empty(),
        "aborted records are skipped: {committed:?}"
    );
    assert!(settled, "ABORT markers on every partition: LSO = HW");
    let (uncommitted, _) = read_all(&cluster, READ_UNCOMMITTED).await;
    assert_eq!(uncommitted.len(), 6);
}
