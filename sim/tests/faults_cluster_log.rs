#![cfg(madsim)]
//! The log-data levers against the simulated cluster's disks (spec 6, 7.6): a log-start move on the
//! leader reaches every replica through the followers' fetches, the cleaner runs on every replica, and
//! a corrupt batch lands on the named replica only.

use std::time::Duration;

use sharesim_sim::faults::{FaultError, FaultStep, FaultTarget, LogStartCause};
use sharesim_sim::harness::{SimCluster, SimClusterConfig};
use sharesim_sim::log::{encode_data_batch, ProducerIdentity, ProducerRecord, TopicPartition};

const TOPIC: &str = "t";
const RECORDS: i64 = 10;

/// A cluster of three brokers with `t`-0 (replication factor 3) holding `RECORDS` single-record batches,
/// keyed `k0`, `k1` alternately, all committed.
async fn cluster_with_records() -> SimCluster {
    let cluster = SimCluster::start(SimClusterConfig {
        keep_trace_records: true,
        ..SimClusterConfig::default()
    })
    .await;
    cluster.create_topic(TOPIC, 1, 3).await.expect("topic t");
    let client = cluster.test_client("producer");
    cluster
        .client_node("producer")
        .spawn(async move {
            for index in 0..RECORDS {
                let key = format!("k{}", index % 2);
                let value = format!("v{index}");
                let record = ProducerRecord::new(Some(key.as_bytes()), Some(value.as_bytes()), 0);
                let batch = encode_data_batch(ProducerIdentity::NONE, 0, false, &[record])
                    .expect("a batch");
                client.produce(TOPIC, 0, batch, -1).await.expect("produced");
            }
        })
        .await
        .expect("the producer");
    cluster
}

fn tp() -> TopicPartition {
    TopicPartition::new(TOPIC, 0)
}

/// (broker, log start, log end, batches, batches failing their CRC) of every broker's replica of `t`-0.
fn replicas(cluster: &SimCluster) -> Vec<(i32, i64, i64, usize, usize)> {
    cluster
        .broker_ids()
        .into_iter()
        .filter_map(|broker| {
            cluster.store(broker)?.with_log(&tp(), |log| {
                let corrupt = log
                    .batches()
                    .iter()
                    .filter(|stored| !stored.batch.crc_is_valid())
                    .count();
                (
                    broker,
                    log.log_start_offset(),
                    log.log_end_offset(),
                    log.batches().len(),
                    corrupt,
                )
            })
        })
        .collect()
}

/// Spec 6 (`delete_records`): the log start moves on the leader, and the followers follow through the
/// log start offset of their next fetch responses; an offset past the high watermark is clamped to it.
#[madsim::test]
async fn a_log_start_move_on_the_leader_reaches_every_replica() {
    let mut cluster = cluster_with_records().await;
    let step = FaultStep::MoveLogStart {
        topic: TOPIC.to_string(),
        partition: 0,
        offset: 6,
        cause: LogStartCause::DeleteRecords,
    };
    cluster.apply(&step).expect("moved");
    madsim::time::sleep(Duration::from_secs(3)).await;
    let starts: Vec<i64> = replicas(&cluster).iter().map(|r| r.1).collect();
    assert_eq!(starts, vec![6, 6, 6], "{:?}", replicas(&cluster));
    let past_the_end = FaultStep::MoveLogStart {
        topic: TOPIC.to_string(),
        partition: 0,
        offset: 1_000,
        cause: LogStartCause::Retention,
    };
    cluster.apply(&past_the_end).expect("clamped");
    madsim::time::sleep(Duration::from_secs(3)).await;
    let starts: Vec<i64> = replicas(&cluster).iter().map(|r| r.1).collect();
    assert_eq!(starts, vec![RECORDS; 3], "{:?}", replicas(&cluster));
}

/// Spec 6 (`compaction`): once the batches are flushed (the page cache's 5 s writeback), one cleaning
/// pass on every replica keeps the latest record per key below the active batch: fewer batches, the same
/// log end.
#[madsim::test]
async fn compaction_cleans_every_replica() {
    let mut cluster = cluster_with_records().await;
    madsim::time::sleep(Duration::from_secs(6)).await;
    let before = replicas(&cluster);
    assert!(before.iter().all(|r| r.3 == RECORDS as usize), "{before:?}");
    let step = FaultStep::Compact {
        topic: TOPIC.to_string(),
        partition: None,
    };
    cluster.apply(&step).expect("compacted");
    let after = replicas(&cluster);
    assert_eq!(after.len(), 3);
    // Kept: the latest `k0` and `k1` records below the active (last) batch, and the active batch.
    assert!(
        after.iter().all(|r| r.2 == RECORDS && r.3 == 3),
        "{after:?}"
    );
    let unknown = FaultStep::Compact {
        topic: "missing".to_string(),
        partition: None,
    };
    assert!(matches!(
        cluster.apply(&unknown),
        Err(FaultError::UnknownTarget(_))
    ));
}

/// Spec 7.6 (`corrupt_batch_on_disk` naming a replica): only that replica's batch fails its CRC; an
/// offset no batch holds is refused.
#[madsim::test]
async fn a_corrupt_batch_lands_on_the_named_replica_only() {
    let mut cluster = cluster_with_records().await;
    let step = FaultStep::CorruptBatch {
        topic: TOPIC.to_string(),
        partition: 0,
        offset: 4,
        broker: Some(2),
    };
    cluster.apply(&step).expect("corrupted");
    let corrupt: Vec<(i32, usize)> = replicas(&cluster).iter().map(|r| (r.0, r.4)).collect();
    assert_eq!(corrupt, vec![(1, 0), (2, 1), (3, 0)]);
    let missing = FaultStep::CorruptBatch {
        topic: TOPIC.to_string(),
        partition: 0,
        offset: 99,
        broker: None,
    };
    assert!(matches!(
        cluster.apply(&missing),
        Err(FaultError::Refused(_))
    ));
}
