//! Every checker against hand-made traces: one that breaks its rule (with the exact message) and one that
//! keeps it. The engine-driven healthy run is `tests/oracle_healthy_run.rs`.

use sharesim_sim::coordinator::share::TopicId;
use sharesim_sim::share::partition::{
    PartitionEvent, PartitionState, StartOffsetMoveCause, TransitionCause, WriteId, WritePurpose,
};
use sharesim_sim::share::{AcknowledgeType, MemberId, RecordState};
use sharesim_sim::trace::{RunMarker, ShareConsumerEvent, Trace, TraceEvent, TraceRecord};

use super::*;

const TOPIC: TopicId = TopicId(7);

/// Builds a trace of one share partition `g`/7-0 and its consumers.
struct Script {
    trace: Trace,
    leader_epoch: i32,
}

impl Script {
    fn new() -> Script {
        Script {
            trace: Trace::keeping_records(),
            leader_epoch: 1,
        }
    }

    fn partition(&mut self, at_ms: u64, event: PartitionEvent) -> &mut Self {
        let event = TraceEvent::SharePartition {
            group_id: "g".into(),
            topic_id: TOPIC,
            partition: 0,
            leader_epoch: self.leader_epoch,
            event,
        };
        self.trace.record(at_ms, "broker-1", event);
        self
    }

    fn consumer(&mut self, at_ms: u64, member: &str, event: ShareConsumerEvent) -> &mut Self {
        let event = TraceEvent::ShareConsumer {
            group_id: "g".into(),
            member: MemberId::new(member),
            event,
        };
        self.trace.record(at_ms, member, event);
        self
    }

    fn epoch(&mut self, leader_epoch: i32) -> &mut Self {
        self.leader_epoch = leader_epoch;
        self
    }

