//! Unit tests of the partition log, one Kafka rule each.

use bytes::Bytes;

use super::*;
use crate::ResponseError;

const PLAIN: ProducerIdentity = ProducerIdentity::NONE;
const P1: ProducerIdentity = ProducerIdentity {
    producer_id: 1,
    producer_epoch: 0,
};
const P2: ProducerIdentity = ProducerIdentity {
    producer_id: 2,
    producer_epoch: 0,
};

fn records(keys: &[&str]) -> Vec<ProducerRecord> {
    keys.iter()
        .map(|k| ProducerRecord::new(Some(k.as_bytes()), Some(b"v"), 1_000))
        .collect()
}

fn batch(producer: ProducerIdentity, sequence: i32, n: usize) -> Bytes {
    let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    encode_data_batch(producer, sequence, false, &records(&keys)).unwrap()
}

fn txn_batch(producer: ProducerIdentity, sequence: i32, n: usize) -> Bytes {
    let keys: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    encode_data_batch(producer, sequence, true, &records(&keys)).unwrap()
}

fn log_with(batches: &[usize]) -> PartitionLog {
    let mut log = PartitionLog::new(LogConfig::default());
    for &n in batches {
        log.append_as_leader(&batch(PLAIN, 0, n), 0, 0).unwrap();
    }
    log.update_high_watermark(log.log_end_offset());
    log
}

fn offsets_of(read: &ReadResult) -> Vec<(i64, i64)> {
    RawBatch::split_all(&read.records)
        .unwrap()
        .iter()
        .map(|b| (b.header.base_offset, b.header.last_offset()))
        .collect()
}

