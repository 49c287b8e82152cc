//! The broker's settings, with Kafka's names and defaults.

use std::net::SocketAddr;

use crate::cluster::replication::ReplicationConfig;
use crate::cluster::BrokerId;
use crate::log::LogConfig;

/// One broker's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerConfig {
    /// `node.id`.
    pub broker_id: BrokerId,
    /// The advertised listener (`advertised.listeners`), as an address.
    pub advertised_addr: SocketAddr,
    /// `broker.rack`.
    pub rack: Option<String>,
    /// Changes on every process start (Kafka draws a random incarnation id; the node passes its start
    /// count, which is as unique and deterministic).
    pub incarnation_id: u64,
    /// The controller's address (`controller.quorum.bootstrap.servers`, one controller here).
    pub controller_addr: SocketAddr,
    /// `broker.heartbeat.interval.ms` (default 2000).
    pub heartbeat_interval_ms: u64,
    /// Backoff before retrying a failed registration or controller call (`retry.backoff.ms`, 100).
    pub retry_backoff_ms: u64,
    /// `request.timeout.ms` for the broker's own calls (default 30000).
    pub request_timeout_ms: u64,
    /// `replica.fetch.wait.max.ms` (default 500).
    pub replica_fetch_wait_max_ms: i32,
    /// `replica.fetch.min.bytes` (default 1).
    pub replica_fetch_min_bytes: i32,
    /// `replica.fetch.max.bytes` (default 1048576), per partition.
    pub replica_fetch_max_bytes: i32,
    /// `replica.fetch.response.max.bytes` (default 10485760).
    pub replica_fetch_response_max_bytes: i32,
    /// `replica.fetch.backoff.ms` (default 1000): pause after a failed replica fetch.
    pub replica_fetch_backoff_ms: u64,
    /// Leader-side replication settings (`replica.lag.time.max.ms`, `min.insync.replicas`).
    pub replication: ReplicationConfig,
    /// Settings of the logs this broker creates (`max.message.bytes`, `cleanup.policy`, ...).
    pub log: LogConfig,
    /// How often the simulated OS writes dirty pages back (Linux `dirty_writeback_centisecs`, 5 s):
    /// every log is flushed this often. Kafka's own `log.flush.interval.ms` is unset by default (the OS
    /// decides), so a crash loses what was appended since the last writeback. `None`: never (only clean
    /// shutdowns flush).
    pub page_cache_flush_interval_ms: Option<u64>,
    /// `cluster.id`.
    pub cluster_id: String,
}

impl BrokerConfig {
    /// Kafka's defaults for broker `broker_id` at `advertised_addr`, with a controller at
    /// `controller_addr`.
    pub fn new(
        broker_id: BrokerId,
        advertised_addr: SocketAddr,
        controller_addr: SocketAddr,
    ) -> Self {
        BrokerConfig {
            broker_id,
            advertised_addr,
            rack: None,
            incarnation_id: 0,
            controller_addr,
            heartbeat_interval_ms: 2000,
            retry_backoff_ms: 100,
            request_timeout_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_min_bytes: 1,
            replica_fetch_max_bytes: 1_048_576,
            replica_fetch_response_max_bytes: 10_485_760,
            replica_fetch_backoff_ms: 1000,
            replication: ReplicationConfig::default(),
            log: LogConfig::default(),
            page_cache_flush_interval_ms: Some(5_000),
            cluster_id: "sharesim".to_string(),
        }
    }
}
