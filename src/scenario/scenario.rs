//! The parsed scenario: profile, seeds, durations, the cluster, topics and groups. Workload, faults,
//! expectations and sweeps live in their own files.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sharesim_sim::semantics::Release;

use super::expectations::Expectations;
use super::faults::{FaultEvent, Swarm};
use super::workload::{ConsumerSpec, Distribution, ProducerSpec};

/// One scenario file. Every field but the lists' entries has a default, so a minimal scenario names a
/// topic, a group, a producer and a consumer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Optional JSON Schema reference for editors (`"scenario.schema.json"`); ignored.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// A short name for reports (default: the file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the scenario shows, in a sentence or two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The backend the scenario is written for: `engine` (the default: the sans-IO engines in-process,
    /// share groups only) or `cluster` (the madsim cluster; classic groups, transactions over the wire).
    /// A `--backend` on the command line overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendKind>,
    /// The Kafka release whose behaviour to simulate: `kafka-4.0`, `kafka-4.1` or `kafka-4.2` (default).
    #[serde(
        default = "default_profile",
        deserialize_with = "deserialize_profile",
        serialize_with = "serialize_profile"
    )]
    #[schemars(schema_with = "profile_schema")]
    pub profile: Release,
    /// The seeds to run: a list (`[1, 2, 3]`) or a half-open range (`{"start": 1, "end": 101}`).
    /// Default `[1]`.
    #[serde(default)]
    pub seeds: Seeds,
    /// Virtual time the workload and faults run for, in ms (default 60000). The liveness phase follows.
    #[serde(default = "default_duration_ms")]
    #[schemars(range(min = 1))]
    pub duration_ms: u64,
    /// After `duration_ms` every fault is healed and consumers keep polling; every record must reach a
    /// terminal state within this bound, in ms (default 120000).
    #[serde(default = "default_liveness_bound_ms")]
    #[schemars(range(min = 1))]
    pub liveness_bound_ms: u64,
    /// Brokers, controller, network and clocks.
    #[serde(default)]
    pub cluster: Cluster,
    /// Topics created before the workload starts.
    #[serde(default)]
    pub topics: Vec<TopicSpec>,
    /// Share and classic consumer groups.
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
    /// Producers.
    #[serde(default)]
    pub producers: Vec<ProducerSpec>,
    /// Consumers, each entry `count` instances in one group.
    #[serde(default)]
    pub consumers: Vec<ConsumerSpec>,
    /// Faults scheduled at virtual times.
    #[serde(default)]
    pub faults: Vec<FaultEvent>,
    /// Seeded random faults ("swarm" mode): each seed draws its own faults from these probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<Swarm>,
    /// Parameter sweep: key path → values, e.g.
    /// `{"groups.workers.configs.\"share.record.lock.duration.ms\"": [15000, 30000]}`. Every
    /// combination of values is run on every seed. See [`crate::scenario::sweep`] for key paths.
    #[serde(default)]
    pub sweep: BTreeMap<String, Vec<serde_json::Value>>,
    /// What must hold after the run (default: every invariant, no metric bounds).
    #[serde(default)]
    pub expectations: Expectations,
    /// ONLY for oracle tests: named deliberate protocol mistakes to switch on in the engines. Normal
    /// scenarios never set this; the runner rejects names it does not know.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutations: Vec<String>,
    /// For the scenario library (`scenarios/library/`): the question, the finding with its numbers
    /// filled from the sweep, the claims across points that must hold, and the metrics to plot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study: Option<super::study::Study>,
    /// An exact list of share-partition steps for the engine backend in place of the sampled workload
    /// (see [`crate::scenario::script`]); `sharesim check --emit-scenario` writes one from a model
    /// counterexample.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub script: Vec<super::script::ScriptStep>,
}

/// Which backend runs a scenario (the scenario's `backend` field and the CLI's `--backend`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The real sans-IO engines driven in-process (engine level: no network, no replication).
    #[default]
    Engine,
    /// The madsim cluster: brokers, share-group services and share-consumer nodes over the simulated
    /// network.
    Cluster,
}

fn default_profile() -> Release {
    Release::Kafka4_2
}

fn default_duration_ms() -> u64 {
    60_000
}

fn default_liveness_bound_ms() -> u64 {
    120_000
}

/// Reads a profile name through `Release::from_str`, the one parser of profile names.
fn deserialize_profile<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Release, D::Error> {
    let name = String::deserialize(deserializer)?;
    name.parse().map_err(serde::de::Error::custom)
}

