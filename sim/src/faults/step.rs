//! The primitive actions a fault plan is carried out with, and the trait the harness implements to carry
//! them out. A lever expands into one or more steps (a partition into clogs now and unclogs later; a
//! swizzle-clog into one clog per node per step), each recorded in the trace as it happens.

use std::fmt;

use super::lever::{api_name, CoordinatorKind, FaultNode, LockTimerOrder, LogStartCause};
use crate::net::{ApiKeySelector, FaultRule};

/// One action on the simulated cluster.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultStep {
    /// Kill a broker node (madsim `Handle::kill`), optionally losing its unflushed data.
    CrashBroker {
        /// Broker id.
        broker: u32,
        /// Lose what was not flushed.
        lose_unflushed: bool,
    },
    /// Restart a killed broker (it recovers from its disk).
    RestartBroker {
        /// Broker id.
        broker: u32,
    },
    /// Cut a node off from every other node (`NetSim::clog_node`).
    ClogNode {
        /// The node.
        node: FaultNode,
    },
    /// Undo [`FaultStep::ClogNode`] (`NetSim::unclog_node`).
    UnclogNode {
        /// The node.
        node: FaultNode,
    },
    /// Lose messages from `from` to `to` (`NetSim::clog_link`; one direction).
    ClogLink {
        /// Sender.
        from: FaultNode,
        /// Receiver.
        to: FaultNode,
    },
    /// Undo [`FaultStep::ClogLink`] (`NetSim::unclog_link`).
    UnclogLink {
        /// Sender.
        from: FaultNode,
        /// Receiver.
        to: FaultNode,
    },
    /// Set the transport's rule for some API keys (`NetFaults::set_rule`).
    SetNetRule {
        /// The API keys.
        selector: ApiKeySelector,
        /// The rule (already merged with other open windows on the same keys).
        rule: FaultRule,
    },
    /// Remove the transport's rule for some API keys (`NetFaults::clear_rule`).
    ClearNetRule {
        /// The API keys.
        selector: ApiKeySelector,
    },
    /// Make persister calls of one RPC fail with an error on every broker ([`super::PersisterFailSwitch`]).
    SetPersisterFailure {
        /// The persister RPC.
        api_key: i16,
        /// Per-call probability.
        probability: f64,
        /// Kafka's error code.
        error_code: i16,
    },
    /// Stop failing persister calls of one RPC.
    ClearPersisterFailure {
        /// The persister RPC.
        api_key: i16,
    },
    /// Order lock timers against same-instant handlers on every broker ([`super::LockTimerSwitch`]);
    /// `None` restores the natural order.
    SetLockTimerOrder {
        /// The order.
        order: Option<LockTimerOrder>,
    },
    /// Make `to` (or, when `None`, the next ISR replica) the partition's leader. The target answers
    /// [`StepOutcome::LeaderMoved`] so the scheduler can move leadership back.
    MoveLeader {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// The new leader.
        to: Option<u32>,
    },
    /// Let the partition's current leader lose leadership but keep acting (and writing) with its epoch.
    StartZombie {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
    },
    /// Stop the zombie: it learns it is no longer the leader.
    StopZombie {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
    },
    /// Move a coordinator to another broker.
    FailOverCoordinator {
        /// Which.
        kind: CoordinatorKind,
        /// The group (`None`: the first group).
        group: Option<String>,
    },
    /// Move a partition's log start offset.
    MoveLogStart {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// The new log start offset.
        offset: i64,
        /// Why.
        cause: LogStartCause,
    },
    /// Run the log cleaner.
    Compact {
        /// Topic name.
        topic: String,
        /// One partition, or all.
        partition: Option<i32>,
    },
    /// Flip bytes of the batch holding `offset` on a replica's disk.
    CorruptBatch {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// An offset inside the batch.
        offset: i64,
        /// The replica (`None`: the leader).
        broker: Option<u32>,
    },
    /// Kill a consumer node.
    CrashConsumer {
        /// The consumer.
        consumer: FaultNode,
    },
    /// Start a new instance of a killed consumer.
    RestartConsumer {
        /// The consumer.
        consumer: FaultNode,
    },
    /// The consumer's application stops polling.
    StallConsumer {
        /// The consumer.
        consumer: FaultNode,
    },
    /// The consumer's application polls again.
    ResumeConsumer {
        /// The consumer.
        consumer: FaultNode,
    },
    /// The consumer opens a new connection; the old one's close reaches the broker late.
    ReconnectWithLateClose {
        /// The consumer.
        consumer: FaultNode,
        /// How late the old close arrives.
        close_delay_ms: u64,
    },
    /// Set a node's clock ([`crate::clock::SharedNodeClock::set`]).
    SetClock {
        /// The node.
        node: FaultNode,
        /// Offset in ms.
        skew_ms: i64,
        /// Drift in ppm.
        drift_ppm: i64,
    },
    /// Send AlterShareGroupOffsets to the group's coordinator (spec 5.3); the answer goes to the trace.
    AlterShareGroupOffsets {
        /// The share group.
        group: String,
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// The new start offset.
        start_offset: i64,
    },
}

