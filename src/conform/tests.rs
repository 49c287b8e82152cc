//! Conformance replay on hand-made traces: legal histories pass, each broken rule is reported at its
//! event.

use sharesim_sim::coordinator::share::TopicId;
use sharesim_sim::share::partition::{
    PartitionEvent, StartOffsetMoveCause, TransitionCause, WriteId, WritePurpose,
};
use sharesim_sim::share::{AcknowledgeType, MemberId, RecordState};
use sharesim_sim::trace::{Trace, TraceEvent, TraceRecord};

use super::conform;

fn trace(events: Vec<(u64, i32, PartitionEvent)>) -> Vec<TraceRecord> {
    let mut trace = Trace::keeping_records();
    for (at_ms, leader_epoch, event) in events {
        let event = TraceEvent::SharePartition {
            group_id: "g".into(),
            topic_id: TopicId(1),
            partition: 0,
            leader_epoch,
            event,
        };
        trace.record(at_ms, "broker-1", event);
    }
    trace.records().unwrap().to_vec()
}

fn acquired(member: &str, offset: i64, delivery_count: u16) -> PartitionEvent {
    PartitionEvent::Acquired {
        member: MemberId::new(member),
        first_offset: offset,
        last_offset: offset,
        delivery_count,
        lock_deadline_ms: 1_000_000,
    }
}

fn transition(
    offset: i64,
    from: RecordState,
    to: RecordState,
    delivery_count: u16,
    member: Option<&str>,
    cause: TransitionCause,
) -> PartitionEvent {
    PartitionEvent::Transition {
        first_offset: offset,
        last_offset: offset,
        from,
        to,
        delivery_count,
        limit_reached: false,
        member: member.map(MemberId::new),
        cause,
    }
}

const ACCEPT: TransitionCause = TransitionCause::Acknowledge {
    ack_type: AcknowledgeType::Accept,
};

fn write_started(write_id: u64) -> PartitionEvent {
    PartitionEvent::WriteStarted {
        write_id: WriteId(write_id),
        purpose: WritePurpose::Acknowledge,
        start_offset: 0,
        state_batch_count: 1,
    }
}

fn committed(write_id: u64) -> PartitionEvent {
    PartitionEvent::WriteCommitted {
        write_id: WriteId(write_id),
    }
}

fn failed(write_id: u64, rolled_back: bool) -> PartitionEvent {
    PartitionEvent::WriteFailed {
        write_id: WriteId(write_id),
        error_code: 15,
        rolled_back,
    }
}

fn spso_advanced(from: i64, to: i64) -> PartitionEvent {
    PartitionEvent::StartOffsetMoved {
        from,
        to,
        cause: StartOffsetMoveCause::Advance,
    }
}

/// Spec 1.2 #1, #2, #5 and 1.6: acquire, expire, re-acquire, accept, SPSO passes it.
#[test]
fn a_legal_history_conforms() {
    use RecordState::*;
    let records = trace(vec![
        (1, 1, acquired("a", 0, 1)),
        (
            2,
            1,
            transition(0, Acquired, Available, 1, None, TransitionCause::LockExpiry),
        ),
        (3, 1, acquired("b", 0, 2)),
        (
            4,
            1,
            transition(0, Acquired, Acknowledged, 2, Some("b"), ACCEPT),
        ),
        (4, 1, write_started(1)),
        (5, 1, committed(1)),
        (5, 1, spso_advanced(0, 1)),
    ]);
    let report = conform(&records, 5);
    assert!(report.conforms(), "{:?}", report.first_divergence);
    assert_eq!(report.steps, 7);
}

/// Spec 1.1: a terminal record acquired again is the first step not allowed.
#[test]
fn reacquiring_a_terminal_record_is_reported() {
    use RecordState::*;
    let records = trace(vec![
        (1, 1, acquired("a", 0, 1)),
        (
            2,
            1,
            transition(0, Acquired, Acknowledged, 1, Some("a"), ACCEPT),
        ),
        (2, 1, write_started(1)),
        (3, 1, committed(1)),
        (3, 1, acquired("b", 0, 2)),
    ]);
    let divergence = conform(&records, 5).first_divergence.unwrap();
    assert_eq!((divergence.seq, divergence.offset), (4, Some(0)));
    assert!(
        divergence.message.contains("only AVAILABLE"),
        "{divergence}"
    );
}

