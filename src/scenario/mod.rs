//! Scenario files (`scenarios/*.json`): the format, its parser with clear errors, and its JSON Schema.
//!
//! A scenario describes one simulated experiment: the Kafka release to behave like, the seeds, the
//! cluster, topics, groups, producers, consumers, the faults, parameter sweeps and the expectations the
//! run is checked against. Every field has a default, so a minimal scenario is a few lines:
//!
//! ```json
//! {
//!   "topics": [{"name": "orders", "partitions": 2}],
//!   "groups": [{"name": "workers"}],
//!   "producers": [{"topic": "orders", "count": 1000}],
//!   "consumers": [{"group": "workers", "count": 4}]
//! }
//! ```
//!
//! Top-level fields and their defaults:
//! * `profile` (`"kafka-4.2"`): `kafka-4.0`, `kafka-4.1` or `kafka-4.2`, read by
//!   [`Release`](sharesim_sim::semantics::Release)'s `FromStr`.
//! * `seeds` (`[1]`): a list, or `{"start": A, "end": B}` with B excluded.
//! * `duration_ms` (60000): workload and faults; the liveness phase follows.
//! * `liveness_bound_ms` (120000): with every fault healed, every record must be terminal within this.
//! * `cluster` (3 brokers): `brokers`, `controller` (`dedicated` or `broker:N`), `network` (`latency`,
//!   `packet_loss`), `clocks`, broker `configs`.
//! * `topics`: `name`, `partitions` (1), `replication_factor` (min(3, brokers)), topic `configs`.
//! * `groups`: `name`, `type` (`share` or `classic`), `topics` (all), group `configs`.
//! * `producers`: `topic`, `partition`, `count` (1000), `rate_per_sec` (1000), `start_ms`, `value_bytes`,
//!   `keys`, producer `configs`, `transactions`, `poison`.
//! * `consumers`: `group`, `count` (1), `start_ms`, client `configs`, `processing`, `failure`, `policy`.
//! * `faults`: events `{"at_ms": T, "kind": K, ...}`, kinds in [`FAULT_KINDS`].
//! * `swarm` (off): seeded random faults with per-lever probabilities.
//! * `sweep`: key path → values; every combination runs.
//! * `expectations` (every invariant holds): `hold`, `violated`, metric bounds (`"duplicates <= 10"`).
//! * `mutations`: ONLY for oracle tests, deliberate protocol mistakes. Normal scenarios never set them.
//!
//! Configs use Kafka's names verbatim as keys (`"share.record.lock.duration.ms": 15000`); values may be
//! strings, numbers or booleans. Names and values are checked per scope (broker, share group, share
//! consumer, classic consumer, topic, producer) against [`configs`]; share-group overrides must also lie
//! within the broker's `group.share.min.*`/`group.share.max.*` bounds. `scenarios/README.md` is the
//! user guide; `scenarios/scenario.schema.json` is the generated schema.
//!
//! Errors: [`ScenarioError`] prints `file:line:column: path: message` and, where it helps, a `hint:` line
//! with the nearest valid name. Positions of semantic errors come from a [`position`] index of the text.
//!
//! Entry points: [`load_scenario`] (a path), [`parse_scenario`] / [`ScenarioFile::parse`] (text),
//! [`ScenarioFile::with_values`] (`--vary`), [`ScenarioFile::sweep_variants`], [`sweep::parse_vary_arg`],
//! [`schema::scenario_schema_text`].

pub mod configs;
pub mod error;
pub mod expectations;
pub mod fault_plan;
pub mod faults;
pub mod nearest;
pub mod node;
pub mod parse;
pub mod path;
pub mod position;
#[allow(clippy::module_inception)]
pub mod scenario;
pub mod schema;
pub mod script;
pub mod study;
pub mod sweep;
pub mod validate;
pub mod workload;

pub use error::{ScenarioError, ScenarioErrorKind};
pub use expectations::{Expectations, Invariant, InvariantSet, MetricBound};
pub use faults::{Fault, FaultEvent, Swarm, FAULT_KINDS};
pub use node::NodeRef;
pub use parse::{load_scenario, parse_scenario, ScenarioFile, SweepVariant};
pub use path::FieldPath;
pub use scenario::{
    BackendKind, Cluster, ConfigValue, Configs, GroupSpec, GroupType, Scenario, Seeds, TopicSpec,
};
pub use sweep::{parse_vary_arg, KeyPath};
pub use workload::{ConsumerSpec, Distribution, Policy, ProducerSpec};
