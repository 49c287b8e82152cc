//! The record-level rules of a conformance replay, asked of the spec model itself: each record's step
//! in a trace is projected onto a one-record [`ShareModel`] state (the record at model offset 0, SPSO
//! past it when the trace's SPSO is, its persisted image and pending write as the trace shows them),
//! the matching [`ShareAction`] is taken with [`ShareModel::step`], and the model's outcome (refused,
//! or the record's new state and delivery count) is compared with the trace's. So acquisition (spec
//! 1.2 #1, 1.6; a new record's first delivery count), acknowledgement (1.2 #2-#4, 2.2), lock expiry
//! (1.2 #5, 1.3), session release (1.2 #6, per profile), log-start archiving (1.2 #8), the archive of
//! aborted transactions (1.2 #9), the rollback of a failed write (1.4, 3.2), SPSO advancement (1.6),
//! the coordinator's merge (3.3), a new leader's restore (3.5) and, when the group has a dead-letter
//! queue, ARCHIVING and the DLQ's phase 2 (1.1, 1.2 #10; the model's `dead_letter_queue` switch) are
//! written once, in the model.
//!
//! Delivery counts and the limit are projected onto the model's small counters: a limit above the
//! model's largest (10) becomes 10, with counts below the limit kept below it and counts at or past it
//! kept at or past it. The coordinator's merge compares two counts only, so it gets an
//! order-preserving projection of the pair.

use sharesim_model::share_partition::names;
use sharesim_model::state::{
    Lock, Member, PendingWrite, PersistedRecord, PersistedState, RecordState as SpecState,
    Rollback, WriteKind, RECORDS_MAX,
};
use sharesim_model::{AckType, AcquireMode, Profile, Response, ShareAction, ShareModel};
use sharesim_model::{ShareModelCfg, ShareState};
use sharesim_sim::share::{AcknowledgeType, RecordState};

/// The model's largest delivery-count limit.
const MODEL_LIMIT_MAX: u16 = 10;
/// The model's largest delivery count (a `u8` the model saturates at 15).
const MODEL_COUNT_MAX: u16 = 15;

/// The member that makes a request in a projection; the record's owner is [`OTHER`] when the trace's
/// owner is another member.
const REQUESTER: Member = Member(0);
/// Another member.
const OTHER: Member = Member(1);

/// A persisted entry of one offset: its state and delivery count (spec 3.3 `StateBatch`).
pub(super) type Persisted = (RecordState, u16);

/// What the trace knows of a record before its step.
#[derive(Clone, Copy, Debug)]
pub(super) struct Before {
    /// Its state (while a write is pending: the transition's target).
    pub state: RecordState,
    /// Its delivery count.
    pub delivery_count: u16,
    /// Whether the requesting member holds it (`true` when the owner is unknown).
    pub requester_owns: bool,
    /// Whether it lies below SPSO.
    pub below_spso: bool,
    /// A two-phase transition waits for its write: the delivery count before it (the rollback
    /// snapshot of spec 3.2).
    pub rollback_delivery_count: Option<u16>,
    /// Whether its acquisition lock is still live (read by a rollback, spec 1.4).
    pub lock_live: bool,
    /// The share coordinator's entry for it, if any.
    pub persisted: Option<Persisted>,
    /// Whether it lies below the coordinator's start offset.
    pub below_persisted_start: bool,
}

impl Before {
    /// A record in `state` with `delivery_count`, held by the requester if ACQUIRED, never persisted.
    pub fn new(state: RecordState, delivery_count: u16) -> Before {
        Before {
            state,
            delivery_count,
            requester_owns: true,
            below_spso: false,
            rollback_delivery_count: None,
            lock_live: true,
            persisted: None,
            below_persisted_start: false,
        }
    }

    /// A record the trace has not seen: produced, never fetched (delivery count 0).
    pub fn fresh() -> Before {
        Before::new(RecordState::Available, 0)
    }
}

/// The outcome the model allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct After {
    /// The record's state (the target, for a two-phase transition).
    pub state: SpecState,
    /// Its delivery count.
    pub delivery_count: u16,
}

