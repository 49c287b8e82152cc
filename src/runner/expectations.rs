//! A run's expectations judged: invariants that must hold, invariants that must be violated (a
//! known-bug or mutation scenario), and metric bounds.

use serde::{Deserialize, Serialize};

use super::metrics::RunMetrics;
use crate::oracle::{OracleReport, Verdict};
use crate::scenario::{Expectations, Invariant};

/// One expectation and whether it was met.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectationResult {
    /// What was expected, e.g. `EXCLUSIVE holds`, `DC-LIMIT is violated`, `duplicates <= 10`.
    pub expectation: String,
    /// Whether it was met.
    pub met: bool,
    /// What was found.
    pub found: String,
}

/// Judges `expectations` against the oracle's verdicts and the metrics.
pub fn evaluate(
    expectations: &Expectations,
    oracle: &OracleReport,
    metrics: &RunMetrics,
) -> Vec<ExpectationResult> {
    let mut results = Vec::new();
    for invariant in Invariant::ALL {
        let code = invariant.code();
        let verdict = oracle.verdict(code);
        let found = match verdict {
            Some(Verdict::Pass) => "holds".to_string(),
            Some(Verdict::Fail(violation)) => format!("violated: {violation}"),
            Some(Verdict::Undecided(why)) => format!("undecided: {why}"),
            None => "not checked".to_string(),
        };
        let failed = matches!(verdict, Some(Verdict::Fail(_)));
        if expectations.violated.contains(&invariant) {
            results.push(ExpectationResult {
                expectation: format!("{code} is violated"),
                met: failed,
                found,
            });
        } else if expectations.hold.contains(invariant) {
            // An undecided invariant is not a failure: the trace cannot show it either way.
            results.push(ExpectationResult {
                expectation: format!("{code} holds"),
                met: !failed,
                found,
            });
        }
    }
    for bound in &expectations.metrics {
        let (met, found) = match metrics.get(&bound.metric) {
            Some(value) => (bound.holds(value), format!("{} = {value}", bound.metric)),
            None => (
                false,
                format!("{} was not measured in this run", bound.metric),
            ),
        };
        results.push(ExpectationResult {
            expectation: bound.to_string(),
            met,
            found,
        });
    }
    results
}