    fn acquire(
        &mut self,
        at_ms: u64,
        member: &str,
        first: i64,
        last: i64,
        count: u16,
    ) -> &mut Self {
        self.partition(
            at_ms,
            PartitionEvent::Acquired {
                member: MemberId::new(member),
                first_offset: first,
                last_offset: last,
                delivery_count: count,
                lock_deadline_ms: at_ms + 30_000,
            },
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn transition(
        &mut self,
        at_ms: u64,
        (first, last): (i64, i64),
        from: RecordState,
        to: RecordState,
        count: u16,
        member: Option<&str>,
        cause: TransitionCause,
    ) -> &mut Self {
        self.partition(
            at_ms,
            PartitionEvent::Transition {
                first_offset: first,
                last_offset: last,
                from,
                to,
                delivery_count: count,
                limit_reached: false,
                member: member.map(MemberId::new),
                cause,
            },
        )
    }

    fn accept(&mut self, at_ms: u64, member: &str, first: i64, last: i64) -> &mut Self {
        let cause = TransitionCause::Acknowledge {
            ack_type: AcknowledgeType::Accept,
        };
        let (from, to) = (RecordState::Acquired, RecordState::Acknowledged);
        self.transition(at_ms, (first, last), from, to, 1, Some(member), cause)
    }

    fn expire(&mut self, at_ms: u64, first: i64, last: i64, count: u16) -> &mut Self {
        let (from, to) = (RecordState::Acquired, RecordState::Available);
        self.transition(
            at_ms,
            (first, last),
            from,
            to,
            count,
            None,
            TransitionCause::LockExpiry,
        )
    }

    fn spso(&mut self, at_ms: u64, from: i64, to: i64, cause: StartOffsetMoveCause) -> &mut Self {
        self.partition(at_ms, PartitionEvent::StartOffsetMoved { from, to, cause })
    }

    fn speo(&mut self, at_ms: u64, from: i64, to: i64) -> &mut Self {
        self.partition(at_ms, PartitionEvent::EndOffsetMoved { from, to })
    }

    fn delivered(&mut self, at_ms: u64, member: &str, offset: i64) -> &mut Self {
        let event = ShareConsumerEvent::RecordDelivered {
            topic_id: TOPIC,
            partition: 0,
            offset,
            delivery_count: 1,
        };
        self.consumer(at_ms, member, event)
    }

    fn acks_sent(
        &mut self,
        at_ms: u64,
        member: &str,
        offsets: &[(i64, AcknowledgeType)],
    ) -> &mut Self {
        let event = ShareConsumerEvent::AcknowledgementsSent {
            topic_id: TOPIC,
            partition: 0,
            acknowledgements: offsets.to_vec(),
        };
        self.consumer(at_ms, member, event)
    }

    fn ack_outcome(
        &mut self,
        at_ms: u64,
        member: &str,
        offsets: &[(i64, AcknowledgeType)],
    ) -> &mut Self {
        let event = ShareConsumerEvent::AcknowledgementOutcome {
            topic_id: TOPIC,
            partition: 0,
            acknowledgements: offsets.to_vec(),
            error_code: 0,
        };
        self.consumer(at_ms, member, event)
    }

    fn marker(&mut self, at_ms: u64, marker: RunMarker) -> &mut Self {
        self.trace.record(at_ms, "sim", TraceEvent::Run { marker });
        self
    }

    fn records(&self) -> Vec<TraceRecord> {
        self.trace.records().unwrap().to_vec()
    }

    fn report(&self) -> OracleReport {
        let config = OracleConfig {
            delivery_count_limit: 2,
            max_record_locks: 4,
            in_flight_overshoot_max: 1,
            ..OracleConfig::default()
        };
        Oracle::check(&config, &self.records())
    }

    /// The one failing invariant's violation, as a line.
    fn only_failure(&self) -> String {
        let report = self.report();
        let failures: Vec<String> = report.violations().iter().map(|v| v.to_string()).collect();
        assert_eq!(failures.len(), 1, "{failures:#?}");
        failures[0].clone()
    }

    fn assert_passes(&self, code: &str) {
        let report = self.report();
        assert_eq!(
            report.verdict(code),
            Some(&Verdict::Pass),
            "{:#?}",
            report.violations()
        );
    }
}

const ACCEPT: AcknowledgeType = AcknowledgeType::Accept;

mod exclusive {
    use super::*;

    /// Spec 1.2 #1: an ACQUIRED record with a live lock is not handed to another member.
    #[test]
    fn fails_when_a_held_record_is_handed_out_again() {
        let mut s = Script::new();
        s.acquire(1_000, "a", 0, 1, 1).acquire(2_000, "b", 1, 1, 2);
        assert_eq!(
            s.only_failure(),
            "EXCLUSIVE at seq 1 (2000 ms): offset 1 handed to b while a held it with a lock until 31000 ms"
        );
        assert_eq!(s.report().violations()[0].event_seqs, vec![0, 1]);
    }

    /// Spec 1.2 #5: after the lock expired, another member may acquire it.
    #[test]
    fn passes_after_lock_expiry_and_after_failover() {
        let mut s = Script::new();
        s.acquire(1_000, "a", 0, 1, 1)
            .expire(31_000, 0, 1, 1)
            .acquire(31_000, "b", 0, 0, 2);
        s.epoch(2).acquire(32_000, "c", 0, 0, 2);
        s.assert_passes("EXCLUSIVE");
    }
}

mod terminal_final {
    use super::*;

    /// Spec 1.2: an ACKNOWLEDGED record is never acquired again.
    #[test]
    fn fails_when_an_acknowledged_record_is_acquired() {
        let mut s = Script::new();
        s.acquire(1_000, "a", 0, 0, 1)
            .accept(2_000, "a", 0, 0)
            .acquire(3_000, "b", 0, 0, 2);
        assert!(s.report().violations().iter().any(|v| v.to_string()
            == "TERMINAL-FINAL at seq 2 (3000 ms): offset 0 handed to b after it became Acknowledged"));
    }

    /// Spec 3.2: a rollback of an unpersisted acknowledgement may leave ACKNOWLEDGED.
    #[test]
    fn passes_a_rollback_out_of_a_terminal_state() {
        let mut s = Script::new();
        s.acquire(1_000, "a", 0, 0, 1).accept(2_000, "a", 0, 0);
        let (from, to) = (RecordState::Acknowledged, RecordState::Acquired);
        s.transition(
            2_001,
            (0, 0),
            from,
            to,
            1,
            Some("a"),
            TransitionCause::Rollback,
        );
        s.expire(31_000, 0, 0, 1).acquire(31_000, "b", 0, 0, 2);
        s.assert_passes("TERMINAL-FINAL");
    }
}

mod dc_limit {
    use super::*;

    /// Spec 1.3: a record is delivered at most `delivery.count.limit` times.
    #[test]
    fn fails_on_a_third_delivery_with_limit_two() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 0, 1).expire(30_000, 0, 0, 1);
        s.acquire(30_000, "a", 0, 0, 2).expire(60_000, 0, 0, 2);
        s.acquire(60_000, "a", 0, 0, 3);
        assert_eq!(
            s.only_failure(),
            "DC-LIMIT at seq 4 (60000 ms): offset 0 has delivery count 3, limit 2"
        );
    }

    /// Spec 3.5: the count restarts from the persisted one after failover; counted, not a violation.
    #[test]
    fn passes_a_redelivery_across_failover_and_counts_it() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 0, 1).expire(30_000, 0, 0, 1);
        s.acquire(30_000, "a", 0, 0, 2);
        s.epoch(2).acquire(31_000, "b", 0, 0, 2);
        s.assert_passes("DC-LIMIT");
        assert_eq!(
            s.report()
                .metrics
                .get("deliveries_beyond_limit_across_failover"),
            1
        );
    }
}

mod spso_safe {
    use super::*;

