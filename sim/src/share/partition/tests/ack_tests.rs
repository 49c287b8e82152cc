//! Acknowledgements: types, validation and error codes, atomicity, RENEW.

use super::harness::*;
use crate::semantics::{Release, Semantics};
use crate::share::partition::*;
use crate::share::{AcknowledgeType, RecordState};
use crate::ResponseError;

/// Spec 2.1, 3.2: ACCEPT makes ACKNOWLEDGED in memory at once (pending), durable on commit, and the write
/// carries the changed range with the SPSO before advancement.
#[test]
fn accept_is_two_phase() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 9)], params(500));
    let ticket = h.ack("a", 0, 4, AcknowledgeType::Accept).unwrap();
    let record = h.sp.record(2).unwrap();
    assert_eq!(
        (record.state, record.pending, record.member),
        (RecordState::Acknowledged, true, None)
    );
    assert!(h.completions.is_empty(), "the response waits for the write");
    let (_, request) = h.writes[0].clone();
    assert_eq!(request.start_offset, 0);
    assert_eq!(request.state_epoch, 1);
    assert_eq!(request.leader_epoch, 1);
    assert_eq!(request.delivery_complete_count, 5);
    assert_eq!(request.state_batches.len(), 1);
    assert_eq!(
        (
            request.state_batches[0].first_offset,
            request.state_batches[0].last_offset
        ),
        (0, 4)
    );
    h.complete_writes(Ok(()));
    assert_eq!(h.completions, vec![(ticket, Ok(()))]);
    assert_eq!(h.sp.start_offset(), 5);
    assert!(!h.sp.record(5).unwrap().pending);
    assert!(h.other.contains(&PartitionEffect::WakeDelayedFetches));
}

/// Spec 2.1: RELEASE makes AVAILABLE, REJECT and GAP make ARCHIVED; the count is unchanged.
#[test]
fn release_reject_gap_targets() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 2)], params(500));
    let batches = [AcknowledgementBatch::per_offset(
        0,
        &[
            AcknowledgeType::Release,
            AcknowledgeType::Reject,
            AcknowledgeType::Gap,
        ],
    )];
    h.ack_batches("a", &batches).unwrap();
    h.complete_writes(Ok(()));
    assert_eq!((h.state(0), h.count(0)), (RecordState::Available, 1));
    assert_eq!(h.state(1), RecordState::Archived);
    assert_eq!(h.state(2), RecordState::Archived);
}

/// Spec 2.2: acks entirely below SPSO are skipped with success.
#[test]
fn acks_below_start_offset_are_skipped() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.ack_committed("a", 0, 4, AcknowledgeType::Accept);
    let ticket = h.ack("a", 0, 4, AcknowledgeType::Accept).unwrap();
    assert!(h.writes.is_empty());
    assert_eq!(h.completions.last(), Some(&(ticket, Ok(()))));
}

/// Spec 2.2: offsets never acquired are INVALID_REQUEST past the cache, INVALID_RECORD_STATE inside it.
#[test]
fn acks_for_unknown_offsets() {
    let mut h = Harness::new();
    h.fetch_log("a", &log(5, &[(5, 9)]), params(500));
    assert_eq!(
        h.ack("a", 10, 12, AcknowledgeType::Accept),
        Err(ResponseError::InvalidRequest)
    );
    assert_eq!(
        h.ack("a", 8, 12, AcknowledgeType::Accept),
        Err(ResponseError::InvalidRequest)
    );
    let mut h = Harness::new();
    h.fetch_log("a", &log(5, &[(5, 9)]), params(500));
    assert_eq!(h.sp.start_offset(), 5);
    h.fetch_log("a", &log(10, &[(10, 12)]), params(500));
    h.ack_committed("a", 10, 12, AcknowledgeType::Release);
    h.ack_committed("a", 5, 9, AcknowledgeType::Release);
    assert_eq!(
        h.ack("a", 10, 12, AcknowledgeType::Accept),
        Err(ResponseError::InvalidRecordState)
    );
}