/// The one-record spec models of a replay: one per profile the trace may follow, each also with the
/// record in an aborted transaction (read_committed), all with or all without the dead-letter queue.
#[derive(Clone, Debug)]
pub(super) struct SpecRules {
    models: Vec<ShareModel>,
    aborted_models: Vec<ShareModel>,
    limit: u16,
}

impl SpecRules {
    /// The rules of `profile` (every profile when `None`: a step conforms when one of them allows it)
    /// with delivery-count limit `limit`, for a group with a dead-letter queue when
    /// `dead_letter_queue` (KIP-1191: REJECT and the limit go through ARCHIVING).
    pub fn new(limit: u16, profile: Option<Profile>, dead_letter_queue: bool) -> SpecRules {
        let profiles = profile.map_or(Profile::ALL.to_vec(), |profile| vec![profile]);
        let model = |profile: Profile, aborted_offsets: u8| {
            ShareModel::new(ShareModelCfg {
                profile,
                records: 1,
                log_batch_size: 1,
                members: 2,
                delivery_count_limit: limit.clamp(1, MODEL_LIMIT_MAX) as u8,
                max_in_flight_records: 8,
                max_records_per_acquire: 1,
                failovers_max: 1,
                write_failures_max: 1,
                log_start_moves_max: 1,
                pending_writes_max: 1,
                witnesses: false,
                aborted_offsets,
                dead_letter_queue,
                ..ShareModelCfg::default()
            })
        };
        SpecRules {
            models: profiles.iter().map(|&profile| model(profile, 0)).collect(),
            aborted_models: profiles.iter().map(|&profile| model(profile, 1)).collect(),
            limit,
        }
    }

    /// The delivery-count limit the trace is judged by.
    pub fn limit(&self) -> u16 {
        self.limit
    }

    /// A trace delivery count on the model's scale (see the module docs).
    fn project(&self, delivery_count: u16) -> u8 {
        if self.limit <= MODEL_LIMIT_MAX {
            return delivery_count.min(MODEL_COUNT_MAX) as u8;
        }
        let projected = if delivery_count < self.limit {
            delivery_count.min(MODEL_LIMIT_MAX - 1)
        } else {
            MODEL_LIMIT_MAX + (delivery_count - self.limit).min(MODEL_COUNT_MAX - MODEL_LIMIT_MAX)
        };
        projected as u8
    }

    /// The trace count of `projected`, one of `known` (the counts the step could have kept).
    fn unproject(&self, projected: u8, known: &[u16]) -> u16 {
        known
            .iter()
            .copied()
            .find(|&count| self.project(count) == projected)
            .unwrap_or(u16::from(projected))
    }

    fn persisted_record(&self, persisted: Option<Persisted>) -> PersistedRecord {
        match persisted {
            Some((state, delivery_count)) => PersistedRecord {
                state: PersistedState::of(spec_state(state)),
                delivery_count: self.project(delivery_count),
            },
            None => PersistedRecord::default(),
        }
    }

    /// The state of one model: the record at offset 0 as `before` says, produced and cached; a pending
    /// transition's write in slot 0.
    fn state(&self, model: &ShareModel, before: &Before) -> ShareState {
        let mut state = model.initial_state();
        state.produced = 1;
        state.window_end = 1;
        state.cached_batch_starts = 1;
        if before.below_spso {
            state.spso = 1;
            state.log_start = 1;
        }
        if before.below_persisted_start {
            state.coordinator.start_offset = 1;
        }
        let owner = if before.requester_owns {
            REQUESTER
        } else {
            OTHER
        };
        let persisted = self.persisted_record(before.persisted);
        let record = state.record_mut(0);
        record.state = spec_state(before.state);
        record.delivery_count = self.project(before.delivery_count);
        record.persisted = persisted;
        if let Some(rollback_count) = before.rollback_delivery_count {
            record.pending = Some(Rollback {
                owner,
                delivery_count: self.project(rollback_count),
                archived_meanwhile: false,
            });
            record.lock = if before.lock_live {
                Lock::Held
            } else {
                Lock::ExpiredDuringWrite
            };
            let mut entries = [PersistedRecord::default(); RECORDS_MAX];
            entries[0] = self.persisted_record(Some((before.state, before.delivery_count)));
            let write = PendingWrite {
                kind: WriteKind::Acknowledge(owner),
                offsets: 1,
                entries,
                start_offset: state.spso,
                leader_epoch: state.leader_epoch,
                state_epoch: state.state_epoch,
                answered: false,
            };
            state.push_write(write);
        } else if record.state == SpecState::Acquired {
            record.owner = Some(owner);
            record.lock = Lock::Held;
        }
        state
    }

