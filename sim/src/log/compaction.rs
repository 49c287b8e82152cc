//! Log compaction (`cleanup.policy=compact`, Kafka's `LogCleaner`): keep the latest record per key and leave
//! offset gaps. Rules kept from Kafka:
//! - Only the cleanable section is touched: batches wholly below min(LSO, flushed offset, base of the last
//!   batch). The last batch stands for the active segment; inactive segments are flushed when rolled.
//! - The offset map (key -> latest offset) is built over the cleanable section; records of aborted
//!   transactions are discarded and never enter the map; records without a key are discarded.
//! - A rewritten batch keeps its base offset and last offset delta (so producer sequences stay valid), and
//!   its CRC is recomputed. A batch left with no records is removed, except the last batch of a producer,
//!   which stays as an empty batch (Kafka `BatchRetention.RETAIN_EMPTY`).
//!
//! Simplifications (documented deviations): tombstones and control batches are kept for ever (Kafka
//! removes them after `delete.retention.ms` once their transaction's data is gone); a batch failing its CRC
//! is left untouched (Kafka's cleaner would stop cleaning the partition).

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};

use super::batch::{layout, RawBatch, BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES};
use super::partition_log::{PartitionLog, StoredBatch};

/// What one cleaning pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompactionStats {
    /// Records discarded (superseded key, aborted transaction, missing key).
    pub records_removed: usize,
    /// Batches removed entirely.
    pub batches_removed: usize,
    /// Batches kept as empty batches for their producer's sequence state.
    pub batches_emptied: usize,
    /// Batches rewritten with fewer records.
    pub batches_rewritten: usize,
}

impl PartitionLog {
    /// Runs one cleaning pass over the cleanable section.
    pub fn compact(&mut self) -> CompactionStats {
        let active_base = self
            .batches
            .last()
            .map_or(i64::MIN, StoredBatch::base_offset);
        let bound = self
            .last_stable_offset()
            .min(self.flushed_offset)
            .min(active_base);
        let cleanable = self.batches.partition_point(|b| b.last_offset() < bound);
        let latest_by_key = self.latest_offset_by_key(cleanable);
        let mut stats = CompactionStats::default();
        let mut kept = Vec::with_capacity(self.batches.len());
        for (index, stored) in std::mem::take(&mut self.batches).into_iter().enumerate() {
            if index >= cleanable || stored.marker.is_some() || !stored.batch.crc_is_valid() {
                kept.push(stored);
                continue;
            }
            let Some(retained) = self.retained_records(&stored, &latest_by_key) else {
                kept.push(stored);
                continue;
            };
            let count = stored.batch.header.record_count as usize;
            stats.records_removed += count - retained.len();
            if retained.len() == count {
                kept.push(stored);
            } else if !retained.is_empty() {
                stats.batches_rewritten += 1;
                kept.push(rewrite(&stored, &retained));
            } else if self.is_last_batch_of_producer(&stored) {
                stats.batches_emptied += 1;
                kept.push(rewrite(&stored, &retained));
            } else {
                stats.batches_removed += 1;
            }
        }
        self.batches = kept;
        self.check_invariants();
        stats
    }

    fn latest_offset_by_key(&self, cleanable: usize) -> BTreeMap<Bytes, i64> {
        let mut latest = BTreeMap::new();
        for stored in &self.batches[..cleanable] {
            if stored.marker.is_some() || self.is_aborted(stored) {
                continue;
            }
            let Ok(records) = stored.batch.decode_records() else {
                continue;
            };
            for record in records {
                if let Some(key) = record.key {
                    latest.insert(key, record.offset);
                }
            }
        }
        latest
    }

    /// Raw bytes of the records to keep, or `None` if the batch cannot be parsed.
    fn retained_records(
        &self,
        stored: &StoredBatch,
        latest: &BTreeMap<Bytes, i64>,
    ) -> Option<Vec<Bytes>> {
        let records = stored.batch.decode_records().ok()?;
        let raw = split_raw_records(&stored.batch.bytes, records.len())?;
        if self.is_aborted(stored) {
            return Some(Vec::new());
        }
        Some(
            records
                .iter()
                .zip(raw)
                .filter(|(record, _)| {
                    record
                        .key
                        .as_ref()
                        .is_some_and(|key| latest.get(key).is_none_or(|&at| record.offset >= at))
                })
                .map(|(_, raw)| raw)
                .collect(),
        )
    }

    fn is_aborted(&self, stored: &StoredBatch) -> bool {
        let header = &stored.batch.header;
        header.is_transactional()
            && self.producers.aborted_txns().iter().any(|t| {
                t.producer_id == header.producer_id
                    && t.first_offset <= header.base_offset
                    && header.base_offset <= t.last_offset
            })
    }

    fn is_last_batch_of_producer(&self, stored: &StoredBatch) -> bool {
        let header = &stored.batch.header;
        header.has_producer_id()
            && self.producers.last_batch_last_offset(header.producer_id)
                == Some(header.last_offset())
    }
}

/// The records of an uncompressed batch as raw byte slices (each: varint length, then the record).
fn split_raw_records(batch: &Bytes, count: usize) -> Option<Vec<Bytes>> {
    let mut at = BATCH_HEADER_BYTES;
    let mut raw = Vec::with_capacity(count);
    for _ in 0..count {
        let (length, varint_bytes) = read_varint(batch.get(at..)?)?;
        let end = at + varint_bytes + usize::try_from(length).ok()?;
        raw.push(batch.slice(at..batch.len().min(end)));
        at = end;
    }
    (at == batch.len()).then_some(raw)
}

/// A zig-zag varint (Kafka `ByteUtils.readVarint`): value and bytes used.
fn read_varint(bytes: &[u8]) -> Option<(i32, usize)> {
    let mut raw: u32 = 0;
    for (i, &byte) in bytes.iter().take(5).enumerate() {
        raw |= ((byte & 0x7F) as u32) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((((raw >> 1) as i32) ^ -((raw & 1) as i32), i + 1));
        }
    }
    None
}

/// The batch with only `retained` records: same header (base offset, last offset delta, sequences), new
/// record count and length, recomputed CRC.
fn rewrite(stored: &StoredBatch, retained: &[Bytes]) -> StoredBatch {
    let mut bytes = BytesMut::from(&stored.batch.bytes[..BATCH_HEADER_BYTES]);
    for record in retained {
        bytes.extend_from_slice(record);
    }
    let length = (bytes.len() - LOG_OVERHEAD_BYTES) as i32;
    let at = layout::BATCH_LENGTH_AT;
    bytes[at..at + 4].copy_from_slice(&length.to_be_bytes());
    let at = layout::RECORD_COUNT_AT;
    bytes[at..at + 4].copy_from_slice(&(retained.len() as i32).to_be_bytes());
    StoredBatch {
        batch: RawBatch::with_fresh_crc(bytes),
        marker: None,
    }
}
