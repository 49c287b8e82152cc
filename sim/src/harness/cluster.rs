//! [`SimCluster`]: the madsim nodes of one run.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use madsim::net::NetSim;
use madsim::runtime::{Handle, NodeHandle};
use madsim::task::NodeId;

use super::test_client::TestClient;
use crate::broker::BrokerConfig;
use crate::cluster::controller::ControllerConfig;
use crate::cluster::BrokerId;
use crate::faults::BrokerFaultSwitches;
use crate::log::LogStore;
use crate::net::NetFaults;
use crate::node::{
    run_broker, run_controller, BrokerNodeSetup, NodeClock, RunLimits, ServiceFactory,
    SharedController, SharedTrace,
};
use crate::trace::{Trace, TraceEvent, TraceHash};
use crate::ResponseError;

/// The Kafka port every broker listens on.
pub const BROKER_PORT: u16 = 9092;
/// The controller's port.
pub const CONTROLLER_PORT: u16 = 9093;

/// How to build a cluster.
#[derive(Clone)]
pub struct SimClusterConfig {
    /// Number of brokers (ids 1..=N).
    pub brokers: i32,
    /// The controller's settings.
    pub controller: ControllerConfig,
    /// Adjusts each broker's configuration (Kafka defaults otherwise).
    pub configure_broker: Arc<dyn Fn(&mut BrokerConfig) + Send + Sync>,
    /// The services plugged into every broker.
    pub services: ServiceFactory,
    /// Keep the trace's records (for the oracle), not only its hash.
    pub keep_trace_records: bool,
    /// The run's explicit limits (steps per virtual millisecond, trace records).
    pub limits: RunLimits,
}

impl Default for SimClusterConfig {
    fn default() -> Self {
        SimClusterConfig {
            brokers: 3,
            controller: ControllerConfig::default(),
            configure_broker: Arc::new(|_| {}),
            services: Arc::new(|_| Vec::new()),
            keep_trace_records: false,
            limits: RunLimits::default(),
        }
    }
}

struct BrokerSlot {
    node: NodeHandle,
    store: LogStore,
    clock: NodeClock,
    addr: SocketAddr,
}

/// One run's cluster: a controller node and N broker nodes.
pub struct SimCluster {
    faults: NetFaults,
    /// The in-node fault switches every broker consults (persister failures).
    switches: BrokerFaultSwitches,
    trace: SharedTrace,
    controller_addr: SocketAddr,
    controller_node: NodeHandle,
    /// The controller's engine, for the administrator's requests (leadership moves).
    controller: SharedController,
    brokers: BTreeMap<BrokerId, BrokerSlot>,
    /// Zombie leaders: (topic, partition) → the old leader still acting ([`SimCluster::start_zombie`]).
    zombies: BTreeMap<(String, i32), BrokerId>,
    next_client_ip: AtomicU64,
}

impl SimCluster {
    /// Starts the nodes and waits until every broker is registered and unfenced.
    pub async fn start(config: SimClusterConfig) -> SimCluster {
        let handle = Handle::current();
        let faults = NetFaults::new();
        let switches = BrokerFaultSwitches::default();
        let trace = SharedTrace::with_limits(
            if config.keep_trace_records {
                Trace::keeping_records()
            } else {
                Trace::hashing_only()
            },
            config.limits.clone(),
        );
        let controller_addr = SocketAddr::new(IpAddr::from([10, 0, 0, 100]), CONTROLLER_PORT);
        let controller = SharedController::new(
            config.controller,
            NodeClock::new(),
            trace.clone(),
            "controller".to_string(),
        );
        let controller_node = {
            let (faults, controller) = (faults.clone(), controller.clone());
            handle
                .create_node()
                .name("controller")
                .ip(controller_addr.ip())
                .init(move || run_controller(controller_addr, controller.clone(), faults.clone()))
                .build()
        };
        let mut brokers = BTreeMap::new();
        for broker_id in 1..=config.brokers {
            let addr = SocketAddr::new(IpAddr::from([10, 0, 0, broker_id as u8]), BROKER_PORT);
            let mut broker_config = BrokerConfig::new(broker_id, addr, controller_addr);
            (config.configure_broker)(&mut broker_config);
            let store = LogStore::new();
            let clock = NodeClock::new();
            let name = format!("broker-{broker_id}");
            let setup = BrokerNodeSetup {
                config: broker_config,
                store: store.clone(),
                clock: clock.clone(),
                faults: faults.clone(),
                switches: switches.clone(),
                trace: trace.clone(),
                node_name: name.clone(),
                services: config.services.clone(),
                starts: Arc::new(AtomicU64::new(0)),
            };
            let node = handle
                .create_node()
                .name(name)
                .ip(addr.ip())
                .init(move || run_broker(setup.clone()))
                .build();
            brokers.insert(
                broker_id,
                BrokerSlot {
                    node,
                    store,
                    clock,
                    addr,
                },
            );
        }
        let cluster = SimCluster {
            faults,
            switches,
            trace,
            controller_addr,
            controller_node,
            controller,
            brokers,
            zombies: BTreeMap::new(),
            next_client_ip: AtomicU64::new(1),
        };
        cluster.wait_for_live_brokers(config.brokers as usize).await;
        cluster
    }

