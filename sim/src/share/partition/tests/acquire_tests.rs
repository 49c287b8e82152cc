//! Acquisition: acquire modes, SPEO, the in-flight limit, the next fetch offset, throttling.

use super::harness::*;
use crate::semantics::Semantics;
use crate::share::partition::*;
use crate::share::{AcknowledgeType, RecordState};

/// Spec 1.2 #1: new offsets are cached ACQUIRED with dc = 1, owner and lock deadline.
#[test]
fn new_records_are_acquired_with_count_one_and_a_lock() {
    let mut h = Harness::new();
    assert_eq!(h.fetch("a", &[(0, 9)], params(500)), vec![(0, 9, 1)]);
    let record = h.sp.record(5).unwrap();
    assert_eq!(record.state, RecordState::Acquired);
    assert_eq!(record.member, Some(member("a")));
    assert_eq!(record.lock_deadline_ms, Some(h.now_ms + 30_000));
    assert_eq!((h.sp.start_offset(), h.sp.end_offset()), (0, 9));
    assert_eq!(h.sp.poll_timeout(), Some(h.now_ms + 30_000));
    assert!(h.events.iter().any(|e| matches!(
        e,
        PartitionEvent::Acquired {
            first_offset: 0,
            last_offset: 9,
            ..
        }
    )));
}

/// Spec 2.6: batch_optimized rounds up to the end of the log batch holding first + max - 1.
#[test]
fn batch_optimized_rounds_up_to_the_log_batch_end() {
    let mut h = Harness::new();
    let got = h.fetch("a", &[(0, 9), (10, 19), (20, 29)], params(12));
    assert_eq!(got, vec![(0, 19, 1)]);
    assert_eq!(h.sp.end_offset(), 19);
}

/// Spec 2.6: acquired groups split at log-batch boundaries once a group reaches BatchSize; each group is
/// one cached batch.
#[test]
fn batch_optimized_groups_at_log_batch_boundaries_by_batch_size() {
    let mut h = Harness::new();
    let p = AcquireParams {
        max_records: 100,
        batch_size: 15,
        mode: AcquireMode::BatchOptimized,
    };
    let got = h.fetch("a", &[(0, 9), (10, 19), (20, 29), (30, 39)], p);
    assert_eq!(
        got,
        vec![(0, 39, 1)],
        "contiguous groups join in the response"
    );
    let batches: Vec<(i64, i64)> =
        h.sp.cached_batches()
            .map(|b| (b.first_offset(), b.last_offset()))
            .collect();
    assert_eq!(batches, vec![(0, 19), (20, 39)]);
}

/// Spec 1.7, 2.6: record_limit acquires at most MaxRecords; a larger new batch is created split with the
/// rest AVAILABLE at dc = 0.
#[test]
fn record_limit_creates_a_split_batch() {
    let mut h = Harness::new();
    assert_eq!(h.fetch("a", &[(0, 9)], record_limit(4)), vec![(0, 3, 1)]);
    assert_eq!(h.state(3), RecordState::Acquired);
    assert_eq!((h.state(4), h.count(4)), (RecordState::Available, 0));
    assert_eq!(h.sp.end_offset(), 9);
    assert_eq!(h.sp.next_fetch_offset(), 4);
    assert_eq!(h.fetch("b", &[(0, 9)], record_limit(4)), vec![(4, 7, 1)]);
    assert_eq!(h.sp.record(5).unwrap().member, Some(member("b")));
}

/// Spec 1.5: SPEO = max(SPEO, last acquired); the next fetch offset is SPEO + 1 with a non-empty cache and
/// SPEO itself when the cache is empty (the quirk).
#[test]
fn next_fetch_offset_quirk() {
    let mut h = Harness::new();
    assert_eq!(h.sp.next_fetch_offset(), 0, "empty cache: SPEO itself");
    h.fetch("a", &[(0, 4)], params(500));
    assert_eq!(h.sp.next_fetch_offset(), 5, "SPEO + 1");
    h.ack_committed("a", 0, 4, AcknowledgeType::Accept);
    assert_eq!(h.sp.cached_batches().count(), 0);
    assert_eq!((h.sp.start_offset(), h.sp.end_offset()), (5, 5));
    assert_eq!(
        h.sp.next_fetch_offset(),
        5,
        "cache emptied: SPSO = SPEO = last + 1"
    );
}

/// Spec 1.5: findNextFetchOffset after a release points at the first AVAILABLE offset.
#[test]
fn released_records_are_fetched_again_first() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.fetch("a", &[(5, 9)], params(500));
    h.ack_committed("a", 5, 9, AcknowledgeType::Release);
    assert_eq!(h.sp.next_fetch_offset(), 5);
    assert_eq!(h.fetch("b", &[(5, 9)], params(500)), vec![(5, 9, 2)]);
    assert_eq!(h.sp.next_fetch_offset(), 10);
}

