//! The record-level rules of a conformance replay, asked of the spec model itself: each record's step
//! in a trace is projected onto a one-record [`ShareModel`] state (the record at model offset 0, SPSO
//! past it when the trace's SPSO is), the matching [`ShareAction`] is taken with [`ShareModel::step`],
//! and the model's outcome (refused, or the record's new state and delivery count) is compared with the
//! trace's. So acquisition (spec 1.2 #1, 1.6), acknowledgement (1.2 #2-#4, 2.2), lock expiry (1.2 #5,
//! 1.3), session release (1.2 #6, per profile) and log-start archiving (1.2 #8) are written once, in
//! the model.
//!
//! Delivery counts and the limit are projected onto the model's small counters: a limit above the
//! model's largest (10) becomes 10, with counts below the limit kept below it and counts at or past it
//! kept at or past it.

use sharesim_model::state::{Lock, Member, RecordState as SpecState};
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

/// What the trace knows of a record before its step.
#[derive(Clone, Copy, Debug)]
pub(super) struct Before {
    /// Its state.
    pub state: RecordState,
    /// Its delivery count.
    pub delivery_count: u16,
    /// Whether the requesting member holds it (`true` when the owner is unknown).
    pub requester_owns: bool,
    /// Whether it lies below SPSO.
    pub below_spso: bool,
}

/// The outcome the model allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct After {
    /// The record's state (the target, for a two-phase transition).
    pub state: SpecState,
    /// Its delivery count.
    pub delivery_count: u16,
}

/// The one-record spec models of a replay: one per profile the trace may follow.
#[derive(Clone, Debug)]
pub(super) struct SpecRules {
    models: Vec<ShareModel>,
    limit: u16,
}

impl SpecRules {
    /// The rules of `profile` (every profile when `None`: a step conforms when one of them allows it)
    /// with delivery-count limit `limit`.
    pub fn new(limit: u16, profile: Option<Profile>) -> SpecRules {
        let profiles = profile.map_or(Profile::ALL.to_vec(), |profile| vec![profile]);
        let models = profiles
            .into_iter()
            .map(|profile| {
                ShareModel::new(ShareModelCfg {
                    profile,
                    records: 1,
                    log_batch_size: 1,
                    members: 2,
                    delivery_count_limit: limit.clamp(1, MODEL_LIMIT_MAX) as u8,
                    max_in_flight_records: 8,
                    max_records_per_acquire: 1,
                    log_start_moves_max: 1,
                    pending_writes_max: 1,
                    witnesses: false,
                    ..ShareModelCfg::default()
                })
            })
            .collect();
        SpecRules { models, limit }
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

    /// The state of one model: the record at offset 0 as `before` says, produced and cached.
    fn state(&self, model: &ShareModel, before: &Before) -> ShareState {
        let mut state = model.initial_state();
        state.produced = 1;
        state.window_end = 1;
        state.cached_batch_starts = 1;
        if before.below_spso {
            state.spso = 1;
            state.log_start = 1;
        }
        let record = state.record_mut(0);
        record.state = spec_state(before.state);
        record.delivery_count = self.project(before.delivery_count);
        if record.state == SpecState::Acquired {
            record.owner = Some(if before.requester_owns {
                REQUESTER
            } else {
                OTHER
            });
            record.lock = Lock::Held;
        }
        state
    }

    /// Takes `action` from `before` in every model; the outcomes the models allow (none: refused).
    fn outcomes(&self, before: &Before, action: ShareAction) -> Vec<Result<After, Response>> {
        self.models
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
    fn allows(&self, before: &Before, action: ShareAction, to: RecordState, count: u16) -> Verdict {
        let outcomes = self.outcomes(before, action);
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
        match outcomes.iter().find_map(|outcome| outcome.ok()) {
            Some(after) => Verdict::Leads(after),
            None => Verdict::Refused,
        }
    }

    /// Spec 1.2 #1 and 1.6: an acquisition with delivery count `count` (the record AVAILABLE at
    /// `before`, its count one less, for a record the trace has not seen).
    pub fn acquire(&self, before: &Before, count: u16) -> Verdict {
        let action = ShareAction::Acquire {
            member: REQUESTER,
            mode: AcquireMode::BatchOptimized,
        };
        self.allows(before, action, RecordState::Acquired, count)
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

/// The model's state of an engine state (ARCHIVING is ARCHIVED: the model has no DLQ).
pub(super) fn spec_state(state: RecordState) -> SpecState {
    match state {
        RecordState::Available => SpecState::Available,
        RecordState::Acquired => SpecState::Acquired,
        RecordState::Acknowledged => SpecState::Acknowledged,
        RecordState::Archiving | RecordState::Archived => SpecState::Archived,
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
