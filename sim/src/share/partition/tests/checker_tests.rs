//! Every oracle checker can fail: each test corrupts an engine state (or a step's output) the way a bug
//! would, and the checker must name the violation.

use super::harness::*;
use crate::share::partition::checkers::*;
use crate::share::partition::in_flight_batch::{BatchStates, InFlightBatch};
use crate::share::partition::in_flight_state::InFlightState;
use crate::share::partition::*;
use crate::share::{AcknowledgeType, PersistedShareState, RecordState, StateBatch};

fn whole_state_mut(sp: &mut SharePartition, key: i64) -> &mut InFlightState {
    match &mut sp.cache.get_mut(&key).unwrap().states {
        BatchStates::Whole(state) => state,
        BatchStates::PerOffset(_) => panic!("split"),
    }
}

fn acquired_harness() -> Harness {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.fetch("b", &[(5, 9)], params(500));
    h
}

/// EXCLUSIVE: an ACQUIRED record without an owner is reported; handing out a held record is reported.
#[test]
fn exclusive_checker_fails_on_corruption() {
    let mut h = acquired_harness();
    assert_eq!(check_exclusive(&h.sp), Ok(()));
    whole_state_mut(&mut h.sp, 0).member = None;
    assert_eq!(check_exclusive(&h.sp).unwrap_err().invariant, "EXCLUSIVE");
    let h = acquired_harness();
    let stolen = [AcquiredRecords {
        first_offset: 5,
        last_offset: 5,
        delivery_count: 2,
    }];
    assert_eq!(
        check_fetch_exclusive(&h.sp, h.now_ms, &stolen)
            .unwrap_err()
            .invariant,
        "EXCLUSIVE"
    );
    assert_eq!(
        check_fetch_exclusive(&h.sp, h.now_ms + 30_000, &stolen),
        Ok(()),
        "expired lock"
    );
}

/// BATCH-WF: overlapping cached batches and a response with a repeated offset are reported.
#[test]
fn batch_checker_fails_on_corruption() {
    let mut h = acquired_harness();
    assert_eq!(check_batches_well_formed(&h.sp), Ok(()));
    let overlapping = InFlightBatch::whole(3, 6, InFlightState::at_rest(RecordState::Available, 1));
    h.sp.cache.insert(3, overlapping);
    assert_eq!(
        check_batches_well_formed(&h.sp).unwrap_err().invariant,
        "BATCH-WF"
    );
    let twice = [
        AcquiredRecords {
            first_offset: 0,
            last_offset: 3,
            delivery_count: 1,
        },
        AcquiredRecords {
            first_offset: 3,
            last_offset: 4,
            delivery_count: 1,
        },
    ];
    assert_eq!(
        check_response_well_formed(&twice).unwrap_err().invariant,
        "BATCH-WF"
    );
}

/// TERMINAL-FINAL: a terminal record made AVAILABLE again, or handed out again, is reported.
#[test]
fn terminal_checker_fails_on_corruption() {
    let mut h = acquired_harness();
    h.ack_committed("b", 5, 9, AcknowledgeType::Accept);
    let mut tracker = TerminalTracker::default();
    assert_eq!(tracker.observe(&h.sp), Ok(()));
    let again = [AcquiredRecords {
        first_offset: 7,
        last_offset: 7,
        delivery_count: 2,
    }];
    assert_eq!(
        tracker.check_fetch(&again).unwrap_err().invariant,
        "TERMINAL-FINAL"
    );
    let state = whole_state_mut(&mut h.sp, 5);
    state.state = RecordState::Available;
    assert_eq!(
        tracker.observe(&h.sp).unwrap_err().invariant,
        "TERMINAL-FINAL"
    );
    let mut durable = TerminalTracker::default();
    let image = PersistedShareState {
        state_batches: vec![StateBatch {
            first_offset: 7,
            last_offset: 7,
            delivery_state: RecordState::Archived,
            delivery_count: 1,
        }],
        ..Default::default()
    };
    durable.note_durable(&image);
    durable.on_failover();
    assert!(
        durable.check_fetch(&again).is_err(),
        "durable terminal states survive failover"
    );
}

