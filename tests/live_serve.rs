//! `sharesim serve`'s driver over real TCP on 127.0.0.1: a live cluster answers ApiVersions with the
//! share-group APIs, advertises the addresses it really listens on in Metadata, creates a topic and
//! serves a produce, and the oracle passes its trace; InitProducerId hands out producer ids; a
//! scenario's group configs are in force from the start and DescribeConfigs reads them, while
//! IncrementalAlterConfigs changes them. (The real-client check with librdkafka is
//! `.ci/live_librdkafka_check.sh`.)

use std::time::Duration;

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, CreateTopicsRequest, DescribeConfigsRequest,
    DescribeConfigsResponse, IncrementalAlterConfigsRequest, InitProducerIdRequest,
    MetadataRequest, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sharesim::cli::serve_command::{serve_config, OffsetReset, ServeArgs};
use sharesim::live::caller::LiveCaller;
use sharesim::live::{LiveCluster, LiveClusterConfig};
use sharesim::oracle::{Oracle, OracleConfig};
use sharesim::scenario::parse_scenario;
use sharesim::sim::share::broker::RESOURCE_TYPE_GROUP;
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
            ApiKey::InitProducerId,
            ApiKey::DescribeConfigs,
            ApiKey::IncrementalAlterConfigs,
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

/// The idempotent producer's first request: InitProducerId without a transactional id gets a producer
/// id and epoch 0 from the transaction coordinator, a different id for each producer.
#[test]
fn live_cluster_hands_out_producer_ids() {
    run_live(|| async {
        let cluster = LiveCluster::start(LiveClusterConfig::default())
            .await
            .expect("the cluster starts");
        let client = LiveCaller::new("live-test");
        let mut ids = Vec::new();
        for _ in 0..2 {
            let request = InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(-1);
            let answer = client
                .call(
                    cluster.broker_addrs[0],
                    4,
                    RequestKind::InitProducerId(request),
                    TIMEOUT,
                )
                .await;
            let Ok(ResponseKind::InitProducerId(response)) = answer else {
                panic!("no InitProducerId answer: {answer:?}");
            };
            assert_eq!(response.error_code, 0);
            assert!(response.producer_id.0 >= 0);
            assert_eq!(response.producer_epoch, 0);
            ids.push(response.producer_id.0);
        }
        assert_ne!(ids[0], ids[1]);
    });
}

const SCENARIO: &str = r#"{
  "topics": [{"name": "orders", "partitions": 2}],
  "groups": [{"name": "workers", "type": "share", "configs": {
    "share.auto.offset.reset": "earliest",
    "share.record.lock.duration.ms": 20000
  }}],
  "producers": [{"topic": "orders", "count": 10}],
  "consumers": [{"group": "workers"}]
}"#;

async fn describe_group(cluster: &LiveCluster, group: &str) -> DescribeConfigsResponse {
    let request =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(RESOURCE_TYPE_GROUP)
            .with_resource_name(StrBytes::from_string(group.to_string()))
            .with_configuration_keys(None)]);
    let answer = LiveCaller::new("live-test")
        .call(
            cluster.broker_addrs[0],
            4,
            RequestKind::DescribeConfigs(request),
            TIMEOUT,
        )
        .await;
    let Ok(ResponseKind::DescribeConfigs(response)) = answer else {
        panic!("no DescribeConfigs answer: {answer:?}");
    };
    response
}

fn value_of(response: &DescribeConfigsResponse, name: &str) -> (String, i8) {
    let entry = response.results[0]
        .configs
        .iter()
        .find(|c| c.name.as_str() == name)
        .unwrap_or_else(|| panic!("{name} is described"));
    (
        entry
            .value
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_default(),
        entry.config_source,
    )
}

/// Spec 5.2, 1.4: `serve --scenario FILE` sets the scenario's share-group configs at start (source
/// GROUP_CONFIG in DescribeConfigs; other groups keep the broker defaults), and IncrementalAlterConfigs
/// changes them over the wire afterwards.
#[test]
fn scenario_group_configs_are_in_force_from_the_start() {
    let scenario = parse_scenario("inline.json", SCENARIO).expect("the scenario parses");
    let args = ServeArgs {
        brokers: None,
        port: 0,
        scenario: None,
        duration_s: None,
        trace_out: None,
        share_auto_offset_reset: OffsetReset::Latest,
    };
    let (cluster_config, _oracle) = serve_config(&args, Some(&scenario)).expect("a live config");
    run_live(|| async move {
        let cluster = LiveCluster::start(cluster_config)
            .await
            .expect("the cluster starts");
        let workers = describe_group(&cluster, "workers").await;
        assert_eq!(workers.results[0].error_code, 0);
        assert_eq!(
            value_of(&workers, "share.auto.offset.reset"),
            ("earliest".to_string(), 8)
        );
        assert_eq!(
            value_of(&workers, "share.record.lock.duration.ms"),
            ("20000".to_string(), 8)
        );
        let others = describe_group(&cluster, "others").await;
        assert_eq!(
            value_of(&others, "share.auto.offset.reset"),
            ("latest".to_string(), 5)
        );
        let alter = IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(RESOURCE_TYPE_GROUP)
                .with_resource_name(StrBytes::from_static_str("workers"))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(StrBytes::from_static_str("share.record.lock.duration.ms"))
                    .with_config_operation(1)]),
        ]);
        let answer = LiveCaller::new("live-test")
            .call(
                cluster.broker_addrs[0],
                1,
                RequestKind::IncrementalAlterConfigs(alter),
                TIMEOUT,
            )
            .await;
        let Ok(ResponseKind::IncrementalAlterConfigs(altered)) = answer else {
            panic!("no IncrementalAlterConfigs answer: {answer:?}");
        };
        assert_eq!(altered.responses[0].error_code, 0);
        let workers = describe_group(&cluster, "workers").await;
        assert_eq!(
            value_of(&workers, "share.record.lock.duration.ms"),
            ("30000".to_string(), 5)
        );
    });
}