/// Spec 2.2: an ack from a member that does not hold the record.
#[test]
fn an_ack_from_another_member_is_reported() {
    use RecordState::*;
    let records = trace(vec![
        (1, 1, acquired("a", 0, 1)),
        (
            2,
            1,
            transition(0, Acquired, Acknowledged, 1, Some("b"), ACCEPT),
        ),
    ]);
    let divergence = conform(&records, 5).first_divergence.unwrap();
    assert!(divergence.message.contains("spec 2.2"), "{divergence}");
}

/// Spec 1.3: a lock expiry at the limit must archive.
#[test]
fn expiry_at_the_limit_to_available_is_reported() {
    use RecordState::*;
    let records = trace(vec![
        (1, 1, acquired("a", 0, 1)),
        (
            2,
            1,
            transition(0, Acquired, Available, 1, None, TransitionCause::LockExpiry),
        ),
        (3, 1, acquired("a", 0, 2)),
        (
            4,
            1,
            transition(0, Acquired, Available, 2, None, TransitionCause::LockExpiry),
        ),
    ]);
    assert!(conform(&records, 5).conforms());
    let divergence = conform(&records, 2).first_divergence.unwrap();
    assert_eq!(divergence.seq, 3);
}

/// Spec 1.6: SPSO may not pass a record that is not terminal; spec 3.5: a new leader epoch restores
/// ACQUIRED records as AVAILABLE, and events of the old epoch are skipped.
#[test]
fn spso_and_failover_rules() {
    use RecordState::*;
    let passing = trace(vec![
        (1, 1, acquired("a", 0, 1)),
        (
            2,
            1,
            PartitionEvent::StartOffsetMoved {
                from: 0,
                to: 1,
                cause: StartOffsetMoveCause::Advance,
            },
        ),
    ]);
    let divergence = conform(&passing, 5).first_divergence.unwrap();
    assert!(divergence.message.contains("spec 1.6"), "{divergence}");
    let failover = trace(vec![
        (1, 1, acquired("a", 0, 1)),
        (2, 2, acquired("b", 0, 1)),
        (
            3,
            1,
            transition(0, Acquired, Acknowledged, 1, Some("a"), ACCEPT),
        ),
    ]);
    let report = conform(&failover, 5);
    assert!(report.conforms(), "{:?}", report.first_divergence);
    assert_eq!(report.stale_steps, 1);
}

/// Spec 1.4 and 3.5: a lock expiry that archives at the limit is one-phase; when its write fails the
/// archive is not persisted, so a new leader may hand the record out again (seen in swarm seed 176).
/// A committed archive stays terminal across the failover.
#[test]
fn an_unpersisted_expiry_archive_is_not_restored_by_the_next_leader() {
    use RecordState::*;
    let expire_to_archived = |write_id: u64| {
        vec![
            (2, 1, {
                let mut event =
                    transition(0, Acquired, Archived, 2, None, TransitionCause::LockExpiry);
                if let PartitionEvent::Transition { limit_reached, .. } = &mut event {
                    *limit_reached = true;
                }
                event
            }),
            (
                2,
                1,
                PartitionEvent::WriteStarted {
                    write_id: WriteId(write_id),
                    purpose: WritePurpose::LockExpiry,
                    start_offset: 0,
                    state_batch_count: 1,
                },
            ),
        ]
    };
    let mut failed = vec![
        (1, 1, acquired("a", 0, 1)),
        (
            1,
            1,
            transition(0, Acquired, Available, 1, None, TransitionCause::LockExpiry),
        ),
        (1, 1, write_started(6)),
        (1, 1, committed(6)),
        (1, 1, acquired("a", 0, 2)),
    ];
    failed.extend(expire_to_archived(7));
    failed.push((
        3,
        1,
        PartitionEvent::WriteFailed {
            write_id: WriteId(7),
            error_code: 15,
            rolled_back: false,
        },
    ));
    failed.push((4, 2, acquired("b", 0, 2)));
    let report = conform(&trace(failed), 2);
    assert!(report.conforms(), "{:?}", report.first_divergence);

    let mut committed_archive = vec![
        (1, 1, acquired("a", 0, 1)),
        (
            1,
            1,
            transition(0, Acquired, Available, 1, None, TransitionCause::LockExpiry),
        ),
        (1, 1, acquired("a", 0, 2)),
    ];
    committed_archive.extend(expire_to_archived(7));
    committed_archive.push((3, 1, committed(7)));
    committed_archive.push((4, 2, acquired("b", 0, 2)));
    let report = conform(&trace(committed_archive), 2);
    let divergence = report
        .first_divergence
        .expect("an archived record acquired again");
    assert!(
        divergence.message.contains("acquired from Archived"),
        "{divergence}"
    );
}

