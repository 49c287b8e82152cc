//! The implementation model: stateright explores the real share-partition engine and the real share
//! coordinator shard, driven by the spec's action vocabulary (see the module docs of `pairing`).

use std::hash::{Hash, Hasher};

use sharesim_model::check::{run_check, CheckOptions, CheckReport};
use sharesim_model::state::{
    violation, Budgets, Member, MemberStatus, OffsetMask, RecordState, Rollback, WriteKind,
    MEMBERS_MAX, RECORDS_MAX,
};
use sharesim_model::{AckType, ShareAction, ShareModel, ShareModelCfg, ShareState};
use sharesim_sim::coordinator::share::{
    ShareCoordinatorConfig, ShareCoordinatorRecord, ShareCoordinatorShard, SharePartitionKey,
    TopicId, TopicIdPartition,
};
use sharesim_sim::semantics::{Release, Semantics};
use sharesim_sim::share::partition::{
    AcknowledgeTicket, AcknowledgementBatch, AcquireMode, AcquireParams, AutoOffsetReset,
    EngineMutation, FetchedLog, IsolationLevel, LogBatch, PartitionEffect, ResetOffsets,
    SharePartition, SharePartitionConfig, WriteId,
};
use sharesim_sim::share::{
    AcknowledgeType, MemberId, RecordState as EngineRecordState, WriteShareGroupState,
};
use sharesim_sim::ResponseError;
use stateright::{Expectation, Model, Property};

use super::abstraction::abstract_state;
use super::refinement::{check_step, Divergence};

/// The refinement property's name.
pub const REFINEMENT: &str = "REFINEMENT: every engine step is a legal spec step";

/// The acquisition-lock duration: far longer than any explored path advances the clock (one ms per
/// acquisition), so a lock expires only by an explicit `LockExpiry`.
pub const LOCK_DURATION_MS: u64 = 1_000_000;

/// The implementation model. Build it with [`ImplModel::new`].
#[derive(Clone, Debug)]
pub struct ImplModel {
    /// The bounds (the same type as the spec model's; `witnesses` is forced off).
    pub cfg: ShareModelCfg,
    /// A deliberately wrong engine variant, off by default.
    pub mutation: Option<EngineMutation>,
    /// The spec model whose properties and steps α(state) is checked against.
    pub spec: ShareModel,
    /// The spec's properties (stateright's `Property` is not `Clone`).
    spec_properties: Vec<SpecProperty>,
    /// Time bound: acquisitions allowed on a path, `None` for no bound. The engine keeps absolute lock
    /// deadlines (one clock step per acquisition), so where the spec's graph has cycles (4.1: a
    /// session release decrements the count, so acquire/close repeats for ever) every lap is a new
    /// engine state. Bounding the acquisitions bounds the clock: the check is then exhaustive for
    /// every path with at most this many acquisitions. Default: [`CYCLIC_ACQUISITIONS_MAX`] where the
    /// spec's graph is cyclic, no bound elsewhere (acyclic, hence finite).
    pub acquisitions_max: Option<u8>,
}

/// The default acquisition bound of a cyclic profile (4.1); see [`ImplModel::acquisitions_max`].
pub const CYCLIC_ACQUISITIONS_MAX: u8 = 4;

/// Expectation, name and condition of one spec property.
type SpecProperty = (
    Expectation,
    &'static str,
    fn(&ShareModel, &ShareState) -> bool,
);

/// A persister write the engine emitted and the coordinator has not answered yet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InFlightWrite {
    /// The engine's id for it.
    pub write_id: WriteId,
    /// The request.
    pub request: WriteShareGroupState,
    /// Why it was written (the spec's vocabulary).
    pub kind: WriteKind,
    /// The acknowledge request waiting for it.
    pub ticket: Option<AcknowledgeTicket>,
    /// Ghost: the engine already answered the ack (before the write completed).
    pub answered: bool,
}

/// History variables observed from the engine's inputs and outputs (never from the spec).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ImplGhost {
    /// Offsets seen terminal with no write pending (TERMINAL-FINAL).
    pub terminal: OffsetMask,
    /// Offsets whose terminal ack the client got `NONE` for (DURABLE).
    pub confirmed_terminal: OffsetMask,
    /// The spec's `violation` flags, observed on the engine.
    pub violations: u8,
    /// Acquisitions per offset, saturating at the delivery-count limit + 1 (DC-LIMIT).
    pub deliveries: [u8; RECORDS_MAX],
    /// Owner and delivery count before the pending transition of each offset began.
    pub rollbacks: [Option<Rollback>; RECORDS_MAX],
    /// Offsets with a delivery attempt lost at a failover (spec 3.5: not counted), as in the spec.
    pub attempt_lost: OffsetMask,
    /// Offsets seen ARCHIVING with phase 1 done, until the DLQ's phase 2 archived them or a new
    /// leader incarnation restarted (DEAD-LETTER). Always 0 without the DLQ.
    pub dead_lettered: OffsetMask,
}

