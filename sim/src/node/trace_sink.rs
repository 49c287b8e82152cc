//! One trace per run, shared by every node: events are numbered in the order madsim runs the nodes,
//! which a seed fixes.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::trace::{Trace, TraceEvent, TraceHash};

/// The run's trace, shared by the nodes.
#[derive(Clone, Debug)]
pub struct SharedTrace {
    inner: Arc<Mutex<Trace>>,
}

impl SharedTrace {
    /// Wraps a trace sink.
    pub fn new(trace: Trace) -> Self {
        SharedTrace {
            inner: Arc::new(Mutex::new(trace)),
        }
    }

    /// Records one event.
    pub fn record(&self, at_ms: u64, node: &str, event: TraceEvent) {
        self.lock().record(at_ms, node, event);
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
}