    /// Takes `action` from `before` in every model of `models`; the outcomes the models allow (none:
    /// refused).
    fn outcomes_in(
        &self,
        models: &[ShareModel],
        before: &Before,
        action: ShareAction,
    ) -> Vec<Result<After, Response>> {
        models
            .iter()
            .map(|model| {
                let (next, response) = model.step(&self.state(model, before), action);
                if response != Response::None {
                    return Err(response);
                }
                let record = next.record(0);
                Ok(After {
                    state: record.state,
                    delivery_count: u16::from(record.delivery_count),
                })
            })
            .collect()
    }

    /// Whether some model's outcome of `action` matches the trace's `to` and `delivery_count`.
    fn allows_in(
        &self,
        models: &[ShareModel],
        before: &Before,
        action: ShareAction,
        to: RecordState,
        count: u16,
    ) -> Verdict {
        let outcomes = self.outcomes_in(models, before, action);
        let expected = After {
            state: spec_state(to),
            delivery_count: u16::from(self.project(count)),
        };
        // The model forgets the count of a settled terminal record (nothing reads it again), so a
        // terminal outcome is judged by its state alone.
        let matches = |outcome: &Result<After, Response>| match outcome {
            Ok(after) if after.state.is_terminal() => after.state == expected.state,
            Ok(after) => *after == expected,
            Err(_) => false,
        };
        if outcomes.iter().any(matches) {
            return Verdict::Allowed;
        }
        // The counts a step can lead to: one more (acquisition), the same, one less (4.1's session
        // release), the rollback snapshot's.
        let known = [
            Some(before.delivery_count.saturating_add(1)),
            Some(before.delivery_count),
            before.delivery_count.checked_sub(1),
            before.rollback_delivery_count,
        ];
        let known: Vec<u16> = known.into_iter().flatten().collect();
        match outcomes.iter().find_map(|outcome| outcome.ok()) {
            Some(after) => Verdict::Leads(After {
                delivery_count: self.unproject(after.delivery_count as u8, &known),
                ..after
            }),
            None => Verdict::Refused,
        }
    }

    fn allows(&self, before: &Before, action: ShareAction, to: RecordState, count: u16) -> Verdict {
        self.allows_in(&self.models, before, action, to, count)
    }

    /// Spec 1.2 #1 and 1.6: an acquisition with delivery count `count` (a record the trace has not
    /// seen is [`Before::fresh`], so its first delivery count is the model's: 1).
    pub fn acquire(&self, before: &Before, count: u16) -> Verdict {
        self.allows(before, acquire_action(), RecordState::Acquired, count)
    }

    /// Spec 1.2 #9: a read_committed acquisition of a record in an aborted transaction, which the
    /// model archives at once (ACQUIRED -> ARCHIVED, never handed out).
    pub fn acquire_aborted(&self, before: &Before, to: RecordState, count: u16) -> Verdict {
        self.allows_in(&self.aborted_models, before, acquire_action(), to, count)
    }

    /// Spec 1.2 #2-#4, 2.1-2.2: an acknowledgement by the requester.
    pub fn acknowledge(
        &self,
        before: &Before,
        ack_type: AcknowledgeType,
        to: RecordState,
        count: u16,
    ) -> Verdict {
        let action = ShareAction::Acknowledge {
            member: REQUESTER,
            offset: 0,
            ack_type: ack_type_of(ack_type),
        };
        self.allows(before, action, to, count)
    }

