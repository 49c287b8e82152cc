//! The engine backend's partition logs and producers: records appended at virtual times, grouped into
//! log batches, some of them poison. There is no replication here: a record is committed (below the high
//! watermark) as soon as it is appended, as with `acks=all` on a healthy cluster.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::Rng;
use sharesim_sim::client::producer::{
    partition_for_key, record_size_estimate, ProducerConfig, StickyPartition, StickyPartitioner,
};
use sharesim_sim::log::ProducerRecord;
use sharesim_sim::share::partition::{FetchedLog, LogBatch};

use crate::scenario::workload::{Keys, PoisonRecord, ProducerSpec};

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
    pub poison: Vec<Option<PoisonRecord>>,
    /// The log start offset (retention, DeleteRecords).
    pub log_start_offset: i64,
}

impl PartitionLog {
    /// The high watermark (= log end offset: every appended record is committed).
    pub fn end_offset(&self) -> i64 {
        self.produced_at_ms.len() as i64
    }

    /// Appends `poison.len()` records as one batch at `now_ms`.
    pub fn append(&mut self, now_ms: u64, poison: Vec<Option<PoisonRecord>>) {
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

    /// The poison of `offset`, if any.
    pub fn poison_at(&self, offset: i64) -> Option<PoisonRecord> {
        usize::try_from(offset)
            .ok()
            .and_then(|index| self.poison.get(index).copied().flatten())
    }
}

/// A producer's progress. Batching and partitioning are the producer client's own rules
/// (`sharesim_sim::client::producer`): records go to `partition_for_key(murmur2)` when keyed, else to
/// Kafka's sticky partition, which moves on after `batch.size` bytes; a partition's records of one
/// linger window form batches of at most `batch.size` bytes (`RecordAccumulator`).
#[derive(Debug)]
pub(crate) struct ProducerState {
    /// The scenario entry.
    pub spec: ProducerSpec,
    /// Index of the topic it writes to.
    pub topic_index: usize,
    /// Records sent so far.
    pub sent: u64,
    /// `batch.size`, `linger.ms`, `partitioner.ignore.keys`, ... through the producer client's parser.
    pub config: ProducerConfig,
    /// The sticky partition for records without a key.
    pub sticky: Option<StickyPartition>,
    /// Chooses sticky partitions (seeded per run and producer).
    pub partitioner: StickyPartitioner,
}

impl ProducerState {
    /// A producer for `spec` writing to topic `topic_index`, its choices seeded by `seed`.
    pub fn new(spec: ProducerSpec, topic_index: usize, seed: u64) -> Result<ProducerState, String> {
        let properties: BTreeMap<String, String> = spec
            .configs
            .iter()
            .map(|(name, value)| (name.clone(), value.as_str().to_string()))
            .collect();
        let config = ProducerConfig::from_properties(&properties)
            .map_err(|error| format!("{}: {}", error.name, error.reason))?;
        Ok(ProducerState {
            spec,
            topic_index,
            sent: 0,
            config,
            sticky: None,
            partitioner: StickyPartitioner::new(seed),
        })
    }

    /// The virtual time between two sends: `linger.ms`, at least 1 ms so a producer always advances.
    pub fn linger_ms(&self) -> u64 {
        self.config.linger_ms.max(1)
    }

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

    /// Record `index` as the producer client sees it: its key (`key-N`) and a value of `value_bytes`.
    pub fn record(
        &self,
        index: u64,
        now_ms: u64,
        value: &[u8],
        rng: &mut StdRng,
    ) -> ProducerRecord {
        let key = match &self.spec.keys {
            Keys::None => None,
            Keys::Sequential { cardinality } => Some(index % (*cardinality).max(1)),
            Keys::Random { cardinality } => Some(rng.gen_range(0..(*cardinality).max(1))),
        };
        let key = key.map(|key| format!("key-{key}"));
        ProducerRecord::new(
            key.as_deref().map(str::as_bytes),
            Some(value),
            now_ms as i64,
        )
    }

    /// The partition of `record` among `partitions`: the scenario's fixed partition, else Kafka's
    /// built-in partitioner.
    pub fn partition_of(&mut self, record: &ProducerRecord, partitions: u32) -> u32 {
        let partitions = partitions.max(1);
        if let Some(partition) = self.spec.partition {
            return partition.min(partitions - 1);
        }
        match &record.key {
            Some(key) if !self.config.partitioner_ignore_keys => {
                partition_for_key(key, partitions as i32) as u32
            }
            _ => self.partitioner.partition(
                &mut self.sticky,
                partitions as i32,
                &[],
                record_size_estimate(record),
                self.config.batch_size,
            ) as u32,
        }
    }

    /// Whether record `index` is poison, and how.
    pub fn poison_of(&self, index: u64, rng: &mut StdRng) -> Option<PoisonRecord> {
        self.spec.poison_of(index, rng)
    }
}
