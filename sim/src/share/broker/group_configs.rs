//! Share-group config overrides as every broker sees them, and how they combine with the broker's
//! `group.share.*` defaults into the configs a share partition obeys (spec 1.3-1.5, 5.2, 6).
//!
//! Kafka keeps group configs in the controller's metadata (a GROUP config resource, set with
//! IncrementalAlterConfigs) and every broker's `GroupConfigManager` applies them; the share-partition
//! leader reads the group's value at each use and falls back to the broker default. sharesim shares one
//! [`SharedGroupConfigs`] between the brokers of a run: a change reaches every broker at once (the
//! metadata propagation delay is not modelled), and brokers push it into their live share partitions the
//! next time they run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::coordinator::group::{self, ShareGroupConfig};
use crate::share::partition::{AutoOffsetReset, IsolationLevel, SharePartitionConfig};

#[derive(Debug, Default)]
struct Inner {
    /// Bumped by every change, so brokers know when to refresh their share partitions.
    version: u64,
    configs: BTreeMap<String, ShareGroupConfig>,
}

/// The group config overrides of a run, shared by every broker (cloning shares them).
#[derive(Clone, Debug, Default)]
pub struct SharedGroupConfigs {
    inner: Arc<Mutex<Inner>>,
}

impl SharedGroupConfigs {
    /// No overrides.
    pub fn new() -> SharedGroupConfigs {
        SharedGroupConfigs::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces `group_id`'s overrides (already checked by [`ShareGroupConfig::set`] against the
    /// broker bounds, as Kafka checks them at alter time).
    pub fn set(&self, group_id: &str, config: ShareGroupConfig) {
        let mut inner = self.lock();
        inner.version += 1;
        inner.configs.insert(group_id.to_string(), config);
    }

    /// `group_id`'s overrides (empty when none were set).
    pub fn get(&self, group_id: &str) -> ShareGroupConfig {
        self.lock()
            .configs
            .get(group_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Every group with overrides, by group id.
    pub fn all(&self) -> Vec<(String, ShareGroupConfig)> {
        self.lock()
            .configs
            .iter()
            .map(|(group_id, config)| (group_id.clone(), config.clone()))
            .collect()
    }

    /// The change counter: equal values mean nothing changed in between.
    pub fn version(&self) -> u64 {
        self.lock().version
    }
}

/// The configs a share partition of a group obeys: each group override where set, else the broker's
/// default (`broker`). The overrides were bounded when they were set.
pub fn effective_share_partition_config(
    broker: &SharePartitionConfig,
    group: &ShareGroupConfig,
) -> SharePartitionConfig {
    let mut config = broker.clone();
    if let Some(ms) = group.record_lock_duration_ms {
        config.record_lock_duration_ms = u64::from(ms);
    }
    // `share.delivery.count.limit` and `share.partition.max.record.locks` are 4.3 group configs; the
    // parser accepts them under every profile for what-if runs, so they apply when set.
    if let Some(limit) = group.delivery_count_limit {
        config.delivery_count_limit = u16::try_from(limit).unwrap_or(u16::MAX);
    }
    if let Some(locks) = group.partition_max_record_locks {
        config.max_record_locks = locks;
    }
    if let Some(enable) = group.renew_acknowledge_enable {
        config.renew_acknowledge_enable = enable;
    }
    if let Some(level) = group.isolation_level {
        config.isolation_level = match level {
            group::IsolationLevel::ReadUncommitted => IsolationLevel::ReadUncommitted,
            group::IsolationLevel::ReadCommitted => IsolationLevel::ReadCommitted,
        };
    }
    if let Some(reset) = group.auto_offset_reset {
        config.auto_offset_reset = match reset {
            group::AutoOffsetReset::Earliest => AutoOffsetReset::Earliest,
            group::AutoOffsetReset::Latest => AutoOffsetReset::Latest,
            group::AutoOffsetReset::ByDuration { duration_ms } => {
                AutoOffsetReset::ByDuration { duration_ms }
            }
        };
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::group::GroupCoordinatorConfig;

    /// Spec 1.4, 5.2, 6: group overrides win over the broker defaults; unset ones keep them.
    #[test]
    fn group_overrides_replace_broker_defaults() {
        let bounds = GroupCoordinatorConfig::default();
        let group = ShareGroupConfig::from_entries(
            [
                ("share.record.lock.duration.ms", "15000"),
                ("share.auto.offset.reset", "by_duration:PT1M"),
                ("share.isolation.level", "read_committed"),
                ("share.delivery.count.limit", "3"),
            ],
            &bounds,
        )
        .unwrap();
        let broker = SharePartitionConfig::default();
        let effective = effective_share_partition_config(&broker, &group);
        assert_eq!(effective.record_lock_duration_ms, 15_000);
        assert_eq!(
            effective.auto_offset_reset,
            AutoOffsetReset::ByDuration {
                duration_ms: 60_000
            }
        );
        assert_eq!(effective.isolation_level, IsolationLevel::ReadCommitted);
        assert_eq!(effective.delivery_count_limit, 3);
        assert_eq!(effective.max_record_locks, broker.max_record_locks);
        let none = effective_share_partition_config(&broker, &ShareGroupConfig::default());
        assert_eq!(none, broker);
    }

    /// Every change bumps the version brokers compare against.
    #[test]
    fn shared_configs_count_changes() {
        let shared = SharedGroupConfigs::new();
        let other = shared.clone();
        assert_eq!(shared.version(), 0);
        other.set("g", ShareGroupConfig::default());
        assert_eq!(shared.version(), 1);
        assert_eq!(shared.get("g"), ShareGroupConfig::default());
        assert_eq!(
            shared.all(),
            vec![("g".to_string(), ShareGroupConfig::default())]
        );
    }
}
