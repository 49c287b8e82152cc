//! The coordinator services a broker hosts (Kafka's `CoordinatorRuntime` and the services over it), as
//! sans-IO engines around the coordinator shards:
//!
//! * [`ShareCoordinatorService`]: a [`crate::coordinator::share::ShareCoordinatorShard`] per
//!   `__share_group_state` partition this broker leads; serves the share-state RPCs;
//! * [`GroupCoordinatorService`]: a [`crate::coordinator::group::ShareGroupCoordinator`] per
//!   `__consumer_offsets` partition this broker leads; serves ShareGroupHeartbeat, ShareGroupDescribe
//!   and the share-group offset admin APIs, and asks the share coordinator to initialize share
//!   partitions;
//! * [`CoordinatorHost`]: what both need from the broker (internal-topic logs and metadata);
//! * [`codec`]: coordinator records as internal-topic records.
//!
//! **Plugging into a broker.** On every leadership change of an internal-topic partition call
//! `handle_become_leader` / `handle_resign`; on every high-watermark move of one call
//! `handle_high_watermark`; hand the matching requests to `handle_request` with a token; after every
//! input drain `poll_response` (and the group service's `poll_persister_call`), and sleep until
//! `poll_timeout` to call `handle_timeout`.

mod broker_host;
pub mod codec;
mod group_service;
mod group_wire;
mod host;
mod latest_offsets;
mod plugins;
mod share_service;
mod share_wire;
mod state_call_router;

pub use broker_host::{BrokerHost, EffectTokens};
pub use group_service::{
    GroupCoordinatorService, GroupCoordinatorServiceConfig, PersisterCall, PersisterCallToken,
    PersisterReply,
};
pub use group_wire::{GroupRequest, GroupResponse};
pub use host::{normalize_append_error, CoordinatorHost, LogRecord};
pub use latest_offsets::{
    EndOffsetReply, EndOffsetsCallToken, LatestOffsetsClient, LatestOffsetsRpc,
};
pub use plugins::{coordinator_plugins, GroupCoordinatorPlugin, ShareCoordinatorPlugin};
pub use share_service::{
    RequestToken, ShareCoordinatorService, ShareCoordinatorServiceConfig, ShareCoordinatorStats,
    LOAD_RETRY_INTERVAL_MS,
};
pub use share_wire::{ShareStateRequest, ShareStateResponse};
pub use state_call_router::{
    is_retriable_state_error, StateCallRouter, StateRpc, STATE_CALL_ATTEMPTS_MAX,
    STATE_CALL_BACKOFF_INITIAL_MS, STATE_CALL_BACKOFF_MAX_MS,
};

#[cfg(test)]
mod tests;
