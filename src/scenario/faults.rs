//! Faults: every lever of the design's "Fault levers" list as a named event kind, scheduled at a virtual
//! time (`faults`), or drawn at random per seed (`swarm`).
//!
//! A fault event is one object: `{"at_ms": 20000, "kind": "broker_crash", "broker": 2}`. Windows (network
//! loss, RPC drops, persister holds, ...) last `duration_ms` if given, else until a `heal` event or the
//! liveness phase, which heals everything.
//!
//! Every field here is carried out by the simulator's levers (`sharesim_sim::faults::Lever`): there is
//! no per-node filter on network-wide faults (use a `partition` for one node) and no message budget on
//! RPC and persister faults (bound them with `duration_ms` and `probability`); such keys are refused as
//! unknown fields rather than silently ignored.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::node::NodeRef;
use super::path::FieldPath;
use super::workload::Distribution;

/// `broker_crash`: kill a broker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrokerCrash {
    /// Broker id.
    pub broker: u32,
    /// Lose the data not yet flushed to the simulated disk (default false).
    #[serde(default)]
    pub lose_unflushed: bool,
    /// Restart it this long after the crash (default: only a `broker_restart` or the liveness phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_after_ms: Option<u64>,
}

/// `broker_restart`: restart a crashed broker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrokerRestart {
    /// Broker id.
    pub broker: u32,
}

/// The shape of a network partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartitionMode {
    /// Each listed node is cut off from every other node.
    Node,
    /// The two listed nodes cannot reach each other (both directions).
    Link,
    /// Messages from the first listed node to the second are dropped; the reverse still flows.
    OneDirection,
    /// FoundationDB's swizzle-clog: clog the listed nodes one by one every `step_ms`, then unclog them in
    /// a different order.
    SwizzleClog,
}

/// `partition`: a network partition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkPartition {
    /// The shape.
    pub mode: PartitionMode,
    /// The nodes (one or more for `node` and `swizzle_clog`, exactly two for `link` and `one_direction`).
    pub nodes: Vec<NodeRef>,
    /// Heal after this long (default: at the next `heal` or the liveness phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// `swizzle_clog` only: time between two clog (or unclog) steps (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_ms: Option<u64>,
}

/// `heal`: end every partition and network window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Heal {}

/// `network_delay`: extra latency on messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkDelay {
    /// Extra delay per message.
    pub delay: Distribution,
    /// How long the window lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// `network_loss` and `network_duplicate`: each message is lost (or delivered twice) with a probability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkChance {
    /// Per-message probability.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub probability: f64,
    /// How long the window lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// `network_reorder`: each message is held back by up to `max_delay_ms` with a probability, so later
/// messages overtake it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkReorder {
    /// Per-message probability.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub probability: f64,
    /// Largest hold-back.
    pub max_delay_ms: u64,
    /// How long the window lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// Which half of an RPC a fault hits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RpcDirection {
    /// The request (the default).
    #[default]
    Request,
    /// The response.
    Response,
}

/// `rpc_drop`, `rpc_hold`, `rpc_delay`: a fault on one Kafka API's messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RpcFault {
    /// Kafka's API name, e.g. `ShareFetch`, `ShareAcknowledge`, `WriteShareGroupState`.
    pub api: String,
    /// Request or response (default request).
    #[serde(default)]
    pub direction: RpcDirection,
    /// Per-message probability (default 1).
    #[serde(default = "one")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub probability: f64,
    /// How long the window lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// `rpc_hold`: hold each message this long, then deliver it; `rpc_delay`: the added delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

fn one() -> f64 {
    1.0
}

/// `persister_hold`, `persister_fail`, `persister_timeout`, `persister_reorder`, `persister_duplicate`:
/// a fault on the share-partition leader's persister calls to the share coordinator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersisterFault {
    /// The persister RPC (default `WriteShareGroupState`).
    #[serde(default = "default_persister_rpc")]
    pub rpc: String,
    /// Per-call probability (default 1).
    #[serde(default = "one")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub probability: f64,
    /// How long the window lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// `persister_hold`: how long each call is held before it proceeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_ms: Option<u64>,
    /// `persister_fail`: the Kafka error the call returns (default `COORDINATOR_NOT_AVAILABLE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn default_persister_rpc() -> String {
    "WriteShareGroupState".to_string()
}

