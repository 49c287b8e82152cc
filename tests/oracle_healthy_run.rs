//! A healthy run through the real engines passes every checker the trace can decide: one share partition
//! (sans-IO), the share coordinator shard persisting its writes (write, replay, commit) and serving the
//! failover read, and three consumers fetching, acknowledging, letting locks expire, all seeded with a
//! fixed `StdRng`. Then a liveness phase: every record must end terminal. Also: the same seed gives the
//! same trace hash, a different seed a different one.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use sharesim::oracle::{Oracle, OracleConfig, OracleReport, Verdict};
use sharesim::sim::coordinator::share::{
    ShareCoordinatorConfig, ShareCoordinatorRecord, ShareCoordinatorShard, SharePartitionKey,
    TopicId,
};
use sharesim::sim::semantics::Semantics;
use sharesim::sim::share::partition::*;
use sharesim::sim::share::{AcknowledgeType, MemberId};
use sharesim::sim::trace::{RunMarker, ShareConsumerEvent, Trace, TraceEvent, TraceHash};

const LOG_END: i64 = 40;
const LOG_BATCH_SIZE: i64 = 3;
const MEMBERS: [&str; 3] = ["m0", "m1", "m2"];
const STEPS: usize = 120;
const LIVENESS_BOUND_MS: u64 = 600_000;

struct Run {
    trace: Trace,
    rng: StdRng,
    key: SharePartitionKey,
    config: SharePartitionConfig,
    shard: ShareCoordinatorShard,
    shard_log_end: u64,
    sp: SharePartition,
    leader_epoch: i32,
    now_ms: u64,
    /// What each member's application holds, not yet acknowledged.
    held: BTreeMap<usize, Vec<i64>>,
    /// The acknowledgements each pending ticket carries.
    tickets: BTreeMap<AcknowledgeTicket, (usize, Vec<(i64, AcknowledgeType)>)>,
}

impl Run {
    fn new(seed: u64) -> Run {
        let semantics = Semantics::default();
        let config = SharePartitionConfig {
            delivery_count_limit: 3,
            max_record_locks: 12,
            auto_offset_reset: AutoOffsetReset::Earliest,
            ..SharePartitionConfig::for_semantics(&semantics)
        };
        let key = SharePartitionKey {
            group_id: "g".into(),
            topic_id: TopicId(0x51),
            partition: 0,
        };
        let mut run = Run {
            trace: Trace::keeping_records(),
            rng: StdRng::seed_from_u64(seed),
            key,
            sp: SharePartition::new(config.clone(), semantics, 1),
            config,
            shard: ShareCoordinatorShard::new(0, ShareCoordinatorConfig::default()),
            shard_log_end: 0,
            leader_epoch: 1,
            now_ms: 0,
            held: BTreeMap::new(),
            tickets: BTreeMap::new(),
        };
        let marker = RunMarker::RunStarted { seed };
        run.trace.record(0, "sim", TraceEvent::Run { marker });
        let initialized = run.shard.handle_initialize(0, &run.key, 1, 0);
        assert_eq!(initialized.response, Ok(()));
        run.append(initialized.records);
        run.sp.begin_initialize(0);
        run.pump();
        run
    }

    /// Appends records to `__share_group_state`, replays and commits them (a healthy coordinator).
    fn append(&mut self, records: Vec<ShareCoordinatorRecord>) {
        for record in &records {
            self.shard.replay(self.shard_log_end, record);
            self.shard_log_end += 1;
        }
        self.shard.handle_commit(self.shard_log_end);
    }

    fn consumer_event(&mut self, member: usize, event: ShareConsumerEvent) {
        let event = TraceEvent::ShareConsumer {
            group_id: self.key.group_id.clone(),
            member: MemberId::new(MEMBERS[member]),
            event,
        };
        self.trace.record(self.now_ms, MEMBERS[member], event);
    }