/// Spec 2.2: a batch before any cached batch (and SPSO not inside it) is INVALID_RECORD_STATE.
#[test]
fn ack_before_the_cache_is_invalid_record_state() {
    let mut h = Harness::from_image(
        SharePartitionConfig::default(),
        Semantics::default(),
        Ok(crate::share::PersistedShareState {
            state_epoch: 1,
            start_offset: 0,
            ..Default::default()
        }),
        reset_at(0),
    );
    h.fetch_log("a", &log(0, &[(5, 9)]), params(500));
    assert_eq!(
        h.sp.start_offset(),
        5,
        "the first acquisition into an empty cache sets SPSO"
    );
    assert_eq!(
        h.ack("a", 5, 9, AcknowledgeType::Accept).map(|_| ()),
        Ok(())
    );
}

/// Spec 2.2: another member's records are INVALID_RECORD_STATE and nothing changes (OWNER).
#[test]
fn wrong_member_is_invalid_record_state() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    let before = h.sp.clone();
    assert_eq!(
        h.ack("b", 0, 4, AcknowledgeType::Accept),
        Err(ResponseError::InvalidRecordState)
    );
    assert_eq!(
        h.ack("b", 2, 3, AcknowledgeType::Accept),
        Err(ResponseError::InvalidRecordState)
    );
    assert_eq!(h.sp.record(2), before.record(2));
}

/// Spec 2.2: a duplicate ack while the first one's write is pending is INVALID_RECORD_STATE.
#[test]
fn duplicate_ack_while_write_pending() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.ack("a", 0, 4, AcknowledgeType::Accept).unwrap();
    assert_eq!(
        h.ack("a", 0, 4, AcknowledgeType::Accept),
        Err(ResponseError::InvalidRecordState)
    );
    assert_eq!(
        h.ack("a", 1, 1, AcknowledgeType::Release),
        Err(ResponseError::InvalidRecordState)
    );
}

/// Spec 2.2: the request is atomic for the partition: a later error undoes the earlier batches'
/// in-memory changes (and the split they caused), and no write is sent.
#[test]
fn first_error_rolls_back_the_whole_request() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.fetch("b", &[(5, 9)], params(500));
    let before = h.sp.clone();
    let batches = [
        AcknowledgementBatch::of(0, 1, AcknowledgeType::Accept),
        AcknowledgementBatch::of(2, 2, AcknowledgeType::Renew),
        AcknowledgementBatch::of(5, 9, AcknowledgeType::Accept),
    ];
    h.now_ms += 10;
    assert_eq!(
        h.ack_batches("a", &batches),
        Err(ResponseError::InvalidRecordState)
    );
    assert!(h.writes.is_empty());
    assert_eq!(h.sp.record(0), before.record(0));
    assert_eq!(h.sp.record(2), before.record(2), "the renew is undone too");
    assert_eq!(h.sp.poll_timeout(), before.poll_timeout());
    assert_eq!(
        h.sp.cached_batches()
            .map(|b| b.is_split())
            .collect::<Vec<_>>(),
        vec![false, false]
    );
}

/// Spec 2.2: a batch starting exactly at the previous batch's last offset passes request validation
/// (the comparison is strict); the share partition then finds that offset no longer ACQUIRED.
#[test]
fn ack_batch_starting_at_previous_last_offset_passes_validation() {
    let batches = [
        AcknowledgementBatch::of(0, 4, AcknowledgeType::Accept),
        AcknowledgementBatch::of(4, 6, AcknowledgeType::Accept),
    ];
    assert_eq!(validate_acknowledgement_batches(&batches, 2, false), Ok(()));
    let mut h = Harness::new();
    h.fetch("a", &[(0, 9)], params(500));
    assert_eq!(
        h.ack_batches("a", &batches),
        Err(ResponseError::InvalidRecordState)
    );
    assert_eq!(h.state(4), RecordState::Acquired, "rolled back");
}