/// Spec 1.2 #6, asked of the model per profile: kafka-4.1's session release gives the delivery back
/// (AVAILABLE, count one lower); kafka-4.2's keeps the count and archives at the limit.
#[test]
fn session_release_follows_the_profile() {
    use super::conform_profile;
    use sharesim_model::Profile;
    use RecordState::*;
    let release = |to: RecordState, delivery_count: u16| {
        trace(vec![
            (1, 1, acquired("a", 0, 1)),
            (
                2,
                1,
                transition(0, Acquired, Available, 1, None, TransitionCause::LockExpiry),
            ),
            (3, 1, acquired("a", 0, 2)),
            (
                4,
                1,
                transition(
                    0,
                    Acquired,
                    to,
                    delivery_count,
                    Some("a"),
                    TransitionCause::SessionRelease,
                ),
            ),
        ])
    };
    let given_back = release(Available, 1);
    assert!(conform_profile(&given_back, 2, Some(Profile::Kafka4_1)).conforms());
    let divergence = conform_profile(&given_back, 2, Some(Profile::Kafka4_2))
        .first_divergence
        .expect("4.2 keeps the count and archives at the limit");
    assert_eq!(divergence.seq, 3);
    assert!(divergence.message.contains("spec 1.2 #6"), "{divergence}");
    let archived = release(Archived, 2);
    assert!(conform_profile(&archived, 2, Some(Profile::Kafka4_2)).conforms());
    assert!(!conform_profile(&archived, 2, Some(Profile::Kafka4_1)).conforms());
    // Without a profile, a step conforms when one release's rules allow it.
    assert!(super::conform(&given_back, 2).conforms());
    assert!(super::conform(&archived, 2).conforms());
}

/// Spec 1.2 #7: only the holder renews a lock.
#[test]
fn a_renewal_by_another_member_is_reported() {
    let renewed = |member: &str| {
        trace(vec![
            (1, 1, acquired("a", 0, 1)),
            (
                2,
                1,
                PartitionEvent::LockRenewed {
                    member: MemberId::new(member),
                    first_offset: 0,
                    last_offset: 0,
                    lock_deadline_ms: 2_000_000,
                },
            ),
        ])
    };
    assert!(conform(&renewed("a"), 5).conforms());
    let divergence = conform(&renewed("b"), 5).first_divergence.unwrap();
    assert!(divergence.message.contains("spec 1.2 #7"), "{divergence}");
}

/// Spec 1.2 #1, asked of the model: a record the trace has not seen is new, and its first acquisition
/// gives delivery count 1.
#[test]
fn a_new_record_acquired_with_a_count_above_one_is_reported() {
    assert!(conform(&trace(vec![(1, 1, acquired("a", 0, 1))]), 5).conforms());
    let divergence = conform(&trace(vec![(1, 1, acquired("a", 0, 2))]), 5)
        .first_divergence
        .expect("a first delivery counted twice");
    assert_eq!((divergence.seq, divergence.offset), (0, Some(0)));
    assert!(
        divergence
            .message
            .contains("spec 1.2 #1: a new record acquired with delivery count 2")
            && divergence.message.contains("spec gives 1"),
        "{divergence}"
    );
}

/// Spec 1.6, asked of the model: SPSO passes a terminal record only once its write committed.
#[test]
fn spso_passing_a_record_whose_write_is_pending_is_reported() {
    use RecordState::*;
    let accepted = |rest: Vec<(u64, i32, PartitionEvent)>| {
        let mut events = vec![
            (1, 1, acquired("a", 0, 1)),
            (
                2,
                1,
                transition(0, Acquired, Acknowledged, 1, Some("a"), ACCEPT),
            ),
            (2, 1, write_started(1)),
        ];
        events.extend(rest);
        trace(events)
    };
    let healthy = accepted(vec![(3, 1, committed(1)), (3, 1, spso_advanced(0, 1))]);
    let report = conform(&healthy, 5);
    assert!(report.conforms(), "{:?}", report.first_divergence);
    let early = accepted(vec![(3, 1, spso_advanced(0, 1)), (4, 1, committed(1))]);
    let divergence = conform(&early, 5).first_divergence.unwrap();
    assert_eq!((divergence.seq, divergence.offset), (3, Some(0)));
    assert!(
        divergence.message.contains("spec 1.6")
            && divergence.message.contains("waits for its write"),
        "{divergence}"
    );
}

