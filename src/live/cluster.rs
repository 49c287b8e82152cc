//! Starting a live cluster: bind every listener first (so `--port 0` picks free ports and each broker's
//! metadata advertises the port it really has), spawn the controller and broker drivers on the current
//! `LocalSet`, wait until every broker is registered, and create the internal topics the share-group
//! and transaction coordinators live on (as the simulation harness does up front).

use std::net::SocketAddr;
use std::time::Duration;

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{
    CreateTopicsRequest, MetadataRequest, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sharesim_sim::broker::BrokerConfig;
use sharesim_sim::cluster::controller::ControllerConfig;
use sharesim_sim::coordinator::placement::{
    GROUP_METADATA_TOPIC_NAME, SHARE_GROUP_STATE_TOPIC_NAME, TRANSACTION_STATE_TOPIC_NAME,
};
use sharesim_sim::harness::{
    combine_services, share_group_services, transaction_services, ShareGroupServicesConfig,
};
use sharesim_sim::node::SharedTrace;
use sharesim_sim::trace::Trace;
use sharesim_sim::ResponseError;

use super::broker_driver::{run_live_broker, LiveBrokerSetup};
use super::caller::LiveCaller;
use super::clock::LiveClock;
use super::controller_driver::run_live_controller;
use super::listener::bind_loopback;

/// How to start a live cluster.
#[derive(Clone, Debug)]
pub struct LiveClusterConfig {
    /// Number of brokers (ids 1..=N).
    pub brokers: i32,
    /// Broker 1's port; broker k listens on `port + k - 1`. 0: every listener takes a free port.
    pub port: u16,
    /// The share-group services every broker runs.
    pub services: ShareGroupServicesConfig,
    /// The controller's settings.
    pub controller: ControllerConfig,
    /// Topics created at start (name, partitions), replicated `min(3, brokers)` times.
    pub topics: Vec<(String, i32)>,
}

impl Default for LiveClusterConfig {
    fn default() -> Self {
        LiveClusterConfig {
            brokers: 1,
            port: 0,
            services: ShareGroupServicesConfig::default(),
            controller: ControllerConfig::default(),
            topics: Vec::new(),
        }
    }
}

/// A started live cluster.
#[derive(Clone, Debug)]
pub struct LiveCluster {
    /// Every broker's address, broker 1 first (the bootstrap servers).
    pub broker_addrs: Vec<SocketAddr>,
    /// The controller's address.
    pub controller_addr: SocketAddr,
    /// The run's trace (records kept for the oracle).
    pub trace: SharedTrace,
    /// The run's clock.
    pub clock: LiveClock,
}

/// Metadata and CreateTopics versions the server's own admin steps use.
const METADATA_VERSION: i16 = 12;
const CREATE_TOPICS_VERSION: i16 = 5;
const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);
const STARTUP_ROUNDS: u32 = 300;
const STARTUP_BACKOFF: Duration = Duration::from_millis(100);

