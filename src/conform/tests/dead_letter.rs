//! Conformance replay of the dead-letter queue (KIP-1191) on hand-made traces: the model's ARCHIVING
//! and phase-2 step judge them.

use super::*;
use crate::conform::conform_dead_letter_queue;

const REJECT: TransitionCause = TransitionCause::Acknowledge {
    ack_type: AcknowledgeType::Reject,
};
const COMPLETED: TransitionCause = TransitionCause::DeadLetterCompleted;

/// Spec 1.2 #5, #10, 1.3, 3.5: a lock expiry at the limit goes to ARCHIVING, a new leader restores the
/// persisted ARCHIVING and its phase 2 archives it; then SPSO passes it.
#[test]
fn a_dead_letter_history_conforms() {
    use RecordState::*;
    let expiry = TransitionCause::LockExpiry;
    let records = trace(vec![
        (1, 1, acquired("a", 0, 1)),
        (2, 1, transition(0, Acquired, Available, 1, None, expiry)),
        (3, 1, acquired("b", 0, 2)),
        (4, 1, transition(0, Acquired, Archiving, 2, None, expiry)),
        (4, 1, write_started(1)),
        (5, 1, committed(1)),
        (6, 2, transition(0, Archiving, Archived, 2, None, COMPLETED)),
        (6, 2, write_started(2)),
        (7, 2, committed(2)),
        (7, 2, spso_advanced(0, 1)),
    ]);
    let report = conform(&records, 2);
    assert!(report.conforms(), "{:?}", report.first_divergence);
    assert_eq!(report.steps, 10);
}

/// Spec 1.2 #4, 2.1: with the DLQ (the group's trace shows ARCHIVING) a REJECT goes to ARCHIVING, so a
/// REJECT straight to ARCHIVED is reported at its step; without the DLQ it is the REJECT to ARCHIVING.
#[test]
fn a_reject_that_skips_the_dead_letter_queue_is_reported() {
    use RecordState::*;
    let records = trace(vec![
        (1, 1, acquired("a", 0, 1)),
        (
            2,
            1,
            transition(0, Acquired, Archiving, 1, Some("a"), REJECT),
        ),
        (2, 1, write_started(1)),
        (3, 1, acquired("a", 1, 1)),
        (
            4,
            1,
            transition(1, Acquired, Archived, 1, Some("a"), REJECT),
        ),
    ]);
    let divergence = conform(&records, 5).first_divergence.unwrap();
    assert_eq!((divergence.seq, divergence.offset), (4, Some(1)));
    assert!(
        divergence
            .message
            .contains("cannot lead to Archived with delivery count 1; the spec leads to Archiving"),
        "{divergence}"
    );
    let off = conform_dead_letter_queue(&records, 5, None, Some(false));
    let divergence = off.first_divergence.unwrap();
    assert_eq!((divergence.seq, divergence.offset), (1, Some(0)));
    assert!(
        divergence.message.contains("the spec leads to Archived"),
        "{divergence}"
    );
    let on = conform_dead_letter_queue(&records[..3], 5, None, Some(true));
    assert!(on.conforms(), "{:?}", on.first_divergence);
}

/// Spec 1.1, 1.2 #1: an ARCHIVING record (on its way to the DLQ) is never acquired again.
#[test]
fn acquiring_an_archiving_record_is_reported() {
    use RecordState::*;
    let records = trace(vec![
        (1, 1, acquired("a", 0, 1)),
        (
            2,
            1,
            transition(0, Acquired, Archiving, 1, Some("a"), REJECT),
        ),
        (2, 1, write_started(1)),
        (3, 1, committed(1)),
        (4, 1, acquired("b", 0, 2)),
    ]);
    let divergence = conform(&records, 5).first_divergence.unwrap();
    assert_eq!((divergence.seq, divergence.offset), (4, Some(0)));
    assert!(
        divergence
            .message
            .contains("acquired from Archiving, only AVAILABLE may be"),
        "{divergence}"
    );
}

/// Spec 1.2 #10, 3.2: phase 2 starts once phase 1's write returns; completing it while the REJECT's
/// write is still pending is reported at that step.
#[test]
fn a_dead_letter_completion_before_phase_one_is_written_is_reported() {
    use RecordState::*;
    let records = trace(vec![
        (1, 1, acquired("a", 0, 1)),
        (
            2,
            1,
            transition(0, Acquired, Archiving, 1, Some("a"), REJECT),
        ),
        (2, 1, write_started(1)),
        (3, 1, transition(0, Archiving, Archived, 1, None, COMPLETED)),
    ]);
    let divergence = conform(&records, 5).first_divergence.unwrap();
    assert_eq!((divergence.seq, divergence.offset), (3, Some(0)));
    assert!(
        divergence
            .message
            .contains("spec 1.2 #10: the DLQ's phase 2 completed while the transition"),
        "{divergence}"
    );
}
