//! Initialization, session release, log-start movement, compaction, read_committed, the DLQ.

use super::harness::*;
use crate::semantics::{Release, Semantics};
use crate::share::partition::*;
use crate::share::{AcknowledgeType, PersistedShareState, RecordState, StateBatch};
use crate::ResponseError;

fn batch(first: i64, last: i64, state: RecordState, count: u16) -> StateBatch {
    StateBatch {
        first_offset: first,
        last_offset: last,
        delivery_state: state,
        delivery_count: count,
    }
}

fn image(start: i64, batches: Vec<StateBatch>) -> PersistedShareState {
    PersistedShareState {
        state_epoch: 3,
        leader_epoch: 0,
        start_offset: start,
        delivery_complete_count: -1,
        state_batches: batches,
    }
}

fn load(start: i64, batches: Vec<StateBatch>) -> Harness {
    Harness::from_image(
        SharePartitionConfig::default(),
        Semantics::default(),
        Ok(image(start, batches)),
        reset_at(0),
    )
}

/// Spec 3.5: EMPTY → INITIALIZING (a read is requested) → ACTIVE with the persisted SPSO, state epoch,
/// batches and counts; SPEO is the last batch's last offset.
#[test]
fn initialization_loads_the_persisted_image() {
    let mut sp = SharePartition::new(SharePartitionConfig::default(), Semantics::default(), 7);
    assert_eq!(sp.partition_state(), PartitionState::Empty);
    sp.begin_initialize(0);
    assert_eq!(sp.partition_state(), PartitionState::Initializing);
    let effects: Vec<_> = std::iter::from_fn(|| sp.poll_effect()).collect();
    assert!(effects.contains(&PartitionEffect::ReadState { leader_epoch: 7 }));
    let persisted = image(
        10,
        vec![
            batch(10, 14, RecordState::Available, 2),
            batch(15, 19, RecordState::Acknowledged, 1),
        ],
    );
    sp.handle_read_state_result(0, Ok(persisted), reset_at(0));
    assert_eq!(sp.partition_state(), PartitionState::Active);
    assert_eq!(
        (sp.start_offset(), sp.end_offset(), sp.state_epoch()),
        (10, 19, 3)
    );
    assert_eq!(sp.delivery_complete_count(), 5);
    let record = sp.record(12).unwrap();
    assert_eq!(
        (record.state, record.delivery_count, record.member),
        (RecordState::Available, 2, None)
    );
    assert_eq!(
        sp.next_fetch_offset(),
        10,
        "findNextFetchOffset with a non-empty cache"
    );
}

/// Spec 3.5: a terminal prefix is passed at once.
#[test]
fn initialization_advances_over_a_terminal_prefix() {
    let h = load(
        0,
        vec![
            batch(0, 4, RecordState::Archived, 1),
            batch(5, 9, RecordState::Available, 1),
        ],
    );
    assert_eq!(h.sp.start_offset(), 5);
    assert_eq!(h.sp.cached_batches().count(), 1);
}

/// Spec 3.5, 1.6 (testMaybeUpdateCachedStateGapAfterLastOffsetAcknowledged): holes are fetched as new
/// records with dc = 1 while the gap window lasts, and SPSO stops at a gap.
#[test]
fn initial_read_gap_window() {
    let mut h = load(
        0,
        vec![
            batch(0, 4, RecordState::Available, 2),
            batch(10, 14, RecordState::Acknowledged, 1),
        ],
    );
    assert_eq!(
        h.sp.gap_window(),
        Some(GapWindow {
            end_offset: 14,
            gap_start_offset: 5
        })
    );
    let got = h.fetch("a", &[(0, 4)], params(500));
    assert_eq!(got, vec![(0, 4, 3)]);
    h.ack_committed("a", 0, 4, AcknowledgeType::Accept);
    assert_eq!(h.sp.start_offset(), 5, "SPSO stops at the gap");
    assert_eq!(h.sp.next_fetch_offset(), 5);
    let got = h.fetch("a", &[(5, 9), (10, 14), (15, 19)], params(500));
    assert_eq!(
        got,
        vec![(5, 9, 1), (15, 19, 1)],
        "the hole is new, the ACKNOWLEDGED batch skipped"
    );
    assert_eq!(h.sp.gap_window(), None, "acquisition passed the window");
    assert_eq!(h.sp.end_offset(), 19);
}