fn serialize_profile<S: Serializer>(release: &Release, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(release.name())
}

fn profile_schema(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&str> = Release::ALL.iter().map(|release| release.name()).collect();
    json_schema!({
        "description": "The Kafka release whose behaviour to simulate.",
        "type": "string",
        "enum": names,
        "default": "kafka-4.2"
    })
}

/// Which seeds to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seeds {
    /// These seeds, in this order.
    List(Vec<u64>),
    /// `start..end` (end excluded).
    Range {
        /// First seed.
        start: u64,
        /// One past the last seed.
        end: u64,
    },
}

impl Default for Seeds {
    fn default() -> Self {
        Seeds::List(vec![1])
    }
}

impl Seeds {
    /// The seeds in run order.
    pub fn to_vec(&self) -> Vec<u64> {
        match self {
            Seeds::List(seeds) => seeds.clone(),
            Seeds::Range { start, end } => (*start..*end).collect(),
        }
    }

    /// How many seeds.
    pub fn len(&self) -> u64 {
        match self {
            Seeds::List(seeds) => seeds.len() as u64,
            Seeds::Range { start, end } => end.saturating_sub(*start),
        }
    }

    /// Whether there are no seeds.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'de> Deserialize<'de> for Seeds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let expected =
            "a list of seeds like [1, 2, 3] or a range like {\"start\": 1, \"end\": 101}";
        let value = serde_json::Value::deserialize(deserializer)?;
        match value {
            serde_json::Value::Array(items) => items
                .iter()
                .map(|item| {
                    item.as_u64().ok_or_else(|| {
                        D::Error::custom(format!(
                            "seed {item} is not a non-negative integer; expected {expected}"
                        ))
                    })
                })
                .collect::<Result<Vec<u64>, _>>()
                .map(Seeds::List),
            serde_json::Value::Object(map) => {
                for key in map.keys() {
                    if key != "start" && key != "end" {
                        return Err(D::Error::custom(format!(
                            "unknown field `{key}` in a seed range; expected `start` and `end`"
                        )));
                    }
                }
                let bound = |name: &str| {
                    map.get(name).and_then(serde_json::Value::as_u64).ok_or_else(|| {
                        D::Error::custom(format!(
                            "a seed range needs a non-negative integer `{name}`; expected {expected}"
                        ))
                    })
                };
                let (start, end) = (bound("start")?, bound("end")?);
                if start >= end {
                    return Err(D::Error::custom(format!(
                        "empty seed range {start}..{end}: `end` is excluded and must be greater than `start`"
                    )));
                }
                Ok(Seeds::Range { start, end })
            }
            other => Err(D::Error::custom(format!(
                "invalid seeds {other}: expected {expected}"
            ))),
        }
    }
}

impl Serialize for Seeds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Seeds::List(seeds) => seeds.serialize(serializer),
            Seeds::Range { start, end } => {
                let mut map = BTreeMap::new();
                map.insert("end", *end);
                map.insert("start", *start);
                map.serialize(serializer)
            }
        }
    }
}

impl JsonSchema for Seeds {
    fn schema_name() -> Cow<'static, str> {
        "Seeds".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A list of seeds, or a half-open range {start, end} (end excluded).",
            "oneOf": [
                {"type": "array", "items": {"type": "integer", "minimum": 0}},
                {
                    "type": "object",
                    "properties": {
                        "start": {"type": "integer", "minimum": 0},
                        "end": {"type": "integer", "minimum": 0}
                    },
                    "required": ["start", "end"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// A config value as Kafka takes it: a string. Scenario files may also write numbers and booleans.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigValue(pub String);

impl ConfigValue {
    /// The value as Kafka would read it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => Ok(ConfigValue(text)),
            serde_json::Value::Number(number) => Ok(ConfigValue(number.to_string())),
            serde_json::Value::Bool(flag) => Ok(ConfigValue(flag.to_string())),
            other => Err(D::Error::custom(format!(
                "invalid config value {other}: expected a string, a number or a boolean"
            ))),
        }
    }
}

impl Serialize for ConfigValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl JsonSchema for ConfigValue {
    fn schema_name() -> Cow<'static, str> {
        "ConfigValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Kafka config value: a string, or a number or boolean written as JSON.",
            "type": ["string", "number", "boolean"]
        })
    }
}

