//! The explicit limits of one simulated run (TigerStyle: every loop and every queue has a bound).
//!
//! A simulated cluster that almost stops making virtual-time progress (a node that retries without
//! waiting, thousands of times per virtual millisecond, as the kafka-4.0 share consumer once did when the
//! transport refused its RPC version) would otherwise spin until the wall-clock timeout, and a run whose trace grows without bound
//! would take the machine's memory with it. [`RunLimits`] counts what the nodes do and trips once, with a
//! [`RunLimitExceeded`] that names the limit, the virtual time reached and what was spinning; the nodes
//! then stop, and the backend reports the run as failed with that text.

use std::collections::BTreeMap;
use std::fmt;

/// The virtual time over which node steps are counted.
pub const STEP_WINDOW_VIRTUAL_MS: u64 = 10;

/// The most loop steps one node may take within [`STEP_WINDOW_VIRTUAL_MS`] of virtual time: 1,000 per
/// virtual millisecond, sustained. A healthy node takes a handful per input (a broker under a request
/// storm stays in the hundreds per millisecond). madsim moves virtual time on by a fraction of a
/// microsecond per task poll, so a node that retries without waiting still advances time, slowly: the
/// 4.0 runaway took some 4,500 steps per virtual millisecond, each leaving a request pending, and filled
/// the memory. Past this limit the node is spinning.
pub const MAX_NODE_STEPS_PER_STEP_WINDOW: u64 = 10_000;

/// The most trace records one run may keep (about 13 records per produced record in a healthy run, so
/// room for some 300,000 records; a record costs a few hundred bytes, so about a gigabyte at most).
pub const MAX_TRACE_RECORDS_PER_RUN: u64 = 4_000_000;

/// Which limit a run exceeded, where and who was busy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunLimitExceeded {
    /// [`MAX_NODE_STEPS_PER_STEP_WINDOW`]: a node spins, virtual time hardly moves.
    NodeStepsPerWindow {
        /// The limit in force.
        limit: u64,
        /// Where the window started (simulator time).
        window_start_ms: u64,
        /// The virtual time when the limit tripped (simulator time).
        at_ms: u64,
        /// The spinning node.
        node: String,
    },
    /// [`MAX_TRACE_RECORDS_PER_RUN`]: the trace outgrew its bound.
    TraceRecordsPerRun {
        /// The limit in force.
        limit: u64,
        /// The virtual time of the first record refused.
        at_ms: u64,
        /// The node whose record was refused.
        node: String,
    },
}

impl fmt::Display for RunLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunLimitExceeded::NodeStepsPerWindow {
                limit,
                window_start_ms,
                at_ms,
                node,
            } => write!(
                f,
                "run limit exceeded: {node} took more than {limit} steps between virtual times \
                 {window_start_ms} ms and {at_ms} ms (MAX_NODE_STEPS_PER_STEP_WINDOW per \
                 STEP_WINDOW_VIRTUAL_MS = {STEP_WINDOW_VIRTUAL_MS} ms): spinning: {node}; the simulation \
                 made almost no virtual-time progress"
            ),
            RunLimitExceeded::TraceRecordsPerRun { limit, at_ms, node } => write!(
                f,
                "run limit exceeded: more than {limit} trace records (MAX_TRACE_RECORDS_PER_RUN) by \
                 virtual time {at_ms} ms; the record refused came from {node}"
            ),
        }
    }
}

impl std::error::Error for RunLimitExceeded {}

/// The counters behind the limits (sans-IO: time is passed in). Once a limit trips, every further step
/// and record is refused with the same [`RunLimitExceeded`].
#[derive(Clone, Debug)]
pub struct RunLimits {
    max_node_steps_per_step_window: u64,
    max_trace_records_per_run: u64,
    /// Where the current step window started (simulator time).
    window_start_ms: u64,
    steps_by_node_in_window: BTreeMap<String, u64>,
    trace_records: u64,
    exceeded: Option<RunLimitExceeded>,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits::new(MAX_NODE_STEPS_PER_STEP_WINDOW, MAX_TRACE_RECORDS_PER_RUN)
    }
}

impl RunLimits {
    /// Limits other than the defaults (tests that provoke them).
    pub fn new(max_node_steps_per_step_window: u64, max_trace_records_per_run: u64) -> RunLimits {
        RunLimits {
            max_node_steps_per_step_window,
            max_trace_records_per_run,
            window_start_ms: 0,
            steps_by_node_in_window: BTreeMap::new(),
            trace_records: 0,
            exceeded: None,
        }
    }