/// One state of the implementation model.
#[derive(Clone, Debug)]
pub struct ImplState {
    /// The real share-partition engine.
    pub engine: SharePartition,
    /// The real share-coordinator shard holding the persisted image.
    pub shard: ShareCoordinatorShard,
    /// Virtual time.
    pub now_ms: u64,
    /// The log end offset.
    pub produced: u8,
    /// The log start offset (retention, DeleteRecords).
    pub log_start: u8,
    /// Per member.
    pub members: [MemberStatus; MEMBERS_MAX],
    /// Writes in flight, oldest first.
    pub writes: Vec<InFlightWrite>,
    /// The dead-letter enqueues the engine asked for (`PartitionEffect::EnqueueDeadLetters`) and the
    /// host has not reported yet, as offset ranges, sorted. Empty without the DLQ.
    pub dead_letter_requests: Vec<(u8, u8)>,
    /// Faults used.
    pub budgets: Budgets,
    /// Acquisitions so far, counted only under [`ImplModel::acquisitions_max`] (else 0, so that it
    /// splits no state).
    pub acquisitions: u8,
    /// History variables.
    pub ghost: ImplGhost,
    /// The first step the spec does not allow (the state stops there).
    pub divergence: Option<Box<Divergence>>,
    /// α(self), cached: a function of the fields above, so neither hashed nor compared.
    pub abstract_state: ShareState,
}

impl ImplState {
    fn key_fields(&self) -> impl Hash + PartialEq + '_ {
        let key = partition_key();
        (
            &self.engine,
            self.shard.image(&key).cloned(),
            self.shard.epochs_max(&key),
            self.now_ms,
            self.produced,
            self.log_start,
            self.members,
            (&self.writes, &self.dead_letter_requests),
            self.budgets,
            self.acquisitions,
            self.ghost,
            self.divergence.is_some(),
        )
    }
}

impl Hash for ImplState {
    /// The shard is hashed through its image and epochs: its log offsets and timers are bookkeeping
    /// that no explored step reads.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key_fields().hash(state);
    }
}

impl PartialEq for ImplState {
    fn eq(&self, other: &Self) -> bool {
        self.key_fields() == other.key_fields()
    }
}

impl Eq for ImplState {}

/// The one share partition the model is about.
pub fn partition_key() -> SharePartitionKey {
    SharePartitionKey::new(
        "group",
        TopicIdPartition {
            topic_id: TopicId(1),
            partition: 0,
        },
    )
}

/// The member id of spec member `member` (`m0`, `m1`, ...).
pub fn member_id(member: Member) -> MemberId {
    MemberId::new(format!("m{}", member.0))
}

/// The spec member of an engine member id.
pub fn member_of(id: &MemberId) -> Option<Member> {
    id.as_str().strip_prefix('m')?.parse().ok().map(Member)
}

/// The property wrappers: stateright wants `fn` pointers, so one per spec property index.
macro_rules! spec_property_wrappers {
    ($($index:literal),*) => {
        const SPEC_PROPERTY_WRAPPERS: &[fn(&ImplModel, &ImplState) -> bool] = &[
            $(|model, state| (model.spec_properties[$index].2)(&model.spec, &state.abstract_state)),*
        ];
    };
}
spec_property_wrappers!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

fn refinement_holds(_: &ImplModel, state: &ImplState) -> bool {
    state.divergence.is_none()
}

/// What happened to the effects of one engine call.
#[derive(Default)]
struct Drained {
    /// `AcknowledgeCompleted` per ticket.
    completions: Vec<(AcknowledgeTicket, Result<(), ResponseError>)>,
    /// Writes emitted.
    writes: Vec<(WriteId, WriteShareGroupState)>,
    /// Dead-letter enqueues asked for (DLQ phase 2, spec 1.2 #10).
    dead_letters: Vec<(u8, u8)>,
}

fn drain(engine: &mut SharePartition) -> Drained {
    let mut drained = Drained::default();
    while let Some(effect) = engine.poll_effect() {
        match effect {
            PartitionEffect::AcknowledgeCompleted { ticket, result } => {
                drained.completions.push((ticket, result))
            }
            PartitionEffect::WriteState { write_id, request } => {
                drained.writes.push((write_id, request))
            }
            PartitionEffect::EnqueueDeadLetters {
                first_offset,
                last_offset,
            } => drained.dead_letters.push((
                first_offset.clamp(0, i64::from(u8::MAX)) as u8,
                last_offset.clamp(0, i64::from(u8::MAX)) as u8,
            )),
            _ => {}
        }
    }
    drained
}

/// Drains the live engine's effects and files the dead-letter enqueues it asked for.
fn drain_state(state: &mut ImplState) -> Drained {
    let drained = drain(&mut state.engine);
    state
        .dead_letter_requests
        .extend_from_slice(&drained.dead_letters);
    drained
}

impl ImplModel {
    /// The implementation model for `cfg` with an optional engine mutation. Refuses bounds the
    /// implementation model does not pair yet (see the module docs).
    pub fn new(cfg: ShareModelCfg, mutation: Option<EngineMutation>) -> Result<ImplModel, String> {
        cfg.validate()?;
        if cfg.mutation.is_some() {
            return Err("spec mutations apply to the spec model; use an engine mutation".into());
        }
        // Ghost events and `ExpiredLast` locks are spec-side witnesses the engine cannot show.
        let cfg = ShareModelCfg {
            witnesses: false,
            symmetry: false,
            ..cfg
        };
        let spec = ShareModel::new(cfg.clone());
        let spec_properties: Vec<SpecProperty> = spec
            .properties()
            .into_iter()
            .map(|property| (property.expectation, property.name, property.condition))
            .collect();
        if spec_properties.len() > SPEC_PROPERTY_WRAPPERS.len() {
            return Err("more spec properties than wrappers".into());
        }
        let acquisitions_max = (!cfg.is_acyclic()).then_some(CYCLIC_ACQUISITIONS_MAX);
        Ok(ImplModel {
            cfg,
            mutation,
            spec,
            spec_properties,
            acquisitions_max,
        })
    }