    /// Performs every effect of the partition, tracing its events.
    fn pump(&mut self) {
        while let Some(effect) = self.sp.poll_effect() {
            match effect {
                PartitionEffect::Event(event) => {
                    let event = TraceEvent::SharePartition {
                        group_id: self.key.group_id.clone(),
                        topic_id: self.key.topic_id,
                        partition: self.key.partition,
                        leader_epoch: self.leader_epoch,
                        event,
                    };
                    self.trace.record(self.now_ms, "broker-1", event);
                }
                PartitionEffect::ReadState { leader_epoch } => {
                    let read = self.shard.handle_read(self.now_ms, &self.key, leader_epoch);
                    self.append(read.records);
                    let reset = ResetOffsets {
                        log_start_offset: 0,
                        high_watermark: LOG_END,
                        offset_by_duration: None,
                    };
                    self.sp
                        .handle_read_state_result(self.now_ms, read.response, reset);
                }
                PartitionEffect::WriteState { write_id, request } => {
                    let written = self.shard.handle_write(self.now_ms, &self.key, &request);
                    self.append(written.records);
                    self.sp
                        .handle_write_result(self.now_ms, write_id, written.response);
                }
                PartitionEffect::AcknowledgeCompleted { ticket, result } => {
                    let (member, acknowledgements) =
                        self.tickets.remove(&ticket).expect("a known ticket");
                    let error_code = result.err().map_or(0, |e| e.code());
                    self.ack_outcome(member, acknowledgements, error_code);
                }
                _ => {}
            }
        }
    }

    fn ack_outcome(
        &mut self,
        member: usize,
        acknowledgements: Vec<(i64, AcknowledgeType)>,
        error_code: i16,
    ) {
        let event = ShareConsumerEvent::AcknowledgementOutcome {
            topic_id: self.key.topic_id,
            partition: self.key.partition,
            acknowledgements,
            error_code,
        };
        self.consumer_event(member, event);
    }

    fn log_read(&self, fetch_offset: i64) -> FetchedLog {
        let mut batches = Vec::new();
        let mut base = fetch_offset.max(0) / LOG_BATCH_SIZE * LOG_BATCH_SIZE;
        while base < LOG_END && batches.len() < 4 {
            let last = (base + LOG_BATCH_SIZE - 1).min(LOG_END - 1);
            batches.push(LogBatch::data(base, last));
            base += LOG_BATCH_SIZE;
        }
        FetchedLog {
            fetch_offset,
            batches,
            aborted_transactions: Vec::new(),
        }
    }

    fn fetch(&mut self, member: usize, max_records: u32) {
        let log = self.log_read(self.sp.next_fetch_offset());
        let params = AcquireParams {
            max_records,
            batch_size: max_records,
            mode: AcquireMode::BatchOptimized,
        };
        let who = MemberId::new(MEMBERS[member]);
        let acquired = self
            .sp
            .handle_fetch(self.now_ms, &who, &log, params)
            .unwrap_or_default();
        self.pump();
        for range in acquired {
            for offset in range.first_offset..=range.last_offset {
                let event = ShareConsumerEvent::RecordDelivered {
                    topic_id: self.key.topic_id,
                    partition: self.key.partition,
                    offset,
                    delivery_count: range.delivery_count,
                };
                self.consumer_event(member, event);
                self.held.entry(member).or_default().push(offset);
            }
        }
    }

    fn acknowledge(&mut self, member: usize, acknowledgements: Vec<(i64, AcknowledgeType)>) {
        if acknowledgements.is_empty() {
            return;
        }
        let sent = ShareConsumerEvent::AcknowledgementsSent {
            topic_id: self.key.topic_id,
            partition: self.key.partition,
            acknowledgements: acknowledgements.clone(),
        };
        self.consumer_event(member, sent);
        let batches: Vec<AcknowledgementBatch> = acknowledgements
            .iter()
            .map(|&(offset, ack_type)| AcknowledgementBatch::of(offset, offset, ack_type))
            .collect();
        let who = MemberId::new(MEMBERS[member]);
        match self.sp.handle_acknowledge(self.now_ms, &who, &batches) {
            Ok(ticket) => {
                self.tickets.insert(ticket, (member, acknowledgements));
            }
            Err(error) => self.ack_outcome(member, acknowledgements, error.code()),
        }
        self.pump();
    }

    fn advance(&mut self, ms: u64) {
        self.now_ms += ms;
        self.sp.handle_timeout(self.now_ms);
        self.pump();
    }

