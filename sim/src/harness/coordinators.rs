//! Plugging the classic-group and transaction coordinators into a [`SimCluster`]: service factories
//! built from [`classic_group_plugins`] and [`transaction_plugins`], a way to combine factories (each
//! broker gets every factory's services, in order), and the creation of an internal topic with its
//! Kafka partition count. A read_committed scenario needs [`transaction_services`] (and
//! `__transaction_state`); a classic-group one needs [`classic_group_services`] (and
//! `__consumer_offsets`).

use std::sync::Arc;

use super::SimCluster;
use crate::coordinator::classic::{classic_group_plugins, ClassicGroupConfig};
use crate::coordinator::placement::InternalTopicsConfig;
use crate::coordinator::transaction::{transaction_plugins, ProducerIdBlocks};
use crate::node::ServiceFactory;
use crate::ResponseError;

/// Every broker gets a classic group coordinator (and FindCoordinator for GROUP keys).
pub fn classic_group_services(
    config: ClassicGroupConfig,
    internal_topics: InternalTopicsConfig,
) -> ServiceFactory {
    Arc::new(move |_| classic_group_plugins(config.clone(), &internal_topics))
}

/// Every broker gets a transaction coordinator (and FindCoordinator for TRANSACTION keys); producer
/// ids come in blocks from one counter of the cluster's, which outlives broker restarts as Kafka's
/// controller's record of the next block does.
pub fn transaction_services(internal_topics: InternalTopicsConfig) -> ServiceFactory {
    let producer_id_blocks = ProducerIdBlocks::default();
    Arc::new(move |_| transaction_plugins(&producer_id_blocks, &internal_topics))
}

/// One factory giving each broker the services of every factory in `factories`, in order (for a key
/// claimed by several, the first service accepting a request gets it).
pub fn combine_services(factories: Vec<ServiceFactory>) -> ServiceFactory {
    Arc::new(move |broker_id| {
        factories
            .iter()
            .flat_map(|factory| factory(broker_id))
            .collect()
    })
}

impl SimCluster {
    /// Creates the internal topic `name` (`__consumer_offsets`, `__transaction_state`,
    /// `__share_group_state`) with its partition count from `internal_topics` and its replication
    /// factor capped at the broker count, and waits for its leaders.
    pub async fn create_internal_topic(
        &self,
        internal_topics: &InternalTopicsConfig,
        name: &str,
    ) -> Result<(), ResponseError> {
        let spec = internal_topics
            .spec(name)
            .ok_or(ResponseError::InvalidTopicException)?;
        let brokers = i16::try_from(self.broker_ids().len()).unwrap_or(i16::MAX);
        let replication_factor = spec.replication_factor.min(brokers).max(1);
        self.create_topic(name, spec.num_partitions, replication_factor)
            .await
    }
}