/// Spec 1.4 and 3.2, asked of the model: a failed write rolls an ack back to ACQUIRED (same owner and
/// count) while the lock lives, and to AVAILABLE once it expired.
#[test]
fn a_rollback_the_spec_does_not_make_is_reported() {
    use RecordState::*;
    let rolled_back = |at_ms: u64, to: RecordState| {
        trace(vec![
            (1, 1, acquired("a", 0, 1)),
            (
                2,
                1,
                transition(0, Acquired, Acknowledged, 1, Some("a"), ACCEPT),
            ),
            (2, 1, write_started(1)),
            (
                at_ms,
                1,
                transition(0, Acknowledged, to, 1, None, TransitionCause::Rollback),
            ),
            (at_ms, 1, failed(1, true)),
        ])
    };
    let live = 3;
    let expired = 2_000_000;
    let report = conform(&rolled_back(live, Acquired), 5);
    assert!(report.conforms(), "{:?}", report.first_divergence);
    // Rolled back to ACQUIRED, the record is a's again: a may acknowledge it, b may not.
    let acked_again_by = |member: &str| {
        let mut records = rolled_back(live, Acquired);
        records.extend(trace(vec![(
            4,
            1,
            transition(0, Acquired, Acknowledged, 1, Some(member), ACCEPT),
        )]));
        records
    };
    assert!(conform(&acked_again_by("a"), 5).conforms());
    let divergence = conform(&acked_again_by("b"), 5).first_divergence.unwrap();
    assert!(divergence.message.contains("spec 2.2"), "{divergence}");
    let report = conform(&rolled_back(expired, Available), 5);
    assert!(report.conforms(), "{:?}", report.first_divergence);
    let divergence = conform(&rolled_back(live, Available), 5)
        .first_divergence
        .unwrap();
    assert_eq!(divergence.seq, 3);
    assert!(
        divergence.message.contains("spec 1.4, 3.2")
            && divergence.message.contains("lock live")
            && divergence.message.contains("rolls back to Acquired"),
        "{divergence}"
    );
    let divergence = conform(&rolled_back(expired, Acquired), 5)
        .first_divergence
        .unwrap();
    assert_eq!(divergence.seq, 3);
    assert!(divergence.message.contains("lock expired"), "{divergence}");
    // A rollback with no write pending.
    let unprompted = trace(vec![
        (1, 1, acquired("a", 0, 1)),
        (
            2,
            1,
            transition(0, Acquired, Acquired, 1, None, TransitionCause::Rollback),
        ),
    ]);
    let divergence = conform(&unprompted, 5).first_divergence.unwrap();
    assert!(divergence.message.contains("spec 3.2"), "{divergence}");
}

/// Spec 1.2 #9, asked of the model: under read_committed a record of an aborted transaction is
/// acquired and archived at once (no `acquired` event), then SPSO passes it; a terminal record is
/// never acquired for it.
#[test]
fn an_aborted_transaction_archive_of_a_terminal_record_is_reported() {
    use RecordState::*;
    let aborted = |offset: i64, delivery_count: u16| {
        transition(
            offset,
            Acquired,
            Archived,
            delivery_count,
            None,
            TransitionCause::AbortedTransaction,
        )
    };
    let healthy = trace(vec![
        (1, 1, aborted(0, 1)),
        (1, 1, acquired("a", 1, 1)),
        (2, 1, spso_advanced(0, 1)),
    ]);
    let report = conform(&healthy, 5);
    assert!(report.conforms(), "{:?}", report.first_divergence);
    let twice = trace(vec![(1, 1, aborted(0, 1)), (2, 1, aborted(0, 2))]);
    let divergence = conform(&twice, 5).first_divergence.unwrap();
    assert_eq!((divergence.seq, divergence.offset), (1, Some(0)));
    assert!(
        divergence.message.contains("spec 1.2 #9")
            && divergence.message.contains("archived from Archived"),
        "{divergence}"
    );
    let to_available = trace(vec![(
        1,
        1,
        transition(
            0,
            Acquired,
            Available,
            1,
            None,
            TransitionCause::AbortedTransaction,
        ),
    )]);
    let divergence = conform(&to_available, 5).first_divergence.unwrap();
    assert!(divergence.message.contains("spec 1.2 #9"), "{divergence}");
}