    /// Spec 1.6: SPSO passes only terminal records.
    #[test]
    fn fails_when_spso_passes_an_acquired_record() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 1, 1).accept(1, "a", 0, 0).spso(
            2,
            0,
            2,
            StartOffsetMoveCause::Advance,
        );
        assert_eq!(
            s.only_failure(),
            "SPSO-SAFE at seq 2 (2 ms): SPSO advanced from 0 to 2 past offset 1 in state Acquired"
        );
    }

    /// Spec 1.6: SPSO never moves backwards.
    #[test]
    fn fails_when_spso_moves_backwards() {
        let mut s = Script::new();
        s.spso(0, 5, 3, StartOffsetMoveCause::Advance);
        assert_eq!(
            s.only_failure(),
            "SPSO-SAFE at seq 0 (0 ms): SPSO moved backwards from 5 to 3 (Advance)"
        );
    }

    #[test]
    fn passes_an_advance_over_terminal_records() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 1, 1).accept(1, "a", 0, 1).spso(
            2,
            0,
            2,
            StartOffsetMoveCause::Advance,
        );
        s.assert_passes("SPSO-SAFE");
    }

    fn write_started(s: &mut Script, at_ms: u64, write_id: u64) {
        s.partition(
            at_ms,
            PartitionEvent::WriteStarted {
                write_id: WriteId(write_id),
                purpose: WritePurpose::Acknowledge,
                start_offset: 0,
                state_batch_count: 1,
            },
        );
    }

    /// Spec 1.6: SPSO passes only durable terminal states; an ACCEPT whose write is in flight is not.
    #[test]
    fn fails_when_spso_passes_an_acceptance_whose_write_is_in_flight() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 1, 1).accept(1, "a", 0, 1);
        write_started(&mut s, 1, 3);
        s.spso(1, 0, 2, StartOffsetMoveCause::Advance);
        assert_eq!(
            s.only_failure(),
            "SPSO-SAFE at seq 3 (1 ms): SPSO advanced from 0 to 2 past offset 0, whose transition \
             waits for write 3"
        );
    }

    /// Spec 1.6: once the write committed, SPSO may pass the records.
    #[test]
    fn passes_an_advance_after_the_write_committed() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 1, 1).accept(1, "a", 0, 1);
        write_started(&mut s, 1, 3);
        s.partition(
            2,
            PartitionEvent::WriteCommitted {
                write_id: WriteId(3),
            },
        )
        .spso(2, 0, 2, StartOffsetMoveCause::Advance);
        s.assert_passes("SPSO-SAFE");
    }
}

mod owner {
    use super::*;

    /// Spec 1.2 #2: a member acknowledges only its own records.
    #[test]
    fn fails_when_a_member_acknowledges_another_members_record() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 0, 1).accept(1, "b", 0, 0);
        assert_eq!(
            s.only_failure(),
            "OWNER at seq 1 (1 ms): acknowledgement by b changed offset 0, held by a"
        );
    }

    #[test]
    fn passes_own_acknowledgements_and_session_release() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 1, 1).accept(1, "a", 0, 0);
        let (from, to) = (RecordState::Acquired, RecordState::Available);
        s.transition(
            2,
            (1, 1),
            from,
            to,
            1,
            Some("a"),
            TransitionCause::SessionRelease,
        );
        s.assert_passes("OWNER");
    }
}

mod inflight_cap {
    use super::*;

    /// Spec 1.5: SPEO grows only while the window is below `max.record.locks` (4 here).
    #[test]
    fn fails_when_speo_grows_from_a_full_window() {
        let mut s = Script::new();
        s.spso(0, 0, 0, StartOffsetMoveCause::Initialization)
            .speo(1, -1, 3)
            .speo(2, 3, 4);
        assert_eq!(
            s.only_failure(),
            "INFLIGHT-CAP at seq 2 (2 ms): SPEO grew from 3 to 4 with 4 records in flight, limit 4"
        );
    }

    #[test]
    fn passes_a_window_within_the_limit_plus_overshoot() {
        let mut s = Script::new();
        s.spso(0, 0, 0, StartOffsetMoveCause::Initialization)
            .speo(1, -1, 4);
        s.spso(2, 0, 3, StartOffsetMoveCause::Advance).speo(3, 4, 6);
        s.assert_passes("INFLIGHT-CAP");
    }

    /// Spec 2.5, 3.4: the same leader re-initializes its share partition after dropping it (a group
    /// left empty); the new partition's window starts afresh, not from the old one's full window.
    #[test]
    fn a_reinitialized_partition_starts_a_new_window() {
        let mut s = Script::new();
        s.spso(0, 0, 0, StartOffsetMoveCause::Initialization)
            .speo(1, -1, 3);
        s.partition(
            2,
            PartitionEvent::PartitionStateChanged {
                from: PartitionState::Empty,
                to: PartitionState::Initializing,
                error_code: 0,
            },
        );
        s.spso(3, 0, 0, StartOffsetMoveCause::Initialization)
            .speo(4, -1, 2);
        s.assert_passes("INFLIGHT-CAP");
    }
}

mod batch_wf {
    use super::*;

    /// One response never hands out an offset twice.
    #[test]
    fn fails_when_one_response_repeats_an_offset() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 2, 1).acquire(0, "a", 2, 3, 1);
        let report = s.report();
        let batch = report.verdict("BATCH-WF").unwrap();
        let Verdict::Fail(violation) = batch else {
            panic!("{batch:?}")
        };
        assert_eq!(
            violation.to_string(),
            "BATCH-WF at seq 1 (0 ms): one response handed offset 2 to a twice"
        );
    }

    #[test]
    fn fails_on_a_reversed_range() {
        let mut s = Script::new();
        s.acquire(0, "a", 3, 2, 1);
        assert_eq!(
            s.only_failure(),
            "BATCH-WF at seq 0 (0 ms): acquired range [3, 2] is not well formed"
        );
    }

    #[test]
    fn passes_disjoint_ranges_in_one_response() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 2, 1).acquire(0, "a", 3, 5, 1);
        s.assert_passes("BATCH-WF");
    }
}

