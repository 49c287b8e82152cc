//! [`FaultTarget`] for the [`SimCluster`] harness: the levers it can pull today. Broker crash and restart
//! (with or without unflushed-data loss), node and link clogs (madsim's `NetSim`), the transport's
//! per-API-key rules (network and RPC faults, persister faults carried by rules), broker and controller
//! clock skew and drift, the brokers' in-node switches (persister calls failing with an error code; the
//! order of lock timers against same-instant requests, see `node/timer_race.rs`), leadership moves (the
//! controller elects the named or the next ISR replica with a bumped leader epoch; the brokers learn it
//! from their next metadata pull), zombie leaders (the old leader loses the partition at the controller
//! but is cut off from it, so it keeps leading with its old epoch until the zombie stops), and the
//! log-data levers on the brokers' disks (log-start moves, compaction, corrupt batches: see
//! `cluster_log_levers.rs`). Every other step answers [`FaultError::Unsupported`], which the scheduler
//! records in the trace as `skipped`: the clients (consumers, producers, their clocks) and coordinator
//! failover belong to the runner's target, which wraps this one.

use madsim::net::NetSim;
use madsim::runtime::Handle;
use madsim::task::NodeId;

use super::lever::FaultNode;
use super::step::{FaultError, FaultRecord, FaultStep, FaultTarget, StepOutcome};
use crate::cluster::BrokerId;
use crate::harness::SimCluster;

impl FaultTarget for SimCluster {
    fn apply(&mut self, step: &FaultStep) -> Result<StepOutcome, FaultError> {
        match step {
            FaultStep::CrashBroker {
                broker,
                lose_unflushed,
            } => {
                let id = broker_id(*broker)?;
                let node = self.broker_node_id(id).ok_or_else(|| unknown(step))?;
                if !lose_unflushed {
                    // A clean shutdown flushes first; a crash loses the page cache.
                    self.store(id).ok_or_else(|| unknown(step))?.flush_all();
                } else if let Some(addr) = self.broker_addr(id) {
                    // ... and the frames its kernel had not delivered yet.
                    self.faults().host_crashed(addr.ip());
                }
                Handle::current().kill(node);
            }
            FaultStep::RestartBroker { broker } => {
                let id = broker_id(*broker)?;
                let node = self.broker_node_id(id).ok_or_else(|| unknown(step))?;
                Handle::current().restart(node);
            }
            FaultStep::ClogNode { node } => NetSim::current().clog_node(self.node_id(*node)?),
            FaultStep::UnclogNode { node } => NetSim::current().unclog_node(self.node_id(*node)?),
            FaultStep::ClogLink { from, to } => {
                NetSim::current().clog_link(self.node_id(*from)?, self.node_id(*to)?)
            }
            FaultStep::UnclogLink { from, to } => {
                NetSim::current().unclog_link(self.node_id(*from)?, self.node_id(*to)?)
            }
            FaultStep::SetNetRule { selector, rule } => self.faults().set_rule(*selector, *rule),
            FaultStep::ClearNetRule { selector } => self.faults().clear_rule(*selector),
            FaultStep::SetClock {
                node: FaultNode::Broker(broker),
                skew_ms,
                drift_ppm,
            } => {
                let clock = self
                    .clock(broker_id(*broker)?)
                    .ok_or_else(|| unknown(step))?;
                clock
                    .set(*skew_ms, *drift_ppm)
                    .map_err(|error| FaultError::Refused(error.to_string()))?;
            }
            FaultStep::SetClock {
                node: FaultNode::Controller,
                skew_ms,
                drift_ppm,
            } => {
                // The controller reads one clock for everything, as the brokers do (its broker
                // sessions among them; Kafka's controller tracks those on a monotonic clock, so a
                // step there is harsher than in Kafka).
                self.controller_clock()
                    .set(*skew_ms, *drift_ppm)
                    .map_err(|error| FaultError::Refused(error.to_string()))?;
            }
            FaultStep::SetLockTimerOrder { order } => self.fault_switches().lock_timer.set(*order),
            FaultStep::SetPersisterFailure {
                api_key,
                probability,
                error_code,
            } => self
                .fault_switches()
                .persister
                .set(*api_key, *probability, *error_code),
            FaultStep::ClearPersisterFailure { api_key } => {
                self.fault_switches().persister.clear(*api_key)
            }
            FaultStep::MoveLeader {
                topic,
                partition,
                to,
            } => {
                let to = to.map(broker_id).transpose()?;
                let from = self
                    .move_leader(topic, *partition, to)
                    .map_err(|error| FaultError::Refused(format!("{error:?}")))?;
                // From no leader (-1) there is nothing to move back to.
                return Ok(u32::try_from(from)
                    .map_or(StepOutcome::Done, |from| StepOutcome::LeaderMoved { from }));
            }
            FaultStep::MoveLogStart {
                topic,
                partition,
                offset,
                ..
            } => self.move_log_start(topic, *partition, *offset)?,
            FaultStep::Compact { topic, partition } => self.compact_topic(topic, *partition)?,
            FaultStep::CorruptBatch {
                topic,
                partition,
                offset,
                broker,
            } => self.corrupt_batch_on_disk(topic, *partition, *offset, *broker)?,
            FaultStep::StartZombie { topic, partition } => {
                self.start_zombie(topic, *partition)
                    .map_err(|error| FaultError::Refused(format!("{error:?}")))?;
            }
            FaultStep::StopZombie { topic, partition } => {
                self.stop_zombie(topic, *partition).ok_or_else(|| {
                    FaultError::Refused(format!("{topic}-{partition} has no zombie leader"))
                })?;
            }
            _ => {
                return Err(FaultError::Unsupported(format!(
                    "the cluster harness cannot do `{step}` yet"
                )))
            }
        }
        Ok(StepOutcome::Done)
    }

    fn record(&mut self, record: FaultRecord) {
        self.record_fault(record.lever, record.detail);
    }
}

impl SimCluster {
    /// The madsim node of a broker or the controller (clients are not the harness's nodes).
    fn node_id(&self, node: FaultNode) -> Result<NodeId, FaultError> {
        match node {
            FaultNode::Broker(broker) => self
                .broker_node_id(broker_id(broker)?)
                .ok_or_else(|| FaultError::UnknownTarget(node.to_string())),
            FaultNode::Controller => Ok(self.controller_node_id()),
            other => Err(FaultError::Unsupported(format!(
                "the cluster harness has no node for {other}"
            ))),
        }
    }
}

fn broker_id(broker: u32) -> Result<BrokerId, FaultError> {
    BrokerId::try_from(broker).map_err(|_| FaultError::UnknownTarget(format!("broker:{broker}")))
}

fn unknown(step: &FaultStep) -> FaultError {
    FaultError::UnknownTarget(step.to_string())
}
