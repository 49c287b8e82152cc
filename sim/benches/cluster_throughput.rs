//! Cluster throughput: 3 brokers, 6 partitions (replication factor 3), 100,000 records produced with
//! acks=all in batches of 100 and consumed back with Fetch. Prints records carried end to end per
//! wall-clock second and simulated seconds per wall second. Run in release:
//! `cargo bench -p sharesim-sim --bench cluster_throughput`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use madsim::runtime::Runtime;
use madsim::Config;
use sharesim_sim::harness::{SimCluster, SimClusterConfig};
use sharesim_sim::log::{encode_data_batch, ConsumedBatchKind, ProducerIdentity, ProducerRecord};

const PARTITIONS: i32 = 6;
const RECORDS: usize = 100_000;
const RECORDS_PER_BATCH: usize = 100;

/// Runs the workload; returns (records consumed, simulated duration).
async fn workload() -> (usize, Duration) {
    let started = madsim::time::Instant::now();
    let cluster = Arc::new(SimCluster::start(SimClusterConfig::default()).await);
    cluster.create_topic("bench", PARTITIONS, 3).await.unwrap();
    let per_partition = RECORDS / PARTITIONS as usize;
    let mut tasks = Vec::new();
    for partition in 0..PARTITIONS {
        let extra = usize::from((partition as usize) < RECORDS % PARTITIONS as usize);
        let count = per_partition + extra;
        let producer = Arc::new(cluster.test_client(&format!("producer-{partition}")));
        let consumer = Arc::new(cluster.test_client(&format!("consumer-{partition}")));
        let node = cluster.client_node(&format!("client-{partition}"));
        tasks.push(node.spawn(async move {
            let value = vec![b'x'; 100];
            let mut sent = 0;
            while sent < count {
                let n = RECORDS_PER_BATCH.min(count - sent);
                let records: Vec<ProducerRecord> = (0..n)
                    .map(|_| ProducerRecord::new(None, Some(&value), 0))
                    .collect();
                let batch = encode_data_batch(ProducerIdentity::NONE, 0, false, &records).unwrap();
                producer
                    .produce("bench", partition, batch, -1)
                    .await
                    .unwrap();
                sent += n;
            }
            let mut consumed = 0;
            let mut offset = 0;
            while consumed < count {
                let Ok(fetched) = consumer.fetch("bench", partition, offset, 0, 500).await else {
                    continue;
                };
                for batch in fetched.consume().unwrap() {
                    if let ConsumedBatchKind::Data(records) = batch.kind {
                        consumed += records.len();
                    }
                    offset = batch.last_offset + 1;
                }
            }
            consumed
        }));
    }
    let mut consumed = 0;
    for task in tasks {
        consumed += task.await.unwrap();
    }
    (consumed, started.elapsed())
}

fn main() {
    let wall = Instant::now();
    let (consumed, simulated) =
        Runtime::with_seed_and_config(1, Config::default()).block_on(workload());
    let wall = wall.elapsed();
    assert_eq!(consumed, RECORDS);
    let wall_s = wall.as_secs_f64();
    println!(
        "cluster_throughput: 3 brokers, {PARTITIONS} partitions, {RECORDS} records: wall {wall_s:.3} s, \
         simulated {:.3} s",
        simulated.as_secs_f64()
    );
    println!(
        "  produced-and-consumed records per wall second: {:.0}",
        RECORDS as f64 / wall_s
    );
    println!(
        "  simulated seconds per wall second: {:.1}",
        simulated.as_secs_f64() / wall_s
    );
}
