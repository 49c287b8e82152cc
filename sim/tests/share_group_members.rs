#![cfg(madsim)]
//! Members and bad data end to end: a member that closes in the middle of a batch has its records
//! released to the others; a batch that fails the consumer's CRC check is rejected whole.

mod share_support;

use std::time::Duration;

use share_support::*;
use sharesim_sim::client::application::ProcessingTime;
use sharesim_sim::harness::{accepted_offsets, transitions_of};
use sharesim_sim::log::TopicPartition;
use sharesim_sim::share::partition::TransitionCause;
use sharesim_sim::share::{AcknowledgeType, RecordState};

/// Spec 2.4, 2.5 and 7.7: member A takes a 50-record batch, processes slowly and closes after about a
/// second. Its FINAL ShareAcknowledge releases the unprocessed records (AVAILABLE, delivery count kept
/// in 4.2); member B then receives every one of them with delivery count 2 and accepts it.
#[madsim::test]
async fn a_member_leaving_mid_batch_has_its_records_released() {
    let cluster = start_cluster(1, |_| {}).await;
    produce(&cluster, 0, 50, 50, Duration::ZERO, plain_value).await;
    let leaver = spawn_consumer(&cluster, "leaver", 1, |setup| {
        setup.application.processing_time = ProcessingTime::Fixed { ms: 1_000 };
        // Long after it joins (one heartbeat interval) but long before it finishes 50 s of work.
        setup.close_at_ms =
            Some(madsim::time::TimeHandle::current().elapsed().as_millis() as u64 + 12_000);
    });
    wait_until(
        "the leaver holds the batch",
        Duration::from_secs(11),
        || leaver.deliveries().len() == 50,
    )
    .await;
    wait_until("the leaver closed", Duration::from_secs(30), || {
        leaver.is_closed()
    })
    .await;
    let stayer = spawn_consumer(&cluster, "stayer", 2, |_| {});
    wait_until("every record accepted", Duration::from_secs(60), || {
        accepted_count(&cluster, 0) >= 50
    })
    .await;
    let records = trace_records(&cluster);
    let leaver_id = leaver.member_id().unwrap();
    for offset in 0..50 {
        let released = transitions_of(&records, 0, offset).into_iter().any(|t| {
            t.from == RecordState::Acquired
                && t.to == RecordState::Available
                && t.cause == TransitionCause::SessionRelease
                && t.member.as_ref().map(|m| m.as_str()) == Some(leaver_id.as_str())
        });
        assert!(
            released,
            "offset {offset} released by the leaver's session close"
        );
    }
    let redelivered: Vec<i16> = stayer
        .deliveries()
        .iter()
        .map(|d| d.delivery_count)
        .collect();
    assert_eq!(
        redelivered,
        vec![2; 50],
        "the stayer got every record, delivery count kept"
    );
    assert_eq!(accepted_offsets(&records)[&0].len(), 50);
}

/// Spec 7.6: a batch corrupted on the leader's disk fails the consumer's CRC check; the consumer
/// REJECTs every acquired offset of that batch (they end ARCHIVED) and poll throws
/// CorruptRecordException; the batches around it are accepted.
#[madsim::test]
async fn a_corrupt_batch_is_rejected_whole() {
    let cluster = start_cluster(1, |_| {}).await;
    produce(&cluster, 0, 30, 10, Duration::ZERO, plain_value).await;
    let leader = leader_of(&cluster, TOPIC, 0).await;
    let corrupted = cluster
        .store(leader)
        .unwrap()
        .with_log(&TopicPartition::new(TOPIC, 0), |log| {
            log.corrupt_batch(15, 70)
        })
        .unwrap();
    assert!(
        corrupted,
        "the second batch (offsets 10-19) is corrupt on the leader's disk"
    );
    let stats = spawn_consumer(&cluster, "consumer", 1, |_| {});
    wait_until(
        "the good batches are accepted",
        Duration::from_secs(60),
        || accepted_count(&cluster, 0) >= 20,
    )
    .await;
    wait_until(
        "the corrupt batch is archived",
        Duration::from_secs(30),
        || {
            let records = trace_records(&cluster);
            (10..20).all(|o| {
                transitions_of(&records, 0, o)
                    .iter()
                    .any(|t| t.to == RecordState::Archived)
            })
        },
    )
    .await;
    let records = trace_records(&cluster);
    for offset in 10..20 {
        let rejected = transitions_of(&records, 0, offset).into_iter().any(|t| {
            t.to == RecordState::Archived
                && t.cause
                    == TransitionCause::Acknowledge {
                        ack_type: AcknowledgeType::Reject,
                    }
        });
        assert!(rejected, "offset {offset} rejected");
    }
    let accepted: Vec<i64> = accepted_offsets(&records)[&0].iter().copied().collect();
    let expected: Vec<i64> = (0..10).chain(20..30).collect();
    assert_eq!(accepted, expected);
    assert!(
        stats
            .deliveries()
            .iter()
            .all(|d| !(10..20).contains(&d.offset)),
        "none delivered"
    );
    assert!(
        stats
            .poll_errors()
            .iter()
            .any(|e| e.contains("CorruptRecord")),
        "poll threw: {:?}",
        stats.poll_errors()
    );
}

/// Spec 2.5, 4.3 (simulated applications: crashes): a consumer that crashes mid-batch sends no FINAL
/// acknowledgement; its connections drop, the broker releases its records (4.1+: connection close
/// releases the session) and another member receives every one of them and accepts it.
#[madsim::test]
async fn a_crashed_consumer_has_its_records_redelivered() {
    let cluster = start_cluster(1, |_| {}).await;
    produce(&cluster, 0, 20, 20, Duration::ZERO, plain_value).await;
    let crasher = spawn_consumer(&cluster, "crasher", 1, |setup| {
        setup.application.processing_time = ProcessingTime::Fixed { ms: 1_000 };
        setup.crash_at_ms =
            Some(madsim::time::TimeHandle::current().elapsed().as_millis() as u64 + 8_000);
    });
    wait_until("the crasher holds records", Duration::from_secs(8), || {
        !crasher.deliveries().is_empty()
    })
    .await;
    let stayer = spawn_consumer(&cluster, "stayer", 2, |_| {});
    wait_until("every record accepted", Duration::from_secs(120), || {
        accepted_count(&cluster, 0) >= 20
    })
    .await;
    assert!(!crasher.is_closed(), "a crash is not a close");
    let crashed_offsets: Vec<i64> = crasher.deliveries().iter().map(|d| d.offset).collect();
    let records = trace_records(&cluster);
    let accepted = &accepted_offsets(&records)[&0];
    assert_eq!(accepted.len(), 20);
    let taken_over = stayer
        .deliveries()
        .iter()
        .filter(|d| crashed_offsets.contains(&d.offset))
        .count();
    assert!(
        taken_over > 0,
        "the stayer got the crasher's unfinished records"
    );
}
