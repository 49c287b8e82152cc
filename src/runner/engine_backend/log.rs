//! The engine backend's partition logs and producers: records appended at virtual times, grouped into
//! log batches, some of them poison. There is no replication here: a record is committed (below the high
//! watermark) as soon as it is appended, as with `acks=all` on a healthy cluster.

use rand::rngs::StdRng;
use rand::Rng;
use sharesim_sim::share::partition::{FetchedLog, LogBatch};

use crate::scenario::workload::{Keys, PoisonKind, ProducerSpec};

/// At most this many batches per log read, like a `fetch.max.bytes`-bounded read.
const READ_BATCHES_MAX: usize = 64;

/// One topic partition's log.
#[derive(Debug, Default)]
pub(super) struct PartitionLog {
    /// Batches in offset order.
    pub batches: Vec<LogBatch>,
    /// Commit time per offset.
    pub produced_at_ms: Vec<u64>,
    /// Poison per offset.
    pub poison: Vec<Option<PoisonKind>>,
    /// The log start offset (retention, DeleteRecords).
    pub log_start_offset: i64,
}

impl PartitionLog {
    /// The high watermark (= log end offset: every appended record is committed).
    pub fn end_offset(&self) -> i64 {
        self.produced_at_ms.len() as i64
    }

    /// Appends `poison.len()` records as one batch at `now_ms`.
    pub fn append(&mut self, now_ms: u64, poison: Vec<Option<PoisonKind>>) {
        if poison.is_empty() {
            return;
        }
        let base = self.end_offset();
        let last = base + poison.len() as i64 - 1;
        self.batches.push(LogBatch::data(base, last));
        self.produced_at_ms
            .extend(std::iter::repeat_n(now_ms, poison.len()));
        self.poison.extend(poison);
    }

    /// A read from `fetch_offset`: the batch containing it and the following ones.
    pub fn read(&self, fetch_offset: i64) -> FetchedLog {
        let from = fetch_offset.max(self.log_start_offset);
        let first = self
            .batches
            .partition_point(|batch| batch.last_offset < from);
        let batches = self.batches[first..]
            .iter()
            .take(READ_BATCHES_MAX)
            .copied()
            .collect();
        FetchedLog {
            fetch_offset: from,
            batches,
            aborted_transactions: Vec::new(),
        }
    }

    /// The poison kind of `offset`, if any.
    pub fn poison_at(&self, offset: i64) -> Option<PoisonKind> {
        usize::try_from(offset)
            .ok()
            .and_then(|index| self.poison.get(index).copied().flatten())
    }
}

/// A producer's progress.
#[derive(Debug)]
pub(super) struct ProducerState {
    /// The scenario entry.
    pub spec: ProducerSpec,
    /// Index of the topic it writes to.
    pub topic_index: usize,
    /// Records sent so far.
    pub sent: u64,
    /// The sticky partitioner's current partition.
    pub sticky_partition: u32,
    /// `linger.ms`: one batch per partition per linger window.
    pub linger_ms: u64,
}

impl ProducerState {
    /// How many records are due by `now_ms` at the configured rate (0 = unthrottled: all at once).
    pub fn due_by(&self, now_ms: u64) -> u64 {
        if now_ms < self.spec.start_ms {
            return 0;
        }
        if self.spec.rate_per_sec <= 0.0 {
            return self.spec.count;
        }
        let elapsed_ms = (now_ms - self.spec.start_ms) as f64;
        let due = (elapsed_ms * self.spec.rate_per_sec / 1000.0).floor() as u64 + 1;
        due.min(self.spec.count)
    }

    /// The partition of record `index` among `partitions`.
    pub fn partition_of(&mut self, index: u64, partitions: u32, rng: &mut StdRng) -> u32 {
        if let Some(partition) = self.spec.partition {
            return partition.min(partitions.saturating_sub(1));
        }
        match &self.spec.keys {
            Keys::None => self.sticky_partition % partitions.max(1),
            Keys::Sequential { cardinality } => {
                ((index % (*cardinality).max(1)) % u64::from(partitions.max(1))) as u32
            }
            Keys::Random { cardinality } => {
                (rng.gen_range(0..(*cardinality).max(1)) % u64::from(partitions.max(1))) as u32
            }
        }
    }

    /// Whether record `index` is poison, and how.
    pub fn poison_of(&self, index: u64, rng: &mut StdRng) -> Option<PoisonKind> {
        for poison in &self.spec.poison {
            if poison.records.contains(&index) {
                return Some(poison.kind);
            }
        }
        for poison in &self.spec.poison {
            if poison.ratio > 0.0 && rng.gen_bool(poison.ratio.clamp(0.0, 1.0)) {
                return Some(poison.kind);
            }
        }
        None
    }
}
