//! The consumer's view of fetched records (Kafka `CompletedFetch`): split into batches, check CRC-32C,
//! and under read_committed drop aborted transactions using the fetch's aborted-transaction list and the
//! ABORT markers, exactly as the Java client filters them.

use std::collections::BTreeSet;

use bytes::Bytes;
use kafka_protocol::records::Record;

use super::batch::{BatchError, RawBatch};
use super::builder::{control_type, ControlType};
use super::producer_state::AbortedTxn;

/// What one fetched batch means to a consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumedBatchKind {
    /// Data records at or after the fetch offset.
    Data(Vec<Record>),
    /// A COMMIT/ABORT marker: no application record (share consumers ack its offset as GAP).
    Control,
    /// A read_committed consumer skips this transactional batch: its transaction aborted.
    Aborted,
    /// The CRC or the record encoding is broken: CORRUPT_MESSAGE.
    Corrupt,
}

/// One fetched batch with its offset range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumedBatch {
    /// First offset of the batch.
    pub base_offset: i64,
    /// Last offset of the batch.
    pub last_offset: i64,
    /// What the consumer does with it.
    pub kind: ConsumedBatchKind,
}

/// Interprets a fetched `records` field. `aborted` is the response's aborted-transaction list: `Some` under
/// read_committed, `None` under read_uncommitted. Records before `fetch_offset` are dropped (a batch may
/// start before it). A trailing partial batch is ignored, as clients do.
pub fn consume_fetched(
    records: &Bytes,
    fetch_offset: i64,
    aborted: Option<&[AbortedTxn]>,
) -> Result<Vec<ConsumedBatch>, BatchError> {
    let (batches, _) = RawBatch::split_prefix(records)?;
    let mut pending: Vec<AbortedTxn> = aborted.map(<[AbortedTxn]>::to_vec).unwrap_or_default();
    pending.sort_by_key(|t| (t.first_offset, t.producer_id));
    let mut pending = pending.into_iter().peekable();
    let mut aborted_producers = BTreeSet::new();
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let header = &batch.header;
        let (base_offset, last_offset) = (header.base_offset, header.last_offset());
        let decoded = batch.decode_records();
        let kind = if decoded.is_err() {
            ConsumedBatchKind::Corrupt
        } else if aborted.is_some() && header.has_producer_id() {
            // consumeAbortedTransactionsUpTo(batch.lastOffset)
            while let Some(t) = pending.next_if(|t| t.first_offset <= last_offset) {
                aborted_producers.insert(t.producer_id);
            }
            if header.is_control() {
                if control_type(&batch) == Some(ControlType::Abort) {
                    aborted_producers.remove(&header.producer_id);
                }
                ConsumedBatchKind::Control
            } else if header.is_transactional() && aborted_producers.contains(&header.producer_id) {
                ConsumedBatchKind::Aborted
            } else {
                data(decoded, fetch_offset)
            }
        } else if header.is_control() {
            ConsumedBatchKind::Control
        } else {
            data(decoded, fetch_offset)
        };
        out.push(ConsumedBatch {
            base_offset,
            last_offset,
            kind,
        });
    }
    Ok(out)
}

fn data(
    decoded: Result<Vec<Record>, crate::ResponseError>,
    fetch_offset: i64,
) -> ConsumedBatchKind {
    let records = decoded
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.offset >= fetch_offset)
        .collect();
    ConsumedBatchKind::Data(records)
}
