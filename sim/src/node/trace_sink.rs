//! One trace per run, shared by every node: events are numbered in the order madsim runs the nodes,
//! which a seed fixes. The run's explicit limits ([`RunLimits`]) live beside it, since every node holds
//! the trace: nodes count their loop steps here, and the trace refuses records past its bound.

use std::sync::{Arc, Mutex, MutexGuard};

use super::run_limits::{RunLimitExceeded, RunLimits};
use crate::trace::{Trace, TraceEvent, TraceHash};

/// The run's trace, shared by the nodes.
#[derive(Clone, Debug)]
pub struct SharedTrace {
    inner: Arc<Mutex<Trace>>,
    limits: Arc<Mutex<RunLimits>>,
}

impl SharedTrace {
    /// Wraps a trace sink, with the default [`RunLimits`].
    pub fn new(trace: Trace) -> Self {
        SharedTrace::with_limits(trace, RunLimits::default())
    }

    /// Wraps a trace sink with other limits (tests that provoke them).
    pub fn with_limits(trace: Trace, limits: RunLimits) -> Self {
        SharedTrace {
            inner: Arc::new(Mutex::new(trace)),
            limits: Arc::new(Mutex::new(limits)),
        }
    }

    /// Records one event; past [`crate::node::MAX_TRACE_RECORDS_PER_RUN`] records (or once another limit
    /// tripped) the event is dropped and the run is marked as over its limits.
    pub fn record(&self, at_ms: u64, node: &str, event: TraceEvent) {
        if self.limits().trace_record(at_ms, node).is_ok() {
            self.lock().record(at_ms, node, event);
        }
    }

    /// `node` takes one step of its loop at simulator time `true_now_ms` (not a skewed node clock);
    /// `Err` once the run exceeded a limit: the node must stop.
    pub fn step(&self, true_now_ms: u64, node: &str) -> Result<(), RunLimitExceeded> {
        self.limits().step(true_now_ms, node)
    }

    /// The limit the run exceeded, if any.
    pub fn limit_exceeded(&self) -> Option<RunLimitExceeded> {
        self.limits().exceeded().cloned()
    }

    /// The hash so far.
    pub fn hash(&self) -> TraceHash {
        self.lock().hash()
    }

    /// Runs `f` on the trace (to read its records).
    pub fn with<R>(&self, f: impl FnOnce(&Trace) -> R) -> R {
        f(&self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Trace> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn limits(&self) -> MutexGuard<'_, RunLimits> {
        self.limits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
