//! Spawning share consumers on a [`SimCluster`]: each runs on its own client node with the engine, a
//! simulated application and shared stats for the test.

use madsim::runtime::NodeHandle;

use super::SimCluster;
use crate::client::application::ApplicationConfig;
use crate::client::share_consumer::{RecordDeserializer, ShareConsumerConfig};
use crate::node::{
    run_share_consumer, CommitStyle, ConsumerStats, NodeClock, ReconnectRequest, ShareConsumerSetup,
};
use crate::semantics::Semantics;

impl SimCluster {
    /// A share consumer setup of `group_id` on `topics` with Kafka's default consumer configs, an
    /// application that accepts everything in 1 ms, bootstrapped on every broker. Adjust fields, then
    /// [`SimCluster::spawn_share_consumer`].
    pub fn share_consumer_setup(
        &self,
        node_name: &str,
        group_id: &str,
        topics: &[&str],
        seed: u64,
    ) -> ShareConsumerSetup {
        let config = ShareConsumerConfig {
            group_id: group_id.to_string(),
            client_id: node_name.to_string(),
            ..ShareConsumerConfig::default()
        };
        ShareConsumerSetup {
            node_name: node_name.to_string(),
            config,
            semantics: Semantics::default(),
            deserializer: RecordDeserializer::default(),
            application: ApplicationConfig::default(),
            topics: topics.iter().map(|topic| topic.to_string()).collect(),
            bootstrap: self.bootstrap(),
            faults: self.faults().clone(),
            trace: self.trace().clone(),
            clock: NodeClock::new(),
            seed,
            close_at_ms: None,
            crash_at_ms: None,
            stats: ConsumerStats::default(),
            commit: CommitStyle::WithPoll,
            reconnect: ReconnectRequest::default(),
        }
    }

    /// Starts a share consumer on a new client node; returns the node (kill it to crash the consumer)
    /// and the consumer's stats.
    pub fn spawn_share_consumer(&self, setup: ShareConsumerSetup) -> (NodeHandle, ConsumerStats) {
        let node = self.client_node(&setup.node_name);
        let stats = setup.stats.clone();
        node.spawn(run_share_consumer(setup));
        (node, stats)
    }
}