impl fmt::Display for FaultStep {
    /// The trace's `detail` text: the action and its parameters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultStep::CrashBroker {
                broker,
                lose_unflushed,
            } => write!(f, "crash broker:{broker} lose_unflushed={lose_unflushed}"),
            FaultStep::RestartBroker { broker } => write!(f, "restart broker:{broker}"),
            FaultStep::ClogNode { node } => write!(f, "clog {node}"),
            FaultStep::UnclogNode { node } => write!(f, "unclog {node}"),
            FaultStep::ClogLink { from, to } => write!(f, "clog link {from} -> {to}"),
            FaultStep::UnclogLink { from, to } => write!(f, "unclog link {from} -> {to}"),
            FaultStep::SetNetRule { selector, rule } => write!(
                f,
                "net rule {} {:?} drop={} duplicate={} delay={}@{}..={}ms reorder={}@{}ms",
                selector_name(*selector),
                rule.direction,
                rule.drop_probability,
                rule.duplicate_probability,
                rule.delay_probability,
                rule.delay_min_ms,
                rule.delay_max_ms,
                rule.reorder_probability,
                rule.reorder_window_ms
            ),
            FaultStep::ClearNetRule { selector } => {
                write!(f, "clear net rule {}", selector_name(*selector))
            }
            FaultStep::SetPersisterFailure {
                api_key,
                probability,
                error_code,
            } => write!(
                f,
                "fail {} p={probability} error={error_code}",
                api_name(*api_key)
            ),
            FaultStep::ClearPersisterFailure { api_key } => {
                write!(f, "stop failing {}", api_name(*api_key))
            }
            FaultStep::SetLockTimerOrder { order } => match order {
                Some(order) => write!(f, "lock timers {order:?}"),
                None => f.write_str("lock timers natural order"),
            },
            FaultStep::MoveLeader {
                topic,
                partition,
                to,
            } => match to {
                Some(to) => write!(f, "move leader {topic}-{partition} to broker:{to}"),
                None => write!(f, "move leader {topic}-{partition} to next ISR replica"),
            },
            FaultStep::StartZombie { topic, partition } => {
                write!(f, "zombie leader {topic}-{partition}")
            }
            FaultStep::StopZombie { topic, partition } => {
                write!(f, "zombie leader {topic}-{partition} stops")
            }
            FaultStep::FailOverCoordinator { kind, group } => write!(
                f,
                "fail over {kind:?} coordinator of {}",
                group.as_deref().unwrap_or("the first group")
            ),
            FaultStep::MoveLogStart {
                topic,
                partition,
                offset,
                cause,
            } => write!(f, "log start {topic}-{partition} to {offset} ({cause:?})"),
            FaultStep::Compact { topic, partition } => match partition {
                Some(partition) => write!(f, "compact {topic}-{partition}"),
                None => write!(f, "compact {topic}"),
            },
            FaultStep::CorruptBatch {
                topic,
                partition,
                offset,
                broker,
            } => match broker {
                Some(broker) => {
                    write!(f, "corrupt {topic}-{partition}@{offset} on broker:{broker}")
                }
                None => write!(f, "corrupt {topic}-{partition}@{offset} on the leader"),
            },
            FaultStep::CrashConsumer { consumer } => write!(f, "crash {consumer}"),
            FaultStep::RestartConsumer { consumer } => write!(f, "restart {consumer}"),
            FaultStep::StallConsumer { consumer } => write!(f, "stall {consumer}"),
            FaultStep::ResumeConsumer { consumer } => write!(f, "resume {consumer}"),
            FaultStep::ReconnectWithLateClose {
                consumer,
                close_delay_ms,
            } => write!(f, "reconnect {consumer}, old close {close_delay_ms}ms late"),
            FaultStep::SetClock {
                node,
                skew_ms,
                drift_ppm,
            } => write!(f, "clock {node} skew={skew_ms}ms drift={drift_ppm}ppm"),
            FaultStep::AlterShareGroupOffsets {
                group,
                topic,
                partition,
                start_offset,
            } => write!(
                f,
                "AlterShareGroupOffsets {group} {topic}-{partition} to {start_offset}"
            ),
        }
    }
}

fn selector_name(selector: ApiKeySelector) -> String {
    match selector {
        ApiKeySelector::All => "all APIs".to_string(),
        ApiKeySelector::Key(key) => api_name(key),
    }
}

/// What a step did, when the scheduler needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// Done.
    Done,
    /// Leadership moved away from `from` (a bounce moves it back there).
    LeaderMoved {
        /// The previous leader.
        from: u32,
    },
}

/// Why a step could not be carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// The harness cannot pull this lever (yet).
    Unsupported(String),
    /// The lever names something the cluster does not have (a broker, a topic, a consumer).
    UnknownTarget(String),
    /// The cluster refused (no other ISR replica to move leadership to, a bad clock setting, ...).
    Refused(String),
}

impl fmt::Display for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultError::Unsupported(what) => write!(f, "unsupported fault: {what}"),
            FaultError::UnknownTarget(what) => write!(f, "unknown fault target: {what}"),
            FaultError::Refused(why) => write!(f, "fault refused: {why}"),
        }
    }
}

impl std::error::Error for FaultError {}

/// One line for the trace: a lever pulled or released (`TraceEvent::Fault`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRecord {
    /// Virtual time.
    pub at_ms: u64,
    /// The lever's scenario name (`broker_crash`, ...), or `liveness` for the final heal.
    pub lever: &'static str,
    /// `pull: ...`, `release: ...` or `skipped: ... (why)`.
    pub detail: String,
}

/// The simulated cluster as the fault scheduler sees it: it carries out steps and records them. The
/// harness implements it; tests implement it with a log.
pub trait FaultTarget {
    /// Carries out one step now.
    fn apply(&mut self, step: &FaultStep) -> Result<StepOutcome, FaultError>;
    /// Writes one `TraceEvent::Fault` to the run's trace.
    fn record(&mut self, record: FaultRecord);
}
