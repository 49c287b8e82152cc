//! The spec model of one share partition (KIP-932), as a stateright [`Model`].
//!
//! One share-partition leader holds the in-memory record states of a small log; consumer members
//! acquire records (whole log batches or a record limit), acknowledge them (ACCEPT, RELEASE, REJECT,
//! GAP, RENEW), lose their locks, close sessions and leave. Every acknowledgement and release is a
//! two-phase transition: the in-memory state changes at once with a rollback snapshot, and commits or
//! rolls back when the persister write to the share coordinator completes (spec 3.2). Lock expiry is
//! one-phase: the new state stands even if its write fails (spec 1.2 transition 5). The leader may fail
//! over: everything ACQUIRED and every pending transition is lost, the new leader restores the
//! persisted image under a higher leader epoch, and the old leader's late writes are fenced (spec
//! 3.4-3.5). The log start offset may move (spec 1.6, 6), a group offset reset bumps the state epoch
//! (spec 5.3), a corrupt batch makes the client REJECT the batch (spec 7.6) and a deserialization
//! error makes it RELEASE the record (spec 7.5). Under read_committed an acquisition archives the
//! offsets of aborted transactions at once (spec 1.2 #9; [`ShareModelCfg::aborted_offsets`]).
//! With the dead-letter queue ([`ShareModelCfg::dead_letter_queue`], KIP-1191) a REJECT or the
//! delivery-count limit moves a record to ARCHIVING, and the DLQ's phase 2 archives it (spec 1.2 #10).
//!
//! Time is abstracted: any held lock may expire at any step, and writes complete in any order.
//! A request that changes nothing (a refused ack, RENEW, an ack below SPSO) is not a transition; its
//! response code is checked by the unit tests on [`ShareModel::step`].
//!
//! Not modelled: delivery throttling (KAFKA-17541; it only shrinks acquisitions),
//! compaction and transaction markers (both end in GAP acks or archives, which the model has), and ack
//! ranges with per-offset types (single-offset acks, plus the whole-batch REJECT of a corrupt batch).

use serde::{Deserialize, Serialize};
use stateright::{Expectation, Model, Property};

use crate::config::{AcquireMode, SessionReleaseRule, ShareModelCfg, SpecMutation};
use crate::state::{
    event, violation, Budgets, Coordinator, Ghost, Lock, Member, MemberStatus, OffsetMask,
    PendingWrite, PersistedRecord, PersistedState, Record, RecordState, Rollback, ShareState,
    WriteKind, MEMBERS_MAX, PENDING_WRITES_MAX, RECORDS_MAX,
};
use crate::symmetry::{canonicalize, distinct_roles, MemberList};

/// An acknowledge type (spec 2.1), with Kafka's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AckType {
    /// 0: no data record at the offset; ARCHIVED.
    Gap,
    /// 1: ACKNOWLEDGED.
    Accept,
    /// 2: AVAILABLE again, or ARCHIVED at the delivery-count limit.
    Release,
    /// 3: ARCHIVED.
    Reject,
    /// 4: lock renewal (4.2+); no state change.
    Renew,
}

impl AckType {
    /// Every type, in wire-id order.
    pub const ALL: [AckType; 5] = [
        AckType::Gap,
        AckType::Accept,
        AckType::Release,
        AckType::Reject,
        AckType::Renew,
    ];
}

/// A step of the model. Each names the member, offsets or write it concerns, so a counterexample can
/// be replayed in the simulator (see `counterexample.rs` for the JSON form).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShareAction {
    /// The producer appends the next log batch.
    Produce,
    /// A ShareFetch by `member` acquires records.
    Acquire {
        /// The fetching member.
        member: Member,
        /// `share.acquire.mode`.
        mode: AcquireMode,
    },
    /// A ShareAcknowledge (or piggybacked ack) for one offset.
    Acknowledge {
        /// The acknowledging member.
        member: Member,
        /// The offset.
        offset: u8,
        /// The ack type.
        ack_type: AckType,
    },
    /// The client finds a CRC failure in a log batch and REJECTs every offset of it it acquired.
    CorruptBatch {
        /// The consuming member.
        member: Member,
        /// The log batch index (`offset / log_batch_size`).
        log_batch: u8,
    },
    /// The client fails to deserialize a record and RELEASEs it.
    DeserializationError {
        /// The consuming member.
        member: Member,
        /// The offset.
        offset: u8,
    },
    /// The acquisition lock of an offset expires. The handler's write is modelled inside the step
    /// (it is one-phase and nothing waits for it): it reaches the coordinator, or fails.
    LockExpiry {
        /// The offset.
        offset: u8,
        /// Whether the lock-timeout write succeeds (a failure uses the write-failure budget).
        persisted: bool,
    },
    /// The member's share session closes (FINAL epoch or disconnect): its records are released.
    SessionClose {
        /// The member.
        member: Member,
    },
    /// The member closes and leaves the group for good.
    MemberLeave {
        /// The member.
        member: Member,
    },
    /// The share coordinator answers a pending write (it may fence it).
    WriteSucceeds {
        /// Index into `ShareState::writes`.
        slot: u8,
    },
    /// A pending write fails (e.g. COORDINATOR_NOT_AVAILABLE after retries).
    WriteFails {
        /// Index into `ShareState::writes`.
        slot: u8,
    },
    /// Partition leadership moves: a new leader initializes from the persisted image.
    LeaderFailover,
    /// Retention or DeleteRecords moves the log start offset.
    LogStartMove {
        /// The new log start offset.
        log_start: u8,
    },
    /// AlterShareGroupOffsets: a fresh persisted image at a new state epoch.
    OffsetReset {
        /// The new start offset.
        start_offset: u8,
    },
    /// The DLQ's phase 2 for an ARCHIVING record whose phase 1 is done (`ShareGroupDLQManager.enqueue`
    /// completed, spec 1.2 #10): it becomes ARCHIVED and that is written (one-phase, like the lock
    /// timeout's write: a failure leaves ARCHIVED in memory, spec 3.2's table). Only with
    /// [`ShareModelCfg::dead_letter_queue`].
    DeadLetterCompleted {
        /// The offset.
        offset: u8,
        /// Whether the enqueue to the DLQ topic succeeded (Kafka archives either way).
        enqueued: bool,
        /// Whether the ARCHIVED write succeeds (a failure uses the write-failure budget).
        persisted: bool,
    },
}

/// The immediate response of a step, with Kafka's error names; `NotEnabled` means the step cannot
/// happen in this state (a model precondition, not a Kafka response).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Response {
    /// Accepted (for an ack: the transition started; the final answer comes with the write).
    None,
    /// INVALID_RECORD_STATE (121).
    InvalidRecordState,
    /// INVALID_REQUEST (42).
    InvalidRequest,
    /// The step's precondition does not hold (not a Kafka response).
    NotEnabled,
}

/// What the share coordinator did with a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivery {
    /// Merged into the persisted image.
    Applied,
    /// Rejected with FENCED_LEADER_EPOCH or FENCED_STATE_EPOCH.
    Fenced,
}

/// The spec model of one share partition. Build it with [`ShareModelCfg::into_model`].
#[derive(Clone, Debug)]
pub struct ShareModel {
    /// The bounds.
    pub cfg: ShareModelCfg,
}