/// Spec 3.5 and 3.3, asked of the model: a new leader restores what the coordinator holds: the count
/// of the last committed release (the attempt in progress is not counted), terminal records stay
/// terminal; a write still in flight at the failover may or may not have landed.
#[test]
fn a_restore_the_spec_does_not_make_is_reported() {
    use RecordState::*;
    let released_then_failover = |delivery_count: u16| {
        trace(vec![
            (1, 1, acquired("a", 0, 1)),
            (
                2,
                1,
                transition(0, Acquired, Available, 1, None, TransitionCause::LockExpiry),
            ),
            (2, 1, write_started(1)),
            (2, 1, committed(1)),
            (3, 1, acquired("a", 0, 2)),
            (4, 2, acquired("b", 0, delivery_count)),
        ])
    };
    let report = conform(&released_then_failover(2), 5);
    assert!(report.conforms(), "{:?}", report.first_divergence);
    let divergence = conform(&released_then_failover(3), 5)
        .first_divergence
        .unwrap();
    assert_eq!((divergence.seq, divergence.offset), (5, Some(0)));
    assert!(
        divergence.message.contains("delivery count 1 -> 3"),
        "{divergence}"
    );
    let accepted_then_failover = |landed: bool| {
        let mut events = vec![
            (1, 1, acquired("a", 0, 1)),
            (
                2,
                1,
                transition(0, Acquired, Acknowledged, 1, Some("a"), ACCEPT),
            ),
            (2, 1, write_started(1)),
        ];
        if landed {
            events.push((3, 1, committed(1)));
        }
        events.push((4, 2, acquired("b", 0, 1)));
        trace(events)
    };
    let divergence = conform(&accepted_then_failover(true), 5)
        .first_divergence
        .unwrap();
    assert!(
        divergence.message.contains("acquired from Acknowledged"),
        "{divergence}"
    );
    // In flight at the failover: the new leader may have read the image without it.
    let report = conform(&accepted_then_failover(false), 5);
    assert!(report.conforms(), "{:?}", report.first_divergence);
}

/// Spec 3.4 and 3.5: the same leader re-reads the persisted image when it starts a new share
/// partition (after a fenced write dropped the old one): what the old one held ACQUIRED is new again.
#[test]
fn a_new_share_partition_of_the_same_leader_restores_the_persisted_image() {
    use sharesim_sim::share::partition::PartitionState;
    let changed =
        |from: PartitionState, to: PartitionState| PartitionEvent::PartitionStateChanged {
            from,
            to,
            error_code: 0,
        };
    let reinitialized = |delivery_count: u16| {
        trace(vec![
            (
                0,
                1,
                changed(PartitionState::Empty, PartitionState::Initializing),
            ),
            (
                0,
                1,
                changed(PartitionState::Initializing, PartitionState::Active),
            ),
            (1, 1, acquired("a", 0, 1)),
            (
                2,
                1,
                changed(PartitionState::Active, PartitionState::Fenced),
            ),
            (
                3,
                1,
                changed(PartitionState::Empty, PartitionState::Initializing),
            ),
            (
                3,
                1,
                changed(PartitionState::Initializing, PartitionState::Active),
            ),
            (4, 1, acquired("b", 0, delivery_count)),
        ])
    };
    let report = conform(&reinitialized(1), 5);
    assert!(report.conforms(), "{:?}", report.first_divergence);
    let divergence = conform(&reinitialized(2), 5).first_divergence.unwrap();
    assert_eq!((divergence.seq, divergence.offset), (6, Some(0)));
    assert!(divergence.message.contains("new record"), "{divergence}");
}