/// Spec 3.5: validation failures make the partition FAILED with UNKNOWN_SERVER_ERROR; read errors are
/// mapped like write errors.
#[test]
fn initialization_failures() {
    for bad in [
        vec![batch(0, 4, RecordState::Available, 1)],
        vec![batch(12, 11, RecordState::Available, 1)],
        vec![
            batch(10, 14, RecordState::Available, 1),
            batch(12, 16, RecordState::Available, 1),
        ],
        vec![batch(10, 14, RecordState::Acquired, 1)],
    ] {
        let h = load(10, bad);
        assert_eq!(h.sp.partition_state(), PartitionState::Failed);
        assert_eq!(
            h.sp.clone()
                .handle_fetch(0, &member("a"), &log(10, &[(10, 11)]), params(1)),
            Err(ResponseError::UnknownServerError)
        );
    }
    let h = Harness::from_image(
        SharePartitionConfig::default(),
        Semantics::default(),
        Err(ResponseError::FencedLeaderEpoch),
        reset_at(0),
    );
    assert_eq!(h.sp.partition_state(), PartitionState::Failed);
    assert!(h.events.iter().any(|e| matches!(
        e,
        PartitionEvent::PartitionStateChanged {
            to: PartitionState::Failed,
            error_code: 6,
            ..
        }
    )));
}

/// Spec 5.2: a persisted start offset of -1 applies share.auto.offset.reset.
#[test]
fn auto_offset_reset_strategies() {
    let offsets = ResetOffsets {
        log_start_offset: 3,
        high_watermark: 40,
        offset_by_duration: Some(17),
    };
    for (strategy, expected) in [
        (AutoOffsetReset::Latest, Some(40)),
        (AutoOffsetReset::Earliest, Some(3)),
        (
            AutoOffsetReset::ByDuration {
                duration_ms: 60_000,
            },
            Some(17),
        ),
    ] {
        let config = SharePartitionConfig {
            auto_offset_reset: strategy,
            ..Default::default()
        };
        let h = Harness::from_image(config, Semantics::default(), Ok(image(-1, vec![])), offsets);
        assert_eq!(Some(h.sp.start_offset()), expected, "{strategy:?}");
        assert_eq!(h.sp.end_offset(), h.sp.start_offset());
        assert_eq!(h.sp.next_fetch_offset(), h.sp.start_offset());
    }
    let config = SharePartitionConfig {
        auto_offset_reset: AutoOffsetReset::ByDuration { duration_ms: 1 },
        ..Default::default()
    };
    let failed = ResetOffsets {
        offset_by_duration: None,
        ..offsets
    };
    let h = Harness::from_image(config, Semantics::default(), Ok(image(-1, vec![])), failed);
    assert_eq!(h.sp.partition_state(), PartitionState::Failed);
}

/// Spec 5.2 with `latest`: a fetch from SPEO inside a log batch starts at SPEO, not at the batch base.
#[test]
fn latest_reset_starts_inside_a_log_batch() {
    let offsets = ResetOffsets {
        log_start_offset: 0,
        high_watermark: 5,
        offset_by_duration: None,
    };
    let mut h = Harness::from_image(
        SharePartitionConfig::default(),
        Semantics::default(),
        Ok(image(-1, vec![])),
        offsets,
    );
    assert_eq!(h.fetch("a", &[(0, 9)], params(500)), vec![(5, 9, 1)]);
}

