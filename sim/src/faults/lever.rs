//! The fault plan's vocabulary: every lever of the design's "Fault levers" list as a typed value, in the
//! simulator's own terms (numeric API keys, error codes, node references). The scenario file's faults map
//! onto these one to one (`sharesim::scenario::fault_plan`); swarm mode draws them per seed.

use std::fmt;
use std::str::FromStr;

use crate::net::FaultDirection;

/// A simulated node a fault names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultNode {
    /// Broker `id` (1-based).
    Broker(u32),
    /// The controller (dedicated, or the broker hosting it).
    Controller,
    /// Producer entry `index` (0-based).
    Producer(usize),
    /// Consumer entry `entry`; one instance, or every instance when `instance` is `None`.
    Consumer {
        /// Index of the entry.
        entry: usize,
        /// Instance within the entry.
        instance: Option<u32>,
    },
}

impl fmt::Display for FaultNode {
    /// The scenario file's spelling: `broker:2`, `controller`, `producer:0`, `consumer:1`, `consumer:1/3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultNode::Broker(id) => write!(f, "broker:{id}"),
            FaultNode::Controller => f.write_str("controller"),
            FaultNode::Producer(index) => write!(f, "producer:{index}"),
            FaultNode::Consumer {
                entry,
                instance: None,
            } => write!(f, "consumer:{entry}"),
            FaultNode::Consumer {
                entry,
                instance: Some(instance),
            } => write!(f, "consumer:{entry}/{instance}"),
        }
    }
}

/// The accepted spellings of a [`FaultNode`], for error messages.
pub const FAULT_NODE_FORMS: &str =
    "`broker:N`, `controller`, `producer:I`, `consumer:I` or `consumer:I/J`";

impl FromStr for FaultNode {
    type Err = String;

    /// Parses the scenario file's spelling (the inverse of `Display`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid node `{text}`: expected {FAULT_NODE_FORMS}");
        if text == "controller" {
            return Ok(FaultNode::Controller);
        }
        let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
        match kind {
            "broker" => rest.parse().map(FaultNode::Broker).map_err(|_| bad()),
            "producer" => rest.parse().map(FaultNode::Producer).map_err(|_| bad()),
            "consumer" => {
                let (entry, instance) = match rest.split_once('/') {
                    Some((entry, instance)) => (entry, Some(instance.parse().map_err(|_| bad())?)),
                    None => (rest, None),
                };
                Ok(FaultNode::Consumer {
                    entry: entry.parse().map_err(|_| bad())?,
                    instance,
                })
            }
            _ => Err(bad()),
        }
    }
}

/// The shape of a network partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartitionShape {
    /// Every listed node is cut off from every other node.
    Node,
    /// The two listed nodes cannot reach each other.
    Link,
    /// Messages from the first listed node to the second are lost; the reverse flows.
    OneDirection,
    /// FoundationDB's swizzle-clog: clog the nodes one by one every `step_ms`, then unclog them one by
    /// one in reverse order.
    SwizzleClog {
        /// Time between two steps.
        step_ms: u64,
    },
}

/// A network-wide message fault (every API key, both directions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NetworkFault {
    /// Every message gets an extra delay in `min_ms..=max_ms`.
    Delay {
        /// Least added delay.
        min_ms: u64,
        /// Most added delay.
        max_ms: u64,
    },
    /// Each message is lost with this probability.
    Loss {
        /// Per-message probability.
        probability: f64,
    },
    /// Each message is delivered twice with this probability.
    Duplicate {
        /// Per-message probability.
        probability: f64,
    },
    /// Each message is held back up to `max_delay_ms` with this probability.
    Reorder {
        /// Per-message probability.
        probability: f64,
        /// Longest hold-back.
        max_delay_ms: u64,
    },
}

/// A fault on one Kafka API's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpcFault {
    /// The messages are lost.
    Drop,
    /// Each message is held exactly `hold_ms`, then delivered.
    Hold {
        /// The hold.
        hold_ms: u64,
    },
    /// Each message is delayed by up to `delay_ms`.
    Delay {
        /// Longest added delay.
        delay_ms: u64,
    },
}

