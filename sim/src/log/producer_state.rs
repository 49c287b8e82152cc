//! Producer state of one partition (Kafka `ProducerStateManager` / `ProducerAppendInfo`): producer epochs,
//! the last five batches' sequence ranges for duplicate detection, ongoing transactions for the last stable
//! offset, and the aborted-transaction index that read_committed fetches return.

use std::collections::{BTreeMap, VecDeque};

use kafka_protocol::messages::fetch_response::AbortedTransaction;
use kafka_protocol::messages::ProducerId;

use super::batch::{increment_sequence, BatchHeader};
use super::builder::ControlType;
use crate::ResponseError;

/// Kafka keeps the metadata of this many recent batches per producer for duplicate detection.
pub const PRODUCER_BATCHES_RETAINED_MAX: usize = 5;

/// Sequence and offset range of one appended batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BatchMetadata {
    /// Sequence of the first record.
    pub first_sequence: i32,
    /// Sequence of the last record.
    pub last_sequence: i32,
    /// Offset of the first record.
    pub first_offset: i64,
    /// Offset of the last record.
    pub last_offset: i64,
}

/// What the partition remembers about one producer id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProducerEntry {
    /// Latest producer epoch seen.
    pub producer_epoch: i16,
    /// Epoch of the transaction coordinator that wrote the last marker (-1 before any).
    pub coordinator_epoch: i32,
    /// The most recent data batches of the current epoch, oldest first.
    pub batches: VecDeque<BatchMetadata>,
    /// First offset of the open transaction, if one is open.
    pub current_txn_first_offset: Option<i64>,
}

impl ProducerEntry {
    fn empty(producer_epoch: i16) -> Self {
        ProducerEntry {
            producer_epoch,
            coordinator_epoch: -1,
            batches: VecDeque::new(),
            current_txn_first_offset: None,
        }
    }

    fn last_sequence(&self) -> Option<i32> {
        self.batches.back().map(|b| b.last_sequence)
    }
}

/// One entry of the aborted-transaction index (Kafka `AbortedTxn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AbortedTxn {
    /// The producer whose transaction aborted.
    pub producer_id: i64,
    /// First offset of the transaction (its first data batch, or the marker when it wrote none).
    pub first_offset: i64,
    /// Offset of the ABORT marker.
    pub last_offset: i64,
    /// The last stable offset when the abort was written.
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    /// The entry as a FetchResponse carries it (producer id and first offset).
    pub fn to_fetch_response(&self) -> AbortedTransaction {
        AbortedTransaction::default()
            .with_producer_id(ProducerId(self.producer_id))
            .with_first_offset(self.first_offset)
    }
}

/// How an append relates to what the producer already wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    /// New data: append it.
    Append,
    /// A retry of a batch already in the log: answer with its original offsets, append nothing.
    Duplicate(BatchMetadata),
}

/// Producer state of one partition replica.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ProducerStateTable {
    producers: BTreeMap<i64, ProducerEntry>,
    /// Open transactions: first offset -> producer id.
    ongoing_txns: BTreeMap<i64, i64>,
    /// Completed transactions whose marker is not yet below the high watermark: first offset -> marker
    /// offset. They still hold the last stable offset back (Kafka `unreplicatedTxns`).
    unreplicated_txns: BTreeMap<i64, i64>,
    /// Aborted transactions, in marker order.
    aborted: Vec<AbortedTxn>,
}