/// Spec 1.5: the in-flight count is SPEO - SPSO + 1 and includes terminal records; canAcquireRecords is
/// false once it reaches the limit with nothing to re-acquire.
#[test]
fn in_flight_limit_counts_the_whole_window() {
    let mut config = SharePartitionConfig::default();
    config.max_record_locks = 10;
    let mut h = Harness::with_config(config, Semantics::default());
    h.fetch("a", &[(0, 4)], params(500));
    h.fetch("a", &[(5, 9)], params(500));
    h.ack_committed("a", 5, 9, AcknowledgeType::Accept);
    assert_eq!(
        h.sp.in_flight_count(),
        10,
        "terminal 5..9 still count behind ACQUIRED 0..4"
    );
    assert!(!h.sp.can_acquire_records());
    assert!(h.fetch("b", &[(10, 19)], params(500)).is_empty());
    h.ack_committed("a", 0, 4, AcknowledgeType::Accept);
    assert!(h.sp.can_acquire_records());
}

/// Spec 1.5: maxToAcquire = min(max, limit - inFlight), rounded up to the log batch (allowed overshoot).
#[test]
fn in_flight_room_limits_new_records_with_batch_overshoot() {
    let mut config = SharePartitionConfig::default();
    config.max_record_locks = 10;
    let mut h = Harness::with_config(config, Semantics::default());
    h.fetch("a", &[(0, 7)], params(500));
    assert_eq!(
        h.fetch("a", &[(8, 15)], params(500)),
        vec![(8, 15, 1)],
        "room 2, whole log batch"
    );
    assert_eq!(h.sp.in_flight_count(), 16);
}

/// Spec 1.5: with the window full, released records inside it are re-acquired up to SPEO only.
#[test]
fn full_window_reacquires_inside_up_to_speo() {
    let mut config = SharePartitionConfig::default();
    config.max_record_locks = 10;
    let mut h = Harness::with_config(config, Semantics::default());
    h.fetch("a", &[(0, 9)], params(500));
    h.ack_committed("a", 0, 9, AcknowledgeType::Release);
    assert!(
        h.sp.can_acquire_records(),
        "released records inside the window"
    );
    let got = h.fetch("b", &[(0, 9), (10, 19)], params(500));
    assert_eq!(got, vec![(0, 9, 2)]);
    assert_eq!(h.sp.end_offset(), 9, "no growth past SPEO");
}

/// Spec 1.7: a subset acquire of an AVAILABLE batch splits it; a batch not AVAILABLE is skipped unsplit.
#[test]
fn subset_acquire_splits_only_available_batches() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 9)], params(500));
    h.ack_committed("a", 0, 9, AcknowledgeType::Release);
    let got = h.fetch("b", &[(0, 9)], record_limit(3));
    assert_eq!(got, vec![(0, 2, 2)]);
    assert!(h.sp.cached_batches().next().unwrap().is_split());
    h.fetch("c", &[(20, 29)], params(500));
    let acquired_batch = h.sp.cached_batches().last().unwrap();
    assert!(!acquired_batch.is_split());
}

/// Spec 1.3 (testFetchWithThrottledDelivery): L = 5, 100 records released after every fetch: 100, 100,
/// 100, then 50, then 1 record per fetch.
#[test]
fn throttled_delivery_sequence_100_100_100_50_1() {
    let mut h = Harness::new();
    let mut sizes = Vec::new();
    for _ in 0..5 {
        let got = h.fetch("a", &[(0, 99)], params(500));
        let count: i64 = got.iter().map(|&(f, l, _)| l - f + 1).sum();
        sizes.push(count);
        for &(first, last, _) in &got {
            h.ack_committed("a", first, last, AcknowledgeType::Release);
        }
    }
    assert_eq!(sizes, vec![100, 100, 100, 50, 1]);
    assert_eq!(h.count(0), 5);
    assert_eq!(
        h.state(0),
        RecordState::Archived,
        "5th failed attempt archives"
    );
    assert_eq!((h.state(1), h.count(1)), (RecordState::Available, 4));
}

/// Spec 1.3: without throttling (4.1) the whole batch is delivered every time until archived.
#[test]
fn no_throttling_before_4_2() {
    let mut h = Harness::for_release(crate::semantics::Release::Kafka4_1);
    for attempt in 1..=5u16 {
        assert_eq!(
            h.fetch("a", &[(0, 99)], params(500)),
            vec![(0, 99, attempt)]
        );
        h.ack_committed("a", 0, 99, AcknowledgeType::Release);
    }
    assert_eq!(
        h.sp.start_offset(),
        100,
        "all archived at the limit and passed"
    );
}

/// Spec 1.3: the last attempt is delivered alone; acquisition stops before it when something else was
/// acquired in the same fetch.
#[test]
fn last_attempt_is_delivered_alone() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 0)], params(500));
    h.fetch("a", &[(1, 1)], params(500));
    // Offset 0 to dc 4 (= L - 1): three more releases.
    h.ack_committed("a", 0, 0, AcknowledgeType::Release);
    for _ in 0..3 {
        assert_eq!(h.fetch("a", &[(0, 0), (1, 1)], params(500))[0].0, 0);
        h.ack_committed("a", 0, 0, AcknowledgeType::Release);
    }
    h.ack_committed("a", 1, 1, AcknowledgeType::Release);
    h.fetch_log("b", &log(2, &[(2, 2)]), params(500));
    let got = h.fetch("b", &[(0, 0), (1, 1), (2, 2)], params(500));
    assert_eq!(got, vec![(0, 0, 5)], "last attempt alone, offset 1 waits");
}