    /// The new leader of the next epoch reads the persisted state (spec 3.5).
    fn failover(&mut self) {
        self.leader_epoch += 1;
        let semantics = Semantics::default();
        self.sp = SharePartition::new(self.config.clone(), semantics, self.leader_epoch);
        self.sp.begin_initialize(self.now_ms);
        self.pump();
    }

    fn step(&mut self, index: usize) {
        if index == STEPS / 2 {
            self.failover();
            return;
        }
        let member = self.rng.gen_range(0..MEMBERS.len());
        match self.rng.gen_range(0..10) {
            0..=3 => {
                let max_records = self.rng.gen_range(1..6);
                self.fetch(member, max_records);
            }
            4..=6 => {
                let held = self.held.remove(&member).unwrap_or_default();
                let mut acknowledgements = Vec::new();
                for offset in held {
                    let ack_type = match self.rng.gen_range(0..10) {
                        0 => AcknowledgeType::Release,
                        1 => AcknowledgeType::Reject,
                        _ => AcknowledgeType::Accept,
                    };
                    acknowledgements.push((offset, ack_type));
                }
                self.acknowledge(member, acknowledgements);
            }
            // The application stalls: its records' locks will expire.
            7 => {
                self.held.remove(&member);
            }
            _ => {
                let ms = self.rng.gen_range(1..20_000);
                self.advance(ms);
            }
        }
    }

    /// Faults healed, consumers polling and accepting everything, until SPSO passes the log end.
    fn liveness_phase(&mut self) {
        let marker = RunMarker::LivenessPhaseStarted {
            bound_ms: LIVENESS_BOUND_MS,
        };
        self.trace
            .record(self.now_ms, "sim", TraceEvent::Run { marker });
        for _ in 0..20 {
            if self.sp.start_offset() >= LOG_END {
                break;
            }
            self.held.clear();
            self.advance(self.config.record_lock_duration_ms + 1);
            for member in 0..MEMBERS.len() {
                self.fetch(member, 500);
                let held = self.held.remove(&member).unwrap_or_default();
                let accepts = held
                    .into_iter()
                    .map(|offset| (offset, AcknowledgeType::Accept))
                    .collect();
                self.acknowledge(member, accepts);
            }
        }
        self.advance(1);
        let marker = RunMarker::RunFinished;
        self.trace
            .record(self.now_ms, "sim", TraceEvent::Run { marker });
    }
}

fn run(seed: u64) -> (TraceHash, OracleReport) {
    let mut run = Run::new(seed);
    for index in 0..STEPS {
        run.step(index);
    }
    run.liveness_phase();
    let config = OracleConfig {
        delivery_count_limit: run.config.delivery_count_limit,
        max_record_locks: run.config.max_record_locks,
        in_flight_overshoot_max: (LOG_BATCH_SIZE - 1) as u32,
        ..OracleConfig::default()
    };
    let report = Oracle::check(&config, run.trace.records().expect("kept"));
    (run.trace.hash(), report)
}

#[test]
fn a_healthy_run_passes_every_decidable_invariant() {
    let (_, report) = run(7);
    for (code, verdict) in &report.verdicts {
        match *code {
            "MEMBERSHIP" => assert!(matches!(verdict, Verdict::Undecided(_)), "{verdict:?}"),
            _ => assert_eq!(verdict, &Verdict::Pass, "{code}"),
        }
    }
    let redelivered = report.metrics.get("redelivered.lock_expiry");
    assert!(redelivered > 0, "{:?}", report.metrics);
}

#[test]
fn healthy_runs_of_many_seeds_pass_the_oracle() {
    for seed in 1..=20 {
        let (_, report) = run(seed);
        let failures: Vec<String> = report.violations().iter().map(|v| v.to_string()).collect();
        assert!(failures.is_empty(), "seed {seed}: {failures:#?}");
    }
}

#[test]
fn the_same_seed_gives_the_same_trace_hash_and_another_seed_another() {
    let (first, _) = run(11);
    let (again, _) = run(11);
    let (other, _) = run(12);
    assert_eq!(first, again);
    assert_ne!(first, other);
}