mod ack_outcome {
    use super::*;

    /// Spec 7.3: an outcome is reported once per acknowledgement.
    #[test]
    fn fails_when_an_outcome_is_reported_twice() {
        let mut s = Script::new();
        s.acks_sent(0, "a", &[(0, ACCEPT)])
            .ack_outcome(1, "a", &[(0, ACCEPT)])
            .ack_outcome(2, "a", &[(0, ACCEPT)]);
        assert_eq!(
            s.only_failure(),
            "ACK-OUTCOME at seq 2 (2 ms): outcome for offset 0 reported to a, no acknowledgement waiting"
        );
    }

    /// Every acknowledgement reaches an outcome within the liveness bound.
    #[test]
    fn fails_when_an_acknowledgement_never_gets_an_outcome() {
        let mut s = Script::new();
        s.marker(0, RunMarker::LivenessPhaseStarted { bound_ms: 10 })
            .acks_sent(1, "a", &[(4, ACCEPT)]);
        s.marker(20, RunMarker::RunFinished);
        assert_eq!(
            s.only_failure(),
            "ACK-OUTCOME at seq 1 (1 ms): offset 4 acknowledged by a at 1 ms, no outcome by 10 ms"
        );
    }

    /// A consumer that crashes with an acknowledgement in flight (the `consumer_crash` lever) leaves no
    /// application to report to: its waiting acknowledgement is no violation (cluster swarm seed 83).
    #[test]
    fn passes_an_acknowledgement_whose_consumer_crashed() {
        let mut s = Script::new();
        s.acks_sent(1, "consumer-0-2", &[(0, ACCEPT)]);
        s.trace.record(
            2,
            "sim",
            TraceEvent::Fault {
                lever: "consumer_crash".into(),
                detail: "pull: crash consumer:0/2".into(),
            },
        );
        s.marker(40_000, RunMarker::RunFinished);
        s.assert_passes("ACK-OUTCOME");
    }

    /// Every acknowledgement reaches an outcome within `request.timeout.ms`, also in a run that drained
    /// before the liveness bound (the broker dropped it: never applied, never answered).
    #[test]
    fn fails_when_a_drained_run_ends_with_an_acknowledgement_waiting_past_the_request_timeout() {
        let mut s = Script::new();
        s.acks_sent(1, "a", &[(4, ACCEPT)])
            .marker(
                30_000,
                RunMarker::LivenessPhaseStarted { bound_ms: 120_000 },
            )
            .acks_sent(31_000, "a", &[(5, ACCEPT)])
            .marker(31_500, RunMarker::RunFinished);
        assert_eq!(
            s.only_failure(),
            "ACK-OUTCOME at seq 0 (1 ms): offset 4 acknowledged by a at 1 ms, no outcome by the end of \
             the run at 31500 ms (request.timeout.ms 30000)"
        );
    }

    /// An acknowledgement sent shortly before a drained run ended may still be waiting.
    #[test]
    fn passes_a_drained_run_ending_with_a_recent_acknowledgement_waiting() {
        let mut s = Script::new();
        s.marker(
            30_000,
            RunMarker::LivenessPhaseStarted { bound_ms: 120_000 },
        )
        .acks_sent(31_000, "a", &[(5, ACCEPT)])
        .marker(31_500, RunMarker::RunFinished);
        s.assert_passes("ACK-OUTCOME");
    }

    #[test]
    fn passes_one_outcome_per_acknowledgement() {
        let mut s = Script::new();
        s.acks_sent(0, "a", &[(0, ACCEPT), (1, ACCEPT)])
            .ack_outcome(1, "a", &[(0, ACCEPT), (1, ACCEPT)]);
        s.acks_sent(2, "a", &[(0, ACCEPT)])
            .ack_outcome(3, "a", &[(0, ACCEPT)]);
        s.assert_passes("ACK-OUTCOME");
    }
}

mod durable {
    use super::*;