/// Spec 1.2 #6: a session release returns the member's records (two-phase) and leaves others' alone.
#[test]
fn session_release_returns_the_members_records() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.fetch("b", &[(5, 9)], params(500));
    h.sp.handle_release_session(h.now_ms, &member("a"));
    h.pump();
    assert_eq!(h.state(0), RecordState::Available);
    assert!(h.sp.record(0).unwrap().pending);
    assert_eq!(h.state(5), RecordState::Acquired);
    h.complete_writes(Ok(()));
    assert_eq!((h.state(0), h.count(0)), (RecordState::Available, 1));
    assert_eq!(h.sp.next_fetch_offset(), 0);
}

/// Spec 1.2 #6: the release rule differs by profile: 4.0 and 4.2 keep the count and archive at the limit,
/// 4.1 decrements and never archives.
#[test]
fn session_release_by_profile() {
    for (release, expected) in [
        (Release::Kafka4_0, (RecordState::Archived, 2)),
        (Release::Kafka4_1, (RecordState::Available, 1)),
        (Release::Kafka4_2, (RecordState::Archived, 2)),
    ] {
        let semantics = Semantics::for_release(release);
        let config = SharePartitionConfig {
            delivery_count_limit: 2,
            ..SharePartitionConfig::for_semantics(&semantics)
        };
        let mut h = Harness::with_config(config, semantics);
        h.fetch("a", &[(0, 0)], params(500));
        h.fetch("a", &[(1, 1)], params(500));
        h.ack_committed("a", 0, 0, AcknowledgeType::Release);
        h.fetch_log("a", &log(0, &[(0, 0)]), params(500));
        assert_eq!(h.count(0), 2);
        h.sp.handle_release_session(h.now_ms, &member("a"));
        h.pump();
        assert_eq!((h.state(0), h.count(0)), expected, "{release}");
    }
}

/// Spec 1.2 #6: a failed release write rolls back to ACQUIRED.
#[test]
fn failed_session_release_rolls_back() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.sp.handle_release_session(h.now_ms, &member("a"));
    h.pump();
    h.complete_writes(Err(ResponseError::CoordinatorNotAvailable));
    assert_eq!(h.sp.record(0).unwrap().member, Some(member("a")));
}

/// Spec 1.6, 6 (testLsoMovementByRecordsDeletion): a log-start move archives AVAILABLE records below it,
/// leaves ACQUIRED ones alone (archived at their expiry), and persists nothing.
#[test]
fn log_start_move_leaves_acquired_records_alone() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.fetch("a", &[(5, 9)], params(500));
    h.ack_committed("a", 5, 9, AcknowledgeType::Release);
    h.sp.handle_log_start_offset(h.now_ms, 7);
    h.pump();
    assert!(h.writes.is_empty());
    assert_eq!(h.sp.start_offset(), 7);
    assert_eq!(h.state(2), RecordState::Acquired);
    assert_eq!(h.state(6), RecordState::Archived);
    assert_eq!(h.state(7), RecordState::Available);
    assert_eq!(
        h.ack("a", 0, 4, AcknowledgeType::Accept).map(|_| ()),
        Ok(()),
        "acks below SPSO skipped"
    );
    assert!(h.writes.is_empty());
    h.advance(30_000);
    assert_eq!(
        h.state(2),
        RecordState::Archived,
        "below SPSO: archived at expiry"
    );
    assert_eq!(h.fetch("b", &[(7, 9)], params(500)), vec![(7, 9, 2)]);
}

/// Spec 1.5, 1.6: a log-start move past SPEO sets SPSO = SPEO = LSO; the next fetch starts there.
#[test]
fn log_start_move_past_the_end() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.ack_committed("a", 0, 4, AcknowledgeType::Release);
    h.sp.handle_log_start_offset(h.now_ms, 20);
    h.pump();
    assert_eq!((h.sp.start_offset(), h.sp.end_offset()), (20, 20));
    assert_eq!(h.sp.next_fetch_offset(), 20);
    assert_eq!(h.fetch("a", &[(20, 24)], params(500)), vec![(20, 24, 1)]);
    h.sp.handle_log_start_offset(h.now_ms, 3);
    assert_eq!(h.sp.start_offset(), 20, "ignored unless past SPSO");
}