/// Spec 1.1 and 1.6 (the model's SPSO advancement with its DLQ on): ARCHIVING (the DLQ's first
/// phase) is not terminal, so SPSO does not pass it; its ARCHIVED is.
#[test]
fn spso_passing_an_archiving_record_is_reported() {
    use RecordState::*;
    let reject = TransitionCause::Acknowledge {
        ack_type: AcknowledgeType::Reject,
    };
    let rejected = |dead_lettered: bool| {
        let mut events = vec![
            (1, 1, acquired("a", 0, 1)),
            (
                2,
                1,
                transition(0, Acquired, Archiving, 1, Some("a"), reject),
            ),
            (2, 1, write_started(1)),
            (3, 1, committed(1)),
        ];
        if dead_lettered {
            let completed = TransitionCause::DeadLetterCompleted;
            events.push((4, 1, transition(0, Archiving, Archived, 1, None, completed)));
        }
        events.push((5, 1, spso_advanced(0, 1)));
        trace(events)
    };
    let report = conform(&rejected(true), 5);
    assert!(report.conforms(), "{:?}", report.first_divergence);
    let divergence = conform(&rejected(false), 5).first_divergence.unwrap();
    assert_eq!((divergence.seq, divergence.offset), (4, Some(0)));
    assert!(
        divergence
            .message
            .contains("spec 1.6: SPSO passed a record that is Archiving"),
        "{divergence}"
    );
}

/// Spec 3.2, 3.5: an acknowledgement is durable once its write commits, not before. A write the old
/// leader never saw answered may or may not have landed, each one on its own, and a new leader that
/// never served (fenced while initializing) settled nothing: the next one may still have read the
/// image without it (cluster swarm seeds 38, 54 and 150). A committed acknowledgement is restored.
#[test]
fn unanswered_writes_may_each_have_landed_across_restores() {
    use sharesim_sim::share::partition::PartitionState::*;
    use RecordState::*;
    let changed = |from, to| PartitionEvent::PartitionStateChanged {
        from,
        to,
        error_code: 0,
    };
    let expiry = TransitionCause::LockExpiry;
    // Seed 54: a lock expiry's write (count 1) and then an accept's write, both unanswered.
    let two_writes_in_flight = |delivery_count: u16| {
        trace(vec![
            (1, 1, acquired("a", 0, 1)),
            (2, 1, transition(0, Acquired, Available, 1, None, expiry)),
            (2, 1, write_started(1)),
            (3, 1, acquired("a", 0, 2)),
            (
                4,
                1,
                transition(0, Acquired, Acknowledged, 2, Some("a"), ACCEPT),
            ),
            (4, 1, write_started(2)),
            (5, 2, acquired("b", 0, delivery_count)),
        ])
    };
    for landed_writes in [1, 2] {
        // 1: neither landed; 2: the expiry's landed, the accept's did not.
        let report = conform(&two_writes_in_flight(landed_writes), 5);
        assert!(report.conforms(), "{:?}", report.first_divergence);
    }
    let divergence = conform(&two_writes_in_flight(3), 5)
        .first_divergence
        .unwrap();
    assert_eq!((divergence.seq, divergence.offset), (6, Some(0)));
    // Seeds 38 and 150: the leader of epoch 2 is fenced while initializing; epoch 3 restores.
    let restored_twice = |committed_accept: bool| {
        let mut events = vec![
            (1, 1, acquired("a", 0, 1)),
            (
                2,
                1,
                transition(0, Acquired, Acknowledged, 1, Some("a"), ACCEPT),
            ),
            (2, 1, write_started(1)),
        ];
        if committed_accept {
            events.push((3, 1, committed(1)));
        }
        events.extend([
            (4, 2, changed(Empty, Initializing)),
            (5, 2, changed(Initializing, Fenced)),
            (6, 3, changed(Empty, Initializing)),
            (6, 3, changed(Initializing, Active)),
            (7, 3, acquired("b", 0, 1)),
        ]);
        trace(events)
    };
    let report = conform(&restored_twice(false), 5);
    assert!(report.conforms(), "{:?}", report.first_divergence);
    let divergence = conform(&restored_twice(true), 5).first_divergence.unwrap();
    assert_eq!((divergence.seq, divergence.offset), (8, Some(0)));
    assert!(
        divergence.message.contains("acquired from Acknowledged"),
        "{divergence}"
    );
}

