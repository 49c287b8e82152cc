//! The broker side of share fetching (spec 2, 3.1-3.2, 3.5; `KafkaApis` share handlers,
//! `SharePartitionManager`, `DelayedShareFetch`, `DefaultStatePersister`), sans-IO: a
//! [`ShareFetchService`] that a broker plugs in and drives with its clock, its log reads and its
//! metadata (the [`ShareFetchHost`] trait).
//!
//! - ShareFetch / ShareAcknowledge (v1 and v2) with share sessions and epochs, piggybacked
//!   acknowledgements, MaxRecords, BatchSize, acquire mode, MinBytes / MaxWaitMs delayed fetches woken by
//!   acknowledgements, lock expiry, releases and new data, renew-only requests, FINAL epochs that close
//!   and release, connection-close release, NOT_LEADER_OR_FOLLOWER with the current leader.
//! - Share partitions created lazily per (group, topic-partition) on the leader, initialized by
//!   ReadShareGroupState, fenced and dropped on leadership loss, every acknowledgement persisted by
//!   WriteShareGroupState before its response; lock timers through `poll_timeout`.
//! - The persister: routes by the share key to the share coordinator (FindCoordinator key type SHARE),
//!   retries what is retriable, and hands errors to the partition, which maps them (spec 2.2).

mod group_config_requests;
mod group_configs;
mod host;
mod log_read;
mod persister;
mod plugin;
mod requests;
mod service;

#[cfg(test)]
mod tests;

pub use group_config_requests::{
    alter_group_configs, describe_group_configs, GroupConfigBrokerService, GroupConfigRules,
    RESOURCE_TYPE_GROUP,
};
pub use group_configs::{effective_share_partition_config, SharedGroupConfigs};
pub use host::{
    CallFailure, CallId, CallTarget, Leadership, NodeEndpoint, RequestToken, ServiceOutput,
    ShareFetchHost,
};
pub use persister::{
    coordinator_key, is_retriable, ATTEMPTS_MAX, COORDINATOR_KEY_TYPE_SHARE,
    FIND_COORDINATOR_VERSION, RETRY_BACKOFF_INITIAL_MS, RETRY_BACKOFF_MAX_MS,
};
pub use plugin::{ShareFetchBrokerService, PERSISTER_CALL_TIMEOUT_MS};
pub use requests::share_fetch_record_limits;
pub use service::ShareFetchService;