    /// The engine profile: the spec's release, without delivery throttling (not in the spec).
    pub fn semantics(&self) -> Semantics {
        let release = match self.cfg.profile {
            sharesim_model::Profile::Kafka4_0 => Release::Kafka4_0,
            sharesim_model::Profile::Kafka4_1 => Release::Kafka4_1,
            sharesim_model::Profile::Kafka4_2 => Release::Kafka4_2,
        };
        Semantics {
            delivery_throttling: false,
            ..Semantics::for_release(release)
        }
    }

    fn partition_config(&self) -> SharePartitionConfig {
        SharePartitionConfig {
            record_lock_duration_ms: LOCK_DURATION_MS,
            delivery_count_limit: u16::from(self.cfg.delivery_count_limit),
            max_record_locks: u32::from(self.cfg.max_in_flight_records),
            renew_acknowledge_enable: true,
            isolation_level: IsolationLevel::ReadUncommitted,
            auto_offset_reset: AutoOffsetReset::Earliest,
            dlq_enabled: self.cfg.dead_letter_queue,
        }
    }

    /// The initial state: the group initialized at offset 0 (state epoch 0) at the shard, the leader
    /// (epoch 0) initialized from the shard's image, nothing produced.
    pub fn initial_state(&self) -> ImplState {
        let semantics = self.semantics();
        let key = partition_key();
        let mut shard = ShareCoordinatorShard::new(0, ShareCoordinatorConfig::new(&semantics));
        let initialized = shard.handle_initialize(0, &key, 0, 0);
        replay(&mut shard, &initialized.records);
        let read = shard.handle_read(0, &key, 0);
        replay(&mut shard, &read.records);
        let mut engine = SharePartition::new(self.partition_config(), semantics, 0);
        engine.set_mutation(self.mutation);
        engine.begin_initialize(0);
        drain(&mut engine);
        let reset = ResetOffsets {
            log_start_offset: 0,
            high_watermark: 0,
            offset_by_duration: Some(0),
        };
        engine.handle_read_state_result(0, read.response, reset);
        drain(&mut engine);
        let mut members = [MemberStatus::Absent; MEMBERS_MAX];
        for status in members.iter_mut().take(self.cfg.members as usize) {
            *status = MemberStatus::Active;
        }
        let mut state = ImplState {
            engine,
            shard,
            now_ms: 0,
            produced: 0,
            log_start: 0,
            members,
            writes: Vec::new(),
            dead_letter_requests: Vec::new(),
            budgets: Budgets::default(),
            acquisitions: 0,
            ghost: ImplGhost::default(),
            divergence: None,
            abstract_state: self.spec.initial_state(),
        };
        state.abstract_state = abstract_state(self, &state);
        state
    }

    fn is_active(&self, state: &ImplState, member: Member) -> bool {
        state.members[member.0 as usize] == MemberStatus::Active
    }

    fn has_write_room(&self, state: &ImplState) -> bool {
        state.writes.len() < self.cfg.pending_writes_max as usize
    }

    fn fetched_log(&self, fetch_offset: u8, produced: u8) -> FetchedLog {
        let size = self.cfg.log_batch_size;
        let mut batches = Vec::new();
        let mut base = fetch_offset / size * size;
        while base < produced {
            let last = (base + size).min(produced) - 1;
            batches.push(LogBatch::data(i64::from(base), i64::from(last)));
            base += size;
        }
        FetchedLog {
            fetch_offset: i64::from(fetch_offset),
            batches,
            aborted_transactions: Vec::new(),
        }
    }

    /// Delivers `request` to the shard: fenced, or merged into the image.
    /// Answers one-phase writes (lock expiry, the DLQ's phase 2) within the step: each reaches the
    /// coordinator if `persisted`, else fails, and the transitions stand either way (spec 1.2 #5, #10);
    /// whether a state-epoch bump fenced one.
    fn answer_settled_writes(
        &self,
        state: &mut ImplState,
        writes: Vec<(WriteId, WriteShareGroupState)>,
        persisted: bool,
    ) -> bool {
        let mut fenced = false;
        for (write_id, request) in writes {
            let result = if persisted {
                self.deliver(state, &request)
            } else {
                Err(ResponseError::CoordinatorNotAvailable)
            };
            fenced |= is_fencing(&result);
            state
                .engine
                .handle_write_result(state.now_ms, write_id, result);
            drain_state(state);
        }
        fenced
    }

    fn deliver(
        &self,
        state: &mut ImplState,
        request: &WriteShareGroupState,
    ) -> Result<(), ResponseError> {
        let key = partition_key();
        let before_start = state.shard.image(&key).map(|image| image.start_offset);
        let stale = state.shard.epochs_max(&key).is_some_and(|(leader, epoch)| {
            request.leader_epoch < leader || request.state_epoch < epoch
        });
        let result = state.shard.handle_write(state.now_ms, &key, request);
        replay(&mut state.shard, &result.records);
        if result.response.is_ok() && stale {
            state.ghost.violations |= violation::STALE_WRITE_APPLIED;
        }
        let after_start = state.shard.image(&key).map(|image| image.start_offset);
        if after_start < before_start {
            state.ghost.violations |= violation::PERSISTED_REGRESSED;
        }
        result.response
    }

    /// Files the writes an engine call emitted and notes early ack answers.
    fn absorb(
        &self,
        state: &mut ImplState,
        drained: &Drained,
        kind: WriteKind,
        ticket: Option<AcknowledgeTicket>,
    ) {
        let (leader_epoch, state_epoch) = (state.engine.leader_epoch(), state.engine.state_epoch());
        for (ticket_done, _) in &drained.completions {
            // Tickets are per engine incarnation: only a live write can be the one answered.
            if let Some(write) = state.writes.iter_mut().find(|w| {
                w.ticket == Some(*ticket_done)
                    && w.request.leader_epoch == leader_epoch
                    && w.request.state_epoch == state_epoch
            }) {
                if write.answered {
                    state.ghost.violations |= violation::ACK_ANSWERED_TWICE;
                }
                write.answered = true;
            }
        }
        for (write_id, request) in &drained.writes {
            let answered = ticket.is_some_and(|t| drained.completions.iter().any(|(c, _)| *c == t));
            state.writes.push(InFlightWrite {
                write_id: *write_id,
                request: request.clone(),
                kind,
                ticket,
                answered,
            });
        }
    }

