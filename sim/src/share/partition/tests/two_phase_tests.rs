//! Two-phase writes, lock expiry and persister errors.

use super::harness::*;
use crate::semantics::Semantics;
use crate::share::partition::*;
use crate::share::{AcknowledgeType, RecordState};
use crate::ResponseError;

/// Spec 1.2 #5, 1.4: lock expiry makes AVAILABLE, keeps the count, writes, and wakes fetches.
#[test]
fn lock_expiry_makes_records_available_again() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.advance(29_999);
    assert_eq!(h.state(0), RecordState::Acquired);
    h.advance(1);
    assert_eq!(
        (h.state(0), h.count(0), h.sp.record(0).unwrap().member),
        (RecordState::Available, 1, None)
    );
    assert_eq!(h.writes.len(), 1);
    assert!(h.other.contains(&PartitionEffect::WakeDelayedFetches));
    assert_eq!(h.sp.poll_timeout(), None);
    assert_eq!(h.sp.next_fetch_offset(), 0);
}

/// Spec 1.2 #5: lock expiry at dc >= L archives; the transition stands even if the write fails, and the
/// SPSO advancement runs anyway.
#[test]
fn lock_expiry_stands_when_its_write_fails() {
    let mut config = SharePartitionConfig::default();
    config.delivery_count_limit = 2;
    let mut h = Harness::with_config(config, Semantics::default());
    h.fetch("a", &[(0, 4)], params(500));
    h.advance(30_000);
    h.complete_writes(Err(ResponseError::CoordinatorNotAvailable));
    assert_eq!(h.state(0), RecordState::Available);
    h.fetch("a", &[(0, 4)], params(500));
    h.advance(30_000);
    h.complete_writes(Err(ResponseError::UnknownServerError));
    assert_eq!(
        h.sp.start_offset(),
        5,
        "archived at the limit and passed despite the failed write"
    );
}

/// Spec 1.4: a split of an ACQUIRED batch gives every offset its own timer with the remaining time.
#[test]
fn split_keeps_the_remaining_lock_time_per_offset() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    let deadline = h.sp.poll_timeout().unwrap();
    h.now_ms += 10_000;
    h.ack_committed("a", 1, 1, AcknowledgeType::Accept);
    assert_eq!(h.sp.armed_lock_count(), 4);
    assert_eq!(h.sp.poll_timeout(), Some(deadline));
    h.advance(deadline - h.now_ms);
    assert_eq!(h.state(0), RecordState::Available);
    assert_eq!(h.state(4), RecordState::Available);
    assert_eq!(h.writes.len(), 4, "one timer, one write, per offset");
}

/// Spec 1.4 last bullet: the lock expires during an in-progress ack write; the handler skips the record;
/// when the write then fails the record goes to AVAILABLE (not back to ACQUIRED) with no owner.
#[test]
fn expiry_during_ack_write_then_write_failure() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    let ticket = h.ack("a", 0, 4, AcknowledgeType::Accept).unwrap();
    h.advance(30_000);
    assert_eq!(h.writes.len(), 1, "the expiry skipped the pending record");
    assert_eq!(h.state(0), RecordState::Acknowledged);
    h.complete_writes(Err(ResponseError::NotCoordinator));
    let record = h.sp.record(0).unwrap();
    assert_eq!(
        (record.state, record.member, record.pending),
        (RecordState::Available, None, false)
    );
    assert_eq!(
        h.completions,
        vec![(ticket, Err(ResponseError::CoordinatorNotAvailable))]
    );
    assert_eq!(h.sp.next_fetch_offset(), 0);
}

/// Delivery-count limit 2: offset 0 delivered twice, its second RELEASE in flight; then the log start
/// moves to `log_start_offset`, the lock expires and the RELEASE's write fails.
fn expiry_during_a_release_write_at_the_limit(dlq_enabled: bool, log_start_offset: i64) -> Harness {
    let config = SharePartitionConfig {
        delivery_count_limit: 2,
        dlq_enabled,
        ..Default::default()
    };
    let mut h = Harness::with_config(config, Semantics::default());
    h.fetch("a", &[(0, 0)], params(500));
    h.fetch("a", &[(1, 1)], params(500));
    h.ack_committed("a", 0, 0, AcknowledgeType::Release);
    h.fetch_log("a", &log(0, &[(0, 0)]), params(500));
    h.ack("a", 0, 0, AcknowledgeType::Release).unwrap();
    h.sp.handle_log_start_offset(h.now_ms, log_start_offset);
    h.advance(30_000);
    h.complete_writes(Err(ResponseError::UnknownServerError));
    h
}

