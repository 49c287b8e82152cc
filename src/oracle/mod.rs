//! The oracle: observers that read the canonical trace record by record and decide the invariants of the
//! design's table (NO-LOSS, EXCLUSIVE, TERMINAL-FINAL, ...). Each checker is one small file; each reports
//! its first violation with the offending events and a one-line explanation. Outcomes that at-least-once
//! delivery allows (duplicates, redeliveries, out-of-order deliveries, archives) are counted as metrics.

mod ack_outcome;
mod batch_wf;
mod checker;
mod committed;
mod dc_limit;
mod durable;
mod exclusive;
mod fencing;
mod holders;
mod inflight_cap;
mod liveness;
mod membership;
mod metrics;
mod no_loss;
pub(crate) mod offset_reset;
mod owner;
mod runner;
mod spso_safe;
mod terminal_final;
#[cfg(test)]
mod tests;

pub use checker::{Checker, OracleConfig, Violation};
pub use committed::CommittedPartition;
pub use metrics::Metrics;
pub use runner::{Oracle, OracleReport, Verdict};