    /// Runs the engine for `action`; `None` when the action is not enabled or the engine refuses it
    /// exactly as the spec does. Returns the offsets whose locks fired (for `LockExpiry`).
    fn drive(&self, state: &mut ImplState, action: ShareAction) -> Option<Vec<u8>> {
        let before = state.abstract_state.clone();
        match action {
            ShareAction::DeadLetterCompleted {
                offset, persisted, ..
            } => return self.complete_dead_letters(state, offset, persisted, &before),
            ShareAction::Produce => {
                if state.produced >= self.cfg.records {
                    return None;
                }
                state.produced = (state.produced + self.cfg.log_batch_size).min(self.cfg.records);
            }
            ShareAction::Acquire { member, mode } => {
                if !self.is_active(state, member) || !self.cfg.acquire_modes.includes(mode) {
                    return None;
                }
                let fetch_offset = state.engine.next_fetch_offset();
                if fetch_offset >= i64::from(state.produced) || fetch_offset < 0 {
                    return None;
                }
                let log = self.fetched_log(fetch_offset as u8, state.produced);
                let params = AcquireParams {
                    max_records: u32::from(self.cfg.max_records_per_acquire),
                    // BatchSize 1: every log batch becomes its own acquired-record group, hence its
                    // own cached batch, which is what the spec model's batch_optimized rule assumes
                    // (it checks the record budget between log batches).
                    batch_size: 1,
                    mode: match mode {
                        sharesim_model::AcquireMode::BatchOptimized => AcquireMode::BatchOptimized,
                        sharesim_model::AcquireMode::RecordLimit => AcquireMode::RecordLimit,
                    },
                };
                if let Some(max) = self.acquisitions_max {
                    if state.acquisitions >= max {
                        return None;
                    }
                    state.acquisitions += 1;
                }
                // Each acquisition gets its own lock deadline.
                state.now_ms += 1;
                let acquired = state
                    .engine
                    .handle_fetch(state.now_ms, &member_id(member), &log, params)
                    .ok()?;
                drain_state(state);
                if acquired.is_empty() {
                    return None;
                }
                let saturation = self.cfg.delivery_count_limit + 1;
                for range in &acquired {
                    for offset in range.first_offset..=range.last_offset {
                        if let Some(count) = state.ghost.deliveries.get_mut(offset as usize) {
                            *count = (*count + 1).min(saturation);
                        }
                    }
                }
            }
            ShareAction::Acknowledge {
                member,
                offset,
                ack_type,
            } => {
                let renew = ack_type == AckType::Renew;
                if !self.is_active(state, member) || (!renew && !self.has_write_room(state)) {
                    return None;
                }
                // RENEW does not advance the clock (only acquisitions do), so the renewed lock's new
                // deadline ties with the latest acquisition's and the space stays finite: renewing
                // again changes nothing.
                let ack = AcknowledgementBatch::of(
                    i64::from(offset),
                    i64::from(offset),
                    acknowledge_type(ack_type),
                );
                let expected = self.spec.ack_check(&before, member, offset, ack_type);
                let deadline = |state: &ImplState| {
                    state
                        .engine
                        .record(i64::from(offset))
                        .and_then(|view| view.lock_deadline_ms)
                };
                let deadline_before = deadline(state);
                let outcome = self.acknowledge(state, action, member, &[ack], expected, &before);
                if renew && outcome.is_some() && state.divergence.is_none() {
                    // An accepted RENEW that did not move the deadline changed nothing that matters.
                    return (deadline(state) != deadline_before).then_some(Vec::new());
                }
                return outcome;
            }
            ShareAction::CorruptBatch { member, log_batch } => {
                if self.spec.step(&before, action).1 != sharesim_model::Response::None {
                    return None;
                }
                state.budgets.corrupt_batches += 1;
                // Spec 7.6: the client REJECTs every offset of the log batch it acquired.
                let first = log_batch * self.cfg.log_batch_size;
                let last = (first + self.cfg.log_batch_size).min(self.cfg.records);
                let acks: Vec<AcknowledgementBatch> = (first..last)
                    .filter(|&offset| {
                        let record = before.record(offset);
                        offset >= before.spso && record.is_held() && record.owner == Some(member)
                    })
                    .map(|offset| {
                        AcknowledgementBatch::of(
                            i64::from(offset),
                            i64::from(offset),
                            AcknowledgeType::Reject,
                        )
                    })
                    .collect();
                let acks = merge_contiguous(acks);
                return self.acknowledge(
                    state,
                    action,
                    member,
                    &acks,
                    sharesim_model::Response::None,
                    &before,
                );
            }
            ShareAction::DeserializationError { member, offset } => {
                if self.spec.step(&before, action).1 != sharesim_model::Response::None {
                    return None;
                }
                state.budgets.deserialization_errors += 1;
                // Spec 7.5: the client RELEASEs the record it cannot deserialize.
                let ack = AcknowledgementBatch::of(
                    i64::from(offset),
                    i64::from(offset),
                    AcknowledgeType::Release,
                );
                return self.acknowledge(
                    state,
                    action,
                    member,
                    &[ack],
                    sharesim_model::Response::None,
                    &before,
                );
            }
            ShareAction::LeaderFailover => {
                if state.budgets.failovers >= self.cfg.failovers_max {
                    return None;
                }
                state.budgets.failovers += 1;
                // The old leader's locks and pending transitions die with it; its writes in flight
                // stay in flight and are fenced by the new leader's Read (spec 3.4-3.5).
                let leader_epoch = state.engine.leader_epoch() + 1;
                self.reinitialize(state, leader_epoch, &before);
            }
            ShareAction::LogStartMove { log_start } => {
                if state.budgets.log_start_moves >= self.cfg.log_start_moves_max
                    || log_start <= before.spso
                    || log_start > state.produced
                {
                    return None;
                }
                state.budgets.log_start_moves += 1;
                state.log_start = log_start;
                // The next fetch gets OFFSET_OUT_OF_RANGE and the leader moves SPSO (spec 1.6, 6).
                state
                    .engine
                    .handle_log_start_offset(state.now_ms, i64::from(log_start));
                let drained = drain_state(state);
                debug_assert!(
                    drained.writes.is_empty(),
                    "a log-start move persists nothing"
                );
            }
            ShareAction::OffsetReset { start_offset } => {
                if state.budgets.offset_resets >= self.cfg.offset_resets_max
                    || start_offset < state.log_start
                    || start_offset > state.produced
                {
                    return None;
                }
                state.budgets.offset_resets += 1;
                // AlterShareGroupOffsets: InitializeShareGroupState at the next state epoch (spec 5.3).
                let key = partition_key();
                let (_, state_epoch) = state.shard.epochs_max(&key).unwrap_or((0, 0));
                let result = state.shard.handle_initialize(
                    state.now_ms,
                    &key,
                    state_epoch + 1,
                    i64::from(start_offset),
                );
                result.response.ok()?;
                replay(&mut state.shard, &result.records);
                state.ghost.confirmed_terminal = 0;
            }
            ShareAction::LockExpiry { offset, persisted } => {
                let view = state.engine.record(i64::from(offset))?;
                let deadline_ms = view.lock_deadline_ms.filter(|_| view.lock_armed)?;
                let fired = self.locks_due(state, deadline_ms);
                if let Some(max) = self.cfg.lock_expiries_max {
                    if state.budgets.lock_expiries as usize + fired.len() > max as usize {
                        return None;
                    }
                    state.budgets.lock_expiries += fired.len() as u8;
                }
                if !persisted {
                    // Every held record whose lock fires is one spec expiry whose write fails, so one
                    // write failure each (a record in transition writes nothing when its lock fires).
                    let held = fired
                        .iter()
                        .filter(|&&o| before.record(o).is_held())
                        .count();
                    let failures = usize::from(state.budgets.write_failures) + held;
                    if held == 0 || failures > usize::from(self.cfg.write_failures_max) {
                        return None;
                    }
                    state.budgets.write_failures = failures as u8;
                }
                state.now_ms = state.now_ms.max(deadline_ms);
                state.engine.handle_timeout(state.now_ms);
                let drained = drain_state(state);
                // The one-phase lock-expiry writes reach the coordinator within the step, or all fail
                // (the transitions stand, spec 1.2 transition 5).
                let fenced = self.answer_settled_writes(state, drained.writes, persisted);
                if fenced {
                    // A state-epoch bump fenced the live leader: it re-reads the image (spec 3.4).
                    let leader_epoch = state.engine.leader_epoch();
                    self.reinitialize(state, leader_epoch, &before);
                }
                return Some(fired);
            }
            ShareAction::SessionClose { member } | ShareAction::MemberLeave { member } => {
                if !self.is_active(state, member) {
                    return None;
                }
                let leaving = matches!(action, ShareAction::MemberLeave { .. });
                let holds = before
                    .records
                    .iter()
                    .any(|r| r.is_held() && r.owner == Some(member));
                if leaving {
                    let others = (0..self.cfg.members)
                        .any(|m| m != member.0 && self.is_active(state, Member(m)));
                    if !others {
                        return None;
                    }
                }
                if holds && !self.has_write_room(state) {
                    return None;
                }
                state
                    .engine
                    .handle_release_session(state.now_ms, &member_id(member));
                let drained = drain_state(state);
                if drained.writes.is_empty() && !leaving {
                    return None;
                }
                self.absorb(state, &drained, WriteKind::SessionRelease(member), None);
                if leaving {
                    state.members[member.0 as usize] = MemberStatus::Left;
                }
            }
            ShareAction::WriteSucceeds { slot } | ShareAction::WriteFails { slot } => {
                let fails = matches!(action, ShareAction::WriteFails { .. });
                let live = state
                    .writes
                    .get(slot as usize)
                    .is_some_and(|write| self.is_live(state, write));
                if slot as usize >= state.writes.len()
                    || (fails
                        && (state.budgets.write_failures >= self.cfg.write_failures_max || !live))
                {
                    return None;
                }
                let write = state.writes.remove(slot as usize);
                let result = if fails {
                    state.budgets.write_failures += 1;
                    Err(ResponseError::CoordinatorNotAvailable)
                } else {
                    self.deliver(state, &write.request)
                };
                if !live {
                    // A write of an earlier incarnation: the coordinator fenced (or, broken, applied)
                    // it; the old leader answers its client once; the current engine never hears of it.
                    if write.ticket.is_some() && write.answered {
                        state.ghost.violations |= violation::ACK_ANSWERED_TWICE;
                    }
                    return Some(Vec::new());
                }
                let fenced = is_fencing(&result);
                state
                    .engine
                    .handle_write_result(state.now_ms, write.write_id, result);
                let drained = drain_state(state);
                if let Some(ticket) = write.ticket {
                    let answers: Vec<_> = drained
                        .completions
                        .iter()
                        .filter(|(t, _)| *t == ticket)
                        .collect();
                    if answers.len() != 1 || write.answered {
                        state.ghost.violations |= violation::ACK_ANSWERED_TWICE;
                    }
                    if answers.iter().any(|(_, r)| r.is_ok()) {
                        for batch in &write.request.state_batches {
                            if batch.delivery_state.is_terminal() {
                                for offset in batch.first_offset..=batch.last_offset {
                                    state.ghost.confirmed_terminal |= 1 << offset;
                                }
                            }
                        }
                    }
                }
                self.absorb(state, &drained, write.kind, None);
                if fenced {
                    // Only a state-epoch bump fences the live leader: it drops the share partition
                    // and re-reads the new image (spec 3.4).
                    let leader_epoch = state.engine.leader_epoch();
                    self.reinitialize(state, leader_epoch, &before);
                }
            }
        }
        Some(Vec::new())
    }