/// Property names, as phrases led by the oracle's code.
pub mod names {
    /// EXCLUSIVE.
    pub const EXCLUSIVE: &str = "EXCLUSIVE: an acquired record has one owner and a live lock";
    /// TERMINAL-FINAL.
    pub const TERMINAL_FINAL: &str = "TERMINAL-FINAL: a terminal record is never deliverable again";
    /// DC-LIMIT.
    pub const DC_LIMIT: &str = "DC-LIMIT: deliveries within the delivery-count limit";
    /// SPSO-SAFE.
    pub const SPSO_SAFE: &str = "SPSO-SAFE: SPSO only passes committed terminal records";
    /// DURABLE.
    pub const DURABLE: &str = "DURABLE: confirmed acks survive and persisted state never regresses";
    /// FENCING.
    pub const FENCING: &str = "FENCING: stale-epoch writes never change the persisted image";
    /// INFLIGHT-CAP.
    pub const INFLIGHT_CAP: &str = "INFLIGHT-CAP: in-flight records within the record-lock limit";
    /// OWNER.
    pub const OWNER: &str = "OWNER: requests touch only the member's own records";
    /// ACK-OUTCOME.
    pub const ACK_OUTCOME: &str = "ACK-OUTCOME: every ack is answered once, after its write";
    /// DEAD-LETTER (checked only with the DLQ).
    pub const DEAD_LETTER: &str =
        "DEAD-LETTER: a record sent to the dead-letter queue is never deliverable again";
    /// Every `always` property (DEAD-LETTER is checked only with the DLQ).
    pub const ALWAYS: [&str; 10] = [
        EXCLUSIVE,
        TERMINAL_FINAL,
        DC_LIMIT,
        SPSO_SAFE,
        DURABLE,
        FENCING,
        INFLIGHT_CAP,
        OWNER,
        ACK_OUTCOME,
        DEAD_LETTER,
    ];
    /// Sometimes: archived at the limit.
    pub const ARCHIVED_AT_LIMIT: &str = "reached: record archived at the delivery-count limit";
    /// Sometimes: redelivery after expiry.
    pub const REDELIVERED_AFTER_EXPIRY: &str = "reached: record redelivered after lock expiry";
    /// Sometimes: delivered more often than the limit, across failover.
    pub const DELIVERIES_EXCEED_LIMIT: &str =
        "reached: deliveries exceed the limit across failover";
    /// Sometimes: a rollback.
    pub const ROLLED_BACK: &str = "reached: failed write rolled a transition back";
    /// Sometimes: a fenced write.
    pub const WRITE_FENCED: &str = "reached: stale write fenced by the coordinator";
    /// Sometimes: all done.
    pub const SPSO_PAST_EVERYTHING: &str = "reached: SPSO advanced past every record";
    /// Sometimes (with the DLQ): phase 2 archived a record.
    pub const DEAD_LETTERED: &str = "reached: record dead-lettered (ARCHIVING -> ARCHIVED)";
    /// Eventually.
    pub const EVERY_RECORD_TERMINAL: &str = "LIVENESS: every record eventually terminal";
}

impl ShareModel {
    /// The model for `cfg`; prefer [`ShareModelCfg::into_model`], which validates.
    pub fn new(cfg: ShareModelCfg) -> ShareModel {
        debug_assert!(
            cfg.validate().is_ok(),
            "ShareModel::new needs a valid config"
        );
        ShareModel { cfg }
    }

    fn mutation(&self, mutation: SpecMutation) -> bool {
        self.cfg.mutation == Some(mutation)
    }

    fn limit(&self) -> u8 {
        self.cfg.delivery_count_limit
    }

    /// The initial state: nothing produced, the group initialized at offset 0 (earliest), state and
    /// leader epoch 0.
    pub fn initial_state(&self) -> ShareState {
        let mut members = [MemberStatus::Absent; MEMBERS_MAX];
        for status in members.iter_mut().take(self.cfg.members as usize) {
            *status = MemberStatus::Active;
        }
        ShareState {
            records: [Record::FRESH; RECORDS_MAX],
            members,
            writes: [None; PENDING_WRITES_MAX],
            produced: 0,
            log_start: 0,
            spso: 0,
            window_end: 0,
            cached_batch_starts: 0,
            leader_epoch: 0,
            state_epoch: 0,
            coordinator: Coordinator {
                start_offset: 0,
                state_epoch: 0,
                leader_epoch: 0,
            },
            budgets: Budgets::default(),
            ghost: Ghost::default(),
        }
    }

    fn is_active(&self, state: &ShareState, member: Member) -> bool {
        state.members[member.0 as usize] == MemberStatus::Active
    }

    fn has_write_room(&self, state: &ShareState) -> bool {
        state.write_count() < self.cfg.pending_writes_max as usize
    }

    fn log_batch_offsets(&self, log_batch: u8) -> std::ops::Range<u8> {
        let first = log_batch * self.cfg.log_batch_size;
        first..(first + self.cfg.log_batch_size).min(self.cfg.records)
    }

    /// Whether the `always` property `name` (one of [`names::ALWAYS`]) holds in `state` (`true` for
    /// any other name). Public so that a trace replay judges the states it projects by the model's
    /// own invariants.
    pub fn always_holds(&self, name: &str, state: &ShareState) -> bool {
        self.properties()
            .into_iter()
            .filter(|property| property.expectation == Expectation::Always)
            .find(|property| property.name == name)
            .is_none_or(|property| (property.condition)(self, state))
    }

    /// Takes one step. Returns the next state and the immediate response; a refused or disabled step
    /// returns the state unchanged.
    pub fn step(&self, state: &ShareState, action: ShareAction) -> (ShareState, Response) {
        if let ShareAction::Acknowledge {
            member,
            offset,
            ack_type,
        } = action
        {
            let response = self.ack_check(state, member, offset, ack_type);
            let changes_nothing = ack_type == AckType::Renew || offset < state.spso;
            if response != Response::None || changes_nothing {
                return (state.clone(), response);
            }
        }
        let response = self.precheck(state, action);
        if response != Response::None {
            return (state.clone(), response);
        }
        let mut next = state.clone();
        next.ghost.events = 0;
        self.apply(&mut next, action);
        (next, Response::None)
    }

    /// Whether `action` can happen and is accepted; cheap, no clone.
    fn precheck(&self, state: &ShareState, action: ShareAction) -> Response {
        let enabled = |ok: bool| {
            if ok {
                Response::None
            } else {
                Response::NotEnabled
            }
        };
        match action {
            ShareAction::Produce => enabled(state.produced < self.cfg.records),
            ShareAction::Acquire { member, mode } => enabled(
                self.is_active(state, member)
                    && self.cfg.acquire_modes.includes(mode)
                    && self.acquirable(state, member, mode) != 0,
            ),
            ShareAction::Acknowledge {
                member,
                offset,
                ack_type,
            } => {
                if !self.is_active(state, member) {
                    return Response::NotEnabled;
                }
                match self.ack_check(state, member, offset, ack_type) {
                    // RENEW and acks below SPSO succeed without changing anything.
                    Response::None if ack_type == AckType::Renew || offset < state.spso => {
                        Response::NotEnabled
                    }
                    Response::None => enabled(self.has_write_room(state)),
                    refused => refused,
                }
            }
            ShareAction::CorruptBatch { member, log_batch } => enabled(
                self.is_active(state, member)
                    && state.budgets.corrupt_batches < self.cfg.corrupt_batches_max
                    && self.corrupt_batch_offsets(state, member, log_batch) != 0
                    && self.has_write_room(state),
            ),
            ShareAction::DeserializationError { member, offset } => enabled(
                self.is_active(state, member)
                    && state.budgets.deserialization_errors < self.cfg.deserialization_errors_max
                    && offset >= state.spso
                    && offset < state.window_end
                    && state.record(offset).is_held()
                    && state.record(offset).owner == Some(member)
                    && self.has_write_room(state),
            ),
            ShareAction::LockExpiry { offset, persisted } => {
                let record = state.record(offset);
                let budget_left = self
                    .cfg
                    .lock_expiries_max
                    .is_none_or(|max| state.budgets.lock_expiries < max);
                let failure_left =
                    persisted || state.budgets.write_failures < self.cfg.write_failures_max;
                let expirable = record.is_held()
                    || (persisted && record.pending.is_some() && record.lock == Lock::Held);
                enabled(offset < self.cfg.records && budget_left && failure_left && expirable)
            }
            ShareAction::SessionClose { member } => enabled(
                self.is_active(state, member)
                    && self.released_offsets(state, member) != 0
                    && self.has_write_room(state),
            ),
            ShareAction::MemberLeave { member } => {
                let others_active = (0..self.cfg.members)
                    .any(|m| m != member.0 && state.members[m as usize] == MemberStatus::Active);
                let room = self.released_offsets(state, member) == 0 || self.has_write_room(state);
                // Liveness needs a consumer: the last member never leaves (a model bound).
                enabled(self.is_active(state, member) && others_active && room)
            }
            ShareAction::WriteSucceeds { slot } => enabled(state.writes[slot as usize].is_some()),
            ShareAction::WriteFails { slot } => enabled(
                state.budgets.write_failures < self.cfg.write_failures_max
                    && state.writes[slot as usize].is_some_and(|w| self.is_live(state, &w)),
            ),
            ShareAction::LeaderFailover => {
                enabled(state.budgets.failovers < self.cfg.failovers_max)
            }
            ShareAction::LogStartMove { log_start } => enabled(
                state.budgets.log_start_moves < self.cfg.log_start_moves_max
                    && log_start > state.spso
                    && log_start <= state.produced,
            ),
            ShareAction::OffsetReset { start_offset } => enabled(
                state.budgets.offset_resets < self.cfg.offset_resets_max
                    && start_offset >= state.log_start
                    && start_offset <= state.produced,
            ),
            ShareAction::DeadLetterCompleted {
                offset, persisted, ..
            } => {
                let failure_left =
                    persisted || state.budgets.write_failures < self.cfg.write_failures_max;
                enabled(
                    offset < state.produced
                        && failure_left
                        && self.is_dead_lettering(state.record(offset)),
                )
            }
        }
    }