impl LiveCluster {
    /// Binds, spawns every node on the current `LocalSet` and waits until the cluster serves clients.
    pub async fn start(config: LiveClusterConfig) -> Result<LiveCluster, String> {
        if !(1..=64).contains(&config.brokers) {
            return Err(format!("--brokers {} is not in 1..=64", config.brokers));
        }
        let mut listeners = Vec::new();
        for index in 0..config.brokers {
            let port = match config.port {
                0 => 0,
                first => u16::try_from(i32::from(first) + index)
                    .map_err(|_| format!("port {first} + {index} is above 65535"))?,
            };
            let listener = bind_loopback(port)
                .await
                .map_err(|error| format!("cannot listen on 127.0.0.1:{port}: {error}"))?;
            listeners.push(listener);
        }
        let controller_listener = bind_loopback(0)
            .await
            .map_err(|error| format!("cannot listen for the controller: {error}"))?;
        let controller_addr = controller_listener
            .local_addr()
            .map_err(|error| error.to_string())?;
        let clock = LiveClock::start();
        let trace = SharedTrace::new(Trace::keeping_records());
        tokio::task::spawn_local(run_live_controller(
            controller_listener,
            config.controller,
            clock,
            trace.clone(),
            "controller".to_string(),
        ));
        let mut services_config = config.services.clone();
        // One broker cannot meet a min ISR of 2: cap it at the broker count, as the replication is.
        let min_isr = services_config.internal_topics.share_state_topic_min_isr;
        services_config.internal_topics.share_state_topic_min_isr = min_isr.min(config.brokers);
        // `__transaction_state` on one partition, as the other internal topics of a live run (one
        // coordinator per key type is plenty on loopback and starts fast).
        services_config
            .internal_topics
            .transaction_state_topic_num_partitions = 1;
        services_config
            .internal_topics
            .transaction_state_topic_min_isr = services_config
            .internal_topics
            .transaction_state_topic_min_isr
            .min(config.brokers);
        // The transaction coordinator answers InitProducerId: the idempotent producers of the Java
        // client (enable.idempotence=true by default) and librdkafka need a producer id before producing.
        let services = combine_services(vec![
            share_group_services(services_config.clone()),
            transaction_services(services_config.internal_topics.clone()),
        ]);
        let mut broker_addrs = Vec::new();
        for (broker_id, listener) in (1..).zip(listeners) {
            let addr = listener.local_addr().map_err(|error| error.to_string())?;
            broker_addrs.push(addr);
            let broker_config = BrokerConfig::new(broker_id, addr, controller_addr);
            tokio::task::spawn_local(run_live_broker(LiveBrokerSetup {
                config: broker_config,
                listener,
                services: services.clone(),
                clock,
                trace: trace.clone(),
                node_name: format!("broker-{broker_id}"),
            }));
        }
        let cluster = LiveCluster {
            broker_addrs,
            controller_addr,
            trace,
            clock,
        };
        let admin = LiveCaller::new("sharesim-serve");
        cluster.wait_for_brokers(&admin, config.brokers).await?;
        let replication_cap = i16::try_from(config.brokers).unwrap_or(i16::MAX);
        let internal = &services_config.internal_topics;
        for (name, partitions, replication_factor) in [
            (
                SHARE_GROUP_STATE_TOPIC_NAME,
                internal.share_state_topic_num_partitions,
                internal.share_state_topic_replication_factor,
            ),
            (
                GROUP_METADATA_TOPIC_NAME,
                internal.offsets_topic_num_partitions,
                internal.offsets_topic_replication_factor,
            ),
            (
                TRANSACTION_STATE_TOPIC_NAME,
                internal.transaction_state_topic_num_partitions,
                internal.transaction_state_topic_replication_factor,
            ),
        ] {
            cluster
                .create_topic(
                    &admin,
                    name,
                    partitions,
                    replication_factor.min(replication_cap),
                )
                .await?;
        }
        for (name, partitions) in &config.topics {
            cluster
                .create_topic(&admin, name, *partitions, replication_cap.min(3))
                .await?;
        }
        Ok(cluster)
    }

    /// Waits until broker 1's metadata lists `count` brokers.
    async fn wait_for_brokers(&self, admin: &LiveCaller, count: i32) -> Result<(), String> {
        for _ in 0..STARTUP_ROUNDS {
            let request =
                RequestKind::Metadata(MetadataRequest::default().with_topics(Some(vec![])));
            let answer = admin
                .call(
                    self.broker_addrs[0],
                    METADATA_VERSION,
                    request,
                    ADMIN_TIMEOUT,
                )
                .await;
            if let Ok(ResponseKind::Metadata(metadata)) = answer {
                if metadata.brokers.len() >= count as usize {
                    return Ok(());
                }
            }
            tokio::time::sleep(STARTUP_BACKOFF).await;
        }
        Err(format!("{count} brokers did not register in time"))
    }

    /// Creates a topic through broker 1 and waits until every partition has a leader.
    async fn create_topic(
        &self,
        admin: &LiveCaller,
        name: &str,
        partitions: i32,
        replication_factor: i16,
    ) -> Result<(), String> {
        let topic_name = TopicName(StrBytes::from_string(name.to_string()));
        let request = CreateTopicsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(vec![CreatableTopic::default()
                .with_name(topic_name.clone())
                .with_num_partitions(partitions)
                .with_replication_factor(replication_factor)]);
        let answer = admin
            .call(
                self.broker_addrs[0],
                CREATE_TOPICS_VERSION,
                RequestKind::CreateTopics(request),
                ADMIN_TIMEOUT,
            )
            .await;
        match answer {
            Ok(ResponseKind::CreateTopics(response)) => {
                let code = response.topics.first().map_or(0, |t| t.error_code);
                if code != 0 && code != ResponseError::TopicAlreadyExists.code() {
                    return Err(format!("creating {name} failed with error code {code}"));
                }
            }
            other => return Err(format!("creating {name} failed: {other:?}")),
        }
        for _ in 0..STARTUP_ROUNDS {
            let request = MetadataRequest::default().with_topics(Some(vec![
                kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
                    .with_name(Some(topic_name.clone())),
            ]));
            let answer = admin
                .call(
                    self.broker_addrs[0],
                    METADATA_VERSION,
                    RequestKind::Metadata(request),
                    ADMIN_TIMEOUT,
                )
                .await;
            if let Ok(ResponseKind::Metadata(metadata)) = answer {
                let led = metadata.topics.iter().all(|t| {
                    t.error_code == 0
                        && t.partitions.len() == partitions as usize
                        && t.partitions
                            .iter()
                            .all(|p| p.error_code == 0 && p.leader_id.0 >= 0)
                });
                if led && !metadata.topics.is_empty() {
                    return Ok(());
                }
            }
            tokio::time::sleep(STARTUP_BACKOFF).await;
        }
        Err(format!("{name} got no leaders in time"))
    }
}
