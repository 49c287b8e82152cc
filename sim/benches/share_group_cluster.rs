//! Share-group throughput through the simulated cluster: 3 brokers running share fetch, the share
//! coordinator and the group coordinator; 2 partitions (replication factor 3), 100,000 records of
//! 100 bytes; 16 share consumers (implicit acknowledgement) until every record is acknowledged. Run
//! in release: `cargo bench -p sharesim-sim --bench share_group_cluster`.
//!
//! Printed for each run: records delivered and acknowledged per wall-clock second and simulated
//! seconds per wall second, both of the same run.
//! - **paced** (the figure): the 16 consumers join first; then one producer per partition
//!   appends a 100-record batch every 200 ms (1,000 records/s in all) for 100 simulated seconds;
//!   each record takes the application 5 ms to process (the group keeps up with a third of its
//!   capacity). Both targets together (100,000 records/s and 100x real time) need a workload spanning
//!   100 simulated seconds per wall second, so this run counts the idle costs of a live group
//!   (heartbeats, share-fetch long polls, replica fetches, timers) as well as the per-record costs.
//! - **flat-out**: every record produced first, then the group (1 ms per record) drains the
//!   backlog; the consume phase is the difference with a produce-only run of the same seed.

#[path = "support/cpu_time.rs"]
mod cpu_time;

use std::sync::Arc;
use std::time::Duration;

use madsim::runtime::Runtime;
use madsim::Config;
use sharesim_sim::client::application::ProcessingTime;
use sharesim_sim::harness::{ShareGroupClusterConfig, SimCluster};
use sharesim_sim::log::{encode_data_batch, ProducerIdentity, ProducerRecord};
use sharesim_sim::node::ConsumerStats;
use sharesim_sim::share::partition::AutoOffsetReset;

const PARTITIONS: i32 = 2;
const CONSUMERS: u64 = 16;
const RECORDS: usize = 100_000;
const RECORDS_PER_BATCH: usize = 100;
/// Paced run: one batch per partition every this many ms (2 x 100 records / 0.2 s = 1,000/s).
const BATCH_INTERVAL_MS: u64 = 200;
/// Paced run: the application's time per record.
const PACED_PROCESSING_MS: u64 = 5;
/// Flat-out run: the application's time per record.
const FLAT_OUT_PROCESSING_MS: u64 = 1;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Consumers first, then producers at a steady rate.
    Paced,
    /// Start the cluster and produce everything as fast as possible; no consumers.
    ProduceOnly,
    /// Produce everything as fast as possible, then drain it with the group.
    FlatOut,
    /// Consumers only, no records, for [`IDLE_S`] simulated seconds: the idle cost of a live group.
    Idle,
}

/// Length of the idle run, in simulated seconds.
const IDLE_S: u64 = 100;

/// What one run measured (virtual time only: inside the simulation every clock is simulated).
struct Figures {
    delivered: usize,
    acknowledged: u64,
    consume_simulated: Duration,
    total_simulated: Duration,
}

async fn produce(cluster: &Arc<SimCluster>, paced: bool) -> Vec<madsim::task::JoinHandle<()>> {
    let mut producers = Vec::new();
    for partition in 0..PARTITIONS {
        let count = RECORDS / PARTITIONS as usize;
        let producer = Arc::new(cluster.test_client(&format!("producer-{partition}")));
        let node = cluster.client_node(&format!("producer-{partition}"));
        producers.push(node.spawn(async move {
            let value = vec![b'x'; 100];
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
        }));
    }
    producers
}

fn spawn_consumers(cluster: &SimCluster, processing_ms: u64) -> Vec<ConsumerStats> {
    (1..=CONSUMERS)
        .map(|i| {
            let mut setup =
                cluster.share_consumer_setup(&format!("consumer-{i}"), "bench", &["bench"], i);
            setup.application.processing_time = ProcessingTime::Fixed { ms: processing_ms };
            cluster.spawn_share_consumer(setup).1
        })
        .collect()
}

async fn workload(mode: Mode) -> Figures {
    let started = madsim::time::Instant::now();
    let mut config = ShareGroupClusterConfig::default();
    config.services.share_partition.auto_offset_reset = AutoOffsetReset::Earliest;
    let cluster = Arc::new(SimCluster::start_share_groups(config).await);
    cluster.create_topic("bench", PARTITIONS, 3).await.unwrap();
    if mode == Mode::Idle {
        let stats = spawn_consumers(&cluster, PACED_PROCESSING_MS);
        madsim::time::sleep(Duration::from_secs(IDLE_S)).await;
        assert!(stats.iter().all(|s| s.member_id().is_some()));
        return Figures {
            delivered: 0,
            acknowledged: 0,
            consume_simulated: Duration::from_secs(IDLE_S),
            total_simulated: started.elapsed(),
        };
    }
    let (stats, consume_started) = if mode == Mode::Paced {
        let consume_started = madsim::time::Instant::now();
        let stats = spawn_consumers(&cluster, PACED_PROCESSING_MS);
        for producer in produce(&cluster, true).await {
            producer.await.unwrap();
        }
        (stats, consume_started)
    } else {
        for producer in produce(&cluster, false).await {
            producer.await.unwrap();
        }
        if mode == Mode::ProduceOnly {
            return Figures {
                delivered: 0,
                acknowledged: 0,
                consume_simulated: Duration::ZERO,
                total_simulated: started.elapsed(),
            };
        }
        let consume_started = madsim::time::Instant::now();
        (
            spawn_consumers(&cluster, FLAT_OUT_PROCESSING_MS),
            consume_started,
        )
    };
    let acknowledged = || stats.iter().map(|s| s.acknowledged().0).sum::<u64>();
    while acknowledged() < RECORDS as u64 {
        madsim::time::sleep(Duration::from_millis(100)).await;
        assert!(
            consume_started.elapsed() < Duration::from_secs(3_600),
            "stalled"
        );
    }
    Figures {
        delivered: stats.iter().map(|s| s.deliveries().len()).sum(),
        acknowledged: acknowledged(),
        consume_simulated: consume_started.elapsed(),
        total_simulated: started.elapsed(),
    }
}

