//! A log read for a share fetch: the stored batches as the share-partition engine sees them
//! ([`FetchedLog`]), and the response's `Records`, sliced to the batches that overlap what was acquired
//! (`ShareFetchUtils.maybeSliceFetchRecords`; spec 2.6).

use bytes::{Bytes, BytesMut};

use crate::log::{control_type, ControlType, RawBatch, ReadResult};
use crate::share::partition::{
    AbortedTransaction, AcquiredRecords, ControlMarker, FetchedLog, LogBatch,
};

/// The first size of a share fetch's log read. Reads grow from here (x4) only while they end before
/// both the readable end of the log and the offsets acquisition could use, so a fetch of a few hundred
/// records does not copy the whole unread log (Kafka reads through zero-copy file slices; the
/// simulated log copies what it returns).
pub(crate) const SHARE_READ_INITIAL_BYTES: usize = 64 * 1024;

/// Reads from `fetch_offset` through `read(max_bytes)` until the read covers `offsets_wanted` offsets,
/// reaches the readable end (`readable_end` of the result: high watermark or last stable offset), or
/// uses `max_bytes`; returns the last read, parsed.
pub(crate) fn read_for_acquisition(
    mut read: impl FnMut(usize) -> Result<ReadResult, crate::ResponseError>,
    fetch_offset: i64,
    max_bytes: usize,
    offsets_wanted: i64,
    readable_end: impl Fn(&ReadResult) -> i64,
) -> Result<ShareLogRead, crate::ResponseError> {
    let max_bytes = max_bytes.max(1);
    let mut bytes = SHARE_READ_INITIAL_BYTES.min(max_bytes);
    loop {
        let result = read(bytes)?;
        let parsed = ShareLogRead::parse(fetch_offset, &result);
        let covered_end = parsed
            .fetched
            .batches
            .last()
            .map_or(fetch_offset, |batch| batch.last_offset + 1);
        let done = parsed.is_empty()
            || bytes >= max_bytes
            || covered_end >= readable_end(&result)
            || covered_end - fetch_offset >= offsets_wanted;
        if done {
            return Ok(parsed);
        }
        bytes = bytes.saturating_mul(4).min(max_bytes);
    }
}

/// One read, parsed once.
#[derive(Clone, Debug)]
pub(crate) struct ShareLogRead {
    /// What acquisition needs.
    pub fetched: FetchedLog,
    /// The batches' bytes, in the same order as `fetched.batches`.
    batch_bytes: Vec<Bytes>,
}

impl ShareLogRead {
    /// Parses the headers of a read from `fetch_offset`. The broker does not check CRCs on share fetch
    /// (spec 7.6): a batch with a corrupt body is handed out as stored; only an unparseable header ends
    /// the read there.
    pub fn parse(fetch_offset: i64, read: &ReadResult) -> ShareLogRead {
        let (batches, _) = RawBatch::split_prefix(&read.records).unwrap_or_default();
        let mut fetched = FetchedLog {
            fetch_offset,
            batches: Vec::with_capacity(batches.len()),
            aborted_transactions: Vec::new(),
        };
        let mut batch_bytes = Vec::with_capacity(batches.len());
        for batch in batches {
            let header = &batch.header;
            let control = header.is_control().then(|| match control_type(&batch) {
                Some(ControlType::Abort) => ControlMarker::Abort,
                // A marker whose type cannot be read is treated as COMMIT: it is never data.
                _ => ControlMarker::Commit,
            });
            fetched.batches.push(LogBatch {
                base_offset: header.base_offset,
                last_offset: header.last_offset(),
                producer_id: header.producer_id,
                is_transactional: header.is_transactional(),
                control,
            });
            batch_bytes.push(batch.bytes.clone());
        }
        if let Some(aborted) = &read.aborted_transactions {
            fetched.aborted_transactions = aborted
                .iter()
                .map(|txn| AbortedTransaction {
                    producer_id: txn.producer_id,
                    first_offset: txn.first_offset,
                })
                .collect();
        }
        ShareLogRead {
            fetched,
            batch_bytes,
        }
    }

    /// Whether the read returned no batch.
    pub fn is_empty(&self) -> bool {
        self.fetched.batches.is_empty()
    }

    /// The bytes of the batches overlapping any acquired range.
    pub fn records_for(&self, acquired: &[AcquiredRecords]) -> Bytes {
        let mut out = BytesMut::new();
        for (batch, bytes) in self.fetched.batches.iter().zip(&self.batch_bytes) {
            let overlaps = acquired.iter().any(|range| {
                range.first_offset <= batch.last_offset && batch.base_offset <= range.last_offset
            });
            if overlaps {
                out.extend_from_slice(bytes);
            }
        }
        out.freeze()
    }
}
