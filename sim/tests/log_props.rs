//! Property tests of the partition log: random appends, reads, high-watermark moves, truncations, flushes
//! and crashes keep offsets monotonic and contiguous, reads return exactly the overlapping batches, and a
//! crash drops exactly the unflushed suffix.

use proptest::prelude::*;
use sharesim_sim::log::{
    consume_fetched, encode_data_batch, ConsumedBatchKind, ControlType, FetchIsolation, LogConfig,
    PartitionLog, ProducerIdentity, ProducerRecord, RawBatch,
};
use sharesim_sim::ResponseError;

#[derive(Clone, Debug)]
enum Op {
    Append {
        records: usize,
        idempotent: bool,
    },
    Read {
        offset_pick: u16,
        max_bytes: usize,
        min_one: bool,
    },
    HighWatermark {
        pick: u16,
    },
    Truncate {
        pick: u16,
    },
    DeleteRecords {
        pick: u16,
    },
    Flush,
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1usize..5, any::<bool>()).prop_map(|(records, idempotent)| Op::Append { records, idempotent }),
        3 => (any::<u16>(), 0usize..400, any::<bool>())
            .prop_map(|(offset_pick, max_bytes, min_one)| Op::Read { offset_pick, max_bytes, min_one }),
        2 => any::<u16>().prop_map(|pick| Op::HighWatermark { pick }),
        1 => any::<u16>().prop_map(|pick| Op::Truncate { pick }),
        1 => any::<u16>().prop_map(|pick| Op::DeleteRecords { pick }),
        1 => Just(Op::Flush),
        1 => Just(Op::Crash),
    ]
}

const P1: ProducerIdentity = ProducerIdentity {
    producer_id: 1,
    producer_epoch: 0,
};

fn next_sequence(log: &PartitionLog) -> i32 {
    log.producer_state()
        .producer(1)
        .and_then(|p| p.batches.back())
        .map_or(0, |b| b.last_sequence + 1)
}

fn pick(range_end: i64, pick: u16) -> i64 {
    if range_end <= 0 {
        0
    } else {
        pick as i64 % (range_end + 1)
    }
}

/// An offset in `[start, end]`.
fn pick_in(start: i64, end: i64, p: u16) -> i64 {
    start + pick(end - start, p)
}