/// Spec 1.2 #1 (testDynamicDeliveryCountDecreaseCausesArchival): no limit check at acquisition; a record
/// at dc >= L after a dynamic decrease is acquired once more, then archived when released.
#[test]
fn dynamic_limit_decrease_acquires_once_more_then_archives() {
    let mut h = Harness::new();
    for _ in 0..3 {
        h.fetch("a", &[(0, 0)], params(500));
        h.ack_committed("a", 0, 0, AcknowledgeType::Release);
    }
    assert_eq!((h.state(0), h.count(0)), (RecordState::Available, 3));
    let mut config = h.sp.config().clone();
    config.delivery_count_limit = 2;
    h.sp.update_config(config);
    assert_eq!(h.fetch("a", &[(0, 0)], params(500)), vec![(0, 0, 4)]);
    h.ack_committed("a", 0, 0, AcknowledgeType::Release);
    assert_eq!(h.sp.start_offset(), 1, "archived and passed");
    assert!(h.events.iter().any(|e| matches!(
        e,
        PartitionEvent::Transition {
            to: RecordState::Archived,
            limit_reached: true,
            ..
        }
    )));
}

/// Spec 2.6: a fetch response never hands out an offset twice, and max_records = 0 acquires nothing.
#[test]
fn zero_max_records_acquires_nothing() {
    let mut h = Harness::new();
    assert!(h.fetch("a", &[(0, 9)], params(0)).is_empty());
    assert_eq!(h.sp.cached_batches().count(), 0);
}

/// Spec 2.2: a fetch on a partition that is not initialized says "retry".
#[test]
fn fetch_before_initialization_is_leader_not_available() {
    let mut sp = SharePartition::new(SharePartitionConfig::default(), Semantics::default(), 0);
    let result = sp.handle_fetch(0, &member("a"), &log(0, &[(0, 1)]), params(10));
    assert_eq!(result, Err(crate::ResponseError::LeaderNotAvailable));
}

/// A malformed log read is a broker bug: an error, never a panic.
#[test]
fn malformed_log_read_is_an_error() {
    let mut h = Harness::new();
    let bad = log(0, &[(5, 9), (0, 4)]);
    let result = h.sp.handle_fetch(h.now_ms, &member("a"), &bad, params(10));
    assert_eq!(result, Err(crate::ResponseError::UnknownServerError));
}

/// Spec 1.3: acquisition stops before a throttled batch when something was already acquired in the
/// fetch; the next fetch gets the throttled share of it.
#[test]
fn acquisition_stops_before_a_throttled_batch() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 9)], params(500));
    h.fetch("a", &[(10, 19)], params(500));
    for _ in 0..2 {
        h.ack_committed("a", 10, 19, AcknowledgeType::Release);
        h.fetch("a", &[(10, 19)], params(500));
    }
    h.ack_committed("a", 10, 19, AcknowledgeType::Release);
    assert_eq!(h.count(10), 3, "at the threshold T = 3");
    h.ack_committed("a", 0, 9, AcknowledgeType::Release);
    assert_eq!(
        h.fetch("b", &[(0, 9), (10, 19)], params(500)),
        vec![(0, 9, 2)]
    );
    assert_eq!(h.fetch("b", &[(10, 19)], params(500)), vec![(10, 14, 4)]);
}

/// Spec 1.5, 3.5: acquiring records that fill an initial-read gap does not move SPEO.
#[test]
fn filling_an_initial_gap_does_not_move_the_end_offset() {
    let persisted = crate::share::PersistedShareState {
        state_epoch: 1,
        start_offset: 0,
        state_batches: vec![
            crate::share::StateBatch {
                first_offset: 0,
                last_offset: 4,
                delivery_state: RecordState::Available,
                delivery_count: 1,
            },
            crate::share::StateBatch {
                first_offset: 10,
                last_offset: 14,
                delivery_state: RecordState::Available,
                delivery_count: 1,
            },
        ],
        ..Default::default()
    };
    let mut h = Harness::from_image(
        SharePartitionConfig::default(),
        Semantics::default(),
        Ok(persisted),
        reset_at(0),
    );
    assert_eq!(h.fetch("a", &[(0, 4)], params(5)), vec![(0, 4, 2)]);
    assert_eq!(h.sp.next_fetch_offset(), 5, "the gap comes next");
    assert_eq!(h.fetch("a", &[(5, 9)], params(5)), vec![(5, 9, 1)]);
    assert_eq!(h.sp.end_offset(), 14);
    assert_eq!(h.sp.next_fetch_offset(), 10);
}
