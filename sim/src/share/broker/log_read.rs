//! A log read for a share fetch: the stored batches as the share-partition engine sees them
//! ([`FetchedLog`]), and the response's `Records`, sliced to the batches that overlap what was acquired
//! (`ShareFetchUtils.maybeSliceFetchRecords`; spec 2.6).

use bytes::{Bytes, BytesMut};

use crate::log::{control_type, ControlType, RawBatch, ReadResult};
use crate::share::partition::{
    AbortedTransaction, AcquiredRecords, ControlMarker, FetchedLog, LogBatch,
};

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