    /// ARCHIVING with phase 1 done (no write pending): the DLQ's phase 2 is under way (spec 1.2 #10,
    /// 1.4: it starts once the phase-1 write returns, and again at initialization).
    fn is_dead_lettering(&self, record: &Record) -> bool {
        record.state == RecordState::Archiving && record.pending.is_none()
    }

    fn apply(&self, state: &mut ShareState, action: ShareAction) {
        match action {
            ShareAction::Produce => {
                state.produced = (state.produced + self.cfg.log_batch_size).min(self.cfg.records);
            }
            ShareAction::Acquire { member, mode } => self.acquire(state, member, mode),
            ShareAction::Acknowledge {
                member,
                offset,
                ack_type,
            } => {
                self.begin_ack(state, member, offset, ack_type);
                self.issue_write(state, WriteKind::Acknowledge(member), 1 << offset);
            }
            ShareAction::CorruptBatch { member, log_batch } => {
                state.budgets.corrupt_batches += 1;
                let offsets = self.corrupt_batch_offsets(state, member, log_batch);
                for offset in self.log_batch_offsets(log_batch) {
                    if offsets & (1 << offset) != 0 {
                        self.begin_ack(state, member, offset, AckType::Reject);
                    }
                }
                self.issue_write(state, WriteKind::Acknowledge(member), offsets);
            }
            ShareAction::DeserializationError { member, offset } => {
                state.budgets.deserialization_errors += 1;
                self.begin_ack(state, member, offset, AckType::Release);
                self.issue_write(state, WriteKind::Acknowledge(member), 1 << offset);
            }
            ShareAction::LockExpiry { offset, persisted } => {
                self.expire_lock(state, offset, persisted)
            }
            ShareAction::SessionClose { member } => self.release_session(state, member),
            ShareAction::MemberLeave { member } => {
                if self.released_offsets(state, member) != 0 {
                    self.release_session(state, member);
                }
                state.members[member.0 as usize] = MemberStatus::Left;
            }
            ShareAction::WriteSucceeds { slot } => self.complete_write(state, slot),
            ShareAction::WriteFails { slot } => self.fail_write(state, slot),
            ShareAction::LeaderFailover => self.fail_over(state),
            ShareAction::LogStartMove { log_start } => {
                state.budgets.log_start_moves += 1;
                state.log_start = log_start;
                self.move_log_start(state, log_start);
            }
            ShareAction::OffsetReset { start_offset } => self.reset_offsets(state, start_offset),
            ShareAction::DeadLetterCompleted {
                offset,
                enqueued,
                persisted,
            } => self.complete_dead_letter(state, offset, enqueued, persisted),
        }
        self.forget_irrelevant_history(state);
        debug_assert!(state.spso <= state.window_end, "SPSO never passes SPEO + 1");
        debug_assert!(
            state.window_end <= self.cfg.records,
            "the window stays inside the log"
        );
    }

    /// Forgets what can no longer matter, so histories that differ only there share one state.
    ///
    /// - A committed terminal record below SPSO is never deliverable again, and nobody reads its
    ///   in-memory count or kind of terminal state again (a new leader restores from the persisted
    ///   image). The price: DC-LIMIT's cross-failover ghost forgets its deliveries if a failover later
    ///   brings it back (possible only when its terminal state was never persisted).
    /// - A record terminal both in memory and in the persisted image stays terminal in every future
    ///   incarnation, and no live write can name it again (one pending write per offset; stale
    ///   writes are fenced), so its counts are never read again either.
    pub fn forget_irrelevant_history(&self, state: &mut ShareState) {
        for offset in 0..self.cfg.records {
            let passed = offset < state.spso;
            let record = state.record_mut(offset);
            if !record.is_terminal_committed() {
                continue;
            }
            let durable = matches!(
                record.persisted.state,
                Some(PersistedState::Acknowledged | PersistedState::Archived)
            );
            if passed {
                record.state = RecordState::Archived;
            }
            if passed || durable {
                record.delivery_count = 0;
                record.lock = Lock::None;
                record.deliveries = 0;
                record.attempt_lost = false;
            }
            if durable {
                record.persisted.delivery_count = 0;
            }
        }
        self.forget_unread_delivery_ghosts(state);
        // Only batch starts past SPSO are ever read (a fetch checks no budget at its first offset,
        // and SPSO is at most the first offset a fetch can take).
        let window =
            ((1u16 << state.window_end) - 1) as u8 & !(((1u16 << (state.spso + 1)) - 1) as u8);
        state.cached_batch_starts &= window;
        self.forget_lagging_write_starts(state);
        // DURABLE holds for ever for a confirmed offset below both SPSO and the persisted start: both
        // only grow within a state epoch (a regression is flagged on its own), a new leader starts at
        // the persisted start, and an offset reset clears the mask.
        let settled = state.spso.min(state.coordinator.start_offset);
        state.ghost.confirmed_terminal &= !((1u16 << settled) - 1) as u8;
    }

    /// Whether the `sometimes` property "deliveries exceed the limit across failover" is checked. It
    /// reads the whole delivery count of records that lost an attempt at a failover (spec 3.5), so it
    /// needs witnesses, a failover, a limit of 2 or more (to redeliver past a lost attempt), and the
    /// keep-the-count rule. Only then is the sticky `attempt_lost` ghost kept (see
    /// [`ShareModel::forget_unread_delivery_ghosts`]); the implementation model asks the same.
    pub fn lost_attempts_witnessed(&self) -> bool {
        self.cfg.witnesses
            && self.cfg.failovers_max >= 1
            && self.cfg.delivery_count_limit >= 2
            && self.cfg.is_acyclic()
    }

    /// The delivery ghosts cost states (a sticky `attempt_lost` bit after every failover split about
    /// half of the states at 3 records, 3 members, one failover), so they are kept only where read:
    ///
    /// - 4.1's session release decrements the count, so DC-LIMIT does not read `deliveries` there and
    ///   no property reads either ghost: both are cleared.
    /// - Elsewhere, unless [`ShareModel::lost_attempts_witnessed`], a failover that loses an attempt
    ///   restarts `deliveries` from the restored count instead of setting `attempt_lost`: DC-LIMIT then
    ///   checks the deliveries since the last lost attempt, which the limit bounds just as well (and a
    ///   count lost without a failover still shows as `deliveries` above `delivery_count`).
    fn forget_unread_delivery_ghosts(&self, state: &mut ShareState) {
        let counted =
            self.cfg.profile.session_release_rule() == SessionReleaseRule::KeepAndArchiveAtLimit;
        if counted {
            return;
        }
        for record in state.records.iter_mut() {
            record.deliveries = 0;
            record.attempt_lost = false;
        }
    }

    /// A write's start offset and its entries below the coordinator's start offset cannot change the
    /// image: the merge keeps the larger start (which only grows within a state epoch) and prunes
    /// entries below it, and a write from before an offset reset is fenced. So they are set to the
    /// coordinator's start and cleared, and histories differing only there share one state. Not under
    /// the mutations that break exactly those rules.
    ///
    /// A write of an earlier leader incarnation (not live: an older leader or state epoch, which the
    /// coordinator has already seen a newer one of) is certainly fenced: only its kind, epochs and
    /// answered flag are read again, so its offsets and entries are cleared too.
    fn forget_lagging_write_starts(&self, state: &mut ShareState) {
        if self.mutation(SpecMutation::FencingSkipped)
            || self.mutation(SpecMutation::PersistedStartRegresses)
        {
            return;
        }
        let start = state.coordinator.start_offset;
        let (leader_epoch, state_epoch) = (state.leader_epoch, state.state_epoch);
        let mut changed = false;
        for write in state.writes.iter_mut().flatten() {
            let live = write.leader_epoch == leader_epoch && write.state_epoch == state_epoch;
            if !live && write.offsets != 0 {
                debug_assert!(
                    write.leader_epoch < state.coordinator.leader_epoch
                        || write.state_epoch < state.coordinator.state_epoch,
                    "a write of an earlier incarnation is stale at the coordinator"
                );
                write.offsets = 0;
                write.entries = [PersistedRecord::default(); RECORDS_MAX];
                changed = true;
            }
            if write.start_offset < start {
                write.start_offset = start;
                changed = true;
            }
            for entry in write.entries.iter_mut().take(start as usize) {
                if *entry != PersistedRecord::default() {
                    *entry = PersistedRecord::default();
                    changed = true;
                }
            }
        }
        if changed {
            state.normalize_writes();
        }
    }