/// Kafka configs by their Kafka names, e.g. `{"share.record.lock.duration.ms": 15000}`.
pub type Configs = BTreeMap<String, ConfigValue>;

/// The simulated cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Number of brokers, ids `1..=brokers` (default 3).
    #[serde(default = "default_brokers")]
    #[schemars(range(min = 1, max = 64))]
    pub brokers: u32,
    /// Where the controller runs: `"dedicated"` (its own node, the default) or `"broker:N"`.
    #[serde(default = "default_controller")]
    pub controller: String,
    /// Network latency and loss.
    #[serde(default)]
    pub network: Network,
    /// Per-node clock offsets and drift.
    #[serde(default)]
    pub clocks: Vec<ClockSpec>,
    /// Broker configs by Kafka name, e.g. `{"group.share.delivery.count.limit": 5}`.
    #[serde(default)]
    pub configs: Configs,
}

fn default_brokers() -> u32 {
    3
}

fn default_controller() -> String {
    "dedicated".to_string()
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            brokers: default_brokers(),
            controller: default_controller(),
            network: Network::default(),
            clocks: Vec::new(),
            configs: Configs::new(),
        }
    }
}

/// Network behaviour between every pair of nodes (faults add windows on top).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// One-way message latency (default uniform 1–5 ms).
    #[serde(default = "default_latency")]
    pub latency: Distribution,
    /// Probability that a message is lost (default 0). TCP-like connections notice it as a timeout.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub packet_loss: f64,
}

fn default_latency() -> Distribution {
    Distribution::Uniform {
        min_ms: 1,
        max_ms: 5,
    }
}

impl Default for Network {
    fn default() -> Self {
        Network {
            latency: default_latency(),
            packet_loss: 0.0,
        }
    }
}

/// One node's clock: an offset from true virtual time and a drift.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockSpec {
    /// The node (`"broker:2"`, `"controller"`, `"consumer:0"`, ...).
    pub node: String,
    /// Offset added to the node's clock, in ms (may be negative).
    #[serde(default)]
    pub skew_ms: i64,
    /// Drift in parts per million (positive runs fast).
    #[serde(default)]
    pub drift_ppm: i64,
}

/// A topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// The topic name (Kafka's rules: 1–249 of `[a-zA-Z0-9._-]`).
    pub name: String,
    /// Partitions (default 1).
    #[serde(default = "default_partitions")]
    #[schemars(range(min = 1))]
    pub partitions: u32,
    /// Replication factor (default `min(3, brokers)`); at most the broker count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub replication_factor: Option<u32>,
    /// Topic configs by Kafka name, e.g. `{"cleanup.policy": "compact"}`.
    #[serde(default)]
    pub configs: Configs,
}

fn default_partitions() -> u32 {
    1
}

impl TopicSpec {
    /// The replication factor to use in a cluster of `brokers` brokers.
    pub fn effective_replication_factor(&self, brokers: u32) -> u32 {
        self.replication_factor.unwrap_or(brokers.min(3))
    }
}

/// The kind of a consumer group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupType {
    /// A KIP-932 share group (the default).
    #[default]
    Share,
    /// A classic consumer group, the baseline for comparisons.
    Classic,
}

/// A consumer group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// The group id.
    pub name: String,
    /// `share` (default) or `classic`.
    #[serde(rename = "type", default)]
    pub group_type: GroupType,
    /// Topics the group's consumers subscribe to (default: every topic).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
    /// Share groups: group configs by Kafka name (`share.record.lock.duration.ms`,
    /// `share.auto.offset.reset`, ...). Classic groups: classic consumer configs applied to every
    /// consumer of the group (`session.timeout.ms`, `max.poll.records`, ...).
    #[serde(default)]
    pub configs: Configs,
}

impl GroupSpec {
    /// Whether the group's consumers subscribe to `topic` (a group naming no topics takes every topic).
    pub fn subscribes_to(&self, topic: &str) -> bool {
        self.topics.is_empty() || self.topics.iter().any(|name| name == topic)
    }

    /// The topics of `scenario` the group's consumers subscribe to, in the scenario's order.
    pub fn subscribed_topics<'a>(&self, scenario: &'a Scenario) -> Vec<&'a str> {
        scenario
            .topics
            .iter()
            .map(|topic| topic.name.as_str())
            .filter(|topic| self.subscribes_to(topic))
            .collect()
    }
}
