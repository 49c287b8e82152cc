//! The record accumulator (Kafka `RecordAccumulator`): one queue of batches per partition. Records join
//! the open batch at the tail until it reaches `batch.size`; a batch is ready to send when it is full,
//! when `linger.ms` passed since it was created, when the application flushes, or (a retry) when its
//! backoff passed.

use std::collections::{BTreeMap, VecDeque};

use super::events::RecordId;
use crate::log::{ProducerIdentity, ProducerRecord, TopicPartition, BATCH_HEADER_BYTES};

/// Bytes a v2 batch adds around its records (the 61-byte header: offset, length, then the header).
pub const BATCH_OVERHEAD_BYTES: usize = BATCH_HEADER_BYTES;

/// One batch of records for one partition.
#[derive(Clone, Debug, PartialEq)]
pub struct ProducerBatch {
    /// Unique per producer, for bookkeeping.
    pub batch_id: u64,
    /// Where it goes.
    pub topic_partition: TopicPartition,
    /// The records, in send order.
    pub records: Vec<ProducerRecord>,
    /// The ids `send` returned for them.
    pub record_ids: Vec<RecordId>,
    /// Estimated encoded size.
    pub size_bytes: usize,
    /// When the first record joined (linger and delivery timeout count from here).
    pub created_ms: u64,
    /// How many times it was sent.
    pub attempts: u32,
    /// Not before this time (retry backoff).
    pub retry_at_ms: Option<u64>,
    /// Sequence of the first record, assigned when first sent (idempotence); kept on retries.
    pub base_sequence: Option<i32>,
    /// Producer id and epoch that go with the sequence.
    pub producer: Option<ProducerIdentity>,
}

impl ProducerBatch {
    /// Sequence of the last record.
    pub fn last_sequence(&self) -> Option<i32> {
        self.base_sequence
            .map(|s| s.wrapping_add(self.records.len() as i32 - 1))
    }
}

/// Estimated encoded size of a record inside a v2 batch (varint fields, at most 5 bytes each).
pub fn record_size_estimate(record: &ProducerRecord) -> usize {
    let key = record.key.as_ref().map_or(0, |k| k.len());
    let value = record.value.as_ref().map_or(0, |v| v.len());
    let headers: usize = record
        .headers
        .iter()
        .map(|(k, v)| 10 + k.len() + v.as_ref().map_or(0, |v| v.len()))
        .sum();
    // length + attributes + timestamp delta + offset delta + key length + value length + header count.
    21 + key + value + headers
}

/// Batches waiting to be sent, per partition.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordAccumulator {
    queues: BTreeMap<TopicPartition, VecDeque<ProducerBatch>>,
    next_batch_id: u64,
}

impl RecordAccumulator {
    /// Appends a record to the partition's open batch, or opens a new one. A batch that was already
    /// sent never takes more records.
    pub fn append(
        &mut self,
        now_ms: u64,
        topic_partition: &TopicPartition,
        record: ProducerRecord,
        record_id: RecordId,
        batch_size: usize,
    ) {
        let size = record_size_estimate(&record);
        let queue = self.queues.entry(topic_partition.clone()).or_default();
        if let Some(last) = queue.back_mut() {
            if last.attempts == 0 && last.size_bytes + size <= batch_size {
                last.records.push(record);
                last.record_ids.push(record_id);
                last.size_bytes += size;
                return;
            }
        }
        self.next_batch_id += 1;
        queue.push_back(ProducerBatch {
            batch_id: self.next_batch_id,
            topic_partition: topic_partition.clone(),
            records: vec![record],
            record_ids: vec![record_id],
            size_bytes: BATCH_OVERHEAD_BYTES + size,
            created_ms: now_ms,
            attempts: 0,
            retry_at_ms: None,
            base_sequence: None,
            producer: None,
        });
    }

    /// Puts a batch back for a retry, in sequence order ahead of newer batches (Kafka
    /// `insertInSequenceOrder`), so the partition's sequences stay in order.
    pub fn reenqueue(&mut self, batch: ProducerBatch) {
        let queue = self
            .queues
            .entry(batch.topic_partition.clone())
            .or_default();
        let position = queue
            .iter()
            .position(|b| match (b.base_sequence, batch.base_sequence) {
                (Some(existing), Some(retried)) => existing > retried,
                (None, _) => true,
                (Some(_), None) => false,
            })
            .unwrap_or(queue.len());
        queue.insert(position, batch);
    }

    /// The first batch of a partition.
    pub fn first(&self, topic_partition: &TopicPartition) -> Option<&ProducerBatch> {
        self.queues.get(topic_partition).and_then(|q| q.front())
    }

    /// Removes the first batch of a partition.
    pub fn pop_first(&mut self, topic_partition: &TopicPartition) -> Option<ProducerBatch> {
        let queue = self.queues.get_mut(topic_partition)?;
        let batch = queue.pop_front();
        if queue.is_empty() {
            self.queues.remove(topic_partition);
        }
        batch
    }

    /// Whether the partition's first batch may be sent now. `flushing` makes lingering batches ready.
    pub fn is_ready(
        &self,
        now_ms: u64,
        topic_partition: &TopicPartition,
        linger_ms: u64,
        batch_size: usize,
        flushing: bool,
    ) -> bool {
        let Some(queue) = self.queues.get(topic_partition) else {
            return false;
        };
        let Some(first) = queue.front() else {
            return false;
        };
        if first.retry_at_ms.is_some_and(|at| at > now_ms) {
            return false;
        }
        let full = queue.len() > 1 || first.size_bytes >= batch_size;
        full || flushing || first.attempts > 0 || now_ms >= first.created_ms + linger_ms
    }

    /// When the earliest not-yet-ready first batch becomes ready (linger or backoff).
    pub fn next_ready_ms(&self, linger_ms: u64) -> Option<u64> {
        self.queues
            .values()
            .filter_map(|q| q.front())
            .map(|b| match b.retry_at_ms {
                Some(at) => at,
                None => b.created_ms + linger_ms,
            })
            .min()
    }

    /// Partitions with batches.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        self.queues.keys().cloned().collect()
    }

    /// Whether no batch waits.
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    /// Removes every batch whose delivery deadline passed (`created + delivery.timeout.ms <= now`).
    pub fn take_expired(&mut self, now_ms: u64, delivery_timeout_ms: u64) -> Vec<ProducerBatch> {
        let mut expired = Vec::new();
        for queue in self.queues.values_mut() {
            let mut kept = VecDeque::with_capacity(queue.len());
            for batch in queue.drain(..) {
                if batch.created_ms + delivery_timeout_ms <= now_ms {
                    expired.push(batch);
                } else {
                    kept.push_back(batch);
                }
            }
            *queue = kept;
        }
        self.queues.retain(|_, q| !q.is_empty());
        expired
    }

    /// Removes every batch (abort, fatal error).
    pub fn take_all(&mut self) -> Vec<ProducerBatch> {
        let queues = std::mem::take(&mut self.queues);
        queues.into_values().flatten().collect()
    }

    /// Earliest delivery deadline of a waiting batch.
    pub fn next_expiry_ms(&self, delivery_timeout_ms: u64) -> Option<u64> {
        self.queues
            .values()
            .flatten()
            .map(|b| b.created_ms + delivery_timeout_ms)
            .min()
    }

    /// Clears the sequence numbers of waiting batches after an epoch bump: they get new ones when
    /// next sent.
    pub fn reset_sequences(&mut self) {
        for batch in self.queues.values_mut().flatten() {
            batch.base_sequence = None;
            batch.producer = None;
        }
    }
}
