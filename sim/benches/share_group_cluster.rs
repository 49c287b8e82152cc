//! Share-group throughput through the simulated cluster: 3 brokers running share fetch, the share
//! coordinator and the group coordinator; 2 partitions (replication factor 3) holding 100,000 records;
//! 16 share consumers (implicit acknowledgement, 1 ms per record) until every record is acknowledged.
//! Prints records delivered and acknowledged per wall-clock second and simulated seconds per wall
//! second. Run in release: `cargo bench -p sharesim-sim --bench share_group_cluster`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use madsim::runtime::Runtime;
use madsim::Config;
use sharesim_sim::harness::{ShareGroupClusterConfig, SimCluster};
use sharesim_sim::log::{encode_data_batch, ProducerIdentity, ProducerRecord};
use sharesim_sim::node::ConsumerStats;
use sharesim_sim::share::partition::AutoOffsetReset;

const PARTITIONS: i32 = 2;
const CONSUMERS: u64 = 16;
const RECORDS: usize = 100_000;
const RECORDS_PER_BATCH: usize = 100;

/// What one run measured (virtual time only: inside the simulation every clock is simulated).
struct Figures {
    delivered: usize,
    acknowledged: u64,
    consume_simulated: Duration,
    total_simulated: Duration,
}

/// Starts the cluster and produces every record; with `consume`, then runs the share group until
/// every record is acknowledged.
async fn workload(consume: bool) -> Figures {
    let started = madsim::time::Instant::now();
    let mut config = ShareGroupClusterConfig::default();
    config.services.share_partition.auto_offset_reset = AutoOffsetReset::Earliest;
    let cluster = Arc::new(SimCluster::start_share_groups(config).await);
    cluster.create_topic("bench", PARTITIONS, 3).await.unwrap();
    let mut producers = Vec::new();
    for partition in 0..PARTITIONS {
        let count = RECORDS / PARTITIONS as usize;
        let producer = Arc::new(cluster.test_client(&format!("producer-{partition}")));
        let node = cluster.client_node(&format!("producer-{partition}"));
        producers.push(node.spawn(async move {
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
        }));
    }
    for producer in producers {
        producer.await.unwrap();
    }
    let consume_started = madsim::time::Instant::now();
    if !consume {
        return Figures {
            delivered: 0,
            acknowledged: 0,
            consume_simulated: Duration::ZERO,
            total_simulated: started.elapsed(),
        };
    }
    let stats: Vec<ConsumerStats> = (1..=CONSUMERS)
        .map(|i| {
            let setup =
                cluster.share_consumer_setup(&format!("consumer-{i}"), "bench", &["bench"], i);
            cluster.spawn_share_consumer(setup).1
        })
        .collect();
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

/// Runs `workload(consume)` with seed 1; returns its figures and its wall-clock seconds.
fn run(consume: bool) -> (Figures, f64) {
    let wall = Instant::now();
    let figures = Runtime::with_seed_and_config(1, Config::default()).block_on(workload(consume));
    (figures, wall.elapsed().as_secs_f64())
}

fn main() {
    // The same seed twice: produce only, then produce and consume; the consume phase is the
    // difference (wall clocks cannot be read inside the simulation).
    let (produced, produce_wall_s) = run(false);
    let (figures, wall_s) = run(true);
    let consume_s = (wall_s - produce_wall_s).max(1e-9);
    println!(
        "share_group_cluster: 3 brokers, {PARTITIONS} partitions, {CONSUMERS} consumers, {RECORDS} \
         records: wall {wall_s:.3} s (start and produce {produce_wall_s:.3} s, share-group consume \
         {consume_s:.3} s), simulated {:.3} s (start and produce {:.3} s, consume {:.3} s)",
        figures.total_simulated.as_secs_f64(),
        produced.total_simulated.as_secs_f64(),
        figures.consume_simulated.as_secs_f64(),
    );
    println!(
        "  records delivered per wall second (consume phase): {:.0} ({} delivered)",
        figures.delivered as f64 / consume_s,
        figures.delivered
    );
    println!(
        "  records acknowledged per wall second (consume phase): {:.0} ({} acknowledged)",
        figures.acknowledged as f64 / consume_s,
        figures.acknowledged
    );
    println!(
        "  records produced, delivered and acknowledged per wall second (whole run): {:.0}",
        figures.acknowledged as f64 / wall_s
    );
    println!(
        "  simulated seconds per wall second: {:.1} (consume phase {:.1})",
        figures.total_simulated.as_secs_f64() / wall_s,
        figures.consume_simulated.as_secs_f64() / consume_s
    );
}
