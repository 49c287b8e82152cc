//! The fault scheduler's target on the cluster backend: the [`SimCluster`] harness's own levers (broker
//! crash and restart, node and link clogs between brokers and the controller, the transport's per-API
//! rules, broker and controller clocks, the brokers' persister-failure and lock-timer-order switches,
//! leadership moves through the
//! controller, zombie leaders cut off from the controller, the log-data levers on the brokers' disks:
//! log-start moves, compaction, corrupt batches), coordinator failover (the coordinator's broker cut off
//! from the controller until it is fenced), plus the clients this backend owns: consumer crash, restart
//! (a new member), stall and resume, reconnect with the old connections' closes arriving late, clock
//! skew and drift (see [`Consumers::set_clock`] and `spawn_producers`), and network partitions naming
//! consumers or producers. What neither can do answers `Unsupported`, which
//! the scheduler records in the trace as `skipped: ... (why)` and the run's facts list as skipped
//! faults.

use std::time::Duration;

use madsim::net::NetSim;
use madsim::task::NodeId;
use sharesim_sim::broker::ClusterEvent;
use sharesim_sim::coordinator::placement::{
    GROUP_METADATA_TOPIC_NAME, SHARE_GROUP_STATE_TOPIC_NAME,
};
use sharesim_sim::faults::{
    CoordinatorKind, FaultError, FaultNode, FaultRecord, FaultStep, FaultTarget, StepOutcome,
};
use sharesim_sim::harness::SimCluster;
use sharesim_sim::trace::{TraceEvent, TraceRecord};

use super::setup::ClusterSetup;
use super::workload::Consumers;

/// The cluster and its clients, as the fault scheduler drives them.
pub(super) struct ClusterFaultTarget<'a> {
    cluster: &'a mut SimCluster,
    consumers: &'a mut Consumers,
    initial_clocks: Vec<(FaultNode, i64, i64)>,
}

impl<'a> ClusterFaultTarget<'a> {
    /// The target for one run.
    pub(super) fn new(
        cluster: &'a mut SimCluster,
        consumers: &'a mut Consumers,
        setup: &ClusterSetup,
    ) -> ClusterFaultTarget<'a> {
        ClusterFaultTarget {
            cluster,
            consumers,
            initial_clocks: setup.initial_clocks.clone(),
        }
    }

    /// Sets `cluster.clocks` (recorded as `clock` faults: applied, or skipped with the reason).
    pub(super) fn set_initial_clocks(&mut self, at_ms: u64) {
        for (node, skew_ms, drift_ppm) in self.initial_clocks.clone() {
            let step = FaultStep::SetClock {
                node,
                skew_ms,
                drift_ppm,
            };
            let detail = match self.apply(&step) {
                Ok(_) => format!("pull: {step}"),
                Err(error) => format!("skipped: {step} ({error})"),
            };
            self.record(FaultRecord {
                at_ms,
                lever: "clock",
                detail,
            });
        }
    }

    /// The madsim nodes of a fault node: the harness's brokers and controller, or this backend's
    /// clients.
    fn nodes(&mut self, node: FaultNode) -> Result<Vec<NodeId>, FaultError> {
        match node {
            FaultNode::Broker(broker) => {
                let id = i32::try_from(broker)
                    .ok()
                    .and_then(|id| self.cluster.broker_node_id(id))
                    .ok_or_else(|| FaultError::UnknownTarget(node.to_string()))?;
                Ok(vec![id])
            }
            FaultNode::Controller => Ok(vec![self.cluster.controller_node_id()]),
            FaultNode::Producer(_) | FaultNode::Consumer { .. } => self.consumers.node_ids(node),
        }
    }

    /// Clogs or unclogs every link between the nodes of `from` and `to` (one direction).
    fn clog_links(&mut self, from: FaultNode, to: FaultNode, clog: bool) -> Result<(), FaultError> {
        let net = NetSim::current();
        for a in self.nodes(from)? {
            for b in self.nodes(to)? {
                if clog {
                    net.clog_link(a, b);
                } else {
                    net.unclog_link(a, b);
                }
            }
        }
        Ok(())
    }
}

