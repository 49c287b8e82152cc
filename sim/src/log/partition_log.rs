//! One partition replica's log, sans-IO: append (leader and follower), read by offset, high watermark, last
//! stable offset, log start movement, truncation, leader epochs, flush and crash recovery.
//!
//! Methods, in quinn's order: (A) getters; (B) inputs: `append_as_leader`, `append_marker_as_leader`,
//! `append_as_follower`, `update_high_watermark`, `assign_leader_epoch`, `delete_records_before`,
//! `apply_retention`, `compact` (in `compaction.rs`), `truncate_to`, `truncate_fully_and_start_at`,
//! `flush`, `corrupt_batch`; (C) reads: `read`, `end_offset_for_epoch`; (D) durability: `disk_image`,
//! `recover`, `crash`. The log reads no clock: callers pass `now_ms`.
//!
//! Durability model: see the module doc of `log` (the flushed prefix is the disk image).

use bytes::{Bytes, BytesMut};

use super::batch::{BatchError, RawBatch};
use super::builder::{control_type, encode_control_batch, ControlType, ProducerIdentity};
use super::config::{CleanupPolicy, LogConfig, MessageTimestampType};
use super::epoch_cache::EpochCache;
use super::producer_state::{AbortedTxn, ProducerStateTable, SequenceCheck};
use crate::ResponseError;

/// A batch as the log stores it, with what recovery needs without re-parsing possibly corrupt bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBatch {
    /// The stored bytes and their header as appended.
    pub batch: RawBatch,
    /// For a marker batch: its type and the coordinator epoch that wrote it.
    pub marker: Option<(ControlType, i32)>,
}

impl StoredBatch {
    /// First offset of the batch.
    pub fn base_offset(&self) -> i64 {
        self.batch.header.base_offset
    }

    /// Last offset of the batch.
    pub fn last_offset(&self) -> i64 {
        self.batch.header.last_offset()
    }
}

/// Which bound a read stops at (Kafka `FetchIsolation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FetchIsolation {
    /// Follower fetches: up to the log end offset.
    LogEnd,
    /// read_uncommitted consumers: up to the high watermark.
    HighWatermark,
    /// read_committed consumers: up to the last stable offset, with the aborted-transaction list.
    TxnCommitted,
}

/// The outcome of an append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the first record (of the original batch, for a duplicate).
    pub first_offset: i64,
    /// Offset of the last record.
    pub last_offset: i64,
    /// The log-append time stamped, or -1 under CreateTime.
    pub log_append_time_ms: i64,
    /// The log start offset after the append.
    pub log_start_offset: i64,
    /// True when the batch was a retry of one already in the log and nothing was appended.
    pub duplicate: bool,
}

/// What a read returns: whole stored batches, as bytes, and the offsets a fetch response carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadResult {
    /// Concatenated stored batches overlapping the requested range.
    pub records: Bytes,
    /// Number of batches in `records`.
    pub batch_count: usize,
    /// High watermark at the time of the read.
    pub high_watermark: i64,
    /// Last stable offset at the time of the read.
    pub last_stable_offset: i64,
    /// Log start offset at the time of the read.
    pub log_start_offset: i64,
    /// For read_committed: aborted transactions overlapping the returned range.
    pub aborted_transactions: Option<Vec<AbortedTxn>>,
}

/// What survives a crash: the flushed prefix and the checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskImage {
    /// Batches below the flushed offset, in offset order.
    pub batches: Vec<StoredBatch>,
    /// Log start offset (segment deletion is durable when it happens).
    pub log_start_offset: i64,
    /// High watermark as of the last flush (Kafka's replication-offset-checkpoint).
    pub high_watermark_checkpoint: i64,
    /// The leader-epoch checkpoint (Kafka flushes it on every change).
    pub epoch_cache: EpochCache,
}

/// One partition replica's log.
#[derive(Clone, Debug)]
pub struct PartitionLog {
    pub(super) config: LogConfig,
    pub(super) batches: Vec<StoredBatch>,
    pub(super) log_start_offset: i64,
    pub(super) log_end_offset: i64,
    pub(super) high_watermark: i64,
    pub(super) flushed_offset: i64,
    pub(super) high_watermark_checkpoint: i64,
    pub(super) epoch_cache: EpochCache,
    pub(super) producers: ProducerStateTable,
}