    // ----- acquisition (spec 1.2 transition 1, 1.5, 2.6) -----

    /// The first offset a fetch would acquire from (`nextFetchOffset` with `findNextFetchOffset`).
    fn next_fetch_offset(&self, state: &ShareState) -> Option<u8> {
        (state.spso..state.produced).find(|&offset| {
            let record = state.record(offset);
            record.state == RecordState::Available && record.pending.is_none()
        })
    }

    /// `lastOffsetAndMaxRecordsToAcquire` (spec 1.5): how many records a fetch from `first` may
    /// acquire and the last offset it may reach, or `None` when the window is full and `first` lies
    /// past it. The record budget counts re-acquired records inside the window too, not only new ones:
    /// `maxToAcquire = min(MaxRecords, limit - inFlight)`, and only when that is not positive does a
    /// fetch inside the window get `min(MaxRecords, SPEO - first + 1)` with its last offset capped at
    /// SPEO.
    fn acquire_budget(&self, state: &ShareState, first: u8) -> Option<(u8, u8)> {
        let max_records = self.cfg.max_records_per_acquire;
        let last_produced = state.produced.checked_sub(1)?;
        if self.mutation(SpecMutation::InFlightLimitIgnored) {
            return Some((max_records, last_produced));
        }
        let room = self
            .cfg
            .max_in_flight_records
            .saturating_sub(state.in_flight());
        if room > 0 {
            return Some((max_records.min(room), last_produced));
        }
        if first >= state.window_end {
            return None;
        }
        let speo = state.window_end - 1;
        Some((max_records.min(speo - first + 1), speo.min(last_produced)))
    }

    /// The offsets an acquire would take, as a mask (0: nothing). In batch_optimized mode the budget
    /// is checked only between cached batches, which the model takes to be the log batches (the
    /// implementation model sends `BatchSize` 1 so that the engine's acquired-record
    /// groups, which become its cached batches, are exactly the log batches); a batch is taken whole
    /// even past the budget (spec 2.6). In record_limit mode the budget is exact.
    fn acquirable(&self, state: &ShareState, _member: Member, mode: AcquireMode) -> OffsetMask {
        let Some(first) = self.next_fetch_offset(state) else {
            return 0;
        };
        let Some((max_records, last)) = self.acquire_budget(state, first) else {
            return 0;
        };
        let mut acquired: OffsetMask = 0;
        let mut count = 0u8;
        for offset in first..=last {
            let at_batch_start = offset == first || self.is_batch_start(state, offset);
            let budget_spent = match mode {
                AcquireMode::BatchOptimized => at_batch_start && count >= max_records,
                AcquireMode::RecordLimit => count >= max_records,
            };
            if budget_spent {
                break;
            }
            let record = state.record(offset);
            if record.state == RecordState::Available && record.pending.is_none() {
                acquired |= 1 << offset;
                count += 1;
            }
        }
        acquired
    }

    /// Whether the budget of a batch_optimized fetch is checked before `offset`: it begins a cached
    /// batch (or a restored hole), or, past the cached window, a log batch.
    fn is_batch_start(&self, state: &ShareState, offset: u8) -> bool {
        if offset < state.window_end {
            state.cached_batch_starts & (1 << offset) != 0
        } else {
            offset % self.cfg.log_batch_size == 0
        }
    }

    fn acquire(&self, state: &mut ShareState, member: Member, mode: AcquireMode) {
        let acquired = self.acquirable(state, member, mode);
        // New records are cached per log batch (the implementation model sends BatchSize 1).
        let new_window_end = (u8::BITS - acquired.leading_zeros()) as u8;
        for offset in state.window_end..new_window_end {
            if offset % self.cfg.log_batch_size == 0 {
                state.cached_batch_starts |= 1 << offset;
            }
        }
        let saturation = self.limit() + 1;
        for offset in 0..self.cfg.records {
            if acquired & (1 << offset) == 0 {
                continue;
            }
            let record = state.record_mut(offset);
            debug_assert_eq!(
                record.state,
                RecordState::Available,
                "only AVAILABLE records are acquired"
            );
            // Spec 1.2 transition 1: no limit check at acquisition; dc += 1, owner, lock timer.
            record.state = RecordState::Acquired;
            record.delivery_count = record.delivery_count.saturating_add(1).min(15);
            record.owner = Some(member);
            if record.lock == Lock::ExpiredLast {
                self.witness(state, event::REDELIVERED_AFTER_EXPIRY);
            }
            let record = state.record_mut(offset);
            record.lock = Lock::Held;
            record.deliveries = (record.deliveries + 1).min(saturation);
            state.window_end = state.window_end.max(offset + 1);
        }
        self.archive_aborted(state, acquired & self.cfg.aborted_offsets);
    }

    /// Spec 1.2 transition 9 (and 6): under read_committed the acquired offsets of aborted
    /// transactions go ACQUIRED -> ARCHIVED at once and are left out of the response; the count keeps
    /// the acquisition. Terminal but not persisted: a new leader finds a hole and acquires (and
    /// archives) them again.
    fn archive_aborted(&self, state: &mut ShareState, offsets: OffsetMask) {
        for offset in 0..self.cfg.records {
            if offsets & (1 << offset) == 0 {
                continue;
            }
            let record = state.record_mut(offset);
            record.state = RecordState::Archived;
            record.owner = None;
            record.lock = Lock::None;
            state.ghost.terminal |= 1 << offset;
        }
    }

    // ----- acknowledgement (spec 1.2 transitions 2-4, 2.2) -----

    /// Spec 2.2: the SharePartition-level checks of a single-offset ack. `None` means accepted; an
    /// offset below SPSO is accepted and silently skipped.
    pub fn ack_check(
        &self,
        state: &ShareState,
        member: Member,
        offset: u8,
        ack_type: AckType,
    ) -> Response {
        if ack_type == AckType::Renew && !self.cfg.profile.renew_supported() {
            return Response::InvalidRequest;
        }
        if offset >= state.window_end {
            // Past the last cached offset: never acquired.
            return Response::InvalidRequest;
        }
        if offset < state.spso {
            // Silently skipped (success, no change).
            return Response::None;
        }
        let record = state.record(offset);
        if record.pending.is_some() || record.state != RecordState::Acquired {
            return Response::InvalidRecordState;
        }
        let foreign_release_accepted =
            ack_type == AckType::Release && self.mutation(SpecMutation::ReleaseFromNonOwner);
        if record.owner != Some(member) && !foreign_release_accepted {
            return Response::InvalidRecordState;
        }
        Response::None
    }

    /// Where a REJECT or the delivery-count limit sends a record: ARCHIVING with the DLQ, else
    /// ARCHIVED (spec 1.2 #3-#6, 1.3).
    fn archive_target(&self) -> RecordState {
        if self.cfg.dead_letter_queue {
            RecordState::Archiving
        } else {
            RecordState::Archived
        }
    }

    /// The target of a return to AVAILABLE: ARCHIVED below SPSO, ARCHIVED (ARCHIVING with the DLQ)
    /// at the limit (spec 1.2 #3, #5, #6, 1.3). Below SPSO it is ARCHIVED with the DLQ too: Kafka's
    /// expiry and session release ask for ARCHIVED there explicitly, and only the limit check of
    /// `tryUpdateState` (a target of AVAILABLE) turns into ARCHIVING (spec 1.2 #5: "ARCHIVED if the
    /// offset is below SPSO or dc >= L (ARCHIVING with the DLQ)").
    fn available_or_archived(
        &self,
        state: &mut ShareState,
        offset: u8,
        delivery_count: u8,
    ) -> RecordState {
        if offset < state.spso {
            RecordState::Archived
        } else if delivery_count >= self.limit() {
            self.witness(state, event::ARCHIVED_AT_LIMIT);
            self.archive_target()
        } else {
            RecordState::Available
        }
    }

    /// Starts the two-phase transition of one held offset.
    fn begin_ack(&self, state: &mut ShareState, member: Member, offset: u8, ack_type: AckType) {
        let record = *state.record(offset);
        debug_assert!(record.is_held(), "acks apply only to held records");
        if record.owner != Some(member) {
            state.ghost.violations |= violation::FOREIGN_RECORD_TOUCHED;
        }
        let target = match ack_type {
            AckType::Accept => RecordState::Acknowledged,
            // Spec 1.2 #4, 2.1: GAP is always ARCHIVED; REJECT is ARCHIVING with the DLQ.
            AckType::Gap => RecordState::Archived,
            AckType::Reject => self.archive_target(),
            AckType::Release => self.available_or_archived(state, offset, record.delivery_count),
            AckType::Renew => unreachable!("RENEW changes nothing and is filtered by precheck"),
        };
        let owner = record.owner.unwrap_or(member);
        let record = state.record_mut(offset);
        record.pending = Some(Rollback {
            owner,
            delivery_count: record.delivery_count,
            archived_meanwhile: false,
        });
        record.state = target;
        record.owner = None;
    }