/// Who wins when a lock timer and a request handler are due at the same virtual time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RaceOrder {
    /// The timer fires first.
    TimerFirst,
    /// The handler runs first.
    HandlerFirst,
    /// The seed decides each time (the default).
    #[default]
    Random,
}

/// `lock_timer_race`: make acquisition-lock timers expire in the same tick as acks for those records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LockTimerRace {
    /// The ordering (default random).
    #[serde(default)]
    pub order: RaceOrder,
    /// How long the window lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// `leadership_bounce`: move a partition's leadership away and back (B1 → B2 → B1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadershipBounce {
    /// Topic.
    pub topic: String,
    /// Partition (default 0).
    #[serde(default)]
    pub partition: u32,
    /// The interim leader (default: the next replica in the ISR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via_broker: Option<u32>,
    /// How long until leadership returns (default 1000).
    #[serde(default = "default_back_after_ms")]
    pub back_after_ms: u64,
}

fn default_back_after_ms() -> u64 {
    1000
}

/// `zombie_leader`: the old leader keeps acting (and writing state with its old leader epoch) after it
/// lost leadership, for `duration_ms`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZombieLeader {
    /// Topic.
    pub topic: String,
    /// Partition (default 0).
    #[serde(default)]
    pub partition: u32,
    /// How long the zombie lives (default 5000).
    #[serde(default = "default_zombie_ms")]
    pub duration_ms: u64,
}

fn default_zombie_ms() -> u64 {
    5000
}

/// `share_coordinator_failover` / `group_coordinator_failover`: move a coordinator to another broker,
/// which reloads its state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoordinatorFailover {
    /// The coordinator of this group (default: the first group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// `log_start_move` (retention) and `delete_records` (DeleteRecords): move a partition's log start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogStartMove {
    /// Topic.
    pub topic: String,
    /// Partition (default 0).
    #[serde(default)]
    pub partition: u32,
    /// The new log start offset.
    pub offset: u64,
}

/// `compaction`: run the log cleaner on a compacted topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Compaction {
    /// Topic (needs `cleanup.policy` with `compact`).
    pub topic: String,
    /// Only this partition (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
}

/// `corrupt_batch_on_disk`: flip bytes of the batch holding `offset`, so its CRC fails.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CorruptBatchOnDisk {
    /// Topic.
    pub topic: String,
    /// Partition (default 0).
    #[serde(default)]
    pub partition: u32,
    /// An offset inside the batch.
    pub offset: u64,
    /// The replica to corrupt (default: the leader).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<u32>,
}

/// `consumer_crash`: kill a consumer (no close, no leave).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumerCrash {
    /// `consumer:I` or `consumer:I/J`.
    pub consumer: NodeRef,
    /// Start a new instance this long after (default: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_after_ms: Option<u64>,
}

/// `consumer_stall`: a consumer stops polling (its locks expire, its session may time out).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumerStall {
    /// `consumer:I` or `consumer:I/J`.
    pub consumer: NodeRef,
    /// How long.
    pub stall_ms: u64,
}

/// `consumer_reconnect_late_close`: a consumer reconnects on a new connection while its old connection's
/// close reaches the broker only `close_delay_ms` later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumerReconnectLateClose {
    /// `consumer:I` or `consumer:I/J`.
    pub consumer: NodeRef,
    /// Delay of the old connection's close.
    pub close_delay_ms: u64,
}

/// `clock_skew`: change a node's clock offset and drift from now on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockSkew {
    /// The node.
    pub node: NodeRef,
    /// Offset in ms (may be negative).
    #[serde(default)]
    pub skew_ms: i64,
    /// Drift in parts per million.
    #[serde(default)]
    pub drift_ppm: i64,
}

/// `offset_reset`: an admin sends AlterShareGroupOffsets (spec 5.3) for one partition of a share group:
/// refused with NON_EMPTY_GROUP while the group has members; on an empty group it sets the start offset
/// and bumps the state epoch, so a live share partition is fenced at its next write and reloads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OffsetReset {
    /// The share group.
    pub group: String,
    /// Topic.
    pub topic: String,
    /// Partition (default 0).
    #[serde(default)]
    pub partition: u32,
    /// The new start offset (SPSO) of the group on the partition.
    pub start_offset: u64,
}

