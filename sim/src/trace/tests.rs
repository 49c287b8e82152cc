//! The canonical record round-trips through its JSON lines, and the sink numbers and hashes it.

use std::collections::BTreeSet;

use super::*;
use crate::coordinator::group::GroupTraceEvent;
use crate::coordinator::share::TopicId;
use crate::share::partition::{PartitionEvent, TransitionCause};
use crate::share::{AcknowledgeType, MemberId, RecordState};

fn one_of_each() -> Vec<TraceEvent> {
    let topic_id = TopicId(u128::MAX - 7);
    vec![
        TraceEvent::Run {
            marker: RunMarker::RunStarted { seed: 42 },
        },
        TraceEvent::SharePartition {
            group_id: "g".into(),
            topic_id,
            partition: 0,
            leader_epoch: 3,
            event: PartitionEvent::Acquired {
                member: MemberId::new("a"),
                first_offset: 0,
                last_offset: 4,
                delivery_count: 1,
                lock_deadline_ms: 31_000,
            },
        },
        TraceEvent::SharePartition {
            group_id: "g".into(),
            topic_id,
            partition: 0,
            leader_epoch: 3,
            event: PartitionEvent::Transition {
                first_offset: 0,
                last_offset: 1,
                from: RecordState::Acquired,
                to: RecordState::Acknowledged,
                delivery_count: 1,
                limit_reached: false,
                member: Some(MemberId::new("a")),
                cause: TransitionCause::Acknowledge {
                    ack_type: AcknowledgeType::Accept,
                },
            },
        },
        TraceEvent::GroupCoordinator {
            event: GroupTraceEvent::AssignmentChanged {
                at_ms: 5,
                group_id: "g".into(),
                member_id: MemberId::new("a"),
                member_epoch: 2,
                partitions: BTreeSet::new(),
            },
        },
        TraceEvent::ShareConsumer {
            group_id: "g".into(),
            member: MemberId::new("a"),
            event: ShareConsumerEvent::AcknowledgementOutcome {
                topic_id,
                partition: 0,
                acknowledgements: vec![(0, AcknowledgeType::Accept), (1, AcknowledgeType::Release)],
                error_code: 0,
            },
        },
        TraceEvent::Transport {
            detail: "drop ShareFetch".into(),
        },
        TraceEvent::Fault {
            lever: "broker_crash".into(),
            detail: "broker-1".into(),
        },
        TraceEvent::Run {
            marker: RunMarker::LivenessPhaseStarted { bound_ms: 60_000 },
        },
    ]
}

#[test]
fn every_event_kind_round_trips_through_json_lines() {
    let mut trace = Trace::keeping_records_and_text();
    for (at_ms, event) in one_of_each().into_iter().enumerate() {
        trace.record(at_ms as u64, "node", event);
    }
    let text = std::str::from_utf8(trace.text().unwrap()).unwrap();
    let read = read_json_lines(text).expect("the trace reads back");
    assert_eq!(read, trace.records().unwrap());
    assert_eq!(
        read.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (0..8).collect::<Vec<_>>()
    );
}

#[test]
fn field_order_is_stable() {
    let mut trace = Trace::keeping_records_and_text();
    trace.record(
        7,
        "sim",
        TraceEvent::Run {
            marker: RunMarker::RunStarted { seed: 1 },
        },
    );
    let text = std::str::from_utf8(trace.text().unwrap()).unwrap();
    assert_eq!(
        text,
        concat!(
            r#"{"seq":0,"at_ms":7,"node":"sim","#,
            r#""event":{"run":{"marker":{"run_started":{"seed":1}}}}}"#,
            "\n"
        )
    );
}

#[test]
fn hashing_only_trace_hashes_like_the_text() {
    let mut hashing = Trace::hashing_only();
    let mut keeping = Trace::keeping_records_and_text();
    for (at_ms, event) in one_of_each().into_iter().enumerate() {
        hashing.record(at_ms as u64, "n", event.clone());
        keeping.record(at_ms as u64, "n", event);
    }
    let mut hasher = TraceHasher::new();
    hasher.update(keeping.text().unwrap());
    assert_eq!(hashing.hash(), hasher.finish());
    assert!(hashing.records().is_none());
    assert_eq!(hashing.len(), 8);
}

#[test]
fn a_bad_line_is_named_by_its_number() {
    let good = "{\"seq\":0,\"at_ms\":7,\"node\":\"sim\",\"event\":{\"run\":{\"marker\":\"run_finished\"}}}";
    let text = format!("{good}\n\n{{\"seq\":1,\"at_ms\":\"x\"}}\n");
    let error = read_json_lines(&text).unwrap_err();
    assert_eq!(error.line, 3);
    assert!(
        error.to_string().starts_with("trace line 3: invalid type"),
        "{error}"
    );
}

#[test]
fn a_gap_in_seq_is_an_error() {
    let line = |seq: u64| {
        let event = r#"{"run":{"marker":"run_finished"}}"#;
        format!(r#"{{"seq":{seq},"at_ms":7,"node":"sim","event":{event}}}"#)
    };
    let text = format!("{}\n{}\n", line(0), line(2));
    let error = read_json_lines(&text).unwrap_err();
    assert_eq!(
        error.to_string(),
        "trace line 2: seq 2 where 1 was expected"
    );
}