    fn corrupt_batch_offsets(
        &self,
        state: &ShareState,
        member: Member,
        log_batch: u8,
    ) -> OffsetMask {
        let mut offsets = 0;
        for offset in self.log_batch_offsets(log_batch) {
            let record = state.record(offset);
            if offset >= state.spso && record.is_held() && record.owner == Some(member) {
                offsets |= 1 << offset;
            }
        }
        offsets
    }

    // ----- lock expiry (spec 1.2 transition 5, 1.4) -----

    fn expire_lock(&self, state: &mut ShareState, offset: u8, persisted: bool) {
        if self.cfg.lock_expiries_max.is_some() {
            state.budgets.lock_expiries += 1;
        }
        let record = *state.record(offset);
        if record.pending.is_some() {
            // The handler skips a record in transition; a failed write rolls back to AVAILABLE.
            state.record_mut(offset).lock = Lock::ExpiredDuringWrite;
            return;
        }
        let target =
            if self.mutation(SpecMutation::ExpiryIgnoresDeliveryLimit) && offset >= state.spso {
                RecordState::Available
            } else {
                self.available_or_archived(state, offset, record.delivery_count)
            };
        let record = state.record_mut(offset);
        record.state = target;
        record.owner = None;
        record.lock = if target == RecordState::Available && self.cfg.witnesses {
            Lock::ExpiredLast
        } else {
            Lock::None
        };
        self.mark_settled(state, offset, target);
        // The handler persists the new state (failure ignored), then advances SPSO (spec 1.4); with
        // the DLQ, phase 2 starts for an ARCHIVING record whatever the write did (spec 1.4).
        self.persist_settled(state, WriteKind::LockExpiry, offset, persisted);
    }

    /// Writes the state of `offset` after a transition that stands whatever the write does (lock
    /// expiry, the DLQ's phase 2; `persisted` says whether the write succeeds), then advances SPSO.
    /// A write fenced by a state-epoch bump makes the live leader re-read the image (spec 3.4).
    fn persist_settled(
        &self,
        state: &mut ShareState,
        kind: WriteKind,
        offset: u8,
        persisted: bool,
    ) {
        if persisted {
            let write = self.make_write(state, kind, 1 << offset);
            if self.deliver(state, &write) == Delivery::Fenced {
                self.reinitialize(state);
                return;
            }
        } else {
            state.budgets.write_failures += 1;
        }
        self.advance_spso(state);
    }

    /// Records the ghosts of a transition that is committed at once (lock expiry, a rollback after
    /// expiry): a terminal record must stay terminal, an ARCHIVING one is in the DLQ's phase 2.
    fn mark_settled(&self, state: &mut ShareState, offset: u8, target: RecordState) {
        if target.is_terminal() {
            state.ghost.terminal |= 1 << offset;
        }
        if target == RecordState::Archiving {
            state.ghost.dead_lettered |= 1 << offset;
        }
    }

    // ----- the dead-letter queue's phase 2 (spec 1.2 #10, 3.2) -----

    /// Spec 1.2 #10: the enqueue finished (succeeded or failed: Kafka archives either way), so the
    /// record goes ARCHIVING -> ARCHIVED and that is written; a failed write leaves ARCHIVED in memory
    /// (spec 3.2's table). SPSO advancement runs after phase 2 (spec 1.6). A write fenced by a
    /// state-epoch bump makes the leader re-read the image, as for the lock-timeout write.
    fn complete_dead_letter(
        &self,
        state: &mut ShareState,
        offset: u8,
        enqueued: bool,
        persisted: bool,
    ) {
        let redelivered = !enqueued && self.mutation(SpecMutation::DeadLetterFailureRedelivers);
        let record = state.record_mut(offset);
        if redelivered {
            record.state = RecordState::Available;
        } else {
            record.state = RecordState::Archived;
            state.ghost.dead_lettered &= !(1 << offset);
            state.ghost.terminal |= 1 << offset;
            self.witness(state, event::DEAD_LETTERED);
        }
        self.persist_settled(state, WriteKind::DeadLetter, offset, persisted);
    }

    // ----- session release (spec 1.2 transition 6, 2.5) -----

    fn released_offsets(&self, state: &ShareState, member: Member) -> OffsetMask {
        let everyone = self.mutation(SpecMutation::SessionReleasesOthers);
        let mut offsets = 0;
        for offset in 0..self.cfg.records {
            let record = state.record(offset);
            if record.is_held() && (record.owner == Some(member) || everyone) {
                offsets |= 1 << offset;
            }
        }
        offsets
    }

    fn release_session(&self, state: &mut ShareState, member: Member) {
        let offsets = self.released_offsets(state, member);
        for offset in 0..self.cfg.records {
            if offsets & (1 << offset) == 0 {
                continue;
            }
            let record = *state.record(offset);
            if record.owner != Some(member) {
                state.ghost.violations |= violation::FOREIGN_RECORD_TOUCHED;
            }
            let (target, delivery_count) = match self.cfg.profile.session_release_rule() {
                SessionReleaseRule::KeepAndArchiveAtLimit => (
                    self.available_or_archived(state, offset, record.delivery_count),
                    record.delivery_count,
                ),
                SessionReleaseRule::DecrementNeverArchive => {
                    let target = if offset < state.spso {
                        RecordState::Archived
                    } else {
                        RecordState::Available
                    };
                    (target, record.delivery_count.saturating_sub(1))
                }
            };
            let record = state.record_mut(offset);
            record.pending = Some(Rollback {
                owner: record.owner.unwrap_or(member),
                delivery_count: record.delivery_count,
                archived_meanwhile: false,
            });
            record.state = target;
            record.delivery_count = delivery_count;
            record.owner = None;
        }
        self.issue_write(state, WriteKind::SessionRelease(member), offsets);
    }

    // ----- persister writes (spec 3.2-3.4) -----

    fn issue_write(&self, state: &mut ShareState, kind: WriteKind, offsets: OffsetMask) {
        let write = self.make_write(state, kind, offsets);
        state.push_write(write);
    }

    fn make_write(&self, state: &ShareState, kind: WriteKind, offsets: OffsetMask) -> PendingWrite {
        let mut entries = [PersistedRecord::default(); RECORDS_MAX];
        for offset in 0..self.cfg.records {
            if offsets & (1 << offset) != 0 {
                let record = state.record(offset);
                entries[offset as usize] = PersistedRecord {
                    state: PersistedState::of(record.state),
                    delivery_count: record.delivery_count,
                };
                debug_assert!(
                    record.state != RecordState::Acquired,
                    "ACQUIRED is never persisted"
                );
            }
        }
        let answered_early = self.mutation(SpecMutation::EarlyAckResponse)
            && matches!(kind, WriteKind::Acknowledge(_));
        PendingWrite {
            kind,
            offsets,
            entries,
            start_offset: state.spso,
            leader_epoch: state.leader_epoch,
            state_epoch: state.state_epoch,
            answered: answered_early,
        }
    }

    /// The coordinator handles a write: fence it (spec 3.4) or merge it into the image (spec 3.3).
    fn deliver(&self, state: &mut ShareState, write: &PendingWrite) -> Delivery {
        let stale = write.leader_epoch < state.coordinator.leader_epoch
            || write.state_epoch < state.coordinator.state_epoch;
        if stale && !self.mutation(SpecMutation::FencingSkipped) {
            // FENCED_LEADER_EPOCH / FENCED_STATE_EPOCH; an acking client sees NOT_LEADER_OR_FOLLOWER.
            self.witness(state, event::WRITE_FENCED);
            return Delivery::Fenced;
        }
        if stale {
            state.ghost.violations |= violation::STALE_WRITE_APPLIED;
        }
        self.merge_into_image(state, write);
        Delivery::Applied
    }

    /// Records a reachability event (only with `witnesses`, since every flag splits states).
    fn witness(&self, state: &mut ShareState, flag: u8) {
        if self.cfg.witnesses {
            state.ghost.events |= flag;
        }
    }

    /// A write of the current leader incarnation (its in-memory transitions still exist).
    fn is_live(&self, state: &ShareState, write: &PendingWrite) -> bool {
        write.leader_epoch == state.leader_epoch && write.state_epoch == state.state_epoch
    }

