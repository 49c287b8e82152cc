//! The oracle: every checker fed the same records in trace order, and a verdict per invariant code in the
//! design table's order, with the counted-but-allowed outcomes as metrics.

use sharesim_sim::trace::TraceRecord;

use super::ack_outcome::AckOutcome;
use super::batch_wf::BatchWf;
use super::checker::{Checker, OracleConfig, Violation};
use super::committed::CommittedPartition;
use super::dc_limit::DcLimit;
use super::durable::Durable;
use super::exclusive::Exclusive;
use super::fencing::Fencing;
use super::inflight_cap::InflightCap;
use super::liveness::Liveness;
use super::membership::Membership;
use super::metrics::{Metrics, MetricsObserver};
use super::no_loss::NoLoss;
use super::owner::Owner;
use super::spso_safe::SpsoSafe;
use super::terminal_final::TerminalFinal;

/// What the oracle decided about one invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No violation.
    Pass,
    /// The first violation.
    Fail(Violation),
    /// The trace cannot decide it, and why.
    Undecided(String),
}

/// The oracle's answer for a whole run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleReport {
    /// One verdict per invariant code, in the design table's order.
    pub verdicts: Vec<(&'static str, Verdict)>,
    /// Counted-but-allowed outcomes.
    pub metrics: Metrics,
}

impl OracleReport {
    /// The verdict for `code`.
    pub fn verdict(&self, code: &str) -> Option<&Verdict> {
        self.verdicts
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v)
    }

    /// Every violation, in table order.
    pub fn violations(&self) -> Vec<&Violation> {
        self.verdicts
            .iter()
            .filter_map(|(_, v)| match v {
                Verdict::Fail(violation) => Some(violation),
                _ => None,
            })
            .collect()
    }

    /// Whether no invariant failed.
    pub fn passed(&self) -> bool {
        self.violations().is_empty()
    }
}

/// Every checker, fed record by record.
pub struct Oracle {
    checkers: Vec<Box<dyn Checker>>,
    metrics_observer: MetricsObserver,
    metrics: Metrics,
    reset_view: super::offset_reset::ResetView,
}

impl Oracle {
    /// The oracle for a run configured as `config`.
    pub fn new(config: &OracleConfig) -> Oracle {
        Oracle::with_committed(config, Vec::new())
    }

    /// The oracle for a run configured as `config` whose `committed` records must each be delivered
    /// (NO-LOSS, rule 3): the runner passes what the backend produced, so a run whose consumers never
    /// fetched cannot pass for want of events.
    pub fn with_committed(config: &OracleConfig, committed: Vec<CommittedPartition>) -> Oracle {
        let checkers: Vec<Box<dyn Checker>> = vec![
            Box::new(NoLoss::new(committed)),
            Box::new(Exclusive::default()),
            Box::new(TerminalFinal::default()),
            Box::new(DcLimit::new(config.delivery_count_limit)),
            Box::new(SpsoSafe::default()),
            Box::new(Liveness::default()),
            Box::new(Owner::default()),
            Box::new(Durable::default()),
            Box::new(Fencing::default()),
            Box::new(InflightCap::new(config)),
            Box::new(BatchWf::default()),
            Box::new(AckOutcome::default()),
            Box::new(Membership::new(config)),
        ];
        Oracle {
            checkers,
            metrics_observer: MetricsObserver::default(),
            metrics: Metrics::default(),
            reset_view: super::offset_reset::ResetView::default(),
        }
    }

    /// Feeds the next record to every checker.
    pub fn observe(&mut self, record: &TraceRecord) {
        // After a successful offset reset the checkers see the reloaded share partition as a new
        // incarnation (`offset_reset`).
        let viewed = self.reset_view.view(record);
        for checker in &mut self.checkers {
            checker.observe(&viewed);
        }
        self.metrics_observer.observe(record, &mut self.metrics);
    }

    /// Judges a whole trace.
    pub fn check(config: &OracleConfig, records: &[TraceRecord]) -> OracleReport {
        Oracle::check_committed(config, Vec::new(), records)
    }

    /// Judges a whole trace, knowing which records were committed (see [`Oracle::with_committed`]).
    pub fn check_committed(
        config: &OracleConfig,
        committed: Vec<CommittedPartition>,
        records: &[TraceRecord],
    ) -> OracleReport {
        let mut oracle = Oracle::with_committed(config, committed);
        records.iter().for_each(|record| oracle.observe(record));
        oracle.finish()
    }

    /// The run ended: a verdict per invariant.
    pub fn finish(mut self) -> OracleReport {
        let mut verdicts = Vec::new();
        for checker in &mut self.checkers {
            let violations = checker.finish(&mut self.metrics);
            let verdict = match (violations.into_iter().next(), checker.undecided_reason()) {
                (Some(violation), _) => Verdict::Fail(violation),
                (None, Some(reason)) => Verdict::Undecided(reason),
                (None, None) => Verdict::Pass,
            };
            verdicts.push((checker.code(), verdict));
        }
        OracleReport {
            verdicts,
            metrics: self.metrics,
        }
    }
}