/// Spec 1.2 #8b: a read whose first batch starts past the fetch offset archives the vanished AVAILABLE
/// cached batches (compaction).
#[test]
fn compaction_archives_vanished_available_batches() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.fetch("a", &[(5, 9)], params(500));
    h.ack_committed("a", 0, 9, AcknowledgeType::Release);
    assert_eq!(h.sp.next_fetch_offset(), 0);
    let got = h.fetch("b", &[(5, 9)], params(500));
    assert_eq!(got, vec![(5, 9, 2)]);
    assert_eq!(h.state(0), RecordState::Archived);
    assert!(h.events.iter().any(|e| matches!(
        e,
        PartitionEvent::Transition {
            cause: TransitionCause::Compaction,
            ..
        }
    )));
}

/// Spec 1.2 #9, 6: under read_committed, batches of an aborted transaction are archived at acquisition
/// and left out of AcquiredRecords; the abort marker itself is handed out (the client acks it as GAP).
#[test]
fn read_committed_archives_aborted_batches() {
    let config = SharePartitionConfig {
        isolation_level: IsolationLevel::ReadCommitted,
        ..Default::default()
    };
    let mut h = Harness::with_config(config, Semantics::default());
    let transactional = |base, last| LogBatch {
        base_offset: base,
        last_offset: last,
        producer_id: 7,
        is_transactional: true,
        control: None,
    };
    let fetched = FetchedLog {
        fetch_offset: 0,
        batches: vec![
            LogBatch::data(0, 2),
            transactional(3, 5),
            LogBatch {
                control: Some(ControlMarker::Abort),
                ..transactional(6, 6)
            },
            LogBatch::data(7, 9),
        ],
        aborted_transactions: vec![AbortedTransaction {
            producer_id: 7,
            first_offset: 3,
        }],
    };
    let got = h.fetch_log("a", &fetched, params(500));
    assert_eq!(got, vec![(0, 2, 1), (6, 9, 1)]);
    assert_eq!(h.state(4), RecordState::Archived);
    assert_eq!(h.state(6), RecordState::Acquired);
    let config = SharePartitionConfig::default();
    let mut h = Harness::with_config(config, Semantics::default());
    assert_eq!(
        h.fetch_log("a", &fetched, params(500)),
        vec![(0, 9, 1)],
        "read_uncommitted delivers them"
    );
}

/// Spec 1.2 #4, #10: with the DLQ, REJECT goes through ARCHIVING; phase 2 archives and persists.
#[test]
fn dead_letter_queue_two_phases() {
    let config = SharePartitionConfig {
        dlq_enabled: true,
        ..Default::default()
    };
    let mut h = Harness::with_config(config, Semantics::default());
    h.fetch("a", &[(0, 4)], params(500));
    h.ack_committed("a", 0, 4, AcknowledgeType::Reject);
    assert_eq!(h.state(0), RecordState::Archiving);
    assert_eq!(h.sp.start_offset(), 0, "ARCHIVING is not terminal");
    assert!(h.other.contains(&PartitionEffect::EnqueueDeadLetters {
        first_offset: 0,
        last_offset: 4
    }));
    h.sp.handle_dead_letter_result(h.now_ms, 0, 4);
    h.pump();
    assert_eq!(h.writes.len(), 1);
    assert_eq!(
        h.writes[0].1.state_batches[0].delivery_state,
        RecordState::Archived
    );
    h.complete_writes(Err(ResponseError::UnknownServerError));
    assert_eq!(
        h.sp.start_offset(),
        5,
        "phase-2 write failure leaves ARCHIVED"
    );
}

/// Spec 1.2 #10: ARCHIVING batches found at initialization resume phase 2.
#[test]
fn archiving_batches_resume_phase_two_at_initialization() {
    let config = SharePartitionConfig {
        dlq_enabled: true,
        ..Default::default()
    };
    let h = Harness::from_image(
        config,
        Semantics::default(),
        Ok(image(0, vec![batch(0, 4, RecordState::Archiving, 5)])),
        reset_at(0),
    );
    assert!(h.other.contains(&PartitionEffect::EnqueueDeadLetters {
        first_offset: 0,
        last_offset: 4
    }));
}