/// A fault on the share-partition leader's persister calls (spec 3.2) to the share coordinator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersisterFault {
    /// Each call is held `hold_ms` before it reaches the share coordinator.
    Hold {
        /// The hold.
        hold_ms: u64,
    },
    /// Each call fails with Kafka's `error_code`, without reaching the share coordinator.
    Fail {
        /// The error the persister reports.
        error_code: i16,
    },
    /// Each call reaches the share coordinator, but its answer is lost: the caller times out.
    Timeout,
    /// Calls are held up to `window_ms`, so later calls overtake them.
    Reorder {
        /// Longest hold-back.
        window_ms: u64,
    },
    /// Each call reaches the share coordinator twice.
    Duplicate,
}

/// Who wins when an acquisition-lock timer and a request handler are due at the same virtual instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockTimerOrder {
    /// The timer fires first.
    TimerFirst,
    /// The handler runs first.
    HandlerFirst,
    /// madsim's seeded RNG decides each time.
    Random,
}

/// Which coordinator fails over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoordinatorKind {
    /// The share coordinator (`__share_group_state`).
    Share,
    /// The group coordinator (`__consumer_offsets`).
    Group,
}

/// Why a log start offset moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogStartCause {
    /// Retention deleted old segments.
    Retention,
    /// An admin's DeleteRecords.
    DeleteRecords,
}

/// One lever pulled, with its parameters. Windows last `duration_ms` when given, else until a
/// [`Lever::Heal`] (network levers) or the liveness phase (every lever).
#[derive(Clone, Debug, PartialEq)]
pub enum Lever {
    /// Kill a broker; optionally lose what it had not flushed; optionally restart it later.
    BrokerCrash {
        /// Broker id.
        broker: u32,
        /// Lose unflushed data.
        lose_unflushed: bool,
        /// Restart after this long.
        restart_after_ms: Option<u64>,
    },
    /// Restart a crashed broker.
    BrokerRestart {
        /// Broker id.
        broker: u32,
    },
    /// A network partition.
    Partition {
        /// Its shape.
        shape: PartitionShape,
        /// The nodes.
        nodes: Vec<FaultNode>,
        /// Heal after this long.
        duration_ms: Option<u64>,
    },
    /// End every partition and network, RPC and persister window.
    Heal,
    /// A network-wide message fault.
    Network {
        /// Which.
        fault: NetworkFault,
        /// How long.
        duration_ms: Option<u64>,
    },
    /// A fault on one API's messages.
    Rpc {
        /// Which.
        fault: RpcFault,
        /// Kafka's API key.
        api_key: i16,
        /// Requests or responses.
        direction: FaultDirection,
        /// Per-message probability.
        probability: f64,
        /// How long.
        duration_ms: Option<u64>,
    },
    /// A fault on persister calls.
    Persister {
        /// Which.
        fault: PersisterFault,
        /// The persister RPC's API key (`WriteShareGroupState` = 85, ...).
        api_key: i16,
        /// Per-call probability.
        probability: f64,
        /// How long.
        duration_ms: Option<u64>,
    },
    /// Lock timers racing request handlers on every broker.
    LockTimerRace {
        /// The ordering.
        order: LockTimerOrder,
        /// How long.
        duration_ms: Option<u64>,
    },
    /// Move a partition's leadership away and back (B1 → B2 → B1).
    LeadershipBounce {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// The interim leader (`None`: the next ISR replica).
        via_broker: Option<u32>,
        /// When leadership moves back.
        back_after_ms: u64,
    },
    /// The old leader keeps acting with its old epoch after losing leadership.
    ZombieLeader {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// How long the zombie lives.
        duration_ms: u64,
    },
    /// Move a coordinator to another broker, which reloads its state.
    CoordinatorFailover {
        /// Which coordinator.
        kind: CoordinatorKind,
        /// The group whose coordinator moves (`None`: the first group).
        group: Option<String>,
    },
    /// Move a partition's log start offset.
    LogStartMove {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// The new log start offset.
        offset: i64,
        /// Retention or DeleteRecords.
        cause: LogStartCause,
    },
    /// Run the log cleaner.
    Compaction {
        /// Topic name.
        topic: String,
        /// One partition, or all.
        partition: Option<i32>,
    },
    /// Corrupt the batch holding `offset` on a replica's disk.
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
    /// Kill a consumer (no close, no leave); optionally start a new instance later.
    ConsumerCrash {
        /// The consumer.
        consumer: FaultNode,
        /// Restart after this long.
        restart_after_ms: Option<u64>,
    },
    /// A consumer stops polling for `stall_ms`.
    ConsumerStall {
        /// The consumer.
        consumer: FaultNode,
        /// How long.
        stall_ms: u64,
    },
    /// A consumer reconnects on a new connection; the old connection's close arrives `close_delay_ms` late.
    ConsumerReconnectLateClose {
        /// The consumer.
        consumer: FaultNode,
        /// Delay of the old close.
        close_delay_ms: u64,
    },
    /// Set a node's clock skew and drift from now on.
    ClockSkew {
        /// The node.
        node: FaultNode,
        /// Offset in ms.
        skew_ms: i64,
        /// Drift in ppm.
        drift_ppm: i64,
    },
    /// An admin client sends AlterShareGroupOffsets (spec 5.3) for one partition of a share group.
    OffsetReset {
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

impl Lever {
    /// The scenario file's name of the lever (`broker_crash`, `network_loss`, `persister_fail`, ...), used
    /// as the trace's `lever` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Lever::BrokerCrash { .. } => "broker_crash",
            Lever::BrokerRestart { .. } => "broker_restart",
            Lever::Partition { .. } => "partition",
            Lever::Heal => "heal",
            Lever::Network { fault, .. } => match fault {
                NetworkFault::Delay { .. } => "network_delay",
                NetworkFault::Loss { .. } => "network_loss",
                NetworkFault::Duplicate { .. } => "network_duplicate",
                NetworkFault::Reorder { .. } => "network_reorder",
            },
            Lever::Rpc { fault, .. } => match fault {
                RpcFault::Drop => "rpc_drop",
                RpcFault::Hold { .. } => "rpc_hold",
                RpcFault::Delay { .. } => "rpc_delay",
            },
            Lever::Persister { fault, .. } => match fault {
                PersisterFault::Hold { .. } => "persister_hold",
                PersisterFault::Fail { .. } => "persister_fail",
                PersisterFault::Timeout => "persister_timeout",
                PersisterFault::Reorder { .. } => "persister_reorder",
                PersisterFault::Duplicate => "persister_duplicate",
            },
            Lever::LockTimerRace { .. } => "lock_timer_race",
            Lever::LeadershipBounce { .. } => "leadership_bounce",
            Lever::ZombieLeader { .. } => "zombie_leader",
            Lever::CoordinatorFailover {
                kind: CoordinatorKind::Share,
                ..
            } => "share_coordinator_failover",
            Lever::CoordinatorFailover {
                kind: CoordinatorKind::Group,
                ..
            } => "group_coordinator_failover",
            Lever::LogStartMove {
                cause: LogStartCause::Retention,
                ..
            } => "log_start_move",
            Lever::LogStartMove {
                cause: LogStartCause::DeleteRecords,
                ..
            } => "delete_records",
            Lever::Compaction { .. } => "compaction",
            Lever::CorruptBatch { .. } => "corrupt_batch_on_disk",
            Lever::ConsumerCrash { .. } => "consumer_crash",
            Lever::ConsumerStall { .. } => "consumer_stall",
            Lever::ConsumerReconnectLateClose { .. } => "consumer_reconnect_late_close",
            Lever::ClockSkew { .. } => "clock_skew",
            Lever::OffsetReset { .. } => "offset_reset",
        }
    }
}