/// DC-LIMIT: a delivery past the limit is reported; a forgiven (failover-lost) attempt is not.
#[test]
fn delivery_count_checker_fails_on_corruption() {
    let mut counter = DeliveryCounter::default();
    let once = [AcquiredRecords {
        first_offset: 0,
        last_offset: 0,
        delivery_count: 1,
    }];
    for _ in 0..3 {
        assert_eq!(counter.record_fetch(&once, 3), Ok(()));
    }
    assert_eq!(
        counter.record_fetch(&once, 3).unwrap_err().invariant,
        "DC-LIMIT"
    );
    let mut counter = DeliveryCounter::default();
    for _ in 0..3 {
        counter.record_fetch(&once, 3).unwrap();
    }
    counter.forgive(0, 1);
    assert_eq!(counter.record_fetch(&once, 3), Ok(()));
    let high = [AcquiredRecords {
        first_offset: 1,
        last_offset: 1,
        delivery_count: 4,
    }];
    assert_eq!(
        counter.record_fetch(&high, 3).unwrap_err().invariant,
        "DC-LIMIT"
    );
}

/// SPSO-SAFE: SPSO moving back, or passing a non-terminal or pending record, is reported.
#[test]
fn start_offset_checker_fails_on_corruption() {
    let h = acquired_harness();
    let mut moved = h.sp.clone();
    moved.start_offset = 3;
    let error = check_start_offset_move(&h.sp, &moved, StartOffsetStep::Other).unwrap_err();
    assert_eq!(error.invariant, "SPSO-SAFE");
    assert_eq!(
        check_start_offset_move(&moved, &h.sp, StartOffsetStep::Other)
            .unwrap_err()
            .invariant,
        "SPSO-SAFE"
    );
    let mut h = acquired_harness();
    h.ack("a", 0, 4, AcknowledgeType::Accept).unwrap();
    let mut passed_pending = h.sp.clone();
    passed_pending.start_offset = 5;
    assert!(check_start_offset_move(&h.sp, &passed_pending, StartOffsetStep::Other).is_err());
    h.complete_writes(Ok(()));
}

/// INFLIGHT-CAP: a window beyond the limit, or SPEO growth from a full window, is reported.
#[test]
fn in_flight_checker_fails_on_corruption() {
    let mut config = SharePartitionConfig::default();
    config.max_record_locks = 10;
    let mut h = Harness::with_config(config, crate::semantics::Semantics::default());
    h.fetch("a", &[(0, 9)], params(500));
    assert_eq!(check_in_flight_cap(&h.sp, &h.sp, 0), Ok(()));
    let mut grown = h.sp.clone();
    grown.end_offset = 12;
    assert_eq!(
        check_in_flight_cap(&h.sp, &grown, 5).unwrap_err().invariant,
        "INFLIGHT-CAP"
    );
    assert_eq!(
        check_in_flight_cap(&grown, &grown, 2)
            .unwrap_err()
            .invariant,
        "INFLIGHT-CAP"
    );
}

/// OWNER: a change to another member's record during `a`'s request is reported.
#[test]
fn owner_checker_fails_on_corruption() {
    let h = acquired_harness();
    let mut after = h.sp.clone();
    assert_eq!(check_owner(&h.sp, &after, &member("a")), Ok(()));
    whole_state_mut(&mut after, 5).state = RecordState::Acknowledged;
    assert_eq!(
        check_owner(&h.sp, &after, &member("a"))
            .unwrap_err()
            .invariant,
        "OWNER"
    );
    assert_eq!(check_owner(&h.sp, &after, &member("b")), Ok(()));
}

/// The engine's own consistency check catches a lock without a timer and a wrong complete count.
#[test]
fn consistency_check_fails_on_corruption() {
    let h = acquired_harness();
    let mut broken = h.sp.clone();
    broken.timers.clear();
    assert!(broken.verify_consistency(h.now_ms).is_err());
    let mut broken = h.sp.clone();
    broken.delivery_complete_count = 3;
    assert!(broken.verify_consistency(h.now_ms).is_err());
}