    fn take_write(&self, state: &mut ShareState, slot: u8) -> PendingWrite {
        let write = state.writes[slot as usize]
            .take()
            .expect("precheck: the slot holds a write");
        state.normalize_writes();
        write
    }

    /// The client gets its one answer when the write completes (spec 3.2).
    fn answer(&self, state: &mut ShareState, write: &PendingWrite) {
        if matches!(write.kind, WriteKind::Acknowledge(_)) && write.answered {
            state.ghost.violations |= violation::ACK_ANSWERED_TWICE;
        }
    }

    fn complete_write(&self, state: &mut ShareState, slot: u8) {
        let write = self.take_write(state, slot);
        let live = self.is_live(state, &write);
        if self.deliver(state, &write) == Delivery::Fenced {
            self.answer(state, &write);
            if live {
                // Only a state-epoch bump fences the live leader: it drops the share partition and
                // re-reads the new image (spec 3.4).
                self.reinitialize(state);
            }
            return;
        }
        if live {
            for offset in 0..self.cfg.records {
                if write.offsets & (1 << offset) == 0 {
                    continue;
                }
                let record = state.record_mut(offset);
                if write.kind.is_two_phase() && record.pending.is_some() {
                    // Commit: the rollback snapshot and the timer go (spec 3.2).
                    record.pending = None;
                    record.lock = Lock::None;
                    let committed = record.state;
                    if committed == RecordState::Archiving {
                        // Phase 1 of the DLQ is done; phase 2 starts (spec 1.2 #10).
                        state.ghost.dead_lettered |= 1 << offset;
                    }
                    if committed.is_terminal() {
                        state.ghost.terminal |= 1 << offset;
                        // A terminal ack (not a RELEASE whose record a log-start move archived).
                        let terminal_ack = matches!(
                            write.entries[offset as usize].state,
                            Some(PersistedState::Acknowledged | PersistedState::Archived)
                        );
                        if matches!(write.kind, WriteKind::Acknowledge(_)) && terminal_ack {
                            state.ghost.confirmed_terminal |= 1 << offset;
                        }
                    }
                }
            }
            self.advance_spso(state);
        }
        self.answer(state, &write);
    }

    /// Spec 3.3: start offset = max (never regresses), union clipped at the start, the entry with the
    /// higher delivery count wins, then the higher state id.
    fn merge_into_image(&self, state: &mut ShareState, write: &PendingWrite) {
        let coordinator = &mut state.coordinator;
        let new_start = if self.mutation(SpecMutation::PersistedStartRegresses) {
            write.start_offset
        } else {
            write.start_offset.max(coordinator.start_offset)
        };
        if new_start < coordinator.start_offset {
            state.ghost.violations |= violation::PERSISTED_REGRESSED;
        }
        coordinator.start_offset = new_start;
        coordinator.leader_epoch = coordinator.leader_epoch.max(write.leader_epoch);
        for offset in 0..self.cfg.records {
            let persisted = &mut state.records[offset as usize].persisted;
            if offset < new_start {
                *persisted = PersistedRecord::default();
                continue;
            }
            if write.offsets & (1 << offset) == 0 {
                continue;
            }
            let candidate = write.entries[offset as usize];
            let rank = |p: &PersistedRecord| p.state.map(|s| (p.delivery_count, s.restored().id()));
            if rank(&candidate) > rank(persisted) {
                *persisted = candidate;
            }
        }
    }

    fn fail_write(&self, state: &mut ShareState, slot: u8) {
        let write = self.take_write(state, slot);
        debug_assert!(
            self.is_live(state, &write),
            "precheck: only live writes fail"
        );
        state.budgets.write_failures += 1;
        self.answer(state, &write);
        if !write.kind.is_two_phase() {
            // Lock expiry: the transition stands; SPSO advancement runs anyway (spec 1.6).
            self.advance_spso(state);
            return;
        }
        for offset in 0..self.cfg.records {
            if write.offsets & (1 << offset) == 0 {
                continue;
            }
            let Some(rollback) = state.record(offset).pending else {
                continue;
            };
            self.witness(state, event::ROLLED_BACK);
            let lock = state.record(offset).lock;
            if rollback.archived_meanwhile {
                // Archived by a log-start move meanwhile: stays ARCHIVED (see `move_log_start`).
                let record = state.record_mut(offset);
                record.pending = None;
                record.lock = Lock::None;
            } else if lock == Lock::Held {
                let record = state.record_mut(offset);
                record.state = RecordState::Acquired;
                record.owner = Some(rollback.owner);
                record.delivery_count = rollback.delivery_count;
                record.pending = None;
            } else {
                // Spec 1.4: the lock expired meanwhile: AVAILABLE, or ARCHIVED if the previous count
                // reached the limit; never back to ACQUIRED. Below SPSO (a log-start move passed it)
                // ARCHIVED too, as the expiry itself would have done (spec 1.6; the engine agrees).
                self.witness(state, event::ROLLED_BACK_AFTER_EXPIRY);
                // With the DLQ the limit gives ARCHIVING (`tryUpdateState`), which is committed at once,
                // so phase 2 starts; below SPSO stays ARCHIVED, as the expiry would give.
                let target = self.available_or_archived(state, offset, rollback.delivery_count);
                self.mark_settled(state, offset, target);
                let record = state.record_mut(offset);
                record.state = target;
                record.owner = None;
                record.delivery_count = rollback.delivery_count;
                record.pending = None;
                record.lock = Lock::None;
            }
        }
    }

    // ----- SPSO and the log start (spec 1.5, 1.6) -----

    /// Spec 1.6: SPSO moves over the committed terminal records at its head (a record whose
    /// transition waits for its write stops it). Public so that a trace replay asks the same rule.
    pub fn advance_spso(&self, state: &mut ShareState) {
        let passes_pending = self.mutation(SpecMutation::SpsoPassesPendingWrite);
        let passes_archiving = self.mutation(SpecMutation::SpsoPassesArchiving);
        let mut offset = state.spso;
        while offset < state.window_end {
            let record = state.record(offset);
            // ARCHIVING is not terminal (spec 1.1): SPSO waits for the DLQ's phase 2.
            let passable = record.is_terminal_committed()
                || (passes_pending && record.state.is_terminal())
                || (passes_archiving && self.is_dead_lettering(record));
            if !passable {
                break;
            }
            offset += 1;
        }
        self.set_spso(state, offset);
    }

    /// Moves SPSO to `spso`; a move back is recorded for SPSO-SAFE. Public so that a trace replay
    /// moves SPSO as its trace does and asks [`names::SPSO_SAFE`] of the outcome.
    pub fn set_spso(&self, state: &mut ShareState, spso: u8) {
        if spso < state.spso {
            state.ghost.violations |= violation::SPSO_REGRESSED;
        }
        state.spso = spso;
    }

    /// `updateCacheAndOffsets(lso)`: SPSO jumps, AVAILABLE records below are archived, ACQUIRED ones
    /// are left to their release or expiry; nothing is persisted now.
    fn move_log_start(&self, state: &mut ShareState, log_start: u8) {
        if log_start <= state.spso {
            return;
        }
        for offset in state.spso..log_start {
            let record = state.record_mut(offset);
            if record.state == RecordState::Available {
                // AVAILABLE with a pending transition too (a RELEASE waiting for its write): Kafka
                // 4.2's `archiveRecords` archives it and marks it terminal, so the rollback of a
                // failed write keeps it ARCHIVED and a commit changes nothing; its timer is cancelled.
                // The spec (1.6) says "AVAILABLE records below it are archived" without exception,
                // and the engine does the same.
                record.state = RecordState::Archived;
                record.lock = Lock::None;
                if let Some(rollback) = record.pending.as_mut() {
                    rollback.archived_meanwhile = true;
                }
                state.ghost.terminal |= 1 << offset;
            }
        }
        state.window_end = state.window_end.max(log_start);
        self.set_spso(state, log_start);
    }

    // ----- failover, initialization, offset reset (spec 3.4, 3.5, 5.3) -----

    fn fail_over(&self, state: &mut ShareState) {
        state.budgets.failovers += 1;
        let kept = state.records;
        state.leader_epoch += 1;
        // The new leader's Read raises the coordinator's leader epoch, fencing the old leader.
        state.coordinator.leader_epoch = state.coordinator.leader_epoch.max(state.leader_epoch);
        self.reinitialize(state);
        if self.mutation(SpecMutation::FailoverKeepsAcquired) {
            for offset in 0..self.cfg.records {
                let old = kept[offset as usize];
                if old.is_held() {
                    let record = state.record_mut(offset);
                    record.state = RecordState::Acquired;
                    record.owner = old.owner;
                    record.delivery_count = old.delivery_count;
                    // The timer belonged to the old leader.
                    record.lock = Lock::None;
                    state.window_end = state.window_end.max(offset + 1);
                }
            }
        }
    }

