//! Cluster throughput: 3 brokers, 6 partitions (replication factor 3), 100,000 records of 100 bytes
//! produced with acks=all and consumed back with Fetch. Run in release:
//! `cargo bench -p sharesim-sim --bench cluster_throughput`.
//!
//! Two runs, each printing records produced-and-consumed per wall-clock second and simulated seconds
//! per wall second for that same run:
//! - **paced** (the figure): one producer per partition appends a 100-record batch every
//!   300 ms (2,000 records/s in all, as a producer with `linger.ms` = 300 would batch them) for 50
//!   simulated seconds; one consumer per partition long-polls Fetch (`fetch.max.wait.ms` = 500) and
//!   keeps up. Both targets together (200,000 records/s and 100x real time) need a workload that
//!   spans 100 simulated seconds per wall second, so this one counts the idle costs of a realistic
//!   cluster (heartbeats, replica and consumer long polls, timers) as well as the per-record costs.
//! - **flat-out**: the same records produced as fast as the cluster takes them, then consumed; a few
//!   simulated seconds, per-record costs only.

#[path = "support/cpu_time.rs"]
mod cpu_time;

use std::sync::Arc;
use std::time::Duration;

use madsim::runtime::Runtime;
use madsim::Config;
use sharesim_sim::harness::{SimCluster, SimClusterConfig};
use sharesim_sim::log::{encode_data_batch, ConsumedBatchKind, ProducerIdentity, ProducerRecord};

const PARTITIONS: i32 = 6;
const RECORDS: usize = 100_000;
const RECORDS_PER_BATCH: usize = 100;
/// Paced run: one batch per partition every this many ms (6 x 100 records / 0.3 s = 2,000/s).
const BATCH_INTERVAL_MS: u64 = 300;
/// Consumers' `fetch.max.wait.ms` (Kafka's default).
const FETCH_MAX_WAIT_MS: i32 = 500;

/// What one run measured (virtual time only: inside the simulation every clock is simulated).
struct Figures {
    consumed: usize,
    simulated: Duration,
}

/// Length of the idle run, in simulated seconds.
const IDLE_S: u64 = 50;

/// The cluster with its topic and nothing else for [`IDLE_S`] simulated seconds; returns the
/// simulated duration.
async fn idle() -> Duration {
    let started = madsim::time::Instant::now();
    let cluster = SimCluster::start(SimClusterConfig::default()).await;
    cluster.create_topic("bench", PARTITIONS, 3).await.unwrap();
    madsim::time::sleep(Duration::from_secs(IDLE_S)).await;
    started.elapsed()
}

/// Runs the workload (`paced` or flat-out) and returns what it consumed and how long it took in
/// simulated time, from the cluster's start to the last record consumed.
async fn workload(paced: bool) -> Figures {
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
        let producer_node = cluster.client_node(&format!("producer-{partition}"));
        let consumer_node = cluster.client_node(&format!("consumer-{partition}"));
        let produced = producer_node.spawn(async move {
            let value = vec![b'x'; 100];
            // Partitions start staggered over one interval, as independent producers would.
            let first_at = madsim::time::Instant::now()
                + Duration::from_millis(BATCH_INTERVAL_MS * partition as u64 / PARTITIONS as u64);
            let mut sent = 0;
            let mut batches = 0u64;
            while sent < count {
                if paced {
                    let at = first_at + Duration::from_millis(BATCH_INTERVAL_MS * batches);
                    madsim::time::sleep_until(at).await;
                }
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
                batches += 1;
            }
        });
        tasks.push(consumer_node.spawn(async move {
            let mut produced = Some(produced);
            if !paced {
                // Flat-out: the partition's records are all in before its consumption starts.
                produced.take().unwrap().await.unwrap();
            }
            let mut consumed = 0;
            let mut offset = 0;
            while consumed < count {
                let Ok(fetched) = consumer
                    .fetch("bench", partition, offset, 0, FETCH_MAX_WAIT_MS)
                    .await
                else {
                    continue;
                };
                for batch in fetched.consume().unwrap() {
                    if let ConsumedBatchKind::Data(records) = batch.kind {
                        consumed += records.len();
                    }
                    offset = batch.last_offset + 1;
                }
            }
            assert_eq!(consumed, count);
            if let Some(produced) = produced {
                produced.await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    Figures {
        consumed: RECORDS,
        simulated: started.elapsed(),
    }
}

/// Runs `workload(paced)` with seed 1; returns its figures, wall seconds and CPU seconds.
fn run(paced: bool) -> (Figures, f64, Option<f64>) {
    cpu_time::measure(|| {
        Runtime::with_seed_and_config(1, Config::default()).block_on(workload(paced))
    })
}

fn print(name: &str, workload: &str, figures: &Figures, wall_s: f64, cpu_s: Option<f64>) {
    let simulated_s = figures.simulated.as_secs_f64();
    println!(
        "cluster_throughput {name}: 3 brokers, {PARTITIONS} partitions (RF 3, acks=all), {} records \
         of 100 B; {workload}: {}, simulated {simulated_s:.3} s",
        figures.consumed,
        cpu_time::describe(wall_s, cpu_s)
    );
    let per_cpu = |value: f64| {
        cpu_s.map_or(String::new(), |cpu| {
            format!(" ({:.0} per CPU s)", value / cpu)
        })
    };
    println!(
        "  produced-and-consumed records per wall second: {:.0}{}",
        figures.consumed as f64 / wall_s,
        per_cpu(figures.consumed as f64)
    );
    println!(
        "  simulated seconds per wall second: {:.1}{}",
        simulated_s / wall_s,
        per_cpu(simulated_s)
    );
}

fn main() {
    let rate = RECORDS_PER_BATCH as u64 * PARTITIONS as u64 * 1_000 / BATCH_INTERVAL_MS;
    let (paced, paced_wall_s, paced_cpu_s) = run(true);
    print(
        "paced",
        &format!(
            "one producer per partition, a {RECORDS_PER_BATCH}-record batch every \
             {BATCH_INTERVAL_MS} ms ({rate} records/s in all), one consumer per partition \
             long-polling Fetch (max wait {FETCH_MAX_WAIT_MS} ms)"
        ),
        &paced,
        paced_wall_s,
        paced_cpu_s,
    );
    let (idle, idle_wall_s, idle_cpu_s) =
        cpu_time::measure(|| Runtime::with_seed_and_config(1, Config::default()).block_on(idle()));
    println!(
        "cluster_throughput idle: the same cluster and topic, no clients, {IDLE_S} simulated s: \
         {}, simulated {:.3} s, {:.1} simulated s per wall s",
        cpu_time::describe(idle_wall_s, idle_cpu_s),
        idle.as_secs_f64(),
        idle.as_secs_f64() / idle_wall_s
    );
    // `--paced-only` (for profiling) skips the flat-out figure.
    if std::env::args().any(|arg| arg == "--paced-only") {
        return;
    }
    let (flat_out, flat_out_wall_s, flat_out_cpu_s) = run(false);
    print(
        "flat-out",
        &format!(
            "{RECORDS_PER_BATCH}-record batches produced back to back, then consumed (per-record \
             costs only)"
        ),
        &flat_out,
        flat_out_wall_s,
        flat_out_cpu_s,
    );
}
