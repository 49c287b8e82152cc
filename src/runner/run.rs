//! One run: a backend runs the scenario for a seed, the oracle judges the trace, the metrics are
//! computed, the conformance replay checks the share-partition events against the spec's step relation,
//! and the scenario's expectations decide pass or fail.

use sharesim_sim::trace::{TraceHash, TraceRecord};

use super::backend::{Backend, RunError, RunFacts};
use super::expectations::{evaluate, ExpectationResult};
use super::metrics::{run_metrics, RunMetrics};
use crate::conform::{conform_profile, ConformanceReport};
use crate::oracle::{CommittedPartition, Oracle, OracleReport};
use crate::scenario::{GroupType, Scenario};

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
    /// Each oracle violation as its one-line text (for test and log messages).
    pub fn violation_texts(&self) -> Vec<String> {
        self.oracle
            .violations()
            .iter()
            .map(|violation| violation.to_string())
            .collect()
    }

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
    let committed = committed_partitions(scenario, &run.facts);
    let oracle = Oracle::check_committed(&run.facts.oracle_config, committed, &records);
    let metrics = run_metrics(&records, &run.facts, &oracle.metrics);
    let conformance = options.conform.then(|| {
        // The scenario's release fixes the session-release rule the trace is judged by.
        let profile = scenario.profile.name().parse().ok();
        conform_profile(
            &records,
            run.facts.oracle_config.delivery_count_limit,
            profile,
        )
    });
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

/// What each share group with consumers must consume: every produced record of every partition of the
/// topics it subscribes to, from the first record committed after its earliest consumer started
/// (`share.auto.offset.reset=earliest`: from the start; NO-LOSS also accepts the share partition's
/// initial SPSO when it is lower).
pub fn committed_partitions(scenario: &Scenario, facts: &RunFacts) -> Vec<CommittedPartition> {
    let mut committed = Vec::new();
    for group in &scenario.groups {
        let consumers_start_ms = scenario
            .consumers
            .iter()
            .filter(|consumer| consumer.group == group.name && consumer.count > 0)
            .map(|consumer| consumer.start_ms)
            .min();
        let (GroupType::Share, Some(start_ms)) = (group.group_type, consumers_start_ms) else {
            continue;
        };
        let earliest = group
            .configs
            .get("share.auto.offset.reset")
            .is_some_and(|reset| reset.as_str().eq_ignore_ascii_case("earliest"));
        let started_ms = facts.workload_start_ms + start_ms;
        for produced in &facts.produced {
            if !group.subscribes_to(&produced.topic) {
                continue;
            }
            // Records committed at the very instant the consumers start may precede their first fetch.
            let after_start = produced
                .produced_at_ms
                .partition_point(|at| *at <= started_ms);
            committed.push(CommittedPartition {
                group_id: group.name.clone(),
                topic_id: produced.topic_id,
                partition: produced.partition,
                end_offset: produced.produced_at_ms.len() as i64,
                deliver_from_offset: if earliest { 0 } else { after_start as i64 },
            });
        }
    }
    committed
}
