#![cfg(madsim)]
//! Acquisition locks and delivery counts end to end: an expired lock redelivers the record to another
//! member with its delivery count raised; a record that keeps failing is archived at the
//! delivery-count limit while the rest flows.

mod share_support;

use std::time::Duration;

use share_support::*;
use sharesim_sim::client::application::{AcknowledgePolicy, ProcessingTime};
use sharesim_sim::client::share_consumer::{AcknowledgementMode, AcquireMode};
use sharesim_sim::harness::{accepted_offsets, exclusive_holding_violations, transitions_of};
use sharesim_sim::share::partition::{PartitionEvent, TransitionCause};
use sharesim_sim::share::RecordState;
use sharesim_sim::trace::TraceEvent;

/// Spec 1.4 and 1.2 #5: member A takes a record and then works on it far longer than the 5 s lock;
/// the lock expires, the record becomes AVAILABLE, and member B receives it with delivery count 2.
#[madsim::test]
async fn lock_expiry_redelivers_to_another_member_with_a_raised_delivery_count() {
    let cluster = start_cluster(1, |config| config.record_lock_duration_ms = 5_000).await;
    let slow = spawn_consumer(&cluster, "slow", 1, |setup| {
        setup.config.max_poll_records = 1;
        setup.config.acquire_mode = AcquireMode::RecordLimit;
        setup.application.processing_time = ProcessingTime::Fixed { ms: 60_000 };
    });
    produce(&cluster, 0, 5, 1, Duration::ZERO, plain_value).await;
    wait_until(
        "the slow member holds a record",
        Duration::from_secs(60),
        || !slow.deliveries().is_empty(),
    )
    .await;
    let held = slow.deliveries()[0].clone();
    assert_eq!(held.delivery_count, 1);
    let fast = spawn_consumer(&cluster, "fast", 2, |_| {});
    wait_until(
        "the fast member got the expired record",
        Duration::from_secs(60),
        || fast.deliveries().iter().any(|d| d.offset == held.offset),
    )
    .await;
    let redelivery = fast
        .deliveries()
        .into_iter()
        .find(|d| d.offset == held.offset)
        .unwrap();
    assert_eq!(redelivery.delivery_count, 2, "delivery count raised");
    let records = trace_records(&cluster);
    // The lock runs from the leader's acquisition, not from the consumer's receipt (a network hop
    // later), so the redelivery is judged against the deadline the leader set.
    let lock_deadline_ms = records
        .iter()
        .find_map(|record| match &record.event {
            TraceEvent::SharePartition {
                event:
                    PartitionEvent::Acquired {
                        first_offset,
                        last_offset,
                        delivery_count: 1,
                        lock_deadline_ms,
                        ..
                    },
                ..
            } if (*first_offset..=*last_offset).contains(&held.offset) => Some(*lock_deadline_ms),
            _ => None,
        })
        .expect("the first acquisition is traced");
    assert!(lock_deadline_ms >= held.at_ms + 5_000 - 1_000, "a 5 s lock");
    assert!(
        redelivery.at_ms >= lock_deadline_ms,
        "not before the lock expired"
    );
    let expired = transitions_of(&records, 0, held.offset)
        .into_iter()
        .any(|t| {
            t.from == RecordState::Acquired
                && t.to == RecordState::Available
                && t.cause == TransitionCause::LockExpiry
        });
    assert!(expired, "the lock expired on the leader");
    let violations = exclusive_holding_violations(&records);
    assert!(violations.is_empty(), "EXCLUSIVE: {violations:?}");
}

/// Spec 1.3: a poison record the application RELEASEs on every failure is delivered exactly
/// `group.share.delivery.count.limit` (5) times and then ARCHIVED; every other record is accepted.
#[madsim::test]
async fn the_delivery_count_limit_archives_a_poison_record() {
    let cluster = start_cluster(1, |_| {}).await;
    let stats = spawn_consumer(&cluster, "consumer", 1, |setup| {
        setup.config.acknowledgement_mode = AcknowledgementMode::Explicit;
        setup.application.policy = AcknowledgePolicy::ReleaseOnFailure;
    });
    let poison_offset = 7;
    produce(&cluster, 0, 20, 1, Duration::ZERO, move |n| {
        if n == poison_offset {
            "FAIL-poison".to_string()
        } else {
            plain_value(n)
        }
    })
    .await;
    let archived = || {
        transitions_of(&trace_records(&cluster), 0, poison_offset)
            .iter()
            .any(|t| t.to == RecordState::Archived)
    };
    wait_until(
        "the poison record is archived",
        Duration::from_secs(120),
        archived,
    )
    .await;
    wait_until("the rest is accepted", Duration::from_secs(60), || {
        accepted_count(&cluster, 0) >= 19
    })
    .await;
    let poison_counts: Vec<i16> = stats
        .deliveries()
        .iter()
        .filter(|d| d.offset == poison_offset)
        .map(|d| d.delivery_count)
        .collect();
    assert_eq!(
        poison_counts,
        vec![1, 2, 3, 4, 5],
        "delivered up to the limit, no more"
    );
    let records = trace_records(&cluster);
    let last = transitions_of(&records, 0, poison_offset).pop().unwrap();
    assert_eq!(
        (last.from, last.to, last.delivery_count),
        (RecordState::Acquired, RecordState::Archived, 5)
    );
    assert!(last.limit_reached, "archived by the limit");
    let accepted = accepted_offsets(&records);
    let expected: Vec<i64> = (0..20).filter(|o| *o != poison_offset).collect();
    assert_eq!(accepted[&0].iter().copied().collect::<Vec<_>>(), expected);
}
