//! A time index over a partition's batches (Kafka's `TimeIndex`, sparse): entries `(max timestamp so far,
//! base offset)` added whenever a batch raises the running maximum timestamp, so that "the first offset
//! whose timestamp is at least T" (ListOffsets by timestamp, `share.auto.offset.reset=by_duration`,
//! spec 5.2) is a binary search plus one batch decode instead of a scan of the log.
//!
//! The index is built from the log's batches on demand ([`TimeIndex::build`]) or kept up to date by
//! [`TimeIndex::catch_up`]; it never changes the log. Control batches are skipped (Kafka does not index
//! markers for lookups by timestamp either: they are not data).

use super::partition_log::{PartitionLog, StoredBatch};

/// One index entry: from `base_offset` on, some record has a timestamp of at least `max_timestamp_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    /// The running maximum timestamp up to and including the batch at `base_offset`.
    max_timestamp_ms: i64,
    /// The first offset of the batch that raised the maximum.
    base_offset: i64,
}

/// The sparse time index of one partition log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeIndex {
    /// Strictly increasing in both fields.
    entries: Vec<Entry>,
    /// The offset after the last indexed batch.
    indexed_end_offset: i64,
}

/// The answer to a lookup by timestamp: the first record at or after the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampAndOffset {
    /// The record's timestamp.
    pub timestamp_ms: i64,
    /// The record's offset.
    pub offset: i64,
}

impl TimeIndex {
    /// The index of `log`'s data batches below `end_offset` (e.g. the high watermark).
    pub fn build(log: &PartitionLog, end_offset: i64) -> TimeIndex {
        let mut index = TimeIndex::default();
        index.catch_up(log.batches(), end_offset);
        index
    }

    /// Indexes the batches of `batches` (in offset order) that end below `end_offset` and were not
    /// indexed yet. A log truncated below what was indexed is the caller's to rebuild.
    pub fn catch_up(&mut self, batches: &[StoredBatch], end_offset: i64) {
        let start = batches.partition_point(|b| b.base_offset() < self.indexed_end_offset);
        for batch in &batches[start..] {
            if batch.last_offset() >= end_offset {
                break;
            }
            self.indexed_end_offset = batch.last_offset() + 1;
            if batch.batch.header.is_control() {
                continue;
            }
            let max_timestamp_ms = batch.batch.header.max_timestamp_ms;
            if self
                .entries
                .last()
                .is_none_or(|last| max_timestamp_ms > last.max_timestamp_ms)
            {
                self.entries.push(Entry {
                    max_timestamp_ms,
                    base_offset: batch.base_offset(),
                });
            }
        }
        debug_assert!(self.entries.windows(2).all(|w| {
            w[0].max_timestamp_ms < w[1].max_timestamp_ms && w[0].base_offset < w[1].base_offset
        }));
    }

    /// Number of entries (at most one per batch).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The base offset of the first indexed batch holding a timestamp of at least `timestamp_ms`: the
    /// running maximum first reaches the target at that very batch.
    pub fn batch_for_timestamp(&self, timestamp_ms: i64) -> Option<i64> {
        let at = self
            .entries
            .partition_point(|e| e.max_timestamp_ms < timestamp_ms);
        self.entries.get(at).map(|e| e.base_offset)
    }

    /// The first record of `log` at or after `log_start_offset` whose timestamp is at least
    /// `timestamp_ms` (Kafka `fetchOffsetByTimestamp`): the batch from the index, then its records.
    /// `None` when no indexed record is that recent. A batch that does not decode (corrupt) answers with
    /// its base offset and maximum timestamp.
    pub fn lookup(&self, log: &PartitionLog, timestamp_ms: i64) -> Option<TimestampAndOffset> {
        let mut from = self.batch_for_timestamp(timestamp_ms)?;
        let batches = log.batches();
        // The indexed batch may have been removed by retention or compaction: continue with the next.
        loop {
            let at = batches.partition_point(|b| b.last_offset() < from);
            let batch = batches.get(at)?;
            if batch.base_offset() >= self.indexed_end_offset {
                return None;
            }
            if !batch.batch.header.is_control()
                && batch.batch.header.max_timestamp_ms >= timestamp_ms
            {
                let log_start_offset = log.log_start_offset();
                let found = match batch.batch.decode_records() {
                    Ok(records) => records
                        .iter()
                        .find(|r| r.timestamp >= timestamp_ms && r.offset >= log_start_offset)
                        .map(|r| TimestampAndOffset {
                            timestamp_ms: r.timestamp,
                            offset: r.offset,
                        }),
                    Err(_) => Some(TimestampAndOffset {
                        timestamp_ms: batch.batch.header.max_timestamp_ms,
                        offset: batch.base_offset().max(log_start_offset),
                    }),
                };
                if found.is_some() {
                    return found;
                }
            }
            from = batch.last_offset() + 1;
        }
    }
}

/// The first record of `log` below `end_offset` whose timestamp is at least `timestamp_ms`, through a
/// freshly built [`TimeIndex`].
pub fn offset_for_timestamp(
    log: &PartitionLog,
    timestamp_ms: i64,
    end_offset: i64,
) -> Option<TimestampAndOffset> {
    TimeIndex::build(log, end_offset).lookup(log, timestamp_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{encode_data_batch, LogConfig, ProducerIdentity, ProducerRecord};

    /// A log of batches with the given record timestamps, all committed.
    fn log_with(batches: &[&[i64]]) -> PartitionLog {
        let mut log = PartitionLog::new(LogConfig::default());
        for timestamps in batches {
            let records: Vec<ProducerRecord> = timestamps
                .iter()
                .map(|ts| ProducerRecord::new(None, Some(b"v"), *ts))
                .collect();
            let batch = encode_data_batch(ProducerIdentity::NONE, 0, false, &records).unwrap();
            log.append_as_leader(&batch, 0, 0).unwrap();
        }
        let end = log.log_end_offset();
        log.update_high_watermark(end);
        log
    }

    /// Spec 5.2: the first record whose timestamp reaches the target, at record precision, skipping
    /// batches whose timestamps are all older (timestamps need not be monotonic across batches).
    #[test]
    fn lookup_finds_the_first_record_at_or_after_the_timestamp() {
        let log = log_with(&[&[10, 20], &[15, 16], &[30, 40, 50], &[35]]);
        let hw = log.high_watermark();
        let index = TimeIndex::build(&log, hw);
        assert_eq!(
            index.len(),
            2,
            "only batches that raise the maximum: {index:?}"
        );
        let at = |ts| offset_for_timestamp(&log, ts, hw).map(|f| (f.offset, f.timestamp_ms));
        assert_eq!(at(0), Some((0, 10)));
        assert_eq!(at(11), Some((1, 20)));
        assert_eq!(at(21), Some((4, 30)));
        assert_eq!(at(45), Some((6, 50)));
        assert_eq!(at(51), None, "nothing that recent");
    }

    /// Records at or above the end offset (the high watermark) are not indexed.
    #[test]
    fn lookup_stops_at_the_end_offset() {
        let log = log_with(&[&[10], &[20]]);
        assert_eq!(offset_for_timestamp(&log, 15, 1), None);
        let mut index = TimeIndex::build(&log, 1);
        assert_eq!(index.len(), 1);
        index.catch_up(log.batches(), 2);
        assert_eq!(index.len(), 2);
        assert_eq!(index.lookup(&log, 15).map(|f| f.offset), Some(1));
    }
}