    /// `maybeInitialize` from the persisted image: ACQUIRED state and pending transitions are gone,
    /// holes come back as fresh records (dc 0, acquired as new with dc 1).
    fn reinitialize(&self, state: &mut ShareState) {
        let new_state_epoch = state.state_epoch != state.coordinator.state_epoch;
        state.state_epoch = state.coordinator.state_epoch;
        state.spso = state.coordinator.start_offset;
        state.window_end = state.spso;
        let mut terminal: OffsetMask = 0;
        let mut dead_lettered: OffsetMask = 0;
        for offset in 0..self.cfg.records {
            let old = *state.record(offset);
            let mut record = Record {
                persisted: old.persisted,
                ..Record::FRESH
            };
            if !new_state_epoch {
                record.deliveries = old.deliveries;
                record.attempt_lost = old.attempt_lost;
            }
            if offset < state.spso {
                record.state = RecordState::Archived;
                terminal |= 1 << offset;
            } else if let Some(persisted) = old.persisted.state {
                record.state = persisted.restored();
                record.delivery_count = old.persisted.delivery_count;
                if record.state == RecordState::Archiving {
                    // Spec 1.2 #10: phase 2 resumes for ARCHIVING found at initialization.
                    dead_lettered |= 1 << offset;
                }
                if record.state.is_terminal() {
                    terminal |= 1 << offset;
                    if self.mutation(SpecMutation::TerminalMadeAvailable) {
                        record.state = RecordState::Available;
                    }
                }
                state.window_end = offset + 1;
            }
            if !new_state_epoch
                && offset >= state.spso
                && old.delivery_count > record.delivery_count
            {
                // Spec 3.5: the attempt in progress (or released without a durable write) is not counted.
                if self.lost_attempts_witnessed() {
                    record.attempt_lost = true;
                } else {
                    // Nothing reads the whole count: DC-LIMIT's ghost restarts from the restored count
                    // (see `forget_unread_delivery_ghosts`).
                    record.deliveries = record.delivery_count.min(self.limit() + 1);
                }
            }
            state.records[offset as usize] = record;
        }
        state.ghost.terminal = terminal;
        state.ghost.dead_lettered = dead_lettered;
        state.cached_batch_starts = self.restored_batch_starts(state);
        if new_state_epoch {
            state.ghost.confirmed_terminal = 0;
        }
        // The first fetch gets OFFSET_OUT_OF_RANGE and moves SPSO to the log start (spec 6).
        if state.log_start > state.spso {
            self.move_log_start(state, state.log_start);
        }
        self.advance_spso(state);
    }

    /// The cached batches a new leader builds from the persisted image (spec 1.7, 3.3): the state
    /// batches, which the coordinator coalesces into maximal runs of equal (state, delivery count)
    /// also across log batches; holes in the window (no persisted entry) are acquired as new records,
    /// their log batches starting at log-batch boundaries and where the hole begins.
    fn restored_batch_starts(&self, state: &ShareState) -> OffsetMask {
        let mut starts: OffsetMask = 0;
        let mut previous: Option<Option<PersistedRecord>> = None;
        for offset in state.spso..state.window_end {
            let persisted = state.record(offset).persisted;
            let entry = persisted.state.is_some().then_some(persisted);
            let start = match (previous, entry) {
                (None, _) => true,
                (Some(before), Some(entry)) => before != Some(entry),
                (Some(before), None) => before.is_some() || offset % self.cfg.log_batch_size == 0,
            };
            if start {
                starts |= 1 << offset;
            }
            previous = Some(entry);
        }
        starts
    }

    fn reset_offsets(&self, state: &mut ShareState, start_offset: u8) {
        state.budgets.offset_resets += 1;
        state.coordinator.state_epoch += 1;
        state.coordinator.start_offset = start_offset;
        for record in state.records.iter_mut() {
            record.persisted = PersistedRecord::default();
        }
        state.ghost.confirmed_terminal = 0;
    }
}

// ----- properties -----

fn exclusive(_: &ShareModel, state: &ShareState) -> bool {
    state.records.iter().all(|record| {
        if record.pending.is_some() {
            return record.owner.is_none();
        }
        if record.state == RecordState::Acquired {
            record.owner.is_some() && record.lock == Lock::Held
        } else {
            record.owner.is_none() && matches!(record.lock, Lock::None | Lock::ExpiredLast)
        }
    })
}

fn terminal_final(_: &ShareModel, state: &ShareState) -> bool {
    (0..RECORDS_MAX as u8)
        .filter(|offset| state.ghost.terminal & (1 << offset) != 0)
        .all(|offset| state.record(offset).state.is_terminal())
}

fn dc_limit(model: &ShareModel, state: &ShareState) -> bool {
    let limit = model.limit();
    let counts_every_delivery =
        model.cfg.profile.session_release_rule() == SessionReleaseRule::KeepAndArchiveAtLimit;
    state.records.iter().all(|record| {
        record.delivery_count <= limit
            && (!counts_every_delivery || record.deliveries <= limit || record.attempt_lost)
    })
}

fn spso_safe(_: &ShareModel, state: &ShareState) -> bool {
    state.ghost.violations & violation::SPSO_REGRESSED == 0
        && (state.log_start..state.spso).all(|offset| state.record(offset).is_terminal_committed())
}

fn durable(_: &ShareModel, state: &ShareState) -> bool {
    state.ghost.violations & violation::PERSISTED_REGRESSED == 0
        && (0..RECORDS_MAX as u8)
            .filter(|offset| state.ghost.confirmed_terminal & (1 << offset) != 0)
            .all(|offset| {
                let record = state.record(offset);
                let persisted_terminal = matches!(
                    record.persisted.state,
                    Some(PersistedState::Acknowledged | PersistedState::Archived)
                );
                (offset < state.coordinator.start_offset || persisted_terminal)
                    && (offset < state.spso || record.state.is_terminal())
            })
}

fn fencing(_: &ShareModel, state: &ShareState) -> bool {
    state.ghost.violations & violation::STALE_WRITE_APPLIED == 0
}

fn inflight_cap(model: &ShareModel, state: &ShareState) -> bool {
    let overshoot = if model
        .cfg
        .acquire_modes
        .includes(AcquireMode::BatchOptimized)
    {
        model.cfg.log_batch_size - 1
    } else {
        0
    };
    state.in_flight() <= model.cfg.max_in_flight_records + overshoot
}

fn owner(_: &ShareModel, state: &ShareState) -> bool {
    state.ghost.violations & violation::FOREIGN_RECORD_TOUCHED == 0
}

fn ack_outcome(_: &ShareModel, state: &ShareState) -> bool {
    state.ghost.violations & violation::ACK_ANSWERED_TWICE == 0
        && state.writes.iter().flatten().all(|write| !write.answered)
}

/// Spec 1.1, 1.2 #10: once the DLQ's phase 1 committed, the record stays ARCHIVING until phase 2
/// archives it: it is never acquirable (AVAILABLE) or acquired again in this leader incarnation.
fn dead_letter(_: &ShareModel, state: &ShareState) -> bool {
    (0..RECORDS_MAX as u8)
        .filter(|offset| state.ghost.dead_lettered & (1 << offset) != 0)
        .all(|offset| {
            matches!(
                state.record(offset).state,
                RecordState::Archiving | RecordState::Archived
            )
        })
}

fn dead_lettered(_: &ShareModel, state: &ShareState) -> bool {
    state.ghost.events & event::DEAD_LETTERED != 0
}

fn archived_at_limit(_: &ShareModel, state: &ShareState) -> bool {
    state.ghost.events & event::ARCHIVED_AT_LIMIT != 0
}

fn redelivered_after_expiry(_: &ShareModel, state: &ShareState) -> bool {
    state.ghost.events & event::REDELIVERED_AFTER_EXPIRY != 0
}

fn deliveries_exceed_limit(model: &ShareModel, state: &ShareState) -> bool {
    state
        .records
        .iter()
        .any(|record| record.deliveries > model.limit())
}

fn rolled_back(_: &ShareModel, state: &ShareState) -> bool {
    state.ghost.events & event::ROLLED_BACK != 0
}

fn write_fenced(_: &ShareModel, state: &ShareState) -> bool {
    state.ghost.events & event::WRITE_FENCED != 0
}