/// Defines [`Fault`], its kind names, and the per-kind decoder that finds the exact field of an error
/// (serde reports errors inside internally tagged enums at the enum's object).
macro_rules! faults {
    ($( $(#[$doc:meta])* $variant:ident($body:ty) = $kind:literal, )*) => {
        /// One fault, tagged by `kind`.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "kind")]
        pub enum Fault {
            $( $(#[$doc])* #[serde(rename = $kind)] $variant($body), )*
        }

        /// Every fault kind, in the order of the design's lever list.
        pub const FAULT_KINDS: &[&str] = &[$($kind),*];

        impl Fault {
            /// The `kind` name.
            pub fn kind(&self) -> &'static str {
                match self { $( Fault::$variant(_) => $kind, )* }
            }

            /// Re-decodes a fault object (without `kind`) as the body of `kind` to find where an error
            /// lies: the path inside the object and serde's message. `None` if it decodes or the kind is
            /// unknown.
            pub(crate) fn locate_error(
                kind: &str,
                body: serde_json::Value,
            ) -> Option<(FieldPath, String)> {
                match kind {
                    $( $kind => locate::<$body>(body), )*
                    _ => None,
                }
            }
        }
    };
}

fn locate<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> Option<(FieldPath, String)> {
    serde_path_to_error::deserialize::<_, T>(body)
        .err()
        .map(|error| {
            (
                FieldPath::from_serde(error.path()),
                error.inner().to_string(),
            )
        })
}

faults! {
    /// Kill a broker, optionally losing its unflushed data.
    BrokerCrash(BrokerCrash) = "broker_crash",
    /// Restart a crashed broker.
    BrokerRestart(BrokerRestart) = "broker_restart",
    /// A network partition: node, link, one direction or swizzle-clog.
    Partition(NetworkPartition) = "partition",
    /// End every partition and network window.
    Heal(Heal) = "heal",
    /// Extra message latency.
    NetworkDelay(NetworkDelay) = "network_delay",
    /// Message loss.
    NetworkLoss(NetworkChance) = "network_loss",
    /// Message duplication.
    NetworkDuplicate(NetworkChance) = "network_duplicate",
    /// Message reordering.
    NetworkReorder(NetworkReorder) = "network_reorder",
    /// Drop one API's messages.
    RpcDrop(RpcFault) = "rpc_drop",
    /// Hold one API's messages, then deliver them.
    RpcHold(RpcFault) = "rpc_hold",
    /// Delay one API's messages.
    RpcDelay(RpcFault) = "rpc_delay",
    /// Hold persister calls.
    PersisterHold(PersisterFault) = "persister_hold",
    /// Fail persister calls with an error.
    PersisterFail(PersisterFault) = "persister_fail",
    /// Let persister calls time out.
    PersisterTimeout(PersisterFault) = "persister_timeout",
    /// Deliver persister calls out of order.
    PersisterReorder(PersisterFault) = "persister_reorder",
    /// Deliver persister calls twice.
    PersisterDuplicate(PersisterFault) = "persister_duplicate",
    /// Lock timers racing request handlers.
    LockTimerRace(LockTimerRace) = "lock_timer_race",
    /// Leadership B1 → B2 → B1.
    LeadershipBounce(LeadershipBounce) = "leadership_bounce",
    /// An old leader writing with its old epoch.
    ZombieLeader(ZombieLeader) = "zombie_leader",
    /// Move the share coordinator.
    ShareCoordinatorFailover(CoordinatorFailover) = "share_coordinator_failover",
    /// Move the group coordinator.
    GroupCoordinatorFailover(CoordinatorFailover) = "group_coordinator_failover",
    /// Retention moves the log start offset.
    LogStartMove(LogStartMove) = "log_start_move",
    /// DeleteRecords moves the log start offset.
    DeleteRecords(LogStartMove) = "delete_records",
    /// Run the log cleaner.
    Compaction(Compaction) = "compaction",
    /// Corrupt a batch on a replica's disk.
    CorruptBatchOnDisk(CorruptBatchOnDisk) = "corrupt_batch_on_disk",
    /// Kill a consumer.
    ConsumerCrash(ConsumerCrash) = "consumer_crash",
    /// Stall a consumer.
    ConsumerStall(ConsumerStall) = "consumer_stall",
    /// Reconnect a consumer while the old connection's close arrives late.
    ConsumerReconnectLateClose(ConsumerReconnectLateClose) = "consumer_reconnect_late_close",
    /// Skew a node's clock.
    ClockSkew(ClockSkew) = "clock_skew",
    /// AlterShareGroupOffsets from an admin client.
    OffsetReset(OffsetReset) = "offset_reset",
}

/// A fault at a virtual time. In JSON the time and the fault share one object:
/// `{"at_ms": 20000, "kind": "broker_crash", "broker": 2}`.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultEvent {
    /// When, in virtual ms from the start.
    pub at_ms: u64,
    /// What.
    pub fault: Fault,
}

impl<'de> Deserialize<'de> for FaultEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut object = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let at_ms = match object.remove("at_ms") {
            None => return Err(D::Error::missing_field("at_ms")),
            Some(value) => value.as_u64().ok_or_else(|| {
                D::Error::custom(format!(
                    "invalid `at_ms` {value}: expected a non-negative integer (ms)"
                ))
            })?,
        };
        let fault =
            Fault::deserialize(serde_json::Value::Object(object)).map_err(D::Error::custom)?;
        Ok(FaultEvent { at_ms, fault })
    }
}