/// Spec 3.5: a failover loses the in-progress acquisition: the new leader re-delivers with the persisted
/// count, and the old member's acks fail with INVALID_RECORD_STATE.
#[test]
fn failover_forgets_acquisitions() {
    let mut h = load(0, vec![batch(0, 4, RecordState::Available, 2)]);
    h.fetch("a", &[(0, 4)], params(500));
    let mut h = load(0, vec![batch(0, 4, RecordState::Available, 2)]);
    assert_eq!(
        h.ack("a", 0, 4, AcknowledgeType::Accept),
        Err(ResponseError::InvalidRecordState)
    );
    assert_eq!(h.fetch("b", &[(0, 4)], params(500)), vec![(0, 4, 3)]);
}

/// Spec 2.2: a FENCED partition (dropped from the cache) refuses fetches and acks; its locks are gone.
#[test]
fn fenced_partition_refuses_work() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 4)], params(500));
    h.sp.handle_fenced(h.now_ms);
    assert_eq!(h.sp.poll_timeout(), None);
    assert_eq!(
        h.sp.handle_fetch(h.now_ms, &member("a"), &log(5, &[(5, 6)]), params(5)),
        Err(ResponseError::FencedStateEpoch)
    );
    assert_eq!(
        h.ack("a", 0, 4, AcknowledgeType::Accept),
        Err(ResponseError::UnknownTopicOrPartition)
    );
}

/// The trace events serialize with a stable field order.
#[test]
fn events_serialize_with_stable_field_order() {
    let event = PartitionEvent::Transition {
        first_offset: 1,
        last_offset: 2,
        from: RecordState::Acquired,
        to: RecordState::Acknowledged,
        delivery_count: 1,
        limit_reached: false,
        member: Some(member("m")),
        cause: TransitionCause::Acknowledge {
            ack_type: AcknowledgeType::Accept,
        },
    };
    let json = serde_json::to_string(&event).unwrap();
    assert_eq!(
        json,
        r#"{"event":"transition","first_offset":1,"last_offset":2,"from":"ACQUIRED","to":"ACKNOWLEDGED","delivery_count":1,"limit_reached":false,"member":"m","cause":"acknowledge","ack_type":"ACCEPT"}"#
    );
}

/// What-if (Semantics::what_if_persist_delivery_count_at_acquisition, not Kafka): the acquisition's count
/// is written at once, so a new leader reading that image re-delivers with the attempt counted.
#[test]
fn what_if_persisting_the_count_at_acquisition() {
    let semantics = Semantics {
        what_if_persist_delivery_count_at_acquisition: true,
        ..Semantics::default()
    };
    let mut h = Harness::with_config(SharePartitionConfig::default(), semantics.clone());
    h.fetch("a", &[(0, 4)], params(500));
    assert_eq!(h.writes.len(), 1);
    let written = h.writes[0].1.state_batches.clone();
    assert_eq!(written, vec![batch(0, 4, RecordState::Available, 1)]);
    let mut h = Harness::from_image(
        SharePartitionConfig::default(),
        semantics,
        Ok(image(0, written)),
        reset_at(0),
    );
    assert_eq!(h.fetch("b", &[(0, 4)], params(500)), vec![(0, 4, 2)]);
}

/// Spec 1.2 #6: a session release archives the member's offsets below SPSO (after a log-start move),
/// splitting a batch SPSO lies inside.
#[test]
fn session_release_archives_below_the_start_offset() {
    let mut h = Harness::new();
    h.fetch("a", &[(0, 9)], params(500));
    h.sp.handle_log_start_offset(h.now_ms, 4);
    h.pump();
    h.sp.handle_release_session(h.now_ms, &member("a"));
    h.pump();
    assert_eq!(h.state(3), RecordState::Archived);
    assert_eq!(h.state(4), RecordState::Available);
    h.complete_writes(Ok(()));
    assert_eq!(h.sp.start_offset(), 4);
    assert_eq!(h.sp.next_fetch_offset(), 4);
}