/// Runs `workload(mode)` with seed 1; returns its figures, wall seconds and CPU seconds.
fn run(mode: Mode) -> (Figures, f64, Option<f64>) {
    cpu_time::measure(|| {
        Runtime::with_seed_and_config(1, Config::default()).block_on(workload(mode))
    })
}

fn main() {
    let (paced, paced_wall_s, paced_cpu_s) = run(Mode::Paced);
    let per_cpu = |value: f64, cpu_s: Option<f64>| {
        cpu_s.map_or(String::new(), |cpu| {
            format!(" ({:.0} per CPU s)", value / cpu)
        })
    };
    let rate = RECORDS_PER_BATCH as u64 * PARTITIONS as u64 * 1_000 / BATCH_INTERVAL_MS;
    println!(
        "share_group_cluster paced: 3 brokers, {PARTITIONS} partitions (RF 3), {CONSUMERS} \
         consumers, {RECORDS} records of 100 B; one producer per partition, a \
         {RECORDS_PER_BATCH}-record batch every {BATCH_INTERVAL_MS} ms ({rate} records/s in all), \
         {PACED_PROCESSING_MS} ms of processing per record, implicit acknowledgement: {}, \
         simulated {:.3} s",
        cpu_time::describe(paced_wall_s, paced_cpu_s),
        paced.total_simulated.as_secs_f64()
    );
    println!(
        "  records delivered and acknowledged per wall second: {:.0}{} ({} delivered, {} \
         acknowledged)",
        paced.acknowledged as f64 / paced_wall_s,
        per_cpu(paced.acknowledged as f64, paced_cpu_s),
        paced.delivered,
        paced.acknowledged
    );
    println!(
        "  simulated seconds per wall second: {:.1}{}",
        paced.total_simulated.as_secs_f64() / paced_wall_s,
        per_cpu(paced.total_simulated.as_secs_f64(), paced_cpu_s)
    );

    // The idle cost of the same cluster and group (what pacing adds to the per-record costs).
    let (idle, idle_wall_s, idle_cpu_s) = run(Mode::Idle);
    println!(
        "share_group_cluster idle: the same cluster and {CONSUMERS} consumers, no records, \
         {IDLE_S} simulated s: {}, simulated {:.3} s, {:.1} simulated s per wall s",
        cpu_time::describe(idle_wall_s, idle_cpu_s),
        idle.total_simulated.as_secs_f64(),
        idle.total_simulated.as_secs_f64() / idle_wall_s
    );
    // `--paced-only` (for profiling) skips the flat-out figure.
    if std::env::args().any(|arg| arg == "--paced-only") {
        return;
    }
    // The same seed twice: produce only, then produce and consume; the consume phase is the
    // difference (wall clocks cannot be read inside the simulation).
    let (produced, produce_wall_s, _) = run(Mode::ProduceOnly);
    let (figures, wall_s, cpu_s) = run(Mode::FlatOut);
    let consume_s = (wall_s - produce_wall_s).max(1e-9);
    println!(
        "share_group_cluster flat-out: the same records produced first, then drained by the group \
         ({FLAT_OUT_PROCESSING_MS} ms per record): {} (start and produce {produce_wall_s:.3} s, \
         consume {consume_s:.3} s), simulated {:.3} s (start and produce {:.3} s, consume {:.3} s)",
        cpu_time::describe(wall_s, cpu_s),
        figures.total_simulated.as_secs_f64(),
        produced.total_simulated.as_secs_f64(),
        figures.consume_simulated.as_secs_f64(),
    );
    println!(
        "  records delivered and acknowledged per wall second: consume phase {:.0}, whole run \
         {:.0} ({} delivered, {} acknowledged)",
        figures.acknowledged as f64 / consume_s,
        figures.acknowledged as f64 / wall_s,
        figures.delivered,
        figures.acknowledged
    );
    println!(
        "  simulated seconds per wall second: whole run {:.1}, consume phase {:.1}",
        figures.total_simulated.as_secs_f64() / wall_s,
        figures.consume_simulated.as_secs_f64() / consume_s
    );
}