/// Spec 2.2: the request-level checks of KafkaApis, each INVALID_REQUEST.
#[test]
fn request_level_validation() {
    let bad = |batch: AcknowledgementBatch| validate_acknowledgement_batches(&[batch], 2, false);
    let inverted = AcknowledgementBatch {
        first_offset: 5,
        last_offset: 4,
        acknowledge_types: vec![1],
    };
    assert_eq!(bad(inverted), Err(ResponseError::InvalidRequest));
    let empty = AcknowledgementBatch {
        first_offset: 0,
        last_offset: 4,
        acknowledge_types: vec![],
    };
    assert_eq!(bad(empty), Err(ResponseError::InvalidRequest));
    let wrong_length = AcknowledgementBatch {
        first_offset: 0,
        last_offset: 4,
        acknowledge_types: vec![1, 1],
    };
    assert_eq!(bad(wrong_length), Err(ResponseError::InvalidRequest));
    let unknown = AcknowledgementBatch {
        first_offset: 0,
        last_offset: 0,
        acknowledge_types: vec![5],
    };
    assert_eq!(bad(unknown), Err(ResponseError::InvalidRequest));
    let negative = AcknowledgementBatch {
        first_offset: 0,
        last_offset: 0,
        acknowledge_types: vec![-1],
    };
    assert_eq!(bad(negative), Err(ResponseError::InvalidRequest));
    let renew = AcknowledgementBatch::of(0, 0, AcknowledgeType::Renew);
    assert_eq!(
        bad(renew.clone()),
        Err(ResponseError::InvalidRequest),
        "IsRenewAck false"
    );
    assert_eq!(
        validate_acknowledgement_batches(std::slice::from_ref(&renew), 2, true),
        Ok(())
    );
    assert_eq!(
        validate_acknowledgement_batches(&[renew], 1, true),
        Err(ResponseError::InvalidRequest)
    );
    let unordered = [
        AcknowledgementBatch::of(5, 9, AcknowledgeType::Accept),
        AcknowledgementBatch::of(0, 4, AcknowledgeType::Accept),
    ];
    assert_eq!(
        validate_acknowledgement_batches(&unordered, 2, false),
        Err(ResponseError::InvalidRequest)
    );
    assert_eq!(validate_acknowledgement_batches(&[], 2, false), Ok(()));
}

/// Spec 1.2 #7: RENEW resets the lock to a full duration, persists nothing, and completes at once.
#[test]
fn renew_extends_the_lock_without_a_write() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.now_ms += 20_000;
    let ticket = h.ack("a", 0, 4, AcknowledgeType::Renew).unwrap();
    assert!(h.writes.is_empty());
    assert_eq!(h.completions.last(), Some(&(ticket, Ok(()))));
    assert_eq!(h.sp.poll_timeout(), Some(h.now_ms + 30_000));
    h.advance(15_000);
    assert_eq!(
        h.state(0),
        RecordState::Acquired,
        "the old deadline passed, the renewed one did not"
    );
    assert!(h
        .events
        .iter()
        .any(|e| matches!(e, PartitionEvent::LockRenewed { .. })));
}

/// Spec 1.2 #7: RENEW with `share.renew.acknowledge.enable=false` is INVALID_RECORD_STATE; before 4.2 the
/// type does not exist (INVALID_REQUEST).
#[test]
fn renew_disabled_or_unsupported() {
    let mut config = SharePartitionConfig::default();
    config.renew_acknowledge_enable = false;
    let mut h = Harness::with_config(config, Semantics::default());
    h.fetch("a", &[(0, 4)], params(500));
    assert_eq!(
        h.ack("a", 0, 4, AcknowledgeType::Renew),
        Err(ResponseError::InvalidRecordState)
    );
    let mut h = Harness::for_release(Release::Kafka4_1);
    h.fetch("a", &[(0, 4)], params(500));
    assert_eq!(
        h.ack("a", 0, 4, AcknowledgeType::Renew),
        Err(ResponseError::InvalidRequest)
    );
}