impl ProducerStateTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry for a producer id.
    pub fn producer(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    /// Every aborted transaction known, in marker order.
    pub fn aborted_txns(&self) -> &[AbortedTxn] {
        &self.aborted
    }

    /// The first offset that is not stable: the start of the earliest open or unreplicated transaction.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        let ongoing = self.ongoing_txns.keys().next().copied();
        let unreplicated = self.unreplicated_txns.keys().next().copied();
        match (ongoing, unreplicated) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Offset of the last data batch of a producer (compaction keeps that batch, possibly empty).
    pub fn last_batch_last_offset(&self, producer_id: i64) -> Option<i64> {
        self.producers
            .get(&producer_id)
            .and_then(|e| e.batches.back())
            .map(|b| b.last_offset)
    }

    /// Aborted transactions overlapping `[start_offset, upper_bound_offset)` (Kafka
    /// `collectAbortedTransactions`): marker at or after the start, first offset before the bound.
    pub fn aborted_overlapping(
        &self,
        start_offset: i64,
        upper_bound_offset: i64,
    ) -> Vec<AbortedTxn> {
        self.aborted
            .iter()
            .filter(|t| t.last_offset >= start_offset && t.first_offset < upper_bound_offset)
            .copied()
            .collect()
    }

    /// Validates a client data batch (Kafka `analyzeAndValidateProducerState` + `ProducerAppendInfo`):
    /// duplicate of a recent batch, fenced epoch, out-of-order sequence, non-transactional write inside a
    /// transaction.
    pub fn check_client_batch(&self, header: &BatchHeader) -> Result<SequenceCheck, ResponseError> {
        if !header.has_producer_id() {
            return Ok(SequenceCheck::Append);
        }
        let Some(entry) = self.producers.get(&header.producer_id) else {
            // Unknown producer (new, or its data left the log): any sequence is accepted, as Kafka does.
            return Ok(SequenceCheck::Append);
        };
        if header.producer_epoch == entry.producer_epoch {
            let last_sequence = header.last_sequence();
            if let Some(dup) = entry.batches.iter().find(|b| {
                b.first_sequence == header.base_sequence && b.last_sequence == last_sequence
            }) {
                return Ok(SequenceCheck::Duplicate(*dup));
            }
        }
        if header.producer_epoch < entry.producer_epoch {
            return Err(ResponseError::InvalidProducerEpoch);
        }
        if header.producer_epoch != entry.producer_epoch {
            // A bumped epoch must restart its sequences at 0.
            if header.base_sequence != 0 {
                return Err(ResponseError::OutOfOrderSequenceNumber);
            }
        } else {
            let last = entry.last_sequence().unwrap_or(-1);
            if !in_sequence(last, header.base_sequence) {
                return Err(ResponseError::OutOfOrderSequenceNumber);
            }
        }
        if !header.is_transactional() && entry.current_txn_first_offset.is_some() {
            return Err(ResponseError::InvalidTxnState);
        }
        Ok(SequenceCheck::Append)
    }

    /// Validates a transaction marker from the transaction coordinator (WriteTxnMarkers).
    pub fn check_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
    ) -> Result<(), ResponseError> {
        let Some(entry) = self.producers.get(&producer_id) else {
            return Ok(());
        };
        if producer_epoch < entry.producer_epoch {
            return Err(ResponseError::InvalidProducerEpoch);
        }
        if coordinator_epoch < entry.coordinator_epoch {
            return Err(ResponseError::TransactionCoordinatorFenced);
        }
        Ok(())
    }

    /// Records an appended data batch (leader, follower and recovery replay alike).
    pub fn apply_data_batch(&mut self, header: &BatchHeader) {
        if !header.has_producer_id() {
            return;
        }
        let entry = self
            .producers
            .entry(header.producer_id)
            .or_insert_with(|| ProducerEntry::empty(header.producer_epoch));
        if header.producer_epoch != entry.producer_epoch {
            entry.producer_epoch = header.producer_epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(BatchMetadata {
            first_sequence: header.base_sequence,
            last_sequence: header.last_sequence(),
            first_offset: header.base_offset,
            last_offset: header.last_offset(),
        });
        while entry.batches.len() > PRODUCER_BATCHES_RETAINED_MAX {
            entry.batches.pop_front();
        }
        if header.is_transactional() && entry.current_txn_first_offset.is_none() {
            entry.current_txn_first_offset = Some(header.base_offset);
            self.ongoing_txns
                .insert(header.base_offset, header.producer_id);
        }
    }

    /// Records an appended COMMIT/ABORT marker at `offset`; an abort enters the aborted index.
    pub fn apply_marker(
        &mut self,
        header: &BatchHeader,
        control: ControlType,
        coordinator_epoch: i32,
        last_stable_offset: i64,
    ) {
        let offset = header.base_offset;
        let entry = self
            .producers
            .entry(header.producer_id)
            .or_insert_with(|| ProducerEntry::empty(header.producer_epoch));
        if header.producer_epoch != entry.producer_epoch {
            entry.producer_epoch = header.producer_epoch;
            entry.batches.clear();
        }
        entry.coordinator_epoch = coordinator_epoch;
        let first_offset = entry.current_txn_first_offset.take().unwrap_or(offset);
        self.ongoing_txns.remove(&first_offset);
        self.unreplicated_txns.insert(first_offset, offset);
        if control == ControlType::Abort {
            self.aborted.push(AbortedTxn {
                producer_id: header.producer_id,
                first_offset,
                last_offset: offset,
                last_stable_offset,
            });
        }
    }

    /// Completed transactions whose marker is below the high watermark stop holding the LSO back.
    pub fn on_high_watermark(&mut self, high_watermark: i64) {
        self.unreplicated_txns
            .retain(|_, &mut marker_offset| marker_offset >= high_watermark);
    }
}

/// Kafka `inSequence`: the next sequence follows the last one, wrapping at `i32::MAX`.
fn in_sequence(last_sequence: i32, next_sequence: i32) -> bool {
    next_sequence == increment_sequence(last_sequence, 1)
        || (last_sequence == i32::MAX && next_sequence == 0)
}
