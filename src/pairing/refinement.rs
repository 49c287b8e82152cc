//! The refinement check: every engine step s --a--> s' must be a legal spec step α(s) --a--> α(s'),
//! or a short sequence of them, or a stutter. States are compared without their ghost variables
//! (history that only properties read, and that each side computes its own way).

use std::fmt;

use sharesim_model::state::{Ghost, Lock, PersistedRecord, PersistedState, ShareState};
use sharesim_model::{Response, ShareAction, ShareModel};

/// The first engine step the spec does not allow.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Divergence {
    /// The engine step.
    pub action: ShareAction,
    /// Why the spec does not allow it.
    pub reason: String,
    /// α before the step.
    pub before: ShareState,
    /// α after the engine step.
    pub engine_after: ShareState,
    /// What the spec reaches with the same action(s), when it allows them at all.
    pub spec_after: Option<ShareState>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "divergence at {:?}: {}", self.action, self.reason)?;
        writeln!(f, "  before:       {:?}", project(&self.before))?;
        writeln!(f, "  engine after: {:?}", project(&self.engine_after))?;
        match &self.spec_after {
            Some(spec) => writeln!(f, "  spec after:   {:?}", project(spec)),
            None => writeln!(f, "  spec after:   (not allowed)"),
        }
    }
}

/// The part of a spec state both sides must agree on: no ghosts, no witness-only lock marks, no
/// answered flags.
pub fn project(state: &ShareState) -> ShareState {
    let mut projected = state.clone();
    projected.ghost = Ghost::default();
    for record in projected.records.iter_mut() {
        record.deliveries = 0;
        record.attempt_lost = false;
        if record.lock == Lock::ExpiredLast {
            record.lock = Lock::None;
        }
    }
    for write in projected.writes.iter_mut().flatten() {
        write.answered = false;
    }
    projected.normalize_writes();
    projected
}

/// The spec action sequences that may match one engine step.
fn candidates(before: &ShareState, action: ShareAction, fired: &[u8]) -> Vec<Vec<ShareAction>> {
    match action {
        // One time advance fires every lock due by then, oldest first. When its writes fail, each
        // held record's expiry is a spec expiry with a failed write; a record in transition writes
        // nothing when its lock fires (the spec lists that expiry with `persisted: true`).
        ShareAction::LockExpiry { persisted, .. } => vec![fired
            .iter()
            .map(|&offset| ShareAction::LockExpiry {
                offset,
                persisted: persisted || !before.record(offset).is_held(),
            })
            .collect()],
        // The host reports a whole enqueued range: one spec phase-2 step per offset archived, each
        // with its own write (all failed, or all applied).
        ShareAction::DeadLetterCompleted {
            enqueued,
            persisted,
            ..
        } => vec![fired
            .iter()
            .map(|&offset| ShareAction::DeadLetterCompleted {
                offset,
                enqueued,
                persisted,
            })
            .collect()],
        // Slots are positions in a sorted array: any slot holding an equal write is the same step.
        ShareAction::WriteSucceeds { .. } => (0..before.write_count() as u8)
            .map(|slot| vec![ShareAction::WriteSucceeds { slot }])
            .collect(),
        ShareAction::WriteFails { .. } => (0..before.write_count() as u8)
            .map(|slot| vec![ShareAction::WriteFails { slot }])
            .collect(),
        _ => vec![vec![action]],
    }
}

/// Checks one engine step against the spec.
pub fn check_step(
    spec: &ShareModel,
    before: &ShareState,
    action: ShareAction,
    fired: &[u8],
    after: &ShareState,
) -> Result<(), Box<Divergence>> {
    let target = project(after);
    if project(before) == target {
        return Ok(());
    }
    let mut closest = None;
    for sequence in candidates(before, action, fired) {
        let mut state = before.clone();
        let mut allowed = true;
        for step in &sequence {
            let (next, response) = spec.step(&state, *step);
            if response != Response::None {
                allowed = false;
                break;
            }
            state = next;
        }
        if !allowed {
            continue;
        }
        if project(&state) == target {
            return Ok(());
        }
        // Several locks fired by one time advance: the engine sends their writes together, all with
        // the SPSO of before the advance, where the spec sends each after the previous one moved SPSO.
        // The image then lags: its start offset stops before terminal records the spec pruned.
        if sequence.len() > 1 && lagging_start(&project(&state)) == lagging_start(&target) {
            return Ok(());
        }
        closest.get_or_insert(state);
    }
    Err(Box::new(Divergence {
        action,
        reason: match closest {
            Some(_) => "the spec allows the action but reaches another state".to_string(),
            None => "the spec does not allow the action here".to_string(),
        },
        before: before.clone(),
        engine_after: after.clone(),
        spec_after: closest,
    }))
}

/// The persisted image with its start offset moved past the terminal records below SPSO (what a new
/// leader restoring it would archive anyway), so an image whose start offset lags compares equal.
fn lagging_start(state: &ShareState) -> ShareState {
    let mut state = state.clone();
    let mut start = state.coordinator.start_offset;
    while start < state.spso
        && state.record(start).persisted.state.is_none_or(|persisted| {
            matches!(
                persisted,
                PersistedState::Acknowledged | PersistedState::Archived
            )
        })
    {
        start += 1;
    }
    state.coordinator.start_offset = start;
    for offset in 0..start {
        state.record_mut(offset).persisted = PersistedRecord::default();
    }
    state
}
