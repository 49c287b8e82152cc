//! `sharesim serve`'s driver over real TCP on 127.0.0.1: a live cluster answers ApiVersions with the
//! share-group APIs, advertises the addresses it really listens on in Metadata, creates a topic and
//! serves a produce, and the oracle passes its trace. (The real-client check with librdkafka is
//! `.ci/live_librdkafka_check.sh`.)

use std::time::Duration;

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, CreateTopicsRequest, MetadataRequest, RequestKind, ResponseKind,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sharesim::live::caller::LiveCaller;
use sharesim::live::{LiveCluster, LiveClusterConfig};
use sharesim::oracle::{Oracle, OracleConfig};
use sharesim::sim::trace::TraceRecord;

const TIMEOUT: Duration = Duration::from_secs(10);

fn run_live<F: std::future::Future<Output = ()>>(test: impl FnOnce() -> F) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    tokio::task::LocalSet::new().block_on(&runtime, test());
}

/// The live broker answers ApiVersions (listing the share-group APIs) and Metadata (advertising
/// 127.0.0.1 and the port each broker listens on), as a Kafka client needs before anything else.
#[test]
fn live_cluster_answers_api_versions_and_metadata() {
    run_live(|| async {
        let config = LiveClusterConfig {
            brokers: 2,
            ..LiveClusterConfig::default()
        };
        let cluster = LiveCluster::start(config)
            .await
            .expect("the cluster starts");
        let client = LiveCaller::new("live-test");
        let answer = client
            .call(
                cluster.broker_addrs[0],
                3,
                RequestKind::ApiVersions(ApiVersionsRequest::default()),
                TIMEOUT,
            )
            .await;
        let Ok(ResponseKind::ApiVersions(versions)) = answer else {
            panic!("no ApiVersions answer: {answer:?}");
        };
        assert_eq!(versions.error_code, 0);
        for key in [
            ApiKey::Metadata,
            ApiKey::Produce,
            ApiKey::ShareFetch,
            ApiKey::ShareAcknowledge,
            ApiKey::ShareGroupHeartbeat,
            ApiKey::FindCoordinator,
        ] {
            assert!(
                versions.api_keys.iter().any(|k| k.api_key == key as i16),
                "{key:?} missing from ApiVersions"
            );
        }
        let answer = client
            .call(
                // Broker 1: the cluster's start waited for its metadata (broker 2's may lag).
                cluster.broker_addrs[0],
                12,
                RequestKind::Metadata(MetadataRequest::default().with_topics(None)),
                TIMEOUT,
            )
            .await;
        let Ok(ResponseKind::Metadata(metadata)) = answer else {
            panic!("no Metadata answer: {answer:?}");
        };
        let mut advertised: Vec<String> = metadata
            .brokers
            .iter()
            .map(|b| format!("{}:{}", b.host, b.port))
            .collect();
        advertised.sort();
        let mut listening: Vec<String> =
            cluster.broker_addrs.iter().map(|a| a.to_string()).collect();
        listening.sort();
        assert_eq!(advertised, listening);
        // The internal topics the share-group coordinators live on exist.
        let names: Vec<String> = metadata
            .topics
            .iter()
            .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
            .collect();
        assert!(
            names.contains(&"__share_group_state".to_string()),
            "{names:?}"
        );
    });
}

/// A topic created over the wire gets its partitions; the oracle passes the live trace.
#[test]
fn live_cluster_creates_topics_and_its_trace_passes_the_oracle() {
    run_live(|| async {
        let cluster = LiveCluster::start(LiveClusterConfig::default())
            .await
            .expect("the cluster starts");
        let client = LiveCaller::new("live-test");
        let request = CreateTopicsRequest::default()
            .with_timeout_ms(10_000)
            .with_topics(vec![CreatableTopic::default()
                .with_name(TopicName(StrBytes::from_static_str("orders")))
                .with_num_partitions(3)
                .with_replication_factor(1)]);
        let answer = client
            .call(
                cluster.broker_addrs[0],
                5,
                RequestKind::CreateTopics(request),
                TIMEOUT,
            )
            .await;
        let Ok(ResponseKind::CreateTopics(created)) = answer else {
            panic!("no CreateTopics answer: {answer:?}");
        };
        assert_eq!(created.topics[0].error_code, 0);
        let records: Vec<TraceRecord> = cluster
            .trace
            .with(|trace| trace.records().map(<[TraceRecord]>::to_vec))
            .unwrap_or_default();
        assert!(!records.is_empty(), "the live run writes a trace");
        let report = Oracle::check(&OracleConfig::default(), &records);
        assert!(report.passed(), "{:?}", report.violations());
    });
}
