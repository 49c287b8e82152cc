#![cfg(madsim)]
//! The run limits on a real runaway: a share consumer whose RPC version the transport refuses fails
//! every request at once and retries at once, thousands of times per virtual millisecond (the kafka-4.0 bug of old). The
//! step limit stops it, naming the spinning node; a healthy consumer never reaches the limit.

mod share_support;

use std::time::Duration;

use madsim::runtime::Runtime;
use share_support::{
    plain_value, produce, spawn_consumer, start_cluster, start_cluster_with, wait_until,
};
use sharesim_sim::harness::{RunLimitExceeded, RunLimits};

/// Steps per node and step window in the runaway test (the default, spelled out).
const STEPS_LIMIT: u64 = sharesim_sim::node::MAX_NODE_STEPS_PER_STEP_WINDOW;

/// A ShareFetch version no transport carries: every request fails before it leaves the client.
const UNSUPPORTED_SHARE_RPC_VERSION: i16 = 3;

/// The step limit trips on a consumer that retries without waiting; the consumer stops and the run's
/// time moves on.
#[test]
fn a_consumer_retrying_without_waiting_trips_the_step_limit() {
    Runtime::with_seed_and_config(1, madsim::Config::default()).block_on(async {
        let cluster = start_cluster_with(1, |config| {
            config.cluster.limits = RunLimits::new(STEPS_LIMIT, u64::MAX);
        })
        .await;
        produce(&cluster, 0, 10, 10, Duration::ZERO, plain_value).await;
        spawn_consumer(&cluster, "consumer-1", 1, |setup| {
            setup.semantics.share_rpc_version = UNSUPPORTED_SHARE_RPC_VERSION;
        });
        wait_until("the step limit trips", Duration::from_secs(30), || {
            cluster.trace().limit_exceeded().is_some()
        })
        .await;
        let exceeded = cluster.trace().limit_exceeded().unwrap();
        let RunLimitExceeded::NodeStepsPerWindow { node, .. } = &exceeded else {
            panic!("the step limit: {exceeded}");
        };
        assert_eq!(node, "consumer-1");
        // Time moves on once the spinning node stopped.
        let tripped_ms = share_support::virtual_now_ms();
        madsim::time::sleep(Duration::from_secs(1)).await;
        assert!(share_support::virtual_now_ms() > tripped_ms);
    });
}

/// A healthy consumer at the same load never reaches the limits.
#[test]
fn a_healthy_consumer_stays_within_the_run_limits() {
    Runtime::with_seed_and_config(1, madsim::Config::default()).block_on(async {
        let cluster = start_cluster(1, |_| {}).await;
        produce(&cluster, 0, 10, 10, Duration::ZERO, plain_value).await;
        let stats = spawn_consumer(&cluster, "consumer-1", 1, |_| {});
        wait_until("10 deliveries", Duration::from_secs(30), || {
            stats.deliveries().len() >= 10
        })
        .await;
        assert_eq!(cluster.trace().limit_exceeded(), None);
    });
}