    /// Spec 3.2: an acknowledgement reported successful survives failover.
    #[test]
    fn fails_when_a_successfully_accepted_record_is_redelivered_after_failover() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 0, 1)
            .accept(1, "a", 0, 0)
            .acks_sent(1, "a", &[(0, ACCEPT)]);
        s.ack_outcome(2, "a", &[(0, ACCEPT)])
            .epoch(2)
            .acquire(3, "b", 0, 0, 1);
        assert_eq!(
            s.only_failure(),
            "DURABLE at seq 4 (3 ms): offset 0 handed to b after a was told its Accept succeeded"
        );
    }

    /// Spec 2.2: an ACCEPT of a record already archived below SPSO is skipped yet answered successfully;
    /// it changed nothing, so a failover that brings the record back breaks no promise.
    #[test]
    fn passes_redelivery_after_a_skipped_acceptance() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 0, 2)
            .expire(10, 0, 0, 2)
            .acks_sent(11, "a", &[(0, ACCEPT)])
            .ack_outcome(11, "a", &[(0, ACCEPT)]);
        s.epoch(2).acquire(20, "b", 0, 0, 2);
        s.assert_passes("DURABLE");
    }

    /// Spec 3.2 (regression, swarm seed 361): an ACCEPT whose write failed was rolled back and answered
    /// with an error; the record's lock then expired, it was archived, and a second ACCEPT by the same
    /// member was skipped (below SPSO) yet answered successfully. The lock-expiry writes had failed too
    /// (final in memory only), so the next leader hands the record out again: no promise is broken.
    #[test]
    fn passes_redelivery_after_a_rolled_back_acceptance_and_a_skipped_one() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 0, 1)
            .acks_sent(1, "a", &[(0, ACCEPT)])
            .accept(1, "a", 0, 0);
        s.transition(
            1,
            (0, 0),
            RecordState::Acknowledged,
            RecordState::Acquired,
            1,
            None,
            TransitionCause::Rollback,
        );
        let failed = ShareConsumerEvent::AcknowledgementOutcome {
            topic_id: TOPIC,
            partition: 0,
            acknowledgements: vec![(0, ACCEPT)],
            error_code: 15,
        };
        s.consumer(1, "a", failed);
        s.expire(10, 0, 0, 1)
            .acquire(10, "a", 0, 0, 2)
            .expire(20, 0, 0, 2)
            .acks_sent(21, "a", &[(0, ACCEPT)])
            .ack_outcome(21, "a", &[(0, ACCEPT)]);
        s.epoch(2).acquire(30, "b", 0, 0, 1);
        s.assert_passes("DURABLE");
    }

    /// Spec 3.5 (zombie leaders, cluster seed 1 of `a_zombie_leaders_write_is_fenced_on_the_cluster`):
    /// the old leader, still acting with epoch 1, hands out a record the leader of epoch 2 had accepted;
    /// a stale delivery the zombie cannot make durable (its next write is fenced), not a broken promise.
    #[test]
    fn passes_a_zombie_handing_out_a_record_the_new_leader_accepted() {
        let mut s = Script::new();
        s.epoch(2)
            .acquire(0, "b", 0, 0, 1)
            .accept(1, "b", 0, 0)
            .acks_sent(1, "b", &[(0, ACCEPT)]);
        s.ack_outcome(2, "b", &[(0, ACCEPT)])
            .epoch(1)
            .acquire(3, "a", 0, 0, 1);
        s.assert_passes("DURABLE");
    }

    #[test]
    fn passes_redelivery_of_a_released_record() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 0, 1)
            .ack_outcome(2, "a", &[(0, AcknowledgeType::Release)]);
        s.epoch(2).acquire(3, "b", 0, 0, 1);
        s.assert_passes("DURABLE");
    }
}

mod fencing {
    use super::*;

    /// Spec 2.2: a zombie leader's write with an old epoch is fenced.
    #[test]
    fn fails_when_a_stale_epoch_write_commits() {
        let mut s = Script::new();
        s.epoch(2).partition(
            0,
            PartitionEvent::WriteCommitted {
                write_id: WriteId(1),
            },
        );
        s.epoch(1).partition(
            1,
            PartitionEvent::WriteCommitted {
                write_id: WriteId(9),
            },
        );
        assert_eq!(
            s.only_failure(),
            "FENCING at seq 1 (1 ms): write 9 of leader epoch 1 committed after one of epoch 2"
        );
    }

    fn active(s: &mut Script, at_ms: u64) {
        s.partition(
            at_ms,
            PartitionEvent::PartitionStateChanged {
                from: PartitionState::Initializing,
                to: PartitionState::Active,
                error_code: 0,
            },
        );
    }

    fn started(s: &mut Script, at_ms: u64, write_id: u64) {
        s.partition(
            at_ms,
            PartitionEvent::WriteStarted {
                write_id: WriteId(write_id),
                purpose: WritePurpose::Acknowledge,
                start_offset: 0,
                state_batch_count: 1,
            },
        );
    }

    /// Spec 3.4: a newer leader's ReadShareGroupState fences older leaders, so a write the zombie sends
    /// after the newer leader became ACTIVE must not commit, even before the newer leader wrote anything.
    #[test]
    fn fails_when_a_zombie_write_sent_after_a_newer_leader_read_the_state_commits() {
        let mut s = Script::new();
        active(s.epoch(2), 10);
        started(s.epoch(1), 12, 4);
        s.partition(
            13,
            PartitionEvent::WriteCommitted {
                write_id: WriteId(4),
            },
        );
        assert_eq!(
            s.only_failure(),
            "FENCING at seq 2 (13 ms): write 4 of leader epoch 1 committed, sent after the leader of \
             epoch 2 had read the state"
        );
        let report = s.report();
        let Some(Verdict::Fail(violation)) = report.verdict("FENCING") else {
            panic!("FENCING must fail");
        };
        assert_eq!(violation.event_seqs, [0, 1, 2]);
    }

    /// Spec 3.4: a zombie write sent before the newer leader read the state may commit; one sent after
    /// that is fenced (fails) and breaks nothing.
    #[test]
    fn passes_a_zombie_write_sent_before_the_newer_leader_read_and_a_fenced_one_after() {
        let mut s = Script::new();
        started(&mut s, 10, 4);
        active(s.epoch(2), 11);
        started(s.epoch(1), 12, 5);
        s.partition(
            13,
            PartitionEvent::WriteCommitted {
                write_id: WriteId(4),
            },
        );
        s.partition(
            14,
            PartitionEvent::WriteFailed {
                write_id: WriteId(5),
                error_code: 6,
                rolled_back: true,
            },
        );
        s.assert_passes("FENCING");
    }