    /// Spec 1.2 #5, 1.3, 1.4: the record's lock expires.
    pub fn lock_expiry(&self, before: &Before, to: RecordState, count: u16) -> Verdict {
        let action = ShareAction::LockExpiry {
            offset: 0,
            persisted: true,
        };
        self.allows(before, action, to, count)
    }

    /// Spec 1.2 #6: the requester's share session closes.
    pub fn session_release(&self, before: &Before, to: RecordState, count: u16) -> Verdict {
        let action = ShareAction::SessionClose { member: REQUESTER };
        self.allows(before, action, to, count)
    }

    /// Spec 1.2 #8, 1.6: the log start offset moves past the record.
    pub fn log_start_move(&self, before: &Before, to: RecordState, count: u16) -> Verdict {
        let action = ShareAction::LogStartMove { log_start: 1 };
        self.allows(before, action, to, count)
    }

    /// Spec 1.4, 3.2: the write of the record's pending transition fails and rolls it back (to
    /// ACQUIRED under a live lock; AVAILABLE, or ARCHIVED at the limit, once the lock expired).
    pub fn rollback(&self, before: &Before, to: RecordState, count: u16) -> Verdict {
        if before.rollback_delivery_count.is_none() {
            return Verdict::Refused;
        }
        self.allows(before, ShareAction::WriteFails { slot: 0 }, to, count)
    }

    /// Spec 1.2 #10: the DLQ's phase 2 finished for the record (ARCHIVING -> ARCHIVED).
    pub fn dead_letter_completed(&self, before: &Before, to: RecordState, count: u16) -> Verdict {
        let action = ShareAction::DeadLetterCompleted {
            offset: 0,
            enqueued: true,
            persisted: true,
        };
        self.allows(before, action, to, count)
    }

    /// Spec 1.6: whether SPSO may move past the record (terminal, no write pending; not ARCHIVING).
    pub fn spso_passes(&self, before: &Before) -> bool {
        self.models.iter().any(|model| {
            let mut state = self.state(model, before);
            model.advance_spso(&mut state);
            state.spso == 1
        })
    }

    /// Spec 1.6, asked of the model's SPSO-SAFE: whether SPSO may move from past the record back
    /// before it (never: SPSO only advances; a new leader's initialization is not a move).
    pub fn spso_may_move_back(&self, before: &Before) -> bool {
        self.models.iter().any(|model| {
            let past = Before {
                below_spso: true,
                ..*before
            };
            let mut state = self.state(model, &past);
            model.set_spso(&mut state, 0);
            model.always_holds(names::SPSO_SAFE, &state)
        })
    }

    /// Spec 1.2 #1, #7 and 1.4, asked of the model's EXCLUSIVE: whether the record `action` (an
    /// acquisition or a RENEW) leaves ACQUIRED may hold a lock that is `lock_live` (the trace's
    /// deadline lies after now). The model abstracts time: its acquisition and renewal start a
    /// live lock, and EXCLUSIVE holds only with one.
    fn lock_allowed(&self, before: &Before, action: ShareAction, lock_live: bool) -> bool {
        self.models.iter().any(|model| {
            let (mut next, response) = model.step(&self.state(model, before), action);
            let record = next.record_mut(0);
            if response != Response::None || record.state != SpecState::Acquired {
                // This model does not take the step (another profile's may).
                return false;
            }
            if !lock_live {
                record.lock = Lock::None;
            }
            model.always_holds(names::EXCLUSIVE, &next)
        })
    }

    /// [`Self::lock_allowed`] of an acquisition.
    pub fn acquired_lock_allowed(&self, before: &Before, lock_live: bool) -> bool {
        self.lock_allowed(before, acquire_action(), lock_live)
    }

    /// [`Self::lock_allowed`] of a RENEW by the requester.
    pub fn renewed_lock_allowed(&self, before: &Before, lock_live: bool) -> bool {
        let renew = ShareAction::Acknowledge {
            member: REQUESTER,
            offset: 0,
            ack_type: AckType::Renew,
        };
        self.lock_allowed(before, renew, lock_live)
    }

