//! One run: a backend runs the scenario for a seed, the oracle judges the trace, the metrics are
//! computed, the conformance replay checks the share-partition events against the spec's step relation,
//! and the scenario's expectations decide pass or fail.

use sharesim_sim::trace::{TraceHash, TraceRecord};

use super::backend::{Backend, RunError, RunFacts};
use super::expectations::{evaluate, ExpectationResult};
use super::metrics::{run_metrics, RunMetrics};
use crate::conform::{conform, ConformanceReport};
use crate::oracle::{Oracle, OracleReport};
use crate::scenario::Scenario;

/// How to run.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Replay the trace through the spec's step relation (on by default).
    pub conform: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { conform: true }
    }
}

/// Everything one run produced and decided.
#[derive(Debug)]
pub struct RunOutcome {
    /// The scenario's name.
    pub scenario_name: String,
    /// The seed.
    pub seed: u64,
    /// The canonical trace's hash.
    pub trace_hash: TraceHash,
    /// The trace records.
    pub records: Vec<TraceRecord>,
    /// The trace as JSON lines.
    pub trace_text: Vec<u8>,
    /// The backend's facts.
    pub facts: RunFacts,
    /// The oracle's verdicts.
    pub oracle: OracleReport,
    /// The metrics.
    pub metrics: RunMetrics,
    /// The conformance replay, when asked for.
    pub conformance: Option<ConformanceReport>,
    /// Each expectation and whether it was met.
    pub expectations: Vec<ExpectationResult>,
}

impl RunOutcome {
    /// Every expectation met, and (when checked) the trace conforms to the spec, unless the scenario
    /// expects a violation (a known-bug or mutation scenario, whose trace need not conform).
    pub fn passed(&self) -> bool {
        let conforms = self
            .conformance
            .as_ref()
            .is_none_or(ConformanceReport::conforms);
        self.expectations.iter().all(|result| result.met) && (conforms || self.expects_violation())
    }

    /// The scenario expects some invariant to be violated.
    fn expects_violation(&self) -> bool {
        self.expectations
            .iter()
            .any(|result| result.expectation.ends_with("is violated"))
    }
}

/// Runs `scenario` with `seed` on `backend`.
pub fn run_scenario(
    backend: &dyn Backend,
    scenario: &Scenario,
    seed: u64,
    options: RunOptions,
) -> Result<RunOutcome, RunError> {
    let run = backend.run(scenario, seed)?;
    let trace_hash = run.trace.hash();
    let trace_text = run.trace.text().map(<[u8]>::to_vec).unwrap_or_default();
    let records = run
        .trace
        .records()
        .map(<[TraceRecord]>::to_vec)
        .unwrap_or_default();
    let oracle = Oracle::check(&run.facts.oracle_config, &records);
    let metrics = run_metrics(&records, &run.facts, &oracle.metrics);
    let conformance = options
        .conform
        .then(|| conform(&records, run.facts.oracle_config.delivery_count_limit));
    let expectations = evaluate(&scenario.expectations, &oracle, &metrics);
    Ok(RunOutcome {
        scenario_name: scenario
            .name
            .clone()
            .unwrap_or_else(|| "scenario".to_string()),
        seed,
        trace_hash,
        records,
        trace_text,
        facts: run.facts,
        oracle,
        metrics,
        conformance,
        expectations,
    })
}