    #[test]
    fn passes_writes_of_rising_epochs() {
        let mut s = Script::new();
        s.partition(
            0,
            PartitionEvent::WriteCommitted {
                write_id: WriteId(1),
            },
        );
        s.epoch(2).partition(
            1,
            PartitionEvent::WriteCommitted {
                write_id: WriteId(1),
            },
        );
        s.assert_passes("FENCING");
    }
}

mod liveness {
    use super::*;

    /// Design "liveness phase": every record terminal by the end.
    #[test]
    fn fails_when_a_record_is_still_acquired_at_the_end() {
        let mut s = Script::new();
        s.marker(0, RunMarker::LivenessPhaseStarted { bound_ms: 100 })
            .acquire(1, "a", 0, 0, 1);
        s.marker(200, RunMarker::RunFinished);
        let failure = s.only_failure();
        assert_eq!(
            failure,
            "LIVENESS at seq 1 (1 ms): offset 0 of g/00000000000000000000000000000007-0 still Acquired at \
             the end, liveness phase from 0 ms, bound 100 ms"
        );
    }

    #[test]
    fn is_undecided_without_a_liveness_phase_and_passes_when_everything_is_terminal() {
        let mut s = Script::new();
        s.acquire(1, "a", 0, 0, 1);
        assert!(matches!(
            s.report().verdict("LIVENESS"),
            Some(Verdict::Undecided(_))
        ));
        s.marker(2, RunMarker::LivenessPhaseStarted { bound_ms: 100 })
            .accept(3, "a", 0, 0);
        s.assert_passes("LIVENESS");
    }
}

mod no_loss {
    use super::*;

    /// Nothing is skipped silently: a member accepts only what its application got.
    #[test]
    fn fails_when_a_member_accepts_an_undelivered_record() {
        let mut s = Script::new();
        s.delivered(0, "a", 0)
            .acks_sent(1, "a", &[(0, ACCEPT), (1, ACCEPT)]);
        assert_eq!(
            s.only_failure(),
            "NO-LOSS at seq 1 (1 ms): a accepted offset 1 that its application never got"
        );
    }

    /// Spec 3.5: a new leader starts at the persisted SPSO, never past a record left non-terminal.
    #[test]
    fn fails_when_a_new_leader_skips_an_available_record() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 1, 1).accept(1, "a", 0, 0);
        s.epoch(2)
            .spso(2, 0, 2, StartOffsetMoveCause::Initialization);
        assert_eq!(
            s.only_failure(),
            "NO-LOSS at seq 2 (2 ms): leader epoch 2 started at SPSO 2 (from 0), \
             skipping offset 1 left Acquired"
        );
    }

    #[test]
    fn passes_delivered_then_accepted_records() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 0, 1)
            .delivered(0, "a", 0)
            .acks_sent(1, "a", &[(0, ACCEPT)])
            .accept(1, "a", 0, 0);
        s.epoch(2)
            .spso(2, 0, 1, StartOffsetMoveCause::Initialization);
        s.assert_passes("NO-LOSS");
    }
}

mod metrics {
    use super::*;

    /// Counted but allowed: redeliveries by cause, archives by cause, duplicates, out-of-order deliveries.
    #[test]
    fn counts_redeliveries_archives_duplicates_and_reordering() {
        let mut s = Script::new();
        s.acquire(0, "a", 0, 1, 1)
            .delivered(0, "a", 1)
            .delivered(0, "a", 0)
            .expire(30_000, 0, 1, 1);
        s.acquire(30_000, "b", 0, 0, 2).delivered(30_000, "b", 0);
        let (from, to) = (RecordState::Available, RecordState::Archived);
        s.transition(
            30_001,
            (1, 1),
            from,
            to,
            1,
            None,
            TransitionCause::LogStartOffsetMove,
        );
        let metrics = s.report().metrics;
        let counted: Vec<(&str, u64)> = metrics.iter().collect();
        assert_eq!(
            counted,
            vec![
                ("archived.log_start_offset_move", 1),
                ("duplicate_deliveries", 1),
                ("out_of_order_deliveries", 1),
                ("redelivered.lock_expiry", 1),
            ]
        );
    }
}

mod membership {
    use std::collections::BTreeSet;

    use sharesim_sim::coordinator::group::{EpochBumpCause, GroupTraceEvent, MemberRemovalCause};
    use sharesim_sim::coordinator::share::TopicIdPartition;

    use super::*;

    fn group(s: &mut Script, at_ms: u64, node: &str, event: GroupTraceEvent) {
        s.trace
            .record(at_ms, node, TraceEvent::GroupCoordinator { event });
    }

    fn joined(s: &mut Script, at_ms: u64, member: &str) {
        let event = GroupTraceEvent::MemberJoined {
            at_ms,
            group_id: "g".into(),
            member_id: MemberId::new(member),
        };
        group(s, at_ms, "broker-1", event);
    }

    fn bumped(s: &mut Script, at_ms: u64, node: &str, group_epoch: i32) {
        let event = GroupTraceEvent::GroupEpochBumped {
            at_ms,
            group_id: "g".into(),
            group_epoch,
            cause: EpochBumpCause::SubscriptionChanged,
        };
        group(s, at_ms, node, event);
    }

