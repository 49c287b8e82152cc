//! A node's clock: madsim's virtual time plus an offset the faults can change (clock skew). Reads never
//! go backwards on one node (engines require it), so a negative step holds the clock until real time
//! catches up.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

/// One node's view of time, shared with the harness (which sets the skew).
#[derive(Clone, Debug, Default)]
pub struct NodeClock {
    offset_ms: Arc<AtomicI64>,
    last_ms: Arc<AtomicU64>,
}

impl NodeClock {
    /// A clock without skew.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the skew: this node reads virtual time plus `offset_ms`.
    pub fn set_offset_ms(&self, offset_ms: i64) {
        self.offset_ms.store(offset_ms, Ordering::Relaxed);
    }

    /// The current skew.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// This node's time in ms (never decreasing).
    pub fn now_ms(&self) -> u64 {
        let virtual_ms = madsim::time::TimeHandle::current().elapsed().as_millis() as i64;
        let skewed = (virtual_ms + self.offset_ms()).max(0) as u64;
        let previous = self.last_ms.fetch_max(skewed, Ordering::Relaxed);
        previous.max(skewed)
    }

    /// How long in virtual time until this node's clock reads `deadline_ms`.
    pub fn until_ms(&self, deadline_ms: u64) -> u64 {
        deadline_ms.saturating_sub(self.now_ms())
    }
}
