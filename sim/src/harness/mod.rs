//! The simulated cluster for tests and scenarios: [`SimCluster`] builds a madsim cluster of N broker
//! nodes (`broker-1`, ...) and a controller node, creates topics, kills and restarts brokers (with or
//! without losing unflushed data), and collects every node's trace events in one [`SharedTrace`]
//! (one sink per run; madsim's seeded scheduling fixes the order). [`TestClient`] produces and fetches.
//!
//! Hooks for later helpers: `SimCluster::broker_node_id` (madsim node ids for clogs and pauses),
//! `SimCluster::clock` (per-node skew), `SimCluster::faults` (transport faults), `SimClusterConfig::
//! services` (plug services into every broker), `SimCluster::client_node` (spawn clients: producers,
//! share consumers, classic consumers).

mod cluster;
pub mod coordinators;
mod share_checks;
mod share_consumers;
mod share_groups;
mod test_client;

pub use cluster::{SimCluster, SimClusterConfig};
pub use coordinators::{classic_group_services, combine_services, transaction_services};
pub use share_checks::{
    accepted_offsets, archived_offsets, exclusive_holding_violations, share_partition_start_offset,
    transitions_of, OffsetTransition, SharePartitionName,
};
pub use share_groups::{
    share_group_broker_services, share_group_services, ShareGroupClusterConfig,
    ShareGroupServicesConfig,
};
pub use test_client::{FetchedPartition, TestClient};

pub use crate::node::{RunLimitExceeded, RunLimits, SharedTrace};
