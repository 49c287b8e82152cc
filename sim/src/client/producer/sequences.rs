//! Per-partition sequence numbers of an idempotent producer (Kafka `TxnPartitionEntry`): the next
//! sequence to hand out, the last one the broker acknowledged, and the batches sent but not resolved.

use std::collections::BTreeSet;

/// Sequence bookkeeping of one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionSequences {
    /// Sequence for the next new batch.
    pub next_sequence: i32,
    /// Last sequence the broker acknowledged, -1 before any.
    pub last_acked_sequence: i32,
    /// Base sequences of batches sent (or waiting for a retry) and not yet resolved.
    pub unresolved: BTreeSet<i32>,
}

impl Default for PartitionSequences {
    fn default() -> Self {
        Self::new()
    }
}

impl PartitionSequences {
    /// A partition nothing was sent to in this epoch.
    pub fn new() -> Self {
        PartitionSequences {
            next_sequence: 0,
            last_acked_sequence: -1,
            unresolved: BTreeSet::new(),
        }
    }

    /// Kafka `firstInFlightSequence`: the lowest unresolved base sequence.
    pub fn first_unresolved(&self) -> Option<i32> {
        self.unresolved.iter().next().copied()
    }

    /// Hands out `count` sequences for a new batch; returns its base sequence.
    pub fn assign(&mut self, count: usize) -> i32 {
        let base = self.next_sequence;
        self.next_sequence = base.wrapping_add(count as i32);
        self.unresolved.insert(base);
        base
    }

    /// Kafka `isNextSequence`: the batch is the one the broker expects next.
    pub fn is_next(&self, base_sequence: i32) -> bool {
        base_sequence == self.last_acked_sequence.wrapping_add(1)
    }

    /// The broker acknowledged a batch.
    pub fn acknowledge(&mut self, base_sequence: i32, last_sequence: i32) {
        self.unresolved.remove(&base_sequence);
        if last_sequence > self.last_acked_sequence {
            self.last_acked_sequence = last_sequence;
        }
    }

    /// A batch failed for good.
    pub fn forget(&mut self, base_sequence: i32) {
        self.unresolved.remove(&base_sequence);
    }
}