fn spso_past_everything(model: &ShareModel, state: &ShareState) -> bool {
    state.produced == model.cfg.records && state.spso == model.cfg.records
}

fn every_record_terminal(model: &ShareModel, state: &ShareState) -> bool {
    state.produced == model.cfg.records
        && (state.log_start..model.cfg.records)
            .all(|offset| state.record(offset).is_terminal_committed())
}

impl ShareModel {
    /// The actions at `state`, in a fixed order. With `refused_acks`, every member's ack of every
    /// cached offset is listed, also those the spec refuses (the implementation model tries them on
    /// the engine, which must refuse them too); otherwise only accepted acks are (a refused ack is not
    /// a transition).
    pub fn candidate_actions(
        &self,
        state: &ShareState,
        actions: &mut Vec<ShareAction>,
        refused_acks: bool,
    ) {
        if state.produced < self.cfg.records {
            actions.push(ShareAction::Produce);
        }
        let mut active = MemberList::EMPTY;
        for member in (0..self.cfg.members).map(Member) {
            if self.is_active(state, member) {
                active.push(member);
            }
        }
        // Under symmetry reduction, of interchangeable members (a swap of them leaves the state
        // unchanged) only the first acts: the others' actions reach states of the same class.
        if self.cfg.symmetry {
            active = distinct_roles(state, active.as_slice());
        }
        let active = active.as_slice().iter().copied();
        for member in active.clone() {
            for mode in [AcquireMode::BatchOptimized, AcquireMode::RecordLimit] {
                if self.cfg.acquire_modes.includes(mode) {
                    actions.push(ShareAction::Acquire { member, mode });
                }
            }
        }
        // Acks by every member for every cached offset; the wrong member's and stale acks are refused
        // (not transitions, so not listed: `precheck` filters them, and a mutation that accepts one
        // lists it). RENEW is left out: without time an accepted RENEW changes nothing, and its
        // refusals are those of the other types (unit-tested on `step`). Without refused acks or a
        // mutation of the ack rules, exactly the owner's acks of its held records with room for a
        // write are accepted (`ack_check`), so only those are generated.
        let ack_types = [
            AckType::Gap,
            AckType::Accept,
            AckType::Release,
            AckType::Reject,
        ];
        let owners_only = !refused_acks && !self.mutation(SpecMutation::ReleaseFromNonOwner);
        let write_room = self.has_write_room(state);
        for member in active.clone() {
            for offset in state.spso..state.window_end {
                if owners_only {
                    let record = state.record(offset);
                    if write_room && record.is_held() && record.owner == Some(member) {
                        for ack_type in ack_types {
                            actions.push(ShareAction::Acknowledge {
                                member,
                                offset,
                                ack_type,
                            });
                        }
                    }
                    continue;
                }
                for ack_type in ack_types {
                    let action = ShareAction::Acknowledge {
                        member,
                        offset,
                        ack_type,
                    };
                    if refused_acks || self.precheck(state, action) == Response::None {
                        actions.push(action);
                    }
                }
            }
        }
        if state.budgets.corrupt_batches < self.cfg.corrupt_batches_max {
            let batches = state.window_end.div_ceil(self.cfg.log_batch_size);
            for member in active.clone() {
                for log_batch in 0..batches {
                    actions.push(ShareAction::CorruptBatch { member, log_batch });
                }
            }
        }
        if state.budgets.deserialization_errors < self.cfg.deserialization_errors_max {
            for member in active.clone() {
                for offset in state.spso..state.window_end {
                    actions.push(ShareAction::DeserializationError { member, offset });
                }
            }
        }
        let failure_left = state.budgets.write_failures < self.cfg.write_failures_max;
        for offset in 0..state.window_end {
            let record = state.record(offset);
            if record.state == RecordState::Acquired || record.pending.is_some() {
                actions.push(ShareAction::LockExpiry {
                    offset,
                    persisted: true,
                });
                if failure_left {
                    actions.push(ShareAction::LockExpiry {
                        offset,
                        persisted: false,
                    });
                }
            }
        }
        if self.cfg.dead_letter_queue {
            for offset in 0..state.produced {
                if !self.is_dead_lettering(state.record(offset)) {
                    continue;
                }
                for enqueued in [true, false] {
                    actions.push(ShareAction::DeadLetterCompleted {
                        offset,
                        enqueued,
                        persisted: true,
                    });
                    if failure_left {
                        actions.push(ShareAction::DeadLetterCompleted {
                            offset,
                            enqueued,
                            persisted: false,
                        });
                    }
                }
            }
        }
        for member in active {
            actions.push(ShareAction::SessionClose { member });
            actions.push(ShareAction::MemberLeave { member });
        }
        for slot in 0..state.write_count() as u8 {
            actions.push(ShareAction::WriteSucceeds { slot });
            if failure_left {
                actions.push(ShareAction::WriteFails { slot });
            }
        }
        if state.budgets.failovers < self.cfg.failovers_max {
            actions.push(ShareAction::LeaderFailover);
        }
        if state.budgets.log_start_moves < self.cfg.log_start_moves_max {
            for log_start in state.spso + 1..=state.produced {
                actions.push(ShareAction::LogStartMove { log_start });
            }
        }
        if state.budgets.offset_resets < self.cfg.offset_resets_max {
            for start_offset in state.log_start..=state.produced {
                actions.push(ShareAction::OffsetReset { start_offset });
            }
        }
    }
}

impl Model for ShareModel {
    type State = ShareState;
    type Action = ShareAction;

    fn init_states(&self) -> Vec<ShareState> {
        vec![self.initial_state()]
    }

    fn actions(&self, state: &ShareState, actions: &mut Vec<ShareAction>) {
        self.candidate_actions(state, actions, false);
    }

    fn next_state(&self, state: &ShareState, action: ShareAction) -> Option<ShareState> {
        if self.precheck(state, action) != Response::None {
            return None;
        }
        let mut next = state.clone();
        // Events mark the step that caused them only; kept longer, every flag would split the state
        // space in two.
        next.ghost.events = 0;
        self.apply(&mut next, action);
        if self.cfg.symmetry {
            canonicalize(&mut next);
        }
        (next != *state).then_some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let mut properties = vec![
            Property::always(names::EXCLUSIVE, exclusive),
            Property::always(names::TERMINAL_FINAL, terminal_final),
            Property::always(names::DC_LIMIT, dc_limit),
            Property::always(names::SPSO_SAFE, spso_safe),
            Property::always(names::DURABLE, durable),
            Property::always(names::FENCING, fencing),
            Property::always(names::INFLIGHT_CAP, inflight_cap),
            Property::always(names::OWNER, owner),
            Property::always(names::ACK_OUTCOME, ack_outcome),
            Property::sometimes(names::SPSO_PAST_EVERYTHING, spso_past_everything),
        ];
        // The DLQ's property and event exist only with the DLQ, so checks without it are unchanged.
        if self.cfg.dead_letter_queue {
            properties.push(Property::always(names::DEAD_LETTER, dead_letter));
            if self.cfg.witnesses {
                properties.push(Property::sometimes(names::DEAD_LETTERED, dead_lettered));
            }
        }
        // Only the `sometimes` properties this configuration can reach, so an unreached one is news.
        let witnesses = self.cfg.witnesses;
        if witnesses {
            properties.push(Property::sometimes(
                names::ARCHIVED_AT_LIMIT,
                archived_at_limit,
            ));
        }
        if witnesses && self.cfg.lock_expiries_max != Some(0) && self.cfg.delivery_count_limit >= 2
        {
            properties.push(Property::sometimes(
                names::REDELIVERED_AFTER_EXPIRY,
                redelivered_after_expiry,
            ));
        }
        if self.lost_attempts_witnessed() {
            properties.push(Property::sometimes(
                names::DELIVERIES_EXCEED_LIMIT,
                deliveries_exceed_limit,
            ));
        }
        if witnesses && self.cfg.write_failures_max >= 1 {
            properties.push(Property::sometimes(names::ROLLED_BACK, rolled_back));
        }
        if witnesses && (self.cfg.failovers_max >= 1 || self.cfg.offset_resets_max >= 1) {
            properties.push(Property::sometimes(names::WRITE_FENCED, write_fenced));
        }
        // stateright reports an `eventually` violation only at a state without successors; a cycle
        // hides one, so liveness is checked only where every path is acyclic.
        if self.cfg.liveness_checkable() {
            properties.push(Property::eventually(
                names::EVERY_RECORD_TERMINAL,
                every_record_terminal,
            ));
        }
        properties
    }
}

#[cfg(test)]
#[path = "share_partition_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "dead_letter_tests.rs"]
mod dead_letter_tests;