impl ClusterFaultTarget<'_> {
    /// The `share_coordinator_failover` / `group_coordinator_failover` levers. The controller has no
    /// request to move one partition's leadership, so the coordinator moves the way it does when its
    /// broker loses the controller: the broker leading the coordinator's internal topic partition
    /// (`__share_group_state`-0 or `__consumer_offsets`-0, as its last `became_leader` in the trace
    /// says) is cut off from the controller both ways for [`COORDINATOR_ISOLATION_MS`], past
    /// `broker.session.timeout.ms`. The controller fences it and elects new leaders for what it led
    /// (the coordinator's partition among them, so the new coordinator loads the topic by replay); then
    /// the links heal and it rejoins as a follower. Its clients' connections stay up throughout.
    fn fail_over_coordinator(&mut self, kind: CoordinatorKind) -> Result<(), FaultError> {
        let topic = match kind {
            CoordinatorKind::Share => SHARE_GROUP_STATE_TOPIC_NAME,
            CoordinatorKind::Group => GROUP_METADATA_TOPIC_NAME,
        };
        let leader = self
            .cluster
            .trace()
            .with(|trace| coordinator_leader(trace.records().unwrap_or_default(), topic))
            .ok_or_else(|| FaultError::Refused(format!("no leader of {topic}-0 seen yet")))?;
        let broker = self.nodes(FaultNode::Broker(leader))?;
        let controller = self.cluster.controller_node_id();
        let net = NetSim::current();
        for &node in &broker {
            net.clog_link(node, controller);
            net.clog_link(controller, node);
        }
        // Detached: the links heal on their own, whatever the fault scheduler does meanwhile.
        drop(madsim::task::spawn(async move {
            madsim::time::sleep(Duration::from_millis(COORDINATOR_ISOLATION_MS)).await;
            let net = NetSim::current();
            for node in broker {
                net.unclog_link(node, controller);
                net.unclog_link(controller, node);
            }
        }));
        Ok(())
    }
}

/// How long a coordinator's broker is cut off from the controller: `broker.session.timeout.ms` (9 s)
/// plus a heartbeat interval and some margin, so the controller fences it.
const COORDINATOR_ISOLATION_MS: u64 = 12_000;

/// The broker that last became leader of `topic`-0, from the brokers' `became_leader` events.
fn coordinator_leader(records: &[TraceRecord], topic: &str) -> Option<u32> {
    records.iter().rev().find_map(|record| match &record.event {
        TraceEvent::Cluster {
            event:
                ClusterEvent::BecameLeader {
                    topic: led,
                    partition: 0,
                    ..
                },
        } if led == topic => record.node.strip_prefix("broker-")?.parse().ok(),
        _ => None,
    })
}

fn is_client(node: FaultNode) -> bool {
    matches!(node, FaultNode::Producer(_) | FaultNode::Consumer { .. })
}

impl FaultTarget for ClusterFaultTarget<'_> {
    fn apply(&mut self, step: &FaultStep) -> Result<StepOutcome, FaultError> {
        match step {
            FaultStep::CrashConsumer { consumer } => self.consumers.crash(*consumer)?,
            FaultStep::RestartConsumer { consumer } => {
                self.consumers.restart(self.cluster, *consumer)?
            }
            FaultStep::StallConsumer { consumer } => self.consumers.pause(*consumer, true)?,
            FaultStep::ResumeConsumer { consumer } => self.consumers.pause(*consumer, false)?,
            FaultStep::ReconnectWithLateClose {
                consumer,
                close_delay_ms,
            } => self.consumers.reconnect(*consumer, *close_delay_ms)?,
            FaultStep::ClogNode { node } if is_client(*node) => {
                let net = NetSim::current();
                self.nodes(*node)?
                    .into_iter()
                    .for_each(|id| net.clog_node(id));
            }
            FaultStep::UnclogNode { node } if is_client(*node) => {
                let net = NetSim::current();
                self.nodes(*node)?
                    .into_iter()
                    .for_each(|id| net.unclog_node(id));
            }
            FaultStep::ClogLink { from, to } if is_client(*from) || is_client(*to) => {
                self.clog_links(*from, *to, true)?
            }
            FaultStep::UnclogLink { from, to } if is_client(*from) || is_client(*to) => {
                self.clog_links(*from, *to, false)?
            }
            FaultStep::SetClock {
                node,
                skew_ms,
                drift_ppm,
            } if is_client(*node) => self.consumers.set_clock(*node, *skew_ms, *drift_ppm)?,
            FaultStep::FailOverCoordinator { kind, .. } => self.fail_over_coordinator(*kind)?,
            FaultStep::AlterShareGroupOffsets {
                group,
                topic,
                partition,
                start_offset,
            } => super::admin::spawn_alter_share_group_offsets(
                self.cluster,
                super::admin::AlterOffsets {
                    group: group.clone(),
                    topic: topic.clone(),
                    partition: *partition,
                    start_offset: *start_offset,
                },
            ),
            _ => return self.cluster.apply(step),
        }
        Ok(StepOutcome::Done)
    }

    fn record(&mut self, record: FaultRecord) {
        self.cluster.record(record);
    }
}