/// Spec 1.4 (the model's EXCLUSIVE): an acquisition or a RENEW starts a live lock, so a deadline not
/// after the event's time is reported at that event.
#[test]
fn a_lock_that_is_not_live_when_it_starts_is_reported() {
    let acquired_at = |lock_deadline_ms: u64| PartitionEvent::Acquired {
        member: MemberId::new("a"),
        first_offset: 0,
        last_offset: 1,
        delivery_count: 1,
        lock_deadline_ms,
    };
    let renewed_at = |lock_deadline_ms: u64| PartitionEvent::LockRenewed {
        member: MemberId::new("a"),
        first_offset: 1,
        last_offset: 1,
        lock_deadline_ms,
    };
    let report = conform(
        &trace(vec![(10, 1, acquired_at(11)), (12, 1, renewed_at(20))]),
        5,
    );
    assert!(report.conforms(), "{:?}", report.first_divergence);
    let divergence = conform(&trace(vec![(10, 1, acquired_at(10))]), 5)
        .first_divergence
        .unwrap();
    assert_eq!((divergence.seq, divergence.offset), (0, Some(0)));
    assert!(
        divergence
            .message
            .contains("spec 1.4 (EXCLUSIVE): acquired with a lock deadline 10"),
        "{divergence}"
    );
    let late_renewal = trace(vec![(10, 1, acquired_at(20)), (15, 1, renewed_at(15))]);
    let divergence = conform(&late_renewal, 5).first_divergence.unwrap();
    assert_eq!((divergence.seq, divergence.offset), (1, Some(1)));
    assert!(
        divergence
            .message
            .contains("renewed with a lock deadline 15"),
        "{divergence}"
    );
}

/// Spec 1.6 (the model's SPSO-SAFE): SPSO only advances; moving it back is reported at that move,
/// at the first offset it comes back before (also one the replay has forgotten).
#[test]
fn spso_moving_back_is_reported() {
    use RecordState::*;
    let accepted_then = |back_to: i64| {
        trace(vec![
            (1, 1, acquired("a", 0, 1)),
            (
                2,
                1,
                transition(0, Acquired, Acknowledged, 1, Some("a"), ACCEPT),
            ),
            (2, 1, write_started(1)),
            (3, 1, committed(1)),
            (3, 1, spso_advanced(0, 1)),
            (4, 1, spso_advanced(1, back_to)),
        ])
    };
    let report = conform(&accepted_then(1), 5);
    assert!(report.conforms(), "{:?}", report.first_divergence);
    for back_to in [0, -3] {
        let divergence = conform(&accepted_then(back_to), 5)
            .first_divergence
            .unwrap();
        assert_eq!((divergence.seq, divergence.offset), (5, Some(back_to)));
        assert!(
            divergence.message.contains("SPSO moved back from 1"),
            "{divergence}"
        );
    }
}

/// Not a protocol rule but the trace's own consistency: a transition whose `from` is not the state
/// its earlier events left the record in is reported at that transition.
#[test]
fn a_transition_from_a_state_the_trace_did_not_leave_is_reported() {
    use RecordState::*;
    let records = trace(vec![
        (1, 1, acquired("a", 0, 1)),
        (
            2,
            1,
            transition(0, Available, Acknowledged, 1, Some("a"), ACCEPT),
        ),
    ]);
    let divergence = conform(&records, 5).first_divergence.unwrap();
    assert_eq!((divergence.seq, divergence.offset), (1, Some(0)));
    assert!(
        divergence
            .message
            .contains("a transition from Available while the record is Acquired"),
        "{divergence}"
    );
}

/// Spec 1.2 #10 (the model's phase-2 step): the DLQ's phase 2 only completes an ARCHIVING record.
#[test]
fn a_dead_letter_completion_of_a_record_not_archiving_is_reported() {
    use RecordState::*;
    let completed = TransitionCause::DeadLetterCompleted;
    let records = trace(vec![
        (1, 1, acquired("a", 0, 1)),
        (2, 1, transition(0, Acquired, Archived, 1, None, completed)),
    ]);
    let divergence = conform(&records, 5).first_divergence.unwrap();
    assert_eq!((divergence.seq, divergence.offset), (1, Some(0)));
    assert!(divergence.message.contains("spec 1.2 #10"), "{divergence}");
}

mod dead_letter;
mod engine_dead_letter;