    /// A write of the current engine incarnation (same leader and state epoch).
    fn is_live(&self, state: &ImplState, write: &InFlightWrite) -> bool {
        write.request.leader_epoch == state.engine.leader_epoch()
            && write.request.state_epoch == state.engine.state_epoch()
    }

    /// Sends one ShareAcknowledge of `member` to the engine and files its write; the engine's answer
    /// must be `expected` (the spec's), or the divergence is recorded.
    fn acknowledge(
        &self,
        state: &mut ImplState,
        action: ShareAction,
        member: Member,
        acks: &[AcknowledgementBatch],
        expected: sharesim_model::Response,
        before: &ShareState,
    ) -> Option<Vec<u8>> {
        let result = state
            .engine
            .handle_acknowledge(state.now_ms, &member_id(member), acks);
        let drained = drain_state(state);
        let agrees = matches!(
            (&result, expected),
            (Ok(_), sharesim_model::Response::None)
                | (
                    Err(ResponseError::InvalidRecordState),
                    sharesim_model::Response::InvalidRecordState
                )
                | (
                    Err(ResponseError::InvalidRequest),
                    sharesim_model::Response::InvalidRequest
                )
        );
        if !agrees && state.divergence.is_none() {
            state.divergence = Some(Box::new(Divergence {
                action,
                reason: format!("engine answered {result:?}, the spec answers {expected:?}"),
                before: before.clone(),
                engine_after: before.clone(),
                spec_after: None,
            }));
        }
        let ticket = match result {
            Ok(ticket) => ticket,
            // Refused like the spec (a stutter), or the divergence above is recorded.
            Err(_) if agrees => return None,
            Err(_) => return Some(Vec::new()),
        };
        if drained.writes.is_empty() {
            // Nothing to persist (RENEW, or below SPSO): answered at once; a RENEW may have moved a
            // deadline, which the caller checks.
            return (acks
                .iter()
                .any(|ack| ack.acknowledge_types == [AcknowledgeType::Renew.id()]))
            .then_some(Vec::new());
        }
        self.absorb(
            state,
            &drained,
            WriteKind::Acknowledge(member),
            Some(ticket),
        );
        Some(Vec::new())
    }

