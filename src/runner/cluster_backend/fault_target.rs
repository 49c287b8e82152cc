//! The fault scheduler's target on the cluster backend: the [`SimCluster`] harness's own levers (broker
//! crash and restart, node and link clogs between brokers and the controller, the transport's per-API
//! rules, broker clocks), plus the clients this backend owns: consumer crash, restart (a new member),
//! stall and resume, and network partitions naming consumers or producers. What neither can do answers
//! `Unsupported`, which the scheduler records in the trace as `skipped: ... (why)` and the run's facts
//! list as skipped faults.

use madsim::net::NetSim;
use madsim::task::NodeId;
use sharesim_sim::faults::{
    FaultError, FaultNode, FaultRecord, FaultStep, FaultTarget, StepOutcome,
};
use sharesim_sim::harness::SimCluster;

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
            FaultStep::SetPersisterFailure { .. } | FaultStep::ClearPersisterFailure { .. } => {
                return Err(FaultError::Unsupported(
                    "the cluster's brokers do not consult the persister-failure switch yet \
                     (persister hold/delay/drop/duplicate/time-out work through the transport)"
                        .to_string(),
                ))
            }
            FaultStep::SetLockTimerOrder { .. } => {
                return Err(FaultError::Unsupported(
                    "the cluster's brokers do not consult the lock-timer switch yet".to_string(),
                ))
            }
            FaultStep::MoveLeader { .. }
            | FaultStep::StartZombie { .. }
            | FaultStep::StopZombie { .. }
            | FaultStep::FailOverCoordinator { .. } => {
                return Err(FaultError::Unsupported(
                    "the cluster's controller cannot move a partition's leadership on request yet \
                     (a broker_crash moves it)"
                        .to_string(),
                ))
            }
            _ => return self.cluster.apply(step),
        }
        Ok(StepOutcome::Done)
    }

    fn record(&mut self, record: FaultRecord) {
        self.cluster.record(record);
    }
}