    /// Spec 3.3: the coordinator's image of the record after it applies a write carrying `entry`.
    pub fn merge(&self, persisted: Option<Persisted>, entry: Persisted) -> Option<Persisted> {
        let model = &self.models[0];
        let mut state = model.initial_state();
        state.produced = 1;
        // Only the order of the two counts matters to the merge (spec 3.3: the higher count wins).
        let (old_count, new_count) = match persisted {
            Some((_, count)) => order_preserving(count, entry.1),
            None => (0, 1),
        };
        let persisted_record = |persisted: Option<Persisted>, count: u8| PersistedRecord {
            delivery_count: count,
            ..self.persisted_record(persisted)
        };
        state.record_mut(0).persisted = persisted_record(persisted, old_count);
        let mut entries = [PersistedRecord::default(); RECORDS_MAX];
        entries[0] = persisted_record(Some(entry), new_count);
        state.push_write(PendingWrite {
            kind: WriteKind::LockExpiry,
            offsets: 1,
            entries,
            start_offset: 0,
            leader_epoch: 0,
            state_epoch: 0,
            answered: false,
        });
        let (next, _) = model.step(&state, ShareAction::WriteSucceeds { slot: 0 });
        if next.record(0).persisted == entries[0] {
            Some(entry)
        } else {
            persisted
        }
    }

    /// Spec 3.5: what a new leader restores for the record from the coordinator's image: the persisted
    /// state and count (ACQUIRED and pending transitions are gone), ARCHIVED below the persisted start,
    /// and a fresh record (AVAILABLE, count 0) where nothing was persisted.
    pub fn restore(&self, before: &Before) -> (RecordState, u16) {
        // The failover rules are the same in every profile.
        let model = &self.models[0];
        let (next, _) = model.step(&self.state(model, before), ShareAction::LeaderFailover);
        let record = next.record(0);
        let known: Vec<u16> = before.persisted.iter().map(|&(_, count)| count).collect();
        let state = match before.persisted {
            // The model forgets which terminal state a settled record is in (nothing reads it again);
            // it is the persisted one.
            Some((persisted, _))
                if record.state.is_terminal() && spec_state(persisted).is_terminal() =>
            {
                persisted
            }
            _ => engine_state(record.state),
        };
        (state, self.unproject(record.delivery_count, &known))
    }
}

fn acquire_action() -> ShareAction {
    ShareAction::Acquire {
        member: REQUESTER,
        mode: AcquireMode::BatchOptimized,
    }
}

/// Two counts as 1 and 2 (or both 1), in the same order.
fn order_preserving(a: u16, b: u16) -> (u8, u8) {
    match a.cmp(&b) {
        std::cmp::Ordering::Less => (1, 2),
        std::cmp::Ordering::Equal => (1, 1),
        std::cmp::Ordering::Greater => (2, 1),
    }
}

/// What the model says of a traced step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// A model allows exactly what the trace shows.
    Allowed,
    /// The models take the step but end elsewhere (one such outcome).
    Leads(After),
    /// No model takes the step from this state.
    Refused,
}

/// The model's state of an engine state.
pub(super) fn spec_state(state: RecordState) -> SpecState {
    match state {
        RecordState::Available => SpecState::Available,
        RecordState::Acquired => SpecState::Acquired,
        RecordState::Acknowledged => SpecState::Acknowledged,
        RecordState::Archiving => SpecState::Archiving,
        RecordState::Archived => SpecState::Archived,
    }
}

fn engine_state(state: SpecState) -> RecordState {
    match state {
        SpecState::Available => RecordState::Available,
        SpecState::Acquired => RecordState::Acquired,
        SpecState::Acknowledged => RecordState::Acknowledged,
        SpecState::Archiving => RecordState::Archiving,
        SpecState::Archived => RecordState::Archived,
    }
}

fn ack_type_of(ack_type: AcknowledgeType) -> AckType {
    match ack_type {
        AcknowledgeType::Gap => AckType::Gap,
        AcknowledgeType::Accept => AckType::Accept,
        AcknowledgeType::Release => AckType::Release,
        AcknowledgeType::Reject => AckType::Reject,
        AcknowledgeType::Renew => AckType::Renew,
    }
}