    /// A new engine incarnation at `leader_epoch` initializes from the shard's image (spec 3.5): the
    /// ACQUIRED state and the pending transitions of the old one are gone. Mirrors the spec's
    /// `reinitialize`, ghosts included.
    fn reinitialize(&self, state: &mut ImplState, leader_epoch: i32, before: &ShareState) {
        let key = partition_key();
        let now_ms = state.now_ms;
        let mut engine =
            SharePartition::new(self.partition_config(), self.semantics(), leader_epoch);
        engine.set_mutation(self.mutation);
        engine.begin_initialize(now_ms);
        drain(&mut engine);
        // The old incarnation's dead-letter enqueues die with it; the new one asks again for the
        // ARCHIVING records it restores (spec 1.2 #10).
        let mut dead_letter_requests = Vec::new();
        let read = state.shard.handle_read(now_ms, &key, leader_epoch);
        replay(&mut state.shard, &read.records);
        let reset = ResetOffsets {
            log_start_offset: i64::from(state.log_start),
            high_watermark: i64::from(state.produced),
            offset_by_duration: Some(i64::from(state.log_start)),
        };
        engine.handle_read_state_result(now_ms, read.response, reset);
        dead_letter_requests.extend(drain(&mut engine).dead_letters);
        if i64::from(state.log_start) > engine.start_offset() {
            // The first fetch gets OFFSET_OUT_OF_RANGE and moves SPSO to the log start (spec 6).
            engine.handle_log_start_offset(now_ms, i64::from(state.log_start));
            dead_letter_requests.extend(drain(&mut engine).dead_letters);
        }
        let new_state_epoch = i64::from(engine.state_epoch()) != i64::from(before.state_epoch);
        state.engine = engine;
        state.dead_letter_requests = dead_letter_requests;
        state.ghost.rollbacks = [None; RECORDS_MAX];
        state.ghost.terminal = 0;
        // `observe` marks the restored ARCHIVING records again, as the spec's `reinitialize` does.
        state.ghost.dead_lettered = 0;
        if new_state_epoch {
            state.ghost.deliveries = [0; RECORDS_MAX];
            state.ghost.attempt_lost = 0;
            state.ghost.confirmed_terminal = 0;
        } else {
            let spso = state.engine.start_offset();
            for offset in 0..self.cfg.records {
                let restored = state
                    .engine
                    .record(i64::from(offset))
                    .map_or(0, |view| view.delivery_count);
                let old = u16::from(before.record(offset).delivery_count);
                if i64::from(offset) >= spso && old > restored {
                    // Spec 3.5: the attempt in progress is not counted. The ghost follows the spec
                    // model's rule (`ShareModel::lost_attempts_witnessed`).
                    if self.spec.lost_attempts_witnessed() {
                        state.ghost.attempt_lost |= 1 << offset;
                    } else {
                        let saturation = u16::from(self.cfg.delivery_count_limit) + 1;
                        state.ghost.deliveries[offset as usize] = restored.min(saturation) as u8;
                    }
                }
            }
        }
    }