fn visible_values(log: &PartitionLog, isolation: FetchIsolation) -> Vec<i64> {
    let read = log.read(0, usize::MAX, isolation, true).unwrap();
    consume_fetched(&read.records, 0, read.aborted_transactions.as_deref())
        .unwrap()
        .into_iter()
        .flat_map(|b| match b.kind {
            ConsumedBatchKind::Data(records) => records.into_iter().map(|r| r.offset).collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// Log: the leader assigns consecutive base offsets and stamps its epoch; the CRC does not cover them.
#[test]
fn leader_assigns_offsets_and_epoch() {
    let mut log = PartitionLog::new(LogConfig::default());
    let first = log.append_as_leader(&batch(PLAIN, 0, 3), 7, 0).unwrap();
    let second = log.append_as_leader(&batch(PLAIN, 0, 2), 7, 0).unwrap();
    assert_eq!((first.first_offset, first.last_offset), (0, 2));
    assert_eq!((second.first_offset, second.last_offset), (3, 4));
    let stored = &log.batches()[1].batch;
    assert_eq!(stored.header.base_offset, 3);
    assert_eq!(stored.header.partition_leader_epoch, 7);
    assert!(stored.crc_is_valid());
    let decoded = stored.decode_records().unwrap();
    assert_eq!(
        decoded.iter().map(|r| r.offset).collect::<Vec<_>>(),
        vec![3, 4]
    );
    assert_eq!(log.epoch_cache().entries(), vec![(7, 0)]);
}

/// Log: message.timestamp.type=LogAppendTime stamps the max timestamp and recomputes the CRC.
#[test]
fn log_append_time_recomputes_crc() {
    let config = LogConfig {
        message_timestamp_type: MessageTimestampType::LogAppendTime,
        ..LogConfig::default()
    };
    let mut log = PartitionLog::new(config);
    let info = log.append_as_leader(&batch(PLAIN, 0, 2), 0, 5_000).unwrap();
    assert_eq!(info.log_append_time_ms, 5_000);
    let stored = &log.batches()[0].batch;
    assert!(stored.header.is_log_append_time());
    assert_eq!(stored.header.max_timestamp_ms, 5_000);
    assert!(stored.crc_is_valid());
}

/// Log: a produce batch failing its CRC is CORRUPT_MESSAGE and nothing is appended.
#[test]
fn corrupt_produce_batch_is_rejected() {
    let mut log = PartitionLog::new(LogConfig::default());
    let good = RawBatch::split_all(&batch(PLAIN, 0, 2)).unwrap().remove(0);
    let bad = good.corrupted(5);
    assert_eq!(
        log.append_as_leader(&bad.bytes, 0, 0),
        Err(ResponseError::CorruptMessage)
    );
    let truncated = good.bytes.slice(..good.bytes.len() - 1);
    assert_eq!(
        log.append_as_leader(&truncated, 0, 0),
        Err(ResponseError::CorruptMessage)
    );
    assert_eq!(log.log_end_offset(), 0);
}

/// Log: produce v3+ takes exactly one batch with base offset 0, within max.message.bytes; compacted topics
/// need keys.
#[test]
fn produce_validation_errors() {
    let mut log = PartitionLog::new(LogConfig::default());
    let mut two = batch(PLAIN, 0, 1).to_vec();
    two.extend_from_slice(&batch(PLAIN, 0, 1));
    assert_eq!(
        log.append_as_leader(&Bytes::from(two), 0, 0),
        Err(ResponseError::InvalidRecord)
    );
    let shifted = RawBatch::split_all(&batch(PLAIN, 0, 1)).unwrap()[0].restamped(5, 0);
    assert_eq!(
        log.append_as_leader(&shifted.bytes, 0, 0),
        Err(ResponseError::InvalidRecord)
    );
    let marker = encode_control_batch(P1, ControlType::Commit, 0, 0);
    assert_eq!(
        log.append_as_leader(&marker, 0, 0),
        Err(ResponseError::InvalidRecord)
    );

    let mut small = PartitionLog::new(LogConfig {
        max_message_bytes: 80,
        ..LogConfig::default()
    });
    assert_eq!(
        small.append_as_leader(&batch(PLAIN, 0, 5), 0, 0),
        Err(ResponseError::MessageTooLarge)
    );

    let mut compacted = PartitionLog::new(LogConfig {
        cleanup_policy: CleanupPolicy::Compact,
        ..LogConfig::default()
    });
    let keyless =
        encode_data_batch(PLAIN, 0, false, &[ProducerRecord::new(None, Some(b"v"), 0)]).unwrap();
    assert_eq!(
        compacted.append_as_leader(&keyless, 0, 0),
        Err(ResponseError::InvalidRecord)
    );
}

/// Idempotence: a retried batch is answered with its original offsets and not appended again.
#[test]
fn duplicate_batch_returns_original_offsets() {
    let mut log = PartitionLog::new(LogConfig::default());
    log.append_as_leader(&batch(P1, 0, 3), 0, 0).unwrap();
    log.append_as_leader(&batch(P2, 0, 2), 0, 0).unwrap();
    let retry = log.append_as_leader(&batch(P1, 0, 3), 0, 0).unwrap();
    assert!(retry.duplicate);
    assert_eq!((retry.first_offset, retry.last_offset), (0, 2));
    assert_eq!(log.log_end_offset(), 5);
}

/// Idempotence: a gap in sequences is OUT_OF_ORDER_SEQUENCE_NUMBER; the next sequence is accepted.
#[test]
fn out_of_order_sequence_is_rejected() {
    let mut log = PartitionLog::new(LogConfig::default());
    log.append_as_leader(&batch(P1, 0, 3), 0, 0).unwrap();
    assert_eq!(
        log.append_as_leader(&batch(P1, 5, 1), 0, 0),
        Err(ResponseError::OutOfOrderSequenceNumber)
    );
    assert!(log.append_as_leader(&batch(P1, 3, 1), 0, 0).is_ok());
}

/// Idempotence: an older producer epoch is INVALID_PRODUCER_EPOCH; a bumped epoch restarts at sequence 0.
#[test]
fn producer_epochs_fence_and_restart_sequences() {
    let mut log = PartitionLog::new(LogConfig::default());
    let epoch1 = ProducerIdentity {
        producer_id: 1,
        producer_epoch: 1,
    };
    log.append_as_leader(&batch(epoch1, 0, 2), 0, 0).unwrap();
    assert_eq!(
        log.append_as_leader(&batch(P1, 2, 1), 0, 0),
        Err(ResponseError::InvalidProducerEpoch)
    );
    let epoch2 = ProducerIdentity {
        producer_id: 1,
        producer_epoch: 2,
    };
    assert_eq!(
        log.append_as_leader(&batch(epoch2, 4, 1), 0, 0),
        Err(ResponseError::OutOfOrderSequenceNumber)
    );
    assert!(log.append_as_leader(&batch(epoch2, 0, 1), 0, 0).is_ok());
}

/// Sequences wrap from i32::MAX to 0 as Kafka's incrementSequence does.
#[test]
fn sequence_wraps_at_i32_max() {
    let mut log = PartitionLog::new(LogConfig::default());
    log.append_as_leader(&batch(P1, i32::MAX - 1, 2), 0, 0)
        .unwrap();
    assert!(log.append_as_leader(&batch(P1, 0, 1), 0, 0).is_ok());
}

/// Reads return whole stored batches overlapping the requested offset, as stored bytes.
#[test]
fn read_returns_overlapping_whole_batches() {
    let log = log_with(&[3, 3, 3]);
    let read = log
        .read(4, usize::MAX, FetchIsolation::HighWatermark, true)
        .unwrap();
    assert_eq!(offsets_of(&read), vec![(3, 5), (6, 8)]);
    assert_eq!(
        &read.records[..],
        &[
            log.batches()[1].batch.bytes.clone(),
            log.batches()[2].batch.bytes.clone()
        ]
        .concat()[..]
    );
}

/// Reads stop at max bytes on a batch boundary, but return at least one batch when asked to.
#[test]
fn read_respects_max_bytes_and_min_one_batch() {
    let log = log_with(&[3, 3, 3]);
    let one = log.batches()[0].batch.bytes.len();
    let read = log
        .read(0, one * 2 + 1, FetchIsolation::HighWatermark, true)
        .unwrap();
    assert_eq!(read.batch_count, 2);
    let read = log.read(0, 1, FetchIsolation::HighWatermark, true).unwrap();
    assert_eq!(read.batch_count, 1);
    let read = log
        .read(0, 1, FetchIsolation::HighWatermark, false)
        .unwrap();
    assert_eq!(read.batch_count, 0);
}

/// Consumer reads stop at the high watermark; followers read to the log end.
#[test]
fn read_bounded_by_high_watermark() {
    let mut log = log_with(&[2, 2, 2]);
    log.update_high_watermark(4);
    let read = log
        .read(0, usize::MAX, FetchIsolation::HighWatermark, true)
        .unwrap();
    assert_eq!(offsets_of(&read), vec![(0, 1), (2, 3)]);
    assert_eq!(
        log.read(4, usize::MAX, FetchIsolation::HighWatermark, true)
            .unwrap()
            .batch_count,
        0
    );
    assert_eq!(
        log.read(0, usize::MAX, FetchIsolation::LogEnd, true)
            .unwrap()
            .batch_count,
        3
    );
}

/// A fetch offset below the log start or beyond the log end is OFFSET_OUT_OF_RANGE; at the end it is empty.
#[test]
fn read_out_of_range() {
    let log = log_with(&[2]);
    assert_eq!(
        log.read(3, 100, FetchIsolation::LogEnd, true),
        Err(ResponseError::OffsetOutOfRange)
    );
    assert_eq!(
        log.read(2, 100, FetchIsolation::LogEnd, true)
            .unwrap()
            .batch_count,
        0
    );
}

/// Spec 6: DeleteRecords moves the log start; reads below it are OFFSET_OUT_OF_RANGE; beyond HW is refused.
#[test]
fn delete_records_moves_log_start() {
    let mut log = log_with(&[3, 3, 3]);
    assert_eq!(log.delete_records_before(4), Ok(4));
    assert_eq!(
        log.read(3, 100, FetchIsolation::HighWatermark, true),
        Err(ResponseError::OffsetOutOfRange)
    );
    let read = log
        .read(4, usize::MAX, FetchIsolation::HighWatermark, true)
        .unwrap();
    assert_eq!(offsets_of(&read)[0], (3, 5));
    assert_eq!(log.batches().len(), 2);
    assert_eq!(log.delete_records_before(2), Ok(4));
    assert_eq!(
        log.delete_records_before(10),
        Err(ResponseError::OffsetOutOfRange)
    );
    assert_eq!(log.delete_records_before(-1), Ok(9));
    assert_eq!(
        log.read(9, 100, FetchIsolation::HighWatermark, true)
            .unwrap()
            .batch_count,
        0
    );
}

/// Spec 6: time and size retention delete the oldest batches below the high watermark.
#[test]
fn retention_by_time_and_size() {
    let mut log = PartitionLog::new(LogConfig::default());
    for t in [100, 200, 300] {
        let b = encode_data_batch(
            PLAIN,
            0,
            false,
            &[ProducerRecord::new(Some(b"k"), Some(b"v"), t)],
        )
        .unwrap();
        log.append_as_leader(&b, 0, 0).unwrap();
    }
    log.update_high_watermark(2);
    assert_eq!(log.apply_retention(1_250, 1_000, -1), 2);
    assert_eq!(
        log.apply_retention(10_000, 1_000, -1),
        2,
        "never past the high watermark"
    );
    let mut sized = log_with(&[1, 1, 1]);
    let one = sized.batches()[0].batch.bytes.len() as i64;
    assert_eq!(
        sized.apply_retention(0, -1, 2 * one + 1),
        0,
        "keeps at least retention.bytes"
    );
    assert_eq!(sized.apply_retention(0, -1, 2 * one), 1);
    assert_eq!(sized.apply_retention(0, -1, 0), 3);
}

/// Spec 6: an open transaction holds the LSO; read_committed stops there; the marker releases it once the
/// high watermark passes the marker.
#[test]
fn open_transaction_holds_last_stable_offset() {
    let mut log = log_with(&[2]);
    log.append_as_leader(&txn_batch(P1, 0, 2), 0, 0).unwrap();
    log.append_as_leader(&batch(PLAIN, 0, 1), 0, 0).unwrap();
    log.update_high_watermark(log.log_end_offset());
    assert_eq!(log.last_stable_offset(), 2);
    let read = log
        .read(0, usize::MAX, FetchIsolation::TxnCommitted, true)
        .unwrap();
    assert_eq!(offsets_of(&read), vec![(0, 1)]);
    let marker = log
        .append_marker_as_leader(P1, ControlType::Commit, 0, 0, 0)
        .unwrap();
    assert_eq!(marker.first_offset, 5);
    assert_eq!(log.last_stable_offset(), 2, "marker not yet replicated");
    log.update_high_watermark(6);
    assert_eq!(log.last_stable_offset(), 6);
    assert_eq!(
        visible_values(&log, FetchIsolation::TxnCommitted),
        vec![0, 1, 2, 3, 4]
    );
}

/// Spec 6: read_committed never returns aborted records (aborted index + ABORT marker, as the client
/// filters); read_uncommitted does.
#[test]
fn read_committed_filters_aborted_transactions() {
    let mut log = PartitionLog::new(LogConfig::default());
    log.append_as_leader(&txn_batch(P1, 0, 2), 0, 0).unwrap(); // 0-1 aborted
    log.append_as_leader(&txn_batch(P2, 0, 2), 0, 0).unwrap(); // 2-3 committed
    log.append_marker_as_leader(P1, ControlType::Abort, 0, 0, 0)
        .unwrap(); // 4
    log.append_marker_as_leader(P2, ControlType::Commit, 0, 0, 0)
        .unwrap(); // 5
    log.update_high_watermark(6);
    let read = log
        .read(0, usize::MAX, FetchIsolation::TxnCommitted, true)
        .unwrap();
    let aborted = read.aborted_transactions.clone().unwrap();
    assert_eq!(aborted.len(), 1);
    assert_eq!(
        (
            aborted[0].producer_id,
            aborted[0].first_offset,
            aborted[0].last_offset
        ),
        (1, 0, 4)
    );
    assert_eq!(
        visible_values(&log, FetchIsolation::TxnCommitted),
        vec![2, 3]
    );
    assert_eq!(
        visible_values(&log, FetchIsolation::HighWatermark),
        vec![0, 1, 2, 3]
    );
    let kinds: Vec<ConsumedBatchKind> = consume_fetched(&read.records, 0, Some(&aborted))
        .unwrap()
        .into_iter()
        .map(|b| b.kind)
        .collect();
    assert_eq!(kinds[0], ConsumedBatchKind::Aborted);
    assert_eq!(kinds[2], ConsumedBatchKind::Control);
}

/// Transactions: a non-transactional write inside an open transaction is INVALID_TXN_STATE; a stale
/// coordinator epoch is TRANSACTION_COORDINATOR_FENCED.
#[test]
fn transaction_state_errors() {
    let mut log = PartitionLog::new(LogConfig::default());
    log.append_as_leader(&txn_batch(P1, 0, 1), 0, 0).unwrap();
    assert_eq!(
        log.append_as_leader(&batch(P1, 1, 1), 0, 0),
        Err(ResponseError::InvalidTxnState)
    );
    log.append_marker_as_leader(P1, ControlType::Commit, 5, 0, 0)
        .unwrap();
    assert_eq!(
        log.append_marker_as_leader(P1, ControlType::Abort, 4, 0, 0),
        Err(ResponseError::TransactionCoordinatorFenced)
    );
}

/// Spec 6: compaction keeps the latest record per key, leaves offset gaps and keeps batch offset ranges.
#[test]
fn compaction_keeps_latest_per_key() {
    let mut log = PartitionLog::new(LogConfig {
        cleanup_policy: CleanupPolicy::Compact,
        ..LogConfig::default()
    });
    let put = |keys: &[&str]| encode_data_batch(PLAIN, 0, false, &records(keys)).unwrap();
    log.append_as_leader(&put(&["a", "b", "c"]), 0, 0).unwrap(); // 0-2
    log.append_as_leader(&put(&["a", "b"]), 0, 0).unwrap(); // 3-4
    log.append_as_leader(&put(&["d"]), 0, 0).unwrap(); // 5, active
    log.update_high_watermark(6);
    log.flush();
    let stats = log.compact();
    assert_eq!(stats.records_removed, 2);
    assert_eq!(stats.batches_rewritten, 1);
    assert_eq!(
        visible_values(&log, FetchIsolation::HighWatermark),
        vec![2, 3, 4, 5]
    );
    let first = &log.batches()[0].batch;
    assert!(first.crc_is_valid());
    assert_eq!(
        (first.header.base_offset, first.header.last_offset()),
        (0, 2)
    );
    assert_eq!(log.log_end_offset(), 6);
}

/// Spec 6: a batch emptied by compaction is removed, except a producer's last batch, kept empty.
#[test]
fn compaction_empty_batch_rules() {
    let mut log = PartitionLog::new(LogConfig {
        cleanup_policy: CleanupPolicy::Compact,
        ..LogConfig::default()
    });
    let put = |p, seq, keys: &[&str]| encode_data_batch(p, seq, false, &records(keys)).unwrap();
    log.append_as_leader(&put(PLAIN, 0, &["a"]), 0, 0).unwrap(); // 0: superseded, removed
    log.append_as_leader(&put(P1, 0, &["b"]), 0, 0).unwrap(); // 1: P1's last batch, kept empty
    log.append_as_leader(&put(PLAIN, 0, &["a", "b"]), 0, 0)
        .unwrap(); // 2-3
    log.append_as_leader(&put(PLAIN, 0, &["z"]), 0, 0).unwrap(); // 4, active
    log.update_high_watermark(5);
    log.flush();
    let stats = log.compact();
    assert_eq!((stats.batches_removed, stats.batches_emptied), (1, 1));
    let empty = &log.batches()[0].batch;
    assert_eq!(
        (empty.header.base_offset, empty.header.record_count),
        (1, 0)
    );
    assert!(empty.crc_is_valid());
    // The producer's sequence state survives: its next batch is in sequence.
    assert!(log.append_as_leader(&put(P1, 1, &["c"]), 0, 0).is_ok());
}

/// Spec 6: compaction discards records of aborted transactions and keeps markers.
#[test]
fn compaction_discards_aborted_records() {
    let mut log = PartitionLog::new(LogConfig {
        cleanup_policy: CleanupPolicy::Compact,
        ..LogConfig::default()
    });
    log.append_as_leader(&txn_batch(P1, 0, 2), 0, 0).unwrap(); // 0-1
    log.append_marker_as_leader(P1, ControlType::Abort, 0, 0, 0)
        .unwrap(); // 2
    log.append_as_leader(&batch(PLAIN, 0, 1), 0, 0).unwrap(); // 3 active
    log.update_high_watermark(4);
    log.flush();
    let stats = log.compact();
    assert_eq!(stats.records_removed, 2);
    assert_eq!(visible_values(&log, FetchIsolation::HighWatermark), vec![3]);
    assert!(log.batches().iter().any(|b| b.marker.is_some()));
}

/// Leader change: truncate_to drops whole batches at and after the offset and rebuilds producer state.
#[test]
fn truncate_to_drops_suffix_and_rebuilds_producer_state() {
    let mut log = PartitionLog::new(LogConfig::default());
    log.append_as_leader(&batch(P1, 0, 2), 1, 0).unwrap(); // 0-1
    log.append_as_leader(&batch(P1, 2, 2), 2, 0).unwrap(); // 2-3
    log.update_high_watermark(4);
    log.truncate_to(3);
    assert_eq!(log.log_end_offset(), 2);
    assert_eq!(log.high_watermark(), 2);
    assert_eq!(log.epoch_cache().entries(), vec![(1, 0)]);
    assert!(
        log.append_as_leader(&batch(P1, 2, 1), 3, 0).is_ok(),
        "sequence 2 is next again"
    );
}

/// OffsetsForLeaderEpoch: a follower truncates to the end offset of its latest epoch on the leader.
#[test]
fn follower_truncates_to_leader_epoch_end() {
    let mut leader = PartitionLog::new(LogConfig::default());
    let mut follower = PartitionLog::new(LogConfig::default());
    for log in [&mut leader, &mut follower] {
        log.append_as_leader(&batch(PLAIN, 0, 2), 1, 0).unwrap();
    }
    follower
        .append_as_leader(&batch(PLAIN, 0, 3), 1, 0)
        .unwrap(); // diverged, epoch 1
    leader.assign_leader_epoch(2);
    leader.append_as_leader(&batch(PLAIN, 0, 1), 2, 0).unwrap();
    let (epoch, end) = leader.end_offset_for_epoch(1);
    assert_eq!((epoch, end), (1, 2));
    follower.truncate_to(end);
    let fetched = leader
        .read(
            follower.log_end_offset(),
            usize::MAX,
            FetchIsolation::LogEnd,
            true,
        )
        .unwrap();
    assert_eq!(follower.append_as_follower(&fetched.records), Ok(1));
    assert_eq!(follower.batches(), leader.batches());
    assert_eq!(follower.epoch_cache(), leader.epoch_cache());
}

/// Durability: a crash loses exactly the unflushed suffix; the HW comes back from its checkpoint.
#[test]
fn crash_drops_unflushed_suffix() {
    let mut log = log_with(&[2, 2]);
    log.flush();
    log.append_as_leader(&batch(PLAIN, 0, 3), 0, 0).unwrap();
    log.update_high_watermark(7);
    let flushed: Vec<StoredBatch> = log.batches()[..2].to_vec();
    log.crash();
    assert_eq!(log.batches(), &flushed[..]);
    assert_eq!(log.log_end_offset(), 4);
    assert_eq!(log.high_watermark(), 4);
    assert_eq!(log.flushed_offset(), 4);
}

/// Durability: recovery rebuilds transactions, so an open transaction still holds the LSO.
#[test]
fn crash_recovery_rebuilds_transactions() {
    let mut log = PartitionLog::new(LogConfig::default());
    log.append_as_leader(&txn_batch(P1, 0, 2), 0, 0).unwrap();
    log.append_as_leader(&batch(PLAIN, 0, 1), 0, 0).unwrap();
    log.update_high_watermark(3);
    log.flush();
    let before = log.producer_state().clone();
    log.crash();
    assert_eq!(log.producer_state(), &before);
    assert_eq!(log.last_stable_offset(), 0);
}

/// Spec 7.6: a batch corrupted on disk is served as stored and fails the consumer's CRC check.
#[test]
fn corrupt_batch_on_disk_fails_consumer_crc() {
    let mut log = log_with(&[2, 2]);
    assert!(log.corrupt_batch(3, 11));
    assert!(!log.corrupt_batch(99, 0));
    let read = log
        .read(0, usize::MAX, FetchIsolation::HighWatermark, true)
        .unwrap();
    assert_eq!(
        check_fetched_records(&read.records),
        Err((2, ResponseError::CorruptMessage))
    );
    let batches = RawBatch::split_all(&read.records).unwrap();
    assert!(batches[0].verify_crc().is_ok());
    assert_eq!(batches[1].verify_crc(), Err(ResponseError::CorruptMessage));
    let kinds: Vec<_> = consume_fetched(&read.records, 0, None).unwrap();
    assert_eq!(kinds[1].kind, ConsumedBatchKind::Corrupt);
    assert_eq!((kinds[1].base_offset, kinds[1].last_offset), (2, 3));
}

/// Replication: a follower refuses a corrupt batch from the leader (Kafka validates CRCs on every append).
#[test]
fn follower_refuses_corrupt_batch() {
    let mut leader = log_with(&[2]);
    leader.corrupt_batch(0, 0);
    let read = leader
        .read(0, usize::MAX, FetchIsolation::LogEnd, true)
        .unwrap();
    let mut follower = PartitionLog::new(LogConfig::default());
    assert_eq!(
        follower.append_as_follower(&read.records),
        Err(ResponseError::CorruptMessage)
    );
}
