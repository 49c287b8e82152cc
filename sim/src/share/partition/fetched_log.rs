//! What a log read hands to the engine (the engine never reads a log itself), and what acquisition hands
//! back (`AcquiredRecords` of the ShareFetch response; spec 2.6, 6).

use serde::{Deserialize, Serialize};

/// The kind of a control batch (transaction marker).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlMarker {
    /// An ABORT marker: ends the producer's aborted transaction.
    Abort,
    /// A COMMIT marker.
    Commit,
}

/// One log record batch as far as acquisition cares: its offsets and transactional metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogBatch {
    /// First offset of the batch.
    pub base_offset: i64,
    /// Last offset of the batch (inclusive).
    pub last_offset: i64,
    /// Producer id, -1 when the batch has none.
    pub producer_id: i64,
    /// Written inside a transaction.
    pub is_transactional: bool,
    /// `Some` for a control batch (a transaction marker).
    pub control: Option<ControlMarker>,
}

impl LogBatch {
    /// A plain, non-transactional data batch.
    pub fn data(base_offset: i64, last_offset: i64) -> LogBatch {
        LogBatch {
            base_offset,
            last_offset,
            producer_id: -1,
            is_transactional: false,
            control: None,
        }
    }
}

/// An entry of the fetch response's `AbortedTransactions` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AbortedTransaction {
    /// The producer whose transaction aborted.
    pub producer_id: i64,
    /// The first offset of the aborted transaction.
    pub first_offset: i64,
}

/// The log batches a read from `fetch_offset` returned (normally `SharePartition::next_fetch_offset()`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FetchedLog {
    /// The offset the read started from.
    pub fetch_offset: i64,
    /// Returned batches in offset order; the first may start before `fetch_offset` (it contains it).
    pub batches: Vec<LogBatch>,
    /// The aborted transactions overlapping the read (read_committed fetches only).
    pub aborted_transactions: Vec<AbortedTransaction>,
}

impl FetchedLog {
    /// Batches ordered, non-overlapping, each with `base <= last`. Anything else is a broker bug.
    pub(crate) fn is_well_formed(&self) -> bool {
        let ordered = self
            .batches
            .windows(2)
            .all(|pair| pair[0].last_offset < pair[1].base_offset);
        ordered
            && self
                .batches
                .iter()
                .all(|batch| batch.base_offset <= batch.last_offset && batch.base_offset >= 0)
    }

    /// `lastOffsetFromBatchWithRequestOffset`: the last offset of the first log batch ending at or after
    /// `offset`.
    pub(crate) fn last_offset_of_batch_containing(&self, offset: i64) -> Option<i64> {
        self.batches
            .iter()
            .find(|batch| batch.last_offset >= offset)
            .map(|batch| batch.last_offset)
    }
}

/// One `AcquiredRecords` entry of a ShareFetch response: a range handed to one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AcquiredRecords {
    /// First acquired offset.
    pub first_offset: i64,
    /// Last acquired offset (inclusive).
    pub last_offset: i64,
    /// The delivery count after this acquisition (int16 on the wire).
    pub delivery_count: u16,
}

impl AcquiredRecords {
    /// Number of offsets in the range.
    pub fn offset_count(&self) -> u64 {
        (self.last_offset - self.first_offset + 1) as u64
    }
}

/// Appends `[first, last]` with `delivery_count`, extending the previous range when contiguous with the same
/// count. Kafka returns one entry per offset for split batches (a TODO in `acquireSubsetBatchRecords`);
/// sharesim joins them, which carries the same offsets and counts.
pub(crate) fn push_acquired(
    result: &mut Vec<AcquiredRecords>,
    first: i64,
    last: i64,
    delivery_count: u16,
) {
    debug_assert!(first <= last);
    if let Some(previous) = result.last_mut() {
        debug_assert!(previous.last_offset < first, "acquired ranges must ascend");
        if previous.last_offset + 1 == first && previous.delivery_count == delivery_count {
            previous.last_offset = last;
            return;
        }
    }
    result.push(AcquiredRecords {
        first_offset: first,
        last_offset: last,
        delivery_count,
    });
}

/// The log offsets `share.auto.offset.reset` needs when the persisted start offset is -1 (spec 5.2). The
/// node answers these with ListOffsets-equivalent reads of the local log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResetOffsets {
    /// EARLIEST: the log start offset.
    pub log_start_offset: i64,
    /// LATEST: the high watermark.
    pub high_watermark: i64,
    /// BY_DURATION: the first offset with a timestamp at or after `now - duration` (the log end offset
    /// when no record is that recent, as ListOffsets answers). `None` means the lookup failed.
    pub offset_by_duration: Option<i64>,
}