    fn assigned(
        s: &mut Script,
        at_ms: u64,
        node: &str,
        member: &str,
        member_epoch: i32,
        partitions: &[i32],
    ) {
        let partitions: BTreeSet<TopicIdPartition> = partitions
            .iter()
            .map(|&partition| TopicIdPartition {
                topic_id: TOPIC,
                partition,
            })
            .collect();
        let event = GroupTraceEvent::AssignmentChanged {
            at_ms,
            group_id: "g".into(),
            member_id: MemberId::new(member),
            member_epoch,
            partitions,
        };
        group(s, at_ms, node, event);
    }

    fn removed(s: &mut Script, at_ms: u64, member: &str) {
        let event = GroupTraceEvent::MemberRemoved {
            at_ms,
            group_id: "g".into(),
            member_id: MemberId::new(member),
            cause: MemberRemovalCause::SessionTimeout,
        };
        group(s, at_ms, "broker-1", event);
    }

    /// Spec 4.1: a member fenced by its session timeout owns nothing until it joins again.
    #[test]
    fn fails_when_a_removed_member_gets_an_assignment() {
        let mut s = Script::new();
        joined(&mut s, 0, "a");
        bumped(&mut s, 0, "broker-1", 1);
        assigned(&mut s, 0, "broker-1", "a", 1, &[0]);
        removed(&mut s, 50_000, "a");
        bumped(&mut s, 50_000, "broker-1", 2);
        assigned(&mut s, 51_000, "broker-1", "a", 2, &[0]);
        assert_eq!(
            s.only_failure(),
            "MEMBERSHIP at seq 5 (51000 ms): a was given 1 partitions at epoch 2 after it was removed \
             (SessionTimeout) without joining again"
        );
        assert_eq!(s.report().violations()[0].event_seqs, vec![3, 5]);
    }

    /// Spec 4.1: member epochs only move forward.
    #[test]
    fn fails_when_a_member_epoch_goes_back() {
        let mut s = Script::new();
        joined(&mut s, 0, "a");
        bumped(&mut s, 0, "broker-1", 3);
        assigned(&mut s, 0, "broker-1", "a", 3, &[0]);
        assigned(&mut s, 5_000, "broker-1", "a", 2, &[0]);
        assert_eq!(
            s.only_failure(),
            "MEMBERSHIP at seq 3 (5000 ms): a's member epoch went back from 3 to 2"
        );
    }

    /// Spec 4.2: once every member reconciled, loads differ by at most one.
    #[test]
    fn fails_when_the_converged_assignment_is_unbalanced() {
        let mut s = Script::new();
        joined(&mut s, 0, "a");
        joined(&mut s, 0, "b");
        bumped(&mut s, 0, "broker-1", 2);
        assigned(&mut s, 0, "broker-1", "a", 2, &[0, 1, 2]);
        assigned(&mut s, 10, "broker-1", "b", 2, &[3]);
        assert_eq!(
            s.only_failure(),
            "MEMBERSHIP at seq 4 (10 ms): at group epoch 2 member loads range from 1 to 3 partitions; \
             the simple assignor keeps them within one"
        );
    }

    /// Spec 4.2: each partition is shared by ceil(M/P) members, the same number within a topic.
    #[test]
    fn fails_when_sharing_misses_the_desired_count() {
        let mut s = Script::new();
        joined(&mut s, 0, "a");
        joined(&mut s, 0, "b");
        bumped(&mut s, 0, "broker-1", 2);
        assigned(&mut s, 0, "broker-1", "a", 2, &[0, 1]);
        assigned(&mut s, 0, "broker-1", "b", 2, &[0, 1]);
        assert!(s.only_failure().ends_with(
            "at group epoch 2 each of 2 partitions is shared by 2 of 2 members; the simple assignor \
             shares each by ceil(M/P) = 1"
        ));
        let mut s = Script::new();
        for member in ["a", "b", "c"] {
            joined(&mut s, 0, member);
        }
        bumped(&mut s, 0, "broker-1", 2);
        assigned(&mut s, 0, "broker-1", "a", 2, &[0]);
        assigned(&mut s, 0, "broker-1", "b", 2, &[0]);
        assigned(&mut s, 0, "broker-1", "c", 2, &[1]);
        assert!(s
            .only_failure()
            .contains("shared unevenly (by {1, 2} members)"));
    }

