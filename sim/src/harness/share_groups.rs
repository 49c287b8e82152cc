//! Share groups on a [`SimCluster`]: the services every broker runs for them (share fetch with its
//! persister, the share coordinator, the group coordinator) in one [`ServiceFactory`], and the internal
//! topics those coordinators live on, created at start.
//!
//! ```ignore
//! let cluster = SimCluster::start_share_groups(ShareGroupClusterConfig::default()).await;
//! cluster.create_topic("orders", 1, 3).await?;
//! let (node, stats) = cluster.spawn_share_consumer(cluster.share_consumer_setup("c1", "g", &["orders"], 1));
//! ```

use std::sync::Arc;
use std::time::Duration;

use super::{SimCluster, SimClusterConfig};
use crate::broker::BrokerService;
use crate::coordinator::group::GroupCoordinatorConfig;
use crate::coordinator::placement::{
    InternalTopicsConfig, GROUP_METADATA_TOPIC_NAME, SHARE_GROUP_STATE_TOPIC_NAME,
};
use crate::coordinator::runtime::coordinator_plugins;
use crate::coordinator::share::ShareCoordinatorConfig;
use crate::node::ServiceFactory;
use crate::semantics::Semantics;
use crate::share::broker::{
    GroupConfigBrokerService, GroupConfigRules, ShareFetchBrokerService, SharedGroupConfigs,
};
use crate::share::partition::SharePartitionConfig;
use crate::ResponseError;

/// What the share-group services of every broker are built from.
#[derive(Clone, Debug)]
pub struct ShareGroupServicesConfig {
    /// The release profile of the share-partition leaders.
    pub semantics: Semantics,
    /// The broker's `group.share.*` defaults every share partition obeys (lock duration, delivery-count
    /// limit, in-flight limit, isolation level, auto offset reset).
    pub share_partition: SharePartitionConfig,
    /// Partition counts and replication of `__consumer_offsets` and `__share_group_state`.
    pub internal_topics: InternalTopicsConfig,
    /// The group config overrides every broker's share partitions obey (keep a clone to change them
    /// during the run).
    pub group_configs: SharedGroupConfigs,
    /// `group.share.max.share.sessions` per broker (Kafka's default 2000).
    pub max_share_sessions: usize,
    /// The share coordinator's shard settings (Kafka's defaults for the release; the
    /// `skip_leader_epoch_fencing` mutation switch lives here).
    pub share_coordinator: ShareCoordinatorConfig,
    /// The group coordinator's share-group settings (Kafka's defaults; the `assignor_skips_a_member`
    /// mutation switch lives here).
    pub group_coordinator: GroupCoordinatorConfig,
}

impl Default for ShareGroupServicesConfig {
    /// Kafka 4.2 defaults, except one partition per internal topic (a small cluster starts fast and
    /// every coordinator key lands on one leader, which is what failover tests kill).
    fn default() -> Self {
        let semantics = Semantics::default();
        ShareGroupServicesConfig {
            share_partition: SharePartitionConfig::for_semantics(&semantics),
            share_coordinator: ShareCoordinatorConfig::new(&semantics),
            group_coordinator: GroupCoordinatorConfig::new(&semantics),
            semantics,
            internal_topics: InternalTopicsConfig {
                offsets_topic_num_partitions: 1,
                share_state_topic_num_partitions: 1,
                ..InternalTopicsConfig::default()
            },
            group_configs: SharedGroupConfigs::new(),
            max_share_sessions: 2_000,
        }
    }
}

/// The services of one broker for share groups: ShareFetch/ShareAcknowledge (with the persister), the
/// share coordinator and the group coordinator (which also answers FindCoordinator).
pub fn share_group_broker_services(
    config: &ShareGroupServicesConfig,
) -> Vec<Box<dyn BrokerService>> {
    let share_fetch =
        ShareFetchBrokerService::new(config.semantics.clone(), config.share_partition.clone())
            .with_group_configs(config.group_configs.clone())
            .with_max_share_sessions(config.max_share_sessions);
    let group_configs = GroupConfigBrokerService::new(
        GroupConfigRules::new(&config.semantics, config.share_partition.clone()),
        config.group_configs.clone(),
    );
    let mut services: Vec<Box<dyn BrokerService>> =
        vec![Box::new(share_fetch), Box::new(group_configs)];
    services.extend(coordinator_plugins(
        &config.internal_topics,
        &config.share_coordinator,
        &config.group_coordinator,
    ));
    services
}

/// A [`ServiceFactory`] plugging [`share_group_broker_services`] into every broker (fresh instances on
/// every start: a broker's memory dies with it).
pub fn share_group_services(config: ShareGroupServicesConfig) -> ServiceFactory {
    Arc::new(move |_broker_id| share_group_broker_services(&config))
}

/// How to build a cluster ready for share groups.
#[derive(Clone, Default)]
pub struct ShareGroupClusterConfig {
    /// The cluster (its `services` are replaced by the share-group services).
    pub cluster: SimClusterConfig,
    /// The share-group services.
    pub services: ShareGroupServicesConfig,
}

impl SimCluster {
    /// Starts a cluster whose brokers run the share-group services, and creates the internal topics
    /// (`__share_group_state`, `__consumer_offsets`) with their coordinators elected.
    pub async fn start_share_groups(config: ShareGroupClusterConfig) -> SimCluster {
        let internal_topics = config.services.internal_topics.clone();
        let cluster_config = SimClusterConfig {
            services: share_group_services(config.services),
            ..config.cluster
        };
        let brokers = cluster_config.brokers;
        let cluster = SimCluster::start(cluster_config).await;
        cluster
            .create_internal_topics(&internal_topics, brokers)
            .await
            .expect("internal topics are created on a fresh cluster");
        cluster
    }

    /// Creates `__share_group_state` and `__consumer_offsets` as `topics` sizes them (replication
    /// capped at the broker count) and waits for their leaders. Kafka creates them on the first
    /// FindCoordinator; the harness does it up front so runs do not depend on that race.
    pub async fn create_internal_topics(
        &self,
        topics: &InternalTopicsConfig,
        brokers: i32,
    ) -> Result<(), ResponseError> {
        let replication_cap = i16::try_from(brokers.max(1)).unwrap_or(i16::MAX);
        let internal = [
            (
                SHARE_GROUP_STATE_TOPIC_NAME,
                topics.share_state_topic_num_partitions,
                topics.share_state_topic_replication_factor,
            ),
            (
                GROUP_METADATA_TOPIC_NAME,
                topics.offsets_topic_num_partitions,
                topics.offsets_topic_replication_factor,
            ),
        ];
        for (name, partitions, replication_factor) in internal {
            match self
                .create_topic(name, partitions, replication_factor.min(replication_cap))
                .await
            {
                Ok(()) | Err(ResponseError::TopicAlreadyExists) => {}
                Err(error) => return Err(error),
            }
        }
        // The coordinators load their (empty) partitions on becoming leader; give them a moment.
        madsim::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    }
}
