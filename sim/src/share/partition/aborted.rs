//! read_committed acquisition (spec 1.2 #9, 6): batches of aborted transactions are acquired with the
//! rest of the read, then archived and left out of the response, so the consumer never sees them.

use std::collections::BTreeSet;

use super::dead_letter::push_range;
use super::events::TransitionCause;
use super::fetched_log::{push_acquired, AcquiredRecords, ControlMarker, FetchedLog};
use super::SharePartition;
use crate::share::RecordState;

/// `fetchAbortedTransactionRecordBatches`: the `[base, last]` ranges of data batches that belong to an
/// aborted transaction, found from the aborted-transactions list and the ABORT markers.
pub(crate) fn aborted_batch_ranges(log: &FetchedLog) -> Vec<(i64, i64)> {
    let mut aborted_transactions = log.aborted_transactions.clone();
    aborted_transactions.sort_by_key(|transaction| transaction.first_offset);
    let mut next_transaction = 0;
    let mut aborted_producers = BTreeSet::new();
    let mut ranges = Vec::new();
    for batch in &log.batches {
        if batch.producer_id < 0 {
            continue;
        }
        while next_transaction < aborted_transactions.len()
            && aborted_transactions[next_transaction].first_offset <= batch.last_offset
        {
            aborted_producers.insert(aborted_transactions[next_transaction].producer_id);
            next_transaction += 1;
        }
        if batch.control == Some(ControlMarker::Abort) {
            aborted_producers.remove(&batch.producer_id);
        } else if batch.is_transactional
            && batch.control.is_none()
            && aborted_producers.contains(&batch.producer_id)
        {
            push_range(&mut ranges, batch.base_offset, batch.last_offset);
        }
    }
    ranges
}

impl SharePartition {
    /// `maybeFilterAbortedTransactionalAcquiredRecords`: archives the just-acquired offsets of aborted
    /// batches (ACQUIRED to ARCHIVED, terminal, not persisted) and removes them from `acquired`.
    pub(crate) fn archive_aborted_transactions(
        &mut self,
        log: &FetchedLog,
        acquired: &mut Vec<AcquiredRecords>,
    ) {
        let aborted = aborted_batch_ranges(log);
        if aborted.is_empty() {
            return;
        }
        let mut kept = Vec::with_capacity(acquired.len());
        for range in acquired.iter() {
            let mut next = range.first_offset;
            for &(aborted_first, aborted_last) in &aborted {
                let first = aborted_first.max(range.first_offset);
                let last = aborted_last.min(range.last_offset);
                if first > last {
                    continue;
                }
                self.archive_range(
                    first,
                    last,
                    RecordState::Acquired,
                    TransitionCause::AbortedTransaction,
                );
                if next < first {
                    push_acquired(&mut kept, next, first - 1, range.delivery_count);
                }
                next = last + 1;
            }
            if next <= range.last_offset {
                push_acquired(&mut kept, next, range.last_offset, range.delivery_count);
            }
        }
        *acquired = kept;
    }
}
