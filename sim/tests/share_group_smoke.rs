#![cfg(madsim)]
//! Share groups end to end in the simulated cluster: three brokers running share fetch, the share
//! coordinator and the group coordinator; a producer; three share consumers that accept everything.

use std::sync::Arc;
use std::time::Duration;

use madsim::runtime::Runtime;
use madsim::time::sleep;
use sharesim_sim::harness::{
    accepted_offsets, exclusive_holding_violations, ShareGroupClusterConfig, SimCluster,
    SimClusterConfig,
};
use sharesim_sim::log::{encode_data_batch, ProducerIdentity, ProducerRecord};
use sharesim_sim::node::ConsumerStats;
use sharesim_sim::share::partition::AutoOffsetReset;
use sharesim_sim::trace::{TraceHash, TraceRecord};

const TOPIC: &str = "orders";
const GROUP: &str = "g";
const RECORDS: i64 = 1_000;
const RECORDS_PER_BATCH: i64 = 10;

/// Three brokers with the share-group services (earliest offset reset, so records produced before the
/// group starts are delivered), keeping trace records.
async fn start_cluster() -> Arc<SimCluster> {
    let mut config = ShareGroupClusterConfig {
        cluster: SimClusterConfig {
            keep_trace_records: true,
            ..SimClusterConfig::default()
        },
        ..ShareGroupClusterConfig::default()
    };
    config.services.share_partition.auto_offset_reset = AutoOffsetReset::Earliest;
    let cluster = Arc::new(SimCluster::start_share_groups(config).await);
    cluster.create_topic(TOPIC, 1, 3).await.unwrap();
    cluster
}

/// Produces `RECORDS` records in batches of `RECORDS_PER_BATCH` to partition 0 with acks=all.
async fn produce_all(cluster: &SimCluster) {
    let client = Arc::new(cluster.test_client("producer"));
    cluster
        .client_node("producer")
        .spawn(async move {
            for batch_index in 0..RECORDS / RECORDS_PER_BATCH {
                let values: Vec<String> = (0..RECORDS_PER_BATCH)
                    .map(|i| format!("v{}", batch_index * RECORDS_PER_BATCH + i))
                    .collect();
                let records: Vec<ProducerRecord> = values
                    .iter()
                    .map(|v| ProducerRecord::new(None, Some(v.as_bytes()), 0))
                    .collect();
                let batch = encode_data_batch(ProducerIdentity::NONE, 0, false, &records).unwrap();
                client.produce(TOPIC, 0, batch, -1).await.unwrap();
            }
        })
        .await
        .unwrap();
}

fn trace_records(cluster: &SimCluster) -> Vec<TraceRecord> {
    cluster
        .trace()
        .with(|trace| trace.records().map(<[TraceRecord]>::to_vec))
        .expect("the trace keeps records")
}

/// Waits (virtual time) until every produced offset was accepted, or `limit` passes.
async fn wait_until_all_accepted(cluster: &SimCluster, limit: Duration) {
    let deadline = madsim::time::Instant::now() + limit;
    while madsim::time::Instant::now() < deadline {
        let accepted = accepted_offsets(&trace_records(cluster));
        if accepted.get(&0).map_or(0, |offsets| offsets.len()) as i64 >= RECORDS {
            return;
        }
        sleep(Duration::from_millis(500)).await;
    }
}

/// The smoke run: produce, consume with three members, return the stats, trace and hash.
async fn smoke_run() -> (Vec<ConsumerStats>, Vec<TraceRecord>, TraceHash) {
    let cluster = start_cluster().await;
    produce_all(&cluster).await;
    let stats: Vec<ConsumerStats> = (1..=3)
        .map(|i| {
            let setup = cluster.share_consumer_setup(&format!("consumer-{i}"), GROUP, &[TOPIC], i);
            cluster.spawn_share_consumer(setup).1
        })
        .collect();
    wait_until_all_accepted(&cluster, Duration::from_secs(120)).await;
    (stats, trace_records(&cluster), cluster.trace_hash())
}

/// Spec 1.2, 2.3, 4.2: every produced record is delivered to a member of the share group and accepted,
/// and no record is held by two members at once.
#[madsim::test]
async fn three_consumers_accept_every_record_once() {
    let (stats, records, _) = smoke_run().await;
    let accepted = accepted_offsets(&records);
    let expected: Vec<i64> = (0..RECORDS).collect();
    assert_eq!(
        accepted
            .get(&0)
            .map(|o| o.iter().copied().collect::<Vec<_>>()),
        Some(expected),
        "every offset accepted"
    );
    let violations = exclusive_holding_violations(&records);
    assert!(violations.is_empty(), "EXCLUSIVE: {violations:?}");
    let delivered: usize = stats.iter().map(|s| s.deliveries().len()).sum();
    assert_eq!(delivered as i64, RECORDS, "no redelivery without faults");
    for s in &stats {
        assert!(
            s.poll_errors().is_empty(),
            "poll errors: {:?}",
            s.poll_errors()
        );
    }
}

/// Design principle 2: the same seed gives the same trace hash twice.
#[test]
fn same_seed_same_share_group_trace_hash() {
    let run = |seed| {
        Runtime::with_seed_and_config(seed, madsim::Config::default()).block_on(async {
            let (_, records, hash) = smoke_run().await;
            (records.len(), hash)
        })
    };
    assert_eq!(run(3), run(3));
}
