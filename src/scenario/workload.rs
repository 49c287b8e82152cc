//! Producers, consumers and the simulated application: processing time, failures, policies, poison
//! records.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::scenario::Configs;

/// A random duration, in virtual ms, drawn from the run's seeded RNG.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    /// Always `ms`.
    Fixed {
        /// The duration.
        ms: u64,
    },
    /// Uniform in `[min_ms, max_ms]`.
    Uniform {
        /// Smallest value.
        min_ms: u64,
        /// Largest value.
        max_ms: u64,
    },
    /// Exponential with mean `mean_ms`, cut at `max_ms` if given.
    Exponential {
        /// The mean.
        mean_ms: f64,
        /// Upper cut-off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ms: Option<u64>,
    },
    /// Log-normal with median `median_ms` and shape `sigma`, cut at `max_ms` if given: a long tail.
    Lognormal {
        /// The median.
        median_ms: f64,
        /// The standard deviation of the underlying normal.
        sigma: f64,
        /// Upper cut-off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ms: Option<u64>,
    },
}

/// What keys a producer writes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Keys {
    /// No keys: records spread over partitions by the sticky partitioner (the default).
    #[default]
    None,
    /// Keys `key-0`, `key-1`, ... cycling through `cardinality` keys.
    Sequential {
        /// Distinct keys.
        cardinality: u64,
    },
    /// Keys drawn uniformly from `cardinality` keys.
    Random {
        /// Distinct keys.
        cardinality: u64,
    },
}

/// Transactions: the producer wraps its records in transactions and aborts some of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transactions {
    /// Records per transaction (default 10).
    #[serde(default = "default_records_per_transaction")]
    #[schemars(range(min = 1))]
    pub records_per_transaction: u64,
    /// Fraction of transactions aborted (default 0).
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub abort_ratio: f64,
}

fn default_records_per_transaction() -> u64 {
    10
}

/// The kind of a poison record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PoisonKind {
    /// The consumer's deserializer throws (spec 7.5: automatic RELEASE until the delivery limit).
    Deserialization,
    /// The application fails to process it every time (the consumer policy decides what to ack).
    ProcessingFailure,
    /// The record's batch fails its CRC check at the consumer (spec 7.6: the batch is REJECTed).
    CorruptBatch,
    /// Not poison to Kafka, but the application takes `processing_ms` over it every time (the one slow
    /// record of a head-of-line scenario); it is then accepted.
    Slow,
}

/// Which of a producer's records are poison, by their index in the producer's sequence (0-based; with
/// one producer on a one-partition topic and no transactions this is the offset).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Poison {
    /// What goes wrong.
    pub kind: PoisonKind,
    /// These record indexes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<u64>,
    /// And additionally each record with this probability (default 0).
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub ratio: f64,
    /// For `slow`: the application's processing time of each such record, in ms (default 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub processing_ms: Option<u64>,
}

/// A `slow` record's processing time when its entry names none.
const SLOW_PROCESSING_MS_DEFAULT: u64 = 10_000;

/// A poison record as the runners carry it: what goes wrong and, for `slow`, for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoisonRecord {
    /// What goes wrong.
    pub kind: PoisonKind,
    /// For [`PoisonKind::Slow`]: the application's processing time, in ms.
    pub processing_ms: u64,
}

impl ProducerSpec {
    /// Whether record `index` of this producer is poison, and how: the first `poison` entry naming the
    /// index, else the first whose `ratio` draw hits (one draw per entry with a ratio, in order, until
    /// one hits).
    pub fn poison_of(&self, index: u64, rng: &mut impl rand::Rng) -> Option<PoisonRecord> {
        let chosen = self
            .poison
            .iter()
            .find(|poison| poison.records.contains(&index))
            .or_else(|| {
                self.poison
                    .iter()
                    .find(|poison| poison.ratio > 0.0 && rng.gen_bool(poison.ratio.clamp(0.0, 1.0)))
            })?;
        Some(PoisonRecord {
            kind: chosen.kind,
            processing_ms: chosen.processing_ms.unwrap_or(SLOW_PROCESSING_MS_DEFAULT),
        })
    }
}

/// A producer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProducerSpec {
    /// The topic written to.
    pub topic: String,
    /// Only this partition (default: the partitioner chooses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    /// Records to produce (default 1000).
    #[serde(default = "default_count")]
    pub count: u64,
    /// Records per second of virtual time; 0 means as fast as the producer can (default 1000).
    #[serde(default = "default_rate")]
    #[schemars(range(min = 0.0))]
    pub rate_per_sec: f64,
    /// Virtual time of the first send, in ms (default 0).
    #[serde(default)]
    pub start_ms: u64,
    /// Bytes of each record value (default 100).
    #[serde(default = "default_value_bytes")]
    pub value_bytes: u32,
    /// Record keys (default none).
    #[serde(default)]
    pub keys: Keys,
    /// Producer configs by Kafka name: `acks`, `batch.size`, `linger.ms`, `enable.idempotence`, ...
    #[serde(default)]
    pub configs: Configs,
    /// Write in transactions (default: no transactions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<Transactions>,
    /// Poison records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poison: Vec<Poison>,
}

fn default_count() -> u64 {
    1000
}

fn default_rate() -> f64 {
    1000.0
}

fn default_value_bytes() -> u32 {
    100
}

/// What the application acknowledges.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Policy {
    /// Accept every record after processing, even a failed one (the default).
    #[default]
    Accept,
    /// Release a record whose processing failed, so it is redelivered.
    ReleaseOnFailure,
    /// Release a failed record until its delivery count reaches `tries`, then reject it.
    RejectAfterNTries {
        /// Deliveries before rejecting.
        #[schemars(range(min = 1))]
        tries: u32,
    },
    /// Renew the acquisition lock (RENEW, 4.2+, explicit mode) of records still processing after
    /// `renew_after_ms`.
    RenewLongTasks {
        /// Processing time after which to renew.
        renew_after_ms: u64,
    },
}

/// Scheduled misbehaviour of each instance of a consumer entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureBehaviour {
    /// Fraction of records whose processing fails (default 0); the policy decides the ack.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub processing_failure_ratio: f64,
    /// Crash (no close, no leave) at this virtual time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash_at_ms: Option<u64>,
    /// Stop polling at this time ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall_at_ms: Option<u64>,
    /// ... for this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall_for_ms: Option<u64>,
    /// After a crash, start again (a new member) this long after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnect_after_ms: Option<u64>,
}

/// A consumer entry: `count` identical instances in one group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumerSpec {
    /// The group (a name from `groups`).
    pub group: String,
    /// Instances (default 1).
    #[serde(default = "default_consumer_count")]
    #[schemars(range(min = 1))]
    pub count: u32,
    /// Virtual time the instances start, in ms (default 0).
    #[serde(default)]
    pub start_ms: u64,
    /// Client configs by Kafka name: share consumers take `share.acknowledgement.mode`,
    /// `share.acquire.mode`, `max.poll.records`, ...; classic consumers the classic consumer configs.
    #[serde(default)]
    pub configs: Configs,
    /// Processing time per record (default fixed 1 ms).
    #[serde(default = "default_processing")]
    pub processing: Distribution,
    /// Failures of the application or process.
    #[serde(default)]
    pub failure: FailureBehaviour,
    /// What the application acknowledges (default accept).
    #[serde(default)]
    pub policy: Policy,
}

fn default_consumer_count() -> u32 {
    1
}

fn default_processing() -> Distribution {
    Distribution::Fixed { ms: 1 }
}