impl PartitionLog {
    /// An empty log starting at offset 0.
    pub fn new(config: LogConfig) -> Self {
        PartitionLog {
            config,
            batches: Vec::new(),
            log_start_offset: 0,
            log_end_offset: 0,
            high_watermark: 0,
            flushed_offset: 0,
            high_watermark_checkpoint: 0,
            epoch_cache: EpochCache::new(),
            producers: ProducerStateTable::new(),
        }
    }

    // (A) getters

    /// The topic settings.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// First readable offset.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// Offset the next appended record gets.
    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset
    }

    /// Offset below which records are replicated to the ISR (set by the replication layer).
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }

    /// Kafka LSO: the start of the earliest unfinished transaction, capped by the high watermark.
    pub fn last_stable_offset(&self) -> i64 {
        self.producers
            .first_unstable_offset()
            .map_or(self.high_watermark, |first| first.min(self.high_watermark))
    }

    /// Offset below which everything is on disk (Kafka's recovery point).
    pub fn flushed_offset(&self) -> i64 {
        self.flushed_offset
    }

    /// The stored batches, oldest first.
    pub fn batches(&self) -> &[StoredBatch] {
        &self.batches
    }

    /// The leader-epoch cache.
    pub fn epoch_cache(&self) -> &EpochCache {
        &self.epoch_cache
    }

    /// The producer state.
    pub fn producer_state(&self) -> &ProducerStateTable {
        &self.producers
    }

    /// Bytes stored.
    pub fn size_bytes(&self) -> usize {
        self.batches.iter().map(|b| b.batch.bytes.len()).sum()
    }

    // (B) inputs

    /// Appends one produce-request batch as the leader (Kafka `appendAsLeader` with origin CLIENT):
    /// validates it, answers a retried batch with its original offsets, assigns the next offsets, stamps
    /// the leader epoch (and the log-append time if configured) and stores it. Exactly one v2 batch per
    /// partition, as produce v3+ requires.
    pub fn append_as_leader(
        &mut self,
        records: &Bytes,
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, ResponseError> {
        let batch = self.validate_client_batch(records)?;
        match self.producers.check_client_batch(&batch.header)? {
            SequenceCheck::Duplicate(original) => {
                return Ok(AppendInfo {
                    first_offset: original.first_offset,
                    last_offset: original.last_offset,
                    log_append_time_ms: -1,
                    log_start_offset: self.log_start_offset,
                    duplicate: true,
                })
            }
            SequenceCheck::Append => {}
        }
        let mut stamped = batch.restamped(self.log_end_offset, leader_epoch);
        let mut log_append_time_ms = -1;
        if self.config.message_timestamp_type == MessageTimestampType::LogAppendTime {
            stamped = stamped.with_log_append_time(now_ms);
            log_append_time_ms = now_ms;
        }
        self.epoch_cache.assign(leader_epoch, self.log_end_offset);
        let info = self.store(StoredBatch {
            batch: stamped,
            marker: None,
        });
        Ok(AppendInfo {
            log_append_time_ms,
            ..info
        })
    }

    /// Writes a COMMIT or ABORT marker as the leader (WriteTxnMarkers, origin COORDINATOR).
    pub fn append_marker_as_leader(
        &mut self,
        producer: ProducerIdentity,
        control: ControlType,
        coordinator_epoch: i32,
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, ResponseError> {
        if producer.producer_id < 0 {
            return Err(ResponseError::InvalidRecord);
        }
        self.producers.check_marker(
            producer.producer_id,
            producer.producer_epoch,
            coordinator_epoch,
        )?;
        let bytes = encode_control_batch(producer, control, coordinator_epoch, now_ms);
        let batch = RawBatch::split_all(&bytes)
            .ok()
            .and_then(|mut v| v.pop())
            .ok_or(ResponseError::UnknownServerError)?;
        let stamped = batch.restamped(self.log_end_offset, leader_epoch);
        self.epoch_cache.assign(leader_epoch, self.log_end_offset);
        Ok(self.store(StoredBatch {
            batch: stamped,
            marker: Some((control, coordinator_epoch)),
        }))
    }

    /// Appends batches fetched from the leader (origin REPLICATION): offsets and epochs are the leader's.
    /// Batches wholly below the log end are skipped; a gap (compacted away on the leader) is accepted; a
    /// batch straddling the log end or a CRC failure is refused (Kafka fails the partition's fetcher).
    pub fn append_as_follower(&mut self, records: &Bytes) -> Result<usize, ResponseError> {
        let batches = RawBatch::split_all(records).map_err(|e| e.to_response_error())?;
        for batch in &batches {
            if batch.header.last_offset() >= self.log_end_offset && !batch.crc_is_valid() {
                return Err(ResponseError::CorruptMessage);
            }
        }
        let mut appended = 0;
        for batch in batches {
            if batch.header.last_offset() < self.log_end_offset {
                continue;
            }
            if batch.header.base_offset < self.log_end_offset {
                return Err(ResponseError::InvalidRecord);
            }
            self.epoch_cache.assign(
                batch.header.partition_leader_epoch,
                batch.header.base_offset,
            );
            let marker =
                control_type(&batch).map(|control| (control, marker_coordinator_epoch(&batch)));
            self.store(StoredBatch { batch, marker });
            appended += 1;
        }
        Ok(appended)
    }

    /// Sets the high watermark (from the ISR, computed by the replication layer), clamped to
    /// `[log start, log end]`. It may move back on a follower, as Kafka's follower HW may.
    pub fn update_high_watermark(&mut self, offset: i64) {
        self.high_watermark = offset.clamp(self.log_start_offset, self.log_end_offset);
        self.producers.on_high_watermark(self.high_watermark);
        self.check_invariants();
    }

    /// Records that this replica became leader in `leader_epoch` at the current log end (Kafka
    /// `makeLeader` -> `maybeAssignEpochStartOffset`).
    pub fn assign_leader_epoch(&mut self, leader_epoch: i32) {
        self.epoch_cache.assign(leader_epoch, self.log_end_offset);
    }

    /// DeleteRecords: moves the log start offset to `offset` (-1 means the high watermark). Beyond the
    /// high watermark is OFFSET_OUT_OF_RANGE; below the current start is a no-op. Returns the new low
    /// watermark.
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64, ResponseError> {
        let target = if offset == -1 {
            self.high_watermark
        } else {
            offset
        };
        if target < 0 || target > self.high_watermark {
            return Err(ResponseError::OffsetOutOfRange);
        }
        if target > self.log_start_offset {
            self.move_log_start(target);
        }
        Ok(self.log_start_offset)
    }

    /// Time and size retention (`retention.ms`, `retention.bytes`; -1 disables either). Each batch stands
    /// for a segment: the oldest batches wholly below the high watermark go while their max timestamp is
    /// older than `now_ms - retention_ms`, or while the log without them still holds at least
    /// `retention_bytes` (Kafka's `size - segment.size >= retention.bytes`). Returns the log start.
    pub fn apply_retention(&mut self, now_ms: i64, retention_ms: i64, retention_bytes: i64) -> i64 {
        let mut size = self.size_bytes() as i64;
        let mut new_start = self.log_start_offset;
        for stored in &self.batches {
            if stored.last_offset() >= self.high_watermark {
                break;
            }
            let expired =
                retention_ms >= 0 && stored.batch.header.max_timestamp_ms < now_ms - retention_ms;
            let size_bytes = stored.batch.bytes.len() as i64;
            let oversized = retention_bytes >= 0 && size - size_bytes >= retention_bytes;
            if !(expired || oversized) {
                break;
            }
            size -= size_bytes;
            new_start = stored.last_offset() + 1;
        }
        if new_start > self.log_start_offset {
            self.move_log_start(new_start);
        }
        self.log_start_offset
    }

    /// Truncates to `offset` for a leader change (the follower's answer from OffsetsForLeaderEpoch). The
    /// whole batch containing `offset` goes, as Kafka truncates segments at batch positions. Producer
    /// state, transactions and the aborted index are rebuilt from what remains.
    pub fn truncate_to(&mut self, offset: i64) {
        if offset >= self.log_end_offset {
            return;
        }
        let keep = self.batches.partition_point(|b| b.last_offset() < offset);
        let first_dropped = self
            .batches
            .get(keep)
            .map_or(offset, |b| b.base_offset().min(offset));
        self.batches.truncate(keep);
        self.log_end_offset = self.batches.last().map_or_else(
            || first_dropped.max(self.log_start_offset),
            |b| b.last_offset() + 1,
        );
        self.after_truncation();
    }

    /// Empties the log and restarts it at `offset` (a follower far behind the leader's log start).
    pub fn truncate_fully_and_start_at(&mut self, offset: i64) {
        self.batches.clear();
        self.log_start_offset = offset;
        self.log_end_offset = offset;
        self.high_watermark = offset;
        self.epoch_cache = EpochCache::new();
        self.after_truncation();
    }

    /// Makes everything appended so far durable (fsync) and checkpoints the high watermark.
    pub fn flush(&mut self) {
        self.flushed_offset = self.log_end_offset;
        self.high_watermark_checkpoint = self.high_watermark;
    }

    /// The fault "corrupt batch on disk": flips one CRC-covered byte of the batch containing `offset`.
    /// Returns false when no stored batch contains it. The broker serves the bytes as they are (it does
    /// not re-check CRCs on fetch); consumers detect the damage.
    pub fn corrupt_batch(&mut self, offset: i64, byte_index: usize) -> bool {
        let at = self.batches.partition_point(|b| b.last_offset() < offset);
        match self.batches.get_mut(at) {
            Some(stored) if stored.base_offset() <= offset => {
                stored.batch = stored.batch.corrupted(byte_index);
                true
            }
            _ => false,
        }
    }

    // (C) reads

    /// Reads whole batches overlapping `[fetch_offset, bound)`, where the bound is the log end, the high
    /// watermark or the LSO per `isolation`. Batches are taken while they fit in `max_bytes`; the first
    /// one is returned even if larger when `min_one_batch` (fetch v3+). A fetch offset below the log start
    /// or beyond the log end is OFFSET_OUT_OF_RANGE; at or past the bound the read is empty. A batch is
    /// included only when it ends below the bound (Kafka reads up to the position of the bound's batch).
    pub fn read(
        &self,
        fetch_offset: i64,
        max_bytes: usize,
        isolation: FetchIsolation,
        min_one_batch: bool,
    ) -> Result<ReadResult, ResponseError> {
        if fetch_offset < self.log_start_offset || fetch_offset > self.log_end_offset {
            return Err(ResponseError::OffsetOutOfRange);
        }
        let bound = match isolation {
            FetchIsolation::LogEnd => self.log_end_offset,
            FetchIsolation::HighWatermark => self.high_watermark,
            FetchIsolation::TxnCommitted => self.last_stable_offset(),
        };
        let first = self
            .batches
            .partition_point(|b| b.last_offset() < fetch_offset);
        let mut size = 0;
        let mut batch_count = 0;
        let mut upper_bound_offset = fetch_offset;
        for stored in &self.batches[first..] {
            if stored.last_offset() >= bound {
                break;
            }
            let batch_size = stored.batch.bytes.len();
            let fits = size + batch_size <= max_bytes;
            let first_anyway = min_one_batch && batch_count == 0;
            if !(fits || first_anyway) {
                break;
            }
            size += batch_size;
            batch_count += 1;
            upper_bound_offset = stored.last_offset() + 1;
        }
        let selected = &self.batches[first..first + batch_count];
        // One batch is shared, not copied; several are copied once into a buffer of the right size.
        let records = match selected {
            [only] => only.batch.bytes.clone(),
            _ => {
                let mut records = BytesMut::with_capacity(size);
                for stored in selected {
                    records.extend_from_slice(&stored.batch.bytes);
                }
                records.freeze()
            }
        };
        let aborted_transactions = (isolation == FetchIsolation::TxnCommitted).then(|| {
            if batch_count == 0 {
                Vec::new()
            } else {
                self.producers
                    .aborted_overlapping(fetch_offset, upper_bound_offset)
            }
        });
        Ok(ReadResult {
            records,
            batch_count,
            high_watermark: self.high_watermark,
            last_stable_offset: self.last_stable_offset(),
            log_start_offset: self.log_start_offset,
            aborted_transactions,
        })
    }

    /// OffsetsForLeaderEpoch for this replica: `(epoch, end offset)`.
    pub fn end_offset_for_epoch(&self, leader_epoch: i32) -> (i32, i64) {
        self.epoch_cache
            .end_offset_for_epoch(leader_epoch, self.log_end_offset)
    }

    // (D) durability

    /// What a crash right now would leave on disk.
    pub fn disk_image(&self) -> DiskImage {
        let flushed = self
            .batches
            .partition_point(|b| b.last_offset() < self.flushed_offset);
        DiskImage {
            batches: self.batches[..flushed].to_vec(),
            log_start_offset: self.log_start_offset,
            high_watermark_checkpoint: self.high_watermark_checkpoint,
            epoch_cache: self.epoch_cache.clone(),
        }
    }

    /// Recovers a log from a disk image (Kafka log recovery): log end after the last surviving batch, high
    /// watermark from its checkpoint capped by the log end, epoch cache truncated to the log end, producer
    /// state and transactions rebuilt by replaying the batches.
    pub fn recover(config: LogConfig, image: &DiskImage) -> Self {
        let log_start_offset = image.log_start_offset;
        let log_end_offset = image
            .batches
            .last()
            .map_or(log_start_offset, |b| b.last_offset() + 1);
        let mut log = PartitionLog {
            config,
            batches: image.batches.clone(),
            log_start_offset,
            log_end_offset,
            high_watermark: image
                .high_watermark_checkpoint
                .clamp(log_start_offset, log_end_offset),
            flushed_offset: log_end_offset,
            high_watermark_checkpoint: image.high_watermark_checkpoint,
            epoch_cache: image.epoch_cache.clone(),
            producers: ProducerStateTable::new(),
        };
        log.epoch_cache.truncate_from_end(log_end_offset);
        log.rebuild_producer_state();
        log.check_invariants();
        log
    }

    /// Crash and restart in place: the unflushed suffix is lost.
    pub fn crash(&mut self) {
        *self = PartitionLog::recover(self.config, &self.disk_image());
    }

    // internals

    fn validate_client_batch(&self, records: &Bytes) -> Result<RawBatch, ResponseError> {
        let mut batches =
            RawBatch::split_all(records).map_err(|e: BatchError| e.to_response_error())?;
        if batches.len() != 1 {
            // Produce v3+: "exactly one record batch" per partition.
            return Err(ResponseError::InvalidRecord);
        }
        let batch = batches.pop().ok_or(ResponseError::InvalidRecord)?;
        let header = &batch.header;
        if batch.bytes.len() > self.config.max_message_bytes {
            return Err(ResponseError::MessageTooLarge);
        }
        if !batch.crc_is_valid() {
            return Err(ResponseError::CorruptMessage);
        }
        if header.base_offset != 0 {
            return Err(ResponseError::InvalidRecord);
        }
        if header.is_control() {
            // Clients may not write control records.
            return Err(ResponseError::InvalidRecord);
        }
        if header.compression_codec() != 0 {
            // sharesim builds no compression codecs; Kafka would accept these.
            return Err(ResponseError::UnsupportedCompressionType);
        }
        if header.record_count <= 0
            || header.record_count as i64 != header.last_offset_delta as i64 + 1
        {
            return Err(ResponseError::InvalidRecord);
        }
        if header.has_producer_id() && header.base_sequence < 0 {
            return Err(ResponseError::InvalidRecord);
        }
        if header.is_transactional() && !header.has_producer_id() {
            return Err(ResponseError::InvalidRecord);
        }
        let decoded = batch.decode_records()?;
        let offsets_in_order = decoded
            .iter()
            .enumerate()
            .all(|(i, record)| record.offset == i as i64);
        if decoded.len() != header.record_count as usize || !offsets_in_order {
            return Err(ResponseError::InvalidRecord);
        }
        if self.config.cleanup_policy == CleanupPolicy::Compact
            && decoded.iter().any(|r| r.key.is_none())
        {
            // "Compacted topic cannot accept message without key".
            return Err(ResponseError::InvalidRecord);
        }
        Ok(batch)
    }

    fn store(&mut self, stored: StoredBatch) -> AppendInfo {
        let first_offset = stored.base_offset();
        let last_offset = stored.last_offset();
        debug_assert!(first_offset >= self.log_end_offset, "appends never go back");
        let lso = self.last_stable_offset();
        match stored.marker {
            Some((control, coordinator_epoch)) => {
                self.producers
                    .apply_marker(&stored.batch.header, control, coordinator_epoch, lso)
            }
            None => self.producers.apply_data_batch(&stored.batch.header),
        }
        self.batches.push(stored);
        self.log_end_offset = last_offset + 1;
        self.check_invariants();
        AppendInfo {
            first_offset,
            last_offset,
            log_append_time_ms: -1,
            log_start_offset: self.log_start_offset,
            duplicate: false,
        }
    }

    fn move_log_start(&mut self, new_start: i64) {
        self.log_start_offset = new_start;
        let drop = self
            .batches
            .partition_point(|b| b.last_offset() < new_start);
        self.batches.drain(..drop);
        self.high_watermark = self.high_watermark.max(new_start);
        self.flushed_offset = self.flushed_offset.max(new_start);
        self.epoch_cache.truncate_from_start(new_start);
        // Producers whose data all left the log are forgotten, as Kafka evicts them.
        self.rebuild_producer_state();
        self.check_invariants();
    }

    fn after_truncation(&mut self) {
        self.high_watermark = self.high_watermark.min(self.log_end_offset);
        self.high_watermark_checkpoint = self.high_watermark_checkpoint.min(self.log_end_offset);
        self.flushed_offset = self.flushed_offset.min(self.log_end_offset);
        self.epoch_cache.truncate_from_end(self.log_end_offset);
        self.rebuild_producer_state();
        self.check_invariants();
    }

    /// Replays every stored batch into a fresh producer state (recovery, truncation, log start moves).
    pub(super) fn rebuild_producer_state(&mut self) {
        let mut producers = ProducerStateTable::new();
        for stored in &self.batches {
            match stored.marker {
                Some((control, coordinator_epoch)) => {
                    let lso = producers
                        .first_unstable_offset()
                        .unwrap_or(stored.base_offset());
                    producers.apply_marker(&stored.batch.header, control, coordinator_epoch, lso)
                }
                None => producers.apply_data_batch(&stored.batch.header),
            }
        }
        producers.on_high_watermark(self.high_watermark);
        self.producers = producers;
    }

    /// Internal consistency: offsets ordered and contiguous by batch, bounds nested.
    pub fn check_invariants(&self) {
        debug_assert!(
            self.log_start_offset <= self.high_watermark,
            "log start <= HW"
        );
        debug_assert!(self.high_watermark <= self.log_end_offset, "HW <= LEO");
        debug_assert!(self.flushed_offset <= self.log_end_offset, "flushed <= LEO");
        debug_assert!(
            self.batches
                .windows(2)
                .all(|w| w[0].last_offset() < w[1].base_offset()),
            "batches ordered"
        );
        debug_assert!(
            self.batches
                .last()
                .is_none_or(|b| b.last_offset() + 1 == self.log_end_offset),
            "LEO follows the last batch"
        );
        debug_assert!(
            self.batches
                .first()
                .is_none_or(|b| b.last_offset() >= self.log_start_offset),
            "no batch wholly below the log start"
        );
    }
}

/// The coordinator epoch in a marker's value (version i16, epoch i32); -1 when unreadable.
fn marker_coordinator_epoch(batch: &RawBatch) -> i32 {
    batch
        .decode_records()
        .ok()
        .and_then(|records| records.first().and_then(|r| r.value.clone()))
        .filter(|value| value.len() >= 6)
        .map_or(-1, |value| {
            i32::from_be_bytes([value[2], value[3], value[4], value[5]])
        })
}
