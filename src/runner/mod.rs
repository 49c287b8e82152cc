//! The scenario runner: one scenario, one seed, one [`Backend`] → a trace, the oracle's verdicts, the
//! metrics, the conformance replay and the expectations' pass/fail ([`run_scenario`]).
//!
//! Backends: [`EngineBackend`] drives the real sans-IO engines in-process (engine level: no network,
//! no replication); the madsim cluster backend runs the same scenarios on simulated brokers.

pub mod admin_metrics;
pub mod backend;
pub mod classic_metrics;
pub mod cluster_backend;
pub mod engine_backend;
pub mod expectations;
pub mod library;
pub mod metrics;
pub mod mutation_sweep;
pub mod run;
pub mod sweep;
pub mod transaction_metrics;

pub use backend::{Backend, BackendRun, FaultFact, ProducedPartition, RunError, RunFacts};
pub use cluster_backend::{ClusterBackend, ClusterBackendWithLimits};
pub use engine_backend::{
    EngineBackend, MutationSwitch, CLUSTER_ONLY_MUTATION_SWITCHES, MUTATION_SWITCHES,
};
pub use expectations::{evaluate, ExpectationResult};
pub use library::{library_files, StudyRun};
pub use metrics::{latencies_ms, percentile, run_metrics, RecordStates, RunMetrics};
pub use mutation_sweep::{mutation_table, sweep_mutation, MutationCatch};
pub use run::{run_scenario, RunOptions, RunOutcome};
pub use sweep::{jobs, point_label, run_jobs, Shard, SweepPoint, SweepRow};
