#![cfg(madsim)]
//! Share groups and transactions: a share group reading with `share.isolation.level=read_committed`
//! never delivers the records of an aborted transaction; they are archived on acquisition.

mod share_support;

use std::sync::Arc;
use std::time::Duration;

use share_support::*;
use sharesim_sim::client::producer::{Producer, ProducerConfig, SendRecord};
use sharesim_sim::coordinator::placement::TRANSACTION_STATE_TOPIC_NAME;
use sharesim_sim::harness::{
    combine_services, share_group_services, transaction_services, ShareGroupServicesConfig,
    SimCluster, SimClusterConfig,
};
use sharesim_sim::log::ProducerRecord;
use sharesim_sim::node::{spawn_producer, NodeClock};
use sharesim_sim::share::partition::{
    AutoOffsetReset, IsolationLevel, PartitionEvent, TransitionCause,
};
use sharesim_sim::share::RecordState;
use sharesim_sim::trace::TraceEvent;

/// Spec 6: three transactions of three records each on one partition, the middle one aborted. A
/// read_committed share group delivers and accepts the six committed records; the three aborted ones
/// go ACQUIRED -> ARCHIVED (cause aborted_transaction) without being handed out.
#[madsim::test]
async fn read_committed_share_group_skips_aborted_records() {
    let mut services = ShareGroupServicesConfig::default();
    services.share_partition.auto_offset_reset = AutoOffsetReset::Earliest;
    services.share_partition.isolation_level = IsolationLevel::ReadCommitted;
    services
        .internal_topics
        .transaction_state_topic_num_partitions = 1;
    let internal_topics = services.internal_topics.clone();
    let config = SimClusterConfig {
        keep_trace_records: true,
        services: combine_services(vec![
            share_group_services(services),
            transaction_services(internal_topics.clone()),
        ]),
        ..SimClusterConfig::default()
    };
    let cluster = Arc::new(SimCluster::start(config).await);
    cluster
        .create_internal_topics(&internal_topics, 3)
        .await
        .unwrap();
    cluster
        .create_internal_topic(&internal_topics, TRANSACTION_STATE_TOPIC_NAME)
        .await
        .unwrap();
    cluster.create_topic(TOPIC, 1, 3).await.unwrap();
    let bootstrap = cluster.bootstrap();
    let faults = cluster.faults().clone();
    cluster
        .client_node("txn-producer")
        .spawn(async move {
            let config = ProducerConfig {
                client_id: "txn".to_string(),
                transactional_id: Some("txn-1".to_string()),
                ..ProducerConfig::default()
            };
            let producer = spawn_producer(
                Producer::new(config, 11),
                bootstrap,
                NodeClock::new(),
                faults,
            );
            producer.init_transactions().await.unwrap();
            for (prefix, commit) in [("c1", true), ("a1", false), ("c2", true)] {
                producer.begin_transaction().unwrap();
                for i in 0..3 {
                    let value = format!("{prefix}-{i}");
                    let record = SendRecord {
                        topic: TOPIC.to_string(),
                        partition: Some(0),
                        record: ProducerRecord::new(None, Some(value.as_bytes()), 0),
                    };
                    producer.send(record).unwrap();
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
    let stats = spawn_consumer(&cluster, "consumer", 1, |_| {});
    wait_until(
        "the committed records are accepted",
        Duration::from_secs(60),
        || accepted_count(&cluster, 0) >= 6,
    )
    .await;
    madsim::time::sleep(Duration::from_secs(2)).await;
    let records = trace_records(&cluster);
    let mut aborted = Vec::new();
    for record in &records {
        if let TraceEvent::SharePartition {
            event:
                PartitionEvent::Transition {
                    first_offset,
                    last_offset,
                    to: RecordState::Archived,
                    cause: TransitionCause::AbortedTransaction,
                    ..
                },
            ..
        } = &record.event
        {
            aborted.extend(*first_offset..=*last_offset);
        }
    }
    assert_eq!(
        aborted.len(),
        3,
        "the aborted transaction's records archived: {aborted:?}"
    );
    let delivered: Vec<i64> = stats.deliveries().iter().map(|d| d.offset).collect();
    assert_eq!(
        delivered.len(),
        6,
        "only committed records delivered: {delivered:?}"
    );
    assert!(
        delivered.iter().all(|o| !aborted.contains(o)),
        "no aborted record delivered"
    );
}