/// Spec 1.4: the same rollback with the previous count at the limit archives.
#[test]
fn expiry_during_ack_write_at_the_limit_archives_on_failure() {
    let h = expiry_during_a_release_write_at_the_limit(false, 0);
    assert!(h.events.iter().any(|e| matches!(
        e,
        PartitionEvent::Transition {
            first_offset: 0,
            to: RecordState::Archived,
            limit_reached: true,
            ..
        }
    )));
    assert_eq!(
        h.sp.start_offset(),
        1,
        "archived, then passed by the advancement"
    );
}

/// Spec 1.2 #5, 1.4 with the DLQ: the same rollback at the limit goes to ARCHIVING (the DLQ's phase 1),
/// but an offset that fell below SPSO meanwhile goes to ARCHIVED, as the expiry itself would take it
/// there (only the limit check turns ARCHIVED into ARCHIVING; the model's `available_or_archived`).
#[test]
fn expiry_during_ack_write_with_the_dlq_archives_below_spso_and_dead_letters_at_the_limit() {
    for (log_start_offset, expected) in [(0, RecordState::Archiving), (1, RecordState::Archived)] {
        let h = expiry_during_a_release_write_at_the_limit(true, log_start_offset);
        assert_eq!(h.state(0), expected, "log start offset {log_start_offset}");
    }
}

/// Spec 3.2: a failed ack write with the lock still live rolls back to ACQUIRED by the same member.
#[test]
fn failed_ack_write_rolls_back_to_acquired() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.ack("a", 0, 4, AcknowledgeType::Release).unwrap();
    h.complete_writes(Err(ResponseError::CoordinatorLoadInProgress));
    let record = h.sp.record(0).unwrap();
    assert_eq!(
        (record.state, record.member),
        (RecordState::Acquired, Some(member("a")))
    );
    assert_eq!(h.sp.partition_state(), PartitionState::Active);
    assert!(h.events.iter().any(|e| matches!(
        e,
        PartitionEvent::WriteFailed {
            rolled_back: true,
            ..
        }
    )));
    h.ack_committed("a", 0, 4, AcknowledgeType::Accept);
    assert_eq!(h.sp.start_offset(), 5);
}

/// Spec 2.2: `SP.fetchPersisterError`.
#[test]
fn persister_error_mapping() {
    use ResponseError::*;
    let cases = [
        (NotCoordinator, CoordinatorNotAvailable),
        (CoordinatorNotAvailable, CoordinatorNotAvailable),
        (CoordinatorLoadInProgress, CoordinatorNotAvailable),
        (GroupIdNotFound, GroupIdNotFound),
        (UnknownTopicOrPartition, UnknownTopicOrPartition),
        (FencedLeaderEpoch, NotLeaderOrFollower),
        (FencedStateEpoch, NotLeaderOrFollower),
        (InvalidRequest, UnknownServerError),
        (RequestTimedOut, UnknownServerError),
    ];
    for (error, mapped) in cases {
        assert_eq!(map_persister_error(error), mapped, "{error:?}");
    }
}

/// Spec 2.2: a fenced ack write drops the partition (FENCED) after the rollback.
#[test]
fn fenced_write_drops_the_partition() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    let ticket = h.ack("a", 0, 4, AcknowledgeType::Accept).unwrap();
    h.complete_writes(Err(ResponseError::FencedStateEpoch));
    assert_eq!(
        h.completions,
        vec![(ticket, Err(ResponseError::NotLeaderOrFollower))]
    );
    assert_eq!(h.sp.partition_state(), PartitionState::Fenced);
    assert!(h.other.contains(&PartitionEffect::DropPartition {
        error: ResponseError::NotLeaderOrFollower
    }));
}

/// Spec 3.2: the write carries the SPSO before this operation's advancement; the advance is persisted by
/// the next write; DeliveryCompleteCount is sent from 4.2 only.
#[test]
fn writes_carry_the_start_offset_before_advancement() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.fetch("a", &[(5, 9)], params(500));
    h.ack_committed("a", 0, 4, AcknowledgeType::Accept);
    h.ack("a", 5, 9, AcknowledgeType::Accept).unwrap();
    assert_eq!(h.writes[0].1.start_offset, 5);
    assert_eq!(h.writes[0].1.delivery_complete_count, 5);
    let mut h = Harness::for_release(crate::semantics::Release::Kafka4_1);
    h.fetch("a", &[(0, 4)], params(500));
    h.ack("a", 0, 4, AcknowledgeType::Accept).unwrap();
    assert_eq!(h.writes[0].1.delivery_complete_count, -1);
}

/// Unknown or repeated write ids are ignored.
#[test]
fn unknown_write_results_are_ignored() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    let before = h.sp.clone();
    h.sp.handle_write_result(h.now_ms, WriteId(99), Ok(()));
    assert_eq!(h.sp, before);
}