    /// `node` takes one loop step at simulator time `now_ms`; `Err` means the node must stop.
    pub fn step(&mut self, now_ms: u64, node: &str) -> Result<(), RunLimitExceeded> {
        if let Some(exceeded) = &self.exceeded {
            return Err(exceeded.clone());
        }
        if now_ms >= self.window_start_ms + STEP_WINDOW_VIRTUAL_MS {
            self.window_start_ms = now_ms;
            self.steps_by_node_in_window.clear();
        }
        let steps = match self.steps_by_node_in_window.get_mut(node) {
            Some(steps) => {
                *steps += 1;
                *steps
            }
            None => {
                self.steps_by_node_in_window.insert(node.to_string(), 1);
                1
            }
        };
        if steps <= self.max_node_steps_per_step_window {
            return Ok(());
        }
        Err(self.trip(RunLimitExceeded::NodeStepsPerWindow {
            limit: self.max_node_steps_per_step_window,
            window_start_ms: self.window_start_ms,
            at_ms: now_ms,
            node: node.to_string(),
        }))
    }

    /// `node` records one trace event at `at_ms`; `Err` means the record must be dropped.
    pub fn trace_record(&mut self, at_ms: u64, node: &str) -> Result<(), RunLimitExceeded> {
        if let Some(exceeded) = &self.exceeded {
            return Err(exceeded.clone());
        }
        if self.trace_records < self.max_trace_records_per_run {
            self.trace_records += 1;
            return Ok(());
        }
        Err(self.trip(RunLimitExceeded::TraceRecordsPerRun {
            limit: self.max_trace_records_per_run,
            at_ms,
            node: node.to_string(),
        }))
    }

    /// The limit the run exceeded, if any.
    pub fn exceeded(&self) -> Option<&RunLimitExceeded> {
        self.exceeded.as_ref()
    }

    fn trip(&mut self, exceeded: RunLimitExceeded) -> RunLimitExceeded {
        self.exceeded = Some(exceeded.clone());
        exceeded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps spread over virtual time never trip: the count is per node and per window.
    #[test]
    fn steps_that_advance_virtual_time_stay_within_the_limit() {
        let mut limits = RunLimits::new(STEP_WINDOW_VIRTUAL_MS, 100);
        for now_ms in 0..1_000 {
            for node in ["broker-1", "consumer-1", "consumer-2"] {
                assert!(limits.step(now_ms, node).is_ok());
            }
        }
        assert!(limits.exceeded().is_none());
    }

    /// One more step than the limit within one window trips, names the spinning node and the times,
    /// and every later step and record is refused with the same error.
    #[test]
    fn a_node_spinning_within_one_window_trips_the_step_limit() {
        let mut limits = RunLimits::new(10, 100);
        limits.step(7, "broker-1").unwrap();
        let mut outcome = Ok(());
        for _ in 0..11 {
            outcome = limits.step(8, "consumer-3");
        }
        let error = outcome.unwrap_err();
        assert_eq!(
            error,
            RunLimitExceeded::NodeStepsPerWindow {
                limit: 10,
                window_start_ms: 0,
                at_ms: 8,
                node: "consumer-3".to_string(),
            }
        );
        let text = error.to_string();
        assert!(text.contains("MAX_NODE_STEPS_PER_STEP_WINDOW"), "{text}");
        assert!(text.contains("spinning: consumer-3"), "{text}");
        assert_eq!(limits.step(30, "broker-1"), Err(error.clone()));
        assert_eq!(limits.trace_record(30, "broker-1"), Err(error.clone()));
        assert_eq!(limits.exceeded(), Some(&error));
    }

    /// The trace keeps at most the limit's records.
    #[test]
    fn the_trace_record_limit_refuses_the_record_past_the_bound() {
        let mut limits = RunLimits::new(1_000, 3);
        for at_ms in 0..3 {
            limits.trace_record(at_ms, "broker-1").unwrap();
        }
        let error = limits.trace_record(42, "consumer-1").unwrap_err();
        assert_eq!(
            error,
            RunLimitExceeded::TraceRecordsPerRun {
                limit: 3,
                at_ms: 42,
                node: "consumer-1".to_string(),
            }
        );
        assert!(error.to_string().contains("MAX_TRACE_RECORDS_PER_RUN"));
    }
}