    /// The transport's fault controller (drop, delay, duplicate, reorder per API key).
    pub fn faults(&self) -> &NetFaults {
        &self.faults
    }

    /// The in-node fault switches of every broker (the `persister_fail` lever).
    pub fn fault_switches(&self) -> &BrokerFaultSwitches {
        &self.switches
    }

    /// The run's trace.
    pub fn trace(&self) -> &SharedTrace {
        &self.trace
    }

    /// The trace's hash so far.
    pub fn trace_hash(&self) -> TraceHash {
        self.trace.hash()
    }

    /// The controller's address.
    pub fn controller_addr(&self) -> SocketAddr {
        self.controller_addr
    }

    /// The controller's madsim node.
    pub fn controller_node_id(&self) -> NodeId {
        self.controller_node.id()
    }

    /// The controller's clock (set its skew).
    pub fn controller_clock(&self) -> &NodeClock {
        self.controller.clock()
    }

    /// The controller's engine (read its image, hand it an administrator's request).
    pub fn controller(&self) -> &SharedController {
        &self.controller
    }

    /// Moves a partition's leadership to `to`, or to the next live ISR replica (an administrator's
    /// election; see [`crate::cluster::controller::Controller::handle_move_leader`]). The brokers learn
    /// it from their next metadata pull, as they learn any election. Returns the previous leader.
    pub fn move_leader(
        &self,
        topic: &str,
        partition: i32,
        to: Option<BrokerId>,
    ) -> Result<BrokerId, ResponseError> {
        let moved = self
            .controller
            .with(|engine, now_ms| engine.handle_move_leader(now_ms, topic, partition, to));
        self.controller.record_decisions();
        moved.map(|moved| moved.old_leader)
    }

    /// Starts a zombie leader of `topic`-`partition` (the `zombie_leader` lever): the controller moves
    /// the leadership to the next live ISR replica, and the old leader is cut off from the controller
    /// both ways, so it never hears it lost the partition (nor, past `broker.session.timeout.ms`, that
    /// it was fenced) and goes on leading with its old leader epoch: it serves its clients and writes
    /// share-group state with that epoch, which the share coordinator fences once the new leader has
    /// read the state (spec 3.4, 3.5). Its links to the other brokers and to clients stay up. Returns
    /// the zombie.
    pub fn start_zombie(&mut self, topic: &str, partition: i32) -> Result<BrokerId, ResponseError> {
        let key = (topic.to_string(), partition);
        if self.zombies.contains_key(&key) {
            return Err(ResponseError::ElectionNotNeeded);
        }
        let leader = self
            .controller
            .with(|engine, _| engine.image().partition(topic, partition).map(|p| p.leader))
            .ok_or(ResponseError::UnknownTopicOrPartition)?;
        let zombie = self
            .broker_node_id(leader)
            .ok_or(ResponseError::LeaderNotAvailable)?;
        let moved_from = self.move_leader(topic, partition, None)?;
        debug_assert_eq!(moved_from, leader);
        let (net, controller) = (NetSim::current(), self.controller_node_id());
        net.clog_link(zombie, controller);
        net.clog_link(controller, zombie);
        self.zombies.insert(key, leader);
        Ok(leader)
    }

    /// Stops the zombie leader of `topic`-`partition`: its links to the controller heal (unless it is
    /// the zombie of another partition too), it learns the new metadata and follows. Returns the zombie,
    /// `None` if there was none.
    pub fn stop_zombie(&mut self, topic: &str, partition: i32) -> Option<BrokerId> {
        let broker = self.zombies.remove(&(topic.to_string(), partition))?;
        if !self.zombies.values().any(|&other| other == broker) {
            let (net, controller) = (NetSim::current(), self.controller_node_id());
            if let Some(zombie) = self.broker_node_id(broker) {
                net.unclog_link(zombie, controller);
                net.unclog_link(controller, zombie);
            }
        }
        Some(broker)
    }