    /// The offsets the engine holds ARCHIVING with no write pending: the DLQ's phase 1 is done.
    fn idle_archiving(&self, state: &ImplState) -> OffsetMask {
        (0..self.cfg.records)
            .filter(|&offset| {
                state
                    .engine
                    .record(i64::from(offset))
                    .is_some_and(|view| view.state == EngineRecordState::Archiving && !view.pending)
            })
            .fold(0, |mask, offset| mask | 1 << offset)
    }

    /// DLQ phase 2 (spec 1.2 #10): the host reports the enqueue the engine asked for, the range
    /// holding `offset` whole (the broker reports each `EnqueueDeadLetters` range as one). Kafka
    /// archives whether the enqueue succeeded or not, so the spec's `enqueued` is no engine input.
    /// The engine's one-phase ARCHIVED write reaches the coordinator within the step (or fails, when
    /// not `persisted`), as the spec's step does. Returns the offsets archived: one spec step each.
    fn complete_dead_letters(
        &self,
        state: &mut ImplState,
        offset: u8,
        persisted: bool,
        before: &ShareState,
    ) -> Option<Vec<u8>> {
        let index = state
            .dead_letter_requests
            .iter()
            .position(|&(first, last)| first <= offset && offset <= last)?;
        let (first, last) = state.dead_letter_requests.remove(index);
        let archiving = self.idle_archiving(state);
        state
            .engine
            .handle_dead_letter_result(state.now_ms, i64::from(first), i64::from(last));
        let drained = drain_state(state);
        let archived: Vec<u8> = (first..=last.min(self.cfg.records.saturating_sub(1)))
            .filter(|&o| {
                archiving & (1 << o) != 0
                    && state
                        .engine
                        .record(i64::from(o))
                        .is_some_and(|view| view.state == EngineRecordState::Archived)
            })
            .collect();
        if !persisted {
            // One failed write per spec step, as the spec writes each offset on its own.
            let failures = usize::from(state.budgets.write_failures) + archived.len();
            if archived.is_empty() || failures > usize::from(self.cfg.write_failures_max) {
                return None;
            }
            state.budgets.write_failures = failures as u8;
        }
        let fenced = self.answer_settled_writes(state, drained.writes, persisted);
        for &o in &archived {
            state.ghost.dead_lettered &= !(1 << o);
        }
        if fenced {
            // A state-epoch bump fenced the live leader: it re-reads the image (spec 3.4).
            let leader_epoch = state.engine.leader_epoch();
            self.reinitialize(state, leader_epoch, before);
        }
        Some(archived)
    }

    /// The offsets whose armed locks are due at `deadline_ms`, oldest deadline first.
    fn locks_due(&self, state: &ImplState, deadline_ms: u64) -> Vec<u8> {
        let mut due: Vec<(u64, u8)> = (0..self.cfg.records)
            .filter_map(|offset| {
                let view = state.engine.record(i64::from(offset))?;
                let deadline = view.lock_deadline_ms.filter(|_| view.lock_armed)?;
                (deadline <= deadline_ms).then_some((deadline, offset))
            })
            .collect();
        due.sort_unstable();
        due.into_iter().map(|(_, offset)| offset).collect()
    }

    /// The ghosts a step updates from what it observed: rollbacks, ownership, SPSO, terminal offsets,
    /// the DLQ's phase 2 (and its requests, kept only while an offset in them is still ARCHIVING, so
    /// that a correct engine's requests split no state).
    fn observe(&self, state: &mut ImplState, action: ShareAction, before: &ShareState) {
        let archiving = self.idle_archiving(state);
        state.ghost.dead_lettered |= archiving;
        let requests = &mut state.dead_letter_requests;
        requests.retain(|&(first, last)| {
            (first..=last.min(RECORDS_MAX as u8 - 1)).any(|o| archiving & (1 << o) != 0)
        });
        requests.sort_unstable();
        requests.dedup();
        let actor = match action {
            ShareAction::Acknowledge { member, .. }
            | ShareAction::CorruptBatch { member, .. }
            | ShareAction::DeserializationError { member, .. }
            | ShareAction::SessionClose { member }
            | ShareAction::MemberLeave { member } => Some(member),
            _ => None,
        };
        for offset in 0..self.cfg.records {
            let pending = state
                .engine
                .record(i64::from(offset))
                .is_some_and(|view| view.pending);
            let old = before.record(offset);
            let archived = state
                .engine
                .record(i64::from(offset))
                .is_some_and(|view| view.state == EngineRecordState::Archived);
            let slot = &mut state.ghost.rollbacks[offset as usize];
            if !pending {
                *slot = None;
            } else if old.pending.is_none() {
                *slot = Some(Rollback {
                    owner: old.owner.or(actor).unwrap_or(Member(0)),
                    delivery_count: old.delivery_count,
                    archived_meanwhile: false,
                });
            } else if let Some(rollback) = slot.as_mut() {
                // A pending AVAILABLE target archived since (a log-start move): the engine's
                // `archived_meanwhile`, which keeps it ARCHIVED on rollback.
                if old.state == RecordState::Available && archived {
                    rollback.archived_meanwhile = true;
                }
            }
        }
    }
}

