//! The boundary between the runner and what actually simulates: a [`Backend`] turns one scenario and one
//! seed into a canonical trace plus the facts the trace does not carry (when each record was produced,
//! which faults were applied or skipped, the limits the oracle judges against).

use std::fmt;

use serde::{Deserialize, Serialize};
use sharesim_sim::trace::Trace;

use crate::oracle::OracleConfig;
use crate::scenario::Scenario;

/// Something that can run a scenario for one seed.
pub trait Backend: Sync {
    /// A short name for reports (`engine`, `cluster`).
    fn name(&self) -> &'static str;
    /// Runs `scenario` with `seed`: the same inputs must give the same trace, byte for byte.
    fn run(&self, scenario: &Scenario, seed: u64) -> Result<BackendRun, RunError>;
    /// Whether a scenario's `mutations` may name the switch `name` on this backend (the default
    /// `sharesim mutations` sweep runs exactly these). None, unless a backend says otherwise.
    fn carries_mutation(&self, _name: &str) -> bool {
        false
    }
}

/// What one run produced.
#[derive(Debug)]
pub struct BackendRun {
    /// The canonical trace, keeping records and JSON-lines text.
    pub trace: Trace,
    /// What the trace does not say.
    pub facts: RunFacts,
}

/// A scenario the backend cannot run (a mutation name it does not know, an inconsistent setup).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunError(pub String);

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunError {}

/// The records of one topic partition, as produced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProducedPartition {
    /// Topic name.
    pub topic: String,
    /// The topic id the trace uses.
    pub topic_id: u128,
    /// Partition index.
    pub partition: i32,
    /// Virtual time each offset was committed (index = offset).
    pub produced_at_ms: Vec<u64>,
}

/// A fault the backend applied, or could not apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultFact {
    /// When.
    pub at_ms: u64,
    /// The scenario's fault kind (`broker_crash`, ...).
    pub kind: String,
    /// What was done, or why it was skipped.
    pub detail: String,
}

/// What a run's trace does not carry but the runner and reports need.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunFacts {
    /// Which backend ran it.
    pub backend: String,
    /// Produced records per topic partition.
    pub produced: Vec<ProducedPartition>,
    /// Faults applied, in time order.
    pub faults_applied: Vec<FaultFact>,
    /// Faults this backend does not simulate (they are reported, never silently dropped).
    pub faults_skipped: Vec<FaultFact>,
    /// The limits the oracle judges against (`group.share.delivery.count.limit`, ...).
    #[serde(with = "oracle_config_serde")]
    pub oracle_config: OracleConfig,
    /// When the liveness phase started (the end of `duration_ms`).
    pub liveness_started_ms: Option<u64>,
    /// When every record had reached a terminal state in the liveness phase (`None`: never).
    pub drained_at_ms: Option<u64>,
    /// Virtual time at the end of the run.
    pub end_ms: u64,
    /// Virtual time of the scenario's time 0, from which producers, consumers and faults count (the
    /// engine: 0; the cluster: once the brokers are up and the consumers starting at 0 have joined).
    #[serde(default)]
    pub workload_start_ms: u64,
    /// What the backend simplified, in plain words, for the report.
    pub notes: Vec<String>,
}

/// `OracleConfig` lives in the oracle, which does not derive serde.
mod oracle_config_serde {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::oracle::OracleConfig;

    #[derive(Serialize, Deserialize)]
    struct Plain {
        delivery_count_limit: u16,
        max_record_locks: u32,
        in_flight_overshoot_max: u32,
        session_timeout_ms: u64,
        heartbeat_interval_ms: u64,
    }

    pub fn serialize<S: Serializer>(
        config: &OracleConfig,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        Plain {
            delivery_count_limit: config.delivery_count_limit,
            max_record_locks: config.max_record_locks,
            in_flight_overshoot_max: config.in_flight_overshoot_max,
            session_timeout_ms: config.session_timeout_ms,
            heartbeat_interval_ms: config.heartbeat_interval_ms,
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OracleConfig, D::Error> {
        let plain = Plain::deserialize(deserializer)?;
        Ok(OracleConfig {
            delivery_count_limit: plain.delivery_count_limit,
            max_record_locks: plain.max_record_locks,
            in_flight_overshoot_max: plain.in_flight_overshoot_max,
            session_timeout_ms: plain.session_timeout_ms,
            heartbeat_interval_ms: plain.heartbeat_interval_ms,
        })
    }
}

impl RunFacts {
    /// Facts of a run that has not started.
    pub fn new(backend: &str, oracle_config: OracleConfig) -> RunFacts {
        RunFacts {
            backend: backend.to_string(),
            produced: Vec::new(),
            faults_applied: Vec::new(),
            faults_skipped: Vec::new(),
            oracle_config,
            liveness_started_ms: None,
            drained_at_ms: None,
            end_ms: 0,
            workload_start_ms: 0,
            notes: Vec::new(),
        }
    }

    /// Records produced over every partition.
    pub fn records_produced(&self) -> u64 {
        self.produced
            .iter()
            .map(|partition| partition.produced_at_ms.len() as u64)
            .sum()
    }

    /// When `(topic_id, partition, offset)` was produced.
    pub fn produced_at_ms(&self, topic_id: u128, partition: i32, offset: i64) -> Option<u64> {
        let produced = self
            .produced
            .iter()
            .find(|p| p.topic_id == topic_id && p.partition == partition)?;
        usize::try_from(offset)
            .ok()
            .and_then(|index| produced.produced_at_ms.get(index).copied())
    }
}