/// The model: batch ranges and sizes, and the flushed prefix length.
#[derive(Default)]
struct Model {
    batches: Vec<(i64, i64, usize)>,
    flushed: usize,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Offsets stay contiguous, reads match the model exactly, crashes drop exactly the unflushed suffix.
    #[test]
    fn log_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        let mut log = PartitionLog::new(LogConfig::default());
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Append { records, idempotent } => {
                    let producer = if idempotent { P1 } else { ProducerIdentity::NONE };
                    let rs: Vec<ProducerRecord> = (0..records)
                        .map(|i| ProducerRecord::new(Some(&[i as u8]), Some(b"value"), 0))
                        .collect();
                    let bytes = encode_data_batch(producer, next_sequence(&log), false, &rs).unwrap();
                    // The log end (checked against the model after every step) is where the batch goes.
                    let expected_base = log.log_end_offset();
                    let info = log.append_as_leader(&bytes, 0, 0).unwrap();
                    prop_assert_eq!(info.first_offset, expected_base);
                    prop_assert_eq!(info.last_offset, expected_base + records as i64 - 1);
                    model.batches.push((info.first_offset, info.last_offset, bytes.len()));
                }
                Op::Read { offset_pick, max_bytes, min_one } => {
                    let offset = pick_in(log.log_start_offset(), log.log_end_offset(), offset_pick);
                    let read = log.read(offset, max_bytes, FetchIsolation::HighWatermark, min_one).unwrap();
                    let got: Vec<(i64, i64)> = RawBatch::split_all(&read.records).unwrap()
                        .iter().map(|b| (b.header.base_offset, b.header.last_offset())).collect();
                    let mut expected = Vec::new();
                    let mut bytes = 0;
                    for &(base, last, size) in &model.batches {
                        if last < offset { continue; }
                        if last >= log.high_watermark() { break; }
                        if bytes + size > max_bytes && !(min_one && expected.is_empty()) { break; }
                        bytes += size;
                        expected.push((base, last));
                    }
                    prop_assert_eq!(got, expected);
                    for batch in RawBatch::split_all(&read.records).unwrap() {
                        prop_assert!(batch.verify_crc().is_ok());
                    }
                }
                Op::HighWatermark { pick: p } => {
                    log.update_high_watermark(pick_in(log.log_start_offset(), log.log_end_offset(), p))
                }
                Op::DeleteRecords { pick: p } => {
                    let start_before = log.log_start_offset();
                    let target = pick_in(start_before, log.high_watermark(), p);
                    prop_assert_eq!(log.delete_records_before(target), Ok(target.max(start_before)));
                    let before = model.batches.len();
                    model.batches.retain(|b| b.1 >= target);
                    model.flushed = model.flushed.saturating_sub(before - model.batches.len());
                    if target > 0 {
                        prop_assert_eq!(
                            log.read(target - 1, 100, FetchIsolation::LogEnd, true).err(),
                            (target - 1 < log.log_start_offset()).then_some(ResponseError::OffsetOutOfRange)
                        );
                    }
                }
                Op::Truncate { pick: p } => {
                    let offset = pick_in(log.log_start_offset(), log.log_end_offset(), p);
                    log.truncate_to(offset);
                    model.batches.retain(|b| b.1 < offset);
                    model.flushed = model.flushed.min(model.batches.len());
                }
                Op::Flush => {
                    log.flush();
                    model.flushed = model.batches.len();
                }
                Op::Crash => {
                    let before = log.producer_state().clone();
                    let fully_flushed = model.flushed == model.batches.len();
                    log.crash();
                    model.batches.truncate(model.flushed);
                    if fully_flushed {
                        // Replay rebuilds exactly the state maintained incrementally.
                        prop_assert_eq!(log.producer_state(), &before);
                    }
                }
            }
            let ranges: Vec<(i64, i64)> = log.batches().iter().map(|b| (b.base_offset(), b.last_offset())).collect();
            let model_ranges: Vec<(i64, i64)> = model.batches.iter().map(|b| (b.0, b.1)).collect();
            prop_assert_eq!(&ranges, &model_ranges);
            for w in ranges.windows(2) {
                prop_assert_eq!(w[0].1 + 1, w[1].0, "contiguous offsets");
            }
            if let Some(last) = ranges.last() {
                prop_assert_eq!(log.log_end_offset(), last.1 + 1);
            }
            prop_assert!(log.log_start_offset() <= log.high_watermark());
            prop_assert!(log.high_watermark() <= log.log_end_offset());
            prop_assert!(log.flushed_offset() <= log.log_end_offset());
        }
    }

    /// Spec 6: read_committed never returns a record of an aborted transaction (filtered as the client
    /// does, with the aborted list and the ABORT markers), whatever the interleaving and fetch offset.
    #[test]
    fn read_committed_never_returns_aborted(
        steps in prop::collection::vec((0i64..3, 0u8..4), 1..40),
        fetch_pick in any::<u16>(),
    ) {
        let mut log = PartitionLog::new(LogConfig::default());
        let mut sequences = [0i32; 3];
        let mut open = [false; 3];
        let mut aborted_offsets = Vec::new();
        let mut txn_offsets: [Vec<i64>; 3] = Default::default();
        for (producer, action) in steps {
            let identity = ProducerIdentity { producer_id: producer + 10, producer_epoch: 0 };
            let p = producer as usize;
            match action {
                0 | 1 => {
                    let rs = [ProducerRecord::new(Some(b"k"), Some(b"v"), 0)];
                    let bytes = encode_data_batch(identity, sequences[p], true, &rs).unwrap();
                    let info = log.append_as_leader(&bytes, 0, 0).unwrap();
                    sequences[p] += 1;
                    open[p] = true;
                    txn_offsets[p].push(info.first_offset);
                }
                2 if open[p] => {
                    log.append_marker_as_leader(identity, ControlType::Abort, 0, 0, 0).unwrap();
                    aborted_offsets.append(&mut txn_offsets[p]);
                    open[p] = false;
                }
                3 if open[p] => {
                    log.append_marker_as_leader(identity, ControlType::Commit, 0, 0, 0).unwrap();
                    txn_offsets[p].clear();
                    open[p] = false;
                }
                _ => {}
            }
        }
        log.update_high_watermark(log.log_end_offset());
        let lso = log.last_stable_offset();
        let fetch_offset = pick(lso, fetch_pick);
        let read = log.read(fetch_offset, usize::MAX, FetchIsolation::TxnCommitted, true).unwrap();
        let batches = consume_fetched(&read.records, fetch_offset, read.aborted_transactions.as_deref()).unwrap();
        for batch in batches {
            if let ConsumedBatchKind::Data(records) = batch.kind {
                for record in records {
                    prop_assert!(!aborted_offsets.contains(&record.offset), "aborted offset {} returned", record.offset);
                    prop_assert!(record.offset < lso);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Spec 6: compaction keeps, for every key, its latest record; never moves a surviving record's offset;
    /// keeps every batch's offset range (gaps appear only inside or between batches); keeps CRCs valid.
    #[test]
    fn compaction_keeps_latest_per_key(
        batches in prop::collection::vec(prop::collection::vec(0u8..6, 1..5), 1..20),
        compact_every in 1usize..6,
    ) {
        let config = LogConfig { cleanup_policy: sharesim_sim::log::CleanupPolicy::Compact, ..LogConfig::default() };
        let mut log = PartitionLog::new(config);
        let mut ranges = Vec::new();
        for (i, keys) in batches.iter().enumerate() {
            let rs: Vec<ProducerRecord> = keys
                .iter()
                .map(|k| ProducerRecord::new(Some(&[*k]), Some(&[i as u8]), 0))
                .collect();
            let bytes = encode_data_batch(ProducerIdentity::NONE, 0, false, &rs).unwrap();
            let info = log.append_as_leader(&bytes, 0, 0).unwrap();
            ranges.push((info.first_offset, info.last_offset, keys.clone()));
            log.update_high_watermark(log.log_end_offset());
            log.flush();
            if i % compact_every == 0 {
                log.compact();
            }
        }
        log.compact();
        let read = log.read(0, usize::MAX, FetchIsolation::HighWatermark, true).unwrap();
        let mut surviving = std::collections::BTreeMap::new();
        for batch in RawBatch::split_all(&read.records).unwrap() {
            prop_assert!(batch.verify_crc().is_ok());
            let range = (batch.header.base_offset, batch.header.last_offset());
            prop_assert!(ranges.iter().any(|r| (r.0, r.1) == range), "batch range kept");
            for record in batch.decode_records().unwrap() {
                surviving.insert(record.offset, record.key.unwrap()[0]);
            }
        }
        let mut latest = std::collections::BTreeMap::new();
        for (first, _, keys) in &ranges {
            for (i, key) in keys.iter().enumerate() {
                latest.insert(*key, first + i as i64);
            }
        }
        for (key, offset) in &latest {
            prop_assert_eq!(surviving.get(offset), Some(key), "latest record of a key survives");
        }
        for (offset, key) in &surviving {
            let original = ranges.iter().find(|r| r.0 <= *offset && *offset <= r.1).unwrap();
            prop_assert_eq!(original.2[(offset - original.0) as usize], *key, "offsets never move");
        }
    }
}