    /// Broker ids, in order.
    pub fn broker_ids(&self) -> Vec<BrokerId> {
        self.brokers.keys().copied().collect()
    }

    /// Every broker's address (a client's bootstrap servers).
    pub fn bootstrap(&self) -> Vec<SocketAddr> {
        self.brokers.values().map(|b| b.addr).collect()
    }

    /// A broker's address.
    pub fn broker_addr(&self, broker_id: BrokerId) -> Option<SocketAddr> {
        self.brokers.get(&broker_id).map(|b| b.addr)
    }

    /// A broker's madsim node (for clogs, pauses).
    pub fn broker_node_id(&self, broker_id: BrokerId) -> Option<NodeId> {
        self.brokers.get(&broker_id).map(|b| b.node.id())
    }

    /// A broker's disk.
    pub fn store(&self, broker_id: BrokerId) -> Option<&LogStore> {
        self.brokers.get(&broker_id).map(|b| &b.store)
    }

    /// A broker's clock (set its skew).
    pub fn clock(&self, broker_id: BrokerId) -> Option<&NodeClock> {
        self.brokers.get(&broker_id).map(|b| &b.clock)
    }

    /// A new client node (`name`, on 10.0.1.x) to run clients on with `spawn`.
    pub fn client_node(&self, name: &str) -> NodeHandle {
        let n = self
            .next_client_ip
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ip = IpAddr::from([10, 0, 1 + (n / 250) as u8, (n % 250) as u8 + 1]);
        Handle::current().create_node().name(name).ip(ip).build()
    }

    /// A test client bootstrapped on every broker (use it inside a client node's task).
    pub fn test_client(&self, name: &str) -> TestClient {
        TestClient::new(name, self.bootstrap(), self.faults.clone())
    }

    /// Creates a topic through a broker (CreateTopics) and waits until every partition has a leader.
    pub async fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
    ) -> Result<(), ResponseError> {
        let client = self.test_client("admin");
        let topic = topic.to_string();
        self.client_node("admin")
            .spawn(async move {
                client
                    .create_topic(&topic, partitions, replication_factor)
                    .await?;
                client
                    .wait_for_leaders(&topic, partitions, Duration::from_secs(30))
                    .await
            })
            .await
            .unwrap_or(Err(ResponseError::UnknownServerError))
    }

    /// Kills a broker. With `lose_unflushed` its page cache dies with it (appends since the last flush
    /// are lost on restart); without, it flushes first (a clean shutdown).
    pub fn kill_broker(&self, broker_id: BrokerId, lose_unflushed: bool) {
        let Some(slot) = self.brokers.get(&broker_id) else {
            return;
        };
        if !lose_unflushed {
            slot.store.flush_all();
        } else {
            // A host crash loses the frames its kernel had not delivered yet, too.
            self.faults.host_crashed(slot.addr.ip());
        }
        self.record_fault(
            "broker_crash",
            format!("broker-{broker_id} lose_unflushed={lose_unflushed}"),
        );
        Handle::current().kill(slot.node.id());
    }

    /// Restarts a killed broker: it recovers its logs from disk and registers again.
    pub fn restart_broker(&self, broker_id: BrokerId) {
        let Some(slot) = self.brokers.get(&broker_id) else {
            return;
        };
        self.record_fault("broker_restart", format!("broker-{broker_id}"));
        Handle::current().restart(slot.node.id());
    }

    /// Records a fault event in the trace (the faults helper's levers use this too).
    pub fn record_fault(&self, lever: &str, detail: String) {
        let at_ms = madsim::time::TimeHandle::current().elapsed().as_millis() as u64;
        self.trace.record(
            at_ms,
            "sim",
            TraceEvent::Fault {
                lever: lever.to_string(),
                detail,
            },
        );
    }

    async fn wait_for_live_brokers(&self, count: usize) {
        let client = self.test_client("bootstrap");
        self.client_node("bootstrap")
            .spawn(async move {
                for _ in 0..600 {
                    if let Ok(metadata) = client.metadata(None).await {
                        if metadata.brokers.len() >= count {
                            return;
                        }
                    }
                    madsim::time::sleep(Duration::from_millis(100)).await;
                }
            })
            .await
            .ok();
    }
}