/// Whether the coordinator's answer fences the writer (FENCED_LEADER_EPOCH, FENCED_STATE_EPOCH).
fn is_fencing(result: &Result<(), ResponseError>) -> bool {
    matches!(
        result,
        Err(ResponseError::FencedLeaderEpoch | ResponseError::FencedStateEpoch)
    )
}

/// Joins adjacent single-offset acks of one type into ranges (one ShareAcknowledge batch each).
fn merge_contiguous(acks: Vec<AcknowledgementBatch>) -> Vec<AcknowledgementBatch> {
    let mut merged: Vec<AcknowledgementBatch> = Vec::new();
    for ack in acks {
        match merged.last_mut() {
            Some(last)
                if last.last_offset + 1 == ack.first_offset
                    && last.acknowledge_types == ack.acknowledge_types =>
            {
                last.last_offset = ack.last_offset;
            }
            _ => merged.push(ack),
        }
    }
    merged
}

fn acknowledge_type(ack_type: AckType) -> AcknowledgeType {
    match ack_type {
        AckType::Gap => AcknowledgeType::Gap,
        AckType::Accept => AcknowledgeType::Accept,
        AckType::Release => AcknowledgeType::Release,
        AckType::Reject => AcknowledgeType::Reject,
        AckType::Renew => AcknowledgeType::Renew,
    }
}

fn replay(shard: &mut ShareCoordinatorShard, records: &[ShareCoordinatorRecord]) {
    for record in records {
        let offset = shard.next_log_offset();
        shard.replay(offset, record);
    }
}

impl Model for ImplModel {
    type State = ImplState;
    type Action = ShareAction;

    fn init_states(&self) -> Vec<ImplState> {
        vec![self.initial_state()]
    }

    /// The spec's actions at α(state), with every member's ack of every cached offset (the engine
    /// must refuse those the spec refuses), plus RENEW. Exploration goes on after a divergence (the
    /// first one stays recorded), so that the spec's properties can show what the divergence leads to.
    fn actions(&self, state: &ImplState, actions: &mut Vec<ShareAction>) {
        self.spec
            .candidate_actions(&state.abstract_state, actions, true);
        // RENEW of every member for every cached offset (the spec leaves it out: without time it
        // changes nothing there, but here it moves a lock deadline; before 4.2 both refuse it).
        let spec_state = &state.abstract_state;
        for member in (0..self.cfg.members).map(Member) {
            if !self.is_active(state, member) {
                continue;
            }
            for offset in spec_state.spso..spec_state.window_end {
                actions.push(ShareAction::Acknowledge {
                    member,
                    offset,
                    ack_type: AckType::Renew,
                });
            }
        }
    }

    fn next_state(&self, state: &ImplState, action: ShareAction) -> Option<ImplState> {
        let mut next = state.clone();
        let before = &state.abstract_state;
        let fired = self.drive(&mut next, action)?;
        self.observe(&mut next, action, before);
        let mut after = abstract_state(self, &next);
        if let Some(member) = match action {
            ShareAction::Acknowledge { member, .. }
            | ShareAction::CorruptBatch { member, .. }
            | ShareAction::DeserializationError { member, .. }
            | ShareAction::SessionClose { member }
            | ShareAction::MemberLeave { member } => Some(member),
            _ => None,
        } {
            let touched = (0..self.cfg.records).any(|offset| {
                let old = before.record(offset);
                let new = after.record(offset);
                old.owner.is_some_and(|owner| owner != member)
                    && (old.state != new.state || old.pending != new.pending)
            });
            if touched {
                next.ghost.violations |= violation::FOREIGN_RECORD_TOUCHED;
            }
        }
        // Within one leader incarnation only, as the spec's `set_spso`: a new leader restarts from the
        // image, whose start offset may lag SPSO (a failed one-phase write: lock expiry, the DLQ's
        // phase 2), like the spec's `reinitialize`.
        let same_incarnation =
            after.leader_epoch == before.leader_epoch && after.state_epoch == before.state_epoch;
        if same_incarnation && after.spso < before.spso {
            next.ghost.violations |= violation::SPSO_REGRESSED;
        }
        for offset in 0..self.cfg.records {
            if after.record(offset).is_terminal_committed() {
                next.ghost.terminal |= 1 << offset;
            }
        }
        // α copies these ghosts; the records are unchanged, so no second α is needed.
        after.ghost.terminal = next.ghost.terminal;
        after.ghost.violations = next.ghost.violations;
        if next.divergence.is_none() {
            if let Err(divergence) = check_step(&self.spec, before, action, &fired, &after) {
                next.divergence = Some(divergence);
            }
        }
        next.abstract_state = after;
        (next != *state).then_some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let mut properties: Vec<Property<Self>> = self
            .spec_properties
            .iter()
            .enumerate()
            .map(|(index, (expectation, name, _))| Property {
                expectation: expectation.clone(),
                name,
                condition: SPEC_PROPERTY_WRAPPERS[index],
            })
            .collect();
        properties.push(Property {
            expectation: Expectation::Always,
            name: REFINEMENT,
            condition: refinement_holds,
        });
        properties
    }
}

/// Checks the implementation model (symmetry is not applied: member ids live inside the engine).
pub fn check_implementation(
    cfg: ShareModelCfg,
    mutation: Option<EngineMutation>,
    options: &CheckOptions,
) -> Result<CheckReport<ImplModel>, String> {
    let model = ImplModel::new(cfg, mutation)?;
    Ok(run_check(model, options, None))
}