    /// Spec 4.1, 4.2 (swarm seeds 19 and 149 on the cluster): epoch 5's target is for four members; one
    /// that never reconciled is fenced by its session timeout before the epoch moves on. The three left
    /// hold three quarters of a balanced target, which is not a converged assignment. The same
    /// reconciled assignment without the removal, or an uneven one at the next epoch, still fails.
    #[test]
    fn judges_a_target_only_over_the_members_it_was_computed_for() {
        let four_members_at_epoch_5 = |s: &mut Script| {
            for member in ["a", "b", "c", "d"] {
                joined(s, 0, member);
            }
            bumped(s, 0, "broker-1", 4);
            assigned(s, 0, "broker-1", "d", 4, &[2]);
            bumped(s, 1_000, "broker-1", 5);
            assigned(s, 1_000, "broker-1", "a", 5, &[1, 2]);
            assigned(s, 1_000, "broker-1", "b", 5, &[0, 1]);
            assigned(s, 1_000, "broker-1", "c", 5, &[0]);
        };
        let mut s = Script::new();
        four_members_at_epoch_5(&mut s);
        removed(&mut s, 45_000, "d");
        bumped(&mut s, 45_000, "broker-1", 6);
        assigned(&mut s, 46_000, "broker-1", "a", 6, &[1]);
        assigned(&mut s, 46_000, "broker-1", "b", 6, &[2]);
        assigned(&mut s, 46_000, "broker-1", "c", 6, &[0]);
        s.assert_passes("MEMBERSHIP");

        let mut s = Script::new();
        four_members_at_epoch_5(&mut s);
        assigned(&mut s, 2_000, "broker-1", "d", 5, &[]);
        assert!(s
            .only_failure()
            .contains("at group epoch 5 the partitions of topic"));

        let mut s = Script::new();
        four_members_at_epoch_5(&mut s);
        removed(&mut s, 45_000, "d");
        bumped(&mut s, 45_000, "broker-1", 6);
        assigned(&mut s, 46_000, "broker-1", "a", 6, &[1, 2]);
        assigned(&mut s, 46_000, "broker-1", "b", 6, &[0, 1]);
        assigned(&mut s, 46_000, "broker-1", "c", 6, &[0]);
        assert!(s.only_failure().starts_with(
            "MEMBERSHIP at seq 14 (46000 ms): at group epoch 6 the partitions of topic"
        ));
    }

    /// Spec 4.2: three members on one partition all share it (ceil(3/1) = 3).
    #[test]
    fn passes_a_shared_partition() {
        let mut s = Script::new();
        for member in ["a", "b", "c"] {
            joined(&mut s, 0, member);
        }
        bumped(&mut s, 0, "broker-1", 2);
        for member in ["a", "b", "c"] {
            assigned(&mut s, 0, "broker-1", member, 2, &[0]);
        }
        s.assert_passes("MEMBERSHIP");
    }

    /// Design table: in the liveness phase a member that neither heartbeats nor is removed breaks
    /// convergence once the session timeout (and two heartbeats) passed.
    #[test]
    fn fails_when_a_dead_member_is_never_removed() {
        let mut s = Script::new();
        joined(&mut s, 0, "a");
        joined(&mut s, 0, "b");
        bumped(&mut s, 0, "broker-1", 1);
        assigned(&mut s, 0, "broker-1", "a", 1, &[0]);
        assigned(&mut s, 0, "broker-1", "b", 1, &[1]);
        s.marker(1_000, RunMarker::LivenessPhaseStarted { bound_ms: 120_000 });
        bumped(&mut s, 2_000, "broker-1", 2);
        assigned(&mut s, 3_000, "broker-1", "a", 2, &[0, 1]);
        s.marker(100_000, RunMarker::RunFinished);
        assert_eq!(
            s.only_failure(),
            "MEMBERSHIP at seq 8 (100000 ms): b is still at epoch 1 98000 ms after group g moved to \
             epoch 2: neither reconciled nor removed after the session timeout"
        );
    }

    /// Spec 4.1: leave, rejoin, reconcile; a failed-over coordinator (another node) starts its own
    /// epochs from its log; a fenced member removed in time converges.
    #[test]
    fn passes_rejoin_failover_and_timely_removal() {
        let mut s = Script::new();
        joined(&mut s, 0, "a");
        joined(&mut s, 0, "b");
        bumped(&mut s, 0, "broker-1", 2);
        assigned(&mut s, 0, "broker-1", "a", 2, &[0]);
        assigned(&mut s, 0, "broker-1", "b", 2, &[1]);
        s.marker(1_000, RunMarker::LivenessPhaseStarted { bound_ms: 120_000 });
        removed(&mut s, 46_000, "b");
        bumped(&mut s, 46_000, "broker-1", 3);
        assigned(&mut s, 48_000, "broker-1", "a", 3, &[0, 1]);
        joined(&mut s, 50_000, "b");
        bumped(&mut s, 50_000, "broker-1", 4);
        assigned(&mut s, 50_000, "broker-1", "b", 4, &[1]);
        assigned(&mut s, 52_000, "broker-1", "a", 4, &[0]);
        // The coordinator moved; its reload is not traced, and its epochs are its own.
        assigned(&mut s, 60_000, "broker-2", "a", 3, &[0, 1]);
        s.marker(200_000, RunMarker::RunFinished);
        s.assert_passes("MEMBERSHIP");
    }
}

/// The design table's codes, in order, each with a verdict.
#[test]
fn every_invariant_of_the_table_gets_a_verdict() {
    let report = Script::new().report();
    let codes: Vec<&str> = report.verdicts.iter().map(|(code, _)| *code).collect();
    assert_eq!(
        codes,
        vec![
            "NO-LOSS",
            "EXCLUSIVE",
            "TERMINAL-FINAL",
            "DC-LIMIT",
            "SPSO-SAFE",
            "LIVENESS",
            "OWNER",
            "DURABLE",
            "FENCING",
            "INFLIGHT-CAP",
            "BATCH-WF",
            "ACK-OUTCOME",
            "MEMBERSHIP"
        ]
    );
}