impl Serialize for FaultEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Flat<'a> {
            at_ms: u64,
            #[serde(flatten)]
            fault: &'a Fault,
        }
        Flat {
            at_ms: self.at_ms,
            fault: &self.fault,
        }
        .serialize(serializer)
    }
}

impl JsonSchema for FaultEvent {
    fn schema_name() -> Cow<'static, str> {
        "FaultEvent".into()
    }

    /// [`Fault`]'s schema with `at_ms` added to every variant.
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = Fault::json_schema(generator);
        let at_ms = serde_json::json!({
            "description": "When the fault happens, in virtual ms from the start.",
            "type": "integer",
            "minimum": 0
        });
        if let Some(variants) = schema.get_mut("oneOf").and_then(|v| v.as_array_mut()) {
            for variant in variants {
                add_required_property(variant, "at_ms", at_ms.clone());
            }
        }
        schema
    }
}

/// Adds a required property to an object schema (following one level of `$ref` is not needed: schemars
/// inlines internally tagged variants as objects with `properties`, or `allOf` with a `$ref`).
fn add_required_property(variant: &mut serde_json::Value, name: &str, schema: serde_json::Value) {
    let Some(object) = variant.as_object_mut() else {
        return;
    };
    object
        .entry("properties")
        .or_insert_with(|| serde_json::json!({}))
        .as_object_mut()
        .map(|properties| properties.insert(name.to_string(), schema));
    if let Some(required) = object
        .entry("required")
        .or_insert_with(|| serde_json::json!([]))
        .as_array_mut()
    {
        required.push(serde_json::Value::String(name.to_string()));
    }
}

/// Seeded random faults ("swarm testing"): for each seed, every lever is switched on with its probability,
/// and faults of the switched-on levers then strike at exponentially distributed intervals, each with
/// parameters drawn from the seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Swarm {
    /// Fault kind → probability that a seed enables it, e.g. `{"broker_crash": 0.5}`. Empty means every
    /// kind with probability 0.5.
    #[serde(default)]
    pub levers: BTreeMap<String, f64>,
    /// Mean time between two faults, in ms (default 5000).
    #[serde(default = "default_mean_interval_ms")]
    #[schemars(range(min = 1))]
    pub mean_interval_ms: u64,
    /// At most this many faults per run (default 20).
    #[serde(default = "default_max_faults")]
    pub max_faults: u32,
    /// Each fault window lasts at most this long, in ms (default 10000).
    #[serde(default = "default_max_fault_duration_ms")]
    pub max_fault_duration_ms: u64,
}

fn default_mean_interval_ms() -> u64 {
    5000
}

fn default_max_faults() -> u32 {
    20
}

fn default_max_fault_duration_ms() -> u64 {
    10_000
}