/// Spec 1.3: RELEASE at dc >= L archives (ARCHIVING with the DLQ).
#[test]
fn release_at_the_limit_archives() {
    let mut config = SharePartitionConfig::default();
    config.delivery_count_limit = 2;
    let mut h = Harness::with_config(config, Semantics::default());
    h.fetch("a", &[(0, 0)], params(500));
    h.fetch("a", &[(1, 1)], params(500));
    h.ack_committed("a", 0, 0, AcknowledgeType::Release);
    h.fetch_log("a", &log(0, &[(0, 0)]), params(500));
    assert_eq!(h.count(0), 2);
    h.ack_committed("a", 0, 0, AcknowledgeType::Release);
    assert_eq!(h.sp.start_offset(), 1, "archived, so SPSO passes it");
    assert!(h.events.iter().any(|e| matches!(
        e,
        PartitionEvent::Transition {
            first_offset: 0,
            to: RecordState::Archived,
            limit_reached: true,
            ..
        }
    )));
}

/// Spec 1.7: per-offset ack types split the batch; a subset ack splits it too.
#[test]
fn per_offset_and_subset_acks_split() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 9)], params(500));
    h.ack_committed("a", 3, 4, AcknowledgeType::Accept);
    assert!(h.sp.cached_batches().next().unwrap().is_split());
    assert_eq!(h.state(2), RecordState::Acquired);
    assert_eq!(h.state(3), RecordState::Acknowledged);
    assert_eq!(h.sp.start_offset(), 0, "SPSO stops at the ACQUIRED head");
    h.ack_committed("a", 0, 2, AcknowledgeType::Accept);
    assert_eq!(
        h.sp.start_offset(),
        5,
        "SPSO moves inside the partly terminal batch"
    );
    assert_eq!(
        h.sp.cached_batches().count(),
        1,
        "eviction is batch-granular"
    );
}

/// Spec 2.2: an ack on a FAILED partition (removed from the cache) is UNKNOWN_TOPIC_OR_PARTITION.
#[test]
fn ack_on_failed_partition() {
    let mut h = Harness::from_image(
        SharePartitionConfig::default(),
        Semantics::default(),
        Err(ResponseError::CoordinatorNotAvailable),
        reset_at(0),
    );
    assert_eq!(h.sp.partition_state(), PartitionState::Failed);
    assert_eq!(
        h.ack("a", 0, 0, AcknowledgeType::Accept),
        Err(ResponseError::UnknownTopicOrPartition)
    );
}

/// Spec 1.6 (KIP-1226): the delivery-complete count is the number of terminal offsets at or after SPSO:
/// it grows as offsets become terminal behind a non-terminal SPSO, shrinks when SPSO moves past terminal
/// offsets, and every write carries the count as it stood before the write's own SPSO advance.
#[test]
fn delivery_complete_count_follows_terminal_offsets_at_or_after_start() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 9)], params(500));
    assert_eq!(h.sp.delivery_complete_count(), 0);
    h.ack_committed("a", 2, 4, AcknowledgeType::Accept);
    h.ack_committed("a", 6, 6, AcknowledgeType::Reject);
    assert_eq!(h.sp.start_offset(), 0, "offset 0 is still ACQUIRED");
    assert_eq!(h.sp.delivery_complete_count(), 4);
    h.ack("a", 0, 1, AcknowledgeType::Accept).unwrap();
    assert_eq!(h.writes.last().unwrap().1.delivery_complete_count, 6);
    h.complete_writes(Ok(()));
    // SPSO jumps over the terminal prefix 0..=4 and stops at the ACQUIRED offset 5.
    assert_eq!(h.sp.start_offset(), 5);
    assert_eq!(h.sp.delivery_complete_count(), 1, "only offset 6 remains");
    // A release makes nothing terminal; the next write carries the count and the new SPSO.
    h.ack("a", 5, 5, AcknowledgeType::Release).unwrap();
    let (_, request) = h.writes.last().unwrap().clone();
    assert_eq!(
        (request.start_offset, request.delivery_complete_count),
        (5, 1)
    );
    h.complete_writes(Ok(()));
    h.ack_committed("a", 7, 9, AcknowledgeType::Accept);
    assert_eq!(h.sp.delivery_complete_count(), 4, "offsets 6..=9");
}
