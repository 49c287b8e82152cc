#![cfg(madsim)]
//! Group configs over the wire in the simulated cluster: IncrementalAlterConfigs on a GROUP resource sets
//! `share.auto.offset.reset=earliest` for a share group whose brokers default to `latest`, DescribeConfigs
//! shows it, an out-of-range lock duration is refused with INVALID_CONFIG, and the share consumer that
//! joins afterwards gets the records produced before it (spec 5.2), seeded and reproducible.

mod share_support;

use std::net::SocketAddr;
use std::time::Duration;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    DescribeConfigsRequest, IncrementalAlterConfigsRequest, RequestKind, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;
use madsim::runtime::Runtime;
use share_support::*;
use sharesim_sim::harness::SimCluster;
use sharesim_sim::net::Client;
use sharesim_sim::share::broker::RESOURCE_TYPE_GROUP;
use sharesim_sim::share::partition::AutoOffsetReset;
use sharesim_sim::ResponseError;

const TIMEOUT: Duration = Duration::from_secs(30);

fn set_config(name: &str, value: &str) -> RequestKind {
    RequestKind::IncrementalAlterConfigs(IncrementalAlterConfigsRequest::default().with_resources(
        vec![AlterConfigsResource::default()
            .with_resource_type(RESOURCE_TYPE_GROUP)
            .with_resource_name(StrBytes::from_static_str(GROUP))
            .with_configs(vec![AlterableConfig::default()
                .with_name(StrBytes::from_string(name.to_string()))
                .with_config_operation(0)
                .with_value(Some(StrBytes::from_string(value.to_string())))])],
    ))
}

/// Sends `request` to `broker` from a client node; the response.
async fn admin_call(
    cluster: &SimCluster,
    broker: SocketAddr,
    version: i16,
    request: RequestKind,
) -> ResponseKind {
    let client = Client::new("admin", cluster.faults().clone());
    cluster
        .client_node("admin")
        .spawn(async move { client.call(broker, version, request, TIMEOUT).await })
        .await
        .expect("the admin task runs")
        .expect("the broker answers")
}

/// Spec 5.2: the group's `share.auto.offset.reset`, set with IncrementalAlterConfigs through any broker,
/// decides where the new share partitions start; DescribeConfigs reads it back as a GROUP_CONFIG; a
/// lock duration below `group.share.min.record.lock.duration.ms` is INVALID_CONFIG and changes nothing.
#[test]
fn a_group_offset_reset_set_over_the_wire_reaches_the_share_partitions() {
    for seed in [7, 8] {
        Runtime::with_seed_and_config(seed, madsim::Config::default()).block_on(async {
            let cluster = start_cluster_with(1, |config| {
                config.services.share_partition.auto_offset_reset = AutoOffsetReset::Latest;
            })
            .await;
            produce(&cluster, 0, 5, 5, Duration::ZERO, plain_value).await;
            let broker = cluster.bootstrap()[1];
            let refused = admin_call(
                &cluster,
                broker,
                1,
                set_config("share.record.lock.duration.ms", "1000"),
            )
            .await;
            let ResponseKind::IncrementalAlterConfigs(refused) = refused else {
                panic!("not an IncrementalAlterConfigs answer: {refused:?}");
            };
            assert_eq!(
                refused.responses[0].error_code,
                ResponseError::InvalidConfig.code()
            );
            let set = admin_call(
                &cluster,
                broker,
                1,
                set_config("share.auto.offset.reset", "earliest"),
            )
            .await;
            let ResponseKind::IncrementalAlterConfigs(set) = set else {
                panic!("not an IncrementalAlterConfigs answer: {set:?}");
            };
            assert_eq!(set.responses[0].error_code, 0, "{set:?}");
            let describe =
                RequestKind::DescribeConfigs(DescribeConfigsRequest::default().with_resources(
                    vec![DescribeConfigsResource::default()
                    .with_resource_type(RESOURCE_TYPE_GROUP)
                    .with_resource_name(StrBytes::from_static_str(GROUP))
                    .with_configuration_keys(None)],
                ));
            // Another broker describes what the first one set: the overrides are the cluster's.
            let described = admin_call(&cluster, cluster.bootstrap()[0], 4, describe).await;
            let ResponseKind::DescribeConfigs(described) = described else {
                panic!("not a DescribeConfigs answer: {described:?}");
            };
            let value = |name: &str| {
                let entry = described.results[0]
                    .configs
                    .iter()
                    .find(|c| c.name.as_str() == name)
                    .unwrap_or_else(|| panic!("{name} is described"));
                (
                    entry.value.as_ref().map(|v| v.to_string()),
                    entry.config_source,
                )
            };
            assert_eq!(
                value("share.auto.offset.reset"),
                (Some("earliest".into()), 8)
            );
            assert_eq!(
                value("share.record.lock.duration.ms"),
                (Some("30000".into()), 5)
            );
            let stats = spawn_consumer(&cluster, "late-joiner", seed, |_| {});
            wait_until(
                "the records produced before the group joined are delivered",
                Duration::from_secs(60),
                || stats.deliveries().len() >= 5,
            )
            .await;
            let offsets: Vec<i64> = stats.deliveries().iter().map(|d| d.offset).collect();
            assert_eq!(offsets, vec![0, 1, 2, 3, 4]);
        });
    }
}