/// A lever pulled at a virtual time.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledFault {
    /// When, in virtual ms from the start.
    pub at_ms: u64,
    /// What.
    pub lever: Lever,
}

/// Every fault of one run, and when the liveness phase heals them all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultPlan {
    /// The faults, in any order (the scheduler sorts them by time, keeping the order of equal times).
    pub faults: Vec<ScheduledFault>,
    /// When the workload phase ends: every fault is healed and nothing more is pulled (the liveness
    /// phase of design "Oracle": heal all, keep polling).
    pub liveness_at_ms: u64,
}

/// Kafka's numeric API key for an API name (`ShareFetch` → 78), from the protocol crate's own list.
pub fn api_key_by_name(name: &str) -> Option<i16> {
    use kafka_protocol::messages::ApiKey;
    (0..=i16::from(u8::MAX))
        .filter_map(|key| ApiKey::try_from(key).ok())
        .find(|api| format!("{api:?}") == name)
        .map(|api| api as i16)
}

/// The API name of a key, for trace details (`85` → `WriteShareGroupState`).
pub fn api_name(api_key: i16) -> String {
    match kafka_protocol::messages::ApiKey::try_from(api_key) {
        Ok(api) => format!("{api:?}"),
        Err(_) => format!("api {api_key}"),
    }
}
